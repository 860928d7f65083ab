//! The krew manifest (`plugins/ferry.yaml`) names what `make krew` builds: this crate's
//! version, the Linux amd64 archive `scripts/krew-package` writes with the one binary
//! `kubectl-ferry`, and the `@SHA256@` placeholder that script fills in (run here on a
//! stand-in binary: the archive holds it as `kubectl-ferry`, the manifest gets its sha256,
//! and packing is reproducible). The e2e test
//! (`tests/tests/kubectl_ferry.rs`) installs the packed result with krew.

// A test crate: its helpers fail fast too.
#![allow(clippy::expect_used, clippy::panic)]

use serde_json::Value;

fn manifest() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../plugins/ferry.yaml");
    let text = std::fs::read_to_string(path).expect("read plugins/ferry.yaml");
    serde_saphyr::from_str(&text).expect("plugins/ferry.yaml is YAML")
}

#[test]
fn the_manifest_installs_this_version_for_linux_amd64() {
    let m = manifest();
    assert_eq!(
        m["apiVersion"],
        "krew.googlecontainertools.github.com/v1alpha2"
    );
    assert_eq!(m["kind"], "Plugin");
    assert_eq!(m["metadata"]["name"], "ferry", "`kubectl ferry`");
    let version = format!("v{}", env!("CARGO_PKG_VERSION"));
    assert_eq!(m["spec"]["version"], version.as_str());
    let short = m["spec"]["shortDescription"].as_str().unwrap_or_default();
    assert!(!short.is_empty() && !short.contains('\n'), "{short:?}");

    let platforms = m["spec"]["platforms"].as_array().expect("platforms");
    assert_eq!(platforms.len(), 1, "{platforms:?}");
    let linux = &platforms[0];
    assert_eq!(
        linux["selector"]["matchLabels"],
        serde_json::json!({"os": "linux", "arch": "amd64"})
    );
    assert_eq!(linux["bin"], "kubectl-ferry");
    assert_eq!(
        linux["files"],
        serde_json::json!([{"from": "kubectl-ferry", "to": "."}])
    );
    assert_eq!(
        linux["sha256"], "@SHA256@",
        "filled in by scripts/krew-package"
    );
    let uri = linux["uri"].as_str().unwrap_or_default();
    assert!(
        uri.ends_with(&format!("/{version}/kubectl-ferry-linux-amd64.tar.gz")),
        "{uri}"
    );
}

/// Runs `sh -c script` with `args`; its standard output, or a panic with its error.
fn sh(script: &str, args: &[&std::path::Path]) -> String {
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg("sh")
        .args(args)
        .output()
        .expect("run sh");
    assert!(
        out.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

#[test]
fn the_packing_script_writes_the_archive_and_its_sha256() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = std::env::temp_dir().join(format!("ferry-krew-package-{}", std::process::id()));
    // Any executable stands for the plugin: this test's own.
    let binary = std::env::current_exe().expect("current exe");
    let script = root.join("scripts/krew-package");
    sh("\"$1\" \"$2\" \"$3\" >/dev/null", &[&script, &binary, &out]);
    let archive = out.join("kubectl-ferry-linux-amd64.tar.gz");
    assert_eq!(
        sh("tar -tzf \"$1\"", &[&archive]),
        "kubectl-ferry\n",
        "the archive holds the binary under the manifest's name"
    );
    let sum = sh("sha256sum \"$1\" | cut -d' ' -f1", &[&archive]);
    let written = std::fs::read_to_string(out.join("ferry.yaml")).expect("read ferry.yaml");
    let template =
        std::fs::read_to_string(root.join("plugins/ferry.yaml")).expect("read plugins/ferry.yaml");
    assert_eq!(written, template.replace("@SHA256@", sum.trim()));
    // The same binary packs to the same bytes.
    sh("\"$1\" \"$2\" \"$3\" >/dev/null", &[&script, &binary, &out]);
    assert_eq!(sh("sha256sum \"$1\" | cut -d' ' -f1", &[&archive]), sum);
    let _ = std::fs::remove_dir_all(&out);
}
