use super::*;

fn vol() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let vol = std::fs::canonicalize(dir.path()).unwrap();
    (dir, vol)
}

fn words(s: &str) -> Vec<String> {
    super::super::command::split_words(s).unwrap()
}

fn plan(s: &str) -> Result<Plan, Refusal> {
    let (_d, v) = vol();
    check(&words(s), Access::WriteOnly, Hardening::None, &v)
}

fn args(p: &Plan) -> Vec<String> {
    p.args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect()
}

#[test]
fn the_push_ferry_sends_is_accepted_as_is() {
    let p = plan("-lHogDtpArxSe.iLsfxCIvu --delete --stats --numeric-ids . sub/dir").unwrap();
    assert_eq!(
        args(&p),
        [
            "--server",
            "-lHogDtpArxSe.iLsfxCIvu",
            "--delete",
            "--stats",
            "--numeric-ids",
            "--",
            ".",
            "sub/dir"
        ]
    );
    assert!(!p.sender);
}

#[test]
fn xattrs_compression_and_split_path_options() {
    let p =
        plan("-blogDtpAXrxSze.iLsfxCIvu --timeout=30 --temp-dir tt --partial-dir pd . d").unwrap();
    assert!(args(&p).contains(&"--temp-dir=tt".to_string()));
    assert!(args(&p).contains(&"--partial-dir=pd".to_string()));
}

#[test]
fn hardening_adds_drop_d_and_confine_root() {
    let (_d, v) = vol();
    let p = check(
        &words("-logDtpre.iLsfxCIvu . d"),
        Access::WriteOnly,
        Hardening::Rsync35,
        &v,
    )
    .unwrap();
    let a = args(&p);
    assert!(a.contains(&"--drop-D".to_string()), "{a:?}");
    assert!(
        a.contains(&format!("--confine-root={}", v.display())),
        "{a:?}"
    );
}

#[test]
fn pull_is_allowed_only_when_readable() {
    let (_d, v) = vol();
    let w = words("--sender -logDtpre.iLsfxCIvu . x");
    assert_eq!(
        check(&w, Access::WriteOnly, Hardening::None, &v).unwrap_err(),
        Refusal::Sender
    );
    assert!(
        check(&w, Access::ReadWrite, Hardening::None, &v)
            .unwrap()
            .sender
    );
}

#[test]
fn refused_options() {
    let code = |s: &str| {
        let r = plan(s).unwrap_err();
        (r.code(), r.to_string())
    };
    for (cmd, expect_code, expect_text) in [
        ("-r --rsh=sh . d", "option", "--rsh"),
        ("-r --rsync-path=/bin/sh . d", "option", "--rsync-path"),
        ("-r --config=/etc/x . d", "option", "--config"),
        ("--daemon . d", "option", "--daemon"),
        ("-r --devices . d", "option", "device"),
        ("-r --write-devices . d", "option", "device"),
        ("-r --copy-devices . d", "option", "device"),
        ("-r --copy-unsafe-links . d", "option", "symlinks"),
        ("-r --no-munge-links . d", "option", "symlinks"),
        ("-r --max-alloc=0 . d", "option", "above zero"),
        ("-r --log-file=/tmp/x . d", "option", "--log-file"),
        ("-r --files-from=/etc/passwd . d", "option", "--files-from"),
        ("-slogDtpre.iLsfxCIvu . d", "option", "-s"),
        ("-rL . d", "option", "-L"),
        ("-rK . d", "option", "-K"),
        ("-resh . d", "option", "-e"),
        ("-r --frobnicate . d", "unknown-option", "--frobnicate"),
        ("-rZ . d", "unknown-option", "-Z"),
        ("-r --temp-dir=../t . d", "dot-dot", "../t"),
        ("-r --backup-dir /etc . d", "outside-volume", "/etc"),
        ("-r . ../d", "dot-dot", "../d"),
        ("-r . /etc", "outside-volume", "/etc"),
        ("-r . a b", "malformed", "one destination"),
        ("-r d", "malformed", "before the '.'"),
        ("-r", "malformed", "no '.'"),
    ] {
        let (c, text) = code(cmd);
        assert_eq!(c, expect_code, "{cmd}: {text}");
        assert!(text.contains(expect_text), "{cmd}: {text}");
    }
}

#[test]
fn capability_string_is_not_a_remote_shell() {
    assert!(plan("-e.iLsfxCIvu . d").is_ok());
    assert!(plan("-re31.iLsfxCIvu . d").is_ok());
    assert!(plan("-B1024 -r . d").is_ok());
    assert!(plan("-re.i-x . d").is_err());
}

#[test]
fn max_alloc_above_zero_is_fine() {
    assert!(plan("-r --max-alloc=1G . d").is_ok());
}
