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
//! is refused here; killing, liveness and logs work as for `docker` (both
//! through [`super::orchestrated`], shared with Swarm).

use anyhow::Result;
use bollard::models::ContainerSummary;

use super::docker::DockerRuntime;
use super::orchestrated::{self, loopback_endpoint, Member, Orchestrated};
use super::Cluster;

/// Compose's label with the project name.
pub const LABEL_PROJECT: &str = "com.docker.compose.project";
/// Compose's label with the service name.
pub const LABEL_SERVICE: &str = "com.docker.compose.service";
/// Compose's label with the replica number (from 1) within its service.
pub const LABEL_NUMBER: &str = "com.docker.compose.container-number";
/// Compose's label marking `run` containers (`True`), which are no nodes.
pub const LABEL_ONEOFF: &str = "com.docker.compose.oneoff";
/// The service that starts the ring (index 0).
pub const SEED_SERVICE: &str = "seed";
/// The replicated service that joins through the seed (index = replica number).
pub const NODE_SERVICE: &str = "node";

/// What to do when no project runs a ring.
const NO_RING: &str = "no Compose-started Chord ring found (no container of the chord-node \
image carries Compose labels); start one with `docker compose up -d` in compose/";

/// A Compose-started ring, through the Docker engine.
pub struct ComposeRuntime {
    docker: DockerRuntime,
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
        let label = match project {
            Some(p) => format!("{LABEL_PROJECT}={p}"),
            None => LABEL_PROJECT.to_string(),
        };
        // Compose keeps a stopped container as the same node (`start`
        // brings it back), so it stays listed, as not running.
        orchestrated::members(&self.docker, label, true, member).await
    }

    /// The Compose project to act on: `wanted`, or when it is empty the one
    /// project that has chord-node seed or node containers.
    pub async fn resolve_project(&self, wanted: &str) -> Result<String> {
        if !wanted.is_empty() {
            return Ok(wanted.to_string());
        }
        orchestrated::only_ring(self.members(None).await?, LABEL_PROJECT, NO_RING, |list| {
            format!("several Compose projects run a Chord ring ({list}); pick one with --compose=PROJECT")
        })
    }
}

impl Orchestrated for ComposeRuntime {
    const KIND: &'static str = "compose";
    const MANAGED_BY: &'static str = "this ring is managed by Docker Compose: in compose/, use \
`docker compose up -d`, `docker compose up -d --scale node=N` or `docker compose down` \
(`docker-compose` with Compose 1.x)";
    const NO_PARTITION: &'static str = "partitions of a Compose-started ring are not \
supported; start the ring with `chordctl up N` to cut its network";

    fn docker(&self) -> &DockerRuntime {
        &self.docker
    }

    async fn read_ring(&self, project: &str) -> Result<Option<Cluster>> {
        let members = self.members(Some(project)).await?;
        orchestrated::read_cluster(&self.docker, project, members, loopback_endpoint).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

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
}
