//! Every command in the README and in `docs/` is one that a test or a script runs, so no
//! copy-paste instruction is left untested.
//!
//! A documented command (a line of a `sh`, `bash`, `shell` or `console` block, see
//! `ferry_api::docs::commands`) passes when
//! - it is `make <target>` and the Makefile defines that target, or
//! - it appears verbatim (whitespace collapsed) in an executed file: a line of a shell script
//!   under `scripts/` or `tests/` (with `$KUBECTL` / `$HELM` read as `kubectl` / `helm`), a
//!   Makefile recipe, or a string literal of a Rust file under `tests/`.
//!
//! `tests/tests/docs_commands.rs` runs the guides' `kubectl` and `helm` commands against the
//! real control plane; a new command goes there (or into the demo script) verbatim. The files
//! the commands apply must exist: `examples/...`, or a block of the docs named with
//! `<!-- file: NAME -->`.

// A test crate: its helpers fail fast too.
#![allow(clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use ferry_api::docs::commands::{self, Command};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Files under `dir` (recursively) whose name satisfies `keep`, sorted.
fn files(dir: &Path, keep: &dyn Fn(&Path) -> bool) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if keep(&path) {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The README and every page under `docs/`, as (path relative to the root, text).
fn pages() -> Vec<(String, String)> {
    let root = root();
    let mut paths = vec![root.join("README.md")];
    paths.extend(files(&root.join("docs"), &|p| {
        p.extension().is_some_and(|e| e == "md")
    }));
    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("read page");
            let name = path
                .strip_prefix(&root)
                .unwrap_or(&path)
                .display()
                .to_string();
            (name, text)
        })
        .collect()
}

/// The targets the Makefile defines.
fn make_targets(makefile: &str) -> BTreeSet<String> {
    makefile
        .lines()
        .filter(|line| !line.starts_with(['\t', '#', '.', ' ']))
        .filter_map(|line| {
            let (target, rest) = line.split_once(':')?;
            (!rest.starts_with('=') && !target.contains(['=', '$', ' ']))
                .then(|| target.trim().to_owned())
        })
        .collect()
}

/// Shell lines with `\` continuations joined, normalised like documented commands.
fn shell_lines(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut pending = String::new();
    for line in text.lines() {
        let line = line.trim();
        match line.strip_suffix('\\') {
            Some(head) => {
                pending.push_str(head);
                pending.push(' ');
            }
            None => {
                pending.push_str(line);
                let mut command = commands::normalize(&pending);
                for (var, tool) in [("KUBECTL", "kubectl"), ("HELM", "helm")] {
                    for form in [
                        format!("\"${var}\""),
                        format!("\"${{{var}}}\""),
                        format!("${{{var}}}"),
                        format!("${var}"),
                    ] {
                        command = command.replace(&form, tool);
                    }
                }
                if !command.is_empty() {
                    out.push(command);
                }
                pending.clear();
            }
        }
    }
    out
}

/// What the tests and scripts run: shell lines and the text of Rust test files.
struct Executed {
    targets: BTreeSet<String>,
    shell: Vec<String>,
    rust: Vec<String>,
}

impl Executed {
    fn load() -> Executed {
        let root = root();
        let makefile = std::fs::read_to_string(root.join("Makefile")).expect("read Makefile");
        let mut shell: Vec<String> = makefile
            .lines()
            .filter(|l| l.starts_with('\t'))
            .flat_map(shell_lines)
            .collect();
        let mut rust = Vec::new();
        for dir in ["scripts", "tests"] {
            for path in files(&root.join(dir), &|_| true) {
                let Ok(text) = std::fs::read_to_string(&path) else {
                    continue;
                };
                if path.extension().is_some_and(|e| e == "rs") {
                    rust.push(text);
                } else if path.extension().is_some_and(|e| e == "sh") || text.starts_with("#!") {
                    shell.extend(shell_lines(&text));
                }
            }
        }
        Executed {
            targets: make_targets(&makefile),
            shell,
            rust,
        }
    }

    fn runs(&self, command: &str) -> bool {
        if let Some(target) = command.strip_prefix("make ")
            && self.targets.contains(target.trim())
        {
            return true;
        }
        let literal = format!("\"{command}\"");
        self.shell.iter().any(|line| line.contains(command))
            || self.rust.iter().any(|text| text.contains(&literal))
    }
}

#[test]
fn every_documented_command_is_run_by_a_test_or_script() {
    let executed = Executed::load();
    let mut missing = Vec::new();
    let mut count = 0;
    for (page, text) in pages() {
        for Command { line, text } in commands::commands(&text) {
            count += 1;
            if !executed.runs(&text) {
                missing.push(format!("{page}:{line}: `{text}`"));
            }
        }
    }
    assert!(count >= 20, "only {count} documented commands found");
    assert!(
        missing.is_empty(),
        "documented commands that no test or script runs (add each verbatim to one, e.g. \
         tests/tests/docs_commands.rs for kubectl and helm, or drop it from the docs):\n{}",
        missing.join("\n")
    );
}

#[test]
fn every_file_a_command_applies_exists() {
    let root = root();
    let pages = pages();
    let mut named = BTreeMap::<String, String>::new();
    for (page, text) in &pages {
        for file in commands::named_files(text) {
            let place = format!("{page}:{}", file.line);
            if let Some(other) = named.insert(file.name.clone(), place.clone()) {
                panic!("{place}: {} is already named at {other}", file.name);
            }
        }
    }
    let mut problems = Vec::new();
    for (page, text) in &pages {
        for command in commands::commands(text) {
            if !command.text.starts_with("kubectl ") {
                continue;
            }
            let words: Vec<&str> = command.text.split(' ').collect();
            for pair in words.windows(2) {
                let ["-f", file] = pair else { continue };
                let found = if file.starts_with("examples/") {
                    root.join(file).is_file()
                } else {
                    *file == "-" || named.contains_key(*file)
                };
                if !found {
                    problems.push(format!(
                        "{page}:{}: `{}` applies {file}, which is neither in examples/ nor a \
                         block named <!-- file: {file} --> in the docs",
                        command.line, command.text
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn makefile_targets_and_shell_lines_are_read_like_make_and_sh() {
    let targets =
        make_targets("SHELL := /bin/bash\nX ?= 1\n.PHONY: a\ntest: deps\n\tcargo test\ndocs:\n");
    assert_eq!(
        targets,
        BTreeSet::from(["test".to_owned(), "docs".to_owned()])
    );
    assert_eq!(
        shell_lines("\"$KUBECTL\" apply \\\n   -f examples/a.yaml  # why\n${HELM} version\n"),
        ["kubectl apply -f examples/a.yaml", "helm version"]
    );
}
