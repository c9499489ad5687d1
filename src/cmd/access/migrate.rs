//! `kctx access migrate`: aws-auth's mappings → access entries (eksctl's rules, in
//! `aws::migrate`), with the mode switches around them. A plan unless `--approve`; never
//! deletes aws-auth.
//!
//! The cluster creator's admin (`bootstrapClusterCreatorAdminPermissions`) is in no mapping:
//! in `CONFIG_MAP` mode it is invisible, and EKS makes it an access entry with
//! AmazonEKSClusterAdminPolicy once the mode reads access entries. When the cluster shows that
//! the caller is that creator (`kctx access`'s reconciliation), the plan names it in a
//! `creator` row: its entry is kept — EKS's own when the mode switch made one, else kctx makes
//! it — so a switch to `API` never loses it. When the creator cannot be told, the plan says
//! that EKS will show it as an access entry after the switch.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use serde_json::json;

use super::check::{Ask, Facts};
use super::{or_dash, read_aws_auth, AwsAuth};
use crate::aws::access::AuthMode;
use crate::aws::access::{self, Scope};
use crate::aws::auth_map::{Mapping, Matcher};
use crate::aws::migrate::{self, Action, Planned, CREATOR};
use crate::aws::{self};
use crate::cli::{AccessTarget, AwsAuthArgs, ReportFormat};

/// How long a mode switch may take before kctx stops waiting (EKS takes minutes).
const UPDATE_LIMIT: Duration = Duration::from_secs(25 * 60);

/// A mode switch: from, to.
#[derive(Debug, Clone, serde::Serialize)]
struct Switch {
    from: AuthMode,
    to: AuthMode,
    one_way: bool,
}

/// What happened to one planned entry under `--approve`.
#[derive(Debug, Clone, serde::Serialize)]
struct Outcome {
    principal: String,
    created: bool,
    /// The entry was there when kctx came to make it (EKS made the creator's at the switch).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    existed: bool,
    policy_associated: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// What the migration will do, decided from what was read; no call is made to decide it.
struct Migration {
    planned: Vec<Planned>,
    /// The cluster creator's hidden admin, when the caller is not shown to be the creator.
    creator_note: Option<String>,
    /// aws-auth entries that could not be read (they block the switch to API).
    problems: Vec<String>,
    switches: Vec<Switch>,
    /// API was asked for, but mappings that cannot move would lose access.
    api_held_back: bool,
    blockers: usize,
}

impl Migration {
    /// The mode switches around eksctl's plan: CONFIG_MAP must become API_AND_CONFIG_MAP
    /// before entries can be made; API only when nothing would be left behind.
    fn decide(
        mode: AuthMode,
        target: AuthMode,
        planned: Vec<Planned>,
        problems: Vec<String>,
        creator: &Creator,
    ) -> Self {
        let blockers = planned.iter().filter(|p| p.blocks_api()).count() + problems.len();
        let mut switches = Vec::new();
        if mode == AuthMode::ConfigMap {
            switches.push(Switch {
                from: mode,
                to: AuthMode::ApiAndConfigMap,
                one_way: true,
            });
        }
        let api_held_back = target == AuthMode::Api && blockers > 0;
        if target == AuthMode::Api && !api_held_back {
            switches.push(Switch {
                from: AuthMode::ApiAndConfigMap,
                to: AuthMode::Api,
                one_way: true,
            });
        }
        let creator_note = match creator {
            Creator::Unknown if mode == AuthMode::ConfigMap => Some(
                "the cluster creator (bootstrapClusterCreatorAdminPermissions) is an admin that no mapping shows; EKS makes it an access entry with AmazonEKSClusterAdminPolicy when the mode leaves CONFIG_MAP (`kctx access list` shows it then); run this as the creator to have it in the plan".to_owned(),
            ),
            _ => None,
        };
        Self {
            planned,
            creator_note,
            problems,
            switches,
            api_held_back,
            blockers,
        }
    }

    fn creates(&self) -> Vec<&Planned> {
        self.planned
            .iter()
            .filter(|p| p.new_entry().is_some())
            .collect()
    }

    fn nothing_to_do(&self) -> bool {
        self.creates().is_empty() && self.switches.is_empty()
    }

    fn switch_to(&self, mode: AuthMode) -> Option<&Switch> {
        self.switches.iter().find(|s| s.to == mode)
    }
}

/// What `--approve` did.
struct Applied {
    switched: Vec<Switch>,
    outcomes: Vec<Outcome>,
    final_mode: AuthMode,
}

impl Applied {
    fn failed(&self) -> usize {
        self.outcomes.iter().filter(|o| o.error.is_some()).count()
    }

    fn created(&self) -> usize {
        self.outcomes.iter().filter(|o| o.created).count()
    }

    fn existed(&self) -> usize {
        self.outcomes.iter().filter(|o| o.existed).count()
    }
}

/// Whether the cluster creator's hidden admin is in play, and whose it is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Creator {
    /// No hidden admin (`bootstrapClusterCreatorAdminPermissions` off, or already an entry).
    None,
    /// The caller is the creator: the cluster authenticates it and nothing maps it.
    Caller(String),
    /// There is one, but kctx cannot tell whose.
    Unknown,
}

impl Creator {
    fn of(f: &Facts) -> Self {
        if f.access.bootstrap_creator_admin == Some(false) {
            return Creator::None;
        }
        if f.assess().judged.creator {
            return Creator::Caller(f.caller.principal_arn.clone());
        }
        match f.access.mode {
            AuthMode::ConfigMap => Creator::Unknown,
            _ => Creator::None,
        }
    }

    /// The creator as a mapping EKS's rules turn into an admin entry (system:masters).
    fn mapping(&self) -> Option<Mapping> {
        let Creator::Caller(arn) = self else {
            return None;
        };
        let matcher = if arn.contains(":role/") {
            Matcher::Role { arn: arn.clone() }
        } else {
            Matcher::User { arn: arn.clone() }
        };
        Some(Mapping {
            key: CREATOR,
            line: 0,
            matcher,
            username: String::new(),
            groups: vec!["system:masters".into()],
            ambiguous: None,
        })
    }
}

pub(crate) fn run(
    cluster: Option<&str>,
    target_mode: AuthMode,
    approve: bool,
    t: &AccessTarget,
    a: &AwsAuthArgs,
    output: ReportFormat,
) -> Result<ExitCode> {
    let facts = Facts::gather(&Ask {
        cluster,
        target: t,
        aws_auth: a,
        rights_in: None,
    })?;
    let r = &facts.r;
    let eks = r.eks();
    let mode = facts.access.mode;
    if mode == AuthMode::Api {
        return already_api(r, output);
    }
    // aws-auth: nothing is planned from a copy kctx could not read
    let read_now;
    let aws_auth = match &facts.aws_auth {
        Some(x) => x,
        None => {
            read_now = read_aws_auth(r, a, &facts.reach);
            &read_now
        }
    };
    let (mut mappings, problems) = match aws_auth {
        AwsAuth::Read { map, .. } => (map.mappings.clone(), map.problems.clone()),
        AwsAuth::Absent { .. } => (Vec::new(), Vec::new()),
        other => bail!(
            "aws-auth of cluster {} {}; kctx plans nothing without it (--aws-auth-file reads a saved copy)",
            r.cluster,
            other.describe()
        ),
    };
    let count = mappings.len();
    let creator = Creator::of(&facts);
    mappings.splice(0..0, creator.mapping());
    let planned = plan_entries(&facts, &eks, mode, &mappings)?;
    let m = Migration::decide(mode, target_mode, planned, problems, &creator);
    let header = Header {
        cluster: &r.cluster,
        region: &r.target.region,
        mode,
        aws_auth,
        mappings: count,
    };
    if output == ReportFormat::Text {
        print!("{}", header.text());
        print!("{}", plan_table(&m.planned));
        for p in &m.problems {
            println!("skipped (unreadable): {p}");
        }
        print!("{}", steps_text(&m));
    }
    if !approve || m.nothing_to_do() {
        if output == ReportFormat::Json {
            println!(
                "{}",
                serde_json::to_string_pretty(&report(&header, &m, approve, None))?
            );
        } else if m.nothing_to_do() {
            println!(
                "nothing to do: no mapping needs a new access entry and no mode change is due"
            );
        } else {
            println!("\nthis is a plan: nothing was changed. Run again with --approve to make these changes.");
        }
        return Ok(ExitCode::SUCCESS);
    }
    approved(&facts, &eks, &m, &header, output)
}

/// `--approve`: makes the changes and reports them.
fn approved(
    facts: &Facts,
    eks: &access::Eks<'_>,
    m: &Migration,
    header: &Header<'_>,
    output: ReportFormat,
) -> Result<ExitCode> {
    let r = &facts.r;
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
    let done = apply(eks, m, header.mode, &say)?;
    let ctx = r
        .context
        .as_deref()
        .map(|c| format!(" --context {}", crate::session::word_posix(c)))
        .unwrap_or_default();
    let aws_auth_read = matches!(header.aws_auth, AwsAuth::Read { .. });
    let closing = closing_lines(m, &done, aws_auth_read, &ctx);
    match output {
        ReportFormat::Text => {
            for l in &closing {
                println!("{l}");
            }
        }
        ReportFormat::Json => {
            let mut v = report(header, m, true, Some(&done));
            v["authentication_mode_now"] = json!(done.final_mode);
            v["summary"] = json!(closing);
            println!("{}", serde_json::to_string_pretty(&v)?);
        }
    }
    if done.failed() > 0 {
        eprintln!(
            "kctx: error: migration of cluster {} incomplete: {} of {} access entries failed (created: {})",
            r.cluster,
            done.failed(),
            m.creates().len(),
            done.created()
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// A cluster already in API mode: nothing to migrate.
fn already_api(r: &super::Resolved, output: ReportFormat) -> Result<ExitCode> {
    let msg = format!(
        "cluster {} is already in API mode: aws-auth is no longer read, so there is nothing to migrate",
        r.cluster
    );
    match output {
        ReportFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "cluster": r.cluster, "region": r.target.region,
                "authentication_mode": AuthMode::Api, "plan": [], "mode_changes": [],
                "note": msg,
            }))?
        ),
        ReportFormat::Text => println!("{msg}"),
    }
    Ok(ExitCode::SUCCESS)
}

/// eksctl's plan for each mapping, with the existing entries (none can be listed in
/// CONFIG_MAP mode) and the IAM paths looked up in the caller's account.
fn plan_entries(
    f: &Facts,
    eks: &access::Eks<'_>,
    mode: AuthMode,
    mappings: &[aws::auth_map::Mapping],
) -> Result<Vec<Planned>> {
    let r = &f.r;
    let existing = if mode.reads_entries() {
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
        f.caller.account.clone()
    } else {
        String::new()
    };
    let iam = aws::iam::client(r.creds.clone(), &r.target);
    Ok(migrate::plan(mappings, &existing, r.partition(), |m| {
        aws::iam::lookup(&r.rt, &iam, &m.principal(), &account)
    }))
}

/// Makes the changes: the switch to API_AND_CONFIG_MAP, the entries (a failure is reported
/// and the others still made), then API only when every entry was made.
fn apply(
    eks: &access::Eks<'_>,
    m: &Migration,
    mode: AuthMode,
    say: &dyn Fn(String),
) -> Result<Applied> {
    let mut switched = Vec::new();
    if let Some(s) = m
        .switches
        .first()
        .filter(|s| s.to == AuthMode::ApiAndConfigMap)
    {
        switch_mode(eks, s, say)?;
        switched.push(s.clone());
    }
    let creates = m.creates();
    // the switch may have made entries (the creator's): those are kept, not made again
    let now = if switched.is_empty() {
        Vec::new()
    } else {
        eks.list_entries()?
    };
    let outcomes: Vec<Outcome> = creates
        .iter()
        .filter_map(|p| create(eks, p, &now, say))
        .collect();
    let mut done = Applied {
        final_mode: switched.last().map_or(mode, |s| s.to),
        switched,
        outcomes,
    };
    if let Some(s) = m.switch_to(AuthMode::Api) {
        if done.failed() == 0 {
            switch_mode(eks, s, say)?;
            done.switched.push(s.clone());
            done.final_mode = AuthMode::Api;
        } else {
            say(format!(
                "not switching to API: {} of {} planned entries failed; fix them and run again",
                done.failed(),
                creates.len()
            ));
        }
    }
    Ok(done)
}

/// One planned entry: CreateAccessEntry, then its policy; an entry in `existing` (made by
/// EKS at the mode switch) is kept as it is.
fn create(
    eks: &access::Eks<'_>,
    p: &Planned,
    existing: &[String],
    say: &dyn Fn(String),
) -> Option<Outcome> {
    let (principal, entry, policy) = p.new_entry()?;
    let mut o = Outcome {
        principal: principal.clone(),
        created: false,
        existed: false,
        policy_associated: None,
        error: None,
    };
    if existing.contains(&principal) {
        say(format!(
            "kept access entry {principal}: EKS made it when the mode changed{}",
            if p.mapping.key == CREATOR {
                " (the cluster creator's admin)"
            } else {
                ""
            }
        ));
        o.existed = true;
        return Some(o);
    }
    if let Err(e) = eks.create_entry_with(&principal, &entry) {
        say(format!("FAILED to create access entry {principal}: {e:#}"));
        o.error = Some(format!("{e:#}"));
        return Some(o);
    }
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
    Some(o)
}

/// What the run ends with: what was made, and what is left to do (the kubectl command that
/// deletes aws-auth, which kctx never runs).
fn closing_lines(m: &Migration, done: &Applied, aws_auth_read: bool, ctx: &str) -> Vec<String> {
    let delete = format!("kubectl{ctx} delete configmap aws-auth -n kube-system");
    let mut closing = vec![format!(
        "created {} of {} access entries{}; authentication mode is now {}",
        done.created(),
        m.creates().len(),
        match done.existed() {
            0 => String::new(),
            n => format!(" ({n} already there)"),
        },
        done.final_mode
    )];
    if done.failed() > 0 {
        let names: Vec<&str> = done
            .outcomes
            .iter()
            .filter(|o| o.error.is_some())
            .map(|o| o.principal.as_str())
            .collect();
        closing.push(format!("failed: {}", names.join(", ")));
    } else if m.blockers == 0 && aws_auth_read {
        closing.push(if done.final_mode == AuthMode::Api {
            format!("aws-auth is no longer read; kctx leaves it in place. To delete it: {delete}")
        } else {
            format!("every mapping now has an access entry; once you have checked access, aws-auth can go (kctx never deletes it): {delete}")
        });
    } else if m.blockers > 0 {
        closing.push(format!(
            "{} mapping(s) stay only in aws-auth (see NOTE above): keep aws-auth and the API_AND_CONFIG_MAP mode until they are handled",
            m.blockers
        ));
    }
    closing
}

struct Header<'a> {
    cluster: &'a str,
    region: &'a str,
    mode: AuthMode,
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
        let creator = p.mapping.key == CREATOR;
        let at = if creator {
            "creator".to_owned()
        } else {
            p.mapping.at()
        };
        rows.push(match &p.action {
            Action::Create {
                principal,
                kind,
                username,
                groups,
                policy,
            } => {
                let note = if creator {
                    "the cluster creator's admin (bootstrapClusterCreatorAdminPermissions): kept as an access entry (EKS's, when the mode switch makes it)".to_owned()
                } else if *principal != p.mapping.principal() {
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

fn steps_text(m: &Migration) -> String {
    let creates = m.creates();
    let mut out = String::from("\n");
    let mut n = 0;
    let mut step = |s: String| {
        n += 1;
        out.push_str(&format!("{n}. {s}\n"));
    };
    if let Some(s) = m.switch_to(AuthMode::ApiAndConfigMap) {
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
    if m.switch_to(AuthMode::Api).is_some() {
        step("switch the authentication mode API_AND_CONFIG_MAP -> API, only if every entry above was created. THIS IS ONE-WAY: EKS cannot switch back, and aws-auth is no longer read".into());
    }
    if m.api_held_back {
        out.push_str(&format!(
            "not switching to API: {} mapping(s) cannot move to access entries (see NOTE) and would lose access\n",
            m.blockers
        ));
    }
    if let Some(n) = &m.creator_note {
        out.push_str(&format!("note: {n}\n"));
    }
    out
}

fn report(
    h: &Header<'_>,
    m: &Migration,
    approved: bool,
    done: Option<&Applied>,
) -> serde_json::Value {
    let mut v = json!({
        "cluster": h.cluster,
        "region": h.region,
        "authentication_mode": h.mode,
        "aws_auth": h.aws_auth.describe(),
        "plan": m.planned,
        "problems": m.problems,
        "cluster_creator": m.creator_note,
        "mode_changes": m.switches,
        "approved": approved,
    });
    if let Some(done) = done {
        v["results"] = json!(done.outcomes);
        v["mode_changes_made"] = json!(done.switched);
    }
    v
}

/// UpdateClusterConfig, then DescribeUpdate until it succeeds (backing off to 15 s).
fn switch_mode(eks: &access::Eks<'_>, s: &Switch, say: &dyn Fn(String)) -> Result<()> {
    let id = eks.set_authentication_mode(s.to)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::auth_map::AuthMap;
    use crate::aws::iam::Lookup;

    fn planned(map_roles: &str) -> Vec<Planned> {
        let m = AuthMap::from_data(
            serde_json::json!({ "mapRoles": map_roles })
                .as_object()
                .unwrap(),
        )
        .unwrap();
        migrate::plan(&m.mappings, &[], "aws", |mp| Lookup::Found(mp.principal()))
    }

    const ADMIN: &str =
        "- rolearn: arn:aws:iam::1:role/admin\n  username: admin\n  groups: [system:masters]\n";
    const PROXIER: &str =
        "- rolearn: arn:aws:iam::1:role/p\n  username: p\n  groups: [system:node-proxier]\n";

    #[test]
    fn config_map_switches_first_and_api_only_when_nothing_is_left_behind() {
        let m = Migration::decide(
            AuthMode::ConfigMap,
            AuthMode::Api,
            planned(ADMIN),
            vec![],
            &Creator::None,
        );
        let to: Vec<AuthMode> = m.switches.iter().map(|s| s.to).collect();
        assert_eq!(to, [AuthMode::ApiAndConfigMap, AuthMode::Api]);
        assert_eq!(m.creates().len(), 1);
        assert!(!m.api_held_back && !m.nothing_to_do());

        // a system: group other than masters cannot move: API would lock it out
        let both = format!("{ADMIN}{PROXIER}");
        let m = Migration::decide(
            AuthMode::ApiAndConfigMap,
            AuthMode::Api,
            planned(&both),
            vec![],
            &Creator::None,
        );
        assert!(m.api_held_back);
        assert_eq!(m.blockers, 1);
        assert!(m.switches.is_empty());

        // an unreadable entry blocks API too
        let m = Migration::decide(
            AuthMode::ApiAndConfigMap,
            AuthMode::Api,
            planned(ADMIN),
            vec!["mapRoles line 9: not a mapping".into()],
            &Creator::None,
        );
        assert!(m.api_held_back);

        let m = Migration::decide(
            AuthMode::ApiAndConfigMap,
            AuthMode::ApiAndConfigMap,
            vec![],
            vec![],
            &Creator::None,
        );
        assert!(m.nothing_to_do());
    }

    #[test]
    fn the_closing_says_what_is_left_and_never_deletes() {
        let m = Migration::decide(
            AuthMode::ApiAndConfigMap,
            AuthMode::ApiAndConfigMap,
            planned(ADMIN),
            vec![],
            &Creator::None,
        );
        let ok = Applied {
            switched: vec![],
            outcomes: vec![Outcome {
                principal: "arn:aws:iam::1:role/admin".into(),
                created: true,
                existed: false,
                policy_associated: Some(true),
                error: None,
            }],
            final_mode: AuthMode::ApiAndConfigMap,
        };
        let lines = closing_lines(&m, &ok, true, " --context 'a b'");
        assert_eq!(
            lines[0],
            "created 1 of 1 access entries; authentication mode is now API_AND_CONFIG_MAP"
        );
        assert!(
            lines[1].ends_with("kubectl --context 'a b' delete configmap aws-auth -n kube-system")
        );
        let failed = Applied {
            outcomes: vec![Outcome {
                error: Some("AccessDenied".into()),
                created: false,
                ..ok.outcomes[0].clone()
            }],
            ..ok
        };
        let lines = closing_lines(&m, &failed, true, "");
        assert_eq!(lines[1], "failed: arn:aws:iam::1:role/admin");
    }

    #[test]
    fn the_creator_is_kept_as_an_admin_entry_or_noted() {
        let me = Creator::Caller("arn:aws:iam::1:role/builder".into());
        let mappings: Vec<Mapping> = me.mapping().into_iter().collect();
        let plan = migrate::plan(&mappings, &[], "aws", |mp| Lookup::Found(mp.principal()));
        let m = Migration::decide(AuthMode::ConfigMap, AuthMode::Api, plan, vec![], &me);
        let creates = m.creates();
        assert_eq!(creates.len(), 1);
        let (principal, entry, policy) = creates[0].new_entry().unwrap();
        assert_eq!(principal, "arn:aws:iam::1:role/builder");
        assert_eq!(
            (entry.kind.as_deref(), entry.username, entry.groups.len()),
            (Some("STANDARD"), None, 0)
        );
        assert!(policy.unwrap().ends_with("/AmazonEKSClusterAdminPolicy"));
        assert!(
            plan_table(&m.planned).contains("creator   arn:aws:iam::1:role/builder   create"),
            "{}",
            plan_table(&m.planned)
        );
        assert!(m.creator_note.is_none());
        // nothing blocks API: the switch is planned
        assert_eq!(m.switches.last().map(|s| s.to), Some(AuthMode::Api));
        // the creator is someone else: said, and not in the plan
        let m = Migration::decide(
            AuthMode::ConfigMap,
            AuthMode::Api,
            vec![],
            vec![],
            &Creator::Unknown,
        );
        assert!(steps_text(&m).contains("note: the cluster creator (bootstrapClusterCreatorAdminPermissions) is an admin that no mapping shows"), "{}", steps_text(&m));
        let m = Migration::decide(
            AuthMode::ApiAndConfigMap,
            AuthMode::Api,
            vec![],
            vec![],
            &Creator::Unknown,
        );
        assert!(
            m.creator_note.is_none(),
            "in API_AND_CONFIG_MAP the creator's admin is an entry already"
        );
    }
}
