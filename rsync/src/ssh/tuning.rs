//! The russh settings both ends share. The defaults are what won in the benchmark
//! (`make bench-ssh`); the flags exist so the next measurement needs no rebuild.

use std::borrow::Cow;

use russh::{Preferred, cipher, kex};

/// Packet size, window and cipher order of our SSH connections.
#[derive(Debug, Clone, clap::Args)]
pub struct Tuning {
    /// Largest SSH channel packet we accept, in bytes.
    #[arg(long, env = "FERRY_SSH_PACKET_SIZE", default_value_t = DEFAULT_PACKET_SIZE,
          value_parser = clap::value_parser!(u32).range(4096..=262_144))]
    pub packet_size: u32,
    /// SSH channel window, in bytes: how much the peer may send before we acknowledge.
    #[arg(long, env = "FERRY_SSH_WINDOW_SIZE", default_value_t = DEFAULT_WINDOW_SIZE,
          value_parser = clap::value_parser!(u32).range(65_536..=1_073_741_824))]
    pub window_size: u32,
    /// Disable Nagle's algorithm on the TCP socket: rsync's small request/reply messages
    /// stop waiting for ACKs (10,000 small files: 0.68 s against 0.96 s).
    #[arg(long, env = "FERRY_SSH_NODELAY", default_value_t = true, action = clap::ArgAction::Set)]
    pub nodelay: bool,
    /// Runtime worker threads; 1 runs everything on one thread.
    #[arg(long, env = "FERRY_SSH_WORKERS", default_value_t = DEFAULT_WORKERS,
          value_parser = clap::value_parser!(u16).range(1..=64))]
    pub workers: u16,
    /// Read buffer in front of the TCP socket, in bytes. russh reads each packet
    /// with two exact reads (the length, then the rest); a buffer takes several packets,
    /// and a burst of small ones, in one `recvfrom`.
    #[arg(long, env = "FERRY_SSH_READ_BUFFER", default_value_t = DEFAULT_READ_BUFFER,
          value_parser = clap::value_parser!(u32).range(1024..=4_194_304))]
    pub read_buffer: u32,
    /// Ciphers in order of preference (comma-separated OpenSSH names).
    #[arg(long, env = "FERRY_SSH_CIPHERS", value_delimiter = ',',
          default_value = DEFAULT_CIPHERS, value_parser = parse_cipher)]
    pub ciphers: Vec<cipher::Name>,
}

/// The packet size kept after measuring (see the resolution note of issue 9): russh's
/// 32 KiB. 64 KiB packets cost the server more CPU here (its own time, median of five
/// 1 GiB pushes: 1.68 s against 1.48 s), 128 and 256 KiB did no better.
pub const DEFAULT_PACKET_SIZE: u32 = 32_768;
/// Worker threads kept after measuring: one. A current-thread runtime avoids the
/// cross-thread wakeups of a second worker; on 1 GiB pushes it cost slightly less CPU on
/// both ends (server's own time, median of five: 1.01 s against 1.08 s) at equal speed.
pub const DEFAULT_WORKERS: u16 = 1;
/// The socket read buffer: room for about a hundred small packets (a window adjustment is
/// 36 bytes on the wire with AES-GCM), and small next to a 32 KiB data packet, which
/// bypasses it. On our server, a 1 GiB push took 65,573 `recvfrom` calls with it against
/// 103,696 without, and 9,809 `epoll_wait` calls against 23,740; 64 and 256 KiB measured
/// no better.
pub const DEFAULT_READ_BUFFER: u32 = 4 * 1024;
/// The window kept after measuring: russh's 2 MiB; 16 MiB was within the noise.
pub const DEFAULT_WINDOW_SIZE: u32 = 2 * 1024 * 1024;
/// AES-GCM first: aws-lc has AES-NI and CLMUL code paths for it, and OpenSSH offers it
/// (1 GiB push: 6.2 CPU seconds against 8.1 with chacha20-poly1305 first).
pub const DEFAULT_CIPHERS: &str = "aes256-gcm@openssh.com,aes128-gcm@openssh.com,\
chacha20-poly1305@openssh.com,aes256-ctr,aes128-ctr";

impl Default for Tuning {
    fn default() -> Self {
        Self {
            packet_size: DEFAULT_PACKET_SIZE,
            window_size: DEFAULT_WINDOW_SIZE,
            nodelay: true,
            workers: DEFAULT_WORKERS,
            read_buffer: DEFAULT_READ_BUFFER,
            ciphers: DEFAULT_CIPHERS
                .split(',')
                .filter_map(|n| parse_cipher(n).ok())
                .collect(),
        }
    }
}

impl Tuning {
    /// `socket` behind the configured read buffer.
    pub fn buffered<S: tokio::io::AsyncRead>(&self, socket: S) -> tokio::io::BufReader<S> {
        tokio::io::BufReader::with_capacity((self.read_buffer as usize).max(1), socket)
    }

    /// Algorithm preferences: curve25519 key exchange first (fast, and what OpenSSH picks
    /// too), ed25519 host keys first, our cipher order, SHA-2 MACs for the CTR ciphers.
    pub fn preferred(&self) -> Preferred {
        const KEX: &[kex::Name] = &[
            kex::CURVE25519,
            kex::CURVE25519_PRE_RFC_8731,
            kex::MLKEM768X25519_SHA256,
            kex::ECDH_SHA2_NISTP256,
            kex::DH_GEX_SHA256,
            kex::DH_G16_SHA512,
            kex::DH_G14_SHA256,
            kex::EXTENSION_SUPPORT_AS_CLIENT,
            kex::EXTENSION_SUPPORT_AS_SERVER,
            kex::EXTENSION_OPENSSH_STRICT_KEX_AS_CLIENT,
            kex::EXTENSION_OPENSSH_STRICT_KEX_AS_SERVER,
        ];
        Preferred {
            kex: Cow::Borrowed(KEX),
            cipher: Cow::Owned(self.ciphers.clone()),
            compression: Cow::Borrowed(&[russh::compression::NONE]),
            ..Preferred::DEFAULT
        }
    }
}

/// Maps an OpenSSH cipher name to russh's constant.
pub fn parse_cipher(name: &str) -> Result<cipher::Name, String> {
    let known = [
        cipher::AES_256_GCM,
        cipher::AES_128_GCM,
        cipher::CHACHA20_POLY1305,
        cipher::AES_256_CTR,
        cipher::AES_192_CTR,
        cipher::AES_128_CTR,
    ];
    known
        .into_iter()
        .find(|c| c.as_ref() == name.trim())
        .ok_or_else(|| {
            let names: Vec<&str> = known.iter().map(|c| c.as_ref()).collect();
            format!("unknown cipher {name:?}; known: {}", names.join(", "))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_prefers_aes256_gcm_and_curve25519() {
        let preferred = Tuning::default().preferred();
        assert_eq!(preferred.cipher[0].as_ref(), "aes256-gcm@openssh.com");
        assert_eq!(preferred.kex[0].as_ref(), "curve25519-sha256");
    }

    #[test]
    fn unknown_cipher_is_refused_with_the_known_list() {
        let err = parse_cipher("3des-cbc").unwrap_err();
        assert!(err.contains("aes256-gcm@openssh.com"), "{err}");
    }
}
