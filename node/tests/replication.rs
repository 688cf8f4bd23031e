//! Replication under real SIGKILLs: no acknowledged write is lost while fewer
//! than R holders of a key die before repair, deletes stay deleted, and every
//! key ends on exactly its R expected holders.

mod common;

use common::{Cluster, FAST};
use futures_util::stream::{self, StreamExt};
use rand::seq::SliceRandom;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Every problem with data placement: a key (of `known`) held nowhere, held by
/// fewer or other nodes than its expected holders, or with differing versions.
async fn placement_problems(c: &Cluster, known: &BTreeSet<String>) -> Vec<String> {
    let mut by_key: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for n in c.live() {
        for (key, version, _) in c.keys_of(&n.addr).await {
            by_key
                .entry(key)
                .or_default()
                .push((n.addr.clone(), version));
        }
    }
    let mut problems = Vec::new();
    for key in known {
        if !by_key.contains_key(key) {
            problems.push(format!("{key}: lost"));
        }
    }
    for (key, copies) in &by_key {
        let want: BTreeSet<String> = c.holders(key).into_iter().collect();
        let have: BTreeSet<String> = copies.iter().map(|(a, _)| a.clone()).collect();
        if want != have {
            problems.push(format!("{key}: on {have:?}, expected {want:?}"));
        }
        let versions: BTreeSet<&String> = copies.iter().map(|(_, v)| v).collect();
        if versions.len() > 1 {
            problems.push(format!("{key}: differing versions {versions:?}"));
        }
    }
    problems
}

/// Polls until placement is exact; returns how long it took.
async fn wait_placement(c: &Cluster, known: &BTreeSet<String>, timeout: Duration) -> Duration {
    let start = Instant::now();
    loop {
        let problems = placement_problems(c, known).await;
        if problems.is_empty() {
            return start.elapsed();
        }
        if start.elapsed() > timeout {
            panic!(
                "placement not exact after {timeout:?}: {} problems, e.g. {:?}",
                problems.len(),
                &problems[..problems.len().min(5)]
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Writes `keys` (value = `{"k": key, "gen": gen}`) through random nodes, 32 at a time.
async fn write_all(c: &Cluster, keys: &[String], gen: u32) {
    let results: Vec<(String, u16)> = stream::iter(keys.iter().cloned())
        .map(|k| async move {
            let s = c
                .put(&c.random_addr(), &k, &json!({"k": k, "gen": gen}))
                .await
                .0;
            (k, s)
        })
        .buffer_unordered(32)
        .collect()
        .await;
    for (k, s) in results {
        assert_eq!(s, 200, "put {k}");
    }
}

/// Reads every key through random nodes and checks its value (or its absence).
async fn check_all(c: &Cluster, expect: &BTreeMap<String, Option<Value>>) {
    let results: Vec<(String, u16, Value)> = stream::iter(expect.keys().cloned())
        .map(|k| async move {
            let asked = Instant::now();
            loop {
                let (s, v, _, _) = c.get(&c.random_addr(), &k).await;
                // Right after the ring changed, a deletion is "not proven
                // yet" (503, try again): a client asks again.
                let settling = s == 503
                    && v["error"]
                        .as_str()
                        .is_some_and(|e| e.contains("changed a moment ago"));
                if !settling || asked.elapsed() > Duration::from_secs(20) {
                    break (k, s, v);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    for (k, s, v) in results {
        match &expect[&k] {
            Some(want) => assert_eq!((s, &v), (200, want), "{k}"),
            None => assert_eq!(s, 404, "{k} should stay deleted"),
        }
    }
}

/// Writes `n` keys named `{prefix}-{i}` and waits until each is on exactly its
/// holders; returns the keys, as a list and as the set placement checks use.
async fn loaded(c: &Cluster, prefix: &str, n: usize) -> (Vec<String>, BTreeSet<String>) {
    let keys: Vec<String> = (0..n).map(|i| format!("{prefix}-{i}")).collect();
    write_all(c, &keys, 1).await;
    let known: BTreeSet<String> = keys.iter().cloned().collect();
    wait_placement(c, &known, Duration::from_secs(60)).await;
    (keys, known)
}

/// SIGKILLs one random live node, waits for a correct ring and exact placement;
/// returns the victim's address and the time from ring-correct to placement.
async fn kill_one_and_heal(c: &mut Cluster, known: &BTreeSet<String>) -> (String, Duration) {
    let v = pick_victims(c, 1)[0];
    let addr = c.nodes[v].addr.clone();
    c.kill(v);
    c.wait_ring(Duration::from_secs(30)).await;
    let t = wait_placement(c, known, Duration::from_secs(90)).await;
    (addr, t)
}

fn pick_victims(c: &Cluster, n: usize) -> Vec<usize> {
    let mut alive: Vec<usize> = (0..c.nodes.len()).filter(|i| c.nodes[*i].alive()).collect();
    alive.shuffle(&mut rand::rng());
    alive.truncate(n);
    alive
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_acknowledged_write_is_lost_to_two_kills_at_once_then_three_one_by_one() {
    let mut c = Cluster::start(FAST, 16, false).await;
    let keys: Vec<String> = (0..2000).map(|i| format!("user:{i}")).collect();
    write_all(&c, &keys, 1).await;
    let known: BTreeSet<String> = keys.iter().cloned().collect();
    let expect: BTreeMap<String, Option<Value>> = keys
        .iter()
        .map(|k| (k.clone(), Some(json!({"k": k, "gen": 1}))))
        .collect();
    wait_placement(&c, &known, Duration::from_secs(30)).await;

    let victims = pick_victims(&c, 2);
    let names: Vec<String> = victims.iter().map(|i| c.nodes[*i].addr.clone()).collect();
    let killed_at = Instant::now();
    for v in &victims {
        c.kill(*v);
    }
    let ring = c.wait_ring(Duration::from_secs(30)).await;
    wait_placement(&c, &known, Duration::from_secs(60)).await;
    let full = killed_at.elapsed();
    println!("killed {names:?} at once: ring correct after {ring:?}, all 2000 keys on exactly R=3 holders {full:?} after the kill");
    check_all(&c, &expect).await;

    for round in 0..3 {
        let v = pick_victims(&c, 1)[0];
        let name = c.nodes[v].addr.clone();
        let killed_at = Instant::now();
        c.kill(v);
        c.wait_ring(Duration::from_secs(30)).await;
        wait_placement(&c, &known, Duration::from_secs(60)).await;
        println!(
            "kill {round} ({name}): exactly R copies {:?} after the kill",
            killed_at.elapsed()
        );
        check_all(&c, &expect).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletes_stay_deleted_across_kills_repairs_and_a_restart_at_the_old_address() {
    let mut c = Cluster::start(FAST, 8, false).await;
    let keys: Vec<String> = (0..400).map(|i| format!("doc-{i}")).collect();
    write_all(&c, &keys, 1).await;
    let mut expect: BTreeMap<String, Option<Value>> = keys
        .iter()
        .map(|k| (k.clone(), Some(json!({"k": k, "gen": 1}))))
        .collect();
    let known: BTreeSet<String> = keys.iter().cloned().collect();
    wait_placement(&c, &known, Duration::from_secs(30)).await;
    for k in keys.iter().step_by(2) {
        assert_eq!(c.delete(&c.random_addr(), k).await, 200, "delete {k}");
        expect.insert(k.clone(), None);
    }
    // Tombstones replicate like writes and are placed like them.
    wait_placement(&c, &known, Duration::from_secs(30)).await;

    let v = pick_victims(&c, 1)[0];
    let addr = c.nodes[v].addr.clone();
    c.kill(v);
    c.wait_ring(Duration::from_secs(30)).await;
    wait_placement(&c, &known, Duration::from_secs(60)).await;
    check_all(&c, &expect).await;

    // The killed node comes back, empty, at its old address.
    let via = c.random_addr();
    c.spawn_at(&addr, Some(&via));
    c.wait_ring(Duration::from_secs(30)).await;
    wait_placement(&c, &known, Duration::from_secs(60)).await;
    check_all(&c, &expect).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_during_a_kill_loses_no_acknowledged_write() {
    let mut c = Cluster::start(FAST, 8, false).await;
    let c = Arc::new(tokio::sync::RwLock::new(std::mem::replace(
        &mut c,
        Cluster::new(FAST),
    )));
    let stop = Arc::new(AtomicBool::new(false));
    // The writer cycles over 50 keys, writing increasing counters, for at most
    // 20 s or until told to stop; it records the last acknowledged value per key.
    let writer = {
        let c = c.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut acked: BTreeMap<String, u64> = BTreeMap::new();
            let (mut ok, mut failed) = (0u32, 0u32);
            let start = Instant::now();
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) && start.elapsed() < Duration::from_secs(20) {
                let key = format!("w-{}", n % 50);
                let status = {
                    let c = c.read().await;
                    c.put(&c.random_addr(), &key, &json!(n)).await.0
                };
                if status == 200 {
                    acked.insert(key, n);
                    ok += 1;
                } else {
                    assert_eq!(status, 503, "a failed write is reported as 503");
                    failed += 1;
                }
                n += 1;
            }
            (acked, ok, failed)
        })
    };
    // Kill a node once the writer is well under way.
    loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let c = c.read().await;
        let held: u64 = {
            let mut total = 0;
            for n in c.live() {
                total += c
                    .status(&n.addr)
                    .await
                    .and_then(|s| s["keys"].as_u64())
                    .unwrap_or(0);
            }
            total
        };
        if held >= 150 {
            break;
        }
    }
    {
        let mut c = c.write().await;
        let v = pick_victims(&c, 1)[0];
        c.kill(v);
    }
    c.read().await.wait_ring(Duration::from_secs(30)).await;
    // Keep writing a little after the ring healed, then stop.
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    let (acked, ok, failed) = writer.await.unwrap();
    println!("writer: {ok} acknowledged, {failed} reported failed");
    let c = c.read().await;
    for (key, n) in &acked {
        let (status, v, _, _) = c.get(&c.random_addr(), key).await;
        assert_eq!(status, 200, "{key}");
        let got = v.as_u64().unwrap();
        assert!(got >= *n, "{key}: read {got}, but {n} was acknowledged");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_restarted_empty_ends_up_with_exactly_its_keys() {
    let mut c = Cluster::start(FAST, 6, false).await;
    let (keys, known) = loaded(&c, "item", 600).await;
    let (addr, _) = kill_one_and_heal(&mut c, &known).await;
    let via = c.random_addr();
    c.spawn_at(&addr, Some(&via));
    c.wait_ring(Duration::from_secs(30)).await;
    wait_placement(&c, &known, Duration::from_secs(60)).await;
    let mine: BTreeSet<String> = c.keys_of(&addr).await.into_iter().map(|e| e.0).collect();
    let want: BTreeSet<String> = keys
        .iter()
        .filter(|k| c.holders(k).contains(&addr))
        .cloned()
        .collect();
    assert!(!want.is_empty());
    assert_eq!(mine, want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_hands_data_over_before_exit() {
    let mut c = Cluster::start(
        &[
            "--stabilize-ms",
            "100",
            "--repair-ms",
            "400",
            "--replicas",
            "2",
        ],
        6,
        false,
    )
    .await;
    let keys: Vec<String> = (0..300).map(|i| format!("t-{i}")).collect();
    write_all(&c, &keys, 1).await;
    let known: BTreeSet<String> = keys.iter().cloned().collect();
    wait_placement(&c, &known, Duration::from_secs(30)).await;
    // With R = 2, stopping two neighbours would lose their shared keys unless
    // the first one handed its data over on SIGTERM before exiting.
    let ids = c.sorted_ids();
    let a = c.nodes.iter().position(|n| n.id == ids[2]).unwrap();
    let b = c.nodes.iter().position(|n| n.id == ids[3]).unwrap();
    c.terminate(a);
    c.kill(b);
    c.wait_ring(Duration::from_secs(30)).await;
    wait_placement(&c, &known, Duration::from_secs(60)).await;
}

/// Ranges of more keys than one sync message carries are compared in
/// sub-ranges. (At 10^5 keys a single list once outgrew the body limit and
/// repair never finished; `bench/repair.py` measures that size.) With 50 pairs
/// per message instead of the default 4096, 1 500 keys on 4 nodes split ranges
/// as 24 000 keys did at the default.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repair_of_a_range_larger_than_one_sync_message() {
    const SYNC_LIST_MAX: usize = 50;
    let max = SYNC_LIST_MAX.to_string();
    let args = [FAST, &["--sync-list-max", &max]].concat();
    let mut c = Cluster::start(&args, 4, false).await;
    let (_, known) = loaded(&c, "big", 1500).await;
    let mut per_owner: BTreeMap<String, usize> = BTreeMap::new();
    for k in &known {
        *per_owner.entry(c.owner_of(k)).or_default() += 1;
    }
    let largest = per_owner.values().copied().max().unwrap_or(0);
    assert!(
        largest > 2 * SYNC_LIST_MAX,
        "no range needs sub-ranges: {per_owner:?}"
    );
    let (_, t) = kill_one_and_heal(&mut c, &known).await;
    println!("1500 keys on 3 survivors placed exactly {t:?} after the ring healed");
}

/// Regression (review finding): when a node joins, its successor's range
/// shrinks; copies written longer ago than the replica lease used to be dropped
/// by the successor (and its replicas) before the joiner had fetched them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joins_lose_no_old_keys() {
    let args = [
        "--stabilize-ms",
        "100",
        "--repair-ms",
        "200",
        "--replicas",
        "2",
    ];
    let mut c = Cluster::start(&args, 4, false).await;
    let keys: Vec<String> = (0..1500).map(|i| format!("old-{i}")).collect();
    write_all(&c, &keys, 1).await;
    let known: BTreeSet<String> = keys.iter().cloned().collect();
    wait_placement(&c, &known, Duration::from_secs(30)).await;
    // The scenario needs writes older than the lease (5 × 200 ms): that is
    // elapsed time itself, not a condition to poll for.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let expect: BTreeMap<String, Option<Value>> = keys
        .iter()
        .map(|k| (k.clone(), Some(json!({"k": k, "gen": 1}))))
        .collect();
    for _ in 0..4 {
        let via = c.random_addr();
        c.spawn(Some(&via));
        c.wait_ring(Duration::from_secs(30)).await;
        wait_placement(&c, &known, Duration::from_secs(30)).await;
        check_all(&c, &expect).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_owner_keeps_its_keys_on_its_replicas_however_slow_detection_is() {
    // A hung owner stops confirming its replica holders' copies. Failure
    // detection here is slow on purpose (3 missed 1.5 s calls, about 5 s) and
    // repair fast (100 ms), so the holders go unconfirmed for far longer than
    // several repair periods before the ring takes over the owner's range.
    // Going unconfirmed must not make them drop the copies: once the successor
    // owns the range, every key of the paused node reads back with its value,
    // never 404 (a 503 "try again" while the ring has not noticed is fine).
    let args = [
        "--stabilize-ms",
        "100",
        "--repair-ms",
        "100",
        "--rpc-timeout-ms",
        "1500",
    ];
    let mut c = Cluster::start(&args, 5, false).await;
    let keys: Vec<String> = (0..150).map(|i| format!("paused-{i}")).collect();
    write_all(&c, &keys, 1).await;
    // The owner of the first key: a node picked by index can own none of
    // the 150 keys when its arc of the ring happens to be tiny.
    let frozen_addr = c.owner_of(&keys[0]);
    let frozen = c
        .nodes
        .iter()
        .position(|n| n.addr == frozen_addr)
        .expect("the owner is a node of the cluster");
    let theirs: Vec<&String> = keys
        .iter()
        .filter(|k| c.owner_of(k) == frozen_addr)
        .collect();
    assert!(!theirs.is_empty(), "the paused node owns no key");
    c.freeze(frozen);
    let start = Instant::now();
    let entries: Vec<String> = c
        .live()
        .iter()
        .filter(|n| n.addr != frozen_addr)
        .map(|n| n.addr.clone())
        .collect();
    let mut pending: Vec<&String> = theirs.clone();
    let mut unavailable = 0;
    while !pending.is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(40),
            "{} keys of the paused node still unreadable after 40 s",
            pending.len()
        );
        let mut still = Vec::new();
        for (n, key) in pending.into_iter().enumerate() {
            let entry = &entries[n % entries.len()];
            let (status, body, owner, _) = c.get(entry, key).await;
            match status {
                200 => assert_eq!(body, json!({"k": key, "gen": 1}), "{key}"),
                503 => {
                    unavailable += 1;
                    still.push(key);
                }
                _ => panic!(
                    "{key} (owned by the paused node) through {entry}, answered by {owner} \
                     {:?} after the pause: {status} {body}",
                    start.elapsed()
                ),
            }
        }
        pending = still;
        if !pending.is_empty() {
            // A client's back-off between attempts, not a wait for a state.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    println!(
        "all {} keys of the paused node read back {:?} after the pause ({unavailable} answers were 503)",
        theirs.len(),
        start.elapsed()
    );
}
