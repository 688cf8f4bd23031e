//! Wire messages of ring maintenance (`POST /chord/rpc`).

use crate::id::Id;
use crate::peer::Peer;
use serde::{Deserialize, Serialize};

/// A ring-maintenance request from one node to another.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Request {
    /// Liveness probe; answered with [`Response::Pong`].
    Ping,
    /// Ask for the receiver's predecessor and successor list (stabilize, join).
    GetNeighbors,
    /// "I believe I am your predecessor": the receiver rectifies.
    Notify {
        /// The node that believes it precedes the receiver.
        peer: Peer,
        /// Also answer with [`Response::Neighbors`] (as for `GetNeighbors`,
        /// after rectifying) instead of `Ack`: stabilize and notify in one
        /// round trip. Optional on the wire: a node that predates it ignores
        /// the field and answers `Ack`, and the sender then asks with
        /// `GetNeighbors`.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        neighbors: bool,
    },
    /// One step of an iterative lookup of `id`'s successor.
    FindSuccessor {
        /// The identifier being looked up.
        id: Id,
    },
    /// The sender leaves the ring gracefully and names who takes its place.
    Leaving {
        /// The node that leaves.
        peer: Peer,
        /// Its predecessor (for its successor to adopt).
        predecessor: Option<Peer>,
        /// Its successor list (for its predecessor to adopt).
        successors: Vec<Peer>,
    },
    /// A live node that may belong between the receiver and its neighbours
    /// (ring merging): the receiver checks it as a successor candidate, or
    /// passes it to its predecessor when it lies just before the receiver.
    Consider {
        /// The node to consider.
        peer: Peer,
        /// How many more times it may be passed on.
        ttl: u8,
    },
}

/// The answer to a [`Request`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Response {
    /// Answer to `Ping`.
    Pong,
    /// Answer to `GetNeighbors`.
    Neighbors {
        /// The responder itself, so the caller learns its real id.
        me: Peer,
        /// The responder's predecessor, if known.
        predecessor: Option<Peer>,
        /// The responder's successor list, nearest first.
        successors: Vec<Peer>,
        /// The ring the responder belongs to: a nonce its founder drew, which
        /// every joiner takes over (0 from a node that predates it). Probes
        /// merge only rings with the same nonce.
        #[serde(default)]
        ring: u64,
        /// In answer to a `Notify`: among the nodes that notified the
        /// responder lately, the first after the notifier, when it lies
        /// before the responder's predecessor (a better successor for the
        /// notifier than that predecessor). Many nodes that joined at once
        /// all take the same successor; without this each round of
        /// stabilization sorted out one of them. Optional on the wire.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        closer: Option<Peer>,
    },
    /// Answer to `Notify` and `Leaving`.
    Ack,
    /// The lookup is finished: `peer` is the successor of the id.
    Found {
        /// The successor of the looked-up id.
        peer: Peer,
    },
    /// The lookup continues at `peer`, which is closer to the id.
    Next {
        /// The closest preceding node the responder knows.
        peer: Peer,
    },
    /// The responder has not joined a ring yet; treat it as unavailable.
    NotReady,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer() -> Peer {
        Peer::from_addr("a:1")
    }

    #[test]
    fn a_plain_notify_keeps_its_old_wire_form() {
        let plain = Request::Notify {
            peer: peer(),
            neighbors: false,
        };
        let json = serde_json::to_value(&plain).unwrap();
        assert_eq!(json, serde_json::json!({"Notify": {"peer": peer()}}));
        // What an older node sends parses as a plain notify.
        assert_eq!(serde_json::from_value::<Request>(json).unwrap(), plain);
    }

    #[test]
    fn a_notify_asking_for_neighbours_round_trips() {
        let ask = Request::Notify {
            peer: peer(),
            neighbors: true,
        };
        let text = serde_json::to_string(&ask).unwrap();
        assert!(text.contains("\"neighbors\":true"), "{text}");
        assert_eq!(serde_json::from_str::<Request>(&text).unwrap(), ask);
    }
}
