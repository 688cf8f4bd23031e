//! How long after its entry node took it a client's request can still take
//! effect anywhere on the ring (pure arithmetic, shared by the node, which
//! enforces the bound, and `chordctl chaos`, which judges histories by it).
//!
//! The entry node stamps every routed copy of an attempt with a deadline
//! ([`crate::wire::RouteMsg::deadline_ms`], from [`route_deadline_ms`]); a
//! copy that arrives later (held at a frozen hop, or in a TCP buffer across a
//! partition) is dropped instead of executed. A write whose client got an
//! error or no answer at all is *indeterminate*: it may still land after the
//! client gave up, and after later writes of the same key, but never more
//! than [`effect_window`] after the entry took it.

use std::time::Duration;

/// Default timeout of one node-to-node call (`--rpc-timeout-ms`).
pub const DEFAULT_RPC_TIMEOUT_MS: u64 = 1000;

/// Default time the entry node waits for an owner's reply before it retries
/// once (`--request-timeout-ms`).
pub const DEFAULT_REQUEST_TIMEOUT_MS: u64 = 2000;

/// First-hop calls one attempt's hand-off may wait out: the first candidate
/// and, each after one more call timeout without an answer, up to three
/// hedges on other candidates.
pub const HAND_OFF_CALLS: u32 = 4;

/// Attempts per client request: the first and one retry on another path.
pub const ATTEMPTS: u32 = 2;

/// Added to a routed request's deadline for clock differences between nodes
/// and the time the entry takes to notice its own deadline.
pub const SLACK_MS: u64 = 1000;

/// How long an owner tries to answer on the entry's own connection before it
/// acknowledges with 202 and posts the reply instead (and how much later
/// the entry's hand-off suspects a call because of it).
pub fn inline_wait(rpc_timeout: Duration) -> Duration {
    rpc_timeout / 4
}

/// The longest one attempt keeps its entry node busy: every hand-off call
/// stretched by [`inline_wait`], then the wait for the owner's reply.
pub fn attempt(rpc_timeout: Duration, request_timeout: Duration) -> Duration {
    (rpc_timeout + inline_wait(rpc_timeout)) * HAND_OFF_CALLS + request_timeout
}

/// The wall-clock time (ms since the epoch) after which no node should
/// execute an attempt sent at `now_ms`: [`attempt`] plus [`SLACK_MS`].
pub fn route_deadline_ms(now_ms: u64, rpc_timeout: Duration, request_timeout: Duration) -> u64 {
    let attempt_ms =
        u64::try_from(attempt(rpc_timeout, request_timeout).as_millis()).unwrap_or(u64::MAX);
    now_ms.saturating_add(attempt_ms).saturating_add(SLACK_MS)
}

/// How long after the entry took it any copy of a client's request may take
/// effect: the retry starts at most one [`attempt`] after the first, and each
/// attempt's copies die at its [`route_deadline_ms`].
pub fn effect_window(rpc_timeout: Duration, request_timeout: Duration) -> Duration {
    attempt(rpc_timeout, request_timeout) * ATTEMPTS + Duration::from_millis(SLACK_MS)
}

/// [`effect_window`] with the default timeouts.
pub fn default_effect_window() -> Duration {
    effect_window(
        Duration::from_millis(DEFAULT_RPC_TIMEOUT_MS),
        Duration::from_millis(DEFAULT_REQUEST_TIMEOUT_MS),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_covers_every_attempt_deadline_of_a_request() {
        let (rpc, req) = (Duration::from_millis(1000), Duration::from_millis(2000));
        // One attempt: four hand-off calls of 1.25 s, then 2 s for the reply.
        assert_eq!(attempt(rpc, req), Duration::from_millis(7000));
        assert_eq!(route_deadline_ms(10_000, rpc, req), 18_000);
        // The retry, sent as late as it can be, dies by the window's end.
        let retry_sent = 10_000 + 7000;
        let window_end = 10_000 + u64::try_from(effect_window(rpc, req).as_millis()).unwrap();
        assert!(route_deadline_ms(retry_sent, rpc, req) <= window_end);
        assert_eq!(default_effect_window(), effect_window(rpc, req));
        // 4 call timeouts (each with the inline answer's quarter) of
        // hand-off, the reply's wait, 1 s of slack.
        let short = route_deadline_ms(10_000, Duration::from_millis(300), req);
        assert_eq!(short, 10_000 + 1_500 + 2_000 + 1_000);
    }
}
