//! Helpers shared by the validation tests.

#![allow(dead_code, unreachable_pub)]

use serde_json::{Value, json};

/// Applies an RFC 7386 JSON merge patch: `null` removes a field, objects merge.
pub fn merge(mut base: Value, patch: Value) -> Value {
    merge_into(&mut base, patch);
    base
}

fn merge_into(base: &mut Value, patch: Value) {
    match patch {
        Value::Object(patch) => {
            if !base.is_object() {
                *base = json!({});
            }
            let Value::Object(map) = base else { return };
            for (key, value) in patch {
                if value.is_null() {
                    map.remove(&key);
                } else {
                    merge_into(map.entry(key).or_insert(Value::Null), value);
                }
            }
        }
        other => *base = other,
    }
}

/// A valid rsync ReplicationSource to derive cases from.
pub fn rsync_source() -> Value {
    json!({
        "apiVersion": "replication.ferry.dev/v1alpha1",
        "kind": "ReplicationSource",
        "metadata": {"name": "src", "namespace": "ns"},
        "spec": {
            "sourcePVC": "data",
            "trigger": {"schedule": "*/5 * * * *"},
            "rsync": {"address": "dst.example.com", "sshKeys": "keys", "copyMethod": "Snapshot"}
        }
    })
}

/// A valid rclone ReplicationSource to derive cases from.
pub fn rclone_source() -> Value {
    json!({
        "apiVersion": "replication.ferry.dev/v1alpha1",
        "kind": "ReplicationSource",
        "metadata": {"name": "src", "namespace": "ns"},
        "spec": {
            "sourcePVC": "data",
            "trigger": {"schedule": "@hourly"},
            "rclone": {
                "rcloneConfig": "rclone-secret",
                "rcloneConfigSection": "minio",
                "rcloneDestPath": "bucket/prefix",
                "copyMethod": "Direct"
            }
        }
    })
}

/// A valid rsync ReplicationDestination to derive cases from.
pub fn rsync_destination() -> Value {
    json!({
        "apiVersion": "replication.ferry.dev/v1alpha1",
        "kind": "ReplicationDestination",
        "metadata": {"name": "dst", "namespace": "ns"},
        "spec": {"rsync": {"copyMethod": "Snapshot"}}
    })
}

/// A valid rclone ReplicationDestination to derive cases from.
pub fn rclone_destination() -> Value {
    json!({
        "apiVersion": "replication.ferry.dev/v1alpha1",
        "kind": "ReplicationDestination",
        "metadata": {"name": "dst", "namespace": "ns"},
        "spec": {
            "trigger": {"manual": "first"},
            "rclone": {
                "rcloneConfig": "rclone-secret",
                "rcloneConfigSection": "minio",
                "rcloneDestPath": "bucket/prefix",
                "destinationPVC": "restore"
            }
        }
    })
}
