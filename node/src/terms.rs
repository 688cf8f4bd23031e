//! A write's terms beyond its value (pure): the precondition the owner
//! decides (`If-Match`, `If-None-Match: *`).
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
}

impl Terms {
    /// The terms a routed request carries.
    pub fn of(msg: &RouteMsg) -> Terms {
        Terms {
            cond: msg.cond.clone(),
        }
    }
}

/// The version a precondition is decided against: the held entry's, when
/// it has a value (a tombstone is an absent key).
pub fn live_version(held: Option<&Entry>) -> Option<Version> {
    held.filter(|e| !e.is_tombstone()).map(|e| e.version)
}

/// Decides `cond` against the entry held now: `Ok` to write, or `Err`
/// with the live version it failed against (`None`: the key is absent).
pub fn decide(cond: Option<&Condition>, held: Option<&Entry>) -> Result<(), Option<Version>> {
    let live = live_version(held);
    match cond {
        Some(c) if !c.holds(live) => Err(live),
        _ => Ok(()),
    }
}

/// The client's message for a failed precondition (the answer is 412).
pub fn failed_message(cond: &Condition, live: Option<Version>) -> String {
    match (cond, live) {
        (Condition::Absent, _) => "If-None-Match: * failed: the key exists".to_string(),
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
        }
    }

    #[test]
    fn a_tombstone_is_an_absent_key() {
        let live = entry(5, Some("1"));
        let dead = entry(6, None);
        assert_eq!(live_version(Some(&live)), Some(live.version));
        assert_eq!(live_version(Some(&dead)), None);
        assert_eq!(live_version(None), None);
        assert_eq!(decide(Some(&Condition::Absent), Some(&dead)), Ok(()));
        assert_eq!(
            decide(Some(&Condition::Matches(vec![dead.version])), Some(&dead)),
            Err(None),
            "a tombstone's version never matches"
        );
    }

    #[test]
    fn a_failed_condition_reports_the_live_version() {
        let live = entry(5, Some("1"));
        let stale = Version { ts: 4, node: 1 };
        assert_eq!(decide(None, Some(&live)), Ok(()));
        assert_eq!(
            decide(Some(&Condition::Matches(vec![live.version])), Some(&live)),
            Ok(())
        );
        assert_eq!(
            decide(Some(&Condition::Matches(vec![stale])), Some(&live)),
            Err(Some(live.version))
        );
        assert_eq!(
            decide(Some(&Condition::Absent), Some(&live)),
            Err(Some(live.version))
        );
        assert_eq!(decide(Some(&Condition::Exists), None), Err(None));
        let msg = failed_message(&Condition::Matches(vec![stale]), Some(live.version));
        assert!(
            msg.contains(&chord_proto::etag::format(live.version)),
            "{msg}"
        );
        assert!(failed_message(&Condition::Exists, None).contains("does not exist"));
    }
}
