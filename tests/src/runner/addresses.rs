//! One loopback address per pod, so several pods can listen on the same port.
//!
//! Linux routes all of 127.0.0.0/8 to the loopback interface, so any 127.0.x.y can be bound
//! without configuration. A pod's address is chosen from 127.0.1.1–127.0.254.254, starting at
//! a point derived from its UID (so two clusters on one machine rarely pick the same one) and
//! skipping addresses other running pods hold.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use super::error::{Error, Result};

const SPAN: u32 = 254 * 254;

/// The addresses handed out to the pods this runner runs.
#[derive(Debug, Default)]
pub struct Addresses {
    held: HashMap<Ipv4Addr, String>,
}

fn nth(n: u32) -> Ipv4Addr {
    let n = n % SPAN;
    // Both octets are 1..=254: no .0 or .255 in either place.
    let (x, y) = (n / 254 + 1, n % 254 + 1);
    Ipv4Addr::new(127, 0, x as u8, y as u8)
}

/// FNV-1a: a stable start point for a UID.
fn start(uid: &str) -> u32 {
    uid.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

/// True for an address this runner may hand out.
pub fn is_pod_address(ip: Ipv4Addr) -> bool {
    let [a, b, x, y] = ip.octets();
    a == 127 && b == 0 && (1..=254).contains(&x) && (1..=254).contains(&y)
}

impl Addresses {
    /// The address for pod `uid`: `preferred` (the one its status already shows, after a
    /// runner restart) when it is free, else the first free one from the UID's start point.
    pub fn assign(&mut self, uid: &str, preferred: Option<Ipv4Addr>) -> Result<Ipv4Addr> {
        if let Some((ip, _)) = self.held.iter().find(|(_, owner)| *owner == uid) {
            return Ok(*ip);
        }
        let free = |ip: &Ipv4Addr| !self.held.contains_key(ip);
        let ip = preferred
            .filter(|ip| is_pod_address(*ip) && free(ip))
            .or_else(|| {
                let first = start(uid);
                (0..SPAN).map(|i| nth(first.wrapping_add(i))).find(free)
            })
            .ok_or_else(|| Error::Unsupported("every loopback pod address is taken".into()))?;
        self.held.insert(ip, uid.to_owned());
        Ok(ip)
    }

    /// Gives back the address of pod `uid`.
    pub fn release(&mut self, uid: &str) {
        self.held.retain(|_, owner| owner != uid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_distinct_stable_and_in_range() {
        let mut a = Addresses::default();
        let one = a.assign("uid-1", None).unwrap();
        let two = a.assign("uid-2", None).unwrap();
        assert_ne!(one, two);
        assert!(is_pod_address(one) && is_pod_address(two));
        assert_eq!(a.assign("uid-1", None).unwrap(), one);
    }

    #[test]
    fn preferred_address_is_kept_when_free() {
        let mut a = Addresses::default();
        let want = Ipv4Addr::new(127, 0, 9, 9);
        assert_eq!(a.assign("u", Some(want)).unwrap(), want);
        assert_ne!(a.assign("v", Some(want)).unwrap(), want);
        a.release("u");
        assert_eq!(a.assign("w", Some(want)).unwrap(), want);
    }

    #[test]
    fn addresses_outside_the_range_are_not_preferred() {
        let mut a = Addresses::default();
        let ip = a.assign("u", Some(Ipv4Addr::LOCALHOST)).unwrap();
        assert_ne!(ip, Ipv4Addr::LOCALHOST);
        assert!(is_pod_address(ip));
    }

    #[test]
    fn octets_avoid_zero_and_broadcast() {
        for n in [0, 253, 254, SPAN - 1, SPAN] {
            let [_, _, x, y] = nth(n).octets();
            assert!((1..=254).contains(&x) && (1..=254).contains(&y), "{n}");
        }
    }
}
