//! Just enough Markdown to write tables whose cells hold free text.

/// `text` as one table cell: whitespace runs (doc comments wrap lines) become one space, and
/// `|` is escaped so it cannot end the cell (GFM honours `\|` inside code spans too).
fn cell(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

/// `text` as a code span.
pub fn code(text: &str) -> String {
    if text.contains('`') {
        format!("`` {text} ``")
    } else {
        format!("`{text}`")
    }
}

/// A GFM table; each cell goes through [`cell`].
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = format!("| {} |\n|", header.join(" | "));
    out.push_str(&"---|".repeat(header.len()));
    out.push('\n');
    for row in rows {
        let cells: Vec<String> = row.iter().map(|c| cell(c)).collect();
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_one_line_and_pipes_are_escaped() {
        assert_eq!(cell("a\n  b | c"), "a b \\| c");
        assert_eq!(code("x`y"), "`` x`y ``");
        assert_eq!(
            table(&["A", "B"], &[vec!["1\n2".into(), "`a|b`".into()]]),
            "| A | B |\n|---|---|\n| 1 2 | `a\\|b` |\n"
        );
    }
}
