use super::*;
use crate::obscure::obscure_with_iv;

fn parse(lines: &[(&str, &str)]) -> Result<(CryptConfig, Vec<String>)> {
    let settings = lines.iter().enumerate().map(|(i, (key, value))| Setting {
        key,
        value,
        line: Some(i + 2),
    });
    CryptConfig::from_section("secret", "/etc/rclone.conf", settings)
}

fn obscured(password: &str) -> String {
    obscure_with_iv(password.as_bytes(), *b"0123456789abcdef")
}

fn message(result: Result<(CryptConfig, Vec<String>)>) -> String {
    match result {
        Err(e) => e.to_string(),
        Ok((c, _)) => panic!("accepted: {c:?}"),
    }
}

#[test]
fn reads_a_typical_section() {
    let (p, p2) = (obscured("correct horse"), obscured("battery staple"));
    let (config, warnings) = parse(&[
        ("type", "crypt"),
        ("remote", "minio:bucket/backups"),
        ("password", &p),
        ("password2", &p2),
        ("description", "photos"),
    ])
    .unwrap();
    assert_eq!(config.remote, "minio:bucket/backups");
    assert_eq!(config.names, NameMode::default());
    assert!(config.directory_name_encryption && config.data_encryption && !config.strict_names);
    assert_eq!(
        warnings,
        ["description in [secret] of /etc/rclone.conf (line 6): ignored, Ferry does not use it"]
    );
    let debug = format!("{config:?}");
    assert!(!debug.contains("correct") && !debug.contains(&p), "{debug}");
    // The same passwords as rclone's key derivation vectors would give the same keys;
    // here: the cipher builds and names round-trip.
    let cipher = config.cipher().unwrap();
    let stored = cipher.encrypt_file_name("a/b.txt").unwrap();
    assert_eq!(cipher.decrypt_file_name(&stored).unwrap(), "a/b.txt");
}

#[test]
fn reads_every_mode() {
    let p = obscured("pw");
    let base = [
        ("type", "crypt"),
        ("remote", "s3:b"),
        ("password", p.as_str()),
    ];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut lines = base.to_vec();
        lines.extend_from_slice(extra);
        parse(&lines).map(|(c, _)| c)
    };
    assert_eq!(
        with(&[("filename_encryption", "Off")]).unwrap().names,
        NameMode::Off {
            suffix: ".bin".into()
        }
    );
    assert_eq!(
        with(&[("filename_encryption", "off"), ("suffix", "none")])
            .unwrap()
            .names,
        NameMode::Off {
            suffix: String::new()
        }
    );
    assert_eq!(
        with(&[("suffix", ".dat"), ("filename_encryption", "off")])
            .unwrap()
            .names,
        NameMode::Off {
            suffix: ".dat".into()
        }
    );
    assert_eq!(
        with(&[("filename_encryption", "obfuscate")]).unwrap().names,
        NameMode::Obfuscate
    );
    assert_eq!(
        with(&[("filename_encoding", "base64")]).unwrap().names,
        NameMode::Standard {
            encoding: NameEncoding::Base64
        }
    );
    let c = with(&[
        ("directory_name_encryption", "false"),
        ("no_data_encryption", "true"),
        ("strict_names", "1"),
        ("pass_bad_blocks", "false"),
    ])
    .unwrap();
    assert!(!c.directory_name_encryption && !c.data_encryption && c.strict_names);
    assert_eq!(
        with(&[("filename_encoding", "Base32768")]).unwrap().names,
        NameMode::Standard {
            encoding: NameEncoding::Base32768
        }
    );
}

#[test]
fn refuses_bad_settings_by_name() {
    let p = obscured("pw");
    let cases: &[(&[(&str, &str)], &str)] = &[
        (
            &[
                ("type", "crypt"),
                ("remote", "s3:b"),
                ("password", &p),
                ("pasword2", "x"),
            ],
            "pasword2 in [secret] of /etc/rclone.conf (line 5): is not a crypt option; remove it; a crypt section takes type, remote, password, password2",
        ),
        (
            &[
                ("type", "crypt"),
                ("remote", "s3:b"),
                ("password", "hunter2"),
            ],
            "password in [secret] of /etc/rclone.conf (line 4): is not in rclone's obscured form (too short); run `rclone obscure` on the password and write its output here",
        ),
        (
            &[
                ("type", "crypt"),
                ("remote", "s3:b"),
                ("password", "hunter2 with spaces"),
            ],
            "password in [secret] of /etc/rclone.conf (line 4): is not in rclone's obscured form (not URL-safe base64)",
        ),
        (
            &[
                ("type", "crypt"),
                ("remote", "s3:b"),
                ("password", "YWFhYWFhYWFhYWFhYWFhYQ"),
            ],
            "password in [secret] of /etc/rclone.conf (line 4): is an obscured empty password",
        ),
        (
            &[("type", "crypt"), ("remote", "s3:b")],
            "password in [secret] of /etc/rclone.conf: is not set",
        ),
        (
            &[("type", "crypt"), ("password", &p)],
            "remote in [secret] of /etc/rclone.conf: is missing",
        ),
        (
            &[("type", "s3"), ("remote", "s3:b"), ("password", &p)],
            "type in [secret] of /etc/rclone.conf (line 2): is \"s3\", not crypt",
        ),
        (
            &[("type", "crypt"), ("remote", "secret:b"), ("password", &p)],
            "points the crypt remote at itself",
        ),
        (
            &[("type", "crypt"), ("remote", ":s3:b"), ("password", &p)],
            "is an on-the-fly remote",
        ),
        (
            &[
                ("type", "crypt"),
                ("remote", "s3:b"),
                ("password", &p),
                ("filename_encryption", "strong"),
            ],
            "filename_encryption in [secret] of /etc/rclone.conf (line 5): \"strong\" is not a name encryption mode; use standard, obfuscate or off",
        ),
        (
            &[
                ("type", "crypt"),
                ("remote", "s3:b"),
                ("password", &p),
                ("filename_encoding", "base16"),
            ],
            "filename_encoding in [secret] of /etc/rclone.conf (line 5): \"base16\" is not a name encoding; use base32 (the default), base64 or base32768",
        ),
        (
            &[
                ("type", "crypt"),
                ("remote", "s3:b"),
                ("password", &p),
                ("directory_name_encryption", "yes"),
            ],
            "directory_name_encryption in [secret] of /etc/rclone.conf (line 5): \"yes\" is not a boolean; use true or false",
        ),
        (
            &[
                ("type", "crypt"),
                ("remote", "s3:b"),
                ("password", &p),
                ("pass_bad_blocks", "true"),
            ],
            "pass_bad_blocks in [secret] of /etc/rclone.conf (line 5): is true",
        ),
    ];
    for (lines, want) in cases {
        let got = message(parse(lines));
        assert!(
            got.starts_with(want) || got.contains(want),
            "got: {got}\nwant: {want}"
        );
        assert!(!got.contains("hunter2"), "the secret leaked: {got}");
    }
}

#[test]
fn remotes() {
    let p = obscured("pw");
    let remote = |value: &str| {
        parse(&[("type", "crypt"), ("remote", value), ("password", &p)]).map(|(c, _)| c.remote)
    };
    assert_eq!(remote("minio:").unwrap(), "minio:");
    assert_eq!(remote("/srv/data").unwrap(), "/srv/data");
    assert!(remote("s3,region=x:bucket").is_err());
    assert!(remote("secret:b").is_err());
    assert!(remote(":s3:b").is_err());
}
