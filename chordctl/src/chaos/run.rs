//! The orchestration of a chaos run: workload and nemesis side by side for
//! the run's duration, then the heal, the waits for a correct ring and a
//! clean check, the final read of every key, the verdict and the report.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};
use rand::seq::IndexedRandom;
use serde_json::json;

use super::checker::{self, Report};
use super::history::{FinalRead, History};
use super::nemesis::Schedule;
use super::workload::{self, Entries};
use super::{timeline, ChaosPlan, Nemesis};
use crate::client::Client;
use crate::commands::{verify, Ctx};
use crate::exit;
use crate::output::{print_json, Progress};
use crate::poll::{self, Look, POLL};
use crate::runtime::Runtime;

/// How long the heal may take to give a correct ring, and then a clean check.
const RING_AFTER_HEAL: Duration = Duration::from_secs(120);
const CLEAN_AFTER_HEAL: Duration = Duration::from_secs(180);

/// `chaos`: runs `plan` against the existing cluster of `ctx`.
pub async fn run<R: Runtime>(ctx: &Ctx<'_, R>, plan: &ChaosPlan) -> Result<()> {
    match ctx.rt.kind() {
        kind @ ("compose" | "swarm") => {
            let owner = if kind == "compose" {
                "Compose's job on a Compose ring"
            } else {
                "Swarm's job on a stack's ring"
            };
            return Err(exit::usage(format!(
                "chaos restarts and adds nodes, which is {owner}: start the ring with \
                 `chordctl up N` instead"
            )));
        }
        "process" if plan.nemesis.contains(&Nemesis::Partition) => {
            return Err(exit::usage(format!(
                "chaos: --nemesis partition: {}",
                crate::runtime::NO_PARTITION_HERE
            )))
        }
        _ => {}
    }
    let cluster = ctx.existing().await?;
    let client = Client::new(&cluster.spec.key)?;
    let entries = Arc::new(Entries::default());
    for n in cluster.running() {
        if let Some(e) = &n.endpoint {
            entries.add(&n.name, e);
        }
    }
    let progress = Progress::new(ctx.output);
    progress.stage(format!(
        "chaos: {} s of workload and faults",
        plan.duration.as_secs()
    ));
    let start = Instant::now();
    let until = start + plan.duration;
    // Ctrl-C ends the workload and the schedule early, but still heals
    // every fault in force: a chaos run never leaves a node paused or cut off.
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                stop.store(true, Ordering::Relaxed);
            }
        });
    }
    let work = workload::Workload {
        http: client.clone(),
        entries: entries.clone(),
        start,
        until,
        stop: stop.clone(),
        keys: plan.keys,
        seed: plan.seed,
        salt: rand::random::<u64>() & 0x7fff,
    };
    let clients: Vec<_> = (0..plan.clients)
        .map(|i| tokio::spawn(workload::client(i, work.clone())))
        .collect();
    let mut nemesis = Schedule::new(ctx, cluster.spec.clone(), plan, entries.clone(), start)?;
    let faults_done = nemesis.run_until(until, &stop).await;
    let ran = start.elapsed().min(plan.duration);
    let mut ops = Vec::new();
    for c in clients {
        ops.extend(c.await.context("a chaos client task failed")?);
    }
    progress.stage("healing every fault");
    // Heal even when the schedule failed part-way, so nothing stays broken.
    let healed = nemesis.undo_all().await;
    // A failed fault or undo ends the run, but after the report: the history
    // so far is what explains it.
    let infra_error = faults_done.err().or(healed.err());
    let _ = nemesis.refresh_entries().await;
    let heal_at = Instant::now();
    progress.stage("waiting for a correct ring");
    let ring_after = poll::until(heal_at + RING_AFTER_HEAL, POLL, async || {
        if nemesis.note_convergence().await {
            Look::Done(heal_at.elapsed())
        } else {
            Look::NotYet(())
        }
    })
    .await
    .done();
    progress.stage("waiting for a clean check");
    let clean_after = if ring_after.is_some() {
        poll::try_until(
            heal_at + CLEAN_AFTER_HEAL,
            verify::CHECK_EVERY,
            async || -> Result<Look<Duration, ()>> {
                let clean = verify::gather(&ctx.existing().await?).await?.is_clean();
                Ok(if clean {
                    Look::Done(heal_at.elapsed())
                } else {
                    Look::NotYet(())
                })
            },
            |_| {},
        )
        .await?
        .done()
    } else {
        None
    };
    progress.stage("reading every key");
    let (final_reads, final_etags) = read_all(&client, &entries, plan.keys).await;
    progress.finish();
    ops.sort_by_key(|o| (o.start_ms, o.client));
    let history = History {
        ops,
        faults: nemesis.faults.clone(),
        final_reads,
        final_etags,
        duration_ms: ran.as_millis() as u64,
    };
    let report = checker::check(&history);
    let summary = json!({
        "cluster": ctx.cluster,
        "runtime": ctx.rt.kind(),
        "plan": {
            "duration_s": plan.duration.as_secs(),
            "clients": plan.clients,
            "seed": plan.seed,
            "interval_s": plan.interval.as_secs(),
            "nemesis": plan.nemesis,
            "keys": plan.keys,
            "unsafe": plan.allow_unsafe,
        },
        "faults": history.faults,
        "ring_after_heal_ms": ring_after.map(|d| d.as_millis() as u64),
        "clean_after_heal_ms": clean_after.map(|d| d.as_millis() as u64),
        "report": report,
        "final_reads": history.final_reads,
        "final_etags": history.final_etags,
        "error": infra_error.as_ref().map(|e| format!("{e:#}")),
        "passed": report.passed() && ring_after.is_some() && clean_after.is_some()
            && infra_error.is_none(),
    });
    if let Some(dir) = &plan.report {
        write_report(dir, &history, &report, &summary, plan)?;
    }
    if ctx.json() {
        print_json(&summary)?;
    } else {
        print_table(plan, &history, &report, ring_after, clean_after)?;
    }
    if let Some(e) = infra_error {
        return Err(e.context("the chaos schedule failed (history and report kept)"));
    }
    let problems = report.lost.len()
        + report.resurrected.len()
        + report.lost_reads.len()
        + report.unreadable.len();
    if problems > 0 {
        return Err(anyhow!(
            "chaos found {} lost, {} resurrected, {} lost read(s), {} unreadable key(s)",
            report.lost.len(),
            report.resurrected.len(),
            report.lost_reads.len(),
            report.unreadable.len()
        ));
    }
    if ring_after.is_none() {
        return Err(anyhow!(
            "the ring was not correct {} s after the heal",
            RING_AFTER_HEAL.as_secs()
        ));
    }
    if clean_after.is_none() {
        return Err(anyhow!(
            "check was not clean {} s after the heal",
            CLEAN_AFTER_HEAL.as_secs()
        ));
    }
    Ok(())
}

/// Reads every key of the run once, through random live nodes, retrying a
/// few times on errors (a 503 right after the heal is not a verdict); also
/// the `ETag` of each value found.
async fn read_all(
    client: &Client,
    entries: &Entries,
    keys: u32,
) -> (BTreeMap<String, FinalRead>, BTreeMap<String, String>) {
    let mut out = BTreeMap::new();
    let mut etags = BTreeMap::new();
    let nodes = entries.all();
    for i in 0..keys {
        let key = workload::key(i);
        let mut last = String::from("no live node to ask");
        let mut read = None;
        for attempt in 0..10 {
            let Some((_, endpoint)) = nodes.choose(&mut rand::rng()) else {
                break;
            };
            match client.get(endpoint, &key).await {
                Ok(r) if r.status == 200 => {
                    if let Some(tag) = &r.etag {
                        etags.insert(key.clone(), tag.clone());
                    }
                    read = Some(match r.body.trim().parse::<u64>() {
                        Ok(v) => FinalRead::Value(v),
                        Err(_) => FinalRead::Error(format!("not a value of this run: {}", r.body)),
                    });
                }
                Ok(r) if r.status == 404 => read = Some(FinalRead::Absent),
                Ok(r) => last = format!("{}: {}", r.status, r.error_message()),
                Err(e) => last = format!("{e:#}"),
            }
            if read.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200 * (attempt + 1))).await;
        }
        out.insert(key, read.unwrap_or(FinalRead::Error(last)));
    }
    (out, etags)
}

fn write_report(
    dir: &std::path::Path,
    history: &History,
    report: &Report,
    summary: &serde_json::Value,
    plan: &ChaosPlan,
) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut lines = String::new();
    for op in &history.ops {
        lines.push_str(&serde_json::to_string(op)?);
        lines.push('\n');
    }
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))
    };
    write("history.jsonl", &lines)?;
    write("summary.json", &serde_json::to_string_pretty(summary)?)?;
    let title = format!(
        "chordctl chaos: {} s, {} clients, seed {}",
        plan.duration.as_secs(),
        plan.clients,
        plan.seed
    );
    write(
        "timeline.svg",
        &timeline::svg(report, &history.faults, history.duration_ms, &title),
    )
}

fn print_table(
    plan: &ChaosPlan,
    history: &History,
    report: &Report,
    ring_after: Option<Duration>,
    clean_after: Option<Duration>,
) -> Result<()> {
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for f in &history.faults {
        *kinds.entry(f.kind.as_str()).or_default() += 1;
    }
    let faults = if kinds.is_empty() {
        "none".to_string()
    } else {
        kinds
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let heal = &report.heal_to_ring_ms;
    let heal = if heal.is_empty() {
        "-".to_string()
    } else {
        format!(
            "max {} ms, mean {} ms ({} faults)",
            heal.iter().max().copied().unwrap_or(0),
            heal.iter().sum::<u64>() / heal.len() as u64,
            heal.len()
        )
    };
    let secs = |d: Option<Duration>| {
        d.map_or("never".to_string(), |d| format!("{:.1} s", d.as_secs_f64()))
    };
    let worst = report
        .availability
        .iter()
        .filter(|s| s.ok + s.failed + s.unknown > 0)
        .map(|s| f64::from(s.ok) / f64::from(s.ok + s.failed + s.unknown))
        .fold(1.0_f64, f64::min);
    let nemesis: Vec<String> = plan
        .nemesis
        .iter()
        .map(|n| format!("{n:?}").to_lowercase())
        .collect();
    let verdict = report.passed() && ring_after.is_some() && clean_after.is_some();
    let mut out = String::new();
    let line = |out: &mut String, k: &str, v: String| out.push_str(&format!("{k:<18}{v}\n"));
    line(
        &mut out,
        "chaos",
        format!(
            "{} s, {} clients, {} keys, seed {}, interval {} s, nemesis {}",
            plan.duration.as_secs(),
            plan.clients,
            plan.keys,
            plan.seed,
            plan.interval.as_secs(),
            if nemesis.is_empty() {
                "none".to_string()
            } else {
                nemesis.join(",")
            }
        ),
    );
    line(
        &mut out,
        "operations",
        format!(
            "{} (ok {}, failed {}, unknown {})",
            report.ops, report.ok, report.failed, report.unknown
        ),
    );
    line(&mut out, "faults", faults);
    line(&mut out, "heal to ring", heal);
    line(
        &mut out,
        "after the run",
        format!(
            "ring correct {} after the heal, check clean {}",
            secs(ring_after),
            secs(clean_after)
        ),
    );
    line(
        &mut out,
        "worst second",
        format!("{:.1} % of operations ok", worst * 100.0),
    );
    line(&mut out, "lost", report.lost.len().to_string());
    line(
        &mut out,
        "resurrected",
        report.resurrected.len().to_string(),
    );
    line(&mut out, "lost reads", report.lost_reads.len().to_string());
    line(
        &mut out,
        "stale reads",
        format!(
            "{} ({} during partitions; reported, not failures)",
            report.stale_reads, report.stale_reads_in_partition
        ),
    );
    line(&mut out, "unreadable", report.unreadable.len().to_string());
    for a in report
        .lost
        .iter()
        .chain(&report.resurrected)
        .chain(&report.lost_reads)
        .take(10)
    {
        out.push_str(&format!("  {}: {}\n", a.key, a.detail));
    }
    line(
        &mut out,
        "result",
        if verdict { "PASS" } else { "FAIL" }.to_string(),
    );
    crate::output::print(&out)
}
