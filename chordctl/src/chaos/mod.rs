//! `chaos`: a Jepsen-style run built into the tool. Concurrent clients write
//! unique values to a bounded key set and read and delete them through random
//! live entry nodes, while a seeded nemesis kills, restarts, pauses,
//! partitions, adds and removes nodes. Afterwards everything is healed, the
//! ring and the data are waited for, every key is read once more, and the
//! recorded history is checked (see [`checker`]).
//!
//! - [`history`]: what a run records (operations, faults, final reads)
//! - [`checker`]: the verdict over a history (pure)
//! - [`timeline`]: the SVG picture of a run
//! - [`safety`]: which nodes the nemesis may take down (pure)
//! - `workload`, `nemesis`, `run`: the clients, the faults, the orchestration

pub mod checker;
pub mod history;
mod nemesis;
mod run;
pub mod safety;
pub mod timeline;
mod workload;

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};

pub use run::run;

use crate::duration::{show, DurationArg};
use crate::exit;

/// The fault kinds the nemesis draws from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Nemesis {
    /// SIGKILL a node; restart it at the same address when the fault ends.
    Kill,
    /// SIGKILL a node and start it again at once (it comes back empty).
    Restart,
    /// Freeze a node (Docker pause, SIGSTOP) and resume it when the fault ends.
    Pause,
    /// Cut the network into 2 or 3 groups and heal it when the fault ends (Docker only).
    Partition,
    /// Add a node.
    Join,
    /// Remove a node gracefully (it hands its data over).
    Leave,
}

/// Arguments of `chaos`.
#[derive(Debug, Args)]
pub struct ChaosArgs {
    /// How long the workload runs under faults (e.g. 60s, 3m, 1m30s; a bare
    /// number is seconds).
    #[arg(long, default_value = "1m", value_name = "DURATION", value_parser = DurationArg::secs(1, 86_400))]
    pub duration: Duration,
    /// Concurrent clients.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub clients: u32,
    /// Seed of the fault schedule and the clients' choices.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Time between faults; each lasts about this long (e.g. 8s, 1m; a bare
    /// number is seconds).
    #[arg(long, default_value = "8s", value_name = "DURATION", value_parser = DurationArg::secs(1, 3_600))]
    pub interval: Duration,
    /// Fault kinds to draw from.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "kill,restart,pause,join,leave"
    )]
    pub nemesis: Vec<Nemesis>,
    /// Size of the key set the clients work on.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub keys: u32,
    /// Allow faults that take down R or more holders of one range at once
    /// (then a loss is possible, not necessarily a bug).
    #[arg(long = "unsafe")]
    pub allow_unsafe: bool,
    /// Write history.jsonl, summary.json and timeline.svg into this folder.
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,
}

/// A validated chaos run.
#[derive(Debug, Clone)]
pub struct ChaosPlan {
    /// Workload time under faults.
    pub duration: Duration,
    /// Concurrent clients.
    pub clients: u32,
    /// Seed of every random choice.
    pub seed: u64,
    /// Time between faults.
    pub interval: Duration,
    /// Fault kinds, deduplicated; empty means a run without faults.
    pub nemesis: Vec<Nemesis>,
    /// Key-set size.
    pub keys: u32,
    /// See [`ChaosArgs::allow_unsafe`].
    pub allow_unsafe: bool,
    /// Where to write the report files.
    pub report: Option<PathBuf>,
}

impl ChaosArgs {
    /// Checks the arguments (exit code 2 on bad ones).
    pub fn into_plan(self) -> anyhow::Result<ChaosPlan> {
        let mut nemesis = Vec::new();
        for n in self.nemesis {
            if !nemesis.contains(&n) {
                nemesis.push(n);
            }
        }
        if self.interval > self.duration {
            return Err(exit::usage(format!(
                "chaos: --interval {} is longer than --duration {}: no fault would happen",
                show(self.interval),
                show(self.duration)
            )));
        }
        Ok(ChaosPlan {
            duration: self.duration,
            clients: self.clients,
            seed: self.seed,
            interval: self.interval,
            nemesis,
            keys: self.keys,
            allow_unsafe: self.allow_unsafe,
            report: self.report,
        })
    }
}
