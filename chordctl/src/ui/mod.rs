//! `chordctl ui`: a live view of the ring in the browser.
//!
//! One page, embedded in the binary (no build step, no CDN): the ring
//! picture of `ring --svg`, drawn here from a fresh look at the nodes every
//! second, with the nodes that are down in red and a split ring coloured by
//! ring; a table of the nodes (state, keys owned and held, repair); and a
//! get/put/delete form whose request is sent with `X-Chord-Trace: 1`, its
//! path drawn on the ring.
//!
//! - [`snapshot`]: the last look at the cluster, as the table and the
//!   picture's model (pure)
//! - [`api`]: the form's checks, its answer with the path named, the trace
//!   query (pure)
//! - [`guard`]: which requests are served (Host, Origin, content type; pure)
//! - [`routes`]: the HTTP routes
//! - [`send`]: the traced request to a node
//!
//! This module holds the command's arguments and the I/O: the poller owns
//! the runtime (whose futures are not `Send`, so it runs on the command's
//! own task) and publishes each look through a `watch` channel; the HTTP
//! server reads the latest one. The cluster key stays in the poller's
//! client: no route sends it, and the form's requests use the public API.
//!
//! Security: loopback only unless `--public` (see [`guard`]).

mod api;
mod guard;
mod routes;
mod send;
mod snapshot;

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use bytes::{Bytes, BytesMut};
use clap::Args;
use futures_util::StreamExt;
use tokio::sync::watch;
use warp::http::{Method, StatusCode};
use warp::Filter;

use crate::client::Client;
use crate::commands::inspect::observe;
use crate::commands::Ctx;
use crate::exit;
use crate::runtime::Runtime;
use routes::{App, Req};
use snapshot::Snapshot;

/// How often chordctl looks at the nodes (the page asks as often).
const POLL: Duration = Duration::from_secs(1);
/// Longest a look may take before it counts as failed: a runtime or node
/// that hangs must not freeze the picture.
const LOOK_MAX: Duration = Duration::from_secs(5);
/// Largest request body the page sends (a form with a value): the node's
/// own default limit is 1 MiB.
const BODY_MAX: usize = 2 << 20;
/// How long open connections get to finish after Ctrl-C.
const DRAIN: Duration = Duration::from_secs(2);

/// Arguments of `ui`.
#[derive(Debug, Args)]
pub struct UiArgs {
    /// Address to serve the page on; port 0 picks a free one (the address
    /// is printed on the first line).
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub listen: SocketAddr,
    /// Allow a --listen address that is not loopback, and any Host header:
    /// whoever reaches the page can put and delete keys.
    #[arg(long)]
    pub public: bool,
}

/// A validated `ui`.
#[derive(Debug)]
pub struct UiPlan {
    /// Where to listen.
    pub listen: SocketAddr,
    /// Served beyond loopback, on purpose.
    pub public: bool,
}

impl UiArgs {
    /// Refuses a non-loopback address without `--public` (exit code 2).
    pub fn into_plan(self) -> Result<UiPlan> {
        if !self.listen.ip().is_loopback() && !self.public {
            return Err(exit::usage(format!(
                "ui: --listen {} is not a loopback address; the page can put and delete \
                 keys, so anyone who reaches it could: add --public to serve it anyway",
                self.listen
            )));
        }
        Ok(UiPlan {
            listen: self.listen,
            public: self.public,
        })
    }
}

/// `ui`: serves the page until Ctrl-C or SIGTERM, then exits 0.
pub async fn serve<R: Runtime>(ctx: &Ctx<'_, R>, plan: &UiPlan) -> Result<()> {
    // A missing cluster is the usual error, at once, not an empty page.
    ctx.existing().await?;
    let listener = tokio::net::TcpListener::bind(plan.listen)
        .await
        .with_context(|| format!("listening on {}", plan.listen))?;
    let addr = listener.local_addr().context("reading the bound address")?;
    let mut poller = Poller::default();
    let (tx, rx) = watch::channel(Arc::new(poller.look(ctx).await));
    let app = App {
        bound: guard::Bound {
            addr,
            public: plan.public,
        },
        snapshot: rx,
        client: crate::client::Client::public()?.traced(true),
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(
        warp::serve(filter(app))
            .incoming(listener)
            .graceful(async {
                let _ = stopped.await;
            })
            .run(),
    );
    if plan.public {
        eprintln!(
            "chordctl: warning: serving beyond loopback on {addr} (--public): anyone who \
             reaches it can read, put and delete keys"
        );
    }
    crate::output::println(&format!(
        "chordctl ui: http://{addr}/ (cluster {:?}; Ctrl-C to stop)",
        ctx.cluster
    ))?;
    tokio::select! {
        () = poll_forever(ctx, &mut poller, &tx) => {}
        () = crate::commands::terminated() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    let _ = stop.send(());
    // Keep-alive connections of an open page are closed by the graceful
    // shutdown; one that will not close is not waited on for ever.
    let _ = tokio::time::timeout(DRAIN, server).await;
    Ok(())
}

/// Looks at the cluster every [`POLL`] and publishes each look.
async fn poll_forever<R: Runtime>(
    ctx: &Ctx<'_, R>,
    poller: &mut Poller,
    tx: &watch::Sender<Arc<Snapshot>>,
) {
    let mut tick = tokio::time::interval(POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await; // the first tick is immediate: the look made at start
    loop {
        tick.tick().await;
        tx.send_replace(Arc::new(poller.look(ctx).await));
    }
}

/// Makes the looks; remembers what the next one builds on.
#[derive(Default)]
struct Poller {
    /// The last look (for the ids of nodes that are down since).
    last: Snapshot,
    /// The client for the current cluster key, made once per key.
    client: Option<(String, Client)>,
}

impl Poller {
    /// The runtime's listing and every running node's status, bounded by
    /// [`LOOK_MAX`].
    async fn look<R: Runtime>(&mut self, ctx: &Ctx<'_, R>) -> Snapshot {
        let kind = ctx.rt.kind();
        let found = tokio::time::timeout(LOOK_MAX, ctx.rt.find(ctx.cluster)).await;
        let cluster = match found {
            Ok(Ok(Some(c))) => c,
            Ok(Ok(None)) => {
                let why = format!("no {kind} cluster named {:?}", ctx.cluster);
                return self.keep(Snapshot::failed(kind, why, &self.last));
            }
            Ok(Err(e)) => return self.keep(Snapshot::failed(kind, format!("{e:#}"), &self.last)),
            Err(_) => {
                let why = format!("the {kind} runtime did not answer within {LOOK_MAX:?}");
                return self.keep(Snapshot::failed(kind, why, &self.last));
            }
        };
        let key = &cluster.spec.key;
        let client = match &self.client {
            Some((k, c)) if k == key => c.clone(),
            _ => match Client::new(key) {
                Ok(c) => {
                    self.client = Some((key.clone(), c.clone()));
                    c
                }
                Err(e) => return self.keep(Snapshot::failed(kind, format!("{e:#}"), &self.last)),
            },
        };
        // observe's own requests time out within LOOK_MAX.
        let observed = observe(&client, &cluster).await;
        let snap = Snapshot::new(kind, cluster, observed, &self.last);
        self.keep(snap)
    }

    /// Publishes `snap`, keeping its ids for the next look.
    fn keep(&mut self, snap: Snapshot) -> Snapshot {
        self.last = Snapshot {
            known_ids: snap.known_ids.clone(),
            ..Snapshot::default()
        };
        snap
    }
}

/// The one warp filter: every request, read into a [`Req`] and handed to
/// [`routes::handle`].
fn filter(app: App) -> impl Filter<Extract = (impl warp::Reply,), Error = Infallible> + Clone {
    warp::method()
        .and(warp::path::full())
        .and(warp::query::raw().or(warp::any().map(String::new)).unify())
        .and(warp::header::optional::<String>("host"))
        .and(warp::header::optional::<String>("origin"))
        .and(warp::header::optional::<String>("content-type"))
        .and(warp::body::stream())
        .then(
            move |method: Method,
                  path: warp::path::FullPath,
                  query: String,
                  host,
                  origin,
                  content_type,
                  body| {
                let app = app.clone();
                async move {
                    let body = if method == Method::POST {
                        match read_body(body).await {
                            Some(b) => b,
                            None => {
                                return routes::error(
                                    StatusCode::PAYLOAD_TOO_LARGE,
                                    "request body over the size limit or unreadable",
                                )
                            }
                        }
                    } else {
                        Bytes::new()
                    };
                    let req = Req {
                        method,
                        path: path.as_str().to_string(),
                        query: parse_query(&query),
                        host,
                        origin,
                        content_type,
                        body,
                    };
                    routes::handle(&app, req).await
                }
            },
        )
        // Only a header that is not text gets here.
        .recover(|_: warp::Rejection| async {
            Ok::<_, Infallible>(routes::error(StatusCode::BAD_REQUEST, "malformed request"))
        })
}

/// The body, or `None` past [`BODY_MAX`] bytes or on a read error.
async fn read_body<S, B>(stream: S) -> Option<Bytes>
where
    S: futures_util::Stream<Item = Result<B, warp::Error>>,
    B: warp::Buf,
{
    let mut stream = std::pin::pin!(stream);
    let mut buf = BytesMut::new();
    while let Some(chunk) = stream.next().await {
        let mut chunk = chunk.ok()?;
        if buf.len() + chunk.remaining() > BODY_MAX {
            return None;
        }
        while chunk.has_remaining() {
            let part = chunk.chunk();
            let n = part.len();
            buf.extend_from_slice(part);
            chunk.advance(n);
        }
    }
    Some(buf.freeze())
}

/// `a=1&b=x%2Cy` as a map (the last of repeated names wins); parts that
/// do not decode are dropped.
fn parse_query(query: &str) -> BTreeMap<String, String> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .filter_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            Some((decode(k)?, decode(v)?))
        })
        .collect()
}

/// Percent-decoding of a query part (`+` is a space).
fn decode(part: &str) -> Option<String> {
    let bytes = part.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = part.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Action, Cli};
    use clap::Parser;

    fn plan(args: &[&str]) -> anyhow::Result<crate::cli::Plan> {
        Cli::try_parse_from(std::iter::once("chordctl").chain(args.iter().copied()))
            .expect("clap accepts")
            .into_plan()
    }

    #[test]
    fn listen_defaults_to_loopback_and_other_addresses_need_public() {
        match plan(&["ui"]).unwrap().action {
            Action::Ui(p) => {
                assert_eq!(p.listen, "127.0.0.1:8080".parse().unwrap());
                assert!(!p.public);
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(plan(&["ui", "--listen", "[::1]:0"]).is_ok());
        let err = plan(&["ui", "--listen", "0.0.0.0:8080"]).unwrap_err();
        assert_eq!(exit::code_of(&err), 2, "{err}");
        assert!(err.to_string().contains("--public"), "{err}");
        assert!(plan(&["ui", "--listen", "0.0.0.0:8080", "--public"]).is_ok());
    }

    #[test]
    fn query_strings_are_decoded() {
        let q = parse_query("key=user%3A1&path=a%2Cb&x=a+b&bad=%zz&flag");
        assert_eq!(q["key"], "user:1");
        assert_eq!(q["path"], "a,b");
        assert_eq!(q["x"], "a b");
        assert_eq!(q["flag"], "");
        assert!(!q.contains_key("bad"));
        assert!(parse_query("").is_empty());
    }
}
