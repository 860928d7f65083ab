//! Running a command on an open connection: either collecting its output, or wiring it to
//! this process's standard streams for `rsync -e`.
//!
//! Standard input and output are served on the runtime thread through non-blocking
//! descriptors when they can be polled (see [`attach`]); otherwise by plain threads with
//! blocking I/O that drive the channel through the runtime handle (a thread blocked in
//! `read(0)` cannot keep the process from exiting once the remote command is done).

use std::io::{ErrorKind, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use bytes::{BufMut, BytesMut};
use nix::fcntl::{FcntlArg, OFlag, fcntl};
use russh::client::Msg;
use russh::{Channel, ChannelMsg, ChannelReadHalf, ChannelWriteHalf};
use tokio::net::unix::pipe;
use tokio::runtime::Handle;

use super::{Connection, Output};
use crate::ssh::pump::CHUNK;
use crate::ssh::{Error, Result};

/// Exit status when the server sends none (connection lost), as ssh reports it.
pub const NO_STATUS: u32 = 255;

async fn open(conn: &Connection, command: &str, env: &[(&str, &str)]) -> Result<Channel<Msg>> {
    let channel = conn
        .handle
        .channel_open_session()
        .await
        .map_err(|e| conn.protocol(e))?;
    for (name, value) in env {
        // No reply wanted: a plain OpenSSH server refuses unknown variables, which is fine.
        channel
            .set_env(false, *name, *value)
            .await
            .map_err(|e| conn.protocol(e))?;
    }
    channel
        .exec(true, command)
        .await
        .map_err(|e| conn.protocol(e))?;
    Ok(channel)
}

/// Runs `command`, collecting its output.
pub async fn capture(conn: &Connection, command: &str, env: &[(&str, &str)]) -> Result<Output> {
    let mut channel = open(conn, command, env).await?;
    let mut out = Output {
        status: NO_STATUS,
        stdout: Vec::new(),
        stderr: Vec::new(),
    };
    while let Some(msg) = channel.wait().await {
        match msg {
            ChannelMsg::Data { data } => out.stdout.extend_from_slice(&data),
            ChannelMsg::ExtendedData { data, .. } => out.stderr.extend_from_slice(&data),
            ChannelMsg::ExitStatus { exit_status } => out.status = exit_status,
            ChannelMsg::Failure => {
                return Err(Error::ExecRefused {
                    address: conn.address.clone(),
                });
            }
            ChannelMsg::Close => break,
            _ => {}
        }
    }
    Ok(out)
}

/// How the remote command ended.
enum End {
    Status(u32),
    Refused,
}

/// Runs `command` with stdin, stdout and stderr attached; returns the exit status.
///
/// When stdin and stdout can be polled (pipes and sockets, as `rsync -e` gives us), both
/// are served from the runtime's own thread through non-blocking descriptors, as ssh does
/// from its one `poll` loop: no thread hops, so the server's frequent window adjustments
/// and the chunks of data cost no wake-ups between threads. A stream that cannot be
/// polled (a regular file, `/dev/null`) falls back to a plain thread with blocking I/O.
pub async fn attach(conn: &Connection, command: &str, env: &[(&str, &str)]) -> Result<u32> {
    let channel = open(conn, command, env).await?;
    let (rx, tx) = channel.split();
    // The modes are restored stdout first, then stdin (below), so that stdin and stdout
    // sharing one open file description (a tty) get back the original flags.
    let (stdin_mode, input) = polled(
        std::io::stdin().as_fd(),
        pipe::Receiver::from_owned_fd_unchecked,
    )
    .unzip();
    let (stdout_mode, output) = polled(
        std::io::stdout().as_fd(),
        pipe::Sender::from_owned_fd_unchecked,
    )
    .unzip();
    let sending = async move {
        match input {
            Some(input) => to_channel(&input, &tx).await,
            None => {
                let runtime = Handle::current();
                std::thread::spawn(move || pump_stdin(&runtime, &tx));
            }
        }
    };
    let receiving = async move {
        match output {
            Some(output) => from_channel(rx, &output).await,
            None => {
                let runtime = Handle::current();
                tokio::task::spawn_blocking(move || pump_stdout(&runtime, rx))
                    .await
                    .unwrap_or(End::Status(NO_STATUS))
            }
        }
    };
    let mut sending = std::pin::pin!(sending);
    let mut receiving = std::pin::pin!(receiving);
    let mut sent = false;
    let ended = loop {
        tokio::select! {
            () = &mut sending, if !sent => sent = true,
            end = &mut receiving => break end,
        }
    };
    drop((stdout_mode, stdin_mode));
    match ended {
        End::Status(status) => Ok(status),
        End::Refused => Err(Error::ExecRefused {
            address: conn.address.clone(),
        }),
    }
}

/// One of our standard streams, switched to non-blocking mode for the runtime to poll: a
/// duplicate of its descriptor, and its original flags, which come back when this is dropped
/// (the open file description is shared with whoever started us).
struct Nonblocking {
    fd: OwnedFd,
    flags: OFlag,
}

impl Nonblocking {
    fn set(fd: BorrowedFd<'_>) -> Option<Nonblocking> {
        let fd = fd.try_clone_to_owned().ok()?;
        let flags = OFlag::from_bits_retain(fcntl(&fd, FcntlArg::F_GETFL).ok()?);
        let set = Nonblocking { fd, flags };
        fcntl(&set.fd, FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK)).ok()?;
        Some(set)
    }
}

impl Drop for Nonblocking {
    fn drop(&mut self) {
        let _ = fcntl(&self.fd, FcntlArg::F_SETFL(self.flags));
    }
}

/// `fd` switched to non-blocking mode and registered with the runtime by `make`, with the
/// guard that restores its mode; `None` when it cannot be polled (a regular file cannot be
/// registered), its mode then untouched. tokio's pipe types only do `read(2)` and
/// `write(2)` on a non-blocking descriptor registered with epoll, which serves a socket
/// (rsync's socketpair) or a tty as well as a pipe.
fn polled<T>(
    fd: BorrowedFd<'_>,
    make: fn(OwnedFd) -> std::io::Result<T>,
) -> Option<(Nonblocking, T)> {
    let mode = Nonblocking::set(fd)?;
    let stream = make(mode.fd.try_clone().ok()?).ok()?;
    Some((mode, stream))
}

/// stdin → channel until EOF, then EOF on the channel, all on the runtime thread.
async fn to_channel(input: &pipe::Receiver, tx: &ChannelWriteHalf<Msg>) {
    // As in `pump_stdin`; 256 KiB reads measured no better than 64 KiB. `try_read_buf`
    // reads into the spare capacity, so no 64 KiB of zeroes are written before each read.
    let mut buf = BytesMut::with_capacity(4 * CHUNK);
    loop {
        buf.reserve(CHUNK);
        let n = loop {
            match input.try_read_buf(&mut (&mut buf).limit(CHUNK)) {
                Ok(n) => break n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    if input.readable().await.is_err() {
                        break 0;
                    }
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => break 0,
            }
        };
        if n == 0 {
            break;
        }
        if tx.data_bytes(buf.split().freeze()).await.is_err() {
            return;
        }
    }
    let _ = tx.eof().await;
}

/// Writes all of `data` to a non-blocking stream.
async fn write_all(output: &pipe::Sender, mut data: &[u8]) -> std::io::Result<()> {
    while !data.is_empty() {
        match output.try_write(data) {
            Ok(0) => return Err(ErrorKind::WriteZero.into()),
            Ok(n) => data = &data[n..],
            Err(e) if e.kind() == ErrorKind::WouldBlock => output.writable().await?,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// channel → stdout and stderr until the server closes the channel, on the runtime thread.
async fn from_channel(mut rx: ChannelReadHalf, output: &pipe::Sender) -> End {
    let mut status = None;
    while let Some(msg) = rx.wait().await {
        match msg {
            ChannelMsg::Data { data } => {
                if write_all(output, &data).await.is_err() {
                    break;
                }
            }
            msg => {
                if let Some(end) = other(msg, &mut status) {
                    return end;
                }
            }
        }
    }
    End::Status(status.unwrap_or(NO_STATUS))
}

/// Any message but data: stderr, the exit status, the end. `Some` when the loop is over.
fn other(msg: ChannelMsg, status: &mut Option<u32>) -> Option<End> {
    match msg {
        ChannelMsg::ExtendedData { data, .. } => {
            let mut err = std::io::stderr().lock();
            let _ = err.write_all(&data);
            let _ = err.flush();
        }
        ChannelMsg::ExitStatus { exit_status } => *status = Some(exit_status),
        ChannelMsg::ExitSignal { signal_name, .. } => {
            eprintln!("ferry-sidecar ssh: remote command killed by signal {signal_name:?}");
            *status = Some(NO_STATUS);
        }
        ChannelMsg::Failure => return Some(End::Refused),
        ChannelMsg::Close => return Some(End::Status(status.unwrap_or(NO_STATUS))),
        _ => {}
    }
    None
}

/// stdin → channel until EOF, then EOF on the channel (blocking fallback).
fn pump_stdin(runtime: &Handle, tx: &ChannelWriteHalf<Msg>) {
    let mut stdin = std::io::stdin().lock();
    // Reused as in `pump::to_channel`; zero-filled because std's read needs initialized
    // memory (cheap next to the page faults of a fresh buffer per chunk).
    let mut buf = BytesMut::with_capacity(4 * CHUNK);
    loop {
        buf.reserve(CHUNK);
        buf.resize(CHUNK, 0);
        let n = match stdin.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        buf.truncate(n);
        if runtime
            .block_on(tx.data_bytes(buf.split().freeze()))
            .is_err()
        {
            return;
        }
    }
    let _ = runtime.block_on(tx.eof());
}

/// channel → stdout and stderr, until the server closes the channel (blocking fallback).
fn pump_stdout(runtime: &Handle, mut rx: ChannelReadHalf) -> End {
    let mut stdout = std::io::stdout().lock();
    let mut status = None;
    while let Some(msg) = runtime.block_on(rx.wait()) {
        match msg {
            ChannelMsg::Data { data } => {
                let Ok(()) = stdout.write_all(&data).and_then(|()| stdout.flush()) else {
                    break;
                };
            }
            msg => {
                if let Some(end) = other(msg, &mut status) {
                    return end;
                }
            }
        }
    }
    End::Status(status.unwrap_or(NO_STATUS))
}
