//! kctx's integration tests, in one crate (as ripgrep has them): the binary in isolated
//! homes against real peers — moto for STS and EKS, the AWS CLI and botocore side by side,
//! kubectl through a TLS test API server, real shells in tmux — and the library's kubeconfig
//! engine under property tests. `common` holds the harness; `support/` the test doubles.

mod common;
#[path = "../support/verify.rs"]
mod verify;

mod access;
mod access_cluster;
mod add;
mod arch;
mod aws_auth;
mod bounds;
mod cache;
mod cluster;
mod contexts;
mod discover;
mod dist;
mod doctor;
mod edit_properties;
mod fixtures;
mod hardening;
mod kubectl_e2e;
mod kubectx_suites;
mod newcomer;
mod process_start;
mod prompt_memo;
mod sessions;
mod sso;
mod static_binary;
mod token_cli;
mod ux;
mod vectors;
mod yaml_compat;
