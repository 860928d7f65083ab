//! Runs the real `kubectl` and `helm` and returns what they printed.

use std::ffi::OsStr;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, bail};

/// What a command printed and how it ended.
#[derive(Debug, Clone)]
pub struct Output {
    /// True when the command exited 0.
    pub success: bool,
    /// Standard output, lossily decoded.
    pub stdout: String,
    /// Standard error, lossily decoded.
    pub stderr: String,
}

impl Output {
    /// Fails with both streams when the command did not succeed.
    pub fn ok(self) -> anyhow::Result<Self> {
        if self.success {
            Ok(self)
        } else {
            bail!(
                "command failed\nstdout:\n{}\nstderr:\n{}",
                self.stdout,
                self.stderr
            )
        }
    }
}

/// Runs `program args...` with `KUBECONFIG` set, feeding `stdin` when given.
pub(crate) fn run<I, S>(
    program: &Path,
    kubeconfig: &Path,
    args: I,
    stdin: Option<&str>,
) -> anyhow::Result<Output>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut command = Command::new(program);
    command
        .args(args)
        .env("KUBECONFIG", kubeconfig)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command
        .spawn()
        .with_context(|| format!("starting {}", program.display()))?;
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(text.as_bytes()).context("writing stdin")?;
    }
    let out = child.wait_with_output().context("waiting for command")?;
    Ok(Output {
        success: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}
