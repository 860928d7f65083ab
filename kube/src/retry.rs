//! The one answer to "is this API error worth another try?".

/// Whether trying the same call again later may succeed: transport failures, server errors
/// (5xx) and throttling (429), but not refusals (4xx) that need a change of config or RBAC.
pub fn is_retryable(error: &kube::Error) -> bool {
    match error {
        kube::Error::Api(status) => status.code == 429 || status.code >= 500,
        _ => true,
    }
}
