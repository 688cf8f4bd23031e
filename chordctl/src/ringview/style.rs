//! Sizes and colours. Sizes scale with the number of nodes so that one node
//! and a thousand both make a readable picture; the canvas itself is fixed
//! (the `viewBox` lets a viewer scale it).

/// Canvas width: the circle in the middle, room for labels on each side.
pub const WIDTH: f64 = 1000.0;
/// Canvas height: the circle's square plus room for the legend.
pub const HEIGHT: f64 = 900.0;
/// Height of the centre of the circle (it is centred horizontally).
pub const CENTRE_Y: f64 = 400.0;
/// Radius of the identifier circle.
pub const RADIUS: f64 = 290.0;
/// Width of the band of key-space arcs along the circle.
pub const BAND: f64 = 16.0;

/// Key-space arcs (opacity shows the key count).
pub const ARC: &str = "#1f77b4";
/// The identifier circle and the zero mark.
pub const RIM: &str = "#c7c7c7";
/// Node marks.
pub const NODE: &str = "#222222";
/// Successor pointers that agree with the ring order.
pub const POINTER: &str = "#7f7f7f";
/// Successor pointers that do not: the warning colour.
pub const WRONG: &str = "#d62728";
/// The selected node's fingers.
pub const FINGER: &str = "#ff7f0e";
/// A lookup's path.
pub const TRACE: &str = "#9467bd";
/// Nodes that are down.
pub const DOWN: &str = WRONG;
/// Node marks when the pointers form several rings: one colour per ring
/// (the first is the usual node colour; more rings than colours reuse them).
pub const RINGS: [&str; 6] = [NODE, "#2ca02c", "#8c564b", "#e377c2", "#17becf", "#bcbd22"];

/// Above this many nodes only the selected node is labelled: the labels
/// would overlap.
pub const MAX_LABELLED: usize = 48;

/// Sizes for a ring of some number of nodes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sizes {
    /// Radius of a node mark.
    pub mark: f64,
    /// Font size of node labels.
    pub font: f64,
    /// Stroke width of pointers and chords.
    pub stroke: f64,
    /// Whether every node is labelled.
    pub all_labels: bool,
}

impl Sizes {
    /// Sizes for `nodes` nodes.
    pub fn for_nodes(nodes: usize) -> Sizes {
        let n = nodes.max(1) as f64;
        // The arc length one node has on average, if evenly spread.
        let spacing = std::f64::consts::TAU * RADIUS / n;
        Sizes {
            mark: (spacing * 0.3).clamp(1.5, 8.0),
            font: (16.0 - n / 6.0).clamp(9.0, 14.0),
            stroke: (2.0 - n / 400.0).clamp(0.5, 1.5),
            all_labels: nodes <= MAX_LABELLED,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_shrink_with_the_ring_and_labels_go_past_the_limit() {
        let one = Sizes::for_nodes(1);
        let many = Sizes::for_nodes(1000);
        assert!(one.mark > many.mark && one.font > many.font && one.stroke > many.stroke);
        assert!((1.5..=8.0).contains(&many.mark), "{many:?}");
        assert!(one.all_labels && Sizes::for_nodes(MAX_LABELLED).all_labels);
        assert!(!Sizes::for_nodes(MAX_LABELLED + 1).all_labels);
        assert_eq!(Sizes::for_nodes(0), one);
    }
}
