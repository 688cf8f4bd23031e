//! The two messages of every routed request, [`RouteMsg`] and [`ReplyMsg`],
//! written as JSON by hand: the same bytes as their serde derive writes
//! (a test holds the two to it), for about a fifth of the instructions.
//!
//! Why: serde_json writes a struct through its `Compound` serializer, which
//! escapes every key and string a byte at a time; for these two messages
//! that was about 2.6 k instructions at the entry and 3.2 k at the owner
//! (callgrind, a 1-hop GET), as much as all of the entry's own routing.
//! Here keys are constant text, hex and numbers need no escaping, and a
//! string is copied as it is unless it holds a byte JSON escapes. The rare
//! fields (a trace, a condition, an error's text) still go through serde.
//!
//! Reading them stays serde's: a reader must take whatever an older or newer
//! node writes (field order, unknown fields, whitespace).

use crate::entry::Version;
use crate::id::Id;
use crate::range::Range;
use crate::wire::{KvOp, KvOutcome, ReplyMsg, RouteMsg};
use serde::Serialize;

impl RouteMsg {
    /// The message as JSON, byte for byte what `serde_json::to_vec` writes.
    pub fn to_json(&self) -> Result<Vec<u8>, serde_json::Error> {
        let mut o = Object::new(192 + self.key.len() + op_len(&self.op));
        o.string("req", &self.req)?;
        o.string("origin", &self.origin)?;
        o.string("key", &self.key)?;
        o.key("op");
        match &self.op {
            KvOp::Get => o.raw(b"\"Get\""),
            KvOp::Delete => o.raw(b"\"Delete\""),
            KvOp::Put { value } => {
                o.raw(b"{\"Put\":{\"value\":");
                o.raw(value.get().as_bytes());
                o.raw(b"}}");
            }
        }
        o.number("hops", self.hops.into());
        o.boolean("owner_hint", self.owner_hint);
        if let Some(avoid) = &self.avoid {
            o.id("avoid", avoid);
        }
        if let Some(deadline) = self.deadline_ms {
            o.number("deadline_ms", deadline);
        }
        if let Some(trace) = &self.trace {
            o.serde("trace", trace)?;
        }
        if self.reply_inline {
            o.boolean("reply_inline", true);
        }
        if let Some(cond) = &self.cond {
            o.serde("cond", cond)?;
        }
        if let Some(ttl) = self.ttl_ms {
            o.number("ttl_ms", ttl);
        }
        if let Some(tag) = self.range_tag {
            o.number("range_tag", tag);
        }
        Ok(o.finish())
    }
}

impl ReplyMsg {
    /// The message as JSON, byte for byte what `serde_json::to_vec` writes.
    pub fn to_json(&self) -> Result<Vec<u8>, serde_json::Error> {
        let value_len = match &self.outcome {
            KvOutcome::Value(v) => v.get().len(),
            _ => 0,
        };
        let mut o = Object::new(256 + value_len);
        o.string("req", &self.req)?;
        o.string("owner", &self.owner)?;
        if let Some(gave_up) = &self.gave_up {
            o.id("gave_up", gave_up);
        }
        o.number("hops", self.hops.into());
        o.key("outcome");
        match &self.outcome {
            KvOutcome::Stored => o.raw(b"\"Stored\""),
            KvOutcome::NotFound => o.raw(b"\"NotFound\""),
            KvOutcome::Deleted => o.raw(b"\"Deleted\""),
            KvOutcome::Value(v) => {
                o.raw(b"{\"Value\":");
                o.raw(v.get().as_bytes());
                o.raw(b"}");
            }
            failed => serde_json::to_writer(&mut o.out, failed)?,
        }
        if let Some(version) = &self.version {
            o.version("version", version);
        }
        if let Some(trace) = &self.trace {
            o.serde("trace", trace)?;
        }
        if let Some(range) = &self.range {
            o.range("range", range);
        }
        Ok(o.finish())
    }
}

/// Bytes an operation adds to a route message (a PUT's value).
fn op_len(op: &KvOp) -> usize {
    match op {
        KvOp::Put { value } => value.get().len(),
        KvOp::Get | KvOp::Delete => 0,
    }
}

/// A JSON object being written, its fields in the order they come.
struct Object {
    out: Vec<u8>,
    first: bool,
}

impl Object {
    fn new(capacity: usize) -> Object {
        let mut out = Vec::with_capacity(capacity);
        out.push(b'{');
        Object { out, first: true }
    }

    /// `"name":` after a comma where one is due. Names are ours: plain
    /// text that needs no escaping.
    fn key(&mut self, name: &str) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        self.out.push(b'"');
        self.out.extend_from_slice(name.as_bytes());
        self.out.extend_from_slice(b"\":");
    }

    fn raw(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
    }

    fn string(&mut self, name: &str, s: &str) -> Result<(), serde_json::Error> {
        self.key(name);
        // serde_json escapes exactly these bytes (and nothing non-ASCII).
        if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
            self.out.push(b'"');
            self.out.extend_from_slice(s.as_bytes());
            self.out.push(b'"');
            Ok(())
        } else {
            serde_json::to_writer(&mut self.out, s)
        }
    }

    fn number(&mut self, name: &str, n: u64) {
        self.key(name);
        crate::decimal::push(&mut self.out, n);
    }

    fn boolean(&mut self, name: &str, b: bool) {
        self.key(name);
        self.raw(if b { b"true" } else { b"false" });
    }

    fn quoted(&mut self, digits: &[u8]) {
        self.out.push(b'"');
        self.out.extend_from_slice(digits);
        self.out.push(b'"');
    }

    fn id(&mut self, name: &str, id: &Id) {
        self.key(name);
        self.quoted(&id.hex_digits());
    }

    fn version(&mut self, name: &str, v: &Version) {
        self.key(name);
        self.out.push(b'"');
        self.out.extend_from_slice(&crate::hex::u64_digits(v.ts));
        self.out.extend_from_slice(&crate::hex::u64_digits(v.node));
        self.out.push(b'"');
    }

    fn range(&mut self, name: &str, r: &Range) {
        self.key(name);
        self.raw(b"{\"from\":");
        self.quoted(&r.from.hex_digits());
        self.raw(b",\"to\":");
        self.quoted(&r.to.hex_digits());
        self.raw(b"}");
    }

    fn serde<T: Serialize>(&mut self, name: &str, v: &T) -> Result<(), serde_json::Error> {
        self.key(name);
        serde_json::to_writer(&mut self.out, v)
    }

    fn finish(mut self) -> Vec<u8> {
        self.out.push(b'}');
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::etag::Condition;
    use crate::trace::{Tag, TraceHop};
    use serde_json::value::RawValue;
    use std::sync::Arc;

    fn raw(text: &str) -> Arc<RawValue> {
        Arc::from(RawValue::from_string(text.to_string()).unwrap())
    }

    fn id(n: u8) -> Id {
        Id([n; 20])
    }

    /// Strings that are copied as they are, and strings serde_json escapes.
    const TEXTS: [&str; 6] = [
        "",
        "127.0.0.1:7000",
        "key with spaces/and%2Fslashes",
        "ünïcødé ✓ and \u{7f}",
        "quote \" and backslash \\",
        "control \n\t\u{1} characters",
    ];

    fn routes() -> Vec<RouteMsg> {
        let ops = [
            KvOp::Get,
            KvOp::Delete,
            KvOp::Put {
                value: raw(r#"{"a": [1, 2.5, "x\"y"], "b": null}"#),
            },
        ];
        let mut out = Vec::new();
        for (i, text) in TEXTS.iter().enumerate() {
            for (j, op) in ops.iter().enumerate() {
                let full = (i + j) % 2 == 0;
                out.push(RouteMsg {
                    req: "00112233445566778899aabbccddeeff".into(),
                    origin: text.to_string(),
                    key: TEXTS[(i + 1) % TEXTS.len()].to_string(),
                    op: op.clone(),
                    hops: (i * j) as u32 + u32::from(full) * u32::MAX / 2,
                    owner_hint: full,
                    avoid: full.then(|| id(i as u8)),
                    deadline_ms: full.then_some(u64::MAX - i as u64),
                    trace: full.then(|| vec![TraceHop::new("b:2", vec![Tag::Finger(3)])]),
                    reply_inline: !full,
                    cond: match j {
                        0 => None,
                        1 => Some(Condition::Absent),
                        _ => Some(Condition::Matches(vec![Version { ts: 7, node: 9 }])),
                    },
                    ttl_ms: full.then_some(0),
                    range_tag: (!full).then_some(i as u64 * 0x1234_5678_9abc),
                });
            }
        }
        out
    }

    fn replies() -> Vec<ReplyMsg> {
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
                let full = (i + j) % 2 == 0;
                out.push(ReplyMsg {
                    req: TEXTS[(i + j) % TEXTS.len()].to_string(),
                    owner: text.to_string(),
                    gave_up: full.then(|| id(j as u8 * 40)),
                    hops: j as u32,
                    outcome: outcome.clone(),
                    version: (!full).then_some(Version {
                        ts: u64::MAX - j as u64,
                        node: i as u64,
                    }),
                    trace: full.then(|| vec![TraceHop::new("a:1", vec![Tag::Owner])]),
                    range: full.then_some(Range {
                        from: id(i as u8),
                        to: id(255 - j as u8),
                    }),
                });
            }
        }
        out
    }

    fn same_as_serde<T: Serialize>(msg: &T, ours: Vec<u8>) {
        let serde = serde_json::to_vec(msg).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&ours),
            String::from_utf8_lossy(&serde)
        );
    }

    #[test]
    fn route_messages_are_written_as_serde_writes_them() {
        for msg in routes() {
            same_as_serde(&msg, msg.to_json().unwrap());
        }
    }

    #[test]
    fn replies_are_written_as_serde_writes_them() {
        for msg in replies() {
            same_as_serde(&msg, msg.to_json().unwrap());
        }
    }

    #[test]
    fn what_is_written_reads_back() {
        for msg in routes() {
            let back: RouteMsg = serde_json::from_slice(&msg.to_json().unwrap()).unwrap();
            assert_eq!(back.to_json().unwrap(), msg.to_json().unwrap());
        }
        for msg in replies() {
            let back: ReplyMsg = serde_json::from_slice(&msg.to_json().unwrap()).unwrap();
            assert_eq!(back.to_json().unwrap(), msg.to_json().unwrap());
        }
    }
}
