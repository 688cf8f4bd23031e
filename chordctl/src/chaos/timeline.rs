//! A timeline picture of a chaos run, as an SVG document: operations per
//! second (ok in green, failed or unknown in red) over the seconds of the
//! run, with each fault window shaded and labelled with its kind.
//!
//! Text is emitted as SVG `<text>` elements and laid out with plotters'
//! built-in size estimate, so no font is loaded at build or run time.

use plotters::prelude::*;

use super::checker::Report;
use super::history::Fault;

/// Picture size in pixels.
const SIZE: (u32, u32) = (1000, 400);
/// Ok operations.
const OK_COLOR: RGBColor = RGBColor(34, 139, 34);
/// Failed and unknown operations.
const BAD_COLOR: RGBColor = RGBColor(200, 30, 30);
/// Fault windows, drawn translucent.
const FAULT_COLOR: RGBColor = RGBColor(255, 140, 0);
const FAULT_OPACITY: f64 = 0.2;

/// Draws the run's timeline as an SVG document of about 1000×400 pixels.
///
/// The x axis is seconds since the run started, the y axis operations per
/// second, from [`Report::availability`]. Each fault is a shaded window from
/// its start to its end, or to the end of the run if it has none, labelled
/// with its kind. `title` is escaped; it may contain any text.
pub fn svg(report: &Report, faults: &[Fault], duration_ms: u64, title: &str) -> String {
    let mut buf = String::new();
    match draw(&mut buf, report, faults, duration_ms, title) {
        Ok(()) => buf,
        Err(err) => fallback(title, &err.to_string()),
    }
}

fn draw(
    buf: &mut String,
    report: &Report,
    faults: &[Fault],
    duration_ms: u64,
    title: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    // Each second is a step from `second` to `second + 1`.
    let steps = |count: fn(&super::checker::Second) -> u32| -> Vec<(f64, f64)> {
        report
            .availability
            .iter()
            .flat_map(|s| {
                let x = s.second as f64;
                let y = f64::from(count(s));
                [(x, y), (x + 1.0, y)]
            })
            .collect()
    };
    let ok = steps(|s| s.ok);
    let bad = steps(|s| s.failed + s.unknown);

    let x_max = (duration_ms as f64 / 1000.0)
        .max(ok.last().map_or(0.0, |p| p.0))
        .max(1.0);
    let peak = ok.iter().chain(&bad).map(|p| p.1).fold(0.0, f64::max);
    // Headroom at the top for the fault labels and the legend.
    let y_max = (peak * 1.3).max(1.0);

    let root = SVGBackend::with_string(buf, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..x_max, 0.0..y_max)?;
    chart
        .configure_mesh()
        .x_desc("seconds since start")
        .y_desc("operations per second")
        .light_line_style(TRANSPARENT)
        .x_label_formatter(&tick)
        .y_label_formatter(&tick)
        .draw()?;

    let min_width = x_max / 500.0;
    let window = |f: &Fault| {
        let start = (f.start_ms as f64 / 1000.0).min(x_max);
        let end = f
            .end_ms
            .map_or(x_max, |end| (end as f64 / 1000.0).min(x_max));
        (start, end.max(start + min_width))
    };
    let shaded = chart.draw_series(faults.iter().map(|f| {
        let (start, end) = window(f);
        Rectangle::new(
            [(start, 0.0), (end, y_max)],
            FAULT_COLOR.mix(FAULT_OPACITY).filled(),
        )
    }))?;
    if !faults.is_empty() {
        // A thick line, not a rectangle: the windows are the only fault rects.
        shaded.label("fault window").legend(|(x, y)| {
            PathElement::new(
                vec![(x, y), (x + 16, y)],
                FAULT_COLOR.mix(FAULT_OPACITY).stroke_width(10),
            )
        });
    }
    // Labels staggered over three rows, so that close faults stay legible.
    chart.draw_series(faults.iter().enumerate().map(|(i, f)| {
        let (start, _) = window(f);
        let row = (i % 3) as f64;
        Text::new(
            f.kind.clone(),
            (start + min_width, y_max * (0.99 - 0.06 * row)),
            ("sans-serif", 12).into_font().color(&BLACK),
        )
    }))?;

    chart
        .draw_series(AreaSeries::new(ok, 0.0, OK_COLOR.mix(0.25)).border_style(OK_COLOR))?
        .label("ok / s")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], OK_COLOR.stroke_width(2)));
    chart
        .draw_series(LineSeries::new(bad, BAD_COLOR.stroke_width(2)))?
        .label("failed + unknown / s")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], BAD_COLOR.stroke_width(2)));

    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 12))
        .draw()?;
    root.present()?;
    Ok(())
}

/// An axis label: whole numbers without decimals.
fn tick(v: &f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// A minimal SVG stating why the picture could not be drawn.
fn fallback(title: &str, error: &str) -> String {
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
            .replace('\'', "&apos;")
    };
    format!(
        "<svg width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" xmlns=\"http://www.w3.org/2000/svg\">\n\
         <text x=\"10\" y=\"30\">{}</text>\n<text x=\"10\" y=\"60\">cannot draw the timeline: {}</text>\n</svg>\n",
        escape(title),
        escape(error),
        w = SIZE.0,
        h = SIZE.1,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chaos::checker::{check, Second};
    use crate::chaos::history::History;

    fn report(seconds: &[(u32, u32, u32)]) -> Report {
        let mut r = check(&History {
            ops: Vec::new(),
            faults: Vec::new(),
            final_reads: Default::default(),
            final_etags: Default::default(),
            duration_ms: 0,
        });
        r.availability = seconds
            .iter()
            .enumerate()
            .map(|(i, &(ok, failed, unknown))| Second {
                second: i as u64,
                ok,
                failed,
                unknown,
            })
            .collect();
        r
    }

    fn fault(kind: &str, start_ms: u64, end_ms: Option<u64>) -> Fault {
        Fault {
            kind: kind.into(),
            nodes: vec!["node-<1>".into()],
            start_ms,
            end_ms,
            converged_ms: None,
        }
    }

    /// The `<rect>` elements drawn in the fault colour.
    fn fault_rects(svg: &str) -> Vec<&str> {
        svg.lines()
            .filter(|l| l.trim_start().starts_with("<rect") && l.contains("fill=\"#FF8C00\""))
            .collect()
    }

    fn texts(svg: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut rest = svg;
        while let Some(i) = rest.find("<text") {
            rest = &rest[i..];
            let open = rest.find('>').unwrap() + 1;
            let close = rest.find("</text>").unwrap();
            out.push(rest[open..close].trim().to_string());
            rest = &rest[close..];
        }
        out
    }

    #[test]
    fn draws_one_shaded_rect_per_fault_with_labels_title_and_legend() {
        let r = report(&[(50, 0, 0), (20, 10, 5), (0, 30, 0), (45, 1, 0)]);
        let faults = [
            fault("partition", 800, Some(2500)),
            fault("kill", 1500, None),
            fault("join", 3000, None),
        ];
        let svg = svg(&r, &faults, 4000, "chaos run 7");
        assert!(svg.starts_with("<svg"), "{}", &svg[..100]);
        assert!(svg.trim_end().ends_with("</svg>"));
        assert_eq!(fault_rects(&svg).len(), faults.len(), "{svg}");
        let texts = texts(&svg);
        for want in [
            "chaos run 7",
            "partition",
            "kill",
            "join",
            "ok / s",
            "failed + unknown / s",
            "fault window",
            "operations per second",
        ] {
            assert!(texts.iter().any(|t| t == want), "{want} not in {texts:?}");
        }
        // Node names are never drawn.
        assert!(!svg.contains("node-"));
    }

    #[test]
    fn windows_span_from_start_to_end_or_to_the_end_of_the_run() {
        let r = report(&[(10, 0, 0); 10]);
        let width = |svg: &str| -> Vec<f64> {
            fault_rects(svg)
                .iter()
                .map(|l| {
                    let w = l.split("width=\"").nth(1).unwrap();
                    w[..w.find('"').unwrap()].parse().unwrap()
                })
                .collect()
        };
        let healed = width(&svg(&r, &[fault("pause", 2000, Some(4000))], 10_000, "t"));
        let open = width(&svg(&r, &[fault("pause", 2000, None)], 10_000, "t"));
        assert_eq!(healed.len(), 1);
        // 2 s out of 10 versus 8 s out of 10: four times as wide.
        let ratio = open[0] / healed[0];
        assert!((ratio - 4.0).abs() < 0.1, "{healed:?} {open:?}");
    }

    #[test]
    fn without_faults_there_is_no_shading_nor_fault_legend() {
        let svg = svg(&report(&[(3, 0, 0), (4, 1, 0)]), &[], 2000, "quiet");
        assert!(svg.starts_with("<svg"));
        assert!(fault_rects(&svg).is_empty());
        assert!(!svg.contains("fault window"));
        assert!(texts(&svg).iter().any(|t| t == "quiet"));
    }

    #[test]
    fn title_is_escaped() {
        let svg = svg(&report(&[]), &[], 0, "a < b & \"c\"");
        assert!(svg.contains("a &lt; b &amp; &quot;c&quot;"), "{svg}");
        assert!(!svg.contains("a < b"));
    }

    #[test]
    fn fallback_is_escaped_svg() {
        let svg = fallback("<t>", "bad & worse");
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("&lt;t&gt;") && svg.contains("bad &amp; worse"));
    }
}
