//! Moving bytes between a process and an SSH channel, in large chunks: russh turns every
//! write into at least one packet, so small writes would mean small packets.

use bytes::BytesMut;
use russh::ChannelWriteHalf;
use tokio::io::{AsyncRead, AsyncReadExt};

/// How much is read from a pipe at a time: a Linux pipe holds 64 KiB by default, and a
/// buffer this size stays below malloc's mmap threshold (no page faults per chunk).
pub const CHUNK: usize = 64 * 1024;

/// Copies `reader` to the channel until end of file, as data or (with `ext`) extended data.
/// Returns the bytes copied. Does not send EOF: the caller decides when the channel ends.
pub async fn to_channel<R, S>(
    mut reader: R,
    channel: &ChannelWriteHalf<S>,
    ext: Option<u32>,
) -> std::io::Result<u64>
where
    R: AsyncRead + Unpin,
    S: From<(russh::ChannelId, russh::ChannelMsg)> + Send + Sync + 'static,
{
    let mut total = 0u64;
    // One buffer, split into chunks: once the chunks sent earlier are encrypted and
    // dropped, `reserve` reuses the same memory instead of faulting in fresh pages.
    let mut buf = BytesMut::with_capacity(4 * CHUNK);
    loop {
        buf.reserve(CHUNK);
        let n = (&mut reader).take(CHUNK as u64).read_buf(&mut buf).await?;
        if n == 0 {
            return Ok(total);
        }
        total += n as u64;
        let chunk = buf.split().freeze();
        let sent = match ext {
            None => channel.data_bytes(chunk).await,
            Some(code) => channel.extended_data_bytes(code, chunk).await,
        };
        sent.map_err(|e| std::io::Error::new(std::io::ErrorKind::BrokenPipe, e))?;
    }
}
