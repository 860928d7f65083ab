//! Walks a CRD's OpenAPI schema into one row per field: path, type, default, validation and
//! description, as the apiserver enforces them (the same schema `crdgen` writes).
//!
//! Kubernetes' own types (resource requirements, security contexts, conditions, object
//! references) are named and not expanded: their fields are Kubernetes', documented by
//! `kubectl explain` and the Kubernetes API reference, and would bury Ferry's.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::{
    PodSecurityContext, ResourceRequirements, TypedLocalObjectReference,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use schemars::JsonSchema;
use serde_json::Value;

/// One documented field.
#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    /// Dotted path from the object root, e.g. `spec.rsync.port`; `[]` marks array items.
    pub path: String,
    /// The type as a reader writes it: `string`, `int32`, `[]string`, `map[string]string`...
    pub type_: String,
    /// The schema's default, as JSON.
    pub default: Option<Value>,
    /// What the schema enforces: required, enum values, ranges, lengths, patterns.
    pub validation: Vec<String>,
    /// The field's description.
    pub description: String,
}

/// A CEL rule of the schema (`x-kubernetes-validations`) and where it applies.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    /// The path of the object the rule is evaluated on.
    pub path: String,
    /// The CEL expression.
    pub rule: String,
    /// The message the apiserver returns when it fails.
    pub message: String,
}

/// A Kubernetes type recognised by its set of property names.
struct KnownType {
    name: &'static str,
    properties: BTreeSet<String>,
}

impl KnownType {
    fn of<T: JsonSchema>(name: &'static str) -> KnownType {
        let schema = schemars::schema_for!(T);
        let properties = schema
            .get("properties")
            .and_then(Value::as_object)
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default();
        KnownType { name, properties }
    }
}

/// The Kubernetes types Ferry's CRs embed.
fn known_types() -> Vec<KnownType> {
    vec![
        KnownType::of::<ResourceRequirements>("ResourceRequirements (core/v1)"),
        KnownType::of::<PodSecurityContext>("PodSecurityContext (core/v1)"),
        KnownType::of::<Condition>("Condition (meta/v1)"),
        KnownType::of::<TypedLocalObjectReference>("TypedLocalObjectReference (core/v1)"),
    ]
}

/// The CRD's pattern for object names, shown by name rather than as a regex.
const NAME_PATTERN: &str = crate::types::DNS1123_SUBDOMAIN_PATTERN;

/// Every field under `schema` (an object schema), depth first in name order, and every CEL
/// rule met on the way; `path` is the object's own path, e.g. `spec`.
pub fn walk(path: &str, schema: &Value) -> (Vec<Field>, Vec<Rule>) {
    let mut walker = Walker {
        known: known_types(),
        fields: Vec::new(),
        rules: Vec::new(),
    };
    walker.object(path, schema);
    (walker.fields, walker.rules)
}

struct Walker {
    known: Vec<KnownType>,
    fields: Vec<Field>,
    rules: Vec<Rule>,
}

impl Walker {
    fn object(&mut self, path: &str, schema: &Value) {
        for rule in schema
            .get("x-kubernetes-validations")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            self.rules.push(Rule {
                path: path.to_owned(),
                rule: text(rule, "rule"),
                message: text(rule, "message"),
            });
        }
        let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
            return;
        };
        let required: BTreeSet<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let mut names: Vec<&String> = properties.keys().collect();
        names.sort();
        for name in names {
            let prop = &properties[name];
            let here = format!("{path}.{name}");
            self.fields.push(Field {
                path: here.clone(),
                type_: self.type_name(prop),
                default: prop.get("default").cloned(),
                validation: validation(prop, required.contains(name.as_str())),
                description: text(prop, "description"),
            });
            self.descend(&here, prop);
        }
    }

    /// Into the fields of an object, of array items, or of map values, unless they are a
    /// Kubernetes type.
    fn descend(&mut self, path: &str, prop: &Value) {
        if self.known(prop).is_some() {
            return;
        }
        if prop.get("properties").is_some() {
            self.object(path, prop);
        } else if let Some(items) = prop.get("items") {
            self.descend(&format!("{path}[]"), items);
        } else if let Some(values) = prop.get("additionalProperties").filter(|v| v.is_object()) {
            self.descend(&format!("{path}.*"), values);
        }
    }

    fn known(&self, prop: &Value) -> Option<&'static str> {
        let names: BTreeSet<String> = prop
            .get("properties")?
            .as_object()?
            .keys()
            .cloned()
            .collect();
        self.known
            .iter()
            .find(|k| k.properties == names)
            .map(|k| k.name)
    }

    fn type_name(&self, prop: &Value) -> String {
        if prop.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true)) {
            return "int or string".to_owned();
        }
        let format = prop.get("format").and_then(Value::as_str);
        match prop.get("type").and_then(Value::as_str) {
            Some("string") if format == Some("date-time") => "time (RFC 3339)".to_owned(),
            Some("integer") => format.unwrap_or("integer").to_owned(),
            Some("array") => format!(
                "[]{}",
                prop.get("items")
                    .map_or_else(|| "any".to_owned(), |i| self.type_name(i))
            ),
            Some("object") => match (self.known(prop), prop.get("additionalProperties")) {
                (Some(name), _) => name.to_owned(),
                (None, Some(values)) if values.is_object() => {
                    format!("map[string]{}", self.type_name(values))
                }
                _ => "object".to_owned(),
            },
            Some(other) => other.to_owned(),
            None => "any".to_owned(),
        }
    }
}

fn text(value: &Value, key: &str) -> String {
    value
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// What the schema enforces on one field, in words.
fn validation(prop: &Value, required: bool) -> Vec<String> {
    let mut out = Vec::new();
    if required {
        out.push("required".to_owned());
    }
    if let Some(values) = prop.get("enum").and_then(Value::as_array) {
        let values: Vec<String> = values.iter().map(|v| format!("`{}`", plain(v))).collect();
        out.push(format!("one of {}", values.join(", ")));
    }
    for (min, max, what) in [
        ("minimum", "maximum", ""),
        ("minLength", "maxLength", "length "),
        ("minItems", "maxItems", "items "),
    ] {
        let bound = |key| prop.get(key).map(plain);
        match (bound(min), bound(max)) {
            (Some(lo), Some(hi)) => out.push(format!("{what}{lo} to {hi}")),
            (Some(lo), None) => out.push(format!("{what}at least {lo}")),
            (None, Some(hi)) => out.push(format!("{what}at most {hi}")),
            (None, None) => {}
        }
    }
    match prop.get("pattern").and_then(Value::as_str) {
        Some(NAME_PATTERN) => out.push("a DNS-1123 subdomain (an object name)".to_owned()),
        Some(pattern) => out.push(format!("pattern `{pattern}`")),
        None => {}
    }
    out
}

/// A JSON scalar as a reader writes it: strings unquoted, whole numbers without `.0`.
pub fn plain(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn fields_carry_type_default_validation_and_description() {
        let schema = json!({
            "type": "object",
            "required": ["name"],
            "x-kubernetes-validations": [{"rule": "has(self.name)", "message": "name it"}],
            "properties": {
                "name": {"type": "string", "description": "The\nname.", "minLength": 1, "maxLength": 253, "pattern": NAME_PATTERN},
                "port": {"type": "integer", "format": "int32", "default": 22, "minimum": 1.0, "maximum": 65535.0},
                "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 4},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "mode": {"type": "string", "enum": ["A", "B"], "default": "A"},
                "at": {"type": "string", "format": "date-time"},
                "size": {"x-kubernetes-int-or-string": true},
                "inner": {"type": "object", "properties": {"x": {"type": "boolean"}}},
            }
        });
        let (fields, rules) = walk("spec", &schema);
        let by_path = |p: &str| fields.iter().find(|f| f.path == p).cloned();
        let name = by_path("spec.name").unwrap();
        assert_eq!(name.type_, "string");
        assert_eq!(
            name.validation,
            [
                "required",
                "length 1 to 253",
                "a DNS-1123 subdomain (an object name)"
            ]
        );
        let port = by_path("spec.port").unwrap();
        assert_eq!(
            (port.type_.as_str(), port.default),
            ("int32", Some(json!(22)))
        );
        assert_eq!(port.validation, ["1 to 65535"]);
        assert_eq!(by_path("spec.tags").unwrap().type_, "[]string");
        assert_eq!(
            by_path("spec.tags").unwrap().validation,
            ["items at most 4"]
        );
        assert_eq!(by_path("spec.labels").unwrap().type_, "map[string]string");
        assert_eq!(
            by_path("spec.mode").unwrap().validation,
            ["one of `A`, `B`"]
        );
        assert_eq!(by_path("spec.at").unwrap().type_, "time (RFC 3339)");
        assert_eq!(by_path("spec.size").unwrap().type_, "int or string");
        assert_eq!(by_path("spec.inner.x").unwrap().type_, "boolean");
        assert_eq!(
            rules,
            [Rule {
                path: "spec".into(),
                rule: "has(self.name)".into(),
                message: "name it".into()
            }]
        );
    }

    #[test]
    fn kubernetes_types_are_named_not_expanded() {
        let condition = schemars::schema_for!(Condition);
        let schema = json!({"type": "object", "properties": {
            "conditions": {"type": "array", "items": {"type": "object", "properties": condition.get("properties")}},
        }});
        let (fields, _) = walk("status", &schema);
        assert_eq!(fields.len(), 1, "{fields:#?}");
        assert_eq!(fields[0].type_, "[]Condition (meta/v1)");
    }
}
