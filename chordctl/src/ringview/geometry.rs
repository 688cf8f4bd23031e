//! Pure geometry of the picture: where an id sits on the circle and how a
//! span of the key space becomes an SVG arc. No SVG text here, only numbers.
//!
//! Angles are kept as *turns* (fractions of a full circle, in `[0, 1)`): id
//! 0 is at the top and ids grow clockwise, the way the ring is usually drawn.

use std::f64::consts::TAU;

use chord_proto::id::{ring_fraction, Id};

/// A point on the canvas (SVG user units, y grows downwards).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// Horizontal position.
    pub x: f64,
    /// Vertical position (down is positive, as in SVG).
    pub y: f64,
}

/// The identifier circle on the canvas.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Frame {
    /// Centre of the circle.
    pub centre: Point,
    /// Radius of the circle the nodes sit on.
    pub radius: f64,
}

/// Where `id` sits, as a fraction of the ring measured clockwise from 0.
pub fn turn_of(id: &Id) -> f64 {
    // `ring_fraction(a, a)` means the whole ring, so id 0 needs its own case;
    // the ids just below 2^160 round to 1.0 in an f64, which is 0 again.
    if *id == Id::ZERO {
        0.0
    } else {
        ring_fraction(&Id::ZERO, id) % 1.0
    }
}

impl Frame {
    /// The point at `turn` on a circle of `radius` around the centre.
    pub fn point_at(&self, turn: f64, radius: f64) -> Point {
        let angle = turn * TAU;
        Point {
            x: self.centre.x + radius * angle.sin(),
            y: self.centre.y - radius * angle.cos(),
        }
    }

    /// The point of `id` on the identifier circle.
    pub fn point_of(&self, id: &Id) -> Point {
        self.point_at(turn_of(id), self.radius)
    }
}

/// A clockwise span of the ring: the key space `(from, to]` one node owns.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Span {
    /// Turn where the span starts (its open end).
    pub start: f64,
    /// Clockwise length in turns, in `(0, 1]`; 1 is the whole ring.
    pub sweep: f64,
}

impl Span {
    /// The span `(from, to]`, measured clockwise, so it may wrap past id 0;
    /// `from == to` is the whole ring (a node alone owns everything).
    pub fn between(from: &Id, to: &Id) -> Span {
        Span {
            start: turn_of(from),
            sweep: ring_fraction(from, to),
        }
    }
}

/// How a [`Span`] is drawn on a circle.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ArcShape {
    /// The whole circle: an SVG arc cannot join a point to itself, so this
    /// is drawn as a circle.
    Full,
    /// A part of the circle, drawn clockwise from `from` to `to`.
    Partial {
        /// Start point.
        from: Point,
        /// End point.
        to: Point,
        /// SVG's large-arc flag: whether the arc is longer than half a circle
        /// (two arcs join the same points; this flag picks the long one).
        large_arc: bool,
    },
}

impl Frame {
    /// The shape of `span` on a circle of `radius` around the centre.
    pub fn arc(&self, span: Span, radius: f64) -> ArcShape {
        // f64 sums of the 20 id bytes can land a hair under 1 for a span
        // that is really the whole ring; anything that close is drawn full.
        if span.sweep >= 1.0 - 1e-12 {
            return ArcShape::Full;
        }
        ArcShape::Partial {
            from: self.point_at(span.start, radius),
            to: self.point_at(span.start + span.sweep, radius),
            large_arc: span.sweep > 0.5,
        }
    }

    /// Control point of a quadratic curve from turn `a` clockwise to turn
    /// `b` that bows towards the centre: deeper the longer the hop, so
    /// pointers between neighbours do not lie on the circle itself.
    pub fn bow(&self, a: f64, b: f64) -> Point {
        let gap = (b - a).rem_euclid(1.0);
        let gap = if gap == 0.0 { 1.0 } else { gap };
        self.point_at(a + gap / 2.0, self.radius * (0.85 - 0.6 * gap.min(0.5)))
    }
}

/// The id at `turn` of the ring (to 64 bits of precision), for tests.
#[cfg(test)]
pub(crate) fn id_at(turn: f64) -> Id {
    let mut bytes = [0u8; 20];
    let top = (turn * 2f64.powi(64)) as u64;
    bytes[..8].copy_from_slice(&top.to_be_bytes());
    Id(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame() -> Frame {
        Frame {
            centre: Point { x: 100.0, y: 100.0 },
            radius: 50.0,
        }
    }

    fn close(a: Point, b: Point) -> bool {
        (a.x - b.x).abs() < 1e-9 && (a.y - b.y).abs() < 1e-9
    }

    #[test]
    fn quarters_of_the_ring_are_top_right_bottom_left() {
        let f = frame();
        let cases = [
            (Id::ZERO, 0.0, Point { x: 100.0, y: 50.0 }),
            (id_at(0.25), 0.25, Point { x: 150.0, y: 100.0 }),
            (id_at(0.5), 0.5, Point { x: 100.0, y: 150.0 }),
            (id_at(0.75), 0.75, Point { x: 50.0, y: 100.0 }),
        ];
        for (id, turn, point) in cases {
            assert!((turn_of(&id) - turn).abs() < 1e-15, "{id:?}");
            assert!(
                close(f.point_of(&id), point),
                "{id:?}: {:?}",
                f.point_of(&id)
            );
        }
    }

    #[test]
    fn the_largest_id_is_just_left_of_the_top() {
        let t = turn_of(&Id::MAX);
        assert!((0.0..1.0).contains(&t), "{t}");
        assert!(t == 0.0 || t > 0.999_999, "{t}");
    }

    #[test]
    fn an_arc_from_350_to_10_degrees_wraps_past_zero_and_is_short() {
        let span = Span::between(&id_at(350.0 / 360.0), &id_at(10.0 / 360.0));
        assert!((span.sweep - 20.0 / 360.0).abs() < 1e-12, "{span:?}");
        let f = frame();
        match f.arc(span, f.radius) {
            ArcShape::Partial {
                from,
                to,
                large_arc,
            } => {
                assert!(!large_arc);
                // Starts left of the top, ends right of it, both near the top.
                assert!(from.x < 100.0 && to.x > 100.0, "{from:?} {to:?}");
                assert!(from.y < 60.0 && to.y < 60.0, "{from:?} {to:?}");
                assert!(close(to, f.point_at(10.0 / 360.0, f.radius)));
            }
            ArcShape::Full => panic!("a 20° arc drawn as a full circle"),
        }
    }

    #[test]
    fn a_node_alone_owns_the_full_circle() {
        let id = id_at(0.3);
        let span = Span::between(&id, &id);
        assert_eq!(span.sweep, 1.0);
        assert_eq!(frame().arc(span, 50.0), ArcShape::Full);
        assert_eq!(
            frame().arc(Span::between(&Id::ZERO, &Id::ZERO), 50.0),
            ArcShape::Full
        );
    }

    #[test]
    fn the_large_arc_flag_is_set_past_half_a_circle_only() {
        let large =
            |from: f64, to: f64| match frame().arc(Span::between(&id_at(from), &id_at(to)), 50.0) {
                ArcShape::Partial { large_arc, .. } => large_arc,
                ArcShape::Full => panic!("full"),
            };
        assert!(!large(0.1, 0.4));
        assert!(!large(0.1, 0.59));
        assert!(large(0.1, 0.61));
        assert!(large(0.0, 0.75));
        // Wrapping: 0.9 → 0.6 clockwise is 0.7 of the ring.
        assert!(large(0.9, 0.6));
        assert!(!large(0.9, 0.2));
    }

    #[test]
    fn pointers_bow_inwards_more_for_longer_hops() {
        let f = frame();
        let depth = |p: Point| ((p.x - 100.0).powi(2) + (p.y - 100.0).powi(2)).sqrt();
        let short = f.bow(0.0, 0.05);
        let long = f.bow(0.0, 0.5);
        assert!(depth(short) < f.radius && depth(long) < depth(short));
        // The control point of a wrapping hop sits between its ends, at the top.
        let wrap = f.bow(0.95, 0.05);
        assert!((wrap.x - 100.0).abs() < 1e-9 && wrap.y < 100.0, "{wrap:?}");
    }
}
