//! Self-managed certificates with two webhook instances against the real apiserver: one
//! creates the Secret and patches the caBundle, the apiserver's calls succeed against both,
//! and when the Lease holder stops the other takes over renewal.

use std::time::Duration;

use anyhow::{Context, bail};
use base64::Engine as _;
use ferry_e2e::webhook::{WebhookProcess, free_port, validating_configuration};
use ferry_e2e::{Cluster, TestNamespace};
use serde_json::Value;

const SECRET: &str = "ferry-webhook-tls";
const LEASE: &str = "ferry-webhook-certs";

fn get_json(cluster: &Cluster, args: &[&str]) -> anyhow::Result<Option<Value>> {
    let out = cluster.kubectl(args.iter().copied().chain(["-o", "json"]))?;
    if !out.success {
        return Ok(None);
    }
    Ok(Some(serde_json::from_str(&out.stdout)?))
}

fn secret_field(secret: &Value, key: &str) -> anyhow::Result<String> {
    let b64 = secret["data"][key]
        .as_str()
        .with_context(|| format!("secret has no {key}"))?;
    Ok(String::from_utf8(
        base64::engine::general_purpose::STANDARD.decode(b64)?,
    )?)
}

/// Polls `check` every 250 ms for at most `limit`.
async fn wait_for<T>(
    limit: Duration,
    what: &str,
    mut check: impl FnMut() -> anyhow::Result<Option<T>>,
) -> anyhow::Result<T> {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(value) = check()? {
            return Ok(value);
        }
        if tokio::time::Instant::now() > deadline {
            bail!("timed out after {limit:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn two_instances_share_self_managed_certificates_and_hand_over_renewal() -> anyhow::Result<()>
{
    let cluster = Cluster::shared();
    let ns = TestNamespace::create(cluster, "selfmanaged", &[])?;
    cluster
        .kubectl([
            "label",
            "namespace",
            ns.name.as_str(),
            &format!("ferry-e2e/webhook={}", ns.name),
        ])?
        .ok()?;
    let vwc = format!("ferry-e2e-{}", ns.name);
    let ports = [free_port()?, free_port()?];
    let urls: Vec<String> = ports
        .iter()
        .map(|p| format!("https://127.0.0.1:{p}"))
        .collect();
    cluster
        .kubectl_stdin(
            ["apply", "-f", "-"],
            &validating_configuration(&vwc, &ns.name, &urls, "").to_string(),
        )?
        .ok()?;

    let kubeconfig = cluster.kubeconfig.display().to_string();
    let mut instances = Vec::new();
    for (identity, port) in ["pod-a", "pod-b"].into_iter().zip(ports) {
        let args = [
            "--cert-mode",
            "self-managed",
            "--namespace",
            ns.name.as_str(),
            "--pod-name",
            identity,
            "--service-name",
            "ferry-webhook",
            "--cert-secret",
            SECRET,
            "--cert-lease",
            LEASE,
            "--validating-webhook",
            vwc.as_str(),
            "--extra-ip",
            "127.0.0.1",
            "--cert-lease-duration",
            "3s",
            "--cert-leaf-validity",
            "30s",
        ];
        let process = WebhookProcess::spawn_on(
            port,
            tempfile::tempdir()?,
            &args,
            &[("KUBECONFIG", kubeconfig.as_str())],
        )?;
        instances.push((identity, process));
    }

    // One of them creates the Secret; both load it; the caBundle is patched into both entries.
    let secret = wait_for(Duration::from_secs(20), "the certificate Secret", || {
        get_json(cluster, &["get", "secret", "-n", ns.name.as_str(), SECRET])
    })
    .await?;
    let ca = secret_field(&secret, "ca.crt")?;
    let bundle = secret_field(&secret, "ca-bundle.crt")?;
    let bundle_b64 = base64::engine::general_purpose::STANDARD.encode(&bundle);
    wait_for(
        Duration::from_secs(20),
        "the caBundle in every webhook entry",
        || {
            let Some(config) = get_json(
                cluster,
                &["get", "validatingwebhookconfiguration", vwc.as_str()],
            )?
            else {
                return Ok(None);
            };
            let hooks = config["webhooks"].as_array().cloned().unwrap_or_default();
            Ok(hooks
                .iter()
                .all(|h| h["clientConfig"]["caBundle"] == bundle_b64.as_str())
                .then_some(()))
        },
    )
    .await?;
    for (_, process) in &instances {
        process.wait_ready(&ca).await?;
    }

    // The apiserver calls both instances (failurePolicy Fail): a refusal comes back with our message.
    let bad = r#"{"apiVersion":"replication.ferry.dev/v1alpha1","kind":"ReplicationSource","metadata":{"name":"bad"},
        "spec":{"sourcePVC":"data","trigger":{"schedule":"*/61 * * * *"},"rsync":{"address":"h","sshKeys":"k"}}}"#;
    let refused = |cluster: &Cluster| -> anyhow::Result<()> {
        let out = cluster.kubectl_stdin(["apply", "-n", ns.name.as_str(), "-f", "-"], bad)?;
        assert!(
            out.stderr.contains("minute 61 is out of range 0-59"),
            "{}",
            out.stderr
        );
        assert!(
            !out.stderr.contains("failed calling webhook"),
            "{}",
            out.stderr
        );
        Ok(())
    };
    refused(cluster)?;

    // Stop the Lease holder and take it out of the configuration, as a deleted pod would be.
    let lease =
        get_json(cluster, &["get", "lease", "-n", ns.name.as_str(), LEASE])?.context("lease")?;
    let holder = lease["spec"]["holderIdentity"]
        .as_str()
        .context("holder")?
        .to_owned();
    let transitions = lease["spec"]["leaseTransitions"].as_i64().unwrap_or(0);
    let index = instances
        .iter()
        .position(|(id, _)| *id == holder)
        .context("holder is one of ours")?;
    let (_, mut stopped) = instances.remove(index);
    stopped.kill();
    let survivor_url = vec![urls[1 - index].clone()];
    let config = validating_configuration(&vwc, &ns.name, &survivor_url, &bundle_b64);
    cluster
        .kubectl_stdin(["apply", "-f", "-"], &config.to_string())?
        .ok()?;

    let survivor = instances[0].0;
    wait_for(
        Duration::from_secs(12),
        "the other instance to take the Lease",
        || {
            let lease = get_json(cluster, &["get", "lease", "-n", ns.name.as_str(), LEASE])?
                .context("lease")?;
            Ok((lease["spec"]["holderIdentity"] == survivor
                && lease["spec"]["leaseTransitions"].as_i64().unwrap_or(0) > transitions)
                .then_some(()))
        },
    )
    .await?;
    // The new holder renews the 30 s leaf at two thirds of its life.
    let old_leaf = secret_field(&secret, "tls.crt")?;
    wait_for(
        Duration::from_secs(30),
        "the new holder to renew the leaf",
        || {
            let secret = get_json(cluster, &["get", "secret", "-n", ns.name.as_str(), SECRET])?
                .context("secret")?;
            Ok((secret_field(&secret, "tls.crt")? != old_leaf).then_some(()))
        },
    )
    .await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    refused(cluster)?;
    cluster
        .kubectl(["delete", "validatingwebhookconfiguration", vwc.as_str()])?
        .ok()?;
    Ok(())
}
