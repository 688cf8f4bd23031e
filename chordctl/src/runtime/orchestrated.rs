//! What [`super::compose`] and [`super::swarm`] share: rings whose
//! containers an orchestrator (Docker Compose, Docker Swarm) started and
//! owns, read through the same engine API as [`super::docker`].
//!
//! An orchestrator says which containers are members of a ring and where
//! chordctl reaches them; [`read_cluster`] turns the members into a
//! [`Cluster`] from their labels and `CHORD_*` environment, and the
//! [`Runtime`] impl for every [`Orchestrated`] type refuses what the
//! orchestrator manages (starting, removing, partitioning nodes) and hands
//! the rest (kill, pause, liveness, logs) to [`DockerRuntime`].

use std::collections::{BTreeSet, HashMap};

use anyhow::{anyhow, Context, Result};
use bollard::errors::Error as DockerError;
use bollard::models::{ContainerSummary, ContainerSummaryStateEnum};
use bollard::query_parameters::ListContainersOptionsBuilder;
use futures_util::future::join_all;

use super::docker::DockerRuntime;
use super::{Cluster, ClusterSpec, NodeInfo, Removed, Runtime, NODE_PORT, VNODES_ENV};
use crate::output::Progress;

/// The label every container of the chord-node image inherits from it.
pub const IMAGE_LABEL: &str = "io.chordctl.role=node-image";

/// Replication factor of a node whose environment does not set one (the
/// node's own default).
const DEFAULT_REPLICAS: u32 = 3;

/// One chord-node container of a ring, as its orchestrator labelled it.
pub struct Member {
    /// The engine's listing of the container.
    pub summary: ContainerSummary,
    /// The node's index: 0 for the seed, else its replica number or slot.
    pub index: u32,
    /// Whether it runs the seed service.
    pub seed: bool,
}

/// The value of `name` in a `NAME=value` environment list.
pub fn env_value<'a>(env: &'a [String], name: &str) -> Option<&'a str> {
    env.iter().find_map(|kv| {
        kv.strip_prefix(name)
            .and_then(|rest| rest.strip_prefix('='))
    })
}

/// The 127.0.0.1 endpoint of container port 7000, if Docker published it
/// (on loopback or on all interfaces; IPv6 entries are skipped).
pub fn loopback_endpoint(summary: &ContainerSummary) -> Option<String> {
    summary.ports.as_deref()?.iter().find_map(|p| {
        let ipv4 = p.ip.as_deref().is_none_or(|ip| !ip.contains(':'));
        (p.private_port == NODE_PORT && ipv4)
            .then_some(p.public_port)
            .flatten()
            .map(|port| format!("127.0.0.1:{port}"))
    })
}

/// The container's name without the leading `/`.
pub fn container_name(summary: &ContainerSummary) -> String {
    summary
        .names
        .as_ref()
        .and_then(|n| n.first())
        .map(|n| n.trim_start_matches('/').to_string())
        .or_else(|| summary.id.clone())
        .unwrap_or_default()
}

/// The chord-node containers carrying `label` (`name` or `name=value`),
/// stopped ones too when `all`, that `member` takes for ring members.
pub async fn members(
    docker: &DockerRuntime,
    label: String,
    all: bool,
    member: fn(ContainerSummary) -> Option<Member>,
) -> Result<Vec<Member>> {
    let filters = HashMap::from([("label".to_string(), vec![label, IMAGE_LABEL.to_string()])]);
    let options = ListContainersOptionsBuilder::default()
        .all(all)
        .filters(&filters)
        .build();
    let containers = docker
        .engine()
        .list_containers(Some(options))
        .await
        .context("listing containers")?;
    Ok(containers.into_iter().filter_map(member).collect())
}

/// The one ring among `members`, named by their `label` values: an error
/// saying `none` when there is none, a usage error made by `several` from
/// the list of names when there are more.
pub fn only_ring(
    members: Vec<Member>,
    label: &str,
    none: &str,
    several: impl FnOnce(&str) -> String,
) -> Result<String> {
    let rings: BTreeSet<String> = members
        .into_iter()
        .filter_map(|m| m.summary.labels?.remove(label))
        .collect();
    let mut iter = rings.iter();
    match (iter.next(), iter.next()) {
        (Some(only), None) => Ok(only.clone()),
        (None, _) => Err(anyhow!("{none}")),
        (Some(_), Some(_)) => {
            let list: Vec<&str> = rings.iter().map(String::as_str).collect();
            Err(crate::exit::usage(several(&list.join(", "))))
        }
    }
}

/// The ring `name` made of `members` (`None` when there are none), with
/// its key and replication factor from their environment, the seed's
/// first. `endpoint` says where chordctl reaches a member; nodes come
/// sorted by index.
pub async fn read_cluster(
    docker: &DockerRuntime,
    name: &str,
    members: Vec<Member>,
    endpoint: impl Fn(&ContainerSummary) -> Option<String>,
) -> Result<Option<Cluster>> {
    if members.is_empty() {
        return Ok(None);
    }
    let engine = docker.engine();
    // The environment and hostname are only in the full inspection.
    let inspected = join_all(members.iter().map(|m| async move {
        let id = m.summary.id.as_deref().unwrap_or_default();
        engine.inspect_container(id, None).await
    }))
    .await;
    let mut nodes = Vec::new();
    // (is seed, key, replicas, vnodes) of each container, to pick the spec
    // from.
    let mut settings = Vec::new();
    for (m, info) in members.iter().zip(inspected) {
        let node_name = container_name(&m.summary);
        let config = match info {
            Ok(info) => info.config.unwrap_or_default(),
            // Removed since the listing (scaled down, replaced): gone.
            Err(DockerError::DockerResponseServerError {
                status_code: 404, ..
            }) => continue,
            Err(e) => return Err(e).with_context(|| format!("inspecting container {node_name}")),
        };
        let env = config.env.unwrap_or_default();
        let advertise = env_value(&env, "CHORD_ADVERTISE")
            .map(str::to_string)
            .or_else(|| config.hostname.map(|h| format!("{h}:{NODE_PORT}")))
            .unwrap_or_else(|| format!("{node_name}:{NODE_PORT}"));
        settings.push((
            m.seed,
            env_value(&env, "CHORD_CLUSTER_KEY").map(str::to_string),
            env_value(&env, "CHORD_REPLICAS").and_then(|r| r.parse::<u32>().ok()),
            env_value(&env, VNODES_ENV).and_then(|v| v.parse::<u32>().ok()),
        ));
        nodes.push(NodeInfo {
            endpoint: endpoint(&m.summary),
            running: m.summary.state == Some(ContainerSummaryStateEnum::RUNNING),
            name: node_name,
            index: m.index,
            advertise,
        });
    }
    nodes.sort_by_key(|n| n.index);
    // The seed's settings first: every node should carry the same.
    settings.sort_by_key(|(seed, _, _, _)| !*seed);
    let key = settings.iter().find_map(|(_, k, _, _)| k.clone());
    let replicas = settings.iter().find_map(|(_, _, r, _)| *r);
    // Only read, to describe the ring: the orchestrator starts the nodes,
    // with whatever `CHORD_VNODES` its file gives them.
    let vnodes = settings.iter().find_map(|(_, _, _, v)| *v);
    let program = members
        .iter()
        .find_map(|m| m.summary.image.clone())
        .unwrap_or_default();
    Ok(Some(Cluster {
        spec: ClusterSpec {
            name: name.to_string(),
            key: key.unwrap_or_default(),
            replicas: replicas.unwrap_or(DEFAULT_REPLICAS),
            vnodes,
            program,
        },
        nodes,
    }))
}

/// A runtime for rings an orchestrator owns: what it needs to say and
/// read, from which it gets its [`Runtime`] impl.
#[allow(async_fn_in_trait)] // only used inside this crate, on one task
pub trait Orchestrated {
    /// Human name for messages ("compose", "swarm").
    const KIND: &'static str;
    /// Where to go instead to start, scale or remove nodes.
    const MANAGED_BY: &'static str;
    /// Why partitions are refused.
    const NO_PARTITION: &'static str;

    /// The engine connection that kills, pauses and reads logs.
    fn docker(&self) -> &DockerRuntime;

    /// The ring's nodes, or `None` when it has none.
    async fn read_ring(&self, ring: &str) -> Result<Option<Cluster>>;
}

// The orchestrator owns the containers' lifecycle; chordctl only acts on
// containers that exist, which the Docker runtime does by name.
impl<O: Orchestrated> Runtime for O {
    fn kind(&self) -> &'static str {
        O::KIND
    }

    async fn find(&self, cluster: &str) -> Result<Option<Cluster>> {
        self.read_ring(cluster).await
    }

    async fn prepare(&self, _spec: &mut ClusterSpec, _progress: &Progress) -> Result<()> {
        Err(anyhow!(O::MANAGED_BY))
    }

    async fn start_node(
        &self,
        _spec: &ClusterSpec,
        _index: u32,
        _join: Option<&str>,
    ) -> Result<NodeInfo> {
        Err(anyhow!(O::MANAGED_BY))
    }

    async fn kill(&self, cluster: &str, node: &NodeInfo) -> Result<()> {
        self.docker().kill(cluster, node).await
    }

    async fn pause(&self, cluster: &str, node: &NodeInfo) -> Result<()> {
        self.docker().pause(cluster, node).await
    }

    async fn resume(&self, cluster: &str, node: &NodeInfo) -> Result<()> {
        self.docker().resume(cluster, node).await
    }

    async fn partition(&self, _cluster: &str, _groups: &[Vec<NodeInfo>]) -> Result<()> {
        Err(anyhow!(O::NO_PARTITION))
    }

    async fn heal(&self, _cluster: &str) -> Result<Vec<String>> {
        Ok(Vec::new())
    }

    async fn remove_node(&self, _cluster: &str, _node: &NodeInfo) -> Result<()> {
        Err(anyhow!(O::MANAGED_BY))
    }

    async fn is_running(&self, cluster: &str, node: &NodeInfo) -> Result<bool> {
        self.docker().is_running(cluster, node).await
    }

    async fn logs(
        &self,
        cluster: &str,
        node: &NodeInfo,
        follow: bool,
        tail: Option<u32>,
    ) -> Result<()> {
        self.docker().logs(cluster, node, follow, tail).await
    }

    async fn log_tail(&self, cluster: &str, node: &NodeInfo, lines: u32) -> Result<String> {
        self.docker().log_tail(cluster, node, lines).await
    }

    async fn remove_cluster(&self, _cluster: &str) -> Result<Removed> {
        Err(anyhow!(O::MANAGED_BY))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::PortSummary;

    #[test]
    fn environment_lookup_is_exact() {
        let env = vec![
            "CHORD_CLUSTER_KEY_OLD=x".to_string(),
            "CHORD_CLUSTER_KEY=a=b".to_string(),
        ];
        assert_eq!(env_value(&env, "CHORD_CLUSTER_KEY"), Some("a=b"));
        assert_eq!(env_value(&env, "CHORD_REPLICAS"), None);
    }

    #[test]
    fn endpoint_is_the_published_ipv4_port_of_7000() {
        let port = |ip: &str, private: u16, public: Option<u16>| PortSummary {
            ip: Some(ip.to_string()),
            private_port: private,
            public_port: public,
            typ: None,
        };
        let mut s = ContainerSummary {
            ports: Some(vec![
                port("::", 7000, Some(1111)),
                port("127.0.0.1", 9000, Some(2222)),
                port("127.0.0.1", 7000, Some(32768)),
            ]),
            ..Default::default()
        };
        assert_eq!(loopback_endpoint(&s).as_deref(), Some("127.0.0.1:32768"));
        s.ports = Some(vec![port("127.0.0.1", 7000, None)]);
        assert_eq!(loopback_endpoint(&s), None);
    }

    /// A member whose `ring` label is `ring`.
    fn in_ring(ring: &str) -> Member {
        Member {
            summary: ContainerSummary {
                labels: Some(HashMap::from([("ring".to_string(), ring.to_string())])),
                ..Default::default()
            },
            index: 0,
            seed: true,
        }
    }

    #[test]
    fn only_one_ring_is_picked_without_asking() {
        let several = |list: &str| format!("several: {list}");
        let one = only_ring(vec![in_ring("a"), in_ring("a")], "ring", "none", several);
        assert_eq!(one.unwrap(), "a");
        let none = only_ring(Vec::new(), "ring", "none here", several).unwrap_err();
        assert_eq!(none.to_string(), "none here");
        let two = only_ring(vec![in_ring("b"), in_ring("a")], "ring", "none", several);
        assert_eq!(two.unwrap_err().to_string(), "several: a, b");
    }
}
