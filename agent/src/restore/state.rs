//! The restore step's state as the native sidecar's startup probe reads it: a small file
//! in the sidecar's scratch directory, written whole (temporary file, then rename) so the
//! probe never reads half of it. The probe (`ferry-sidecar restored`) prints the message,
//! which the kubelet puts in the pod's Events (`kubectl describe pod`), and passes only
//! once the step is done.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use ferry_api::contract::restore::STATE_FILE;

use crate::env::Identity;

/// Where the step stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// Not done yet: what it waits for.
    Pending(String),
    /// Done: the app may start. What happened.
    Done(String),
    /// Failed with `Block`: the app waits. The error and what to fix.
    Blocked(String),
}

impl State {
    fn render(&self) -> String {
        match self {
            State::Pending(m) => format!("pending\nwaiting for the restore on first start: {m}\n"),
            State::Done(m) => format!("done\n{m}\n"),
            State::Blocked(m) => format!("blocked\n{m}\n"),
        }
    }

    fn parse(text: &str) -> Option<State> {
        let (word, message) = text.split_once('\n').unwrap_or((text, ""));
        let message = message.trim_end().to_owned();
        match word {
            "pending" => Some(State::Pending(message)),
            "done" => Some(State::Done(message)),
            "blocked" => Some(State::Blocked(message)),
            _ => None,
        }
    }
}

/// The state file of the sidecar whose scratch directory is `scratch`.
pub fn path(scratch: &Path) -> PathBuf {
    scratch.join(STATE_FILE)
}

/// Records `state` for the probe. A failure is logged: the probe then keeps the app
/// waiting, which is the safe side.
pub fn write(scratch: &Path, state: &State) {
    let target = path(scratch);
    let temporary = scratch.join(format!(".{STATE_FILE}.tmp"));
    let written = std::fs::create_dir_all(scratch)
        .and_then(|()| std::fs::write(&temporary, state.render()))
        .and_then(|()| std::fs::rename(&temporary, &target));
    if let Err(e) = written {
        tracing::error!(error = %e, file = %target.display(), "cannot record the restore step's state for the startup probe");
    }
}

/// Reads the recorded state; `None` before the first write.
pub fn read(scratch: &Path) -> Option<State> {
    std::fs::read_to_string(path(scratch))
        .ok()
        .and_then(|t| State::parse(&t))
}

/// `ferry-sidecar restored`, the native sidecar's startup probe: exit 0 once the restore
/// step is done; otherwise print what it waits for, or what to fix, and exit 1.
pub fn probe() -> ExitCode {
    let who = match Identity::from_env() {
        Ok(who) => who,
        Err(e) => {
            println!("ferry-sidecar restored: {e}");
            return ExitCode::from(2);
        }
    };
    match read(&who.scratch) {
        Some(State::Done(_)) => ExitCode::SUCCESS,
        Some(State::Pending(m) | State::Blocked(m)) => {
            println!("{m}");
            ExitCode::from(1)
        }
        None => {
            println!("waiting for the restore on first start: the sidecar is starting");
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip_through_the_file() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read(dir.path()), None);
        for state in [
            State::Pending("reading ReplicationSource db".into()),
            State::Blocked("restore failed: access denied\nfix the Secret".into()),
            State::Done("restored 2026-12-07-101500".into()),
        ] {
            write(dir.path(), &state);
            let back = read(dir.path()).unwrap();
            match (&state, &back) {
                (State::Pending(a), State::Pending(b)) => assert!(b.ends_with(a.as_str()), "{b}"),
                _ => assert_eq!(back, state),
            }
        }
    }
}
