//! The full scenario with `--runtime process`: nodes are local processes.
//!
//! Needs a chord-node binary: `CHORDCTL_NODE_BIN`, or
//! `target/debug/chord-node` (build it with `cargo build -p chord-node`).

mod common;

use common::{is_live_node, recorded_pids, ProcessCluster as Guard};

#[test]
fn process_cluster_survives_two_kills_and_down_leaves_nothing() {
    let mut guard = Guard::new("t-proc");
    let (ctl, state_dir, cluster, bin) = (
        guard.ctl.clone(),
        guard.state_dir.clone(),
        guard.cluster.clone(),
        guard.bin.clone(),
    );

    let up = ctl.run(&["up", "8", "--replicas", "3", "--timeout", "120"]);
    guard.remember_pids();
    let up = up.ok("up 8");
    assert_eq!(
        up.stdout.lines().filter(|l| l.contains(" up ")).count(),
        8,
        "{}",
        up.stdout
    );

    // A second `up` refuses instead of making another cluster.
    let again = ctl.run(&["up", "3"]).expect_code(1, "second up");
    assert!(again.stderr.contains("already exists"), "{}", again.stderr);

    common::scenario(&ctl, 8);

    let logs = ctl.run(&["logs", &format!("chord-{cluster}-1")]).ok("logs");
    assert!(!logs.stdout.trim().is_empty(), "empty log");

    let pids = recorded_pids(&state_dir, &cluster);
    assert_eq!(pids.len(), 8);
    ctl.run(&["down"]).ok("down");
    let left: Vec<i32> = pids
        .into_iter()
        .filter(|&p| is_live_node(p, &bin))
        .collect();
    assert!(left.is_empty(), "processes left after down: {left:?}");
    assert!(!state_dir
        .join("chordctl")
        .join(format!("{cluster}.json"))
        .exists());
    // Idempotent.
    let again = ctl.run(&["down"]).ok("second down");
    assert!(
        again.stdout.contains("nothing to remove"),
        "{}",
        again.stdout
    );
    ctl.run(&["status"])
        .expect_code(1, "status of a removed cluster");
}

#[test]
fn a_seeded_chaos_run_with_processes_loses_nothing() {
    let mut guard = Guard::new("t-pchaos");
    let ctl = guard.ctl.clone();
    ctl.run(&["up", "6", "--timeout", "120"]).ok("up 6");
    guard.remember_pids();
    // Partitions need separate networks: refused here, with the reason.
    let refused = ctl
        .run(&[
            "chaos",
            "--duration",
            "5",
            "--interval",
            "2",
            "--nemesis",
            "partition",
        ])
        .expect_code(2, "chaos --nemesis partition with processes");
    assert!(refused.stderr.contains("Docker"), "{}", refused.stderr);
    common::chaos_passes(
        &ctl,
        &[
            "--duration",
            "60",
            "--interval",
            "6",
            "--seed",
            "11",
            "--clients",
            "4",
            "--nemesis",
            "kill,restart,pause,join",
        ],
        &["kill", "restart", "pause", "join"],
    );
    guard.remember_pids();
}

/// The data-name of every node mark in an SVG picture of the ring.
fn node_marks(svg: &str) -> Vec<String> {
    let doc = roxmltree::Document::parse(svg)
        .unwrap_or_else(|e| panic!("the picture is not well-formed XML ({e}):\n{svg}"));
    assert!(doc.root_element().attribute("viewBox").is_some());
    doc.descendants()
        .filter(|e| e.attribute("class") == Some("node"))
        .map(|e| e.attribute("data-name").unwrap_or_default().to_string())
        .collect()
}

#[test]
fn ring_svg_of_a_4_node_ring_marks_4_nodes() {
    let mut guard = Guard::new("t-psvg");
    let ctl = guard.ctl.clone();
    let up = ctl.run(&["up", "4", "--timeout", "120"]);
    guard.remember_pids();
    up.ok("up 4");
    let file = guard.state_dir.join("ring.svg");
    let file_arg = file.to_str().unwrap();

    // --svg FILE writes the picture and keeps the table on stdout.
    let run = ctl.run(&["ring", "--svg", file_arg]).ok("ring --svg");
    assert!(run.stdout.starts_with("NAME"), "{}", run.stdout);
    let mut marks = node_marks(&std::fs::read_to_string(&file).unwrap());
    marks.sort();
    let mut names: Vec<String> = (1..=4)
        .map(|i| format!("chord-{}-{i}", guard.cluster))
        .collect();
    names.sort();
    assert_eq!(marks, names);

    // -o svg prints it; --node by index draws that node's fingers.
    let run = ctl
        .run(&["-o", "svg", "ring", "--node", "2"])
        .ok("-o svg ring");
    assert_eq!(node_marks(&run.stdout).len(), 4);
    assert!(run.stdout.contains("class=\"fingers\""), "{}", run.stdout);
}

#[test]
fn get_trace_prints_the_path_and_ring_trace_draws_it() {
    let mut guard = Guard::new("t-ptrace");
    let ctl = guard.ctl.clone();
    let up = ctl.run(&["up", "4", "--timeout", "120"]);
    guard.remember_pids();
    up.ok("up 4");
    let put = ctl
        .run(&["put", "--trace", "traced", "[1]"])
        .ok("put --trace");
    assert_eq!(put.stdout.trim(), "OK");

    // stdout is the value as always; stderr the path, then (-v) the owner.
    let get = ctl
        .run(&["-v", "get", "--trace", "traced"])
        .ok("get --trace");
    assert_eq!(get.stdout.trim(), "[1]");
    let mut lines = get.stderr.lines();
    let path = lines.next().unwrap_or_default();
    let owner = (lines.find_map(|l| l.strip_prefix("owner: ")))
        .and_then(|o| o.split(' ').next())
        .unwrap_or_else(|| panic!("no owner line in {}", get.stderr));
    let prefix = format!("chord-{}-", guard.cluster);
    assert!(path.starts_with(&prefix), "{path}");
    // The last hop before the direct reply (or the only one, when the entry
    // owned the key) is the owner.
    let (forwards, reply) = path.split_once(" ⇒ ").unwrap_or((path, ""));
    let last = forwards.rsplit(" → ").next().unwrap();
    assert!(last.starts_with(&format!("{owner} (")), "{path}");
    assert!(last.ends_with("owner)"), "{path}");
    if !reply.is_empty() {
        let entry = path.split(' ').next().unwrap();
        assert_eq!(reply, format!("{entry} (direct reply)"), "{path}");
    }

    // ring --svg --trace KEY draws the route; the table stays on stdout.
    let file = guard.state_dir.join("traced.svg");
    let file_arg = file.to_str().unwrap();
    let ring = (ctl.run(&["ring", "--svg", file_arg, "--trace", "traced"])).ok("ring --trace");
    assert!(ring.stdout.starts_with("NAME"), "{}", ring.stdout);
    let svg = std::fs::read_to_string(&file).unwrap();
    assert_eq!(node_marks(&svg).len(), 4);
    assert!(svg.contains("class=\"trace\""), "{svg}");
    assert!(svg.contains("lookup of traced"), "{svg}");
}
