//! kctx: an EKS exec credential plugin and a kubeconfig manager.
//!
//! The binary (`src/main.rs`) is a thin shell over these modules.

pub mod access;
pub mod aws;
pub mod cache;
pub mod cli;
pub mod cmd;
pub mod exec_credential;
pub mod fsutil;
pub mod identity;
pub mod kubeconfig;
pub mod state;
pub mod sts;
