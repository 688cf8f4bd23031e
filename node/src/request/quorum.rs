//! The owner's quorum write (pure): which holders get the new version, who
//! replaces a holder that failed, and when the write is acknowledged,
//! superseded or failed.
//!
//! The owner has stored the version itself (one copy). The other copies go
//! to its first R − 1 distinct successors ([`distinct_successors`], the one
//! definition of that rule); a holder that fails is replaced by the next
//! distinct successor, so R − 1 copies stay in flight while successors are
//! left. The write is acknowledged once W − 1 holders applied it, W capped
//! by the ring's size as this node has known it: a ring of one node is its
//! only holder, but a node cut off from a larger ring must not accept
//! writes on its own.
//!
//! The driver (`crate::driver::owner`) sends the copies [`QuorumWrite::start`]
//! and [`QuorumWrite::on_failed`] name, feeds each answer back, and stops
//! waiting once [`QuorumWrite::verdict`] has one; the remaining copies finish
//! in the background.

use crate::entry::Version;
use crate::placement::distinct_successors;
use crate::wire::KvOutcome;
use chord_proto::peer::Peer;

/// How a quorum write ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WriteVerdict {
    /// W holders (this node included) have the version.
    Acknowledged,
    /// A holder has a newer version of the key than the one assigned: the
    /// owner moves its clock past it and writes again.
    Superseded(Version),
    /// Too few holders applied it, and no call is left that could help.
    TooFew {
        /// Holders that have it, this node included.
        reached: usize,
        /// Holders needed, this node included.
        required: usize,
    },
}

/// The client's 503 for a write that reached `reached` of the `required`
/// holders ([`WriteVerdict::TooFew`]).
pub fn too_few_holders(reached: usize, required: usize) -> KvOutcome {
    KvOutcome::Failed {
        status: 503,
        error: format!("write reached {reached} of {required} required holders"),
    }
}

/// One write's copies to the other holders and their answers.
#[derive(Debug)]
pub struct QuorumWrite {
    /// Every distinct successor, nearest first: holders, then replacements.
    candidates: Vec<Peer>,
    /// The next replacement in `candidates`.
    next: usize,
    /// Acks needed from other holders (W − 1, W capped by the ring's size).
    need: usize,
    /// Holders that applied the version.
    acks: usize,
    /// Copies sent and not answered yet.
    in_flight: usize,
    /// A newer version a holder reported.
    superseded: Option<Version>,
}

impl QuorumWrite {
    /// A write by `me` with this successor list, `replicas` (R) copies,
    /// `write_quorum` (W) and a ring of `ring_size` nodes as this node has
    /// known it; and the holders to send the copy to now.
    pub fn start(
        me: &Peer,
        successors: &[Peer],
        replicas: usize,
        write_quorum: usize,
        ring_size: usize,
    ) -> (QuorumWrite, Vec<Peer>) {
        let candidates = distinct_successors(me, successors, usize::MAX);
        let slots = replicas.saturating_sub(1).min(candidates.len());
        let first = candidates[..slots].to_vec();
        let write = QuorumWrite {
            candidates,
            next: slots,
            need: write_quorum.min(ring_size).saturating_sub(1),
            acks: 0,
            in_flight: slots,
            superseded: None,
        };
        (write, first)
    }

    /// A holder applied the version.
    pub fn on_applied(&mut self) {
        self.in_flight = self.in_flight.saturating_sub(1);
        self.acks += 1;
    }

    /// A holder has `newer` already.
    pub fn on_newer(&mut self, newer: Version) {
        self.in_flight = self.in_flight.saturating_sub(1);
        self.superseded.get_or_insert(newer);
    }

    /// A holder failed (no answer, refused, or an unexpected one): the next
    /// distinct successor to send the copy to instead, if one is left.
    pub fn on_failed(&mut self) -> Option<Peer> {
        self.in_flight = self.in_flight.saturating_sub(1);
        let alt = self.candidates.get(self.next).cloned()?;
        self.next += 1;
        self.in_flight += 1;
        Some(alt)
    }

    /// How the write ended, once it has: `None` while it waits for answers.
    pub fn verdict(&self) -> Option<WriteVerdict> {
        self.settled()
            .or_else(|| (self.in_flight == 0).then(|| self.too_few()))
    }

    /// The verdict when the driver has no call left to wait for, whatever
    /// this count says (the two agree unless the driver lost a call): what
    /// has been answered decides, and nothing more will come.
    pub fn out_of_calls(&self) -> WriteVerdict {
        self.settled().unwrap_or_else(|| self.too_few())
    }

    /// Superseded or acknowledged, if the answers so far decide it.
    fn settled(&self) -> Option<WriteVerdict> {
        if let Some(v) = self.superseded {
            return Some(WriteVerdict::Superseded(v));
        }
        (self.acks >= self.need).then_some(WriteVerdict::Acknowledged)
    }

    fn too_few(&self) -> WriteVerdict {
        WriteVerdict::TooFew {
            reached: self.acks + 1,
            required: self.need + 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::test_peers::peer;

    fn version(ts: u64) -> Version {
        Version { ts, node: 1 }
    }

    /// Node 10 with successors 20, 30, 40, 50; R = 3, W = 2, a ring of 5.
    fn write() -> (QuorumWrite, Vec<Peer>) {
        let succs = [20, 30, 40, 50].map(peer);
        QuorumWrite::start(&peer(10), &succs, 3, 2, 5)
    }

    #[test]
    fn the_copy_goes_to_the_first_r_minus_1_successors() {
        let (w, first) = write();
        assert_eq!(first, vec![peer(20), peer(30)]);
        assert_eq!(w.verdict(), None);
    }

    #[test]
    fn w_of_1_is_acknowledged_at_once_while_the_copies_travel() {
        let succs = [20, 30, 40].map(peer);
        let (w, first) = QuorumWrite::start(&peer(10), &succs, 3, 1, 4);
        assert_eq!(first, vec![peer(20), peer(30)], "R − 1 copies still go out");
        assert_eq!(w.verdict(), Some(WriteVerdict::Acknowledged));
    }

    #[test]
    fn a_newer_version_after_one_ack_supersedes_the_write() {
        let succs = [20, 30, 40].map(peer);
        let (mut w, _) = QuorumWrite::start(&peer(10), &succs, 3, 3, 4);
        w.on_applied();
        assert_eq!(w.verdict(), None, "one of two acks");
        let newer = Version {
            ts: 99 << 16,
            node: 30,
        };
        w.on_newer(newer);
        assert_eq!(w.verdict(), Some(WriteVerdict::Superseded(newer)));
    }

    #[test]
    fn out_of_calls_decides_from_the_answers_so_far() {
        let (mut w, _) = write();
        assert_eq!(
            w.out_of_calls(),
            WriteVerdict::TooFew {
                reached: 1,
                required: 2
            }
        );
        w.on_applied();
        assert_eq!(w.out_of_calls(), WriteVerdict::Acknowledged);
    }

    #[test]
    fn w_minus_1_acks_acknowledge_the_write() {
        let (mut w, _) = write();
        w.on_applied();
        assert_eq!(w.verdict(), Some(WriteVerdict::Acknowledged));
    }

    #[test]
    fn a_full_quorum_waits_for_every_holder() {
        let succs = [20, 30].map(peer);
        let (mut w, _) = QuorumWrite::start(&peer(10), &succs, 3, 3, 3);
        w.on_applied();
        assert_eq!(w.verdict(), None);
        w.on_applied();
        assert_eq!(w.verdict(), Some(WriteVerdict::Acknowledged));
    }

    #[test]
    fn a_failed_holder_is_replaced_by_the_next_successor() {
        let (mut w, _) = write();
        assert_eq!(w.on_failed(), Some(peer(40)));
        assert_eq!(w.on_failed(), Some(peer(50)));
        assert_eq!(w.verdict(), None, "two copies still in flight");
        w.on_applied();
        assert_eq!(w.verdict(), Some(WriteVerdict::Acknowledged));
    }

    #[test]
    fn the_write_fails_once_no_call_is_left() {
        let succs = [20, 30, 40].map(peer);
        let (mut w, _) = QuorumWrite::start(&peer(10), &succs, 3, 3, 4);
        w.on_applied();
        assert_eq!(w.on_failed(), Some(peer(40)));
        assert_eq!(w.verdict(), None, "the replacement is in flight");
        assert_eq!(w.on_failed(), None, "no successor left");
        assert_eq!(
            w.verdict(),
            Some(WriteVerdict::TooFew {
                reached: 2,
                required: 3
            })
        );
        match too_few_holders(2, 3) {
            KvOutcome::Failed { status, error } => {
                assert_eq!(status, 503);
                assert_eq!(error, "write reached 2 of 3 required holders");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_newer_version_on_a_holder_supersedes_the_write() {
        let (mut w, _) = write();
        w.on_newer(version(9));
        assert_eq!(w.verdict(), Some(WriteVerdict::Superseded(version(9))));
    }

    #[test]
    fn duplicates_and_this_node_in_the_successor_list_count_once() {
        // A small or healing ring names a node twice, or this node itself.
        let succs = [20, 20, 10, 30, 20].map(peer);
        let (mut w, first) = QuorumWrite::start(&peer(10), &succs, 3, 3, 3);
        assert_eq!(first, vec![peer(20), peer(30)]);
        // No third distinct successor to replace a failed one.
        assert_eq!(w.on_failed(), None);
        w.on_applied();
        assert_eq!(
            w.verdict(),
            Some(WriteVerdict::TooFew {
                reached: 2,
                required: 3
            })
        );
    }

    #[test]
    fn a_node_alone_is_its_own_quorum() {
        let (w, first) = QuorumWrite::start(&peer(10), &[], 3, 2, 1);
        assert!(first.is_empty());
        assert_eq!(w.verdict(), Some(WriteVerdict::Acknowledged));
    }

    #[test]
    fn a_node_cut_off_from_a_larger_ring_cannot_write_alone() {
        // No successors left, but it has known a ring of five.
        let (w, first) = QuorumWrite::start(&peer(10), &[], 3, 2, 5);
        assert!(first.is_empty());
        assert_eq!(
            w.verdict(),
            Some(WriteVerdict::TooFew {
                reached: 1,
                required: 2
            })
        );
    }

    #[test]
    fn the_quorum_is_capped_by_the_known_ring_size() {
        // R = W = 3 on a ring of two: one other holder is enough.
        let (mut w, first) = QuorumWrite::start(&peer(10), &[peer(20)], 3, 3, 2);
        assert_eq!(first, vec![peer(20)]);
        assert_eq!(w.verdict(), None);
        w.on_applied();
        assert_eq!(w.verdict(), Some(WriteVerdict::Acknowledged));
    }
}
