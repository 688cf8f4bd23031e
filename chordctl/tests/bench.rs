//! `chordctl bench` end to end: a 3-node process ring, a closed-loop mixed
//! run through the managed cluster, and an open-loop run against one node
//! given with `--target` (no runtime involved).
//!
//! Needs a chord-node binary: `CHORDCTL_NODE_BIN`, or one under `target/`
//! (build it with `cargo build -p chord-node`).

mod common;

use common::{Ctl, ProcessCluster};
use serde_json::Value;

/// The assertions every successful run must pass.
fn check_run(report: &Value) {
    let ops = report["ops"].as_u64().expect("ops");
    assert!(ops > 0, "{report:#}");
    assert_eq!(report["errors"], 0, "{report:#}");
    assert_eq!(
        report["ok"].as_u64().unwrap() + report["not_found"].as_u64().unwrap(),
        ops
    );
    let all = &report["latency_us"]["all"];
    assert!(
        all["p50"].as_u64().unwrap() <= all["p99"].as_u64().unwrap(),
        "{all:#}"
    );
    assert!(
        all["p99"].as_u64().unwrap() <= all["p99_9"].as_u64().unwrap(),
        "{all:#}"
    );
    let hist = report["hops"]["histogram"]
        .as_array()
        .expect("hop histogram");
    let counted: u64 = hist.iter().map(|h| h["count"].as_u64().unwrap()).sum();
    assert_eq!(counted, ops, "every op has a hop count: {report:#}");
    assert_eq!(report["hops"]["unknown"], 0);
    let mean = report["hops"]["mean"].as_f64().expect("mean hops");
    assert!((0.0..=3.0).contains(&mean), "mean hops {mean}");
    assert!(report["throughput"].as_f64().unwrap() > 0.0);
}

#[test]
fn bench_a_process_ring_and_a_single_target() {
    let guard = ProcessCluster::new("t-bench");
    let (ctl, state_dir) = (guard.ctl.clone(), guard.state_dir.clone());
    ctl.run(&["up", "3", "--timeout", "60"]).ok("up 3");

    let args = [
        "bench",
        "--ops",
        "mixed",
        "--duration",
        "3",
        "--keys",
        "200",
        "--concurrency",
        "8",
        "-o",
        "json",
    ];
    let report = ctl.run(&args).ok("bench on the ring").json();
    check_run(&report);
    assert_eq!(report["entry_nodes"].as_array().map(Vec::len), Some(3));
    assert_eq!(report["preload"]["keys"], 200, "mixed preloads by default");
    assert!(report["open_loop"].is_null());
    assert_eq!(report["settings"]["concurrency"], 8);

    // One node by address, open loop. No runtime flag and an empty state
    // dir: with --target, chordctl must not look for a cluster at all.
    let status = ctl.run(&["status", "-o", "json"]).ok("status").json();
    let address = status["nodes"][0]["address"].as_str().unwrap().to_string();
    let elsewhere = state_dir.join("elsewhere");
    let bare = Ctl::new(&[], &[("XDG_STATE_HOME", elsewhere.to_str().unwrap())]);
    let args = [
        "bench",
        "--target",
        &address,
        "--rate",
        "200",
        "--duration",
        "2",
        "--keys",
        "50",
        "--concurrency",
        "4",
        "-o",
        "json",
    ];
    let report = bare.run(&args).ok("bench --target").json();
    check_run(&report);
    assert_eq!(report["entry_nodes"], serde_json::json!([address]));
    let open = &report["open_loop"];
    assert_eq!(open["scheduled"], 400, "{open:#}");
    assert_eq!(open["sent"], report["ops"], "{open:#}");
}
