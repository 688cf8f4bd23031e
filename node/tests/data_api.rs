//! The data API on a real ring: ETags and HEAD, conditional writes, TTLs
//! and multi-get, through every node.

mod common;

use common::{encode, Cluster, FAST};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// One `/kv` answer: status, `ETag`, and the body (raw text).
#[derive(Debug)]
struct Answer {
    status: u16,
    etag: Option<String>,
    content_type: Option<String>,
    body: String,
}

impl Answer {
    /// The body as JSON (`Null` when it is not).
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

async fn answer(req: reqwest::RequestBuilder) -> Answer {
    let r = req.send().await.expect("request");
    let header = |n: &str| r.headers().get(n).map(|v| v.to_str().unwrap().to_string());
    let (etag, content_type) = (header("etag"), header("content-type"));
    Answer {
        status: r.status().as_u16(),
        etag,
        content_type,
        body: r.text().await.unwrap(),
    }
}

fn kv(addr: &str, key: &str) -> String {
    format!("http://{addr}/kv/{}", encode(key))
}

/// Waits until every node, as the owner of a key, proves a miss of it
/// through every entry node (404, not the 503 "not proven yet" of a ring
/// that formed a moment ago), polling with a deadline. One probe key would
/// prove it for that key's owner alone: a conditional write to a key
/// another node owns could still meet that node's window.
async fn settled(c: &Cluster) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let live: Vec<String> = c.live().iter().map(|n| n.addr.clone()).collect();
    // One probe key per owner.
    let mut probes: Vec<(String, String)> = Vec::new();
    for i in 0..10_000 {
        let key = format!("settle-probe-{i}");
        let owner = c.owner_of(&key);
        if !probes.iter().any(|(o, _)| *o == owner) {
            probes.push((owner, key));
        }
        if probes.len() == live.len() {
            break;
        }
    }
    assert_eq!(probes.len(), live.len(), "a probe key for every owner");
    for (owner, key) in &probes {
        for entry in &live {
            loop {
                let got = answer(c.http.get(kv(entry, key))).await;
                if got.status == 404 {
                    break;
                }
                assert!(
                    got.status == 503 && Instant::now() < deadline,
                    "{key} (owner {owner}) through {entry}: {got:?}"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_carries_the_version_as_an_etag_and_head_mirrors_get() {
    let c = Cluster::start(FAST, 3, false).await;
    settled(&c).await;
    let addrs: Vec<String> = c.nodes.iter().map(|n| n.addr.clone()).collect();
    let put = answer(c.http.put(kv(&addrs[0], "tagged")).json(&json!({"v": 1}))).await;
    assert_eq!(put.status, 200, "{put:?}");
    let tag1 = put.etag.clone().expect("a PUT answer carries an ETag");
    assert!(
        chord_proto::etag::parse(&tag1).is_ok(),
        "{tag1:?} is not a quoted version"
    );
    for a in &addrs {
        // Every entry node reports the owner's version of the key.
        let get = answer(c.http.get(kv(a, "tagged"))).await;
        assert_eq!((get.status, get.json()), (200, json!({"v": 1})), "{a}");
        assert_eq!(get.etag.as_deref(), Some(tag1.as_str()), "GET via {a}");
        let head = answer(c.http.head(kv(a, "tagged"))).await;
        assert_eq!(head.status, 200, "HEAD via {a}");
        assert_eq!(head.etag.as_deref(), Some(tag1.as_str()), "HEAD via {a}");
        assert_eq!(head.content_type.as_deref(), Some("application/json"));
        assert!(head.body.is_empty(), "HEAD has no body: {:?}", head.body);
    }
    // A new write is a new tag, newer than the first.
    let put2 = answer(c.http.put(kv(&addrs[1], "tagged")).json(&json!(2))).await;
    let tag2 = put2.etag.expect("second PUT's ETag");
    assert_ne!(tag1, tag2);
    let v = |t: &str| chord_proto::etag::parse(t).unwrap();
    assert!(v(&tag2) > v(&tag1));
    assert_eq!(
        answer(c.http.get(kv(&addrs[2], "tagged"))).await.etag,
        Some(tag2.clone())
    );
    // A delete that deleted tags its tombstone; a miss has no tag at all.
    let del = answer(c.http.delete(kv(&addrs[2], "tagged"))).await;
    assert_eq!(del.status, 200);
    assert!(v(del.etag.as_deref().expect("DELETE's ETag")) > v(&tag2));
    for a in &addrs {
        let head = answer(c.http.head(kv(a, "tagged"))).await;
        assert_eq!((head.status, head.etag.as_deref()), (404, None), "{a}");
        assert!(head.body.is_empty());
        let get = answer(c.http.get(kv(a, "tagged"))).await;
        assert_eq!((get.status, get.etag.as_deref()), (404, None), "{a}");
    }
    let again = answer(c.http.delete(kv(&addrs[0], "tagged"))).await;
    assert_eq!((again.status, again.etag), (404, None));
    // A wrong method's 405 lists HEAD among the allowed ones.
    let r = c.http.post(kv(&addrs[0], "tagged")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 405);
    assert_eq!(r.headers()["allow"], "GET, HEAD, PUT, DELETE");
}

/// Sends `n` conditional PUTs of `{"writer": i}` at once, writer `i`
/// through node `i mod size`, each with `header`; returns the answers.
async fn race(c: &Cluster, key: &str, n: usize, header: (&str, &str)) -> Vec<Answer> {
    let addrs: Vec<String> = c.live().iter().map(|p| p.addr.clone()).collect();
    let writers = (0..n).map(|i| {
        let req = c
            .http
            .put(kv(&addrs[i % addrs.len()], key))
            .header(header.0, header.1)
            .json(&json!({ "writer": i }));
        answer(req)
    });
    futures_util::future::join_all(writers).await
}

/// The one winner of a race: its index. Every other answer is a 412
/// naming the winner's version; none is anything else.
fn one_winner(answers: &[Answer]) -> usize {
    let won: Vec<usize> = (0..answers.len())
        .filter(|&i| answers[i].status == 200)
        .collect();
    assert_eq!(won.len(), 1, "exactly one writer wins: {answers:#?}");
    let tag = answers[won[0]].etag.as_deref().expect("the winner's ETag");
    for a in answers.iter().filter(|a| a.status != 200) {
        assert_eq!(a.status, 412, "{a:?}");
        assert!(a.json()["error"].as_str().is_some(), "{a:?}");
        // Decided at the owner after the winner applied: the loser is told
        // the winner's version.
        assert_eq!(a.etag.as_deref(), Some(tag), "{a:?}");
    }
    won[0]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_conditional_writers_through_different_nodes_have_one_winner() {
    let c = Cluster::start(FAST, 3, false).await;
    settled(&c).await;
    let addrs: Vec<String> = c.nodes.iter().map(|n| n.addr.clone()).collect();
    const WRITERS: usize = 16;

    // Create-only: one creator wins, even though all race through 3 nodes.
    let created = race(&c, "race", WRITERS, ("if-none-match", "*")).await;
    let mut winner = one_winner(&created);
    let mut tag = created[winner].etag.clone().unwrap();

    // Compare-and-swap rounds: everyone read the same tag, one swaps it.
    for round in 0..5 {
        let answers = race(&c, "race", WRITERS, ("if-match", &tag)).await;
        winner = one_winner(&answers);
        let new_tag = answers[winner].etag.clone().unwrap();
        assert_ne!(new_tag, tag, "round {round}");
        tag = new_tag;
        for a in &addrs {
            let got = answer(c.http.get(kv(a, "race"))).await;
            assert_eq!(
                got.json(),
                json!({ "writer": winner }),
                "round {round} via {a}"
            );
            assert_eq!(got.etag.as_deref(), Some(tag.as_str()), "round {round}");
        }
    }

    // A failed condition changed nothing; bad conditions are 400s.
    let stale = "\"0000000000000001-0000000000000001\"";
    let lost = answer(
        c.http
            .put(kv(&addrs[0], "race"))
            .header("if-match", stale)
            .json(&1),
    )
    .await;
    assert_eq!(
        (lost.status, lost.etag.as_deref()),
        (412, Some(tag.as_str()))
    );
    for (name, value) in [
        ("if-match", "nonsense"),
        ("if-match", "W/\"x\""),
        ("if-none-match", "\"0000000000000001-0000000000000001\""),
    ] {
        let bad = answer(
            c.http
                .put(kv(&addrs[1], "race"))
                .header(name, value)
                .json(&1),
        )
        .await;
        assert_eq!(bad.status, 400, "{name}: {value}: {bad:?}");
    }
    // Both conditions at once must both hold: the key cannot exist and not.
    let both = answer(
        c.http
            .put(kv(&addrs[2], "race"))
            .header("if-match", &tag)
            .header("if-none-match", "*")
            .json(&1),
    )
    .await;
    assert_eq!(
        (both.status, both.etag.as_deref()),
        (412, Some(tag.as_str()))
    );
    let bad = answer(
        c.http
            .delete(kv(&addrs[1], "race"))
            .header("if-none-match", "*"),
    )
    .await;
    assert_eq!(bad.status, 400, "{bad:?}");
    let got = answer(c.http.get(kv(&addrs[2], "race"))).await;
    assert_eq!(
        (got.json(), got.etag),
        (json!({ "writer": winner }), Some(tag.clone()))
    );

    // A conditional delete: the stale tag fails, the live one deletes, and
    // then the key is absent (412 without a tag; create-only works again).
    let del = answer(
        c.http
            .delete(kv(&addrs[0], "race"))
            .header("if-match", stale),
    )
    .await;
    assert_eq!((del.status, del.etag.as_deref()), (412, Some(tag.as_str())));
    // A list of tags may come over several header lines: one list, and the
    // live tag is in it.
    let split = answer(
        c.http
            .put(kv(&addrs[1], "race"))
            .header("if-match", stale)
            .header("if-match", &tag)
            .json(&json!({ "writer": winner })),
    )
    .await;
    assert_eq!(split.status, 200, "{split:?}");
    let tag = split.etag.clone().expect("a tag");
    let del = answer(
        c.http
            .delete(kv(&addrs[1], "race"))
            .header("if-match", &tag),
    )
    .await;
    assert_eq!(del.status, 200, "{del:?}");
    let del = answer(c.http.delete(kv(&addrs[2], "race")).header("if-match", "*")).await;
    assert_eq!((del.status, del.etag), (412, None));
    let created = race(&c, "race", 4, ("if-none-match", "*")).await;
    one_winner(&created);
}

/// `chord_repair_rounds_total` of the node at `addr`.
async fn repair_rounds(c: &Cluster, addr: &str) -> f64 {
    c.metric(addr, "chord_repair_rounds_total")
        .await
        .expect("the repair round counter")
}

/// Polls until `key` reads 404 (GET and HEAD) through every node.
async fn gone_everywhere(c: &Cluster, key: &str, deadline: Instant) {
    for n in c.live() {
        loop {
            let get = answer(c.http.get(kv(&n.addr, key))).await;
            let head = answer(c.http.head(kv(&n.addr, key))).await;
            if get.status == 404 && head.status == 404 {
                assert_eq!((get.etag, head.etag), (None, None));
                break;
            }
            assert!(
                get.status == 200 && Instant::now() < deadline,
                "{key} via {}: {get:?} {head:?}",
                n.addr
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_with_a_ttl_expires_everywhere_and_repair_never_brings_it_back() {
    let c = Cluster::start(FAST, 3, false).await;
    settled(&c).await;
    let addrs: Vec<String> = c.nodes.iter().map(|n| n.addr.clone()).collect();
    let put = |key: &str, ttl: Option<&str>, query: &str| {
        let mut req = c
            .http
            .put(format!("{}{query}", kv(&addrs[0], key)))
            .json(&key);
        if let Some(t) = ttl {
            req = req.header("x-chord-ttl", t);
        }
        answer(req)
    };
    // By header, by query, and one whose TTL a later plain PUT clears.
    let started = Instant::now();
    assert_eq!(put("by-header", Some("2s"), "").await.status, 200);
    assert_eq!(put("by-query", None, "?ttl=2").await.status, 200);
    assert_eq!(put("cleared", Some("2"), "").await.status, 200);
    let kept = put("cleared", None, "").await;
    assert_eq!(kept.status, 200);
    // Bad TTLs are 400s and change nothing.
    for (ttl, query) in [
        (Some("0"), ""),
        (Some("soon"), ""),
        (Some("1d"), ""),
        (None, "?ttl=1m"),
        (Some("1"), "?ttl=0"),
    ] {
        let bad = put("cleared", ttl, query).await;
        assert_eq!(bad.status, 400, "{ttl:?} {query}: {bad:?}");
    }
    // Readable everywhere before (unless this machine took 2 s to get here).
    for a in &addrs {
        for key in ["by-header", "by-query", "cleared"] {
            let got = answer(c.http.get(kv(a, key))).await;
            if started.elapsed() < Duration::from_millis(1500) {
                assert_eq!((got.status, got.json()), (200, json!(key)), "{key} via {a}");
            }
        }
    }
    // Then gone everywhere, GET and HEAD.
    let deadline = Instant::now() + Duration::from_secs(20);
    gone_everywhere(&c, "by-header", deadline).await;
    gone_everywhere(&c, "by-query", deadline).await;
    // Still gone after every node ran three more repair rounds (sweeps,
    // syncs with the holders, hand-offs).
    for a in &addrs {
        let target = repair_rounds(&c, a).await + 3.0;
        while repair_rounds(&c, a).await < target {
            assert!(Instant::now() < deadline, "no repair rounds on {a}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    gone_everywhere(&c, "by-header", Instant::now()).await;
    gone_everywhere(&c, "by-query", Instant::now()).await;
    for a in &addrs {
        // Every copy is a tombstone now, or purged.
        let keys = c.keys_of(a).await;
        assert!(
            keys.iter()
                .all(|(k, _, deleted)| k != "by-header" || *deleted),
            "{a}: {keys:?}"
        );
        // The plain PUT took the TTL away: long past it, still there.
        let got = answer(c.http.get(kv(a, "cleared"))).await;
        assert_eq!((got.status, got.etag), (200, kept.etag.clone()), "via {a}");
    }
    // Expired counts as absent for a condition too: create-only works.
    let again = answer(
        c.http
            .put(kv(&addrs[1], "by-header"))
            .header("if-none-match", "*")
            .json(&"again"),
    )
    .await;
    assert_eq!(again.status, 200, "{again:?}");
    assert_eq!(
        answer(c.http.get(kv(&addrs[2], "by-header"))).await.json(),
        json!("again")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_multi_get_answers_every_key_as_single_gets_would_through_any_node() {
    let c = Cluster::start(FAST, 4, false).await;
    settled(&c).await;
    let addrs: Vec<String> = c.nodes.iter().map(|n| n.addr.clone()).collect();
    let mut tags = serde_json::Map::new();
    let mut values = serde_json::Map::new();
    for i in 0..60 {
        let key = format!("multi-{i}");
        let put = answer(c.http.put(kv(&addrs[i % 4], &key)).json(&json!({ "i": i }))).await;
        assert_eq!(put.status, 200);
        if i % 10 == 9 {
            // Deleted again: a tombstone, which reads as missing.
            assert_eq!(c.delete(&addrs[0], &key).await, 200);
        } else {
            tags.insert(key.clone(), json!(put.etag.unwrap()));
            values.insert(key, json!({ "i": i }));
        }
    }
    // Every key once or twice, plus some that never existed.
    let mut asked: Vec<String> = (0..60).map(|i| format!("multi-{i}")).collect();
    asked.extend((0..5).map(|i| format!("multi-{i}")));
    asked.extend((0..4).map(|i| format!("never-{i}")));
    let mut missing: Vec<String> = (0..60)
        .filter(|i| i % 10 == 9)
        .map(|i| format!("multi-{i}"))
        .chain((0..4).map(|i| format!("never-{i}")))
        .collect();
    missing.sort();
    for a in &addrs {
        let got = answer(c.http.post(format!("http://{a}/kv:batchGet")).json(&asked)).await;
        assert_eq!(got.status, 200, "{got:?}");
        let v = got.json();
        assert_eq!(v["values"], Value::Object(values.clone()), "via {a}");
        assert_eq!(v["etags"], Value::Object(tags.clone()), "via {a}");
        assert_eq!(v["missing"], json!(missing), "via {a}");
        assert_eq!(v["errors"], json!({}), "via {a}");
        // The shared contract type (strict here) reads it back whole.
        let typed: chord_proto::api::BatchGetResponse = serde_json::from_str(&got.body).unwrap();
        assert_eq!(serde_json::to_value(&typed).unwrap(), v);
    }
    // An empty list is an empty answer; bad bodies and too many keys are
    // refused whole.
    let url = format!("http://{}/kv:batchGet", addrs[1]);
    let empty = answer(c.http.post(&url).json(&json!([]))).await;
    assert_eq!(
        (empty.status, empty.json()),
        (
            200,
            json!({"values": {}, "etags": {}, "missing": [], "errors": {}})
        )
    );
    let too_many: Vec<String> = (0..1001).map(|i| format!("k{i}")).collect();
    assert_eq!(answer(c.http.post(&url).json(&too_many)).await.status, 400);
    for bad in [
        json!({"keys": ["a"]}),
        json!(["a", 1]),
        json!([""]),
        json!("a"),
    ] {
        let got = answer(c.http.post(&url).json(&bad)).await;
        assert_eq!(got.status, 400, "{bad}: {got:?}");
        assert!(got.json()["error"].is_string());
    }
    let r = c.http.get(&url).send().await.unwrap();
    assert_eq!(
        (r.status().as_u16(), r.headers()["allow"].to_str().unwrap()),
        (405, "POST")
    );
    // An owner reads only its own keys of an internal batch; the others
    // come back without an outcome, for the entry node to route.
    let key = "multi-0";
    let owner = c.owner_of(key);
    let other = addrs.iter().find(|a| **a != owner).unwrap();
    for (at, mine) in [(&owner, true), (other, false)] {
        let r = c
            .http
            .post(format!("http://{at}/chord/batch"))
            .json(&json!({ "keys": [key] }))
            .send()
            .await
            .unwrap();
        let v: Value = r.json().await.unwrap();
        let item = &v["items"][0];
        assert_eq!(item["key"], key);
        assert_eq!(item.get("outcome").is_some(), mine, "{at}: {v}");
    }
}
