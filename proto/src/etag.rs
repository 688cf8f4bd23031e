//! Entity tags of `/kv` answers: a key's [`Version`] as an HTTP `ETag`.
//!
//! The format is `"<ts>-<node>"`: the version's hybrid-clock reading and
//! its writer's tag, each as 16 lowercase hex digits, in double quotes
//! (`"0001928a5f3c0000-5d1e0c7a9b3f4e21"`). Clients must treat it as
//! opaque: compare it, send it back in `If-Match`, never parse it. Every
//! write gets a new version, so two answers with the same ETag carry the
//! same stored value. Only strong tags exist; a weak one (`W/"…"`) is
//! refused where a tag is parsed.
//!
//! [`Condition`] is a write's precondition (`If-Match`, `If-None-Match: *`)
//! as it travels to the key's owner, which decides it ([`Condition::holds`]).

use crate::entry::Version;
use serde::{Deserialize, Serialize};

/// The `ETag` text of `v`, quotes included: `"<16 hex>-<16 hex>"`.
pub fn format(v: Version) -> String {
    // By hand, not `format!`: every `/kv` answer carries one, and
    // `core::fmt` cost 2.3 k instructions of a 0-hop GET's 26 k (callgrind).
    let mut out = [0u8; 35];
    out[0] = b'"';
    out[17] = b'-';
    out[34] = b'"';
    out[1..17].copy_from_slice(&crate::hex::u64_digits(v.ts));
    out[18..34].copy_from_slice(&crate::hex::u64_digits(v.node));
    crate::hex::as_str(&out).to_string()
}

/// Why a tag could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TagError(pub String);

impl std::fmt::Display for TagError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TagError {}

/// Reads one tag as [`format`](fn@format) writes it (surrounding spaces allowed).
pub fn parse(text: &str) -> Result<Version, TagError> {
    let t = text.trim();
    if t.starts_with("W/") {
        return Err(TagError(format!(
            "{t:?} is a weak ETag; only this node's strong ETags are accepted"
        )));
    }
    let bad = || {
        TagError(format!(
            "{t:?} is not an ETag of this store (\"<16 hex>-<16 hex>\", quotes included)"
        ))
    };
    let inner = t
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .ok_or_else(bad)?;
    let (ts, node) = inner.split_once('-').ok_or_else(bad)?;
    let hex16 = |s: &str| crate::hex::parse_u64(s.as_bytes());
    match (hex16(ts), hex16(node)) {
        (Some(ts), Some(node)) => Ok(Version { ts, node }),
        _ => Err(bad()),
    }
}

/// A write's precondition, decided by the key's owner against the live
/// version it holds (none for an absent, deleted or expired key).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Condition {
    /// `If-Match: <tag>[, <tag>…]`: the live version is one of these.
    Matches(Vec<Version>),
    /// `If-Match: *`: the key exists.
    Exists,
    /// `If-None-Match: *`: the key does not exist (create only).
    Absent,
}

impl Condition {
    /// Whether the condition holds when the key's live version is `live`.
    pub fn holds(&self, live: Option<Version>) -> bool {
        match (self, live) {
            (Condition::Matches(tags), Some(v)) => tags.contains(&v),
            (Condition::Matches(_), None) => false,
            (Condition::Exists, live) => live.is_some(),
            (Condition::Absent, live) => live.is_none(),
        }
    }
}

/// Most tags one `If-Match` may list: a bound on the routed message.
pub const MAX_TAGS: usize = 16;

/// The precondition of a write from its `If-Match` and `If-None-Match`
/// headers (`None`: unconditional). `delete` says the write is a DELETE,
/// which cannot be create-only. Refused: a malformed or weak tag, more than
/// [`MAX_TAGS`] tags, `If-None-Match` with anything but `*` (only create-only
/// writes are supported) or on a DELETE. Both headers at once must both
/// hold (RFC 9110 evaluates If-Match, then If-None-Match); as the key would
/// have to exist and not exist, that is `Matches([])`, which never holds.
pub fn condition(
    if_match: Option<&str>,
    if_none_match: Option<&str>,
    delete: bool,
) -> Result<Option<Condition>, TagError> {
    match (if_match, if_none_match) {
        (None, None) => Ok(None),
        (Some(m), Some(n)) => {
            // Each is checked on its own, so a malformed one is still a 400.
            condition(Some(m), None, delete)?;
            condition(None, Some(n), delete)?;
            Ok(Some(Condition::Matches(Vec::new())))
        }
        (None, Some(_)) if delete => Err(TagError(
            "If-None-Match is for PUT (create only); a DELETE takes If-Match".to_string(),
        )),
        (None, Some(t)) if t.trim() == "*" => Ok(Some(Condition::Absent)),
        (None, Some(t)) => Err(TagError(format!(
            "If-None-Match {t:?}: only `*` (create only) is supported"
        ))),
        (Some(t), None) if t.trim() == "*" => Ok(Some(Condition::Exists)),
        (Some(t), None) => {
            let tags = t.split(',').map(parse).collect::<Result<Vec<_>, _>>()?;
            if tags.len() > MAX_TAGS {
                return Err(TagError(format!(
                    "If-Match lists {} tags; at most {MAX_TAGS}",
                    tags.len()
                )));
            }
            Ok(Some(Condition::Matches(tags)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tag_is_both_halves_in_sixteen_hex_digits() {
        let v = Version {
            ts: 0x0123_4567_89ab_cdef,
            node: 0xf,
        };
        assert_eq!(format(v), "\"0123456789abcdef-000000000000000f\"");
        let max = Version {
            ts: u64::MAX,
            node: 0,
        };
        assert_eq!(format(max), format!("\"{:016x}-{:016x}\"", u64::MAX, 0));
    }

    #[test]
    fn conditions_hold_on_the_live_version_only() {
        let (a, b) = (Version { ts: 1, node: 1 }, Version { ts: 2, node: 1 });
        let m = Condition::Matches(vec![a]);
        assert!(m.holds(Some(a)));
        assert!(!m.holds(Some(b)));
        assert!(!m.holds(None), "a tag never matches an absent key");
        assert!(Condition::Matches(vec![b, a]).holds(Some(a)));
        assert!(Condition::Exists.holds(Some(b)) && !Condition::Exists.holds(None));
        assert!(Condition::Absent.holds(None) && !Condition::Absent.holds(Some(a)));
    }

    #[test]
    fn condition_headers_parse_or_are_refused() {
        let v = Version { ts: 5, node: 6 };
        let t = format(v);
        assert_eq!(condition(None, None, false), Ok(None));
        assert_eq!(
            condition(Some(&t), None, false),
            Ok(Some(Condition::Matches(vec![v])))
        );
        assert_eq!(
            condition(Some(&format!("{t}, {t}")), None, true),
            Ok(Some(Condition::Matches(vec![v, v])))
        );
        assert_eq!(
            condition(Some(" * "), None, true),
            Ok(Some(Condition::Exists))
        );
        assert_eq!(
            condition(None, Some("*"), false),
            Ok(Some(Condition::Absent))
        );
        // Both at once never hold together.
        let both = condition(Some(&t), Some("*"), false).unwrap().unwrap();
        assert_eq!(both, Condition::Matches(vec![]));
        assert!(!both.holds(Some(v)) && !both.holds(None));
        for (m, n, delete) in [
            (Some("nope"), None, false),
            (Some(""), None, false),
            (Some("*, \"x\""), None, false),
            (Some("nope"), Some("*"), false),
            (Some(&*t), Some(&*t), false),
            (None, Some(&*t), false),
            (None, Some("*"), true),
        ] {
            assert!(condition(m, n, delete).is_err(), "{m:?} {n:?} {delete}");
        }
        let many = vec![t.as_str(); MAX_TAGS + 1].join(",");
        assert!(condition(Some(&many), None, false).is_err());
        // On the wire a condition is small and versions keep their text form.
        let wire = serde_json::to_string(&Condition::Matches(vec![v])).unwrap();
        assert_eq!(wire, r#"{"Matches":["00000000000000050000000000000006"]}"#);
        assert_eq!(
            serde_json::from_str::<Condition>(&wire).unwrap(),
            Condition::Matches(vec![v])
        );
    }

    #[test]
    fn a_tag_round_trips_and_is_quoted() {
        let v = Version {
            ts: 0x0001_928a_5f3c_0001,
            node: u64::MAX,
        };
        let t = format(v);
        assert_eq!(t, "\"0001928a5f3c0001-ffffffffffffffff\"");
        assert_eq!(parse(&t), Ok(v));
        assert_eq!(parse(&format!("  {t} ")), Ok(v));
        // Upper-case hex is the same tag.
        assert_eq!(parse(&t.to_uppercase()), Ok(v));
        assert_eq!(parse(&format(Version::default())), Ok(Version::default()));
    }

    #[test]
    fn malformed_and_weak_tags_are_refused() {
        for bad in [
            "",
            "*",
            "0001928a5f3c0001-ffffffffffffffff",
            "\"0001928a5f3c0001-ffffffffffffffff",
            "\"0001928a5f3c0001ffffffffffffffff\"",
            "\"1-2\"",
            "\"0001928a5f3c000g-ffffffffffffffff\"",
            "\"+001928a5f3c0001-ffffffffffffffff\"",
            "\"0001928a5f3c0001-ffffffffffffffff-0\"",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} was accepted");
        }
        let weak = parse("W/\"0001928a5f3c0001-ffffffffffffffff\"").unwrap_err();
        assert!(weak.0.contains("weak"), "{weak}");
    }
}
