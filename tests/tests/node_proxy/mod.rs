//! The S3 tests' counting and fault-injecting proxy, started where the test node's pods
//! reach it: shared by the end-to-end tests that count or disturb S3 requests.

#[path = "../../../s3/tests/s3support/proxy.rs"]
#[allow(
    dead_code,
    clippy::unwrap_used,
    reason = "the S3 tests' proxy, as those tests use it: only its counters and faults are used here"
)]
pub mod proxy;

use std::net::SocketAddr;

use anyhow::Context;
use ferry_e2e::replication::Replication;

/// Starts the S3 tests' proxy in front of the cluster's MinIO where the node's pods reach
/// it: on the node IP, inside the node's network namespace, forwarding to the node's MinIO
/// forward. A thread of its own enters the namespace (setns changes only the calling
/// thread) and starts the proxy's runtime there, so every thread of it lives there too.
pub fn start_proxy(
    fx: &Replication,
    faults: Option<proxy::Faults>,
) -> anyhow::Result<proxy::Proxy> {
    let upstream: SocketAddr = fx
        .minio
        .pod_endpoint
        .strip_prefix("http://")
        .context("the node's MinIO endpoint is not http://IP:PORT")?
        .parse()
        .context("the node's MinIO endpoint is not http://IP:PORT")?;
    let netns = std::fs::File::open(fx.cluster.var("FERRY_NODE_NETNS")?)
        .context("opening the node's network namespace")?;
    std::thread::spawn(move || -> anyhow::Result<proxy::Proxy> {
        nix::sched::setns(&netns, nix::sched::CloneFlags::CLONE_NEWNET)
            .context("entering the node's network namespace")?;
        Ok(proxy::Proxy::start_between(upstream.ip(), upstream, faults))
    })
    .join()
    .map_err(|_| anyhow::anyhow!("the proxy did not start"))?
}
