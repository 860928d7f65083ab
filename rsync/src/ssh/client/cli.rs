//! `ferry-sidecar ssh`: a drop-in for `ssh` as rsync's remote shell
//! (`rsync -e 'ferry-sidecar ssh --key K --known-host-key P'`). rsync runs it as
//! `CMD [-l user] [-p port] host rsync --server ...`; the words after the host are joined
//! with spaces, exactly as ssh joins them, and run as one exec request.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use super::{ClientSettings, connect};
use crate::ssh::keyset::PublicKeySet;
use crate::ssh::tuning::Tuning;

/// Arguments of `ferry-sidecar ssh`, shaped like ssh's own.
#[derive(Debug, clap::Args)]
pub struct SshArgs {
    /// Private key to authenticate with (the `source` key of the Secret).
    #[arg(long, short = 'i', env = "FERRY_SSH_KEY")]
    pub key: PathBuf,
    /// The destination's host key to pin: a file (`destination.pub`, a known_hosts line)
    /// or the key itself.
    #[arg(long, env = "FERRY_KNOWN_HOST_KEY")]
    pub known_host_key: String,
    /// The Secret the keys come from; named in error messages only.
    #[arg(long, env = "FERRY_KEYS_SECRET")]
    pub keys_secret: Option<String>,
    /// Port to connect to.
    #[arg(short = 'p', long, env = "FERRY_SSH_DEST_PORT", default_value_t = 22)]
    pub port: u16,
    /// User to log in as (also `user@host`).
    #[arg(short = 'l', long = "user", env = "FERRY_SSH_USER")]
    pub user: Option<String>,
    /// ssh-style options; Port, User and ConnectTimeout are honoured, others are ignored.
    #[arg(short = 'o', value_name = "KEY=VALUE")]
    pub options: Vec<String>,
    /// Sync id sent to the destination, which pairs it with the completion signal.
    #[arg(long, env = "FERRY_SYNC_ID")]
    pub sync_id: Option<String>,
    /// Seconds allowed for connecting, the handshake and authentication.
    #[arg(long, env = "FERRY_SSH_CONNECT_TIMEOUT", default_value_t = 30)]
    pub connect_timeout: u64,
    /// ssh flags that have no meaning here (no TTY, no X11, no agent, quiet).
    #[arg(short = 'T', short_aliases = ['x', 'a', 'q', 'n', '4', '6'], action = clap::ArgAction::Count, hide = true)]
    pub ignored: u8,
    /// SSH tuning.
    #[command(flatten)]
    pub tuning: Tuning,
    /// `[user@]host`.
    pub host: String,
    /// The remote command.
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

impl SshArgs {
    /// Turns the arguments into connection settings (after `-o` options and `user@host`).
    pub fn settings(&self) -> crate::ssh::Result<ClientSettings> {
        let (mut user, mut port, mut timeout) =
            (self.user.clone(), self.port, self.connect_timeout);
        for option in &self.options {
            let (key, value) = option
                .split_once(['=', ' '])
                .map_or((option.as_str(), ""), |(k, v)| (k, v.trim()));
            match key.to_ascii_lowercase().as_str() {
                "port" => port = value.parse().unwrap_or(port),
                "user" => user = Some(value.to_string()),
                "connecttimeout" => timeout = value.parse().unwrap_or(timeout),
                "stricthostkeychecking" | "userknownhostsfile" => {
                    tracing::warn!(
                        option,
                        "ignored: the destination's host key is always pinned"
                    );
                }
                _ => tracing::debug!(option, "ignored ssh option"),
            }
        }
        let (host_user, host) = match self.host.rsplit_once('@') {
            Some((u, h)) => (Some(u.to_string()), h.to_string()),
            None => (None, self.host.clone()),
        };
        let user = user
            .or(host_user)
            .or_else(|| std::env::var("USER").ok())
            .unwrap_or_else(|| "ferry".into());
        Ok(ClientSettings {
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string(),
            port,
            user,
            key: self.key.clone(),
            pinned: PublicKeySet::load(&self.known_host_key)?,
            keys_secret: self.keys_secret.clone(),
            connect_timeout: Duration::from_secs(timeout),
            tuning: self.tuning.clone(),
        })
    }

    /// The exec command: the words joined with single spaces, as ssh does.
    pub fn remote_command(&self) -> String {
        self.command.join(" ")
    }
}

/// Runs the transport; the exit code is the remote command's, or 255 on a connection error
/// (as ssh does).
pub fn run(args: SshArgs) -> ExitCode {
    // Logs go to stderr only: stdout carries rsync's protocol.
    crate::ssh::init_logging("warn");
    let runtime = match crate::ssh::runtime(usize::from(args.tuning.workers)) {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ferry-sidecar ssh: cannot start the runtime: {e}");
            return ExitCode::from(255);
        }
    };
    let result = runtime.block_on(async {
        let settings = args.settings()?;
        let connection = connect(&settings).await?;
        let env: Vec<(&str, &str)> = args
            .sync_id
            .as_deref()
            .map(|id| (crate::ssh::SYNC_ID_ENV, id))
            .into_iter()
            .collect();
        let status = connection.run_stdio(&args.remote_command(), &env).await?;
        connection.close().await;
        Ok::<u32, crate::ssh::Error>(status)
    });
    // Do not wait for the stdin thread: it may sit in read(0) until rsync closes the pipe.
    runtime.shutdown_background();
    match result {
        Ok(status) => ExitCode::from(u8::try_from(status).unwrap_or(255)),
        Err(e) => {
            eprintln!("ferry-sidecar ssh: {e}");
            ExitCode::from(255)
        }
    }
}

#[cfg(test)]
mod tests;
