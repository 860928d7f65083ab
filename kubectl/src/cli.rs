//! The command line: `kubectl ferry <command>`. Each command's work lives in its module;
//! this file only parses and dispatches.

use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::client::Connection;
use crate::error::Result;
use crate::output::{ColourChoice, Format};

/// Ferry's kubectl plugin: the state of every replication at a glance, a sync on demand,
/// restores, VolSync migration and an installation check.
#[derive(Debug, Parser)]
#[command(name = "kubectl-ferry", bin_name = "kubectl ferry", version, about)]
pub struct Cli {
    /// Where to connect.
    #[command(flatten)]
    pub connection: Connection,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Every ReplicationSource and ReplicationDestination in one table, or one object in
    /// detail.
    Status(StatusArgs),
    /// Sync now: sets spec.trigger.manual to a fresh value; --wait follows the sync to its end.
    Sync(SyncArgs),
    /// Write Ferry's CRs for another tool's: `migrate volsync`.
    Migrate(MigrateArgs),
    /// The timestamped copies of an rclone remote: size, file count, completeness (listed by
    /// a one-shot pod of the sidecar image).
    Copies(CopiesArgs),
    /// Restore into a new PVC: from a destination's latestImage, or by pulling an rclone
    /// remote's copy with a one-shot pod of the sidecar image (removed afterwards).
    Restore(RestoreArgs),
    /// Check the installation: webhook reachable, certificate, caBundle, CRDs, the sidecar's
    /// RBAC where pods bind CRs, labelled pods not injected. Each problem comes with its fix;
    /// exit 1 when there is one.
    Doctor(DoctorArgs),
}

/// `copies`.
#[derive(Debug, clap::Args)]
pub struct CopiesArgs {
    /// The object (NAME, or source/NAME, destination/NAME).
    pub name: String,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = Format::Table)]
    pub output: Format,
    /// The sidecar image of the one-shot pod (default: the bound pod's).
    #[arg(long, value_name = "IMAGE")]
    pub image: Option<String>,
    /// How long the listing may take, in seconds.
    #[arg(long, default_value_t = 600, value_name = "SECONDS")]
    pub timeout: u64,
}

/// `restore`.
#[derive(Debug, clap::Args)]
pub struct RestoreArgs {
    /// The object (NAME, or source/NAME, destination/NAME).
    pub name: String,
    /// The PVC to create, in the object's namespace.
    #[arg(long, value_name = "PVC")]
    pub to: String,
    /// `latest`, or a timestamped copy `YYYY-MM-DD-HHMMSS` (rclone with timestampPrefix).
    #[arg(long, value_name = "TIMESTAMP|latest")]
    pub copy: Option<String>,
    /// The new PVC's StorageClass (default: the replicated PVC's).
    #[arg(long, value_name = "NAME")]
    pub storage_class: Option<String>,
    /// The new PVC's size (default: the replicated PVC's, or the snapshot's restoreSize).
    #[arg(long, value_name = "QUANTITY")]
    pub size: Option<String>,
    /// Print the objects; create nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// The sidecar image of the one-shot pod (default: the bound pod's).
    #[arg(long, value_name = "IMAGE")]
    pub image: Option<String>,
    /// The user the one-shot pod runs as and the restored files belong to (default: the
    /// bound pod's sidecar's).
    #[arg(long, value_name = "UID")]
    pub run_as_user: Option<i64>,
    /// How long the one-shot pod may take, in seconds.
    #[arg(long, default_value_t = 3600, value_name = "SECONDS")]
    pub timeout: u64,
}

/// `doctor`.
#[derive(Debug, clap::Args)]
pub struct DoctorArgs {
    /// Check only this Helm release (and the pods in the namespaces its webhooks select).
    #[arg(long, value_name = "NAME")]
    pub release: Option<String>,
}

/// `migrate`.
#[derive(Debug, clap::Args)]
pub struct MigrateArgs {
    /// The tool to migrate from.
    #[command(subcommand)]
    pub from: MigrateFrom,
}

/// What `migrate` reads.
#[derive(Debug, Subcommand)]
pub enum MigrateFrom {
    /// VolSync's ReplicationSources and ReplicationDestinations (rsync and rclone movers),
    /// from the cluster (-n NS, -A) or from files (-f). Prints Ferry's CRs with a comment for
    /// every field left behind and the pod-template change that binds each; applies nothing
    /// without --apply. Stops (exit 1) for objects whose mover Ferry lacks.
    Volsync(VolsyncArgs),
}

/// `migrate volsync`.
#[derive(Debug, clap::Args)]
pub struct VolsyncArgs {
    /// Read VolSync manifests from FILE (`-` for standard input; repeatable) instead of the
    /// cluster.
    #[arg(short = 'f', long = "filename", value_name = "FILE")]
    pub files: Vec<String>,
    /// Read every namespace of the cluster.
    #[arg(short = 'A', long, conflicts_with = "files")]
    pub all_namespaces: bool,
    /// Write every Ferry object into this namespace instead of its VolSync object's.
    #[arg(long, value_name = "NS")]
    pub to_namespace: Option<String>,
    /// Apply the Ferry objects (server-side apply).
    #[arg(long)]
    pub apply: bool,
    /// With --apply: have the apiserver check them and store nothing.
    #[arg(long, requires = "apply")]
    pub dry_run: bool,
}

/// `status`.
#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// One object (NAME, or source/NAME, destination/NAME) in detail.
    pub name: Option<String>,
    /// Every namespace.
    #[arg(short = 'A', long, conflicts_with = "name")]
    pub all_namespaces: bool,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = Format::Table)]
    pub output: Format,
    /// Colour the health words.
    #[arg(long = "color", value_enum, default_value_t = ColourChoice::Auto)]
    pub colour: ColourChoice,
}

/// `sync`.
#[derive(Debug, clap::Args)]
pub struct SyncArgs {
    /// The object (NAME, or source/NAME, destination/NAME).
    pub name: String,
    /// Follow the sync to its end; exit non-zero with the reason when it fails.
    #[arg(long)]
    pub wait: bool,
    /// How long --wait waits, in seconds.
    #[arg(long, default_value_t = 1800, value_name = "SECONDS")]
    pub timeout: u64,
}

/// Runs the command. `migrate volsync -f` needs no cluster, so each command connects when
/// it needs to.
pub async fn run(cli: Cli) -> Result<()> {
    let connection = cli.connection;
    match cli.command {
        Command::Status(args) => {
            let kube = connection.connect().await?;
            match &args.name {
                Some(name) => crate::status::run::one(&kube, name, args.output).await,
                None => {
                    let colour = args.colour.enabled();
                    crate::status::run::list(&kube, args.all_namespaces, args.output, colour).await
                }
            }
        }
        Command::Sync(args) => {
            let kube = connection.connect().await?;
            let timeout = Duration::from_secs(args.timeout);
            crate::sync::run::sync(&kube, &args.name, args.wait, timeout).await
        }
        Command::Copies(args) => {
            let kube = connection.connect().await?;
            let timeout = Duration::from_secs(args.timeout);
            crate::copies::run(&kube, &args.name, args.output, args.image, timeout).await
        }
        Command::Restore(args) => {
            let kube = connection.connect().await?;
            let options = crate::restore::run::Options {
                to: args.to,
                copy: args.copy,
                storage_class: args.storage_class,
                size: args.size,
                dry_run: args.dry_run,
                image: args.image,
                run_as_user: args.run_as_user,
                timeout: Duration::from_secs(args.timeout),
            };
            crate::restore::run::restore(&kube, &args.name, &options).await
        }
        Command::Doctor(args) => {
            let kube = connection.connect().await?;
            crate::doctor::run::doctor(&kube, args.release.as_deref()).await
        }
        Command::Migrate(MigrateArgs {
            from: MigrateFrom::Volsync(args),
        }) => {
            let options = crate::migrate::run::Options {
                files: args.files,
                all_namespaces: args.all_namespaces,
                to_namespace: args.to_namespace,
                apply: args.apply,
                dry_run: args.dry_run,
            };
            crate::migrate::run::volsync(&connection, options).await
        }
    }
}
