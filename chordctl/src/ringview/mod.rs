//! `chordctl ring --svg FILE` / `-o svg`: a picture of the ring as SVG.
//!
//! The identifier circle with each node at its id (0 at the top, clockwise),
//! each node's key space `(predecessor, id]` shaded by the keys it owns, the
//! successor pointers (red when out of ring order), the fingers of one node
//! chosen with `--node`, and a legend. Pure: statuses in, SVG text out; the
//! fetching is in [`crate::commands::inspect`].
//!
//! - [`model`]: what is drawn, built from the nodes' statuses
//! - [`geometry`]: ids to angles and points, key-space spans to arcs
//! - [`draw`]: the picture, layer by layer
//! - [`labels`]: where node labels go so that they do not overlap
//! - [`marks`]: arrowheads and path data shared by the layers
//! - [`trace`]: a lookup's route (`ring --trace KEY`, and `chordctl ui`)
//! - [`style`]: sizes that scale with the ring, and colours
//! - [`svg`]: the writer (escaping, fixed-precision numbers)

mod draw;
mod geometry;
mod labels;
mod marks;
mod model;
mod style;
mod svg;
mod trace;

pub use draw::render;
pub use model::{DownView, RingView};
pub use trace::Trace;
