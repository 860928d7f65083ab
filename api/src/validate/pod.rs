//! Validation of a pod's ferry annotations, parsed into [`PodAnnotations`].

use std::collections::BTreeMap;

use super::report::Report;
use crate::annotations::{self as keys, Binding, PodAnnotations, RestoreRequest};
use crate::rules::{cron::Schedule, duration, names, quantity::Quantity, stamp, timezone};
use crate::types::RestoreFailurePolicy;

/// Checks the ferry annotations of a pod and parses them. The value is `Some` exactly when
/// the report has no errors. Keys outside `ferry.dev/` are ignored; unknown keys inside it get
/// a warning that suggests the nearest known key.
pub fn validate_pod_annotations(
    annotations: &BTreeMap<String, String>,
) -> (Option<PodAnnotations>, Report) {
    let mut report = Report::default();
    let get = |key: &str| annotations.get(key).map(String::as_str);

    let binding = binding(get(keys::SOURCE), get(keys::DESTINATION), &mut report);
    let schedule = get(keys::SCHEDULE).and_then(|text| match Schedule::parse(text) {
        Ok(schedule) => Some(schedule),
        Err(errors) => {
            for err in errors {
                report.error(&path(keys::SCHEDULE), text, err);
            }
            None
        }
    });
    let time_zone = get(keys::TIME_ZONE).and_then(|text| {
        timezone::parse(text)
            .map_err(|err| report.error(&path(keys::TIME_ZONE), text, err))
            .ok()
    });
    let jitter = get(keys::JITTER).and_then(|text| {
        duration::parse(text)
            .map_err(|err| report.error(&path(keys::JITTER), text, err))
            .ok()
            .map(|_| text.to_owned())
    });
    let volume = get(keys::VOLUME).and_then(|text| {
        names::dns1123_label(text)
            .map_err(|err| report.error(&path(keys::VOLUME), text, err))
            .ok()
            .map(|()| text.to_owned())
    });
    let native_sidecar = get(keys::NATIVE_SIDECAR).and_then(|text| match text {
        "true" => Some(true),
        "false" => Some(false),
        _ => {
            report.error(
                &path(keys::NATIVE_SIDECAR),
                text,
                "must be \"true\" or \"false\"",
            );
            None
        }
    });
    let sidecar_cpu = resource(keys::SIDECAR_CPU, get(keys::SIDECAR_CPU), &mut report);
    let sidecar_memory = resource(keys::SIDECAR_MEMORY, get(keys::SIDECAR_MEMORY), &mut report);
    let run_as_user = get(keys::RUN_AS_USER).and_then(|text| match text.parse::<i64>() {
        Ok(uid) if (0..=i64::from(i32::MAX)).contains(&uid) => Some(uid),
        _ => {
            report.error(
                &path(keys::RUN_AS_USER),
                text,
                "must be a user ID from 0 to 2147483647",
            );
            None
        }
    });
    let restore = get(keys::RESTORE_ON_EMPTY).and_then(|text| match text {
        "true" => Some(RestoreRequest::Yes),
        "false" => Some(RestoreRequest::No),
        _ => match stamp::parse(text) {
            Ok(_) => Some(RestoreRequest::Copy(text.to_owned())),
            Err(err) => {
                report.error(
                    &path(keys::RESTORE_ON_EMPTY),
                    text,
                    format!("must be \"true\", \"false\" or a copy name: {err}"),
                );
                None
            }
        },
    });
    let restore_on_failure = get(keys::RESTORE_ON_FAILURE).and_then(|text| {
        let policy = RestoreFailurePolicy::parse(text);
        if policy.is_none() {
            report.error(
                &path(keys::RESTORE_ON_FAILURE),
                text,
                "must be \"Block\" or \"StartEmpty\"",
            );
        }
        policy
    });
    if restore == Some(RestoreRequest::No)
        && let Some(policy) = restore_on_failure
    {
        report.warn(format!(
            "{} {} is unused: {} is \"false\"",
            keys::RESTORE_ON_FAILURE,
            policy.as_str(),
            keys::RESTORE_ON_EMPTY
        ));
    }
    if let (Some(restore), Some(Binding::Destination(_))) = (&restore, &binding)
        && *restore != RestoreRequest::No
    {
        report.error(
            &path(keys::RESTORE_ON_EMPTY),
            get(keys::RESTORE_ON_EMPTY).unwrap_or_default(),
            "a destination is filled by its own pulls: restore on empty is for a pod bound with ferry.dev/source",
        );
    }
    let hooks = super::hooks::hook_overrides(annotations, &mut report);
    warn_unknown_keys(annotations, &mut report);

    let parsed = binding
        .filter(|_| report.is_ok())
        .map(|binding| PodAnnotations {
            binding,
            schedule,
            time_zone,
            jitter,
            volume,
            native_sidecar,
            sidecar_cpu,
            sidecar_memory,
            run_as_user,
            restore,
            restore_on_failure,
            hooks,
            injected: annotations.contains_key(keys::INJECTED),
        });
    (parsed, report)
}

/// The field path of an annotation, as Kubernetes writes it.
fn path(key: &str) -> String {
    format!("metadata.annotations[{key}]")
}

/// Exactly one of source and destination, naming a valid object.
fn binding(
    source: Option<&str>,
    destination: Option<&str>,
    report: &mut Report,
) -> Option<Binding> {
    let binding = match (source, destination) {
        (Some(source), None) => Binding::Source(source.to_owned()),
        (None, Some(destination)) => Binding::Destination(destination.to_owned()),
        (Some(_), Some(destination)) => {
            report.error(
                &path(keys::DESTINATION),
                destination,
                "mutually exclusive with ferry.dev/source: a pod is either a source or a destination",
            );
            return None;
        }
        (None, None) => {
            report.error(
                &path(keys::SOURCE),
                "",
                "required: name a ReplicationSource in ferry.dev/source or a ReplicationDestination in ferry.dev/destination",
            );
            return None;
        }
    };
    let key = match binding {
        Binding::Source(_) => keys::SOURCE,
        Binding::Destination(_) => keys::DESTINATION,
    };
    let name = binding.name();
    if let Err(err) = names::dns1123_subdomain(name) {
        report.error(&path(key), name, err);
        return None;
    }
    if key == keys::DESTINATION && name.len() > 63 {
        report.error(
            &path(key),
            name,
            "must be at most 63 characters: it becomes a label value",
        );
        return None;
    }
    Some(binding)
}

/// A positive resource quantity such as `100m` or `128Mi`.
fn resource(key: &str, text: Option<&str>, report: &mut Report) -> Option<String> {
    let text = text?;
    match Quantity::parse(text) {
        Err(err) => report.error(&path(key), text, err),
        Ok(q) if q.is_negative() || q.is_zero() => {
            report.error(&path(key), text, "must be more than 0");
        }
        Ok(_) => return Some(text.to_owned()),
    }
    None
}

/// Warns about `ferry.dev/` keys Ferry does not know, suggesting the nearest known key.
fn warn_unknown_keys(annotations: &BTreeMap<String, String>, report: &mut Report) {
    for key in annotations.keys().filter(|k| k.starts_with(keys::PREFIX)) {
        if keys::ALL.contains(&key.as_str()) {
            continue;
        }
        let nearest = keys::ALL
            .iter()
            .map(|known| (edit_distance(key, known), known))
            .min()
            .filter(|(distance, _)| *distance <= 3);
        match nearest {
            Some((_, known)) => {
                report.warn(format!("unknown annotation {key}: did you mean {known}?"))
            }
            None => report.warn(format!("unknown annotation {key} is ignored")),
        }
    }
}

/// Levenshtein distance, for "did you mean" suggestions on short keys.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (diagonal + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(above + 1);
            diagonal = above;
        }
    }
    row[b.len()]
}
