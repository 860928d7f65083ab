//! Peak memory and CPU of one command, through GNU `time`: the benchmarks compare our
//! binaries with their peers (rclone) on the same figures, read the same way.
//!
//! `getrusage` would give CPU without a wrapper, but its peak RSS of children is a maximum
//! over every child ever waited for, so it cannot tell one run from the next.

use std::process::Command;

/// The marker that starts the figures' line, so a tool's own stderr cannot be mistaken
/// for them.
const MARKER: &str = "FERRY-BENCH-RSS";

/// `program` run under `/usr/bin/time`, which appends its figures to the command's stderr.
pub fn command(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut cmd = Command::new("/usr/bin/time");
    cmd.args(["-f", &format!("{MARKER} %M %U %S")]).arg(program);
    cmd
}

/// What GNU `time` measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Usage {
    /// Peak resident set size, KiB.
    pub peak_rss_kib: u64,
    /// User + system CPU seconds.
    pub cpu_seconds: f64,
}

/// The figures in a stderr written by a [`command`]; `None` when they are missing (the
/// command was killed, or `time` failed to start it).
pub fn parse(stderr: &str) -> Option<Usage> {
    let line = stderr
        .lines()
        .filter_map(|l| l.strip_prefix(MARKER))
        .next_back()?;
    let figures: Vec<f64> = line
        .split_whitespace()
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    let [rss, user, system] = figures[..] else {
        return None;
    };
    Some(Usage {
        peak_rss_kib: rss as u64,
        cpu_seconds: user + system,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_figures_line_counts() {
        let stderr =
            "FERRY-BENCH-RSS 1 0.00 0.00\nsome log line\nFERRY-BENCH-RSS 35840 1.25 0.50\n";
        assert_eq!(
            parse(stderr),
            Some(Usage {
                peak_rss_kib: 35840,
                cpu_seconds: 1.75
            })
        );
    }

    #[test]
    fn missing_or_garbled_figures_are_none() {
        assert_eq!(parse("Command terminated by signal 9\n"), None);
        assert_eq!(parse("FERRY-BENCH-RSS 12 x 0.1\n"), None);
        assert_eq!(parse("FERRY-BENCH-RSS 12 0.1\n"), None);
    }
}
