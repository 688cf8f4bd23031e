//! Writes keys `bench-0 … bench-(N−1)` exactly once each, with values that are
//! JSON strings of a given size, through one node, with bounded concurrency.
//! Used by `bench/bench.py` to preload a node (e.g. 10^6 keys for the memory row).
//!
//! `cargo run --release --example load -- 127.0.0.1:7000 KEYS VALUE_SIZE [CONCURRENCY]`

use futures_util::stream::{self, StreamExt};
use std::time::Instant;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!("usage: load HOST:PORT KEYS VALUE_SIZE [CONCURRENCY]");
        std::process::exit(2);
    }
    let addr = args[1].clone();
    let keys: usize = args[2].parse().expect("KEYS is a number");
    let size: usize = args[3].parse().expect("VALUE_SIZE is a number");
    let conc: usize = args
        .get(4)
        .map_or(32, |c| c.parse().expect("CONCURRENCY is a number"));
    let body = format!("\"{}\"", "x".repeat(size.saturating_sub(2)));
    let client = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(conc)
        .build()
        .expect("client");
    let start = Instant::now();
    let failed: usize = stream::iter(0..keys)
        .map(|i| {
            let req = client
                .put(format!("http://{addr}/kv/bench-{i}"))
                .header("content-type", "application/json")
                .body(body.clone());
            async move {
                match req.send().await {
                    Ok(r) if r.status().is_success() => 0,
                    _ => 1,
                }
            }
        })
        .buffer_unordered(conc)
        .fold(0, |acc, f| async move { acc + f })
        .await;
    let secs = start.elapsed().as_secs_f64();
    println!(
        "loaded {} keys ({failed} failed) in {secs:.1} s ({:.0}/s)",
        keys - failed,
        keys as f64 / secs
    );
    if failed > 0 {
        std::process::exit(1);
    }
}
