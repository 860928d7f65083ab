//! The reference page of one kind: identity, `kubectl get` columns, CEL rules, then every
//! field of `spec` and `status` from the CRD's schema.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use serde_json::Value;

use super::markdown::{code, table};
use super::schema::{self, Field, plain};

/// The page of `crd`, without the generated-file header.
pub fn render(crd: &CustomResourceDefinition) -> Result<String, serde_json::Error> {
    let json = serde_json::to_value(crd)?;
    let spec = &json["spec"];
    let version = &spec["versions"][0];
    let root = &version["schema"]["openAPIV3Schema"];
    let kind = spec["names"]["kind"].as_str().unwrap_or_default();
    let mut out = format!("# {kind}\n\n{}\n\n", text(&root["description"]));
    out.push_str(&identity(spec, version));
    out.push_str(&format!(
        "\n{}\n\nEvery field below is in the CRD schema, so the apiserver enforces its type and \
         validation even when the webhook is down; `kubectl explain {}.spec` shows the same \
         descriptions. Kubernetes types are named, not expanded: `kubectl explain` shows their \
         fields.\n\n",
        text(&root["properties"]["spec"]["description"]),
        spec["names"]["singular"].as_str().unwrap_or_default(),
    ));
    out.push_str(&columns(version));
    let (spec_fields, spec_rules) = schema::walk("spec", &root["properties"]["spec"]);
    let (status_fields, _) = schema::walk("status", &root["properties"]["status"]);
    if !spec_rules.is_empty() {
        let rows: Vec<Vec<String>> = spec_rules
            .iter()
            .map(|r| vec![code(&r.path), code(&r.rule), r.message.clone()])
            .collect();
        out.push_str("\n## Rules\n\nCEL rules of the schema, checked by the apiserver.\n\n");
        out.push_str(&table(&["On", "Rule", "Message"], &rows));
    }
    out.push_str("\n## spec\n\n");
    out.push_str(&fields(&spec_fields));
    out.push_str(&format!(
        "\n## status\n\n{}\n\n",
        text(&root["properties"]["status"]["description"])
    ));
    out.push_str(&fields(&status_fields));
    Ok(out)
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

fn identity(spec: &Value, version: &Value) -> String {
    let list = |v: &Value| -> String {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(code)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let subresources = version["subresources"]
        .as_object()
        .map(|s| s.keys().map(|k| code(k)).collect::<Vec<_>>().join(", "))
        .unwrap_or_default();
    format!(
        "- apiVersion: {}\n- scope: {}\n- plural: {}; short names: {}; categories: {}\n\
         - subresources: {subresources}\n",
        code(&format!(
            "{}/{}",
            text(&spec["group"]),
            text(&version["name"])
        )),
        text(&spec["scope"]),
        code(&text(&spec["names"]["plural"])),
        list(&spec["names"]["shortNames"]),
        list(&spec["names"]["categories"]),
    )
}

fn columns(version: &Value) -> String {
    let rows: Vec<Vec<String>> = version["additionalPrinterColumns"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            vec![
                text(&c["name"]),
                code(&text(&c["jsonPath"])),
                text(&c["description"]),
            ]
        })
        .collect();
    format!(
        "## kubectl get\n\n{}",
        table(&["Column", "JSONPath", "Description"], &rows)
    )
}

fn fields(fields: &[Field]) -> String {
    let rows: Vec<Vec<String>> = fields
        .iter()
        .map(|f| {
            vec![
                code(&f.path),
                f.type_.clone(),
                f.default
                    .as_ref()
                    .map(|d| code(&plain(d)))
                    .unwrap_or_default(),
                f.validation.join("; "),
                f.description.clone(),
            ]
        })
        .collect();
    table(
        &["Field", "Type", "Default", "Validation", "Description"],
        &rows,
    )
}
