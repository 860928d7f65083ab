//! Checks shared by both kinds: decoding, the trigger, volume options and rclone options.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ResourceRequirements;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as K8sQuantity;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::report::{Report, render};
use crate::rules::{
    cron::Schedule, duration, glob, names, paths, quantity::Quantity, rate, timezone,
};
use crate::types::{RcloneOptions, Trigger, VolumeOptions};

/// A string field whose allowed values the schema lists, checked on the raw JSON so a bad
/// value is reported by name and the rest of the object is still checked.
pub(super) struct EnumField {
    /// JSON pointer below `spec`, e.g. `/rsync/copyMethod`.
    pub(super) pointer: &'static str,
    /// The allowed values, in the order the message lists them.
    pub(super) allowed: &'static [&'static str],
    /// The rule text when the value is not allowed.
    pub(super) rule: &'static str,
}

impl EnumField {
    /// The `copyMethod` of both movers, checked against one list.
    pub(super) fn copy_methods(
        allowed: &'static [&'static str],
        rule: &'static str,
    ) -> [EnumField; 2] {
        ["/rsync/copyMethod", "/rclone/copyMethod"].map(|pointer| EnumField {
            pointer,
            allowed,
            rule,
        })
    }
}

/// Decodes `object.spec` into `T`, recording every enum error and the first structural error.
/// Returns `None` when the spec cannot be decoded at all.
pub(super) fn decode_spec<T: DeserializeOwned>(
    object: &Value,
    enums: &[EnumField],
    report: &mut Report,
) -> Option<T> {
    let Some(object) = object.as_object() else {
        report.error(
            "(object)",
            &render(object),
            "must be a JSON object with a spec",
        );
        return None;
    };
    let Some(spec) = object.get("spec") else {
        report.error("spec", "", "required");
        return None;
    };
    // Enum values outside their set are reported here with the allowed ones, and removed
    // from a copy so that decoding goes on to report the other fields. Only then is the
    // spec copied: a valid one is decoded where it lies.
    let mut lenient: Option<Value> = None;
    for field in enums {
        let Some(value) = crate::json::get(spec, field.pointer) else {
            continue;
        };
        if value.as_str().is_some_and(|v| field.allowed.contains(&v)) {
            continue;
        }
        report.error(&spec_path(field.pointer), &render(value), field.rule);
        remove_pointer(lenient.get_or_insert_with(|| spec.clone()), field.pointer);
    }
    let target = lenient.as_ref().unwrap_or(spec);
    // Plain serde first: tracking the path of every field costs a valid spec (the common
    // case) a tenth of its validation. Only a spec that fails is decoded again for the path.
    if let Ok(decoded) = T::deserialize(target) {
        return Some(decoded);
    }
    match serde_path_to_error::deserialize::<_, T>(target) {
        Ok(spec) => Some(spec),
        Err(err) => {
            record_decode_error(spec, &err, report);
            None
        }
    }
}

/// Turns a serde error into a field error with the path and the value the user wrote.
fn record_decode_error(
    spec: &Value,
    err: &serde_path_to_error::Error<serde_json::Error>,
    report: &mut Report,
) {
    let at = err.path().to_string();
    let message = err.inner().to_string();
    let base = if at == "." || at.is_empty() {
        "spec".to_owned()
    } else {
        format!("spec.{at}")
    };
    // serde phrases a missing field as "missing field `name` at line ..."; name the field.
    if let Some(rest) = message.strip_prefix("missing field `")
        && let Some((field, _)) = rest.split_once('`')
    {
        report.error(&format!("{base}.{field}"), "", "required");
        return;
    }
    let pointer = format!("/{}", at.replace('.', "/"));
    let value = crate::json::get(spec, &pointer)
        .map(render)
        .unwrap_or_default();
    let rule = message
        .split(" at line ")
        .next()
        .unwrap_or(&message)
        .to_owned();
    report.error(&base, &value, rule);
}

/// `spec` plus a JSON pointer below it, in field-path form.
fn spec_path(pointer: &str) -> String {
    format!("spec{}", pointer.replace('/', "."))
}

/// Removes the value at `pointer` so decoding falls back to the field's default.
fn remove_pointer(value: &mut Value, pointer: &str) {
    if let Some((parent, key)) = pointer.rsplit_once('/')
        && let Some(Value::Object(map)) = value.pointer_mut(parent)
    {
        map.remove(key);
    }
}

/// Checks the trigger: a parseable schedule, a known time zone, not both schedule and manual.
pub(super) fn check_trigger(trigger: Option<&Trigger>, report: &mut Report) {
    let Some(trigger) = trigger else { return };
    if let Some(schedule) = &trigger.schedule
        && let Err(errors) = Schedule::parse(schedule)
    {
        for err in errors {
            report.error("spec.trigger.schedule", schedule, err);
        }
    }
    if let Some(zone) = &trigger.time_zone {
        if let Err(err) = timezone::parse(zone) {
            report.error("spec.trigger.timeZone", zone, err);
        } else if trigger.schedule.is_none() {
            report.warn("spec.trigger.timeZone has no effect without spec.trigger.schedule");
        }
    }
    if let Some(jitter) = &trigger.jitter {
        if let Err(err) = duration::parse(jitter) {
            report.error("spec.trigger.jitter", jitter, err);
        } else if trigger.schedule.is_none() {
            report.warn("spec.trigger.jitter has no effect without spec.trigger.schedule");
        }
    }
    if let (Some(_), Some(manual)) = (&trigger.schedule, &trigger.manual) {
        report.error(
            "spec.trigger.manual",
            manual,
            "mutually exclusive with spec.trigger.schedule: set one of them",
        );
    }
}

/// Reports a missing or doubled mover; `true` when exactly one is set.
pub(super) fn check_one_mover(has_rsync: bool, has_rclone: bool, report: &mut Report) -> bool {
    match (has_rsync, has_rclone) {
        (true, true) => {
            report.error(
                "spec.rclone",
                "{…}",
                "mutually exclusive with spec.rsync: set exactly one mover",
            );
            false
        }
        (false, false) => {
            report.error(
                "spec",
                "{…}",
                "a mover is required: set spec.rsync or spec.rclone",
            );
            false
        }
        _ => true,
    }
}

/// Checks an optional object name (Secret, class, PVC) at `path`.
pub(super) fn check_name(path: &str, name: Option<&str>, report: &mut Report) {
    if let Some(name) = name
        && let Err(err) = names::dns1123_subdomain(name)
    {
        report.error(path, name, err);
    }
}

/// The access modes a PersistentVolumeClaim may ask for.
const ACCESS_MODES: [&str; 4] = [
    "ReadWriteOnce",
    "ReadOnlyMany",
    "ReadWriteMany",
    "ReadWriteOncePod",
];

/// Checks the volume options under `at` (e.g. `spec.rsync`).
pub(super) fn check_volume(at: &str, volume: &VolumeOptions, report: &mut Report) {
    check_name(
        &format!("{at}.volumeSnapshotClassName"),
        volume.volume_snapshot_class_name.as_deref(),
        report,
    );
    check_name(
        &format!("{at}.storageClassName"),
        volume.storage_class_name.as_deref(),
        report,
    );
    for (i, mode) in volume.access_modes.iter().flatten().enumerate() {
        if !ACCESS_MODES.contains(&mode.as_str()) {
            report.error(
                &format!("{at}.accessModes[{i}]"),
                mode,
                "must be one of ReadWriteOnce, ReadOnlyMany, ReadWriteMany or ReadWriteOncePod",
            );
        }
    }
    if let Some(capacity) = &volume.capacity {
        check_quantity(&format!("{at}.capacity"), capacity, true, report);
    }
    if let Some(resources) = &volume.mover_resources {
        check_resources(&format!("{at}.moverResources"), resources, report);
    }
    if let Some(user) = volume
        .mover_security_context
        .as_ref()
        .and_then(|ctx| ctx.run_as_user)
        && user < 0
    {
        report.error(
            &format!("{at}.moverSecurityContext.runAsUser"),
            &user.to_string(),
            "must be 0 or more",
        );
    }
}

/// Checks a quantity, and that it is positive when `positive` (sizes) or not negative.
fn check_quantity(path: &str, quantity: &K8sQuantity, positive: bool, report: &mut Report) {
    match Quantity::parse(&quantity.0) {
        Err(err) => report.error(path, &quantity.0, err),
        Ok(q) if q.is_negative() => report.error(path, &quantity.0, "must not be negative"),
        Ok(q) if positive && q.is_zero() => report.error(path, &quantity.0, "must be more than 0"),
        Ok(_) => {}
    }
}

/// Checks the quantities of a resource block, and that no request exceeds its limit.
fn check_resources(at: &str, resources: &ResourceRequirements, report: &mut Report) {
    let empty = BTreeMap::new();
    let limits = resources.limits.as_ref().unwrap_or(&empty);
    for (kind, map) in [
        ("limits", limits),
        ("requests", resources.requests.as_ref().unwrap_or(&empty)),
    ] {
        for (name, quantity) in map {
            check_quantity(&format!("{at}.{kind}[{name}]"), quantity, false, report);
        }
    }
    for (name, request) in resources.requests.iter().flatten() {
        let (Some(limit), Ok(req)) = (limits.get(name), Quantity::parse(&request.0)) else {
            continue;
        };
        if let Ok(lim) = Quantity::parse(&limit.0)
            && req.as_f64() > lim.as_f64()
        {
            report.error(
                &format!("{at}.requests[{name}]"),
                &request.0,
                format!("must not exceed the limit {}", limit.0),
            );
        }
    }
}

/// Checks an integer option against an inclusive range.
pub(super) fn check_range(path: &str, value: Option<i64>, min: i64, max: i64, report: &mut Report) {
    if let Some(value) = value
        && !(min..=max).contains(&value)
    {
        report.error(
            path,
            &value.to_string(),
            format!("must be between {min} and {max}"),
        );
    }
}

/// Checks the rclone options under `at` (e.g. `spec.rclone`).
pub(super) fn check_rclone(at: &str, rclone: &RcloneOptions, report: &mut Report) {
    check_name(
        &format!("{at}.rcloneConfig"),
        Some(&rclone.rclone_config),
        report,
    );
    if let Some(section) = &rclone.rclone_config_section
        && let Err(err) = names::rclone_section(section)
    {
        report.error(&format!("{at}.rcloneConfigSection"), section, err);
    }
    if let Err(err) = paths::BucketPath::parse(&rclone.rclone_dest_path) {
        report.error(
            &format!("{at}.rcloneDestPath"),
            &rclone.rclone_dest_path,
            err,
        );
    }
    check_range(
        &format!("{at}.transfers"),
        rclone.transfers.map(i64::from),
        1,
        256,
        report,
    );
    check_range(
        &format!("{at}.checkers"),
        rclone.checkers.map(i64::from),
        1,
        1024,
        report,
    );
    check_range(
        &format!("{at}.maxDelete"),
        rclone.max_delete,
        0,
        i64::from(i32::MAX),
        report,
    );
    check_range(
        &format!("{at}.maxDeletePercent"),
        rclone.max_delete_percent.map(i64::from),
        0,
        100,
        report,
    );
    for (i, pattern) in rclone.exclude.iter().flatten().enumerate() {
        if let Err(err) = glob::Pattern::check(pattern) {
            report.error(&format!("{at}.exclude[{i}]"), pattern, err);
        }
    }
    if let Some(limit) = &rclone.bandwidth_limit
        && let Err(err) = rate::BandwidthLimit::parse(limit)
    {
        report.error(&format!("{at}.bandwidthLimit"), limit, err);
    }
    if rclone.dry_run == Some(true) {
        report.warn(format!(
            "{at}.dryRun is true: syncs only report what they would change"
        ));
    }
}
