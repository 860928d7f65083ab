//! Support for Ferry's end-to-end tests: one real local control plane per test run (started
//! by `tests/cluster/up` on first use, or reused), a fresh namespace per test, a
//! `kube::Client`, and `kubectl`/`helm` runners. Nothing here is a mock: the apiserver,
//! controller-manager, etcd, helm, MinIO and the CSI snapshot controller, provisioner and
//! snapshotter, and the node's kubelet, containerd and runc, are the upstream programs built
//! from source; the one stand-in says so: a small CSI hostpath driver (tests/cluster/tools).
//! Ferry itself is installed with its chart and the images built here ([`ferry`]).

pub mod audit;
pub mod cgroup;
pub mod cli;
pub mod cluster;
pub mod examples;
pub mod ferry;
pub mod gnu_time;
pub mod https;
pub mod local;
pub mod namespace;
pub mod plugin;
pub mod process;
pub mod replication;
pub mod wait;
pub mod webhook;

pub use cli::Output;
pub use cluster::Cluster;
pub use namespace::TestNamespace;
