//! `ferry-certs generate`: a CA and a serving certificate for installs without Helm.
//!
//! Writes `ca.crt`, `ca.key`, `tls.crt` and `tls.key` into `--out` (keys mode 0600) and prints
//! the base64 `caBundle` to put into the webhook configurations.
#![forbid(unsafe_code)]

use anyhow::{Context, bail};
use base64::Engine;
use clap::{Parser, Subcommand};
use ferry_certs::{generate_ca, issue_leaf, service_dns_names};
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::net::IpAddr;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

const DAY: Duration = Duration::from_secs(86_400);

#[derive(Parser)]
#[command(
    name = "ferry-certs",
    version,
    about = "Certificates for Ferry's admission webhook"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate a CA and a leaf for the webhook Service.
    Generate(Generate),
}

#[derive(clap::Args)]
struct Generate {
    /// Name of the webhook Service.
    #[arg(long, env = "FERRY_CERTS_SERVICE")]
    service: String,
    /// Namespace of the webhook Service.
    #[arg(long, env = "FERRY_CERTS_NAMESPACE")]
    namespace: String,
    /// Directory to write ca.crt, ca.key, tls.crt and tls.key into (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// Extra IP address SAN (repeatable), e.g. for a webhook registered by URL.
    #[arg(long = "ip", value_name = "IP")]
    ips: Vec<IpAddr>,
    /// Extra DNS name SAN (repeatable).
    #[arg(long = "dns", value_name = "NAME")]
    dns: Vec<String>,
    /// Leaf validity in days; the CA gets ten times as long (at least ten years).
    #[arg(long, default_value_t = 365)]
    days: u32,
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Generate(args) => generate(args),
    }
}

fn generate(args: Generate) -> anyhow::Result<()> {
    check_label("--service", &args.service)?;
    check_label("--namespace", &args.namespace)?;
    if args.days == 0 {
        bail!("--days must be at least 1");
    }
    let leaf_validity = DAY * args.days;
    let ca_validity = (leaf_validity * 10).max(DAY * 3650);

    let mut dns = service_dns_names(&args.service, &args.namespace);
    dns.extend(args.dns.iter().cloned());
    let cn = format!("ferry-certs CA for {}.{}", args.service, args.namespace);
    let ca = generate_ca(&cn, ca_validity).context("generating the CA")?;
    let leaf = issue_leaf(&ca, &dns, &args.ips, leaf_validity)
        .with_context(|| format!("issuing the leaf (check --dns values: {:?})", args.dns))?;

    fs::create_dir_all(&args.out)
        .with_context(|| format!("--out {}: creating the directory", args.out.display()))?;
    write(&args.out, "ca.crt", &ca.cert, 0o644)?;
    write(&args.out, "ca.key", &ca.key, 0o600)?;
    write(&args.out, "tls.crt", &leaf.cert, 0o644)?;
    write(&args.out, "tls.key", &leaf.key, 0o600)?;

    let bundle = base64::engine::general_purpose::STANDARD.encode(ca.cert.as_bytes());
    println!("caBundle: {bundle}");
    Ok(())
}

/// Service and namespace names are DNS labels; anything else would yield a useless SAN.
fn check_label(flag: &str, value: &str) -> anyhow::Result<()> {
    let ok = !value.is_empty()
        && value.len() <= 63
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !value.starts_with('-')
        && !value.ends_with('-');
    if !ok {
        bail!(
            "{flag} {value:?} is not a DNS label (lowercase letters, digits and '-', at most 63)"
        );
    }
    Ok(())
}

fn write(dir: &Path, name: &str, contents: &str, mode: u32) -> anyhow::Result<()> {
    let path = dir.join(name);
    // The mode applies at creation, so a key is never readable by others, even briefly.
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(&path)
        .with_context(|| format!("--out: writing {}", path.display()))?;
    // An existing file keeps its old mode through open(2); set it explicitly.
    file.set_permissions(fs::Permissions::from_mode(mode))
        .with_context(|| format!("--out: setting the mode of {}", path.display()))?;
    file.write_all(contents.as_bytes())
        .with_context(|| format!("--out: writing {}", path.display()))?;
    Ok(())
}
