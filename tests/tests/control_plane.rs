//! The local control plane is the real thing: controllers reconcile, garbage collection runs,
//! Pod Security admission enforces, and MinIO stores objects.

use std::time::Duration;

use anyhow::{Context, bail};
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::primitives::ByteStream;
use ferry_e2e::{Cluster, TestNamespace};
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, ListParams, PostParams};

/// Polls `check` every 200 ms until it returns `Some`, for at most `limit`.
async fn eventually<T, F, Fut>(limit: Duration, what: &str, mut check: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<Option<T>>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(value) = check().await? {
            return Ok(value);
        }
        if tokio::time::Instant::now() > deadline {
            bail!("timed out after {limit:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn deployments_make_pods_and_deletion_collects_them() -> anyhow::Result<()> {
    let cluster = Cluster::shared();
    let ns = TestNamespace::create(cluster, "gc", &[])?;
    let client = cluster.client().await?;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &ns.name);
    let replica_sets: Api<ReplicaSet> = Api::namespaced(client.clone(), &ns.name);
    let pods: Api<Pod> = Api::namespaced(client, &ns.name);

    let deployment: Deployment = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}
            }
        }
    }))?;
    deployments
        .create(&PostParams::default(), &deployment)
        .await?;

    let listed = ListParams::default().labels("app=web");
    eventually(
        Duration::from_secs(60),
        "a ReplicaSet and 2 Pods",
        || async {
            let rs = replica_sets.list(&listed).await?.items.len();
            let pods = pods.list(&listed).await?.items.len();
            Ok((rs == 1 && pods == 2).then_some(()))
        },
    )
    .await?;

    deployments
        .delete("web", &DeleteParams::background())
        .await?;
    eventually(
        Duration::from_secs(60),
        "garbage collection of ReplicaSets and Pods",
        || async {
            let rs = replica_sets.list(&listed).await?.items.len();
            let pods = pods.list(&listed).await?.items.len();
            Ok((rs == 0 && pods == 0).then_some(()))
        },
    )
    .await?;
    Ok(())
}

#[test]
fn restricted_pod_security_refuses_a_privileged_pod() -> anyhow::Result<()> {
    let cluster = Cluster::shared();
    let ns = TestNamespace::create(
        cluster,
        "psa",
        &[("pod-security.kubernetes.io/enforce", "restricted")],
    )?;
    let privileged = r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"root"},
        "spec":{"containers":[{"name":"c","image":"busybox","securityContext":{"privileged":true}}]}}"#;
    let out = cluster.kubectl_stdin(["apply", "-n", ns.name.as_str(), "-f", "-"], privileged)?;
    assert!(!out.success, "a privileged pod was admitted");
    assert!(
        out.stderr
            .contains(r#"violates PodSecurity "restricted:latest": privileged"#),
        "{}",
        out.stderr
    );
    Ok(())
}

#[tokio::test]
async fn minio_stores_and_returns_an_object() -> anyhow::Result<()> {
    let cluster = Cluster::shared();
    let credentials = Credentials::new(
        cluster.var("MINIO_ACCESS_KEY")?,
        cluster.var("MINIO_SECRET_KEY")?,
        None,
        None,
        "ferry-e2e",
    );
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(cluster.var("MINIO_ENDPOINT")?)
        .region(Region::new("us-east-1"))
        .credentials_provider(credentials)
        .force_path_style(true)
        .build();
    let s3 = aws_sdk_s3::Client::from_conf(config);
    let bucket = format!("ferry-e2e-{}", std::process::id());
    s3.create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .context("create bucket")?;
    let body = b"replicated bytes\n".repeat(1000);
    s3.put_object()
        .bucket(&bucket)
        .key("dir/file.txt")
        .body(ByteStream::from(body.clone()))
        .send()
        .await
        .context("put object")?;
    let got = s3
        .get_object()
        .bucket(&bucket)
        .key("dir/file.txt")
        .send()
        .await?;
    let bytes = got.body.collect().await?.into_bytes();
    assert_eq!(bytes.as_ref(), body.as_slice());
    s3.delete_object()
        .bucket(&bucket)
        .key("dir/file.txt")
        .send()
        .await?;
    s3.delete_bucket().bucket(&bucket).send().await?;
    Ok(())
}
