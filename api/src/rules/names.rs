//! Names: Kubernetes object names (DNS-1123), host names and IP addresses, POSIX user names
//! and rclone remote names.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// A problem with a name. The `Display` is the rule text of a validation message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Not a DNS-1123 label, the form of most Kubernetes object names.
    #[error(
        "must be a DNS-1123 label: lower-case letters, digits and \"-\", starting and ending with a letter or digit, at most 63 characters"
    )]
    Dns1123Label,
    /// Not a DNS-1123 subdomain, the form of Secret, PVC and class names.
    #[error(
        "must be a DNS-1123 subdomain: lower-case letters, digits, \"-\" and \".\", starting and ending with a letter or digit, at most 253 characters"
    )]
    Dns1123Subdomain,
    /// Neither an RFC 1123 host name nor an IP address.
    #[error(
        "must be a host name or an IP address: labels of letters, digits and \"-\" separated by \".\", each starting and ending with a letter or digit, at most 253 characters"
    )]
    Host,
    /// A host written with a user, as in `root@backup.example.com`.
    #[error("must be a host name or an IP address without a user: put the user in sshUser")]
    HostWithUser,
    /// A host written with a port, as in `backup.example.com:2222`.
    #[error("must be a host name or an IP address without a port: put the port in the port field")]
    HostWithPort,
    /// Not a portable POSIX user name.
    #[error(
        "must be a POSIX user name: letters, digits, \".\", \"_\" and \"-\", not starting with \"-\", 1 to 32 characters"
    )]
    PosixUser,
    /// Not a name rclone accepts for a remote (a config section).
    #[error(
        "must be an rclone remote name: letters, digits, \"_\", \"-\", \".\", \"+\", \"@\" and spaces, not starting with \"-\" or a space, not ending with a space"
    )]
    RcloneSection,
}

/// A host to connect to: a name or an IP address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Host {
    /// An RFC 1123 host name, in lower case (host names are case-insensitive).
    Name(String),
    /// An IPv4 address.
    Ipv4(Ipv4Addr),
    /// An IPv6 address, written bare (`::1`) or in brackets (`[::1]`).
    Ipv6(Ipv6Addr),
}

impl fmt::Display for Host {
    /// Writes the host as it can be handed to ssh: names and addresses bare.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Name(name) => f.write_str(name),
            Host::Ipv4(address) => address.fmt(f),
            Host::Ipv6(address) => address.fmt(f),
        }
    }
}

/// Checks a DNS-1123 label, the form Kubernetes requires of Service and namespace names:
/// `[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most 63 characters.
pub fn dns1123_label(s: &str) -> Result<(), NameError> {
    if s.len() <= 63 && is_label(s, |b| b.is_ascii_lowercase() || b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(NameError::Dns1123Label)
    }
}

/// Checks a DNS-1123 subdomain, the form Kubernetes requires of most object names
/// (Secrets, PVCs, classes): DNS-1123 labels joined by `.`, at most 253 characters.
pub fn dns1123_subdomain(s: &str) -> Result<(), NameError> {
    let labels_ok = s
        .split('.')
        .all(|label| is_label(label, |b| b.is_ascii_lowercase() || b.is_ascii_digit()));
    if s.len() <= 253 && labels_ok {
        Ok(())
    } else {
        Err(NameError::Dns1123Subdomain)
    }
}

/// Parses the host of an SSH destination: an RFC 1123 host name (any case, at most 253
/// characters, labels of at most 63, an optional final `.`), an IPv4 address, or an IPv6
/// address bare or in brackets.
///
/// A user (`root@host`) or a port (`host:22`) is refused with a message saying which field
/// takes it, since both are common when pasting from an ssh command line.
pub fn host(s: &str) -> Result<Host, NameError> {
    if s.contains('@') {
        return Err(NameError::HostWithUser);
    }
    if let Some(inner) = s.strip_prefix('[') {
        if let Some(address) = inner.strip_suffix(']') {
            return address.parse().map(Host::Ipv6).map_err(|_| NameError::Host);
        }
        return match inner.rsplit_once("]:") {
            Some((address, port)) if address.parse::<Ipv6Addr>().is_ok() && is_port(port) => {
                Err(NameError::HostWithPort)
            }
            _ => Err(NameError::Host),
        };
    }
    if let Ok(address) = s.parse::<Ipv6Addr>() {
        return Ok(Host::Ipv6(address));
    }
    if let Some((_, port)) = s.split_once(':') {
        return Err(if is_port(port) {
            NameError::HostWithPort
        } else {
            NameError::Host
        });
    }
    if let Ok(address) = s.parse::<Ipv4Addr>() {
        return Ok(Host::Ipv4(address));
    }
    let name = s.strip_suffix('.').unwrap_or(s);
    let labels_ok = name
        .split('.')
        .all(|label| label.len() <= 63 && is_label(label, |b| b.is_ascii_alphanumeric()));
    // An all-numeric last label would make `1.2.3` or `256.0.0.1` look like an address.
    let numeric_top = name
        .rsplit('.')
        .next()
        .is_some_and(|top| top.bytes().all(|b| b.is_ascii_digit()));
    if s.len() <= 253 && labels_ok && !numeric_top {
        Ok(Host::Name(s.to_ascii_lowercase()))
    } else {
        Err(NameError::Host)
    }
}

/// Checks a user name that is portable across POSIX systems: letters, digits, `.`, `_` and
/// `-`, not starting with `-`, 1 to 32 characters (the limit of most `useradd`s).
pub fn posix_user(s: &str) -> Result<(), NameError> {
    let allowed = s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if (1..=32).contains(&s.len()) && allowed && !s.starts_with('-') {
        Ok(())
    } else {
        Err(NameError::PosixUser)
    }
}

/// Checks an rclone remote name, the section of `rclone.conf` to use: letters and digits
/// (Unicode ones too, as rclone allows since 1.61), `_`, `-`, `.`, `+`, `@` and spaces, not
/// starting with `-` or a space and not ending with a space.
pub fn rclone_section(s: &str) -> Result<(), NameError> {
    let allowed = s
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '+' | '@' | ' '));
    if !s.is_empty() && allowed && !s.starts_with(['-', ' ']) && !s.ends_with(' ') {
        Ok(())
    } else {
        Err(NameError::RcloneSection)
    }
}

/// Whether `label` is non-empty, made of bytes `inner` accepts or `-`, and starts and ends
/// with a byte `inner` accepts.
fn is_label(label: &str, inner: impl Fn(u8) -> bool) -> bool {
    let bytes = label.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(&first), Some(&last)) => {
            inner(first) && inner(last) && bytes.iter().all(|&b| b == b'-' || inner(b))
        }
        _ => false,
    }
}

/// Whether `s` looks like a port number, to tell `host:22` from other uses of `:`.
fn is_port(s: &str) -> bool {
    !s.is_empty() && s.len() <= 5 && s.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests;
