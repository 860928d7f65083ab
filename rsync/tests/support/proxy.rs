//! A TCP proxy that forwards connections to a target and, while it holds a byte budget,
//! cuts the first connection after that many client-to-server bytes: a network failure in
//! the middle of a transfer.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

pub struct Proxy {
    pub port: u16,
    /// Bytes left before the next connection is cut; 0 means forward everything.
    pub budget: Arc<AtomicU64>,
    /// Connections cut so far.
    pub cuts: Arc<AtomicU64>,
}

impl Proxy {
    pub fn start(target: u16, cut_after: u64) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let budget = Arc::new(AtomicU64::new(cut_after));
        let cuts = Arc::new(AtomicU64::new(0));
        let (b, c) = (budget.clone(), cuts.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else {
                    return;
                };
                let limit = b.swap(0, Ordering::SeqCst);
                let c = c.clone();
                std::thread::spawn(move || forward_pair(client, server, limit, c));
            }
        });
        Proxy { port, budget, cuts }
    }
}

fn forward_pair(client: TcpStream, server: TcpStream, limit: u64, cuts: Arc<AtomicU64>) {
    for s in [&client, &server] {
        s.set_read_timeout(Some(Duration::from_secs(120))).ok();
    }
    let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
    // server → client: plain copy.
    let back = std::thread::spawn(move || copy(s2, c2, u64::MAX));
    // client → server: cut after `limit` bytes when a limit is set.
    let limit = if limit == 0 { u64::MAX } else { limit };
    let cut = copy(
        client.try_clone().unwrap(),
        server.try_clone().unwrap(),
        limit,
    );
    if cut {
        cuts.fetch_add(1, Ordering::SeqCst);
        // Drop the connection both ways, like a failed link.
        client.shutdown(Shutdown::Both).ok();
        server.shutdown(Shutdown::Both).ok();
    }
    back.join().ok();
}

/// Copies until EOF (false) or until `limit` bytes went through (true).
fn copy(mut from: TcpStream, mut to: TcpStream, limit: u64) -> bool {
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => {
                to.shutdown(Shutdown::Write).ok();
                return false;
            }
            Ok(n) => n,
        };
        let allowed = (limit - total).min(n as u64) as usize;
        if to.write_all(&buf[..allowed]).is_err() {
            return false;
        }
        total += allowed as u64;
        if total >= limit {
            return true;
        }
    }
}
