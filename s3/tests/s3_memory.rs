//! Memory: a push of 4 × 256 MiB inside a memory cgroup limited to 128 MiB, the limit the
//! webhook gives an injected sidecar, succeeds. The engine reads the limit from its cgroup
//! and keeps the file data in flight to a quarter of it, whatever the number of files.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod s3support;

use std::path::{Path, PathBuf};
use std::process::Command;

use s3support::{Fixture, bucket, ferry_bin, run, summary, text, tree};

/// The sidecar's default memory limit (the webhook's `ferry.dev/sidecar-memory` default).
const LIMIT: u64 = 128 << 20;

/// A memory cgroup of this test's own, removed on drop.
struct Cgroup {
    dir: PathBuf,
    v2: bool,
}

impl Cgroup {
    /// Creates a cgroup limited to `limit` bytes (v2 where the memory controller is there,
    /// else v1's memory hierarchy).
    fn create(limit: u64) -> Cgroup {
        let name = format!(
            "ferry-test-{}-{:08x}",
            std::process::id(),
            rand::random::<u32>()
        );
        let v2_root = Path::new("/sys/fs/cgroup");
        let v2 = std::fs::read_to_string(v2_root.join("cgroup.controllers"))
            .is_ok_and(|c| c.split_whitespace().any(|c| c == "memory"));
        let (dir, file) = if v2 {
            (v2_root.join(&name), "memory.max")
        } else {
            (v2_root.join("memory").join(&name), "memory.limit_in_bytes")
        };
        std::fs::create_dir(&dir)
            .unwrap_or_else(|e| panic!("creating the cgroup {} (run as root): {e}", dir.display()));
        std::fs::write(dir.join(file), limit.to_string()).unwrap();
        Cgroup { dir, v2 }
    }

    /// The highest usage seen, where the kernel records it.
    fn peak(&self) -> Option<u64> {
        let file = if self.v2 {
            "memory.peak"
        } else {
            "memory.max_usage_in_bytes"
        };
        std::fs::read_to_string(self.dir.join(file))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// OOM kills in the cgroup.
    fn oom_kills(&self) -> u64 {
        let (file, key) = if self.v2 {
            ("memory.events", "oom_kill")
        } else {
            ("memory.oom_control", "oom_kill")
        };
        let text = std::fs::read_to_string(self.dir.join(file)).unwrap_or_default();
        text.lines()
            .filter_map(|l| l.split_once(' '))
            .find(|(k, _)| *k == key)
            .and_then(|(_, v)| v.trim().parse().ok())
            .unwrap_or(0)
    }

    /// `program args...` as a command that enters the cgroup before it starts.
    fn command(&self, program: &Path) -> Command {
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg("echo $$ > \"$0/cgroup.procs\" && exec \"$@\"")
            .arg(&self.dir)
            .arg(program);
        cmd
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.dir);
    }
}

#[test]
fn four_large_files_push_within_the_sidecars_memory_limit() {
    let f = Fixture::new("memory");
    let src = f.work.path().join("src");
    for i in 0..4u64 {
        let name = format!("large-{i}.bin");
        tree::big_file(
            &src.join(name),
            60 + i,
            256 << 20,
            1_700_000_000_000_000_000,
        );
    }
    let cgroup = Cgroup::create(LIMIT);
    let remote = format!("minio:{}/m", f.bucket);
    let mut cmd = cgroup.command(&ferry_bin());
    cmd.args(["sync", "--json", "--stats", "0", "--config"])
        .arg(&f.conf)
        .arg(&src)
        .arg(&remote)
        .env_remove("RUST_LOG");
    let push = run(&mut cmd);
    let kills = cgroup.oom_kills();
    assert_eq!(kills, 0, "OOM-killed inside {LIMIT} bytes: {}", text(&push));
    assert!(push.status.success(), "{}", text(&push));
    let sum = summary(&push);
    assert_eq!(
        (sum.files_transferred, sum.errors),
        (4, 0),
        "{}",
        text(&push)
    );
    // The kernel holds the cgroup to its limit (reclaiming page cache first), so the peak
    // is printed for the record, not asserted.
    if let Some(peak) = cgroup.peak() {
        eprintln!(
            "cgroup peak: {:.1} MiB of {} MiB",
            peak as f64 / 1048576.0,
            LIMIT >> 20
        );
    }
    let listed = s3support::block_on(bucket::list(&f.client, &f.bucket, "m/"));
    assert_eq!(listed.len(), 4, "{listed:?}");
    assert!(listed.values().all(|o| o.size == 256 << 20), "{listed:?}");
    // The bucket's gigabyte is not kept for the rest of the run.
    let _ = run(s3support::rclone(&f.conf).args(["purge", &remote]));
}
