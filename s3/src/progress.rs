//! Progress while a sync runs: a redrawn bar on a terminal, a one-line status at intervals
//! otherwise (logs, `kubectl logs`).

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

use super::requests::Requests;
use super::stats::{Stats, bytes};

/// How progress is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// A bar on stderr, redrawn twice a second.
    Bar,
    /// One line on stderr per interval.
    Lines(Duration),
    /// Nothing until the summary.
    Off,
}

impl Progress {
    /// A bar when stderr is a terminal, else lines every `interval` (none when zero).
    pub fn detect(interval: Duration) -> Progress {
        if std::io::stderr().is_terminal() {
            Progress::Bar
        } else if interval.is_zero() {
            Progress::Off
        } else {
            Progress::Lines(interval)
        }
    }

    /// Starts showing `stats` and the S3 requests sent so far; abort the handle to stop.
    pub fn start(self, stats: Arc<Stats>, requests: Arc<Requests>) -> Option<JoinHandle<()>> {
        let period = match self {
            Progress::Bar => Duration::from_millis(500),
            Progress::Lines(every) => every,
            Progress::Off => return None,
        };
        Some(tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            tick.tick().await;
            loop {
                tick.tick().await;
                let line = status(&stats, &requests, self == Progress::Bar);
                let mut err = std::io::stderr().lock();
                let _ = if self == Progress::Bar {
                    write!(err, "\r{line}\x1b[K")
                } else {
                    writeln!(err, "{line}")
                };
                let _ = err.flush();
            }
        }))
    }

    /// Clears the bar before the summary is printed.
    pub fn finish(self, handle: Option<JoinHandle<()>>) {
        if let Some(handle) = handle {
            handle.abort();
        }
        if self == Progress::Bar {
            let _ = write!(std::io::stderr(), "\r\x1b[K");
        }
    }
}

/// One status line: bytes and files done out of those queued so far, the rate, and the
/// S3 requests sent.
fn status(stats: &Stats, requests: &Requests, bar: bool) -> String {
    let (done, queued, files, queued_files) = stats.progress();
    let secs = stats.elapsed().as_secs_f64().max(0.001);
    let rate = bytes((done as f64 / secs) as u64);
    let text = format!(
        "{} / {}, {files}/{queued_files} files, {rate}/s, errors {}, S3 requests {}, {:.0}s",
        bytes(done),
        bytes(queued),
        stats.errors(),
        requests.snapshot().total,
        secs
    );
    if !bar {
        return format!("ferry sync: {text}");
    }
    let width = 24;
    let filled = (done.min(queued) * width).checked_div(queued).unwrap_or(0) as usize;
    format!(
        "[{}{}] {text}",
        "=".repeat(filled),
        " ".repeat(width as usize - filled)
    )
}
