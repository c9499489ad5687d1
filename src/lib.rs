//! kctx: an EKS exec credential plugin and a kubeconfig manager.
//!
//! The binary (`src/main.rs`) is a thin shell over these modules:
//! - `cli` (the command line) and `cmd` (one file per subcommand) on top;
//! - `kubeconfig`: the document, the model kubectl sees, and verified in-place edits;
//! - `store`: atomic owner-keeping writes, private directories, the token cache, `use -` state;
//! - `aws/`: credentials and clients (`mod.rs`), token presigning (`sts`), a context's AWS
//!   identity (`identity`), EKS access entries (`access`), the aws-auth ConfigMap (`auth_map`)
//!   and its migration to access entries (`migrate`); `exec_credential`: the plugin protocol;
//! - `kube`: the cluster's API (kube-rs); `session`: per-shell kubeconfigs.

pub mod aws;
pub mod cli;
pub mod cmd;
pub mod exec_credential;
pub mod kube;
pub mod kubeconfig;
pub mod session;
pub mod store;
