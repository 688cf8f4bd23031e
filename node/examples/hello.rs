//! The physical limit of one HTTP request on our stack: a warp hello-world,
//! built with the same profile as `chord-node`, for the benchmark's first row.
//! It answers every path, so the benchmark can send it the very requests it
//! sends the node.
//!
//! `cargo run --release --example hello -- 127.0.0.1:7900 [THREADS]`
//! (THREADS as the node's `--threads`: default one worker per CPU; 1 is a
//! current-thread runtime, as in the node.)

use warp::Filter;

fn main() {
    let addr: std::net::SocketAddr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7900".into())
        .parse()
        .expect("usage: hello HOST:PORT [THREADS]");
    let threads = std::env::args().nth(2).map(|t| t.parse().expect("THREADS"));
    let rt = chord_node::config::runtime(threads).expect("runtime");
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(addr).await.expect("bind");
        println!("hello listening on {}", listener.local_addr().unwrap());
        let route = warp::any().map(|| r#"{"hello":"world"}"#);
        warp::serve(route).incoming(listener).run().await;
    });
}
