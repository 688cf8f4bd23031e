//! The two messages of every routed request, [`RouteMsg`] and [`ReplyMsg`],
//! written and read as JSON by hand: the same bytes as their serde derive
//! writes, and the same messages as it reads (tests hold the two to it).
//!
//! Why: through serde_json, writing and reading the two cost about 16 k
//! instructions of a 1-hop GET's 99 k over both nodes (callgrind), the
//! single largest share after HTTP itself: its `Compound` serializer and
//! its deserializer take every key and string a byte at a time through
//! generic visitors. Our own nodes write the messages in one order, so:
//! * [`write`](mod@write): each message is written in that order directly.
//! * [`read`](mod@read): a message in exactly that form is read by a straight scan;
//!   anything else (another order, whitespace, an unknown field, an escape
//!   in a string, the rare fields a scan does not read) goes to serde, so
//!   any message serde takes is still taken, and read the same way.
//!
//! [`RouteMsg`]: crate::wire::RouteMsg
//! [`ReplyMsg`]: crate::wire::ReplyMsg

#[cfg(test)]
mod corpus;
pub mod read;
pub mod write;
