//! The picture, layer by layer from the back: the circle, the key-space
//! arcs, the successor pointers, the selected node's fingers, a lookup's
//! path, the node marks (the nodes that are down in the warning colour),
//! their labels, and the legend.

use super::geometry::{turn_of, Frame, Point, Span};
use super::labels;
use super::marks;
use super::model::RingView;
use super::style::{self, Sizes};
use super::svg::{num, Svg};
use super::trace;

/// The SVG document for `view`.
pub fn render(view: &RingView) -> String {
    let sizes = Sizes::for_nodes(view.nodes.len());
    let frame = Frame {
        centre: Point {
            x: style::WIDTH / 2.0,
            y: style::CENTRE_Y,
        },
        radius: style::RADIUS,
    };
    let mut svg = Svg::new(style::WIDTH, style::HEIGHT);
    let count = view.nodes.len() + view.down.len();
    svg.text(
        "title",
        &[],
        &format!("Chord ring of {count} node{}", plural(count)),
    );
    svg.open("defs", &[]);
    marks::arrow(&mut svg, "arrow-pointer", style::POINTER, &sizes);
    marks::arrow(&mut svg, "arrow-wrong", style::WRONG, &sizes);
    marks::arrow(&mut svg, "arrow-finger", style::FINGER, &sizes);
    svg.close();
    rim(&mut svg, &frame);
    spans(&mut svg, &frame, view);
    successors(&mut svg, &frame, &sizes, view);
    fingers(&mut svg, &frame, &sizes, view);
    if let Some(t) = &view.trace {
        trace::draw(&mut svg, &frame, &sizes, t);
    }
    nodes(&mut svg, &frame, &sizes, view);
    labels(&mut svg, &frame, &sizes, view);
    legend(&mut svg, view);
    svg.finish()
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// The identifier circle and a tick with `0` at the top.
fn rim(svg: &mut Svg, frame: &Frame) {
    let c = frame.centre;
    svg.open("g", &[("class", "rim".into())]);
    svg.leaf(
        "circle",
        &[
            ("cx", c.x.into()),
            ("cy", c.y.into()),
            ("r", frame.radius.into()),
            ("fill", "none".into()),
            ("stroke", style::RIM.into()),
        ],
    );
    // The mark of id 0 points inwards: outside is where the labels go.
    let inner = frame.radius - style::BAND;
    svg.leaf(
        "line",
        &[
            ("x1", c.x.into()),
            ("y1", (c.y - inner).into()),
            ("x2", c.x.into()),
            ("y2", (c.y - inner + 8.0).into()),
            ("stroke", style::RIM.into()),
        ],
    );
    svg.text(
        "text",
        &[
            ("x", c.x.into()),
            ("y", (c.y - inner + 20.0).into()),
            ("text-anchor", "middle".into()),
            ("font-size", 11.0.into()),
            ("fill", style::RIM.into()),
        ],
        "0",
    );
    svg.close();
}

/// Each node's key space `(predecessor, id]` as a band along the circle,
/// more opaque the more keys the node owns.
fn spans(svg: &mut Svg, frame: &Frame, view: &RingView) {
    let most = view.nodes.iter().map(|n| n.keys_owned).max().unwrap_or(0);
    svg.open("g", &[("class", "spans".into()), ("fill", "none".into())]);
    for node in &view.nodes {
        let Some(from) = node.span_from else { continue };
        // A floor keeps an empty span visible; the rest scales linearly.
        let opacity = if most == 0 {
            0.12
        } else {
            0.12 + 0.88 * node.keys_owned as f64 / most as f64
        };
        let common = [
            ("class", "span".into()),
            ("data-name", (&node.name).into()),
            ("stroke", style::ARC.into()),
            ("stroke-width", style::BAND.into()),
            ("stroke-opacity", opacity.into()),
        ];
        let shape = frame.arc(Span::between(&from, &node.id), frame.radius);
        let title = format!("{}: {} keys owned", node.name, node.keys_owned);
        match marks::arc(shape, frame.radius) {
            Some(d) => {
                svg.open("path", &[&common[..], &[("d", (&d).into())]].concat());
            }
            None => {
                let c = frame.centre;
                let circle = [
                    ("cx", c.x.into()),
                    ("cy", c.y.into()),
                    ("r", frame.radius.into()),
                ];
                svg.open("circle", &[&common[..], &circle[..]].concat());
            }
        }
        svg.text("title", &[], &title);
        svg.close();
    }
    svg.close();
}

/// Each node's first successor as it reports it, in the warning colour
/// when it is not the next node in ring order.
fn successors(svg: &mut Svg, frame: &Frame, sizes: &Sizes, view: &RingView) {
    svg.open(
        "g",
        &[
            ("class", "successors".into()),
            ("fill", "none".into()),
            ("stroke-width", sizes.stroke.into()),
        ],
    );
    for node in &view.nodes {
        // A lone node is its own successor: nothing to draw.
        let Some(to) = node.successor.filter(|s| *s != node.id) else {
            continue;
        };
        let (class, colour, arrow) = if node.successor_ok {
            ("successor", style::POINTER, "url(#arrow-pointer)")
        } else {
            ("successor wrong", style::WRONG, "url(#arrow-wrong)")
        };
        svg.leaf(
            "path",
            &[
                ("class", class.into()),
                ("data-name", (&node.name).into()),
                ("d", (&marks::pointer(frame, &node.id, &to)).into()),
                ("stroke", colour.into()),
                ("marker-end", arrow.into()),
            ],
        );
    }
    svg.close();
}

/// The selected node's fingers as chords across the circle.
fn fingers(svg: &mut Svg, frame: &Frame, sizes: &Sizes, view: &RingView) {
    let Some(sel) = &view.selected else { return };
    svg.open(
        "g",
        &[
            ("class", "fingers".into()),
            ("data-name", (&sel.name).into()),
            ("stroke", style::FINGER.into()),
            ("stroke-width", (sizes.stroke * 1.5).into()),
        ],
    );
    for finger in sel.fingers.iter().filter(|f| **f != sel.id) {
        let to = view
            .name_of(finger)
            .map_or_else(|| finger.short(), str::to_string);
        svg.leaf(
            "path",
            &[
                ("class", "finger".into()),
                ("data-to", (&to).into()),
                ("d", (&marks::chord(frame, &sel.id, finger)).into()),
                ("marker-end", "url(#arrow-finger)".into()),
            ],
        );
    }
    svg.close();
}

/// One mark per ring position (per node without virtual nodes), with its
/// name, id and key count as a tooltip; on a split ring coloured by the
/// ring it is on, else with virtual nodes by the node it belongs to, and
/// smaller, as there are V times as many. Then a hollow mark in the warning
/// colour for each node that is down.
fn nodes(svg: &mut Svg, frame: &Frame, sizes: &Sizes, view: &RingView) {
    let selected = view.selected.as_ref().map(|s| s.name.as_str());
    let split = view.ring_count() > 1;
    let vnodes = view.has_vnodes();
    let mark = if vnodes { sizes.mark * 0.6 } else { sizes.mark };
    svg.open("g", &[("class", "nodes".into())]);
    for node in &view.nodes {
        let p = frame.point_of(&node.id);
        let chosen = selected == Some(node.name.as_str());
        let (fill, r) = if chosen {
            (style::FINGER, sizes.mark * 1.5)
        } else if split {
            (style::RINGS[node.ring % style::RINGS.len()], mark)
        } else if vnodes {
            (style::RINGS[node.host % style::RINGS.len()], mark)
        } else {
            (style::NODE, mark)
        };
        let id = node.id.to_hex();
        svg.open(
            "circle",
            &[
                ("class", "node".into()),
                ("data-name", (&node.name).into()),
                ("data-id", (&id).into()),
                ("data-ring", (node.ring as f64).into()),
                ("cx", p.x.into()),
                ("cy", p.y.into()),
                ("r", r.into()),
                ("fill", fill.into()),
            ],
        );
        svg.text(
            "title",
            &[],
            &format!("{} {} ({} keys owned)", node.name, id, node.keys_owned),
        );
        svg.close();
    }
    for node in &view.down {
        let p = frame.point_of(&node.id);
        svg.open(
            "circle",
            &[
                ("class", "node down".into()),
                ("data-name", (&node.name).into()),
                ("cx", p.x.into()),
                ("cy", p.y.into()),
                ("r", sizes.mark.into()),
                ("fill", "white".into()),
                ("stroke", style::DOWN.into()),
                ("stroke-width", (sizes.stroke * 1.5).into()),
            ],
        );
        svg.text("title", &[], &format!("{} is down", node.name));
        svg.close();
    }
    svg.close();
}

/// Names outside the circle: every node's on a small ring, only the
/// selected node's on a large one; see [`labels::place`].
fn labels(svg: &mut Svg, frame: &Frame, sizes: &Sizes, view: &RingView) {
    let selected = view.selected.as_ref().map(|s| s.name.as_str());
    let live = view.nodes.iter().map(|n| (&n.name, &n.id, false));
    let down = view.down.iter().map(|n| (&n.name, &n.id, true));
    let mut shown: Vec<_> = live
        .chain(down)
        .filter(|(name, _, _)| sizes.all_labels || selected == Some(name.as_str()))
        .collect();
    // Labels are placed in ring order.
    shown.sort_by(|a, b| a.1.cmp(b.1));
    let turns: Vec<f64> = shown.iter().map(|(_, id, _)| turn_of(id)).collect();
    let radius = frame.radius + style::BAND + 6.0;
    let spots = labels::place(frame, &turns, radius, sizes.font * 1.2);
    svg.open(
        "g",
        &[
            ("class", "labels".into()),
            ("font-size", sizes.font.into()),
            ("fill", style::NODE.into()),
        ],
    );
    for ((name, id, down), spot) in shown.iter().zip(&spots) {
        if spot.moved {
            let from = frame.point_at(turn_of(id), frame.radius + style::BAND / 2.0);
            svg.leaf(
                "line",
                &[
                    ("class", "leader".into()),
                    ("x1", from.x.into()),
                    ("y1", from.y.into()),
                    ("x2", spot.at.x.into()),
                    ("y2", spot.at.y.into()),
                    ("stroke", style::RIM.into()),
                    ("stroke-width", 0.75.into()),
                ],
            );
        }
        // A little air between a leader line's end and the text.
        let pad = match spot.anchor {
            labels::Anchor::Start => 2.0,
            labels::Anchor::End => -2.0,
        };
        let fill = if *down { style::DOWN } else { style::NODE };
        svg.text(
            "text",
            &[
                ("class", "label".into()),
                ("x", (spot.at.x + pad).into()),
                ("y", spot.at.y.into()),
                ("text-anchor", spot.anchor.svg().into()),
                ("dominant-baseline", "middle".into()),
                ("fill", fill.into()),
            ],
            name,
        );
    }
    svg.close();
}

/// Counts and the colour key, under the circle.
fn legend(svg: &mut Svg, view: &RingView) {
    let count = view.node_count();
    let total = view.total_keys();
    let wrong = view.nodes.iter().filter(|n| !n.successor_ok).count();
    // With virtual nodes the marks are positions, which the count says.
    let positions = if view.has_vnodes() {
        format!(" ({} positions)", view.nodes.len())
    } else {
        String::new()
    };
    let mut lines = vec![format!(
        "{count} node{}{positions}, {total} key{} owned",
        plural(count),
        plural(total)
    )];
    lines.push(match view.busiest() {
        Some(b) => format!(
            "busiest: {} owns {} ({}% of the keys)",
            b.name,
            b.keys_owned,
            num(100.0 * b.keys_owned as f64 / total as f64)
        ),
        None => "busiest: none (no keys)".to_string(),
    });
    lines.push(if wrong == 0 {
        "successor pointers: all agree with the ring order".to_string()
    } else {
        format!("successor pointers: {wrong} disagree with the ring order")
    });
    let rings = view.ring_count();
    if rings > 1 {
        lines.push(format!(
            "split: the successor pointers form {rings} separate rings (node colour: which ring)"
        ));
    }
    if !view.down.is_empty() {
        lines.push(format!(
            "{} node{} down",
            view.down.len(),
            plural(view.down.len())
        ));
    }
    let mut key: Vec<(&str, String)> = vec![
        (
            style::ARC,
            "key space owned (darker: more keys)".to_string(),
        ),
        (style::POINTER, "successor".to_string()),
    ];
    if wrong > 0 {
        key.push((style::WRONG, "successor out of ring order".to_string()));
    }
    if !view.down.is_empty() {
        key.push((style::DOWN, "node down (hollow mark)".to_string()));
    }
    if let Some(sel) = &view.selected {
        key.push((style::FINGER, format!("fingers of {}", sel.name)));
    }
    if let Some(t) = &view.trace {
        key.push((
            style::TRACE,
            format!("lookup of {} (dashed: the owner's reply)", t.key),
        ));
    }
    let x = 24.0;
    let mut y = style::CENTRE_Y * 2.0 + 4.0;
    svg.open(
        "g",
        &[
            ("class", "legend".into()),
            ("font-size", 13.0.into()),
            ("fill", style::NODE.into()),
        ],
    );
    for line in &lines {
        svg.text("text", &[("x", x.into()), ("y", y.into())], line);
        y += 18.0;
    }
    for (i, (colour, what)) in key.iter().enumerate() {
        // Two columns of swatches.
        let (cx, cy) = (x + (i % 2) as f64 * 420.0, y + (i / 2) as f64 * 18.0);
        svg.leaf(
            "rect",
            &[
                ("x", cx.into()),
                ("y", (cy - 10.0).into()),
                ("width", 14.0.into()),
                ("height", 10.0.into()),
                ("fill", (*colour).into()),
            ],
        );
        svg.text("text", &[("x", (cx + 20.0).into()), ("y", cy.into())], what);
    }
    svg.close();
}

#[cfg(test)]
mod tests {
    use super::super::model::tests::{borrowed, even_ring};
    use super::*;

    fn doc_for(n: usize, selected: Option<&str>) -> String {
        let ring = even_ring(n);
        render(&RingView::new(&borrowed(&ring), selected).unwrap())
    }

    fn count_class(doc: &roxmltree::Document, class: &str) -> usize {
        doc.descendants()
            .filter(|e| e.attribute("class") == Some(class))
            .count()
    }

    #[test]
    fn one_node_mark_per_node_in_a_well_formed_document() {
        for n in [1, 3, 64, 1000] {
            let text = doc_for(n, None);
            let doc = roxmltree::Document::parse(&text)
                .unwrap_or_else(|e| panic!("{n} nodes: not well-formed: {e}"));
            let root = doc.root_element();
            assert!(root.has_tag_name("svg"));
            assert_eq!(root.attribute("viewBox"), Some("0 0 1000 900"), "{n}");
            let marks: Vec<_> = doc
                .descendants()
                .filter(|e| e.attribute("class") == Some("node"))
                .collect();
            assert_eq!(marks.len(), n, "{n} nodes");
            let mut names: Vec<&str> = marks
                .iter()
                .map(|m| m.attribute("data-name").unwrap())
                .collect();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), n, "each node marked once");
            // Every node owns a span; all pointers agree, so none is red.
            assert_eq!(count_class(&doc, "span"), n);
            assert_eq!(count_class(&doc, "successor wrong"), 0);
            let pointers = count_class(&doc, "successor");
            assert_eq!(pointers, if n == 1 { 0 } else { n }, "{n}");
            let labels = count_class(&doc, "label");
            assert_eq!(labels, if n <= style::MAX_LABELLED { n } else { 0 });
        }
    }

    #[test]
    fn a_lone_node_owns_a_full_circle() {
        let doc = doc_for(1, None);
        let parsed = roxmltree::Document::parse(&doc).unwrap();
        let span = parsed
            .descendants()
            .find(|e| e.attribute("class") == Some("span"))
            .unwrap();
        assert!(span.has_tag_name("circle"), "{doc}");
    }

    #[test]
    fn a_selected_node_shows_its_fingers_and_label_on_a_large_ring() {
        let doc = doc_for(64, Some("n5"));
        let parsed = roxmltree::Document::parse(&doc).unwrap();
        let fingers: Vec<_> = parsed
            .descendants()
            .filter(|e| e.attribute("class") == Some("finger"))
            .map(|e| e.attribute("data-to").unwrap())
            .collect();
        assert_eq!(fingers, ["n6", "n37"]);
        let labels: Vec<_> = parsed
            .descendants()
            .filter(|e| e.attribute("class") == Some("label"))
            .map(|e| e.text().unwrap())
            .collect();
        assert_eq!(labels, ["n5"]);
    }

    #[test]
    fn a_wrong_successor_is_drawn_in_the_warning_colour() {
        let mut ring = even_ring(4);
        ring[1].1.successors[0].id = ring[3].1.id;
        let doc = render(&RingView::new(&borrowed(&ring), None).unwrap());
        let parsed = roxmltree::Document::parse(&doc).unwrap();
        let wrong: Vec<_> = parsed
            .descendants()
            .filter(|e| e.attribute("class") == Some("successor wrong"))
            .collect();
        assert_eq!(wrong.len(), 1);
        assert_eq!(wrong[0].attribute("data-name"), Some("n1"));
        assert_eq!(wrong[0].attribute("stroke"), Some(style::WRONG));
        assert!(doc.contains("1 disagree"), "legend says so");
    }

    #[test]
    fn names_with_markup_are_escaped_in_marks_and_labels() {
        let mut ring = even_ring(2);
        ring[0].0 = r#"<n&"0'>"#.to_string();
        let doc = render(&RingView::new(&borrowed(&ring), None).unwrap());
        let parsed = roxmltree::Document::parse(&doc).expect("well-formed");
        assert!(parsed
            .descendants()
            .any(|e| e.attribute("data-name") == Some(r#"<n&"0'>"#)));
        assert!(parsed.descendants().any(|e| e.text() == Some(r#"<n&"0'>"#)));
    }

    #[test]
    fn the_legend_counts_nodes_keys_and_the_busiest_share() {
        // Keys 0..=3: 6 in all, n3 owns 3 of them.
        let doc = doc_for(4, None);
        assert!(doc.contains("4 nodes, 6 keys owned"), "{doc}");
        assert!(
            doc.contains("busiest: n3 owns 3 (50% of the keys)"),
            "{doc}"
        );
        let empty = render(&RingView::default());
        roxmltree::Document::parse(&empty).expect("an empty ring is a picture too");
        assert!(empty.contains("0 nodes, 0 keys owned"));
    }

    #[test]
    fn down_nodes_are_hollow_red_marks_and_a_split_ring_is_coloured_by_ring() {
        let mut ring = even_ring(6);
        for i in 0..6 {
            ring[i].1.successors[0].id = ring[(i + 2) % 6].1.id;
        }
        let mut view = RingView::new(&borrowed(&ring), None).unwrap();
        view.down.push(super::super::model::DownView {
            name: "dead".to_string(),
            id: chord_proto::id::Id::hash(b"dead"),
        });
        let doc = render(&view);
        let parsed = roxmltree::Document::parse(&doc).unwrap();
        assert_eq!(count_class(&parsed, "node"), 6, "live marks unchanged");
        let down: Vec<_> = parsed
            .descendants()
            .filter(|e| e.attribute("class") == Some("node down"))
            .collect();
        assert_eq!(down.len(), 1);
        assert_eq!(down[0].attribute("data-name"), Some("dead"));
        assert_eq!(down[0].attribute("stroke"), Some(style::DOWN));
        let fills: std::collections::BTreeSet<&str> = parsed
            .descendants()
            .filter(|e| e.attribute("class") == Some("node"))
            .map(|e| e.attribute("fill").unwrap())
            .collect();
        assert_eq!(fills.len(), 2, "one colour per ring: {fills:?}");
        assert!(doc.contains("form 2 separate rings"), "{doc}");
        assert!(doc.contains("1 node down"), "{doc}");
        assert_eq!(
            count_class(&parsed, "label"),
            7,
            "the dead node is labelled"
        );
    }

    #[test]
    fn a_trace_is_drawn_when_the_view_has_one() {
        let ring = even_ring(8);
        let mut view = RingView::new(&borrowed(&ring), None).unwrap();
        view.trace = Some(trace::Trace {
            key: "k".to_string(),
            path: vec![view.nodes[0].id, view.nodes[4].id],
            owner: view.nodes[6].id,
        });
        let doc = render(&view);
        let parsed = roxmltree::Document::parse(&doc).unwrap();
        assert_eq!(count_class(&parsed, "hop"), 2);
        assert_eq!(count_class(&parsed, "reply"), 1);
        assert!(doc.contains("lookup of k"));
    }
    #[test]
    fn with_vnodes_the_legend_counts_nodes_and_positions() {
        let ring = crate::check::tests::vnode_ring(3, 4);
        let doc = render(&RingView::new(&borrowed(&ring), None).unwrap());
        assert!(
            doc.contains("3 nodes (12 positions), 12 keys owned"),
            "{doc}"
        );
        let parsed = roxmltree::Document::parse(&doc).unwrap();
        assert_eq!(count_class(&parsed, "node"), 12);
    }
}
