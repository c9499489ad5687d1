//! kctx: an EKS exec credential plugin and a kubeconfig manager.
//!
//! The binary (`src/main.rs`) is a thin shell over these modules, in layers; a module imports
//! only from its own layer or below (`scripts/arch_report.py --check` enforces it):
//! 1. leaves: `paths`, `report` (one-line errors), `exec_credential` (the plugin protocol),
//!    `yaml` (span-preserving documents, the emitter and the verified text editor);
//! 2. `store` (atomic owner-keeping writes, private directories, the token cache, `use -`
//!    state) and `kubeconfig` (the model kubectl sees, its operations, locked transactions);
//! 3. `aws`: credentials and clients, presigning (`sts`), identity, access entries, aws-auth,
//!    the migration plan, IAM, discovery;
//! 4. `token`: the EKS token's arguments, cache and minting;
//! 5. `kube` (the cluster's API through kube-rs) and `eks` (a context's EKS cluster and the
//!    credentials its exec entry signs with);
//! 6. `session`: per-shell kubeconfigs;
//! 7. `cli` (the command line) and `cmd` (one file per subcommand) on top.

pub mod aws;
pub mod cli;
pub mod cmd;
pub mod eks;
pub mod exec_credential;
pub mod kube;
pub mod kubeconfig;
pub mod paths;
pub mod report;
pub mod session;
pub mod store;
pub mod token;
pub mod yaml;
