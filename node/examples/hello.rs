//! The physical limit of one HTTP request on our stack: a warp hello-world,
//! built with the same profile as `chord-node`, for the benchmark's first row.
//!
//! `cargo run --release --example hello -- 127.0.0.1:7900`

use warp::Filter;

#[tokio::main]
async fn main() {
    let addr: std::net::SocketAddr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7900".into())
        .parse()
        .expect("usage: hello HOST:PORT");
    let listener = tokio::net::TcpListener::bind(addr).await.expect("bind");
    println!("hello listening on {}", listener.local_addr().unwrap());
    let route = warp::any().map(|| r#"{"hello":"world"}"#);
    warp::serve(route).incoming(listener).run().await;
}
