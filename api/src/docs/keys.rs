//! The label and annotation reference, quoted from the doc comments of
//! [`crate::annotations`]. Rust keeps no doc comments at run time, so the module's source is
//! compiled in with `include_str!` and its documented `pub const` keys are read from it; the
//! test below fails when a key constant is missed or missing from `ALL` / `LABELS`.

use super::markdown::{code, table};
use crate::annotations::{CR_ANNOTATIONS, PREFIX};

/// The source of the annotations module, read for its doc comments.
const SOURCE: &str = include_str!("../annotations.rs");

/// One documented key constant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyDoc {
    /// The constant's name, e.g. `INJECT_LABEL`.
    pub constant: String,
    /// The key, e.g. `ferry.dev/inject`.
    pub key: String,
    /// The doc comment, its lines joined.
    pub doc: String,
}

impl KeyDoc {
    /// Whether the key is a label (the constants are named `*_LABEL`) or an annotation.
    pub fn is_label(&self) -> bool {
        self.constant.ends_with("_LABEL")
    }
}

/// Every `pub const NAME: &str = "ferry.dev/..."` of the annotations module (but the bare
/// prefix), with its doc comment, in source order.
pub fn key_docs() -> Vec<KeyDoc> {
    parse(SOURCE)
}

fn parse(source: &str) -> Vec<KeyDoc> {
    let mut out = Vec::new();
    let mut doc: Vec<&str> = Vec::new();
    let mut lines = source.lines();
    while let Some(line) = lines.next() {
        let line = line.trim();
        if let Some(text) = line.strip_prefix("///") {
            doc.push(text.trim());
            continue;
        }
        if line.starts_with("#[") {
            continue;
        }
        if let Some(rest) = line.strip_prefix("pub const ") {
            // rustfmt may wrap a long declaration: read up to its `;`.
            let mut decl = rest.to_owned();
            while !decl.contains(';') {
                let Some(more) = lines.next() else { break };
                decl.push(' ');
                decl.push_str(more.trim());
            }
            out.extend(parse_decl(&decl, &doc));
        }
        doc.clear();
    }
    out
}

fn parse_decl(decl: &str, doc: &[&str]) -> Option<KeyDoc> {
    let (name, rest) = decl.split_once(':')?;
    let value = rest
        .trim()
        .strip_prefix("&str")?
        .trim()
        .strip_prefix('=')?
        .trim()
        .strip_suffix(';')?
        .trim()
        .strip_prefix('"')?
        .strip_suffix('"')?;
    if !value.starts_with(PREFIX) || value == PREFIX {
        return None;
    }
    Some(KeyDoc {
        constant: name.trim().to_owned(),
        key: value.to_owned(),
        doc: doc.join(" "),
    })
}

/// `docs/reference/annotations.md`, without the generated-file header.
pub fn render() -> String {
    let docs = key_docs();
    let rows = |labels: bool, on_cr: bool| -> Vec<Vec<String>> {
        docs.iter()
            .filter(|d| d.is_label() == labels)
            .filter(|d| CR_ANNOTATIONS.contains(&d.key.as_str()) == on_cr)
            .map(|d| {
                vec![
                    code(&d.key),
                    code(&format!("annotations::{}", d.constant)),
                    d.doc.clone(),
                ]
            })
            .collect()
    };
    let header = ["Key", "Constant in `ferry_api`", "Description"];
    format!(
        "# Labels and annotations\n\n\
         Every key Ferry reads or writes, quoted from the documented constants of\n\
         `ferry_api::annotations` (`api/src/annotations.rs`).\n\n\
         A pod opts in with the **label** `ferry.dev/inject: \"true\"` and binds one CR with\n\
         `ferry.dev/source` or `ferry.dev/destination`. The webhook validates every `ferry.dev/`\n\
         annotation of an opted-in pod and refuses the pod, listing every problem, when one is\n\
         invalid or unknown. On a Deployment or StatefulSet, put them on the pod template.\n\n\
         ## Labels\n\n{}\n## Annotations\n\n{}\n## Annotations on ReplicationSource and ReplicationDestination\n\n{}",
        table(&header, &rows(true, false)),
        table(&header, &rows(false, false)),
        table(&header, &rows(false, true)),
    )
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::annotations::{ALL, CR_ANNOTATIONS, LABELS};

    #[test]
    fn every_key_constant_is_documented_and_listed() {
        let docs = key_docs();
        let found: BTreeSet<(bool, &str)> = docs
            .iter()
            .map(|d| (d.is_label(), d.key.as_str()))
            .collect();
        let listed: BTreeSet<(bool, &str)> = LABELS
            .iter()
            .map(|k| (true, *k))
            .chain(ALL.iter().map(|k| (false, *k)))
            .chain(CR_ANNOTATIONS.iter().map(|k| (false, *k)))
            .collect();
        assert_eq!(
            found, listed,
            "the key constants of annotations.rs and its ALL / LABELS lists differ"
        );
        for d in &docs {
            assert!(!d.doc.is_empty(), "{} has no doc comment", d.constant);
        }
    }

    #[test]
    fn wrapped_declarations_and_attributes_are_read() {
        let docs = parse(
            "/// Why.\n#[doc(alias = \"x\")]\npub const LONG_NAME: &str =\n    \"ferry.dev/long\";\n\
             /// Not a key.\npub const N: usize = 3;\npub const PREFIX: &str = \"ferry.dev/\";\n",
        );
        assert_eq!(
            docs,
            vec![KeyDoc {
                constant: "LONG_NAME".into(),
                key: "ferry.dev/long".into(),
                doc: "Why.".into(),
            }]
        );
    }
}
