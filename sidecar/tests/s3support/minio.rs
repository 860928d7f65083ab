//! One MinIO server per test process, built by the test cluster's tool script, on a free
//! loopback port with its data under the target's temporary directory. It is started from
//! a thread that lives as long as the process, under `setpriv --pdeathsig KILL`, so it
//! stops when the test process ends however it ends.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A running MinIO.
#[derive(Debug)]
pub struct Minio {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// Root user.
    pub access: String,
    /// Root password.
    pub secret: String,
    /// Its port.
    pub port: u16,
}

/// The MinIO of this test process, started on first use.
pub fn shared() -> &'static Minio {
    static MINIO: OnceLock<Minio> = OnceLock::new();
    MINIO.get_or_init(start)
}

/// A free loopback port.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn data_root() -> PathBuf {
    let root = std::env::var_os("FERRY_S3_TEST_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(option_env!("CARGO_TARGET_TMPDIR").unwrap_or("/tmp")));
    // Remove data left by test processes that are gone.
    if let Ok(entries) = std::fs::read_dir(&root) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(pid) = name.strip_prefix("ferry-s3-minio-")
                && !PathBuf::from(format!("/proc/{pid}")).exists()
            {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
    root.join(format!("ferry-s3-minio-{}", std::process::id()))
}

fn start() -> Minio {
    let binary = super::tools_bin().join("minio");
    let data = data_root();
    std::fs::create_dir_all(&data).unwrap();
    let port = free_port();
    let console = free_port();
    let access = format!("ferry{:08x}", rand::random::<u32>());
    let secret = format!(
        "{:016x}{:016x}",
        rand::random::<u64>(),
        rand::random::<u64>()
    );
    let (tx, rx) = mpsc::channel();
    let (a, s, d) = (access.clone(), secret.clone(), data.clone());
    std::thread::Builder::new()
        .name("minio".into())
        .spawn(move || {
            let log = std::fs::File::create(d.join("minio.log")).unwrap();
            let child = Command::new("setpriv")
                .args(["--pdeathsig", "KILL", "--"])
                .arg(&binary)
                .args(["server", "--quiet"])
                .arg(format!("--address=127.0.0.1:{port}"))
                .arg(format!("--console-address=127.0.0.1:{console}"))
                .arg(d.join("data"))
                .env("MINIO_ROOT_USER", &a)
                .env("MINIO_ROOT_PASSWORD", &s)
                .env("MINIO_BROWSER", "off")
                .env("MINIO_UPDATE", "off")
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn();
            match child {
                Ok(mut child) => {
                    tx.send(Ok(())).unwrap();
                    let _ = child.wait();
                    // Keep this thread (the child's parent for pdeathsig) alive.
                    loop {
                        std::thread::park();
                    }
                }
                Err(e) => tx.send(Err(e.to_string())).unwrap(),
            }
        })
        .unwrap();
    rx.recv()
        .unwrap()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", data.display()));
    let deadline = Instant::now() + Duration::from_secs(90);
    while !healthy(port) {
        assert!(
            Instant::now() < deadline,
            "MinIO did not become healthy; see {}",
            data.join("minio.log").display()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Minio {
        endpoint: format!("http://127.0.0.1:{port}"),
        access,
        secret,
        port,
    }
}

fn healthy(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let req = format!(
        "GET /minio/health/live HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    );
    if s.write_all(req.as_bytes()).is_err() {
        return false;
    }
    let mut buf = String::new();
    let _ = s.read_to_string(&mut buf);
    buf.starts_with("HTTP/1.1 200")
}
