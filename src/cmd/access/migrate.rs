//! `kctx access migrate`: aws-auth's mappings → access entries (eksctl's rules, in
//! `aws::migrate`), with the mode switches around them. A plan unless `--approve`; never
//! deletes aws-auth.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use serde_json::json;

use super::{or_dash, read_aws_auth, resolve, AwsAuth};
use crate::aws::access::{self, Scope};
use crate::aws::migrate::{self, Action, Planned};
use crate::aws::{self};
use crate::cli::{AccessTarget, AuthMode, AwsAuthArgs, ReportFormat};

/// How long a mode switch may take before kctx stops waiting (EKS takes minutes).
const UPDATE_LIMIT: Duration = Duration::from_secs(25 * 60);

/// A mode switch: from, to.
#[derive(Debug, Clone, serde::Serialize)]
struct Switch {
    from: String,
    to: String,
    one_way: bool,
}

/// What happened to one planned entry under `--approve`.
#[derive(Debug, Clone, serde::Serialize)]
struct Outcome {
    principal: String,
    created: bool,
    policy_associated: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

pub fn run(
    cluster: Option<&str>,
    target_mode: AuthMode,
    approve: bool,
    t: &AccessTarget,
    a: &AwsAuthArgs,
    output: ReportFormat,
) -> Result<ExitCode> {
    let r = resolve(cluster, t)?;
    let eks = r.eks();
    let mode = eks.authentication_mode()?;
    if mode == "API" {
        let msg = format!(
            "cluster {} is already in API mode: aws-auth is no longer read, so there is nothing to migrate",
            r.cluster
        );
        match output {
            ReportFormat::Json => println!(
                "{}",
                serde_json::to_string_pretty(&json!({
                    "cluster": r.cluster, "region": r.target.region,
                    "authentication_mode": mode, "plan": [], "mode_changes": [],
                    "note": msg,
                }))?
            ),
            ReportFormat::Text => println!("{msg}"),
        }
        return Ok(ExitCode::SUCCESS);
    }

    // aws-auth: nothing is planned from a copy kctx could not read
    let aws_auth = read_aws_auth(&r, a);
    let (mappings, problems) = match &aws_auth {
        AwsAuth::Read { map, .. } => (map.mappings.clone(), map.problems.clone()),
        AwsAuth::Absent { .. } => (Vec::new(), Vec::new()),
        other => bail!(
            "aws-auth of cluster {} {}; kctx plans nothing without it (--aws-auth-file reads a saved copy)",
            r.cluster,
            other.describe()
        ),
    };

    // existing entries (there are none, and EKS refuses to list them, in CONFIG_MAP mode)
    let existing = if mode.contains("API") {
        eks.list_entries()?
    } else {
        Vec::new()
    };
    let needs_iam = mappings.iter().any(|m| {
        matches!(
            &m.matcher,
            aws::auth_map::Matcher::Role { arn } | aws::auth_map::Matcher::User { arn }
                if !arn.contains(":role/aws-service-role/")
        )
    });
    let account = if needs_iam {
        r.caller()?.account
    } else {
        String::new()
    };
    let iam = aws::iam::client(r.creds.clone(), &r.target);
    let planned = migrate::plan(&mappings, &existing, r.partition(), |m| {
        aws::iam::lookup(&r.rt, &iam, &m.principal(), &account)
    });

    let blockers = planned.iter().filter(|p| p.blocks_api()).count() + problems.len();
    let creates: Vec<&Planned> = planned.iter().filter(|p| p.new_entry().is_some()).collect();
    let mut switches = Vec::new();
    if mode == "CONFIG_MAP" {
        switches.push(Switch {
            from: mode.clone(),
            to: "API_AND_CONFIG_MAP".into(),
            one_way: true,
        });
    }
    let api_held_back = target_mode == AuthMode::Api && blockers > 0;
    if target_mode == AuthMode::Api && !api_held_back {
        switches.push(Switch {
            from: "API_AND_CONFIG_MAP".into(),
            to: "API".into(),
            one_way: true,
        });
    }

    let header = Header {
        cluster: &r.cluster,
        region: &r.target.region,
        mode: &mode,
        aws_auth: &aws_auth,
        mappings: mappings.len(),
    };
    if output == ReportFormat::Text {
        print!("{}", header.text());
        print!("{}", plan_table(&planned));
        for p in &problems {
            println!("skipped (unreadable): {p}");
        }
        print!(
            "{}",
            steps_text(&switches, &creates, api_held_back, blockers)
        );
    }
    let nothing = creates.is_empty() && switches.is_empty();
    if !approve || nothing {
        if output == ReportFormat::Json {
            println!(
                "{}",
                serde_json::to_string_pretty(&report(
                    &header, &planned, &problems, &switches, approve, None
                ))?
            );
        } else if nothing {
            println!(
                "nothing to do: no mapping needs a new access entry and no mode change is due"
            );
        } else {
            println!("\nthis is a plan: nothing was changed. Run again with --approve to make these changes.");
        }
        return Ok(ExitCode::SUCCESS);
    }

    // --approve
    let say = |line: String| {
        if output == ReportFormat::Text {
            println!("{line}");
        } else {
            eprintln!("kctx: {line}");
        }
    };
    if output == ReportFormat::Text {
        println!();
    }
    let mut switched = Vec::new();
    if let Some(s) = switches.first().filter(|s| s.to == "API_AND_CONFIG_MAP") {
        switch_mode(&eks, s, &say)?;
        switched.push(s.clone());
    }
    let mut outcomes = Vec::new();
    for p in &creates {
        let Some((principal, entry, policy)) = p.new_entry() else {
            continue;
        };
        let mut o = Outcome {
            principal: principal.clone(),
            created: false,
            policy_associated: None,
            error: None,
        };
        match eks.create_entry_with(&principal, &entry) {
            Err(e) => {
                say(format!("FAILED to create access entry {principal}: {e:#}"));
                o.error = Some(format!("{e:#}"));
            }
            Ok(()) => {
                o.created = true;
                say(format!(
                    "created access entry {principal} ({})",
                    entry.kind.as_deref().unwrap_or("STANDARD")
                ));
                if let Some(policy) = policy {
                    match eks.associate(&principal, &policy, &Scope::Cluster) {
                        Ok(()) => {
                            o.policy_associated = Some(true);
                            say(format!(
                                "associated {} (cluster) with {principal}",
                                access::policy_name(&policy)
                            ));
                        }
                        Err(e) => {
                            o.policy_associated = Some(false);
                            say(format!(
                                "FAILED to associate {} with {principal} (its entry was created): {e:#}",
                                access::policy_name(&policy)
                            ));
                            o.error = Some(format!("{e:#}"));
                        }
                    }
                }
            }
        }
        outcomes.push(o);
    }
    let failed = outcomes.iter().filter(|o| o.error.is_some()).count();
    let created = outcomes.iter().filter(|o| o.created).count();
    let mut final_mode = switched.last().map_or(mode.clone(), |s| s.to.clone());
    if let Some(s) = switches.iter().find(|s| s.to == "API") {
        if failed == 0 {
            switch_mode(&eks, s, &say)?;
            switched.push(s.clone());
            final_mode = "API".into();
        } else {
            say(format!(
                "not switching to API: {failed} of {} planned entries failed; fix them and run again",
                creates.len()
            ));
        }
    }

    let ctx = r
        .context
        .as_deref()
        .map(|c| format!(" --context {}", crate::session::word_posix(c)))
        .unwrap_or_default();
    let delete = format!("kubectl{ctx} delete configmap aws-auth -n kube-system");
    let mut closing = vec![format!(
        "created {created} of {} access entries; authentication mode is now {final_mode}",
        creates.len()
    )];
    if failed > 0 {
        let names: Vec<&str> = outcomes
            .iter()
            .filter(|o| o.error.is_some())
            .map(|o| o.principal.as_str())
            .collect();
        closing.push(format!("failed: {}", names.join(", ")));
    } else if blockers == 0 && matches!(aws_auth, AwsAuth::Read { .. }) {
        closing.push(if final_mode == "API" {
            format!("aws-auth is no longer read; kctx leaves it in place. To delete it: {delete}")
        } else {
            format!("every mapping now has an access entry; once you have checked access, aws-auth can go (kctx never deletes it): {delete}")
        });
    } else if blockers > 0 {
        closing.push(format!(
            "{blockers} mapping(s) stay only in aws-auth (see NOTE above): keep aws-auth and the API_AND_CONFIG_MAP mode until they are handled"
        ));
    }
    match output {
        ReportFormat::Text => {
            for l in &closing {
                println!("{l}");
            }
        }
        ReportFormat::Json => {
            let mut v = report(
                &header,
                &planned,
                &problems,
                &switches,
                true,
                Some((&outcomes, &switched)),
            );
            v["authentication_mode_now"] = json!(final_mode);
            v["summary"] = json!(closing);
            println!("{}", serde_json::to_string_pretty(&v)?);
        }
    }
    if failed > 0 {
        eprintln!(
            "kctx: error: migration of cluster {} incomplete: {failed} of {} access entries failed (created: {created})",
            r.cluster,
            creates.len()
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

struct Header<'a> {
    cluster: &'a str,
    region: &'a str,
    mode: &'a str,
    aws_auth: &'a AwsAuth,
    mappings: usize,
}

impl Header<'_> {
    fn text(&self) -> String {
        format!(
            "cluster:    {} ({})\nauth mode:  {}\naws-auth:   {}, {} mapping(s)\n\n",
            self.cluster,
            self.region,
            self.mode,
            self.aws_auth.describe(),
            self.mappings
        )
    }
}

fn plan_table(planned: &[Planned]) -> String {
    if planned.is_empty() {
        return String::new();
    }
    let mut rows = vec![[
        "MAPPING",
        "PRINCIPAL",
        "ACTION",
        "TYPE",
        "USERNAME",
        "GROUPS",
        "POLICY",
        "NOTE",
    ]
    .map(String::from)];
    for p in planned {
        let at = format!("{}:{}", p.mapping.key, p.mapping.line);
        rows.push(match &p.action {
            Action::Create {
                principal,
                kind,
                username,
                groups,
                policy,
            } => {
                let note = if *principal != p.mapping.principal() {
                    "IAM path restored".to_owned()
                } else {
                    "-".to_owned()
                };
                [
                    at,
                    principal.clone(),
                    "create".into(),
                    kind.clone(),
                    username.clone().unwrap_or_else(|| "-".into()),
                    or_dash(groups),
                    policy.as_deref().map_or_else(
                        || "-".into(),
                        |p| format!("{} (cluster)", access::policy_name(p)),
                    ),
                    note,
                ]
            }
            Action::Skip { why, .. } => [
                at,
                p.mapping.principal(),
                "skip".into(),
                "-".into(),
                if p.mapping.username.is_empty() {
                    "-".into()
                } else {
                    p.mapping.username.clone()
                },
                or_dash(&p.mapping.groups),
                "-".into(),
                why.clone(),
            ],
        });
    }
    crate::cmd::render_table(&rows)
}

fn steps_text(
    switches: &[Switch],
    creates: &[&Planned],
    api_held_back: bool,
    blockers: usize,
) -> String {
    let mut out = String::from("\n");
    let mut n = 0;
    let mut step = |s: String| {
        n += 1;
        out.push_str(&format!("{n}. {s}\n"));
    };
    if let Some(s) = switches.iter().find(|s| s.to == "API_AND_CONFIG_MAP") {
        step(format!(
            "switch the authentication mode {} -> {} and wait for it (one-way: EKS cannot switch back to {}; aws-auth is still read, and an access entry wins over it)",
            s.from, s.to, s.from
        ));
    }
    if !creates.is_empty() {
        let with_policy = creates
            .iter()
            .filter(|p| {
                matches!(
                    &p.action,
                    Action::Create {
                        policy: Some(_),
                        ..
                    }
                )
            })
            .count();
        step(format!(
            "create {} access entr{}{}",
            creates.len(),
            if creates.len() == 1 { "y" } else { "ies" },
            if with_policy > 0 {
                format!(" ({with_policy} with AmazonEKSClusterAdminPolicy)")
            } else {
                String::new()
            }
        ));
    }
    if switches.iter().any(|s| s.to == "API") {
        step("switch the authentication mode API_AND_CONFIG_MAP -> API, only if every entry above was created. THIS IS ONE-WAY: EKS cannot switch back, and aws-auth is no longer read".into());
    }
    if api_held_back {
        out.push_str(&format!(
            "not switching to API: {blockers} mapping(s) cannot move to access entries (see NOTE) and would lose access\n"
        ));
    }
    out
}

fn report(
    h: &Header<'_>,
    planned: &[Planned],
    problems: &[String],
    switches: &[Switch],
    approved: bool,
    done: Option<(&[Outcome], &[Switch])>,
) -> serde_json::Value {
    let mut v = json!({
        "cluster": h.cluster,
        "region": h.region,
        "authentication_mode": h.mode,
        "aws_auth": h.aws_auth.describe(),
        "plan": planned,
        "problems": problems,
        "mode_changes": switches,
        "approved": approved,
    });
    if let Some((outcomes, switched)) = done {
        v["results"] = json!(outcomes);
        v["mode_changes_made"] = json!(switched);
    }
    v
}

/// UpdateClusterConfig, then DescribeUpdate until it succeeds (backing off to 15 s).
fn switch_mode(eks: &access::Eks<'_>, s: &Switch, say: &dyn Fn(String)) -> Result<()> {
    let id = eks.set_authentication_mode(&s.to)?;
    say(format!(
        "switching the authentication mode {} -> {} (update {id}); waiting for EKS…",
        s.from, s.to
    ));
    let start = Instant::now();
    let mut wait = Duration::from_millis(500);
    loop {
        let (status, errors) = eks.update_status(&id)?;
        match status.as_str() {
            "Successful" => {
                say(format!("authentication mode is now {}", s.to));
                return Ok(());
            }
            "Failed" | "Cancelled" => bail!(
                "update {id} of cluster {:?} (authentication mode -> {}) ended {status}: {}",
                eks.cluster,
                s.to,
                if errors.is_empty() {
                    "no reason given".into()
                } else {
                    errors.join("; ")
                }
            ),
            _ => {}
        }
        if start.elapsed() > UPDATE_LIMIT {
            bail!(
                "update {id} of cluster {:?} (authentication mode -> {}) is still {status} after {} minutes; check it with `aws eks describe-update --name {} --update-id {id}` and run kctx again",
                eks.cluster,
                s.to,
                UPDATE_LIMIT.as_secs() / 60,
                eks.cluster
            );
        }
        std::thread::sleep(wait);
        wait = (wait * 2).min(Duration::from_secs(15));
    }
}
