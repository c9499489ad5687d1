//! kctx: an EKS exec credential plugin and a kubeconfig manager.
//!
//! The binary (`src/main.rs`) is a thin shell over these modules, in layers; a module imports
//! only from its own layer or below (`scripts/arch_report.py --check`, run by the tests,
//! enforces it):
//! 1. leaves: `paths`, `report` (one-line errors), `process` (bounded runs of outside
//!    programs), `dns` (the resolver of the static binary), `exec_credential` (the plugin
//!    protocol), `yaml` (span-preserving documents, the emitter and the verified text editor),
//!    `rbac` (Kubernetes RBAC rules: matching and the rights summary);
//! 2. `store` (atomic owner-keeping writes, private directories, the token cache, `use -`
//!    state) and `kubeconfig` (the model kubectl sees, its operations, locked transactions);
//! 3. `aws`: credentials and clients, presigning (`sts`), identity, access entries, aws-auth,
//!    the migration plan, IAM, discovery;
//! 4. `token`: the EKS token's arguments, cache and minting;
//! 5. `kube` (the cluster's API through kube-rs) and `eks` (a context's EKS cluster and the
//!    credentials its exec entry signs with);
//! 6. `session`: per-shell kubeconfigs;
//! 7. `cli` (the command line) and `cmd` (one file per subcommand) on top.
//!
//! Everything is crate-private; this file re-exports only what `src/main.rs` and the
//! integration tests (`tests/it`) use, so the compiler reports dead code.

mod aws;
mod cli;
mod cmd;
mod dns;
mod eks;
mod exec_credential;
mod kube;
mod kubeconfig;
mod paths;
mod process;
mod rbac;
mod report;
mod session;
mod store;
mod token;
mod yaml;

// what src/main.rs runs
pub use cli::Cli;
pub use cmd::kubectx::main as kubectx_main;
pub use cmd::kubens::main as kubens_main;
pub use cmd::token::main as token_main;
pub use cmd::{complete_env, end_process, exit_parse_error, finish, run, start_process};

// what the integration tests use: the kubeconfig engine, the YAML writer, presigning, the
// token's timestamps, and per-shell scope and quoting
pub use aws::discover::PARTITION_REGIONS;
pub use aws::sts;
pub use exec_credential::{parse_rfc3339, rfc3339};
pub use kubeconfig::model::{KubeFile, Merged};
pub use kubeconfig::ops::{apply as apply_ops, Op};
pub use kubeconfig::Kind;
pub use session::{quote_posix, scope as session_scope};
pub use token::signed_at as token_signed_at;
pub use yaml::emit::{document as emit_document, plain_ok};

/// A YAML text's data as kctx reads it (go-yaml v2's way), or why kctx refuses it: for the
/// differential test against another YAML 1.1 reader.
pub fn yaml_to_json(text: &str) -> Result<serde_json::Value, String> {
    let doc = yaml::document::Document::parse(text.to_owned()).map_err(|e| e.to_string())?;
    match doc.root() {
        Some(r) => doc.to_json(r),
        None => Ok(serde_json::Value::Null),
    }
}
