//! The command line, in one place.

use clap::{Args, Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "kctx",
    version,
    about = "Fast EKS credentials for kubectl, and a kubeconfig manager that loses nothing"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print an EKS bearer token as an ExecCredential (run by kubectl as an exec plugin)
    Token(TokenArgs),
    /// Inspect or clear the token cache
    #[command(subcommand)]
    Cache(CacheCommand),
}

#[derive(Args, Debug, Clone)]
#[command(group = clap::ArgGroup::new("cluster").required(true))]
pub struct TokenArgs {
    /// EKS cluster name (signed into the token as x-k8s-aws-id)
    #[arg(long, short = 'i', group = "cluster", value_name = "NAME")]
    pub cluster_name: Option<String>,
    /// Cluster id of an EKS local cluster on Outposts
    #[arg(long, group = "cluster", value_name = "ID")]
    pub cluster_id: Option<String>,
    /// AWS region (default: AWS_REGION, AWS_DEFAULT_REGION, then the profile's region)
    #[arg(long)]
    pub region: Option<String>,
    /// AWS profile from the shared config/credentials files (default: AWS_PROFILE)
    #[arg(long)]
    pub profile: Option<String>,
    /// IAM role to assume and sign with
    #[arg(long, short = 'r', value_name = "ARN")]
    pub role_arn: Option<String>,
    /// External id for the role to assume
    #[arg(long, value_name = "ID", requires = "role_arn")]
    pub external_id: Option<String>,
    /// Session name for the role to assume
    #[arg(
        long,
        value_name = "NAME",
        default_value = "EKSGetTokenAuth",
        requires = "role_arn"
    )]
    pub session_name: String,
    /// Do not read or write the token cache for this call
    #[arg(long)]
    pub no_cache: bool,
}

#[derive(Subcommand, Debug)]
pub enum CacheCommand {
    /// List cached entries (never tokens or keys)
    List,
    /// Remove expired entries; with --all every entry, with --cluster that cluster's tokens
    Clear {
        /// Remove every entry
        #[arg(long, conflicts_with = "cluster")]
        all: bool,
        /// Remove the tokens cached for this cluster name or id
        #[arg(long, value_name = "NAME")]
        cluster: Option<String>,
    },
}
