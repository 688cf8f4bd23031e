//! The Docker Swarm setup (`compose/stack.yaml`) end to end, through the
//! real `docker` CLI on a single-node swarm:
//!
//! init a swarm (`--advertise-addr 127.0.0.1`) if none is active, build the
//! image under a test-only tag, `docker stack deploy` (seed + 4 nodes) under
//! a unique stack name with the seed on a free host port, wait for healthy
//! tasks and a correct ring, put and get through the published port, read
//! the ring with `chordctl --swarm=STACK`, scale the node service to 6 and
//! back to 4 (keys survive both), `docker stack rm`, wait until no container
//! or network of the stack is left, and leave the swarm if the test created
//! it. A guard does all of that cleanup also when the test fails, and every
//! wait has a deadline.
//!
//! Needs the static chord-node (the Dockerfile copies it):
//! `target/x86_64-unknown-linux-gnu/release/chord-node` (`make build`).
//! Skips, saying why, when no Docker engine (or no `docker` CLI) can be
//! reached, unless `CI` is `true` or `1`: then it fails.

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use bollard::models::{ContainerSummary, LocalNodeState};
use bollard::query_parameters::RemoveImageOptions;
use bollard::Docker;
use common::deadline::{poll_until, run_with_deadline, wait_until, Out};
use common::docker::{image_exists, inspect_healthy};
use common::net::{free_port, http, json};
use common::ring::{check_clean, chordctl_status, in_ring_order, place};
use common::{block_on, engine, repo_dir, require_static_node, unique, Ctl};

/// The label Swarm puts on every container and network of a stack.
const STACK_LABEL: &str = "com.docker.stack.namespace";
/// The bridge through which the host reaches its tasks' containers.
const GATEWAY_BRIDGE: &str = "docker_gwbridge";
/// Keys put before scaling, besides `user:1`.
const KEYS: usize = 100;

fn stack_file() -> PathBuf {
    repo_dir().join("compose/stack.yaml")
}

/// Whether the tests run in CI, where a missing engine must fail them.
fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| matches!(v.to_ascii_lowercase().as_str(), "true" | "1"))
}

/// Says why the test skips, or in CI fails it instead.
fn skip_unless_ci(why: &str) {
    if in_ci() {
        panic!("CI is set, so the Swarm test must run, but {why}");
    }
    eprintln!("SKIPPED: {why}");
}

/// `docker ARGS` with `env`, within `timeout`.
fn docker_cli(args: &[&str], env: &[(String, String)], timeout: Duration) -> Result<Out, String> {
    let mut cmd = Command::new("docker");
    cmd.args(args).current_dir(repo_dir());
    cmd.envs(env.iter().map(|(k, v)| (k, v)));
    run_with_deadline(cmd, timeout)
}

/// Like [`docker_cli`], panicking with the output unless it succeeds.
fn docker_ok(args: &[&str], env: &[(String, String)], timeout: Duration) -> Out {
    let started = Instant::now();
    let out = docker_cli(args, env, timeout).unwrap_or_else(|e| panic!("docker {args:?}: {e}"));
    assert!(
        out.ok,
        "docker {args:?} failed\nstdout:\n{}\nstderr:\n{}",
        out.stdout, out.stderr
    );
    eprintln!(
        "docker {} took {:.1}s",
        args.join(" "),
        started.elapsed().as_secs_f64()
    );
    out
}

/// This engine's swarm state, and whether it is a manager.
fn swarm_state(docker: &Docker) -> (LocalNodeState, bool) {
    let info = block_on(docker.info()).expect("engine info");
    let swarm = info.swarm.unwrap_or_default();
    (
        swarm.local_node_state.unwrap_or(LocalNodeState::EMPTY),
        swarm.control_available.unwrap_or(false),
    )
}

/// The label on every container and network of `stack`.
fn stack_label(stack: &str) -> String {
    format!("{STACK_LABEL}={stack}")
}

/// Containers of the stack's tasks: running ones, or with `all` also the
/// stopped ones Swarm keeps as task history.
fn containers(docker: &Docker, stack: &str, all: bool) -> Result<Vec<ContainerSummary>, String> {
    common::docker::containers(docker, &stack_label(stack), all)
}

/// Containers and networks of the stack still there.
fn leftovers(docker: &Docker, stack: &str) -> Result<Vec<String>, String> {
    common::docker::leftovers(docker, &stack_label(stack))
}

fn network_exists(docker: &Docker, name: &str) -> bool {
    block_on(docker.inspect_network(name, None)).is_ok()
}

/// What the test created, undone on drop (also when the test fails): the
/// stack (`docker stack rm`, then removal through the engine of anything
/// still there), the test image tag, and the swarm if the test started it.
struct Guard {
    docker: Docker,
    stack: String,
    image: String,
    /// Set once this test has initialised the swarm: only then it leaves.
    created_swarm: bool,
    /// Whether `docker_gwbridge` existed before the test; if not, and the
    /// test created the swarm, the bridge goes too.
    had_gateway_bridge: bool,
}

impl Guard {
    /// Removes the stack and waits (bounded) until nothing of it is left.
    fn remove_stack(&self) -> Result<(), String> {
        let out = docker_cli(&["stack", "rm", &self.stack], &[], Duration::from_secs(60))?;
        if !out.ok && !out.stderr.contains("Nothing found in stack") {
            return Err(format!("docker stack rm: {}", out.stderr.trim()));
        }
        // The tasks get SIGTERM, hand their keys over (up to 20 s) and are
        // removed with their containers; the network goes after them.
        poll_until(
            "stack removed",
            Duration::from_secs(120),
            || match leftovers(&self.docker, &self.stack)? {
                left if left.is_empty() => Ok(()),
                left => Err(format!("left: {left:?}")),
            },
        )
        .map(|_| ())
    }

    /// Force-removes whatever of the stack survived `remove_stack`.
    fn force_remove_stack(&self) {
        common::docker::force_remove(&self.docker, &stack_label(&self.stack));
    }

    /// Leaves the swarm and waits (bounded) until the engine says so.
    fn leave_swarm(&self) -> Result<(), String> {
        let out = docker_cli(&["swarm", "leave", "--force"], &[], Duration::from_secs(60))?;
        if !out.ok {
            return Err(format!("docker swarm leave: {}", out.stderr.trim()));
        }
        poll_until(
            "swarm left",
            Duration::from_secs(60),
            || match swarm_state(&self.docker).0 {
                LocalNodeState::INACTIVE => Ok(()),
                state => Err(format!("swarm state {state}")),
            },
        )?;
        if !self.had_gateway_bridge {
            let _ = block_on(self.docker.remove_network(GATEWAY_BRIDGE));
        }
        Ok(())
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Err(e) = self.remove_stack() {
            eprintln!("cleanup: {e}; removing what is left by force");
            self.force_remove_stack();
        }
        // Removes the test tag; the image itself only if nothing else
        // (such as chord-node:latest) still names it.
        let _ = block_on(
            self.docker
                .remove_image(&self.image, None::<RemoveImageOptions>, None),
        );
        if self.created_swarm {
            if let Err(e) = self.leave_swarm() {
                eprintln!("cleanup: {e}");
            }
        }
    }
}

/// What the test knows about one running task container.
#[derive(Debug)]
struct Task {
    /// Container name = task name (`<stack>_node.<slot>.<task id>`).
    name: String,
    /// Where the test reaches it: the published port for the seed, the
    /// container's `docker_gwbridge` address for the others.
    endpoint: String,
}

/// The stack's task containers once exactly one seed and `nodes` node
/// tasks run and report healthy.
fn healthy_tasks(
    docker: &Docker,
    stack: &str,
    nodes: usize,
    seed_port: u16,
) -> Result<Vec<Task>, String> {
    let list = containers(docker, stack, false)?;
    let service = |c: &ContainerSummary| {
        c.labels
            .as_ref()
            .and_then(|l| l.get("com.docker.swarm.service.name"))
            .cloned()
            .unwrap_or_default()
    };
    let (seed_svc, node_svc) = (format!("{stack}_seed"), format!("{stack}_node"));
    let count = |svc: &str| list.iter().filter(|c| service(c) == svc).count();
    if count(&seed_svc) != 1 || count(&node_svc) != nodes || list.len() != nodes + 1 {
        return Err(format!(
            "{} seed and {} node tasks running ({} containers), want 1 and {nodes}",
            count(&seed_svc),
            count(&node_svc),
            list.len()
        ));
    }
    let gateway = block_on(docker.inspect_network(GATEWAY_BRIDGE, None))
        .map_err(|e| format!("inspecting {GATEWAY_BRIDGE}: {e}"))?
        .containers
        .unwrap_or_default();
    let mut out = Vec::new();
    for c in list {
        let id = c.id.clone().unwrap_or_default();
        let info = inspect_healthy(docker, &id)?;
        let name = info
            .name
            .unwrap_or_default()
            .trim_start_matches('/')
            .to_string();
        let endpoint = if service(&c) == seed_svc {
            format!("127.0.0.1:{seed_port}")
        } else {
            let ip = gateway
                .get(&id)
                .and_then(|ep| ep.ipv4_address.as_deref())
                .and_then(|a| a.split('/').next())
                .ok_or_else(|| format!("{name} has no address on {GATEWAY_BRIDGE}"))?;
            format!("{ip}:7000")
        };
        out.push(Task { name, endpoint });
    }
    Ok(out)
}

/// Checks the ring through every task's `/status`: each has joined and
/// advertises its task name, and every successor and predecessor is the
/// neighbour in sorted id order.
fn ring_correct(tasks: &[Task]) -> Result<(), String> {
    let mut places = Vec::new();
    for t in tasks {
        let place = place(&t.endpoint, &t.name)?;
        if place.addr != format!("{}:7000", t.name) {
            return Err(format!("{} advertises {:?}", t.name, place.addr));
        }
        places.push(place);
    }
    in_ring_order(&mut places)
}

/// Waits for `nodes` healthy node tasks besides the seed and a correct ring.
fn wait_for_ring(docker: &Docker, stack: &str, nodes: usize, port: u16) -> Vec<Task> {
    wait_until(
        &format!("seed + {nodes} healthy tasks in a correct ring"),
        Duration::from_secs(180),
        || {
            let tasks = healthy_tasks(docker, stack, nodes, port)?;
            ring_correct(&tasks)?;
            Ok(tasks)
        },
    )
}

/// `chordctl --swarm=STACK status -o json` once it reports a healthy ring
/// of exactly these tasks.
fn chordctl_sees(ctl: &Ctl, tasks: &[Task]) -> Result<serde_json::Value, String> {
    let status = chordctl_status(ctl)?;
    let names: BTreeSet<&str> = status["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["name"].as_str())
        .collect();
    let want: BTreeSet<&str> = tasks.iter().map(|t| t.name.as_str()).collect();
    if names != want || status["healthy"] != true {
        return Err(format!(
            "nodes {names:?} (want {want:?}), healthy {}",
            status["healthy"]
        ));
    }
    Ok(status)
}

/// Every key put so far reads back through the published port.
fn read_back(seed: &str, pairs: &[(String, String)]) {
    for (key, value) in pairs {
        let (code, body) = http(seed, "GET", &format!("/kv/{key}"), None).expect("get");
        assert_eq!(code, 200, "GET {key}: {body}");
        assert_eq!(json(&body), json(value), "value of {key}");
    }
}

#[test]
fn stack_file_keeps_the_ring_safe() {
    let file = std::fs::read_to_string(stack_file()).expect("compose/stack.yaml");
    // The settings, without the comments that explain them.
    let text: String = file
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(
        !text.lines().any(|l| l.starts_with("version:")),
        "no top-level `version:` key (obsolete, and Compose v2 warns about it)"
    );
    // Every task advertises its own task name, which the overlay DNS resolves.
    assert!(text.contains(r#"CHORD_ADVERTISE: "{{.Task.Name}}:7000""#));
    // The seed is first in its own seed list (it founds the ring only when no
    // node answers); nodes join through the seed or any running node.
    assert!(text.contains(r#"CHORD_JOIN: "{{.Task.Name}}:7000,tasks.node:7000""#));
    assert!(text.contains(r#"CHORD_JOIN: "tasks.seed:7000,tasks.node:7000""#));
    assert!(text.contains(r#"test: ["CMD", "/chord-node", "healthcheck"]"#));
    assert!(text.contains("CHORD_CLUSTER_KEY: ${CHORD_CLUSTER_KEY:-local-only-change-me}"));
    // Grace: the node's 20 s hand-off plus its 5 s server stop.
    let grace: Vec<u64> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("stop_grace_period: "))
        .map(|v| v.trim_end_matches('s').parse().expect("grace in seconds"))
        .collect();
    assert!(
        !grace.is_empty() && grace.iter().all(|&g| g > 25),
        "{grace:?}"
    );
    // One node at a time in updates and rollbacks of both services (R = 3).
    let parallelism: Vec<&str> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("parallelism: "))
        .collect();
    assert_eq!(parallelism, ["1", "1", "1", "1"]);
    // Only the seed publishes, in host mode (see the file's header).
    assert_eq!(text.matches("mode: host").count(), 1);
    assert_eq!(text.matches("published:").count(), 1);
    assert!(text.contains("driver: overlay"));
}

#[test]
fn chordctl_refuses_to_manage_swarm_nodes() {
    common::refuses_lifecycle("--swarm", "docker stack");
    Ctl::new(&["--swarm=No/Such"], &[])
        .run(&["status"])
        .expect_code(2, "invalid stack name");
    Ctl::new(&["--swarm", "--compose"], &[])
        .run(&["status"])
        .expect_code(2, "--swarm with --compose");
}

#[test]
fn swarm_stack_forms_scales_and_goes_away() {
    let docker = match engine() {
        Ok(d) => d,
        Err(reason) => {
            return skip_unless_ci(&format!("no Docker engine is reachable ({reason})"));
        }
    };
    match docker_cli(&["stack", "--help"], &[], Duration::from_secs(30)) {
        Ok(out) if out.ok => {}
        Ok(out) => {
            return skip_unless_ci(&format!("`docker stack` fails: {}", out.stderr.trim()));
        }
        Err(e) => return skip_unless_ci(&format!("no docker CLI: {e}")),
    }
    require_static_node();
    let started = Instant::now();

    // Lower case: stack names become parts of DNS names.
    let stack = unique("chordswarm").to_ascii_lowercase();
    let image = format!("chord-node:test-{stack}");
    let port = free_port("0.0.0.0"); // Swarm publishes on every interface.
    let mut guard = Guard {
        docker: docker.clone(),
        stack: stack.clone(),
        image: image.clone(),
        created_swarm: false,
        had_gateway_bridge: network_exists(&docker, GATEWAY_BRIDGE),
    };

    match swarm_state(&docker) {
        (LocalNodeState::INACTIVE, _) => {
            let out = docker_cli(
                &["swarm", "init", "--advertise-addr", "127.0.0.1"],
                &[],
                Duration::from_secs(60),
            );
            // Leave it again at the end if it is active now, whatever init said.
            guard.created_swarm = swarm_state(&docker).0 == LocalNodeState::ACTIVE;
            let out = out.unwrap_or_else(|e| panic!("docker swarm init: {e}"));
            assert!(out.ok, "docker swarm init failed: {}", out.stderr);
            eprintln!("initialised a single-node swarm (left again at the end)");
        }
        (LocalNodeState::ACTIVE, true) => eprintln!("using the active swarm (left as it is)"),
        (LocalNodeState::ACTIVE, false) => {
            panic!("this engine is a swarm worker: stacks can only be deployed on a manager")
        }
        (state, _) => panic!("the engine's swarm is {state}; fix or leave it first"),
    }

    // A test-only tag, so the user's chord-node:latest is left alone. The
    // classic builder: BuildKit might want to pull its frontend.
    let mut build = Command::new("docker");
    build
        .args(["build", "-q", "-t", &image, "."])
        .current_dir(repo_dir())
        .env("DOCKER_BUILDKIT", "0");
    let out = run_with_deadline(build, Duration::from_secs(300)).expect("docker build");
    assert!(out.ok, "docker build failed: {}", out.stderr);

    let key = format!("test-key-{stack}");
    let env: Vec<(String, String)> = [
        ("CHORD_IMAGE", image.as_str()),
        ("CHORD_HOST_PORT", &port.to_string()),
        ("CHORD_CLUSTER_KEY", &key),
        ("CHORD_REPLICAS", "3"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let file = stack_file();
    let file = file.to_str().unwrap();
    // `--resolve-image never`: the image is local, no registry is asked.
    docker_ok(
        &[
            "stack",
            "deploy",
            "--resolve-image",
            "never",
            "-c",
            file,
            &stack,
        ],
        &env,
        Duration::from_secs(120),
    );

    let seed = format!("127.0.0.1:{port}");
    let tasks = wait_for_ring(&docker, &stack, 4, port);

    // A put and a get through the published port, as with curl.
    let (code, body) = http(&seed, "PUT", "/kv/user:1", Some(r#"{"name":"Ada"}"#)).expect("put");
    assert_eq!(code, 200, "PUT: {body}");
    let owner = json(&body)["owner"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        tasks.iter().any(|t| owner == format!("{}:7000", t.name)),
        "owner {owner} is one of the tasks"
    );
    let mut pairs = vec![("user:1".to_string(), r#"{"name":"Ada"}"#.to_string())];
    for i in 0..KEYS {
        let (key, value) = (format!("swarm:{i}"), format!(r#"{{"n":{i}}}"#));
        let (code, body) = http(&seed, "PUT", &format!("/kv/{key}"), Some(&value)).expect("put");
        assert_eq!(code, 200, "PUT {key}: {body}");
        pairs.push((key, value));
    }
    read_back(&seed, &pairs);

    // chordctl's view: the same tasks, the seed at the published port.
    let ctl = Ctl::new(&[&format!("--swarm={stack}")], &[]);
    let status = wait_until("chordctl sees the ring", Duration::from_secs(60), || {
        chordctl_sees(&ctl, &tasks)
    });
    assert_eq!(status["runtime"], "swarm", "{status:#}");
    assert_eq!(status["nodes"][0]["index"], 0, "the seed first: {status:#}");
    assert_eq!(status["nodes"][0]["address"], seed.as_str(), "{status:#}");
    ctl.run(&["ring"]).ok("chordctl --swarm ring");
    check_clean(&ctl, pairs.len() as u64);
    let got = ctl.run(&["get", "user:1"]).ok("chordctl --swarm get");
    assert_eq!(json(got.stdout.trim()), json(r#"{"name":"Ada"}"#));

    // Scales the node service, then checks the ring, chordctl's view of it
    // and every key.
    let scale_to = |nodes: usize| {
        docker_ok(
            &[
                "service",
                "scale",
                "--detach",
                &format!("{stack}_node={nodes}"),
            ],
            &[],
            Duration::from_secs(60),
        );
        let tasks = wait_for_ring(&docker, &stack, nodes, port);
        wait_until(
            &format!("chordctl sees {} nodes", nodes + 1),
            Duration::from_secs(60),
            || chordctl_sees(&ctl, &tasks),
        );
        check_clean(&ctl, pairs.len() as u64);
        read_back(&seed, &pairs);
    };
    // Grow: the new tasks join through the seed.
    scale_to(6);
    // Shrink by R - 1 = 2 at once: the stopped tasks hand their keys over.
    scale_to(4);

    // Remove the stack: every task stops (after its hand-off), then its
    // containers and the network go.
    guard.remove_stack().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        leftovers(&docker, &stack).expect("listing"),
        Vec::<String>::new()
    );
    let created_swarm = guard.created_swarm;
    drop(guard);
    assert!(!image_exists(&docker, &image), "test image {image} left");
    if created_swarm {
        assert_eq!(swarm_state(&docker).0, LocalNodeState::INACTIVE);
    }
    eprintln!("whole scenario: {:.1}s", started.elapsed().as_secs_f64());
}
