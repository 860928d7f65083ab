//! Parses the summary rsync prints with `--stats` (3.1 and later wording) into the numbers
//! the status shows: bytes and files transferred, files deleted, files checked.

/// The counters of one rsync run, as reported by `--stats`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TransferStats {
    /// Entries rsync looked at on the sending side ("Number of files").
    pub files_checked: u64,
    /// Entries newly created on the receiver.
    pub files_created: u64,
    /// Entries deleted on the receiver (`--delete`).
    pub files_deleted: u64,
    /// Regular files whose data was sent.
    pub files_transferred: u64,
    /// Sum of the sizes of all files.
    pub total_file_size: u64,
    /// Sum of the sizes of the files that were transferred.
    pub transferred_file_size: u64,
    /// File data sent literally, i.e. not matched by the delta algorithm.
    pub literal_bytes: u64,
    /// File data the receiver already had (delta matches).
    pub matched_bytes: u64,
    /// Bytes the sender wrote to the connection.
    pub bytes_sent: u64,
    /// Bytes the sender read from the connection.
    pub bytes_received: u64,
}

impl TransferStats {
    /// Bytes that crossed the connection in both directions: what the network carried.
    pub fn bytes_transferred(&self) -> u64 {
        self.bytes_sent.saturating_add(self.bytes_received)
    }

    /// Parses rsync's standard output. Returns `None` when no stats block is present (rsync
    /// was run without `--stats`, or died before printing it).
    pub fn parse(output: &str) -> Option<TransferStats> {
        let mut stats = TransferStats::default();
        let mut seen = 0;
        for line in output.lines() {
            let Some((label, value)) = line.split_once(':') else {
                continue;
            };
            let field = match label.trim() {
                "Number of files" => &mut stats.files_checked,
                "Number of created files" => &mut stats.files_created,
                "Number of deleted files" => &mut stats.files_deleted,
                "Number of regular files transferred" => &mut stats.files_transferred,
                "Total file size" => &mut stats.total_file_size,
                "Total transferred file size" => &mut stats.transferred_file_size,
                "Literal data" => &mut stats.literal_bytes,
                "Matched data" => &mut stats.matched_bytes,
                "Total bytes sent" => &mut stats.bytes_sent,
                "Total bytes received" => &mut stats.bytes_received,
                _ => continue,
            };
            *field = parse_count(value)?;
            seen += 1;
        }
        (seen > 0).then_some(stats)
    }
}

/// Reads the leading number of a stats value such as ` 1,206 (reg: 1,203, dir: 2)` or
/// ` 1.048.586 bytes`: rsync groups digits with the locale's separator.
fn parse_count(value: &str) -> Option<u64> {
    let number = value.split_whitespace().next()?;
    let digits: String = number
        .chars()
        .filter(|c| !matches!(c, ',' | '.' | '\''))
        .collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initial_push() {
        let s = TransferStats::parse(include_str!("testdata/initial.txt")).unwrap();
        assert_eq!(s.files_checked, 7);
        assert_eq!(s.files_created, 6);
        assert_eq!(s.files_deleted, 0);
        assert_eq!(s.files_transferred, 3);
        assert_eq!(s.total_file_size, 1_048_586);
        assert_eq!(s.literal_bytes, 1_048_582);
        assert_eq!(s.bytes_sent, 1_049_138);
        assert_eq!(s.bytes_received, 99);
        assert_eq!(s.bytes_transferred(), 1_049_237);
    }

    #[test]
    fn unchanged_tree() {
        let s = TransferStats::parse(include_str!("testdata/unchanged.txt")).unwrap();
        assert_eq!((s.files_checked, s.files_transferred), (7, 0));
        assert_eq!(s.transferred_file_size, 0);
        assert_eq!(s.bytes_transferred(), 177);
    }

    #[test]
    fn delta_with_deletions_and_grouped_counts() {
        let s = TransferStats::parse(include_str!("testdata/delta.txt")).unwrap();
        assert_eq!(s.files_checked, 1_206);
        assert_eq!(s.files_created, 1_200);
        assert_eq!(s.files_deleted, 1);
        assert_eq!(s.files_transferred, 1_200);
        assert_eq!(s.bytes_sent, 75_751);
    }

    #[test]
    fn remote_delta_counts_matched_data() {
        let s = TransferStats::parse(include_str!("testdata/remote-delta.txt")).unwrap();
        assert_eq!(s.files_transferred, 1);
        assert!(s.matched_bytes > 0, "{s:?}");
        assert!(s.literal_bytes < s.matched_bytes, "{s:?}");
    }

    #[test]
    fn no_stats_block() {
        assert_eq!(
            TransferStats::parse("sending incremental file list\n"),
            None
        );
        assert_eq!(TransferStats::parse("Number of files: lots\n"), None);
    }

    #[test]
    fn other_locales_group_with_dots() {
        let s = TransferStats::parse("Total bytes sent: 1.049.138\n").unwrap();
        assert_eq!(s.bytes_sent, 1_049_138);
    }
}
