//! russh tuning variants, measured ferry to ferry on the big-file cases: each variant
//! restarts our server and runs the transport with the same settings (both ends read the
//! same `FERRY_SSH_*` variables).

use std::path::Path;
use std::process::Command;

use super::support::bin;
use super::{Bench, data, measure};

const RUSSH_DEFAULTS: &[(&str, &str)] = &[
    ("FERRY_SSH_PACKET_SIZE", "32768"),
    ("FERRY_SSH_WINDOW_SIZE", "2097152"),
    ("FERRY_SSH_NODELAY", "false"),
    (
        "FERRY_SSH_CIPHERS",
        "chacha20-poly1305@openssh.com,aes256-gcm@openssh.com",
    ),
    ("FERRY_SSH_WORKERS", "2"),
];

type Env = Vec<(&'static str, &'static str)>;

fn variants() -> Vec<(&'static str, Env)> {
    let with = |changes: &[(&'static str, &'static str)]| {
        let mut v: Env = RUSSH_DEFAULTS.to_vec();
        for (k, val) in changes {
            v.retain(|(kk, _)| kk != k);
            v.push((k, val));
        }
        v
    };
    let gcm = ("FERRY_SSH_CIPHERS", "aes256-gcm@openssh.com");
    let nodelay = ("FERRY_SSH_NODELAY", "true");
    let one = ("FERRY_SSH_WORKERS", "1");
    vec![
        ("russh defaults (chacha20, 32K, 2M, 2 workers)", with(&[])),
        ("aes256-gcm", with(&[gcm])),
        ("aes256-gcm + nodelay", with(&[gcm, nodelay])),
        (
            "aes256-gcm + nodelay + 1 worker (kept)",
            with(&[gcm, nodelay, one]),
        ),
        (
            "... + 64K packets",
            with(&[gcm, nodelay, one, ("FERRY_SSH_PACKET_SIZE", "65535")]),
        ),
        (
            "... + 128K packets",
            with(&[gcm, nodelay, one, ("FERRY_SSH_PACKET_SIZE", "131072")]),
        ),
        (
            "... + 256K packets",
            with(&[gcm, nodelay, one, ("FERRY_SSH_PACKET_SIZE", "262144")]),
        ),
        (
            "... + 16M window",
            with(&[gcm, nodelay, one, ("FERRY_SSH_WINDOW_SIZE", "16777216")]),
        ),
    ]
}

pub fn run(bench: &Bench, reps: usize) {
    println!();
    println!("russh tuning, ferry ssh -> ferry serve (median of {reps}):");
    println!(
        "| variant | (a) wall s | (a) MB/s | (a) CPU s | (c) wall s | (c) CPU s | (b) wall s | (b) CPU s |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for (name, env) in variants() {
        let volume = bench.root.join("tune-vol");
        let _ = std::fs::remove_dir_all(&volume);
        std::fs::create_dir_all(&volume).unwrap();
        let mut server_cmd = Command::new(bin());
        server_cmd.envs(env.iter().copied());
        let server = super::FerryServer::start_with(
            &bench.keys,
            &volume,
            &bench.root.join("tune-state"),
            &bench.root.join("tune.log"),
            server_cmd,
        );
        let args = |src: &Path| {
            let mut a = bench.rsync_args(super::Client::Ferry, super::Server::Ferry, src);
            // Point the transport at this server and pass the variant through its env.
            let rsh = a.iter().position(|x| x == "-e").unwrap() + 1;
            let vars: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v}")).collect();
            a[rsh] = format!(
                "env {} {} ssh --key {} --known-host-key {} -p {}",
                vars.join(" "),
                bin(),
                bench.keys.source.display(),
                bench.keys.destination_pub.display(),
                server.port
            );
            a
        };
        let (mut a, mut b, mut c) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..reps {
            let _ = std::fs::remove_dir_all(volume.join("run"));
            a.push(measure::run(
                &args(&bench.root.join("orig")),
                server.pid(),
                &bench.transport_file(),
            ));
            c.push(measure::run(
                &args(&bench.root.join("delta")),
                server.pid(),
                &bench.transport_file(),
            ));
            let _ = std::fs::remove_dir_all(volume.join("run"));
            b.push(measure::run(
                &args(&bench.root.join("small")),
                server.pid(),
                &bench.transport_file(),
            ));
        }
        let (a, b, c) = (measure::median(a), measure::median(b), measure::median(c));
        let cpu = |s: measure::Sample| s.client_cpu + s.server_cpu;
        println!(
            "| {name} | {:.2} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |",
            a.wall,
            data::BIG as f64 / 1e6 / a.wall,
            cpu(a),
            c.wall,
            cpu(c),
            b.wall,
            cpu(b)
        );
        let _ = std::fs::remove_dir_all(&volume);
    }
}
