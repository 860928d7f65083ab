//! Reading raw JSON objects (admission requests keep the object as a `Value` so nothing newer
//! than our types is dropped).

use std::borrow::Cow;

use serde_json::Value;

/// The value at an RFC 6901 `pointer` in `value`, as `Value::pointer` finds it, without its
/// cost: serde_json's unescapes every token into two new strings, which for the dozen
/// lookups of one `/mutate` request cost more than the injection plan itself. Here only a
/// token holding `~` is unescaped.
pub fn get<'a>(value: &'a Value, pointer: &str) -> Option<&'a Value> {
    if pointer.is_empty() {
        return Some(value);
    }
    pointer
        .strip_prefix('/')?
        .split('/')
        .try_fold(value, |target, token| {
            let token = if token.contains('~') {
                Cow::Owned(token.replace("~1", "/").replace("~0", "~"))
            } else {
                Cow::Borrowed(token)
            };
            match target {
                Value::Object(map) => map.get(token.as_ref()),
                Value::Array(list) => index(&token).and_then(|i| list.get(i)),
                _ => None,
            }
        })
}

/// An array index as RFC 6901 spells it: digits, no sign, no leading zero.
fn index(token: &str) -> Option<usize> {
    if token.starts_with('+') || (token.len() > 1 && token.starts_with('0')) {
        return None;
    }
    token.parse().ok()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::get;

    #[test]
    fn finds_what_value_pointer_finds() {
        let doc = json!({
            "spec": {"containers": [{"securityContext": {"runAsUser": 7}}], "hostNetwork": true},
            "metadata": {"annotations": {"ferry.dev/x": "1", "a~b": "2", "": "3"}},
            "list": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
        });
        for pointer in [
            "",
            "/",
            "/spec",
            "/spec/containers/0/securityContext/runAsUser",
            "/spec/containers/1",
            "/spec/containers/00",
            "/spec/containers/+0",
            "/spec/containers/-",
            "/spec/hostNetwork/x",
            "/metadata/annotations/ferry.dev~1x",
            "/metadata/annotations/a~0b",
            "/metadata/annotations/a~b",
            "/metadata/annotations/",
            "/list/10",
            "/list/010",
            "/missing/deeper",
            "spec",
        ] {
            assert_eq!(get(&doc, pointer), doc.pointer(pointer), "{pointer:?}");
        }
    }
}
