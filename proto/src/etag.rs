//! Entity tags of `/kv` answers: a key's [`Version`] as an HTTP `ETag`.
//!
//! The format is `"<ts>-<node>"`: the version's hybrid-clock reading and
//! its writer's tag, each as 16 lowercase hex digits, in double quotes
//! (`"0001928a5f3c0000-5d1e0c7a9b3f4e21"`). Clients must treat it as
//! opaque: compare it, send it back in `If-Match`, never parse it. Every
//! write gets a new version, so two answers with the same ETag carry the
//! same stored value. Only strong tags exist; a weak one (`W/"…"`) is
//! refused where a tag is parsed.

use crate::entry::Version;

/// The `ETag` text of `v`, quotes included.
pub fn format(v: Version) -> String {
    format!("\"{:016x}-{:016x}\"", v.ts, v.node)
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

/// Reads one tag as [`format`] writes it (surrounding spaces allowed).
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
    let hex16 = |s: &str| {
        (s.len() == 16 && s.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| u64::from_str_radix(s, 16).ok())
            .flatten()
    };
    match (hex16(ts), hex16(node)) {
        (Some(ts), Some(node)) => Ok(Version { ts, node }),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
