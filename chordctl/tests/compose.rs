//! The Compose setup (`compose/compose.yaml`) end to end, through the real
//! commands, once under Compose v2 (`docker compose`, the CLI plugin) and
//! once under Compose 1.x (`docker-compose`):
//!
//! - the ring: build the image under a test-only tag, `up -d` (seed + 4
//!   nodes) under a unique project name with the seed on a free host port,
//!   wait for healthy containers and a correct ring, put and get through the
//!   published ports, read the ring with `chordctl --compose=PROJECT` (whose
//!   rows carry each version's container names), scale to 7 nodes, stop
//!   (every node must exit 0 after its SIGTERM hand-off), `down`, and check
//!   that no container, network, volume or image of the test is left;
//! - a fresh clone: `up` where no binary was built fails within seconds and
//!   names `make build`.
//!
//! The ring needs the static chord-node (the Dockerfile copies it):
//! `target/x86_64-unknown-linux-gnu/release/chord-node` (`make build`).
//! Skips, saying why, when no Docker engine can be reached, when
//! `docker-compose` 1.x is not installed (its tests only), and when v2 is
//! missing, unless `CHORDCTL_REQUIRE_COMPOSE_V2=1` (set by `.ci/run`) or
//! `CI=true`: then a missing v2 fails.

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use bollard::models::ContainerSummary;
use bollard::query_parameters::{ListVolumesOptionsBuilder, RemoveImageOptions};
use bollard::Docker;
use common::deadline::{run_with_deadline, wait_until, Out};
use common::docker::{image_exists, inspect_healthy, label_filter};
use common::net::{free_port, http, json};
use common::ring::{check_clean, chordctl_status, in_ring_order, place};
use common::{block_on, engine, repo_dir, require_static_node, unique, Ctl};

fn compose_dir() -> PathBuf {
    repo_dir().join("compose")
}

/// A Compose implementation the tests run under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flavor {
    /// Compose v2: `docker compose`, containers `project-service-1`.
    V2,
    /// Compose 1.x: `docker-compose`, containers `project_service_1`.
    V1,
}

impl Flavor {
    /// The command line that runs it.
    fn command(self) -> Vec<String> {
        let words: &[&str] = match self {
            Flavor::V2 => &["docker", "compose"],
            Flavor::V1 => &["docker-compose"],
        };
        words.iter().map(|s| s.to_string()).collect()
    }

    /// The separator in its container names.
    fn separator(self) -> char {
        match self {
            Flavor::V2 => '-',
            Flavor::V1 => '_',
        }
    }

    /// The command if it answers `version --short` with this major
    /// version, else why not.
    fn find(self) -> Result<Vec<String>, String> {
        let tool = self.command();
        let mut cmd = Command::new(&tool[0]);
        cmd.args(&tool[1..]).args(["version", "--short"]);
        let out = run_with_deadline(cmd, Duration::from_secs(30))?;
        let version = out.stdout.trim().trim_start_matches('v').to_string();
        let major = match self {
            Flavor::V2 => "2.",
            Flavor::V1 => "1.",
        };
        if out.ok && version.starts_with(major) {
            Ok(tool)
        } else {
            Err(format!(
                "`{} version --short` answered {:?} {}",
                tool.join(" "),
                version,
                out.stderr.trim()
            ))
        }
    }
}

/// Whether a missing Compose v2 must fail the tests (in CI) instead of
/// skipping them.
fn v2_required() -> bool {
    let set = |var: &str, values: &[&str]| {
        std::env::var(var).is_ok_and(|v| values.contains(&v.to_ascii_lowercase().as_str()))
    };
    set("CHORDCTL_REQUIRE_COMPOSE_V2", &["1", "true"]) || set("CI", &["1", "true"])
}

/// The engine and the command of `flavor`, or `None` after saying why the
/// test skips. Panics when v2 is required and missing.
fn engine_and_tool(flavor: Flavor) -> Option<(Docker, Vec<String>)> {
    let docker = match engine() {
        Ok(d) => d,
        Err(reason) => {
            eprintln!("SKIPPED: no Docker engine reachable ({reason})");
            return None;
        }
    };
    match flavor.find() {
        Ok(tool) => {
            eprintln!("using `{}`", tool.join(" "));
            Some((docker, tool))
        }
        Err(why) if flavor == Flavor::V2 && v2_required() => panic!(
            "Compose v2 is required here (CI / CHORDCTL_REQUIRE_COMPOSE_V2) but missing: {why}; \
             .ci/run installs it as the docker CLI plugin"
        ),
        Err(why) => {
            eprintln!("SKIPPED: no Compose {flavor:?} ({why})");
            None
        }
    }
}

/// One Compose project of the test: the tool, its name, the folder of its
/// compose.yaml and its environment.
struct Project {
    tool: Vec<String>,
    name: String,
    dir: PathBuf,
    env: Vec<(String, String)>,
}

impl Project {
    /// Runs `<compose> -p NAME -f compose.yaml ARGS` in the project's folder.
    fn compose(&self, args: &[&str], timeout: Duration) -> Result<Out, String> {
        let mut cmd = Command::new(&self.tool[0]);
        cmd.args(&self.tool[1..])
            .args(["-p", &self.name, "-f", "compose.yaml"])
            .args(args)
            .current_dir(&self.dir);
        // The user's Compose settings must not leak in.
        for var in ["COMPOSE_FILE", "COMPOSE_PROJECT_NAME", "COMPOSE_PROFILES"] {
            cmd.env_remove(var);
        }
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        run_with_deadline(cmd, timeout)
    }

    /// Like [`Project::compose`], panicking with the output unless it succeeds.
    fn compose_ok(&self, args: &[&str], timeout: Duration) -> Out {
        let started = Instant::now();
        let out = self
            .compose(args, timeout)
            .unwrap_or_else(|e| panic!("compose {args:?}: {e}"));
        assert!(
            out.ok,
            "compose {args:?} failed\nstdout:\n{}\nstderr:\n{}",
            out.stdout, out.stderr
        );
        eprintln!(
            "compose {} took {:.1}s",
            args.join(" "),
            started.elapsed().as_secs_f64()
        );
        out
    }
}

/// The label on every container, network and volume of `project`.
fn project_label(project: &str) -> String {
    format!("com.docker.compose.project={project}")
}

/// Every container of the project, stopped ones included.
fn containers(docker: &Docker, project: &str) -> Vec<ContainerSummary> {
    common::docker::containers(docker, &project_label(project), true).expect("listing containers")
}

/// Names of the project's volumes.
fn volumes(docker: &Docker, project: &str) -> Vec<String> {
    let volumes = block_on(
        docker.list_volumes(Some(
            ListVolumesOptionsBuilder::default()
                .filters(&label_filter(&project_label(project)))
                .build(),
        )),
    )
    .expect("listing volumes");
    volumes
        .volumes
        .unwrap_or_default()
        .into_iter()
        .map(|v| v.name)
        .collect()
}

/// Names of the project's containers, networks and volumes.
fn leftovers(docker: &Docker, project: &str) -> Vec<String> {
    let mut left =
        common::docker::leftovers(docker, &project_label(project)).expect("listing leftovers");
    left.extend(
        volumes(docker, project)
            .into_iter()
            .map(|v| format!("volume {v}")),
    );
    left
}

/// Images the classic builder (Compose 1.x) committed in a build whose
/// output is `text`: the ` ---> ID` after each step, except the ones it
/// took from its cache (those were there before).
fn committed_images(text: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cached = false;
    for line in text.lines() {
        let Some(rest) = line.trim().strip_prefix("---> ") else {
            continue;
        };
        let rest = rest.trim();
        if rest == "Using cache" {
            cached = true;
        } else if rest.len() == 12 && rest.bytes().all(|b| b.is_ascii_hexdigit()) {
            if !cached {
                ids.push(rest.to_string());
            }
            cached = false;
        }
    }
    ids
}

/// On drop (also when the test fails): `down`, then removal through the
/// engine of anything of the project still there, of the test image, of
/// the images the classic builder committed for it (`built`) and of the
/// project's scratch folder, if any.
struct Guard {
    project: Project,
    docker: Docker,
    image: String,
    built: std::cell::RefCell<Vec<String>>,
    scratch: Option<PathBuf>,
}

impl Guard {
    /// Remembers the images the classic builder committed in this output.
    fn built_by(&self, out: &Out) {
        let mut built = self.built.borrow_mut();
        built.extend(committed_images(&out.stdout));
        built.extend(committed_images(&out.stderr));
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.project.compose(
            &["down", "--volumes", "--remove-orphans", "--timeout", "30"],
            Duration::from_secs(120),
        );
        let docker = &self.docker;
        let name = &self.project.name;
        common::docker::force_remove(docker, &project_label(name));
        for v in volumes(docker, name) {
            let _ = block_on(
                docker.remove_volume(&v, None::<bollard::query_parameters::RemoveVolumeOptions>),
            );
        }
        // Removes the test tag; the image itself only if nothing else
        // (such as chord-node:latest) still names it.
        let _ = block_on(docker.remove_image(&self.image, None::<RemoveImageOptions>, None));
        // Then the other stage's images, which no tag holds (the final
        // stage's went with the tag; those fail harmlessly).
        for id in &self.built.take() {
            let _ = block_on(docker.remove_image(id, None::<RemoveImageOptions>, None));
        }
        if let Some(dir) = &self.scratch {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// What the test knows about one running node container.
#[derive(Debug)]
struct NodeBox {
    id: String,
    service: String,
    hostname: String,
    endpoint: String,
}

/// The project's containers once `seed` + `nodes` replicas all run and
/// report healthy, with their published 127.0.0.1 ports.
fn healthy_nodes(docker: &Docker, project: &str, nodes: usize) -> Result<Vec<NodeBox>, String> {
    let list = containers(docker, project);
    let count = |service: &str| {
        list.iter()
            .filter(|c| {
                c.labels
                    .as_ref()
                    .and_then(|l| l.get("com.docker.compose.service"))
                    == Some(&service.to_string())
            })
            .count()
    };
    if count("seed") != 1 || count("node") != nodes {
        return Err(format!(
            "{} seed and {} node containers, want 1 and {nodes}",
            count("seed"),
            count("node")
        ));
    }
    let mut out = Vec::new();
    for c in list {
        let id = c.id.clone().unwrap_or_default();
        let info = inspect_healthy(docker, &id)?;
        let endpoint = c
            .ports
            .unwrap_or_default()
            .into_iter()
            .find(|p| p.private_port == 7000 && p.ip.as_deref() == Some("127.0.0.1"))
            .and_then(|p| p.public_port)
            .map(|p| format!("127.0.0.1:{p}"))
            .ok_or_else(|| format!("container {id} publishes no 127.0.0.1 port for 7000"))?;
        out.push(NodeBox {
            id,
            service: c
                .labels
                .and_then(|mut l| l.remove("com.docker.compose.service"))
                .unwrap_or_default(),
            hostname: info.config.and_then(|c| c.hostname).unwrap_or_default(),
            endpoint,
        });
    }
    Ok(out)
}

/// Checks the ring through every node's `/status`: each has joined, the
/// advertised addresses are distinct, and every successor and predecessor
/// is the neighbour in sorted id order. Returns the advertised addresses.
fn ring_correct(nodes: &[NodeBox]) -> Result<Vec<String>, String> {
    let mut places = nodes
        .iter()
        .map(|n| place(&n.endpoint, &n.endpoint))
        .collect::<Result<Vec<_>, _>>()?;
    let addrs: BTreeSet<&String> = places.iter().map(|p| &p.addr).collect();
    if addrs.len() != places.len() {
        return Err(format!("advertised addresses repeat: {addrs:?}"));
    }
    in_ring_order(&mut places)?;
    Ok(places.into_iter().map(|p| p.addr).collect())
}

/// Waits for `seed` + `nodes` healthy replicas in a correct ring.
fn wait_for_ring(docker: &Docker, project: &str, nodes: usize) -> Vec<NodeBox> {
    wait_until(
        &format!("{} healthy containers, ring correct", nodes + 1),
        Duration::from_secs(120),
        || {
            let boxes = healthy_nodes(docker, project, nodes)?;
            ring_correct(&boxes)?;
            Ok(boxes)
        },
    )
}

/// `chordctl --compose=PROJECT status -o json` once it reports a healthy
/// ring of `nodes` nodes.
fn chordctl_healthy(ctl: &Ctl, nodes: usize) -> Result<serde_json::Value, String> {
    let status = chordctl_status(ctl)?;
    let rows = status["nodes"].as_array().map_or(0, Vec::len);
    if rows != nodes || status["healthy"] != true {
        return Err(format!("{rows} nodes, healthy {}", status["healthy"]));
    }
    Ok(status)
}

#[test]
fn compose_file_has_no_version_key_and_publishes_only_loopback() {
    let text = std::fs::read_to_string(compose_dir().join("compose.yaml")).expect("compose.yaml");
    assert!(
        !text.lines().any(|l| l.starts_with("version:")),
        "a top-level `version:` key would be rejected or warned about by Compose v2"
    );
    assert!(text.contains("\"127.0.0.1::7000\""), "replica ports");
    assert!(text.contains("condition: service_healthy"));
}

#[test]
fn chordctl_refuses_to_manage_compose_nodes() {
    common::refuses_lifecycle("--compose", "docker compose");
    Ctl::new(&["--compose=No/Such"], &[])
        .run(&["status"])
        .expect_code(2, "invalid project name");
}

#[test]
fn compose_v2_ring_forms_scales_and_goes_away() {
    ring_forms_scales_and_goes_away(Flavor::V2);
}

#[test]
fn compose_v1_ring_forms_scales_and_goes_away() {
    ring_forms_scales_and_goes_away(Flavor::V1);
}

#[test]
fn compose_v2_up_on_a_fresh_clone_fails_fast_naming_make_build() {
    fresh_clone_fails_fast(Flavor::V2);
}

#[test]
fn compose_v1_up_on_a_fresh_clone_fails_fast_naming_make_build() {
    fresh_clone_fails_fast(Flavor::V1);
}

/// `up` where no chord-node was built (a fresh clone: the Dockerfile, the
/// .dockerignore and compose/, no target/) fails within seconds, names
/// `make build`, and starts nothing.
fn fresh_clone_fails_fast(flavor: Flavor) {
    let Some((docker, tool)) = engine_and_tool(flavor) else {
        return;
    };
    let name = unique(&format!("chordfresh{flavor:?}")).to_ascii_lowercase();
    let scratch = std::env::temp_dir().join(&name);
    std::fs::create_dir_all(scratch.join("compose")).expect("scratch folder");
    for file in [
        "Dockerfile",
        ".dockerignore",
        "compose/compose.yaml",
        "compose/.env",
    ] {
        std::fs::copy(repo_dir().join(file), scratch.join(file))
            .unwrap_or_else(|e| panic!("copying {file}: {e}"));
    }
    let image = format!("chord-node:test-{name}");
    let guard = Guard {
        project: Project {
            tool,
            name: name.clone(),
            dir: scratch.join("compose"),
            env: vec![
                ("CHORD_IMAGE".into(), image.clone()),
                ("CHORD_HOST_PORT".into(), free_port("127.0.0.1").to_string()),
            ],
        },
        docker: docker.clone(),
        image: image.clone(),
        built: Default::default(),
        scratch: Some(scratch),
    };

    let started = Instant::now();
    let out = guard
        .project
        .compose(&["up", "--detach"], Duration::from_secs(120))
        .unwrap_or_else(|e| panic!("`up` on a fresh clone: {e}"));
    let took = started.elapsed();
    guard.built_by(&out);
    let said = format!("{}\n{}", out.stdout, out.stderr);
    eprintln!("`up` on a fresh clone, after {took:.1?}:\n{said}");
    assert!(!out.ok, "`up` without a built binary succeeded:\n{said}");
    assert!(
        said.contains("run `make build` first"),
        "the failure should name `make build`:\n{said}"
    );
    assert!(
        took < Duration::from_secs(30),
        "`up` took {took:?} to fail; it should fail within seconds"
    );
    assert!(!image_exists(&docker, &image), "{image} was built");
    assert!(
        containers(&docker, &name).is_empty(),
        "containers were created"
    );
}

/// The ring under `flavor`, from build to `down`.
fn ring_forms_scales_and_goes_away(flavor: Flavor) {
    let Some((docker, tool)) = engine_and_tool(flavor) else {
        return;
    };
    require_static_node();
    let started = Instant::now();

    // Lower case only: Compose 1.x drops other characters from project names.
    let name = unique(&format!("chordcompose{flavor:?}")).to_ascii_lowercase();
    let sep = flavor.separator();
    let port = free_port("127.0.0.1");
    let image = format!("chord-node:test-{name}");
    let key = format!("test-key-{name}");
    let project = Project {
        tool,
        name: name.clone(),
        dir: compose_dir(),
        env: vec![
            ("CHORD_IMAGE".into(), image.clone()),
            ("CHORD_HOST_PORT".into(), port.to_string()),
            ("CHORD_CLUSTER_KEY".into(), key.clone()),
            ("CHORD_REPLICAS".into(), "3".into()),
        ],
    };
    let guard = Guard {
        project,
        docker: docker.clone(),
        image: image.clone(),
        built: Default::default(),
        scratch: None,
    };
    let project = &guard.project;
    let seed = format!("127.0.0.1:{port}");
    let ctl = Ctl::new(&[&format!("--compose={name}")], &[]);

    project.compose_ok(&["config", "--quiet"], Duration::from_secs(60));
    let build = project.compose_ok(&["build"], Duration::from_secs(300));
    guard.built_by(&build);
    assert!(image_exists(&docker, &image), "{image} was not built");

    // Seed + 4 nodes (the file's default), the seed on our port.
    project.compose_ok(&["up", "--detach"], Duration::from_secs(180));
    let nodes = wait_for_ring(&docker, &name, 4);
    let seed_box = nodes.iter().find(|n| n.service == "seed").expect("seed");
    assert_eq!(seed_box.endpoint, seed, "seed published on the chosen port");
    let advertised = ring_correct(&nodes).expect("ring");
    for n in nodes.iter().filter(|n| n.service == "node") {
        let own = format!("{}:7000", n.hostname);
        assert!(
            advertised.contains(&own),
            "replica {} should advertise its hostname {own}: {advertised:?}",
            n.id
        );
    }

    // chordctl finds the ring by its Compose labels.
    let status = wait_until("chordctl status: healthy", Duration::from_secs(30), || {
        chordctl_healthy(&ctl, 5)
    });
    assert_eq!(status["runtime"], "compose");
    assert_eq!(status["cluster"], name.as_str());
    assert_eq!(status["nodes"][0]["index"], 0);
    assert_eq!(status["nodes"][0]["address"], seed.as_str());
    assert_eq!(status["nodes"][0]["advertise"], "seed:7000");
    // Container names as this Compose version makes them; chordctl takes
    // them (and indexes) as node names.
    let seed_name = format!("{name}{sep}seed{sep}1");
    assert_eq!(status["nodes"][0]["name"], seed_name.as_str());
    for i in 1..=4 {
        assert_eq!(
            status["nodes"][i]["name"],
            format!("{name}{sep}node{sep}{i}").as_str(),
            "{status:#}"
        );
    }
    for node in [seed_name.as_str(), "2"] {
        let logs = ctl
            .run(&["logs", node, "--tail", "20"])
            .ok(&format!("logs {node}"));
        assert!(!logs.stdout.is_empty() || !logs.stderr.is_empty(), "no log");
    }

    // Put and get through the seed's published port, as curl would.
    let (code, body) = http(&seed, "PUT", "/kv/compose%3Aada", Some(r#"{"name":"Ada"}"#))
        .expect("PUT through the seed");
    assert_eq!(code, 200, "{body}");
    let (code, body) = http(&seed, "GET", "/kv/compose%3Aada", None).expect("GET");
    assert_eq!((code, json(&body)), (200, json(r#"{"name":"Ada"}"#)));
    // Any replica's published port serves the same key.
    let replica = nodes
        .iter()
        .find(|n| n.service == "node")
        .expect("a replica");
    let (code, body) = http(&replica.endpoint, "GET", "/kv/compose%3Aada", None).expect("GET");
    assert_eq!((code, json(&body)), (200, json(r#"{"name":"Ada"}"#)));
    let pairs: Vec<(String, String)> = (0..20)
        .map(|i| (format!("user:{i}"), format!(r#"{{"n":{i}}}"#)))
        .collect();
    common::put_all(&ctl, &pairs);
    common::get_all(&ctl, &pairs);
    // `check` reads every node's /chord/keys with the key from the
    // containers' environment: a wrong key would fail it.
    check_clean(&ctl, 21);

    // Scale to 7 nodes: two more replicas join, nobody is recreated.
    let before: BTreeSet<String> = nodes.iter().map(|n| n.id.clone()).collect();
    project.compose_ok(
        &["up", "--detach", "--scale", "node=6"],
        Duration::from_secs(180),
    );
    let nodes = wait_for_ring(&docker, &name, 6);
    let after: BTreeSet<String> = nodes.iter().map(|n| n.id.clone()).collect();
    assert!(after.is_superset(&before), "scaling recreated containers");
    wait_until(
        "chordctl status: healthy with 7",
        Duration::from_secs(30),
        || chordctl_healthy(&ctl, 7),
    );
    check_clean(&ctl, 21);
    common::get_all(&ctl, &pairs);

    // Stop: every node leaves on SIGTERM and exits 0 within the grace
    // period (a SIGKILL would show as 137).
    project.compose_ok(&["stop"], Duration::from_secs(120));
    for c in containers(&docker, &name) {
        let id = c.id.unwrap_or_default();
        let state = block_on(docker.inspect_container(&id, None))
            .expect("inspect")
            .state
            .expect("state");
        assert_eq!(state.running, Some(false), "{id} still runs");
        assert_eq!(state.exit_code, Some(0), "{id} did not stop cleanly");
    }

    project.compose_ok(&["down", "--volumes"], Duration::from_secs(120));
    let left = leftovers(&docker, &name);
    assert!(left.is_empty(), "left after down: {left:?}");
    drop(guard);
    assert!(!image_exists(&docker, &image), "test image {image} left");
    assert!(leftovers(&docker, &name).is_empty(), "left after the guard");
    eprintln!("whole scenario: {:.1}s", started.elapsed().as_secs_f64());
}
