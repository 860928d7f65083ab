//! The client side: connects to a destination (Ferry's server or any OpenSSH), pins its
//! host key, authenticates with the source key, and runs commands.

pub mod cli;
mod handler;
mod stdio;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use russh::client;
use russh::keys::PrivateKeyWithHashAlg;

use super::keyset::{PublicKeySet, load_private_key};
use super::tuning::Tuning;
use super::{Error, Result};
use handler::{HandlerError, Pinning};

/// Where and how to connect.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    /// Host name or address.
    pub host: String,
    /// Port.
    pub port: u16,
    /// User name (Ferry's server ignores it; OpenSSH uses it).
    pub user: String,
    /// Private key file (the `source` key of the Secret).
    pub key: PathBuf,
    /// The destination host key(s) to accept.
    pub pinned: PublicKeySet,
    /// The Secret holding the keys, named in error messages.
    pub keys_secret: Option<String>,
    /// How long connecting and the handshake may take.
    pub connect_timeout: Duration,
    /// SSH tuning.
    pub tuning: Tuning,
}

/// An authenticated connection.
pub struct Connection {
    handle: client::Handle<Pinning>,
    address: String,
}

/// What a command printed, and its exit status.
#[derive(Debug, Clone)]
pub struct Output {
    /// Exit status (255 if the server sent none, as ssh reports it).
    pub status: u32,
    /// Standard output.
    pub stdout: Vec<u8>,
    /// Standard error.
    pub stderr: Vec<u8>,
}

impl ClientSettings {
    fn address(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// Connects, checks the host key and authenticates.
pub async fn connect(settings: &ClientSettings) -> Result<Connection> {
    let address = settings.address();
    let key = load_private_key(&settings.key)?;
    let config = client::Config {
        window_size: settings.tuning.window_size,
        maximum_packet_size: settings.tuning.packet_size,
        preferred: settings.tuning.preferred(),
        nodelay: settings.tuning.nodelay,
        keepalive_interval: Some(Duration::from_secs(30)),
        keepalive_max: 4,
        inactivity_timeout: None,
        ..Default::default()
    };
    let timeout = settings.connect_timeout;
    let timed_out = |during| Error::Timeout {
        during,
        seconds: timeout.as_secs(),
    };
    let socket = tokio::time::timeout(
        timeout,
        tokio::net::TcpStream::connect((settings.host.as_str(), settings.port)),
    )
    .await
    .map_err(|_| timed_out("connecting"))?
    .map_err(|source| Error::Connect {
        address: address.clone(),
        source,
    })?;
    if settings.tuning.nodelay {
        let _ = socket.set_nodelay(true);
    }
    // An OpenSSH server sends a window adjustment for about every data packet it passes
    // on; the read buffer (see `Tuning::read_buffer`) takes a burst of them in one call.
    let socket = settings.tuning.buffered(socket);
    let handler = Pinning {
        pinned: settings.pinned.clone(),
        address: address.clone(),
        keys_secret: settings.keys_secret.clone(),
    };
    let mut handle = tokio::time::timeout(
        timeout,
        client::connect_stream(Arc::new(config), socket, handler),
    )
    .await
    .map_err(|_| timed_out("in the SSH handshake"))?
    .map_err(|e| match e {
        HandlerError::Pin(e) => *e,
        HandlerError::Russh(source) => Error::Protocol {
            address: address.clone(),
            source,
        },
    })?;
    let key = PrivateKeyWithHashAlg::new(Arc::new(key), None);
    let auth = tokio::time::timeout(timeout, handle.authenticate_publickey(&settings.user, key))
        .await
        .map_err(|_| timed_out("authenticating"))?
        .map_err(|source| Error::Protocol {
            address: address.clone(),
            source,
        })?;
    if !auth.success() {
        return Err(Error::AuthRejected {
            address,
            user: settings.user.clone(),
            hint: match &settings.keys_secret {
                Some(s) => {
                    format!("check that the destination trusts 'source.pub' of Secret {s:?}")
                }
                None => "check that the destination trusts this key".into(),
            },
        });
    }
    Ok(Connection { handle, address })
}

impl Connection {
    /// Runs `command` and collects its output (for short commands such as the completion
    /// signal).
    pub async fn run(&self, command: &str, env: &[(&str, &str)]) -> Result<Output> {
        stdio::capture(self, command, env).await
    }

    /// Runs `command` with this process's standard streams attached, as `ssh host command`
    /// does; returns the remote exit status.
    pub async fn run_stdio(&self, command: &str, env: &[(&str, &str)]) -> Result<u32> {
        stdio::attach(self, command, env).await
    }

    /// Closes the connection politely.
    pub async fn close(self) {
        let _ = self
            .handle
            .disconnect(russh::Disconnect::ByApplication, "", "")
            .await;
    }

    fn protocol(&self, source: russh::Error) -> Error {
        Error::Protocol {
            address: self.address.clone(),
            source,
        }
    }
}
