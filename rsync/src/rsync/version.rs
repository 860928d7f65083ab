//! The local rsync's version: Ferry needs 3.2 or later (stats format, argument protection,
//! and the CVE fixes of later releases are worth having on both ends).

use std::fmt;
use std::path::Path;

use super::Error;

/// An rsync release number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version {
    /// Major number.
    pub major: u32,
    /// Minor number.
    pub minor: u32,
    /// Patch number.
    pub patch: u32,
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// The oldest rsync Ferry runs.
pub const MINIMUM: Version = Version {
    major: 3,
    minor: 2,
    patch: 0,
};

/// The first rsync with `--drop-D` and `--confine-root`, which the destination adds when
/// its rsync has them.
pub const HARDENED: Version = Version {
    major: 3,
    minor: 5,
    patch: 0,
};

impl Version {
    /// Parses the first line of `rsync --version`, e.g.
    /// `rsync  version 3.5.0  protocol version 32` or `rsync  version v3.2.7  protocol ...`.
    pub fn parse(first_line: &str) -> Option<Version> {
        let mut words = first_line.split_whitespace();
        if words.next()? != "rsync" || words.next()? != "version" {
            return None;
        }
        let number = words.next()?.trim_start_matches('v');
        let mut parts = number.split('.').map(|p| {
            let digits: String = p.chars().take_while(char::is_ascii_digit).collect();
            digits.parse::<u32>().ok()
        });
        Some(Version {
            major: parts.next()??,
            minor: parts.next().flatten().unwrap_or(0),
            patch: parts.next().flatten().unwrap_or(0),
        })
    }
}

/// Runs `program --version` and returns its version, refusing one older than [`MINIMUM`].
pub async fn check(program: &Path) -> Result<Version, Error> {
    let output = tokio::process::Command::new(program)
        .arg("--version")
        .output()
        .await
        .map_err(|source| Error::Spawn {
            program: program.to_path_buf(),
            source,
        })?;
    let text = String::from_utf8_lossy(&output.stdout);
    let first = text.lines().next().unwrap_or_default();
    let found = Version::parse(first).ok_or_else(|| Error::VersionUnreadable {
        program: program.to_path_buf(),
        output: first.to_string(),
    })?;
    if found < MINIMUM {
        return Err(Error::VersionTooOld {
            program: program.to_path_buf(),
            found,
            required: MINIMUM,
        });
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_release_lines() {
        let v = |s| Version::parse(s).unwrap();
        assert_eq!(
            v("rsync  version 3.5.0  protocol version 32").to_string(),
            "3.5.0"
        );
        assert_eq!(
            v("rsync  version v3.2.7  protocol version 31").to_string(),
            "3.2.7"
        );
        assert_eq!(
            v("rsync  version 3.1.3  protocol version 31").to_string(),
            "3.1.3"
        );
        assert_eq!(v("rsync version 3.4.0pre1 protocol").to_string(), "3.4.0");
        assert!(Version::parse("openrsync: protocol version 29").is_none());
    }

    #[test]
    fn orders_versions() {
        let old = Version::parse("rsync  version 3.1.3  protocol version 31").unwrap();
        let new = Version::parse("rsync  version 3.2.0  protocol version 31").unwrap();
        assert!(old < MINIMUM);
        assert!(new >= MINIMUM);
        assert!(new < HARDENED);
    }

    #[tokio::test]
    async fn refuses_an_old_rsync_with_a_clear_message() {
        let dir = tempfile::tempdir().unwrap();
        let fake = dir.path().join("rsync");
        std::fs::write(
            &fake,
            "#!/bin/sh\necho 'rsync  version 3.1.3  protocol version 31'\n",
        )
        .unwrap();
        std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let err = check(&fake).await.unwrap_err();
        assert!(
            err.to_string()
                .contains("is rsync 3.1.3; Ferry needs rsync 3.2.0 or later"),
            "{err}"
        );
        assert!(!err.is_retryable());
    }

    #[tokio::test]
    async fn a_missing_rsync_names_the_fix() {
        let err = check(Path::new("/nonexistent/rsync")).await.unwrap_err();
        assert!(
            err.to_string().contains("install rsync 3.2 or later"),
            "{err}"
        );
    }
}
