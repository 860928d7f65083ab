use proptest::prelude::*;

use super::*;

/// Whether `pattern` matches `path`, or why the pattern does not compile.
fn matches(pattern: &str, path: &str, is_dir: bool) -> Result<bool, GlobError> {
    Pattern::parse(pattern).map(|compiled| compiled.matches(path, is_dir))
}

#[test]
fn matches_like_rclone() {
    let cases: &[(&str, &str, bool, bool)] = &[
        // (pattern, path, is_dir, matches)
        ("*.tmp", "x.tmp", false, true),
        ("*.tmp", "a/b/x.tmp", false, true),
        ("*.tmp", "a/x.tmpl", false, false),
        ("*.tmp", "a/x.tmp/y", false, false),
        ("*.tmp", "x.tmp", true, false),
        ("/cache/**", "cache/a/b", false, true),
        ("/cache/**", "cache", true, true),
        ("/cache/**", "x/cache/a", false, false),
        ("cache/**", "x/cache/a", false, true),
        ("cache/**", "xcache/a", false, false),
        ("lost+found/", "lost+found", true, true),
        ("lost+found/", "data/lost+found", true, true),
        ("lost+found/", "lost+found", false, false),
        ("lost+found/", "lost+found/x", false, true),
        ("lost+found/", "lost+foundx", true, false),
        ("/lost+found/", "data/lost+found", true, false),
        ("file?.txt", "file1.txt", false, true),
        ("file?.txt", "d/fileA.txt", false, true),
        ("file?.txt", "file.txt", false, false),
        ("file?.txt", "file12.txt", false, false),
        ("a?b", "a/b", false, false),
        ("[a-c].log", "b.log", false, true),
        ("[a-c].log", "d.log", false, false),
        ("[!a-c].log", "d.log", false, true),
        ("[^a-c].log", "a.log", false, false),
        ("x[!a]y", "x/y", false, false),
        ("[[:digit:]].log", "7.log", false, true),
        ("[\\]x].log", "].log", false, true),
        ("[-a].log", "-.log", false, true),
        ("{x,y}.bin", "x.bin", false, true),
        ("{x,y}.bin", "d/y.bin", false, true),
        ("{x,y}.bin", "z.bin", false, false),
        ("{x,}.bin", ".bin", false, true),
        ("{*.tmp,*.bak}", "a/b.bak", false, true),
        ("a,b", "a,b", false, true),
        ("\\*.txt", "*.txt", false, true),
        ("\\*.txt", "a.txt", false, false),
        ("a.b", "axb", false, false),
        ("(x)|y^$", "(x)|y^$", false, true),
        ("*", "a/b", false, true),
        ("*", "a", true, false),
        ("**", "a", true, true),
        ("/a/*.log", "a/x.log", false, true),
        ("/a/*.log", "a/b/x.log", false, false),
        ("/a/**.log", "a/b/x.log", false, true),
        ("data/*.db", "srv/data/x.db", false, true),
        ("data/*.db", "srv/mydata/x.db", false, false),
        ("ünï/*", "ünï/ç", false, true),
    ];
    for (pattern, path, is_dir, expected) in cases {
        assert_eq!(
            matches(pattern, path, *is_dir),
            Ok(*expected),
            "{pattern:?} on {path:?} (dir: {is_dir})"
        );
    }
}

#[test]
fn refuses_bad_patterns() {
    let cases = [
        (
            "",
            "empty pattern: write a glob such as \"*.tmp\" or \"cache/\"",
        ),
        (
            "[abc",
            "unclosed \"[\": end the character class with \"]\" or write \"\\[\" for a literal \"[\"",
        ),
        (
            "[a-",
            "unclosed \"[\": end the character class with \"]\" or write \"\\[\" for a literal \"[\"",
        ),
        (
            "[\\",
            "unclosed \"[\": end the character class with \"]\" or write \"\\[\" for a literal \"[\"",
        ),
        ("abc]", "unmatched \"]\": write \"\\]\" for a literal \"]\""),
        (
            "[]",
            "empty character class: put characters between \"[\" and \"]\"",
        ),
        (
            "[!]",
            "empty character class: put characters between \"[\" and \"]\"",
        ),
        (
            "[z-a]",
            "character range \"z-a\" is reversed: write the smaller character first",
        ),
        (
            "[[:foo:]]",
            "unknown character class \"[:foo:]\": use alnum, alpha, ascii, blank, cntrl, digit, graph, lower, print, punct, space, upper, word or xdigit",
        ),
        (
            "{a,b",
            "unclosed \"{\": end the alternatives with \"}\" or write \"\\{\" for a literal \"{\"",
        ),
        ("a}", "unmatched \"}\": write \"\\}\" for a literal \"}\""),
        (
            "{a,{b,c}}",
            "nested \"{\": alternatives in \"{a,b}\" cannot contain another \"{\"",
        ),
        (
            "{{.*\\.tmp}}",
            "regular expressions in \"{{...}}\" are not supported: use glob syntax",
        ),
        (
            "abc\\",
            "trailing \"\\\": write \"\\\\\" for a literal backslash",
        ),
        (
            "a/***",
            "too many \"*\": use \"*\" within a directory or \"**\" across directories",
        ),
    ];
    for (pattern, expected) in cases {
        let message = Pattern::parse(pattern).err().map(|e| e.to_string());
        assert_eq!(message.as_deref(), Some(expected), "{pattern:?}");
    }
}

#[test]
fn displays_the_pattern_as_written() {
    for pattern in ["*.tmp", "/cache/**", "lost+found/", "{x,y}.bin"] {
        assert_eq!(
            Pattern::parse(pattern).map(|p| p.to_string()).as_deref(),
            Ok(pattern)
        );
    }
}

proptest! {
    #[test]
    fn never_panics(pattern in any::<String>(), path in any::<String>(), is_dir in any::<bool>()) {
        if let Ok(compiled) = Pattern::parse(&pattern) {
            let _ = compiled.matches(&path, is_dir);
        }
    }

    #[test]
    fn never_panics_on_glob_like_text(pattern in r"[a-c/*?\[\]{},!^\\:-]{0,12}") {
        if let Ok(compiled) = Pattern::parse(&pattern) {
            let _ = compiled.matches("a/b-c", false);
        }
    }
}

#[test]
fn check_agrees_with_parse() {
    let long = "a".repeat(MAX_PATTERN_BYTES + 1);
    for pattern in [
        "*.tmp",
        "/cache/**",
        "lost+found/",
        "[abc",
        "{a,{b}}",
        "",
        "x\\",
        long.as_str(),
    ] {
        assert_eq!(
            Pattern::check(pattern),
            Pattern::parse(pattern).map(|_| ()),
            "{pattern:?}"
        );
    }
    // The longest accepted pattern of the most expensive shape still compiles.
    let worst = "[[:alpha:]]".repeat(MAX_PATTERN_BYTES / 11);
    assert!(Pattern::parse(&worst).is_ok());
}
