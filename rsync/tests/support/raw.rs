//! A bare russh client for the requests stock `ssh` cannot be made to send: password and
//! keyboard-interactive attempts against a server that does not offer them, agent and X11
//! requests without an agent or display, and a 1 MiB exec command.

use std::sync::Arc;
use std::time::Duration;

use russh::client::{self, Handle};
use russh::keys::{PrivateKeyWithHashAlg, PublicKeyOrCertificate};
use russh::{ChannelMsg, client::KeyboardInteractiveAuthResponse};

pub struct AnyHost;

impl client::Handler for AnyHost {
    type Error = russh::Error;
    async fn check_server_key(&mut self, _: &PublicKeyOrCertificate) -> Result<bool, Self::Error> {
        Ok(true)
    }
}

pub async fn connect(port: u16) -> Handle<AnyHost> {
    let config = Arc::new(client::Config::default());
    tokio::time::timeout(
        Duration::from_secs(20),
        client::connect(config, ("127.0.0.1", port), AnyHost),
    )
    .await
    .unwrap()
    .unwrap()
}

pub async fn authenticated(port: u16, key: &std::path::Path) -> Handle<AnyHost> {
    let mut h = connect(port).await;
    let key = russh::keys::load_secret_key(key, None).unwrap();
    let ok = h
        .authenticate_publickey("root", PrivateKeyWithHashAlg::new(Arc::new(key), None))
        .await
        .unwrap();
    assert!(ok.success());
    h
}

pub async fn password(port: u16) -> bool {
    let mut h = connect(port).await;
    h.authenticate_password("root", "hunter2")
        .await
        .unwrap()
        .success()
}

pub async fn keyboard_interactive(port: u16) -> bool {
    let mut h = connect(port).await;
    let r = h
        .authenticate_keyboard_interactive_start("root", None)
        .await
        .unwrap();
    matches!(r, KeyboardInteractiveAuthResponse::Success)
}

/// Runs `command` (raw bytes) and returns (exit status, stderr). 255 when none came.
pub async fn exec(h: &Handle<AnyHost>, command: &[u8]) -> (u32, String) {
    let mut ch = h.channel_open_session().await.unwrap();
    ch.exec(true, command.to_vec()).await.unwrap();
    let mut status = 255;
    let mut stderr = Vec::new();
    while let Some(msg) = tokio::time::timeout(Duration::from_secs(20), ch.wait())
        .await
        .unwrap()
    {
        match msg {
            ChannelMsg::ExitStatus { exit_status } => status = exit_status,
            ChannelMsg::ExtendedData { data, .. } => stderr.extend_from_slice(&data),
            ChannelMsg::Close => break,
            _ => {}
        }
    }
    (status, String::from_utf8_lossy(&stderr).into_owned())
}

/// Sends a channel request and reports whether the server said yes.
pub async fn request_granted(h: &Handle<AnyHost>, what: &str) -> bool {
    let mut ch = h.channel_open_session().await.unwrap();
    match what {
        "agent" => ch.agent_forward(true).await.unwrap(),
        "x11" => ch
            .request_x11(true, false, "MIT-MAGIC-COOKIE-1", "00", 0)
            .await
            .unwrap(),
        other => panic!("unknown request {other}"),
    }
    loop {
        match tokio::time::timeout(Duration::from_secs(20), ch.wait())
            .await
            .unwrap()
        {
            Some(ChannelMsg::Success) => return true,
            Some(ChannelMsg::Failure) | None => return false,
            Some(_) => {}
        }
    }
}

/// Asks for a direct-tcpip channel (local forwarding); true if the server opened it.
pub async fn direct_tcpip(h: &Handle<AnyHost>, port: u32) -> bool {
    h.channel_open_direct_tcpip("127.0.0.1", port, "127.0.0.1", 5555)
        .await
        .is_ok()
}
