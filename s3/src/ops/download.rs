//! Downloads: the body streams into a temporary file beside the target, checked against
//! its size and MD5, given its mtime, mode and owner, then renamed into place, so a reader
//! never sees a torn file. `.rclonelink` objects become symlinks with `--links`.

use std::fs::{File, FileTimes, Permissions};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use md5::{Digest, Md5};
use tokio::io::AsyncWriteExt;

use super::{Ctx, blocking};
use crate::crypt::Decoder;
use crate::entry::{LINK_SUFFIX, Links, RemoteEntry, md5_hex, parse_md5_hex};
use crate::error::{Class, Error, Result};
use crate::meta::FileMeta;

/// Longest symlink target accepted from a `.rclonelink` object.
const MAX_LINK: usize = 64 * 1024;

/// Downloads `entry` below `root`, retrying retryable failures.
pub async fn download(ctx: &Ctx, entry: &RemoteEntry, root: &Path) -> Result<u64> {
    ctx.backoff
        .run("download", || download_once(ctx, entry, root))
        .await
}

/// The local path and whether it is a symlink, for relative key `rel`.
pub fn local_target(root: &Path, rel: &str, links: Links) -> (PathBuf, bool) {
    let link = match rel.strip_suffix(LINK_SUFFIX) {
        Some(stripped)
            if links == Links::Keep && !stripped.is_empty() && !stripped.ends_with('/') =>
        {
            Some(stripped)
        }
        _ => None,
    };
    let path = root.join(link.unwrap_or(rel).split('/').collect::<PathBuf>());
    (path, link.is_some())
}

async fn download_once(ctx: &Ctx, entry: &RemoteEntry, root: &Path) -> Result<u64> {
    let key = ctx.remote.key(&entry.key);
    let out = ctx
        .remote
        .client
        .get_object()
        .bucket(&ctx.remote.bucket)
        .key(&key)
        .send()
        .await
        .map_err(|e| ctx.remote.error("GetObject", &key, e))?;
    let meta = FileMeta::from_user_metadata(out.metadata.as_ref());
    let last_modified = out
        .last_modified
        .and_then(|t| t.to_millis().ok())
        .unwrap_or(0);
    let mtime = meta
        .mtime
        .unwrap_or(last_modified.saturating_mul(1_000_000));
    let etag = out.e_tag.unwrap_or_default();
    let expected_md5 = meta.md5.or_else(|| {
        ctx.remote
            .config
            .etag_is_md5()
            .then(|| parse_md5_hex(etag.trim_matches('"')))
            .flatten()
    });
    let expected_size = u64::try_from(out.content_length.unwrap_or(0)).unwrap_or(0);
    let (path, is_link) = local_target(root, &entry.key, ctx.opts.links);
    let parent = path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| root.to_path_buf());
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = parent.join(temp_name(&name, rand::random::<u32>()));
    let dir = parent.clone();
    blocking(move || {
        std::fs::create_dir_all(&dir).map_err(|e| Error::local("create directory", &dir, e))
    })
    .await?;
    let mut body = out.body;
    let mut hasher = Md5::new();
    let mut size = 0u64;
    // Through crypt, the stored bytes are hashed and counted, their plaintext written.
    let mut decoder = Decoder::of(&ctx.remote);
    let mut plain_size = 0u64;
    let mut link_body = Vec::new();
    let mut file = if is_link {
        None
    } else {
        Some(
            tokio::fs::File::create(&temp)
                .await
                .map_err(|e| Error::local("create", &temp, e))?,
        )
    };
    let copy = async {
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| Error::Request {
                op: "GetObject",
                key: key.clone(),
                class: Class::Connection,
                message: format!("body: {e}"),
                source: Box::new(e),
            })?;
            ctx.throttle(chunk.len()).await;
            hasher.update(&chunk);
            size += chunk.len() as u64;
            let chunk = decoder.feed(&key, chunk)?;
            plain_size += chunk.len() as u64;
            put(file.as_mut(), &mut link_body, &chunk, &key, &temp).await?;
        }
        let md5: [u8; 16] = hasher.finalize().into();
        if size != expected_size {
            return Err(Error::Corrupt {
                key: key.clone(),
                what: "size",
                expected: expected_size.to_string(),
                got: size.to_string(),
            });
        }
        if let Some(expected) = expected_md5.filter(|e| *e != md5) {
            return Err(Error::Corrupt {
                key: key.clone(),
                what: "MD5",
                expected: md5_hex(&expected),
                got: md5_hex(&md5),
            });
        }
        let tail = decoder.finish(&key)?;
        plain_size += tail.len() as u64;
        put(file.as_mut(), &mut link_body, &tail, &key, &temp).await
    };
    let copied = tokio::select! {
        copied = copy => copied,
        () = ctx.cancel.wait() => Err(Error::Cancelled),
    };
    let file = match file {
        Some(f) => Some(f.into_std().await),
        None => None,
    };
    let (temp2, path2) = (temp.clone(), path.clone());
    let placed = match copied {
        Ok(()) => {
            blocking(move || {
                match file {
                    Some(file) => restore_file(&file, &temp2, &meta, mtime)?,
                    None => make_link(&link_body, &temp2, &meta, mtime)?,
                }
                std::fs::rename(&temp2, &path2)
                    .map_err(|e| Error::local("rename into place", &path2, e))
            })
            .await
        }
        Err(e) => Err(e),
    };
    if placed.is_err() {
        let _ = tokio::fs::remove_file(&temp).await;
    }
    placed.map(|()| plain_size)
}

/// Writes downloaded bytes to the temporary file, or keeps them as a symlink's target.
async fn put(
    file: Option<&mut tokio::fs::File>,
    link_body: &mut Vec<u8>,
    bytes: &[u8],
    key: &str,
    temp: &Path,
) -> Result<()> {
    match file {
        Some(f) => f
            .write_all(bytes)
            .await
            .map_err(|e| Error::local("write", temp, e)),
        None if link_body.len() + bytes.len() <= MAX_LINK => {
            link_body.extend_from_slice(bytes);
            Ok(())
        }
        None => Err(Error::Unsupported {
            key: key.to_owned(),
            problem: String::from("symlink target too long"),
        }),
    }
}

/// The longest file name Linux file systems take, in bytes.
pub const NAME_MAX: usize = 255;

/// The name of the temporary file a download of `name` is written to before the rename:
/// `.NAME.XXXXXXXX.partial`, in the same directory so the rename is atomic. The name part
/// is cut (at a character boundary) so the whole always fits [`NAME_MAX`], whatever the
/// length of the final name; the random part keeps concurrent writers apart.
pub fn temp_name(name: &str, random: u32) -> String {
    const SUFFIX: usize = ".12345678.partial".len();
    let room = NAME_MAX - 1 - SUFFIX;
    let mut end = name.len().min(room);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    format!(".{}.{random:08x}.partial", &name[..end])
}

/// Sets times, permission bits (not setuid/setgid/sticky, as rclone) and, where permitted,
/// the owner of a downloaded file.
fn restore_file(file: &File, path: &Path, meta: &FileMeta, mtime: i64) -> Result<()> {
    let times = FileTimes::new()
        .set_accessed(system_time(meta.atime.unwrap_or(mtime)))
        .set_modified(system_time(mtime));
    file.set_times(times)
        .map_err(|e| Error::local("set times", path, e))?;
    if let Some(mode) = meta.mode {
        file.set_permissions(Permissions::from_mode(mode & 0o777))
            .map_err(|e| Error::local("chmod", path, e))?;
    }
    let current = file.metadata().map_err(|e| Error::local("stat", path, e))?;
    restore_owner(path, &current, meta, |uid, gid| {
        std::os::unix::fs::fchown(file, uid, gid)
    });
    Ok(())
}

/// Creates a symlink with its times and owner.
fn make_link(target: &[u8], path: &Path, meta: &FileMeta, mtime: i64) -> Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let target = std::ffi::OsStr::from_bytes(target);
    std::os::unix::fs::symlink(target, path).map_err(|e| Error::local("symlink", path, e))?;
    let atime = filetime::FileTime::from_system_time(system_time(meta.atime.unwrap_or(mtime)));
    let mtime = filetime::FileTime::from_system_time(system_time(mtime));
    filetime::set_symlink_file_times(path, atime, mtime)
        .map_err(|e| Error::local("set times", path, e))?;
    let current = std::fs::symlink_metadata(path).map_err(|e| Error::local("stat", path, e))?;
    restore_owner(path, &current, meta, |uid, gid| {
        std::os::unix::fs::lchown(path, uid, gid)
    });
    Ok(())
}

/// Gives a directory its recorded permission bits (as for files: not setuid, setgid or
/// sticky) and, where permitted, its owner.
pub fn restore_mode_and_owner(path: &Path, meta: &FileMeta) -> Result<()> {
    if let Some(mode) = meta.mode {
        std::fs::set_permissions(path, Permissions::from_mode(mode & 0o777))
            .map_err(|e| Error::local("chmod", path, e))?;
    }
    let current = std::fs::symlink_metadata(path).map_err(|e| Error::local("stat", path, e))?;
    restore_owner(path, &current, meta, |uid, gid| {
        std::os::unix::fs::lchown(path, uid, gid)
    });
    Ok(())
}

/// Changes the owner where recorded and permitted: root sets both; others only try the
/// group. Refusals are not errors, as with rclone.
fn restore_owner(
    path: &Path,
    current: &std::fs::Metadata,
    meta: &FileMeta,
    chown: impl Fn(Option<u32>, Option<u32>) -> std::io::Result<()>,
) {
    let uid = meta
        .uid
        .filter(|u| *u != current.uid() && current.uid() == 0);
    let gid = meta.gid.filter(|g| *g != current.gid());
    if uid.is_none() && gid.is_none() {
        return;
    }
    if let Err(e) = chown(uid, gid) {
        tracing::debug!(path = %path.display(), error = %e, "not restoring the owner");
    }
}

/// A `SystemTime` from nanoseconds since the epoch.
pub fn system_time(ns: i64) -> SystemTime {
    let magnitude = Duration::from_nanos(ns.unsigned_abs());
    if ns >= 0 {
        UNIX_EPOCH + magnitude
    } else {
        UNIX_EPOCH.checked_sub(magnitude).unwrap_or(UNIX_EPOCH)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_names_always_fit() {
        assert_eq!(temp_name("a.txt", 0xab), ".a.txt.000000ab.partial");
        let ascii = "n".repeat(NAME_MAX);
        // Four-byte characters up to the limit, and a name whose cut falls mid-character.
        let wide = "😀".repeat(NAME_MAX / 4);
        let odd = format!("ab{}", "é".repeat(126));
        for name in [ascii.as_str(), wide.as_str(), odd.as_str()] {
            assert!(name.len() <= NAME_MAX);
            let temp = temp_name(name, u32::MAX);
            assert!(temp.len() <= NAME_MAX, "{} bytes", temp.len());
            assert!(temp.ends_with(".ffffffff.partial"));
        }
    }
}
