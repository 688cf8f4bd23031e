//! The public and internal REST contract of one node: status codes for bad
//! input, headers, JSON value kinds, cluster-key protection and health checks.

mod common;

use common::{encode, Cluster, FAST};
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
    }
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
