//! Rings started by Docker Compose from `compose/compose.yaml`, read
//! through the same engine API as [`super::docker`].
//!
//! Nodes are the containers of one Compose project (label
//! `com.docker.compose.project`) that run the chord-node image (label
//! `io.chordctl.role=node-image`, from the Dockerfile) as service `seed` or
//! `node`. The seed is index 0, replica `node-N` is index N. Everything
//! chordctl needs is read from the containers: the `127.0.0.1` port Docker
//! published for port 7000, the advertised address (`CHORD_ADVERTISE`, else
//! the container's hostname, which is what the node falls back to), and the
//! cluster key and replication factor from their `CHORD_*` environment.
//!
//! Compose owns the containers' lifecycle, so starting and removing nodes
//! is refused here; killing, liveness and logs work as for `docker`.

use std::collections::{BTreeSet, HashMap};

use anyhow::{anyhow, bail, Context, Result};
use bollard::errors::Error as DockerError;
use bollard::models::{ContainerSummary, ContainerSummaryStateEnum};
use bollard::query_parameters::ListContainersOptionsBuilder;
use futures_util::future::join_all;

use super::docker::DockerRuntime;
use super::{Cluster, ClusterSpec, NodeInfo, Removed, Runtime, NODE_PORT};
use crate::output::Progress;

/// Compose's label with the project name.
pub const LABEL_PROJECT: &str = "com.docker.compose.project";
/// Compose's label with the service name.
pub const LABEL_SERVICE: &str = "com.docker.compose.service";
/// Compose's label with the replica number (from 1) within its service.
pub const LABEL_NUMBER: &str = "com.docker.compose.container-number";
/// Compose's label marking `run` containers (`True`), which are no nodes.
pub const LABEL_ONEOFF: &str = "com.docker.compose.oneoff";
/// The label every container of the chord-node image inherits from it.
pub const IMAGE_LABEL: &str = "io.chordctl.role=node-image";
/// The service that starts the ring (index 0).
pub const SEED_SERVICE: &str = "seed";
/// The replicated service that joins through the seed (index = replica number).
pub const NODE_SERVICE: &str = "node";

/// Replication factor of a node whose environment does not set one (the
/// node's own default).
const DEFAULT_REPLICAS: u32 = 3;

/// Where to go instead for what Compose manages.
const MANAGED_BY_COMPOSE: &str = "this ring is managed by Docker Compose: in compose/, use \
`docker compose up -d`, `docker compose up -d --scale node=N` or `docker compose down` \
(`docker-compose` with Compose 1.x)";

/// A Compose-started ring, through the Docker engine.
pub struct ComposeRuntime {
    docker: DockerRuntime,
}

/// One chord-node container of a Compose project.
struct Member {
    summary: ContainerSummary,
    index: u32,
    seed: bool,
}

/// The value of `name` in a `NAME=value` environment list.
pub(crate) fn env_value<'a>(env: &'a [String], name: &str) -> Option<&'a str> {
    env.iter().find_map(|kv| {
        kv.strip_prefix(name)
            .and_then(|rest| rest.strip_prefix('='))
    })
}

/// The 127.0.0.1 endpoint of container port 7000, if Docker published it
/// (on loopback or on all interfaces; IPv6 entries are skipped).
pub(crate) fn loopback_endpoint(summary: &ContainerSummary) -> Option<String> {
    summary.ports.as_deref()?.iter().find_map(|p| {
        let ipv4 = p.ip.as_deref().is_none_or(|ip| !ip.contains(':'));
        (p.private_port == NODE_PORT && ipv4)
            .then_some(p.public_port)
            .flatten()
            .map(|port| format!("127.0.0.1:{port}"))
    })
}

/// The container's name without the leading `/`.
pub(crate) fn container_name(summary: &ContainerSummary) -> String {
    summary
        .names
        .as_ref()
        .and_then(|n| n.first())
        .map(|n| n.trim_start_matches('/').to_string())
        .or_else(|| summary.id.clone())
        .unwrap_or_default()
}

/// Whether a container is a seed or node replica (not a `run` one-off),
/// and its index.
fn member(summary: ContainerSummary) -> Option<Member> {
    let labels = summary.labels.as_ref()?;
    if labels.get(LABEL_ONEOFF).is_some_and(|v| v == "True") {
        return None;
    }
    let seed = match labels.get(LABEL_SERVICE)?.as_str() {
        SEED_SERVICE => true,
        NODE_SERVICE => false,
        _ => return None,
    };
    let index = if seed {
        0
    } else {
        labels.get(LABEL_NUMBER)?.parse().ok()?
    };
    Some(Member {
        summary,
        index,
        seed,
    })
}

impl ComposeRuntime {
    /// Connects to the Docker engine (see [`DockerRuntime::connect`]).
    pub async fn connect() -> Result<Self> {
        Ok(Self {
            docker: DockerRuntime::connect(None).await?,
        })
    }

    /// Seed and node containers of `project`, or of every project when
    /// `None`, stopped ones included.
    async fn members(&self, project: Option<&str>) -> Result<Vec<Member>> {
        let project_filter = match project {
            Some(p) => format!("{LABEL_PROJECT}={p}"),
            None => LABEL_PROJECT.to_string(),
        };
        let filters = HashMap::from([(
            "label".to_string(),
            vec![project_filter, IMAGE_LABEL.to_string()],
        )]);
        let options = ListContainersOptionsBuilder::default()
            .all(true)
            .filters(&filters)
            .build();
        let containers = self
            .docker
            .engine()
            .list_containers(Some(options))
            .await
            .context("listing containers")?;
        Ok(containers.into_iter().filter_map(member).collect())
    }

    /// The Compose project to act on: `wanted`, or when it is empty the one
    /// project that has chord-node seed or node containers.
    pub async fn resolve_project(&self, wanted: &str) -> Result<String> {
        if !wanted.is_empty() {
            return Ok(wanted.to_string());
        }
        let projects: BTreeSet<String> = self
            .members(None)
            .await?
            .into_iter()
            .filter_map(|m| m.summary.labels?.remove(LABEL_PROJECT))
            .collect();
        let mut iter = projects.iter();
        match (iter.next(), iter.next()) {
            (Some(only), None) => Ok(only.clone()),
            (None, _) => bail!(
                "no Compose-started Chord ring found (no container of the chord-node image \
                 carries Compose labels); start one with `docker compose up -d` in compose/"
            ),
            (Some(_), Some(_)) => {
                let list: Vec<&str> = projects.iter().map(String::as_str).collect();
                Err(crate::exit::usage(format!(
                    "several Compose projects run a Chord ring ({}); pick one with \
                     --compose=PROJECT",
                    list.join(", ")
                )))
            }
        }
    }
}

impl Runtime for ComposeRuntime {
    fn kind(&self) -> &'static str {
        "compose"
    }

    async fn find(&self, project: &str) -> Result<Option<Cluster>> {
        let members = self.members(Some(project)).await?;
        if members.is_empty() {
            return Ok(None);
        }
        let engine = self.docker.engine();
        // The environment and hostname are only in the full inspection.
        let inspected = join_all(members.iter().map(|m| async move {
            let id = m.summary.id.as_deref().unwrap_or_default();
            engine.inspect_container(id, None).await
        }))
        .await;
        let mut nodes = Vec::new();
        // (is seed, key, replicas) of each container, to pick the spec from.
        let mut settings = Vec::new();
        for (m, info) in members.iter().zip(inspected) {
            let name = container_name(&m.summary);
            let config = match info {
                Ok(info) => info.config.unwrap_or_default(),
                // Removed since the listing (Compose scaling down): gone.
                Err(DockerError::DockerResponseServerError {
                    status_code: 404, ..
                }) => continue,
                Err(e) => return Err(e).with_context(|| format!("inspecting container {name}")),
            };
            let env = config.env.unwrap_or_default();
            let advertise = env_value(&env, "CHORD_ADVERTISE")
                .map(str::to_string)
                .or_else(|| config.hostname.map(|h| format!("{h}:{NODE_PORT}")))
                .unwrap_or_else(|| format!("{name}:{NODE_PORT}"));
            settings.push((
                m.seed,
                env_value(&env, "CHORD_CLUSTER_KEY").map(str::to_string),
                env_value(&env, "CHORD_REPLICAS").and_then(|r| r.parse::<u32>().ok()),
            ));
            nodes.push(NodeInfo {
                endpoint: loopback_endpoint(&m.summary),
                running: m.summary.state == Some(ContainerSummaryStateEnum::RUNNING),
                name,
                index: m.index,
                advertise,
            });
        }
        nodes.sort_by_key(|n| n.index);
        // The seed's settings first: every node should carry the same.
        settings.sort_by_key(|(seed, _, _)| !*seed);
        let key = settings.iter().find_map(|(_, k, _)| k.clone());
        let replicas = settings.iter().find_map(|(_, _, r)| *r);
        let program = members
            .iter()
            .find_map(|m| m.summary.image.clone())
            .unwrap_or_default();
        Ok(Some(Cluster {
            spec: ClusterSpec {
                name: project.to_string(),
                key: key.unwrap_or_default(),
                replicas: replicas.unwrap_or(DEFAULT_REPLICAS),
                program,
            },
            nodes,
        }))
    }

    async fn prepare(&self, _spec: &mut ClusterSpec, _progress: &Progress) -> Result<()> {
        Err(anyhow!(MANAGED_BY_COMPOSE))
    }

    async fn start_node(
        &self,
        _spec: &ClusterSpec,
        _index: u32,
        _join: Option<&str>,
    ) -> Result<NodeInfo> {
        Err(anyhow!(MANAGED_BY_COMPOSE))
    }

    async fn kill(&self, cluster: &str, node: &NodeInfo) -> Result<()> {
        self.docker.kill(cluster, node).await
    }

    async fn pause(&self, cluster: &str, node: &NodeInfo) -> Result<()> {
        self.docker.pause(cluster, node).await
    }

    async fn resume(&self, cluster: &str, node: &NodeInfo) -> Result<()> {
        self.docker.resume(cluster, node).await
    }

    async fn partition(&self, _cluster: &str, _groups: &[Vec<NodeInfo>]) -> Result<()> {
        Err(anyhow!(
            "partitions of a Compose-started ring are not supported; start the ring \
             with `chordctl up N` to cut its network"
        ))
    }

    async fn heal(&self, _cluster: &str) -> Result<Vec<String>> {
        Ok(Vec::new())
    }

    async fn remove_node(&self, _cluster: &str, _node: &NodeInfo) -> Result<()> {
        Err(anyhow!(MANAGED_BY_COMPOSE))
    }

    async fn is_running(&self, cluster: &str, node: &NodeInfo) -> Result<bool> {
        self.docker.is_running(cluster, node).await
    }

    async fn logs(
        &self,
        cluster: &str,
        node: &NodeInfo,
        follow: bool,
        tail: Option<u32>,
    ) -> Result<()> {
        self.docker.logs(cluster, node, follow, tail).await
    }

    async fn log_tail(&self, cluster: &str, node: &NodeInfo, lines: u32) -> Result<String> {
        self.docker.log_tail(cluster, node, lines).await
    }

    async fn remove_cluster(&self, _cluster: &str) -> Result<Removed> {
        Err(anyhow!(MANAGED_BY_COMPOSE))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::PortSummary;

    fn summary(service: &str, number: &str, oneoff: &str) -> ContainerSummary {
        ContainerSummary {
            labels: Some(HashMap::from([
                (LABEL_SERVICE.to_string(), service.to_string()),
                (LABEL_NUMBER.to_string(), number.to_string()),
                (LABEL_ONEOFF.to_string(), oneoff.to_string()),
            ])),
            ..Default::default()
        }
    }

    #[test]
    fn seed_is_index_zero_and_replicas_keep_their_number() {
        let seed = member(summary("seed", "1", "False")).unwrap();
        assert!(seed.seed && seed.index == 0);
        let node = member(summary("node", "7", "False")).unwrap();
        assert!(!node.seed && node.index == 7);
        assert!(
            member(summary("node", "2", "True")).is_none(),
            "run one-off"
        );
        assert!(member(summary("proxy", "1", "False")).is_none());
    }

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
        let mut s = summary("node", "1", "False");
        s.ports = Some(vec![
            port("::", 7000, Some(1111)),
            port("127.0.0.1", 9000, Some(2222)),
            port("127.0.0.1", 7000, Some(32768)),
        ]);
        assert_eq!(loopback_endpoint(&s).as_deref(), Some("127.0.0.1:32768"));
        s.ports = Some(vec![port("127.0.0.1", 7000, None)]);
        assert_eq!(loopback_endpoint(&s), None);
    }
}
