//! rclone's encrypted file format, streamed in bounded memory.
//!
//! An encrypted object is the 8-byte magic `RCLONE\0\0`, a random 24-byte nonce, then the
//! plaintext in blocks of 64 KiB (the last one shorter, none for an empty file), each
//! sealed with NaCl secretbox (XSalsa20-Poly1305: a 16-byte tag, then the ciphertext).
//! The nonce is incremented, as a little-endian number, after each block. Each adapter
//! holds one block buffer, allocated once.

use std::io::{self, Read, Write};

use xsalsa20poly1305::aead::generic_array::GenericArray;
use xsalsa20poly1305::{AeadInPlace, KeyInit, Tag, XSalsa20Poly1305};

use crate::error::ContentError;
use crate::{Error, Result};

/// The file magic.
pub const MAGIC: &[u8; 8] = b"RCLONE\x00\x00";
/// Nonce length.
pub const NONCE_LEN: usize = 24;
/// Magic plus nonce.
pub const HEADER_LEN: usize = MAGIC.len() + NONCE_LEN;
/// Plaintext bytes per block.
pub const BLOCK_DATA_LEN: usize = 64 * 1024;
/// The secretbox tag in front of each block.
pub const TAG_LEN: usize = 16;
/// A full encrypted block.
pub const BLOCK_LEN: usize = TAG_LEN + BLOCK_DATA_LEN;

/// The encrypted size of `plaintext` bytes, exactly as rclone computes it (so sizes compare
/// through crypt): 32 + the plaintext + 16 per started 64 KiB block.
pub fn encrypted_size(plaintext: u64) -> u64 {
    let (blocks, residue) = (
        plaintext / BLOCK_DATA_LEN as u64,
        plaintext % BLOCK_DATA_LEN as u64,
    );
    // Saturating: only sizes near 2^64 (no store holds them) would overflow.
    let mut size = (blocks.saturating_mul(BLOCK_LEN as u64)).saturating_add(HEADER_LEN as u64);
    if residue != 0 {
        size = size.saturating_add(TAG_LEN as u64 + residue);
    }
    size
}

/// The plaintext size of an encrypted object of `encrypted` bytes; an error for sizes that
/// crypt never writes (shorter than the header, or a last block without data).
pub fn decrypted_size(encrypted: u64) -> Result<u64, ContentError> {
    let body = encrypted
        .checked_sub(HEADER_LEN as u64)
        .ok_or(ContentError::BadSize(encrypted))?;
    let (blocks, residue) = (body / BLOCK_LEN as u64, body % BLOCK_LEN as u64);
    let mut size = blocks * BLOCK_DATA_LEN as u64;
    if residue != 0 {
        if residue <= TAG_LEN as u64 {
            return Err(ContentError::BadSize(encrypted));
        }
        size += residue - TAG_LEN as u64;
    }
    Ok(size)
}

/// A file's nonce: 24 bytes, incremented per block as a little-endian number.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Nonce(pub [u8; NONCE_LEN]);

impl Nonce {
    /// A fresh random nonce from the operating system.
    pub fn random() -> Result<Self> {
        let mut bytes = [0u8; NONCE_LEN];
        getrandom::fill(&mut bytes).map_err(|e| Error::Random(e.to_string()))?;
        Ok(Self(bytes))
    }

    /// Adds one, carrying upwards from byte 0.
    pub fn increment(&mut self) {
        for byte in &mut self.0 {
            let (next, overflow) = byte.overflowing_add(1);
            *byte = next;
            if !overflow {
                break;
            }
        }
    }
}

/// The secretbox of one file: the data key; shared by the adapters, cheap to clone.
#[derive(Clone)]
pub(crate) struct Sealer(XSalsa20Poly1305);

impl Sealer {
    pub(crate) fn new(data_key: &[u8; 32]) -> Self {
        Self(XSalsa20Poly1305::new(GenericArray::from_slice(data_key)))
    }

    /// Seals `block[TAG_LEN..]` in place and writes its tag into `block[..TAG_LEN]`.
    fn seal(&self, nonce: &Nonce, block: &mut [u8]) -> io::Result<()> {
        let (tag, data) = block.split_at_mut(TAG_LEN);
        // Only a message beyond the cipher's limit (far above 64 KiB) fails to seal.
        let sealed = self
            .0
            .encrypt_in_place_detached(GenericArray::from_slice(&nonce.0), b"", data)
            .map_err(|_| io::Error::other("XSalsa20-Poly1305 refused to seal a block"))?;
        tag.copy_from_slice(&sealed);
        Ok(())
    }

    /// Opens `block` (tag then ciphertext) in place; the plaintext is `block[TAG_LEN..]`.
    fn open(&self, nonce: &Nonce, block: &mut [u8]) -> Result<(), ContentError> {
        let (tag, data) = block.split_at_mut(TAG_LEN);
        let tag = Tag::clone_from_slice(tag);
        self.0
            .decrypt_in_place_detached(GenericArray::from_slice(&nonce.0), b"", data, &tag)
            .map_err(|_| ContentError::Authentication)
    }
}

/// Reads until `buf` is full or the reader ends; returns how much it read.
fn read_fill(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// A block buffer, allocated once per adapter.
fn block_buffer() -> Box<[u8]> {
    vec![0u8; BLOCK_LEN].into_boxed_slice()
}

/// Encrypts a plaintext reader: reading from it gives the encrypted object, header first.
/// With data encryption off (`no_data_encryption`), it passes the plaintext through.
pub struct Encrypter<R> {
    inner: R,
    sealer: Option<Sealer>,
    nonce: Nonce,
    buf: Box<[u8]>,
    /// Unread bytes are `buf[pos..end]`.
    pos: usize,
    end: usize,
    done: bool,
}

impl<R: Read> Encrypter<R> {
    pub(crate) fn new(inner: R, sealer: Option<Sealer>, nonce: Nonce) -> Self {
        let mut buf = if sealer.is_some() {
            block_buffer()
        } else {
            Box::default()
        };
        let end = if sealer.is_some() {
            buf[..MAGIC.len()].copy_from_slice(MAGIC);
            buf[MAGIC.len()..HEADER_LEN].copy_from_slice(&nonce.0);
            HEADER_LEN
        } else {
            0
        };
        Self {
            inner,
            sealer,
            nonce,
            buf,
            pos: 0,
            end,
            done: false,
        }
    }

    /// The wrapped reader.
    pub fn into_inner(self) -> R {
        self.inner
    }
}

impl<R: Read> Read for Encrypter<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let Some(sealer) = &self.sealer else {
            return self.inner.read(out);
        };
        if out.is_empty() {
            return Ok(0);
        }
        if self.pos == self.end {
            if self.done {
                return Ok(0);
            }
            let n = read_fill(&mut self.inner, &mut self.buf[TAG_LEN..])?;
            if n == 0 {
                self.done = true;
                return Ok(0);
            }
            if n < BLOCK_DATA_LEN {
                // A short block is the last one: the reader has ended.
                self.done = true;
            }
            sealer.seal(&self.nonce, &mut self.buf[..TAG_LEN + n])?;
            self.nonce.increment();
            self.pos = 0;
            self.end = TAG_LEN + n;
        }
        let n = out.len().min(self.end - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Decrypts an encrypted reader: reading from it gives the plaintext. Every block is
/// authenticated before any of its bytes are returned. With data encryption off, it
/// passes the bytes through.
pub struct Decrypter<R> {
    inner: R,
    opener: Option<Sealer>,
    nonce: Nonce,
    buf: Box<[u8]>,
    /// Unread plaintext is `buf[pos..end]`.
    pos: usize,
    end: usize,
    done: bool,
}

impl<R: Read> Decrypter<R> {
    /// Reads and checks the header; errors if the object is too short or lacks the magic.
    pub(crate) fn new(mut inner: R, opener: Option<Sealer>) -> io::Result<Self> {
        let mut nonce = Nonce([0; NONCE_LEN]);
        let buf = if opener.is_some() {
            let mut header = [0u8; HEADER_LEN];
            if read_fill(&mut inner, &mut header)? < HEADER_LEN {
                return Err(ContentError::TooShort.into_io());
            }
            if &header[..MAGIC.len()] != MAGIC {
                return Err(ContentError::BadMagic.into_io());
            }
            nonce.0.copy_from_slice(&header[MAGIC.len()..]);
            block_buffer()
        } else {
            Box::default()
        };
        Ok(Self {
            inner,
            opener,
            nonce,
            buf,
            pos: 0,
            end: 0,
            done: false,
        })
    }

    /// The file's nonce, from its header.
    pub fn nonce(&self) -> Nonce {
        self.nonce
    }

    /// The wrapped reader.
    pub fn into_inner(self) -> R {
        self.inner
    }
}

impl<R: Read> Read for Decrypter<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let Some(opener) = &self.opener else {
            return self.inner.read(out);
        };
        if out.is_empty() {
            return Ok(0);
        }
        if self.pos == self.end {
            if self.done {
                return Ok(0);
            }
            let n = read_fill(&mut self.inner, &mut self.buf)?;
            if n == 0 {
                self.done = true;
                return Ok(0);
            }
            if n <= TAG_LEN {
                return Err(ContentError::Truncated.into_io());
            }
            if n < BLOCK_LEN {
                self.done = true;
            }
            opener
                .open(&self.nonce, &mut self.buf[..n])
                .map_err(ContentError::into_io)?;
            self.nonce.increment();
            self.pos = TAG_LEN;
            self.end = n;
        }
        let n = out.len().min(self.end - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Decrypts what is written to it and writes the plaintext on: for bodies that arrive in
/// chunks (an S3 GET). Call [`DecryptWriter::finish`] at the end: the last block is only
/// decrypted there, and a truncated object is only detected there. Blocks before a bad
/// one have been written on by then, so write to a temporary file and keep it only when
/// `finish` succeeds; after an error, drop the writer.
pub struct DecryptWriter<W> {
    inner: W,
    opener: Option<Sealer>,
    nonce: Nonce,
    buf: Box<[u8]>,
    /// Buffered ciphertext is `buf[..len]` (the header first, then one block at a time).
    len: usize,
    header_done: bool,
}

impl<W: Write> DecryptWriter<W> {
    pub(crate) fn new(inner: W, opener: Option<Sealer>) -> Self {
        let buf = if opener.is_some() {
            block_buffer()
        } else {
            Box::default()
        };
        Self {
            inner,
            opener,
            nonce: Nonce([0; NONCE_LEN]),
            buf,
            len: 0,
            header_done: false,
        }
    }

    /// The inner writer. With a `Vec<u8>` inside, an async caller can take the plaintext
    /// out after each `write_all` (`std::mem::take(w.get_mut())`) and write it on itself.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    /// Decrypts the last block, flushes, and returns the inner writer; errors if the
    /// object was cut short.
    pub fn finish(mut self) -> io::Result<W> {
        if let Some(opener) = &self.opener {
            if !self.header_done {
                return Err(ContentError::TooShort.into_io());
            }
            if self.len > 0 {
                if self.len <= TAG_LEN {
                    return Err(ContentError::Truncated.into_io());
                }
                opener
                    .open(&self.nonce, &mut self.buf[..self.len])
                    .map_err(ContentError::into_io)?;
                self.inner.write_all(&self.buf[TAG_LEN..self.len])?;
                self.len = 0;
            }
        }
        self.inner.flush()?;
        Ok(self.inner)
    }
}

impl<W: Write> Write for DecryptWriter<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let Some(opener) = &self.opener else {
            return self.inner.write(data);
        };
        let want = if self.header_done {
            BLOCK_LEN
        } else {
            HEADER_LEN
        };
        let n = data.len().min(want - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&data[..n]);
        self.len += n;
        if self.len == want {
            if self.header_done {
                // A full block; the next one (if any) is in a later write. A full block
                // is never the short last one, so it can be opened now.
                opener
                    .open(&self.nonce, &mut self.buf[..BLOCK_LEN])
                    .map_err(ContentError::into_io)?;
                self.nonce.increment();
                self.inner.write_all(&self.buf[TAG_LEN..BLOCK_LEN])?;
                self.len = 0;
            } else {
                if &self.buf[..MAGIC.len()] != MAGIC {
                    return Err(ContentError::BadMagic.into_io());
                }
                self.nonce
                    .0
                    .copy_from_slice(&self.buf[MAGIC.len()..HEADER_LEN]);
                self.header_done = true;
                self.len = 0;
            }
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
#[path = "content_tests.rs"]
mod tests;
