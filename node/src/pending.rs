//! Request ids waiting for the owner's direct reply.
//!
//! The entry node registers an unguessable id before forwarding a request; the
//! owner's `POST /chord/reply` resolves it. A reply for an unknown or expired id
//! is dropped, so nobody can answer for a request they did not receive.

use crate::wire::ReplyMsg;
use std::collections::HashMap;
use std::sync::Mutex;
use tokio::sync::oneshot;

/// Waiters by request id. A `std` mutex: it is never held across an `.await`.
#[derive(Default)]
pub struct Pending {
    waiters: Mutex<HashMap<String, oneshot::Sender<ReplyMsg>>>,
}

impl Pending {
    /// A fresh random request id (128 bits, 32 hex digits).
    pub fn new_id() -> String {
        let mut out = [0u8; 32];
        chord_proto::hex::encode_into(&rand::random::<u128>().to_be_bytes(), &mut out);
        chord_proto::hex::as_str(&out).to_string()
    }

    /// Registers `id` and returns the receiver its reply will arrive on.
    pub fn register(&self, id: &str) -> oneshot::Receiver<ReplyMsg> {
        let (tx, rx) = oneshot::channel();
        self.lock().insert(id.to_string(), tx);
        rx
    }

    /// Delivers a reply; false if nobody waits for it.
    pub fn resolve(&self, reply: ReplyMsg) -> bool {
        match self.lock().remove(&reply.req) {
            Some(tx) => tx.send(reply).is_ok(),
            None => false,
        }
    }

    /// Forgets `id` (the waiter gave up).
    pub fn cancel(&self, id: &str) {
        self.lock().remove(id);
    }

    /// Registers `id` and returns a guard that forgets it when dropped (the
    /// client went away, or the attempt timed out), plus the reply's receiver.
    pub fn wait_for<'a>(&'a self, id: &str) -> (Waiting<'a>, oneshot::Receiver<ReplyMsg>) {
        let rx = self.register(id);
        (
            Waiting {
                pending: self,
                id: id.to_string(),
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

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, oneshot::Sender<ReplyMsg>>> {
        // A panic while holding this lock cannot leave the map inconsistent.
        self.waiters.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Forgets its request id when dropped, so an abandoned request leaves nothing behind.
pub struct Waiting<'a> {
    pending: &'a Pending,
    id: String,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.pending.cancel(&self.id);
    }
}
