//! The servers the tests talk to: our `ferry-sidecar serve` and Debian's `sshd`, each
//! started on a free loopback port with its own configuration, and stopped on drop.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{Keys, bin};

/// `ferry-sidecar serve` as a child process; its log goes to a file the test reads.
pub struct FerryServer {
    child: Child,
    pub port: u16,
    pub log: PathBuf,
    pub volume: PathBuf,
    pub state: PathBuf,
}

impl FerryServer {
    /// Starts our server for `volume` with the replication's keys, recording completions
    /// in `state`.
    pub fn start(keys: &Keys, volume: &Path, state: &Path, log: &Path) -> FerryServer {
        Self::start_with(keys, volume, state, log, Command::new(bin()))
    }

    /// Starts it through a wrapper command (e.g. `setpriv` to drop root).
    pub fn start_with(
        keys: &Keys,
        volume: &Path,
        state: &Path,
        log: &Path,
        mut cmd: Command,
    ) -> FerryServer {
        let file = File::create(log).unwrap();
        let child = cmd
            .args(["serve", "--listen-address", "127.0.0.1", "--port", "0"])
            .arg("--host-key")
            .arg(&keys.destination)
            .arg("--authorized-key")
            .arg(keys.dir.join("destination/source.pub"))
            .arg("--volume")
            .arg(volume)
            .arg("--state-dir")
            .arg(state)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .unwrap();
        let mut server = FerryServer {
            child,
            port: 0,
            log: log.to_path_buf(),
            volume: volume.to_path_buf(),
            state: state.to_path_buf(),
        };
        server.port = server.wait_for_port();
        server
    }

    fn wait_for_port(&mut self) -> u16 {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let log = self.log_text();
            if let Some(rest) = log.split("address=127.0.0.1:").nth(1) {
                let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                return digits.parse().unwrap();
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("ferry-sidecar serve exited with {status}:\n{log}");
            }
            assert!(Instant::now() < deadline, "server did not start:\n{log}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Everything the server logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The server's process id (for CPU accounting).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for FerryServer {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// Debian's OpenSSH server, in the foreground with its own config, host key and
/// authorized_keys, logging to a file.
pub struct Sshd {
    child: Child,
    pub port: u16,
    pub log: PathBuf,
}

/// What the source key may do on the sshd.
pub enum SshdAccess<'a> {
    /// `command="rrsync -wo DIR",restrict`: rsync into DIR only.
    Rrsync(&'a Path),
    /// Unrestricted key (a plain rsync host, for the benchmark).
    Plain,
}

impl Sshd {
    /// Starts sshd on a free port in `dir`, with the destination key as its host key.
    pub fn start(keys: &Keys, dir: &Path, access: SshdAccess<'_>) -> Sshd {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::create_dir_all("/run/sshd").unwrap();
        let source_pub = std::fs::read_to_string(keys.dir.join("destination/source.pub")).unwrap();
        let line = match access {
            SshdAccess::Rrsync(target) => format!(
                "command=\"/usr/bin/rrsync -wo {}\",restrict {source_pub}",
                target.display()
            ),
            SshdAccess::Plain => source_pub,
        };
        let authorized = dir.join("authorized_keys");
        std::fs::write(&authorized, line).unwrap();
        let log = dir.join("sshd.log");
        for _ in 0..20 {
            let port = free_port();
            let config = dir.join("sshd_config");
            std::fs::write(
                &config,
                format!(
                    "Port {port}\nListenAddress 127.0.0.1\nHostKey {}\nPidFile {}\n\
                     AuthorizedKeysFile {}\nStrictModes no\nUsePAM no\n\
                     PasswordAuthentication no\nKbdInteractiveAuthentication no\n\
                     PermitRootLogin prohibit-password\nLogLevel VERBOSE\n\
                     Ciphers aes256-gcm@openssh.com,chacha20-poly1305@openssh.com\n\
                     AcceptEnv FERRY_SYNC_ID\n",
                    keys.destination.display(),
                    dir.join("sshd.pid").display(),
                    authorized.display(),
                ),
            )
            .unwrap();
            let mut child = Command::new("/usr/sbin/sshd")
                .args(["-D", "-e", "-f"])
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(File::create(&log).unwrap())
                .spawn()
                .unwrap();
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                if std::fs::read_to_string(&log)
                    .unwrap_or_default()
                    .contains("Server listening")
                {
                    return Sshd { child, port, log };
                }
                if child.try_wait().unwrap().is_some() || Instant::now() > deadline {
                    child.kill().ok();
                    child.wait().ok();
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        panic!(
            "sshd did not start:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }

    /// The listening sshd's process id (per-connection children are reaped by it).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
