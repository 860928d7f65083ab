use super::*;
use russh::keys::PublicKey;

#[test]
fn secrets_use_volsync_names_and_matching_pairs() {
    let keys = ReplicationKeys::generate("db").unwrap();
    let src = keys.source_secret_data().unwrap();
    let dst = keys.destination_secret_data().unwrap();
    assert_eq!(
        src.keys().collect::<Vec<_>>(),
        ["destination.pub", "source", "source.pub"]
    );
    assert_eq!(
        dst.keys().collect::<Vec<_>>(),
        ["destination", "destination.pub", "source.pub"]
    );
    assert_eq!(src[SOURCE_PUB], dst[SOURCE_PUB]);
    assert_eq!(src[DESTINATION_PUB], dst[DESTINATION_PUB]);

    let private = PrivateKey::from_openssh(&src[SOURCE]).unwrap();
    let public = PublicKey::from_openssh(std::str::from_utf8(&src[SOURCE_PUB]).unwrap()).unwrap();
    assert_eq!(private.algorithm(), Algorithm::Ed25519);
    assert_eq!(private.public_key().key_data(), public.key_data());
    assert!(
        String::from_utf8(src[SOURCE].clone())
            .unwrap()
            .starts_with("-----BEGIN OPENSSH PRIVATE KEY-----")
    );
}

#[test]
fn debug_output_holds_no_private_key() {
    let keys = ReplicationKeys::generate("db").unwrap();
    let shown = format!("{keys:?}");
    assert!(shown.contains("SHA256:"), "{shown}");
    assert!(!shown.contains("PRIVATE"), "{shown}");
}

#[test]
fn written_private_keys_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let keys = ReplicationKeys::generate("db").unwrap();
    write_secret_dir(dir.path(), &keys.source_secret_data().unwrap()).unwrap();
    let mode = |n: &str| {
        std::fs::metadata(dir.path().join(n))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode(SOURCE), 0o600);
    assert_eq!(mode(SOURCE_PUB), 0o644);
}
