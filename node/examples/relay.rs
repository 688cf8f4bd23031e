//! The physical limit of one hop on our stack: a warp server that answers each
//! request by making one call, with a shared keep-alive hyper client (as the
//! node's internal calls are made, `chord_node::peer`), to another server, and
//! returning its body.
//! The benchmark puts it in front of the hello-world server: wrk → relay →
//! hello is two HTTP exchanges on the request's path, like a 1-hop request's
//! forward and direct reply.
//!
//! `cargo run --release --example relay -- LISTEN UPSTREAM [THREADS]`

use warp::Filter;

fn main() {
    let mut args = std::env::args().skip(1);
    let usage = "usage: relay LISTEN UPSTREAM [THREADS]";
    let addr: std::net::SocketAddr = args.next().expect(usage).parse().expect(usage);
    let upstream = args.next().expect(usage);
    let threads = args.next().map(|t| t.parse().expect("THREADS"));
    let rt = chord_node::config::runtime(threads).expect("runtime");
    rt.block_on(async move {
        let mut connector = hyper_util::client::legacy::connect::HttpConnector::new();
        connector.set_nodelay(true);
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build::<_, http_body_util::Full<bytes::Bytes>>(connector);
        let url: hyper::Uri = format!("http://{upstream}/").parse().expect("upstream");
        let listener = tokio::net::TcpListener::bind(addr).await.expect("bind");
        println!("relay listening on {}", listener.local_addr().unwrap());
        let route = warp::any().then(move || {
            let (client, url) = (client.clone(), url.clone());
            async move {
                let req = hyper::Request::post(url)
                    .body(http_body_util::Full::new(bytes::Bytes::from_static(b"{}")))
                    .expect("request");
                match client.request(req).await {
                    Ok(r) => match http_body_util::BodyExt::collect(r.into_body()).await {
                        Ok(body) => body.to_bytes().to_vec(),
                        Err(_) => b"{}".to_vec(),
                    },
                    Err(_) => b"{}".to_vec(),
                }
            }
        });
        warp::serve(route).incoming(listener).run().await;
    });
}
