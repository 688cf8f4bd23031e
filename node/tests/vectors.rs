//! The Python simulator's test vectors (`sim/vectors/ring-v1.json`) against the
//! node's own ring arithmetic, finger computation, owner choice and next hop.
//! Regenerate with `python -m chordsim vectors` (in `sim/`) and rerun both suites.

use chord_node::id::{in_half_open, in_open, Id};
use chord_node::placement::{finger_table, holders_of, successor_of};
use chord_node::ring::Peer;
use chord_node::routing::{Hop, RouteView};
use serde_json::Value;
use std::collections::HashMap;

fn load() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../sim/vectors/ring-v1.json");
    let text = std::fs::read_to_string(path).expect("sim/vectors/ring-v1.json is committed");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["format"], "chord-ring-vectors-v1");
    v
}

fn id(v: &Value) -> Id {
    Id::from_hex(v.as_str().unwrap()).unwrap()
}

fn strs(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn interval_and_finger_start_arithmetic() {
    let v = load();
    let cases = v["intervals"].as_array().unwrap();
    assert!(cases.len() >= 40);
    for c in cases {
        let (x, a, b) = (id(&c["x"]), id(&c["a"]), id(&c["b"]));
        assert_eq!(in_open(&x, &a, &b), c["open"].as_bool().unwrap(), "{c}");
        assert_eq!(
            in_half_open(&x, &a, &b),
            c["half_open"].as_bool().unwrap(),
            "{c}"
        );
    }
    let starts = v["finger_starts"].as_array().unwrap();
    assert!(starts.len() >= 30);
    for c in starts {
        let i = c["i"].as_u64().unwrap() as usize;
        assert_eq!(id(&c["n"]).finger_start(i), id(&c["start"]), "{c}");
    }
}

/// One ring of the vector file: node tables, keys and routes.
fn check_ring(ring: &Value, replicas: usize, list_len: usize) -> usize {
    let nodes = ring["nodes"].as_array().unwrap();
    let by_addr: HashMap<String, Peer> = nodes
        .iter()
        .map(|n| {
            let addr = n["addr"].as_str().unwrap().to_string();
            let p = Peer::from_addr(&addr);
            assert_eq!(p.id, id(&n["id"]), "SHA-1 of {addr}");
            (addr, p)
        })
        .collect();
    let mut sorted: Vec<Id> = by_addr.values().map(|p| p.id).collect();
    sorted.sort();
    let addr_of = |i: &Id| by_addr.values().find(|p| p.id == *i).unwrap().addr.clone();

    // Tables: fingers and successor lists of the stable ring.
    struct Table {
        me: Peer,
        pred: Option<Peer>,
        succs: Vec<Peer>,
        fingers: Vec<Option<Peer>>,
    }
    let mut tables: HashMap<String, Table> = HashMap::new();
    for t in ring["tables"].as_array().unwrap() {
        let me = by_addr[t["addr"].as_str().unwrap()].clone();
        let fingers = strs(&t["fingers"]);
        let ours: Vec<String> = finger_table(&sorted, &me.id)
            .iter()
            .map(|i| addr_of(&sorted[*i]))
            .collect();
        assert_eq!(ours, fingers, "finger table of {}", me.addr);
        let pos = sorted.iter().position(|i| *i == me.id).unwrap();
        let n = sorted.len();
        let want_succs: Vec<String> = (1..n.min(list_len + 1))
            .map(|k| addr_of(&sorted[(pos + k) % n]))
            .collect();
        let succs = strs(&t["successors"]);
        assert_eq!(succs, want_succs, "successor list of {}", me.addr);
        let pred = t["predecessor"].as_str().map(|a| by_addr[a].clone());
        tables.insert(
            me.addr.clone(),
            Table {
                pred: pred.filter(|p| p.id != me.id),
                succs: succs.iter().map(|a| by_addr[a].clone()).collect(),
                fingers: fingers.iter().map(|a| Some(by_addr[a].clone())).collect(),
                me,
            },
        );
    }

    // Keys: ids, owners, replica sets.
    for k in ring["keys"].as_array().unwrap() {
        let key = k["key"].as_str().unwrap();
        let kid = Id::hash(key.as_bytes());
        assert_eq!(kid, id(&k["id"]), "SHA-1 of key {key:?}");
        let owner = successor_of(&sorted, &kid).unwrap();
        assert_eq!(
            addr_of(&sorted[owner]),
            k["owner"].as_str().unwrap(),
            "{key}"
        );
        let positions: Vec<Peer> = sorted
            .iter()
            .map(|i| Peer {
                id: *i,
                addr: addr_of(i),
            })
            .collect();
        let holders: Vec<String> = holders_of(&positions, &kid, replicas)
            .iter()
            .map(|i| addr_of(&sorted[*i]))
            .collect();
        assert_eq!(holders, strs(&k["replicas"]), "replicas of {key}");
    }

    // Routes: follow the node's own next-hop rule from table to table.
    let routes = ring["routes"].as_array().unwrap();
    for r in routes {
        let key = r["key"].as_str().unwrap();
        let kid = Id::hash(key.as_bytes());
        let mut at = r["entry"].as_str().unwrap().to_string();
        let mut path = Vec::new();
        loop {
            let t = &tables[&at];
            let view = RouteView {
                me: &t.me,
                predecessor: t.pred.as_ref(),
                successors: &t.succs,
                fingers: &t.fingers,
            };
            match view.next_hop(&kid, &[]) {
                Hop::Local => break,
                Hop::Owner(p) => {
                    path.push(p.addr.clone());
                    break;
                }
                Hop::Forward(p) => {
                    path.push(p.addr.clone());
                    at = p.addr;
                }
            }
            assert!(path.len() <= 64, "route for {key} does not end");
        }
        assert_eq!(path, strs(&r["path"]), "path of {key} from {}", r["entry"]);
        assert_eq!(path.len() as u64, r["hops"].as_u64().unwrap());
    }
    routes.len()
}

#[test]
fn stable_ring_tables_owners_and_routes_match_the_simulator() {
    let v = load();
    let replicas = v["replicas"].as_u64().unwrap() as usize;
    let list_len = v["successor_list_length"].as_u64().unwrap() as usize;
    let n = check_ring(&v, replicas, list_len);
    assert!(n >= 300, "{n} routes");
    for small in v["small_rings"].as_array().unwrap() {
        check_ring(small, replicas, list_len);
    }
}
