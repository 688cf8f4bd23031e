//! Writing: keys are constant text, hex and numbers need no escaping, and a
//! string is copied as it is unless it holds a byte JSON escapes. The rare
//! fields (a trace, a condition, an error's text) still go through serde.

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
    use super::super::corpus::{replies, routes};
    use crate::wire::{ReplyMsg, RouteMsg};
    use serde::Serialize;

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
