//! "Did you mean": the closest known name to a misspelt one.

/// The candidate closest to `word` by edit distance, if it is close enough to be a typo
/// (at most 2 edits, and fewer than a third of the word).
pub fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let word = word.to_ascii_lowercase();
    candidates
        .iter()
        .map(|c| (distance(&word, c), *c))
        .filter(|(d, c)| *d <= 2 && *d * 3 <= c.len().max(word.len()))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Damerau-Levenshtein distance (optimal string alignment) between two ASCII-ish words.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * width];
    for i in 0..=a.len() {
        d[i * width] = i;
    }
    for (j, cell) in d.iter_mut().enumerate().take(width) {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[(i - 1) * width + j] + 1)
                .min(d[i * width + j - 1] + 1)
                .min(d[(i - 1) * width + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[(i - 2) * width + j - 2] + 1);
            }
            d[i * width + j] = best;
        }
    }
    d[a.len() * width + b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_typos_only() {
        let keys = ["access_key_id", "secret_access_key", "endpoint", "region"];
        assert_eq!(
            closest("secret_acess_key", &keys),
            Some("secret_access_key")
        );
        assert_eq!(closest("acces_key_id", &keys), Some("access_key_id"));
        assert_eq!(closest("endpiont", &keys), Some("endpoint"));
        assert_eq!(closest("Region", &keys), Some("region"));
        assert_eq!(closest("colour", &keys), None);
        assert_eq!(closest("rg", &keys), None);
    }
}
