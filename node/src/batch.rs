//! Multi-get at the entry node (pure): the keys a `POST /kv:batchGet`
//! asks for, which owner is asked for which of them, and the answer
//! gathered from the outcomes.
//!
//! The driver (`driver/batch.rs`) asks each likely owner once for all of
//! its keys (`POST /chord/batch`), and routes one by one, as single GETs,
//! the keys with no likely owner and those an owner disowned or could not
//! settle.

use crate::dedup::Executed;
use crate::id::Id;
use crate::wire::KvOutcome;
use chord_proto::api::{BatchGetResponse, BatchKeyError, BATCH_GET_MAX_KEYS};
use chord_proto::key::MAX_KEY_BYTES;
use chord_proto::peer::Peer;
use std::collections::{HashMap, HashSet};

/// Why a multi-get's body was refused: its HTTP status and message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused {
    /// 400: not a list of at most 1000 valid keys.
    pub status: u16,
    /// What was wrong.
    pub error: String,
}

/// The distinct keys of a multi-get body (a JSON array of strings), in
/// the order first given. Refused: anything else (400), a key that is
/// empty or over 1024 bytes, more than [`BATCH_GET_MAX_KEYS`] (all 400:
/// the body breaks the contract's schema, which schema-based clients
/// expect to be a 400).
pub fn parse_keys(body: &[u8]) -> Result<Vec<String>, Refused> {
    let keys: Vec<String> = serde_json::from_slice(body).map_err(|e| Refused {
        status: 400,
        error: format!("the body must be a JSON array of keys (strings): {e}"),
    })?;
    if keys.len() > BATCH_GET_MAX_KEYS {
        return Err(Refused {
            status: 400,
            error: format!(
                "{} keys asked for; at most {BATCH_GET_MAX_KEYS} per request",
                keys.len()
            ),
        });
    }
    if let Some(bad) = keys
        .iter()
        .find(|k| k.is_empty() || k.len() > MAX_KEY_BYTES)
    {
        let shown: String = bad.chars().take(40).collect();
        return Err(Refused {
            status: 400,
            error: format!("key {shown:?}: a key is 1 to {MAX_KEY_BYTES} bytes of UTF-8"),
        });
    }
    let mut seen = HashSet::new();
    Ok(keys
        .into_iter()
        .filter(|k| seen.insert(k.clone()))
        .collect())
}

/// Who is asked for what.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Each likely owner with its keys, one request each, in the order the
    /// owners first appear.
    pub groups: Vec<(Peer, Vec<String>)>,
    /// Keys without a likely owner: routed one by one.
    pub unplaced: Vec<String>,
}

/// Groups `keys` by the owner `likely_owner` names for each key's id.
pub fn plan(keys: Vec<String>, likely_owner: impl Fn(&Id) -> Option<Peer>) -> Plan {
    let mut out = Plan::default();
    let mut index: HashMap<Id, usize> = HashMap::new();
    for key in keys {
        match likely_owner(&Id::hash(key.as_bytes())) {
            Some(owner) => {
                let i = *index.entry(owner.id).or_insert_with(|| {
                    out.groups.push((owner, Vec::new()));
                    out.groups.len() - 1
                });
                out.groups[i].1.push(key);
            }
            None => out.unplaced.push(key),
        }
    }
    out
}

/// Whether a key's outcome from its owner's batch should be asked again
/// as a single routed GET: the owner could not settle it (its single GET
/// would be retried by the entry too, see `request::client`).
pub fn ask_again(outcome: &KvOutcome) -> bool {
    matches!(outcome, KvOutcome::Inconclusive { .. })
}

/// The multi-get's answer, filled key by key.
#[derive(Debug, Default)]
pub struct Gather {
    answer: BatchGetResponse,
}

impl Gather {
    /// Files `key` under what its GET found.
    pub fn add(&mut self, key: String, done: Executed) {
        let a = &mut self.answer;
        let fail = |status, error| BatchKeyError { status, error };
        match done.outcome {
            KvOutcome::Value(v) => {
                if let Some(version) = done.version {
                    a.etags
                        .insert(key.clone(), chord_proto::etag::format(version));
                }
                a.values.insert(key, v);
            }
            KvOutcome::NotFound => a.missing.push(key),
            KvOutcome::Inconclusive { error } => {
                a.errors.insert(key, fail(503, error));
            }
            KvOutcome::Failed { status, error } => {
                a.errors.insert(key, fail(status, error));
            }
            KvOutcome::Stored | KvOutcome::Deleted => {
                let e = "the owner answered a read with a write's outcome".to_string();
                a.errors.insert(key, fail(502, e));
            }
        }
    }

    /// The answer (`missing` in key order).
    pub fn finish(mut self) -> BatchGetResponse {
        self.answer.missing.sort();
        self.answer
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Version;
    use serde_json::value::RawValue;
    use std::sync::Arc;

    use crate::request::test_peers::peer;

    #[test]
    fn a_body_is_a_bounded_list_of_valid_keys_and_repeats_count_once() {
        assert_eq!(parse_keys(b"[]"), Ok(vec![]));
        assert_eq!(
            parse_keys(br#"["b","a","b"]"#),
            Ok(vec!["b".to_string(), "a".to_string()])
        );
        for bad in [&b"{}"[..], b"", b"[1]", b"[\"a\",null]", b"\"a\""] {
            assert_eq!(parse_keys(bad).unwrap_err().status, 400, "{bad:?}");
        }
        assert_eq!(parse_keys(br#"["a",""]"#).unwrap_err().status, 400);
        let long = serde_json::to_vec(&vec!["x".repeat(MAX_KEY_BYTES + 1)]).unwrap();
        assert_eq!(parse_keys(&long).unwrap_err().status, 400);
        let max: Vec<String> = (0..BATCH_GET_MAX_KEYS).map(|i| i.to_string()).collect();
        assert_eq!(
            parse_keys(&serde_json::to_vec(&max).unwrap()).map(|k| k.len()),
            Ok(BATCH_GET_MAX_KEYS)
        );
        let over: Vec<String> = (0..=BATCH_GET_MAX_KEYS).map(|i| i.to_string()).collect();
        let e = parse_keys(&serde_json::to_vec(&over).unwrap()).unwrap_err();
        assert_eq!(e.status, 400, "{e:?}");
    }

    #[test]
    fn keys_are_grouped_so_each_owner_is_asked_once() {
        let keys: Vec<String> = (0..40).map(|i| format!("k{i}")).collect();
        // Owners by the id's first byte; none for the lowest quarter.
        let owner = |id: &Id| match id.0[0] {
            0..=63 => None,
            64..=159 => Some(peer(1)),
            _ => Some(peer(2)),
        };
        let p = plan(keys.clone(), owner);
        assert!(p.groups.len() <= 2);
        let ids: Vec<&str> = p.groups.iter().map(|(o, _)| o.addr.as_str()).collect();
        let mut unique = ids.clone();
        unique.dedup();
        assert_eq!(ids, unique, "one group per owner");
        for (o, ks) in &p.groups {
            for k in ks {
                assert_eq!(owner(&Id::hash(k.as_bytes())).as_ref(), Some(o), "{k}");
            }
        }
        for k in &p.unplaced {
            assert_eq!(owner(&Id::hash(k.as_bytes())), None, "{k}");
        }
        let total: usize = p.groups.iter().map(|(_, k)| k.len()).sum::<usize>() + p.unplaced.len();
        assert_eq!(total, keys.len(), "every key exactly once");
    }

    #[test]
    fn every_key_lands_in_exactly_one_part_of_the_answer() {
        let v = Version { ts: 3, node: 4 };
        let value = Arc::from(RawValue::from_string("[1]".into()).unwrap());
        let mut g = Gather::default();
        g.add("found".into(), Executed::at(KvOutcome::Value(value), v));
        g.add("z-gone".into(), Executed::bare(KvOutcome::NotFound));
        g.add("a-gone".into(), Executed::bare(KvOutcome::NotFound));
        g.add(
            "unsure".into(),
            Executed::bare(KvOutcome::Inconclusive {
                error: "try again".into(),
            }),
        );
        g.add(
            "cut-off".into(),
            Executed::bare(KvOutcome::Failed {
                status: 503,
                error: "isolated".into(),
            }),
        );
        let a = g.finish();
        assert_eq!(a.values["found"].get(), "[1]");
        assert_eq!(a.etags["found"], chord_proto::etag::format(v));
        assert_eq!(a.missing, vec!["a-gone", "z-gone"]);
        assert_eq!(a.errors["unsure"].status, 503);
        assert_eq!(a.errors["cut-off"].error, "isolated");
        let text = serde_json::to_string(&a).unwrap();
        assert!(
            text.starts_with(r#"{"values":{"found":[1]},"etags":{"found":""#),
            "{text}"
        );
        assert!(ask_again(&KvOutcome::Inconclusive {
            error: String::new()
        }));
        assert!(!ask_again(&KvOutcome::NotFound));
    }
}
