//! The rsync options a client may send, modelled on rrsync from rsync 3.5 (its
//! `cull-options` table) and tightened for a write-only destination in a volume.

/// How a long option is treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Long {
    /// A flag without a value.
    Flag,
    /// Takes a value that needs no check (it is passed as its own argv word, no shell).
    Value,
    /// Takes a size that must not be zero (`--max-alloc=0` lifts rsync's memory limit).
    NonZeroSize,
    /// Takes a path that must stay in the volume.
    Path,
    /// Refused, with the reason.
    Refused(&'static str),
}

/// Short options accepted in a cluster such as `-lHogDtpArxS`. Everything `-a`, `-A`, `-H`,
/// `-S`, `-x`, `-X`, `-z`, `-v`, `-c` and friends produce is here. `-D` (devices and
/// specials, part of `-a`) is accepted because refusing it would refuse `rsync -a`; the
/// receiver gets `--drop-D`, which stops device creation without changing the wire format.
pub const SHORT: &str = "ACDEHIJNORSUWXbcdglmnopqrtuvxyz";

/// Short options that are refused, with the reason.
pub fn short_refused(c: char) -> Option<&'static str> {
    match c {
        's' => Some("secluded args (-s) hide the arguments from this allowlist"),
        'k' => Some("--copy-dirlinks follows symlinks out of the volume"),
        'K' => Some("--keep-dirlinks follows symlinks out of the volume"),
        'L' => Some("--copy-links follows symlinks out of the volume"),
        'e' => Some("-e is a remote shell option here"),
        'M' => Some("--remote-option is not passed on"),
        _ => None,
    }
}

/// Short options that take a number glued to them (`-B1024`, `-@-1`).
pub const SHORT_WITH_NUMBER: &str = "@B";

/// Looks up a long option by name (without `--`). `None` means unknown, hence refused.
pub fn long(name: &str) -> Option<Long> {
    use Long::*;
    const REMOTE_SHELL: Long = Refused("it would run another program");
    const DEVICES: Long = Refused("device options are not allowed");
    const UNSAFE_LINKS: Long = Refused("it follows symlinks out of the volume");
    const WRITES_FILES: Long = Refused("it reads or writes files outside the transfer");
    let kind = match name {
        "rsh" | "rsync-path" | "config" | "daemon" | "remote-option" => REMOTE_SHELL,
        "devices" | "copy-devices" | "write-devices" => DEVICES,
        "copy-unsafe-links" | "copy-links" | "copy-dirlinks" | "keep-dirlinks" => UNSAFE_LINKS,
        "no-munge-links" => UNSAFE_LINKS,
        "files-from" | "log-file" | "only-write-batch" | "write-batch" | "read-batch" => {
            WRITES_FILES
        }
        "secluded-args" | "protect-args" => Refused("it hides the arguments from this allowlist"),
        "debug" => Refused("it is a local diagnostic option"),
        "max-alloc" => NonZeroSize,
        "backup-dir" | "compare-dest" | "copy-dest" | "link-dest" | "partial-dir" | "temp-dir" => {
            Path
        }
        "block-size" | "bwlimit" | "checksum-choice" | "checksum-seed" | "compress-choice"
        | "compress-level" | "compress-threads" | "groupmap" | "iconv" | "info" | "log-format"
        | "max-delete" | "max-size" | "min-size" | "modify-window" | "skip-compress" | "stderr"
        | "suffix" | "timeout" | "usermap" => Value,
        "append"
        | "delay-updates"
        | "delete"
        | "delete-after"
        | "delete-before"
        | "delete-delay"
        | "delete-during"
        | "delete-excluded"
        | "delete-missing-args"
        | "dirs"
        | "existing"
        | "fake-super"
        | "force"
        | "from0"
        | "fsync"
        | "fuzzy"
        | "group"
        | "hard-links"
        | "ignore-errors"
        | "ignore-existing"
        | "ignore-missing-args"
        | "ignore-times"
        | "inplace"
        | "links"
        | "list-only"
        | "mkpath"
        | "msgs2stderr"
        | "munge-links"
        | "new-compress"
        | "no-W"
        | "no-implied-dirs"
        | "no-msgs2stderr"
        | "no-r"
        | "no-relative"
        | "no-specials"
        | "numeric-ids"
        | "old-compress"
        | "one-file-system"
        | "open-noatime"
        | "owner"
        | "partial"
        | "perms"
        | "preallocate"
        | "recursive"
        | "remove-sent-files"
        | "remove-source-files"
        | "safe-links"
        | "size-only"
        | "specials"
        | "stats"
        | "super"
        | "times"
        | "use-qsort" => Flag,
        _ => return None,
    };
    Some(kind)
}

/// Parses an rsync size (`1024`, `1.5M`, `8GiB`, `100k`) far enough to tell zero.
pub fn size_is_nonzero(value: &str) -> bool {
    let digits: String = value
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let unit = &value[digits.len()..];
    let unit_ok = unit.is_empty()
        || matches!(
            unit.to_ascii_lowercase().as_str(),
            "b" | "k"
                | "m"
                | "g"
                | "t"
                | "p"
                | "kb"
                | "mb"
                | "gb"
                | "tb"
                | "pb"
                | "kib"
                | "mib"
                | "gib"
                | "tib"
                | "pib"
        );
    let number: Option<f64> = digits.parse().ok();
    unit_ok && number.is_some_and(|n| n > 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert!(size_is_nonzero("1G"));
        assert!(size_is_nonzero("512MiB"));
        assert!(size_is_nonzero("1.5m"));
        assert!(!size_is_nonzero("0"));
        assert!(!size_is_nonzero("0G"));
        assert!(!size_is_nonzero("0.0"));
        assert!(!size_is_nonzero(""));
        assert!(!size_is_nonzero("-1"));
        assert!(!size_is_nonzero("12x"));
    }

    #[test]
    fn no_letter_is_both_allowed_and_refused() {
        for c in SHORT.chars() {
            assert_eq!(short_refused(c), None, "{c}");
        }
    }
}
