//! The source's rsync command line.

use std::ffi::OsString;

/// Whether extended attributes are copied (`-X`). Off by default: many filesystems and
/// destinations do not carry them, and rsync then fails instead of skipping.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Xattrs {
    /// Leave xattrs alone.
    #[default]
    Skip,
    /// Copy them.
    Copy,
}

/// Whether rsync compresses (`-z`). Off by default: on a LAN it doubles sender CPU for
/// nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Compression {
    /// No compression.
    #[default]
    Off,
    /// Compress (slow links).
    On,
}

/// Whether the destination is told that a sync completed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Completion {
    /// Send `ferry-complete SYNC_ID` after rsync exits 0 (a Ferry destination snapshots
    /// on it).
    #[default]
    Signal,
    /// Send nothing: a plain OpenSSH + rsync target has no use for it.
    Skip,
}

/// How a push runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PushOptions {
    /// `-X` or not.
    pub xattrs: Xattrs,
    /// `-z` or not.
    pub compression: Compression,
    /// The completion signal.
    pub completion: Completion,
}

/// The rsync flags of a push: archive with ACLs, hard links, sparse files, one file system,
/// numeric ids, deletions, and `--stats` for the status. Files are written to a temporary
/// name and renamed (rsync's default), so a snapshot never sees a torn file.
pub fn flags(options: &PushOptions) -> Vec<OsString> {
    let mut flags: Vec<OsString> = vec!["-aAHSx".into(), "--numeric-ids".into(), "--delete".into()];
    if options.xattrs == Xattrs::Copy {
        flags.push("-X".into());
    }
    if options.compression == Compression::On {
        flags.push("-z".into());
    }
    flags.push("--stats".into());
    flags
}

/// Quotes one word of the `-e` command for rsync, which splits it on spaces and honours
/// single and double quotes (but not backslashes).
pub fn quote_for_rsh(word: &str) -> Option<String> {
    if !word.contains([' ', '\'', '"']) {
        Some(word.to_string())
    } else if !word.contains('\'') {
        Some(format!("'{word}'"))
    } else if !word.contains('"') {
        Some(format!("\"{word}\""))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_flags() {
        assert_eq!(
            flags(&PushOptions::default()),
            ["-aAHSx", "--numeric-ids", "--delete", "--stats"]
        );
    }

    #[test]
    fn xattrs_and_compression_are_options() {
        let o = PushOptions {
            xattrs: Xattrs::Copy,
            compression: Compression::On,
            ..Default::default()
        };
        assert_eq!(
            flags(&o),
            ["-aAHSx", "--numeric-ids", "--delete", "-X", "-z", "--stats"]
        );
    }

    #[test]
    fn quoting() {
        assert_eq!(quote_for_rsh("/bin/x").unwrap(), "/bin/x");
        assert_eq!(quote_for_rsh("/my dir/x").unwrap(), "'/my dir/x'");
        assert_eq!(quote_for_rsh("it's x").unwrap(), "\"it's x\"");
        assert_eq!(quote_for_rsh("'\" x"), None);
    }
}
