//! Writes a manifest as a stream: lines are buffered up to one part; a small manifest is
//! one PUT, a large one a multipart upload, so memory stays at one part.

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::CompletedPart;
use bytes::Bytes;

use std::sync::Arc;

use super::{Header, Line, VERSION};
use crate::error::Result;
use crate::lock::Lock;
use crate::ops::content_md5;
use crate::ops::hash::md5_of;
use crate::ops::multipart::{self, Expected};
use crate::remote::Remote;
use crate::retry::Backoff;
use crate::stats::Stats;

/// Bytes buffered before a part is sent.
const PART_SIZE: usize = 8 << 20;

/// A manifest being written.
pub struct Writer {
    remote: Remote,
    key: String,
    buf: Vec<u8>,
    upload: Option<(String, Vec<CompletedPart>)>,
    /// Bytes sent in parts so far, to recognise the object after a lost answer.
    sent: u64,
    backoff: Backoff,
    stats: Arc<Stats>,
    /// The Object Lock of the copy it describes: the manifest is locked like its objects,
    /// and pruning reads the copy's date from it.
    lock: Option<Lock>,
}

impl Writer {
    /// Starts the manifest of `remote` at `key`.
    pub fn new(remote: Remote, key: String, stats: Arc<Stats>) -> Writer {
        let mut buf = Vec::with_capacity(64 * 1024);
        // A header of two plain fields always serialises.
        let header = serde_json::to_vec(&Header {
            ferry_manifest: VERSION,
        })
        .unwrap_or_default();
        buf.extend_from_slice(&header);
        buf.push(b'\n');
        Writer {
            remote,
            key,
            buf,
            upload: None,
            sent: 0,
            backoff: Backoff::default(),
            stats,
            lock: None,
        }
    }

    /// Locks the manifest as the objects of its copy.
    pub fn locked(self, lock: Option<Lock>) -> Writer {
        Writer { lock, ..self }
    }

    /// Appends a line; lines must come in key order.
    pub async fn push(&mut self, line: &Line) -> Result<()> {
        if serde_json::to_writer(&mut self.buf, line).is_ok() {
            self.buf.push(b'\n');
        }
        // Through crypt the manifest is sealed whole at the end (see `crate::crypt`).
        if self.buf.len() >= PART_SIZE && self.remote.crypt.is_none() {
            self.send_part().await?;
        }
        Ok(())
    }

    /// Stores the manifest.
    pub async fn finish(mut self) -> Result<()> {
        if self.upload.is_none() {
            let remote = &self.remote;
            let plain = std::mem::take(&mut self.buf);
            let body = Bytes::from(match &remote.crypt {
                Some(crypt) => crypt.seal(&plain)?,
                None => plain,
            });
            let md5 = content_md5(&md5_of(&body));
            let lock = self.lock.as_ref();
            return self
                .backoff
                .run("PutObject manifest", || async {
                    remote
                        .client
                        .put_object()
                        .bucket(&remote.bucket)
                        .key(&self.key)
                        .content_type("application/x-ndjson")
                        // Object Lock requires it; it protects the body anyway.
                        .content_md5(md5.as_str())
                        .set_object_lock_mode(lock.map(|l| l.mode.s3()))
                        .set_object_lock_retain_until_date(lock.and_then(Lock::until))
                        .set_object_lock_legal_hold_status(lock.and_then(Lock::hold))
                        .body(ByteStream::from(body.clone()))
                        .send()
                        .await
                        .map(drop)
                        .map_err(|e| remote.error("PutObject", &self.key, e))
                })
                .await;
        }
        if !self.buf.is_empty() {
            self.send_part().await?;
        }
        let remote = &self.remote;
        let Some((id, parts)) = self.upload.take() else {
            return Ok(());
        };
        let expected = Expected {
            size: self.sent,
            md5: None,
            mtime: None,
        };
        let result =
            multipart::complete(remote, &self.stats, &self.key, &id, parts, expected).await;
        if result.is_err() {
            multipart::abort(remote, &self.key, &id).await;
        }
        result.map(drop)
    }

    /// Gives up: a multipart upload already started is aborted; nothing is stored.
    pub async fn abort(self) {
        if let Some((id, _)) = &self.upload {
            multipart::abort(&self.remote, &self.key, id).await;
        }
    }

    async fn send_part(&mut self) -> Result<()> {
        let remote = &self.remote;
        if self.upload.is_none() {
            let lock = self.lock.as_ref();
            let created = self
                .backoff
                .run("CreateMultipartUpload manifest", || async {
                    remote
                        .client
                        .create_multipart_upload()
                        .bucket(&remote.bucket)
                        .key(&self.key)
                        .content_type("application/x-ndjson")
                        .set_object_lock_mode(lock.map(|l| l.mode.s3()))
                        .set_object_lock_retain_until_date(lock.and_then(Lock::until))
                        .set_object_lock_legal_hold_status(lock.and_then(Lock::hold))
                        .send()
                        .await
                        .map_err(|e| remote.error("CreateMultipartUpload", &self.key, e))
                })
                .await?;
            self.upload = Some((created.upload_id.unwrap_or_default(), Vec::new()));
        }
        let Some((id, parts)) = self.upload.as_mut() else {
            return Ok(());
        };
        let number = i32::try_from(parts.len() + 1).unwrap_or(i32::MAX);
        let body = Bytes::from(std::mem::take(&mut self.buf));
        self.sent += body.len() as u64;
        let part = self
            .backoff
            .run("UploadPart manifest", || async {
                remote
                    .client
                    .upload_part()
                    .bucket(&remote.bucket)
                    .key(&self.key)
                    .upload_id(id.as_str())
                    .part_number(number)
                    .body(ByteStream::from(body.clone()))
                    .send()
                    .await
                    .map_err(|e| remote.error("UploadPart", &self.key, e))
            })
            .await;
        match part {
            Ok(out) => {
                parts.push(
                    CompletedPart::builder()
                        .part_number(number)
                        .set_e_tag(out.e_tag)
                        .build(),
                );
                Ok(())
            }
            Err(e) => {
                multipart::abort(remote, &self.key, id).await;
                self.upload = None;
                Err(e)
            }
        }
    }
}
