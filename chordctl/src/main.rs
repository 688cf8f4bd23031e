//! `chordctl`: start, drive and break a Chord ring of `chord-node`
//! containers (or local processes).
//!
//! Layout:
//! - [`cli`]: clap definitions, validated into a [`cli::Plan`] before anything runs
//! - [`commands`]: the commands, written once against [`runtime::Runtime`]
//! - [`runtime`]: Docker containers (bollard) or local processes
//! - [`image`]: the node image, built from an in-memory tar context
//! - [`client`]: HTTP to nodes through their 127.0.0.1 endpoints
//! - [`check`]: ring and data-placement verification (pure)
//! - [`bench`](mod@bench): the `bench` command: workload, measurement, report
//! - [`chaos`]: the `chaos` command: workload under faults, history checker
//! - [`output`]: tables, JSON, progress
//! - [`pathview`]: a traced request's path as one line of node names (`--trace`)
//! - [`poll`]: the wait loop (look, sleep, look again until a deadline)
//! - [`ringview`]: the picture of the ring (`ring --svg`), pure SVG text
//! - [`ui`]: the `ui` command: a live view of the ring served to a browser
//! - [`duration`]: human durations (`10s`, `2m`) for the time flags
//! - [`exit`]: the documented exit codes
//!
//! `main` only parses, runs, and prints the error chain once.

mod bench;
mod chaos;
mod check;
mod cli;
mod client;
mod commands;
mod duration;
mod exit;
mod image;
mod output;
mod pathview;
mod poll;
mod ringview;
mod runtime;
mod ui;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let plan = match cli::Cli::parse().into_plan() {
        Ok(plan) => plan,
        Err(err) => return report(&err),
    };
    // Two workers are plenty: chordctl mostly waits on the network, and the
    // machines it runs on are often small.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => return report(&anyhow::Error::new(err).context("starting the async runtime")),
    };
    match runtime.block_on(commands::run(plan)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => report(&err),
    }
}

/// Prints the error chain on one line (`a: b: c`) and picks the exit code.
fn report(err: &anyhow::Error) -> ExitCode {
    eprintln!("chordctl: error: {err:#}");
    ExitCode::from(u8::try_from(exit::code_of(err)).unwrap_or(1))
}
