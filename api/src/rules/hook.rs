//! Hook targets: the pod's own loopback, an HTTP path and method, header names, and the
//! `[METHOD ]URL` form of the pod annotations `ferry.dev/pre-sync-hook` and
//! `ferry.dev/post-sync-hook`.
//!
//! A hook reaches only the pod's loopback: the sidecar shares the pod's network namespace, so
//! `127.0.0.1` is the app itself, and anything else would turn the sidecar into a client of
//! other services with the pod's identity.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};

/// The host a hook calls when none is given.
pub const DEFAULT_HOST: &str = "127.0.0.1";
/// How long a hook call may take when nothing says otherwise.
pub const DEFAULT_TIMEOUT_SECONDS: u32 = 10;
/// The longest hook timeout accepted: a freeze is meant to last seconds.
pub const MAX_TIMEOUT_SECONDS: u32 = 300;
/// The longest path accepted.
const MAX_PATH: usize = 2048;

/// A problem with a hook target. The `Display` is the rule text of a validation message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HookError {
    /// The host is not the pod's loopback.
    #[error(
        "must be the pod's loopback (localhost, 127.0.0.1 or another 127.x.y.z, or ::1): a hook calls the app in its own pod, never another host"
    )]
    NotLoopback,
    /// The path does not start with `/` or holds spaces or control characters.
    #[error(
        "must be an HTTP path starting with \"/\", without spaces or control characters, at most 2048 characters"
    )]
    Path,
    /// The method is not one Ferry sends.
    #[error("must be GET, POST or PUT")]
    Method,
    /// Not an HTTP header name (an RFC 9110 token).
    #[error("must be an HTTP header name: letters, digits and !#$%&'*+-.^_`|~")]
    HeaderName,
    /// The port is not 1 to 65535.
    #[error("must be a port from 1 to 65535")]
    Port,
    /// The URL does not start with `http://` or `https://`.
    #[error(
        "must be \"[METHOD ]http://127.0.0.1:PORT/path\" (or https://, localhost, [::1]), e.g. \"POST http://127.0.0.1:8080/freeze\""
    )]
    Url,
    /// A timeout that is not whole seconds in range.
    #[error("must be whole seconds from 1 to 300, such as 10 or 10s")]
    Timeout,
    /// A failure policy other than Fail or Continue.
    #[error("must be Fail or Continue")]
    FailurePolicy,
}

/// The HTTP methods a hook may use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Method {
    /// `GET`.
    Get,
    /// `POST` (the default: a freeze changes the app's state).
    #[default]
    Post,
    /// `PUT`.
    Put,
}

impl Method {
    /// Parses an upper-case method name.
    pub fn parse(s: &str) -> Result<Method, HookError> {
        match s {
            "GET" => Ok(Method::Get),
            "POST" => Ok(Method::Post),
            "PUT" => Ok(Method::Put),
            _ => Err(HookError::Method),
        }
    }

    /// The method as sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
        }
    }
}

/// Where a hook request goes: method, scheme, loopback host, port and path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// The method.
    pub method: Method,
    /// Whether it is HTTPS.
    pub https: bool,
    /// The host as written (checked to be loopback).
    pub host: String,
    /// The port.
    pub port: u16,
    /// The path, with any query.
    pub path: String,
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.https { "https" } else { "http" };
        let host = if self.host.contains(':') && !self.host.starts_with('[') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        write!(
            f,
            "{} {scheme}://{host}:{}{}",
            self.method.as_str(),
            self.port,
            self.path
        )
    }
}

impl Target {
    /// Parses the annotation form `[METHOD ]http[s]://HOST[:PORT]/path`: the method defaults
    /// to POST, the port to 80 or 443. Every part is checked; the first problem is returned.
    pub fn parse(text: &str) -> Result<Target, HookError> {
        let text = text.trim();
        let (method, url) = match text.split_once(' ') {
            Some((method, url)) => (Method::parse(method)?, url.trim()),
            None => (Method::Post, text),
        };
        let (https, rest) = if let Some(rest) = url.strip_prefix("http://") {
            (false, rest)
        } else if let Some(rest) = url.strip_prefix("https://") {
            (true, rest)
        } else {
            return Err(HookError::Url);
        };
        let (authority, path) = match rest.find('/') {
            Some(at) => rest.split_at(at),
            None => (rest, "/"),
        };
        let default_port = if https { 443 } else { 80 };
        let (host, port) = if let Some(inner) = authority.strip_prefix('[') {
            let (address, after) = inner.split_once(']').ok_or(HookError::Url)?;
            let port = match after.strip_prefix(':') {
                Some(port) => parse_port(port)?,
                None if after.is_empty() => default_port,
                None => return Err(HookError::Url),
            };
            (address.to_owned(), port)
        } else {
            match authority.split_once(':') {
                Some((host, port)) => (host.to_owned(), parse_port(port)?),
                None => (authority.to_owned(), default_port),
            }
        };
        if host.is_empty() || host.contains('@') {
            return Err(HookError::Url);
        }
        loopback(&host)?;
        http_path(path)?;
        Ok(Target {
            method,
            https,
            host,
            port,
            path: path.to_owned(),
        })
    }
}

fn parse_port(text: &str) -> Result<u16, HookError> {
    match text.parse::<u16>() {
        Ok(0) | Err(_) => Err(HookError::Port),
        Ok(port) => Ok(port),
    }
}

/// Checks that `host` is the pod's loopback: `localhost`, an address in 127.0.0.0/8, or
/// `::1` (bare or in brackets).
pub fn loopback(host: &str) -> Result<(), HookError> {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if bare.eq_ignore_ascii_case("localhost") {
        return Ok(());
    }
    match bare.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) if v4.is_loopback() => Ok(()),
        Ok(IpAddr::V6(v6)) if v6 == Ipv6Addr::LOCALHOST => Ok(()),
        _ => Err(HookError::NotLoopback),
    }
}

/// Checks an HTTP path (with an optional query): it starts with `/` and holds no spaces or
/// control characters, which would break the request line.
pub fn http_path(path: &str) -> Result<(), HookError> {
    let ok = path.starts_with('/')
        && path.len() <= MAX_PATH
        && !path.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok { Ok(()) } else { Err(HookError::Path) }
}

/// Checks an HTTP header name (an RFC 9110 token).
pub fn header_name(name: &str) -> Result<(), HookError> {
    let tchar = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if !name.is_empty() && name.bytes().all(tchar) {
        Ok(())
    } else {
        Err(HookError::HeaderName)
    }
}

/// Parses a timeout written as whole seconds, `10` or `10s`, from 1 to
/// [`MAX_TIMEOUT_SECONDS`].
pub fn timeout_seconds(text: &str) -> Result<u32, HookError> {
    let digits = text.strip_suffix('s').unwrap_or(text);
    match digits.parse::<u32>() {
        Ok(n) if (1..=MAX_TIMEOUT_SECONDS).contains(&n) => Ok(n),
        _ => Err(HookError::Timeout),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_pass_and_others_do_not() {
        for ok in [
            "localhost",
            "LOCALHOST",
            "127.0.0.1",
            "127.1.2.3",
            "::1",
            "[::1]",
        ] {
            assert_eq!(loopback(ok), Ok(()), "{ok}");
        }
        for bad in [
            "10.0.0.1",
            "db.example.com",
            "0.0.0.0",
            "::",
            "128.0.0.1",
            "localhost.evil.com",
            "",
        ] {
            assert_eq!(loopback(bad), Err(HookError::NotLoopback), "{bad}");
        }
    }

    #[test]
    fn annotation_targets_parse() {
        let t = Target::parse("POST http://127.0.0.1:8080/freeze").unwrap();
        assert_eq!(
            (t.method, t.https, t.host.as_str(), t.port, t.path.as_str()),
            (Method::Post, false, "127.0.0.1", 8080, "/freeze")
        );
        let t = Target::parse("https://localhost/thaw?now=1").unwrap();
        assert_eq!((t.method, t.https, t.port), (Method::Post, true, 443));
        assert_eq!(t.path, "/thaw?now=1");
        let t = Target::parse("PUT http://[::1]:9000").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.path.as_str()),
            ("::1", 9000, "/")
        );
        assert_eq!(t.to_string(), "PUT http://[::1]:9000/");
    }

    #[test]
    fn bad_annotation_targets_say_why() {
        let cases = [
            ("POST http://10.0.0.5:8080/freeze", HookError::NotLoopback),
            ("http://db.example.com/freeze", HookError::NotLoopback),
            ("DELETE http://127.0.0.1:8080/", HookError::Method),
            ("ftp://127.0.0.1/", HookError::Url),
            ("http://127.0.0.1:0/", HookError::Port),
            ("http://127.0.0.1:99999/", HookError::Port),
            ("http://user@127.0.0.1/", HookError::Url),
            ("127.0.0.1:8080/freeze", HookError::Url),
        ];
        for (text, want) in cases {
            assert_eq!(Target::parse(text), Err(want), "{text}");
        }
    }

    #[test]
    fn paths_headers_and_timeouts() {
        assert!(http_path("/freeze?x=1").is_ok());
        assert_eq!(http_path("freeze"), Err(HookError::Path));
        assert_eq!(http_path("/a b"), Err(HookError::Path));
        assert!(header_name("X-Api-Key").is_ok());
        assert_eq!(header_name("X Api"), Err(HookError::HeaderName));
        assert_eq!(header_name(""), Err(HookError::HeaderName));
        assert_eq!(timeout_seconds("10"), Ok(10));
        assert_eq!(timeout_seconds("10s"), Ok(10));
        assert_eq!(timeout_seconds("0"), Err(HookError::Timeout));
        assert_eq!(timeout_seconds("301"), Err(HookError::Timeout));
        assert_eq!(timeout_seconds("1m"), Err(HookError::Timeout));
    }
}
