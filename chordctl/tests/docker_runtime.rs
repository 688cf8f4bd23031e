//! The full scenario with the default Docker runtime.
//!
//! Needs the static chord-node (the image is FROM scratch):
//! `CHORDCTL_NODE_BIN`, or `target/x86_64-unknown-linux-gnu/release/chord-node`.
//! Fails with the build command when it is missing; skips (saying why) only
//! when no Docker engine can be reached.

mod common;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bollard::query_parameters::{
    ListContainersOptionsBuilder, ListNetworksOptionsBuilder, RemoveContainerOptionsBuilder,
    RemoveImageOptions,
};
use bollard::Docker;
use common::deadline::wait_until;
use common::{block_on, engine, target_dir, unique, Ctl};

const BUILD_HINT: &str = "RUSTFLAGS='-C target-feature=+crt-static' cargo build --release \
--target x86_64-unknown-linux-gnu -p chord-node";

fn static_node_bin() -> PathBuf {
    if let Some(path) = std::env::var_os("CHORDCTL_NODE_BIN") {
        return PathBuf::from(path);
    }
    let path = target_dir().join("x86_64-unknown-linux-gnu/release/chord-node");
    assert!(
        path.is_file(),
        "the Docker test needs the static chord-node at {} (or CHORDCTL_NODE_BIN); build it with:\n  {BUILD_HINT}",
        path.display()
    );
    path
}

fn label_filter(cluster: &str) -> HashMap<String, Vec<String>> {
    HashMap::from([(
        "label".to_string(),
        vec![format!("io.chordctl.cluster={cluster}")],
    )])
}

/// Names of the containers and networks that carry the cluster's label.
fn leftovers(docker: &Docker, cluster: &str) -> (Vec<String>, Vec<String>) {
    block_on(async {
        let containers = docker
            .list_containers(Some(
                ListContainersOptionsBuilder::default()
                    .all(true)
                    .filters(&label_filter(cluster))
                    .build(),
            ))
            .await
            .expect("listing containers");
        let networks = docker
            .list_networks(Some(
                ListNetworksOptionsBuilder::default()
                    .filters(&label_filter(cluster))
                    .build(),
            ))
            .await
            .expect("listing networks");
        (
            containers.into_iter().filter_map(|c| c.id).collect(),
            networks.into_iter().filter_map(|n| n.name).collect(),
        )
    })
}

/// Runs `chordctl down` on drop and then removes, through the engine,
/// anything of the cluster that is still there.
struct Guard {
    ctl: Ctl,
    docker: Docker,
    cluster: String,
    /// A test-only image tag, removed at the end (the user's images are left alone).
    image: String,
}

impl Guard {
    /// A fresh cluster name with its chordctl and test image tag, or `None`
    /// (the test skips, saying why) when no Docker engine can be reached.
    fn new(prefix: &str) -> Option<Guard> {
        let docker = match engine() {
            Ok(d) => d,
            Err(reason) => {
                eprintln!("SKIPPED: no Docker engine reachable ({reason})");
                return None;
            }
        };
        let bin = static_node_bin();
        let cluster = unique(prefix);
        let ctl = Ctl::new(
            &["--cluster", &cluster],
            &[("CHORDCTL_NODE_BIN", bin.to_str().unwrap())],
        );
        let image = format!("chord-node:test-{cluster}");
        Some(Guard {
            ctl,
            docker,
            cluster,
            image,
        })
    }

    /// What a test uses: chordctl, the engine, the cluster name, the image tag.
    fn parts(&self) -> (Ctl, Docker, String, String) {
        (
            self.ctl.clone(),
            self.docker.clone(),
            self.cluster.clone(),
            self.image.clone(),
        )
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.ctl.run(&["down"]);
        let (containers, networks) = leftovers(&self.docker, &self.cluster);
        block_on(async {
            let force = RemoveContainerOptionsBuilder::default().force(true).build();
            for id in containers {
                let _ = self.docker.remove_container(&id, Some(force.clone())).await;
            }
            for name in networks {
                let _ = self.docker.remove_network(&name).await;
            }
            let _ = self
                .docker
                .remove_image(&self.image, None::<RemoveImageOptions>, None)
                .await;
        });
    }
}

#[test]
fn docker_cluster_survives_two_kills_and_down_leaves_nothing() {
    let Some(guard) = Guard::new("t-dock") else {
        return;
    };
    let (ctl, docker, cluster, image) = guard.parts();

    let up = ctl
        .run(&[
            "up",
            "8",
            "--image",
            &image,
            "--timeout",
            "180",
            "-o",
            "json",
        ])
        .ok("up 8");
    let nodes = up.json()["nodes"].as_array().expect("nodes").clone();
    assert_eq!(nodes.len(), 8);
    for n in &nodes {
        let address = n["address"].as_str().expect("address");
        assert!(
            address.starts_with("127.0.0.1:"),
            "published on loopback only: {address}"
        );
        assert_eq!(
            n["advertise"],
            format!("{}:7000", n["name"].as_str().unwrap())
        );
    }

    let again = ctl.run(&["up", "3"]).expect_code(1, "second up");
    assert!(again.stderr.contains("already exists"), "{}", again.stderr);

    common::scenario(&ctl, 8);

    let first = format!("chord-{cluster}-1");
    let logs = ctl.run(&["logs", &first]).ok("logs");
    assert!(!logs.stdout.trim().is_empty(), "empty log of {first}");

    ctl.run(&["down"]).ok("down");
    let (containers, networks) = leftovers(&docker, &cluster);
    assert!(containers.is_empty(), "containers left: {containers:?}");
    assert!(networks.is_empty(), "networks left: {networks:?}");
    ctl.run(&["down"]).ok("second down");
}

/// Polls `chordctl ring` until its exit code is `code`; returns how long that took.
fn wait_ring_code(ctl: &Ctl, code: i32, limit: Duration, what: &str) -> Duration {
    let start = Instant::now();
    wait_until(&format!("{what}: `ring` exits {code}"), limit, || {
        let run = ctl.run(&["ring"]);
        if run.code == code {
            return Ok(start.elapsed());
        }
        Err(format!(
            "`ring` exits {}:\n{}{}",
            run.code, run.stdout, run.stderr
        ))
    })
}

#[test]
fn a_healed_partition_becomes_one_ring_and_the_newest_writes_win() {
    // The scenario that used to leave two rings for good: nodes 1-3 of 8 on a
    // network of their own (each side keeps ring neighbours), every key
    // written again meanwhile, then the heal.
    let Some(guard) = Guard::new("t-part") else {
        return;
    };
    let (ctl, docker, cluster, image) = guard.parts();
    ctl.run(&["up", "8", "--image", &image, "--timeout", "180"])
        .ok("up 8");
    let keys: Vec<String> = (0..100).map(|i| format!("part:{i}")).collect();
    for k in &keys {
        ctl.run(&["put", k, r#"{"gen":1}"#]).ok("put gen 1");
    }

    let cut = ctl
        .run(&["partition", "1,2,3", "-o", "json"])
        .ok("partition")
        .json();
    assert_eq!(cut["groups"][0].as_array().map(Vec::len), Some(3), "{cut}");
    assert_eq!(cut["rest"].as_array().map(Vec::len), Some(5), "{cut}");
    // The split is real: the ring check sees two rings.
    let split = wait_ring_code(&ctl, 4, Duration::from_secs(60), "after the cut");
    // Every key written again on whichever side the entry node is. A write
    // may fail while a side is still dropping the other's nodes; a client
    // retries it (bounded), and every key must end up acknowledged.
    let start = Instant::now();
    for k in &keys {
        let mut tries = 0;
        loop {
            let run = ctl.run(&["put", k, r#"{"gen":2}"#]);
            if run.code == 0 {
                break;
            }
            tries += 1;
            assert!(
                tries < 40 && start.elapsed() < Duration::from_secs(120),
                "put {k} during the partition kept failing: {}",
                run.stderr
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    let healed = ctl.run(&["heal", "-o", "json"]).ok("heal").json();
    assert_eq!(
        healed["healed"].as_array().map(Vec::len),
        Some(3),
        "{healed}"
    );
    let merged = wait_ring_code(&ctl, 0, Duration::from_secs(30), "after the heal");
    let check_start = Instant::now();
    let check = ctl
        .run(&["check", "--wait", "60", "-o", "json"])
        .ok("check after the heal")
        .json();
    assert_eq!(check["data"]["lost"].as_array().map(Vec::len), Some(0));
    println!(
        "two rings {split:?} after the cut; one correct ring {merged:?} after the heal; \
         check clean {:?} later",
        check_start.elapsed()
    );
    for k in &keys {
        let run = ctl.run(&["get", k]).ok("get after the heal");
        let got: serde_json::Value = serde_json::from_str(run.stdout.trim()).unwrap();
        assert_eq!(got, serde_json::json!({"gen": 2}), "{k}: an older value");
    }
    let again = ctl.run(&["heal"]).ok("second heal");
    assert!(again.stdout.contains("nothing to heal"), "{}", again.stdout);
    ctl.run(&["down"]).ok("down");
    let (containers, networks) = leftovers(&docker, &cluster);
    assert!(
        containers.is_empty() && networks.is_empty(),
        "left: {containers:?} {networks:?}"
    );
}

#[test]
fn a_seeded_chaos_run_in_docker_loses_nothing() {
    let Some(guard) = Guard::new("t-chaos") else {
        return;
    };
    let (ctl, _docker, _cluster, image) = guard.parts();
    ctl.run(&["up", "6", "--image", &image, "--timeout", "180"])
        .ok("up 6");
    common::chaos_passes(
        &ctl,
        &[
            "--duration",
            "60",
            "--interval",
            "8",
            "--seed",
            "7",
            "--clients",
            "4",
            "--nemesis",
            "kill,pause,partition",
        ],
        &["kill", "pause", "partition"],
    );
}
