//! The copy-paste commands of the hand-written pages, and the manifests they name, read out
//! of the Markdown so tests can check that each documented command is one a test or script
//! runs (and run them).
//!
//! A command is a line of a ` ```sh `, ` ```bash `, ` ```shell ` or ` ```console ` block
//! (in `console`, only lines after a `$ ` prompt), with `\` continuations joined, comments
//! dropped and whitespace runs collapsed, so the same command compares equal wherever it is
//! written. A manifest is a fenced block preceded by `<!-- file: NAME -->`: the commands
//! that use it say `-f NAME`.

/// One documented command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command {
    /// 1-based line of the Markdown where the command starts.
    pub line: usize,
    /// The command, normalised by [`normalize`].
    pub text: String,
}

/// A fenced block named with `<!-- file: NAME -->` on the line before it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamedFile {
    /// The file name the commands use.
    pub name: String,
    /// 1-based line of the opening fence.
    pub line: usize,
    /// The block's content.
    pub text: String,
}

/// The languages whose blocks hold commands.
const SHELLS: [&str; 4] = ["sh", "bash", "shell", "console"];

/// A fenced code block.
struct Block<'a> {
    lang: &'a str,
    /// 1-based line of the opening fence.
    line: usize,
    lines: Vec<&'a str>,
    /// The `<!-- file: NAME -->` before the fence, if any.
    name: Option<&'a str>,
}

fn blocks(markdown: &str) -> Vec<Block<'_>> {
    let mut out = Vec::new();
    let mut open: Option<Block<'_>> = None;
    let mut previous = "";
    for (index, raw) in markdown.lines().enumerate() {
        let line = raw.trim_start();
        match open.as_mut() {
            Some(_) if line.starts_with("```") => out.extend(open.take()),
            Some(block) => block.lines.push(raw),
            None => {
                if let Some(info) = line.strip_prefix("```") {
                    let name = previous
                        .trim()
                        .strip_prefix("<!-- file:")
                        .and_then(|rest| rest.strip_suffix("-->"))
                        .map(str::trim);
                    open = Some(Block {
                        lang: info.split_whitespace().next().unwrap_or(""),
                        line: index + 1,
                        lines: Vec::new(),
                        name,
                    });
                }
            }
        }
        previous = raw;
    }
    out
}

/// Every command of the shell blocks of `markdown`, in order.
pub fn commands(markdown: &str) -> Vec<Command> {
    let mut out = Vec::new();
    for block in blocks(markdown) {
        if !SHELLS.contains(&block.lang) {
            continue;
        }
        let console = block.lang == "console";
        let mut pending: Option<(usize, String)> = None;
        for (offset, raw) in block.lines.iter().enumerate() {
            let line_no = block.line + 1 + offset;
            let line = raw.trim();
            let line = match (&pending, console) {
                (Some(_), _) => line,
                (None, true) => match line.strip_prefix("$ ") {
                    Some(command) => command,
                    None => continue,
                },
                (None, false) => line,
            };
            let (start, mut text) = pending.take().unwrap_or((line_no, String::new()));
            match line.strip_suffix('\\') {
                Some(head) => {
                    text.push_str(head);
                    text.push(' ');
                    pending = Some((start, text));
                }
                None => {
                    text.push_str(line);
                    let text = normalize(&text);
                    if !text.is_empty() {
                        out.push(Command { line: start, text });
                    }
                }
            }
        }
    }
    out
}

/// Every block named with `<!-- file: NAME -->`.
pub fn named_files(markdown: &str) -> Vec<NamedFile> {
    blocks(markdown)
        .into_iter()
        .filter_map(|block| {
            Some(NamedFile {
                name: block.name?.to_owned(),
                line: block.line,
                text: block.lines.iter().map(|l| format!("{l}\n")).collect(),
            })
        })
        .collect()
}

/// `line` without its comment (a `#` at the start or after a blank, outside quotes), with
/// whitespace runs collapsed: the form in which commands are compared.
pub fn normalize(line: &str) -> String {
    let mut kept = String::new();
    let mut quote: Option<char> = None;
    let mut previous = ' ';
    for c in line.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => quote = Some(c),
            None if c == '#' && previous.is_whitespace() => break,
            None => {}
        }
        kept.push(c);
        previous = c;
    }
    kept.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = "\
Intro `not a command`.

```sh
make demo   # the demo
# a comment line
kubectl apply -f examples/a.yaml \\
    -n  shop
```

```console
$ kubectl get replicationsources
NAME   SOURCE   # output, not a command
```

<!-- file: restore.yaml -->
```yaml
kind: PersistentVolumeClaim
```

```text
make nothing
```
";

    #[test]
    fn commands_are_read_from_shell_blocks_only() {
        assert_eq!(
            commands(PAGE),
            vec![
                Command {
                    line: 4,
                    text: "make demo".into()
                },
                Command {
                    line: 6,
                    text: "kubectl apply -f examples/a.yaml -n shop".into()
                },
                Command {
                    line: 11,
                    text: "kubectl get replicationsources".into()
                },
            ]
        );
    }

    #[test]
    fn named_blocks_are_files() {
        assert_eq!(
            named_files(PAGE),
            vec![NamedFile {
                name: "restore.yaml".into(),
                line: 16,
                text: "kind: PersistentVolumeClaim\n".into(),
            }]
        );
    }

    #[test]
    fn comments_end_outside_quotes_only() {
        assert_eq!(normalize("echo 'a # b'  # c"), "echo 'a # b'");
        assert_eq!(
            normalize("kubectl get x -o jsonpath='{.a}#x'"),
            "kubectl get x -o jsonpath='{.a}#x'"
        );
        assert_eq!(normalize("  # only a comment"), "");
    }
}
