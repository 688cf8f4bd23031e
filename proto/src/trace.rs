//! Request traces: the path a request took, as `X-Chord-Path` spells it.
//!
//! A client that sends `X-Chord-Trace: 1` with a `/kv` request gets back
//! `X-Chord-Path`: every node the request visited, in order, each with why
//! it was chosen, ending with the owner and, when the owner is not the entry
//! node, the owner's direct reply to the entry:
//!
//! ```text
//! X-Chord-Path: 10.0.0.6:7000 entry, 10.0.0.2:7000 finger-7, 10.0.0.12:7000 successor-list owner, 10.0.0.6:7000 direct-reply
//! ```
//!
//! Hops are separated by `,` and optional blanks; within a hop the address
//! (`host:port`, no blanks or commas) comes first, then one or more tags.
//! A path is at most [`MAX_PATH`] hops long (a longer one is cut, with the
//! tag [`Tag::Truncated`] on the last hop kept), so a request that wanders
//! cannot grow its header without bound. Unknown tags parse as
//! [`Tag::Other`], so an older client reads a newer node's path.

use std::fmt;

/// Request header asking for a trace (value `1`).
pub const TRACE_HEADER: &str = "x-chord-trace";
/// Response header carrying the path.
pub const PATH_HEADER: &str = "x-chord-path";
/// Longest address a hop may carry (a DNS name and a port fit).
pub const MAX_ADDR: usize = 261;
/// Most tags a hop may carry (an honest node uses at most four: a reason,
/// `retry`, `owner`, `truncated`); the rest is room for newer tags.
pub const MAX_TAGS: usize = 8;
/// Most hops a path records (the entry, up to `--max-hops` forwards, the
/// owner and the reply fit well within it).
pub const MAX_PATH: usize = 40;

/// Why a node is on the path, or what it did there.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Tag {
    /// The node the client asked (first on the path).
    Entry,
    /// Chosen from the sender's location cache.
    Cache,
    /// Chosen as the sender's finger `i` (the successor of `sender + 2^i`).
    Finger(u8),
    /// Found as the key's owner in the sender's successor list (the
    /// successor-list shortcut).
    SuccessorList,
    /// The closest preceding node among the sender's successors (no finger
    /// was closer).
    Successor,
    /// Asked after the previous candidate (or the entry's first attempt)
    /// timed out or gave up.
    Retry,
    /// Sent back to the sender's predecessor: a node that joined there owns
    /// the key now (also a node with no successor left, whose predecessor's
    /// view reaches further).
    Hint,
    /// The node that performed the operation.
    Owner,
    /// The owner's answer straight to the entry node (last on the path).
    DirectReply,
    /// The path was cut at [`MAX_PATH`] hops.
    Truncated,
    /// A tag this version does not know.
    Other(String),
}

impl Tag {
    fn parse(s: &str) -> Tag {
        match s {
            "entry" => Tag::Entry,
            "cache" => Tag::Cache,
            "successor-list" => Tag::SuccessorList,
            "successor" => Tag::Successor,
            "retry" => Tag::Retry,
            "hint" => Tag::Hint,
            "owner" => Tag::Owner,
            "direct-reply" => Tag::DirectReply,
            "truncated" => Tag::Truncated,
            _ => match s.strip_prefix("finger-").and_then(|i| i.parse().ok()) {
                Some(i) => Tag::Finger(i),
                None => Tag::Other(s.to_string()),
            },
        }
    }

    /// How a person reads the tag (`finger 7`, `direct reply`).
    pub fn label(&self) -> String {
        match self {
            Tag::Finger(i) => format!("finger {i}"),
            Tag::SuccessorList => "successor list".into(),
            Tag::DirectReply => "direct reply".into(),
            other => other.to_string(),
        }
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tag::Entry => f.write_str("entry"),
            Tag::Cache => f.write_str("cache"),
            Tag::Finger(i) => write!(f, "finger-{i}"),
            Tag::SuccessorList => f.write_str("successor-list"),
            Tag::Successor => f.write_str("successor"),
            Tag::Retry => f.write_str("retry"),
            Tag::Hint => f.write_str("hint"),
            Tag::Owner => f.write_str("owner"),
            Tag::DirectReply => f.write_str("direct-reply"),
            Tag::Truncated => f.write_str("truncated"),
            Tag::Other(s) => f.write_str(s),
        }
    }
}

/// One node on the path and why it is there.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct TraceHop {
    /// The node's advertised `host:port`.
    pub addr: String,
    /// Why it was chosen, and what it did (at least one tag).
    pub tags: Vec<Tag>,
}

impl TraceHop {
    /// A hop at `addr` with `tags`.
    pub fn new(addr: impl Into<String>, tags: Vec<Tag>) -> TraceHop {
        TraceHop {
            addr: addr.into(),
            tags,
        }
    }

    /// Whether the hop carries `tag`.
    pub fn has(&self, tag: &Tag) -> bool {
        self.tags.contains(tag)
    }
}

/// The `X-Chord-Path` value for `path` (cut at [`MAX_PATH`] hops).
pub fn format_path(path: &[TraceHop]) -> String {
    let mut out = String::new();
    for (i, hop) in bounded(path).iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(&hop.addr);
        for t in &hop.tags {
            out.push(' ');
            out.push_str(&t.to_string());
        }
    }
    out
}

/// `path` cut to [`MAX_PATH`] hops: the first `MAX_PATH − 1` and the last,
/// tagged [`Tag::Truncated`], so the owner and the reply stay visible.
pub fn bounded(path: &[TraceHop]) -> Vec<TraceHop> {
    if path.len() <= MAX_PATH {
        return path.to_vec();
    }
    let mut out = path[..MAX_PATH - 1].to_vec();
    let mut last = path[path.len() - 1].clone();
    last.tags.push(Tag::Truncated);
    out.push(last);
    out
}

impl fmt::Display for TraceHop {
    /// The hop as it appears in `X-Chord-Path`: the address, then its tags.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.addr)?;
        for t in &self.tags {
            write!(f, " {t}")?;
        }
        Ok(())
    }
}

/// On the wire (`RouteMsg::trace`, `ReplyMsg::trace`) a hop is its header
/// text, `"10.0.0.2:7000 finger-7"`: one format to read, and a hop a newer
/// node tags differently still parses (as [`Tag::Other`]).
impl serde::Serialize for TraceHop {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for TraceHop {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<TraceHop, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        match parse_path(&text)
            .map_err(serde::de::Error::custom)?
            .as_mut_slice()
        {
            [hop] => Ok(std::mem::take(hop)),
            _ => Err(serde::de::Error::custom(format!("not one hop: {text:?}"))),
        }
    }
}

/// Appends `hop` to a path kept within [`MAX_PATH`] hops: once full, the
/// new hop replaces the last one, tagged [`Tag::Truncated`] (as
/// [`bounded`] cuts), so a path that keeps growing costs no more memory.
pub fn push_bounded(path: &mut Vec<TraceHop>, mut hop: TraceHop) {
    if path.len() >= MAX_PATH {
        path.truncate(MAX_PATH - 1);
        if !hop.has(&Tag::Truncated) {
            hop.tags.push(Tag::Truncated);
        }
    }
    path.push(hop);
}

/// Why an `X-Chord-Path` value could not be read.
#[derive(Debug, PartialEq, Eq)]
pub struct PathError(pub String);

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bad X-Chord-Path: {}", self.0)
    }
}

impl std::error::Error for PathError {}

/// Reads an `X-Chord-Path` value. Every hop needs an address and a tag; at
/// most [`MAX_PATH`] hops are accepted.
pub fn parse_path(value: &str) -> Result<Vec<TraceHop>, PathError> {
    let mut path = Vec::new();
    for part in value.split(',') {
        let mut words = part.split_whitespace();
        let Some(addr) = words.next() else {
            return Err(PathError(format!("empty hop in {value:?}")));
        };
        if addr.len() > MAX_ADDR {
            return Err(PathError(format!(
                "an address longer than {MAX_ADDR} bytes"
            )));
        }
        let tags: Vec<Tag> = words.take(MAX_TAGS + 1).map(Tag::parse).collect();
        if tags.is_empty() {
            return Err(PathError(format!("hop {addr:?} has no tag")));
        }
        if tags.len() > MAX_TAGS {
            return Err(PathError(format!(
                "hop {addr:?} has more than {MAX_TAGS} tags"
            )));
        }
        path.push(TraceHop::new(addr, tags));
        if path.len() > MAX_PATH {
            return Err(PathError(format!("more than {MAX_PATH} hops")));
        }
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> Vec<TraceHop> {
        vec![
            TraceHop::new("10.0.0.6:7000", vec![Tag::Entry]),
            TraceHop::new("10.0.0.2:7000", vec![Tag::Finger(7)]),
            TraceHop::new("10.0.0.12:7000", vec![Tag::SuccessorList, Tag::Owner]),
            TraceHop::new("10.0.0.6:7000", vec![Tag::DirectReply]),
        ]
    }

    #[test]
    fn a_path_round_trips_through_its_header_text() {
        let text = format_path(&example());
        assert_eq!(
            text,
            "10.0.0.6:7000 entry, 10.0.0.2:7000 finger-7, \
             10.0.0.12:7000 successor-list owner, 10.0.0.6:7000 direct-reply"
        );
        assert_eq!(parse_path(&text).unwrap(), example());
    }

    #[test]
    fn unknown_tags_are_kept_and_bad_values_refused() {
        let p = parse_path("a:1 entry owner,b:2 teleport").unwrap();
        assert_eq!(p[1].tags, vec![Tag::Other("teleport".into())]);
        assert!(parse_path("").is_err());
        assert!(parse_path("a:1 entry, ,b:2 owner").is_err());
        assert!(parse_path("a:1").is_err());
        assert_eq!(Tag::parse("finger-x"), Tag::Other("finger-x".into()));
        assert_eq!(Tag::Finger(159).label(), "finger 159");
    }

    #[test]
    fn oversized_hops_are_refused() {
        let long_addr = format!("{}:1 entry", "a".repeat(MAX_ADDR));
        assert!(parse_path(&long_addr).is_err());
        let many_tags = format!("a:1{}", " retry".repeat(MAX_TAGS + 1));
        assert!(parse_path(&many_tags).is_err());
        let just_enough = format!("a:1{}", " retry".repeat(MAX_TAGS));
        assert_eq!(parse_path(&just_enough).unwrap()[0].tags.len(), MAX_TAGS);
    }

    #[test]
    fn a_long_path_is_cut_keeping_its_end() {
        let mut long: Vec<TraceHop> = (0..100)
            .map(|i| TraceHop::new(format!("n{i}:1"), vec![Tag::Successor]))
            .collect();
        long.last_mut().unwrap().tags.push(Tag::Owner);
        let cut = bounded(&long);
        assert_eq!(cut.len(), MAX_PATH);
        assert_eq!(cut[MAX_PATH - 1].addr, "n99:1");
        assert!(cut[MAX_PATH - 1].has(&Tag::Owner));
        assert!(cut[MAX_PATH - 1].has(&Tag::Truncated));
        let parsed = parse_path(&format_path(&long)).unwrap();
        assert_eq!(parsed, cut);
        let too_long = vec!["a:1 entry"; MAX_PATH + 1].join(",");
        assert!(parse_path(&too_long).is_err());
    }
    #[test]
    fn a_hop_travels_as_its_header_text() {
        let hop = TraceHop::new("10.0.0.12:7000", vec![Tag::SuccessorList, Tag::Owner]);
        let json = serde_json::to_string(&hop).unwrap();
        assert_eq!(json, r#""10.0.0.12:7000 successor-list owner""#);
        assert_eq!(serde_json::from_str::<TraceHop>(&json).unwrap(), hop);
        assert_eq!(hop.to_string(), format_path(std::slice::from_ref(&hop)));
        assert!(serde_json::from_str::<TraceHop>(r#""a:1""#).is_err());
        assert!(serde_json::from_str::<TraceHop>(r#""a:1 entry, b:2 owner""#).is_err());
    }

    #[test]
    fn pushing_onto_a_full_path_cuts_it_like_bounded() {
        let hop = |i: usize| TraceHop::new(format!("n{i}:1"), vec![Tag::Successor]);
        let all: Vec<TraceHop> = (0..MAX_PATH + 5).map(hop).collect();
        let mut path = Vec::new();
        for h in &all {
            push_bounded(&mut path, h.clone());
        }
        assert_eq!(path, bounded(&all));
        assert_eq!(
            path[MAX_PATH - 1].tags,
            vec![Tag::Successor, Tag::Truncated]
        );
    }
}
