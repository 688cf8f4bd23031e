//! A ring member as others see it, and the virtual-node positions a node
//! takes.
//!
//! A node started with `--vnodes V > 1` takes V positions on the ring:
//! position `i` has id `SHA-1(advertise + "#" + i)` and answers its ring
//! traffic under the path prefix `/v{i}` of the node's one listener, so its
//! [`Peer::addr`] is `advertise/v{i}` (position 0 answers at the bare
//! address). With `V = 1` the one position is the node itself, at
//! `SHA-1(advertise)`, as before vnodes. The part of an address before the
//! first `/` is the physical node ([`Peer::host`]): placement puts a key's
//! copies on distinct hosts.

use crate::id::Id;
use serde::{Deserialize, Serialize};

/// A ring member: its identifier and the address it advertises.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[cfg_attr(feature = "strict", serde(deny_unknown_fields))]
pub struct Peer {
    /// Position on the ring.
    pub id: Id,
    /// `host:port` where its REST API answers.
    pub addr: String,
}

/// The id of position `i` of a node advertised as `advertise` with `vnodes`
/// positions (the simulator's `sha1(f"{a}#{v}")`, or `SHA-1(advertise)` alone
/// when `vnodes` is 1).
pub fn position_id(advertise: &str, i: usize, vnodes: usize) -> Id {
    if vnodes <= 1 {
        Id::hash(advertise.as_bytes())
    } else {
        Id::hash(format!("{advertise}#{i}").as_bytes())
    }
}

/// The address position `i` of a node advertised as `advertise` answers at:
/// the bare address for position 0, `advertise/v{i}` for the others.
pub fn position_addr(advertise: &str, i: usize) -> String {
    if i == 0 {
        advertise.to_string()
    } else {
        format!("{advertise}/v{i}")
    }
}

/// The position an address names: `(host, i)` for `host/v{i}`, `(addr, 0)`
/// for a bare address; `None` for a malformed suffix.
pub fn split_position(addr: &str) -> Option<(&str, usize)> {
    match addr.split_once('/') {
        None => Some((addr, 0)),
        Some((host, rest)) => {
            let i: usize = rest.strip_prefix('v')?.parse().ok()?;
            (i > 0 && rest == format!("v{i}")).then_some((host, i))
        }
    }
}

impl Peer {
    /// A peer whose id is SHA-1 of its address (the default placement).
    pub fn from_addr(addr: &str) -> Peer {
        Peer {
            id: Id::hash(addr.as_bytes()),
            addr: addr.to_string(),
        }
    }

    /// The physical node this position belongs to: its address before any
    /// `/v{i}` suffix. Two peers with the same host live and die together.
    pub fn host(&self) -> &str {
        host_of(&self.addr)
    }
}

/// The physical node of an address (see [`Peer::host`]).
pub fn host_of(addr: &str) -> &str {
    addr.split_once('/').map_or(addr, |(h, _)| h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_named_and_parsed_back() {
        assert_eq!(position_addr("n1:7000", 0), "n1:7000");
        assert_eq!(position_addr("n1:7000", 3), "n1:7000/v3");
        assert_eq!(split_position("n1:7000/v3"), Some(("n1:7000", 3)));
        assert_eq!(split_position("n1:7000"), Some(("n1:7000", 0)));
        for bad in [
            "n1:7000/v0",
            "n1:7000/v03",
            "n1:7000/x3",
            "n1:7000/v",
            "n1:7000/v3/v4",
        ] {
            assert_eq!(split_position(bad), None, "{bad}");
        }
        let p = Peer {
            id: position_id("n1:7000", 3, 16),
            addr: position_addr("n1:7000", 3),
        };
        assert_eq!(p.host(), "n1:7000");
        assert_eq!(Peer::from_addr("n1:7000").host(), "n1:7000");
    }

    #[test]
    fn one_position_keeps_the_plain_id_and_more_hash_the_index() {
        assert_eq!(position_id("a:1", 0, 1), Id::hash(b"a:1"));
        assert_eq!(position_id("a:1", 0, 4), Id::hash(b"a:1#0"));
        assert_eq!(position_id("a:1", 3, 4), Id::hash(b"a:1#3"));
    }
}
