//! Validation of a ReplicationDestination.

use serde_json::Value;

use super::common::{
    EnumField, check_name, check_one_mover, check_range, check_rclone, check_trigger, check_volume,
    decode_spec,
};
use super::report::{Report, render};
use crate::types::{DestinationCopyMethod, ReplicationDestinationSpec, VolumeOptions};

/// The copy methods a destination accepts.
const COPY_METHODS: &[&str] = &["Direct", "None", "Snapshot"];
/// Why a destination's copy method was refused.
const COPY_METHOD_RULE: &str =
    "a destination takes Direct or Snapshot (None is accepted as Direct)";
/// The Service types a destination can expose its SSH endpoint with.
const SERVICE_TYPES: &[&str] = &["ClusterIP", "LoadBalancer", "NodePort"];
/// The longest name a destination can have: it becomes a label value.
const NAME_MAX: usize = 63;

/// Validates a whole ReplicationDestination object (as JSON), returning every problem.
pub fn validate_destination(object: &Value) -> Report {
    let mut report = Report::default();
    let [rsync_copy_method, rclone_copy_method] =
        EnumField::copy_methods(COPY_METHODS, COPY_METHOD_RULE);
    let enums = [
        rsync_copy_method,
        rclone_copy_method,
        EnumField {
            pointer: "/rsync/serviceType",
            allowed: SERVICE_TYPES,
            rule: "must be ClusterIP, LoadBalancer or NodePort",
        },
    ];
    if let Some(name) = crate::json::get(object, "/metadata/name")
        && render(name).chars().count() > NAME_MAX
    {
        report.error(
            "metadata.name",
            &render(name),
            "must be at most 63 characters: it becomes the ferry.dev/destination label of the pod",
        );
    }
    let Some(spec) = decode_spec::<ReplicationDestinationSpec>(object, &enums, &mut report) else {
        return report;
    };
    check_trigger(spec.trigger.as_ref(), &mut report);
    check_one_mover(spec.rsync.is_some(), spec.rclone.is_some(), &mut report);
    if let Some(rsync) = &spec.rsync {
        if spec.trigger.is_some() {
            report.warn(
                "spec.trigger is ignored by an rsync destination: its source decides when to sync",
            );
        }
        let at = "spec.rsync";
        check_name(
            &format!("{at}.destinationPVC"),
            rsync.destination_pvc.as_deref(),
            &mut report,
        );
        check_name(
            &format!("{at}.sshKeys"),
            rsync.ssh_keys.as_deref(),
            &mut report,
        );
        check_range(
            &format!("{at}.port"),
            Some(i64::from(rsync.port)),
            1,
            65535,
            &mut report,
        );
        check_range(
            &format!("{at}.retain"),
            Some(i64::from(rsync.retain)),
            1,
            1000,
            &mut report,
        );
        check_destination_volume(
            at,
            rsync.copy_method,
            rsync.destination_pvc.as_deref(),
            &rsync.volume,
            &mut report,
        );
    }
    if let Some(rclone) = &spec.rclone {
        let at = "spec.rclone";
        check_rclone(at, &rclone.rclone, &mut report);
        check_name(
            &format!("{at}.destinationPVC"),
            rclone.destination_pvc.as_deref(),
            &mut report,
        );
        check_range(
            &format!("{at}.retain"),
            Some(i64::from(rclone.retain)),
            1,
            1000,
            &mut report,
        );
        check_destination_volume(
            at,
            rclone.copy_method,
            rclone.destination_pvc.as_deref(),
            &rclone.volume,
            &mut report,
        );
    }
    report
}

/// Checks a destination's volume options and warns about the ones it accepts for VolSync
/// compatibility but does not use: Ferry writes into the bound pod's volume.
fn check_destination_volume(
    at: &str,
    method: DestinationCopyMethod,
    pvc: Option<&str>,
    volume: &VolumeOptions,
    report: &mut Report,
) {
    check_volume(at, volume, report);
    let target = pvc.map_or_else(
        || "the bound pod's volume".to_owned(),
        |pvc| format!("PVC {pvc}"),
    );
    let provisioning = [
        ("capacity", volume.capacity.is_some()),
        ("accessModes", volume.access_modes.is_some()),
        ("storageClassName", volume.storage_class_name.is_some()),
    ];
    for (field, set) in provisioning {
        if set {
            report.warn(format!(
                "{at}.{field} is unused: Ferry provisions no volume, it writes to {target}"
            ));
        }
    }
    if method.normalized() == DestinationCopyMethod::Direct
        && volume.volume_snapshot_class_name.is_some()
    {
        report.warn(format!(
            "{at}.volumeSnapshotClassName is unused with copyMethod Direct"
        ));
    }
}
