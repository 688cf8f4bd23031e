//! `chordctl ui` against rings of local processes: the HTTP routes, then a
//! headless browser loading the page.
//!
//! Needs a chord-node binary (see `common::node_bin`). The browser test
//! needs Debian's `chromium`; it skips without it, except under CI (`CI`
//! set), where a missing browser fails it.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::deadline::run_with_deadline;
use common::net::{http, json};
use common::{unique, Ctl, ProcessCluster};

/// A process-runtime ring for the UI to show (torn down on drop).
struct Ring {
    cluster: ProcessCluster,
    ctl: Ctl,
}

impl Ring {
    /// Starts `nodes` nodes and waits for a correct ring.
    fn up(prefix: &str, nodes: u32) -> Ring {
        let cluster = ProcessCluster::new(prefix);
        let mut ring = Ring {
            ctl: cluster.ctl.clone(),
            cluster,
        };
        let n = nodes.to_string();
        let up = ring.ctl.run(&["up", &n, "--timeout", "120"]);
        ring.cluster.remember_pids();
        up.ok("up");
        ring
    }

    /// `chordctl ui` on a free loopback port, with the address it printed.
    fn ui(&self) -> Ui {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_chordctl"));
        cmd.args(&self.ctl.globals)
            .args(["ui", "--listen", "127.0.0.1:0"])
            .env_remove("CHORDCTL_RUNTIME")
            .env_remove("CHORDCTL_CLUSTER")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in &self.ctl.env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("starting chordctl ui");
        let mut line = String::new();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        out.read_line(&mut line)
            .expect("reading chordctl ui's stdout");
        let mut ui = Ui { child, addr: None };
        // "chordctl ui: http://127.0.0.1:PORT/ (...)"
        let addr = line
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .map(str::to_string);
        if addr.is_none() {
            let mut err = String::new();
            let _ = ui.child.stderr.take().unwrap().read_to_string(&mut err);
            panic!("chordctl ui printed no address: {line:?}\nstderr:\n{err}");
        }
        ui.addr = addr;
        ui
    }
}

/// A running `chordctl ui`, killed on drop unless stopped.
struct Ui {
    child: Child,
    addr: Option<String>,
}

impl Ui {
    fn addr(&self) -> &str {
        self.addr.as_deref().expect("address read at start")
    }

    fn get(&self, path: &str) -> (u16, String) {
        http(self.addr(), "GET", path, None).unwrap_or_else(|e| panic!("{e}"))
    }

    fn kv(&self, body: &str) -> (u16, serde_json::Value) {
        let (code, text) = http(self.addr(), "POST", "/api/kv", Some(body)).unwrap();
        (code, json(&text))
    }

    /// SIGTERM, then the exit code (it must stop within 10 s).
    fn stop(mut self) -> Option<i32> {
        // SAFETY: kill(2) with plain integers.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        for _ in 0..100 {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("chordctl ui did not stop within 10 s of SIGTERM");
    }
}

impl Drop for Ui {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn ui_serves_the_page_the_view_the_picture_and_traced_requests() {
    let ring = Ring::up("t-ui", 4);
    let ui = ring.ui();

    let (code, page) = ui.get("/");
    assert_eq!(code, 200);
    assert!(page.contains("/app.js"), "{page}");
    let (code, script) = ui.get("/app.js");
    assert_eq!(code, 200);
    assert!(script.contains("/api/kv"));

    let (code, view) = ui.get("/api/view");
    assert_eq!(code, 200, "{view}");
    let view = json(&view);
    let nodes = view["nodes"].as_array().expect("nodes");
    assert_eq!(nodes.len(), 4, "{view:#}");
    assert!(nodes.iter().all(|n| n["state"] == "up"), "{view:#}");
    assert_eq!(view["rings"], 1);

    let (code, svg) = ui.get("/api/ring.svg");
    assert_eq!(code, 200);
    assert_eq!(svg.matches("class=\"node\"").count(), 4, "{svg}");

    let (code, put) = ui.kv(r#"{"op":"put","key":"user:1","value":"{\"name\":\"Ada\"}"}"#);
    assert_eq!((code, &put["status"]), (200, &200.into()), "{put:#}");
    let (code, got) = ui.kv(r#"{"op":"get","key":"user:1"}"#);
    assert_eq!(code, 200, "{got:#}");
    assert_eq!(got["status"], 200, "{got:#}");
    assert_eq!(
        json(got["body"].as_str().unwrap()),
        json(r#"{"name":"Ada"}"#)
    );
    assert!(got["owner_name"].as_str().is_some(), "{got:#}");
    // The stored value is the one chordctl itself reads.
    let read = ring.ctl.run(&["get", "user:1"]).ok("get");
    assert_eq!(json(read.stdout.trim()), json(r#"{"name":"Ada"}"#));

    let (code, bad) = ui.kv(r#"{"op":"put","key":"k2","value":"{not json"}"#);
    assert_eq!(code, 400, "{bad:#}");
    ring.ctl
        .run(&["get", "k2"])
        .expect_code(3, "nothing was sent");

    assert_eq!(ui.stop(), Some(0), "SIGTERM is a clean exit");
}

#[test]
fn a_headless_browser_sees_eight_node_marks_and_a_drawn_trace() {
    let Some(chromium) = browser() else { return };
    let ring = Ring::up("t-ui-browser", 8);
    ring.ctl
        .run(&["put", "user:42", r#"{"name":"Ada"}"#])
        .ok("put");
    let ui = ring.ui();
    let url = format!("http://{}/?trace=user%3A42", ui.addr());
    let mut cmd = Command::new(&chromium);
    let profile = std::env::temp_dir().join(unique("ui-chromium"));
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        &format!("--user-data-dir={}", profile.display()),
        "--virtual-time-budget=8000",
        "--dump-dom",
        &url,
    ]);
    let out = run_with_deadline(cmd, Duration::from_secs(90)).unwrap_or_else(|e| panic!("{e}"));
    let _ = std::fs::remove_dir_all(&profile);
    assert!(out.ok, "chromium failed:\n{}", out.stderr);
    let dom = out.stdout;
    // The picture is inlined in the page: count its marks in the DOM.
    let marks = dom.matches("class=\"node\"").count();
    assert_eq!(marks, 8, "node marks in the dumped DOM:\n{dom}");
    assert!(
        dom.contains("get user:42 → 200"),
        "the traced get answered:\n{dom}"
    );
    // Drawn only when the nodes report X-Chord-Path.
    assert!(
        dom.contains("class=\"trace\""),
        "no trace drawn (do the nodes send X-Chord-Path?):\n{dom}"
    );
    assert_eq!(ui.stop(), Some(0));
}

/// Debian's `chromium` on PATH; without it the test skips, or fails under CI.
fn browser() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("chromium"))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but `chromium` is not on PATH (apt-get install -y chromium)"
        );
        eprintln!("skipping: `chromium` is not on PATH (apt-get install -y chromium)");
    }
    found
}
