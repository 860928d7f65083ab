//! An S3 remote from the env-style keys of object bucket claims and DataMover-style
//! Secrets: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`
//! (or `BUCKET_REGION`), `BUCKET_HOST`, `BUCKET_PORT`, `BUCKET_NAME`, `TLS_HOST`.
//!
//! The endpoint is `https://TLS_HOST[:BUCKET_PORT]` when `TLS_HOST` is set (TLS verified
//! against that name), else `http://BUCKET_HOST[:BUCKET_PORT]`, or https when the port is
//! 443. Without `BUCKET_HOST` and `TLS_HOST` the endpoint is AWS's.

use super::{Credentials, Origin, S3Config, Secret};
use crate::error::{Error, Result};

/// Reads the settings through `var` (the process environment in production).
pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<S3Config> {
    let get = |name: &str| {
        var(name)
            .filter(|v| !v.trim().is_empty())
            .map(|v| v.trim().to_owned())
    };
    let mut config = S3Config::new(Origin::Env);
    config.credentials = match (get("AWS_ACCESS_KEY_ID"), get("AWS_SECRET_ACCESS_KEY")) {
        (Some(access_key_id), Some(secret)) => Credentials::Static {
            access_key_id,
            secret_access_key: Secret::new(secret),
            session_token: get("AWS_SESSION_TOKEN").map(Secret::new),
        },
        (None, None) => {
            return Err(Error::config(
                "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY",
                "are not set",
                "set both from the bucket's Secret (envFrom), or use --config with an rclone.conf",
            ));
        }
        (Some(_), None) | (None, Some(_)) => {
            return Err(Error::config(
                "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY",
                "only one of the two is set",
                "set both from the bucket's Secret",
            ));
        }
    };
    if let Some(region) = get("AWS_REGION").or_else(|| get("BUCKET_REGION")) {
        config.region = region;
    }
    let port = get("BUCKET_PORT");
    if let Some(port) = &port
        && port.parse::<u16>().is_ok_and(|p| p == 0) | port.parse::<u16>().is_err()
    {
        return Err(Error::config(
            "BUCKET_PORT",
            format!("\"{port}\" is not a port number"),
            "set it to the S3 service port, e.g. 443 or 9000",
        ));
    }
    let with_port = |host: &str| match &port {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    };
    config.endpoint = match (get("TLS_HOST"), get("BUCKET_HOST")) {
        (Some(tls_host), _) => Some(format!("https://{}", with_port(&tls_host))),
        (None, Some(host)) if port.as_deref() == Some("443") => Some(format!("https://{host}")),
        (None, Some(host)) => Some(format!("http://{}", with_port(&host))),
        (None, None) => None,
    };
    if let Some(endpoint) = &config.endpoint
        && (endpoint.contains(char::is_whitespace) || endpoint.matches('/').count() > 2)
    {
        return Err(Error::config(
            "BUCKET_HOST/TLS_HOST",
            format!("\"{endpoint}\" is not a host name"),
            "set a host name without scheme or path",
        ));
    }
    config.bucket = get("BUCKET_NAME");
    config.ca_bundle = get("AWS_CA_BUNDLE").map(Into::into);
    Ok(config)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn load(vars: &[(&str, &str)]) -> Result<S3Config> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        from_vars(|k| map.get(k).cloned())
    }

    #[test]
    fn builds_the_endpoint() {
        let keys = [("AWS_ACCESS_KEY_ID", "a"), ("AWS_SECRET_ACCESS_KEY", "s")];
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut v = keys.to_vec();
            v.extend_from_slice(extra);
            load(&v).unwrap()
        };
        let c = with(&[
            ("BUCKET_HOST", "minio.ns.svc"),
            ("BUCKET_PORT", "9000"),
            ("BUCKET_NAME", "b"),
        ]);
        assert_eq!(c.endpoint.as_deref(), Some("http://minio.ns.svc:9000"));
        assert_eq!(c.bucket.as_deref(), Some("b"));
        let c = with(&[("BUCKET_HOST", "s3.ns.svc"), ("BUCKET_PORT", "443")]);
        assert_eq!(c.endpoint.as_deref(), Some("https://s3.ns.svc"));
        let c = with(&[
            ("BUCKET_HOST", "10.0.0.1"),
            ("TLS_HOST", "s3.example.com"),
            ("BUCKET_PORT", "8443"),
        ]);
        assert_eq!(c.endpoint.as_deref(), Some("https://s3.example.com:8443"));
        let c = with(&[("AWS_REGION", "eu-west-3")]);
        assert_eq!((c.endpoint, c.region.as_str()), (None, "eu-west-3"));
    }

    #[test]
    fn names_missing_and_bad_settings() {
        assert_eq!(
            load(&[]).unwrap_err().to_string(),
            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY: are not set; set both from the bucket's Secret (envFrom), or use --config with an rclone.conf"
        );
        let e = load(&[
            ("AWS_ACCESS_KEY_ID", "a"),
            ("AWS_SECRET_ACCESS_KEY", "s"),
            ("BUCKET_PORT", "x"),
        ]);
        assert_eq!(
            e.unwrap_err().to_string(),
            "BUCKET_PORT: \"x\" is not a port number; set it to the S3 service port, e.g. 443 or 9000"
        );
    }
}
