//! Child-process cluster harness: real `chord-node` binaries on 127.0.0.1
//! ephemeral ports, killed (SIGKILL) in `Drop` so nothing outlives a test.

#![allow(dead_code)] // each test file uses a different part of the harness

use chord_node::id::Id;
use chord_node::placement::{holders_of, successor_of};
use chord_node::ring::Peer;
use rand::seq::IndexedRandom;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One node process.
pub struct NodeProc {
    /// The child process (None once killed).
    pub child: Option<Child>,
    /// Its advertised address.
    pub addr: String,
    /// Its ring id.
    pub id: Id,
    /// Where its stderr goes.
    pub log: std::path::PathBuf,
}

impl NodeProc {
    /// Whether it is still running (as far as the harness knows).
    pub fn alive(&self) -> bool {
        self.child.is_some()
    }
}

/// A set of node processes sharing one configuration.
pub struct Cluster {
    /// All nodes ever started, dead ones included.
    pub nodes: Vec<NodeProc>,
    /// Extra flags every node gets.
    pub args: Vec<String>,
    /// HTTP client for tests.
    pub http: reqwest::Client,
    /// Replication factor the nodes run with.
    pub replicas: usize,
}

/// Fast intervals so tests converge quickly; timings stay realistic in ratio.
pub const FAST: &[&str] = &["--stabilize-ms", "100", "--repair-ms", "400"];

impl Cluster {
    /// An empty cluster whose nodes get `args`.
    pub fn new(args: &[&str]) -> Cluster {
        let replicas = args
            .windows(2)
            .find(|w| w[0] == "--replicas")
            .map(|w| w[1].parse().unwrap())
            .unwrap_or(3);
        Cluster {
            nodes: Vec::new(),
            args: args.iter().map(|s| s.to_string()).collect(),
            http: reqwest::Client::builder()
                .no_proxy()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap(),
            replicas,
        }
    }

    /// Starts a node listening on `listen` (e.g. `127.0.0.1:0`), joining `join`.
    pub fn spawn_at(&mut self, listen: &str, join: Option<&str>) -> usize {
        let n = self.nodes.len();
        let log = std::env::temp_dir().join(format!(
            "chord-test-{}-{}-{n}.log",
            std::process::id(),
            listen.replace(':', "_")
        ));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_chord-node"));
        cmd.arg("--listen").arg(listen).args(&self.args);
        if let Some(j) = join {
            cmd.arg("--join").arg(j);
        }
        cmd.env("RUST_LOG", "info")
            .env_remove("CHORD_CLUSTER_KEY")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap());
        let mut child = cmd.spawn().expect("start chord-node");
        let mut line = String::new();
        let _ = BufReader::new(child.stdout.take().unwrap()).read_line(&mut line);
        // "chord-node listening on X advertising ADDR id HEX"
        let words: Vec<&str> = line.split_whitespace().collect();
        let parsed = match words.as_slice() {
            [_, _, _, _, _, addr, _, hex, ..] => Id::from_hex(hex).map(|id| (addr.to_string(), id)),
            _ => None,
        };
        let Some((addr, id)) = parsed else {
            // Never leave a child behind, even when the harness gives up.
            let _ = child.kill();
            let _ = child.wait();
            panic!("unexpected first line {line:?} (log: {})", log.display());
        };
        self.nodes.push(NodeProc {
            child: Some(child),
            addr,
            id,
            log,
        });
        n
    }

    /// Starts a node on a fresh port, joining through `join`.
    pub fn spawn(&mut self, join: Option<&str>) -> usize {
        self.spawn_at("127.0.0.1:0", join)
    }

    /// Starts `n` nodes, each joining through the first, one after another
    /// (waiting for a correct ring after each) or all at once.
    pub async fn start(args: &[&str], n: usize, one_by_one: bool) -> Cluster {
        let mut c = Cluster::new(args);
        c.spawn(None);
        let seed = c.nodes[0].addr.clone();
        for _ in 1..n {
            c.spawn(Some(&seed));
            if one_by_one {
                c.wait_ring(Duration::from_secs(30)).await;
            }
        }
        c.wait_ring(Duration::from_secs(60)).await;
        c
    }

    /// Addresses of live nodes.
    pub fn live(&self) -> Vec<&NodeProc> {
        self.nodes.iter().filter(|n| n.alive()).collect()
    }

    /// A random live node's address.
    pub fn random_addr(&self) -> String {
        self.live().choose(&mut rand::rng()).unwrap().addr.clone()
    }

    /// SIGKILLs node `i`.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut c) = self.nodes[i].child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Sends SIGSTOP to node `i`: its port still accepts connections but
    /// nothing answers, like a hung process. `Drop` still kills it.
    pub fn freeze(&mut self, i: usize) {
        if let Some(c) = &self.nodes[i].child {
            let ok = Command::new("kill")
                .arg("-STOP")
                .arg(c.id().to_string())
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "could not SIGSTOP node {}", self.nodes[i].addr);
            // SIGSTOP takes effect when a thread of the process next runs
            // and takes the signal; until then its other threads keep
            // serving. On a busy machine that lasts long enough for a
            // request sent "after the freeze" to be answered by the node, so
            // wait until every thread is really stopped.
            let task_dir = format!("/proc/{}/task", c.id());
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            loop {
                let all_stopped = std::fs::read_dir(&task_dir)
                    .map(|tasks| {
                        tasks.flatten().all(|t| {
                            std::fs::read_to_string(t.path().join("stat")).is_ok_and(|stat| {
                                // The state follows the parenthesised name.
                                stat.rsplit_once(") ")
                                    .is_some_and(|(_, rest)| rest.starts_with('T'))
                            })
                        })
                    })
                    .unwrap_or(false);
                if all_stopped {
                    break;
                }
                assert!(
                    std::time::Instant::now() < deadline,
                    "node {} not stopped 10 s after SIGSTOP",
                    self.nodes[i].addr
                );
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }

    /// Sends SIGTERM to node `i` and waits for it to exit.
    pub fn terminate(&mut self, i: usize) {
        if let Some(mut c) = self.nodes[i].child.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(c.id().to_string())
                .status();
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = c.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = c.kill();
            let _ = c.wait();
            panic!(
                "node {} did not exit within 30 s of SIGTERM",
                self.nodes[i].addr
            );
        }
    }

    /// `GET /status` of a node.
    pub async fn status(&self, addr: &str) -> Option<Value> {
        let r = self
            .http
            .get(format!("http://{addr}/status"))
            .send()
            .await
            .ok()?;
        r.json().await.ok()
    }

    /// Sorted ids of live nodes.
    pub fn sorted_ids(&self) -> Vec<Id> {
        let mut ids: Vec<Id> = self.live().iter().map(|n| n.id).collect();
        ids.sort();
        ids
    }

    /// Address of the node with `id`.
    pub fn addr_of(&self, id: &Id) -> String {
        self.nodes
            .iter()
            .find(|n| n.id == *id)
            .unwrap()
            .addr
            .clone()
    }

    /// The true owner of `key` among live nodes.
    pub fn owner_of(&self, key: &str) -> String {
        let ids = self.sorted_ids();
        let i = successor_of(&ids, &Id::hash(key.as_bytes())).unwrap();
        self.addr_of(&ids[i])
    }

    /// The expected holders of `key` among live nodes.
    pub fn holders(&self, key: &str) -> Vec<String> {
        let ring: Vec<Peer> = self
            .sorted_ids()
            .iter()
            .map(|id| Peer {
                id: *id,
                addr: self.addr_of(id),
            })
            .collect();
        holders_of(&ring, &Id::hash(key.as_bytes()), self.replicas)
            .into_iter()
            .map(|i| ring[i].addr.clone())
            .collect()
    }

    /// Waits until every live node's distinct fingers are exactly the true
    /// ones (the successors of `n + 2^i` among live nodes, `n` itself left
    /// out); returns how long that took. Panics with the first wrong table
    /// after `timeout`.
    pub async fn wait_fingers(&self, timeout: Duration) -> Duration {
        let ids = self.sorted_ids();
        let start = Instant::now();
        loop {
            let mut wrong = None;
            for n in self.live() {
                let mut want: Vec<String> = (0..160)
                    .map(|i| ids[successor_of(&ids, &n.id.finger_start(i)).unwrap()])
                    .filter(|f| *f != n.id)
                    .map(|f| f.to_hex())
                    .collect();
                want.sort();
                want.dedup();
                let st = self.status(&n.addr).await.unwrap_or_default();
                let mut got: Vec<String> = st["fingers"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|f| f["id"].as_str().map(String::from))
                            .collect()
                    })
                    .unwrap_or_default();
                got.sort();
                if got != want {
                    wrong = Some(format!("{}: fingers {got:?}, want {want:?}", n.addr));
                    break;
                }
            }
            match wrong {
                None => return start.elapsed(),
                Some(w) if start.elapsed() > timeout => panic!("fingers not correct: {w}"),
                Some(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    /// Whether every live node's successor and predecessor agree with the sorted ids.
    pub async fn ring_is_correct(&self) -> Result<(), String> {
        let ids = self.sorted_ids();
        let n = ids.len();
        for (i, id) in ids.iter().enumerate() {
            let addr = self.addr_of(id);
            let st = self
                .status(&addr)
                .await
                .ok_or(format!("{addr}: no status"))?;
            let succ = st["successors"][0]["id"].as_str().map(String::from);
            let pred = st["predecessor"]["id"].as_str().map(String::from);
            if n == 1 {
                if succ.is_some() {
                    return Err(format!("{addr}: alone but has successor {succ:?}"));
                }
                continue;
            }
            let want_succ = ids[(i + 1) % n].to_hex();
            let want_pred = ids[(i + n - 1) % n].to_hex();
            if succ.as_deref() != Some(want_succ.as_str()) {
                return Err(format!("{addr}: successor {succ:?}, want {want_succ}"));
            }
            if pred.as_deref() != Some(want_pred.as_str()) {
                return Err(format!("{addr}: predecessor {pred:?}, want {want_pred}"));
            }
        }
        Ok(())
    }

    /// Polls until the ring is correct; panics with the last problem at the deadline.
    pub async fn wait_ring(&self, timeout: Duration) -> Duration {
        let start = Instant::now();
        loop {
            match self.ring_is_correct().await {
                Ok(()) => return start.elapsed(),
                Err(e) if start.elapsed() > timeout => {
                    panic!("ring not correct after {timeout:?}: {e}")
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    /// Polls until the node at `addr` holds `n` live keys.
    pub async fn wait_keys(&self, addr: &str, n: u64, timeout: Duration) {
        let start = Instant::now();
        loop {
            let held = self.status(addr).await.and_then(|s| s["keys"].as_u64());
            if held == Some(n) {
                return;
            }
            assert!(
                start.elapsed() < timeout,
                "{addr} holds {held:?} keys, want {n}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `PUT /kv/{key}` through `addr`: (status, owner header, hops header).
    pub async fn put(&self, addr: &str, key: &str, value: &Value) -> (u16, String, u32) {
        let r = self
            .http
            .put(format!("http://{addr}/kv/{}", encode(key)))
            .json(value)
            .send()
            .await
            .expect("put request");
        headers(&r)
    }

    /// `GET /kv/{key}` through `addr`: (status, body, owner, hops).
    pub async fn get(&self, addr: &str, key: &str) -> (u16, Value, String, u32) {
        let r = self
            .http
            .get(format!("http://{addr}/kv/{}", encode(key)))
            .send()
            .await
            .expect("get request");
        let (status, owner, hops) = headers(&r);
        (status, r.json().await.unwrap_or(Value::Null), owner, hops)
    }

    /// `DELETE /kv/{key}` through `addr`: status.
    pub async fn delete(&self, addr: &str, key: &str) -> u16 {
        let r = self
            .http
            .delete(format!("http://{addr}/kv/{}", encode(key)))
            .send()
            .await
            .expect("delete request");
        r.status().as_u16()
    }

    /// The sample `name` (with its labels, as exported) in the `/metrics`
    /// of the node at `addr`; `None` when it has none yet.
    pub async fn metric(&self, addr: &str, name: &str) -> Option<f64> {
        let text = self
            .http
            .get(format!("http://{addr}/metrics"))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("metrics text");
        sample(&text, name)
    }

    /// Keys (with version and tombstone flag) a node holds: `GET /chord/keys`.
    pub async fn keys_of(&self, addr: &str) -> Vec<(String, String, bool)> {
        let v: Value = self
            .http
            .get(format!("http://{addr}/chord/keys"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["key"].as_str().unwrap().to_string(),
                    e["version"].as_str().unwrap().to_string(),
                    e["deleted"].as_bool().unwrap(),
                )
            })
            .collect()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for i in 0..self.nodes.len() {
            self.kill(i);
        }
        if !std::thread::panicking() {
            for n in &self.nodes {
                let _ = std::fs::remove_file(&n.log);
            }
        } else {
            for n in &self.nodes {
                eprintln!("log of {}: {}", n.addr, n.log.display());
            }
        }
    }
}

fn headers(r: &reqwest::Response) -> (u16, String, u32) {
    let owner = r
        .headers()
        .get("x-chord-owner")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let hops = r
        .headers()
        .get("x-chord-hops")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(u32::MAX);
    (r.status().as_u16(), owner, hops)
}

/// Keys in URLs are encoded the way every client of the node encodes them.
pub use chord_proto::key::encode_key as encode;

/// The value of the sample `name` (with its labels, as exported) in an
/// OpenMetrics text.
pub fn sample(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}
