//! Virtual nodes on real processes: every node takes its positions, the
//! positions of all nodes form one ring, a key's copies sit on distinct
//! nodes, and a node's death (all its positions at once) loses nothing.

mod common;

use chord_node::id::Id;
use chord_node::placement::holders_of;
use chord_node::ring::Peer;
use chord_proto::peer::{position_addr, position_id};
use common::{Cluster, FAST};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// Every live node's positions as it reports them (`/status`), by id.
async fn positions(c: &Cluster) -> Result<Vec<Value>, String> {
    let mut all = Vec::new();
    for n in c.live() {
        let st = c
            .status(&n.addr)
            .await
            .ok_or(format!("{}: no status", n.addr))?;
        match st["positions"].as_array() {
            Some(ps) => all.extend(ps.iter().cloned()),
            None => all.push(st),
        }
    }
    all.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    Ok(all)
}

/// The live positions as peers, by id.
async fn ring(c: &Cluster) -> Vec<Peer> {
    positions(c)
        .await
        .unwrap()
        .iter()
        .map(|p| Peer {
            id: Id::from_hex(p["id"].as_str().unwrap()).unwrap(),
            addr: p["addr"].as_str().unwrap().to_string(),
        })
        .collect()
}

/// Whether each position's successor and predecessor are its neighbours
/// among all live positions.
async fn ring_is_correct(c: &Cluster, want_positions: usize) -> Result<(), String> {
    let ps = positions(c).await?;
    if ps.len() != want_positions {
        return Err(format!("{} positions, want {want_positions}", ps.len()));
    }
    let n = ps.len();
    for (i, p) in ps.iter().enumerate() {
        let succ = p["successors"][0]["id"].as_str();
        let pred = p["predecessor"]["id"].as_str();
        let (want_succ, want_pred) = (
            ps[(i + 1) % n]["id"].as_str(),
            ps[(i + n - 1) % n]["id"].as_str(),
        );
        if succ != want_succ || pred != want_pred {
            return Err(format!(
                "{}: successor {succ:?} predecessor {pred:?}, want {want_succ:?} {want_pred:?}",
                p["addr"]
            ));
        }
    }
    Ok(())
}

async fn wait_ring(c: &Cluster, want_positions: usize, timeout: Duration) {
    let start = Instant::now();
    loop {
        match ring_is_correct(c, want_positions).await {
            Ok(()) => return,
            Err(e) if start.elapsed() > timeout => panic!("ring of positions not correct: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// Keys not held, at one version, by exactly the nodes (hosts) the
/// placement rule names over the live positions.
async fn misplaced(c: &Cluster, keys: &BTreeSet<String>) -> Vec<String> {
    let ring = ring(c).await;
    let mut held: BTreeMap<String, BTreeSet<(String, String)>> = BTreeMap::new();
    for n in c.live() {
        for (key, version, _) in c.keys_of(&n.addr).await {
            held.entry(key)
                .or_default()
                .insert((n.addr.clone(), version));
        }
    }
    let mut problems = Vec::new();
    for key in keys {
        let want: BTreeSet<String> = holders_of(&ring, &Id::hash(key.as_bytes()), c.replicas)
            .into_iter()
            .map(|i| ring[i].host().to_string())
            .collect();
        let copies = held.get(key).cloned().unwrap_or_default();
        let nodes: BTreeSet<String> = copies.iter().map(|(a, _)| a.clone()).collect();
        let versions: BTreeSet<&String> = copies.iter().map(|(_, v)| v).collect();
        if nodes != want || versions.len() != 1 {
            problems.push(format!(
                "{key}: on {nodes:?}, want {want:?}, versions {versions:?}"
            ));
        }
    }
    problems
}

async fn wait_placed(c: &Cluster, keys: &BTreeSet<String>, timeout: Duration) {
    let start = Instant::now();
    loop {
        let problems = misplaced(c, keys).await;
        if problems.is_empty() {
            return;
        }
        assert!(
            start.elapsed() < timeout,
            "{} keys misplaced, e.g. {}",
            problems.len(),
            problems[0]
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `nodes` nodes with `v` positions each and `extra` flags, all joined
/// through the first, once the ring of all positions is correct.
async fn start_ring(nodes: usize, v: usize, extra: &[&str]) -> Cluster {
    let vnodes = v.to_string();
    let mut args = FAST.to_vec();
    args.extend(["--vnodes", vnodes.as_str()]);
    args.extend(extra);
    let mut c = Cluster::new(&args);
    c.spawn(None);
    let seed = c.nodes[0].addr.clone();
    for _ in 1..nodes {
        c.spawn(Some(&seed));
    }
    wait_ring(&c, nodes * v, Duration::from_secs(60)).await;
    c
}

/// Writes key i of `keys` with `value(i)` through the nodes in turn.
async fn write_all(c: &Cluster, keys: &BTreeSet<String>, value: impl Fn(usize) -> Value) {
    for (i, key) in keys.iter().enumerate() {
        let entry = c.nodes[i % c.nodes.len()].addr.clone();
        let (status, _, _) = c.put(&entry, key, &value(i)).await;
        assert_eq!(status, 200, "put {key}");
    }
}

/// Every key of `keys` reads `value(i)` through the live nodes, never 404
/// (a lost key); a 503 is asked again while the ring finds out what
/// happened (`after` names it), up to 30 s.
async fn all_read(
    c: &Cluster,
    keys: &BTreeSet<String>,
    value: impl Fn(usize) -> Value,
    after: &str,
) {
    let deadline = Instant::now() + Duration::from_secs(30);
    for (i, key) in keys.iter().enumerate() {
        loop {
            let live = c.live();
            let entry = live[i % live.len()].addr.clone();
            let (status, body, _, _) = c.get(&entry, key).await;
            assert_ne!(status, 404, "{key} lost {after}");
            if status == 200 {
                assert_eq!(body, value(i), "{key}");
                break;
            }
            assert!(Instant::now() < deadline, "{key}: still {status} {after}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

#[tokio::test]
async fn copies_sit_on_distinct_nodes_and_a_node_death_loses_nothing() {
    const NODES: usize = 4;
    const V: usize = 8;
    let mut c = start_ring(NODES, V, &[]).await;

    // Each node takes the positions the rule names.
    for n in c.live() {
        let st = c.status(&n.addr).await.unwrap();
        let ps = st["positions"].as_array().unwrap();
        assert_eq!(ps.len(), V, "{}", n.addr);
        for (i, p) in ps.iter().enumerate() {
            assert_eq!(p["addr"], json!(position_addr(&n.addr, i)));
            assert_eq!(p["id"], json!(position_id(&n.addr, i, V).to_hex()));
        }
        assert_eq!(st["id"], ps[0]["id"], "the top level is position 0");
    }

    let keys: BTreeSet<String> = (0..60).map(|i| format!("vk-{i}")).collect();
    let value = |i: usize| json!({ "i": i });
    write_all(&c, &keys, value).await;
    wait_placed(&c, &keys, Duration::from_secs(30)).await;

    // A node dies with all its positions: every key still reads its value
    // (it had copies on two other nodes), and repair puts each back on
    // three nodes.
    c.kill(1);
    all_read(&c, &keys, value, "with node 1").await;
    wait_ring(&c, (NODES - 1) * V, Duration::from_secs(60)).await;
    wait_placed(&c, &keys, Duration::from_secs(30)).await;
}

#[tokio::test]
async fn a_node_that_leaves_hands_its_keys_over_and_its_neighbours_close_the_ring() {
    // R = 2: a key whose two copies were on the leaving node and one other
    // has a single copy left unless the hand-off (or repair) makes another.
    const NODES: usize = 4;
    const V: usize = 8;
    let mut c = start_ring(NODES, V, &["--replicas", "2"]).await;
    let keys: BTreeSet<String> = (0..60).map(|i| format!("lk-{i}")).collect();
    let value = |i: usize| json!(i);
    write_all(&c, &keys, value).await;
    wait_placed(&c, &keys, Duration::from_secs(30)).await;

    // SIGTERM: its positions leave one by one, each naming only positions
    // still in the ring to its neighbours.
    c.terminate(2);
    all_read(&c, &keys, value, "when node 2 left").await;
    wait_ring(&c, (NODES - 1) * V, Duration::from_secs(60)).await;
    wait_placed(&c, &keys, Duration::from_secs(30)).await;
}

#[tokio::test]
async fn a_lone_node_with_positions_is_a_ring_of_its_own() {
    let c = start_ring(1, 4, &[]).await;
    let addr = c.nodes[0].addr.clone();
    for i in 0..20 {
        let (status, _, _) = c.put(&addr, &format!("k{i}"), &json!(i)).await;
        assert_eq!(status, 200);
    }
    for i in 0..20 {
        let (status, body, owner, hops) = c.get(&addr, &format!("k{i}")).await;
        assert_eq!((status, body), (200, json!(i)));
        // Entered at the owning position: no hop, and the owner is one of
        // this node's positions.
        assert_eq!(hops, 0, "k{i}");
        assert!(
            owner == addr || owner.starts_with(&format!("{addr}/v")),
            "{owner}"
        );
    }
    assert_eq!(c.delete(&addr, "k0").await, 200);
    // Deleted: never the old value; 503 ("try again") while the positions,
    // which just formed their ring, may still be moving keys among them.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match c.get(&addr, "k0").await.0 {
            404 => break,
            503 if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            other => panic!("a deleted key read {other}"),
        }
    }

    // The node's own answers sum its positions; each position answers its own.
    let st = c.status(&addr).await.unwrap();
    assert_eq!(st["keys"], json!(19));
    let owned: u64 = st["positions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["keys_owned"].as_u64().unwrap())
        .sum();
    assert_eq!(owned, 19);
    assert_eq!(
        c.metric(&addr, "chord_keys{kind=\"owned\"}").await,
        Some(19.0)
    );
    let p2 = c.status(&format!("{addr}/v2")).await.unwrap();
    assert_eq!(p2["addr"], json!(format!("{addr}/v2")));
    assert!(p2.get("positions").is_none());
    let none = c
        .http
        .get(format!("http://{addr}/v4/status"))
        .send()
        .await
        .unwrap();
    assert_eq!(none.status().as_u16(), 404);
    assert_eq!(
        c.keys_of(&addr).await.len(),
        20,
        "19 values and a tombstone, each once"
    );
}
