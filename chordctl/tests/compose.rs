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

use std::collections::{BTreeSet, HashMap};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bollard::models::{ContainerSummary, HealthStatusEnum};
use bollard::query_parameters::{
    ListContainersOptionsBuilder, ListNetworksOptionsBuilder, ListVolumesOptionsBuilder,
    RemoveContainerOptionsBuilder, RemoveImageOptions,
};
use bollard::Docker;
use common::{block_on, engine, target_dir, unique, Ctl};

const BUILD_HINT: &str = "make build";

/// Poll interval of every wait (each wait also has a deadline).
const POLL: Duration = Duration::from_millis(250);

fn repo_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn compose_dir() -> PathBuf {
    repo_dir().join("compose")
}

/// Output of a command that finished in time.
struct Out {
    ok: bool,
    stdout: String,
    stderr: String,
}

/// Runs `cmd`, killing it if it is still running at `timeout`.
fn run_with_deadline(mut cmd: Command, timeout: Duration) -> Result<Out, String> {
    let shown = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {shown}: {e}"))?;
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    // Readers on threads, so a full pipe never blocks the child.
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(POLL / 5),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{shown} did not finish within {timeout:?}"));
            }
            Err(e) => return Err(format!("waiting for {shown}: {e}")),
        }
    };
    Ok(Out {
        ok: status.success(),
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    })
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

/// A free port on 127.0.0.1 (free when asked; the seed binds it right after).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("binding a free port")
        .port()
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

fn project_filter(project: &str) -> HashMap<String, Vec<String>> {
    HashMap::from([(
        "label".to_string(),
        vec![format!("com.docker.compose.project={project}")],
    )])
}

/// Every container of the project, stopped ones included.
fn containers(docker: &Docker, project: &str) -> Vec<ContainerSummary> {
    block_on(
        docker.list_containers(Some(
            ListContainersOptionsBuilder::default()
                .all(true)
                .filters(&project_filter(project))
                .build(),
        )),
    )
    .expect("listing containers")
}

/// Names of the project's containers, networks and volumes.
fn leftovers(docker: &Docker, project: &str) -> Vec<String> {
    let mut left: Vec<String> = containers(docker, project)
        .into_iter()
        .filter_map(|c| c.id.map(|id| format!("container {id}")))
        .collect();
    block_on(async {
        let filters = project_filter(project);
        let networks = docker
            .list_networks(Some(
                ListNetworksOptionsBuilder::default()
                    .filters(&filters)
                    .build(),
            ))
            .await
            .expect("listing networks");
        left.extend(
            networks
                .into_iter()
                .filter_map(|n| n.name.map(|n| format!("network {n}"))),
        );
        let volumes = docker
            .list_volumes(Some(
                ListVolumesOptionsBuilder::default()
                    .filters(&filters)
                    .build(),
            ))
            .await
            .expect("listing volumes");
        left.extend(
            volumes
                .volumes
                .unwrap_or_default()
                .into_iter()
                .map(|v| format!("volume {}", v.name)),
        );
    });
    left
}

fn image_exists(docker: &Docker, image: &str) -> bool {
    block_on(docker.inspect_image(image)).is_ok()
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
        let name = &self.project.name;
        let ids: Vec<String> = containers(&self.docker, name)
            .into_iter()
            .filter_map(|c| c.id)
            .collect();
        let docker = &self.docker;
        let built = self.built.take();
        block_on(async {
            let force = RemoveContainerOptionsBuilder::default()
                .force(true)
                .v(true)
                .build();
            for id in ids {
                let _ = docker.remove_container(&id, Some(force.clone())).await;
            }
            let filters = project_filter(name);
            if let Ok(networks) = docker
                .list_networks(Some(
                    ListNetworksOptionsBuilder::default()
                        .filters(&filters)
                        .build(),
                ))
                .await
            {
                for n in networks.into_iter().filter_map(|n| n.name) {
                    let _ = docker.remove_network(&n).await;
                }
            }
            if let Ok(volumes) = docker
                .list_volumes(Some(
                    ListVolumesOptionsBuilder::default()
                        .filters(&filters)
                        .build(),
                ))
                .await
            {
                for v in volumes.volumes.unwrap_or_default() {
                    let _ = docker
                        .remove_volume(
                            &v.name,
                            None::<bollard::query_parameters::RemoveVolumeOptions>,
                        )
                        .await;
                }
            }
            // Removes the test tag; the image itself only if nothing else
            // (such as chord-node:latest) still names it.
            let _ = docker
                .remove_image(&self.image, None::<RemoveImageOptions>, None)
                .await;
            // Then the other stage's images, which no tag holds (the final
            // stage's went with the tag; those fail harmlessly).
            for id in &built {
                let _ = docker
                    .remove_image(id, None::<RemoveImageOptions>, None)
                    .await;
            }
        });
        if let Some(dir) = &self.scratch {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Polls `probe` until it gives `Ok`, panicking with its last complaint at
/// the deadline.
fn wait_until<T>(what: &str, timeout: Duration, mut probe: impl FnMut() -> Result<T, String>) -> T {
    let started = Instant::now();
    loop {
        match probe() {
            Ok(v) => {
                eprintln!("{what}: after {:.1}s", started.elapsed().as_secs_f64());
                return v;
            }
            Err(why) if started.elapsed() >= timeout => {
                panic!("{what}: still not the case after {timeout:?}: {why}")
            }
            Err(_) => std::thread::sleep(POLL),
        }
    }
}

/// A minimal HTTP/1.1 exchange (what `curl` would do), on loopback only.
fn http(addr: &str, method: &str, path: &str, body: Option<&str>) -> Result<(u16, String), String> {
    let sock: SocketAddr = addr.parse().map_err(|e| format!("{addr}: {e}"))?;
    let mut stream = TcpStream::connect_timeout(&sock, Duration::from_secs(2))
        .map_err(|e| format!("connecting to {addr}: {e}"))?;
    let io_timeout = Some(Duration::from_secs(10));
    stream
        .set_read_timeout(io_timeout)
        .map_err(|e| e.to_string())?;
    stream
        .set_write_timeout(io_timeout)
        .map_err(|e| e.to_string())?;
    let body = body.unwrap_or("");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("sending to {addr}: {e}"))?;
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .map_err(|e| format!("reading from {addr}: {e}"))?;
    let text = String::from_utf8_lossy(&raw);
    let (head, rest) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("no HTTP header from {addr}: {text:?}"))?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line from {addr}: {head:?}"))?;
    let chunked = head.lines().any(|l| {
        l.to_ascii_lowercase()
            .starts_with("transfer-encoding: chunked")
    });
    let body = if chunked {
        dechunk(rest)
    } else {
        rest.to_string()
    };
    Ok((status, body))
}

/// Decodes a chunked HTTP body.
fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || tail.len() < n {
            break;
        }
        out.push_str(&tail[..n]);
        rest = tail[n..].trim_start_matches("\r\n");
    }
    out
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
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
        let info = block_on(docker.inspect_container(&id, None)).map_err(|e| e.to_string())?;
        let health = info
            .state
            .as_ref()
            .and_then(|s| s.health.as_ref())
            .and_then(|h| h.status);
        if health != Some(HealthStatusEnum::HEALTHY) {
            return Err(format!("container {id} is {health:?}"));
        }
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
    let mut seen = Vec::new();
    for n in nodes {
        let (code, body) = http(&n.endpoint, "GET", "/status", None)?;
        if code != 200 {
            return Err(format!("{}: /status answered {code}", n.endpoint));
        }
        let s = json(&body);
        let id = s["id"].as_str().unwrap_or_default().to_ascii_lowercase();
        let pred = s["predecessor"]["id"].as_str().map(str::to_ascii_lowercase);
        let succ = s["successors"][0]["id"]
            .as_str()
            .map(str::to_ascii_lowercase);
        if s["ready"] != true {
            return Err(format!("{} has not joined", n.endpoint));
        }
        let addr = s["addr"].as_str().unwrap_or_default().to_string();
        seen.push((id, pred, succ, addr));
    }
    let addrs: BTreeSet<&String> = seen.iter().map(|s| &s.3).collect();
    if addrs.len() != seen.len() {
        return Err(format!("advertised addresses repeat: {addrs:?}"));
    }
    seen.sort();
    let n = seen.len();
    for (i, (id, pred, succ, addr)) in seen.iter().enumerate() {
        let want_succ = &seen[(i + 1) % n].0;
        let want_pred = &seen[(i + n - 1) % n].0;
        if succ.as_ref() != Some(want_succ) || pred.as_ref() != Some(want_pred) {
            return Err(format!(
                "{addr} ({id:.8}): successor {succ:?} predecessor {pred:?}, \
                 expected {want_succ:.8} and {want_pred:.8}"
            ));
        }
    }
    Ok(seen.into_iter().map(|s| s.3).collect())
}

/// `chordctl --compose=PROJECT status -o json` once it reports a healthy
/// ring of `nodes` nodes.
fn chordctl_healthy(ctl: &Ctl, nodes: usize) -> Result<serde_json::Value, String> {
    let run = ctl.run(&["status", "-o", "json"]);
    if run.code != 0 {
        return Err(format!("status exit {}: {}", run.code, run.stderr.trim()));
    }
    let status = run.json();
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
    let ctl = Ctl::new(&["--compose"], &[]);
    for args in [
        &["up", "3"][..],
        &["down"],
        &["add", "1"],
        &["restart", "1"],
    ] {
        let run = ctl.run(args).expect_code(2, &format!("--compose {args:?}"));
        assert!(run.stderr.contains("docker compose"), "{}", run.stderr);
    }
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
                ("CHORD_HOST_PORT".into(), free_port().to_string()),
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
    let binary = target_dir().join("x86_64-unknown-linux-gnu/release/chord-node");
    assert!(
        binary.is_file(),
        "the Compose build copies the static chord-node from {}; build it with:\n  {BUILD_HINT}",
        binary.display()
    );
    let started = Instant::now();

    // Lower case only: Compose 1.x drops other characters from project names.
    let name = unique(&format!("chordcompose{flavor:?}")).to_ascii_lowercase();
    let sep = flavor.separator();
    let port = free_port();
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
    let nodes = wait_until(
        "5 healthy containers, ring correct",
        Duration::from_secs(120),
        || {
            let nodes = healthy_nodes(&docker, &name, 4)?;
            ring_correct(&nodes)?;
            Ok(nodes)
        },
    );
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
    let check = ctl
        .run(&["check", "--wait", "60", "-o", "json"])
        .ok("check")
        .json();
    assert_eq!(check["data"]["keys"], 21, "{check:#}");

    // Scale to 7 nodes: two more replicas join, nobody is recreated.
    let before: BTreeSet<String> = nodes.iter().map(|n| n.id.clone()).collect();
    project.compose_ok(
        &["up", "--detach", "--scale", "node=6"],
        Duration::from_secs(180),
    );
    let nodes = wait_until(
        "7 healthy containers, ring correct",
        Duration::from_secs(120),
        || {
            let nodes = healthy_nodes(&docker, &name, 6)?;
            ring_correct(&nodes)?;
            Ok(nodes)
        },
    );
    let after: BTreeSet<String> = nodes.iter().map(|n| n.id.clone()).collect();
    assert!(after.is_superset(&before), "scaling recreated containers");
    wait_until(
        "chordctl status: healthy with 7",
        Duration::from_secs(30),
        || chordctl_healthy(&ctl, 7),
    );
    let check = ctl
        .run(&["check", "--wait", "60", "-o", "json"])
        .ok("check after scaling")
        .json();
    assert_eq!(check["data"]["keys"], 21, "{check:#}");
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
