//! One stored key as it travels between nodes: its value (or tombstone) and
//! the version its owner assigned.

use serde::de::Error as _;
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
}

/// Versions travel as 32 hex digits, which compare as strings like the versions do.
impl Serialize for Version {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{:016x}{:016x}", self.ts, self.node))
    }
}

impl<'de> Deserialize<'de> for Version {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Version, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        if s.len() != 32 || !s.is_ascii() {
            return Err(D::Error::custom("version must be 32 hex digits"));
        }
        let ts = u64::from_str_radix(&s[..16], 16).map_err(D::Error::custom)?;
        let node = u64::from_str_radix(&s[16..], 16).map_err(D::Error::custom)?;
        Ok(Version { ts, node })
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
            && self.value.as_ref().map(|v| v.get()) == other.value.as_ref().map(|v| v.get())
    }
}

impl Entry {
    /// Whether this entry records a delete.
    pub fn is_tombstone(&self) -> bool {
        self.value.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
