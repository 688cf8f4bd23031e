//! A client's request at its entry node (pure): run it here or route it, the
//! first hop, the reply's timer, the one retry on another path, and which
//! answer the client gets.
//!
//! The driver (`crate::driver::routed`) registers the request id, sends each
//! attempt's first hop and, beside it, waits for the owner's direct reply;
//! every outcome of that becomes an [`Event`], and [`ClientRequest::on`]
//! says what to do next ([`Decision`]).

use crate::id::Id;
use crate::wire::{KvOutcome, ReplyMsg};
use chord_proto::entry::Version;
use chord_proto::peer::Peer;
use chord_proto::trace::TraceHop;

/// Attempts per client request: the first and one retry. More would hold a
/// client well past `--request-timeout-ms` for paths that are most likely
/// broken, and every retry of a write is one more copy on the ring (and
/// would widen [`chord_proto::deadline::effect_window`]).
const ATTEMPTS: u32 = chord_proto::deadline::ATTEMPTS;

/// The answer a client gets: what happened, where, and how far it travelled.
#[derive(Clone, Debug)]
pub struct ClientReply {
    /// What happened.
    pub outcome: KvOutcome,
    /// `host:port` of the owner that answered; `None` when this node did.
    pub owner: Option<String>,
    /// Forwarding steps after the entry node.
    pub hops: u32,
    /// On a traced request, the path it took (`X-Chord-Path`): from the
    /// reply that brought this answer, or set by the driver for an answer
    /// made here. `None` when untraced.
    pub path: Option<Vec<TraceHop>>,
    /// The key's version the answer is about (its `ETag`), when there is one.
    pub version: Option<Version>,
}

impl ClientReply {
    /// An outcome reached at this node, as the owner.
    pub fn here(outcome: KvOutcome) -> ClientReply {
        ClientReply {
            outcome,
            owner: None,
            hops: 0,
            path: None,
            version: None,
        }
    }

    /// A failure this node answers itself (`status`, `error`).
    pub fn local_failure(status: u16, error: &str) -> ClientReply {
        ClientReply::here(KvOutcome::Failed {
            status,
            error: error.to_string(),
        })
    }

    /// The answer a reply carries: the outcome from its sender.
    fn from_reply(reply: ReplyMsg) -> ClientReply {
        ClientReply {
            outcome: reply.outcome,
            owner: Some(reply.owner),
            hops: reply.hops,
            path: reply.trace,
            version: reply.version,
        }
    }
}

/// How a client operation begins ([`ClientRequest::first_step`]).
#[derive(Debug)]
pub enum Start {
    /// Answer at once (this node is not in a ring).
    Answer(ClientReply),
    /// This node owns the key: execute it here, with no routing state (the
    /// common case on a small ring or a single node).
    ExecuteHere,
    /// Route it: send this first attempt, then feed events to the state.
    Route(ClientRequest, Attempt),
}

/// How one attempt's first hop is sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attempt {
    /// The node every hop leaves out when it can (`RouteMsg::avoid`).
    pub avoid: Option<Id>,
    /// A peer believed to own the key, asked first with the owner hint (a
    /// location cache's guess); `None`: the ring's own next hop.
    pub via: Option<Peer>,
    /// Whether this is the retry (its first hop is a trace's `retry`).
    pub retry: bool,
}

/// What the entry node learns while an attempt runs.
#[derive(Debug)]
pub enum Event {
    /// A first hop acknowledged the request (202).
    HopTook(Peer),
    /// The first hop's send found that this node owns the key now.
    HopLocal,
    /// No first hop took the request (each refused, failed or was silent).
    HopFailed(String),
    /// The direct reply arrived: the owner's outcome, or a 503 from a node
    /// on the path that could not pass the request on (`gave_up`).
    Reply(ReplyMsg),
    /// The reply's channel closed without a reply (it should not while the
    /// request id is registered); treated as a lost reply.
    ReplyLost,
    /// The reply's timer ran out (it runs only once a first hop took it).
    ReplyTimeout,
}

/// What the driver does next.
#[derive(Debug)]
pub enum Decision {
    /// A first hop took the request: (re)start the reply's timer at
    /// `--request-timeout-ms` and wait for the reply.
    AwaitReply,
    /// This node owns the key now: execute it here (with the request id).
    ExecuteHere,
    /// Send the next attempt: the same request id on another path.
    Retry {
        /// The new attempt.
        attempt: Attempt,
        /// The first hop of the attempt that brought nothing (for the log).
        previous_hop: Option<Peer>,
    },
    /// Answer the client with this; the request is over.
    Answer(ClientReply),
}

/// A routed client request at its entry node: which attempt runs, how far
/// it got, and the answer kept for the client if the retry fails too.
#[derive(Debug)]
pub struct ClientRequest {
    /// Attempts started so far (1 or 2).
    started: u32,
    /// The peer that took this attempt's first hop, once one has.
    first_hop: Option<Peer>,
    /// The first attempt's 503 (from the path, or an inconclusive owner, or
    /// no first hop at all): the client gets it if the retry brings no
    /// answer either.
    failed: Option<ClientReply>,
}

impl ClientRequest {
    /// How a client operation starts: refused while this node is not
    /// `ready`, run here if it `owns` the key, else routed. The first
    /// attempt goes through `cached_owner` when a location cache offers one
    /// (`crate::location`; the driver passes `None` when it has none).
    pub fn first_step(ready: bool, owns: bool, cached_owner: Option<Peer>) -> Start {
        if !ready {
            return Start::Answer(ClientReply::local_failure(
                503,
                "node has not joined a ring yet",
            ));
        }
        if owns {
            return Start::ExecuteHere;
        }
        let entry = ClientRequest {
            started: 1,
            first_hop: None,
            failed: None,
        };
        let attempt = Attempt {
            avoid: None,
            via: cached_owner,
            retry: false,
        };
        Start::Route(entry, attempt)
    }

    /// Whether this attempt's first hop has taken the request: until then
    /// the driver waits for the hop's send (and no reply timer runs); from
    /// then on, for the reply or its timer.
    pub fn hop_known(&self) -> bool {
        self.first_hop.is_some()
    }

    /// Whether an answer from the first attempt is kept for the client.
    pub fn has_failure(&self) -> bool {
        self.failed.is_some()
    }

    /// Feeds one event of the running attempt; says what to do next.
    pub fn on(&mut self, event: Event) -> Decision {
        let last = self.started >= ATTEMPTS;
        match event {
            Event::HopTook(hop) => {
                self.first_hop = Some(hop);
                Decision::AwaitReply
            }
            Event::HopLocal => Decision::ExecuteHere,
            // No first hop took it (each timed out or refused): under load
            // the candidates may only have been slow, so this is worth the
            // one retry like a lost reply. A write that did arrive is
            // deduplicated by its id.
            Event::HopFailed(e) if !last => {
                self.retry(Some(ClientReply::local_failure(503, &e)), None)
            }
            Event::HopFailed(e) => Decision::Answer(ClientReply::local_failure(503, &e)),
            Event::Reply(reply) => self.on_reply(reply, last),
            // Lost or late: retry avoiding the first hop that led nowhere.
            Event::ReplyLost | Event::ReplyTimeout if !last => {
                let avoid = self.first_hop.as_ref().map(|h| h.id);
                self.retry(None, avoid)
            }
            Event::ReplyLost | Event::ReplyTimeout => Decision::Answer(self.give_up()),
        }
    }

    fn on_reply(&mut self, reply: ReplyMsg, last: bool) -> Decision {
        let gave_up = reply.gave_up;
        let answer = ClientReply::from_reply(reply);
        if last {
            return Decision::Answer(answer);
        }
        match gave_up {
            // A node on the path could not pass the request on (the owner
            // never saw it): worth the one retry, like a lost reply, on a
            // path that avoids that node.
            Some(node) => self.retry(Some(answer), Some(node)),
            // The owner could not prove its answer and changed nothing: ask
            // once more, same path.
            None if matches!(answer.outcome, KvOutcome::Inconclusive { .. }) => {
                self.retry(Some(answer), None)
            }
            // The owner's own answer, a 503 included (it may have applied
            // part of a write): final.
            None => Decision::Answer(answer),
        }
    }

    /// Starts the next attempt, keeping `failed` (if any) for the client.
    fn retry(&mut self, failed: Option<ClientReply>, avoid: Option<Id>) -> Decision {
        if failed.is_some() {
            self.failed = failed;
        }
        self.started += 1;
        Decision::Retry {
            attempt: Attempt {
                avoid,
                via: None,
                retry: true,
            },
            previous_hop: self.first_hop.take(),
        }
    }

    /// The answer once every attempt brought nothing: the first attempt's
    /// 503 if there was one, else a 503 of our own.
    fn give_up(&mut self) -> ClientReply {
        self.failed.take().unwrap_or_else(|| {
            ClientReply::local_failure(503, "no reply from the key's owner (after one retry)")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::test_peers::peer;

    /// A routed request whose first attempt has been sent.
    fn routed() -> ClientRequest {
        match ClientRequest::first_step(true, false, None) {
            Start::Route(entry, attempt) => {
                assert_eq!(
                    attempt,
                    Attempt {
                        avoid: None,
                        via: None,
                        retry: false,
                    }
                );
                entry
            }
            other => panic!("expected a routed request, got {other:?}"),
        }
    }

    fn reply(outcome: KvOutcome, gave_up: Option<Id>) -> ReplyMsg {
        ReplyMsg {
            version: None,
            req: "r".into(),
            owner: "owner:1".into(),
            gave_up,
            hops: 3,
            outcome,
            trace: None,
            range: None,
        }
    }

    fn failed(status: u16, error: &str) -> KvOutcome {
        KvOutcome::Failed {
            status,
            error: error.into(),
        }
    }

    fn inconclusive() -> KvOutcome {
        KvOutcome::Inconclusive {
            error: "a holder was silent".into(),
        }
    }

    /// The status and error of a failed answer.
    fn failure(d: Decision) -> (u16, String, Option<String>) {
        match d {
            Decision::Answer(ClientReply {
                outcome: KvOutcome::Failed { status, error },
                owner,
                ..
            }) => (status, error, owner),
            Decision::Answer(ClientReply {
                outcome: KvOutcome::Inconclusive { error },
                owner,
                ..
            }) => (503, error, owner),
            other => panic!("expected a failed answer, got {other:?}"),
        }
    }

    /// The retry's attempt, checked to be one.
    fn retry(d: Decision) -> Attempt {
        match d {
            Decision::Retry { attempt, .. } => attempt,
            other => panic!("expected a retry, got {other:?}"),
        }
    }

    #[test]
    fn a_node_not_in_a_ring_answers_503_at_once() {
        match ClientRequest::first_step(false, true, None) {
            Start::Answer(reply) => {
                assert_eq!(reply.owner, None);
                assert!(matches!(
                    reply.outcome,
                    KvOutcome::Failed { status: 503, .. }
                ));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_key_this_node_owns_runs_here_without_routing_state() {
        assert!(matches!(
            ClientRequest::first_step(true, true, Some(peer(9))),
            Start::ExecuteHere
        ));
    }

    #[test]
    fn a_cached_owner_is_the_first_attempts_hop_but_not_the_retrys() {
        let Start::Route(mut entry, first) = ClientRequest::first_step(true, false, Some(peer(9)))
        else {
            panic!("expected a routed request");
        };
        assert_eq!(first.via, Some(peer(9)));
        assert_eq!(first.avoid, None);
        // The guess led nowhere: the retry goes by the ring, around it.
        entry.on(Event::HopTook(peer(9)));
        let again = retry(entry.on(Event::ReplyTimeout));
        assert_eq!(again.via, None);
        assert_eq!(again.avoid, Some(peer(9).id));
        assert!(again.retry && !first.retry, "only the retry is tagged one");
    }

    #[test]
    fn the_owners_answer_is_final_and_carries_its_address_and_hops() {
        let mut entry = routed();
        assert!(matches!(
            entry.on(Event::HopTook(peer(2))),
            Decision::AwaitReply
        ));
        assert!(entry.hop_known());
        match entry.on(Event::Reply(reply(KvOutcome::Stored, None))) {
            Decision::Answer(r) => {
                assert!(matches!(r.outcome, KvOutcome::Stored));
                assert_eq!(r.owner.as_deref(), Some("owner:1"));
                assert_eq!(r.hops, 3);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_owners_own_503_is_not_retried() {
        // It may have applied part of the write.
        let mut entry = routed();
        entry.on(Event::HopTook(peer(2)));
        let (status, error, owner) =
            failure(entry.on(Event::Reply(reply(failed(503, "no quorum"), None))));
        assert_eq!((status, error.as_str()), (503, "no quorum"));
        assert_eq!(owner.as_deref(), Some("owner:1"));
    }

    #[test]
    fn a_reply_timeout_retries_once_avoiding_the_silent_first_hop() {
        let mut entry = routed();
        entry.on(Event::HopTook(peer(2)));
        match entry.on(Event::ReplyTimeout) {
            Decision::Retry {
                attempt,
                previous_hop,
            } => {
                assert_eq!(attempt.avoid, Some(peer(2).id));
                assert_eq!(previous_hop, Some(peer(2)));
            }
            other => panic!("{other:?}"),
        }
        // The new attempt waits for its own first hop before any timer.
        assert!(!entry.hop_known());
        entry.on(Event::HopTook(peer(3)));
        let (status, error, owner) = failure(entry.on(Event::ReplyTimeout));
        assert_eq!(status, 503);
        assert!(error.contains("after one retry"), "{error}");
        assert_eq!(owner, None);
    }

    #[test]
    fn a_lost_reply_counts_as_a_timeout() {
        let mut entry = routed();
        entry.on(Event::HopTook(peer(2)));
        assert_eq!(retry(entry.on(Event::ReplyLost)).avoid, Some(peer(2).id));
        let (_, error, _) = failure(entry.on(Event::ReplyLost));
        assert!(error.contains("no reply from the key's owner"), "{error}");
    }

    #[test]
    fn a_503_from_the_path_retries_avoiding_the_node_that_gave_up() {
        let mut entry = routed();
        entry.on(Event::HopTook(peer(2)));
        let gave_up = reply(failed(503, "no live next hop"), Some(peer(7).id));
        let again = retry(entry.on(Event::Reply(gave_up)));
        // The node that gave up, not the first hop, which did its part.
        assert_eq!(again.avoid, Some(peer(7).id));
        assert!(entry.has_failure());
    }

    #[test]
    fn the_first_503_is_returned_when_the_retry_brings_nothing() {
        let mut entry = routed();
        entry.on(Event::HopTook(peer(2)));
        let gave_up = reply(failed(503, "no live next hop"), Some(peer(7).id));
        retry(entry.on(Event::Reply(gave_up)));
        entry.on(Event::HopTook(peer(3)));
        let (status, error, owner) = failure(entry.on(Event::ReplyTimeout));
        assert_eq!((status, error.as_str()), (503, "no live next hop"));
        assert_eq!(owner.as_deref(), Some("owner:1"), "the node that gave up");
    }

    #[test]
    fn a_second_503_from_the_path_is_answered_as_it_is() {
        let mut entry = routed();
        entry.on(Event::HopTook(peer(2)));
        retry(entry.on(Event::Reply(reply(failed(503, "first"), Some(peer(7).id)))));
        entry.on(Event::HopTook(peer(3)));
        let second = reply(failed(503, "second"), Some(peer(8).id));
        let (_, error, _) = failure(entry.on(Event::Reply(second)));
        assert_eq!(error, "second");
    }

    #[test]
    fn an_inconclusive_owner_is_asked_once_more_on_the_same_path() {
        let mut entry = routed();
        entry.on(Event::HopTook(peer(2)));
        let again = retry(entry.on(Event::Reply(reply(inconclusive(), None))));
        assert_eq!(again.avoid, None, "the path was fine");
        // Inconclusive again: that is the answer (503, safe to retry).
        entry.on(Event::HopTook(peer(2)));
        let last = entry.on(Event::Reply(reply(inconclusive(), None)));
        assert!(matches!(
            last,
            Decision::Answer(ClientReply {
                outcome: KvOutcome::Inconclusive { .. },
                ..
            })
        ));
    }

    #[test]
    fn no_first_hop_is_retried_once_then_answered_with_the_latest_error() {
        let mut entry = routed();
        let again = retry(entry.on(Event::HopFailed("all refused".into())));
        assert_eq!(again.avoid, None, "no hop to blame");
        let (status, error, owner) = failure(entry.on(Event::HopFailed("still refused".into())));
        assert_eq!(
            (status, error.as_str(), owner),
            (503, "still refused", None)
        );
    }

    #[test]
    fn no_first_hop_then_a_timeout_returns_the_remembered_503() {
        let mut entry = routed();
        retry(entry.on(Event::HopFailed("all refused".into())));
        entry.on(Event::HopTook(peer(3)));
        let (_, error, _) = failure(entry.on(Event::ReplyTimeout));
        assert_eq!(error, "all refused");
    }

    #[test]
    fn a_ring_change_that_makes_this_node_the_owner_runs_it_here() {
        let mut entry = routed();
        assert!(matches!(entry.on(Event::HopLocal), Decision::ExecuteHere));
        // On the retry too.
        let mut entry = routed();
        entry.on(Event::HopTook(peer(2)));
        retry(entry.on(Event::ReplyTimeout));
        assert!(matches!(entry.on(Event::HopLocal), Decision::ExecuteHere));
    }

    #[test]
    fn the_answer_carries_the_path_of_the_reply_that_brought_it() {
        use chord_proto::trace::Tag;
        let path = vec![
            TraceHop::new("a:1", vec![Tag::Entry]),
            TraceHop::new("owner:1", vec![Tag::Finger(4), Tag::Owner]),
        ];
        let mut entry = routed();
        entry.on(Event::HopTook(peer(2)));
        let traced = ReplyMsg {
            trace: Some(path.clone()),
            ..reply(KvOutcome::NotFound, None)
        };
        match entry.on(Event::Reply(traced)) {
            Decision::Answer(r) => assert_eq!(r.path, Some(path)),
            other => panic!("{other:?}"),
        }
        // Every attempt after the first is a retry, whatever brought it.
        let mut entry = routed();
        assert!(retry(entry.on(Event::HopFailed("refused".into()))).retry);
    }
}
