//! Plain-text tables as kubectl prints them (upper-case headers, columns padded with three
//! spaces), short durations (`45s`, `3m`, `2h`, `4d`), and colour only when asked for.

use jiff::{SignedDuration, Timestamp};

/// A cell's colour, shown only on a terminal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Colour {
    /// Nothing special.
    Plain,
    /// Needs attention.
    Red,
    /// Worth a look.
    Yellow,
    /// Fine.
    Green,
}

impl Colour {
    fn code(self) -> Option<&'static str> {
        match self {
            Colour::Plain => None,
            Colour::Red => Some("31"),
            Colour::Yellow => Some("33"),
            Colour::Green => Some("32"),
        }
    }
}

/// One cell: its text and colour.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cell {
    /// What is shown.
    pub text: String,
    /// How it is coloured on a terminal.
    pub colour: Colour,
}

impl Cell {
    /// A plain cell.
    pub fn plain(text: impl Into<String>) -> Cell {
        Cell {
            text: text.into(),
            colour: Colour::Plain,
        }
    }

    /// A coloured cell.
    pub fn coloured(text: impl Into<String>, colour: Colour) -> Cell {
        Cell {
            text: text.into(),
            colour,
        }
    }
}

/// Renders `rows` under `headers`, padding every column but the last to its widest cell
/// (width in characters, colour codes excluded), with ANSI colours when `colour` is set.
pub fn render(headers: &[&str], rows: &[Vec<Cell>], colour: bool) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.text.chars().count());
            }
        }
    }
    let mut out = String::new();
    let header_cells: Vec<Cell> = headers.iter().map(|h| Cell::plain(*h)).collect();
    for row in std::iter::once(&header_cells).chain(rows) {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            let last = i + 1 == row.len();
            let pad = if last {
                0
            } else {
                widths.get(i).copied().unwrap_or(0) - cell.text.chars().count() + 3
            };
            match cell.colour.code().filter(|_| colour) {
                Some(code) => line.push_str(&format!("\x1b[{code}m{}\x1b[0m", cell.text)),
                None => line.push_str(&cell.text),
            }
            line.push_str(&" ".repeat(pad));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// A duration in one or two units, as kubectl shows ages: `0s`, `45s`, `3m20s`, `2h5m`,
/// `4d3h`, `400d`. Negative durations are shown by their size.
pub fn span(d: SignedDuration) -> String {
    let secs = d.as_secs().unsigned_abs();
    let (m, h, day) = (60, 3600, 86_400);
    match secs {
        s if s < 2 * m => format!("{s}s"),
        s if s < 10 * m => pair(s / m, "m", s % m, "s"),
        s if s < 3 * h => format!("{}m", s / m),
        s if s < 8 * h => pair(s / h, "h", (s % h) / m, "m"),
        s if s < 2 * day => format!("{}h", s / h),
        s if s < 8 * day => pair(s / day, "d", (s % day) / h, "h"),
        s => format!("{}d", s / day),
    }
}

fn pair(a: u64, ua: &str, b: u64, ub: &str) -> String {
    if b == 0 {
        format!("{a}{ua}")
    } else {
        format!("{a}{ua}{b}{ub}")
    }
}

/// `3m ago` for a past time, `in 3m` for a future one.
pub fn relative(t: Timestamp, now: Timestamp) -> String {
    let d = now.duration_since(t);
    if d >= SignedDuration::ZERO {
        format!("{} ago", span(d))
    } else {
        format!("in {}", span(d))
    }
}

/// Bytes in binary units: `512 B`, `3.4 KiB`, `12.0 MiB`.
pub fn bytes(n: i64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value.abs() >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_read_like_kubectl_ages() {
        let s = SignedDuration::from_secs;
        assert_eq!(span(s(0)), "0s");
        assert_eq!(span(s(45)), "45s");
        assert_eq!(span(s(119)), "119s");
        assert_eq!(span(s(200)), "3m20s");
        assert_eq!(span(s(600)), "10m");
        assert_eq!(span(s(3 * 3600 + 300)), "3h5m");
        assert_eq!(span(s(30 * 3600)), "30h");
        assert_eq!(span(s(3 * 86_400 + 7200)), "3d2h");
        assert_eq!(span(s(400 * 86_400)), "400d");
        assert_eq!(span(s(-90)), "90s");
    }

    #[test]
    fn relative_times_say_which_way() {
        let now = Timestamp::from_second(1_000_000).unwrap_or(Timestamp::UNIX_EPOCH);
        let past = now - SignedDuration::from_secs(300);
        let future = now + SignedDuration::from_secs(300);
        assert_eq!(relative(past, now), "5m ago");
        assert_eq!(relative(future, now), "in 5m");
    }

    #[test]
    fn bytes_use_binary_units() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(3 * 1024 + 512), "3.5 KiB");
        assert_eq!(bytes(12 * 1024 * 1024), "12.0 MiB");
    }

    #[test]
    fn columns_are_padded_and_colour_codes_do_not_count() {
        let rows = vec![
            vec![
                Cell::plain("a"),
                Cell::coloured("Failing", Colour::Red),
                Cell::plain("x"),
            ],
            vec![Cell::plain("longer"), Cell::plain("Ok"), Cell::plain("")],
        ];
        let plain = render(&["NAME", "HEALTH", "WHY"], &rows, false);
        assert_eq!(
            plain,
            "NAME     HEALTH    WHY\na        Failing   x\nlonger   Ok\n"
        );
        let coloured = render(&["NAME", "HEALTH", "WHY"], &rows, true);
        assert_eq!(
            coloured,
            "NAME     HEALTH    WHY\na        \x1b[31mFailing\x1b[0m   x\nlonger   Ok\n"
        );
    }
}
