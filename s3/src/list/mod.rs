//! Streamed listings in S3 key order (UTF-8 byte order, `a.txt` before `a/b`), so that the
//! march can merge two sides without holding either tree: memory stays bounded by the
//! largest directory (local) or one page (S3), never the whole tree.

pub mod local;
pub mod remote;

use ferry_api::rules::glob::Pattern;

/// Entries in flight between a lister and the march.
pub const CHANNEL_DEPTH: usize = 2048;

/// The exclude patterns (rclone's `--exclude` globs), applied to both sides alike.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    patterns: Vec<Pattern>,
}

impl Filter {
    /// A filter excluding what any of `patterns` matches.
    pub fn new(patterns: Vec<Pattern>) -> Filter {
        Filter { patterns }
    }

    /// This filter with `pattern` excluded as well.
    #[must_use]
    pub fn with(mut self, pattern: Pattern) -> Filter {
        self.patterns.push(pattern);
        self
    }

    /// Whether the file (or object) `key` is excluded.
    pub fn excludes_file(&self, key: &str) -> bool {
        self.patterns.iter().any(|p| p.matches(key, false))
    }

    /// Whether the directory `dir` (relative, no trailing `/`) and all below it are excluded.
    pub fn excludes_dir(&self, dir: &str) -> bool {
        self.patterns.iter().any(|p| p.matches(dir, true))
    }
}

/// Whether `key` can be a relative path on disk: no empty, `.` or `..` segments.
pub fn is_clean_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .split('/')
            .all(|s| !s.is_empty() && s != "." && s != "..")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_files_and_prunes_dirs() {
        let filter = Filter::new(vec![
            Pattern::parse("*.tmp").unwrap(),
            Pattern::parse("cache/").unwrap(),
        ]);
        assert!(filter.excludes_file("a/b.tmp"));
        assert!(filter.excludes_file("x/cache/y"));
        assert!(filter.excludes_dir("x/cache"));
        assert!(!filter.excludes_dir("x/tmp"));
        assert!(!filter.excludes_file("a/b.txt"));
    }

    #[test]
    fn clean_keys() {
        assert!(is_clean_key("a/b c/ü"));
        for bad in ["", "a//b", "./a", "a/../b", "a/"] {
            assert!(!is_clean_key(bad), "{bad}");
        }
    }
}
