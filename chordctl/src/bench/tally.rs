//! Counting what happened to each request: one [`Tally`] per worker,
//! merged when the workers are done. Pure.

use std::collections::BTreeMap;
use std::time::Duration;

use super::histogram::Histogram;
use super::workload::BenchOp;

/// An open-loop send more than this after its due time counts as late.
pub const LATE: Duration = Duration::from_millis(10);

/// Why a request failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ErrorKind {
    /// The node answered with this unexpected status.
    Http(u16),
    /// No complete answer within the request timeout.
    Timeout,
    /// The connection could not be made (node down, wrong port).
    Connect,
    /// Any other transport failure (connection reset, bad response).
    Transport,
}

impl ErrorKind {
    /// The name in the report: `http_503`, `timeout`, `connect`, `transport`.
    pub fn name(self) -> String {
        match self {
            ErrorKind::Http(status) => format!("http_{status}"),
            ErrorKind::Timeout => "timeout".to_string(),
            ErrorKind::Connect => "connect".to_string(),
            ErrorKind::Transport => "transport".to_string(),
        }
    }
}

/// What came back for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// The node answered (any status).
    Answered {
        /// HTTP status.
        status: u16,
        /// `X-Chord-Hops`, when present and a number.
        hops: Option<u32>,
    },
    /// No answer.
    Failed(ErrorKind),
}

/// How a request counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Done as asked.
    Ok,
    /// A get of a key that does not exist, when the keys were not preloaded.
    NotFound,
    /// Anything else.
    Error(ErrorKind),
}

/// How an HTTP answer counts: 2xx is fine; a 404 on a get is a miss when
/// nothing was preloaded, and an error (a lost key) when it was.
pub fn classify(op: BenchOp, status: u16, preloaded: bool) -> Class {
    match status {
        200..=299 => Class::Ok,
        404 if op == BenchOp::Get && !preloaded => Class::NotFound,
        _ => Class::Error(ErrorKind::Http(status)),
    }
}

/// Everything counted by one worker (or, merged, by all of them).
#[derive(Debug, Clone, Default)]
pub struct Tally {
    /// Latency of answered gets, in microseconds.
    pub get: Histogram,
    /// Latency of answered puts, in microseconds.
    pub put: Histogram,
    /// Requests done as asked.
    pub ok: u64,
    /// Gets of missing keys (not errors, see [`classify`]).
    pub not_found: u64,
    /// Failed requests by kind.
    pub errors: BTreeMap<ErrorKind, u64>,
    /// Answers by their `X-Chord-Hops`.
    pub hops: BTreeMap<u32, u64>,
    /// Requests without a hop count: no answer, or no header.
    pub hops_unknown: u64,
    /// Open loop: sends later than [`LATE`] after their due time.
    pub late: u64,
    /// Open loop: the largest delay between due time and send, in microseconds.
    pub max_lag_us: u64,
}

impl Tally {
    /// Counts one request; `latency` is only used when it was answered.
    pub fn record(
        &mut self,
        op: BenchOp,
        outcome: Answer,
        latency: Duration,
        preloaded: bool,
    ) -> Class {
        let class = match outcome {
            Answer::Answered { status, hops } => {
                let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
                match op {
                    BenchOp::Get => self.get.record(us),
                    BenchOp::Put => self.put.record(us),
                }
                match hops {
                    Some(h) => *self.hops.entry(h).or_default() += 1,
                    None => self.hops_unknown += 1,
                }
                classify(op, status, preloaded)
            }
            Answer::Failed(kind) => {
                self.hops_unknown += 1;
                Class::Error(kind)
            }
        };
        match class {
            Class::Ok => self.ok += 1,
            Class::NotFound => self.not_found += 1,
            Class::Error(kind) => *self.errors.entry(kind).or_default() += 1,
        }
        class
    }

    /// Counts how late an open-loop send was.
    pub fn record_lag(&mut self, lag: Duration) {
        if lag > LATE {
            self.late += 1;
        }
        let us = u64::try_from(lag.as_micros()).unwrap_or(u64::MAX);
        self.max_lag_us = self.max_lag_us.max(us);
    }

    /// Failed requests.
    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    /// Requests sent and finished, whatever the outcome.
    pub fn ops(&self) -> u64 {
        self.ok + self.not_found + self.error_count()
    }

    /// Adds another worker's counts.
    pub fn merge(&mut self, other: &Tally) {
        self.get.merge(&other.get);
        self.put.merge(&other.put);
        self.ok += other.ok;
        self.not_found += other.not_found;
        for (kind, n) in &other.errors {
            *self.errors.entry(*kind).or_default() += n;
        }
        for (hops, n) in &other.hops {
            *self.hops.entry(*hops).or_default() += n;
        }
        self.hops_unknown += other.hops_unknown;
        self.late += other.late;
        self.max_lag_us = self.max_lag_us.max(other.max_lag_us);
    }
}

#[cfg(test)]
pub mod tests {
    use super::*;

    pub fn answered(status: u16, hops: u32) -> Answer {
        Answer::Answered {
            status,
            hops: Some(hops),
        }
    }

    /// Ten gets, two puts, a 503 and a timeout.
    pub fn sample_tally(preloaded: bool) -> Tally {
        let mut t = Tally::default();
        for i in 0..10u32 {
            let ms = Duration::from_millis(u64::from(i) + 1);
            t.record(BenchOp::Get, answered(200, i % 3), ms, preloaded);
        }
        t.record(
            BenchOp::Put,
            answered(200, 1),
            Duration::from_millis(20),
            preloaded,
        );
        t.record(
            BenchOp::Get,
            answered(404, 0),
            Duration::from_millis(1),
            preloaded,
        );
        t.record(
            BenchOp::Put,
            answered(503, 2),
            Duration::from_millis(30),
            preloaded,
        );
        let timeout = Answer::Failed(ErrorKind::Timeout);
        t.record(BenchOp::Get, timeout, Duration::from_secs(5), preloaded);
        t
    }

    #[test]
    fn statuses_are_classified() {
        assert_eq!(classify(BenchOp::Put, 200, false), Class::Ok);
        assert_eq!(classify(BenchOp::Get, 404, false), Class::NotFound);
        let lost = Class::Error(ErrorKind::Http(404));
        assert_eq!(classify(BenchOp::Get, 404, true), lost);
        assert_eq!(classify(BenchOp::Put, 404, false), lost);
        let unavailable = Class::Error(ErrorKind::Http(503));
        assert_eq!(classify(BenchOp::Get, 503, false), unavailable);
    }

    #[test]
    fn tallies_count_and_merge() {
        let mut a = sample_tally(false);
        assert_eq!(
            (a.ok, a.not_found, a.error_count(), a.ops()),
            (11, 1, 2, 14)
        );
        assert_eq!(a.get.count(), 11, "the timeout is not timed");
        assert_eq!(a.hops_unknown, 1);
        let b = sample_tally(true);
        assert_eq!((b.not_found, b.error_count()), (0, 3));
        a.merge(&b);
        assert_eq!(a.ops(), 28);
        assert_eq!(a.errors[&ErrorKind::Timeout], 2);
        assert_eq!(a.errors[&ErrorKind::Http(404)], 1);
        assert_eq!(a.hops.values().sum::<u64>() + a.hops_unknown, a.ops());
    }
}
