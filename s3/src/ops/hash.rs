//! MD5 of local files and symlinks.

use std::io::Read;
use std::path::Path;

use md5::{Digest, Md5};

use super::blocking;
use crate::entry::{Kind, LocalEntry};
use crate::error::{Error, Result};

/// Read size for hashing.
const CHUNK: usize = 1 << 20;

/// The MD5 of a local entry: the file's content, or a symlink's target.
pub async fn local_md5(entry: &LocalEntry) -> Result<[u8; 16]> {
    let path = entry.path.clone();
    let kind = entry.kind;
    blocking(move || match kind {
        Kind::File => file_md5(&path),
        Kind::Symlink => Ok(md5_of(&link_target(&path)?)),
        Kind::Dir => Ok(md5_of(b"")),
    })
    .await
}

/// The MD5 of a file, read in 1 MiB chunks.
pub fn file_md5(path: &Path) -> Result<[u8; 16]> {
    let file = std::fs::File::open(path).map_err(|e| Error::local("open", path, e))?;
    reader_md5(&file, path)
}

/// The MD5 of what `file` (at `path`, for messages) holds from its current position.
pub fn reader_md5(mut file: &std::fs::File, path: &Path) -> Result<[u8; 16]> {
    let mut hasher = Md5::new();
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| Error::local("read", path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finalize().into())
}

/// The MD5 of bytes.
pub fn md5_of(bytes: &[u8]) -> [u8; 16] {
    Md5::digest(bytes).into()
}

/// A symlink's target as bytes (the body of its `.rclonelink` object).
pub fn link_target(path: &Path) -> Result<Vec<u8>> {
    use std::os::unix::ffi::OsStrExt;
    let target = std::fs::read_link(path).map_err(|e| Error::local("read link", path, e))?;
    Ok(target.as_os_str().as_bytes().to_vec())
}
