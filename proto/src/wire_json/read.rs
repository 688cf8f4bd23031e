//! Reading: a straight scan of the form [`super::write`] gives the message,
//! and only that form (the common fields in their order, strings without
//! escapes, numbers as plain digits); the scan gives up on anything else,
//! and serde reads the message instead. So the scan never has to be right
//! about JSON in general, only about the one form, and the tests check it
//! against serde on every message and on every cut and change of them.
//!
//! Read by serde (the scan gives up): a `PUT`'s route message (its value
//! would need a JSON scan of its own), a trace, a condition, an error's text.
//! A reply's value is read by serde_json within the scan: it is arbitrary
//! JSON and must be checked as such.

use crate::entry::Version;
use crate::id::Id;
use crate::range::Range;
use crate::wire::{KvOp, KvOutcome, ReplyMsg, RouteMsg};
use serde_json::value::RawValue;
use std::sync::Arc;

impl RouteMsg {
    /// Reads a route message, as `serde_json::from_slice` would.
    pub fn from_json(bytes: &[u8]) -> Result<RouteMsg, serde_json::Error> {
        match Scan::new(bytes).route() {
            Some(msg) => Ok(msg),
            None => serde_json::from_slice(bytes),
        }
    }
}

impl ReplyMsg {
    /// Reads a reply, as `serde_json::from_slice` would.
    pub fn from_json(bytes: &[u8]) -> Result<ReplyMsg, serde_json::Error> {
        match Scan::new(bytes).reply() {
            Some(msg) => Ok(msg),
            None => serde_json::from_slice(bytes),
        }
    }
}

/// A position in the text; every method gives up (`None`) unless the text
/// at the position is what it reads, and then the position is unspecified.
struct Scan<'a> {
    text: &'a [u8],
    at: usize,
}

impl<'a> Scan<'a> {
    fn new(text: &'a [u8]) -> Scan<'a> {
        Scan { text, at: 0 }
    }

    fn route(mut self) -> Option<RouteMsg> {
        self.expect(b"{\"req\":")?;
        let req = self.string()?;
        self.expect(b",\"origin\":")?;
        let origin = self.string()?;
        self.expect(b",\"key\":")?;
        let key = self.string()?;
        self.expect(b",\"op\":")?;
        let op = if self.take(b"\"Get\"") {
            KvOp::Get
        } else if self.take(b"\"Delete\"") {
            KvOp::Delete
        } else {
            return None;
        };
        self.expect(b",\"hops\":")?;
        let hops = u32::try_from(self.number()?).ok()?;
        self.expect(b",\"owner_hint\":")?;
        let owner_hint = self.boolean()?;
        let avoid = match self.take(b",\"avoid\":") {
            true => Some(self.id()?),
            false => None,
        };
        let deadline_ms = match self.take(b",\"deadline_ms\":") {
            true => Some(self.number()?),
            false => None,
        };
        let reply_inline = match self.take(b",\"reply_inline\":") {
            true => self.boolean()?,
            false => false,
        };
        let ttl_ms = match self.take(b",\"ttl_ms\":") {
            true => Some(self.number()?),
            false => None,
        };
        let range_tag = match self.take(b",\"range_tag\":") {
            true => Some(self.number()?),
            false => None,
        };
        self.end()?;
        Some(RouteMsg {
            req,
            origin,
            key,
            op,
            hops,
            owner_hint,
            avoid,
            deadline_ms,
            trace: None,
            reply_inline,
            cond: None,
            ttl_ms,
            range_tag,
        })
    }

    fn reply(mut self) -> Option<ReplyMsg> {
        self.expect(b"{\"req\":")?;
        let req = self.string()?;
        self.expect(b",\"owner\":")?;
        let owner = self.string()?;
        let gave_up = match self.take(b",\"gave_up\":") {
            true => Some(self.id()?),
            false => None,
        };
        self.expect(b",\"hops\":")?;
        let hops = u32::try_from(self.number()?).ok()?;
        self.expect(b",\"outcome\":")?;
        let outcome = if self.take(b"\"Stored\"") {
            KvOutcome::Stored
        } else if self.take(b"\"NotFound\"") {
            KvOutcome::NotFound
        } else if self.take(b"\"Deleted\"") {
            KvOutcome::Deleted
        } else if self.take(b"{\"Value\":") {
            let value = self.raw_value()?;
            self.expect(b"}")?;
            KvOutcome::Value(value)
        } else {
            return None;
        };
        let version = match self.take(b",\"version\":") {
            true => Some(Version::from_hex(self.string_ref()?)?),
            false => None,
        };
        let range = match self.take(b",\"range\":{\"from\":") {
            true => {
                let from = self.id()?;
                self.expect(b",\"to\":")?;
                let to = self.id()?;
                self.expect(b"}")?;
                Some(Range { from, to })
            }
            false => None,
        };
        self.end()?;
        Some(ReplyMsg {
            req,
            owner,
            gave_up,
            hops,
            outcome,
            version,
            trace: None,
            range,
        })
    }

    /// Steps over `lit` if the text continues with it.
    fn take(&mut self, lit: &[u8]) -> bool {
        let here = self.text.get(self.at..).unwrap_or_default();
        let found = here.starts_with(lit);
        if found {
            self.at += lit.len();
        }
        found
    }

    fn expect(&mut self, lit: &[u8]) -> Option<()> {
        self.take(lit).then_some(())
    }

    /// The end of the message: nothing may follow it.
    fn end(&mut self) -> Option<()> {
        (self.take(b"}") && self.at == self.text.len()).then_some(())
    }

    /// A string without escapes, borrowed.
    fn string_ref(&mut self) -> Option<&'a str> {
        self.expect(b"\"")?;
        let here = self.text.get(self.at..)?;
        // One pass to the closing quote; an escape or a raw control byte on
        // the way is serde's to read (or refuse).
        let len = here
            .iter()
            .position(|b| *b == b'"' || *b == b'\\' || *b < 0x20)?;
        if here[len] != b'"' {
            return None;
        }
        let s = std::str::from_utf8(&here[..len]).ok()?;
        self.at += len + 1;
        Some(s)
    }

    fn string(&mut self) -> Option<String> {
        self.string_ref().map(str::to_string)
    }

    fn id(&mut self) -> Option<Id> {
        Id::from_hex(self.string_ref()?)
    }

    /// An unsigned integer as JSON writes it: digits, no leading zero, and
    /// not the start of a fraction or exponent.
    fn number(&mut self) -> Option<u64> {
        let here = self.text.get(self.at..)?;
        let len = here.iter().take_while(|b| b.is_ascii_digit()).count();
        let digits = &here[..len];
        if len == 0 || (len > 1 && digits[0] == b'0') {
            return None;
        }
        if matches!(here.get(len), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        let mut n: u64 = 0;
        for d in digits {
            n = n.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
        }
        self.at += len;
        Some(n)
    }

    fn boolean(&mut self) -> Option<bool> {
        if self.take(b"true") {
            Some(true)
        } else if self.take(b"false") {
            Some(false)
        } else {
            None
        }
    }

    /// Any JSON value, checked and kept as its text by serde_json (as the
    /// serde derive does).
    fn raw_value(&mut self) -> Option<Arc<RawValue>> {
        let here = self.text.get(self.at..)?;
        let mut values = serde_json::Deserializer::from_slice(here).into_iter::<Box<RawValue>>();
        let value = values.next()?.ok()?;
        self.at += values.byte_offset();
        Some(Arc::from(value))
    }
}

#[cfg(test)]
mod tests {
    use super::super::corpus::{replies, routes};
    use super::*;

    /// What `bytes` reads as by the scan and by serde, each written back
    /// (the messages have no equality of their own, and the writer is held
    /// to serde's bytes).
    fn both<T: serde::de::DeserializeOwned>(
        bytes: &[u8],
        scan: impl FnOnce(Scan<'_>) -> Option<T>,
        write: fn(&T) -> Vec<u8>,
    ) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
        let scanned = scan(Scan::new(bytes)).map(|m| write(&m));
        let serde = serde_json::from_slice::<T>(bytes).ok().map(|m| write(&m));
        (scanned, serde)
    }

    /// Reads a text both ways as one kind of message.
    type Reader = fn(&[u8]) -> (Option<Vec<u8>>, Option<Vec<u8>>);

    fn route_read(bytes: &[u8]) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
        both(bytes, |s| s.route(), |m: &RouteMsg| m.to_json().unwrap())
    }

    fn reply_read(bytes: &[u8]) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
        both(bytes, |s| s.reply(), |m: &ReplyMsg| m.to_json().unwrap())
    }

    /// Every corpus message as written, routes first, with its reader.
    fn texts() -> Vec<(Vec<u8>, Reader)> {
        let routes = routes()
            .into_iter()
            .map(|m| (m.to_json().unwrap(), route_read as Reader));
        let replies = replies()
            .into_iter()
            .map(|m| (m.to_json().unwrap(), reply_read as Reader));
        routes.chain(replies).collect()
    }

    /// Whether the scan took `v`; where it did, it read it as serde does.
    fn agrees(read: Reader, v: &[u8]) -> bool {
        let (scan, serde) = read(v);
        if scan.is_some() {
            assert_eq!(scan, serde, "{}", String::from_utf8_lossy(v));
        }
        scan.is_some()
    }

    /// The text, cut short at every byte and with each byte changed to a
    /// few others: the variants a scan must either read as serde does or
    /// leave to serde.
    fn variants(text: &[u8]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for cut in 0..text.len() {
            out.push(text[..cut].to_vec());
        }
        for i in 0..text.len() {
            for b in [
                b' ', b'0', b'9', b'"', b'\\', b'}', b',', b'a', b'-', 0x01, 0xff,
            ] {
                if text[i] != b {
                    let mut v = text.to_vec();
                    v[i] = b;
                    out.push(v);
                }
            }
        }
        out.push([text, b" "].concat());
        out.push([b" ", text].concat());
        out
    }

    #[test]
    fn typical_messages_are_read_by_the_scan_as_serde_reads_them() {
        let plain = |s: &str| s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\');
        let mut scanned = 0;
        for msg in routes() {
            let text = msg.to_json().unwrap();
            let (scan, serde) = route_read(&text);
            assert_eq!(serde.as_deref(), Some(&text[..]));
            // The rare fields and a PUT's value are serde's.
            let rare = msg.trace.is_some() || msg.cond.is_some();
            let put = matches!(msg.op, KvOp::Put { .. });
            let escaped = !plain(&msg.req) || !plain(&msg.origin) || !plain(&msg.key);
            let expected = !rare && !put && !escaped;
            assert_eq!(
                scan.is_some(),
                expected,
                "{}",
                String::from_utf8_lossy(&text)
            );
            if let Some(scan) = scan {
                assert_eq!(scan, text);
                scanned += 1;
            }
            assert_eq!(RouteMsg::from_json(&text).unwrap().to_json().unwrap(), text);
        }
        assert!(scanned >= 4, "only {scanned} route messages scanned");
        let mut scanned = 0;
        for msg in replies() {
            let text = msg.to_json().unwrap();
            let (scan, serde) = reply_read(&text);
            assert_eq!(serde.as_deref(), Some(&text[..]));
            let rare = msg.trace.is_some()
                || matches!(
                    msg.outcome,
                    KvOutcome::Inconclusive { .. } | KvOutcome::Failed { .. }
                );
            let escaped = !plain(&msg.req) || !plain(&msg.owner);
            assert_eq!(
                scan.is_some(),
                !rare && !escaped,
                "{}",
                String::from_utf8_lossy(&text)
            );
            if let Some(scan) = scan {
                assert_eq!(scan, text);
                scanned += 1;
            }
            assert_eq!(ReplyMsg::from_json(&text).unwrap().to_json().unwrap(), text);
        }
        assert!(scanned >= 4, "only {scanned} replies scanned");
    }

    #[test]
    fn a_cut_or_changed_message_is_read_as_serde_reads_it_or_left_to_serde() {
        for (text, read) in texts() {
            for v in variants(&text) {
                agrees(read, &v);
            }
        }
    }

    /// A small xorshift generator: the test is the same on every run.
    fn next(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    /// `text` with one to three bytes replaced, inserted or removed, drawn
    /// from bytes that matter to JSON and to the scan.
    fn edited(text: &[u8], state: &mut u64) -> Vec<u8> {
        const BYTES: &[u8] = b" 0123456789-+.eE\"\\{}[],:truefalsn\x01\x7f\xff\xc3\xa9\t";
        let mut v = text.to_vec();
        for _ in 0..1 + next(state) % 3 {
            let at = next(state) as usize % (v.len() + 1);
            let b = BYTES[next(state) as usize % BYTES.len()];
            match next(state) % 3 {
                0 if at < v.len() => v[at] = b,
                1 => v.insert(at, b),
                _ if at < v.len() => {
                    v.remove(at);
                }
                _ => {}
            }
        }
        v
    }

    #[test]
    fn randomly_edited_messages_are_read_as_serde_reads_them_or_left_to_serde() {
        let mut state = 0x9e37_79b9_7f4a_7c15;
        let (mut taken, mut tried) = (0, 0);
        let texts = texts();
        for _ in 0..100 {
            for (text, read) in &texts {
                taken += usize::from(agrees(*read, &edited(text, &mut state)));
                tried += 1;
            }
        }
        // Enough edits keep the form (a digit for a digit, say) that the
        // scan's acceptance is tested, not only its refusals.
        assert!(taken > tried / 20, "the scan took {taken} of {tried}");
    }
}
