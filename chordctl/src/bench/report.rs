//! The final [`Report`] of a run, built from the merged [`Tally`], and
//! printed as JSON or as tables. Pure.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use super::args::{BenchPlan, Dist};
use super::histogram::Histogram;
use super::tally::Tally;
use super::workload::due_slots;
use crate::output::Table;

/// The settings of a run, as the report repeats them.
#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    /// `get`, `put` or `mixed`.
    pub ops: &'static str,
    /// Probability that a request is a get.
    pub get_ratio: f64,
    /// Number of keys.
    pub keys: u64,
    /// Bytes per value.
    pub value_size: usize,
    /// `uniform` or `zipf`.
    pub dist: &'static str,
    /// Zipf exponent, with `zipf`.
    pub zipf_s: Option<f64>,
    /// Requests in flight at most.
    pub concurrency: u32,
    /// Seconds measured (as asked).
    pub duration_s: u64,
    /// Open-loop rate, requests per second; `null` for closed loop.
    pub rate: Option<f64>,
    /// Whether the keys were written first.
    pub preload: bool,
    /// Timeout of one request.
    pub request_timeout_ms: u64,
    /// Seed of the run's random choices.
    pub seed: u64,
}

impl Settings {
    /// The settings of a plan.
    pub fn of(plan: &BenchPlan) -> Self {
        let (dist, zipf_s) = match plan.dist {
            Dist::Uniform => ("uniform", None),
            Dist::Zipf(s) => ("zipf", Some(s)),
        };
        Self {
            ops: match plan.ops {
                super::args::OpsArg::Get => "get",
                super::args::OpsArg::Put => "put",
                super::args::OpsArg::Mixed => "mixed",
            },
            get_ratio: plan.get_ratio,
            keys: plan.keys,
            value_size: plan.value_size,
            dist,
            zipf_s,
            concurrency: plan.concurrency,
            duration_s: plan.duration.as_secs(),
            rate: plan.rate,
            preload: plan.preload,
            request_timeout_ms: u64::try_from(plan.request_timeout.as_millis()).unwrap_or(u64::MAX),
            seed: plan.seed,
        }
    }
}

/// Latency summary of a set of requests, in microseconds.
#[derive(Debug, Clone, Serialize)]
pub struct Latency {
    /// Requests timed.
    pub count: u64,
    /// Exact mean.
    pub mean: f64,
    /// Exact minimum.
    pub min: u64,
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p99_9: u64,
    /// Exact maximum.
    pub max: u64,
}

impl Latency {
    /// The summary of a histogram; `None` when it is empty.
    pub fn of(h: &Histogram) -> Option<Self> {
        Some(Self {
            count: h.count(),
            mean: (h.mean()? * 10.0).round() / 10.0,
            min: h.min()?,
            p50: h.percentile(50.0)?,
            p90: h.percentile(90.0)?,
            p99: h.percentile(99.0)?,
            p99_9: h.percentile(99.9)?,
            max: h.max()?,
        })
    }
}

/// Latency of all answered requests and by operation (`null` when none).
#[derive(Debug, Clone, Serialize)]
pub struct Latencies {
    /// Gets and puts together.
    pub all: Option<Latency>,
    /// Gets.
    pub get: Option<Latency>,
    /// Puts.
    pub put: Option<Latency>,
}

/// How many answers took this many hops.
#[derive(Debug, Clone, Serialize)]
pub struct HopCount {
    /// `X-Chord-Hops`.
    pub hops: u32,
    /// Answers with that count.
    pub count: u64,
}

/// Routing hops of the answered requests.
#[derive(Debug, Clone, Serialize)]
pub struct Hops {
    /// Mean over the answers with a hop count.
    pub mean: Option<f64>,
    /// Answers by hop count, ascending, without zero counts.
    pub histogram: Vec<HopCount>,
    /// Requests without a hop count (no answer, or no header); with the
    /// histogram this adds up to `ops`.
    pub unknown: u64,
}

/// The preload phase.
#[derive(Debug, Clone, Serialize)]
pub struct Preload {
    /// Keys written.
    pub keys: u64,
    /// How long it took.
    pub elapsed_s: f64,
}

/// How well an open-loop run kept to its schedule.
#[derive(Debug, Clone, Serialize)]
pub struct OpenLoop {
    /// Requests per second asked for.
    pub rate: f64,
    /// Requests due before the end.
    pub scheduled: u64,
    /// Requests sent.
    pub sent: u64,
    /// Requests due but never sent: all workers were busy until the end.
    pub missed: u64,
    /// Requests sent more than 10 ms after they were due.
    pub late: u64,
    /// Largest delay between due time and send.
    pub max_lag_ms: f64,
    /// Whether any send was late or missed: the offered load was not met.
    pub fell_behind: bool,
}

/// How the measurement ended.
#[derive(Debug, Clone, Copy)]
pub struct Measured {
    /// From the start of the measurement to the last answer.
    pub elapsed: Duration,
    /// From the start to when new requests stopped (the duration, or less
    /// when interrupted).
    pub window: Duration,
    /// Whether Ctrl-C ended it.
    pub interrupted: bool,
}

/// The result of a run: `-o json` prints it, [`render_table`] formats it.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// What was asked.
    pub settings: Settings,
    /// The `host:port` of every node requests were sent to.
    pub entry_nodes: Vec<String>,
    /// The preload, if there was one.
    pub preload: Option<Preload>,
    /// Whether Ctrl-C ended the run early.
    pub interrupted: bool,
    /// Seconds from the start of the measurement to the last answer.
    pub elapsed_s: f64,
    /// Requests finished, whatever the outcome.
    pub ops: u64,
    /// Requests done as asked.
    pub ok: u64,
    /// Gets of missing keys (only without preload).
    pub not_found: u64,
    /// Failed requests.
    pub errors: u64,
    /// Successful requests (ok and not found) per second.
    pub throughput: f64,
    /// Latency in microseconds.
    pub latency_us: Latencies,
    /// Routing hops.
    pub hops: Hops,
    /// Failed requests by kind.
    pub errors_by_kind: BTreeMap<String, u64>,
    /// Schedule keeping, for an open-loop run.
    pub open_loop: Option<OpenLoop>,
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

impl Report {
    /// Builds the report of a run.
    pub fn build(
        plan: &BenchPlan,
        entry_nodes: Vec<String>,
        preload: Option<Preload>,
        tally: &Tally,
        measured: Measured,
    ) -> Self {
        let mut all = tally.get.clone();
        all.merge(&tally.put);
        let answered_with_hops: u64 = tally.hops.values().sum();
        let hop_sum: u64 = tally.hops.iter().map(|(h, n)| u64::from(*h) * n).sum();
        let elapsed = measured.elapsed.as_secs_f64();
        let successes = tally.ok + tally.not_found;
        let open_loop = plan.rate.map(|rate| {
            let scheduled = due_slots(rate, measured.window);
            let sent = tally.ops();
            let missed = scheduled.saturating_sub(sent);
            OpenLoop {
                rate,
                scheduled,
                sent,
                missed,
                late: tally.late,
                max_lag_ms: round3(tally.max_lag_us as f64 / 1000.0),
                fell_behind: missed > 0 || tally.late > 0,
            }
        });
        Self {
            settings: Settings::of(plan),
            entry_nodes,
            preload,
            interrupted: measured.interrupted,
            elapsed_s: round3(elapsed),
            ops: tally.ops(),
            ok: tally.ok,
            not_found: tally.not_found,
            errors: tally.error_count(),
            throughput: if elapsed > 0.0 {
                (successes as f64 / elapsed * 10.0).round() / 10.0
            } else {
                0.0
            },
            latency_us: Latencies {
                all: Latency::of(&all),
                get: Latency::of(&tally.get),
                put: Latency::of(&tally.put),
            },
            hops: Hops {
                mean: (answered_with_hops > 0)
                    .then(|| round3(hop_sum as f64 / answered_with_hops as f64)),
                histogram: tally
                    .hops
                    .iter()
                    .map(|(&hops, &count)| HopCount { hops, count })
                    .collect(),
                unknown: tally.hops_unknown,
            },
            errors_by_kind: tally.errors.iter().map(|(k, n)| (k.name(), *n)).collect(),
            open_loop,
        }
    }
}

/// Microseconds as milliseconds with two decimals.
fn ms(us: f64) -> String {
    format!("{:.2}", us / 1000.0)
}

/// The first lines: what was run.
fn describe(r: &Report) -> String {
    let s = &r.settings;
    let ops = match s.ops {
        "mixed" => format!("mixed workload ({:.0} % gets)", s.get_ratio * 100.0),
        other => format!("{other} workload"),
    };
    let dist = match s.zipf_s {
        Some(z) => format!("zipf, s = {z}"),
        None => s.dist.to_string(),
    };
    let preload = if s.preload { ", preloaded" } else { "" };
    let lp = match s.rate {
        Some(rate) => format!(
            "open loop at {rate} req/s, at most {} in flight",
            s.concurrency
        ),
        None => format!("closed loop, {} in flight", s.concurrency),
    };
    let nodes = r.entry_nodes.len();
    format!(
        "{ops}, {} keys ({dist}), {}-byte values{preload}\n{lp}, {} s, {nodes} entry node{}, seed {}\n",
        s.keys,
        s.value_size,
        s.duration_s,
        if nodes == 1 { "" } else { "s" },
        s.seed
    )
}

/// The summary lines: preload, counts, throughput, schedule.
fn summary(r: &Report) -> String {
    let mut out = String::new();
    if let Some(p) = &r.preload {
        out += &format!("preload     {} keys in {:.2} s\n", p.keys, p.elapsed_s);
    }
    if r.interrupted {
        out += "interrupted by Ctrl-C\n";
    }
    out += &format!(
        "ops         {} in {:.2} s: {} ok, {} not found, {} errors\n",
        r.ops, r.elapsed_s, r.ok, r.not_found, r.errors
    );
    out += &format!("throughput  {:.1} ops/s\n", r.throughput);
    if let Some(o) = &r.open_loop {
        out += &format!(
            "schedule    {} due, {} sent, {} missed, {} late (> 10 ms), max send lag {:.2} ms\n",
            o.scheduled, o.sent, o.missed, o.late, o.max_lag_ms
        );
        if o.fell_behind {
            out += "            fell behind the schedule: the offered rate was not met, and the \
                    latencies include the wait for a free worker\n";
        }
    }
    out
}

fn latency_table(r: &Report) -> String {
    let mut t = Table::new(&[
        "LATENCY ms",
        "COUNT",
        "MEAN",
        "P50",
        "P90",
        "P99",
        "P99.9",
        "MAX",
    ]);
    let l = &r.latency_us;
    for (name, lat) in [("all", &l.all), ("get", &l.get), ("put", &l.put)] {
        if let Some(lat) = lat {
            t.row(vec![
                name.to_string(),
                lat.count.to_string(),
                ms(lat.mean),
                ms(lat.p50 as f64),
                ms(lat.p90 as f64),
                ms(lat.p99 as f64),
                ms(lat.p99_9 as f64),
                ms(lat.max as f64),
            ]);
        }
    }
    t.render()
}

fn hops_table(r: &Report) -> String {
    let answered: u64 = r.hops.histogram.iter().map(|h| h.count).sum();
    let mut t = Table::new(&["HOPS", "COUNT", "SHARE"]);
    for h in &r.hops.histogram {
        t.row(vec![
            h.hops.to_string(),
            h.count.to_string(),
            format!("{:.1} %", h.count as f64 * 100.0 / answered as f64),
        ]);
    }
    let mean = r
        .hops
        .mean
        .map_or_else(|| "-".to_string(), |m| format!("{m:.2}"));
    let mut out = t.render();
    out += &format!("mean hops {mean}");
    if r.hops.unknown > 0 {
        out += &format!(" ({} requests without a hop count)", r.hops.unknown);
    }
    out.push('\n');
    out
}

fn errors_table(r: &Report) -> String {
    if r.errors_by_kind.is_empty() {
        return "errors: none\n".to_string();
    }
    let mut t = Table::new(&["ERROR", "COUNT"]);
    for (kind, n) in &r.errors_by_kind {
        t.row(vec![kind.clone(), n.to_string()]);
    }
    t.render()
}

/// The report for people: a description, the counts, and tables of
/// latency (milliseconds), hops and errors, separated by blank lines.
pub fn render_table(r: &Report) -> String {
    let mut parts = vec![describe(r), summary(r)];
    if r.latency_us.all.is_some() {
        parts.push(latency_table(r));
        parts.push(hops_table(r));
    }
    parts.push(errors_table(r));
    parts.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::args::OpsArg;
    use crate::bench::tally::tests::sample_tally;

    fn plan(rate: Option<f64>, preload: bool) -> BenchPlan {
        BenchPlan {
            ops: OpsArg::Mixed,
            get_ratio: 0.9,
            keys: 200,
            value_size: 100,
            dist: Dist::Zipf(1.0),
            concurrency: 8,
            duration: Duration::from_secs(3),
            rate,
            preload,
            request_timeout: Duration::from_secs(5),
            seed: 42,
            targets: Vec::new(),
        }
    }

    fn measured(secs: u64) -> Measured {
        Measured {
            elapsed: Duration::from_secs(secs),
            window: Duration::from_secs(secs),
            interrupted: false,
        }
    }

    #[test]
    fn report_json_has_the_documented_shape() {
        let tally = sample_tally(false);
        let preload = Some(Preload {
            keys: 200,
            elapsed_s: 0.5,
        });
        let report = Report::build(
            &plan(None, false),
            vec!["127.0.0.1:7000".into()],
            preload,
            &tally,
            measured(2),
        );
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["ops"], 14);
        assert_eq!(json["ok"], 11);
        assert_eq!(json["not_found"], 1);
        assert_eq!(json["errors"], 2);
        assert_eq!(json["throughput"], 6.0);
        assert_eq!(json["errors_by_kind"]["http_503"], 1);
        assert_eq!(json["errors_by_kind"]["timeout"], 1);
        let all = &json["latency_us"]["all"];
        assert_eq!(all["count"], 13);
        assert_eq!(all["min"], 1000);
        assert_eq!(all["max"], 30000);
        for field in ["mean", "p50", "p90", "p99", "p99_9"] {
            assert!(all[field].is_number(), "{field}");
        }
        assert!(all["p50"].as_u64() <= all["p99"].as_u64());
        assert_eq!(json["latency_us"]["put"]["count"], 2);
        let hist = json["hops"]["histogram"].as_array().unwrap();
        assert_eq!(hist[0]["hops"], 0);
        let counted: u64 = hist.iter().map(|h| h["count"].as_u64().unwrap()).sum();
        assert_eq!(counted + json["hops"]["unknown"].as_u64().unwrap(), 14);
        assert!(json["hops"]["mean"].as_f64().unwrap() > 0.0);
        assert_eq!(json["settings"]["dist"], "zipf");
        assert_eq!(json["settings"]["zipf_s"], 1.0);
        assert_eq!(json["settings"]["seed"], 42);
        assert!(json["settings"]["rate"].is_null());
        assert!(json["open_loop"].is_null());
        assert_eq!(json["preload"]["keys"], 200);
        assert_eq!(json["entry_nodes"][0], "127.0.0.1:7000");
    }

    #[test]
    fn open_loop_reports_falling_behind() {
        let mut tally = sample_tally(true);
        tally.record_lag(Duration::from_millis(2));
        let r = Report::build(&plan(Some(5.0), true), vec![], None, &tally, measured(2));
        let o = r.open_loop.as_ref().unwrap();
        assert_eq!((o.scheduled, o.sent, o.missed, o.late), (10, 14, 0, 0));
        assert_eq!(o.max_lag_ms, 2.0);
        assert!(!o.fell_behind);
        tally.record_lag(Duration::from_millis(15));
        let r = Report::build(&plan(Some(100.0), true), vec![], None, &tally, measured(2));
        let o = r.open_loop.as_ref().unwrap();
        assert_eq!((o.scheduled, o.missed, o.late), (200, 186, 1));
        assert!(o.fell_behind);
        assert!(render_table(&r).contains("fell behind"));
    }

    #[test]
    fn table_shows_every_section() {
        let r = Report::build(
            &plan(None, false),
            vec!["a:1".into(), "b:2".into()],
            None,
            &sample_tally(false),
            measured(2),
        );
        let text = render_table(&r);
        for part in [
            "mixed workload (90 % gets), 200 keys (zipf, s = 1), 100-byte values\n",
            "closed loop, 8 in flight, 3 s, 2 entry nodes, seed 42\n",
            "ops         14 in 2.00 s: 11 ok, 1 not found, 2 errors\n",
            "throughput  6.0 ops/s\n",
            "LATENCY ms  COUNT  MEAN",
            "\nall         13     ",
            "HOPS  COUNT  SHARE\n0     ",
            "mean hops 0.92 (1 requests without a hop count)\n",
            "ERROR     COUNT\nhttp_503  1\ntimeout   1\n",
        ] {
            assert!(text.contains(part), "{part:?} missing from:\n{text}");
        }
        let empty = Report::build(
            &plan(None, true),
            vec![],
            None,
            &Tally::default(),
            measured(1),
        );
        let text = render_table(&empty);
        assert!(
            text.contains("errors: none") && !text.contains("LATENCY"),
            "{text}"
        );
    }
}
