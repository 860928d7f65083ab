use proptest::prelude::*;

use super::*;

#[test]
fn relative_paths() {
    let long = "a/".repeat(2048);
    let too_long = format!("{long}a");
    let home = "must not start with \"~\": write the path from the root of the destination volume, such as \"/backups/app\"";
    let parent = "must not contain \"..\" components: the path must stay inside the volume";
    let control = "must not contain control characters";
    let cases: &[(&str, Option<&str>)] = &[
        ("/", None),
        ("backups/app", None),
        ("/backups/app/", None),
        ("a..b/..c/.../x", None),
        ("./data", None),
        (&long, None),
        (&too_long, Some("must be at most 4096 bytes")),
        (
            "",
            Some("must not be empty: use \"/\" for the root of the destination volume"),
        ),
        ("..", Some(parent)),
        ("../etc", Some(parent)),
        ("/data/../../etc", Some(parent)),
        ("data/..", Some(parent)),
        ("~", Some(home)),
        ("~backup/data", Some(home)),
        ("data\0", Some(control)),
        ("data\nmore", Some(control)),
        ("data\u{7f}", Some(control)),
    ];
    for (input, expected) in cases {
        let message = relative_path(input).err().map(|e| e.to_string());
        assert_eq!(message.as_deref(), *expected, "{input:?}");
    }
}

#[test]
fn accepts_bucket_paths() {
    let cases = [
        ("backups", "backups", ""),
        ("backups/", "backups", ""),
        ("my.bucket-1/app/pvc-1", "my.bucket-1", "app/pvc-1"),
        ("abc/app/", "abc", "app"),
        ("abc/a b/c:d/é", "abc", "a b/c:d/é"),
        ("b-s3alias-x/x", "b-s3alias-x", "x"),
    ];
    for (input, bucket, prefix) in cases {
        let expected = BucketPath {
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
        };
        let parsed = BucketPath::parse(input);
        assert_eq!(parsed, Ok(expected), "{input:?}");
        let shown = parsed.map(|p| p.to_string());
        assert_eq!(
            shown.as_deref(),
            Ok(input.trim_end_matches('/')),
            "{input:?}"
        );
    }
}

#[test]
fn refuses_bad_bucket_paths() {
    let remote = "must be bucket or bucket/prefix without a remote: put the remote name in rcloneConfigSection";
    let leading =
        "must not start with \"/\": drop the leading \"/\" and write bucket or bucket/prefix";
    let name = |b: &str| {
        format!(
            "bucket \"{b}\" must be 3 to 63 lower-case letters, digits, \".\" and \"-\", starting and ending with a letter or digit"
        )
    };
    let reserved = |b: &str| {
        format!(
            "bucket \"{b}\" must not start with \"xn--\" or \"sthree-\" or end with \"-s3alias\" or \"--ol-s3\": S3 reserves these"
        )
    };
    let long = "b".repeat(64);
    let long_prefix = format!("abc/{}", "p".repeat(1025));
    let cases: Vec<(&str, String)> = vec![
        (
            "",
            "must not be empty: write bucket or bucket/prefix".to_owned(),
        ),
        ("s3:backups/app", remote.to_owned()),
        ("s3:", remote.to_owned()),
        ("/backups/app", leading.to_owned()),
        ("/", leading.to_owned()),
        ("ab", name("ab")),
        (&long, name(&long)),
        ("My-Bucket", name("My-Bucket")),
        ("my_bucket/x", name("my_bucket")),
        ("-bucket", name("-bucket")),
        ("bucket.", name("bucket.")),
        (
            "my..bucket",
            "bucket \"my..bucket\" must not contain \"..\"".to_owned(),
        ),
        (
            "192.168.1.10/x",
            "bucket \"192.168.1.10\" must not be written like an IP address".to_owned(),
        ),
        ("xn--bucket", reserved("xn--bucket")),
        ("sthree-bucket", reserved("sthree-bucket")),
        ("bucket-s3alias", reserved("bucket-s3alias")),
        ("bucket--ol-s3", reserved("bucket--ol-s3")),
        (
            "abc/a//b",
            "prefix must not contain empty segments (\"//\")".to_owned(),
        ),
        (
            "abc//",
            "prefix must not contain empty segments (\"//\")".to_owned(),
        ),
        (
            "abc/./b",
            "prefix must not contain \".\" or \"..\" segments".to_owned(),
        ),
        (
            "abc/a/..",
            "prefix must not contain \".\" or \"..\" segments".to_owned(),
        ),
        (
            "abc/a\tb",
            "prefix must not contain control characters".to_owned(),
        ),
        (&long_prefix, "prefix must be at most 1024 bytes".to_owned()),
    ];
    for (input, expected) in cases {
        let message = BucketPath::parse(input).err().map(|e| e.to_string());
        assert_eq!(message, Some(expected), "{input:?}");
    }
}

proptest! {
    #[test]
    fn never_panic(input in any::<String>()) {
        let _ = relative_path(&input);
        let _ = BucketPath::parse(&input);
    }
}
