//! Names of the HTTP headers the node and its clients exchange (lowercase,
//! as HTTP/2 and `http::HeaderName::from_static` want them).

/// On `/kv` answers: `host:port` of the node that performed the operation.
pub const OWNER: &str = "x-chord-owner";
/// On `/kv` answers: forwarding steps after the entry node (0 when the entry
/// node owned the key).
pub const HOPS: &str = "x-chord-hops";
