//! The data path's decisions as pure step functions: events in, decisions out.
//!
//! A client operation lives in three places, and each keeps its rules here,
//! with no sockets, no clock and no locks (like [`crate::ring`]):
//!
//! * [`client`] — the request's life at the **entry node**: route it or run it
//!   here, the first hop (a seam for a future location cache), the reply's
//!   timer once a first hop has taken it, the **one retry** on another path
//!   (avoiding the node that gave up, else the first hop that led nowhere),
//!   and which answer the client gets: a 503 from the path is remembered and
//!   returned if the retry brings nothing better.
//! * [`relay`] — one **hop's forwarding**: the next candidate (the routing
//!   rule, with the owner hint sent to the node believed to own the key and,
//!   at a hinted hop, the hint passed back to a predecessor that joined),
//!   the hedge (a silent candidate is suspected after a call timeout and the
//!   next one asked while the first call stays open), which failures and
//!   silences count against a peer, the hop ceiling, and when to give up.
//! * [`quorum`] — the **owner's quorum write**: the copy goes to the first
//!   R − 1 distinct successors, a failed holder is replaced by the next
//!   successor, and the write is acknowledged at W − 1 acks (W capped by the
//!   ring's known size), superseded by a holder's newer version, or failed
//!   once no call is left and fewer than W − 1 holders acknowledged.
//!
//! * [`path`] — a **traced request's path** (`X-Chord-Path`): the entry
//!   starts it, each sender appends the hop it chose and why, the owner
//!   marks itself, the entry adds the direct reply.
//!
//! The async driver (`crate::driver::routed` and `crate::driver::owner`) feeds
//! each machine what happened (a call ended, a timer fired, a reply came) and
//! carries out what it decides (send, wait, answer). Time enters only as a
//! value: the hand-off is told how long it has run, so every rule is
//! deterministic and unit-tested here.

pub mod client;
pub mod path;
pub mod quorum;
pub mod relay;

pub use client::{Attempt, ClientReply, ClientRequest, Decision, Event, Start};
pub use quorum::{QuorumWrite, WriteVerdict};
pub use relay::{Next, Relay, RelayLimits};

#[cfg(test)]
pub(crate) mod test_peers {
    //! Peers and ids at chosen points of the circle, for the machines' tests.
    use crate::id::Id;
    use chord_proto::peer::Peer;

    /// A peer at position `n` (the id's first byte), named `n{n}`.
    pub fn peer(n: u8) -> Peer {
        let mut b = [0u8; 20];
        b[0] = n;
        Peer {
            id: Id(b),
            addr: format!("n{n}"),
        }
    }

    /// A key id just past position `n` (owned by the next node clockwise).
    pub fn key(n: u8) -> Id {
        let mut b = [0u8; 20];
        b[0] = n;
        b[19] = 1;
        Id(b)
    }
}
