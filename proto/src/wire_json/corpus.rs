//! Messages for the tests of both directions: every op and outcome, every
//! optional field present and absent, strings copied as they are and
//! strings JSON escapes.

use crate::entry::Version;
use crate::etag::Condition;
use crate::id::Id;
use crate::range::Range;
use crate::trace::{Tag, TraceHop};
use crate::wire::{KvOp, KvOutcome, ReplyMsg, RouteMsg};
use serde_json::value::RawValue;
use std::sync::Arc;

/// A test value, as it travels.
pub fn raw(text: &str) -> Arc<RawValue> {
    Arc::from(RawValue::from_string(text.to_string()).unwrap())
}

/// An id of twenty `n` bytes.
pub fn id(n: u8) -> Id {
    Id([n; 20])
}

/// Strings that are copied as they are, and strings serde_json escapes.
pub const TEXTS: [&str; 6] = [
    "",
    "127.0.0.1:7000",
    "key with spaces/and%2Fslashes",
    "ünïcødé ✓ and \u{7f}",
    "quote \" and backslash \\",
    "control \n\t\u{1} characters",
];

/// Route messages: typical ones (as an entry node sends them) and ones
/// with every rare field.
pub fn routes() -> Vec<RouteMsg> {
    let ops = [
        KvOp::Get,
        KvOp::Delete,
        KvOp::Put {
            value: raw(r#"{"a": [1, 2.5, "x\"y"], "b": null}"#),
        },
    ];
    let mut out = Vec::new();
    // The optional fields present in different combinations; the rare ones
    // (a trace, a condition) on a third of the messages each.
    for (i, text) in TEXTS.iter().enumerate() {
        for (j, op) in ops.iter().enumerate() {
            let odd = (i + j) % 2 == 1;
            out.push(RouteMsg {
                req: "00112233445566778899aabbccddeeff".into(),
                origin: text.to_string(),
                key: TEXTS[(i + 1) % TEXTS.len()].to_string(),
                op: op.clone(),
                hops: (i * j) as u32 + u32::from(odd) * (u32::MAX - 20),
                owner_hint: odd,
                avoid: odd.then(|| id(i as u8)),
                deadline_ms: (i % 2 == 0).then_some(u64::MAX - i as u64),
                trace: (i % 3 == 0).then(|| vec![TraceHop::new("b:2", vec![Tag::Finger(3)])]),
                reply_inline: j % 2 == 0,
                cond: (i % 3 == 1).then(|| match j {
                    0 => Condition::Absent,
                    1 => Condition::Exists,
                    _ => Condition::Matches(vec![Version { ts: 7, node: 9 }]),
                }),
                ttl_ms: ((i + j) % 3 == 0).then_some(j as u64),
                range_tag: (!odd).then_some(i as u64 * 0x1234_5678_9abc_def0),
            });
        }
    }
    // The hot path's messages: every combination of the common optional
    // fields, with plain strings.
    for bits in 0u32..64 {
        let has = |bit: u32| bits & (1 << bit) != 0;
        out.push(RouteMsg {
            req: "0123456789abcdef0123456789abcdef".into(),
            origin: "10.0.0.7:7000/v3".into(),
            key: "user:42".into(),
            op: if has(0) { KvOp::Get } else { KvOp::Delete },
            hops: bits,
            owner_hint: has(1),
            avoid: has(2).then(|| id(bits as u8)),
            deadline_ms: has(3).then_some(1_764_000_000_000 + u64::from(bits)),
            trace: None,
            reply_inline: has(4),
            cond: None,
            ttl_ms: has(5).then_some(60_000),
            range_tag: has(1).then_some(u64::MAX - u64::from(bits)),
        });
    }
    out
}

/// Replies: typical ones (as an owner sends them) and ones with every rare
/// field.
pub fn replies() -> Vec<ReplyMsg> {
    let outcomes = [
        KvOutcome::Stored,
        KvOutcome::NotFound,
        KvOutcome::Deleted,
        KvOutcome::Value(raw("[true,false,{\"k\":\"\\u00e9\"}]")),
        KvOutcome::Inconclusive {
            error: "a holder did not \"answer\"".into(),
        },
        KvOutcome::Failed {
            status: 409,
            error: "condition failed\n".into(),
        },
    ];
    let mut out = Vec::new();
    for (i, text) in TEXTS.iter().enumerate() {
        for (j, outcome) in outcomes.iter().enumerate() {
            let odd = (i + j) % 2 == 1;
            out.push(ReplyMsg {
                req: TEXTS[(i + j) % TEXTS.len()].to_string(),
                owner: text.to_string(),
                gave_up: ((i + j) % 3 == 0).then(|| id(j as u8 * 40)),
                hops: j as u32 * 1000,
                outcome: outcome.clone(),
                version: odd.then_some(Version {
                    ts: u64::MAX - j as u64,
                    node: i as u64,
                }),
                trace: (i % 3 == 0).then(|| vec![TraceHop::new("a:1", vec![Tag::Owner])]),
                range: (!odd).then_some(Range {
                    from: id(i as u8),
                    to: id(255 - j as u8),
                }),
            });
        }
    }
    // The hot path's replies: each outcome it reads with every combination
    // of the optional fields, with plain strings.
    for (j, outcome) in outcomes.iter().take(4).enumerate() {
        for bits in 0u8..8 {
            let has = |bit: u8| bits & (1 << bit) != 0;
            out.push(ReplyMsg {
                req: "0123456789abcdef0123456789abcdef".into(),
                owner: "node-7:7000".into(),
                gave_up: has(0).then(|| id(bits)),
                hops: u32::from(bits),
                outcome: outcome.clone(),
                version: has(1).then_some(Version {
                    ts: 1 << 40 | j as u64,
                    node: u64::from(bits),
                }),
                trace: None,
                range: has(2).then_some(Range {
                    from: id(bits),
                    to: id(200),
                }),
            });
        }
    }
    out
}
