//! `kctx login`: signs in to IAM Identity Center as `aws sso login` (AWS CLI v2 ≥ 2.22) does —
//! the authorization code grant with PKCE in a browser by default, the device grant with
//! `--use-device-code`, the URL only with `--no-browser` — and caches the token where the AWS
//! CLI keeps it (see [`crate::aws::sso`]). One line on stdout when it is done.

use std::process::ExitCode;

use anyhow::Result;

use super::Run;
use crate::aws::sso::oidc::Flow;
use crate::aws::sso::{config, login};
use crate::aws::{self, Profiles};
use crate::cli::LoginArgs;
use crate::exec_credential::rfc3339;

impl Run for LoginArgs {
    fn run(&self) -> Result<ExitCode> {
        let c = &self.session;
        let profiles = Profiles::load(aws::profile_name(c.profile.as_deref()).as_deref())?;
        let session = config::for_login(&profiles, c.sso_session.as_deref(), c.profile.as_deref())?;
        let rt = aws::runtime()?;
        let opts = login::Options {
            flow: if self.use_device_code {
                Flow::Device
            } else {
                Flow::AuthCode
            },
            open_browser: !self.no_browser,
        };
        let token = login::login(&session, opts, &rt)?;
        println!(
            "Signed in to {} ({}); the token expires at {}",
            session.shown(),
            session.start_url,
            rfc3339(token.expires_at)
        );
        Ok(ExitCode::SUCCESS)
    }
}
