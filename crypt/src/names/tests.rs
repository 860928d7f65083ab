//! Name vectors from rclone's backend/crypt/cipher_test.go (all-zero keys, as rclone's
//! tests use an empty password).

use super::*;
use crate::keys::KEY_MATERIAL_LEN;

fn cipher(mode: NameMode, directories: bool) -> NameCipher {
    NameCipher::new(&Keys::from_bytes(&[0; KEY_MATERIAL_LEN]), mode, directories)
}

fn standard(encoding: NameEncoding, directories: bool) -> NameCipher {
    cipher(NameMode::Standard { encoding }, directories)
}

const BASE32: &[(&str, &str)] = &[
    ("1", "p0e52nreeaj0a5ea7s64m4j72s"),
    ("12", "l42g6771hnv3an9cgc8cr2n1ng"),
    ("123", "qgm4avr35m5loi1th53ato71v0"),
    ("1234", "8ivr2e9plj3c3esisjpdisikos"),
    ("12345", "rh9vu63q3o29eqmj4bg6gg7s44"),
    ("123456", "bn717l3alepn75b2fb2ejmi4b4"),
    ("1234567", "n6bo9jmb1qe3b1ogtj5qkf19k8"),
    ("12345678", "u9t24j7uaq94dh5q53m3s4t9ok"),
    ("123456789", "37hn305g6j12d1g0kkrl7ekbs4"),
    ("1234567890", "ot8d91eplaglb62k2b1trm2qv0"),
    ("12345678901", "h168vvrgb53qnrtvvmb378qrcs"),
    ("123456789012", "s3hsdf9e29ithrqbjqu01t8q2s"),
    ("1234567890123", "cf3jimlv1q2oc553mv7s3mh3eo"),
    ("12345678901234", "moq0uqdlqrblrc5pa5u5c7hq9g"),
    ("123456789012345", "eeam3li4rnommi3a762h5n7meg"),
    (
        "1234567890123456",
        "mijbj0frqf6ms7frcr6bd9h0env53jv96pjaaoirk7forcgpt70g",
    ),
];

const BASE64: &[(&str, &str)] = &[
    ("1", "yBxRX25ypgUVyj8MSxJnFw"),
    ("12", "qQUDHOGN_jVdLIMQzYrhvA"),
    ("123", "1CxFf2Mti1xIPYlGruDh-A"),
    ("1234", "RL-xOTmsxsG7kuTy2XJUxw"),
    ("12345", "3FP_GHoeBJdq0yLgaED8IQ"),
    ("123456", "Xc4T1Gqrs3OVYnrE6dpEWQ"),
    ("1234567", "uZeEzssOnDWHEOzLqjwpog"),
    ("12345678", "8noiTP5WkkbEuijsPhOpxQ"),
    ("123456789", "GeNxgLA0wiaGAKU3U7qL4Q"),
    ("1234567890", "x1DUhdmqoVWYVBLD3dha-A"),
    ("12345678901", "iEyP_3BZR6vvv_2WM6NbZw"),
    ("123456789012", "4OPGvS4SZdjvS568APUaFw"),
    ("1234567890123", "Y8c5Wr8OhYYUo7fPwdojdg"),
    ("12345678901234", "tjQPabXW112wuVF8Vh46TA"),
    ("123456789012345", "c5Vh1kTd8WtIajmFEtz2dA"),
    (
        "1234567890123456",
        "tKa5gfvTzW4d-2bMtqYgdf5Rz-k2ZqViW6HfjbIZ6cE",
    ),
];

#[test]
fn standard_segments_match_rclone() {
    for (encoding, vectors) in [
        (NameEncoding::Base32, BASE32),
        (NameEncoding::Base64, BASE64),
    ] {
        let c = standard(encoding, true);
        assert_eq!(c.encrypt_file("").unwrap(), "");
        for (plain, stored) in vectors {
            assert_eq!(c.encrypt_file(plain).unwrap(), *stored, "{plain}");
            assert_eq!(c.decrypt_file(stored).unwrap(), *plain, "{stored}");
            if encoding == NameEncoding::Base32 {
                assert_eq!(c.decrypt_file(&stored.to_uppercase()).unwrap(), *plain);
            }
        }
    }
}

#[test]
fn standard_paths_match_rclone() {
    let c = standard(NameEncoding::Base32, true);
    for (plain, stored) in [
        (
            "1/12",
            "p0e52nreeaj0a5ea7s64m4j72s/l42g6771hnv3an9cgc8cr2n1ng",
        ),
        (
            "1/12/123",
            "p0e52nreeaj0a5ea7s64m4j72s/l42g6771hnv3an9cgc8cr2n1ng/qgm4avr35m5loi1th53ato71v0",
        ),
        (
            "1-v2001-02-03-040506-123",
            "p0e52nreeaj0a5ea7s64m4j72s-v2001-02-03-040506-123",
        ),
        (
            "1/12-v2001-02-03-040506-123",
            "p0e52nreeaj0a5ea7s64m4j72s/l42g6771hnv3an9cgc8cr2n1ng-v2001-02-03-040506-123",
        ),
    ] {
        assert_eq!(c.encrypt_file(plain).unwrap(), stored);
        assert_eq!(c.decrypt_file(stored).unwrap(), plain);
    }
    assert_eq!(
        c.encrypt_dir("1/12").unwrap(),
        "p0e52nreeaj0a5ea7s64m4j72s/l42g6771hnv3an9cgc8cr2n1ng"
    );
    assert_eq!(
        c.decrypt_dir("p0e52nreeaj0a5ea7s64m4j72s/l42g6771hnv3an9cgc8cr2n1ng")
            .unwrap(),
        "1/12"
    );

    let c = standard(NameEncoding::Base64, true);
    assert_eq!(
        c.encrypt_file("1/12/123").unwrap(),
        "yBxRX25ypgUVyj8MSxJnFw/qQUDHOGN_jVdLIMQzYrhvA/1CxFf2Mti1xIPYlGruDh-A"
    );
    let c = standard(NameEncoding::Base32768, true);
    for (plain, stored) in [
        (
            "1/12/123",
            "詮㪗鐮僀伎作㻖㢧⪟/竢朧䉱虃光塬䟛⣡蓟/遶㞟鋅缕袡鲅ⵝ蝁ꌟ",
        ),
        (
            "1-v2001-02-03-040506-123",
            "詮㪗鐮僀伎作㻖㢧⪟-v2001-02-03-040506-123",
        ),
    ] {
        assert_eq!(c.encrypt_file(plain).unwrap(), stored);
        assert_eq!(c.decrypt_file(stored).unwrap(), plain);
    }

    // directory_name_encryption = false: only the last segment.
    let c = standard(NameEncoding::Base32, false);
    for (plain, stored) in [
        ("1", "p0e52nreeaj0a5ea7s64m4j72s"),
        ("1/12", "1/l42g6771hnv3an9cgc8cr2n1ng"),
        ("1/12/123", "1/12/qgm4avr35m5loi1th53ato71v0"),
        (
            "1/12-v2001-02-03-040506-123",
            "1/l42g6771hnv3an9cgc8cr2n1ng-v2001-02-03-040506-123",
        ),
    ] {
        assert_eq!(c.encrypt_file(plain).unwrap(), stored);
        assert_eq!(c.decrypt_file(stored).unwrap(), plain);
    }
    assert_eq!(c.encrypt_dir("1/12/123").unwrap(), "1/12/123");
    assert_eq!(c.decrypt_dir("1/12/123").unwrap(), "1/12/123");
}

#[test]
fn standard_refuses_bad_names_as_rclone_does() {
    let c = standard(NameEncoding::Base32, true);
    let reason = |stored: &str| match c.decrypt_file(stored) {
        Err(Error::Name { reason, .. }) => reason,
        other => panic!("{stored}: {other:?}"),
    };
    let encode = |b: &[u8]| NameEncoding::Base32.encode(b);
    assert_eq!(reason("64="), NameError::BadEncoding("base32hex"));
    assert_eq!(reason("!"), NameError::BadEncoding("base32hex"));
    assert_eq!(reason(&"a".repeat(3328)), NameError::TooLong);
    assert_eq!(reason(&encode(b"a")), NameError::NotAMultipleOfBlockSize);
    assert_eq!(
        reason(&encode(b"123456789abcdef")),
        NameError::NotAMultipleOfBlockSize
    );
    assert_eq!(reason(&encode(b"123456789abcdef0")), NameError::BadPadding);
    assert!(NameError::BadPadding.suggests_wrong_password());
    assert!(!NameError::BadEncoding("base32hex").suggests_wrong_password());
    // A segment of another cipher: prefixing a stored path breaks the first segment.
    assert_eq!(
        reason(&format!("{}p0e52nreeaj0a5ea7s64m4j72s", encode(b"1"))),
        NameError::NotAMultipleOfBlockSize
    );
    assert!(matches!(
        c.encrypt_file(&"x".repeat(2032)),
        Err(Error::NameTooLong { .. })
    ));
    assert_eq!(
        c.decrypt_file(&c.encrypt_file(&"x".repeat(2031)).unwrap())
            .unwrap(),
        "x".repeat(2031)
    );
}

#[test]
fn off_matches_rclone() {
    let off = |suffix: &str| {
        cipher(
            NameMode::Off {
                suffix: suffix.into(),
            },
            true,
        )
    };
    assert_eq!(
        off(".bin").encrypt_file("1/12/123").unwrap(),
        "1/12/123.bin"
    );
    assert_eq!(
        off(".jpg").encrypt_file("1/12/123").unwrap(),
        "1/12/123.jpg"
    );
    assert_eq!(off("").encrypt_file("1/12/123").unwrap(), "1/12/123");
    assert_eq!(off(".bin").encrypt_dir("1/12/123").unwrap(), "1/12/123");
    assert_eq!(
        off(".bin").decrypt_file("1/12/123.bin").unwrap(),
        "1/12/123"
    );
    assert_eq!(
        off(".jpg").decrypt_file("1/12/123.jpg").unwrap(),
        "1/12/123"
    );
    assert_eq!(off("").decrypt_file("1/12/123").unwrap(), "1/12/123");
    assert_eq!(
        off(".bin")
            .decrypt_file("1/12/123-v2001-02-03-040506-123.bin")
            .unwrap(),
        "1/12/123-v2001-02-03-040506-123"
    );
    assert_eq!(off(".bin").decrypt_dir(".bin").unwrap(), ".bin");
    for bad in ["1/12/123.bix", ".bin", "-v2001-02-03-040506-123.bin"] {
        assert!(
            matches!(
                off(".bin").decrypt_file(bad),
                Err(Error::Name {
                    reason: NameError::NotEncrypted(_),
                    ..
                })
            ),
            "{bad}"
        );
    }
}

#[test]
fn obfuscate_matches_rclone() {
    let c = cipher(NameMode::Obfuscate, true);
    for (plain, stored) in [
        ("1/12/123/!hello", "49.6/99.23/150.890/53.!!lipps"),
        (
            "1/12/123/!hello-v2001-02-03-040506-123",
            "49.6/99.23/150.890/53-v2001-02-03-040506-123.!!lipps",
        ),
        (
            "1/12/123/hello-v2001-02-03-040506-123.txt",
            "49.6/99.23/150.890/162.uryyB-v2001-02-03-040506-123.GKG",
        ),
        ("\u{a1}", "161.\u{e4}"),
        ("\u{3a0}", "160.\u{3c2}"),
    ] {
        assert_eq!(c.encrypt_file(plain).unwrap(), stored, "{plain}");
        assert_eq!(c.decrypt_file(stored).unwrap(), plain, "{stored}");
    }
    assert_eq!(c.decrypt_file("!.hello").unwrap(), "hello");
    assert!(matches!(
        c.decrypt_file("hello"),
        Err(Error::Name {
            reason: NameError::NotEncrypted(_),
            ..
        })
    ));
    for plain in [
        "1/2/3/4/!hello\u{3a0}",
        "Avatar The Last Airbender",
        "日本語 ファイル.txt",
    ] {
        assert_eq!(
            c.decrypt_file(&c.encrypt_file(plain).unwrap()).unwrap(),
            plain
        );
    }

    let c = cipher(NameMode::Obfuscate, false);
    assert_eq!(
        c.encrypt_file("1/12/123/!hello").unwrap(),
        "1/12/123/53.!!lipps"
    );
    assert_eq!(
        c.encrypt_file("1/12/123/!hello-v2001-02-03-040506-123")
            .unwrap(),
        "1/12/123/53-v2001-02-03-040506-123.!!lipps"
    );
    assert_eq!(
        c.decrypt_file("1/12/123/53.!!lipps").unwrap(),
        "1/12/123/!hello"
    );
}
