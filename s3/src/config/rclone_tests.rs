use std::path::Path;

use super::*;

fn load_text(text: &str, section: &str) -> Result<(S3Config, Vec<String>)> {
    from_text(text, Path::new("/etc/rclone.conf"), section)
}

#[test]
fn reads_the_listed_keys() {
    let text = "[minio]\ntype = s3\nprovider = Minio\naccess_key_id = AK\nsecret_access_key = SK\nregion = eu-1\nendpoint = http://127.0.0.1:9000/\nforce_path_style = false\nacl = private\nstorage_class = STANDARD\nno_check_bucket = true\nlocation_constraint = eu\nserver_side_encryption = AES256\nchunk_size = 5M\n";
    let (config, warnings) = load_text(text, "minio").unwrap();
    assert_eq!(config.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
    assert_eq!(config.region, "eu-1");
    assert!(!config.force_path_style);
    assert!(config.no_check_bucket);
    assert_eq!(config.acl.as_deref(), Some("private"));
    assert!(
        matches!(config.credentials, Credentials::Static { ref access_key_id, .. } if access_key_id == "AK")
    );
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        !format!("{config:?}").contains("SK"),
        "secret in Debug output"
    );
}

#[test]
fn env_auth_and_anonymous() {
    let (c, _) = load_text("[a]\ntype = s3\nenv_auth = true\n", "a").unwrap();
    assert_eq!(c.credentials, Credentials::Environment);
    let (c, _) = load_text("[a]\ntype = s3\nendpoint = s3.example.com\n", "a").unwrap();
    assert_eq!(c.credentials, Credentials::Anonymous);
    assert_eq!(c.endpoint.as_deref(), Some("https://s3.example.com"));
    assert!(c.force_path_style);
}

#[test]
fn errors_name_the_setting_and_the_fix() {
    let cases = [
        (
            "[minio]\ntype = s3\n",
            "other",
            "remote \"other:\": there is no [other] section in /etc/rclone.conf; add a [other] section with type = s3, or use one of: minio",
        ),
        (
            "[minio]\ntype = s3\n",
            "mini",
            "remote \"mini:\": there is no [mini] section in /etc/rclone.conf; did you mean \"minio:\"? Or add a [mini] section with type = s3",
        ),
        (
            "[m]\ntype = s3\nsecret_acess_key = x\n",
            "m",
            "secret_acess_key in [m] of /etc/rclone.conf (line 3): unknown key; did you mean secret_access_key?",
        ),
        (
            "[m]\ntype = s3\ncolour = blue\n",
            "m",
            "colour in [m] of /etc/rclone.conf (line 3): unknown key; remove it; Ferry reads type, provider, env_auth, access_key_id, secret_access_key, session_token, region, endpoint, force_path_style, location_constraint, acl, server_side_encryption, storage_class, no_check_bucket, object_lock_mode, object_lock_retain_until_date, object_lock_legal_hold_status",
        ),
        (
            "[m]\ntype = drive\n",
            "m",
            "type in [m] of /etc/rclone.conf (line 2): is \"drive\"; Ferry syncs S3 remotes only: use a section with type = s3",
        ),
        (
            "[m]\nregion = x\n",
            "m",
            "type in [m] of /etc/rclone.conf: is missing; add type = s3",
        ),
        (
            "[m]\ntype = s3\nforce_path_style = maybe\n",
            "m",
            "force_path_style in [m] of /etc/rclone.conf (line 3): \"maybe\" is not a boolean; use true or false",
        ),
        (
            "[m]\ntype = s3\naccess_key_id = a\n",
            "m",
            "access_key_id/secret_access_key in [m] of /etc/rclone.conf: only one of the two is set; set both, or neither (with env_auth = true to use the environment)",
        ),
        (
            "[m]\ntype = s3\nendpoint = ftp://x\n",
            "m",
            "endpoint in [m] of /etc/rclone.conf (line 3): \"ftp://x\" is not an http(s) URL; write it as http://host:port or https://host",
        ),
        (
            "type = s3\n",
            "m",
            "--config /etc/rclone.conf: line 1: \"key = value\" before the first [section]; write [remote] headers and key = value lines",
        ),
        (
            "RCLONE_ENCRYPT_V0:\nabc",
            "m",
            "--config /etc/rclone.conf: the file is encrypted; store the decrypted config (rclone config show) instead",
        ),
    ];
    for (text, section, message) in cases {
        let error = load_text(text, section).unwrap_err();
        assert!(error.is_fatal());
        assert_eq!(error.to_string(), message);
    }
}

#[test]
fn object_lock_keys_are_read_and_their_mistakes_named() {
    let base = "[minio]\ntype = s3\n";
    let (c, _) = load_text(base, "minio").unwrap();
    assert_eq!(c.object_lock, None);
    let (c, warnings) = load_text(
        &format!("{base}object_lock_mode = compliance\nobject_lock_retain_until_date = 30d\nobject_lock_legal_hold_status = ON\nbypass_governance_retention = true\n"),
        "minio",
    )
    .unwrap();
    let lock = c.object_lock.unwrap();
    assert_eq!(lock.mode, crate::lock::Mode::Compliance);
    assert_eq!(
        lock.retention,
        crate::lock::Retention::For(std::time::Duration::from_secs(30 * 86_400))
    );
    assert!(lock.legal_hold);
    assert_eq!(
        lock.setting,
        "object_lock_mode in [minio] of /etc/rclone.conf (line 3)"
    );
    assert_eq!(
        warnings.len(),
        1,
        "bypass_governance_retention: {warnings:?}"
    );
    let cases = [
        (
            "object_lock_mode = GOVERNANCE\n",
            "object_lock_mode in [minio] of /etc/rclone.conf (line 3): is set without object_lock_retain_until_date; add object_lock_retain_until_date = 30d",
        ),
        (
            "object_lock_retain_until_date = 1d\n",
            "object_lock_retain_until_date in [minio] of /etc/rclone.conf (line 3): is set without object_lock_mode; add object_lock_mode = GOVERNANCE or COMPLIANCE",
        ),
        (
            "object_lock_mode = forever\nobject_lock_retain_until_date = 1d\n",
            "object_lock_mode in [minio] of /etc/rclone.conf (line 3): \"forever\" is not an Object Lock mode; write GOVERNANCE or COMPLIANCE",
        ),
        (
            "object_lock_mode = GOVERNANCE\nobject_lock_retain_until_date = soon\n",
            "object_lock_retain_until_date in [minio] of /etc/rclone.conf (line 4): \"soon\" is neither a period nor a date",
        ),
        (
            "object_lock_mode = copy\nobject_lock_retain_until_date = 1d\n",
            "object_lock_mode in [minio] of /etc/rclone.conf (line 3): \"copy\" takes the lock of a source object",
        ),
        (
            "object_lock_legal_hold_status = ON\n",
            "object_lock_legal_hold_status in [minio] of /etc/rclone.conf (line 3): a legal hold alone",
        ),
    ];
    for (lines, want) in cases {
        let err = load_text(&format!("{base}{lines}"), "minio")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with(want), "{lines:?}:\n{err}\nwanted:\n{want}");
    }
}
