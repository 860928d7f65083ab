//! The march: merges two listings in key order into pairs, source only, destination only,
//! or both, holding one entry of each side at a time.

use tokio::sync::mpsc::Receiver;

use super::entry::Keyed;
use super::error::{Error, Result};

/// One key of the merged listings.
#[derive(Debug)]
pub enum Pair<S, D> {
    /// Only the source has it: copy.
    SrcOnly(S),
    /// Only the destination has it: a deletion candidate.
    DstOnly(D),
    /// Both have it: compare.
    Both(S, D),
}

/// Which listing an error came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The source listing.
    Src,
    /// The destination listing.
    Dst,
}

/// The merge of a source and a destination listing, both in increasing key order.
pub struct March<S, D> {
    src: Receiver<Result<S>>,
    dst: Receiver<Result<D>>,
    next_src: Option<S>,
    next_dst: Option<D>,
    src_done: bool,
    dst_done: bool,
}

impl<S: Keyed, D: Keyed> March<S, D> {
    /// Merges the two listings.
    pub fn new(src: Receiver<Result<S>>, dst: Receiver<Result<D>>) -> March<S, D> {
        March {
            src,
            dst,
            next_src: None,
            next_dst: None,
            src_done: false,
            dst_done: false,
        }
    }

    /// The next pair, a listing error with its side, or `None` when both are done.
    pub async fn next(&mut self) -> Option<Result<Pair<S, D>, (Side, Error)>> {
        if self.next_src.is_none() && !self.src_done {
            match self.src.recv().await {
                Some(Ok(entry)) => self.next_src = Some(entry),
                Some(Err(e)) => return Some(Err((Side::Src, e))),
                None => self.src_done = true,
            }
        }
        if self.next_dst.is_none() && !self.dst_done {
            match self.dst.recv().await {
                Some(Ok(entry)) => self.next_dst = Some(entry),
                Some(Err(e)) => return Some(Err((Side::Dst, e))),
                None => self.dst_done = true,
            }
        }
        let order = match (&self.next_src, &self.next_dst) {
            (None, None) => return None,
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (Some(s), Some(d)) => s.key().cmp(d.key()),
        };
        Some(Ok(match order {
            std::cmp::Ordering::Less => Pair::SrcOnly(self.next_src.take()?),
            std::cmp::Ordering::Greater => Pair::DstOnly(self.next_dst.take()?),
            std::cmp::Ordering::Equal => Pair::Both(self.next_src.take()?, self.next_dst.take()?),
        }))
    }
}

#[cfg(test)]
mod tests {
    use tokio::sync::mpsc;

    use super::*;

    struct K(&'static str);
    impl Keyed for K {
        fn key(&self) -> &str {
            self.0
        }
    }

    #[tokio::test]
    async fn merges_in_key_order() {
        let (stx, srx) = mpsc::channel(16);
        let (dtx, drx) = mpsc::channel(16);
        for k in ["a", "a.txt", "a/b", "c"] {
            stx.send(Ok(K(k))).await.unwrap();
        }
        for k in ["a.txt", "a/a", "c", "d"] {
            dtx.send(Ok(K(k))).await.unwrap();
        }
        drop((stx, dtx));
        let mut march = March::new(srx, drx);
        let mut seen = Vec::new();
        while let Some(pair) = march.next().await {
            seen.push(match pair.unwrap() {
                Pair::SrcOnly(s) => format!("+{}", s.0),
                Pair::DstOnly(d) => format!("-{}", d.0),
                Pair::Both(s, _) => format!("={}", s.0),
            });
        }
        assert_eq!(seen, ["+a", "=a.txt", "-a/a", "+a/b", "=c", "-d"]);
    }
}
