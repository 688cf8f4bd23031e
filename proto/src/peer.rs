//! A ring member as others see it.

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

impl Peer {
    /// A peer whose id is SHA-1 of its address (the default placement).
    pub fn from_addr(addr: &str) -> Peer {
        Peer {
            id: Id::hash(addr.as_bytes()),
            addr: addr.to_string(),
        }
    }
}
