//! A lookup's path on the ring: the request forwarded hop by hop from the
//! entry node to the key's owner, and the owner's direct reply to the entry
//! node, drawn dashed.
//!
//! `ring --trace KEY` and `chordctl ui` fill a [`Trace`] in from the
//! `X-Chord-Path` of a traced request ([`Trace::from_path`]).

use chord_proto::id::Id;
use chord_proto::trace::{Tag, TraceHop};

use super::geometry::Frame;
use super::marks;
use super::style::{self, Sizes};
use super::svg::Svg;

/// The route of one lookup.
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    /// The key looked up (for the legend).
    pub key: String,
    /// The nodes the request visited, entry node first.
    pub path: Vec<Id>,
    /// The key's owner, which answers the entry node directly.
    pub owner: Id,
}

/// What an edge of the route carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leg {
    /// The request, handed on to the next hop.
    Forward,
    /// The owner's reply, straight back to the entry node.
    Reply,
}

/// One edge of the route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edge {
    /// Where it starts.
    pub from: Id,
    /// Where it ends.
    pub to: Id,
    /// Request or reply.
    pub leg: Leg,
}

impl Trace {
    /// The route a traced request's `path` shows: its forwards from the
    /// entry node to the hop tagged `owner` (the direct reply is drawn from
    /// the owner anyway), `id_of` giving a node's id for its address; hops
    /// at unknown addresses are left out. `None` when no hop is the owner
    /// (the request failed on the way) or the owner's id is unknown.
    pub fn from_path(
        key: &str,
        path: &[TraceHop],
        id_of: impl Fn(&str) -> Option<Id>,
    ) -> Option<Trace> {
        let owner = path.iter().position(|h| h.has(&Tag::Owner))?;
        Some(Trace {
            key: key.to_string(),
            path: path[..=owner]
                .iter()
                .filter_map(|h| id_of(&h.addr))
                .collect(),
            owner: id_of(&path[owner].addr)?,
        })
    }

    /// The edges in order: forwards along the path and on to the owner
    /// (when the path does not already end there), then the reply. A node
    /// handing the request to itself adds no edge, and an entry node that
    /// owns the key has no route at all.
    pub fn edges(&self) -> Vec<Edge> {
        let mut stops: Vec<Id> = Vec::with_capacity(self.path.len() + 1);
        for id in self.path.iter().chain(std::iter::once(&self.owner)) {
            if stops.last() != Some(id) {
                stops.push(*id);
            }
        }
        let mut edges: Vec<Edge> = stops
            .windows(2)
            .map(|w| Edge {
                from: w[0],
                to: w[1],
                leg: Leg::Forward,
            })
            .collect();
        let entry = stops[0];
        if entry != self.owner {
            edges.push(Edge {
                from: self.owner,
                to: entry,
                leg: Leg::Reply,
            });
        }
        edges
    }
}

/// Draws the route: numbered forwards as arrows, the reply dashed, and a
/// ring around the owner.
pub fn draw(svg: &mut Svg, frame: &Frame, sizes: &Sizes, trace: &Trace) {
    svg.open("g", &[("class", "trace".into())]);
    svg.open("defs", &[]);
    marks::arrow(svg, "arrow-trace", style::TRACE, sizes);
    svg.close();
    let width = sizes.stroke * 2.0;
    for (step, edge) in trace.edges().iter().enumerate() {
        let (class, dash) = match edge.leg {
            Leg::Forward => ("hop", "none"),
            Leg::Reply => ("reply", "6 4"),
        };
        let step = (step + 1) as f64;
        svg.leaf(
            "path",
            &[
                ("class", class.into()),
                ("data-step", step.into()),
                ("d", (&marks::chord(frame, &edge.from, &edge.to)).into()),
                ("fill", "none".into()),
                ("stroke", style::TRACE.into()),
                ("stroke-width", width.into()),
                ("stroke-dasharray", dash.into()),
                ("marker-end", "url(#arrow-trace)".into()),
            ],
        );
    }
    let owner = frame.point_of(&trace.owner);
    svg.leaf(
        "circle",
        &[
            ("class", "owner".into()),
            ("cx", owner.x.into()),
            ("cy", owner.y.into()),
            ("r", (sizes.mark + 4.0).into()),
            ("fill", "none".into()),
            ("stroke", style::TRACE.into()),
            ("stroke-width", width.into()),
        ],
    );
    svg.close();
}

#[cfg(test)]
mod tests {
    use super::super::geometry::{id_at, Point};
    use super::*;

    fn trace(path: &[f64], owner: f64) -> Trace {
        Trace {
            key: "user:1".to_string(),
            path: path.iter().map(|&t| id_at(t)).collect(),
            owner: id_at(owner),
        }
    }

    fn legs(t: &Trace) -> Vec<(f64, f64, Leg)> {
        let back = |id: Id| (id.prefix_u64() as f64 / 2f64.powi(64) * 100.0).round() / 100.0;
        t.edges()
            .iter()
            .map(|e| (back(e.from), back(e.to), e.leg))
            .collect()
    }

    #[test]
    fn a_traced_path_becomes_the_route_up_to_its_owner() {
        let path = chord_proto::trace::parse_path(
            "a:1 entry, b:2 finger-3, c:3 successor-list owner, a:1 direct-reply",
        )
        .unwrap();
        let id_of = |addr: &str| match addr {
            "a:1" => Some(id_at(0.1)),
            "b:2" => Some(id_at(0.5)),
            "c:3" => Some(id_at(0.8)),
            _ => None,
        };
        let t = Trace::from_path("k", &path, id_of).unwrap();
        assert_eq!(t.path, [id_at(0.1), id_at(0.5), id_at(0.8)]);
        assert_eq!(t.owner, id_at(0.8));
        assert_eq!(t.key, "k");
        // The entry owned it: no route, the owner ring only.
        let here = chord_proto::trace::parse_path("a:1 entry owner").unwrap();
        assert!(Trace::from_path("k", &here, id_of)
            .unwrap()
            .edges()
            .is_empty());
        // Failed on the way (no owner), or an owner nobody knows: nothing.
        let gave_up = chord_proto::trace::parse_path("a:1 entry, b:2 finger-3, a:1 direct-reply");
        assert_eq!(Trace::from_path("k", &gave_up.unwrap(), id_of), None);
        let stranger = chord_proto::trace::parse_path("a:1 entry, z:9 owner").unwrap();
        assert_eq!(Trace::from_path("k", &stranger, id_of), None);
    }

    #[test]
    fn forwards_end_at_the_owner_and_the_last_edge_is_the_reply() {
        use Leg::*;
        // Path already ending at the owner, and one stopping before it.
        let expected = vec![
            (0.1, 0.5, Forward),
            (0.5, 0.75, Forward),
            (0.75, 0.8, Forward),
            (0.8, 0.1, Reply),
        ];
        assert_eq!(legs(&trace(&[0.1, 0.5, 0.75, 0.8], 0.8)), expected);
        assert_eq!(legs(&trace(&[0.1, 0.5, 0.75], 0.8)), expected);
        // The entry owns the key: no edge at all.
        assert!(trace(&[0.3], 0.3).edges().is_empty());
        assert!(trace(&[], 0.3).edges().is_empty());
        // One hop: forward and reply.
        assert_eq!(
            legs(&trace(&[0.2], 0.4)),
            [(0.2, 0.4, Forward), (0.4, 0.2, Reply)]
        );
    }

    #[test]
    fn the_drawing_has_one_path_per_edge_and_only_the_reply_is_dashed() {
        let frame = Frame {
            centre: Point { x: 400.0, y: 400.0 },
            radius: 290.0,
        };
        let mut svg = Svg::new(800.0, 800.0);
        draw(
            &mut svg,
            &frame,
            &Sizes::for_nodes(16),
            &trace(&[0.1, 0.5, 0.75], 0.8),
        );
        let doc = svg.finish();
        let parsed = roxmltree::Document::parse(&doc).expect("well-formed");
        let paths: Vec<_> = parsed
            .descendants()
            .filter(|n| n.has_tag_name("path") && n.attribute("data-step").is_some())
            .collect();
        let kinds: Vec<(&str, &str)> = paths
            .iter()
            .map(|p| {
                (
                    p.attribute("class").unwrap(),
                    p.attribute("stroke-dasharray").unwrap(),
                )
            })
            .collect();
        assert_eq!(
            kinds,
            [
                ("hop", "none"),
                ("hop", "none"),
                ("hop", "none"),
                ("reply", "6 4")
            ]
        );
        // The reply ends where the first hop starts: at the entry node.
        let start = |d: &str| {
            d.split(" L ")
                .next()
                .unwrap()
                .trim_start_matches("M ")
                .to_string()
        };
        let end = |d: &str| d.split(" L ").nth(1).unwrap().to_string();
        let first = paths[0].attribute("d").unwrap();
        let reply = paths[3].attribute("d").unwrap();
        assert_eq!(end(reply), start(first));
        assert_eq!(
            parsed
                .descendants()
                .filter(|n| n.attribute("class") == Some("owner"))
                .count(),
            1
        );
    }
}
