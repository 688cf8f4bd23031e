//! `check`: the ring and the placement of every key, judged by
//! [`crate::check`] over what the live nodes report.

use std::time::{Duration, Instant};

use anyhow::Result;
use futures_util::future::join_all;
use serde::Serialize;

use super::inspect::{observe, ring_report};
use super::Ctx;
use crate::check::{self, DataReport, Holdings, RingReport};
use crate::client::Client;
use crate::exit;
use crate::output::{print_json, Progress};
use crate::poll::{self, Look};
use crate::runtime::{Cluster, Runtime};

/// Interval between checks of `check --wait` (and of chaos's wait for a
/// clean check): a check reads every key of every node, so it looks less
/// often than the other waits.
pub const CHECK_EVERY: Duration = Duration::from_secs(1);

/// The `check` document.
#[derive(Debug, Serialize)]
pub struct CheckReport {
    cluster: String,
    replicas: u32,
    /// Nodes that answered.
    live: Vec<String>,
    /// Nodes that are stopped or do not answer (not counted as problems:
    /// the point of a check after a kill is whether the rest copes).
    down: Vec<String>,
    ring: RingReport,
    data: DataReport,
    /// Nodes that answered /status but not /chord/keys, and the like.
    errors: Vec<String>,
    clean: bool,
}

impl CheckReport {
    /// Whether the ring and every key are as they should be.
    pub fn is_clean(&self) -> bool {
        self.clean
    }

    fn problem_count(&self) -> usize {
        self.ring.problems.len()
            + self.errors.len()
            + self.data.lost.len()
            + self.data.under_replicated.len()
            + self.data.misplaced.len()
    }
}

/// Everything `check` judges, gathered from the live nodes now.
pub async fn gather(cluster: &Cluster) -> Result<CheckReport> {
    let client = Client::new(&cluster.spec.key)?;
    let observed = observe(&client, cluster).await;
    let ring = ring_report(&observed);
    let fetched = join_all(observed.iter().filter_map(|o| {
        let status = o.status.as_ref()?;
        let endpoint = o.node.endpoint.clone()?;
        let client = client.clone();
        Some(async move {
            let keys = client.keys(&endpoint).await;
            let ids = check::positions_of(status).iter().map(|p| p.id).collect();
            (o.node.name.clone(), ids, keys)
        })
    }))
    .await;
    let mut holdings = Vec::new();
    let mut errors = Vec::new();
    for (name, ids, keys) in fetched {
        match keys {
            Ok(k) => holdings.push(Holdings {
                name,
                ids,
                entries: k.entries,
            }),
            Err(e) => errors.push(format!("{name}: {e:#}")),
        }
    }
    if holdings.is_empty() {
        errors.push("no node answers".to_string());
    }
    let data = check::data(&holdings, cluster.spec.replicas);
    let mut report = CheckReport {
        cluster: cluster.spec.name.clone(),
        replicas: cluster.spec.replicas,
        live: holdings.iter().map(|h| h.name.clone()).collect(),
        down: observed
            .iter()
            .filter(|o| o.status.is_none())
            .map(|o| o.node.name.clone())
            .collect(),
        ring,
        data,
        errors,
        clean: false,
    };
    report.clean = report.problem_count() == 0 && report.data.is_clean();
    Ok(report)
}

/// How many keys of each problem list the table shows.
const SHOWN_KEYS: usize = 10;

fn print_check(report: &CheckReport) -> Result<()> {
    let mut out = String::new();
    let down = if report.down.is_empty() {
        String::new()
    } else {
        format!("; down, not counted: {}", report.down.join(", "))
    };
    let ring = if report.ring.problems.is_empty() {
        "ok"
    } else {
        "BROKEN"
    };
    out.push_str(&format!(
        "ring              {ring} ({} live nodes{down})\n",
        report.live.len()
    ));
    for p in &report.ring.problems {
        out.push_str(&format!("  {p}\n"));
    }
    for e in &report.errors {
        out.push_str(&format!("error             {e}\n"));
    }
    out.push_str(&format!(
        "keys              {} live, {} deleted, replicas {}\n",
        report.data.keys, report.data.deleted, report.replicas
    ));
    for (label, list) in [
        ("lost", &report.data.lost),
        ("under-replicated", &report.data.under_replicated),
        ("misplaced", &report.data.misplaced),
    ] {
        out.push_str(&format!("{label:<18}{}\n", list.len()));
        for p in list.iter().take(SHOWN_KEYS) {
            out.push_str(&format!(
                "  {:?}: expected {}; current {}; stale {}; elsewhere {}\n",
                p.key,
                join_or_dash(&p.expected),
                join_or_dash(&p.current),
                join_or_dash(&p.stale),
                join_or_dash(&p.elsewhere)
            ));
        }
        if list.len() > SHOWN_KEYS {
            out.push_str(&format!(
                "  ... and {} more (see -o json)\n",
                list.len() - SHOWN_KEYS
            ));
        }
    }
    out.push_str(if report.clean {
        "result            clean\n"
    } else {
        "result            PROBLEMS\n"
    });
    crate::output::print(&out)
}

fn join_or_dash(names: &[String]) -> String {
    if names.is_empty() {
        "-".to_string()
    } else {
        names.join(",")
    }
}

/// `check`: ring and data verification, optionally re-checking until
/// clean or `wait` has passed.
pub async fn check<R: Runtime>(ctx: &Ctx<'_, R>, wait: Option<Duration>) -> Result<()> {
    let deadline = Instant::now() + wait.unwrap_or_default();
    let progress = Progress::new(ctx.output);
    let last = poll::try_until(
        deadline,
        CHECK_EVERY,
        async || -> Result<Look<CheckReport, CheckReport>> {
            let report = gather(&ctx.existing().await?).await?;
            Ok(if report.clean {
                Look::Done(report)
            } else {
                Look::NotYet(report)
            })
        },
        |report| {
            progress.stage(format!(
                "waiting for a clean check ({} problems)",
                report.problem_count()
            ))
        },
    )
    .await?;
    let (Look::Done(report) | Look::NotYet(report)) = last;
    progress.finish();
    if ctx.json() {
        print_json(&report)?;
    } else {
        print_check(&report)?;
    }
    if report.clean {
        return Ok(());
    }
    Err(exit::unhealthy(format!(
        "check found {} problem(s): {} lost, {} under-replicated, {} misplaced key(s), \
         {} ring problem(s)",
        report.problem_count(),
        report.data.lost.len(),
        report.data.under_replicated.len(),
        report.data.misplaced.len(),
        report.ring.problems.len()
    )))
}
