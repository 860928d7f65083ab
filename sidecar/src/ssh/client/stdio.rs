//! Running a command on an open connection: either collecting its output, or wiring it to
//! this process's standard streams for `rsync -e`.
//!
//! Standard input and output are served by plain threads with blocking I/O and large
//! buffers: it is the cheapest way to move bytes through pipes, and a thread blocked in
//! `read(0)` cannot keep the process from exiting once the remote command is done.

use std::io::{Read, Write};

use bytes::Bytes;
use russh::client::Msg;
use russh::{Channel, ChannelMsg};
use tokio::sync::mpsc;

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

/// Runs `command` with stdin, stdout and stderr attached; returns the exit status.
pub async fn attach(conn: &Connection, command: &str, env: &[(&str, &str)]) -> Result<u32> {
    let channel = open(conn, command, env).await?;
    let (mut rx, tx) = channel.split();

    // stdin → channel: a thread reads, a task sends (russh needs async), EOF closes our side.
    let (in_tx, mut in_rx) = mpsc::channel::<Vec<u8>>(4);
    std::thread::spawn(move || read_stdin(in_tx));
    let forward = tokio::spawn(async move {
        while let Some(chunk) = in_rx.recv().await {
            if tx.data_bytes(chunk).await.is_err() {
                return;
            }
        }
        let _ = tx.eof().await;
    });

    // channel → stdout: a thread writes, so a slow reader never blocks the SSH session.
    let (out_tx, out_rx) = mpsc::channel::<Bytes>(16);
    let writer = std::thread::spawn(move || write_stdout(out_rx));

    let mut status = None;
    let mut refused = false;
    while let Some(msg) = rx.wait().await {
        match msg {
            // The bounded queue gives back-pressure when stdout is slow.
            ChannelMsg::Data { data } => {
                let Ok(()) = out_tx.send(data).await else {
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
            ChannelMsg::Failure => refused = true,
            ChannelMsg::Close => break,
            _ => {}
        }
        if refused {
            break;
        }
    }
    forward.abort();
    drop(out_tx);
    let _ = tokio::task::spawn_blocking(move || writer.join()).await;
    if refused {
        return Err(Error::ExecRefused {
            address: conn.address.clone(),
        });
    }
    Ok(status.unwrap_or(NO_STATUS))
}

fn write_stdout(mut chunks: mpsc::Receiver<Bytes>) {
    let mut stdout = std::io::stdout().lock();
    while let Some(chunk) = chunks.blocking_recv() {
        if stdout
            .write_all(&chunk)
            .and_then(|()| stdout.flush())
            .is_err()
        {
            return;
        }
    }
}

fn read_stdin(sender: mpsc::Sender<Vec<u8>>) {
    let mut stdin = std::io::stdin().lock();
    loop {
        let mut buf = vec![0u8; CHUNK];
        match stdin.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                buf.truncate(n);
                if sender.blocking_send(buf).is_err() {
                    return;
                }
            }
        }
    }
}
