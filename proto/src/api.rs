//! The public JSON a node answers with, as both the node (writing) and
//! chordctl (reading) see it: `GET /status`, `GET /chord/keys` and the error
//! body of every non-2xx answer. The committed OpenAPI document
//! (`node/openapi.json`) describes the same shapes.

use crate::entry::Version;
use crate::id::Id;
use crate::peer::Peer;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::collections::BTreeMap;
use std::sync::Arc;

/// `GET /status`: a snapshot of one node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "strict", serde(deny_unknown_fields))]
pub struct Status {
    /// This node's id (40 hex).
    pub id: Id,
    /// Advertised address.
    pub addr: String,
    /// Current predecessor.
    pub predecessor: Option<Peer>,
    /// Successor list, nearest first.
    pub successors: Vec<Peer>,
    /// Distinct fingers in finger order.
    pub fingers: Vec<Peer>,
    /// Live keys stored here (owned and replicas).
    pub keys: usize,
    /// Live keys in this node's primary range.
    pub keys_owned: usize,
    /// Live keys held as a replica.
    pub keys_replica: usize,
    /// Tombstones held.
    pub tombstones: usize,
    /// Whether the last repair round moved data.
    pub repairing: bool,
    /// Replication factor R.
    pub replicas: usize,
    /// Write quorum W.
    pub write_quorum: usize,
    /// Whether the node has joined a ring.
    pub ready: bool,
    /// With `--vnodes V > 1`, every position this node takes, each as its
    /// own status (`id`, `addr`, neighbours and key counts of that
    /// position); the top-level fields then describe position 0, except the
    /// key counts, which are the node's totals. Empty (and absent on the
    /// wire) with one position.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub positions: Vec<Status>,
}

/// One entry of [`KeyListing`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "strict", serde(deny_unknown_fields))]
pub struct KeyEntry {
    /// The key.
    pub key: String,
    /// Its ring id.
    pub id: Id,
    /// The version its owner assigned (32 hex digits on the wire, which
    /// compare as strings like the versions do).
    pub version: Version,
    /// Whether this is a tombstone.
    pub deleted: bool,
}

/// `GET /chord/keys` (cluster key required): everything a node holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "strict", serde(deny_unknown_fields))]
pub struct KeyListing {
    /// The node's id.
    pub id: Id,
    /// Its advertised address.
    pub addr: String,
    /// Every entry held, tombstones included, in id order.
    pub entries: Vec<KeyEntry>,
}

/// The body of every error answer: `{"error": "..."}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "strict", serde(deny_unknown_fields))]
pub struct ErrorBody {
    /// What went wrong, for a human.
    pub error: String,
}

/// Most keys one `POST /kv:batchGet` may ask for (400 beyond).
pub const BATCH_GET_MAX_KEYS: usize = 1000;

/// The answer to `POST /kv:batchGet` (200): every distinct key asked for
/// is in exactly one of `values`, `missing` and `errors`, so a client can
/// tell a proven absence from a key that could not be read this time.
/// Maps are JSON objects keyed by the key, in key order.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "strict", serde(deny_unknown_fields))]
pub struct BatchGetResponse {
    /// The keys found, with their values exactly as stored.
    pub values: BTreeMap<String, Arc<RawValue>>,
    /// The `ETag` of each key in `values`.
    pub etags: BTreeMap<String, String>,
    /// The keys proven absent (a single GET's 404), in key order.
    pub missing: Vec<String>,
    /// The keys that could not be read (a single GET's 503 and the like).
    pub errors: BTreeMap<String, BatchKeyError>,
}

/// Why one key of a multi-get could not be read: the status and message a
/// single GET of it would have answered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "strict", serde(deny_unknown_fields))]
pub struct BatchKeyError {
    /// HTTP status of the single GET (503: try again).
    pub status: u16,
    /// What went wrong, for a human.
    pub error: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_round_trips_and_ids_travel_as_hex() {
        let a = Peer::from_addr("a:7000");
        let s = Status {
            id: a.id,
            addr: a.addr.clone(),
            predecessor: None,
            successors: vec![Peer::from_addr("b:7000")],
            fingers: vec![],
            keys: 3,
            keys_owned: 1,
            keys_replica: 2,
            tombstones: 0,
            repairing: false,
            replicas: 3,
            write_quorum: 2,
            ready: true,
            positions: vec![],
        };
        let text = serde_json::to_string(&s).unwrap();
        assert!(text.contains(&format!("\"id\":\"{}\"", a.id.to_hex())));
        assert_eq!(serde_json::from_str::<Status>(&text).unwrap(), s);
    }

    #[test]
    fn a_listing_entry_keeps_its_version() {
        let e = KeyEntry {
            key: "k".into(),
            id: Id::hash(b"k"),
            version: Version { ts: 7, node: 9 },
            deleted: true,
        };
        let text = serde_json::to_string(&e).unwrap();
        assert!(text.contains("\"version\":\"00000000000000070000000000000009\""));
        assert_eq!(serde_json::from_str::<KeyEntry>(&text).unwrap(), e);
    }
}
