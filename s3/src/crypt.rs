//! Syncing through an rclone `crypt` remote: the one seam between the engine and
//! [`ferry_crypt`]. A [`Remote`] with a [`Crypt`] keeps plaintext relative keys and sizes
//! everywhere the engine compares (the march, the manifest, size and mtime checks), and
//! turns them into what is stored only at the edges: [`Remote::key`] encrypts the name,
//! uploads seal the body ([`Crypt::seal`], [`Crypt::upload_large`]), downloads open it
//! ([`Decoder`]), and the listing decrypts names and sizes ([`decrypt_listing`]).
//!
//! What differs from a plain remote, as with rclone's crypt:
//! - stored names sort in another order than their plaintext, so the listing is read
//!   whole, decrypted and sorted before the march sees it (memory in proportion to the
//!   number of objects, as the manifest's);
//! - no hash passes through crypt: the ETag and `md5chksum` are those of the encrypted
//!   bytes. They still check each transfer of the stored bytes, but never compare with a
//!   local file, so a changed mtime means a copy (rclone does the same);
//! - the manifest is stored like an object, sealed with the data key, beside the crypt
//!   remote's (encrypted) prefix: it holds plaintext names, sizes and mtimes, which must
//!   not be readable in the bucket;
//! - a wrong password fails the sync before anything is written or deleted: no listed name
//!   decrypts (standard names), or one object's first block does not authenticate
//!   (obfuscated or clear names, whose names always "decrypt").

use std::fs::File;
use std::io::{Read, Write};
use std::sync::Arc;

use aws_sdk_s3::primitives::ByteStream;
use bytes::{Bytes, BytesMut};
use ferry_crypt::{Cipher, ContentError, DecryptWriter, NameMode};
use tokio::task::JoinSet;

use super::config::rclone::{CryptSection, crypt_error};
use super::entry::{Kind, LocalEntry, RemoteEntry, is_dir_key};
use super::error::{Error, Result};
use super::list::local::local_entry;
use super::ops::multipart::{self, Expected, part_size};
use super::ops::upload::{Uploaded, same};
use super::ops::{Ctx, blocking};
use super::remote::Remote;

/// The first block of an object: its header and one sealed 64 KiB block. A ranged GET of
/// this much is enough to tell a wrong password.
const FIRST_BLOCK: u64 = 32 + 16 + 64 * 1024;

/// One crypt remote's cipher and what messages need to name it.
pub struct Crypt {
    cipher: Cipher,
    /// `[secret] of /etc/rclone.conf`.
    section: String,
    strict_names: bool,
    /// The crypt remote's root in the bucket (what its `remote` names), with its `/`.
    root: String,
}

impl std::fmt::Debug for Crypt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Crypt")
            .field("section", &self.section)
            .field("cipher", &self.cipher)
            .finish()
    }
}

impl Crypt {
    /// Derives the keys of `section` (scrypt: once per sync); `root` is the key prefix
    /// its `remote` names in the bucket.
    pub fn new(section: &CryptSection, root: &str) -> Result<Crypt> {
        Ok(Crypt {
            cipher: section.config.cipher().map_err(crypt_error)?,
            section: format!("[{}] of {}", section.config.section, section.file),
            strict_names: section.config.strict_names,
            root: match root.is_empty() {
                true => String::new(),
                false => format!("{root}/"),
            },
        })
    }

    /// Fails, fatally and naming the section, when the password (or password2) is not
    /// the one the crypt remote was written with. Looks at the remote's root, not only at
    /// the synced path: with encrypted directory names another password maps `secret:data`
    /// to another, empty, directory. With standard names: the first page of names below
    /// the root holds names and none decrypts. With obfuscated or clear names (which
    /// decrypt under any password): the first block of one object does not authenticate.
    /// One LIST, and one ranged GET for those modes.
    pub async fn check_password(&self, remote: &Remote) -> Result<()> {
        let page = remote
            .client
            .list_objects_v2()
            .bucket(&remote.bucket)
            .prefix(&self.root)
            .max_keys(1000)
            .send()
            .await
            .map_err(|e| remote.error("ListObjectsV2", &self.root, e))?;
        let (mut decrypted, mut wrong, mut probe) = (0usize, 0usize, None);
        for object in page.contents.unwrap_or_default() {
            let Some(rel) = object
                .key
                .as_deref()
                .and_then(|k| k.strip_prefix(&self.root))
            else {
                continue;
            };
            // Ferry's manifests sit beside the prefixes they describe.
            if rel.is_empty() || rel.ends_with(crate::manifest::SUFFIX) {
                continue;
            }
            let name = match rel.strip_suffix('/') {
                Some(dir) => self.cipher.decrypt_dir_name(dir),
                None => self.cipher.decrypt_file_name(rel),
            };
            let named = name.is_ok();
            match name {
                Ok(_) => decrypted += 1,
                Err(ferry_crypt::Error::Name { reason, .. })
                    if reason.suggests_wrong_password() =>
                {
                    wrong += 1;
                }
                Err(_) => {}
            }
            let size = u64::try_from(object.size.unwrap_or(0)).unwrap_or(0);
            if probe.is_none() && !is_dir_key(rel) && named && size > 48 {
                probe = object.key.clone().map(|k| (k, size));
            }
        }
        if decrypted == 0 && wrong > 0 {
            return Err(self.wrong_password(&format!(
                "none of the {wrong} names below \"{}/{}\" decrypts",
                remote.bucket, self.root
            )));
        }
        let names_prove = matches!(self.cipher.names().mode(), NameMode::Standard { .. });
        let Some((key, size)) = probe.filter(|_| !names_prove && self.cipher.encrypts_data())
        else {
            return Ok(());
        };
        let got = remote
            .client
            .get_object()
            .bucket(&remote.bucket)
            .key(&key)
            .range(format!("bytes=0-{}", size.min(FIRST_BLOCK) - 1))
            .send()
            .await
            .map_err(|e| remote.error("GetObject", &key, e))?;
        let Ok(body) = got.body.collect().await else {
            // Not proof either way; the downloads will tell.
            return Ok(());
        };
        let opened = self
            .cipher
            .decrypt_reader(body.into_bytes().as_ref())
            .and_then(|mut r| r.read_to_end(&mut Vec::new()));
        match opened {
            Err(e) if ContentError::from_io(&e) == Some(&ContentError::Authentication) => {
                Err(self.wrong_password(&format!("the first block of {key} does not authenticate")))
            }
            _ => Ok(()),
        }
    }

    /// The stored form of the crypt remote's own sub-path (`secret:a/b` gives `a/b`).
    pub fn stored_dir(&self, path: &str) -> Result<String> {
        self.cipher
            .encrypt_dir_name(path)
            .map_err(|e| name_error(path, e))
    }

    /// The plaintext of one stored directory name, if it decrypts.
    pub fn plain_dir(&self, stored: &str) -> Option<String> {
        self.cipher.decrypt_dir_name(stored).ok()
    }

    /// The stored relative key of plaintext relative key `rel` (a directory marker's keeps
    /// its trailing `/`).
    pub fn stored_key(&self, rel: &str) -> Result<String> {
        let stored = match rel.strip_suffix('/') {
            Some(dir) => self.cipher.encrypt_dir_name(dir).map(|d| d + "/"),
            None => self.cipher.encrypt_file_name(rel),
        };
        stored.map_err(|e| name_error(rel, e))
    }

    /// The plaintext size of the object at `rel` stored in `stored` bytes (a marker's is
    /// 0); `u64::MAX`, which no local file matches, for a size crypt never writes.
    pub fn plain_size(&self, rel: &str, stored: u64) -> u64 {
        match is_dir_key(rel) {
            true => 0,
            false => self.cipher.decrypted_size(stored).unwrap_or(u64::MAX),
        }
    }

    /// Seals a whole body (a small file, a symlink's target, the manifest).
    pub fn seal(&self, plain: &[u8]) -> Result<Vec<u8>> {
        let size = usize::try_from(self.cipher.encrypted_size(plain.len() as u64)).unwrap_or(0);
        let mut out = Vec::with_capacity(size);
        self.cipher
            .encrypt_reader(plain)
            .map_err(crypt_error)?
            .read_to_end(&mut out)
            .map_err(|e| Error::config(&self.section, e.to_string(), "retry"))?;
        Ok(out)
    }

    /// Opens a whole stored body; `key` names it in the error.
    pub fn open(&self, key: &str, stored: &[u8]) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.cipher
            .decrypt_reader(stored)
            .and_then(|mut r| r.read_to_end(&mut out))
            .map_err(|e| content_error(key, &e))?;
        Ok(out)
    }

    /// A decoder for one download.
    pub fn decoder(&self) -> Decoder {
        Decoder(Some(self.cipher.decrypt_writer(Vec::new())))
    }

    /// The fatal error of a wrong password (or password2), naming the section.
    fn wrong_password(&self, evidence: &str) -> Error {
        Error::config(
            format!("password/password2 in {}", self.section),
            format!("do not match what is stored: {evidence}; nothing was written or deleted"),
            "set the passwords the remote was written with (as `rclone obscure` prints them)",
        )
    }

    /// Uploads a file larger than the cutoff in parts, sealing it as it is read (one
    /// read, in order: the nonce advances per block). `md5chksum` is not recorded: rclone
    /// records no hash through crypt either.
    pub async fn upload_large(&self, ctx: &Arc<Ctx>, entry: &LocalEntry) -> Result<Uploaded> {
        let path = entry.path.clone();
        let (file, before) = blocking(move || {
            let file = File::open(&path).map_err(|e| Error::local("open", &path, e))?;
            let meta = file
                .metadata()
                .map_err(|e| Error::local("stat", &path, e))?;
            Ok((file, meta))
        })
        .await?;
        let fresh = local_entry(entry.key.clone(), entry.path.clone(), Kind::File, &before);
        let stored_size = self.cipher.encrypted_size(fresh.size);
        let key = ctx.remote.key(&entry.key);
        let created = ctx
            .remote
            .client
            .create_multipart_upload()
            .bucket(&ctx.remote.bucket)
            .key(&key)
            .set_metadata(Some(fresh.meta.to_user_metadata(true)))
            .set_acl(ctx.acl())
            .set_server_side_encryption(ctx.sse())
            .set_storage_class(ctx.storage_class())
            .set_object_lock_mode(ctx.lock_mode())
            .set_object_lock_retain_until_date(ctx.lock_until())
            .set_object_lock_legal_hold_status(ctx.legal_hold())
            .send()
            .await
            .map_err(|e| ctx.remote.error("CreateMultipartUpload", &key, e))?;
        let id = created.upload_id.unwrap_or_default();
        let sealer = self.cipher.encrypt_reader(file).map_err(crypt_error)?;
        let work = async {
            let part = part_size(stored_size, ctx.opts.upload.part_size.min(ctx.budget()));
            let mut reader = Some(sealer);
            let mut inflight: JoinSet<Result<_>> = JoinSet::new();
            let (mut parts, mut sent, mut number) = (Vec::new(), 0u64, 0i32);
            loop {
                while inflight.len() >= ctx.opts.upload.part_concurrency.max(1) {
                    if let Some(done) = inflight.join_next().await {
                        parts.push(done.map_err(Error::Task)??);
                    }
                }
                let memory = ctx.reserve_owned(part).await?;
                let mut taken = reader.take();
                let path = fresh.path.clone();
                let (back, body) = blocking(move || {
                    let mut buf = BytesMut::zeroed(usize::try_from(part).unwrap_or(0));
                    let mut filled = 0;
                    if let Some(r) = taken.as_mut() {
                        while filled < buf.len() {
                            match r.read(&mut buf[filled..]) {
                                Ok(0) => break,
                                Ok(n) => filled += n,
                                Err(e) => return Err(Error::local("read", &path, e)),
                            }
                        }
                    }
                    buf.truncate(filled);
                    Ok((taken, buf.freeze()))
                })
                .await?;
                reader = back;
                if body.is_empty() && number > 0 {
                    break;
                }
                number += 1;
                sent += body.len() as u64;
                let last = (body.len() as u64) < part;
                let (ctx, key, id) = (Arc::clone(ctx), key.clone(), id.clone());
                inflight.spawn(async move {
                    let done = multipart::upload_part(&ctx, &key, &id, number, body).await;
                    drop(memory);
                    done
                });
                if last {
                    break;
                }
            }
            while let Some(done) = inflight.join_next().await {
                parts.push(done.map_err(Error::Task)??);
            }
            parts.sort_by_key(|p| p.part_number);
            let after =
                std::fs::metadata(&fresh.path).map_err(|e| Error::local("stat", &fresh.path, e))?;
            if sent != stored_size || !same(&before, &after) {
                return Err(Error::SourceChanged {
                    path: fresh.path.clone(),
                });
            }
            let expected = Expected {
                size: stored_size,
                md5: None,
                mtime: Some(fresh.mtime),
            };
            multipart::complete(&ctx.remote, &ctx.stats, &key, &id, parts, expected).await
        };
        let result = tokio::select! {
            result = work => result,
            () = ctx.cancel.wait() => Err(Error::Cancelled),
        };
        match result {
            Ok(etag) => Ok(Uploaded {
                etag,
                size: fresh.size,
                mtime: fresh.mtime,
                md5: [0; 16],
            }),
            Err(e) => {
                multipart::abort(&ctx.remote, &key, &id).await;
                Err(e)
            }
        }
    }
}

/// Decrypts a download as its chunks arrive; without crypt, passes them through.
pub struct Decoder(Option<DecryptWriter<Vec<u8>>>);

impl Decoder {
    /// The decoder of `remote`'s downloads.
    pub fn of(remote: &Remote) -> Decoder {
        match &remote.crypt {
            Some(crypt) => crypt.decoder(),
            None => Decoder(None),
        }
    }

    /// The plaintext that `chunk` completes (whole blocks only; the rest waits).
    pub fn feed(&mut self, key: &str, chunk: Bytes) -> Result<Bytes> {
        let Some(writer) = self.0.as_mut() else {
            return Ok(chunk);
        };
        writer
            .write_all(&chunk)
            .map_err(|e| content_error(key, &e))?;
        Ok(Bytes::from(std::mem::take(writer.get_mut())))
    }

    /// The last plaintext, once the body has ended; an error if it was cut short.
    pub fn finish(&mut self, key: &str) -> Result<Bytes> {
        match self.0.take() {
            None => Ok(Bytes::new()),
            Some(writer) => writer
                .finish()
                .map(Bytes::from)
                .map_err(|e| content_error(key, &e)),
        }
    }
}

/// The plaintext entries of a crypt remote's raw listing (stored relative keys and sizes),
/// sorted by plaintext key. Names that do not decrypt are skipped with a warning, as
/// rclone does (an error each with `strict_names`). Fails, fatally, when the password is
/// wrong ([`Crypt::check_password`]).
pub async fn decrypt_listing(
    remote: &Remote,
    crypt: &Crypt,
    raw: Vec<RemoteEntry>,
) -> Result<Vec<Result<RemoteEntry>>> {
    crypt.check_password(remote).await?;
    let mut out = Vec::with_capacity(raw.len());
    for entry in raw {
        let name = match entry.key.strip_suffix('/') {
            Some(dir) => crypt.cipher.decrypt_dir_name(dir).map(|d| d + "/"),
            None => crypt.cipher.decrypt_file_name(&entry.key),
        };
        let plain = match name {
            Ok(plain) => plain,
            Err(e) => {
                let key = remote.list_prefix() + &entry.key;
                if crypt.strict_names {
                    out.push(Err(Error::Unsupported {
                        key,
                        problem: format!("{e} (strict_names is set)"),
                    }));
                } else {
                    tracing::warn!("{key}: skipped: {e}");
                }
                continue;
            }
        };
        let size = match is_dir_key(&entry.key) {
            true => Ok(0),
            false => crypt.cipher.decrypted_size(entry.size),
        };
        match size {
            Ok(size) => out.push(Ok(RemoteEntry {
                key: plain,
                size,
                ..entry
            })),
            Err(e) => out.push(Err(Error::Unsupported {
                key: remote.list_prefix() + &entry.key,
                problem: e.to_string(),
            })),
        }
    }
    out.sort_by(|a, b| match (a, b) {
        (Ok(a), Ok(b)) => a.key.cmp(&b.key),
        (Err(_), Ok(_)) => std::cmp::Ordering::Less,
        (Ok(_), Err(_)) => std::cmp::Ordering::Greater,
        (Err(_), Err(_)) => std::cmp::Ordering::Equal,
    });
    Ok(out)
}

/// Reads a sealed manifest body whole and opens it; `None` when it does not open (the
/// sync then HEADs what it needs, as without a manifest).
pub async fn open_manifest(crypt: &Crypt, key: &str, body: ByteStream) -> Option<ByteStream> {
    let stored = body.collect().await.ok()?.into_bytes();
    match crypt.open(key, &stored) {
        Ok(plain) => Some(ByteStream::from(plain)),
        Err(e) => {
            tracing::warn!(error = %e, "cannot open the manifest; checking objects one by one");
            None
        }
    }
}

fn name_error(name: &str, e: ferry_crypt::Error) -> Error {
    Error::Unsupported {
        key: name.to_owned(),
        problem: format!("{e}; not stored: shorten the name"),
    }
}

fn content_error(key: &str, e: &std::io::Error) -> Error {
    Error::Corrupt {
        key: key.to_owned(),
        what: "crypt content",
        expected: String::from("rclone's crypt format, authenticated"),
        got: ContentError::from_io(e).map_or_else(|| e.to_string(), ToString::to_string),
    }
}

/// The remote's crypt layer, for code that handles both kinds of remote.
pub fn of(remote: &Remote) -> Option<&Crypt> {
    remote.crypt.as_deref()
}
