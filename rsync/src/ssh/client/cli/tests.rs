use super::*;
use clap::Parser;

#[derive(Parser)]
struct Wrapper {
    #[command(flatten)]
    args: SshArgs,
}

const KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";

fn parse(extra: &[&str]) -> SshArgs {
    let mut argv = vec!["ssh", "--key", "/k", "--known-host-key", KEY];
    argv.extend_from_slice(extra);
    Wrapper::try_parse_from(argv).unwrap().args
}

#[test]
fn takes_what_rsync_passes() {
    let a = parse(&[
        "-l",
        "backup",
        "-p",
        "2222",
        "dest",
        "rsync",
        "--server",
        "-lHogDtpArxSe.iLsfxCIvu",
        "--delete",
        ".",
        "a\\ b",
    ]);
    let s = a.settings().unwrap();
    assert_eq!(
        (s.user.as_str(), s.port, s.host.as_str()),
        ("backup", 2222, "dest")
    );
    assert_eq!(
        a.remote_command(),
        "rsync --server -lHogDtpArxSe.iLsfxCIvu --delete . a\\ b"
    );
}

#[test]
fn user_at_host_and_o_options() {
    let a = parse(&[
        "-T",
        "-o",
        "Port=2200",
        "-o",
        "Compression=yes",
        "me@[::1]",
        "true",
    ]);
    let s = a.settings().unwrap();
    assert_eq!(
        (s.user.as_str(), s.port, s.host.as_str()),
        ("me", 2200, "::1")
    );
}
