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
    /// Its data directory.
    pub data: PathBuf,
    /// Its process id.
    pub pid: u32,
}

impl Minio {
    /// Stops it and deletes its data (for servers from [`start_at`]).
    pub fn stop(&self) {
        let _ = Command::new("kill").arg(self.pid.to_string()).status();
        std::thread::sleep(Duration::from_millis(500));
        let _ = std::fs::remove_dir_all(&self.data);
    }

    /// Requests served so far, by S3 API name (MinIO's v3 metrics).
    pub fn requests(&self) -> std::collections::BTreeMap<String, u64> {
        let mut out = std::collections::BTreeMap::new();
        let Some(text) = http_get(self.port, "/minio/metrics/v3/api/requests") else {
            return out;
        };
        for line in text
            .lines()
            .filter(|l| l.starts_with("minio_api_requests_total{"))
        {
            let Some(name) = line
                .split("name=\"")
                .nth(1)
                .and_then(|r| r.split('"').next())
            else {
                continue;
            };
            let Some(value) = line.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()) else {
                continue;
            };
            *out.entry(name.to_owned()).or_default() += value as u64;
        }
        out
    }
}

/// The MinIO of this test process, started on first use.
pub fn shared() -> &'static Minio {
    static MINIO: OnceLock<Minio> = OnceLock::new();
    MINIO.get_or_init(|| start_at(None))
}

/// A free loopback port.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn data_root(root: Option<PathBuf>) -> PathBuf {
    let root = root
        .or_else(|| std::env::var_os("FERRY_S3_TEST_DATA").map(PathBuf::from))
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

/// Starts a MinIO with its data below `root` (default: `FERRY_S3_TEST_DATA`, else the
/// target's temporary directory).
pub fn start_at(root: Option<PathBuf>) -> Minio {
    start_with(root, None)
}

/// Starts a MinIO serving HTTPS with `certs` (`public.crt`, `private.key`).
pub fn start_tls(certs: &std::path::Path) -> Minio {
    start_with(None, Some(certs.to_path_buf()))
}

fn start_with(root: Option<PathBuf>, certs: Option<PathBuf>) -> Minio {
    let binary = super::tools_bin().join("minio");
    let data = data_root(root);
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
    let (a, s, d, c) = (access.clone(), secret.clone(), data.clone(), certs.clone());
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
                .args(c.iter().flat_map(|c| {
                    [
                        std::ffi::OsString::from("--certs-dir"),
                        c.clone().into_os_string(),
                    ]
                }))
                .arg(d.join("data"))
                .env("MINIO_ROOT_USER", &a)
                .env("MINIO_ROOT_PASSWORD", &s)
                .env("MINIO_BROWSER", "off")
                .env("MINIO_UPDATE", "off")
                .env("MINIO_PROMETHEUS_AUTH_TYPE", "public")
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn();
            match child {
                Ok(mut child) => {
                    tx.send(Ok(child.id())).unwrap();
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
    let pid = rx
        .recv()
        .unwrap()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", data.display()));
    let deadline = Instant::now() + Duration::from_secs(90);
    let tls = certs.is_some();
    while !healthy(port, tls) {
        assert!(
            Instant::now() < deadline,
            "MinIO did not become healthy; see {}",
            data.join("minio.log").display()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Minio {
        endpoint: format!("{}://127.0.0.1:{port}", if tls { "https" } else { "http" }),
        access,
        secret,
        port,
        data,
        pid,
    }
}

fn healthy(port: u16, tls: bool) -> bool {
    if tls {
        let url = format!("https://127.0.0.1:{port}/minio/health/live");
        return Command::new("curl")
            .args(["-ksf", "-m", "2", &url])
            .status()
            .is_ok_and(|s| s.success());
    }
    http_get(port, "/minio/health/live").is_some()
}

/// The body of a 200 answer to `GET path` (HTTP/1.0: no chunked encoding to undo).
fn http_get(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let req = format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n");
    s.write_all(req.as_bytes()).ok()?;
    let mut buf = String::new();
    let _ = s.read_to_string(&mut buf);
    if !buf.lines().next().is_some_and(|l| l.contains(" 200 ")) {
        return None;
    }
    buf.split_once("\r\n\r\n").map(|(_, body)| body.to_owned())
}
