//! Reads a manifest as a stream, in step with the listing.

use aws_sdk_s3::primitives::ByteStream;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader, Lines};

use super::{Header, Line, VERSION};
use crate::remote::Remote;

/// A position in a manifest: yields the line for each key asked for in increasing order.
pub struct Cursor {
    lines: Lines<BufReader<Box<dyn AsyncRead + Send + Unpin>>>,
    pending: Option<Line>,
    last: String,
    done: bool,
}

impl Cursor {
    /// Opens the manifest of `remote` at `key`; `None` when there is none or it cannot be
    /// read (the sync then HEADs what it needs).
    pub async fn open(remote: &Remote, key: &str) -> Option<Cursor> {
        let output = match remote
            .client
            .get_object()
            .bucket(&remote.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(output) => output,
            Err(e) => {
                let e = remote.error("GetObject", key, e);
                if !e.is_not_found() {
                    tracing::warn!(error = %e, "cannot read the manifest; checking objects one by one");
                }
                return None;
            }
        };
        let body = match &remote.crypt {
            Some(crypt) => crate::crypt::open_manifest(crypt, key, output.body).await?,
            None => output.body,
        };
        Cursor::from_stream(body).await
    }

    /// A cursor over a manifest body; `None` if its header is not a known version.
    pub async fn from_stream(body: ByteStream) -> Option<Cursor> {
        let reader: Box<dyn AsyncRead + Send + Unpin> = Box::new(body.into_async_read());
        let mut lines = BufReader::with_capacity(64 * 1024, reader).lines();
        let header = lines.next_line().await.ok().flatten()?;
        match serde_json::from_str::<Header>(&header) {
            Ok(h) if h.ferry_manifest == VERSION => {}
            _ => {
                tracing::warn!("manifest has an unknown header; ignoring it");
                return None;
            }
        }
        Some(Cursor {
            lines,
            pending: None,
            last: String::new(),
            done: false,
        })
    }

    /// The line for `key`, if the manifest has one. Keys must be asked for in increasing
    /// order. A malformed or unordered manifest ends the cursor (nothing more is trusted).
    pub async fn find(&mut self, key: &str) -> Option<Line> {
        loop {
            if self.pending.is_none() {
                self.pending = self.next().await;
            }
            let line = self.pending.as_ref()?;
            match line.key.as_str().cmp(key) {
                std::cmp::Ordering::Less => self.pending = None,
                std::cmp::Ordering::Equal => return self.pending.take(),
                std::cmp::Ordering::Greater => return None,
            }
        }
    }

    /// The next line, in key order; `None` at the end (or where the manifest stops being
    /// trustworthy).
    pub async fn next(&mut self) -> Option<Line> {
        if self.done {
            return None;
        }
        let parsed = match self.lines.next_line().await {
            Ok(Some(text)) => serde_json::from_str::<Line>(&text).ok(),
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(error = %e, "manifest read failed; trusting no more of it");
                None
            }
        };
        match parsed {
            Some(line) if line.key > self.last => {
                self.last.clone_from(&line.key);
                Some(line)
            }
            other => {
                if other.is_some() {
                    tracing::warn!("manifest is out of order; trusting no more of it");
                }
                self.done = true;
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn follows_the_listing() {
        let text = "{\"ferry_manifest\":1}\n{\"k\":\"a\",\"s\":1,\"m\":1,\"e\":\"x\"}\n{\"k\":\"c\",\"s\":1,\"m\":3,\"e\":\"x\"}\n{\"k\":\"d\",\"s\":1,\"m\":4,\"e\":\"x\"}\n";
        let mut cursor = Cursor::from_stream(ByteStream::from(text.as_bytes().to_vec()))
            .await
            .unwrap();
        assert_eq!(cursor.find("a").await.map(|l| l.mtime), Some(1));
        assert_eq!(cursor.find("b").await, None);
        assert_eq!(cursor.find("d").await.map(|l| l.mtime), Some(4));
        assert_eq!(cursor.find("e").await, None);
        let bad = "{\"ferry_manifest\":2}\n";
        assert!(
            Cursor::from_stream(ByteStream::from(bad.as_bytes().to_vec()))
                .await
                .is_none()
        );
    }
}
