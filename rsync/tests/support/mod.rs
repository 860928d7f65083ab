//! Shared by the rsync/SSH integration tests: real peers (our server, Debian's sshd, ssh,
//! rsync), key material, trees to compare, and a dropping proxy. Everything runs on
//! loopback with time limits.
#![allow(dead_code)]

pub mod peers;
pub mod proxy;
pub mod raw;
pub mod tree;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Duration;

/// The longest any single command of a test may run.
pub const COMMAND_LIMIT: Duration = Duration::from_secs(180);

/// The ferry-sidecar binary under test, built beside this test (`make test` builds it; it
/// is another package's binary, so Cargo does not build it for this one).
pub fn bin() -> &'static str {
    static BIN: OnceLock<String> = OnceLock::new();
    BIN.get_or_init(|| {
        let path =
            ferry_e2e::webhook::bin_path("ferry-sidecar").unwrap_or_else(|e| panic!("{e:#}"));
        path.to_string_lossy().into_owned()
    })
}

/// Installs sshd, ssh, rsync, rrsync and the ACL/xattr tools when missing (once).
pub fn ensure_deps() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/install-deps.sh");
        let status = Command::new(&script).status().expect("run install-deps.sh");
        assert!(status.success(), "{} failed", script.display());
        for tool in [
            "/usr/sbin/sshd",
            "/usr/bin/ssh",
            "/usr/bin/rsync",
            "/usr/bin/rrsync",
        ] {
            assert!(
                Path::new(tool).exists(),
                "{tool} is missing after install-deps.sh"
            );
        }
    });
}

/// Runs a command to completion within [`COMMAND_LIMIT`], killing it (and failing the
/// test) if it takes longer.
pub fn run(cmd: &mut Command) -> Output {
    run_within(cmd, COMMAND_LIMIT)
}

/// Runs a command to completion within `limit`, failing the test if it takes longer.
pub fn run_within(cmd: &mut Command, limit: Duration) -> Output {
    ferry_e2e::process::run_within(cmd, limit).unwrap_or_else(|e| panic!("{e:#}"))
}

/// stdout + stderr of an output, for messages.
pub fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Key material of one replication, as the two Secrets would hold it, plus an unrelated
/// key pair for negative tests.
pub struct Keys {
    pub dir: PathBuf,
    pub source: PathBuf,
    pub source_pub: PathBuf,
    pub destination: PathBuf,
    pub destination_pub: PathBuf,
    pub wrong: PathBuf,
    pub wrong_pub: PathBuf,
}

impl Keys {
    pub fn generate(dir: &Path) -> Keys {
        use ferry_rsync::keys::{ReplicationKeys, write_secret_dir};
        let keys = ReplicationKeys::generate("test").unwrap();
        write_secret_dir(&dir.join("source"), &keys.source_secret_data().unwrap()).unwrap();
        write_secret_dir(
            &dir.join("destination"),
            &keys.destination_secret_data().unwrap(),
        )
        .unwrap();
        let other = ReplicationKeys::generate("other").unwrap();
        write_secret_dir(&dir.join("wrong"), &other.source_secret_data().unwrap()).unwrap();
        Keys {
            dir: dir.to_path_buf(),
            source: dir.join("source/source"),
            source_pub: dir.join("source/source.pub"),
            destination: dir.join("destination/destination"),
            destination_pub: dir.join("source/destination.pub"),
            wrong: dir.join("wrong/source"),
            wrong_pub: dir.join("wrong/destination.pub"),
        }
    }

    /// A known_hosts file pinning the destination key for `127.0.0.1:port`, for stock ssh.
    pub fn known_hosts(&self, port: u16) -> PathBuf {
        let path = self.dir.join(format!("known_hosts_{port}"));
        let key = std::fs::read_to_string(&self.destination_pub).unwrap();
        std::fs::write(&path, format!("[127.0.0.1]:{port} {key}")).unwrap();
        path
    }

    /// Stock OpenSSH client arguments for `127.0.0.1:port` with `key`, strict host key
    /// checking against the destination key, no agent, no config files.
    pub fn ssh_args(&self, port: u16, key: &Path) -> Vec<String> {
        vec![
            "-F".into(),
            "/dev/null".into(),
            "-i".into(),
            key.display().to_string(),
            "-p".into(),
            port.to_string(),
            "-o".into(),
            format!("UserKnownHostsFile={}", self.known_hosts(port).display()),
            "-o".into(),
            "StrictHostKeyChecking=yes".into(),
            "-o".into(),
            "BatchMode=yes".into(),
            "-o".into(),
            "IdentitiesOnly=yes".into(),
            "-o".into(),
            "IdentityAgent=none".into(),
            "-o".into(),
            "ConnectTimeout=10".into(),
            "-o".into(),
            "Ciphers=aes256-gcm@openssh.com".into(),
        ]
    }

    /// The same, as one `rsync -e` string (no spaces in our temp paths).
    pub fn ssh_command(&self, port: u16, key: &Path) -> String {
        format!("ssh {}", self.ssh_args(port, key).join(" "))
    }
}
