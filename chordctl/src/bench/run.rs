//! The part of `bench` that touches the network, the clock and the
//! terminal: picking live entry nodes, the preload, the closed- and
//! open-loop workers, the progress bar, and printing the report.
//!
//! Each worker owns a seeded RNG and a [`Tally`]; nothing is shared while
//! measuring but the HTTP client and two counters for the progress bar.
//! The tallies are merged once the workers are done.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use futures_util::future::join_all;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::args::BenchPlan;
use super::report::{render_table, Measured, Preload, Report};
use super::tally::{Answer, Class, ErrorKind, Tally, LATE};
use super::workload::{due_slots, key_name, value_body, BenchOp, Workload};
use crate::cli::OutputFormat;
use crate::client::Client;
use crate::commands::Ctx;
use crate::output::{print, print_json};
use crate::runtime::Runtime;
use chord_proto::key::encode_key;

/// Connection timeout (capped by the request timeout): the nodes are on
/// this machine, so a second is generous.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// How often the progress bar is redrawn.
const TICK: Duration = Duration::from_millis(200);

/// Benchmarks the running nodes of the cluster `ctx` names.
pub async fn on_cluster<R: Runtime>(ctx: &Ctx<'_, R>, plan: &BenchPlan) -> Result<()> {
    let cluster = ctx.existing().await?;
    let endpoints: Vec<String> = cluster
        .running()
        .into_iter()
        .filter_map(|n| n.endpoint.clone())
        .collect();
    if endpoints.is_empty() {
        bail!("no node of cluster {:?} is running", ctx.cluster);
    }
    run(plan, endpoints, ctx.output).await
}

/// Benchmarks the nodes given with `--target`; no runtime is involved.
pub async fn on_targets(plan: &BenchPlan, output: OutputFormat) -> Result<()> {
    run(plan, plan.targets.clone(), output).await
}

async fn run(plan: &BenchPlan, candidates: Vec<String>, output: OutputFormat) -> Result<()> {
    let entries = live(candidates).await?;
    let shared = Arc::new(Shared::new(plan, entries.clone())?);
    let bar = Bar::new(output);
    let preload = if plan.preload {
        Some(preload(&shared, plan, &bar).await?)
    } else {
        None
    };
    let (tally, measured) = measure(&shared, plan, &bar).await?;
    drop(bar);
    let report = Report::build(plan, entries, preload, &tally, measured);
    match output {
        OutputFormat::Json => print_json(&report)?,
        OutputFormat::Table => print(&render_table(&report))?,
        OutputFormat::Svg => unreachable!("Cli::into_plan refuses -o svg for bench"),
    }
    if report.ops > 0 && report.ok + report.not_found == 0 {
        bail!("no request succeeded ({} failed)", report.errors);
    }
    Ok(())
}

/// The candidates that answer `/readyz`; the others are left out with a
/// note, and none at all is an error.
async fn live(candidates: Vec<String>) -> Result<Vec<String>> {
    let probe = Client::new("")?;
    let ready = join_all(candidates.iter().map(|e| probe.ready(e))).await;
    let (live, dead): (Vec<_>, Vec<_>) = candidates.into_iter().zip(ready).partition(|(_, r)| *r);
    let live: Vec<String> = live.into_iter().map(|(e, _)| e).collect();
    let dead: Vec<String> = dead.into_iter().map(|(e, _)| e).collect();
    if live.is_empty() {
        bail!(
            "no node is ready: {} did not answer 200 on /readyz",
            dead.join(", ")
        );
    }
    if !dead.is_empty() {
        eprintln!(
            "bench: leaving out {} (not ready: /readyz did not answer 200)",
            dead.join(", ")
        );
    }
    Ok(live)
}

/// What every worker reads.
struct Shared {
    /// One client for the whole run: its pool keeps connections alive.
    http: reqwest::Client,
    /// `host:port` of the live entry nodes.
    entries: Vec<String>,
    /// What to send.
    workload: Workload,
    /// The value of every put.
    body: String,
    /// Whether the keys were preloaded (a 404 is then an error).
    preloaded: bool,
    /// Base seed; worker `w` of the measurement uses `seed + w`.
    seed: u64,
    /// Requests finished in the current phase, for the progress bar.
    done: AtomicU64,
    /// Requests failed in the current phase, for the progress bar.
    failed: AtomicU64,
}

impl Shared {
    fn new(plan: &BenchPlan, entries: Vec<String>) -> Result<Self> {
        let http = reqwest::Client::builder()
            // Nodes are reached directly; a proxy from the environment
            // would be wrong, and would be what is measured.
            .no_proxy()
            .connect_timeout(CONNECT_TIMEOUT.min(plan.request_timeout))
            .timeout(plan.request_timeout)
            // Enough idle connections that no worker has to reconnect,
            // even if every worker last talked to the same node.
            .pool_max_idle_per_host(plan.concurrency as usize)
            .tcp_nodelay(true)
            .build()
            .context("building the HTTP client")?;
        Ok(Self {
            http,
            entries,
            workload: Workload::new(plan),
            body: value_body(plan.value_size),
            preloaded: plan.preload,
            seed: plan.seed,
            done: AtomicU64::new(0),
            failed: AtomicU64::new(0),
        })
    }

    /// A random entry node.
    fn entry(&self, rng: &mut StdRng) -> &str {
        &self.entries[rng.random_range(0..self.entries.len())]
    }

    /// Sends one request and reads the whole answer (so that the
    /// connection can be reused).
    async fn send(&self, op: BenchOp, key: u64, entry: &str) -> Answer {
        let url = format!("http://{entry}/kv/{}", encode_key(&key_name(key)));
        let request = match op {
            BenchOp::Get => self.http.get(url),
            BenchOp::Put => self
                .http
                .put(url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(self.body.clone()),
        };
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => return Answer::Failed(error_kind(&e)),
        };
        let status = response.status().as_u16();
        let hops = response
            .headers()
            .get("x-chord-hops")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        match response.bytes().await {
            Ok(_) => Answer::Answered { status, hops },
            Err(e) => Answer::Failed(error_kind(&e)),
        }
    }

    /// Sends, counts into `tally` and the progress counters.
    async fn request(&self, tally: &mut Tally, op: BenchOp, key: u64, entry: &str, since: Instant) {
        let outcome = self.send(op, key, entry).await;
        let class = tally.record(op, outcome, since.elapsed(), self.preloaded);
        self.done.fetch_add(1, Ordering::Relaxed);
        if matches!(class, Class::Error(_)) {
            self.failed.fetch_add(1, Ordering::Relaxed);
        }
    }
}

fn error_kind(e: &reqwest::Error) -> ErrorKind {
    if e.is_connect() {
        ErrorKind::Connect
    } else if e.is_timeout() {
        ErrorKind::Timeout
    } else {
        ErrorKind::Transport
    }
}

/// Writes every key once, `concurrency` at a time; any failure ends the
/// run, since gets of a key that was not written would be misleading.
async fn preload(shared: &Arc<Shared>, plan: &BenchPlan, bar: &Bar) -> Result<Preload> {
    bar.phase("preload {bar:30} {pos}/{len} keys {msg}", plan.keys);
    let start = Instant::now();
    let next = Arc::new(AtomicU64::new(0));
    let workers = (0..u64::from(plan.concurrency)).map(|w| {
        let (shared, next, keys) = (Arc::clone(shared), Arc::clone(&next), plan.keys);
        tokio::spawn(async move {
            // Entry choices only; seeded apart from the measurement's.
            let mut rng = StdRng::seed_from_u64(shared.seed.wrapping_sub(w + 1));
            let mut tally = Tally::default();
            loop {
                let key = next.fetch_add(1, Ordering::Relaxed);
                if key >= keys {
                    return tally;
                }
                let entry = shared.entry(&mut rng);
                shared
                    .request(&mut tally, BenchOp::Put, key, entry, Instant::now())
                    .await;
            }
        })
    });
    let tally = join_ticking(workers.collect(), || {
        let failed = shared.failed.load(Ordering::Relaxed);
        bar.bar.set_position(shared.done.load(Ordering::Relaxed));
        bar.bar.set_message(format!("{failed} failed"));
    })
    .await?;
    shared.done.store(0, Ordering::Relaxed);
    shared.failed.store(0, Ordering::Relaxed);
    if tally.error_count() > 0 {
        let kinds: Vec<String> = tally
            .errors
            .iter()
            .map(|(k, n)| format!("{} x{n}", k.name()))
            .collect();
        bail!(
            "preload: {} of {} puts failed ({}); check the ring with `chordctl check`, \
             or run with --no-preload",
            tally.error_count(),
            plan.keys,
            kinds.join(", ")
        );
    }
    Ok(Preload {
        keys: plan.keys,
        elapsed_s: (start.elapsed().as_secs_f64() * 1000.0).round() / 1000.0,
    })
}

/// The open-loop timetable shared by the workers: slot `i` is due at
/// `start + i / rate`, and each worker takes the next free slot.
struct Schedule {
    /// Time of slot 0.
    start: Instant,
    /// Slots per second.
    rate: f64,
    /// Slots due before the end of the measurement.
    total: u64,
    /// The next slot nobody has taken.
    next: AtomicU64,
}

impl Schedule {
    /// Takes the next slot: its due time, or `None` when all are taken.
    fn take(&self) -> Option<Instant> {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        (i < self.total).then(|| self.start + Duration::from_secs_f64(i as f64 / self.rate))
    }
}

/// Runs the measurement: the workers (each keeps to the deadline by
/// itself), a Ctrl-C watcher that stops them early, and the progress bar.
async fn measure(shared: &Arc<Shared>, plan: &BenchPlan, bar: &Bar) -> Result<(Tally, Measured)> {
    let total_ms = u64::try_from(plan.duration.as_millis()).unwrap_or(u64::MAX);
    bar.phase("{bar:30} {msg}", total_ms);
    let (stop_tx, stop_rx) = watch::channel(false);
    let start = Instant::now();
    let deadline = start + plan.duration;
    let schedule = plan.rate.map(|rate| {
        Arc::new(Schedule {
            start,
            rate,
            total: due_slots(rate, plan.duration),
            next: AtomicU64::new(0),
        })
    });
    let workers = (0..u64::from(plan.concurrency)).map(|w| {
        let rng = StdRng::seed_from_u64(shared.seed.wrapping_add(w));
        let (shared, stop) = (Arc::clone(shared), stop_rx.clone());
        match &schedule {
            None => tokio::spawn(closed_worker(shared, rng, deadline, stop)),
            Some(s) => tokio::spawn(open_worker(shared, rng, Arc::clone(s), deadline, stop)),
        }
    });
    let workers: Vec<_> = workers.collect();
    let interrupter = tokio::spawn(async move {
        // Without a signal handler, only the deadline ends the run.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
        let _ = stop_tx.send(true);
        Instant::now()
    });
    let tally = join_ticking(workers, || {
        let elapsed = start.elapsed();
        let done = shared.done.load(Ordering::Relaxed);
        let failed = shared.failed.load(Ordering::Relaxed);
        let per_sec = done as f64 / elapsed.as_secs_f64().max(1e-3);
        bar.bar
            .set_position(u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX));
        bar.bar.set_message(format!(
            "{}/{} s  {done} ops  {per_sec:.0} ops/s  {failed} errors",
            elapsed.as_secs(),
            plan.duration.as_secs()
        ));
    })
    .await?;
    let elapsed = start.elapsed();
    let interrupted_at = if interrupter.is_finished() {
        Some(interrupter.await.context("the Ctrl-C watcher failed")?)
    } else {
        interrupter.abort();
        None
    };
    let window = interrupted_at.map_or(plan.duration, |at| {
        at.saturating_duration_since(start).min(plan.duration)
    });
    let measured = Measured {
        elapsed,
        window,
        interrupted: interrupted_at.is_some(),
    };
    Ok((tally, measured))
}

/// Closed loop: send, wait for the answer, repeat until the end.
async fn closed_worker(
    shared: Arc<Shared>,
    mut rng: StdRng,
    deadline: Instant,
    stop: watch::Receiver<bool>,
) -> Tally {
    let mut tally = Tally::default();
    while !*stop.borrow() && Instant::now() < deadline {
        let (op, key) = shared.workload.next(&mut rng);
        let entry = shared.entry(&mut rng);
        shared
            .request(&mut tally, op, key, entry, Instant::now())
            .await;
    }
    tally
}

/// Open loop: take the next due slot, wait for it, send; latency counts
/// from the due time, so time spent waiting for a free worker is included.
async fn open_worker(
    shared: Arc<Shared>,
    mut rng: StdRng,
    schedule: Arc<Schedule>,
    deadline: Instant,
    mut stop: watch::Receiver<bool>,
) -> Tally {
    let mut tally = Tally::default();
    while let Some(due) = schedule.take() {
        tokio::select! {
            () = tokio::time::sleep_until(due.into()) => {}
            _ = stop.wait_for(|stopped| *stopped) => break,
        }
        let now = Instant::now();
        // The run ends on time rather than work off a backlog: a slot
        // reached only after the end, and late, is missed. (A free worker
        // can wake a little after the end for its last slot: timers
        // round up to the millisecond.)
        if *stop.borrow() || (now >= deadline && now - due > LATE) {
            break;
        }
        tally.record_lag(now - due);
        let (op, key) = shared.workload.next(&mut rng);
        let entry = shared.entry(&mut rng);
        shared.request(&mut tally, op, key, entry, due).await;
    }
    tally
}

/// Waits for the workers and merges their tallies, calling `tick` every
/// [`TICK`] meanwhile (to redraw the progress bar).
async fn join_ticking(workers: Vec<JoinHandle<Tally>>, mut tick: impl FnMut()) -> Result<Tally> {
    let all = join_all(workers);
    tokio::pin!(all);
    let mut interval = tokio::time::interval(TICK);
    let results = loop {
        tokio::select! {
            results = &mut all => break results,
            _ = interval.tick() => tick(),
        }
    };
    tick();
    let mut tally = Tally::default();
    for result in results {
        tally.merge(&result.map_err(|e| anyhow!("a bench worker failed: {e}"))?);
    }
    Ok(tally)
}

/// The progress bar on stderr, hidden when stdout is not a terminal or
/// JSON output was asked for (like the other commands' spinner).
struct Bar {
    bar: ProgressBar,
}

impl Bar {
    fn new(output: OutputFormat) -> Self {
        use std::io::IsTerminal;
        let visible = output == OutputFormat::Table && std::io::stdout().is_terminal();
        let bar = if visible {
            ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
        } else {
            ProgressBar::hidden()
        };
        Self { bar }
    }

    /// Starts a phase of `len` units drawn with `template`.
    fn phase(&self, template: &str, len: u64) {
        let style = ProgressStyle::with_template(template)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        self.bar.set_style(style);
        self.bar.set_length(len);
        self.bar.set_position(0);
        self.bar.set_message("");
    }
}

impl Drop for Bar {
    /// Clears the bar on every way out, errors included.
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}
