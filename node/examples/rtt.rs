//! Measures one client call's round trip on loopback, as the node's internal
//! calls make it (shared reqwest client, keep-alive), against a node's
//! `/healthz`. `cargo run --release --example rtt -- 127.0.0.1:7000 [N]`

use std::time::Instant;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7000".into());
    let n: usize = std::env::args()
        .nth(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(5000);
    let client = reqwest::Client::builder()
        .no_proxy()
        .tcp_nodelay(true)
        .build()
        .unwrap();
    let url = format!("http://{addr}/healthz");
    let mut lat = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let r = client.get(&url).send().await.unwrap();
        let _ = r.bytes().await.unwrap();
        lat.push(t.elapsed().as_micros() as u64);
    }
    lat.sort();
    println!(
        "reqwest GET /healthz: p50 {} us, p90 {} us over {n} calls",
        lat[n / 2],
        lat[n * 9 / 10]
    );
}
