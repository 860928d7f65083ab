//! Running a command on an open connection: either collecting its output, or wiring it to
//! this process's standard streams for `rsync -e`.
//!
//! Standard input and output are served by plain threads with blocking I/O that drive the
//! channel through the runtime handle: one thread hop per chunk each way, the fewest
//! possible, and a thread blocked in `read(0)` cannot keep the process from exiting once
//! the remote command is done.

use std::io::{Read, Write};

use bytes::BytesMut;
use russh::client::Msg;
use russh::{Channel, ChannelMsg, ChannelReadHalf, ChannelWriteHalf};
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
pub async fn attach(conn: &Connection, command: &str, env: &[(&str, &str)]) -> Result<u32> {
    let channel = open(conn, command, env).await?;
    let (rx, tx) = channel.split();
    let runtime = Handle::current();
    let for_stdin = runtime.clone();
    std::thread::spawn(move || pump_stdin(&for_stdin, &tx));
    let ended = tokio::task::spawn_blocking(move || pump_stdout(&runtime, rx)).await;
    match ended {
        Ok(End::Status(status)) => Ok(status),
        Ok(End::Refused) => Err(Error::ExecRefused {
            address: conn.address.clone(),
        }),
        Err(_) => Ok(NO_STATUS),
    }
}

/// stdin → channel until EOF, then EOF on the channel.
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

/// channel → stdout and stderr, until the server closes the channel.
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
            ChannelMsg::ExtendedData { data, .. } => {
                let mut err = std::io::stderr().lock();
                let _ = err.write_all(&data);
                let _ = err.flush();
            }
            ChannelMsg::ExitStatus { exit_status } => status = Some(exit_status),
            ChannelMsg::ExitSignal { signal_name, .. } => {
                eprintln!("ferry-sidecar ssh: remote command killed by signal {signal_name:?}");
                status = Some(NO_STATUS);
            }
            ChannelMsg::Failure => return End::Refused,
            ChannelMsg::Close => break,
            _ => {}
        }
    }
    End::Status(status.unwrap_or(NO_STATUS))
}
