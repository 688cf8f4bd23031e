//! The data API's commands and flags against a process-runtime ring:
//! `exists`, ETags on `put`, conditional puts, TTLs, multi-key `get`.
//!
//! Needs a chord-node binary: `CHORDCTL_NODE_BIN`, or
//! `target/debug/chord-node` (build it with `cargo build -p chord-node`).

mod common;

use common::ProcessCluster as Guard;
use std::time::Duration;

/// The `etag: "…"` line `put` and `exists` print on stderr.
fn etag_of(stderr: &str) -> String {
    stderr
        .lines()
        .find_map(|l| l.strip_prefix("etag: "))
        .unwrap_or_else(|| panic!("no etag line in {stderr:?}"))
        .to_string()
}

#[test]
fn data_commands_and_their_flags() {
    let mut guard = Guard::new("t-data");
    let ctl = guard.ctl.clone();
    let up = ctl.run(&["up", "3", "--timeout", "120"]);
    guard.remember_pids();
    up.ok("up 3");

    // `put` prints OK on stdout as before, the new version on stderr.
    let put = ctl.run(&["put", "doc", r#"{"v":1}"#]).ok("put");
    assert_eq!(put.stdout.trim(), "OK");
    let tag1 = etag_of(&put.stderr);
    assert!(tag1.starts_with('"') && tag1.ends_with('"'), "{tag1}");
    let json = ctl
        .run(&["-o", "json", "put", "doc", "2"])
        .ok("put -o json");
    let tag2 = json.json()["etag"].as_str().unwrap().to_string();
    assert_ne!(tag1, tag2);

    // `exists`: exit 0 and the current tag; exit 1 for a missing key.
    let yes = ctl.run(&["exists", "doc"]).ok("exists doc");
    assert_eq!(yes.stdout.trim(), "exists");
    assert_eq!(etag_of(&yes.stderr), tag2);
    let no = ctl.run(&["exists", "nope"]).expect_code(1, "exists nope");
    assert_eq!(no.stdout.trim(), "absent");
    let no = ctl.run(&["-o", "json", "exists", "nope"]);
    assert_eq!(no.code, 1);
    assert_eq!(no.json()["exists"], false);
    // `get` of one key prints the value exactly as before.
    let get = ctl.run(&["get", "doc"]).ok("get doc");
    assert_eq!(get.stdout, "2\n");

    // --if-match: the current tag writes, a stale one fails (exit 1, the
    // 412's message, the current tag on stderr) and changes nothing.
    let swap = ctl
        .run(&["put", "doc", "3", "--if-match", &tag2])
        .ok("put --if-match current");
    let tag3 = etag_of(&swap.stderr);
    let stale = ctl
        .run(&["put", "doc", "4", "--if-match", &tag2])
        .expect_code(1, "put --if-match stale");
    assert!(stale.stderr.contains("412"), "{}", stale.stderr);
    assert!(stale.stderr.contains("If-Match failed"), "{}", stale.stderr);
    assert_eq!(etag_of(&stale.stderr), tag3);
    assert_eq!(ctl.run(&["get", "doc"]).ok("get doc").stdout, "3\n");
    // A malformed tag is a usage error before anything is sent.
    ctl.run(&["put", "doc", "5", "--if-match", "v1"])
        .expect_code(2, "put --if-match malformed");

    // --create: only the first of two creates writes.
    ctl.run(&["put", "fresh", "1", "--create"])
        .ok("put --create absent");
    let again = ctl
        .run(&["put", "fresh", "2", "--create"])
        .expect_code(1, "put --create existing");
    assert!(again.stderr.contains("If-None-Match"), "{}", again.stderr);
    assert_eq!(ctl.run(&["get", "fresh"]).ok("get fresh").stdout, "1\n");

    // --ttl: the key is there, then (polled, bounded) absent everywhere.
    ctl.run(&["put", "brief", "1", "--ttl", "1s"])
        .ok("put --ttl");
    common::deadline::wait_until("brief expires", Duration::from_secs(20), || {
        match ctl.run(&["exists", "brief"]).code {
            1 => Ok(()),
            code => Err(format!("exists exits {code}")),
        }
    });
    ctl.run(&["get", "brief"])
        .expect_code(3, "get of an expired key");
    for bad in ["0", "soon", "1d"] {
        ctl.run(&["put", "brief", "1", "--ttl", bad])
            .expect_code(2, "put --ttl malformed");
    }

    // Several keys: one multi-get, one JSON object of the keys found.
    let many = ctl.run(&["get", "doc", "fresh", "doc"]).ok("get doc fresh");
    assert_eq!(many.stdout, "{\"doc\":3,\"fresh\":1}\n");
    let some = ctl
        .run(&["get", "doc", "brief", "nope"])
        .expect_code(3, "get with missing keys");
    assert_eq!(some.stdout, "{\"doc\":3}\n");
    assert!(some.stderr.contains("not found: brief"), "{}", some.stderr);
    assert!(some.stderr.contains("not found: nope"), "{}", some.stderr);
    let json = ctl.run(&["-o", "json", "get", "doc", "nope"]);
    assert_eq!(json.code, 3);
    let v = json.json();
    assert_eq!(v["etags"]["doc"], tag3.as_str());
    assert_eq!(v["missing"], serde_json::json!(["nope"]));
    ctl.run(&["get", "doc", "fresh", "--trace"])
        .expect_code(2, "--trace with several keys");
}
