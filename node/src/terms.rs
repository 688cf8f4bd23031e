//! A write's terms beyond its value (pure): the precondition the owner
//! decides (`If-Match`, `If-None-Match: *`) and the value's time to live.
//!
//! The owner decides a precondition under its data lock, in the same
//! section that assigns the write's version and applies it locally
//! (`driver/owner.rs`, `write_once`). Every write of a key passes through
//! that section at its owner, so two conditional writers racing through
//! different entry nodes are ordered there: the second sees the first's
//! version and fails.

use crate::store::{Entry, Version};
use crate::wire::RouteMsg;
use chord_proto::etag::Condition;

/// What a client operation asks beyond its key and value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Terms {
    /// The write's precondition, if any.
    pub cond: Option<Condition>,
    /// A PUT's time to live in ms: the owner stores `now + ttl` as the
    /// value's expiry. `None`: the value never expires.
    pub ttl_ms: Option<u64>,
}

impl Terms {
    /// The terms a routed request carries.
    pub fn of(msg: &RouteMsg) -> Terms {
        Terms {
            cond: msg.cond.clone(),
            ttl_ms: msg.ttl_ms,
        }
    }
}

/// The version a precondition is decided against: the held entry's, when
/// it has a value that has not expired at `now_ms` (a tombstone or an
/// expired value is an absent key).
pub fn live_version(held: Option<&Entry>, now_ms: u64) -> Option<Version> {
    held.filter(|e| e.is_live(now_ms)).map(|e| e.version)
}

/// Decides `cond` against the entry held at `now_ms`: `Ok` to write, or
/// `Err` with the live version it failed against (`None`: the key is absent).
pub fn decide(
    cond: Option<&Condition>,
    held: Option<&Entry>,
    now_ms: u64,
) -> Result<(), Option<Version>> {
    let live = live_version(held, now_ms);
    match cond {
        Some(c) if !c.holds(live) => Err(live),
        _ => Ok(()),
    }
}

/// The client's message for a failed precondition (the answer is 412).
pub fn failed_message(cond: &Condition, live: Option<Version>) -> String {
    match (cond, live) {
        (Condition::Absent, _) => "If-None-Match: * failed: the key exists".to_string(),
        (Condition::Matches(tags), _) if tags.is_empty() => {
            "If-Match and If-None-Match: * never hold together".to_string()
        }
        (_, None) => "If-Match failed: the key does not exist".to_string(),
        (_, Some(v)) => format!(
            "If-Match failed: the key's current version is {}",
            chord_proto::etag::format(v)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::value::RawValue;
    use std::sync::Arc;

    fn entry(ts: u64, value: Option<&str>) -> Entry {
        Entry {
            key: "k".into(),
            value: value.map(|v| Arc::from(RawValue::from_string(v.into()).unwrap())),
            version: Version { ts, node: 1 },
            expires_ms: None,
        }
    }

    #[test]
    fn a_tombstone_is_an_absent_key() {
        let live = entry(5, Some("1"));
        let dead = entry(6, None);
        assert_eq!(live_version(Some(&live), 0), Some(live.version));
        assert_eq!(live_version(Some(&dead), 0), None);
        assert_eq!(live_version(None, 0), None);
        assert_eq!(decide(Some(&Condition::Absent), Some(&dead), 0), Ok(()));
        assert_eq!(
            decide(
                Some(&Condition::Matches(vec![dead.version])),
                Some(&dead),
                0
            ),
            Err(None),
            "a tombstone's version never matches"
        );
    }

    #[test]
    fn a_failed_condition_reports_the_live_version() {
        let live = entry(5, Some("1"));
        let stale = Version { ts: 4, node: 1 };
        assert_eq!(decide(None, Some(&live), 0), Ok(()));
        assert_eq!(
            decide(
                Some(&Condition::Matches(vec![live.version])),
                Some(&live),
                0
            ),
            Ok(())
        );
        assert_eq!(
            decide(Some(&Condition::Matches(vec![stale])), Some(&live), 0),
            Err(Some(live.version))
        );
        assert_eq!(
            decide(Some(&Condition::Absent), Some(&live), 0),
            Err(Some(live.version))
        );
        assert_eq!(decide(Some(&Condition::Exists), None, 0), Err(None));
        let msg = failed_message(&Condition::Matches(vec![stale]), Some(live.version));
        assert!(
            msg.contains(&chord_proto::etag::format(live.version)),
            "{msg}"
        );
        assert!(failed_message(&Condition::Exists, None).contains("does not exist"));
    }

    #[test]
    fn an_expired_value_is_an_absent_key() {
        let mut e = entry(5, Some("1"));
        e.expires_ms = Some(1000);
        assert_eq!(live_version(Some(&e), 999), Some(e.version));
        assert_eq!(live_version(Some(&e), 1000), None);
        assert_eq!(decide(Some(&Condition::Absent), Some(&e), 1000), Ok(()));
        assert_eq!(
            decide(Some(&Condition::Matches(vec![e.version])), Some(&e), 1000),
            Err(None)
        );
        assert_eq!(
            decide(Some(&Condition::Absent), Some(&e), 999),
            Err(Some(e.version))
        );
    }
}
