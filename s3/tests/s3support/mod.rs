//! Shared by the S3 engine's tests and benchmark: a real MinIO (the test cluster's build)
//! per test binary, an rclone.conf for it, the real rclone, a counting and fault-injecting
//! HTTP proxy, and trees to build and compare. Everything on loopback, every command bounded
//! in time.
#![allow(dead_code)]

pub mod bucket;
pub mod minio;
pub mod proxy;
pub mod tree;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

/// The longest any single command of a test may run.
pub const COMMAND_LIMIT: Duration = Duration::from_secs(240);

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The directory with the pinned tools (minio, rclone): `FERRY_TOOLS_BIN`, else what
/// `tests/cluster/tools/build` prints (it builds what is missing).
pub fn tools_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(dir) = std::env::var_os("FERRY_TOOLS_BIN") {
            let dir = PathBuf::from(dir);
            if dir.join("rclone").exists() && dir.join("minio").exists() {
                return dir;
            }
        }
        let build = repo_root().join("tests/cluster/tools/build");
        let out = Command::new(&build)
            .stderr(Stdio::inherit())
            .output()
            .expect("run tools/build");
        assert!(out.status.success(), "{} failed", build.display());
        PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
    })
}

/// The rclone binary.
pub fn rclone_bin() -> PathBuf {
    tools_bin().join("rclone")
}

/// The ferry-sidecar binary under test, built beside this test (`make test` builds it; it
/// is another package's binary, so Cargo does not build it for this one).
pub fn ferry_bin() -> PathBuf {
    ferry_e2e::webhook::bin_path("ferry-sidecar").unwrap_or_else(|e| panic!("{e:#}"))
}

/// Runs a command to completion within `limit`, failing the test if it takes longer.
pub fn run_within(cmd: &mut Command, limit: Duration) -> Output {
    ferry_e2e::process::run_within(cmd, limit).unwrap_or_else(|e| panic!("{e:#}"))
}

/// Runs a command within [`COMMAND_LIMIT`].
pub fn run(cmd: &mut Command) -> Output {
    run_within(cmd, COMMAND_LIMIT)
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

/// Runs a future on a fresh runtime.
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// The summary `ferry-sidecar sync --json` prints last on stdout.
#[derive(Debug, serde::Deserialize)]
pub struct Summary {
    pub bytes_transferred: u64,
    pub files_transferred: u64,
    pub files_checked: u64,
    pub files_deleted: u64,
    pub files_updated: u64,
    pub errors: u64,
    pub head_requests: u64,
    #[serde(default)]
    pub dirs_transferred: u64,
    #[serde(default)]
    pub uploads_aborted: u64,
    pub elapsed_ms: u64,
    pub dry_run: bool,
    #[serde(default)]
    pub requests: Requests,
    /// Copies beyond `--retain` that Object Lock kept.
    #[serde(default)]
    pub locked: Vec<Locked>,
}

/// The S3 requests of a sync, by kind, as the summary reports them.
#[derive(Debug, Default, PartialEq, Eq, serde::Deserialize)]
pub struct Requests {
    pub total: u64,
    pub list: u64,
    pub head: u64,
    pub get: u64,
    pub put: u64,
    pub part: u64,
    pub copy: u64,
    pub delete: u64,
    pub other: u64,
}

impl Requests {
    pub fn total(&self) -> u64 {
        self.list
            + self.head
            + self.get
            + self.put
            + self.part
            + self.copy
            + self.delete
            + self.other
    }
}

/// A copy pruning left because it is locked.
#[derive(Debug, serde::Deserialize)]
pub struct Locked {
    pub copy: String,
    pub held: String,
}

/// Parses the JSON summary of a `--json` run.
pub fn summary(o: &Output) -> Summary {
    let stdout = String::from_utf8_lossy(&o.stdout);
    let last = stdout
        .lines()
        .last()
        .unwrap_or_else(|| panic!("no summary:\n{}", text(o)));
    serde_json::from_str(last).unwrap_or_else(|e| panic!("bad summary {last:?}: {e}\n{}", text(o)))
}

/// What most S3 tests start from: the shared MinIO, a client of the test's own, a new
/// bucket, a work directory and an rclone.conf (`minio`) for MinIO.
pub struct Fixture {
    pub client: aws_sdk_s3::Client,
    pub bucket: String,
    pub work: tempfile::TempDir,
    pub conf: PathBuf,
}

impl Fixture {
    /// A fixture with a new bucket named after `prefix`.
    pub fn new(prefix: &str) -> Fixture {
        let minio = minio::shared();
        let client = bucket::client(minio, &minio.endpoint);
        let bucket = block_on(bucket::create(&client, prefix));
        let work = tempfile::tempdir().unwrap();
        let conf = write_rclone_conf(
            work.path(),
            "minio",
            &minio.endpoint,
            &minio.access,
            &minio.secret,
        );
        Fixture {
            client,
            bucket,
            work,
            conf,
        }
    }
}

/// An rclone.conf with one `[name]` section for `endpoint` and the keys.
pub fn write_rclone_conf(
    dir: &Path,
    name: &str,
    endpoint: &str,
    access: &str,
    secret: &str,
) -> PathBuf {
    let path = dir.join("rclone.conf");
    std::fs::write(
        &path,
        format!(
            "[{name}]\ntype = s3\nprovider = Minio\naccess_key_id = {access}\nsecret_access_key = {secret}\nendpoint = {endpoint}\nregion = us-east-1\n"
        ),
    )
    .unwrap();
    path
}

/// A ferry-sidecar sync command with `--config conf --json --stats 0`.
pub fn ferry_sync(conf: &Path, src: &str, dst: &str) -> Command {
    let mut cmd = Command::new(ferry_bin());
    cmd.arg("sync")
        .arg("--config")
        .arg(conf)
        .arg("--json")
        .arg("--stats")
        .arg("0")
        .arg(src)
        .arg(dst);
    cmd.env_remove("RUST_LOG");
    cmd
}

/// An rclone command with `--config conf`.
pub fn rclone(conf: &Path) -> Command {
    let mut cmd = Command::new(rclone_bin());
    cmd.arg("--config").arg(conf);
    cmd
}
