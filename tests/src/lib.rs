//! Support for Ferry's end-to-end tests: one real local control plane per test run (started
//! by `tests/cluster/up` on first use, or reused), a fresh namespace per test, a
//! `kube::Client`, and `kubectl`/`helm` runners. Nothing here is a mock: the apiserver,
//! controller-manager, etcd, helm, MinIO and the CSI snapshot controller, provisioner and
//! snapshotter are the upstream programs built from source. The stand-ins say so: the pod
//! runner ([`runner`]) for the kubelet, and a small CSI hostpath driver (tests/cluster/tools).

pub mod cli;
pub mod cluster;
pub mod examples;
pub mod gnu_time;
pub mod https;
pub mod local;
pub mod namespace;
pub mod process;
pub mod replication;
pub mod runner;
pub mod wait;
pub mod webhook;

pub use cli::Output;
pub use cluster::Cluster;
pub use namespace::TestNamespace;
