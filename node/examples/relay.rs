//! The physical limit of one hop on our stack: a warp server that answers each
//! request by making one call, over the node's own keep-alive connections
//! (`chord_node::conn_pool`, as its internal calls are made), to another
//! server, and returning its body.
//! The benchmark puts it in front of the hello-world server: wrk → relay →
//! hello is two HTTP exchanges on the request's path, like a 1-hop request's
//! forward and direct reply.
//!
//! `cargo run --release --example relay -- LISTEN UPSTREAM [THREADS]`

use chord_node::conn_pool::ConnPool;
use chord_node::http1;
use std::sync::Arc;
use std::time::Duration;
use warp::Filter;

fn main() {
    let mut args = std::env::args().skip(1);
    let usage = "usage: relay LISTEN UPSTREAM [THREADS]";
    let addr: std::net::SocketAddr = args.next().expect(usage).parse().expect(usage);
    let upstream = args.next().expect(usage);
    let threads = args.next().map(|t| t.parse().expect("THREADS"));
    let rt = chord_node::config::runtime(threads).expect("runtime");
    rt.block_on(async move {
        let pool = Arc::new(ConnPool::new(Duration::from_secs(5)));
        let request: Arc<[u8]> = http1::post("/", &upstream, None, b"{}").into();
        let upstream: Arc<str> = upstream.into();
        let listener = tokio::net::TcpListener::bind(addr).await.expect("bind");
        println!("relay listening on {}", listener.local_addr().unwrap());
        let route = warp::any().then(move || {
            let (pool, upstream, request) = (pool.clone(), upstream.clone(), request.clone());
            async move {
                match pool.exchange(&upstream, &request).await {
                    Ok((_, body)) => body.to_vec(),
                    Err(_) => b"{}".to_vec(),
                }
            }
        });
        warp::serve(route).incoming(listener).run().await;
    });
}
