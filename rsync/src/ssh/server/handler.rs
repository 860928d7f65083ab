//! The per-connection russh handler: public key authentication against the one source key,
//! and nothing but exec requests on one session channel. Every refusal is logged with its
//! reason, and an exec refusal is also written to the client's standard error.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use russh::server::{Auth, ChannelOpenHandle, Msg, PublicKeyOffer, Session, VerifiedPublicKey};
use russh::{Channel, ChannelId, ChannelOpenFailure};

use super::refusal::Refusal;
use super::{Shared, dispatch};
use crate::ssh::keyset::describe;

/// One client connection.
pub struct Connection {
    pub(super) shared: Arc<Shared>,
    pub(super) peer: Option<SocketAddr>,
    pub(super) authenticated: Arc<AtomicBool>,
    channels: HashMap<ChannelId, Pending>,
    sessions: u32,
}

/// A session channel waiting for its exec request.
struct Pending {
    channel: Channel<Msg>,
    sync_id: Option<String>,
}

impl Connection {
    pub(super) fn new(shared: Arc<Shared>, peer: Option<SocketAddr>) -> Self {
        Self {
            shared,
            peer,
            authenticated: Arc::new(AtomicBool::new(false)),
            channels: HashMap::new(),
            sessions: 0,
        }
    }

    pub(super) fn refuse(&self, refusal: &Refusal) {
        let peer = self.peer.map(|p| p.to_string()).unwrap_or_default();
        tracing::warn!(%peer, reason = refusal.code(), "refused: {refusal}");
    }

    fn reject_auth(&self, refusal: Refusal) -> Auth {
        self.refuse(&refusal);
        Auth::reject()
    }

    /// Refuses a channel request with a failure reply.
    fn refuse_request(&self, what: &str, channel: ChannelId, session: &mut Session) {
        self.refuse(&Refusal::Request { what: what.into() });
        let _ = session.channel_failure(channel);
    }

    async fn refuse_open(&self, what: &str, reply: ChannelOpenHandle) {
        self.refuse(&Refusal::Request { what: what.into() });
        reply
            .reject(ChannelOpenFailure::AdministrativelyProhibited)
            .await;
    }
}

impl russh::server::Handler for Connection {
    type Error = russh::Error;

    async fn auth_none(&mut self, _user: &str) -> Result<Auth, Self::Error> {
        // Every OpenSSH client starts with "none" to learn the methods: not worth a warning.
        Ok(Auth::reject())
    }

    async fn auth_password(&mut self, _user: &str, _password: &str) -> Result<Auth, Self::Error> {
        Ok(self.reject_auth(Refusal::AuthMethod { method: "password" }))
    }

    async fn auth_keyboard_interactive<'a>(
        &'a mut self,
        _user: &str,
        _submethods: &str,
        _response: Option<russh::server::Response<'a>>,
    ) -> Result<Auth, Self::Error> {
        Ok(self.reject_auth(Refusal::AuthMethod {
            method: "keyboard-interactive",
        }))
    }

    async fn auth_publickey_offered(
        &mut self,
        _user: &str,
        offer: PublicKeyOffer<'_>,
    ) -> Result<Auth, Self::Error> {
        if self.shared.authorized.contains(offer.public_key) {
            Ok(Auth::Accept)
        } else {
            Ok(self.reject_auth(Refusal::UnknownKey {
                fingerprint: describe(offer.public_key),
            }))
        }
    }

    async fn auth_publickey(
        &mut self,
        user: &str,
        key: VerifiedPublicKey<'_>,
    ) -> Result<Auth, Self::Error> {
        if !self.shared.authorized.contains(key.public_key) {
            return Ok(self.reject_auth(Refusal::UnknownKey {
                fingerprint: describe(key.public_key),
            }));
        }
        self.authenticated.store(true, Ordering::Relaxed);
        tracing::info!(peer = ?self.peer, user, key = %describe(key.public_key), "authenticated");
        Ok(Auth::Accept)
    }

    async fn auth_openssh_certificate(
        &mut self,
        _user: &str,
        _certificate: &russh::keys::Certificate,
    ) -> Result<Auth, Self::Error> {
        Ok(self.reject_auth(Refusal::AuthMethod {
            method: "certificate",
        }))
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<Msg>,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        // One session per connection: rsync needs one, and a second would only be a way
        // around the one-transfer-at-a-time rule.
        if self.sessions > 0 {
            self.refuse_open("a second session channel", reply).await;
            return Ok(());
        }
        self.sessions += 1;
        self.channels.insert(
            channel.id(),
            Pending {
                channel,
                sync_id: None,
            },
        );
        reply.accept().await;
        Ok(())
    }

    async fn channel_open_x11(
        &mut self,
        _channel: Channel<Msg>,
        _address: &str,
        _port: u32,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.refuse_open("X11 forwarding", reply).await;
        Ok(())
    }

    async fn channel_open_direct_tcpip(
        &mut self,
        _channel: Channel<Msg>,
        host: &str,
        port: u32,
        _orig_address: &str,
        _orig_port: u32,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        let what = format!("local port forwarding (direct-tcpip to {host}:{port})");
        self.refuse_open(&what, reply).await;
        Ok(())
    }

    async fn channel_open_forwarded_tcpip(
        &mut self,
        _channel: Channel<Msg>,
        _host: &str,
        _port: u32,
        _orig_address: &str,
        _orig_port: u32,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.refuse_open("forwarded-tcpip", reply).await;
        Ok(())
    }

    async fn channel_open_direct_streamlocal(
        &mut self,
        _channel: Channel<Msg>,
        _socket_path: &str,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.refuse_open("Unix socket forwarding (direct-streamlocal)", reply)
            .await;
        Ok(())
    }

    async fn pty_request(
        &mut self,
        channel: ChannelId,
        _term: &str,
        _col_width: u32,
        _row_height: u32,
        _pix_width: u32,
        _pix_height: u32,
        _modes: &[(russh::Pty, u32)],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.refuse_request("a PTY", channel, session);
        Ok(())
    }

    async fn x11_request(
        &mut self,
        channel: ChannelId,
        _single: bool,
        _protocol: &str,
        _cookie: &str,
        _screen: u32,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.refuse_request("X11 forwarding", channel, session);
        Ok(())
    }

    async fn env_request(
        &mut self,
        channel: ChannelId,
        name: &str,
        value: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        // The one variable we take names the sync, so the completion can be matched to it.
        if name == crate::ssh::SYNC_ID_ENV
            && super::refusal::check_sync_id(value).is_ok()
            && let Some(pending) = self.channels.get_mut(&channel)
        {
            pending.sync_id = Some(value.to_string());
            let _ = session.channel_success(channel);
            return Ok(());
        }
        // OpenSSH clients send LANG and LC_* by default: refuse quietly.
        tracing::debug!(name, "refused environment variable");
        let _ = session.channel_failure(channel);
        Ok(())
    }

    async fn shell_request(
        &mut self,
        channel: ChannelId,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.refuse_request("a shell", channel, session);
        Ok(())
    }

    async fn subsystem_request(
        &mut self,
        channel: ChannelId,
        name: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.refuse_request(&format!("the {name} subsystem"), channel, session);
        Ok(())
    }

    async fn agent_request(
        &mut self,
        channel: ChannelId,
        _session: &mut Session,
    ) -> Result<bool, Self::Error> {
        let _ = channel;
        self.refuse(&Refusal::Request {
            what: "agent forwarding".into(),
        });
        Ok(false)
    }

    async fn tcpip_forward(
        &mut self,
        address: &str,
        port: &mut u32,
        _session: &mut Session,
    ) -> Result<bool, Self::Error> {
        self.refuse(&Refusal::Request {
            what: format!("remote port forwarding (tcpip-forward {address}:{port})"),
        });
        Ok(false)
    }

    async fn streamlocal_forward(
        &mut self,
        socket_path: &str,
        _session: &mut Session,
    ) -> Result<bool, Self::Error> {
        self.refuse(&Refusal::Request {
            what: format!("remote Unix socket forwarding ({socket_path})"),
        });
        Ok(false)
    }

    async fn exec_request(
        &mut self,
        channel: ChannelId,
        data: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        let Some(pending) = self.channels.remove(&channel) else {
            self.refuse_request("a second command on one channel", channel, session);
            return Ok(());
        };
        // Accept the request itself; a refusal is then told on stderr with a non-zero exit
        // status, which the user sees through rsync, rather than a bare "exec failed".
        session.channel_success(channel)?;
        dispatch::exec(self, pending.channel, pending.sync_id, data);
        Ok(())
    }
}
