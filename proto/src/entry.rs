//! One stored key as it travels between nodes: its value (or tombstone) and
//! the version its owner assigned.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;
use std::sync::Arc;

/// A write's version: a hybrid logical clock reading, then the writer's tag as
/// tie-break. Ordered lexicographically.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Version {
    /// Hybrid logical time: milliseconds << 16 | logical counter.
    pub ts: u64,
    /// The assigning node's tag (first 8 bytes of its id).
    pub node: u64,
}

impl Version {
    /// The wall-clock milliseconds embedded in the version.
    pub fn millis(&self) -> u64 {
        self.ts >> 16
    }

    /// A version from its 32 hex digits (either case), as it travels.
    pub fn from_hex(s: &str) -> Option<Version> {
        let b = s.as_bytes();
        let half = |h: &[u8]| crate::hex::parse_u64(h);
        match (b.len() == 32).then(|| (half(&b[..16]), half(&b[16..]))) {
            Some((Some(ts), Some(node))) => Some(Version { ts, node }),
            _ => None,
        }
    }
}

/// Versions travel as 32 hex digits, which compare as strings like the versions do.
impl Serialize for Version {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut out = [0u8; 32];
        out[..16].copy_from_slice(&crate::hex::u64_digits(self.ts));
        out[16..].copy_from_slice(&crate::hex::u64_digits(self.node));
        s.serialize_str(crate::hex::as_str(&out))
    }
}

impl<'de> Deserialize<'de> for Version {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Version, D::Error> {
        crate::hex::deserialize_with(d, "version must be 32 hex digits", Version::from_hex)
    }
}

/// One stored key: its name, value (or tombstone) and version.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Entry {
    /// The key as the client gave it.
    pub key: String,
    /// The JSON value; `None` is a tombstone.
    pub value: Option<Arc<RawValue>>,
    /// The version its owner assigned.
    pub version: Version,
    /// When the value expires (wall clock, ms since the epoch; a `PUT` with
    /// a TTL): from then on it reads as absent everywhere, as a tombstone
    /// of its version would ([`Entry::as_of`]). Absent: never expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_ms: Option<u64>,
}

impl Entry {
    /// About what this entry costs on the wire: key, value and a fixed
    /// overhead for the version and the JSON around them.
    pub fn wire_bytes(&self) -> usize {
        self.key.len() + self.value.as_ref().map_or(0, |v| v.get().len()) + 64
    }
}

impl PartialEq for Entry {
    fn eq(&self, other: &Entry) -> bool {
        self.key == other.key
            && self.version == other.version
            && self.expires_ms == other.expires_ms
            && self.value.as_ref().map(|v| v.get()) == other.value.as_ref().map(|v| v.get())
    }
}

impl Entry {
    /// Whether this entry records a delete.
    pub fn is_tombstone(&self) -> bool {
        self.value.is_none()
    }

    /// Whether its value has expired at `now_ms` (wall clock).
    pub fn is_expired(&self, now_ms: u64) -> bool {
        self.expires_ms.is_some_and(|at| at <= now_ms)
    }

    /// Whether it holds a value that has not expired at `now_ms`.
    pub fn is_live(&self, now_ms: u64) -> bool {
        !self.is_tombstone() && !self.is_expired(now_ms)
    }

    /// The entry as it stands at `now_ms`: an expired value becomes a
    /// tombstone of the same version (keeping its expiry). A tombstone is
    /// what keeps an older copy elsewhere from coming back, so an expired
    /// key is stored, replicated and compared as one; and since the version
    /// stays, digests do not tell the two apart and repair does not resend.
    pub fn as_of(mut self, now_ms: u64) -> Entry {
        if self.is_expired(now_ms) {
            self.value = None;
        }
        self
    }

    /// Since when it has been dead, for purging tombstones after a grace
    /// period: a delete's version time, or an expired value's expiry.
    pub fn dead_since_ms(&self) -> u64 {
        self.version.millis().max(self.expires_ms.unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_that_is_not_32_hex_digits_is_an_error_not_a_panic() {
        // 32 bytes, but a multi-byte character across the halves' boundary.
        let across = format!("\"{}é{}\"", "0".repeat(15), "0".repeat(15));
        for bad in [
            across.as_str(),
            "\"+000000000000001000000000000000f\"",
            "\"0000000000000001\"",
            "\"000000000000000100000000000000zz\"",
        ] {
            let err = serde_json::from_str::<Version>(bad).unwrap_err();
            assert!(err.to_string().contains("32 hex digits"), "{bad}: {err}");
        }
    }

    #[test]
    fn version_text_round_trip_orders_like_versions() {
        let v1 = Version { ts: 1, node: 2 };
        let v2 = Version { ts: 256, node: 0 };
        let s1 = serde_json::to_string(&v1).unwrap();
        let s2 = serde_json::to_string(&v2).unwrap();
        assert!(s1 < s2);
        assert_eq!(serde_json::from_str::<Version>(&s1).unwrap(), v1);
        assert!(serde_json::from_str::<Version>("\"zz\"").is_err());
    }

    #[test]
    fn an_expired_value_stands_as_a_tombstone_of_its_version() {
        let v = Version {
            ts: 10 << 16,
            node: 1,
        };
        let e = Entry {
            key: "k".into(),
            value: Some(Arc::from(RawValue::from_string("1".into()).unwrap())),
            version: v,
            expires_ms: Some(500),
        };
        assert!(e.is_live(499) && !e.is_expired(499));
        assert!(e.is_expired(500) && !e.is_live(500));
        assert_eq!(e.clone().as_of(499), e);
        let dead = e.clone().as_of(500);
        assert!(dead.is_tombstone());
        assert_eq!((dead.version, dead.expires_ms), (v, Some(500)));
        // Purged a grace period after it expired, not after it was written.
        assert_eq!(dead.dead_since_ms(), 500);
        let forever = Entry {
            expires_ms: None,
            ..e.clone()
        };
        assert!(forever.is_live(u64::MAX));
        assert_eq!(forever.dead_since_ms(), 10);
        // On the wire the field is optional both ways.
        let text = serde_json::to_string(&forever).unwrap();
        assert!(!text.contains("expires_ms"), "{text}");
        let old: Entry = serde_json::from_str(&text).unwrap();
        assert_eq!(old.expires_ms, None);
        let back: Entry = serde_json::from_str(&serde_json::to_string(&e).unwrap()).unwrap();
        assert_eq!(back.expires_ms, Some(500));
    }
}
