//! `ferry-certs generate` as a user runs it.

use base64::Engine;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

fn ferry_certs(args: &[&str]) -> std::io::Result<std::process::Output> {
    Command::new(env!("CARGO_BIN_EXE_ferry-certs"))
        .args(args)
        .output()
}

#[test]
fn generate_writes_a_usable_pair_and_prints_the_ca_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("certs");
    let out_str = out.to_str().unwrap();
    let run = ferry_certs(&[
        "generate",
        "--service",
        "ferry-webhook",
        "--namespace",
        "ferry-system",
        "--out",
        out_str,
        "--ip",
        "127.0.0.1",
        "--dns",
        "webhook.example",
        "--days",
        "30",
    ])
    .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );

    for (name, mode) in [
        ("ca.crt", 0o644),
        ("ca.key", 0o600),
        ("tls.crt", 0o644),
        ("tls.key", 0o600),
    ] {
        let meta = std::fs::metadata(out.join(name)).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, mode, "{name}");
    }
    let read = |name: &str| std::fs::read_to_string(out.join(name)).unwrap();

    let stdout = String::from_utf8(run.stdout).unwrap();
    let b64 = stdout.trim().strip_prefix("caBundle: ").unwrap();
    let bundle = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    assert_eq!(bundle, read("ca.crt").as_bytes());

    // The pair loads, and the leaf lasts the days asked for.
    let store = ferry_certs::CertStore::new();
    store.set_pem(&read("tls.crt"), &read("tls.key")).unwrap();
    let (nb, na) = ferry_certs::validity(&read("tls.crt")).unwrap();
    let days = na.duration_since(nb).unwrap().as_secs() / 86_400;
    assert_eq!(days, 30);
}

#[test]
fn bad_flags_are_named_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    // (service, namespace, extra flags, the flag the error must name)
    let cases: [(&str, &str, &[&str], &str); 5] = [
        ("wh", "ns", &["--ip", "not-an-ip"], "--ip"),
        ("wh", "ns", &["--days", "0"], "--days"),
        ("wh", "ns", &["--dns", "bad name"], "--dns"),
        ("Bad_Name", "ns", &[], "--service"),
        ("wh", "", &[], "--namespace"),
    ];
    for (service, namespace, extra, flag) in cases {
        let mut args = vec![
            "generate",
            "--service",
            service,
            "--namespace",
            namespace,
            "--out",
            out,
        ];
        args.extend_from_slice(extra);
        let run = ferry_certs(&args).unwrap();
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(!run.status.success(), "{args:?} must fail");
        assert!(
            stderr.contains(flag),
            "{args:?}: error should name {flag}: {stderr}"
        );
    }
}
