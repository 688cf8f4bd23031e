//! The public and internal REST contract of one node: status codes for bad
//! input, headers, JSON value kinds, cluster-key protection and health checks.

mod common;

use common::{encode, sample, Cluster, FAST};
use serde_json::{json, Value};
use std::time::Duration;

async fn body(r: reqwest::Response) -> (u16, Value) {
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_json_kind_round_trips_with_headers() {
    let c = Cluster::start(FAST, 1, true).await;
    let a = c.nodes[0].addr.clone();
    let values = [
        json!({"name": "Ada", "tags": ["x", {"y": null}]}),
        json!([1, 2.5, "three"]),
        json!("just a string"),
        json!(42),
        json!(-1.5e10),
        json!(true),
        json!(false),
        json!(null),
    ];
    for (i, v) in values.iter().enumerate() {
        let key = format!("kind-{i}");
        let (status, owner, hops) = c.put(&a, &key, v).await;
        assert_eq!((status, owner.as_str(), hops), (200, a.as_str(), 0));
        let (status, got, owner, hops) = c.get(&a, &key).await;
        assert_eq!((status, &got), (200, v));
        assert_eq!((owner.as_str(), hops), (a.as_str(), 0));
    }
    // The body of a GET is exactly the stored JSON text.
    let raw = r#"{"b":1,  "a":[true]}"#;
    let r = c
        .http
        .put(format!("http://{a}/kv/raw"))
        .body(raw)
        .send()
        .await
        .unwrap();
    let (status, v) = body(r).await;
    assert_eq!(status, 200);
    assert_eq!(v, json!({"key": "raw", "owner": a, "hops": 0}));
    let text = c
        .http
        .get(format!("http://{a}/kv/raw"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(text, raw);
    // Keys with '/', spaces and non-ASCII characters are one segment each.
    for key in ["a/b/c", "with space", "ユーザー:1", "emoji-🔑", "%"] {
        assert_eq!(c.put(&a, key, &json!(key)).await.0, 200, "{key}");
        assert_eq!(c.get(&a, key).await.1, json!(key), "{key}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_clear_errors_and_changes_nothing() {
    let c = Cluster::start(&["--max-body", "1000", "--stabilize-ms", "100"], 1, true).await;
    let a = c.nodes[0].addr.clone();
    let url = |p: &str| format!("http://{a}{p}");
    assert_eq!(c.put(&a, "k", &json!({"v": 1})).await.0, 200);

    let cases: Vec<(reqwest::RequestBuilder, u16)> = vec![
        (c.http.put(url("/kv/k")).body("{not json"), 400),
        (c.http.put(url("/kv/k")).body(""), 400),
        (c.http.put(url("/kv/k")).body("{\"v\": 1} trailing"), 400),
        (c.http.put(url("/kv/k")).body(vec![b'1'; 1001]), 413),
        (c.http.get(url(&format!("/kv/{}", "k".repeat(1025)))), 414),
        (
            c.http
                .put(url(&format!("/kv/{}", "k".repeat(1025))))
                .body("1"),
            414,
        ),
        (c.http.get(url("/kv/%FF%FE")), 400),
        (c.http.get(url("/kv/%zz")), 400),
        (c.http.get(url("/kv/")), 400),
        (c.http.get(url("/kv/a/b")), 400),
        (c.http.get(url("/nope")), 404),
        (c.http.get(url("/")), 404),
        (c.http.post(url("/kv/k")).body("1"), 405),
        (c.http.patch(url("/kv/k")).body("1"), 405),
        (c.http.post(url("/status")), 405),
        (c.http.get(url("/chord/rpc")), 405),
        (c.http.post(url("/chord/rpc")).body("garbage"), 400),
        (c.http.post(url("/chord/route")).body("{}"), 400),
        (c.http.post(url("/chord/data")).body("[1,2]"), 400),
    ];
    for (req, want) in cases {
        let r = req.build().unwrap();
        let desc = format!("{} {}", r.method(), r.url().path());
        let is_kv = r.url().path().starts_with("/kv/");
        let resp = c.http.execute(r).await.unwrap();
        if is_kv {
            // Every /kv answer names who answered, errors included.
            assert_eq!(resp.headers()["x-chord-owner"], a.as_str(), "{desc}");
            assert_eq!(resp.headers()["x-chord-hops"], "0", "{desc}");
        }
        let (status, v) = body(resp).await;
        assert_eq!(status, want, "{desc}");
        assert!(
            v["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{desc}: {v}"
        );
    }
    // A chunked body over the limit (no content-length) is refused too.
    let chunks = futures_util::stream::iter(
        (0..20).map(|_| Ok::<_, std::io::Error>(bytes::Bytes::from(vec![b'1'; 100]))),
    );
    let r = c
        .http
        .put(url("/kv/k"))
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 413);
    // Nothing changed, and the node still serves.
    assert_eq!(c.get(&a, "k").await.1, json!({"v": 1}));
    assert_eq!(c.get(&a, &"k".repeat(1024)).await.0, 404);
    let st = c.status(&a).await.unwrap();
    assert_eq!(st["keys"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_key_closes_the_internal_api() {
    let args = ["--cluster-key", "s3cret", "--stabilize-ms", "100"];
    let c = Cluster::start(&args, 3, true).await;
    let a = c.nodes[0].addr.clone();
    // Routing between nodes works with the key.
    for i in 0..30 {
        assert_eq!(c.put(&a, &format!("k{i}"), &json!(i)).await.0, 200);
    }
    let bogus = json!({"Notify": {"peer": {"id": "00".repeat(20), "addr": "evil:1"}}});
    for auth in [None, Some("Bearer wrong"), Some("s3cret")] {
        let mut req = c.http.post(format!("http://{a}/chord/rpc")).json(&bogus);
        if let Some(h) = auth {
            req = req.header("authorization", h);
        }
        assert_eq!(req.send().await.unwrap().status().as_u16(), 401, "{auth:?}");
        let mut req = c.http.get(format!("http://{a}/chord/keys"));
        if let Some(h) = auth {
            req = req.header("authorization", h);
        }
        assert_eq!(req.send().await.unwrap().status().as_u16(), 401);
        let mut req = c
            .http
            .post(format!("http://{a}/chord/batch"))
            .json(&json!({"keys": ["k1"]}));
        if let Some(h) = auth {
            req = req.header("authorization", h);
        }
        assert_eq!(req.send().await.unwrap().status().as_u16(), 401);
    }
    // The public multi-get reads through the keyed internal batches.
    let r = c
        .http
        .post(format!("http://{a}/kv:batchGet"))
        .json(&json!(["k1", "k2", "nope"]))
        .send()
        .await
        .unwrap();
    let (status, v) = body(r).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["values"], json!({"k1": 1, "k2": 2}), "{v}");
    // A fake reply without the key is refused as well.
    let fake = json!({"req": "0".repeat(32), "owner": "evil:1", "hops": 0, "outcome": "Stored"});
    let r = c
        .http
        .post(format!("http://{a}/chord/reply"))
        .json(&fake)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    c.wait_ring(Duration::from_secs(10)).await;
    let ok = c
        .http
        .get(format!("http://{a}/chord/keys"))
        .header("authorization", "Bearer s3cret")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status().as_u16(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_readiness_and_healthcheck_command() {
    let mut c = Cluster::new(FAST);
    c.spawn(None);
    let a = c.nodes[0].addr.clone();
    // A node whose join target does not answer is healthy but not ready.
    c.spawn(Some("127.0.0.1:1"));
    let b = c.nodes[1].addr.clone();
    let get = |addr: &str, p: &str| c.http.get(format!("http://{addr}{p}")).send();
    assert_eq!(get(&a, "/healthz").await.unwrap().status().as_u16(), 200);
    assert_eq!(get(&a, "/readyz").await.unwrap().status().as_u16(), 200);
    assert_eq!(get(&b, "/healthz").await.unwrap().status().as_u16(), 200);
    assert_eq!(get(&b, "/readyz").await.unwrap().status().as_u16(), 503);
    let r = c
        .http
        .get(format!("http://{b}/kv/{}", encode("x")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 503);

    let bin = env!("CARGO_BIN_EXE_chord-node");
    let run = |addr: &str| {
        std::process::Command::new(bin)
            .args(["healthcheck", "--addr", addr])
            .output()
            .unwrap()
            .status
            .code()
    };
    assert_eq!(run(&a), Some(0));
    assert_eq!(run("127.0.0.1:1"), Some(1));
    let st = c.status(&a).await.unwrap();
    assert_eq!(st["id"].as_str().unwrap().len(), 40);
    assert_eq!(st["addr"], a.as_str());
    assert!(st["predecessor"].is_null());
    assert_eq!(st["successors"], json!([]));
}

/// `chord_owner_misses_total{kind}` at the node at `addr` (0 before the
/// first such miss).
async fn owner_misses(c: &Cluster, addr: &str, kind: &str) -> f64 {
    let name = format!("chord_owner_misses_total{{kind=\"{kind}\"}}");
    c.metric(addr, &name).await.unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_settled_owner_answers_a_miss_alone() {
    // Once the ring has settled and repair has synced every range since,
    // the owner's own miss is the answer: 404 with no holder asked, which
    // the owner counts as authoritative. Until then misses ask the holders
    // (or answer 503 while the ring settles).
    let c = Cluster::start(FAST, 3, true).await;
    let entry = c.nodes[0].addr.clone();
    let asked = std::time::Instant::now();
    for i in 0.. {
        let key = format!("absent-{i}");
        let owner = c.owner_of(&key);
        let before = owner_misses(&c, &owner, "authoritative").await;
        let (status, body, _, _) = c.get(&entry, &key).await;
        assert!(matches!(status, 404 | 503), "{key}: {status} {body}");
        let after = owner_misses(&c, &owner, "authoritative").await;
        if status == 404 && after == before + 1.0 {
            break;
        }
        assert!(
            asked.elapsed() < Duration::from_secs(20),
            "no owner answered a miss alone within 20 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_what_the_ring_did() {
    let c = Cluster::start(FAST, 3, true).await;
    let entry = c.nodes[0].addr.clone();
    for i in 0..30 {
        let (status, _, _) = c.put(&entry, &format!("m-{i}"), &json!(i)).await;
        assert_eq!(status, 200);
    }
    for i in 0..10 {
        let (status, _, _, _) = c.get(&entry, &format!("m-{i}")).await;
        assert_eq!(status, 200);
    }
    // Right after the ring formed a miss is "not proven yet" (503): a
    // client asks again, and each answer is counted.
    let asked = std::time::Instant::now();
    let mut settling = 0.0;
    loop {
        let (status, body, _, _) = c.get(&entry, "never-written").await;
        if status == 404 {
            break;
        }
        assert_eq!(status, 503, "{body}");
        assert!(asked.elapsed() < Duration::from_secs(20), "{body}");
        settling += 1.0;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut owned = 0.0;
    let mut applied = 0.0;
    for (i, n) in c.nodes.iter().enumerate() {
        let r = c
            .http
            .get(format!("http://{}/metrics", n.addr))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let ctype = r.headers()["content-type"].to_str().unwrap().to_string();
        assert!(ctype.starts_with("application/openmetrics-text"), "{ctype}");
        let text = r.text().await.unwrap();
        assert!(text.ends_with("# EOF\n"), "{text}");
        // Every node knows the ring has three members.
        assert_eq!(
            sample(&text, "chord_ring_size_estimate"),
            Some(3.0),
            "{text}"
        );
        if i == 0 {
            // The entry node answered every client request.
            let put = r#"chord_requests_total{op="put",status="200"}"#;
            let get = r#"chord_requests_total{op="get",status="200"}"#;
            let missing = r#"chord_requests_total{op="get",status="404"}"#;
            assert_eq!(sample(&text, put), Some(30.0), "{text}");
            assert_eq!(sample(&text, get), Some(10.0), "{text}");
            assert_eq!(sample(&text, missing), Some(1.0), "{text}");
            let retry = r#"chord_requests_total{op="get",status="503"}"#;
            assert_eq!(sample(&text, retry).unwrap_or(0.0), settling, "{text}");
            assert_eq!(
                sample(&text, "chord_request_hops_count"),
                Some(41.0 + settling),
                "{text}"
            );
            // Once the successor lists are complete the entry reaches every
            // owner of three in one hop, and the owner answers on that hop's
            // own connection: one exchange. (Paths of two hops while the
            // ring forms, and an owner slower than a quarter call timeout on a
            // busy machine, post their replies instead.)
            let all = sample(&text, "chord_request_hops_count").unwrap();
            let here = sample(&text, r#"chord_request_hops_bucket{le="0.0"}"#).unwrap();
            let routed = all - here;
            let inline = sample(&text, r#"chord_replies_total{kind="inline"}"#).unwrap_or(0.0);
            let posted = sample(&text, r#"chord_replies_total{kind="posted"}"#).unwrap_or(0.0);
            assert!(routed > 0.0, "{text}");
            assert!(inline + posted >= routed, "{text}");
            assert!(inline >= routed / 2.0, "{text}");
        }
        owned += sample(&text, r#"chord_keys{kind="owned"}"#).unwrap_or(0.0);
        applied += sample(&text, r#"chord_replica_writes_total{kind="applied"}"#).unwrap_or(0.0);
    }
    // Each key has exactly one owner, and each write reached at least the
    // write quorum's other holder.
    assert_eq!(owned, 30.0);
    assert!(applied >= 30.0, "replica writes applied: {applied}");
    let r = c
        .http
        .post(format!("http://{entry}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_body_sent_in_full_first_still_gets_413() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // Like Python's urllib: the whole body goes out before the answer is
    // read. Closing on unread data would reset the connection instead.
    let c = Cluster::start(FAST, 1, true).await;
    let addr = c.nodes[0].addr.clone();
    for size in [(1 << 20) + 1, 16 << 20] {
        let mut conn = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let head = format!(
            "PUT /kv/big HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\n\
             content-length: {size}\r\n\r\n"
        );
        let mut body = vec![b' '; size];
        body[0] = b'"';
        body[size - 1] = b'"';
        conn.write_all(head.as_bytes()).await.unwrap();
        conn.write_all(&body)
            .await
            .unwrap_or_else(|e| panic!("{size} bytes: the body could not be sent: {e}"));
        let mut answer = Vec::new();
        conn.read_to_end(&mut answer)
            .await
            .unwrap_or_else(|e| panic!("{size} bytes: no answer: {e}"));
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 413"), "{size} bytes: {answer}");
    }
    // A client that waits for `100 Continue` is told at once, without
    // sending its body.
    let mut conn = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "PUT /kv/big HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\n\
         expect: 100-continue\r\ncontent-length: {}\r\n\r\n",
        16 << 20
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    conn.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    // Nothing was stored, and the node still serves.
    let (status, _, _, _) = c.get(&addr, "big").await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_one_replica_a_miss_is_still_proven() {
    // R = 1: the owner has no other holder to sync with, and its own
    // range is all the proof there is; a miss must not answer 503 for ever.
    let args = [FAST, &["--replicas", "1"]].concat();
    let c = Cluster::start(&args, 3, true).await;
    let asked = std::time::Instant::now();
    for n in &c.nodes {
        loop {
            let (status, body, _, _) = c.get(&n.addr, "never-written").await;
            if status == 404 {
                break;
            }
            assert_eq!(status, 503, "{body}");
            assert!(
                asked.elapsed() < Duration::from_secs(20),
                "still {status} {body} after 20 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_served_openapi_document_is_the_committed_one_and_its_routes_exist() {
    let c = Cluster::start(FAST, 1, true).await;
    let a = c.nodes[0].addr.clone();
    let committed: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json")).unwrap(),
    )
    .unwrap();
    let (status, served) = body(
        c.http
            .get(format!("http://{a}/openapi.json"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(served, committed);
    // Every documented operation is routed (a wrong route would say "no such
    // route"), and what each one may answer is documented.
    for (path, ops) in committed["paths"].as_object().unwrap() {
        let url = format!("http://{a}{}", path.replace("{key}", "doc-check"));
        for method in ops
            .as_object()
            .unwrap()
            .keys()
            .filter(|m| *m != "parameters")
        {
            let req = match method.as_str() {
                "get" => c.http.get(&url),
                "head" => c.http.head(&url),
                "post" => c.http.post(&url).body("[\"doc-check\"]"),
                "put" => c.http.put(&url).body("1"),
                "delete" => c.http.delete(&url),
                other => panic!("undocumented method kind {other}"),
            };
            let r = req.send().await.unwrap();
            let status = r.status().as_u16().to_string();
            let (_, v) = body(r).await;
            assert_ne!(v, json!({"error": "no such route"}), "{method} {path}");
            assert!(
                ops[method]["responses"].get(&status).is_some(),
                "{method} {path} answered an undocumented {status}"
            );
        }
    }
}

/// Reads `GET {url}` as `T` (the shared contract type, built here with
/// `deny_unknown_fields`) and checks that `T` gives back exactly the JSON the
/// node sent: no field the node writes is unknown to its readers, and none
/// they expect is missing.
async fn read_as<T>(http: &reqwest::Client, url: &str, auth: Option<&str>) -> (u16, T)
where
    T: serde::de::DeserializeOwned + serde::Serialize,
{
    let mut req = http.get(url);
    if let Some(key) = auth {
        req = req.bearer_auth(key);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let sent: Value = r.json().await.unwrap();
    let typed: T = serde_json::from_value(sent.clone())
        .unwrap_or_else(|e| panic!("{url} does not match the shared type: {e}\n{sent:#}"));
    assert_eq!(serde_json::to_value(&typed).unwrap(), sent, "{url}");
    (status, typed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_listing_and_errors_are_the_shared_contract_types() {
    use chord_proto::api::{ErrorBody, KeyListing, Status};
    let args = ["--cluster-key", "k3y", "--stabilize-ms", "100"];
    let c = Cluster::start(&args, 3, true).await;
    c.wait_ring(Duration::from_secs(10)).await;
    let a = c.nodes[0].addr.clone();
    for i in 0..20 {
        assert_eq!(c.put(&a, &format!("c{i}"), &json!(i)).await.0, 200);
    }
    assert_eq!(c.delete(&a, "c0").await, 200);

    for n in &c.nodes {
        let (code, s): (u16, Status) =
            read_as(&c.http, &format!("http://{}/status", n.addr), None).await;
        assert_eq!(code, 200);
        assert_eq!(s.addr, n.addr);
        assert!(
            s.ready && !s.successors.is_empty() && s.predecessor.is_some(),
            "{s:?}"
        );
        assert!(s.replicas == 3 && (1..=3).contains(&s.write_quorum));
    }
    // Every node holds every key of a 3-node ring with R = 3, the deleted
    // one as a tombstone.
    let url = format!("http://{a}/chord/keys");
    let (code, listing): (u16, KeyListing) = read_as(&c.http, &url, Some("k3y")).await;
    assert_eq!((code, listing.addr.as_str()), (200, a.as_str()));
    assert_eq!(listing.entries.len(), 20);
    let c0 = listing.entries.iter().find(|e| e.key == "c0").unwrap();
    assert!(c0.deleted);
    assert_eq!(c0.id, chord_proto::id::Id::hash(b"c0"));

    // Error bodies: a refused cluster key, a bad key, an unknown path, a
    // deleted key.
    let (code, e): (u16, ErrorBody) = read_as(&c.http, &url, None).await;
    assert_eq!(code, 401);
    assert!(!e.error.is_empty());
    let (code, _): (u16, ErrorBody) = read_as(&c.http, &format!("http://{a}/kv/%zz"), None).await;
    assert_eq!(code, 400);
    // (A missing key could answer 503 rather than 404 while the new ring
    // settles, so the 404 is an unknown path's.)
    let (code, _): (u16, ErrorBody) = read_as(&c.http, &format!("http://{a}/nope"), None).await;
    assert_eq!(code, 404);
    let (code, _): (u16, ErrorBody) = read_as(&c.http, &format!("http://{a}/kv/c0"), None).await;
    assert!(code == 404 || code == 503, "{code}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_traced_request_on_one_node_reports_the_entry_as_owner() {
    use chord_proto::trace::{PATH_HEADER, TRACE_HEADER};
    let c = Cluster::start(FAST, 1, true).await;
    let a = c.nodes[0].addr.clone();
    let url = format!("http://{a}/kv/traced");
    let path = |r: &reqwest::Response| {
        r.headers()
            .get(PATH_HEADER)
            .map(|v| v.to_str().unwrap().to_string())
    };
    let want = Some(format!("{a} entry owner"));
    let r = c
        .http
        .get(&url)
        .header(TRACE_HEADER, "1")
        .send()
        .await
        .unwrap();
    assert_eq!((r.status().as_u16(), path(&r)), (404, want.clone()));
    let r = c
        .http
        .put(&url)
        .header(TRACE_HEADER, "1")
        .body("1")
        .send()
        .await
        .unwrap();
    assert_eq!((r.status().as_u16(), path(&r)), (200, want.clone()));
    let r = c
        .http
        .delete(&url)
        .header(TRACE_HEADER, "1")
        .send()
        .await
        .unwrap();
    assert_eq!((r.status().as_u16(), path(&r)), (200, want));
    // Off by default, and for any value but 1 (bytes that are not text too).
    let r = c.http.get(&url).send().await.unwrap();
    assert_eq!(path(&r), None);
    let odd = reqwest::header::HeaderValue::from_bytes(b"\xff").unwrap();
    let r = c
        .http
        .get(&url)
        .header(TRACE_HEADER, odd)
        .send()
        .await
        .unwrap();
    assert_eq!((r.status().as_u16(), path(&r)), (404, None));
}
