//! HTTPS with a private CA: Ferry (rustls on aws-lc-rs, the workspace's one TLS stack)
//! trusts a custom CA bundle given with `--ca-cert` or `AWS_CA_BUNDLE` (with the env-style
//! `TLS_HOST`), and without it fails fast naming the setting to fix.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod s3support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use s3support::{
    ferry_bin, ferry_sync, minio, rclone, run, summary, text, tree, write_rclone_conf,
};

/// A CA and a serving certificate for 127.0.0.1 signed by it, made with openssl.
fn certificates(dir: &Path) {
    let openssl = |args: &[&str]| {
        let out = run(Command::new("openssl").args(args).current_dir(dir));
        assert!(out.status.success(), "openssl {args:?}: {}", text(&out));
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    openssl(
        &[
            &["req", "-x509"][..],
            &ec,
            &[
                "-keyout",
                "ca.key",
                "-out",
                "ca.crt",
                "-subj",
                "/CN=ferry test CA",
                "-days",
                "2",
            ],
        ]
        .concat(),
    );
    openssl(
        &[
            &["req"][..],
            &ec,
            &[
                "-keyout",
                "private.key",
                "-out",
                "leaf.csr",
                "-subj",
                "/CN=127.0.0.1",
            ],
        ]
        .concat(),
    );
    std::fs::write(
        dir.join("leaf.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "public.crt",
        "-days",
        "2",
        "-extfile",
        "leaf.ext",
    ]);
}

#[test]
fn a_private_ca_is_trusted_when_given() {
    let work = tempfile::tempdir().unwrap();
    let certs = work.path().join("certs");
    std::fs::create_dir_all(&certs).unwrap();
    certificates(&certs);
    let ca = certs.join("ca.crt");
    let minio = minio::start_tls(&certs);
    let conf = write_rclone_conf(
        work.path(),
        "tls",
        &minio.endpoint,
        &minio.access,
        &minio.secret,
    );
    let mk = run(rclone(&conf)
        .arg("--ca-cert")
        .arg(&ca)
        .args(["mkdir", "tls:secure"]));
    assert!(mk.status.success(), "{}", text(&mk));
    let src = work.path().join("src");
    tree::small_files(&src, 3, 20, 2048, 2);

    // Without the CA: refused fast, naming the setting.
    let started = Instant::now();
    let out = run(&mut ferry_sync(
        &conf,
        src.to_str().unwrap(),
        "tls:secure/data",
    ));
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("is not trusted") && stderr.contains("--ca-cert"),
        "{}",
        text(&out)
    );

    // With it, through the rclone.conf remote and through env-style settings.
    let out = run(ferry_sync(&conf, src.to_str().unwrap(), "tls:secure/data")
        .arg("--ca-cert")
        .arg(&ca));
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(summary(&out).files_transferred, 20);
    let dst = work.path().join("dst");
    let out = run(Command::new(ferry_bin())
        .args(["sync", "--env-config", "--json", "--stats", "0", "s3:data"])
        .arg(&dst)
        .env_remove("RUST_LOG")
        .env("AWS_ACCESS_KEY_ID", &minio.access)
        .env("AWS_SECRET_ACCESS_KEY", &minio.secret)
        .env("BUCKET_HOST", "minio.invalid")
        .env("TLS_HOST", "127.0.0.1")
        .env("BUCKET_PORT", minio.port.to_string())
        .env("BUCKET_NAME", "secure")
        .env("AWS_CA_BUNDLE", &ca));
    assert!(out.status.success(), "{}", text(&out));
    tree::assert_same(&tree::snapshot(&src), &tree::snapshot(&dst));
    minio.stop();
}
