//! The command line, in one place.

use clap::{Args, Parser, Subcommand, ValueEnum};

pub(crate) use crate::token::TokenArgs;
use clap_complete::engine::{ArgValueCandidates, ArgValueCompleter, CompletionCandidate};

/// Context names for dynamic shell completion (`use`, `rename`, `rm`): those that start with
/// the word typed, made candidates only then (20,000 candidates cost more than the names).
fn context_candidates(current: &std::ffi::OsStr) -> Vec<CompletionCandidate> {
    let prefix = current.to_string_lossy();
    // the files are let go before the candidates are made
    let names = crate::kubeconfig::Merged::load()
        .names_where(crate::kubeconfig::Kind::Contexts, |n| {
            n.starts_with(prefix.as_ref())
        });
    names.into_iter().map(CompletionCandidate::new).collect()
}

/// The version, with the git revision the binary was built from when known.
pub(crate) const VERSION: &str = match option_env!("KCTX_GIT_REV") {
    Some(_) => concat!(env!("CARGO_PKG_VERSION"), " (", env!("KCTX_GIT_REV"), ")"),
    None => env!("CARGO_PKG_VERSION"),
};

#[derive(Parser, Debug)]
#[command(
    name = "kctx",
    version = VERSION,
    about = "Fast EKS credentials for kubectl, and a kubeconfig manager that loses nothing",
    long_about = "Fast EKS credentials for kubectl, and a kubeconfig manager that loses nothing.\n\n\
                  kubectx habits work: `kctx NAME` switches, `kctx -` goes back, `kctx -c` prints \
                  the current context, `kctx -u` unsets it. Without arguments: a picker on a \
                  terminal (fzf when it is on PATH; KCTX_IGNORE_FZF set to anything turns the \
                  picker off), the context names otherwise.",
    after_help = "A context named like a command (`list`, `use`, `rm`, `help`, …) is switched to with `kctx use NAME`; one whose name starts with `-` with `kctx -- NAME`."
)]
pub struct Cli {
    /// Context to switch to (`-`: the previous one); the same as `kctx use CONTEXT`
    #[arg(value_name = "CONTEXT", add = ArgValueCompleter::new(context_candidates))]
    pub(crate) context: Option<String>,
    /// Print the current context
    #[arg(short = 'c', long, conflicts_with_all = ["context", "unset"])]
    pub(crate) current: bool,
    /// Unset current-context
    #[arg(short = 'u', long, conflicts_with = "context")]
    pub(crate) unset: bool,
    /// Remove contexts, as `kctx rm` does (kubectx's spelling; `.` = the current one)
    #[arg(
        short = 'd',
        value_name = "CONTEXT",
        num_args = 1..,
        conflicts_with_all = ["context", "current", "unset"],
        add = ArgValueCompleter::new(context_candidates)
    )]
    pub(crate) delete: Vec<String>,
    /// When to colour output: auto (a terminal, unless NO_COLOR is set), always, never
    #[arg(
        long,
        value_enum,
        value_name = "WHEN",
        default_value = "auto",
        global = true
    )]
    pub(crate) color: ColorChoice,
    /// Kubeconfig file to use instead of KUBECONFIG's (as kubectl's); `add` writes to it,
    /// `doctor` checks it (`:`-separated files there)
    #[arg(long, value_name = "FILE", global = true)]
    pub(crate) kubeconfig: Option<String>,
    /// Limit for each call to a cluster (e.g. 5s, 500ms, 1m; default 5s)
    #[arg(long, value_name = "DURATION", value_parser = timeout_value, global = true)]
    pub(crate) request_timeout: Option<std::time::Duration>,
    #[command(subcommand)]
    pub(crate) command: Option<Command>,
}

/// Each call to a cluster is bounded by this (`--request-timeout`, default 5 s).
static REQUEST_TIMEOUT: std::sync::OnceLock<std::time::Duration> = std::sync::OnceLock::new();

/// The limit for each call to a cluster: `--request-timeout`, else 5 s.
pub(crate) fn request_timeout() -> std::time::Duration {
    REQUEST_TIMEOUT
        .get()
        .copied()
        .unwrap_or(std::time::Duration::from_secs(5))
}

/// Records `--request-timeout` for [`request_timeout`].
pub(crate) fn set_request_timeout(d: std::time::Duration) {
    let _ = REQUEST_TIMEOUT.set(d);
}

/// `kctx token` alone (see `main.rs`): the same arguments as the subcommand, `--color`
/// accepted (a global option elsewhere) and ignored.
#[derive(Parser, Debug)]
#[command(
    name = "token",
    bin_name = "kctx token",
    version = VERSION,
    about = "Print an EKS bearer token as an ExecCredential (run by kubectl as an exec plugin)",
    args_override_self = true
)]
pub(crate) struct TokenCli {
    #[command(flatten)]
    pub(crate) args: TokenArgs,
    #[arg(
        long,
        value_enum,
        value_name = "WHEN",
        default_value = "auto",
        hide = true
    )]
    pub(crate) color: ColorChoice,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// Print an EKS bearer token as an ExecCredential (run by kubectl as an exec plugin)
    #[command(args_override_self = true)]
    Token(TokenArgs),
    /// Inspect or clear the token cache
    #[command(subcommand)]
    Cache(CacheCommand),
    /// Add or update an EKS cluster's cluster, user and context in a kubeconfig (--all: every
    /// cluster discovered)
    Add(AddArgs),
    /// List the EKS clusters your profiles can see, across regions
    Discover(DiscoverArgs),
    /// List contexts (bare names when piped; the current one highlighted on a terminal)
    #[command(visible_alias = "ls")]
    List(ListArgs),
    /// Switch the current context (`-`: the previous one; no name: pick one)
    Use(UseArgs),
    /// Print the current context
    Current,
    /// Rename a context: `rename OLD NEW`, or kubectx's `rename NEW=OLD` (`.` = the current one)
    Rename(RenameArgs),
    /// Remove contexts (`.` = the current one), and their cluster and user entries when
    /// nothing else uses them
    #[command(visible_alias = "delete")]
    Rm(RmArgs),
    /// Show or set the namespace of the current context (`-` for the previous one)
    Ns(NsArgs),
    /// Print a shell completion script (with dynamic completion of context names)
    Completions(CompletionsArgs),
    /// Show who EKS sees for a context: account, caller, and the principal access entries match
    Whoami(WhoamiArgs),
    /// Whether and how the caller may use an EKS cluster (access entries, aws-auth, the
    /// cluster's own answer); list, grant, revoke and migrate access; can-i; access policies
    Access(AccessArgs),
    /// Sign in to IAM Identity Center (AWS SSO) and cache the token where the AWS CLI keeps it
    Login(LoginArgs),
    /// Sign out of an IAM Identity Center session: the portal's Logout, then its cached token
    /// and every credential kctx cached through it removed
    Logout(LogoutArgs),
    /// Print kctx's version (and the git revision it was built from)
    Version,
    /// Start a shell whose context no other terminal can change (a private kubeconfig)
    Shell(SessionArgs),
    /// Print the exports that isolate this shell on a context: eval "$(kctx env CONTEXT)"
    Env(EnvArgs),
    /// Run one command in a context: kctx exec CONTEXT -- kubectl get pods
    Exec(ExecArgs),
    /// Print context/namespace for a shell prompt (fast; marks an isolated shell)
    Prompt(PromptArgs),
    /// Find what is wrong with the kubeconfig for EKS (--fix: mend what can be mended)
    Doctor(DoctorArgs),
    /// Print the line a shell's rc file evaluates: completion, and with --aliases kubectx and
    /// kubens (bash, zsh: eval "$(kctx init bash)"; fish: kctx init fish | source)
    Init(InitArgs),
}

#[derive(Args, Debug, Clone)]
pub(crate) struct InitArgs {
    /// The shell
    #[arg(value_enum)]
    pub(crate) shell: InitShell,
    /// Also define `kubectx` and `kubens`, run by kctx as those tools
    #[arg(long)]
    pub(crate) aliases: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum InitShell {
    Bash,
    Zsh,
    Fish,
}

#[derive(Args, Debug, Clone)]
pub(crate) struct DoctorArgs {
    /// Also ask EKS about each EKS context's cluster (DescribeCluster, with the context's
    /// credentials): gone, or recreated with a new endpoint or certificate
    #[arg(long)]
    pub(crate) online: bool,
    /// Mend what can be mended: one locked, atomic write per file, comments and layout kept
    #[arg(long)]
    pub(crate) fix: bool,
    /// Output format
    #[arg(long, short = 'o', value_enum, default_value = "text")]
    pub(crate) output: ReportFormat,
    /// Kubeconfig file(s) to check: the global `--kubeconfig` (`:`-separated here; default:
    /// KUBECONFIG, then ~/.kube/config)
    #[arg(skip)]
    pub(crate) kubeconfig: Option<String>,
}

/// What a per-shell session starts with.
#[derive(Args, Debug, Clone)]
pub(crate) struct SessionArgs {
    /// Context (default: the current one)
    #[arg(add = ArgValueCompleter::new(context_candidates))]
    pub(crate) context: Option<String>,
    /// Namespace for the session (the context's otherwise)
    #[arg(short = 'n', long, value_name = "NS")]
    pub(crate) namespace: Option<String>,
    /// Do not export AWS_PROFILE / AWS_REGION of the context's EKS user
    #[arg(long)]
    pub(crate) no_aws: bool,
}

#[derive(Args, Debug, Clone)]
pub(crate) struct EnvArgs {
    #[command(flatten)]
    pub(crate) session: SessionArgs,
    /// Print exports for this shell (default: $SHELL's): bash, zsh, sh, fish
    #[arg(long, value_name = "SHELL")]
    pub(crate) shell: Option<String>,
    /// Print what restores the environment from before `kctx env`
    #[arg(long, conflicts_with_all = ["context", "namespace", "no_aws"])]
    pub(crate) off: bool,
}

#[derive(Args, Debug, Clone)]
pub(crate) struct ExecArgs {
    #[command(flatten)]
    pub(crate) session: SessionArgs,
    /// The command and its arguments, after `--`
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub(crate) command: Vec<String>,
}

#[derive(Args, Debug, Clone)]
pub(crate) struct PromptArgs {}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum ReportFormat {
    Text,
    Json,
}

#[derive(Args, Debug, Clone)]
pub(crate) struct WhoamiArgs {
    /// Context whose credentials to use (default: the current context)
    #[arg(long, add = ArgValueCompleter::new(context_candidates))]
    pub(crate) context: Option<String>,
    /// Output format
    #[arg(long, short = 'o', value_enum, default_value = "text")]
    pub(crate) output: ReportFormat,
    /// Do not ask the cluster who it says you are (only the AWS side)
    #[arg(long)]
    pub(crate) no_cluster: bool,
}

/// Which cluster, and with whose credentials: a context's (default: the current one), or a
/// cluster name with the default AWS credentials.
#[derive(Args, Debug, Clone)]
pub(crate) struct AccessTarget {
    /// Context to take the cluster, region and credentials from (default: the current context)
    #[arg(long, add = ArgValueCompleter::new(context_candidates))]
    pub(crate) context: Option<String>,
    /// AWS region (overrides the context's)
    #[arg(long)]
    pub(crate) region: Option<String>,
    /// AWS profile to call the EKS API with (overrides the context's)
    #[arg(long)]
    pub(crate) profile: Option<String>,
}

/// Where the aws-auth ConfigMap is read from.
#[derive(Args, Debug, Clone)]
pub(crate) struct AwsAuthArgs {
    /// Read aws-auth from this file (`kubectl get cm aws-auth -n kube-system -o yaml`) instead
    /// of the cluster
    #[arg(long, value_name = "FILE")]
    pub(crate) aws_auth_file: Option<std::path::PathBuf>,
}

#[derive(Args, Debug, Clone)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct AccessArgs {
    #[command(subcommand)]
    pub(crate) command: Option<AccessCommand>,
    /// EKS cluster name (with --region), instead of a context
    #[arg(long, conflicts_with = "context")]
    pub(crate) cluster: Option<String>,
    #[command(flatten)]
    pub(crate) target: AccessTarget,
    #[command(flatten)]
    pub(crate) aws_auth: AwsAuthArgs,
    /// Namespace whose rights to summarise (default: the context's namespace, else default)
    #[arg(long, short = 'n', value_name = "NS")]
    pub(crate) namespace: Option<String>,
    /// Output format
    #[arg(long, short = 'o', value_enum, default_value = "text")]
    pub(crate) output: ReportFormat,
}

/// Where `access migrate` ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum TargetMode {
    #[value(name = "API_AND_CONFIG_MAP")]
    ApiAndConfigMap,
    #[value(name = "API")]
    Api,
}

impl TargetMode {
    pub(crate) fn mode(self) -> crate::aws::access::AuthMode {
        match self {
            TargetMode::ApiAndConfigMap => crate::aws::access::AuthMode::ApiAndConfigMap,
            TargetMode::Api => crate::aws::access::AuthMode::Api,
        }
    }
}

#[derive(Subcommand, Debug, Clone)]
pub(crate) enum AccessCommand {
    /// List a cluster's access entries with their policies, and its aws-auth mappings
    List(AccessListArgs),
    /// Create an access entry (if missing) and associate an access policy
    Grant(GrantArgs),
    /// Disassociate one access policy, or delete the whole access entry
    Revoke(RevokeArgs),
    /// Move aws-auth's mappings to access entries (eksctl's rules); a plan unless --approve
    Migrate(MigrateArgs),
    /// May the caller VERB RESOURCE? The cluster's answer (as `kubectl auth can-i`: exit 0
    /// yes, 4 no), and where EKS says the right comes from
    #[command(name = "can-i")]
    CanI(CanIArgs),
    /// What each EKS access policy allows (offline, from the EKS User Guide's tables)
    Policies(PoliciesArgs),
}

#[derive(Args, Debug, Clone)]
pub(crate) struct CanIArgs {
    /// The verb: get, list, watch, create, update, patch, delete, … (`*` for all)
    pub(crate) verb: String,
    /// TYPE (pods, deploy), TYPE.GROUP (deployments.apps), TYPE/NAME, or a non-resource URL
    /// (/healthz)
    #[arg(value_name = "RESOURCE")]
    pub(crate) resource: String,
    /// Namespace (default: the context's namespace, else default)
    #[arg(long, short = 'n', value_name = "NS")]
    pub(crate) namespace: Option<String>,
    /// Ask for every namespace
    #[arg(long, short = 'A', conflicts_with = "namespace")]
    pub(crate) all_namespaces: bool,
    /// A subresource: log, exec, status, scale, …
    #[arg(long, value_name = "SUBRESOURCE")]
    pub(crate) subresource: Option<String>,
    /// Print nothing; the exit code answers (0 yes, 4 no)
    #[arg(long, short = 'q')]
    pub(crate) quiet: bool,
    #[command(flatten)]
    pub(crate) target: AccessTarget,
    #[command(flatten)]
    pub(crate) aws_auth: AwsAuthArgs,
}

#[derive(Args, Debug, Clone)]
pub(crate) struct PoliciesArgs {
    /// Only this policy (name, ARN, or cluster-admin, admin, edit, view, admin-view)
    pub(crate) policy: Option<String>,
    /// Output format
    #[arg(long, short = 'o', value_enum, default_value = "text")]
    pub(crate) output: ReportFormat,
}

#[derive(Args, Debug, Clone)]
pub(crate) struct AccessListArgs {
    /// EKS cluster name (default: the context's cluster)
    #[arg(conflicts_with = "context")]
    pub(crate) cluster: Option<String>,
    #[command(flatten)]
    pub(crate) target: AccessTarget,
    #[command(flatten)]
    pub(crate) aws_auth: AwsAuthArgs,
    /// Output format
    #[arg(long, short = 'o', value_enum, default_value = "text")]
    pub(crate) output: ReportFormat,
}

#[derive(Args, Debug, Clone)]
pub(crate) struct GrantArgs {
    /// IAM principal ARN (role or user)
    pub(crate) principal_arn: String,
    /// Policy: ARN, name (AmazonEKSViewPolicy) or cluster-admin, admin, edit, view
    #[arg(long)]
    pub(crate) policy: Option<String>,
    /// Scope the policy to these namespaces (default: the whole cluster); repeat the flag or
    /// separate with commas; `dev-*` matches a prefix
    #[arg(
        long = "namespace",
        short = 'n',
        value_name = "NS",
        value_delimiter = ','
    )]
    pub(crate) namespaces: Vec<String>,
    /// Entry type: STANDARD (default), EC2_LINUX, EC2_WINDOWS, FARGATE_LINUX, HYBRID_LINUX
    #[arg(long = "type", value_name = "TYPE")]
    pub(crate) kind: Option<String>,
    /// Kubernetes groups the principal gets (for RBAC bindings); repeat the flag or separate
    /// with commas
    #[arg(long, value_name = "GROUP", value_delimiter = ',')]
    pub(crate) kubernetes_groups: Vec<String>,
    /// Kubernetes username (default: EKS's, from the principal)
    #[arg(long)]
    pub(crate) username: Option<String>,
    /// EKS cluster name (default: the context's cluster)
    #[arg(conflicts_with = "context")]
    pub(crate) cluster: Option<String>,
    #[command(flatten)]
    pub(crate) target: AccessTarget,
}

#[derive(Args, Debug, Clone)]
pub(crate) struct RevokeArgs {
    /// IAM principal ARN (role or user)
    pub(crate) principal_arn: String,
    /// Only disassociate this policy (default: delete the access entry)
    #[arg(long)]
    pub(crate) policy: Option<String>,
    /// EKS cluster name (default: the context's cluster)
    #[arg(conflicts_with = "context")]
    pub(crate) cluster: Option<String>,
    #[command(flatten)]
    pub(crate) target: AccessTarget,
}

#[derive(Args, Debug, Clone)]
pub(crate) struct MigrateArgs {
    /// EKS cluster name (default: the context's cluster)
    #[arg(conflicts_with = "context")]
    pub(crate) cluster: Option<String>,
    /// Where to end: API_AND_CONFIG_MAP (aws-auth still read) or API (one-way: it no
    /// longer is; only when every mapping moved)
    #[arg(long, value_enum, default_value = "API_AND_CONFIG_MAP")]
    pub(crate) target_authentication_mode: TargetMode,
    /// Make the changes (without it: print the plan, change nothing)
    #[arg(long)]
    pub(crate) approve: bool,
    #[command(flatten)]
    pub(crate) target: AccessTarget,
    #[command(flatten)]
    pub(crate) aws_auth: AwsAuthArgs,
    /// Output format
    #[arg(long, short = 'o', value_enum, default_value = "text")]
    pub(crate) output: ReportFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum ListFormat {
    /// One context per line: on a terminal the current one highlighted (or marked `*` without
    /// colour); piped, bare names
    Plain,
    /// A table with cluster, user, namespace and, for EKS, region, account and role/profile
    Wide,
    /// JSON for scripts
    Json,
    /// Names only, for piping
    Name,
}

#[derive(Args, Debug, Clone)]
pub(crate) struct ListArgs {
    /// Output format
    #[arg(long, short = 'o', value_enum, default_value = "plain")]
    pub(crate) output: ListFormat,
}

#[derive(Args, Debug, Clone)]
pub(crate) struct UseArgs {
    /// Context to switch to, or `-` for the previous one (none: pick one on a terminal)
    #[arg(add = ArgValueCompleter::new(context_candidates))]
    pub(crate) name: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub(crate) struct RenameArgs {
    /// Context to rename (`.` = the current one), or NEW=OLD
    #[arg(value_name = "OLD|NEW=OLD", add = ArgValueCompleter::new(context_candidates))]
    pub(crate) old: String,
    /// New name (not with NEW=OLD)
    pub(crate) new: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub(crate) struct RmArgs {
    /// Contexts to remove (`.` = the current one)
    #[arg(required = true, add = ArgValueCompleter::new(context_candidates))]
    pub(crate) names: Vec<String>,
    /// Keep the cluster and user entries even when no other context uses them
    #[arg(long)]
    pub(crate) keep_entries: bool,
}

/// Namespace names for completion: from the current context's cluster, with a short timeout;
/// nothing (and nothing printed) when it cannot be asked.
fn namespace_candidates() -> Vec<CompletionCandidate> {
    let m = crate::kubeconfig::Merged::load();
    let Some(ctx) = m.current_context().map(str::to_owned) else {
        return Vec::new();
    };
    // a plugin that prompts would read the shell's line with its prompt hidden
    crate::kube::exec::never_interactive();
    let Ok(cluster) = crate::kube::connect(&m, &ctx, std::time::Duration::from_millis(800)) else {
        return Vec::new();
    };
    cluster
        .namespaces()
        .unwrap_or_default()
        .into_iter()
        .map(CompletionCandidate::new)
        .collect()
}

fn timeout_value(s: &str) -> Result<std::time::Duration, String> {
    crate::kube::parse_timeout(s)
}

#[derive(Args, Debug, Clone)]
pub(crate) struct NsArgs {
    /// Namespace to set (checked in the cluster), or `-` for the previous one; none: pick one
    /// on a terminal, list them otherwise
    #[arg(add = ArgValueCandidates::new(namespace_candidates))]
    pub(crate) namespace: Option<String>,
    /// Print the current namespace (`default` when the context sets none)
    #[arg(short = 'c', long, conflicts_with_all = ["namespace", "unset"])]
    pub(crate) current: bool,
    /// Remove the namespace from the current context
    #[arg(long, conflicts_with = "namespace")]
    pub(crate) unset: bool,
    /// Set the namespace without checking that it exists
    #[arg(short = 'f', long)]
    pub(crate) force: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Shell {
    Bash,
    Zsh,
    Fish,
    Powershell,
    Elvish,
}

#[derive(Args, Debug, Clone)]
pub(crate) struct CompletionsArgs {
    /// Shell to print the completion script for
    #[arg(value_enum)]
    pub(crate) shell: Shell,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ExecCommand {
    /// `kctx token …` (fast, cached)
    Kctx,
    /// `aws eks get-token …`, exactly as `aws eks update-kubeconfig` writes it
    Aws,
}

/// Which IAM Identity Center session `kctx login` / `kctx logout` mean (neither flag:
/// AWS_PROFILE, else the only `[sso-session]` of the AWS config file).
#[derive(Args, Debug, Clone)]
pub(crate) struct SessionChoice {
    /// The `[sso-session NAME]` of the AWS config file
    #[arg(long, value_name = "NAME", conflicts_with = "profile")]
    pub(crate) sso_session: Option<String>,
    /// A profile that signs in with IAM Identity Center (its sso_session, or a legacy
    /// profile's own sso_start_url and sso_region)
    #[arg(long, value_name = "NAME")]
    pub(crate) profile: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub(crate) struct LoginArgs {
    #[command(flatten)]
    pub(crate) session: SessionChoice,
    /// Sign in with a code confirmed in any browser (the device authorization grant) instead
    /// of a browser on this machine
    #[arg(long)]
    pub(crate) use_device_code: bool,
    /// Do not open a browser: print the URL on stderr
    #[arg(long)]
    pub(crate) no_browser: bool,
}

#[derive(Args, Debug, Clone)]
pub(crate) struct LogoutArgs {
    #[command(flatten)]
    pub(crate) session: SessionChoice,
}

/// Which identities and regions to search (`kctx discover`, `kctx add`).
#[derive(Args, Debug, Clone, Default)]
pub(crate) struct SearchScope {
    /// AWS profile; for `discover` and `add --all` repeatable, each one searched (default:
    /// AWS_PROFILE or the default credentials). Written into the user's exec env as AWS_PROFILE
    #[arg(
        long = "profile",
        value_name = "PROFILE",
        conflicts_with = "all_profiles"
    )]
    pub(crate) profiles: Vec<String>,
    /// Every profile in the AWS config files that has credentials (keys, role, SSO,
    /// credential_process)
    #[arg(long)]
    pub(crate) all_profiles: bool,
    /// AWS region; for `discover` and `add --all` repeatable (default: AWS_REGION,
    /// AWS_DEFAULT_REGION, then the profile's region)
    #[arg(long = "region", value_name = "REGION", conflicts_with = "all_regions")]
    pub(crate) regions: Vec<String>,
    /// Every region of the profile's partition (regions not enabled for the account are skipped)
    #[arg(long)]
    pub(crate) all_regions: bool,
    /// IAM Identity Center session (`[sso-session NAME]`): search every account it can see,
    /// with each of its roles there (see --sso-role-name), instead of profiles
    #[arg(long, value_name = "NAME", conflicts_with_all = ["profiles", "all_profiles"])]
    pub(crate) sso_session: Option<String>,
    /// With --sso-session: only these roles (repeatable; `add --all` needs one)
    #[arg(long = "sso-role-name", value_name = "ROLE", requires = "sso_session")]
    pub(crate) sso_roles: Vec<String>,
    /// With --sso-session: only these accounts (repeatable)
    #[arg(long = "sso-account-id", value_name = "ID", requires = "sso_session")]
    pub(crate) sso_accounts: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum DiscoverFormat {
    /// Name, region, account, profile, status, version, and the context that has it
    Table,
    /// JSON for scripts: clusters and failures
    Json,
    /// Cluster names only, one per line (no DescribeCluster calls)
    Name,
}

#[derive(Args, Debug, Clone)]
pub(crate) struct DiscoverArgs {
    #[command(flatten)]
    pub(crate) scope: SearchScope,
    /// Output format
    #[arg(long, short = 'o', value_enum, default_value = "table")]
    pub(crate) output: DiscoverFormat,
}

#[derive(Args, Debug, Clone)]
#[command(group = clap::ArgGroup::new("cluster_name").required(true))]
pub(crate) struct AddArgs {
    /// EKS cluster name
    #[arg(group = "cluster_name")]
    pub(crate) name: Option<String>,
    /// EKS cluster name (the AWS CLI's spelling)
    #[arg(long = "name", value_name = "NAME", group = "cluster_name")]
    pub(crate) name_flag: Option<String>,
    /// Every cluster the profiles can see in the regions (one write; see --alias-template,
    /// --prune)
    #[arg(long, group = "cluster_name", conflicts_with_all = ["alias", "user_alias", "assume_role_arn", "verbose"])]
    pub(crate) all: bool,
    #[command(flatten)]
    pub(crate) scope: SearchScope,
    /// With --all: context names, from {cluster} {region} {account} {profile} {partition}
    /// (default: {cluster}, or {cluster}.{region}, then {cluster}.{region}.{account}, where
    /// names would collide)
    #[arg(long, value_name = "TEMPLATE", requires = "all")]
    pub(crate) alias_template: Option<String>,
    /// With --all: remove contexts an earlier `add --all` made whose cluster is gone (only in
    /// the profiles and regions searched; hand-made contexts are never touched)
    #[arg(long, requires = "all")]
    pub(crate) prune: bool,
    /// IAM role the user's token is signed with (written into the exec args)
    #[arg(long, value_name = "ARN")]
    pub(crate) role_arn: Option<String>,
    /// IAM role to assume only for reading the cluster (cross-account)
    #[arg(long, value_name = "ARN")]
    pub(crate) assume_role_arn: Option<String>,
    /// Context name (default: the user name)
    #[arg(long, value_name = "CONTEXT")]
    pub(crate) alias: Option<String>,
    /// User name (default: the cluster ARN)
    #[arg(long, value_name = "USER")]
    pub(crate) user_alias: Option<String>,
    /// Kubeconfig file to write: the global `--kubeconfig` (default: KUBECONFIG's rules, then
    /// ~/.kube/config)
    #[arg(skip)]
    pub(crate) kubeconfig: Option<String>,
    /// Proxy URL written into the cluster entry
    #[arg(long, value_name = "URL")]
    pub(crate) proxy_url: Option<String>,
    /// Which command the user entry runs for credentials
    #[arg(long, value_enum, default_value = "kctx")]
    pub(crate) exec: ExecCommand,
    /// The command written into kctx exec entries (default: `kctx` when the kctx on PATH is
    /// this binary, else this binary's absolute path)
    #[arg(long, value_name = "COMMAND", conflicts_with = "exec")]
    pub(crate) exec_command: Option<String>,
    /// Print the merged kubeconfig to stdout (with --all: the contexts added, updated,
    /// unchanged and pruned) and write nothing
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Also print the context, user and cluster entries written
    #[arg(long)]
    pub(crate) verbose: bool,
}

#[derive(Subcommand, Debug)]
pub(crate) enum CacheCommand {
    /// List cached entries (never tokens or keys)
    List,
    /// Remove expired entries; with --all every entry, with --cluster that cluster's tokens
    Clear(CacheClearArgs),
}

#[derive(Args, Debug, Clone)]
pub(crate) struct CacheClearArgs {
    /// Remove every entry
    #[arg(long, conflicts_with = "cluster")]
    pub(crate) all: bool,
    /// Remove the tokens cached for this cluster name or id
    #[arg(long, value_name = "NAME")]
    pub(crate) cluster: Option<String>,
}

/// clap's parse errors with the tips that mislead here replaced. clap suggests `-- --flag` to
/// pass an unknown flag as a value, which is almost never what was meant; it is replaced by
/// where the options are listed (a close option name that clap finds is kept).
pub(crate) fn friendlier(mut e: clap::Error) -> clap::Error {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if e.kind() == ErrorKind::UnknownArgument {
        e.remove(ContextKind::Suggested);
        // `--cluster NAME` means the cluster's name: clap's closest spelling is the Outposts id
        let invalid = match e.get(ContextKind::InvalidArg) {
            Some(ContextValue::String(s)) => s.clone(),
            _ => String::new(),
        };
        let said = match e.get(ContextKind::SuggestedArg) {
            Some(ContextValue::String(s)) => s.clone(),
            _ => String::new(),
        };
        if invalid.split('=').next() == Some("--cluster") && said.starts_with("--cluster-id") {
            e.insert(
                ContextKind::SuggestedArg,
                ContextValue::String("--cluster-name".into()),
            );
        }
        if e.get(ContextKind::SuggestedArg).is_none() {
            let usage = match e.get(ContextKind::Usage) {
                Some(ContextValue::StyledStr(s)) => s.to_string(),
                _ => String::new(),
            };
            let command: Vec<&str> = usage
                .split_whitespace()
                .skip_while(|w| *w != "kctx")
                .take_while(|w| !w.starts_with('[') && !w.starts_with('<'))
                .collect();
            let command = if command.is_empty() {
                "kctx".to_owned()
            } else {
                command.join(" ")
            };
            e.insert(
                ContextKind::Suggested,
                ContextValue::StyledStrs(vec![
                    format!("`{command} --help` lists its options").into()
                ]),
            );
        }
    }
    e
}
