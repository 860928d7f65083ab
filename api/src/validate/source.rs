//! Validation of a ReplicationSource.

use serde_json::Value;

use super::common::{
    EnumField, check_name, check_one_mover, check_range, check_rclone, check_trigger, check_volume,
    decode_spec,
};
use super::report::Report;
use crate::rules::{names, paths, stamp};
use crate::types::{
    ReplicationSourceRclone, ReplicationSourceRsync, ReplicationSourceSpec, RestoreOnEmpty,
    SourceCopyMethod,
};

/// The copy methods a source accepts.
const COPY_METHODS: &[&str] = &["Direct", "None", "Snapshot", "Clone"];
/// Why a source's copy method was refused.
const COPY_METHOD_RULE: &str = "must be Direct, Snapshot or Clone (None is accepted as Direct)";

/// The Object Lock modes.
const LOCK_MODES: &[&str] = &["Governance", "Compliance"];

/// Validates a whole ReplicationSource object (as JSON), returning every problem.
pub fn validate_source(object: &Value) -> Report {
    let mut report = Report::default();
    let mut enums = Vec::from(EnumField::copy_methods(COPY_METHODS, COPY_METHOD_RULE));
    enums.push(EnumField {
        pointer: "/rclone/objectLock/mode",
        allowed: LOCK_MODES,
        rule: "must be Governance or Compliance",
    });
    enums.push(EnumField {
        pointer: "/rclone/restoreOnEmpty/onFailure",
        allowed: &["Block", "StartEmpty"],
        rule: "must be Block (the app waits for the restore) or StartEmpty",
    });
    enums.extend(super::hooks::enum_fields());
    let Some(spec) = decode_spec::<ReplicationSourceSpec>(object, &enums, &mut report) else {
        return report;
    };
    check_name("spec.sourcePVC", Some(&spec.source_pvc), &mut report);
    check_trigger(spec.trigger.as_ref(), &mut report);
    check_one_mover(spec.rsync.is_some(), spec.rclone.is_some(), &mut report);
    if let Some(rsync) = &spec.rsync {
        check_rsync(rsync, &mut report);
    }
    if let Some(rclone) = &spec.rclone {
        check_source_rclone(rclone, &mut report);
    }
    super::hooks::check_hooks(spec.hooks.as_ref(), &mut report);
    report
}

/// Checks the rsync mover of a source.
fn check_rsync(rsync: &ReplicationSourceRsync, report: &mut Report) {
    match &rsync.address {
        None => report.error(
            "spec.rsync.address",
            "",
            "required: the destination's host name or IP (a Ferry destination shows it in status.rsync.address)",
        ),
        Some(address) => {
            if let Err(err) = names::host(address) {
                report.error("spec.rsync.address", address, err);
            }
        }
    }
    check_range(
        "spec.rsync.port",
        Some(i64::from(rsync.port)),
        1,
        65535,
        report,
    );
    if let Some(user) = &rsync.ssh_user
        && let Err(err) = names::posix_user(user)
    {
        report.error("spec.rsync.sshUser", user, err);
    }
    match &rsync.ssh_keys {
        None => report.error(
            "spec.rsync.sshKeys",
            "",
            "required: the Secret with source, source.pub and destination.pub (a Ferry destination shows it in status.rsync.sshKeys)",
        ),
        Some(keys) => check_name("spec.rsync.sshKeys", Some(keys), report),
    }
    if let Err(err) = paths::relative_path(&rsync.path) {
        report.error("spec.rsync.path", &rsync.path, err);
    }
    check_volume("spec.rsync", &rsync.volume, report);
    warn_unused_volume_options("spec.rsync", rsync.copy_method, &rsync.volume, report);
}

/// Checks the rclone mover of a source.
fn check_source_rclone(rclone: &ReplicationSourceRclone, report: &mut Report) {
    check_rclone("spec.rclone", &rclone.rclone, report);
    check_range(
        "spec.rclone.retain",
        rclone.retain.map(i64::from),
        1,
        1000,
        report,
    );
    if let Some(retain) = rclone.retain
        && rclone.timestamp_prefix != Some(true)
    {
        report.error(
            "spec.rclone.retain",
            &retain.to_string(),
            "counts timestamped copies: set spec.rclone.timestampPrefix: true, or remove retain",
        );
    }
    if let Some(lock) = &rclone.object_lock {
        check_range(
            "spec.rclone.objectLock.retainDays",
            Some(i64::from(lock.retain_days)),
            1,
            36500,
            report,
        );
        if rclone.timestamp_prefix != Some(true) {
            report.error(
                "spec.rclone.objectLock",
                &format!("{{mode: {:?}, retainDays: {}}}", lock.mode, lock.retain_days),
                "needs spec.rclone.timestampPrefix: true: on a mirror every overwrite and deletion of a locked object would fail",
            );
        }
    }
    if let Some(verify) = &rclone.verify {
        if let Err(errors) = crate::rules::cron::Schedule::parse(&verify.schedule) {
            for err in errors {
                report.error("spec.rclone.verify.schedule", &verify.schedule, err);
            }
        }
        check_range(
            "spec.rclone.verify.samplePercent",
            verify.sample_percent.map(i64::from),
            1,
            100,
            report,
        );
    }
    if let Some(restore) = &rclone.restore_on_empty {
        check_restore(rclone, restore, report);
    }
    check_volume("spec.rclone", &rclone.volume, report);
    warn_unused_volume_options("spec.rclone", rclone.copy_method, &rclone.volume, report);
}

/// Checks `spec.rclone.restoreOnEmpty`: a named copy is a timestamped copy's name, and
/// only exists with `timestampPrefix`.
fn check_restore(rclone: &ReplicationSourceRclone, restore: &RestoreOnEmpty, report: &mut Report) {
    const AT: &str = "spec.rclone.restoreOnEmpty.copy";
    if let Some(copy) = &restore.copy {
        if let Err(err) = stamp::parse(copy) {
            report.error(AT, copy, err);
        }
        if rclone.timestamp_prefix != Some(true) {
            report.error(
                AT,
                copy,
                "names a timestamped copy: set spec.rclone.timestampPrefix: true, or remove copy to restore the prefix",
            );
        }
    }
    if rclone.rclone.dry_run == Some(true) {
        report.warn(
            "spec.rclone.dryRun does not apply to restoreOnEmpty: a restore writes the volume",
        );
    }
}

/// Warns about snapshot and clone options that a `Direct` source never uses.
fn warn_unused_volume_options(
    at: &str,
    method: SourceCopyMethod,
    volume: &crate::types::VolumeOptions,
    report: &mut Report,
) {
    if method.normalized() != SourceCopyMethod::Direct {
        return;
    }
    let unused = [
        (
            "volumeSnapshotClassName",
            volume.volume_snapshot_class_name.is_some(),
        ),
        ("storageClassName", volume.storage_class_name.is_some()),
        ("accessModes", volume.access_modes.is_some()),
        ("capacity", volume.capacity.is_some()),
    ];
    for (field, set) in unused {
        if set {
            report.warn(format!("{at}.{field} is unused with copyMethod Direct"));
        }
    }
}
