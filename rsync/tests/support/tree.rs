//! A source tree with everything rsync must preserve, and a comparison that reports every
//! difference: type, permissions, numeric owner, times, content, symlink targets, hard
//! link groups, sparseness, ACLs and user xattrs.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Seek, SeekFrom, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

/// Which optional metadata the filesystem carries.
#[derive(Debug, Clone, Copy)]
pub struct Support {
    pub acls: bool,
    pub xattrs: bool,
}

/// Probes ACL and xattr support in `dir`. An unsupported feature is reported, never
/// counted as checked.
pub fn probe(dir: &Path) -> Support {
    let probe = dir.join(".probe");
    std::fs::write(&probe, b"x").unwrap();
    let ok = |cmd: &mut Command| cmd.output().map(|o| o.status.success()).unwrap_or(false);
    let acls = ok(Command::new("setfacl")
        .arg("-m")
        .arg("u:1234:r")
        .arg(&probe));
    let xattrs = ok(Command::new("setfattr")
        .args(["-n", "user.ferry", "-v", "1"])
        .arg(&probe));
    std::fs::remove_file(&probe).unwrap();
    if !acls {
        println!(
            "NOTE: {} has no ACL support: the ACL comparison is skipped",
            dir.display()
        );
    }
    if !xattrs {
        println!(
            "NOTE: {} has no user xattrs: the xattr comparison is skipped",
            dir.display()
        );
    }
    Support { acls, xattrs }
}

/// The size of the sparse file: large, with a few bytes of data in its middle.
pub const SPARSE_SIZE: u64 = 64 * 1024 * 1024;

/// Builds the test tree in `root`. `owners` sets odd numeric owners (needs root).
pub fn build(root: &Path, support: Support, owners: bool) {
    let w = |rel: &str, data: &[u8]| {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, data).unwrap();
    };
    w("plain.txt", b"hello ferry\n");
    w("dir/nested/deep.bin", &pseudo_random(200_000, 7));
    w("dir/with space & $pecial;chars.txt", b"odd name\n");
    w("empty-file", b"");
    // Names of 255 bytes, the most Linux allows (rsync's temporary names must still fit):
    // ASCII, and multi-byte UTF-8 as a directory holding one.
    let ascii = "n".repeat(255);
    let utf8 = format!("{}x", "é".repeat(127));
    w(&ascii, b"longest ascii name\n");
    w(&format!("{utf8}/{ascii}"), &pseudo_random(70_000, 5));
    std::fs::create_dir_all(root.join("empty-dir")).unwrap();
    // Hard links: three names, one inode.
    w("hard/a", b"linked content\n");
    std::fs::hard_link(root.join("hard/a"), root.join("hard/b")).unwrap();
    std::fs::hard_link(root.join("hard/a"), root.join("dir/c-link")).unwrap();
    // A sparse file: 64 MiB with 4 KiB of data at 32 MiB.
    let mut sparse = std::fs::File::create(root.join("sparse.img")).unwrap();
    sparse.set_len(SPARSE_SIZE).unwrap();
    sparse.seek(SeekFrom::Start(SPARSE_SIZE / 2)).unwrap();
    sparse.write_all(&pseudo_random(4096, 3)).unwrap();
    drop(sparse);
    // Symlinks: relative, into a directory, dangling and absolute.
    std::os::unix::fs::symlink("plain.txt", root.join("link-to-plain")).unwrap();
    std::os::unix::fs::symlink("dir/nested", root.join("link-to-dir")).unwrap();
    std::os::unix::fs::symlink("/nonexistent/target", root.join("dangling")).unwrap();
    // Permissions.
    let mode = |rel: &str, m: u32| {
        std::fs::set_permissions(root.join(rel), std::fs::Permissions::from_mode(m)).unwrap();
    };
    mode("plain.txt", 0o640);
    mode("dir/nested/deep.bin", 0o755);
    mode("empty-file", 0o600);
    mode("empty-dir", 0o2770);
    if owners {
        let own = |rel: &str, uid: u32, gid: u32| {
            std::os::unix::fs::lchown(root.join(rel), Some(uid), Some(gid)).unwrap();
        };
        own("plain.txt", 1234, 5678);
        own("dir/nested", 4321, 8765);
        own("hard/a", 70000, 70001);
        own("link-to-plain", 2222, 3333);
    }
    if support.acls {
        let acl = |args: &[&str], rel: &str| {
            let s = Command::new("setfacl")
                .args(args)
                .arg(root.join(rel))
                .status()
                .unwrap();
            assert!(s.success());
        };
        acl(&["-m", "u:1234:rw,g:5678:r"], "plain.txt");
        acl(&["-m", "d:u:4321:rwx,u:4321:rwx"], "dir/nested");
    }
    if support.xattrs {
        let s = Command::new("setfattr")
            .args(["-n", "user.ferry", "-v", "replicated"])
            .arg(root.join("plain.txt"))
            .status()
            .unwrap();
        assert!(s.success());
    }
}

/// Deterministic bytes that do not compress.
pub fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// What is compared, beyond types, modes, sizes, times, contents and links.
#[derive(Debug, Clone, Copy)]
pub struct Compare {
    pub owners: bool,
    pub support: Support,
}

/// Every difference between the trees at `a` and `b`; empty when they are identical.
pub fn differences(a: &Path, b: &Path, what: Compare) -> Vec<String> {
    let (ea, eb) = (entries(a), entries(b));
    let mut diffs = Vec::new();
    let names: BTreeSet<&String> = ea.keys().chain(eb.keys()).collect();
    for name in names {
        match (ea.get(name), eb.get(name)) {
            (Some(x), Some(y)) => compare(a, b, name, x, y, what, &mut diffs),
            (Some(_), None) => diffs.push(format!("{name}: missing at the destination")),
            (None, Some(_)) => diffs.push(format!("{name}: extra at the destination")),
            (None, None) => {}
        }
    }
    if hard_link_groups(&ea) != hard_link_groups(&eb) {
        diffs.push(format!(
            "hard link groups differ: {:?} vs {:?}",
            hard_link_groups(&ea),
            hard_link_groups(&eb)
        ));
    }
    if what.support.acls {
        // getfacl prints owners too; they are compared above, when they should match.
        let acls = |root: &Path| {
            let all = tool(root, "getfacl", &["-R", "-P", "-n", "."]);
            let keep =
                |l: &&str| what.owners || !(l.starts_with("# owner:") || l.starts_with("# group:"));
            all.lines().filter(keep).collect::<Vec<_>>().join("\n")
        };
        let (x, y) = (acls(a), acls(b));
        if x != y {
            diffs.push(format!("ACLs differ (getfacl -R):\n{x}\n---\n{y}"));
        }
    }
    if what.support.xattrs
        && tool(a, "getfattr", &["-R", "-P", "-d", "-m", "^user\\.", "."])
            != tool(b, "getfattr", &["-R", "-P", "-d", "-m", "^user\\.", "."])
    {
        diffs.push("user xattrs differ (getfattr -R)".into());
    }
    diffs
}

fn compare(
    a: &Path,
    b: &Path,
    name: &str,
    x: &std::fs::Metadata,
    y: &std::fs::Metadata,
    what: Compare,
    diffs: &mut Vec<String>,
) {
    let mut d = |what: &str, l: String, r: String| {
        if l != r {
            diffs.push(format!("{name}: {what} {l} != {r}"));
        }
    };
    d(
        "type",
        format!("{:?}", x.file_type()),
        format!("{:?}", y.file_type()),
    );
    d("mode", format!("{:o}", x.mode()), format!("{:o}", y.mode()));
    if what.owners {
        d(
            "owner",
            format!("{}:{}", x.uid(), x.gid()),
            format!("{}:{}", y.uid(), y.gid()),
        );
    }
    if x.is_symlink() {
        let t = |root: &Path| std::fs::read_link(root.join(name)).unwrap();
        d("target", format!("{:?}", t(a)), format!("{:?}", t(b)));
        return;
    }
    if x.is_file() {
        d("size", x.len().to_string(), y.len().to_string());
        d("mtime", x.mtime().to_string(), y.mtime().to_string());
        let same = std::fs::read(a.join(name)).unwrap() == std::fs::read(b.join(name)).unwrap();
        d(
            "content",
            "same".into(),
            if same { "same" } else { "different" }.into(),
        );
        if name == "sparse.img" {
            // Allocated bytes well under the apparent size: holes were kept.
            let allocated = y.blocks() * 512;
            if allocated > SPARSE_SIZE / 8 {
                diffs.push(format!(
                    "{name}: not sparse at the destination ({allocated} bytes allocated)"
                ));
            }
        }
    }
}

type Entries = BTreeMap<String, std::fs::Metadata>;

fn entries(root: &Path) -> Entries {
    let mut out = Entries::new();
    walk(root, root, &mut out);
    out
}

fn walk(root: &Path, dir: &Path, out: &mut Entries) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let meta = std::fs::symlink_metadata(&path).unwrap();
        let rel = path
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if meta.is_dir() {
            walk(root, &path, out);
        }
        out.insert(rel, meta);
    }
}

fn hard_link_groups(e: &Entries) -> BTreeSet<BTreeSet<String>> {
    let mut by_inode: BTreeMap<(u64, u64), BTreeSet<String>> = BTreeMap::new();
    for (name, meta) in e {
        if meta.is_file() && meta.nlink() > 1 {
            by_inode
                .entry((meta.dev(), meta.ino()))
                .or_default()
                .insert(name.clone());
        }
    }
    by_inode.into_values().collect()
}

fn tool(dir: &Path, program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Names of everything under `root`, for "nothing else was written" checks.
pub fn listing(root: &Path) -> BTreeSet<String> {
    entries(root).into_keys().collect()
}
