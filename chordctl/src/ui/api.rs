//! The page's requests and answers, checked and built without I/O:
//! the get/put/delete form ([`KvRequest::parse`]), the answer with its
//! path named ([`KvResult`]), and the trace the picture draws, which the
//! page sends back as a query ([`trace_from_query`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use chord_proto::id::Id;
use chord_proto::trace::{parse_path, Tag, TraceHop};

use super::snapshot::Snapshot;
use crate::cli::validate_key;
use crate::ringview::Trace;

/// A key operation asked for by the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KvOp {
    /// Read the key.
    Get,
    /// Store this JSON text under the key.
    Put(String),
    /// Delete the key.
    Delete,
}

/// A checked request of the form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KvRequest {
    /// What to do.
    pub op: KvOp,
    /// The key (valid for the nodes).
    pub key: String,
}

/// The form as the page sends it: `{op, key, value}`, `value` being the
/// JSON text to store (a string, as typed).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KvForm {
    op: String,
    key: Option<String>,
    value: Option<String>,
}

impl KvRequest {
    /// Checks a form body; the error says what is wrong, for a 400.
    pub fn parse(body: &[u8]) -> Result<KvRequest, String> {
        let form: KvForm = serde_json::from_slice(body)
            .map_err(|e| format!("the request is not a JSON {{op, key, value}} object: {e}"))?;
        let key = form.key.ok_or("the key is missing")?;
        validate_key(&key).map_err(|e| e.to_string())?;
        let op = match (form.op.as_str(), form.value) {
            ("get", _) => KvOp::Get,
            ("delete", _) => KvOp::Delete,
            ("put", None) => return Err("a put needs a value".into()),
            ("put", Some(value)) => {
                serde_json::from_str::<serde::de::IgnoredAny>(&value).map_err(|e| {
                    format!("the value is not valid JSON ({e}); write strings as \"text\"")
                })?;
                KvOp::Put(value)
            }
            (other, _) => return Err(format!("unknown op {other:?}: use get, put or delete")),
        };
        Ok(KvRequest { op, key })
    }

    /// The operation's name.
    pub fn op_name(&self) -> &'static str {
        match self.op {
            KvOp::Get => "get",
            KvOp::Put(_) => "put",
            KvOp::Delete => "delete",
        }
    }
}

/// A node's answer to a traced request, as read off the wire.
#[derive(Debug, Clone, Default)]
pub struct NodeAnswer {
    /// HTTP status.
    pub status: u16,
    /// Body text.
    pub body: String,
    /// `X-Chord-Owner`.
    pub owner: Option<String>,
    /// `X-Chord-Hops`.
    pub hops: Option<u32>,
    /// `X-Chord-Path`, when the node sent one.
    pub path: Option<String>,
}

/// One hop of the path, named for the page.
#[derive(Debug, Serialize, PartialEq)]
pub struct HopDoc {
    /// Advertised address.
    pub addr: String,
    /// Node name, when it is one of the cluster's.
    pub name: Option<String>,
    /// Why it is on the path (`entry`, `finger 7`, `owner`, ...).
    pub tags: Vec<String>,
}

/// The route to draw, as ids: the page sends it back with each picture
/// request (see [`trace_from_query`]), so the server keeps no state.
#[derive(Debug, Serialize, PartialEq)]
pub struct TraceDoc {
    /// The key.
    pub key: String,
    /// Ids of the nodes the request visited, entry first, in hex.
    pub path: Vec<String>,
    /// The owner's id in hex.
    pub owner: String,
}

/// The answer to the page's request.
#[derive(Debug, Serialize)]
pub struct KvResult {
    /// `get`, `put` or `delete`.
    pub op: &'static str,
    /// The key.
    pub key: String,
    /// The node the request went to.
    pub via: String,
    /// The node's HTTP status.
    pub status: u16,
    /// The node's body (the value for a get).
    pub body: String,
    /// The owner's address, from `X-Chord-Owner`.
    pub owner: Option<String>,
    /// The owner's name.
    pub owner_name: Option<String>,
    /// Forwards the request took, from `X-Chord-Hops`.
    pub hops: Option<u32>,
    /// The path, when the node reported one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<Vec<HopDoc>>,
    /// Why a reported path could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_error: Option<String>,
    /// The route to draw, when there is a path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace: Option<TraceDoc>,
}

impl KvResult {
    /// The page's answer for `req`, sent through `via`, answered with
    /// `answer`; addresses are named from `snap`.
    pub fn new(req: &KvRequest, via: &str, answer: NodeAnswer, snap: &Snapshot) -> KvResult {
        let parsed = answer.path.as_deref().map(parse_path);
        let (path, path_error, trace) = match parsed {
            None => (None, None, None),
            Some(Err(e)) => (None, Some(e.to_string()), None),
            Some(Ok(hops)) => {
                let docs = hops
                    .iter()
                    .map(|h| HopDoc {
                        addr: h.addr.clone(),
                        name: snap.name_of_addr(&h.addr),
                        tags: h.tags.iter().map(Tag::label).collect(),
                    })
                    .collect();
                (Some(docs), None, route(&req.key, &hops, snap))
            }
        };
        KvResult {
            op: req.op_name(),
            key: req.key.clone(),
            via: via.to_string(),
            status: answer.status,
            body: answer.body,
            owner_name: answer.owner.as_deref().and_then(|a| snap.name_of_addr(a)),
            owner: answer.owner,
            hops: answer.hops,
            path,
            path_error,
            trace,
        }
    }
}

/// The route of a path: every hop but the direct reply (the picture draws
/// the reply itself, from the owner back to the entry), and the owner: the
/// hop tagged `owner`, else the last one.
fn route(key: &str, hops: &[TraceHop], snap: &Snapshot) -> Option<TraceDoc> {
    let forward: Vec<&TraceHop> = hops.iter().filter(|h| !h.has(&Tag::DirectReply)).collect();
    let owner = forward
        .iter()
        .find(|h| h.has(&Tag::Owner))
        .or(forward.last())?;
    Some(TraceDoc {
        key: key.to_string(),
        path: forward
            .iter()
            .map(|h| snap.id_of_addr(&h.addr).to_hex())
            .collect(),
        owner: snap.id_of_addr(&owner.addr).to_hex(),
    })
}

/// The trace asked for by a picture request's query (`key`, `path` as
/// comma-separated hex ids, `owner`), if any; the error says what is wrong.
pub fn trace_from_query(query: &BTreeMap<String, String>) -> Result<Option<Trace>, String> {
    let (Some(path), Some(owner)) = (query.get("path"), query.get("owner")) else {
        return Ok(None);
    };
    let id = |hex: &str| Id::from_hex(hex).ok_or_else(|| format!("{hex:?} is not a ring id"));
    let path = path
        .split(',')
        .filter(|h| !h.is_empty())
        .map(id)
        .collect::<Result<Vec<Id>, String>>()?;
    if path.is_empty() || path.len() > chord_proto::trace::MAX_PATH {
        return Err(format!(
            "a path has 1 to {} ids",
            chord_proto::trace::MAX_PATH
        ));
    }
    Ok(Some(Trace {
        key: query.get("key").cloned().unwrap_or_default(),
        path,
        owner: id(owner)?,
    }))
}

#[cfg(test)]
mod tests {
    use super::super::snapshot::tests::snapshot;
    use super::*;

    fn parse(json: &str) -> Result<KvRequest, String> {
        KvRequest::parse(json.as_bytes())
    }

    #[test]
    fn the_form_is_checked_before_anything_is_sent() {
        assert_eq!(
            parse(r#"{"op":"put","key":"user:1","value":"{\"a\":1}"}"#),
            Ok(KvRequest {
                op: KvOp::Put(r#"{"a":1}"#.into()),
                key: "user:1".into()
            })
        );
        assert_eq!(parse(r#"{"op":"get","key":"k"}"#).unwrap().op, KvOp::Get);
        assert_eq!(
            parse(r#"{"op":"delete","key":"k","value":null}"#)
                .unwrap()
                .op,
            KvOp::Delete
        );
        for (bad, why) in [
            (r#"{"op":"get"}"#, "missing"),
            (r#"{"op":"get","key":""}"#, "empty"),
            (r#"{"op":"get","key":".."}"#, "'.'"),
            (r#"{"op":"put","key":"k"}"#, "needs a value"),
            (
                r#"{"op":"put","key":"k","value":"{name: Ada}"}"#,
                "not valid JSON",
            ),
            (r#"{"op":"put","key":"k","value":{"a":1}}"#, "not a JSON"),
            (r#"{"op":"move","key":"k"}"#, "unknown op"),
            (r#"{"op":"get","key":"k","extra":1}"#, "not a JSON"),
            ("not json", "not a JSON"),
        ] {
            let err = parse(bad).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }

    fn answer(path: Option<&str>) -> NodeAnswer {
        NodeAnswer {
            status: 200,
            body: "{\"a\":1}".into(),
            owner: Some("127.0.0.1:7003".into()),
            hops: Some(1),
            path: path.map(str::to_string),
        }
    }

    #[test]
    fn a_path_is_named_and_becomes_a_route_without_the_reply() {
        let snap = snapshot(4, &[]);
        let req = parse(r#"{"op":"get","key":"k"}"#).unwrap();
        let path = "127.0.0.1:7001 entry, 127.0.0.1:7002 finger-3, \
                    127.0.0.1:7003 successor-list owner, 127.0.0.1:7001 direct-reply";
        let res = KvResult::new(&req, "n1", answer(Some(path)), &snap);
        assert_eq!(res.owner_name.as_deref(), Some("n3"));
        let hops = res.path.unwrap();
        assert_eq!(hops.len(), 4);
        assert_eq!(hops[1].name.as_deref(), Some("n2"));
        assert_eq!(hops[1].tags, ["finger 3"]);
        let trace = res.trace.unwrap();
        let hex = |a: &str| Id::hash(a.as_bytes()).to_hex();
        assert_eq!(
            trace.path,
            [
                hex("127.0.0.1:7001"),
                hex("127.0.0.1:7002"),
                hex("127.0.0.1:7003")
            ]
        );
        assert_eq!(trace.owner, hex("127.0.0.1:7003"));
    }

    #[test]
    fn no_path_means_no_trace_and_a_bad_one_is_reported() {
        let snap = snapshot(2, &[]);
        let req = parse(r#"{"op":"delete","key":"k"}"#).unwrap();
        let res = KvResult::new(&req, "n1", answer(None), &snap);
        assert!(res.path.is_none() && res.trace.is_none() && res.path_error.is_none());
        let json = serde_json::to_value(&res).unwrap();
        assert!(json.get("path").is_none(), "absent, not null: {json}");
        let res = KvResult::new(&req, "n1", answer(Some("127.0.0.1:7001")), &snap);
        assert!(res.path_error.unwrap().contains("no tag"));
    }

    #[test]
    fn the_trace_query_round_trips_and_bad_ids_are_refused() {
        let q = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        assert_eq!(trace_from_query(&q(&[])), Ok(None));
        let (a, b) = (Id::hash(b"a"), Id::hash(b"b"));
        let path = format!("{},{}", a.to_hex(), b.to_hex());
        let t = trace_from_query(&q(&[("key", "k"), ("path", &path), ("owner", &b.to_hex())]))
            .unwrap()
            .unwrap();
        assert_eq!((t.key.as_str(), t.path, t.owner), ("k", vec![a, b], b));
        assert!(trace_from_query(&q(&[("path", "zz"), ("owner", &b.to_hex())])).is_err());
        assert!(trace_from_query(&q(&[("path", ""), ("owner", &b.to_hex())])).is_err());
        assert!(trace_from_query(&q(&[("path", &path), ("owner", "x")])).is_err());
    }
}
