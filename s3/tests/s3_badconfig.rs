//! Bad settings fail fast: the real binary exits non-zero within seconds with one line on
//! stderr that names the setting and the fix — a missing section, a misspelt key, an
//! unreachable endpoint, wrong credentials, a missing bucket, a missing local path.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod s3support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use s3support::{ferry_bin, minio, run_within, text, write_rclone_conf};

/// Runs `ferry-sidecar sync ARGS` and checks it fails within 10 s with exactly one stderr
/// line that contains each of `expected`.
fn fails_fast(args: &[&str], envs: &[(&str, &str)], expected: &[&str]) {
    let mut cmd = Command::new(ferry_bin());
    cmd.arg("sync")
        .args(args)
        .env_remove("RUST_LOG")
        .env_remove("RCLONE_CONFIG");
    for var in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "BUCKET_HOST",
        "BUCKET_PORT",
        "BUCKET_NAME",
        "TLS_HOST",
    ] {
        cmd.env_remove(var);
    }
    cmd.envs(envs.iter().copied());
    let started = Instant::now();
    let out = run_within(&mut cmd, Duration::from_secs(30));
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(10),
        "took {took:?}: {}",
        text(&out)
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line expected: {}", text(&out));
    assert!(lines[0].starts_with("ferry-sidecar sync: "), "{}", lines[0]);
    for part in expected {
        assert!(lines[0].contains(part), "{part:?} not in {:?}", lines[0]);
    }
}

fn conf(dir: &Path, text: &str) -> String {
    let path = dir.join(format!("rclone-{:x}.conf", rand::random::<u32>()));
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

#[test]
fn each_bad_setting_is_named_with_its_fix() {
    let minio = minio::shared();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let src = dir.join("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("f"), b"x").unwrap();
    let src = src.to_str().unwrap();
    let good = write_rclone_conf(dir, "minio", &minio.endpoint, &minio.access, &minio.secret);
    let good = good.to_str().unwrap();

    // A missing section.
    fails_fast(
        &["--config", good, src, "nosuch:bucket/x"],
        &[],
        &[
            r#"remote "nosuch:": there is no [nosuch] section in"#,
            "add a [nosuch] section with type = s3, or use one of: minio",
        ],
    );

    // A misspelt key.
    let misspelt = conf(
        dir,
        &format!(
            "[minio]\ntype = s3\naccess_key_id = {}\nsecret_acess_key = {}\nendpoint = {}\n",
            minio.access, minio.secret, minio.endpoint
        ),
    );
    fails_fast(
        &["--config", &misspelt, src, "minio:bucket/x"],
        &[],
        &[
            "secret_acess_key in [minio] of",
            "(line 4): unknown key; did you mean secret_access_key?",
        ],
    );

    // An unreachable endpoint (a closed loopback port).
    let port = minio::free_port();
    let unreachable = conf(
        dir,
        &format!(
            "[minio]\ntype = s3\naccess_key_id = a\nsecret_access_key = b\nendpoint = http://127.0.0.1:{port}\n"
        ),
    );
    fails_fast(
        &["--config", &unreachable, src, "minio:bucket/x"],
        &[],
        &[
            "endpoint in [minio] of",
            &format!("cannot reach http://127.0.0.1:{port}"),
            "check the host, the port and that the server is running",
        ],
    );

    // Wrong credentials: a wrong secret, an unknown key.
    for (access, secret, code) in [
        (
            minio.access.as_str(),
            "wrongwrongwrong",
            "SignatureDoesNotMatch",
        ),
        ("nobody", "wrongwrongwrong", "InvalidAccessKeyId"),
    ] {
        let wrong = conf(
            dir,
            &format!(
                "[minio]\ntype = s3\naccess_key_id = {access}\nsecret_access_key = {secret}\nendpoint = {}\n",
                minio.endpoint
            ),
        );
        fails_fast(
            &["--config", &wrong, src, "minio:bucket/x"],
            &[],
            &[
                "access_key_id/secret_access_key in [minio] of",
                &format!("the server refused them ({code}); fix the keys"),
            ],
        );
    }

    // A missing bucket, either way.
    fails_fast(
        &["--config", good, src, "minio:no-such-bucket-here/p"],
        &[],
        &[
            r#"bucket "no-such-bucket-here" in DST "minio:no-such-bucket-here/p" does not exist; create it, or fix the bucket name"#,
        ],
    );
    let pulled = dir.join("pulled");
    fails_fast(
        &[
            "--config",
            good,
            "minio:no-such-bucket-here",
            pulled.to_str().unwrap(),
        ],
        &[],
        &[r#"bucket "no-such-bucket-here" in SRC"#, "does not exist"],
    );

    // A local path that does not exist.
    let missing = dir.join("does-not-exist");
    fails_fast(
        &[
            "--config",
            good,
            missing.to_str().unwrap(),
            "minio:bucket/x",
        ],
        &[],
        &[&format!(
            "SRC {}: does not exist; create it or fix the path",
            missing.display()
        )],
    );

    // No configuration, and env-style settings without keys.
    fails_fast(
        &[src, "minio:bucket/x"],
        &[],
        &[r#"remote "minio:": no configuration given; pass --config FILE"#],
    );
    fails_fast(
        &["--env-config", src, "s3:backups"],
        &[("BUCKET_HOST", "127.0.0.1"), ("BUCKET_NAME", "b")],
        &[
            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY: are not set; set both from the bucket's Secret",
        ],
    );
    fails_fast(
        &["--config", good, "--bwlimit", "10X", src, "minio:bucket/x"],
        &[],
        &[r#"--bwlimit "10X": must be "off" or a rate"#],
    );
}
