//! Support for Ferry's end-to-end tests: one real local control plane per test run (started
//! by `tests/cluster/up` on first use, or reused), a fresh namespace per test, a
//! `kube::Client`, and `kubectl`/`helm` runners. Nothing here is a mock: the apiserver,
//! controller-manager, etcd, helm and MinIO are the upstream programs built from source.

pub mod cli;
pub mod cluster;
pub mod examples;
pub mod https;
pub mod namespace;
pub mod webhook;

pub use cli::Output;
pub use cluster::Cluster;
pub use namespace::TestNamespace;
