use proptest::prelude::*;

use super::*;

/// The message `check` gives for `input`, or `None` if it accepts it.
fn message<T>(check: fn(&str) -> Result<T, NameError>, input: &str) -> Option<String> {
    check(input).err().map(|e| e.to_string())
}

const LABEL: &str = "must be a DNS-1123 label: lower-case letters, digits and \"-\", starting and ending with a letter or digit, at most 63 characters";
const SUBDOMAIN: &str = "must be a DNS-1123 subdomain: lower-case letters, digits, \"-\" and \".\", starting and ending with a letter or digit, at most 253 characters";
const HOST: &str = "must be a host name or an IP address: labels of letters, digits and \"-\" separated by \".\", each starting and ending with a letter or digit, at most 253 characters";
const WITH_USER: &str =
    "must be a host name or an IP address without a user: put the user in sshUser";
const WITH_PORT: &str =
    "must be a host name or an IP address without a port: put the port in the port field";
const USER: &str = "must be a POSIX user name: letters, digits, \".\", \"_\" and \"-\", not starting with \"-\", 1 to 32 characters";
const SECTION: &str = "must be an rclone remote name: letters, digits, \"_\", \"-\", \".\", \"+\", \"@\" and spaces, not starting with \"-\" or a space, not ending with a space";

#[test]
fn dns1123_labels() {
    let long = "a".repeat(63);
    let too_long = "a".repeat(64);
    let cases: &[(&str, Option<&str>)] = &[
        ("a", None),
        ("my-app-1", None),
        ("0abc", None),
        (&long, None),
        (&too_long, Some(LABEL)),
        ("", Some(LABEL)),
        ("My-App", Some(LABEL)),
        ("-app", Some(LABEL)),
        ("app-", Some(LABEL)),
        ("my.app", Some(LABEL)),
        ("my_app", Some(LABEL)),
    ];
    for (input, expected) in cases {
        assert_eq!(
            message(dns1123_label, input).as_deref(),
            *expected,
            "{input:?}"
        );
    }
}

#[test]
fn dns1123_subdomains() {
    let long = [
        "a".repeat(63),
        "b".repeat(63),
        "c".repeat(63),
        "d".repeat(61),
    ]
    .join(".");
    let too_long = format!("{long}e");
    let cases: &[(&str, Option<&str>)] = &[
        ("app", None),
        ("ssh-keys.v1", None),
        ("a.b.c", None),
        (&long, None),
        (&too_long, Some(SUBDOMAIN)),
        ("", Some(SUBDOMAIN)),
        (".app", Some(SUBDOMAIN)),
        ("app.", Some(SUBDOMAIN)),
        ("a..b", Some(SUBDOMAIN)),
        ("a.-b", Some(SUBDOMAIN)),
        ("Keys", Some(SUBDOMAIN)),
    ];
    for (input, expected) in cases {
        assert_eq!(
            message(dns1123_subdomain, input).as_deref(),
            *expected,
            "{input:?}"
        );
    }
}

#[test]
fn hosts() {
    let accepted: &[(&str, Host)] = &[
        (
            "backup.example.com",
            Host::Name("backup.example.com".to_owned()),
        ),
        (
            "Backup.Example.COM",
            Host::Name("backup.example.com".to_owned()),
        ),
        ("example.com.", Host::Name("example.com.".to_owned())),
        ("localhost", Host::Name("localhost".to_owned())),
        ("1password.com", Host::Name("1password.com".to_owned())),
        ("10.0.0.5", Host::Ipv4(Ipv4Addr::new(10, 0, 0, 5))),
        ("::1", Host::Ipv6(Ipv6Addr::LOCALHOST)),
        ("[::1]", Host::Ipv6(Ipv6Addr::LOCALHOST)),
        (
            "fd00::5",
            Host::Ipv6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 5)),
        ),
    ];
    for (input, expected) in accepted {
        assert_eq!(host(input).as_ref(), Ok(expected), "{input:?}");
    }
    let refused: &[(&str, &str)] = &[
        ("", HOST),
        ("root@backup.example.com", WITH_USER),
        ("backup.example.com:22", WITH_PORT),
        ("10.0.0.5:2222", WITH_PORT),
        ("[::1]:22", WITH_PORT),
        ("host:abc", HOST),
        ("[::1", HOST),
        ("[backup]", HOST),
        ("256.0.0.1", HOST),
        ("1.2.3", HOST),
        ("-host", HOST),
        ("host-", HOST),
        ("my_host", HOST),
        ("a..b", HOST),
        ("back up", HOST),
        ("ssh://host", HOST),
        ("fe80::1%eth0", HOST),
    ];
    for (input, expected) in refused {
        assert_eq!(
            message(host, input).as_deref(),
            Some(*expected),
            "{input:?}"
        );
    }
    let long_label = "a".repeat(64);
    assert_eq!(message(host, &long_label).as_deref(), Some(HOST));
}

#[test]
fn hosts_display_bare() {
    for (input, shown) in [
        ("[::1]", "::1"),
        ("Example.com", "example.com"),
        ("10.0.0.5", "10.0.0.5"),
    ] {
        assert_eq!(host(input).map(|h| h.to_string()), Ok(shown.to_owned()));
    }
}

#[test]
fn posix_users() {
    let long = "u".repeat(32);
    let too_long = "u".repeat(33);
    let cases: &[(&str, Option<&str>)] = &[
        ("root", None),
        ("backup_user", None),
        ("svc.ferry-1", None),
        ("Admin", None),
        ("_apt", None),
        (&long, None),
        (&too_long, Some(USER)),
        ("", Some(USER)),
        ("-oProxyCommand=x", Some(USER)),
        ("user name", Some(USER)),
        ("user@host", Some(USER)),
        ("us$er", Some(USER)),
        ("jürgen", Some(USER)),
    ];
    for (input, expected) in cases {
        assert_eq!(
            message(posix_user, input).as_deref(),
            *expected,
            "{input:?}"
        );
    }
}

#[test]
fn rclone_sections() {
    let cases: &[(&str, Option<&str>)] = &[
        ("s3", None),
        ("my remote", None),
        ("minio_1.backup+eu@home", None),
        ("büro", None),
        ("a-b", None),
        ("", Some(SECTION)),
        ("-s3", Some(SECTION)),
        (" s3", Some(SECTION)),
        ("s3 ", Some(SECTION)),
        ("s3:", Some(SECTION)),
        ("a/b", Some(SECTION)),
        ("[s3]", Some(SECTION)),
    ];
    for (input, expected) in cases {
        assert_eq!(
            message(rclone_section, input).as_deref(),
            *expected,
            "{input:?}"
        );
    }
}

proptest! {
    #[test]
    fn never_panic(input in any::<String>()) {
        let _ = dns1123_label(&input);
        let _ = dns1123_subdomain(&input);
        let _ = host(&input);
        let _ = posix_user(&input);
        let _ = rclone_section(&input);
    }
}
