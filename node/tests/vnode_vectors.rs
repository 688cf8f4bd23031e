//! The Python simulator's virtual-node vectors (`sim/vectors/vnodes-v1.json`)
//! against the Rust placement: position ids and addresses, the owner and the
//! holders (on distinct hosts) of every key, and each host's share of the ring.
//! Regenerate with `python -m chordsim vectors` (in `sim/`) and rerun both suites.

use chord_node::id::{ring_fraction, Id};
use chord_node::placement::holders_of;
use chord_node::ring::Peer;
use chord_proto::peer::{position_addr, position_id};
use serde_json::Value;
use std::collections::HashMap;

fn load() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../sim/vectors/vnodes-v1.json");
    let text = std::fs::read_to_string(path).expect("sim/vectors/vnodes-v1.json is committed");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["format"], "chord-vnode-vectors-v1");
    v
}

fn strs(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

/// Every position of every host, sorted by id: the ring the node's view
/// would hold once stable.
fn our_positions(hosts: &[String], vnodes: usize) -> Vec<Peer> {
    let mut out: Vec<Peer> = hosts
        .iter()
        .flat_map(|h| {
            (0..vnodes).map(move |i| Peer {
                id: position_id(h, i, vnodes),
                addr: position_addr(h, i),
            })
        })
        .collect();
    out.sort_by_key(|p| p.id);
    out
}

/// Each host's share of the ring: the sum of its positions' arcs (pred, pos].
fn our_shares(sorted: &[Peer]) -> HashMap<String, f64> {
    let mut out: HashMap<String, f64> = HashMap::new();
    for (i, p) in sorted.iter().enumerate() {
        let pred = &sorted[(i + sorted.len() - 1) % sorted.len()];
        *out.entry(p.host().to_string()).or_default() += ring_fraction(&pred.id, &p.id);
    }
    out
}

/// One case of the vector file; returns how many keys it checked.
fn check_case(case: &Value, replicas: usize) -> usize {
    let hosts = strs(&case["hosts"]);
    let vnodes = case["vnodes"].as_u64().unwrap() as usize;
    let name = format!("{} hosts x {vnodes}", hosts.len());
    let sorted = our_positions(&hosts, vnodes);

    // Positions: the same ids, addresses and hosts, in the same order.
    let want = case["positions"].as_array().unwrap();
    assert_eq!(sorted.len(), want.len(), "{name}: position count");
    for (ours, w) in sorted.iter().zip(want) {
        assert_eq!(ours.id.to_hex(), w["id"].as_str().unwrap(), "{name}: {w}");
        assert_eq!(ours.addr, w["addr"].as_str().unwrap(), "{name}: {w}");
        assert_eq!(ours.host(), w["host"].as_str().unwrap(), "{name}: {w}");
    }

    // Keys: owner and holders by the node's own rule.
    let keys = case["keys"].as_array().unwrap();
    for k in keys {
        let key = k["key"].as_str().unwrap();
        let kid = Id::hash(key.as_bytes());
        assert_eq!(kid.to_hex(), k["id"].as_str().unwrap(), "SHA-1 of {key:?}");
        let holders: Vec<String> = holders_of(&sorted, &kid, replicas)
            .iter()
            .map(|i| sorted[*i].addr.clone())
            .collect();
        assert_eq!(
            holders[0],
            k["owner"].as_str().unwrap(),
            "{name}: owner of {key}"
        );
        assert_eq!(holders, strs(&k["holders"]), "{name}: holders of {key}");
    }

    // Shares of the ring per host, and the busiest host against the mean.
    let shares = our_shares(&sorted);
    let want = case["shares"].as_object().unwrap();
    assert_eq!(shares.len(), want.len(), "{name}: hosts with a share");
    for (host, w) in want {
        let w = w.as_f64().unwrap();
        assert!(
            (shares[host] - w).abs() < 1e-12,
            "{name}: share of {host}: {} vs {w}",
            shares[host]
        );
    }
    let busiest = shares.values().copied().fold(0.0, f64::max) * hosts.len() as f64;
    let w = case["busiest_over_mean"].as_f64().unwrap();
    assert!(
        (busiest - w).abs() < 1e-9,
        "{name}: busiest/mean {busiest} vs {w}"
    );
    keys.len()
}

#[test]
fn vnode_positions_holders_and_shares_match_the_simulator() {
    let v = load();
    let replicas = v["replicas"].as_u64().unwrap() as usize;
    let cases = v["cases"].as_array().unwrap();
    assert!(cases.len() >= 3, "{} cases", cases.len());
    let checked: usize = cases.iter().map(|c| check_case(c, replicas)).sum();
    assert!(checked >= 500, "{checked} keys");
}
