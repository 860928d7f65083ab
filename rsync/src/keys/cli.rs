//! `ferry-sidecar keygen`: writes a replication's two Secrets' worth of keys as files.

use std::path::PathBuf;
use std::process::ExitCode;

use super::{ReplicationKeys, write_secret_dir};

/// Arguments of `ferry-sidecar keygen`.
#[derive(Debug, clap::Args)]
pub struct KeygenArgs {
    /// Name put in the key comments (e.g. the ReplicationSource's name).
    #[arg(long, default_value = "ferry")]
    pub name: String,
    /// Output directory; `source/` and `destination/` are created in it, each holding the
    /// files of one Secret (`source`, `source.pub`, `destination.pub` and
    /// `destination`, `destination.pub`, `source.pub`).
    pub out: PathBuf,
}

/// Generates and writes the keys; prints only public fingerprints.
pub fn run(args: KeygenArgs) -> ExitCode {
    let written = ReplicationKeys::generate(&args.name).and_then(|keys| {
        write_secret_dir(&args.out.join("source"), &keys.source_secret_data()?)?;
        write_secret_dir(
            &args.out.join("destination"),
            &keys.destination_secret_data()?,
        )?;
        Ok(keys)
    });
    match written {
        Ok(keys) => {
            println!("wrote {} ({keys:?})", args.out.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("ferry-sidecar keygen: {e}");
            ExitCode::FAILURE
        }
    }
}
