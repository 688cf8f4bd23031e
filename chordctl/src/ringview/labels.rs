//! Where node labels go. Nodes can sit arbitrarily close on the ring (ids
//! are hashes), so labels placed straight out from their nodes overlap.
//! As pie charts do it: the labels on each half of the circle are sorted
//! top to bottom and pushed apart to at least one line height, then put
//! back on the label circle at their new height; a label that moved gets a
//! leader line to its node.

use super::geometry::{Frame, Point};

/// How a label's text hangs from its point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// Text starts at the point (right half of the circle).
    Start,
    /// Text ends at the point (left half).
    End,
}

impl Anchor {
    /// The SVG `text-anchor` value.
    pub fn svg(self) -> &'static str {
        match self {
            Anchor::Start => "start",
            Anchor::End => "end",
        }
    }
}

/// Where one label goes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spot {
    /// The text's anchor point.
    pub at: Point,
    /// Which side of the point the text lies on.
    pub anchor: Anchor,
    /// Whether it was pushed away from straight out of its node.
    pub moved: bool,
}

/// Spots for labels of nodes at `turns`, on a circle of `radius`, at least
/// `line` apart vertically on each half; in the order of `turns`.
pub fn place(frame: &Frame, turns: &[f64], radius: f64, line: f64) -> Vec<Spot> {
    let mut spots: Vec<Spot> = turns
        .iter()
        .map(|&t| Spot {
            at: frame.point_at(t, radius),
            anchor: if t.rem_euclid(1.0) < 0.5 {
                Anchor::Start
            } else {
                Anchor::End
            },
            moved: false,
        })
        .collect();
    for side in [Anchor::Start, Anchor::End] {
        let mut order: Vec<usize> = (0..spots.len())
            .filter(|&i| spots[i].anchor == side)
            .collect();
        order.sort_by(|&a, &b| spots[a].at.y.total_cmp(&spots[b].at.y));
        let mut floor = f64::NEG_INFINITY;
        for i in order {
            let y = spots[i].at.y.max(floor);
            if y > spots[i].at.y {
                // Back onto the label circle at the new height (straight
                // above or below the centre when pushed past it).
                let dy = (y - frame.centre.y).abs().min(radius);
                let dx = (radius * radius - dy * dy).sqrt();
                let x = match side {
                    Anchor::Start => frame.centre.x + dx,
                    Anchor::End => frame.centre.x - dx,
                };
                spots[i].at = Point { x, y };
                spots[i].moved = true;
            }
            floor = y + line;
        }
    }
    spots
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame() -> Frame {
        Frame {
            centre: Point { x: 0.0, y: 0.0 },
            radius: 100.0,
        }
    }

    #[test]
    fn far_apart_labels_stay_straight_out_of_their_nodes() {
        let spots = place(&frame(), &[0.1, 0.4, 0.6, 0.9], 120.0, 12.0);
        assert!(spots.iter().all(|s| !s.moved), "{spots:?}");
        let anchors: Vec<Anchor> = spots.iter().map(|s| s.anchor).collect();
        assert_eq!(
            anchors,
            [Anchor::Start, Anchor::Start, Anchor::End, Anchor::End]
        );
        assert!((spots[0].at.x - 120.0 * (0.1 * std::f64::consts::TAU).sin()).abs() < 1e-9);
    }

    #[test]
    fn crowded_labels_are_pushed_a_line_apart_on_each_side() {
        let turns = [0.2, 0.201, 0.202, 0.203, 0.7, 0.7005];
        let spots = place(&frame(), &turns, 120.0, 12.0);
        for side in [Anchor::Start, Anchor::End] {
            let mut ys: Vec<f64> = spots
                .iter()
                .filter(|s| s.anchor == side)
                .map(|s| s.at.y)
                .collect();
            ys.sort_by(f64::total_cmp);
            assert!(ys.windows(2).all(|w| w[1] - w[0] >= 12.0 - 1e-9), "{ys:?}");
        }
        assert!(!spots[0].moved && spots[1].moved && spots[3].moved);
        // Still on the label circle.
        for s in &spots {
            assert!((s.at.x.hypot(s.at.y) - 120.0).abs() < 1e-6, "{s:?}");
        }
    }
}
