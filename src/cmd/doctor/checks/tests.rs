//! Every code of the catalogue, found (and not found) in hand-made data.

use super::*;
use crate::aws::sso::cache::Status;
use crate::aws::sso::config::Session;
use crate::aws::ClusterInfo;
use crate::kubeconfig::Loaded;

/// An IAM Identity Center session: named, or a legacy profile's own settings.
fn session(name: Option<&str>, profile: Option<&str>) -> Session {
    Session {
        name: name.map(str::to_owned),
        profile: profile.map(str::to_owned),
        start_url: "https://x/start".into(),
        region: "us-east-1".into(),
        scopes: Vec::new(),
    }
}

fn at(t: &str) -> std::time::SystemTime {
    crate::aws::sso::cache::parse_time(t).unwrap()
}

fn merged(files: &[(&str, &str)]) -> Merged {
    Merged {
        files: files
            .iter()
            .map(|(p, text)| Loaded {
                path: PathBuf::from(p),
                file: Some(KubeFile::parse(Path::new(p), text.as_bytes().to_vec()).unwrap()),
                error: None,
            })
            .collect(),
    }
}

/// Facts where every command is on PATH at /bin, every file is 0600, and the AWS config
/// defines `work` and `sso` (whose session `corp` has a valid token).
fn facts<'a>(m: &'a Merged, online: &'a [OnlineResult]) -> Facts<'a> {
    let mut which = HashMap::new();
    for file in m.readable() {
        for u in file.names(Kind::Users) {
            if let Some(c) = file
                .body(Kind::Users, u)
                .and_then(|b| b.get("exec")?.get("command")?.as_str().map(str::to_owned))
            {
                let key = command_key(&file.path, &c);
                let found = PathBuf::from("/bin").join(Path::new(&key).file_name().unwrap());
                which.insert(key, Some(found));
            }
        }
    }
    which.insert("kctx".into(), Some(PathBuf::from("/bin/kctx")));
    Facts {
        merged: m,
        modes: m.readable().map(|f| (f.path.clone(), 0o600)).collect(),
        which,
        kctx_command: "kctx".into(),
        kuberc: None,
        aws: AwsFacts {
            profiles: Some(["work".to_owned(), "sso".to_owned()].into()),
            files: "~/.aws/config and ~/.aws/credentials".into(),
            sso: BTreeMap::from([(
                "sso".to_owned(),
                (
                    session(Some("corp"), None),
                    Status::Valid {
                        expires_at: at("2099-01-01T00:00:00Z"),
                    },
                ),
            )]),
        },
        online,
    }
}

fn codes(fs: &[Finding]) -> Vec<&'static str> {
    fs.iter().map(|f| f.code).collect()
}

fn only<'a>(fs: &'a [Finding], code: &str) -> &'a Finding {
    let v: Vec<&Finding> = fs.iter().filter(|f| f.code == code).collect();
    assert_eq!(v.len(), 1, "{code}: {fs:#?}");
    v[0]
}

const CLEAN: &str = "\
apiVersion: v1
kind: Config
current-context: prod
clusters:
- name: arn:aws:eks:eu-west-1:111122223333:cluster/prod
  cluster: {server: 'https://ABC.gr7.eu-west-1.eks.amazonaws.com', certificate-authority-data: Q0E=}
contexts:
- name: prod
  context: {cluster: 'arn:aws:eks:eu-west-1:111122223333:cluster/prod', user: prod}
users:
- name: prod
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: kctx
      args: [token, --cluster-name, prod, --region, eu-west-1]
      env: [{name: AWS_PROFILE, value: work}]
";

#[test]
fn a_clean_file_has_nothing() {
    let m = merged(&[("/k/config", CLEAN)]);
    assert_eq!(decide(&facts(&m, &[])), vec![]);
}

fn with_user(exec: &str) -> String {
    let i = CLEAN.find("    exec:\n").unwrap();
    format!("{}{exec}", &CLEAN[..i])
}

#[test]
fn aws_cli_exec_becomes_what_kctx_add_writes() {
    let text = with_user(
        "    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: aws
      args: [--region, eu-west-1, eks, get-token, --cluster-name, prod, --output, json, --role, 'arn:aws:iam::111122223333:role/dev']
      env: [{name: AWS_PROFILE, value: work}, {name: FOO, value: bar}]
      installHint: install the AWS CLI
",
    );
    let m = merged(&[("/k/config", &text)]);
    let fs = decide(&facts(&m, &[]));
    assert_eq!(codes(&fs), ["aws-cli-exec"]);
    let f = &fs[0];
    assert_eq!(f.severity, Severity::Warning);
    assert_eq!(f.user.as_deref(), Some("prod"));
    let fix = f.fix.as_ref().unwrap();
    assert_eq!(
        fix.says,
        "rewrite as `kctx token --cluster-name prod --region eu-west-1 --role-arn arn:aws:iam::111122223333:role/dev` with AWS_PROFILE=work (its env kept)"
    );
    assert_eq!(
        fix.action,
        Action::EditExec {
            user: "prod".into(),
            changes: vec![
                ("apiVersion".into(), Some(json!(V1BETA1))),
                (
                    "args".into(),
                    Some(json!([
                        "token",
                        "--cluster-name",
                        "prod",
                        "--region",
                        "eu-west-1",
                        "--role-arn",
                        "arn:aws:iam::111122223333:role/dev"
                    ]))
                ),
                ("command".into(), Some(json!("kctx"))),
                ("installHint".into(), None),
            ]
        }
    );
}

#[test]
fn a_profile_given_as_an_argument_moves_to_env_and_the_region_comes_from_the_cluster() {
    let text = with_user(
        "    exec:
      apiVersion: client.authentication.k8s.io/v1alpha1
      command: aws
      args: [--profile, work, eks, get-token, --cluster-name, prod]
      env: [{name: AWS_PROFILE, value: other}, {name: FOO, value: bar}]
",
    );
    let m = merged(&[("/k/config", &text)]);
    let fs = decide(&facts(&m, &[]));
    assert_eq!(codes(&fs), ["exec-api-v1alpha1", "aws-cli-exec"]);
    assert_eq!(fs[0].severity, Severity::Error);
    let Action::EditExec { changes, .. } = &fs[1].fix.as_ref().unwrap().action else {
        panic!()
    };
    let get = |k: &str| changes.iter().find(|(c, _)| c == k).unwrap().1.clone();
    // the cluster ARN's region, as `kctx add` writes it
    assert_eq!(
        get("args"),
        Some(json!([
            "token",
            "--cluster-name",
            "prod",
            "--region",
            "eu-west-1"
        ]))
    );
    assert_eq!(
        get("env"),
        Some(json!([{"name": "FOO", "value": "bar"}, {"name": "AWS_PROFILE", "value": "work"}]))
    );
    assert_eq!(get("apiVersion"), Some(json!(V1BETA1)));
}

#[test]
fn authenticator_exec_is_converted_and_unknown_arguments_are_not() {
    let text = with_user(
        "    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: aws-iam-authenticator
      args: [token, -i, prod, --cluster-id=prod]
      env: [{name: AWS_PROFILE, value: work}, {name: AWS_DEFAULT_REGION, value: us-east-2}]
",
    );
    let m = merged(&[("/k/config", &text)]);
    let fs = decide(&facts(&m, &[]));
    assert_eq!(codes(&fs), ["authenticator-exec"]);
    assert_eq!(
        fs[0].fix.as_ref().unwrap().says,
        "rewrite as `kctx token --cluster-name prod --region us-east-2` with AWS_PROFILE=work (its env kept)",
        "the authenticator's cluster id is the cluster name"
    );
    let text = text.replace(
        "[token, -i, prod, --cluster-id=prod]",
        "[token, -i, prod, --forward-session-name]",
    );
    let m = merged(&[("/k/config", &text)]);
    let fs = decide(&facts(&m, &[]));
    assert!(fs[0].fix.is_none());
    assert!(fs[0].message.ends_with("not rewritten: `kctx token` has no equivalent of its argument `--forward-session-name`"), "{}", fs[0].message);
}

#[test]
fn missing_commands_are_named_with_their_install_hint() {
    let text = with_user(
        "    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: ./bin/oidc-login
      installHint: |
        brew install
        int128/kubelogin
",
    );
    let m = merged(&[("/k/config", &text)]);
    let mut f = facts(&m, &[]);
    assert!(
        f.which.contains_key("/k/./bin/oidc-login"),
        "relative to the kubeconfig: {:?}",
        f.which
    );
    f.which.insert("/k/./bin/oidc-login".into(), None);
    let fs = decide(&f);
    assert_eq!(codes(&fs), ["exec-command-not-found"]);
    assert_eq!(
        fs[0].message,
        "its exec command `./bin/oidc-login` does not exist or cannot run (its installHint: brew install int128/kubelogin)"
    );
    assert!(fs[0].fix.is_none());
}

#[test]
fn unknown_profiles_and_expired_sso_sessions() {
    let m = merged(&[("/k/config", &CLEAN.replace("value: work", "value: wrok"))]);
    let fs = decide(&facts(&m, &[]));
    assert_eq!(codes(&fs), ["unknown-aws-profile"]);
    assert_eq!(
        fs[0].message,
        "its exec uses AWS profile \"wrok\", which ~/.aws/config and ~/.aws/credentials do not define; did you mean \"work\"?"
    );
    let m = merged(&[("/k/config", &CLEAN.replace("value: work", "value: sso"))]);
    let mut f = facts(&m, &[]);
    assert!(decide(&f).is_empty(), "a valid token");
    f.aws.sso.get_mut("sso").unwrap().1 = Status::Refreshable {
        expires_at: at("2025-01-01T00:00:00Z"),
    };
    assert!(decide(&f).is_empty(), "the SDK refreshes it");
    f.aws.sso.get_mut("sso").unwrap().1 = Status::Expired {
        expires_at: at("2025-01-01T00:00:00Z"),
    };
    let fs = decide(&f);
    assert_eq!(codes(&fs), ["sso-session-expired"]);
    assert_eq!(
        fs[0].message,
        "its AWS profile \"sso\" signs in through SSO session \"corp\", and its token expired at 2025-01-01T00:00:00Z: run `kctx login --sso-session corp`"
    );
    f.aws
        .sso
        .insert("sso".into(), (session(None, Some("sso")), Status::Missing));
    let fs = decide(&f);
    assert!(
        fs[0].message.ends_with(
            "no token is cached (never logged in, or logged out): run `kctx login --profile sso`"
        ),
        "{}",
        fs[0].message
    );
    // AWS config unreadable: nothing said about profiles
    f.aws.profiles = None;
    f.aws.sso.clear();
    assert!(decide(&f).is_empty());
}

const SECOND: &str = "\
# the second file
clusters:
- name: arn:aws:eks:eu-west-1:111122223333:cluster/prod   # shadowed by the first file
  cluster: {server: 'https://old'}
- name: spare
  cluster: {server: 'https://spare'}
contexts:
- name: broken
  context: {cluster: nowhere, user: ghost}
users:
- name: leftover
  user: {token: abc}
";

#[test]
fn references_orphans_shadows_and_current_context() {
    let first = CLEAN.replace("current-context: prod", "current-context: gone");
    let second = format!("current-context: broken\n{SECOND}");
    let m = merged(&[("/k/a", &first), ("/k/b", &second)]);
    let fs = decide(&facts(&m, &[]));
    assert_eq!(
        codes(&fs),
        [
            "dangling-current-context",
            "missing-cluster",
            "missing-user",
            "orphan-cluster",
            "orphan-user",
            "shadowed-entry"
        ]
    );
    let mc = only(&fs, "missing-cluster");
    assert_eq!(
        (mc.context.as_deref(), mc.cluster.as_deref()),
        (Some("broken"), Some("nowhere"))
    );
    assert_eq!(mc.file, PathBuf::from("/k/b"));
    assert!(mc.fix.is_none(), "a context is never removed");
    let dc = only(&fs, "dangling-current-context");
    assert_eq!(
        dc.file,
        PathBuf::from("/k/a"),
        "b's current-context names a context"
    );
    assert_eq!(dc.fix.as_ref().unwrap().action, Action::UnsetCurrentContext);
    let oc = only(&fs, "orphan-cluster");
    assert_eq!(oc.cluster.as_deref(), Some("spare"));
    assert_eq!(oc.severity, Severity::Info);
    assert_eq!(
        oc.fix.as_ref().unwrap().action,
        Action::Remove {
            kind: Kind::Clusters,
            name: "spare".into()
        }
    );
    assert_eq!(only(&fs, "orphan-user").user.as_deref(), Some("leftover"));
    let sh = only(&fs, "shadowed-entry");
    assert_eq!(sh.file, PathBuf::from("/k/b"));
    assert!(sh.fix.is_none());
    assert_eq!(
        sh.message,
        "also defined in /k/a, which comes first: kubectl reads that one, never this"
    );
    // every file's dangling current-context up to the first that names a context
    let second = format!("current-context: alsogone\n{SECOND}");
    let m = merged(&[("/k/a", &first), ("/k/b", &second)]);
    let fs = decide(&facts(&m, &[]));
    let dangling: Vec<&PathBuf> = fs
        .iter()
        .filter(|f| f.code == "dangling-current-context")
        .map(|f| &f.file)
        .collect();
    assert_eq!(dangling, [&PathBuf::from("/k/a"), &PathBuf::from("/k/b")]);
    // with a file that cannot be read, nothing is called unused
    let mut m = merged(&[("/k/a", &first), ("/k/b", &second)]);
    m.files.push(Loaded {
        path: "/k/c".into(),
        file: None,
        error: Some("broken".into()),
    });
    assert!(!codes(&decide(&facts(&m, &[]))).contains(&"orphan-user"));
}

#[test]
fn permissions_only_matter_for_files_with_credentials() {
    let m = merged(&[("/k/a", CLEAN), ("/k/b", SECOND)]);
    let mut f = facts(&m, &[]);
    f.modes.insert("/k/a".into(), 0o644);
    f.modes.insert("/k/b".into(), 0o640);
    let fs: Vec<Finding> = decide(&f)
        .into_iter()
        .filter(|f| f.code == "kubeconfig-permissions")
        .collect();
    assert_eq!(fs.len(), 1, "{fs:#?}");
    assert_eq!(fs[0].file, PathBuf::from("/k/b"));
    assert_eq!(
        fs[0].message,
        "mode 0640: its group can read it, and it holds credentials (user \"leftover\": `token`)"
    );
    assert_eq!(fs[0].fix.as_ref().unwrap().action, Action::Chmod(0o600));
    f.modes.insert("/k/b".into(), 0o600);
    assert!(!codes(&decide(&f)).contains(&"kubeconfig-permissions"));
    // a secret in an exec env is a credential too
    let text = CLEAN.replace(
        "value: work}]",
        "value: work}, {name: AWS_SECRET_ACCESS_KEY, value: s}]",
    );
    let m = merged(&[("/k/a", &text)]);
    let mut f = facts(&m, &[]);
    f.modes.insert("/k/a".into(), 0o604);
    assert!(only(&decide(&f), "kubeconfig-permissions")
        .message
        .starts_with("mode 0604: others can read it"));
}

#[test]
fn a_kuberc_allowlist_without_kctx_is_shown_the_lines_to_add() {
    let aws = with_user(
        "    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: aws
      args: [--region, eu-west-1, eks, get-token, --cluster-name, prod]
",
    );
    let m = merged(&[
        ("/k/a", CLEAN),
        ("/k/b", &aws.replace("name: prod", "name: other")),
    ]);
    let mut f = facts(&m, &[]);
    f.which.insert("aws".into(), Some("/bin/aws".into()));
    f.kuberc = Some(Kuberc {
        path: "/h/.kube/kuberc".into(),
        policy: Policy::Allowlist(vec!["aws".into()]),
        has_allowlist: true,
    });
    let fs = decide(&f);
    let k = only(&fs, "kuberc-blocks-kctx");
    assert_eq!(k.file, PathBuf::from("/h/.kube/kuberc"));
    assert_eq!(
        k.message,
        "its credentialPluginPolicy (Allowlist) keeps kubectl from running `kctx` for users \"other\" (once --fix rewrites it), \"prod\"; add:\n- name: kctx      # under credentialPluginAllowlist"
    );
    // allowed by its full path
    f.kuberc.as_mut().unwrap().policy = Policy::Allowlist(vec!["/bin/kctx".into()]);
    assert!(!codes(&decide(&f)).contains(&"kuberc-blocks-kctx"));
    f.kuberc.as_mut().unwrap().policy = Policy::DenyAll;
    let fs = decide(&f);
    assert!(only(&fs, "kuberc-blocks-kctx").message.ends_with(
        "add:\ncredentialPluginPolicy: Allowlist\ncredentialPluginAllowlist:\n- name: kctx"
    ));
    f.kuberc.as_mut().unwrap().policy = Policy::AllowAll;
    assert!(!codes(&decide(&f)).contains(&"kuberc-blocks-kctx"));
}

fn info(endpoint: &str, ca: &str) -> ClusterInfo {
    ClusterInfo {
        name: "prod".into(),
        arn: "arn:aws:eks:eu-west-1:111122223333:cluster/prod".into(),
        endpoint: endpoint.into(),
        ca_data: ca.into(),
        status: "ACTIVE".into(),
        version: "1.31".into(),
        id: None,
        outpost: false,
    }
}

#[test]
fn online_answers_against_the_cluster_entries() {
    let m = merged(&[("/k/a", CLEAN)]);
    let arn = "arn:aws:eks:eu-west-1:111122223333:cluster/prod";
    let result = |d: Described| {
        vec![OnlineResult {
            context: "prod".into(),
            cluster: arn.into(),
            name: "prod".into(),
            region: "eu-west-1".into(),
            described: d,
        }]
    };
    // the same cluster (a trailing slash and line breaks in the CA are no change)
    let same = result(Described::Found(info(
        "https://ABC.gr7.eu-west-1.eks.amazonaws.com/",
        "Q0\nE=",
    )));
    assert!(decide(&facts(&m, &same)).is_empty());
    let failed = result(Described::Failed("timed out".into()));
    assert!(
        decide(&facts(&m, &failed)).is_empty(),
        "said on stderr, not a finding"
    );
    let gone = result(Described::NotFound);
    let fs = decide(&facts(&m, &gone));
    assert_eq!(codes(&fs), ["cluster-not-found"]);
    assert_eq!(
        (fs[0].context.as_deref(), fs[0].cluster.as_deref()),
        (Some("prod"), Some(arn))
    );
    assert!(fs[0].fix.is_none());
    let recreated = result(Described::Found(info(
        "https://NEW.gr7.eu-west-1.eks.amazonaws.com",
        "TkVX",
    )));
    let fs = decide(&facts(&m, &recreated));
    assert_eq!(codes(&fs), ["endpoint-changed", "ca-changed"]);
    assert_eq!(
        fs[0].fix.as_ref().unwrap().action,
        Action::UpdateCluster {
            name: arn.into(),
            set: Map::from_iter([(
                "server".into(),
                json!("https://NEW.gr7.eu-west-1.eks.amazonaws.com")
            )])
        }
    );
    assert_eq!(
        fs[1].fix.as_ref().unwrap().action,
        Action::UpdateCluster {
            name: arn.into(),
            set: Map::from_iter([("certificate-authority-data".into(), json!("TkVX"))])
        }
    );
    // a CA given as a file is not compared (data beside it would break the entry)
    let m = merged(&[(
        "/k/a",
        &CLEAN.replace(
            "certificate-authority-data: Q0E=",
            "certificate-authority: /ca.pem",
        ),
    )]);
    assert_eq!(codes(&decide(&facts(&m, &recreated))), ["endpoint-changed"]);
}

#[test]
fn command_keys_follow_client_go() {
    assert_eq!(command_key(Path::new("/k/config"), "kctx"), "kctx");
    assert_eq!(
        command_key(Path::new("/k/config"), "/usr/bin/aws"),
        "/usr/bin/aws"
    );
    assert_eq!(command_key(Path::new("/k/config"), "bin/x"), "/k/bin/x");
}
