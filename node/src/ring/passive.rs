//! The passive list: peers this node has seen (past successors, fingers,
//! predecessors, its join address), probed now and then so that a ring split
//! by a partition finds its other half again once the network heals.
//!
//! Pure bookkeeping in ticks; the state machine decides what a probe's answer
//! means (see "Merging" in the [`crate::ring`] module essay).

use crate::id::Id;
use chord_proto::peer::Peer;
use std::hash::{Hash, Hasher};

/// One remembered peer.
#[derive(Clone, Debug)]
struct Seen {
    peer: Peer,
    /// Last tick it was in our view or answered a probe.
    seen_at: u64,
    /// Last tick we probed it (0: never).
    probed_at: u64,
    /// Not probed before this tick: it was just found to be in our own ring.
    quiet_until: u64,
}

/// A bounded list of peers seen, oldest forgotten first.
#[derive(Clone, Debug)]
pub struct PassiveList {
    entries: Vec<Seen>,
    cap: usize,
    forget_after: u64,
}

impl PassiveList {
    /// At most `cap` peers; one not seen for `forget_after` ticks is dropped.
    pub fn new(cap: usize, forget_after: u64) -> PassiveList {
        PassiveList {
            entries: Vec::new(),
            cap,
            forget_after,
        }
    }

    /// Records that `peer` was in our view, or answered, at tick `now`.
    pub fn saw(&mut self, peer: &Peer, now: u64) {
        if let Some(e) = self.entries.iter_mut().find(|e| e.peer.id == peer.id) {
            e.seen_at = now;
            if e.peer.addr != peer.addr {
                e.peer = peer.clone();
            }
            return;
        }
        if self.cap == 0 {
            return;
        }
        if self.entries.len() >= self.cap {
            // Full: the peer heard from longest ago makes room.
            if let Some(oldest) = (0..self.entries.len()).min_by_key(|i| self.entries[*i].seen_at) {
                self.entries.swap_remove(oldest);
            }
        }
        self.entries.push(Seen {
            peer: peer.clone(),
            seen_at: now,
            probed_at: 0,
            quiet_until: 0,
        });
    }

    /// The peer to probe at tick `now`: of those not in our view
    /// (`in_view`) and not quiet, the one probed longest ago. Peers not seen
    /// for `forget_after` ticks are dropped first.
    pub fn next_probe(&mut self, now: u64, in_view: impl Fn(&Id) -> bool) -> Option<Peer> {
        let forget = self.forget_after;
        self.entries
            .retain(|e| now.saturating_sub(e.seen_at) <= forget || in_view(&e.peer.id));
        let i = (0..self.entries.len())
            .filter(|i| {
                let e = &self.entries[*i];
                e.quiet_until <= now && !in_view(&e.peer.id)
            })
            .min_by_key(|i| {
                (
                    self.entries[*i].probed_at,
                    u64::MAX - self.entries[*i].seen_at,
                )
            })?;
        self.entries[i].probed_at = now;
        Some(self.entries[i].peer.clone())
    }

    /// `id` turned out to be a member of our own ring: leave it alone until `until`.
    pub fn quiet(&mut self, id: &Id, until: u64) {
        if let Some(e) = self.entries.iter_mut().find(|e| e.peer.id == *id) {
            e.quiet_until = until;
        }
    }

    /// Feeds the list into `h` with its tick stamps made relative to `now`
    /// (see [`crate::ring::RingState::fingerprint`]): every comparison the
    /// list makes is between stamps, or between a stamp and the current tick.
    pub fn fingerprint<H: Hasher>(&self, now: u64, h: &mut H) {
        let age = |t: u64| i128::from(now) - i128::from(t);
        for e in &self.entries {
            e.peer.hash(h);
            age(e.seen_at).hash(h);
            // 0 is "never probed", which sorts before every real stamp.
            (e.probed_at != 0).then(|| age(e.probed_at)).hash(h);
            // Quiet means `quiet_until > now`: past stamps are all alike.
            (e.quiet_until > now).then(|| age(e.quiet_until)).hash(h);
        }
    }

    /// Peers remembered.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no peer is remembered.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(n: u8) -> Peer {
        Peer::from_addr(&format!("n{n}:1"))
    }

    #[test]
    fn probes_rotate_over_peers_out_of_view() {
        let mut l = PassiveList::new(8, 100);
        for n in 1..=3 {
            l.saw(&p(n), 1);
        }
        let in_view = |id: &Id| *id == p(2).id;
        let a = l.next_probe(2, in_view).unwrap();
        let b = l.next_probe(3, in_view).unwrap();
        let c = l.next_probe(4, in_view).unwrap();
        assert_ne!(a.id, b.id);
        assert_eq!(a.id, c.id, "round robin over the two out of view");
        assert!([a.id, b.id].iter().all(|id| *id != p(2).id));
    }

    #[test]
    fn quiet_peers_wait_and_old_ones_are_forgotten() {
        let mut l = PassiveList::new(8, 10);
        l.saw(&p(1), 1);
        l.saw(&p(2), 5);
        l.quiet(&p(2).id, 14);
        assert_eq!(l.next_probe(6, |_| false).unwrap().id, p(1).id);
        assert_eq!(l.next_probe(7, |_| false).unwrap().id, p(1).id);
        // p1 was last seen at 1: forgotten past tick 11; p2 is quiet.
        assert!(l.next_probe(12, |_| false).is_none());
        assert_eq!(l.len(), 1);
        assert_eq!(l.next_probe(14, |_| false).unwrap().id, p(2).id);
        // Unseen for longer than `forget_after`: gone.
        assert!(l.next_probe(16, |_| false).is_none());
        assert!(l.is_empty());
    }

    #[test]
    fn a_full_list_forgets_the_peer_heard_from_longest_ago() {
        let mut l = PassiveList::new(2, 100);
        l.saw(&p(1), 1);
        l.saw(&p(2), 2);
        l.saw(&p(1), 3);
        l.saw(&p(3), 4);
        assert_eq!(l.len(), 2);
        let mut probed = vec![
            l.next_probe(5, |_| false).unwrap().id,
            l.next_probe(6, |_| false).unwrap().id,
        ];
        probed.sort();
        let mut want = vec![p(1).id, p(3).id];
        want.sort();
        assert_eq!(probed, want);
    }
}
