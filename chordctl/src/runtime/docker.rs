//! Nodes as containers on one bridge network per cluster.
//!
//! All state is in container labels (cluster, role, index, cluster key,
//! replicas), so any later `chordctl` finds the cluster again with one
//! label query. Each node's port 7000 is published on 127.0.0.1 at a port
//! the engine picks; nodes reach each other by container name on the
//! bridge, chordctl reaches them only through the published ports.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;

use anyhow::{anyhow, bail, Context, Result};
use bollard::errors::Error as DockerError;
use bollard::models::{
    ContainerCreateBody, ContainerSummaryStateEnum, HostConfig, NetworkConnectRequest,
    NetworkCreateRequest, NetworkDisconnectRequest, PortBinding,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, KillContainerOptionsBuilder, ListContainersOptionsBuilder,
    ListNetworksOptionsBuilder, LogsOptionsBuilder, RemoveContainerOptionsBuilder,
    StopContainerOptionsBuilder,
};
use bollard::Docker;
use futures_util::StreamExt;

use super::{
    node_log_level, node_name, Cluster, ClusterSpec, NodeInfo, Removed, Runtime, NODE_PORT,
    VNODES_ENV,
};
use crate::image;
use crate::output::Progress;

/// Label naming the cluster a container or network belongs to.
pub const LABEL_CLUSTER: &str = "io.chordctl.cluster";
/// Label saying what the object is (`node` or `network`).
pub const LABEL_ROLE: &str = "io.chordctl.role";
/// Label with the node's index.
pub const LABEL_INDEX: &str = "io.chordctl.index";
/// Label with the cluster key, so later commands can use the internal API.
pub const LABEL_KEY: &str = "io.chordctl.cluster-key";
/// Label with the replication factor.
pub const LABEL_REPLICAS: &str = "io.chordctl.replicas";
/// Label holding the positions per node (`up --vnodes`), when given.
pub const LABEL_VNODES: &str = "io.chordctl.vnodes";

/// Seconds a node gets to hand its data over on SIGTERM before SIGKILL.
const STOP_GRACE_SECS: i32 = 30;

/// The Docker engine, reached through bollard.
pub struct DockerRuntime {
    docker: Docker,
    node_bin: Option<PathBuf>,
}

/// The network name of a cluster.
pub fn network_name(cluster: &str) -> String {
    format!("chord-{cluster}")
}

/// The network that group `group` (from 1) of a partition is moved onto.
fn partition_network(cluster: &str, group: usize) -> String {
    format!("chord-{cluster}-part{group}")
}

fn port_key() -> String {
    format!("{NODE_PORT}/tcp")
}

/// Where the engine is expected, for messages.
fn docker_host() -> String {
    std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".to_string())
}

/// Turns a failure to reach the engine into one line that says what to do.
fn explain_connect_error(err: DockerError) -> anyhow::Error {
    let host = docker_host();
    let io_kind = std::iter::successors(Some(&err as &(dyn std::error::Error + 'static)), |e| {
        e.source()
    })
    .find_map(|e| e.downcast_ref::<std::io::Error>().map(std::io::Error::kind));
    match (io_kind, &err) {
        (Some(std::io::ErrorKind::PermissionDenied), _) => anyhow!(
            "permission denied on the Docker socket {host}: add your user to the docker group \
             (`sudo usermod -aG docker $USER`, then log in again), or use --runtime process"
        ),
        (_, DockerError::SocketNotFoundError(_))
        | (Some(std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused), _) => {
            anyhow!(
                "cannot reach the Docker engine at {host} (is it running?); \
             without Docker, use --runtime process"
            )
        }
        _ => anyhow!(
            "cannot reach the Docker engine at {host}: {err}; without Docker, use --runtime process"
        ),
    }
}

/// Whether an engine error is an HTTP status `code`.
fn is_status(err: &DockerError, code: u16) -> bool {
    matches!(err, DockerError::DockerResponseServerError { status_code, .. } if *status_code == code)
}

impl DockerRuntime {
    /// Connects to the engine (honouring `DOCKER_HOST`) and agrees on an
    /// API version it accepts.
    pub async fn connect(node_bin: Option<PathBuf>) -> Result<Self> {
        let docker = match std::env::var("DOCKER_HOST") {
            // The local defaults only honour unix:// hosts; tcp:// etc. need
            // the general constructor.
            Ok(host) if !host.starts_with("unix://") => Docker::connect_with_defaults(),
            _ => Docker::connect_with_local_defaults(),
        }
        .map_err(explain_connect_error)?;
        let docker = docker
            .negotiate_version()
            .await
            .map_err(explain_connect_error)?;
        Ok(Self { docker, node_bin })
    }

    /// The engine connection, for runtimes that find nodes another way
    /// (see [`super::orchestrated`]).
    pub fn engine(&self) -> &Docker {
        &self.docker
    }

    fn cluster_filter(cluster: &str, role: &str) -> HashMap<String, Vec<String>> {
        HashMap::from([(
            "label".to_string(),
            vec![
                format!("{LABEL_CLUSTER}={cluster}"),
                format!("{LABEL_ROLE}={role}"),
            ],
        )])
    }

    async fn ensure_image(&self, image: &str, progress: &Progress) -> Result<()> {
        let found = image::locate_static(self.node_bin.as_ref())?;
        let binary = match &found {
            image::StaticBin::Found(path) => Some(path.as_path()),
            _ => None,
        };
        // Without a usable binary an existing image is used as it is.
        let Some(reason) = image::needs_build(&self.docker, image, binary).await? else {
            return Ok(());
        };
        let Some(binary) = binary else {
            bail!("{reason}, and {}", found.explain());
        };
        progress.stage(format!("building image {image}"));
        progress.note(&format!("building image {image} ({reason})"));
        image::build(&self.docker, image, binary).await
    }

    async fn ensure_network(&self, cluster: &str) -> Result<()> {
        self.ensure_labelled_network(cluster, &network_name(cluster), "network")
            .await
    }

    /// Creates bridge network `name` of `cluster` with role label `role`, or
    /// reuses it when an earlier run of ours left it.
    async fn ensure_labelled_network(&self, cluster: &str, name: &str, role: &str) -> Result<()> {
        let name = name.to_string();
        let labels = HashMap::from([
            (LABEL_CLUSTER.to_string(), cluster.to_string()),
            (LABEL_ROLE.to_string(), role.to_string()),
        ]);
        let request = NetworkCreateRequest {
            name: name.clone(),
            driver: Some("bridge".to_string()),
            labels: Some(labels),
            ..Default::default()
        };
        match self.docker.create_network(request).await {
            Ok(_) => Ok(()),
            // Left over from an interrupted run: reuse it if it is ours.
            Err(e) if is_status(&e, 409) => {
                let ours = self
                    .docker
                    .list_networks(Some(
                        ListNetworksOptionsBuilder::default()
                            .filters(&Self::cluster_filter(cluster, role))
                            .build(),
                    ))
                    .await?
                    .iter()
                    .any(|n| n.name.as_deref() == Some(name.as_str()));
                if ours {
                    Ok(())
                } else {
                    bail!("a network named {name} exists and was not made by chordctl")
                }
            }
            Err(e) => Err(e).with_context(|| format!("creating network {name}")),
        }
    }

    /// Moves container `node` from network `from` to network `to`.
    async fn move_node(&self, node: &str, from: &str, to: &str) -> Result<()> {
        let out = NetworkDisconnectRequest {
            container: node.to_string(),
            force: Some(true),
        };
        match self.docker.disconnect_network(from, out).await {
            // Not attached there (an earlier, interrupted move): fine.
            Err(e) if !is_status(&e, 404) && !is_status(&e, 403) => {
                return Err(e).with_context(|| format!("disconnecting {node} from {from}"))
            }
            _ => {}
        }
        let into = NetworkConnectRequest {
            container: node.to_string(),
            endpoint_config: None,
        };
        match self.docker.connect_network(to, into).await {
            // Already attached there: fine.
            Err(e) if !is_status(&e, 403) && !is_status(&e, 409) => {
                Err(e).with_context(|| format!("connecting {node} to {to}"))
            }
            _ => Ok(()),
        }
    }

    /// Names of the cluster's partition networks.
    async fn partition_networks(&self, cluster: &str) -> Result<Vec<String>> {
        let nets = self
            .docker
            .list_networks(Some(
                ListNetworksOptionsBuilder::default()
                    .filters(&Self::cluster_filter(cluster, "partition"))
                    .build(),
            ))
            .await?;
        Ok(nets.into_iter().filter_map(|n| n.name).collect())
    }

    async fn published_endpoint(&self, name: &str) -> Result<Option<String>> {
        let info = self.docker.inspect_container(name, None).await?;
        let bindings = info
            .network_settings
            .and_then(|s| s.ports)
            .and_then(|mut p| p.remove(&port_key()))
            .flatten()
            .unwrap_or_default();
        Ok(bindings
            .into_iter()
            .find_map(|b| b.host_port.filter(|p| !p.is_empty()))
            .map(|port| format!("127.0.0.1:{port}")))
    }
}

impl Runtime for DockerRuntime {
    fn kind(&self) -> &'static str {
        "docker"
    }

    async fn find(&self, cluster: &str) -> Result<Option<Cluster>> {
        let options = ListContainersOptionsBuilder::default()
            .all(true)
            .filters(&Self::cluster_filter(cluster, "node"))
            .build();
        let containers = self
            .docker
            .list_containers(Some(options))
            .await
            .context("listing containers")?;
        let mut spec = None;
        let mut nodes = Vec::new();
        for c in containers {
            let labels = c.labels.unwrap_or_default();
            let Some(index) = labels.get(LABEL_INDEX).and_then(|i| i.parse().ok()) else {
                continue;
            };
            if spec.is_none() {
                spec = Some(ClusterSpec {
                    name: cluster.to_string(),
                    key: labels.get(LABEL_KEY).cloned().unwrap_or_default(),
                    replicas: labels
                        .get(LABEL_REPLICAS)
                        .and_then(|r| r.parse().ok())
                        .unwrap_or(3),
                    vnodes: labels.get(LABEL_VNODES).and_then(|v| v.parse().ok()),
                    program: c.image.clone().unwrap_or_default(),
                });
            }
            let name = c
                .names
                .and_then(|n| n.into_iter().next())
                .map(|n| n.trim_start_matches('/').to_string())
                .unwrap_or_else(|| node_name(cluster, index));
            // Only a binding on loopback counts: chordctl never talks to a
            // port published anywhere else.
            let endpoint = c.ports.unwrap_or_default().into_iter().find_map(|p| {
                (p.private_port == NODE_PORT && p.ip.as_deref() == Some("127.0.0.1"))
                    .then_some(p.public_port)
                    .flatten()
                    .map(|port| format!("127.0.0.1:{port}"))
            });
            nodes.push(NodeInfo {
                advertise: format!("{name}:{NODE_PORT}"),
                name,
                index,
                endpoint,
                running: c.state == Some(ContainerSummaryStateEnum::RUNNING),
            });
        }
        nodes.sort_by_key(|n| n.index);
        Ok(spec.map(|spec| Cluster { spec, nodes }))
    }

    async fn prepare(&self, spec: &mut ClusterSpec, progress: &Progress) -> Result<()> {
        self.ensure_image(&spec.program, progress).await?;
        progress.stage("creating network");
        self.ensure_network(&spec.name).await
    }

    async fn start_node(
        &self,
        spec: &ClusterSpec,
        index: u32,
        join: Option<&str>,
    ) -> Result<NodeInfo> {
        let name = node_name(&spec.name, index);
        let advertise = format!("{name}:{NODE_PORT}");
        let mut env = vec![
            format!("CHORD_LISTEN=0.0.0.0:{NODE_PORT}"),
            format!("CHORD_ADVERTISE={advertise}"),
            format!("CHORD_REPLICAS={}", spec.replicas),
            format!("CHORD_CLUSTER_KEY={}", spec.key),
            format!("RUST_LOG={}", node_log_level()),
            // Logs are read through the engine, not a terminal.
            "NO_COLOR=1".to_string(),
        ];
        if let Some(join) = join {
            env.push(format!("CHORD_JOIN={join}"));
        }
        let mut labels = HashMap::from([
            (LABEL_CLUSTER.to_string(), spec.name.clone()),
            (LABEL_ROLE.to_string(), "node".to_string()),
            (LABEL_INDEX.to_string(), index.to_string()),
            (LABEL_KEY.to_string(), spec.key.clone()),
            (LABEL_REPLICAS.to_string(), spec.replicas.to_string()),
        ]);
        // The label lets `add` and `restart` start later nodes alike.
        if let Some(vnodes) = spec.vnodes {
            env.push(format!("{VNODES_ENV}={vnodes}"));
            labels.insert(LABEL_VNODES.to_string(), vnodes.to_string());
        }
        // An empty host port lets the engine pick a free one, bound to
        // loopback only: nodes are never reachable from other machines.
        let bindings = HashMap::from([(
            port_key(),
            Some(vec![PortBinding {
                host_ip: Some("127.0.0.1".to_string()),
                host_port: Some(String::new()),
            }]),
        )]);
        let body = ContainerCreateBody {
            image: Some(spec.program.clone()),
            env: Some(env),
            labels: Some(labels),
            exposed_ports: Some(vec![port_key()]),
            host_config: Some(HostConfig {
                network_mode: Some(network_name(&spec.name)),
                port_bindings: Some(bindings),
                ..Default::default()
            }),
            ..Default::default()
        };
        let options = CreateContainerOptionsBuilder::default().name(&name).build();
        self.docker
            .create_container(Some(options), body)
            .await
            .with_context(|| format!("creating container {name}"))?;
        if let Err(e) = self.docker.start_container(&name, None).await {
            // Leave no half-made node behind (it would show as "down" forever).
            let force = RemoveContainerOptionsBuilder::default().force(true).build();
            let _ = self.docker.remove_container(&name, Some(force)).await;
            return Err(e).with_context(|| format!("starting container {name}"));
        }
        let endpoint = self.published_endpoint(&name).await?;
        if endpoint.is_none() {
            bail!("container {name} has no published port for {NODE_PORT}/tcp");
        }
        Ok(NodeInfo {
            name,
            index,
            advertise,
            endpoint,
            running: true,
        })
    }

    async fn kill(&self, _cluster: &str, node: &NodeInfo) -> Result<()> {
        let options = KillContainerOptionsBuilder::default()
            .signal("SIGKILL")
            .build();
        self.docker
            .kill_container(&node.name, Some(options))
            .await
            .with_context(|| format!("killing {}", node.name))
    }

    async fn remove_node(&self, _cluster: &str, node: &NodeInfo) -> Result<()> {
        let stop = StopContainerOptionsBuilder::default()
            .t(STOP_GRACE_SECS)
            .build();
        match self.docker.stop_container(&node.name, Some(stop)).await {
            // 304: already stopped; 404: already gone.
            Err(e) if !is_status(&e, 304) && !is_status(&e, 404) => {
                return Err(e).with_context(|| format!("stopping {}", node.name))
            }
            _ => {}
        }
        let remove = RemoveContainerOptionsBuilder::default().force(true).build();
        match self.docker.remove_container(&node.name, Some(remove)).await {
            Err(e) if !is_status(&e, 404) => {
                Err(e).with_context(|| format!("removing {}", node.name))
            }
            _ => Ok(()),
        }
    }

    async fn is_running(&self, _cluster: &str, node: &NodeInfo) -> Result<bool> {
        match self.docker.inspect_container(&node.name, None).await {
            Ok(info) => Ok(info.state.and_then(|s| s.running).unwrap_or(false)),
            Err(e) if is_status(&e, 404) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    async fn logs(
        &self,
        _cluster: &str,
        node: &NodeInfo,
        follow: bool,
        tail: Option<u32>,
    ) -> Result<()> {
        let tail = tail.map_or_else(|| "all".to_string(), |t| t.to_string());
        let options = LogsOptionsBuilder::default()
            .stdout(true)
            .stderr(true)
            .follow(follow)
            .tail(&tail)
            .build();
        let mut stream = self.docker.logs(&node.name, Some(options));
        let mut out = std::io::stdout().lock();
        // Ends when the log is exhausted or, with --follow, when the
        // container stops (or the user interrupts).
        while let Some(item) = stream.next().await {
            let chunk = item.with_context(|| format!("reading the log of {}", node.name))?;
            if let Err(e) = out.write_all(chunk.as_ref()).and_then(|()| out.flush()) {
                if e.kind() == std::io::ErrorKind::BrokenPipe {
                    return Ok(());
                }
                return Err(e.into());
            }
        }
        Ok(())
    }

    async fn log_tail(&self, _cluster: &str, node: &NodeInfo, lines: u32) -> Result<String> {
        let options = LogsOptionsBuilder::default()
            .stdout(true)
            .stderr(true)
            .tail(&lines.to_string())
            .build();
        let mut stream = self.docker.logs(&node.name, Some(options));
        let mut text = String::new();
        while let Some(item) = stream.next().await {
            text.push_str(&item?.to_string());
        }
        Ok(text)
    }

    async fn pause(&self, _cluster: &str, node: &NodeInfo) -> Result<()> {
        self.docker
            .pause_container(&node.name)
            .await
            .with_context(|| format!("pausing {}", node.name))
    }

    async fn resume(&self, _cluster: &str, node: &NodeInfo) -> Result<()> {
        match self.docker.unpause_container(&node.name).await {
            // 409: not paused (any more); fine for an undo.
            Err(e) if !is_status(&e, 409) => {
                Err(e).with_context(|| format!("resuming {}", node.name))
            }
            _ => Ok(()),
        }
    }

    async fn partition(&self, cluster: &str, groups: &[Vec<NodeInfo>]) -> Result<()> {
        // Start from one network, so a second partition replaces the first.
        self.heal(cluster).await?;
        let main = network_name(cluster);
        for (i, group) in groups.iter().enumerate() {
            let net = partition_network(cluster, i + 1);
            self.ensure_labelled_network(cluster, &net, "partition")
                .await?;
            for node in group {
                self.move_node(&node.name, &main, &net).await?;
            }
        }
        Ok(())
    }

    async fn heal(&self, cluster: &str) -> Result<Vec<String>> {
        let main = network_name(cluster);
        let mut moved = Vec::new();
        for net in self.partition_networks(cluster).await? {
            let info = self
                .docker
                .inspect_network(&net, None)
                .await
                .with_context(|| format!("inspecting {net}"))?;
            let mut names: Vec<String> = info
                .containers
                .unwrap_or_default()
                .into_values()
                .filter_map(|c| c.name)
                .collect();
            names.sort();
            for name in names {
                self.move_node(&name, &net, &main).await?;
                moved.push(name);
            }
            match self.docker.remove_network(&net).await {
                Err(e) if !is_status(&e, 404) => {
                    return Err(e).with_context(|| format!("removing network {net}"))
                }
                _ => {}
            }
        }
        moved.sort_by(|a, b| (a.len(), a).cmp(&(b.len(), b)));
        Ok(moved)
    }

    async fn remove_cluster(&self, cluster: &str) -> Result<Removed> {
        let mut removed = Removed::default();
        let options = ListContainersOptionsBuilder::default()
            .all(true)
            .filters(&HashMap::from([(
                "label".to_string(),
                vec![format!("{LABEL_CLUSTER}={cluster}")],
            )]))
            .build();
        let containers = self.docker.list_containers(Some(options)).await?;
        let force = RemoveContainerOptionsBuilder::default()
            .force(true)
            .v(true)
            .build();
        for c in containers {
            let Some(id) = c.id else { continue };
            let name = c
                .names
                .and_then(|n| n.into_iter().next())
                .map_or_else(|| id.clone(), |n| n.trim_start_matches('/').to_string());
            match self.docker.remove_container(&id, Some(force.clone())).await {
                Ok(()) => removed.nodes.push(name),
                Err(e) if is_status(&e, 404) => {}
                Err(e) => return Err(e).with_context(|| format!("removing container {name}")),
            }
        }
        // Newest first from the engine; creation order reads better.
        removed
            .nodes
            .sort_by(|a, b| (a.len(), a).cmp(&(b.len(), b)));
        let networks = self
            .docker
            .list_networks(Some(
                ListNetworksOptionsBuilder::default()
                    .filters(&HashMap::from([(
                        "label".to_string(),
                        vec![format!("{LABEL_CLUSTER}={cluster}")],
                    )]))
                    .build(),
            ))
            .await?;
        for n in networks {
            let Some(name) = n.name else { continue };
            match self.docker.remove_network(&name).await {
                Ok(()) => removed.other.push(format!("network {name}")),
                Err(e) if is_status(&e, 404) => {}
                Err(e) => return Err(e).with_context(|| format!("removing network {name}")),
            }
        }
        Ok(removed)
    }
}
