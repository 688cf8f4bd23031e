//! The flags of `chordctl bench`, and [`BenchArgs::into_plan`], which checks
//! them and settles the defaults that depend on other flags.

use std::time::Duration;

use clap::{Args, ValueEnum};

use crate::duration::DurationArg;
use crate::exit;

/// Longest run: an hour. Every loop of the benchmark ends by itself, and
/// this bounds how long that can take.
pub const MAX_DURATION_SECS: u64 = 3600;
/// Most keys: the preload writes each one.
pub const MAX_KEYS: u64 = 1_000_000;
/// Largest value: the node's default request-body limit (`--max-body`).
pub const MAX_VALUE_SIZE: usize = 1 << 20;
/// Most requests in flight at once.
pub const MAX_CONCURRENCY: u32 = 1024;
/// Highest open-loop rate, requests per second.
pub const MAX_RATE: f64 = 1_000_000.0;
/// Largest Zipf exponent; beyond it nearly every request hits one key.
pub const MAX_ZIPF_S: f64 = 10.0;
/// Longest per-request timeout, in milliseconds.
pub const MAX_REQUEST_TIMEOUT_MS: u64 = 60_000;

/// Share of gets in a mixed workload unless `--get-ratio` says otherwise.
const DEFAULT_GET_RATIO: f64 = 0.9;
/// Zipf exponent unless `--zipf-s` says otherwise.
const DEFAULT_ZIPF_S: f64 = 1.0;

/// The long help of `chordctl bench` (`--help`): the workload, the two
/// loop modes and what the report means.
pub const LONG_ABOUT: &str = "\
Measure throughput, latency and routing hops under a generated workload.

Runs against the running nodes of the cluster (any runtime), or against
node addresses given with --target (then no cluster, runtime or Docker is
needed: --runtime and --cluster are ignored). Every request goes to an
entry node picked at random among the nodes that answer /readyz at the
start.

Workload:
  Keys are bench-0 ... bench-{N-1} (--keys N), picked uniformly or with a
  Zipf distribution (--dist zipf: key k has weight 1/(k+1)^s, bench-0 is the
  hottest). Values are JSON strings of exactly --value-size bytes, quotes
  included. --ops mixed sends gets with probability --get-ratio (default
  0.9) and puts otherwise. --preload (default for get and mixed) writes
  every key once before measuring, so that gets find their key; the keys
  stay in the ring afterwards.

Closed and open loop:
  Without --rate, --concurrency workers each send a request and wait for
  its answer before sending the next (closed loop). With --rate R, request i
  is due at start + i/R and at most --concurrency are in flight (open loop);
  latency counts from the time a request was due, so waiting for a free
  worker is included (coordinated-omission correction). The report says how
  many sends were late (more than 10 ms after they were due) and how many
  due requests could not be sent at all (missed): either means the ring, or
  this machine, could not keep up with the rate.

Results:
  Throughput (successful requests per second), latency mean and
  p50/p90/p99/p99.9 (all, gets, puts), the distribution and mean of hops
  (X-Chord-Hops), and errors by kind: http_<status>, timeout, connect,
  transport. A 404 on a get is 'not found', not an error, unless the keys
  were preloaded. Latency covers every request that got an HTTP answer;
  timeouts and connection errors are only counted. -o json prints the same
  as one JSON document. Ctrl-C stops early and still prints the report.
  The exit code is 1 if no request succeeded.

Examples:
  chordctl bench --duration 30
  chordctl bench --ops get --dist zipf --zipf-s 1.1 --concurrency 64
  chordctl bench --rate 2000 --duration 1m -o json
  chordctl bench --target 127.0.0.1:7000 --ops put --value-size 1024";

/// Which operations a run sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OpsArg {
    /// Only gets.
    Get,
    /// Only puts.
    Put,
    /// Gets and puts, mixed by --get-ratio.
    Mixed,
}

/// How keys are picked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DistArg {
    /// Every key equally often.
    Uniform,
    /// Key k with weight 1/(k+1)^s (see --zipf-s).
    Zipf,
}

/// Arguments of `bench`, close to what the user types.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Operations to send.
    #[arg(long, value_enum, default_value_t = OpsArg::Mixed)]
    pub ops: OpsArg,
    /// Share of gets with --ops mixed, from 0 to 1 [default: 0.9].
    #[arg(long, value_name = "P")]
    pub get_ratio: Option<f64>,
    /// Number of distinct keys, bench-0 to bench-{N-1}.
    #[arg(long, default_value_t = 1000, value_name = "N")]
    pub keys: u64,
    /// Size of each value in bytes: a JSON string, quotes included.
    #[arg(long, default_value_t = 100, value_name = "BYTES")]
    pub value_size: usize,
    /// How keys are picked.
    #[arg(long, value_enum, default_value_t = DistArg::Uniform)]
    pub dist: DistArg,
    /// Zipf exponent s with --dist zipf, above 0 [default: 1.0].
    #[arg(long, value_name = "S")]
    pub zipf_s: Option<f64>,
    /// Requests in flight at once (number of workers).
    #[arg(long, default_value_t = 16, value_name = "N")]
    pub concurrency: u32,
    /// How long to measure, at most 1h (e.g. 30s, 2m, 1m30s; a bare number
    /// is seconds). The preload comes before.
    #[arg(long, default_value = "10s", value_name = "DURATION", value_parser = DurationArg::secs(1, MAX_DURATION_SECS))]
    pub duration: Duration,
    /// Open loop: requests per second on a fixed schedule (default: closed loop).
    #[arg(long, value_name = "PER_SEC")]
    pub rate: Option<f64>,
    /// Write every key once before measuring (default with --ops get and mixed).
    #[arg(long, overrides_with = "no_preload")]
    pub preload: bool,
    /// Do not write the keys first (default with --ops put).
    #[arg(long, overrides_with = "preload")]
    pub no_preload: bool,
    /// Per-request timeout, at most 1m (e.g. 2s, 250ms; a bare number is
    /// milliseconds).
    #[arg(long, default_value = "5s", value_name = "DURATION", value_parser = DurationArg::millis(1, MAX_REQUEST_TIMEOUT_MS))]
    pub request_timeout: Duration,
    /// Seed of the key, operation and entry-node choices [default: random, shown in the report].
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Bench this node address instead of a managed cluster (repeatable).
    #[arg(long = "target", value_name = "HOST:PORT")]
    pub targets: Vec<String>,
}

/// How keys are distributed in a validated plan.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Dist {
    /// Every key equally often.
    Uniform,
    /// Zipf with this exponent (above 0).
    Zipf(f64),
}

/// A validated `bench` run.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchPlan {
    /// Which operations.
    pub ops: OpsArg,
    /// Probability that a request is a get: 1 for `get`, 0 for `put`.
    pub get_ratio: f64,
    /// Number of distinct keys, at least 1.
    pub keys: u64,
    /// Bytes of each value's JSON text, at least 2.
    pub value_size: usize,
    /// How keys are picked.
    pub dist: Dist,
    /// Requests in flight at once, at least 1.
    pub concurrency: u32,
    /// How long to measure.
    pub duration: Duration,
    /// Open-loop rate in requests per second; `None` is closed loop.
    pub rate: Option<f64>,
    /// Whether every key is written before measuring.
    pub preload: bool,
    /// Timeout of one request.
    pub request_timeout: Duration,
    /// Seed of every random choice of the run.
    pub seed: u64,
    /// Explicit node addresses; empty means the managed cluster's nodes.
    pub targets: Vec<String>,
}

impl BenchArgs {
    /// Checks the flags and settles the defaults. Errors carry exit code 2.
    pub fn into_plan(self) -> anyhow::Result<BenchPlan> {
        let get_ratio = match (self.ops, self.get_ratio) {
            (OpsArg::Mixed, None) => DEFAULT_GET_RATIO,
            (OpsArg::Mixed, Some(p)) if (0.0..=1.0).contains(&p) => p,
            (OpsArg::Mixed, Some(p)) => return Err(usage(format!("--get-ratio {p}: use 0 to 1"))),
            (_, Some(_)) => return Err(usage("--get-ratio only applies to --ops mixed")),
            (OpsArg::Get, None) => 1.0,
            (OpsArg::Put, None) => 0.0,
        };
        let dist = match (self.dist, self.zipf_s) {
            (DistArg::Uniform, None) => Dist::Uniform,
            (DistArg::Uniform, Some(_)) => {
                return Err(usage("--zipf-s only applies to --dist zipf"))
            }
            (DistArg::Zipf, s) => {
                let s = s.unwrap_or(DEFAULT_ZIPF_S);
                if !(s > 0.0 && s <= MAX_ZIPF_S) {
                    return Err(usage(format!(
                        "--zipf-s {s}: use a number above 0, at most {MAX_ZIPF_S}"
                    )));
                }
                Dist::Zipf(s)
            }
        };
        check_range("--keys", self.keys, 1, MAX_KEYS)?;
        check_range(
            "--value-size",
            self.value_size as u64,
            2,
            MAX_VALUE_SIZE as u64,
        )?;
        check_range(
            "--concurrency",
            self.concurrency.into(),
            1,
            MAX_CONCURRENCY.into(),
        )?;
        if let Some(rate) = self.rate {
            if !(rate > 0.0 && rate <= MAX_RATE) {
                return Err(usage(format!(
                    "--rate {rate}: use a number of requests per second above 0, at most {MAX_RATE}"
                )));
            }
        }
        let mut targets: Vec<String> = Vec::new();
        for target in self.targets {
            validate_target(&target)?;
            if !targets.contains(&target) {
                targets.push(target);
            }
        }
        let preload = if self.preload || self.no_preload {
            self.preload
        } else {
            self.ops != OpsArg::Put
        };
        Ok(BenchPlan {
            ops: self.ops,
            get_ratio,
            keys: self.keys,
            value_size: self.value_size,
            dist,
            concurrency: self.concurrency,
            duration: self.duration,
            rate: self.rate,
            preload,
            request_timeout: self.request_timeout,
            seed: self.seed.unwrap_or_else(rand::random),
            targets,
        })
    }
}

fn usage(message: impl Into<String>) -> anyhow::Error {
    exit::usage(format!("bench: {}", message.into()))
}

fn check_range(flag: &str, value: u64, min: u64, max: u64) -> anyhow::Result<()> {
    if value < min || value > max {
        return Err(usage(format!("{flag} {value}: use {min} to {max}")));
    }
    Ok(())
}

/// A target is `host:port`, such as `127.0.0.1:7000` or `[::1]:7000`.
fn validate_target(target: &str) -> anyhow::Result<()> {
    let valid = match target.rsplit_once(':') {
        Some((host, port)) => {
            !host.is_empty()
                && !host.contains(['/', '@', ' '])
                && port.parse::<u16>().is_ok_and(|p| p > 0)
        }
        None => false,
    };
    if !valid {
        return Err(usage(format!(
            "--target {target:?}: use host:port, such as 127.0.0.1:7000 (no http://)"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit::code_of;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrap {
        #[command(flatten)]
        args: BenchArgs,
    }

    fn plan(args: &[&str]) -> anyhow::Result<BenchPlan> {
        let argv = std::iter::once("bench").chain(args.iter().copied());
        Wrap::try_parse_from(argv)
            .expect("clap accepts")
            .args
            .into_plan()
    }

    #[test]
    fn defaults_depend_on_the_operations() {
        let mixed = plan(&["--seed", "7"]).unwrap();
        assert_eq!(mixed.ops, OpsArg::Mixed);
        assert_eq!(mixed.get_ratio, 0.9);
        assert!(mixed.preload);
        assert_eq!(mixed.seed, 7);
        assert_eq!(mixed.dist, Dist::Uniform);
        let put = plan(&["--ops", "put"]).unwrap();
        assert!(!put.preload);
        assert_eq!(put.get_ratio, 0.0);
        assert_eq!(plan(&["--ops", "get"]).unwrap().get_ratio, 1.0);
    }

    #[test]
    fn preload_flags_override_each_other() {
        assert!(!plan(&["--no-preload"]).unwrap().preload);
        assert!(plan(&["--ops", "put", "--preload"]).unwrap().preload);
        assert!(plan(&["--no-preload", "--preload"]).unwrap().preload);
        assert!(!plan(&["--preload", "--no-preload"]).unwrap().preload);
    }

    #[test]
    fn zipf_exponent() {
        assert_eq!(plan(&["--dist", "zipf"]).unwrap().dist, Dist::Zipf(1.0));
        let p = plan(&["--dist", "zipf", "--zipf-s", "1.2"]).unwrap();
        assert_eq!(p.dist, Dist::Zipf(1.2));
        for bad in [&["--zipf-s", "1"][..], &["--dist", "zipf", "--zipf-s", "0"]] {
            assert_eq!(code_of(&plan(bad).unwrap_err()), 2, "{bad:?}");
        }
    }

    #[test]
    fn out_of_range_flags_are_usage_errors() {
        let cases: &[&[&str]] = &[
            &["--get-ratio", "1.5"],
            &["--ops", "get", "--get-ratio", "0.5"],
            &["--keys", "0"],
            &["--value-size", "1"],
            &["--value-size", "2000000"],
            &["--concurrency", "0"],
            &["--rate", "0"],
            &["--rate=-5"],
            &["--target", "localhost"],
            &["--target", "http://127.0.0.1:7000"],
            &["--target", "127.0.0.1:0"],
        ];
        for args in cases {
            let err = plan(args).unwrap_err();
            assert_eq!(code_of(&err), 2, "{args:?}: {err:#}");
        }
    }

    #[test]
    fn durations_are_human_or_bare_in_the_old_unit() {
        let p = plan(&["--duration", "1m30s", "--request-timeout", "250ms"]).unwrap();
        assert_eq!(p.duration, Duration::from_secs(90));
        assert_eq!(p.request_timeout, Duration::from_millis(250));
        let p = plan(&["--duration", "30", "--request-timeout", "2000"]).unwrap();
        assert_eq!(p.duration, Duration::from_secs(30));
        assert_eq!(p.request_timeout, Duration::from_secs(2));
        let p = plan(&[]).unwrap();
        assert_eq!(
            (p.duration, p.request_timeout),
            (Duration::from_secs(10), Duration::from_secs(5))
        );
        // Out of range or not a duration: clap's usage error (exit code 2).
        for args in [
            &["--duration", "0"][..],
            &["--duration", "3601"],
            &["--duration", "61m"],
            &["--duration", "1500ms"],
            &["--duration", "ten"],
            &["--request-timeout", "0"],
            &["--request-timeout", "2m"],
        ] {
            let argv = std::iter::once("bench").chain(args.iter().copied());
            let Err(err) = Wrap::try_parse_from(argv) else {
                panic!("{args:?} accepted")
            };
            assert_eq!(err.exit_code(), 2, "{args:?}: {err}");
        }
    }

    #[test]
    fn targets_are_kept_once_in_order() {
        let p = plan(&[
            "--target",
            "127.0.0.1:7001",
            "--target",
            "[::1]:7000",
            "--target",
            "127.0.0.1:7001",
        ])
        .unwrap();
        assert_eq!(p.targets, ["127.0.0.1:7001", "[::1]:7000"]);
    }
}
