//! `chord-proto`: the contract `chord-node` and `chordctl` share, so that
//! neither side re-declares a field (a rename breaks the build instead of
//! silently reading a default).
//!
//! * [`id`] — 160-bit identifiers, SHA-1 placement, ring intervals and shares.
//! * [`peer`] — a ring member: id and advertised address.
//! * [`range`] — a key range `(from, to]`.
//! * [`placement`] — a key's owner and holders, fingers, replica targets: the
//!   one placement rule the node, `chordctl check` and the simulator's test
//!   vectors pin.
//! * [`entry`] — a stored key with its version, as it travels.
//! * [`etag`] — a version as an HTTP `ETag`.
//! * [`deadline`] — how long after its entry took it a request may still take effect.
//! * [`digest`] — order-independent range digests for anti-entropy.
//! * [`ring`] — ring-maintenance messages (`POST /chord/rpc`).
//! * [`wire`] — data-plane messages (`/chord/route`, `/chord/reply`, `/chord/data`).
//! * [`wire_json`] — the route and reply messages written and read as JSON
//!   without serde's machinery (the same bytes, the same messages).
//! * [`api`] — the public JSON: status, key listing, error body.
//! * [`headers`] — header names.
//! * [`hex`] — fixed-width lowercase hex without `core::fmt`.
//! * [`decimal`] — decimal numbers without `core::fmt`.
//! * [`key`] — keys as URL path segments.
//! * [`ttl`] — a `PUT`'s time to live (`X-Chord-TTL`, `?ttl=`).
//! * [`trace`] — request traces: `X-Chord-Trace` and the `X-Chord-Path` a request took.
//!
//! Everything here is pure: no sockets, no clocks.

#![warn(missing_docs)]

pub mod api;
pub mod deadline;
pub mod decimal;
pub mod digest;
pub mod entry;
pub mod etag;
pub mod headers;
pub mod hex;
pub mod id;
pub mod key;
pub mod peer;
pub mod placement;
pub mod range;
pub mod ring;
pub mod trace;
pub mod ttl;
pub mod wire;
pub mod wire_json;
