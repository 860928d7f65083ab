//! ferry-crypt against the real rclone (v1.76, with its crypt backend), through a crypt
//! remote over a local directory: what ferry-crypt encrypts, rclone decrypts byte for byte
//! and `rclone check` (sizes), `rclone check --download` (contents) and `rclone
//! cryptcheck` (the stored objects' hashes against the source re-encrypted) find no
//! difference; what rclone encrypts, ferry-crypt decrypts byte for byte, and re-encrypts
//! byte for byte with the object's own nonce (what `rclone cryptcheck` checks through
//! hashes); stored names are the same; a wrong password gives the clear error. For each
//! name mode, with and without `password2`, with directory names encrypted or not.
//!
//! The rclone.conf of each case is written with passwords obscured by ferry-crypt: rclone
//! decrypting the objects proves it reveals them. `reveals_what_rclone_obscures` checks
//! the other way, from a section written by `rclone config create`.
//!
//! rclone comes from `FERRY_TOOLS_BIN`, else from `tests/cluster/tools/build` (which
//! prints the cached tools directory, building what is missing). Without it the tests
//! fail: they never skip.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use anyhow::{Context, Result, bail, ensure};
use ferry_crypt::{Cipher, ContentError, CryptConfig, Error, NameMode, Setting};

/// Seconds any one rclone command may take.
const LIMIT_SECS: &str = "180";

fn rclone() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| match tools_dir() {
        Ok(dir) => dir.join("rclone"),
        Err(e) => panic!(
            "the real rclone is needed for ferry-crypt's interop tests and was not found: {e:#}. \
             Set FERRY_TOOLS_BIN to the tools directory (see tests/cluster/tools/build)"
        ),
    })
}

fn tools_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("FERRY_TOOLS_BIN") {
        let dir = PathBuf::from(dir);
        ensure!(
            dir.join("rclone").is_file(),
            "FERRY_TOOLS_BIN={} has no rclone",
            dir.display()
        );
        return Ok(dir);
    }
    let build = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/cluster/tools/build");
    let out = Command::new(&build)
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("running {}", build.display()))?;
    ensure!(out.status.success(), "{} failed", build.display());
    let dir = PathBuf::from(String::from_utf8(out.stdout)?.trim());
    ensure!(
        dir.join("rclone").is_file(),
        "{} has no rclone",
        dir.display()
    );
    Ok(dir)
}

/// Runs rclone with `args` (never a secret), bounded in time; its output.
fn run_rclone(config: &Path, args: &[&str], stdin: Option<&[u8]>) -> Result<Output> {
    let mut cmd = Command::new("timeout");
    cmd.arg(LIMIT_SECS)
        .arg(rclone())
        .arg("--config")
        .arg(config)
        .args(["--retries", "1", "--low-level-retries", "1"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().context("starting rclone")?;
    if let Some(mut pipe) = child.stdin.take() {
        pipe.write_all(stdin.unwrap_or_default())?;
    }
    Ok(child.wait_with_output()?)
}

fn ok(config: &Path, args: &[&str]) -> Result<Output> {
    let out = run_rclone(config, args, None)?;
    if !out.status.success() {
        bail!("rclone {} failed:\n{}", args.join(" "), text(&out));
    }
    Ok(out)
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Deterministic bytes that do not compress.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// The test tree: hidden files, spaces, Unicode, control characters, a name near the
/// limit the mode allows on a local filesystem, an empty file, files at the 64 KiB block
/// edges, a few MiB, names that look like rclone versions, and characters obfuscation
/// quotes.
fn tree(long_name: usize) -> BTreeMap<String, Vec<u8>> {
    let mut t = BTreeMap::new();
    let mut add = |path: &str, data: Vec<u8>| {
        t.insert(path.to_owned(), data);
    };
    add(".hidden", b"hidden file\n".to_vec());
    add(".config/.secret-settings", b"key = value\n".to_vec());
    add("with spaces/a file with spaces.txt", b"spaces\n".to_vec());
    add(
        "unicode/日本語/ファイル.txt",
        "こんにちは\n".as_bytes().to_vec(),
    );
    add("unicode/café ñ ¡ÿ.txt", b"latin-1\n".to_vec());
    add("unicode/emoji 😀 🚢.md", b"emoji\n".to_vec());
    add(
        "unicode/\u{d7f0}\u{d7ff} hangul edge",
        b"rotates near surrogates\n".to_vec(),
    );
    add(
        "punctuation/!bang! & (parens) [brackets] {braces} 'quote' #hash%.txt",
        b"punct\n".to_vec(),
    );
    add("digits/0123456789/2024-01-31.log", b"digits\n".to_vec());
    // rclone encrypts its internal form of these (control characters as U+2400 symbols).
    add(
        "control/tab\tnew\nline bell\u{7} del\u{7f}",
        b"control\n".to_vec(),
    );
    add(
        "control/symbols \u{2409} \u{2421} \u{2400}",
        b"symbols\n".to_vec(),
    );
    add("control/fullwidth\u{ff0f}slash", b"slash\n".to_vec());
    add("control/\u{7}dir\u{1b}/inside", b"inside\n".to_vec());
    add(
        "versions/report-v2001-02-03-040506-123.txt",
        b"looks versioned\n".to_vec(),
    );
    add(
        "versions/-v2001-02-03-040506-123",
        b"only a version\n".to_vec(),
    );
    add(
        &format!("long/{}", "n".repeat(long_name)),
        b"long name\n".to_vec(),
    );
    add("sizes/empty", Vec::new());
    add("sizes/one", vec![0x42]);
    add("sizes/64KiB-1", noise(65535, 1));
    add("sizes/64KiB", noise(65536, 2));
    add("sizes/64KiB+1", noise(65537, 3));
    add("sizes/3MiB+5", noise(3 * 1024 * 1024 + 5, 4));
    add("deep/a/b/c/d/e/f/g/leaf.bin", noise(1000, 5));
    t
}

fn write_tree(root: &Path, files: &BTreeMap<String, Vec<u8>>) -> Result<()> {
    for (path, data) in files {
        let file = root.join(path);
        fs::create_dir_all(file.parent().context("no parent")?)?;
        fs::write(&file, data)?;
    }
    Ok(())
}

/// Every file under `root`, by `/`-separated relative path.
fn read_tree(root: &Path) -> Result<BTreeMap<String, Vec<u8>>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir)? {
            let entry = entry?;
            let path = entry.path();
            if entry.file_type()?.is_dir() {
                stack.push(path);
            } else {
                let rel = path
                    .strip_prefix(root)?
                    .to_str()
                    .context("non-UTF-8 name")?;
                out.insert(rel.to_owned(), fs::read(&path)?);
            }
        }
    }
    Ok(out)
}

/// A crypt section's settings, for rclone (written to rclone.conf) and for ferry-crypt
/// (the same lines handed to `CryptConfig::from_section`).
struct Case {
    name: &'static str,
    lines: Vec<(&'static str, &'static str)>,
    password2: bool,
    directories: bool,
    long_name: usize,
}

struct CryptDir {
    _dir: tempfile::TempDir,
    conf: PathBuf,
    store: PathBuf,
    cipher: Cipher,
    config: CryptConfig,
}

const PASSWORD: &str = "correct horse battery staple";
const PASSWORD2: &str = "salt of the earth";

/// A temp dir with a crypt section `secret` over `store/`, its rclone.conf, and
/// ferry-crypt's cipher for the same section.
fn remote(case: &Case, password: &str) -> Result<CryptDir> {
    let dir = tempfile::tempdir()?;
    let conf = dir.path().join("rclone.conf");
    fs::write(&conf, "")?;
    let store = dir.path().join("store");
    fs::create_dir(&store)?;
    let obscured = ferry_crypt::obscure::obscure(password.as_bytes())?;
    let obscured2 = ferry_crypt::obscure::obscure(PASSWORD2.as_bytes())?;
    let remote_value = store.to_str().context("temp path")?.to_owned();
    let dirs = if case.directories { "true" } else { "false" };
    let mut lines: Vec<(&str, &str)> = vec![
        ("type", "crypt"),
        ("remote", &remote_value),
        ("password", &obscured),
        ("directory_name_encryption", dirs),
    ];
    if case.password2 {
        lines.push(("password2", &obscured2));
    }
    lines.extend(case.lines.iter().copied());
    let mut text = String::from("[secret]\n");
    for (key, value) in &lines {
        text.push_str(&format!("{key} = {value}\n"));
    }
    fs::write(&conf, text)?;
    let settings = lines.iter().map(|(key, value)| Setting {
        key,
        value,
        line: None,
    });
    let (config, warnings) =
        CryptConfig::from_section("secret", &conf.to_string_lossy(), settings)?;
    ensure!(warnings.is_empty(), "{warnings:?}");
    ensure!(config.remote == remote_value);
    let cipher = config.cipher()?;
    Ok(CryptDir {
        _dir: dir,
        conf,
        store,
        cipher,
        config,
    })
}

/// Encrypts `files` into `store` with ferry-crypt, as the engine will: names, then
/// contents through the encrypting reader.
fn ferry_encrypt(cipher: &Cipher, files: &BTreeMap<String, Vec<u8>>, store: &Path) -> Result<()> {
    for (path, data) in files {
        let stored = store.join(cipher.encrypt_file_name(path)?);
        fs::create_dir_all(stored.parent().context("no parent")?)?;
        let mut out = fs::File::create(&stored)?;
        let copied = io::copy(&mut cipher.encrypt_reader(data.as_slice())?, &mut out)?;
        ensure!(
            copied == cipher.encrypted_size(data.len() as u64),
            "{path}: wrote {copied} bytes, encrypted_size says {}",
            cipher.encrypted_size(data.len() as u64)
        );
    }
    Ok(())
}

/// Decrypts every object in `store` with ferry-crypt, both through the reader and through
/// the writer (in 10,000-byte pieces, as a body arrives), checking the size function.
fn ferry_decrypt(cipher: &Cipher, store: &Path) -> Result<BTreeMap<String, Vec<u8>>> {
    let mut out = BTreeMap::new();
    for (stored, data) in read_tree(store)? {
        let path = cipher.decrypt_file_name(&stored)?;
        let mut plain = Vec::new();
        cipher
            .decrypt_reader(data.as_slice())?
            .read_to_end(&mut plain)?;
        let mut writer = cipher.decrypt_writer(Vec::new());
        for piece in data.chunks(10_000) {
            writer.write_all(piece)?;
        }
        ensure!(
            writer.finish()? == plain,
            "{path}: the writer and the reader differ"
        );
        ensure!(
            cipher.decrypted_size(data.len() as u64)? == plain.len() as u64,
            "{path}: decrypted_size disagrees"
        );
        out.insert(path, plain);
    }
    Ok(out)
}

fn same_trees(
    want: &BTreeMap<String, Vec<u8>>,
    got: &BTreeMap<String, Vec<u8>>,
    what: &str,
) -> Result<()> {
    let names = |t: &BTreeMap<String, Vec<u8>>| t.keys().cloned().collect::<Vec<_>>();
    ensure!(
        names(want) == names(got),
        "{what}: the names differ\nwant {:?}\ngot  {:?}",
        names(want),
        names(got)
    );
    for (path, data) in want {
        ensure!(
            got[path] == *data,
            "{what}: {path} differs ({} vs {} bytes)",
            data.len(),
            got[path].len()
        );
    }
    Ok(())
}

fn check_case(case: &Case) -> Result<()> {
    let what = format!(
        "{} (password2 {}, directory names {})",
        case.name,
        if case.password2 { "set" } else { "unset" },
        if case.directories {
            "encrypted"
        } else {
            "clear"
        }
    );
    let files = tree(case.long_name);

    // ferry-crypt encrypts; rclone decrypts and checks.
    let r = remote(case, PASSWORD)?;
    let plain = r.store.parent().context("parent")?.join("plain");
    write_tree(&plain, &files)?;
    ferry_encrypt(&r.cipher, &files, &r.store)?;
    let plain_arg = plain.to_str().context("path")?;
    let back = r.store.parent().context("parent")?.join("rclone-decrypted");
    ok(
        &r.conf,
        &["copy", "secret:", back.to_str().context("path")?],
    )
    .with_context(|| what.clone())?;
    same_trees(
        &files,
        &read_tree(&back)?,
        &format!("{what}: rclone decrypting ferry's"),
    )?;
    for check in [
        &["check", plain_arg, "secret:"][..],
        &["check", "--download", plain_arg, "secret:"],
        &["cryptcheck", plain_arg, "secret:"],
    ] {
        let out = ok(&r.conf, check).with_context(|| what.clone())?;
        let log = String::from_utf8_lossy(&out.stderr);
        ensure!(
            log.contains(": 0 differences found")
                && log.contains(&format!(": {} matching files", files.len())),
            "{what}: rclone {} did not agree:\n{}",
            check.join(" "),
            text(&out)
        );
    }
    // Nothing in clear in the store (content or names), unless names are off.
    let stored = read_tree(&r.store)?;
    for data in stored.values() {
        ensure!(
            !data.windows(11).any(|w| w == b"hidden file"),
            "{what}: plaintext content in the store"
        );
    }
    if matches!(r.config.names, NameMode::Standard { .. }) {
        for name in stored.keys() {
            // With directory names in clear, only the file names are hidden.
            let hidden = match case.directories {
                true => name.as_str(),
                false => name.rsplit('/').next().unwrap_or_default(),
            };
            ensure!(
                !hidden.contains("hidden")
                    && !hidden.contains("ファイル")
                    && !hidden.contains("spaces"),
                "{what}: plaintext name in the store: {name}"
            );
        }
    }

    // rclone encrypts; ferry-crypt decrypts.
    let r2 = remote(case, PASSWORD)?;
    ok(&r2.conf, &["copy", plain_arg, "secret:"]).with_context(|| what.clone())?;
    same_trees(
        &files,
        &ferry_decrypt(&r2.cipher, &r2.store)?,
        &format!("{what}: ferry decrypting rclone's"),
    )?;
    // Same names as rclone gives them (contents differ only by the random nonce).
    let ours: Vec<String> = files
        .keys()
        .map(|p| r.cipher.encrypt_file_name(p))
        .collect::<Result<_, _>>()?;
    let theirs: Vec<String> = read_tree(&r2.store)?.into_keys().collect();
    let mut ours_sorted = ours.clone();
    ours_sorted.sort();
    ensure!(
        ours_sorted == theirs,
        "{what}: stored names differ\nferry  {ours_sorted:?}\nrclone {theirs:?}"
    );

    // Each object rclone wrote is exactly what ferry-crypt writes with that object's
    // nonce (rclone's cryptcheck compares the same thing through hashes).
    for (stored, data) in read_tree(&r2.store)? {
        let path = r2.cipher.decrypt_file_name(&stored)?;
        let mut nonce = [0u8; 24];
        nonce.copy_from_slice(&data[8..32]);
        let mut again = Vec::new();
        r2.cipher
            .encrypt_reader_with_nonce(files[&path].as_slice(), ferry_crypt::Nonce(nonce))
            .read_to_end(&mut again)?;
        ensure!(
            again == data,
            "{what}: {path}: ferry's encryption differs from rclone's"
        );
    }

    // A wrong password: every object fails to authenticate, with the clear message; with
    // standard names, the names already fail to decrypt.
    let wrong = remote(case, "not the password")?;
    for (stored, data) in read_tree(&r2.store)? {
        if matches!(wrong.config.names, NameMode::Standard { .. }) && case.directories {
            match wrong.cipher.decrypt_file_name(&stored) {
                Err(Error::Name { name, reason }) => {
                    let message = Error::Name {
                        name,
                        reason: reason.clone(),
                    }
                    .to_string();
                    ensure!(message.starts_with("cannot decrypt the name"), "{message}");
                    ensure!(reason.suggests_wrong_password(), "{what}: {message}");
                }
                other => bail!("{what}: {stored} decrypted with the wrong password: {other:?}"),
            }
        }
        let mut sink = Vec::new();
        let err = match wrong.cipher.decrypt_reader(data.as_slice()) {
            Ok(mut reader) => reader.read_to_end(&mut sink).err(),
            Err(e) => Some(e),
        };
        let Some(err) = err else {
            ensure!(
                data.len() == 32,
                "{what}: {stored} decrypted with the wrong password"
            );
            continue; // an empty file has no block to authenticate, in rclone too
        };
        ensure!(
            ContentError::from_io(&err) == Some(&ContentError::Authentication),
            "{what}: {stored}: {err}"
        );
        ensure!(
            err.to_string()
                .contains("wrong password or corrupted object"),
            "{err}"
        );
    }
    Ok(())
}

fn check_all(
    name: &'static str,
    lines: &[(&'static str, &'static str)],
    long_name: usize,
    both_dirs: bool,
) {
    let mut failures = Vec::new();
    for password2 in [true, false] {
        for directories in [true, false] {
            if !directories && !both_dirs {
                continue;
            }
            let case = Case {
                name,
                lines: lines.to_vec(),
                password2,
                directories,
                long_name,
            };
            if let Err(e) = check_case(&case) {
                failures.push(format!("{e:#}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

// A local filesystem allows 255 bytes per name: standard base32 names grow by 8/5 after
// padding to 16 bytes, so 143 bytes is the longest plaintext name that fits (as rclone's
// docs say); base64 grows by 4/3, so 175; obfuscate and off add a few bytes.

#[test]
fn standard_base32() {
    check_all(
        "standard",
        &[("filename_encryption", "standard")],
        143,
        true,
    );
}

#[test]
fn standard_base64() {
    check_all(
        "standard base64",
        &[
            ("filename_encryption", "standard"),
            ("filename_encoding", "base64"),
        ],
        175,
        true,
    );
}

#[test]
fn standard_base32768() {
    // 15 bits in a character of (mostly) 3 UTF-8 bytes: the same 143 bytes as base32.
    check_all(
        "standard base32768",
        &[
            ("filename_encryption", "standard"),
            ("filename_encoding", "base32768"),
        ],
        143,
        true,
    );
}

#[test]
fn obfuscate() {
    check_all(
        "obfuscate",
        &[("filename_encryption", "obfuscate")],
        240,
        true,
    );
}

#[test]
fn off() {
    check_all("off", &[("filename_encryption", "off")], 240, false);
    check_all(
        "off, suffix none",
        &[("filename_encryption", "off"), ("suffix", "none")],
        250,
        false,
    );
}

#[test]
fn no_data_encryption() {
    check_all_plain_contents();
}

/// `no_data_encryption = true`: names encrypted, contents stored as they are; both
/// directions still agree with rclone.
fn check_all_plain_contents() {
    let case = Case {
        name: "no_data_encryption",
        lines: vec![("no_data_encryption", "true")],
        password2: true,
        directories: true,
        long_name: 100,
    };
    let run = || -> Result<()> {
        let files = tree(case.long_name);
        let r = remote(&case, PASSWORD)?;
        ensure!(!r.cipher.encrypts_data());
        let plain = r.store.parent().context("parent")?.join("plain");
        write_tree(&plain, &files)?;
        ferry_encrypt(&r.cipher, &files, &r.store)?;
        let back = r.store.parent().context("parent")?.join("back");
        ok(
            &r.conf,
            &["copy", "secret:", back.to_str().context("path")?],
        )?;
        same_trees(&files, &read_tree(&back)?, "rclone reading ferry's")?;
        let r2 = remote(&case, PASSWORD)?;
        ok(
            &r2.conf,
            &["copy", plain.to_str().context("path")?, "secret:"],
        )?;
        same_trees(
            &files,
            &ferry_decrypt(&r2.cipher, &r2.store)?,
            "ferry reading rclone's",
        )
    };
    if let Err(e) = run() {
        panic!("{e:#}");
    }
}

#[test]
fn reveals_what_rclone_obscures() {
    // The tools' rclone has no `obscure` command; `config create` obscures password
    // options itself. The passwords are test values, so the command line may hold them.
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("rclone.conf");
    for password in [
        "p",
        "correct horse battery staple",
        "ünïcødé 🔑",
        &"x".repeat(300),
    ] {
        let password2 = format!("{password} 2");
        let out = run_rclone(
            &conf,
            &[
                "config",
                "create",
                "--obscure",
                "secret",
                "crypt",
                "remote=/nowhere",
                &format!("password={password}"),
                &format!("password2={password2}"),
            ],
            None,
        )
        .unwrap();
        assert!(
            out.status.success(),
            "rclone config create failed: status {:?}",
            out.status
        );
        let text = fs::read_to_string(&conf).unwrap();
        let value = |key: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(&format!("{key} = ")))
                .unwrap_or_else(|| panic!("no {key} in what rclone wrote"))
                .to_owned()
        };
        let (obscured, obscured2) = (value("password"), value("password2"));
        assert_eq!(
            ferry_crypt::obscure::reveal(&obscured).unwrap().expose(),
            password.as_bytes()
        );
        assert_eq!(
            ferry_crypt::obscure::reveal(&obscured2).unwrap().expose(),
            password2.as_bytes()
        );
        // And the section rclone wrote reads as a crypt config.
        let settings = [
            ("type", "crypt"),
            ("remote", "/nowhere"),
            ("password", obscured.as_str()),
            ("password2", obscured2.as_str()),
        ];
        let settings = settings.iter().map(|(key, value)| Setting {
            key,
            value,
            line: None,
        });
        CryptConfig::from_section("secret", "rclone.conf", settings).unwrap();
        fs::remove_file(&conf).unwrap();
    }
}
