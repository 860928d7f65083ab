//! The AdmissionReview v1 wire format: just enough typed structure to route a request, with
//! the object kept as raw JSON so nothing newer than our types is dropped.
//!
//! Not `kube::core::admission` (kube 5.0): its response serialises the patch bytes as a JSON
//! array of numbers where the API wants a base64 string (the test below), and its request
//! reads the object's metadata through the typed `ObjectMeta`.

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The only API version of AdmissionReview the apiserver sends to a v1 webhook.
pub const API_VERSION: &str = "admission.k8s.io/v1";

/// An AdmissionReview as the apiserver sends it, with its object decoded as `O`: the whole
/// raw JSON for `/validate`, only what the injection reads for `/mutate`
/// ([`crate::inject::Pod`]).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Review<O = Value> {
    /// Must be `admission.k8s.io/v1`.
    pub api_version: String,
    /// Must be `AdmissionReview`.
    pub kind: String,
    /// The request; absent only in malformed reviews.
    pub request: Option<Request<O>>,
}

/// Group, version and kind of the object under review.
#[derive(Debug, Default, Deserialize)]
pub struct Gvk {
    /// API group; empty for the core group.
    #[serde(default)]
    pub group: String,
    /// API version.
    #[serde(default)]
    pub version: String,
    /// Kind, e.g. `Pod`.
    #[serde(default)]
    pub kind: String,
}

/// The admission request: what is being done to which object.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Request<O = Value> {
    /// Echoed in the response; the apiserver matches them by it.
    pub uid: String,
    /// The kind of the object.
    #[serde(default)]
    pub kind: Gvk,
    /// `CREATE`, `UPDATE`, `DELETE` or `CONNECT`.
    #[serde(default)]
    pub operation: String,
    /// The namespace of the object.
    #[serde(default)]
    pub namespace: Option<String>,
    /// The object as it will be stored (absent is `None`, as for every `Option`).
    pub object: Option<O>,
    /// True for a dry run: same answer, no side effects.
    #[serde(default)]
    pub dry_run: Option<bool>,
}

/// What the webhook decided.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Response {
    /// Copied from the request.
    pub uid: String,
    /// Whether the object is admitted.
    pub allowed: bool,
    /// Why it was refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// Short notes that `kubectl` prints.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Always `JSONPatch` when a patch is present.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patch_type: Option<&'static str>,
    /// The RFC 6902 patch, base64-encoded as the API requires (a string, never an array).
    /// Not serialised with the other fields: [`Self::to_wire`] writes it last, as it is,
    /// since base64 never needs JSON escaping and checking 2 KiB of it byte by byte was a
    /// sixth of `/mutate`'s handler time.
    #[serde(skip)]
    pub patch: Option<EncodedPatch>,
}

/// A JSON patch in standard base64, made only by [`Response::with_patch`]: its text is
/// known to need no escaping in JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedPatch(String);

impl EncodedPatch {
    /// The base64 text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The status of a refusal, as `metav1.Status` fields.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Status {
    /// HTTP-like code: 400 for an invalid object, 403 for a forbidden one.
    pub code: u16,
    /// Every problem, one per line.
    pub message: String,
}

impl Response {
    /// Admits the object.
    pub fn allow(uid: &str) -> Self {
        Self {
            uid: uid.to_owned(),
            allowed: true,
            status: None,
            warnings: Vec::new(),
            patch_type: None,
            patch: None,
        }
    }

    /// Refuses the object with `code` and every problem in `messages`.
    pub fn deny(uid: &str, code: u16, messages: &[String]) -> Self {
        Self {
            allowed: false,
            status: Some(Status {
                code,
                message: messages.join("\n"),
            }),
            ..Self::allow(uid)
        }
    }

    /// Adds warnings.
    #[must_use]
    pub fn with_warnings(mut self, warnings: Vec<String>) -> Self {
        self.warnings = warnings;
        self
    }

    /// Attaches a JSON patch, encoded as the API requires. The patch is serialised straight
    /// to bytes: going through a `Value` first cost `/mutate` a copy of every operation.
    pub fn with_patch<P: Serialize + ?Sized>(mut self, patch: &P) -> serde_json::Result<Self> {
        // An injection patch is 1-2 KiB: one allocation instead of a doubling series.
        let mut bytes = Vec::with_capacity(4096);
        serde_json::to_writer(&mut bytes, patch)?;
        self.patch_type = Some("JSONPatch");
        self.patch = Some(EncodedPatch(
            base64::engine::general_purpose::STANDARD.encode(bytes),
        ));
        Ok(self)
    }

    /// Wraps the response in an AdmissionReview.
    pub fn into_review(self) -> Value {
        let mut response = serde_json::json!(self);
        if let Some(patch) = self.patch {
            response["patch"] = Value::String(patch.0);
        }
        serde_json::json!({
            "apiVersion": API_VERSION,
            "kind": "AdmissionReview",
            "response": response,
        })
    }

    /// The AdmissionReview that carries this response, as the bytes of its JSON: the same
    /// document as [`Self::into_review`], written without building a `Value` first.
    pub fn to_wire(&self) -> serde_json::Result<Vec<u8>> {
        let patch = self.patch.as_ref().map_or("", EncodedPatch::as_str);
        let mut out = Vec::with_capacity(256 + patch.len());
        serde_json::to_writer(
            &mut out,
            &Wire {
                api_version: API_VERSION,
                kind: "AdmissionReview",
                response: self,
            },
        )?;
        if self.patch.is_some() {
            // The document ends with the two objects' closing braces: the patch goes in
            // before them. The alphabet of standard base64 needs no escaping in JSON.
            let closing = out.split_off(out.len().saturating_sub(2));
            debug_assert_eq!(closing, b"}}");
            out.extend_from_slice(b",\"patch\":\"");
            out.extend_from_slice(patch.as_bytes());
            out.extend_from_slice(b"\"");
            out.extend_from_slice(&closing);
        }
        Ok(out)
    }
}

/// The AdmissionReview around a response, as it goes on the wire.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Wire<'a> {
    api_version: &'static str,
    kind: &'static str,
    response: &'a Response,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patch_goes_on_the_wire_as_a_base64_string() {
        let review = Response::allow("u")
            .with_patch(&serde_json::json!([{"op": "add", "path": "/a", "value": 1}]))
            .expect("serialisable")
            .into_review();
        let patch = review["response"]["patch"].as_str().expect("string");
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(patch)
            .expect("base64");
        assert_eq!(decoded, br#"[{"op":"add","path":"/a","value":1}]"#);
        assert_eq!(review["response"]["patchType"], "JSONPatch");
    }

    #[test]
    fn denial_lists_every_message_and_echoes_uid() {
        let review = Response::deny(
            "abc",
            400,
            &["a: \"x\": bad".into(), "b: \"y\": bad".into()],
        )
        .into_review();
        assert_eq!(review["response"]["uid"], "abc");
        assert_eq!(review["response"]["allowed"], false);
        assert_eq!(review["response"]["status"]["code"], 400);
        assert_eq!(
            review["response"]["status"]["message"],
            "a: \"x\": bad\nb: \"y\": bad"
        );
        assert!(review["response"].get("warnings").is_none());
    }

    #[test]
    fn wire_bytes_are_the_review_document() {
        let response = Response::deny("abc", 403, &["x: \"\": no".into()])
            .with_warnings(vec!["careful".into()])
            .with_patch(&serde_json::json!([{"op": "add", "path": "/a", "value": 1}]))
            .expect("serialisable");
        let wire: Value =
            serde_json::from_slice(&response.to_wire().expect("serialisable")).expect("JSON");
        assert_eq!(wire, response.into_review());
    }
}
