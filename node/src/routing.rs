//! Next-hop choice for a key (pure): the routing rule every node applies.
//!
//! At node `n` with predecessor `p`, successor list `S = [s0, s1, …]` and
//! fingers `F`, a request for key id `k` goes:
//! 1. nowhere if `k ∈ (p, n]`: `n` owns it;
//! 2. to `s0` if `k ∈ (n, s0]`, and `s0` owns it;
//! 3. to `S[i+1]` if `k ∈ (S[i], S[i+1]]`, which owns it (the successor-list
//!    shortcut: one hop instead of a walk along the list);
//! 4. otherwise to the closest preceding node: the candidate of `F ∪ S` in
//!    `(n, k)` farthest clockwise from `n` (or `s0` if there is none).
//!
//! Each choice comes with its reason ([`Why`]), for the path a traced
//! request reports (`X-Chord-Path`): rules 2–3 are the successor-list
//! shortcut, rule 4 names the finger or successor it took.
//!
//! The Python simulator (`sim/`) implements the same rule and its test
//! vectors pin it (`node/tests/vectors.rs`).

use crate::id::{in_half_open, in_open, Id};
use chord_proto::peer::Peer;
use chord_proto::trace::Tag;

/// Where a request for a key goes next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Hop {
    /// This node owns the key.
    Local,
    /// Send to this peer, which owns the key (its predecessor is the sender's view).
    Owner(Peer),
    /// Send to this peer, which is closer to the key but does not own it.
    Forward(Peer),
}

/// Why a next hop was chosen: decided with it, reported by traces. Copy and
/// small, so the untraced path pays nothing for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Why {
    /// This node owns the key (no hop).
    Local,
    /// Rules 2–3: the owner, found in the successor list.
    SuccessorList,
    /// Rule 4: the closest preceding node, this node's finger `i`.
    Finger(u8),
    /// Rule 4: the closest preceding node among the successors (no finger
    /// was as close), or the first successor when nothing precedes the key.
    Successor,
    /// Back to the predecessor: a hinted hop's key is behind it (a node
    /// joined there), or no successor is left.
    Hint,
    /// Not the routing rule's choice: the owner a location cache named.
    Cache,
}

impl Why {
    /// The trace tag for this reason (`None` for [`Why::Local`]).
    pub fn tag(self) -> Option<Tag> {
        match self {
            Why::Local => None,
            Why::SuccessorList => Some(Tag::SuccessorList),
            Why::Finger(i) => Some(Tag::Finger(i)),
            Why::Successor => Some(Tag::Successor),
            Why::Hint => Some(Tag::Hint),
            Why::Cache => Some(Tag::Cache),
        }
    }
}

/// What a node knows that routing needs: a borrowed view of its ring state.
#[derive(Clone, Copy, Debug)]
pub struct RouteView<'a> {
    /// This node.
    pub me: &'a Peer,
    /// Its predecessor, when known.
    pub predecessor: Option<&'a Peer>,
    /// Its successor list, nearest first (never contains `me`).
    pub successors: &'a [Peer],
    /// Its finger table entries, in finger order (duplicates allowed).
    pub fingers: &'a [Option<Peer>],
}

impl RouteView<'_> {
    /// Whether this node owns `key`: `key ∈ (predecessor, me]`. A node alone
    /// (no successors and no predecessor) owns everything; with successors
    /// but no predecessor nothing is known. A node that lost every successor
    /// but still has a predecessor is not alone: the rest of the ring is
    /// behind that predecessor, and claiming its keys would answer for data
    /// this node does not hold (a false 404 while a busy machine made every
    /// successor look dead).
    pub fn owns(&self, key: &Id) -> bool {
        match (self.predecessor, self.successors.is_empty()) {
            (Some(p), _) => crate::placement::owns(&p.id, &self.me.id, key),
            (None, alone) => alone,
        }
    }

    /// Whether `key` lies between this node and its last successor, so it
    /// belongs to one of the successors whatever the predecessor is: a node
    /// that does not know its predecessor may still rule those keys out.
    pub fn ahead(&self, key: &Id) -> bool {
        self.successors
            .last()
            .is_some_and(|s| in_half_open(key, &self.me.id, &s.id))
    }

    /// The next hop for `key` sent to us as its owner (`owner_hint`): the
    /// sender's view says we own it. If ours says it is behind us, a node
    /// joined between the sender and us and took it (our predecessor, unless
    /// `avoid` names it); with no predecessor known, nobody can tell better
    /// than the sender, and we take it. A key between us and our last
    /// successor is never ours: the sender's view is stale, and it goes on
    /// by [`RouteView::next_hop`].
    pub fn hinted_hop(&self, key: &Id, avoid: &[Id]) -> Hop {
        self.hinted_route(key, avoid).0
    }

    /// [`RouteView::hinted_hop`] and why.
    pub fn hinted_route(&self, key: &Id, avoid: &[Id]) -> (Hop, Why) {
        if self.owns(key) || self.ahead(key) {
            return self.route(key, avoid);
        }
        match self.predecessor {
            None => (Hop::Local, Why::Local),
            Some(p) if !avoid.contains(&p.id) => (Hop::Owner(p.clone()), Why::Hint),
            Some(_) => self.route(key, avoid),
        }
    }

    /// The next hop for `key` (rules 1–4 of the module doc). `avoid` names
    /// peers rule 4 passes over (a suspect hop, or the node a retry must not go
    /// through) as long as another candidate is left; an owner found by rules
    /// 2–3 is used regardless.
    pub fn next_hop(&self, key: &Id, avoid: &[Id]) -> Hop {
        self.route(key, avoid).0
    }

    /// [`RouteView::next_hop`] and why.
    pub fn route(&self, key: &Id, avoid: &[Id]) -> (Hop, Why) {
        if self.owns(key) {
            return (Hop::Local, Why::Local);
        }
        if let Some(owner) = self.successor_owner(key) {
            return (Hop::Owner(owner.clone()), Why::SuccessorList);
        }
        // An avoided peer is a preference, not a wall: when it is the only way
        // on, going through it beats a false owner guess at `s0`.
        match self
            .closest_preceding_why(key, avoid)
            .or_else(|| self.closest_preceding_why(key, &[]))
        {
            Some((p, why)) => (Hop::Forward(p.clone()), why),
            None => match (self.successors.first(), self.predecessor) {
                (Some(s0), _) => (Hop::Owner(s0.clone()), Why::Successor),
                // No successor left (`owns` ruled out being alone): back
                // through the predecessor, whose view reaches further.
                (None, Some(p)) => (Hop::Forward(p.clone()), Why::Hint),
                (None, None) => (Hop::Local, Why::Local),
            },
        }
    }

    /// Rules 2 and 3: the owner of `key` if it lies within the successor list span.
    pub fn successor_owner(&self, key: &Id) -> Option<&Peer> {
        let first = self.successors.first()?;
        if crate::placement::owns(&self.me.id, &first.id, key) {
            return Some(first);
        }
        self.successors
            .windows(2)
            .find(|w| crate::placement::owns(&w[0].id, &w[1].id, key))
            .map(|w| &w[1])
    }

    /// Whether `guess`, offered as the owner of `key` by a location cache,
    /// still fits this view: no node this one knows (itself, its
    /// predecessor, successors and fingers) lies at the key or between it
    /// and the guess, which would make that node, or one before it, the
    /// owner instead. (Keys in the successor-list span need no cache: the
    /// view names their owner.)
    pub fn cache_guess_fits(&self, key: &Id, guess: &Id) -> bool {
        // A known node at the key itself or in (key, guess) comes first.
        let between = |p: &Peer| {
            p.id != *guess && (p.id == *key || crate::placement::owns(key, guess, &p.id))
        };
        let known = std::iter::once(self.me)
            .chain(self.predecessor)
            .chain(self.successors.iter())
            .chain(self.fingers.iter().flatten());
        !known.into_iter().any(between)
    }

    /// Rule 4: the known node in `(me, key)` farthest from `me`.
    pub fn closest_preceding(&self, key: &Id, avoid: &[Id]) -> Option<&Peer> {
        self.closest_preceding_why(key, avoid).map(|(p, _)| p)
    }

    /// [`RouteView::closest_preceding`] and why: a peer that is both a
    /// finger and a successor counts as the finger (the rule is Chord's
    /// closest preceding *finger*; the successors only fill in), and a peer
    /// several fingers point at as the lowest of them, the first finger
    /// that reaches it.
    pub fn closest_preceding_why(&self, key: &Id, avoid: &[Id]) -> Option<(&Peer, Why)> {
        let me = &self.me.id;
        // The choice is the one untraced routing always made (`max_by_key`
        // keeps the last of equals: a successor's entry over a finger's, as
        // its address is the fresher); the reason is looked up after it.
        let best = (self.fingers.iter().flatten())
            .chain(self.successors.iter())
            .filter(|c| c.id != *me && !avoid.contains(&c.id) && in_open(&c.id, me, key))
            .max_by_key(|c| me.distance_to(&c.id))?;
        let finger =
            (self.fingers.iter()).position(|f| f.as_ref().is_some_and(|f| f.id == best.id));
        // Finger indices are below the id width (160), so they fit a u8.
        let why = finger.map_or(Why::Successor, |i| Why::Finger(i as u8));
        Some((best, why))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(n: u8) -> Peer {
        let mut b = [0u8; 20];
        b[0] = n;
        Peer {
            id: Id(b),
            addr: format!("n{n}"),
        }
    }

    fn key(n: u8) -> Id {
        let mut b = [0u8; 20];
        b[0] = n;
        b[19] = 1; // just past the node position n
        Id(b)
    }

    #[test]
    fn owner_and_forward_rules() {
        let me = peer(10);
        let pred = peer(5);
        let succs = vec![peer(20), peer(30)];
        let fingers = vec![Some(peer(20)), Some(peer(100)), Some(peer(200))];
        let view = RouteView {
            me: &me,
            predecessor: Some(&pred),
            successors: &succs,
            fingers: &fingers,
        };
        assert_eq!(view.next_hop(&key(7), &[]), Hop::Local);
        assert_eq!(view.next_hop(&key(15), &[]), Hop::Owner(peer(20)));
        assert_eq!(view.next_hop(&key(25), &[]), Hop::Owner(peer(30)));
        assert_eq!(view.next_hop(&key(150), &[]), Hop::Forward(peer(100)));
        assert_eq!(view.next_hop(&key(250), &[]), Hop::Forward(peer(200)));
        // Wrap-around: a key just before me (but not mine) goes to the farthest finger.
        assert_eq!(view.next_hop(&key(2), &[]), Hop::Forward(peer(200)));
        assert_eq!(
            view.next_hop(&key(250), &[peer(200).id]),
            Hop::Forward(peer(100))
        );
        assert_eq!(
            view.next_hop(&key(250), &[peer(200).id, peer(100).id]),
            Hop::Forward(peer(30))
        );
        // Keys between us and our last successor are never ours.
        // (`key(n)` lies just past position n.)
        assert!(view.ahead(&key(10)) && view.ahead(&key(15)) && view.ahead(&key(29)));
        assert!(!view.ahead(&key(7)) && !view.ahead(&key(30)) && !view.ahead(&key(200)));
        // Hinted as the owner: a key behind us goes to our predecessor (a
        // node joined there) unless avoided; one ahead of us by our routing.
        assert_eq!(view.hinted_hop(&key(3), &[]), Hop::Owner(peer(5)));
        assert_eq!(
            view.hinted_hop(&key(3), &[peer(5).id]),
            Hop::Forward(peer(200))
        );
        assert_eq!(view.hinted_hop(&key(7), &[]), Hop::Local);
        assert_eq!(view.hinted_hop(&key(15), &[]), Hop::Owner(peer(20)));
        let orphan = RouteView {
            predecessor: None,
            ..view
        };
        // No predecessor: a key behind us is ours; one ahead never is.
        assert_eq!(orphan.hinted_hop(&key(3), &[]), Hop::Local);
        assert_eq!(orphan.hinted_hop(&key(25), &[]), Hop::Owner(peer(30)));
        // Rules 2–3 ignore `avoid`: the owner is the owner.
        assert_eq!(
            view.next_hop(&key(25), &[peer(30).id]),
            Hop::Owner(peer(30))
        );
        // When every candidate is avoided, the closest one is used anyway,
        // never a false owner guess at s0.
        assert_eq!(
            view.next_hop(&key(150), &[peer(100).id, peer(30).id, peer(20).id]),
            Hop::Forward(peer(100))
        );
    }

    #[test]
    fn a_cache_guess_is_used_only_where_the_view_does_not_know_better() {
        // Node 10, predecessor 5, successors 20 and 30, fingers 100 and 200.
        let (me, pred) = (peer(10), peer(5));
        let succs = [peer(20), peer(30)];
        let fingers = [Some(peer(100)), Some(peer(200))];
        let view = RouteView {
            me: &me,
            predecessor: Some(&pred),
            successors: &succs,
            fingers: &fingers,
        };
        // Beyond the successor list, nobody known in between: the guess fits.
        assert!(view.cache_guess_fits(&key(50), &peer(60).id));
        assert!(view.cache_guess_fits(&key(150), &peer(180).id));
        // A guess behind a known successor is stale.
        assert!(!view.cache_guess_fits(&key(15), &peer(30).id));
        // Finger 100 lies between key 50 and a guess of 120: stale.
        assert!(!view.cache_guess_fits(&key(50), &peer(120).id));
        // A guess past the top of the ring, wrapping: node 5 (predecessor)
        // and this node lie between key 250 and a guess of 15.
        assert!(!view.cache_guess_fits(&key(250), &peer(15).id));
        assert!(view.cache_guess_fits(&key(250), &peer(2).id));
        // A known node at the key itself owns it.
        assert!(!view.cache_guess_fits(&peer(100).id, &peer(120).id));
    }

    #[test]
    fn alone_owns_everything() {
        let me = peer(10);
        let view = RouteView {
            me: &me,
            predecessor: None,
            successors: &[],
            fingers: &[],
        };
        assert_eq!(view.next_hop(&key(3), &[]), Hop::Local);
    }

    #[test]
    fn without_successors_but_with_a_predecessor_only_its_own_range_is_local() {
        let (me, pred) = (peer(10), peer(5));
        let view = RouteView {
            me: &me,
            predecessor: Some(&pred),
            successors: &[],
            fingers: &[],
        };
        assert_eq!(view.next_hop(&key(7), &[]), Hop::Local);
        assert!(!view.owns(&key(50)));
        assert_eq!(view.next_hop(&key(50), &[]), Hop::Forward(pred.clone()));
        // A finger still points the way when there is one.
        let fingers = [Some(peer(40))];
        let view = RouteView {
            fingers: &fingers,
            ..view
        };
        assert_eq!(view.next_hop(&key(50), &[]), Hop::Forward(peer(40)));
    }

    #[test]
    fn every_choice_says_why() {
        let me = peer(10);
        let pred = peer(5);
        let succs = vec![peer(20), peer(30)];
        // Fingers 0–2 all reach 20 (also our successor), 3 reaches 100, 4 reaches 200.
        let fingers: Vec<Option<Peer>> = [20, 20, 20, 100, 200].map(|n| Some(peer(n))).to_vec();
        let view = RouteView {
            me: &me,
            predecessor: Some(&pred),
            successors: &succs,
            fingers: &fingers,
        };
        assert_eq!(view.route(&key(7), &[]), (Hop::Local, Why::Local));
        // Rules 2–3: the successor-list shortcut.
        assert_eq!(view.route(&key(15), &[]).1, Why::SuccessorList);
        assert_eq!(
            view.route(&key(25), &[]),
            (Hop::Owner(peer(30)), Why::SuccessorList)
        );
        // Rule 4: the finger that reached it.
        assert_eq!(
            view.route(&key(150), &[]),
            (Hop::Forward(peer(100)), Why::Finger(3))
        );
        assert_eq!(view.route(&key(250), &[]).1, Why::Finger(4));
        // A successor that is also a finger counts as the lowest such finger.
        assert_eq!(
            view.route(&key(150), &[peer(100).id, peer(30).id]),
            (Hop::Forward(peer(20)), Why::Finger(0))
        );
        // A successor closer than every finger.
        assert_eq!(
            view.route(&key(150), &[peer(100).id]),
            (Hop::Forward(peer(30)), Why::Successor)
        );
        // Hinted: a key behind us goes back to the predecessor.
        assert_eq!(
            view.hinted_route(&key(3), &[]),
            (Hop::Owner(peer(5)), Why::Hint)
        );
        assert_eq!(view.hinted_route(&key(3), &[peer(5).id]).1, Why::Finger(4));
        // No successor left: back through the predecessor.
        let lonely = RouteView {
            successors: &[],
            fingers: &[],
            ..view
        };
        assert_eq!(
            lonely.route(&key(50), &[]),
            (Hop::Forward(pred.clone()), Why::Hint)
        );
        // No fingers: the farthest successor before the key.
        let bare = RouteView {
            fingers: &[],
            ..view
        };
        assert_eq!(
            bare.route(&key(250), &[]),
            (Hop::Forward(peer(30)), Why::Successor)
        );
        assert_eq!(Why::Finger(7).tag(), Some(Tag::Finger(7)));
        assert_eq!(Why::Local.tag(), None);
    }
}
