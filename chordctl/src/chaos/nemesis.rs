//! The nemesis of a chaos run: on a seeded schedule it draws a fault kind,
//! applies it to nodes that [`super::safety`] allows, undoes it after a
//! while, and notes when the ring is correct again.

use chord_proto::id::Id;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use rand::rngs::StdRng;
use rand::seq::{IndexedRandom, SliceRandom};
use rand::{Rng, SeedableRng};

use super::history::Fault;
use super::safety::may_take_down;
use super::workload::Entries;
use super::{ChaosPlan, Nemesis};
use crate::client::Client;
use crate::commands::inspect::{observe, ring_report};
use crate::commands::Ctx;
use crate::runtime::{ClusterSpec, NodeInfo, Runtime};

/// A fault in force, to be undone at `undo_at`.
struct Active {
    fault: usize,
    kind: Nemesis,
    nodes: Vec<NodeInfo>,
    undo_at: Instant,
}

/// The nemesis and what it has done so far.
pub struct Schedule<'a, R: Runtime> {
    ctx: &'a Ctx<'a, R>,
    spec: ClusterSpec,
    client: Client,
    plan: &'a ChaosPlan,
    entries: Arc<Entries>,
    rng: StdRng,
    start: Instant,
    /// Every fault so far, in order.
    pub faults: Vec<Fault>,
    active: Vec<Active>,
    /// Nodes down now (killed, paused) or not yet settled after coming back,
    /// with when they count as settled (`None`: still down).
    down: HashMap<String, Option<Instant>>,
    /// Ring ids of the nodes seen, by name (for the ring order).
    ids: HashMap<String, Id>,
    /// Nodes that left for good.
    gone: Vec<String>,
    /// Fault kinds still to come in this round of the schedule.
    queue: Vec<Nemesis>,
    /// Slots the kind at the head of `queue` has waited.
    waited: u32,
}

impl<'a, R: Runtime> Schedule<'a, R> {
    /// A nemesis for the cluster `spec` of `ctx`, starting at `start`.
    pub fn new(
        ctx: &'a Ctx<'a, R>,
        spec: ClusterSpec,
        plan: &'a ChaosPlan,
        entries: Arc<Entries>,
        start: Instant,
    ) -> Result<Self> {
        Ok(Self {
            client: Client::new(&spec.key)?,
            ctx,
            spec,
            plan,
            entries,
            rng: StdRng::seed_from_u64(plan.seed),
            start,
            faults: Vec::new(),
            active: Vec::new(),
            down: HashMap::new(),
            ids: HashMap::new(),
            gone: Vec::new(),
            queue: Vec::new(),
            waited: 0,
        })
    }

    fn ms(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    /// Faults on schedule until `until` (or `stop`); what is still in force
    /// then stays (see [`Schedule::undo_all`]).
    pub async fn run_until(&mut self, until: Instant, stop: &AtomicBool) -> Result<()> {
        let mut next = self.start + self.plan.interval;
        while Instant::now() < until && !stop.load(Ordering::Relaxed) {
            let now = Instant::now();
            let due: Vec<usize> = (0..self.active.len())
                .filter(|i| self.active[*i].undo_at <= now)
                .collect();
            for i in due.into_iter().rev() {
                let a = self.active.remove(i);
                self.undo(a).await?;
            }
            self.note_convergence().await;
            if now >= next && !self.plan.nemesis.is_empty() {
                next += self.plan.interval;
                self.inject().await?;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        Ok(())
    }

    /// Undoes every fault still in force (the final heal), as far as it
    /// can: every undo is tried, then the network is healed and every node
    /// resumed once more whatever happened; the first error is returned.
    pub async fn undo_all(&mut self) -> Result<()> {
        let mut first_err = None;
        for a in std::mem::take(&mut self.active) {
            if let Err(e) = self.undo(a).await {
                first_err.get_or_insert(e);
            }
        }
        if let Err(e) = self.ctx.rt.heal(self.ctx.cluster).await {
            first_err.get_or_insert(e);
        }
        if let Ok(cluster) = self.ctx.existing().await {
            for n in cluster.running() {
                // Resuming a node that is not paused is a no-op.
                let _ = self.ctx.rt.resume(self.ctx.cluster, n).await;
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    /// Marks every undone fault whose ring has not been seen correct yet as
    /// converged, if the ring is correct now; returns whether it is.
    pub async fn note_convergence(&mut self) -> bool {
        let Ok(cluster) = self.ctx.existing().await else {
            return false;
        };
        let observed = observe(&self.client, &cluster).await;
        for o in &observed {
            if let Some(s) = &o.status {
                self.ids.insert(o.node.name.clone(), s.id);
            }
        }
        // Only a node that is down now may be silent: one that is back
        // (settling) must answer before the ring counts as correct.
        let silent = observed.iter().any(|o| {
            o.node.running
                && o.status.is_none()
                && !matches!(self.down.get(&o.node.name), Some(None))
        });
        let correct = !silent && ring_report(&observed).problems.is_empty();
        if correct && self.active.is_empty() {
            let at = self.ms();
            let settle = Instant::now() + self.plan.interval / 2;
            for f in self.faults.iter_mut() {
                if f.end_ms.is_some() && f.converged_ms.is_none() {
                    f.converged_ms = Some(at);
                }
            }
            for until in self.down.values_mut() {
                if until.is_none() {
                    continue;
                }
                *until = Some((*until).unwrap_or(settle).min(settle));
            }
        }
        let now = Instant::now();
        self.down
            .retain(|_, until| until.is_none_or(|t| t > now) || !correct);
        correct
    }

    /// Points the clients at every node that is up, at the endpoint the
    /// runtime reports now: a container moved between networks, or started
    /// again, may have been given another published port.
    pub async fn refresh_entries(&self) -> Result<()> {
        let cluster = self.ctx.existing().await?;
        let now: Vec<(String, String)> = cluster
            .running()
            .into_iter()
            .filter(|n| {
                !matches!(self.down.get(&n.name), Some(None)) && !self.gone.contains(&n.name)
            })
            .filter_map(|n| Some((n.name.clone(), n.endpoint.clone()?)))
            .collect();
        self.entries.set(now);
        Ok(())
    }

    /// Nodes in ring order (by id), leaving out the ones that left.
    fn ring_order(&self) -> Vec<String> {
        let mut members: Vec<(&Id, &String)> = self
            .ids
            .iter()
            .filter(|(name, _)| !self.gone.contains(name))
            .map(|(n, id)| (id, n))
            .collect();
        members.sort();
        members.into_iter().map(|(_, n)| n.clone()).collect()
    }

    /// Running nodes that may be taken down now.
    async fn takeable(&self) -> Result<Vec<NodeInfo>> {
        let cluster = self.ctx.existing().await?;
        let ring = self.ring_order();
        let down: Vec<String> = self.down.keys().cloned().collect();
        Ok(cluster
            .running()
            .into_iter()
            .filter(|n| !self.down.contains_key(&n.name) && self.ids.contains_key(&n.name))
            .filter(|n| {
                self.plan.allow_unsafe
                    || may_take_down(&ring, &down, &n.name, self.spec.replicas as usize)
            })
            .cloned()
            .collect())
    }

    /// Applies the next fault kind of the schedule. Kinds come in rounds, each
    /// a seeded shuffle of every kind asked for, so each kind gets its turn.
    /// A kind that cannot be applied now (a partition while a node is still
    /// down, a kill when no node may go down) keeps its turn for the next
    /// slot, up to three slots, then yields to the next kind.
    async fn inject(&mut self) -> Result<()> {
        if self.queue.is_empty() {
            let mut kinds = self.plan.nemesis.clone();
            kinds.shuffle(&mut self.rng);
            self.queue = kinds;
        }
        let kind = self.queue[0];
        if self.try_fault(kind).await? {
            self.queue.remove(0);
            self.waited = 0;
        } else {
            self.waited += 1;
            if self.waited >= 3 {
                self.queue.remove(0);
                self.waited = 0;
            }
        }
        Ok(())
    }

    fn hold(&mut self) -> Duration {
        self.plan.interval.mul_f64(self.rng.random_range(0.5..1.0))
    }

    fn record(&mut self, kind: Nemesis, nodes: &[NodeInfo], ended: bool) -> usize {
        let at = self.ms();
        self.faults.push(Fault {
            kind: format!("{kind:?}").to_lowercase(),
            nodes: nodes.iter().map(|n| n.name.clone()).collect(),
            start_ms: at,
            end_ms: ended.then_some(at),
            converged_ms: None,
        });
        self.faults.len() - 1
    }

    /// Applies one fault of `kind`; false when none can be applied now.
    async fn try_fault(&mut self, kind: Nemesis) -> Result<bool> {
        let partitioned = self.active.iter().any(|a| a.kind == Nemesis::Partition);
        match kind {
            Nemesis::Kill | Nemesis::Pause | Nemesis::Restart => {
                if partitioned {
                    return Ok(false);
                }
                let Some(node) = self.takeable().await?.choose(&mut self.rng).cloned() else {
                    return Ok(false);
                };
                self.entries.remove(&node.name);
                if kind == Nemesis::Pause {
                    self.ctx.rt.pause(self.ctx.cluster, &node).await?;
                } else {
                    self.ctx.rt.kill(self.ctx.cluster, &node).await?;
                }
                self.down.insert(node.name.clone(), None);
                if kind == Nemesis::Restart {
                    let i = self.record(kind, std::slice::from_ref(&node), false);
                    self.revive(&node).await?;
                    self.faults[i].end_ms = Some(self.ms());
                } else {
                    let i = self.record(kind, std::slice::from_ref(&node), false);
                    let undo_at = Instant::now() + self.hold();
                    self.active.push(Active {
                        fault: i,
                        kind,
                        nodes: vec![node],
                        undo_at,
                    });
                }
                Ok(true)
            }
            Nemesis::Partition => {
                if !self.active.is_empty() || !self.down.is_empty() {
                    return Ok(false);
                }
                let cluster = self.ctx.existing().await?;
                let mut nodes: Vec<NodeInfo> = cluster.running().into_iter().cloned().collect();
                if nodes.len() < 4 {
                    return Ok(false);
                }
                nodes.shuffle(&mut self.rng);
                let groups = if nodes.len() >= 6 && self.rng.random_bool(0.5) {
                    3
                } else {
                    2
                };
                // Contiguous chunks of a shuffled list: random groups, none empty.
                let size = nodes.len().div_ceil(groups);
                let chunks: Vec<Vec<NodeInfo>> = nodes.chunks(size).map(<[_]>::to_vec).collect();
                self.ctx
                    .rt
                    .partition(self.ctx.cluster, &chunks[1..])
                    .await?;
                let moved: Vec<NodeInfo> = chunks[1..].concat();
                self.refresh_entries().await?;
                let i = self.record(kind, &moved, false);
                let undo_at = Instant::now() + self.hold();
                self.active.push(Active {
                    fault: i,
                    kind,
                    nodes: moved,
                    undo_at,
                });
                Ok(true)
            }
            Nemesis::Join => {
                if partitioned {
                    return Ok(false);
                }
                let cluster = self.ctx.existing().await?;
                let Some(via) = cluster
                    .running()
                    .into_iter()
                    .filter(|n| !self.down.contains_key(&n.name))
                    .collect::<Vec<_>>()
                    .choose(&mut self.rng)
                    .map(|n| n.advertise.clone())
                else {
                    return Ok(false);
                };
                let node = self
                    .ctx
                    .rt
                    .start_node(&self.spec, cluster.next_index(), Some(&via))
                    .await
                    .context("chaos: adding a node")?;
                self.record(kind, std::slice::from_ref(&node), true);
                if let Some(e) = &node.endpoint {
                    self.entries.add(&node.name, e);
                }
                // A name that left before can come back with a new node.
                self.gone.retain(|g| *g != node.name);
                // Empty until repair fills it: settling, like a revived node.
                self.down.insert(
                    node.name.clone(),
                    Some(Instant::now() + Duration::from_secs(3600)),
                );
                Ok(true)
            }
            Nemesis::Leave => {
                let cluster = self.ctx.existing().await?;
                let running = cluster.running();
                if partitioned
                    || !self.down.is_empty()
                    || running.len() <= self.spec.replicas as usize + 1
                {
                    return Ok(false);
                }
                let Some(node) = running.choose(&mut self.rng).map(|n| (*n).clone()) else {
                    return Ok(false);
                };
                self.entries.remove(&node.name);
                self.gone.push(node.name.clone());
                self.ctx.rt.remove_node(self.ctx.cluster, &node).await?;
                self.record(kind, std::slice::from_ref(&node), true);
                Ok(true)
            }
        }
    }

    /// Starts a killed node again at its address, joining through a live one.
    async fn revive(&mut self, node: &NodeInfo) -> Result<()> {
        let cluster = self.ctx.existing().await?;
        let via = cluster
            .running()
            .into_iter()
            .filter(|n| n.name != node.name && !self.down.contains_key(&n.name))
            .map(|n| n.advertise.clone())
            .next();
        self.ctx.rt.remove_node(self.ctx.cluster, node).await?;
        let back = self
            .ctx
            .rt
            .start_node(&self.spec, node.index, via.as_deref())
            .await
            .with_context(|| format!("chaos: restarting {}", node.name))?;
        if let Some(e) = &back.endpoint {
            self.entries.add(&back.name, e);
        }
        // Down until the ring has taken it back and settled.
        self.down.insert(
            node.name.clone(),
            Some(Instant::now() + Duration::from_secs(3600)),
        );
        Ok(())
    }

    async fn undo(&mut self, a: Active) -> Result<()> {
        match a.kind {
            Nemesis::Kill => {
                for n in &a.nodes {
                    self.revive(n).await?;
                }
            }
            Nemesis::Pause => {
                for n in &a.nodes {
                    self.ctx.rt.resume(self.ctx.cluster, n).await?;
                    if let Some(e) = &n.endpoint {
                        self.entries.add(&n.name, e);
                    }
                    self.down.insert(
                        n.name.clone(),
                        Some(Instant::now() + Duration::from_secs(3600)),
                    );
                }
            }
            Nemesis::Partition => {
                self.ctx.rt.heal(self.ctx.cluster).await?;
                // Both sides hand writes over after the merge: every node
                // settles before the next node may go down.
                let cluster = self.ctx.existing().await?;
                for n in cluster.running() {
                    self.down
                        .entry(n.name.clone())
                        .or_insert(Some(Instant::now() + Duration::from_secs(3600)));
                }
                self.refresh_entries().await?;
            }
            Nemesis::Restart | Nemesis::Join | Nemesis::Leave => {}
        }
        self.faults[a.fault].end_ms = Some(self.ms());
        Ok(())
    }
}
