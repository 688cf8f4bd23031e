//! Internal API under `/chord/*`: ring maintenance, routed requests, direct
//! replies, replica traffic, multi-get batches and a key listing. With a cluster key configured,
//! every call must carry `Authorization: Bearer <key>` (401 otherwise).

use super::{error, json, wrong_method, Reply, Req};
use crate::driver::{Node, RouteAnswer};
use crate::host::Host;
use crate::ring::Request;
use crate::wire::{BatchGet, ReplicaRequest, ReplyMsg, RouteMsg};
use serde::de::DeserializeOwned;
use warp::http::{Method, StatusCode};

/// Compares without an early exit, so timing does not reveal the key.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Scheduler turns a routed request's handling task gets before its hop's 202
/// is written. On a current-thread runtime its outgoing call (the forward, or
/// the owner's reply) reached the socket only on the second turn: with one,
/// strace showed every owner writing its 202 before its reply,
/// which woke the origin once more, and one-connection 1-hop reads on an
/// 8-node ring took 4 % longer (232 against 223 µs, six alternating runs).
const TURNS_BEFORE_ACK: usize = 2;

/// Request ids are 128-bit random numbers in hex; anything else is refused, so
/// the owner's table of recent outcomes cannot be filled with large keys.
fn is_request_id(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn authorized(node: &Node, req: &Req) -> bool {
    match &node.options().cluster_key {
        None => true,
        Some(key) => req
            .auth
            .as_deref()
            .and_then(|got| got.strip_prefix("Bearer "))
            .is_some_and(|got| same(got.as_bytes(), key.as_bytes())),
    }
}

fn bad_message(e: serde_json::Error) -> String {
    format!("bad message: {e}")
}

fn parse<T: DeserializeOwned>(req: &Req) -> Result<T, String> {
    serde_json::from_slice(&req.body).map_err(bad_message)
}

fn ok_json<T: serde::Serialize>(v: &T) -> Reply {
    json(StatusCode::OK, serde_json::to_vec(v).unwrap_or_default())
}

/// Handles `/chord/{rest}`.
pub async fn handle(node: &Node, req: &Req, rest: &str) -> Reply {
    let known = matches!(rest, "rpc" | "route" | "reply" | "data" | "keys" | "batch");
    if !known {
        return error(StatusCode::NOT_FOUND, "no such route");
    }
    if !authorized(node, req) {
        return error(StatusCode::UNAUTHORIZED, "missing or wrong cluster key");
    }
    let want = if rest == "keys" {
        Method::GET
    } else {
        Method::POST
    };
    if req.method != want {
        return wrong_method(if rest == "keys" { "GET" } else { "POST" });
    }
    match rest {
        "rpc" => match parse::<Request>(req) {
            Ok(r) => ok_json(&node.handle_ring(&r)),
            Err(e) => error(StatusCode::BAD_REQUEST, &e),
        },
        "route" => match RouteMsg::from_json(&req.body).map_err(bad_message) {
            Ok(msg) if !is_request_id(&msg.req) => {
                error(StatusCode::BAD_REQUEST, "request id must be 32 hex digits")
            }
            Ok(msg) => match node.route_slot() {
                Some(permit) => {
                    let (msg, permit) = match node.route_inline(msg, permit).await {
                        RouteAnswer::Reply(reply) => {
                            return match reply.to_json() {
                                Ok(body) => json(StatusCode::OK, body),
                                Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
                            }
                        }
                        RouteAnswer::Accepted => return json(StatusCode::ACCEPTED, b"{}".to_vec()),
                        RouteAnswer::Relay(msg, permit) => (*msg, permit),
                    };
                    // The outcome goes to the origin directly; this hop only
                    // acknowledges, and the 202 never waits for the outcome.
                    // It does give the handling task a head start, so the
                    // forward (at the owner: the reply) is on the wire before
                    // the 202 and the origin is not woken for the 202 first.
                    let node = node.clone();
                    tokio::spawn(async move {
                        node.handle_route(msg).await;
                        drop(permit);
                    });
                    for _ in 0..TURNS_BEFORE_ACK {
                        tokio::task::yield_now().await;
                    }
                    json(StatusCode::ACCEPTED, b"{}".to_vec())
                }
                None => error(
                    StatusCode::TOO_MANY_REQUESTS,
                    "too many routed requests in flight",
                ),
            },
            Err(e) => error(StatusCode::BAD_REQUEST, &e),
        },
        "reply" => match ReplyMsg::from_json(&req.body).map_err(bad_message) {
            Ok(msg) => {
                // Unknown or expired ids are dropped silently.
                if node.handle_reply(msg) {
                    // Let the woken client task answer its client before this
                    // acknowledgement is written: the client waits, the owner does not.
                    tokio::task::yield_now().await;
                }
                json(StatusCode::OK, b"{}".to_vec())
            }
            Err(e) => error(StatusCode::BAD_REQUEST, &e),
        },
        "batch" => match parse::<BatchGet>(req) {
            Ok(b) if b.keys.len() > chord_proto::api::BATCH_GET_MAX_KEYS => {
                error(StatusCode::PAYLOAD_TOO_LARGE, "too many keys in one batch")
            }
            Ok(b) => ok_json(&node.handle_batch(b).await),
            Err(e) => error(StatusCode::BAD_REQUEST, &e),
        },
        "data" => match parse::<ReplicaRequest>(req) {
            Ok(r) if node.is_ready() => ok_json(&node.handle_data(r)),
            Ok(_) => error(StatusCode::SERVICE_UNAVAILABLE, "not in a ring"),
            Err(e) => error(StatusCode::BAD_REQUEST, &e),
        },
        _ => ok_json(&crate::host::listing(node.me(), std::slice::from_ref(node))),
    }
}

/// `GET /chord/keys` at the bare address of a node with several positions:
/// everything the node holds (see [`Host::listing`]).
pub fn host_keys(host: &Host, req: &Req) -> Reply {
    if !authorized(host.first(), req) {
        return error(StatusCode::UNAUTHORIZED, "missing or wrong cluster key");
    }
    if req.method != Method::GET {
        return wrong_method("GET");
    }
    ok_json(&host.listing())
}
