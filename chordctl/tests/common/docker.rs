//! The Docker objects the Compose and Swarm tests check and clean up:
//! containers and networks by the label of their project or stack, images,
//! and containers' health.

use bollard::models::{ContainerInspectResponse, ContainerSummary, HealthStatusEnum};
use bollard::query_parameters::{
    ListContainersOptionsBuilder, ListNetworksOptionsBuilder, RemoveContainerOptionsBuilder,
};
use bollard::Docker;
use std::collections::HashMap;

use super::block_on;

/// An engine filter for objects carrying `label` (`name=value`).
pub fn label_filter(label: &str) -> HashMap<String, Vec<String>> {
    HashMap::from([("label".to_string(), vec![label.to_string()])])
}

/// Containers carrying `label`: running ones, with `all` stopped ones too.
pub fn containers(
    docker: &Docker,
    label: &str,
    all: bool,
) -> Result<Vec<ContainerSummary>, String> {
    block_on(
        docker.list_containers(Some(
            ListContainersOptionsBuilder::default()
                .all(all)
                .filters(&label_filter(label))
                .build(),
        )),
    )
    .map_err(|e| format!("listing containers: {e}"))
}

/// Names of the networks carrying `label`.
pub fn networks(docker: &Docker, label: &str) -> Result<Vec<String>, String> {
    let nets = block_on(
        docker.list_networks(Some(
            ListNetworksOptionsBuilder::default()
                .filters(&label_filter(label))
                .build(),
        )),
    )
    .map_err(|e| format!("listing networks: {e}"))?;
    Ok(nets.into_iter().filter_map(|n| n.name).collect())
}

/// The containers (stopped ones too) and networks carrying `label`.
pub fn leftovers(docker: &Docker, label: &str) -> Result<Vec<String>, String> {
    let mut left: Vec<String> = containers(docker, label, true)?
        .into_iter()
        .filter_map(|c| c.id.map(|id| format!("container {id:.12}")))
        .collect();
    left.extend(
        networks(docker, label)?
            .into_iter()
            .map(|n| format!("network {n}")),
    );
    Ok(left)
}

/// Removes by force every container (with its anonymous volumes) and then
/// every network carrying `label`, ignoring failures: for cleanup.
pub fn force_remove(docker: &Docker, label: &str) {
    let force = RemoveContainerOptionsBuilder::default()
        .force(true)
        .v(true)
        .build();
    let ids = containers(docker, label, true).unwrap_or_default();
    for id in ids.into_iter().filter_map(|c| c.id) {
        let _ = block_on(docker.remove_container(&id, Some(force.clone())));
    }
    for net in networks(docker, label).unwrap_or_default() {
        let _ = block_on(docker.remove_network(&net));
    }
}

/// Whether the engine has `image`.
pub fn image_exists(docker: &Docker, image: &str) -> bool {
    block_on(docker.inspect_image(image)).is_ok()
}

/// The full inspection of container `id` once its health check reports
/// healthy.
pub fn inspect_healthy(docker: &Docker, id: &str) -> Result<ContainerInspectResponse, String> {
    let info = block_on(docker.inspect_container(id, None)).map_err(|e| e.to_string())?;
    let health = info
        .state
        .as_ref()
        .and_then(|s| s.health.as_ref())
        .and_then(|h| h.status);
    if health != Some(HealthStatusEnum::HEALTHY) {
        return Err(format!("container {id:.12} is {health:?}"));
    }
    Ok(info)
}
