//! `make bench-ssh`: rsync with `ferry-sidecar ssh` against rsync with OpenSSH's `ssh`
//! (aes256-gcm on both), each to our server and to Debian's sshd, side by side in one run,
//! for a new 1 GiB file, 10,000 small files, and a 1% change of the big file. Prints wall
//! time, throughput and CPU seconds (client: rsync + transport; transport: the transport
//! alone, run under a meter that is this binary; server: the server process and everything
//! it reaped), and the ratios.
//!
//! `FERRY_BENCH_REPS` (default 7) sets the repetitions (the median is shown; the new-file
//! and small-files cases run three times in each);
//! `FERRY_BENCH_TUNE=1` also measures russh tuning variants, ferry to ferry.
// A benchmark: failing fast on a broken setup is right.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[path = "../../tests/support/mod.rs"]
mod support;

mod data;
mod measure;
mod tune;

use std::path::{Path, PathBuf};

use ferry_rsync::rsync::{PushOptions, command};
use measure::Sample;
use support::peers::{FerryServer, Sshd, SshdAccess};
use support::{Keys, bin, ensure_deps};

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Client {
    Ferry,
    OpenSsh,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Server {
    Ferry,
    Sshd,
}

/// Runs of the new-file case per repetition: the two clients are within a few percent of
/// each other there (rsync's own work dominates), less than one run's noise.
const BIG_RUNS: usize = 3;
/// Runs of the small-files case per repetition: a third of a second each, so one
/// neighbour's burst moves it most; more runs cost little.
const SMALL_RUNS: usize = 3;

pub const CASES: [&str; 3] = [
    "(a) new 1 GiB file",
    "(b) 10,000 small files",
    "(c) 1% delta of (a)",
];

pub struct Bench {
    pub root: PathBuf,
    pub keys: Keys,
    pub ferry: FerryServer,
    pub sshd: Sshd,
    pub ferry_volume: PathBuf,
    pub sshd_volume: PathBuf,
}

impl Bench {
    /// rsync arguments for one push of `src` from `client` to `server`'s `run/`.
    pub fn rsync_args(&self, client: Client, server: Server, src: &Path) -> Vec<String> {
        let port = match server {
            Server::Ferry => self.ferry.port,
            Server::Sshd => self.sshd.port,
        };
        let rsh = match client {
            Client::Ferry => format!(
                "{} ssh --key {} --known-host-key {} -p {port}",
                bin(),
                self.keys.source.display(),
                self.keys.destination_pub.display()
            ),
            Client::OpenSsh => self.keys.ssh_command(port, &self.keys.source),
        };
        // The transport runs under the meter: this binary, which records its CPU.
        let rsh = format!(
            "{} {} {} -- {rsh}",
            std::env::current_exe().unwrap().display(),
            measure::WRAP,
            self.transport_file().display()
        );
        let dest = match server {
            Server::Ferry => "root@127.0.0.1:run/".to_string(),
            Server::Sshd => format!("root@127.0.0.1:{}/run/", self.sshd_volume.display()),
        };
        let mut args: Vec<String> = command::flags(&PushOptions::default())
            .iter()
            .map(|f| f.to_string_lossy().into_owned())
            .collect();
        args.extend(["-e".into(), rsh, format!("{}/", src.display()), dest]);
        args
    }

    /// Where the meter writes the transport's CPU seconds.
    pub fn transport_file(&self) -> PathBuf {
        self.root.join("transport.cpu")
    }

    pub fn server_pid(&self, server: Server) -> u32 {
        match server {
            Server::Ferry => self.ferry.pid(),
            Server::Sshd => self.sshd.pid(),
        }
    }

    pub fn fresh_destination(&self, server: Server) {
        let vol = match server {
            Server::Ferry => &self.ferry_volume,
            Server::Sshd => &self.sshd_volume,
        };
        let _ = std::fs::remove_dir_all(vol.join("run"));
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).is_some_and(|a| a == measure::WRAP) {
        measure::wrap(&args[2..]);
    }
    // `cargo test --all-targets` runs this binary without `--bench`: do nothing then.
    if !std::env::args().any(|a| a == "--bench") {
        println!("ssh benchmark: not run under `cargo test`; run `make bench-ssh`");
        return;
    }
    ensure_deps();
    // Background jobs on a shared machine skew the figures: take a higher priority (the
    // servers and clients started below inherit it) when allowed.
    let reniced = std::process::Command::new("renice")
        .args(["-n", "-10", "-p", &std::process::id().to_string()])
        .output()
        .is_ok_and(|o| o.status.success());
    let priority = if reniced {
        "nice -10"
    } else {
        "default priority"
    };
    let reps: usize = std::env::var("FERRY_BENCH_REPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(7);
    // tmpfs by default: the comparison is about the transports, not about disk writeback.
    let base = std::env::var_os("FERRY_BENCH_DIR").map_or_else(
        || {
            let shm = PathBuf::from("/dev/shm");
            if shm.is_dir() {
                shm
            } else {
                std::env::temp_dir()
            }
        },
        PathBuf::from,
    );
    let tmp = tempfile::tempdir_in(base).unwrap();
    let root = tmp.path().to_path_buf();
    println!("preparing data in {} ...", root.display());
    let changed = data::big(&root.join("orig"), &root.join("delta"));
    let small_bytes = data::small(&root.join("small"));
    let keys = Keys::generate(&root.join("keys"));
    let (ferry_volume, sshd_volume) = (root.join("ferry-vol"), root.join("sshd-vol"));
    std::fs::create_dir_all(&ferry_volume).unwrap();
    std::fs::create_dir_all(&sshd_volume).unwrap();
    let ferry = FerryServer::start(
        &keys,
        &ferry_volume,
        &root.join("state"),
        &root.join("ferry.log"),
    );
    let sshd = Sshd::start(&keys, &root.join("sshd"), SshdAccess::Plain);
    let bench = Bench {
        root,
        keys,
        ferry,
        sshd,
        ferry_volume,
        sshd_volume,
    };
    println!(
        "ferry-sidecar {}; {}; {reps} repetition(s), median shown; 1% delta = {} MiB",
        env!("CARGO_PKG_VERSION"),
        rsync_version(),
        changed / (1024 * 1024)
    );
    // Other work on the machine skews wall times (CPU seconds less so): say how busy it was.
    println!("load average before: {}; {priority}", load_average());

    let combos = [
        (Client::Ferry, Server::Ferry),
        (Client::OpenSsh, Server::Ferry),
        (Client::Ferry, Server::Sshd),
        (Client::OpenSsh, Server::Sshd),
    ];
    let mut samples: Vec<Vec<Vec<Sample>>> = vec![vec![Vec::new(); 3]; combos.len()];
    for rep in 0..reps {
        // The two clients of each server take turns going first, so that neither always
        // runs right after the other's cleanup.
        let order = if rep % 2 == 0 {
            [0, 1, 2, 3]
        } else {
            [1, 0, 3, 2]
        };
        for i in order {
            let (client, server) = combos[i];
            let meter = bench.transport_file();
            let pid = bench.server_pid(server);
            let run =
                |src: &Path| measure::run(&bench.rsync_args(client, server, src), pid, &meter);
            for _ in 0..BIG_RUNS {
                bench.fresh_destination(server);
                samples[i][0].push(run(&bench.root.join("orig")));
            }
            // The delta goes onto the last full copy.
            samples[i][2].push(run(&bench.root.join("delta")));
            for _ in 0..SMALL_RUNS {
                bench.fresh_destination(server);
                samples[i][1].push(run(&bench.root.join("small")));
            }
            bench.fresh_destination(server);
        }
        println!("repetition {} of {reps} done", rep + 1);
    }
    println!("load average after: {}", load_average());
    let medians: Vec<Vec<Sample>> = samples
        .iter()
        .map(|per_case| per_case.iter().cloned().map(measure::median).collect())
        .collect();
    let sizes = [data::BIG, small_bytes, data::BIG];
    print_table(&combos, &medians, &sizes);
    print_ratios(&combos, &samples);

    if std::env::var("FERRY_BENCH_TUNE").is_ok_and(|v| v == "1") {
        tune::run(&bench, reps);
    }
}

fn label(c: Client, s: Server) -> &'static str {
    match (c, s) {
        (Client::Ferry, Server::Ferry) => "ferry ssh -> ferry serve",
        (Client::OpenSsh, Server::Ferry) => "OpenSSH ssh -> ferry serve",
        (Client::Ferry, Server::Sshd) => "ferry ssh -> OpenSSH sshd",
        (Client::OpenSsh, Server::Sshd) => "OpenSSH ssh -> OpenSSH sshd",
    }
}

fn print_table(combos: &[(Client, Server)], m: &[Vec<Sample>], sizes: &[u64; 3]) {
    println!();
    println!(
        "| case | client -> server | wall s | MB/s | client CPU s | of which transport | server CPU s | total CPU s |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|");
    for (case, name) in CASES.iter().enumerate() {
        for (i, &(c, s)) in combos.iter().enumerate() {
            let x = m[i][case];
            println!(
                "| {name} | {} | {:.2} | {:.0} | {:.3} | {:.3} | {:.2} | {:.2} |",
                label(c, s),
                x.wall,
                sizes[case] as f64 / 1e6 / x.wall,
                x.client_cpu,
                x.transport_cpu.unwrap_or(f64::NAN),
                x.server_cpu,
                x.client_cpu + x.server_cpu
            );
        }
    }
}

/// Each ratio is the median of the ratios of paired runs: the runs of the two clients (or
/// servers) in the same repetition, a few seconds apart, so that a neighbour's load that
/// slows a whole repetition cancels out. "faster in" counts the pairs in which the first
/// one was faster.
fn print_ratios(combos: &[(Client, Server)], samples: &[Vec<Vec<Sample>>]) {
    let find = |c, s| combos.iter().position(|&x| x == (c, s)).unwrap();
    println!();
    println!(
        "Ratios (ferry / OpenSSH), median of the per-repetition ratios: throughput > 1 is \
         faster, CPU < 1 is cheaper."
    );
    println!(
        "| case | comparison | throughput | faster in | client CPU | transport CPU | server CPU | total CPU |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|");
    let pairs = [
        (
            "client, to ferry serve",
            find(Client::Ferry, Server::Ferry),
            find(Client::OpenSsh, Server::Ferry),
        ),
        (
            "client, to sshd",
            find(Client::Ferry, Server::Sshd),
            find(Client::OpenSsh, Server::Sshd),
        ),
        (
            "server, from OpenSSH ssh",
            find(Client::OpenSsh, Server::Ferry),
            find(Client::OpenSsh, Server::Sshd),
        ),
        (
            "ferry->ferry vs ssh->sshd",
            find(Client::Ferry, Server::Ferry),
            find(Client::OpenSsh, Server::Sshd),
        ),
    ];
    for (case, name) in CASES.iter().enumerate() {
        for (what, f, o) in pairs {
            let (f, o) = (&samples[f][case], &samples[o][case]);
            let ratio = |r: fn(&Sample, &Sample) -> f64| measure::paired_median(f, o, r);
            let faster = f.iter().zip(o).filter(|(f, o)| f.wall < o.wall).count();
            println!(
                "| {name} | {what} | {:.2} | {faster} of {} | {:.2} | {:.2} | {:.2} | {:.2} |",
                ratio(|f, o| o.wall / f.wall),
                f.len(),
                ratio(|f, o| f.client_cpu / o.client_cpu),
                ratio(|f, o| f.transport_cpu.unwrap_or(f64::NAN)
                    / o.transport_cpu.unwrap_or(f64::NAN)),
                ratio(|f, o| f.server_cpu / o.server_cpu),
                ratio(|f, o| (f.client_cpu + f.server_cpu) / (o.client_cpu + o.server_cpu)),
            );
        }
    }
}

fn rsync_version() -> String {
    let out = std::process::Command::new("rsync")
        .arg("--version")
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .trim()
        .to_string()
}
