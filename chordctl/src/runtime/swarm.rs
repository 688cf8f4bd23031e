//! Rings deployed on Docker Swarm from `compose/stack.yaml` with `docker
//! stack deploy`, read through the same engine API as [`super::docker`].
//!
//! Nodes are the running task containers of one stack (label
//! `com.docker.stack.namespace`) that run the chord-node image (label
//! `io.chordctl.role=node-image`, from the Dockerfile) as service
//! `<stack>_seed` or `<stack>_node`. A node is named after its task
//! (`<stack>_node.<slot>.<task id>`, which is also its container name); the
//! seed is index 0, a `node` task has its slot as index.
//!
//! Only running containers count: Swarm replaces a task that stops with a
//! new one (a new name), and keeps the stopped containers of old tasks as
//! history, which are no members of the ring.
//!
//! chordctl reaches a task at the port published for 7000 if it has one
//! (the seed's, `mode: host`), else at the container's address on the
//! host's `docker_gwbridge` network: Swarm cannot publish on 127.0.0.1
//! only, so the stack publishes nothing else. Both work for the tasks on
//! this host only, the ones this engine lists. The advertised address, the
//! cluster key and the replication factor come from the containers'
//! `CHORD_*` environment (Swarm expands `{{.Task.Name}}` there).
//!
//! Swarm owns the tasks' lifecycle, so starting and removing nodes is
//! refused here; killing (Swarm then starts a replacement), pausing and
//! logs work as for `docker` (both through [`super::orchestrated`], shared
//! with Compose).

use std::collections::HashMap;

use anyhow::{Context, Result};
use bollard::errors::Error as DockerError;
use bollard::models::ContainerSummary;

use super::docker::DockerRuntime;
use super::orchestrated::{self, loopback_endpoint, Member, Orchestrated};
use super::{Cluster, NODE_PORT};

/// The stack's name on every container of its tasks.
pub const LABEL_STACK: &str = "com.docker.stack.namespace";
/// The (stack-prefixed) service name of a task's container.
pub const LABEL_SERVICE: &str = "com.docker.swarm.service.name";
/// The task name, `<service>.<slot>.<task id>` for replicated services.
pub const LABEL_TASK: &str = "com.docker.swarm.task.name";
/// The service that founds the ring (index 0), without the stack prefix.
pub const SEED_SERVICE: &str = "seed";
/// The replicated service that joins through the seed (index = task slot).
pub const NODE_SERVICE: &str = "node";
/// The bridge through which the host reaches its tasks' containers.
pub const GATEWAY_BRIDGE: &str = "docker_gwbridge";

/// What to do when no stack runs a ring.
const NO_RING: &str = "no Chord ring deployed on Docker Swarm found (no running container of \
the chord-node image belongs to a stack); deploy one with `docker stack deploy -c \
compose/stack.yaml chord`";

/// A stack-deployed ring, through the Docker engine.
pub struct SwarmRuntime {
    docker: DockerRuntime,
}

/// Whether a container is a seed or node task of its stack, and its index.
fn member(summary: ContainerSummary) -> Option<Member> {
    let labels = summary.labels.as_ref()?;
    let stack = labels.get(LABEL_STACK)?;
    let service = labels.get(LABEL_SERVICE)?.strip_prefix(stack.as_str())?;
    let seed = match service.strip_prefix('_')? {
        SEED_SERVICE => true,
        NODE_SERVICE => false,
        _ => return None,
    };
    let index = if seed {
        0
    } else {
        task_slot(labels.get(LABEL_TASK)?)?
    };
    Some(Member {
        summary,
        index,
        seed,
    })
}

/// The slot of a replicated service's task name `<service>.<slot>.<id>`.
fn task_slot(task: &str) -> Option<u32> {
    let mut parts = task.rsplitn(3, '.');
    let _id = parts.next()?;
    parts.next()?.parse().ok()
}

/// `ip:7000` for an endpoint address as the engine prints it (`172.19.0.5/16`).
fn gateway_endpoint(address: &str) -> Option<String> {
    let ip = address.split('/').next()?.trim();
    (!ip.is_empty()).then(|| format!("{ip}:{NODE_PORT}"))
}

impl SwarmRuntime {
    /// Connects to the Docker engine (see [`DockerRuntime::connect`]).
    pub async fn connect() -> Result<Self> {
        Ok(Self {
            docker: DockerRuntime::connect(None).await?,
        })
    }

    /// Running seed and node task containers of `stack`, or of every stack
    /// when `None`.
    async fn members(&self, stack: Option<&str>) -> Result<Vec<Member>> {
        let label = match stack {
            Some(s) => format!("{LABEL_STACK}={s}"),
            None => LABEL_STACK.to_string(),
        };
        // Running ones only: a stopped task's container is history, its
        // replacement (another name) is the member (see the module doc).
        orchestrated::members(&self.docker, label, false, member).await
    }

    /// Container id → `ip:7000` on the host's gateway bridge (empty when
    /// there is no such network: no task of any overlay network runs here).
    async fn gateway_endpoints(&self) -> Result<HashMap<String, String>> {
        match self
            .docker
            .engine()
            .inspect_network(GATEWAY_BRIDGE, None)
            .await
        {
            Ok(net) => Ok(net
                .containers
                .unwrap_or_default()
                .into_iter()
                .filter_map(|(id, ep)| Some((id, gateway_endpoint(ep.ipv4_address.as_deref()?)?)))
                .collect()),
            Err(DockerError::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(HashMap::new()),
            Err(e) => Err(e).with_context(|| format!("inspecting network {GATEWAY_BRIDGE}")),
        }
    }

    /// The stack to act on: `wanted`, or when it is empty the one stack that
    /// has running chord-node seed or node tasks on this host.
    pub async fn resolve_stack(&self, wanted: &str) -> Result<String> {
        if !wanted.is_empty() {
            return Ok(wanted.to_string());
        }
        orchestrated::only_ring(self.members(None).await?, LABEL_STACK, NO_RING, |list| {
            format!("several stacks run a Chord ring ({list}); pick one with --swarm=STACK")
        })
    }
}

impl Orchestrated for SwarmRuntime {
    const KIND: &'static str = "swarm";
    const MANAGED_BY: &'static str = "this ring is managed by Docker Swarm: use `docker stack \
deploy -c compose/stack.yaml STACK`, `docker service scale STACK_node=N` or `docker stack rm \
STACK`";
    const NO_PARTITION: &'static str = "partitions of a ring on Docker Swarm are not \
supported; start the ring with `chordctl up N` to cut its network";

    fn docker(&self) -> &DockerRuntime {
        &self.docker
    }

    async fn read_ring(&self, stack: &str) -> Result<Option<Cluster>> {
        let members = self.members(Some(stack)).await?;
        if members.is_empty() {
            return Ok(None);
        }
        let gateway = self.gateway_endpoints().await?;
        let endpoint = |summary: &ContainerSummary| {
            let id = summary.id.as_deref().unwrap_or_default();
            loopback_endpoint(summary).or_else(|| gateway.get(id).cloned())
        };
        let mut cluster =
            orchestrated::read_cluster(&self.docker, stack, members, endpoint).await?;
        // A slot can have two tasks for a moment while Swarm replaces one:
        // by name then, so that the order does not depend on the listing.
        if let Some(cluster) = &mut cluster {
            cluster
                .nodes
                .sort_by(|a, b| (a.index, &a.name).cmp(&(b.index, &b.name)));
        }
        Ok(cluster)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(stack: &str, service: &str, task: &str) -> ContainerSummary {
        ContainerSummary {
            labels: Some(HashMap::from([
                (LABEL_STACK.to_string(), stack.to_string()),
                (LABEL_SERVICE.to_string(), service.to_string()),
                (LABEL_TASK.to_string(), task.to_string()),
            ])),
            ..Default::default()
        }
    }

    #[test]
    fn seed_is_index_zero_and_node_tasks_keep_their_slot() {
        let seed = member(summary("chord", "chord_seed", "chord_seed.1.abc")).unwrap();
        assert!(seed.seed && seed.index == 0);
        let node = member(summary("chord", "chord_node", "chord_node.7.x1y2z3")).unwrap();
        assert!(!node.seed && node.index == 7);
        // Stack names may contain dots and underscores themselves.
        let dotted = member(summary("a.b_c", "a.b_c_node", "a.b_c_node.12.q")).unwrap();
        assert_eq!(dotted.index, 12);
        assert!(member(summary("chord", "chord_proxy", "chord_proxy.1.q")).is_none());
        assert!(member(summary("chord", "other_node", "other_node.1.q")).is_none());
        assert!(member(summary("chord", "chord_node", "chord_node.x.q")).is_none());
    }

    #[test]
    fn gateway_addresses_lose_their_prefix_length() {
        assert_eq!(
            gateway_endpoint("172.19.0.5/16").as_deref(),
            Some("172.19.0.5:7000")
        );
        assert_eq!(gateway_endpoint(""), None);
    }
}
