use super::*;
use crate::generate::Pem;
use crate::test_support::service_leaf;
use std::fs;
use std::os::unix::fs::symlink;
use std::time::Instant;

const TICK: Duration = Duration::from_millis(40);

fn leaf_der(pem: &Pem) -> Vec<u8> {
    crate::chain::certs_from_pem(&pem.cert).unwrap()[0].to_vec()
}

fn serving(store: &CertStore) -> Option<Vec<u8>> {
    store.current().map(|k| k.cert[0].to_vec())
}

/// Waits up to ten ticks for `store` to serve `want`.
async fn wait_for(store: &CertStore, want: &Pem) {
    let deadline = Instant::now() + TICK * 10;
    while serving(store).as_deref() != Some(&leaf_der(want)[..]) {
        assert!(
            Instant::now() < deadline,
            "new certificate not picked up within 10 ticks"
        );
        tokio::time::sleep(TICK / 4).await;
    }
}

fn write_pair(dir: &Path, pem: &Pem) {
    fs::write(dir.join("tls.crt"), &pem.cert).unwrap();
    fs::write(dir.join("tls.key"), &pem.key).unwrap();
}

fn start(dir: &Path, store: &Arc<CertStore>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(watch_files(
        dir.join("tls.crt"),
        dir.join("tls.key"),
        Arc::clone(store),
        TICK,
    ))
}

#[tokio::test]
async fn loads_at_start_and_after_a_plain_rewrite() {
    let dir = tempfile::tempdir().unwrap();
    let (_, a) = service_leaf();
    let (_, b) = service_leaf();
    write_pair(dir.path(), &a);
    let store = CertStore::new();
    let task = start(dir.path(), &store);
    wait_for(&store, &a).await;
    write_pair(dir.path(), &b);
    wait_for(&store, &b).await;
    task.abort();
}

#[tokio::test]
async fn waits_for_files_that_do_not_exist_yet() {
    let dir = tempfile::tempdir().unwrap();
    let (_, a) = service_leaf();
    let store = CertStore::new();
    let task = start(dir.path(), &store);
    tokio::time::sleep(TICK * 3).await;
    assert!(!store.is_loaded());
    write_pair(dir.path(), &a);
    wait_for(&store, &a).await;
    task.abort();
}

/// Lays out a pair as the kubelet does: `<dir>/..<version>/` holds the files, `..data`
/// points at it, and the visible names point through `..data`.
fn kubelet_publish(dir: &Path, version: &str, pem: &Pem) {
    let versioned = dir.join(version);
    fs::create_dir(&versioned).unwrap();
    write_pair(&versioned, pem);
    let tmp = dir.join("..data_tmp");
    symlink(version, &tmp).unwrap();
    // rename(2) over the old symlink is the atomic swap the kubelet performs.
    fs::rename(&tmp, dir.join("..data")).unwrap();
    for name in ["tls.crt", "tls.key"] {
        if fs::symlink_metadata(dir.join(name)).is_err() {
            symlink(format!("..data/{name}"), dir.join(name)).unwrap();
        }
    }
}

#[tokio::test]
async fn follows_a_kubernetes_data_symlink_swap() {
    let dir = tempfile::tempdir().unwrap();
    let (_, a) = service_leaf();
    let (_, b) = service_leaf();
    kubelet_publish(dir.path(), "..2026_01_01_00_00_00.1", &a);
    let store = CertStore::new();
    let task = start(dir.path(), &store);
    wait_for(&store, &a).await;
    kubelet_publish(dir.path(), "..2026_01_01_00_05_00.2", &b);
    wait_for(&store, &b).await;
    task.abort();
}

#[tokio::test]
async fn keeps_the_old_pair_while_the_key_does_not_match() {
    let dir = tempfile::tempdir().unwrap();
    let (_, a) = service_leaf();
    let (_, b) = service_leaf();
    write_pair(dir.path(), &a);
    let store = CertStore::new();
    let task = start(dir.path(), &store);
    wait_for(&store, &a).await;

    // Half-way through an update: new certificate, old key.
    fs::write(dir.path().join("tls.crt"), &b.cert).unwrap();
    tokio::time::sleep(TICK * 5).await;
    assert_eq!(serving(&store), Some(leaf_der(&a)), "old pair still served");

    fs::write(dir.path().join("tls.key"), &b.key).unwrap();
    wait_for(&store, &b).await;
    task.abort();
}
