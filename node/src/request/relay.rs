//! One hop's hand-off of a routed request (pure): which candidate is asked
//! next, with or without the owner hint, when a silent one is suspected and
//! the next one asked, which failures count against a peer, and when to give
//! up.
//!
//! Hedged: a candidate silent for a call timeout is suspected and the next
//! one is tried, but the first call stays open (up to
//! [`crate::peer::HEDGE_PATIENCE`] timeouts) and whichever candidate takes
//! the request first wins. On a busy machine a live hop is often only slow,
//! and giving up on it cost requests whose every path was slow ("no live
//! next hop" under load). No peer is asked twice, and the whole hand-off
//! ends after `HEDGE_PATIENCE + 1` call timeouts.
//!
//! The driver (`crate::driver::routed`'s `forward`) asks [`Relay::next`]
//! with the current ring view, makes the calls it names, and reports each
//! call that fails ([`Relay::on_failed`]) and each suspicion timer
//! ([`Relay::on_silent`]); a call that succeeds ends the hand-off. Time is
//! the time since the hand-off began, passed in.

use crate::id::Id;
use crate::peer::{stalled, CallError, HEDGE_PATIENCE};
use crate::routing::{Hop, RouteView, Why};
use chord_proto::deadline::inline_wait;
use chord_proto::peer::Peer;
use std::time::Duration;

/// Candidates one hand-off asks at most: enough to get past a few dead or
/// silent fingers, few enough that a request nobody takes fails fast.
const CANDIDATES: usize = 4;

/// The bounds of one hand-off.
#[derive(Clone, Copy, Debug)]
pub struct RelayLimits {
    /// Candidates asked at most.
    pub candidates: usize,
    /// A call silent this long is suspected (the call timeout).
    pub suspect_after: Duration,
    /// A request that would become a hop beyond this fails (`--max-hops`).
    pub max_hops: u32,
}

impl RelayLimits {
    /// The limits for a call timeout of `rpc_timeout` and `--max-hops`.
    pub fn new(rpc_timeout: Duration, max_hops: u32) -> RelayLimits {
        RelayLimits {
            candidates: CANDIDATES,
            suspect_after: rpc_timeout,
            max_hops,
        }
    }

    /// The limits of the entry node's own hand-off, whose calls an owner may
    /// answer with its reply ([`inline_wait`]): a call is suspected that much
    /// later. Without it, an owner busy with the operation under load ran
    /// past the call timeout and was counted a miss, and a few such misses
    /// dropped live nodes from successor lists (a frozen-node test failed
    /// 2 runs in 9 that way).
    pub fn answering_inline(self) -> RelayLimits {
        RelayLimits {
            suspect_after: self.suspect_after + inline_wait(self.suspect_after),
            ..self
        }
    }
}

/// What the driver does next ([`Relay::next`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Next {
    /// This node owns the key: execute it here. Any call still open is
    /// dropped; a hop that did take the request may still pass it on (two
    /// copies are answered once: the entry takes the first reply, the owner
    /// deduplicates writes by request id, a late copy is dropped).
    Local,
    /// Hand the request to `to` (with the owner hint when `owner_hint`),
    /// then wait.
    Call {
        /// The candidate.
        to: Peer,
        /// Whether `to` is believed to own the key (`RouteMsg::owner_hint`).
        owner_hint: bool,
        /// Why `to` (for a trace): the routing rule's reason, or
        /// [`Why::Cache`] for the peer asked first.
        why: Why,
        /// Whether `to` is asked after an earlier candidate of this hand-off
        /// failed or went silent (a trace's `retry`).
        retry: bool,
    },
    /// Wait for a call to end, the suspicion timer ([`Relay::suspect_at`])
    /// or the end of the hand-off ([`Relay::give_up_at`]).
    Wait,
    /// Nobody took it: answer 503 with this reason.
    GiveUp(String),
}

/// One hop's hand-off of one request: who was asked, who failed, who is
/// suspected, and whether the next candidate is due.
#[derive(Debug)]
pub struct Relay {
    limits: RelayLimits,
    /// The hop number the request becomes at the next node.
    hops: u32,
    /// Whether this hop was sent the request as the key's owner: then the
    /// owner-hint rule ([`RouteView::hinted_hop`]) picks the way on.
    hinted: bool,
    /// A peer to ask first, as the owner (an entry's cached owner).
    first: Option<Peer>,
    /// Peers rule 4 passes over: the one a retry must not go through, and
    /// every candidate that failed or went silent here.
    avoid: Vec<Id>,
    /// Peers asked in this hand-off: never asked twice.
    asked: Vec<Id>,
    /// Peers whose silence was already counted as a miss at the suspicion:
    /// not counted again when their call runs out.
    suspected: Vec<Id>,
    /// The newest call and when it is suspected, while another may follow.
    newest: Option<(Peer, Duration)>,
    /// Calls open now.
    in_flight: usize,
    /// Whether the next candidate is due.
    pick_next: bool,
    /// Why the last candidate did not take it (the 503's reason).
    last_error: String,
}

impl Relay {
    /// A hand-off of a request that becomes hop `hops` at the next node.
    /// `avoid` is the node the entry's retry avoids, `hinted` whether the
    /// request came to this node as its owner, `first` a peer to ask first
    /// as the owner (`None`: the ring's next hop).
    pub fn new(
        hops: u32,
        avoid: Option<Id>,
        hinted: bool,
        first: Option<Peer>,
        limits: RelayLimits,
    ) -> Relay {
        Relay {
            limits,
            hops,
            hinted,
            first,
            avoid: avoid.into_iter().collect(),
            asked: Vec::new(),
            suspected: Vec::new(),
            newest: None,
            in_flight: 0,
            pick_next: true,
            last_error: "no live next hop towards the key's owner".to_string(),
        }
    }

    /// When the whole hand-off ends, however the calls overlap (time since
    /// it began): a request nobody took by then is better answered with a
    /// 503 than kept.
    pub fn give_up_at(&self) -> Duration {
        self.limits.suspect_after * (HEDGE_PATIENCE + 1)
    }

    /// When the newest call is suspected, if one may still be.
    pub fn suspect_at(&self) -> Option<Duration> {
        self.newest.as_ref().map(|(_, at)| *at)
    }

    /// Why nobody took the request so far (the 503's reason at give-up).
    pub fn last_error(&self) -> &str {
        &self.last_error
    }

    /// What to do now, `now` after the hand-off began, with `view` the
    /// ring as it is now and `key` the request's key id.
    pub fn next(&mut self, view: &RouteView, key: &Id, now: Duration) -> Next {
        if self.pick_next && self.asked.len() < self.limits.candidates {
            self.pick_next = false;
            let (to, owner_hint, why) = match self.candidate(view, key) {
                (Hop::Local, _) => return Next::Local,
                (Hop::Owner(p), why) => (p, true, why),
                (Hop::Forward(p), why) => (p, false, why),
            };
            // Checked here, where it is known whether this node is the owner:
            // the owner reached at the last allowed hop answers; only a
            // request that would travel further fails.
            if self.hops > self.limits.max_hops {
                return Next::GiveUp(format!(
                    "routing did not converge within {} hops",
                    self.limits.max_hops
                ));
            }
            // The only way on may be a peer already asked (an owner is used
            // even when avoided): wait for that call, never repeat it.
            self.newest = None;
            if !self.asked.contains(&to.id) {
                let retry = !self.asked.is_empty();
                self.asked.push(to.id);
                self.in_flight += 1;
                self.newest = Some((to.clone(), now + self.limits.suspect_after));
                return Next::Call {
                    to,
                    owner_hint,
                    why,
                    retry,
                };
            }
        }
        if self.in_flight == 0 {
            return Next::GiveUp(self.last_error.clone());
        }
        Next::Wait
    }

    /// The next candidate and why: the peer to ask first if there is one,
    /// else by the routing rule (the owner-hint rule when hinted), passing
    /// over every peer to avoid.
    fn candidate(&mut self, view: &RouteView, key: &Id) -> (Hop, Why) {
        if let Some(first) = self.first.take() {
            if !self.avoid.contains(&first.id) {
                return (Hop::Owner(first), Why::Cache);
            }
        }
        if self.hinted {
            view.hinted_route(key, &self.avoid)
        } else {
            view.route(key, &self.avoid)
        }
    }

    /// The call to `to` failed with `error`. True when the failure counts
    /// as a miss against `to`: a silence already counted at the suspicion
    /// is not counted again when the call runs out.
    pub fn on_failed(&mut self, to: &Peer, error: &CallError) -> bool {
        let counted = self.suspected.contains(&to.id)
            && matches!(error, CallError::Unreachable(_) | CallError::Stalled(_));
        self.last_error = format!("forwarding to {} failed: {error}", to.addr);
        self.avoid.push(to.id);
        self.in_flight = self.in_flight.saturating_sub(1);
        if self.newest.as_ref().is_some_and(|(p, _)| p.id == to.id) {
            self.newest = None;
        }
        // An older call failing while the newest is still within its
        // timeout changes nothing: that one is waited for first.
        self.pick_next = self.newest.is_none();
        !counted
    }

    /// The suspicion timer of the newest call fired, `now` after the
    /// hand-off began: the next candidate is due. The silent peer, when its
    /// silence counts as a miss; `None` when the timer fired so late that
    /// this process did not run (see [`crate::peer::stalled`]): the silence
    /// says nothing about the peer.
    pub fn on_silent(&mut self, now: Duration) -> Option<Peer> {
        let (to, at) = self.newest.take()?;
        let late = now.saturating_sub(at);
        let suspect_after = self.limits.suspect_after;
        self.last_error = format!("forwarding to {} failed: no answer in time", to.addr);
        self.avoid.push(to.id);
        self.pick_next = true;
        if stalled(suspect_after + late, suspect_after) {
            return None;
        }
        self.suspected.push(to.id);
        Some(to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::test_peers::{key, peer};

    const T: Duration = Duration::from_millis(200);

    fn limits() -> RelayLimits {
        RelayLimits::new(T, 32)
    }

    /// Node 10 with predecessor 5, successors 20 and 30, fingers 100 and 200.
    struct Ring {
        me: Peer,
        pred: Peer,
        succs: Vec<Peer>,
        fingers: Vec<Option<Peer>>,
    }

    impl Ring {
        fn new() -> Ring {
            Ring {
                me: peer(10),
                pred: peer(5),
                succs: vec![peer(20), peer(30)],
                fingers: vec![Some(peer(20)), Some(peer(100)), Some(peer(200))],
            }
        }

        fn view(&self) -> RouteView<'_> {
            RouteView {
                me: &self.me,
                predecessor: Some(&self.pred),
                successors: &self.succs,
                fingers: &self.fingers,
            }
        }
    }

    /// A call to `to`, its reason and retry flag left out (see [`plain`]).
    fn call(to: u8, owner_hint: bool) -> Next {
        Next::Call {
            to: peer(to),
            owner_hint,
            why: Why::Local,
            retry: false,
        }
    }

    /// `next` with a call's reason and retry flag blanked, for tests about
    /// who is asked (the reasons have tests of their own).
    fn plain(next: Next) -> Next {
        match next {
            Next::Call { to, owner_hint, .. } => Next::Call {
                to,
                owner_hint,
                why: Why::Local,
                retry: false,
            },
            other => other,
        }
    }

    fn silent() -> CallError {
        CallError::Unreachable("timed out".into())
    }

    #[test]
    fn the_first_candidate_is_the_routing_rules_next_hop() {
        let ring = Ring::new();
        // Rule 4: the closest preceding node, no hint.
        let mut h = Relay::new(2, None, false, None, limits());
        assert_eq!(
            plain(h.next(&ring.view(), &key(250), Duration::ZERO)),
            call(200, false)
        );
        assert_eq!(h.suspect_at(), Some(T));
        // Rules 2–3: the owner, with the hint.
        let mut h = Relay::new(2, None, false, None, limits());
        assert_eq!(
            plain(h.next(&ring.view(), &key(25), Duration::ZERO)),
            call(30, true)
        );
        // Our own key: execute here.
        let mut h = Relay::new(2, None, false, None, limits());
        assert_eq!(
            plain(h.next(&ring.view(), &key(7), Duration::ZERO)),
            Next::Local
        );
    }

    #[test]
    fn the_retrys_avoided_node_is_passed_over() {
        let ring = Ring::new();
        let mut h = Relay::new(1, Some(peer(200).id), false, None, limits());
        assert_eq!(
            plain(h.next(&ring.view(), &key(250), Duration::ZERO)),
            call(100, false)
        );
    }

    #[test]
    fn a_hinted_hop_passes_a_key_behind_it_to_its_predecessor_with_the_hint() {
        // A node joined between the sender and us and took the key.
        let ring = Ring::new();
        let mut h = Relay::new(3, None, true, None, limits());
        assert_eq!(
            plain(h.next(&ring.view(), &key(3), Duration::ZERO)),
            call(5, true)
        );
        // The same key without the hint goes round the ring.
        let mut h = Relay::new(3, None, false, None, limits());
        assert_eq!(
            plain(h.next(&ring.view(), &key(3), Duration::ZERO)),
            call(200, false)
        );
        // Hinted, with that predecessor failed: by the routing rule instead.
        let mut h = Relay::new(3, None, true, None, limits());
        plain(h.next(&ring.view(), &key(3), Duration::ZERO));
        assert!(h.on_failed(&peer(5), &CallError::Refused("gone".into())));
        assert_eq!(
            plain(h.next(&ring.view(), &key(3), Duration::ZERO)),
            call(200, false)
        );
    }

    #[test]
    fn a_silent_candidate_is_suspected_and_the_next_one_asked_while_its_call_stays_open() {
        let ring = Ring::new();
        let mut h = Relay::new(2, None, false, None, limits());
        let k = key(250);
        assert_eq!(
            plain(h.next(&ring.view(), &k, Duration::ZERO)),
            call(200, false)
        );
        // Nothing new is due before the suspicion.
        assert_eq!(plain(h.next(&ring.view(), &k, T / 2)), Next::Wait);
        assert_eq!(h.on_silent(T), Some(peer(200)), "a miss against it");
        assert_eq!(plain(h.next(&ring.view(), &k, T)), call(100, false));
        assert_eq!(h.suspect_at(), Some(T * 2));
        assert_eq!(h.on_silent(T * 2), Some(peer(100)));
        assert_eq!(plain(h.next(&ring.view(), &k, T * 2)), call(30, false));
        // Three calls open: the hedge keeps them all.
        assert_eq!(h.in_flight, 3);
        assert!(h.last_error().contains("n100"), "{}", h.last_error());
    }

    #[test]
    fn a_silence_counted_at_the_suspicion_is_not_counted_again() {
        let ring = Ring::new();
        let mut h = Relay::new(2, None, false, None, limits());
        let k = key(250);
        plain(h.next(&ring.view(), &k, Duration::ZERO));
        assert_eq!(h.on_silent(T), Some(peer(200)));
        plain(h.next(&ring.view(), &k, T));
        // Its call runs out later: the same silence, not a second miss.
        assert!(!h.on_failed(&peer(200), &silent()));
        assert!(!h.on_failed(&peer(200), &CallError::Stalled("late".into())));
        // A different failure (it answered 401, say) still counts.
        assert!(h.on_failed(&peer(200), &CallError::Rejected("401".into())));
    }

    #[test]
    fn a_suspicion_noticed_far_too_late_is_our_stall_not_the_peers() {
        let ring = Ring::new();
        let mut h = Relay::new(2, None, false, None, limits());
        let k = key(250);
        plain(h.next(&ring.view(), &k, Duration::ZERO));
        // The timer fired a whole timeout late: this process did not run.
        assert_eq!(h.on_silent(T * 2), None);
        // Still passed over: the next candidate is asked.
        assert_eq!(plain(h.next(&ring.view(), &k, T * 2)), call(100, false));
        // And its call running out later does count (it was never counted).
        assert!(h.on_failed(&peer(200), &silent()));
    }

    #[test]
    fn a_failed_older_call_waits_for_the_newest_ones_suspicion() {
        let ring = Ring::new();
        let mut h = Relay::new(2, None, false, None, limits());
        let k = key(250);
        plain(h.next(&ring.view(), &k, Duration::ZERO));
        h.on_silent(T);
        assert_eq!(plain(h.next(&ring.view(), &k, T)), call(100, false));
        // The first call fails while the second is still in its timeout.
        assert!(!h.on_failed(&peer(200), &silent()));
        assert_eq!(plain(h.next(&ring.view(), &k, T)), Next::Wait);
        // The newest call failing makes the next candidate due at once.
        assert!(h.on_failed(&peer(100), &CallError::Refused("down".into())));
        assert_eq!(plain(h.next(&ring.view(), &k, T)), call(30, false));
    }

    #[test]
    fn no_peer_is_asked_twice_and_the_last_error_is_the_reason() {
        // The owner is used even when avoided: after it fails, the only way
        // on is the same owner, which is not asked again.
        let ring = Ring::new();
        let mut h = Relay::new(2, None, false, None, limits());
        let k = key(25);
        assert_eq!(
            plain(h.next(&ring.view(), &k, Duration::ZERO)),
            call(30, true)
        );
        assert!(h.on_failed(&peer(30), &CallError::Refused("down".into())));
        match plain(h.next(&ring.view(), &k, Duration::ZERO)) {
            Next::GiveUp(e) => assert_eq!(e, "forwarding to n30 failed: refused: down"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_owner_already_asked_is_waited_for_not_asked_again() {
        let ring = Ring::new();
        let mut h = Relay::new(2, None, false, None, limits());
        let k = key(25);
        plain(h.next(&ring.view(), &k, Duration::ZERO));
        assert_eq!(h.on_silent(T), Some(peer(30)));
        // The only way on is the owner, still open: wait for it, no timer.
        assert_eq!(plain(h.next(&ring.view(), &k, T)), Next::Wait);
        assert_eq!(h.suspect_at(), None);
    }

    #[test]
    fn at_most_four_candidates_are_asked() {
        let (me, pred) = (peer(10), peer(5));
        let succs = vec![peer(20)];
        let fingers: Vec<Option<Peer>> = [40, 80, 120, 160, 200].map(|n| Some(peer(n))).to_vec();
        let view = RouteView {
            me: &me,
            predecessor: Some(&pred),
            successors: &succs,
            fingers: &fingers,
        };
        let mut h = Relay::new(2, None, false, None, limits());
        let k = key(250);
        let mut asked = Vec::new();
        let mut now = Duration::ZERO;
        while let Next::Call { to, .. } = plain(h.next(&view, &k, now)) {
            asked.push(to);
            now += T;
            h.on_silent(now);
        }
        assert_eq!(asked, vec![peer(200), peer(160), peer(120), peer(80)]);
        assert_eq!(
            plain(h.next(&view, &k, now)),
            Next::Wait,
            "the four calls stay open"
        );
        assert_eq!(h.give_up_at(), T * (HEDGE_PATIENCE + 1));
    }

    #[test]
    fn a_request_past_the_hop_ceiling_fails_unless_this_node_owns_it() {
        let ring = Ring::new();
        let tight = RelayLimits::new(T, 4);
        let mut h = Relay::new(5, None, false, None, tight);
        match plain(h.next(&ring.view(), &key(250), Duration::ZERO)) {
            Next::GiveUp(e) => assert_eq!(e, "routing did not converge within 4 hops"),
            other => panic!("{other:?}"),
        }
        // The owner reached at the last hop answers.
        let mut h = Relay::new(5, None, false, None, tight);
        assert_eq!(
            plain(h.next(&ring.view(), &key(7), Duration::ZERO)),
            Next::Local
        );
        // At the ceiling exactly, it still goes on.
        let mut h = Relay::new(4, None, false, None, tight);
        assert_eq!(
            plain(h.next(&ring.view(), &key(250), Duration::ZERO)),
            call(200, false)
        );
    }

    #[test]
    fn a_cached_owner_is_asked_first_with_the_hint_then_the_ring() {
        let ring = Ring::new();
        let mut h = Relay::new(1, None, false, Some(peer(240)), limits());
        let k = key(250);
        assert_eq!(
            plain(h.next(&ring.view(), &k, Duration::ZERO)),
            call(240, true)
        );
        assert!(h.on_failed(&peer(240), &CallError::Refused("moved".into())));
        assert_eq!(
            plain(h.next(&ring.view(), &k, Duration::ZERO)),
            call(200, false)
        );
        // A cached owner the retry avoids is not asked.
        let mut h = Relay::new(1, Some(peer(240).id), false, Some(peer(240)), limits());
        assert_eq!(
            plain(h.next(&ring.view(), &k, Duration::ZERO)),
            call(200, false)
        );
    }

    /// The reason and retry flag of a call.
    fn why(next: Next) -> (u8, Why, bool) {
        match next {
            Next::Call { to, why, retry, .. } => (to.id.0[0], why, retry),
            other => panic!("expected a call, got {other:?}"),
        }
    }

    #[test]
    fn each_call_says_why_and_later_candidates_are_retries() {
        let ring = Ring::new();
        let k = key(250);
        let mut h = Relay::new(2, None, false, None, limits());
        // Finger 2 of the test ring is node 200.
        assert_eq!(
            why(h.next(&ring.view(), &k, Duration::ZERO)),
            (200, Why::Finger(2), false)
        );
        h.on_silent(T);
        // The hedged alternative after the silence: a retry.
        assert_eq!(
            why(h.next(&ring.view(), &k, T)),
            (100, Why::Finger(1), true)
        );
        assert!(h.on_failed(&peer(100), &CallError::Refused("down".into())));
        assert_eq!(why(h.next(&ring.view(), &k, T)), (30, Why::Successor, true));
        // The successor-list shortcut, a hint back to the predecessor, a cached owner.
        let mut h = Relay::new(2, None, false, None, limits());
        assert_eq!(
            why(h.next(&ring.view(), &key(25), Duration::ZERO)),
            (30, Why::SuccessorList, false)
        );
        let mut h = Relay::new(2, None, true, None, limits());
        assert_eq!(
            why(h.next(&ring.view(), &key(3), Duration::ZERO)),
            (5, Why::Hint, false)
        );
        let mut h = Relay::new(1, None, false, Some(peer(240)), limits());
        assert_eq!(
            why(h.next(&ring.view(), &k, Duration::ZERO)),
            (240, Why::Cache, false)
        );
        assert!(h.on_failed(&peer(240), &CallError::Refused("moved".into())));
        assert_eq!(
            why(h.next(&ring.view(), &k, Duration::ZERO)),
            (200, Why::Finger(2), true)
        );
    }
}
