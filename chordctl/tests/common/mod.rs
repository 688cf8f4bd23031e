//! Shared helpers for the integration tests: running the real chordctl
//! binary, finding chord-node, and guards that tear clusters down even
//! when a test fails.

#![allow(dead_code)] // each test binary uses a different subset

pub mod deadline;
pub mod docker;
pub mod net;
pub mod ring;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The result of one chordctl run.
pub struct Run {
    /// Exit code (-1 if killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    fn from(out: Output) -> Self {
        Self {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Panics with both streams unless the exit code is `code`.
    pub fn expect_code(self, code: i32, what: &str) -> Self {
        assert_eq!(
            self.code, code,
            "{what}: exit code {} (wanted {code})\nstdout:\n{}\nstderr:\n{}",
            self.code, self.stdout, self.stderr
        );
        self
    }

    /// Panics unless it succeeded.
    pub fn ok(self, what: &str) -> Self {
        self.expect_code(0, what)
    }

    /// Standard output parsed as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }
}

/// A way to invoke chordctl with a fixed environment and global flags.
#[derive(Clone)]
pub struct Ctl {
    /// Global arguments put before every command.
    pub globals: Vec<String>,
    /// Extra environment.
    pub env: Vec<(String, String)>,
}

impl Ctl {
    /// chordctl with these global arguments and environment.
    pub fn new(globals: &[&str], env: &[(&str, &str)]) -> Self {
        Self {
            globals: globals.iter().map(|s| s.to_string()).collect(),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    /// Runs `chordctl <globals> <args>` and waits for it.
    pub fn run(&self, args: &[&str]) -> Run {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_chordctl"));
        cmd.args(&self.globals).args(args);
        // Settings of the person running the tests must not leak in.
        for var in ["CHORDCTL_RUNTIME", "CHORDCTL_CLUSTER", "CHORDCTL_NODE_BIN"] {
            cmd.env_remove(var);
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        Run::from(cmd.output().expect("running chordctl"))
    }
}

/// The workspace's target directory.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
}

/// `up`, `down`, `add` and `restart` under `flag` (`--compose`, `--swarm`)
/// are usage errors, found before any engine is asked, whose message names
/// `tool`, the orchestrator's command to use instead.
pub fn refuses_lifecycle(flag: &str, tool: &str) {
    let ctl = Ctl::new(&[flag], &[]);
    for args in [
        &["up", "3"][..],
        &["down"],
        &["add", "1"],
        &["restart", "1"],
    ] {
        let run = ctl.run(args).expect_code(2, &format!("{flag} {args:?}"));
        assert!(run.stderr.contains(tool), "{}", run.stderr);
    }
}

/// The workspace's root folder.
pub fn repo_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The static chord-node that the image copies (the Dockerfile's input),
/// panicking with how to build it when it is missing.
pub fn require_static_node() -> PathBuf {
    let binary = target_dir().join("x86_64-unknown-linux-gnu/release/chord-node");
    assert!(
        binary.is_file(),
        "the chord-node image copies the static chord-node from {}; build it with `make build`",
        binary.display()
    );
    binary
}

/// The chord-node binary for the process runtime: `CHORDCTL_NODE_BIN`, or the
/// first build found under the target directory.
pub fn node_bin() -> PathBuf {
    if let Some(path) = std::env::var_os("CHORDCTL_NODE_BIN") {
        return PathBuf::from(path);
    }
    let candidates = ["debug", "release", "x86_64-unknown-linux-gnu/release"]
        .map(|d| target_dir().join(d).join("chord-node"));
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .unwrap_or_else(|| {
            panic!(
                "no chord-node binary found (looked at {candidates:?}); build it first with \
                 `cargo build -p chord-node`, or set CHORDCTL_NODE_BIN"
            )
        })
}

/// Pids recorded in a process-runtime cluster's state file (none if it is
/// missing or unreadable: callers use this while cleaning up, too).
pub fn recorded_pids(state_dir: &Path, cluster: &str) -> Vec<i32> {
    let path = state_dir.join("chordctl").join(format!("{cluster}.json"));
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    let state: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    state["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| n["pid"].as_i64().map(|p| p as i32))
        .collect()
}

/// Whether process `pid` runs the executable `bin` (so a recycled pid is
/// never mistaken for one of our nodes).
pub fn runs_bin(pid: i32, bin: &Path) -> bool {
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok();
    exe.zip(std::fs::canonicalize(bin).ok())
        .is_some_and(|(a, b)| a == b)
}

/// Runs `f` to completion on a fresh single-threaded runtime.
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(f)
}

/// The Docker engine, or why it cannot be reached.
pub fn engine() -> Result<bollard::Docker, String> {
    block_on(async {
        let docker = bollard::Docker::connect_with_local_defaults().map_err(|e| e.to_string())?;
        let docker = docker
            .negotiate_version()
            .await
            .map_err(|e| e.to_string())?;
        docker.ping().await.map_err(|e| e.to_string())?;
        Ok(docker)
    })
}

/// A name no other test run uses at the same time.
pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .subsec_nanos();
    format!("{prefix}-{}-{:x}", std::process::id(), nanos % 0xffff)
}

/// The 200 keys of the scenarios: plain ones, and some that need
/// percent-encoding (slash, space, `%`, `?`, non-ASCII).
pub fn scenario_keys() -> Vec<(String, String)> {
    (0..200)
        .map(|i| {
            let key = match i % 10 {
                0 => format!("dir/{i} sub?x"),
                1 => format!("100%-{i}"),
                2 => format!("clé-{i}"),
                _ => format!("user:{i}"),
            };
            let value = format!(r#"{{"n":{i},"name":"Ada {i}","tags":["a","b"]}}"#);
            (key, value)
        })
        .collect()
}

/// Puts every pair through `ctl`.
pub fn put_all(ctl: &Ctl, pairs: &[(String, String)]) {
    for (key, value) in pairs {
        ctl.run(&["put", key, value]).ok(&format!("put {key}"));
    }
}

/// Gets every key through `ctl` and compares the JSON values.
pub fn get_all(ctl: &Ctl, pairs: &[(String, String)]) {
    for (key, value) in pairs {
        let run = ctl.run(&["get", key]).ok(&format!("get {key}"));
        let got: serde_json::Value = serde_json::from_str(run.stdout.trim())
            .unwrap_or_else(|e| panic!("get {key}: not JSON ({e}): {}", run.stdout));
        let want: serde_json::Value = serde_json::from_str(value).unwrap();
        assert_eq!(got, want, "value of {key}");
    }
}

/// Checks the parts of the scenario that do not depend on the runtime:
/// not-found exit codes, `-v`, status JSON, kill, check, and reads after.
pub fn scenario(ctl: &Ctl, nodes: usize) {
    let pairs = scenario_keys();
    put_all(ctl, &pairs);
    get_all(ctl, &pairs);

    // Exit code 3 for a missing key, on get and delete.
    let missing = ctl
        .run(&["get", "no-such-key"])
        .expect_code(3, "get missing");
    assert!(missing.stderr.contains("not found"), "{}", missing.stderr);
    ctl.run(&["delete", "no-such-key"])
        .expect_code(3, "delete missing");

    // -v tells the owner and the hops on stderr, stdout stays the value.
    let verbose = ctl.run(&["-v", "get", &pairs[3].0]).ok("get -v");
    assert!(
        verbose.stderr.contains("owner:") && verbose.stderr.contains("hops:"),
        "{}",
        verbose.stderr
    );

    // --node picks the entry node, by index or by name.
    ctl.run(&["put", "--node", "2", "via/node", "[1,2]"])
        .ok("put --node 2");
    let status = ctl.run(&["status", "-o", "json"]).ok("status").json();
    let name = status["nodes"][0]["name"].as_str().unwrap().to_string();
    let via = ctl
        .run(&["-v", "get", "--node", &name, "via/node"])
        .ok("get --node");
    assert!(
        via.stderr.contains(&format!("via: {name}")),
        "{}",
        via.stderr
    );
    ctl.run(&["delete", "via/node"]).ok("delete via/node");

    // A put then delete round trip.
    ctl.run(&["put", "tmp/key", "\"text\""]).ok("put tmp");
    ctl.run(&["delete", "tmp/key"]).ok("delete tmp");
    ctl.run(&["get", "tmp/key"]).expect_code(3, "get deleted");

    let status = ctl.run(&["status", "-o", "json"]).ok("status").json();
    let rows = status["nodes"].as_array().expect("nodes array");
    assert_eq!(rows.len(), nodes);
    assert!(rows.iter().all(|r| r["state"] == "up"), "{status:#}");
    assert_eq!(status["healthy"], true);
    let held: u64 = rows.iter().map(|r| r["keys"].as_u64().unwrap_or(0)).sum();
    assert!(
        held >= 200,
        "the nodes hold {held} entries, fewer than the 200 keys put"
    );

    ctl.run(&["check", "--wait", "30"])
        .ok("check before the kill");

    let killed = ctl
        .run(&["kill", "--random", "2", "-o", "json"])
        .ok("kill")
        .json();
    assert_eq!(
        killed["killed"].as_array().map(Vec::len),
        Some(2),
        "{killed}"
    );

    // status now reports the dead nodes and exits 4.
    let after = ctl
        .run(&["status", "-o", "json"])
        .expect_code(4, "status after kill")
        .json();
    let down = after["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["state"] == "down")
        .count();
    assert_eq!(down, 2, "{after:#}");

    let check = ctl
        .run(&["check", "--wait", "90", "-o", "json"])
        .ok("check --wait after kill")
        .json();
    assert_eq!(
        check["data"]["lost"].as_array().map(Vec::len),
        Some(0),
        "{check:#}"
    );
    assert_eq!(check["data"]["keys"].as_u64(), Some(200), "{check:#}");
    assert_eq!(check["down"].as_array().map(Vec::len), Some(2));

    get_all(ctl, &pairs);
}

/// Runs `chordctl chaos` with `args` (JSON output, a report folder) and
/// checks what every chaos run must show: exit 0, nothing lost or
/// resurrected, no lost read, the ring correct and `check` clean after the
/// heal, faults of the kinds asked for, and the three report files.
pub fn chaos_passes(ctl: &Ctl, args: &[&str], kinds: &[&str]) -> serde_json::Value {
    let dir = std::env::temp_dir().join(unique("chaos-report"));
    let mut all = vec!["chaos", "-o", "json", "--report", dir.to_str().unwrap()];
    all.extend_from_slice(args);
    let run = ctl.run(&all);
    let summary: serde_json::Value = serde_json::from_str(&run.stdout).unwrap_or_else(|e| {
        panic!(
            "chaos printed no JSON ({e}); exit {}\n{}\n{}",
            run.code, run.stdout, run.stderr
        )
    });
    let report = &summary["report"];
    for list in ["lost", "resurrected", "lost_reads", "unreadable"] {
        assert_eq!(
            report[list].as_array().map(Vec::len),
            Some(0),
            // The list first: CI shows only the head of a long message.
            "{list}: {:#}\nreport folder {}\n{summary:#}",
            report[list],
            dir.display()
        );
    }
    assert_eq!(
        run.code, 0,
        "chaos exit code; stderr:\n{}\n{summary:#}",
        run.stderr
    );
    assert_eq!(summary["passed"], true, "{summary:#}");
    assert!(summary["ring_after_heal_ms"].is_u64(), "{summary:#}");
    assert!(summary["clean_after_heal_ms"].is_u64(), "{summary:#}");
    assert!(
        report["ops"].as_u64().unwrap_or(0) > 100,
        "too few operations: {summary:#}"
    );
    let seen: Vec<&str> = summary["faults"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["kind"].as_str())
        .collect();
    assert!(
        seen.iter().all(|k| kinds.contains(k)),
        "faults {seen:?} outside {kinds:?}"
    );
    assert!(
        kinds.iter().all(|k| seen.contains(k)),
        "every kind asked for gets its turn: {seen:?}, asked {kinds:?}"
    );
    let lines = std::fs::read_to_string(dir.join("history.jsonl")).expect("history.jsonl");
    assert_eq!(
        lines.lines().count() as u64,
        report["ops"].as_u64().unwrap(),
        "one history line per operation"
    );
    let svg = std::fs::read_to_string(dir.join("timeline.svg")).expect("timeline.svg");
    assert!(
        svg.trim_start().starts_with("<svg") || svg.starts_with("<?xml"),
        "{}",
        &svg[..80.min(svg.len())]
    );
    assert!(dir.join("summary.json").is_file());
    let _ = std::fs::remove_dir_all(&dir);
    println!(
        "chaos: {} operations, faults {seen:?}, ring correct {} ms and check clean {} ms after the heal, {} stale reads",
        report["ops"], summary["ring_after_heal_ms"], summary["clean_after_heal_ms"], report["stale_reads"]
    );
    summary
}

/// Whether a pid is a live (non-zombie) process running `bin`.
pub fn is_live_node(pid: i32, bin: &Path) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let zombie = stat
        .rsplit(')')
        .next()
        .is_some_and(|rest| rest.trim_start().starts_with('Z'));
    !zombie && runs_bin(pid, bin)
}

/// A process-runtime cluster: torn down on drop, then kills whatever the state file
/// still names, so a failing test leaves no process behind.
pub struct ProcessCluster {
    /// chordctl, set up for this cluster.
    pub ctl: Ctl,
    /// Its own state folder (`XDG_STATE_HOME`).
    pub state_dir: PathBuf,
    /// The cluster's unique name.
    pub cluster: String,
    /// The node binary it runs.
    pub bin: PathBuf,
    /// Node pids seen, killed on drop if still running it.
    pub pids: Vec<i32>,
}

impl ProcessCluster {
    /// A fresh cluster name with its own state folder, and chordctl set up
    /// for it with the process runtime.
    pub fn new(prefix: &str) -> ProcessCluster {
        let bin = node_bin();
        let cluster = unique(prefix);
        let state_dir = std::env::temp_dir().join(format!("{cluster}-state"));
        std::fs::create_dir_all(&state_dir).unwrap();
        let ctl = Ctl::new(
            &["--runtime", "process", "--cluster", &cluster],
            &[
                ("XDG_STATE_HOME", state_dir.to_str().unwrap()),
                ("CHORDCTL_NODE_BIN", bin.to_str().unwrap()),
            ],
        );
        ProcessCluster {
            ctl,
            state_dir,
            cluster,
            bin,
            pids: Vec::new(),
        }
    }

    /// Adds the node pids the state file names now to those killed on drop.
    pub fn remember_pids(&mut self) {
        for pid in recorded_pids(&self.state_dir, &self.cluster) {
            if !self.pids.contains(&pid) {
                self.pids.push(pid);
            }
        }
    }
}

impl Drop for ProcessCluster {
    fn drop(&mut self) {
        self.remember_pids();
        let _ = self.ctl.run(&["down"]);
        for &pid in &self.pids {
            if is_live_node(pid, &self.bin) {
                // SAFETY: kill(2) with plain integers.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
        let _ = std::fs::remove_dir_all(&self.state_dir);
    }
}
