//! rclone's version suffix (`-v2006-01-02-150405-000` before the extension), which crypt
//! keeps in clear on a file name's last segment so that `--s3-versions` style listings
//! still parse. A user's file that happens to end that way gets the same treatment, so
//! Ferry must apply it too to name files as rclone does.

/// Length of `-vYYYY-MM-DD-HHMMSS-mmm`.
const LEN: usize = 23;

/// The extension as Go's `path.Ext` finds it: from the last `.` of the last segment on.
pub(crate) fn extension(name: &str) -> &str {
    let last = name.rfind('/').map_or(0, |i| i + 1);
    name[last..].rfind('.').map_or("", |i| &name[last + i..])
}

/// Splits a version suffix off `name`: returns the name without it, and the suffix. `None`
/// when the part before the extension does not end in a valid version (rclone's
/// `version.Remove`: a real date and time, as Go's `time.Parse` accepts).
pub(crate) fn split(name: &str) -> Option<(String, &str)> {
    let ext = extension(name);
    let base = &name[..name.len() - ext.len()];
    if base.len() < LEN || !base.is_char_boundary(base.len() - LEN) {
        return None;
    }
    let version = &base[base.len() - LEN..];
    valid(version.as_bytes()).then(|| (format!("{}{ext}", &base[..base.len() - LEN]), version))
}

/// Puts `version` back before the extension of `name` (rclone's `version.Add`).
pub(crate) fn add(name: &str, version: &str) -> String {
    let ext = extension(name);
    format!("{}{version}{ext}", &name[..name.len() - ext.len()])
}

/// `-vYYYY-MM-DD-HHMMSS-mmm` with a date and time that exist.
fn valid(v: &[u8]) -> bool {
    let shape = b"-vdddd-dd-dd-dddddd-ddd";
    if v.len() != LEN
        || !v.iter().zip(shape).all(|(c, s)| match s {
            b'd' => c.is_ascii_digit(),
            _ => c == s,
        })
    {
        return false;
    }
    let num = |range: std::ops::Range<usize>| {
        v[range]
            .iter()
            .fold(0u32, |n, d| n * 10 + u32::from(d - b'0'))
    };
    let (year, month, day) = (num(2..6), num(7..9), num(10..12));
    let (hour, minute, second) = (num(13..15), num(15..17), num(17..19));
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&day) && hour < 24 && minute < 60 && second < 60
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_and_adds_like_rclone() {
        assert_eq!(
            split("1-v2001-02-03-040506-123"),
            Some(("1".into(), "-v2001-02-03-040506-123"))
        );
        assert_eq!(
            split("hello-v2001-02-03-040506-123.txt"),
            Some(("hello.txt".into(), "-v2001-02-03-040506-123"))
        );
        assert_eq!(split("hello-v2001-02-30-040506-123.txt"), None);
        assert_eq!(split("hello-v2001-13-03-040506-123"), None);
        assert_eq!(split("hello-v2001-02-03-240506-123"), None);
        assert_eq!(split("hello.txt"), None);
        assert_eq!(
            add("53.!!lipps", "-v2001-02-03-040506-123"),
            "53-v2001-02-03-040506-123.!!lipps"
        );
        assert_eq!(
            add("abc", "-v2001-02-03-040506-123"),
            "abc-v2001-02-03-040506-123"
        );
    }
}
