//! The history of a chaos run, Jepsen style: every client operation with its
//! start and end time and how it ended, every fault the nemesis injected,
//! and what a final read of each key found once the cluster was healed.
//!
//! Times are milliseconds since the run started. The history is plain data
//! (serde, JSON-friendly) so that a run can be saved and checked again later
//! by [`super::checker::check`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What a client operation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OpKind {
    /// Wrote a value to a key.
    Put,
    /// Read a key.
    Get,
    /// Removed a key.
    Delete,
}

/// How a client operation ended, as far as the client could tell.
///
/// For safety analysis, a [`OpOutcome::Failed`] or [`OpOutcome::Unknown`]
/// write is *indeterminate*: it may or may not have taken effect. A failed
/// write can still have been applied in part (the key's owner applies it
/// locally before it learns that the quorum failed, and repair can spread
/// it). Only [`OpOutcome::Ok`] writes are acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OpOutcome {
    /// The server answered success (for a get, a value or "not found").
    Ok,
    /// The server answered an error (e.g. 503).
    Failed,
    /// No answer: a timeout, or the connection broke mid-request.
    Unknown,
}

/// One client operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Op {
    /// The client (worker) that issued it.
    pub client: u32,
    /// Put, get or delete.
    pub kind: OpKind,
    /// The key.
    pub key: String,
    /// For a put: the value written, unique across the run. For a get that
    /// ended [`OpOutcome::Ok`]: `Some(v)` if it read `v`, `None` if the key
    /// was not found (HTTP 404). Otherwise `None`.
    pub value: Option<u64>,
    /// When the request was sent, in ms since the run started.
    pub start_ms: u64,
    /// When the answer (or the failure) arrived, in ms since the run started.
    pub end_ms: u64,
    /// How it ended.
    pub outcome: OpOutcome,
    /// The node the request was sent to.
    pub node: String,
    /// The `ETag` of an `ok` answer (the version written or read; opaque,
    /// see `chord_proto::etag`), when the node sent one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
}

/// One nemesis action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fault {
    /// One of `kill`, `restart`, `pause`, `partition`, `join`, `leave`.
    pub kind: String,
    /// The nodes it acted on.
    pub nodes: Vec<String>,
    /// When it was injected, in ms since the run started.
    pub start_ms: u64,
    /// When it was undone (healed, resumed, restarted); `None` for
    /// instantaneous actions and for faults never undone.
    pub end_ms: Option<u64>,
    /// When the ring was seen correct again after the fault was undone;
    /// `None` if that was never seen.
    pub converged_ms: Option<u64>,
}

/// What the final read of a key found, after the faults were healed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FinalRead {
    /// The key held this value.
    Value(u64),
    /// The key was not found.
    Absent,
    /// The key could not be read; the error message.
    Error(String),
}

/// A whole run: what the checker analyses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct History {
    /// Every client operation, in any order.
    pub ops: Vec<Op>,
    /// Every nemesis action, in any order.
    pub faults: Vec<Fault>,
    /// The final read of each key, by key.
    pub final_reads: BTreeMap<String, FinalRead>,
    /// The `ETag` of each final read that found a value, by key.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub final_etags: BTreeMap<String, String>,
    /// How long the run lasted, in ms.
    pub duration_ms: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_json_with_lowercase_names() {
        let h = History {
            ops: vec![Op {
                client: 2,
                kind: OpKind::Delete,
                key: "k".into(),
                value: None,
                start_ms: 5,
                end_ms: 9,
                outcome: OpOutcome::Unknown,
                node: "node-1".into(),
                etag: None,
            }],
            faults: vec![Fault {
                kind: "partition".into(),
                nodes: vec!["node-1".into()],
                start_ms: 1,
                end_ms: None,
                converged_ms: None,
            }],
            final_reads: BTreeMap::from([
                ("a".to_string(), FinalRead::Value(7)),
                ("b".to_string(), FinalRead::Absent),
                ("c".to_string(), FinalRead::Error("503".into())),
            ]),
            final_etags: BTreeMap::new(),
            duration_ms: 10,
        };
        let json = serde_json::to_string(&h).unwrap();
        assert!(json.contains(r#""kind":"delete""#), "{json}");
        assert!(json.contains(r#""outcome":"unknown""#), "{json}");
        assert!(json.contains(r#""a":{"value":7}"#), "{json}");
        assert!(json.contains(r#""b":"absent""#), "{json}");
        let back: History = serde_json::from_str(&json).unwrap();
        assert_eq!(back, h);
    }
}
