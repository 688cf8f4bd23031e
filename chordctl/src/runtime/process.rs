//! Nodes as local processes on 127.0.0.1, for machines without Docker.
//!
//! State lives in `$XDG_STATE_HOME/chordctl/<cluster>.json` (or
//! `~/.local/state/chordctl/`), logs in `<cluster>/<node>.log` beside it.
//! A process is identified by its pid *and* its start time from
//! `/proc/<pid>/stat`, so a recycled pid is never mistaken for a node (and
//! never killed).

use std::fs::{self, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use super::{
    node_bin_candidates, node_log_level, node_name, Cluster, ClusterSpec, NodeInfo, Removed,
    Runtime, VNODES_ENV,
};
use crate::output::Progress;
use crate::poll::{self, Look};

/// How long a SIGTERMed node gets to hand its data over before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(30);
/// How long to wait for a SIGKILLed process to disappear.
const KILL_WAIT: Duration = Duration::from_secs(5);
/// Poll interval while waiting for a process to exit or a log to grow.
const POLL: Duration = Duration::from_millis(50);

/// A node process as recorded in the state file.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ProcNode {
    index: u32,
    name: String,
    port: u16,
    pid: i32,
    /// Start time in clock ticks since boot (field 22 of /proc/pid/stat).
    start_time: u64,
}

/// The state file of one cluster.
#[derive(Debug, Serialize, Deserialize)]
struct State {
    spec: ClusterSpec,
    nodes: Vec<ProcNode>,
}

/// Local processes, with state in the user's state directory.
pub struct ProcessRuntime {
    dir: PathBuf,
    node_bin: Option<PathBuf>,
}

/// The user's state directory for chordctl.
pub fn state_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("XDG_STATE_HOME").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir).join("chordctl"));
    }
    let home = std::env::var_os("HOME").context("neither XDG_STATE_HOME nor HOME is set")?;
    Ok(PathBuf::from(home).join(".local/state/chordctl"))
}

/// Reads `(state, start_time)` of a process from `/proc/<pid>/stat`.
fn proc_stat(pid: i32) -> Option<(char, u64)> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may contain spaces and parentheses, so
    // fields are counted after its closing parenthesis.
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let state = fields.first()?.chars().next()?;
    let start = fields.get(19)?.parse().ok()?;
    Some((state, start))
}

/// Whether the recorded process is alive: same pid, same start time, and
/// not a zombie (a killed child waiting to be reaped is dead for us).
fn alive(node: &ProcNode) -> bool {
    matches!(proc_stat(node.pid), Some((state, start))
        if start == node.start_time && state != 'Z' && state != 'X')
}

fn signal(pid: i32, sig: i32) -> Result<()> {
    // SAFETY: kill(2) takes plain integers and touches no memory of ours.
    let rc = unsafe { libc::kill(pid, sig) };
    if rc != 0 {
        let err = std::io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::ESRCH) {
            return Err(err).with_context(|| format!("sending signal {sig} to pid {pid}"));
        }
    }
    Ok(())
}

/// Polls until the process is gone or `limit` passes; returns whether it is gone.
async fn wait_gone(node: &ProcNode, limit: Duration) -> bool {
    let gone = poll::until(Instant::now() + limit, POLL, async || {
        if alive(node) {
            Look::NotYet(())
        } else {
            Look::Done(())
        }
    });
    gone.await.done().is_some()
}

/// A free loopback port. The node binds it a moment later; another
/// program could take it in between, in which case the node exits and
/// `up` reports its log.
fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

impl ProcessRuntime {
    /// A runtime keeping state under [`state_dir`].
    pub fn new(node_bin: Option<PathBuf>) -> Result<Self> {
        Ok(Self {
            dir: state_dir()?,
            node_bin,
        })
    }

    /// A runtime keeping state under `dir` (tests).
    #[cfg(test)]
    pub fn with_dir(dir: PathBuf, node_bin: Option<PathBuf>) -> Self {
        Self { dir, node_bin }
    }

    fn state_path(&self, cluster: &str) -> PathBuf {
        self.dir.join(format!("{cluster}.json"))
    }

    fn log_dir(&self, cluster: &str) -> PathBuf {
        self.dir.join(cluster)
    }

    fn log_path(&self, cluster: &str, name: &str) -> PathBuf {
        self.log_dir(cluster).join(format!("{name}.log"))
    }

    fn load(&self, cluster: &str) -> Result<Option<State>> {
        let path = self.state_path(cluster);
        match fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text)
                .map(Some)
                .with_context(|| format!("reading {}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }

    /// Writes the state through a temporary file and a rename, so a crash
    /// never leaves half a file.
    fn save(&self, state: &State) -> Result<()> {
        let path = self.state_path(&state.spec.name);
        let tmp = path.with_extension("json.tmp");
        // The state holds the cluster key: readable by its owner only.
        use std::io::Write as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        let _ = fs::remove_file(&tmp);
        fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .and_then(|mut f| f.write_all(&serde_json::to_vec_pretty(state)?))
            .with_context(|| format!("writing {}", tmp.display()))?;
        fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))
    }

    fn locate(&self) -> Result<PathBuf> {
        let candidates = node_bin_candidates(self.node_bin.as_ref());
        let found = candidates.iter().find(|p| p.is_file());
        let Some(path) = found else {
            let list: Vec<String> = candidates.iter().map(|p| p.display().to_string()).collect();
            bail!(
                "chord-node not found (looked at {}); build it with `cargo build -p chord-node` \
                 or give its path with --node-bin / CHORDCTL_NODE_BIN",
                list.join(", ")
            );
        };
        fs::canonicalize(path).with_context(|| format!("resolving {}", path.display()))
    }

    fn record(node: &ProcNode) -> NodeInfo {
        let running = alive(node);
        NodeInfo {
            name: node.name.clone(),
            index: node.index,
            advertise: format!("127.0.0.1:{}", node.port),
            endpoint: running.then(|| format!("127.0.0.1:{}", node.port)),
            running,
        }
    }

    fn recorded(&self, cluster: &str, node: &NodeInfo) -> Result<(State, ProcNode)> {
        let state = self
            .load(cluster)?
            .with_context(|| format!("no cluster named {cluster:?}"))?;
        let proc_node = state
            .nodes
            .iter()
            .find(|n| n.index == node.index)
            .cloned()
            .with_context(|| format!("{} is not in the state file", node.name))?;
        Ok((state, proc_node))
    }
}

impl Runtime for ProcessRuntime {
    fn kind(&self) -> &'static str {
        "process"
    }

    async fn find(&self, cluster: &str) -> Result<Option<Cluster>> {
        let Some(state) = self.load(cluster)? else {
            return Ok(None);
        };
        let mut nodes: Vec<NodeInfo> = state.nodes.iter().map(Self::record).collect();
        nodes.sort_by_key(|n| n.index);
        Ok(Some(Cluster {
            spec: state.spec,
            nodes,
        }))
    }

    async fn prepare(&self, spec: &mut ClusterSpec, _progress: &Progress) -> Result<()> {
        spec.program = self.locate()?.to_string_lossy().to_string();
        fs::create_dir_all(self.log_dir(&spec.name))
            .with_context(|| format!("creating {}", self.log_dir(&spec.name).display()))?;
        self.save(&State {
            spec: spec.clone(),
            nodes: Vec::new(),
        })
    }

    async fn start_node(
        &self,
        spec: &ClusterSpec,
        index: u32,
        join: Option<&str>,
    ) -> Result<NodeInfo> {
        let mut state = self
            .load(&spec.name)?
            .with_context(|| format!("no cluster named {:?}", spec.name))?;
        let name = node_name(&spec.name, index);
        // A restarted node keeps its address (and so its ring position).
        let port = match state.nodes.iter().find(|n| n.index == index) {
            Some(old) => old.port,
            None => free_port()?,
        };
        let addr = format!("127.0.0.1:{port}");
        fs::create_dir_all(self.log_dir(&spec.name))?;
        let log_path = self.log_path(&spec.name, &name);
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .with_context(|| format!("opening {}", log_path.display()))?;
        let mut cmd = Command::new(&spec.program);
        // Inherited CHORD_* variables would silently change the nodes.
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("CHORD_") {
                cmd.env_remove(key);
            }
        }
        // Configuration through the environment rather than argv keeps the
        // cluster key out of `ps` output for other users.
        cmd.env("CHORD_LISTEN", &addr)
            .env("CHORD_ADVERTISE", &addr)
            .env("CHORD_REPLICAS", spec.replicas.to_string())
            .env("CHORD_CLUSTER_KEY", &spec.key)
            .env("RUST_LOG", node_log_level())
            // The log goes to a file: no colour escapes.
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            // Its own process group: a Ctrl-C aimed at chordctl must not
            // reach the nodes it leaves running.
            .process_group(0);
        if let Some(join) = join {
            cmd.env("CHORD_JOIN", join);
        }
        if let Some(vnodes) = spec.vnodes {
            cmd.env(VNODES_ENV, vnodes.to_string());
        }
        // No await between spawn and save: if `up` is cancelled, every
        // spawned process is in the state file for the rollback to find.
        let child = cmd
            .spawn()
            .with_context(|| format!("starting {}", spec.program))?;
        let pid = i32::try_from(child.id()).context("pid out of range")?;
        // The Child handle is dropped without waiting: the node outlives
        // chordctl, and is reparented when chordctl exits.
        drop(child);
        let start_time = proc_stat(pid).map_or(0, |(_, start)| start);
        let node = ProcNode {
            index,
            name,
            port,
            pid,
            start_time,
        };
        state.nodes.retain(|n| n.index != index);
        state.nodes.push(node.clone());
        state.nodes.sort_by_key(|n| n.index);
        self.save(&state)?;
        Ok(Self::record(&node))
    }

    async fn pause(&self, cluster: &str, node: &NodeInfo) -> Result<()> {
        let (_, proc_node) = self.recorded(cluster, node)?;
        if !alive(&proc_node) {
            bail!("{} is not running", node.name);
        }
        signal(proc_node.pid, libc::SIGSTOP)
    }

    async fn resume(&self, cluster: &str, node: &NodeInfo) -> Result<()> {
        let (_, proc_node) = self.recorded(cluster, node)?;
        signal(proc_node.pid, libc::SIGCONT)
    }

    async fn partition(&self, _cluster: &str, _groups: &[Vec<NodeInfo>]) -> Result<()> {
        bail!(super::NO_PARTITION_HERE)
    }

    async fn heal(&self, _cluster: &str) -> Result<Vec<String>> {
        // Nothing is ever cut here, so nothing needs healing.
        Ok(Vec::new())
    }

    async fn kill(&self, cluster: &str, node: &NodeInfo) -> Result<()> {
        let (_, proc_node) = self.recorded(cluster, node)?;
        if !alive(&proc_node) {
            bail!("{} is not running", node.name);
        }
        signal(proc_node.pid, libc::SIGKILL)?;
        if !wait_gone(&proc_node, KILL_WAIT).await {
            bail!("{} (pid {}) survived SIGKILL", node.name, proc_node.pid);
        }
        Ok(())
    }

    async fn remove_node(&self, cluster: &str, node: &NodeInfo) -> Result<()> {
        let (_, proc_node) = self.recorded(cluster, node)?;
        if alive(&proc_node) {
            signal(proc_node.pid, libc::SIGTERM)?;
            if !wait_gone(&proc_node, STOP_GRACE).await {
                signal(proc_node.pid, libc::SIGKILL)?;
                wait_gone(&proc_node, KILL_WAIT).await;
            }
        }
        // The entry stays, now not running, so that a restart reuses its port.
        Ok(())
    }

    async fn is_running(&self, cluster: &str, node: &NodeInfo) -> Result<bool> {
        Ok(self.recorded(cluster, node).is_ok_and(|(_, n)| alive(&n)))
    }

    async fn logs(
        &self,
        cluster: &str,
        node: &NodeInfo,
        follow: bool,
        tail: Option<u32>,
    ) -> Result<()> {
        let path = self.log_path(cluster, &node.name);
        let mut file =
            fs::File::open(&path).with_context(|| format!("opening {}", path.display()))?;
        let mut text = String::new();
        file.read_to_string(&mut text)?;
        let shown = match tail {
            Some(n) => {
                super::last_lines(&text, n as usize) + if text.is_empty() { "" } else { "\n" }
            }
            None => text,
        };
        crate::output::print(&shown)?;
        if !follow {
            return Ok(());
        }
        let (_, proc_node) = self.recorded(cluster, node)?;
        let mut pos = file.stream_position()?;
        // Runs as long as the node does (or until Ctrl-C); each round reads
        // what was appended since the last one.
        loop {
            let running = alive(&proc_node);
            file.seek(SeekFrom::Start(pos))?;
            let mut chunk = Vec::new();
            file.read_to_end(&mut chunk)?;
            pos += chunk.len() as u64;
            let mut out = std::io::stdout().lock();
            if let Err(e) = out.write_all(&chunk).and_then(|()| out.flush()) {
                return if e.kind() == std::io::ErrorKind::BrokenPipe {
                    Ok(())
                } else {
                    Err(e.into())
                };
            }
            if !running {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn log_tail(&self, cluster: &str, node: &NodeInfo, lines: u32) -> Result<String> {
        let text = fs::read_to_string(self.log_path(cluster, &node.name)).unwrap_or_default();
        Ok(super::last_lines(&text, lines as usize))
    }

    async fn remove_cluster(&self, cluster: &str) -> Result<Removed> {
        let mut removed = Removed::default();
        let Some(state) = self.load(cluster)? else {
            return Ok(removed);
        };
        for node in &state.nodes {
            if alive(node) {
                signal(node.pid, libc::SIGKILL)?;
                if !wait_gone(node, KILL_WAIT).await {
                    bail!("{} (pid {}) survived SIGKILL", node.name, node.pid);
                }
            }
            removed.nodes.push(node.name.clone());
        }
        remove_if_exists(&self.log_dir(cluster))?;
        fs::remove_file(self.state_path(cluster)).or_else(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Ok(())
            } else {
                Err(e)
            }
        })?;
        removed
            .other
            .push(format!("state file {}", self.state_path(cluster).display()));
        Ok(removed)
    }
}

fn remove_if_exists(dir: &Path) -> Result<()> {
    match fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("removing {}", dir.display()))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_is_alive_and_identified_by_start_time() {
        let pid = std::process::id() as i32;
        let (_, start) = proc_stat(pid).expect("own stat");
        let me = ProcNode {
            index: 1,
            name: "me".into(),
            port: 1,
            pid,
            start_time: start,
        };
        assert!(alive(&me));
        let recycled = ProcNode {
            start_time: start + 1,
            ..me
        };
        assert!(!alive(&recycled));
    }

    #[tokio::test]
    async fn missing_cluster_is_none_and_down_is_idempotent() {
        let dir = std::env::temp_dir().join(format!("chordctl-unit-{}", std::process::id()));
        let rt = ProcessRuntime::with_dir(dir.clone(), None);
        assert!(rt.find("nope").await.unwrap().is_none());
        assert!(rt.remove_cluster("nope").await.unwrap().nodes.is_empty());
        let _ = fs::remove_dir_all(dir);
    }
}
