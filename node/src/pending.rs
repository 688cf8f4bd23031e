//! Request ids waiting for the owner's direct reply.
//!
//! The entry node registers an unguessable id before forwarding a request; the
//! owner's `POST /chord/reply` resolves it. A reply for an unknown or expired id
//! is dropped, so nobody can answer for a request they did not receive.

use crate::wire::ReplyMsg;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Mutex;
use tokio::sync::oneshot;

/// Waiters by request id, the id as its 128-bit number. A `std` mutex: it
/// is never held across an `.await`.
#[derive(Default)]
pub struct Pending {
    waiters: Mutex<HashMap<u128, oneshot::Sender<ReplyMsg>, BuildHasherDefault<RandomBits>>>,
}

/// Hashes a request id by taking 64 of its bits. The ids are drawn from a
/// CSPRNG (`rand`'s thread generator) and only this node inserts them, so
/// their bits are as good a hash as any, and nobody can choose ids that
/// collide: SipHash of the 32-digit text cost about a tenth of the table's
/// work per request (callgrind).
#[derive(Default)]
pub struct RandomBits(u64);

impl Hasher for RandomBits {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Not reached for a u128 key (`write_u128`); kept correct anyway.
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }

    fn write_u128(&mut self, n: u128) {
        self.0 = n as u64;
    }
}

/// A request id's number, from its 32 hex digits (`None` for any other text).
fn number(id: &str) -> Option<u128> {
    let mut b = [0u8; 16];
    chord_proto::hex::decode_into(id.as_bytes(), &mut b)?;
    Some(u128::from_be_bytes(b))
}

/// A request id: its number, and its text as messages carry it.
#[derive(Clone, Debug)]
pub struct RequestId {
    n: u128,
    text: String,
}

impl RequestId {
    /// A fresh random id (128 bits, 32 hex digits).
    pub fn new() -> RequestId {
        let n = rand::random::<u128>();
        let mut out = [0u8; 32];
        chord_proto::hex::encode_into(&n.to_be_bytes(), &mut out);
        RequestId {
            n,
            text: chord_proto::hex::as_str(&out).to_string(),
        }
    }

    /// The id's 32 hex digits.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl Default for RequestId {
    fn default() -> Self {
        RequestId::new()
    }
}

impl Pending {
    /// Registers `id` and returns the receiver its reply will arrive on.
    pub fn register(&self, id: &RequestId) -> oneshot::Receiver<ReplyMsg> {
        let (tx, rx) = oneshot::channel();
        self.lock().insert(id.n, tx);
        rx
    }

    /// Delivers a reply; false if nobody waits for it.
    pub fn resolve(&self, reply: ReplyMsg) -> bool {
        let Some(n) = number(&reply.req) else {
            return false;
        };
        match self.lock().remove(&n) {
            Some(tx) => tx.send(reply).is_ok(),
            None => false,
        }
    }

    /// Forgets the id whose number is `n` (the waiter gave up).
    fn cancel(&self, n: u128) {
        self.lock().remove(&n);
    }

    /// Registers `id` and returns a guard that forgets it when dropped (the
    /// client went away, or the attempt timed out), plus the reply's receiver.
    pub fn wait_for<'a>(&'a self, id: &RequestId) -> (Waiting<'a>, oneshot::Receiver<ReplyMsg>) {
        let rx = self.register(id);
        (
            Waiting {
                pending: self,
                n: id.n,
            },
            rx,
        )
    }

    /// Number of requests waiting.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    #[allow(clippy::type_complexity)]
    fn lock(
        &self,
    ) -> std::sync::MutexGuard<
        '_,
        HashMap<u128, oneshot::Sender<ReplyMsg>, BuildHasherDefault<RandomBits>>,
    > {
        // A panic while holding this lock cannot leave the map inconsistent.
        self.waiters.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Forgets its request id when dropped, so an abandoned request leaves nothing behind.
pub struct Waiting<'a> {
    pending: &'a Pending,
    n: u128,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.pending.cancel(self.n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::KvOutcome;

    fn reply(req: &str) -> ReplyMsg {
        ReplyMsg {
            req: req.to_string(),
            owner: "a:1".into(),
            gave_up: None,
            hops: 1,
            outcome: KvOutcome::NotFound,
            version: None,
            trace: None,
            range: None,
        }
    }

    #[test]
    fn a_reply_reaches_the_waiter_of_its_id_and_no_other() {
        let pending = Pending::default();
        let (a, b) = (RequestId::new(), RequestId::new());
        let (_wa, mut ra) = pending.wait_for(&a);
        let (_wb, mut rb) = pending.wait_for(&b);
        assert_eq!(pending.len(), 2);
        assert!(pending.resolve(reply(a.as_str())));
        assert_eq!(ra.try_recv().unwrap().req, a.as_str());
        assert!(rb.try_recv().is_err(), "b still waits");
        assert!(!pending.resolve(reply(a.as_str())), "answered once");
        // Upper-case digits name the same id, as the wire allows.
        assert!(pending.resolve(reply(&b.as_str().to_uppercase())));
        assert!(rb.try_recv().is_ok());
        assert!(pending.is_empty());
    }

    #[test]
    fn unknown_and_malformed_ids_are_dropped() {
        let pending = Pending::default();
        let id = RequestId::new();
        let (_w, mut rx) = pending.wait_for(&id);
        for bad in ["", "xyz", &id.as_str()[1..], &format!("{}0", id.as_str())] {
            assert!(!pending.resolve(reply(bad)), "{bad:?}");
        }
        assert!(!pending.resolve(reply(RequestId::new().as_str())));
        assert!(rx.try_recv().is_err());
        assert_eq!(pending.len(), 1);
    }

    #[test]
    fn a_dropped_guard_forgets_its_id() {
        let pending = Pending::default();
        let id = RequestId::new();
        let (waiting, _rx) = pending.wait_for(&id);
        drop(waiting);
        assert!(pending.is_empty());
        assert!(!pending.resolve(reply(id.as_str())));
    }

    #[test]
    fn ids_are_32_hex_digits_and_differ() {
        let (a, b) = (RequestId::new(), RequestId::new());
        assert_eq!(a.as_str().len(), 32);
        assert!(a.as_str().bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a.as_str(), b.as_str());
    }
}
