//! kctx: an EKS exec credential plugin and a kubeconfig manager.
//!
//! The binary (`src/main.rs`) is a thin shell over these modules:
//! - `cli` (the command line) and `cmd` (one file per subcommand) on top;
//! - `kubeconfig`: the document, the model kubectl sees, and verified in-place edits;
//! - `store`: atomic owner-keeping writes, private directories, the token cache, `use -` state;
//! - `aws`, `sts`, `exec_credential`, `identity`, `access`: AWS credentials, token minting and
//!   the EKS API.

pub mod access;
pub mod aws;
pub mod cli;
pub mod cmd;
pub mod exec_credential;
pub mod identity;
pub mod kube;
pub mod kubeconfig;
pub mod session;
pub mod store;
pub mod sts;
