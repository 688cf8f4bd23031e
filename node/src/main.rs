//! `chord-node` binary: parse flags into options (`cli.rs`), bind, serve,
//! leave cleanly on SIGTERM/SIGINT.

mod cli;

use chord_node::config::Options;
use chord_node::host::Host;
use clap::Parser;
use cli::{Cli, Command};
use std::io::{IsTerminal, Write};
use std::time::Duration;

/// mimalloc instead of glibc's malloc: a routed request allocates some
/// seventy small blocks at the entry node, many of them async state sizes
/// glibc's per-thread cache does not keep, and glibc spent about a sixth of
/// the entry's instructions in malloc and free (callgrind, BENCHMARKS.md).
/// Built with `no_thp`: with transparent huge pages (`madvise` mode, this
/// machine's default) an idle node's first arena pages were whole 2 MiB
/// pages, 15.7 MiB resident against 6.3 MiB without (and 6.7 MiB on glibc).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let cli = Cli::parse();
    let rt = match chord_node::config::runtime(cli.flags.threads) {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("chord-node: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    let code = match cli.command {
        Some(Command::Healthcheck { addr }) => rt.block_on(healthcheck(&addr)),
        // The flags become options only to run a node: a health check
        // works whatever else the environment sets.
        None => match Options::try_from(cli.flags).and_then(|opts| rt.block_on(run(opts))) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("chord-node: {e:#}");
                1
            }
        },
    };
    std::process::exit(code);
}

async fn healthcheck(addr: &str) -> i32 {
    let client = match reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(2))
        .build()
    {
        Ok(c) => c,
        Err(_) => return 1,
    };
    match client.get(format!("http://{addr}/healthz")).send().await {
        Ok(r) if r.status().is_success() => 0,
        Ok(r) => {
            eprintln!("unhealthy: {}", r.status());
            1
        }
        Err(e) => {
            eprintln!("unhealthy: {e}");
            1
        }
    }
}

fn advertised(opts: &Options, bound: std::net::SocketAddr) -> String {
    if let Some(a) = &opts.advertise {
        return a.clone();
    }
    if bound.ip().is_unspecified() {
        let host = std::env::var("HOSTNAME")
            .ok()
            .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "127.0.0.1".into());
        return format!("{host}:{}", bound.port());
    }
    bound.to_string()
}

async fn run(opts: Options) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let listener = tokio::net::TcpListener::bind(opts.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", opts.listen))?;
    let bound = listener.local_addr()?;
    let addr = advertised(&opts, bound);
    let host = Host::new(&addr, opts.clone());
    let id = host.first().me().id;
    // One line on stdout that harnesses wait for; logs go to stderr.
    if opts.vnodes > 1 {
        println!(
            "chord-node listening on {bound} advertising {addr} id {id} vnodes {}",
            opts.vnodes
        );
    } else {
        println!("chord-node listening on {bound} advertising {addr} id {id}");
    }
    let _ = std::io::stdout().flush();
    tracing::info!(%addr, %id, vnodes = opts.vnodes, join = ?opts.join, "node starting");
    host.start();

    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(chord_node::server::serve(host.clone(), listener, async {
        let _ = stop_rx.await;
    }));
    wait_for_signal().await;
    tracing::info!("stopping: handing data over");
    let handed = tokio::time::timeout(Duration::from_secs(20), host.leave()).await;
    if handed.is_err() {
        tracing::warn!("hand-off did not finish in 20 s");
    }
    let _ = stop_tx.send(());
    let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
    Ok(())
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
