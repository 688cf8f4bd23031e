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

/// Waits until every node proves a miss (404, not the 503 "not proven
/// yet" of a ring that formed a moment ago), polling with a deadline.
async fn settled(c: &Cluster) {
    let deadline = Instant::now() + Duration::from_secs(30);
    for n in c.live() {
        loop {
            let got = answer(c.http.get(kv(&n.addr, "settle-probe"))).await;
            if got.status == 404 {
                break;
            }
            assert!(
                got.status == 503 && Instant::now() < deadline,
                "{}: {got:?}",
                n.addr
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
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
