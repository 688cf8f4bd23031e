//! Wire messages of the data plane: routed key operations, direct replies, and
//! replica traffic. Enums are externally tagged on purpose: serde_json's
//! `RawValue` (values travel unparsed) does not survive internally tagged enums.

use crate::digest::Digest;
use crate::entry::{Entry, Version};
use crate::etag::Condition;
use crate::id::Id;
use crate::range::Range;
use crate::trace::TraceHop;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::sync::Arc;

/// A key operation as a client asked for it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum KvOp {
    /// Store `value` under the key.
    Put {
        /// The JSON value, unparsed.
        value: Arc<RawValue>,
    },
    /// Read the key.
    Get,
    /// Delete the key.
    Delete,
}

/// A request travelling hop by hop towards the key's owner (`POST /chord/route`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RouteMsg {
    /// Unguessable request id (32 hex digits); the reply must quote it.
    pub req: String,
    /// `host:port` of the entry node, which the owner answers directly.
    pub origin: String,
    /// The key.
    pub key: String,
    /// What to do.
    pub op: KvOp,
    /// Forwarding steps so far (1 when the entry node sends it).
    pub hops: u32,
    /// The sender believes the receiver owns the key.
    pub owner_hint: bool,
    /// On the entry node's retry: a node the new path should not pass through
    /// (the first try's silent first hop, or the node that answered 503).
    /// Every hop leaves it out of rule 4 (closest preceding node); an owner
    /// found in a successor list is still used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avoid: Option<Id>,
    /// When the entry node stops waiting for this attempt (its wall clock,
    /// ms since the epoch): a copy still on its way after that (held up at
    /// a frozen hop, say) is dropped instead of executed. The deadline has
    /// 1 s of slack; a node whose clock runs ahead of the entry's by more
    /// drops requests early, one that runs behind keeps them longer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline_ms: Option<u64>,
    /// The path so far, when the client asked for a trace (`X-Chord-Trace`):
    /// the entry first, the receiver last (each sender appends the node it
    /// sends to). Absent, and never allocated, on an untraced request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<Vec<TraceHop>>,
    /// Set by the entry node on the hops it sends itself: a receiver that
    /// owns the key answers with the [`ReplyMsg`] on this same connection
    /// (200) instead of 202 and `POST /chord/reply`, which is the direct
    /// reply to the originating node with one exchange instead of two. A
    /// receiver that does not own the key acknowledges with 202 and routes on
    /// as always (clearing the flag: later hops are not the origin's
    /// connection). A node that predates the flag ignores it and answers 202.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reply_inline: bool,
    /// A write's precondition (`If-Match`, `If-None-Match: *`), decided by
    /// the owner. Absent on an unconditional write and from older nodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cond: Option<Condition>,
    /// A PUT's time to live in ms; the owner stores `now + ttl` with the
    /// value. Absent: no expiry (and from older nodes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_ms: Option<u64>,
    /// The [`Range::tag`] of the likely owner's range and address as the
    /// entry node's location cache holds them (the likely owner: the cache's
    /// guess, or the owner the entry's successor list names): an owner whose
    /// own range and address have this tag leaves [`ReplyMsg::range`] out,
    /// since the entry would learn nothing from it (the range is about 40 %
    /// of a reply's bytes and of its parse). Absent: the range is sent, as
    /// to older nodes, which also ignore the field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range_tag: Option<u64>,
}

/// The outcome of an operation at the owner.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum KvOutcome {
    /// Put applied on a write quorum.
    Stored,
    /// Get found the value.
    Value(Arc<RawValue>),
    /// Get or delete found no value.
    NotFound,
    /// Delete applied on a write quorum.
    Deleted,
    /// The owner could not establish the answer (a holder it had to ask did
    /// not answer, see `crate::absence`) and changed nothing: 503, safe to retry.
    Inconclusive {
        /// Human-readable reason.
        error: String,
    },
    /// The operation failed; `status` is the HTTP status the client should see.
    Failed {
        /// HTTP status code.
        status: u16,
        /// Human-readable reason.
        error: String,
    },
}

/// The owner's direct answer to the entry node (`POST /chord/reply`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ReplyMsg {
    /// The request id from [`RouteMsg::req`].
    pub req: String,
    /// `host:port` of the node that performed the operation (or, on a 503
    /// from the path, the node that could not pass the request on).
    pub owner: String,
    /// Set when the replying node did not perform the operation but gave up
    /// on passing the request on: its ring id, for the entry node's retry to
    /// avoid. An owner's own failure (say, no write quorum) leaves it unset
    /// and is not retried, since the owner may have applied part of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gave_up: Option<Id>,
    /// Forwarding steps the request took.
    pub hops: u32,
    /// What happened.
    pub outcome: KvOutcome,
    /// The key's version the answer is about (its `ETag`): the value read,
    /// the version written, the tombstone of a delete, or (a failed
    /// condition) the live version the condition failed against. Absent
    /// when there is none, and from nodes that predate it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<Version>,
    /// On a traced request, the path up to the replying node (tagged
    /// `owner` when it performed the operation); the entry adds its
    /// `direct-reply` hop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<Vec<TraceHop>>,
    /// When the replying node performed the operation as the owner: the range
    /// it holds, `(its predecessor, itself]`, for the entry node's location
    /// cache. Absent when it gave up, knows no predecessor, predates it, or
    /// the entry already holds it ([`RouteMsg::range_tag`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<Range>,
}

/// The keys of a multi-get its entry node believes one owner holds
/// (`POST /chord/batch`): the receiver reads those it owns, each as a
/// routed GET would be executed there.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BatchGet {
    /// The keys, distinct.
    pub keys: Vec<String>,
}

/// One key's answer in a [`BatchAnswer`].
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BatchItem {
    /// The key.
    pub key: String,
    /// The GET's outcome at its owner; absent when the receiver does not own
    /// the key (the entry node then routes it as a single GET).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<KvOutcome>,
    /// The version read (its `ETag`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<Version>,
}

/// The answer to a [`BatchGet`]: one item per key asked for, in order.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BatchAnswer {
    /// The items.
    pub items: Vec<BatchItem>,
}

/// Replica traffic between holders (`POST /chord/data`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum ReplicaRequest {
    /// Apply these entries if newer (writes, repairs, hand-offs).
    Replicate {
        /// The entries.
        entries: Vec<Entry>,
    },
    /// Send your copy of this key (read fallback).
    Fetch {
        /// The key.
        key: String,
    },
    /// The owner's digest of `range`; the receiver is a replica holder of it.
    SyncDigest {
        /// The owner (whose lease on the receiver this renews).
        owner: Id,
        /// The owner's primary range.
        range: Range,
        /// The owner's digest of it.
        digest: Digest,
    },
    /// Orphaned copies offered to the key's owner (see `hand_off_orphans`):
    /// the receiver takes only those in its own range as it sees it.
    HandOff {
        /// The copies.
        entries: Vec<Entry>,
    },
    /// The owner no longer counts the receiver among its replica holders
    /// (its successors changed): the receiver forgets that owner's lease, so
    /// its copies become orphans, handed back and then dropped.
    Release {
        /// The owner.
        owner: Id,
    },
    /// The owner's full `(id, version)` list of `range` after a digest mismatch.
    SyncList {
        /// The owner's primary range.
        range: Range,
        /// Everything the owner holds in it.
        items: Vec<(Id, Version)>,
    },
}

/// Answers to [`ReplicaRequest`].
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum ReplicaResponse {
    /// How many entries were newer and applied.
    Applied(usize),
    /// A single replicated entry was older than the one held, which has this version.
    Newer(Version),
    /// The requested entry, if held.
    Entry(Option<Entry>),
    /// Whether the digests matched.
    InSync(bool),
    /// Answer to a hand-off: the ids the receiver owns and has now (it
    /// applied them, or held them at least as new).
    Taken(Vec<Id>),
    /// After a list: ids the receiver wants, and entries it holds newer.
    Delta {
        /// Ids the owner should send.
        want: Vec<Id>,
        /// Entries the owner lacks or holds older.
        newer: Vec<Entry>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_and_reply_messages_without_the_retry_fields_still_parse() {
        // Messages from a node that predates `avoid` / `gave_up` (a rolling
        // upgrade) parse, and a first try does not send the fields at all.
        let route: RouteMsg = serde_json::from_str(
            r#"{"req":"00112233445566778899aabbccddeeff","origin":"a:1","key":"k","op":"Get","hops":1,"owner_hint":false}"#,
        )
        .unwrap();
        assert!(route.avoid.is_none() && route.cond.is_none());
        assert!(!serde_json::to_string(&route).unwrap().contains("cond"));
        assert!(!serde_json::to_string(&route).unwrap().contains("avoid"));
        let reply: ReplyMsg = serde_json::from_str(
            r#"{"req":"00112233445566778899aabbccddeeff","owner":"b:2","hops":1,"outcome":"NotFound"}"#,
        )
        .unwrap();
        assert!(reply.gave_up.is_none());
        assert!(reply.version.is_none());
        assert!(!serde_json::to_string(&reply).unwrap().contains("version"));
        assert!(route.trace.is_none() && reply.trace.is_none());
        assert!(!serde_json::to_string(&reply).unwrap().contains("trace"));

        // On a retry the avoided id travels as 40 hex digits and comes back.
        let id = Id::hash(b"b:2");
        let retry = RouteMsg {
            avoid: Some(id),
            ..route
        };
        let back: RouteMsg = serde_json::from_str(&serde_json::to_string(&retry).unwrap()).unwrap();
        assert_eq!(back.avoid, Some(id));

        // A traced request carries its path as hop texts.
        let path = vec![
            TraceHop::new("a:1", vec![crate::trace::Tag::Entry]),
            TraceHop::new("b:2", vec![crate::trace::Tag::Finger(3)]),
        ];
        let traced = RouteMsg {
            trace: Some(path.clone()),
            ..back
        };
        let text = serde_json::to_string(&traced).unwrap();
        assert!(
            text.contains(r#""trace":["a:1 entry","b:2 finger-3"]"#),
            "{text}"
        );
        let back: RouteMsg = serde_json::from_str(&text).unwrap();
        assert_eq!(back.trace, Some(path));
    }
}
