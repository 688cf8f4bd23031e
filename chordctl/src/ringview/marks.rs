//! Drawing pieces shared by the layers of the picture: arrowhead markers
//! and the path data of pointers and key-space arcs.

use chord_proto::id::Id;

use super::geometry::{turn_of, ArcShape, Frame, Point};
use super::style::Sizes;
use super::svg::{num, Svg};

/// Defines an arrowhead marker `id` in `colour`, sized for `sizes` and set
/// back so its tip stops at the edge of a node mark instead of under it.
pub fn arrow(svg: &mut Svg, id: &str, colour: &str, sizes: &Sizes) {
    let length = 3.0 * sizes.stroke + 4.0;
    // The marker's own box is 10 units long, tip at x = 10; refX is the
    // point placed on the path's end, in those units.
    let ref_x = 10.0 + sizes.mark * 10.0 / length;
    svg.open(
        "marker",
        &[
            ("id", id.into()),
            ("viewBox", "0 0 10 10".into()),
            ("refX", ref_x.into()),
            ("refY", 5.0.into()),
            ("markerUnits", "userSpaceOnUse".into()),
            ("markerWidth", length.into()),
            ("markerHeight", length.into()),
            ("orient", "auto".into()),
        ],
    );
    svg.leaf(
        "path",
        &[
            ("d", "M 0 0 L 10 5 L 0 10 z".into()),
            ("fill", colour.into()),
        ],
    );
    svg.close();
}

fn xy(p: Point) -> String {
    format!("{} {}", num(p.x), num(p.y))
}

/// Path data of a pointer from node `from` clockwise to `to`, bowed
/// inwards (see [`Frame::bow`]).
pub fn pointer(frame: &Frame, from: &Id, to: &Id) -> String {
    let control = frame.bow(turn_of(from), turn_of(to));
    format!(
        "M {} Q {} {}",
        xy(frame.point_of(from)),
        xy(control),
        xy(frame.point_of(to))
    )
}

/// Path data of a straight chord between two ids.
pub fn chord(frame: &Frame, from: &Id, to: &Id) -> String {
    format!(
        "M {} L {}",
        xy(frame.point_of(from)),
        xy(frame.point_of(to))
    )
}

/// Path data of a clockwise arc, or `None` for the full circle (which a
/// path arc cannot draw: the caller draws a circle instead).
pub fn arc(shape: ArcShape, radius: f64) -> Option<String> {
    match shape {
        ArcShape::Full => None,
        ArcShape::Partial {
            from,
            to,
            large_arc,
        } => Some(format!(
            // rx ry x-rotation large-arc-flag sweep-flag (1: clockwise on screen)
            "M {} A {r} {r} 0 {} 1 {}",
            xy(from),
            u8::from(large_arc),
            xy(to),
            r = num(radius)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::super::geometry::{id_at, Span};
    use super::*;

    #[test]
    fn arc_path_carries_the_large_arc_flag_and_sweeps_clockwise() {
        let frame = Frame {
            centre: Point { x: 0.0, y: 0.0 },
            radius: 10.0,
        };
        let short = frame.arc(Span::between(&id_at(0.0), &id_at(0.25)), 10.0);
        assert_eq!(arc(short, 10.0).unwrap(), "M 0 -10 A 10 10 0 0 1 10 0");
        let long = frame.arc(Span::between(&id_at(0.0), &id_at(0.75)), 10.0);
        assert_eq!(arc(long, 10.0).unwrap(), "M 0 -10 A 10 10 0 1 1 -10 0");
        assert_eq!(arc(ArcShape::Full, 10.0), None);
    }
}
