//! The Helm chart against the real apiserver with the real `helm` and `kubectl`: it lints
//! clean, every certificate mode renders objects the apiserver accepts, an install creates
//! every object and injects a labelled pod through a webhook run as the chart's own
//! ServiceAccount, its RBAC is least privilege, self-managed certificates patch the chart's
//! own configurations, and upgrades keep the CA and caBundle; uninstall leaves CRDs and CRs.
//!
//! Every release gets its own namespaces and restricts its webhooks to namespaces labelled
//! `ferry-e2e/chart=<release>`, so parallel tests never see each other's webhooks.

#[path = "chart/install.rs"]
mod install;
#[path = "chart/rbac.rs"]
mod rbac;
#[path = "chart/render.rs"]
mod render;
#[path = "chart/self_managed.rs"]
mod self_managed;
#[path = "chart/support.rs"]
mod support;

use ferry_e2e::Cluster;
use serde_json::{Value, json};

use support::chart_dir;

/// Values for each certificate mode and for a webhook outside the cluster.
fn mode_values() -> Vec<(&'static str, Value)> {
    let bundle = "TFMwdExTMUNSVWRKVGlCRFJWSlVTVVpKUTBGVVJTMHRMUzB0Q2c9PQ==";
    vec![
        ("self-managed (default)", json!({})),
        ("cert-manager", json!({"certs": {"mode": "cert-manager"}})),
        (
            "cert-manager with an existing ClusterIssuer",
            json!({"certs": {"mode": "cert-manager", "certManager": {"issuerRef": {"kind": "ClusterIssuer", "name": "corp-ca"}}}}),
        ),
        (
            "provided",
            json!({"certs": {"mode": "provided", "provided": {"secretName": "webhook-tls", "caBundle": bundle}}}),
        ),
        (
            "webhook.url",
            json!({"webhook": {"url": "https://127.0.0.1:10250"}, "certs": {"mode": "provided", "provided": {"caBundle": bundle}}}),
        ),
    ]
}

#[tokio::test]
async fn lint_is_strict_clean_for_every_certificate_mode() -> anyhow::Result<()> {
    let cluster = Cluster::shared();
    let chart = chart_dir();
    for (mode, values) in mode_values() {
        let file = support::ValuesFile::new(&values)?;
        let out = cluster.helm(["lint", "--strict", chart.as_str(), "-f", file.path.as_str()])?;
        assert!(out.success, "{mode}: {}\n{}", out.stdout, out.stderr);
        assert!(
            out.stdout.contains("1 chart(s) linted, 0 chart(s) failed"),
            "{mode}: {}",
            out.stdout
        );
        for noise in ["[WARNING]", "[ERROR]"] {
            assert!(!out.stdout.contains(noise), "{mode}: {}", out.stdout);
        }
    }

    // The schema is strict: a misspelt key or an unknown mode is an error naming it.
    for (values, message) in [
        (
            json!({"webhook": {"replica": 3}}),
            "additional properties 'replica' not allowed",
        ),
        (
            json!({"certs": {"mode": "vault"}}),
            "value must be one of 'self-managed', 'cert-manager', 'provided'",
        ),
        (
            json!({"certs": {"mode": "provided"}}),
            "/certs/provided/caBundle",
        ),
        (
            json!({"sidecarBindings": [{"namespace": "shop"}]}),
            "missing property 'serviceAccount'",
        ),
    ] {
        let file = support::ValuesFile::new(&values)?;
        let out = cluster.helm(["lint", "--strict", chart.as_str(), "-f", file.path.as_str()])?;
        assert!(!out.success, "{values} passed lint");
        assert!(
            out.stdout.contains(message) || out.stderr.contains(message),
            "{values}: {}\n{}",
            out.stdout,
            out.stderr
        );
    }
    Ok(())
}

/// The chart's default images are the ones `make images` builds from docker/, at the
/// workspace version, and those images run as the chart's non-root user.
#[test]
fn chart_images_and_dockerfiles_agree() -> anyhow::Result<()> {
    let root = ferry_e2e::cluster::repo_root();
    let chart: Value = serde_saphyr::from_str(&std::fs::read_to_string(
        root.join("charts/ferry/Chart.yaml"),
    )?)?;
    assert_eq!(chart["appVersion"], env!("CARGO_PKG_VERSION"));
    assert_eq!(chart["kubeVersion"], ">=1.29.0-0");
    let values: Value = serde_saphyr::from_str(&std::fs::read_to_string(
        root.join("charts/ferry/values.yaml"),
    )?)?;
    assert_eq!(
        values["image"]["repository"],
        "ghcr.io/ferry-dev/ferry-webhook"
    );
    assert_eq!(
        values["sidecar"]["image"]["repository"],
        "ghcr.io/ferry-dev/ferry-sidecar"
    );
    for (image, runtime) in [
        ("webhook", "FROM gcr.io/distroless/cc-debian12:nonroot"),
        ("sidecar", "FROM debian:bookworm-slim"),
    ] {
        let text = std::fs::read_to_string(root.join(format!("docker/{image}.Dockerfile")))?;
        let stages: Vec<&str> = text.lines().filter(|l| l.starts_with("FROM ")).collect();
        // The build stage, the binaries built outside (BINARIES=prebuilt), the stage that
        // picks one of them, and the runtime stage.
        assert_eq!(
            stages,
            [
                "FROM rust:${RUST_VERSION}-bookworm AS build",
                "FROM scratch AS prebuilt",
                "FROM ${BINARIES} AS binaries",
                runtime
            ],
            "{image}"
        );
        assert!(text.contains("ARG BINARIES=build"), "{image}");
        assert!(text.contains("cargo build --release --locked"), "{image}");
        let user = text.lines().rfind(|l| l.starts_with("USER "));
        assert_eq!(user, Some("USER 65532:65532"), "{image}");
    }
    // `make images` without a Docker engine builds with buildah: tests/tests/node.rs runs it
    // and a container of each image.
    Ok(())
}
