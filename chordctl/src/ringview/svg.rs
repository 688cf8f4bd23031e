//! A small SVG writer: elements with attributes, every text value escaped
//! and every number printed with the same fixed precision, so the output is
//! well-formed by construction and stable from run to run.

use std::borrow::Cow;
use std::fmt::Write as _;

/// An attribute value: text (escaped on output) or a number.
#[derive(Debug, Clone, Copy)]
pub enum Value<'a> {
    /// Text, escaped when written.
    Text(&'a str),
    /// A number, written with [`num`].
    Num(f64),
}

impl<'a> From<&'a str> for Value<'a> {
    fn from(text: &'a str) -> Self {
        Value::Text(text)
    }
}

impl<'a> From<&'a String> for Value<'a> {
    fn from(text: &'a String) -> Self {
        Value::Text(text)
    }
}

impl From<f64> for Value<'_> {
    fn from(n: f64) -> Self {
        Value::Num(n)
    }
}

/// Attributes in the order they are written.
pub type Attrs<'a> = [(&'a str, Value<'a>)];

/// `text` with the five XML special characters replaced by entities, so it
/// is safe both as element content and inside a double- or single-quoted
/// attribute.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.contains(['&', '<', '>', '"', '\'']) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// A number with two decimals and no trailing zeros (`12.5`, `3`, `-0.25`):
/// a hundredth of a unit is finer than any screen shows, and a fixed
/// precision keeps the file the same for the same ring.
pub fn num(n: f64) -> String {
    let fixed = format!("{n:.2}");
    let trimmed = fixed.trim_end_matches('0').trim_end_matches('.');
    match trimmed {
        // `-0.001` rounds to `-0.00`.
        "-0" | "" => "0".to_string(),
        t => t.to_string(),
    }
}

/// An SVG document being written; elements left open are closed by
/// [`Svg::finish`].
#[derive(Debug)]
pub struct Svg {
    out: String,
    open: Vec<String>,
}

impl Svg {
    /// A document `width` by `height` units, with a matching `viewBox` so it
    /// scales to whatever size it is shown at.
    pub fn new(width: f64, height: f64) -> Svg {
        let mut svg = Svg {
            out: String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"),
            open: Vec::new(),
        };
        let view_box = format!("0 0 {} {}", num(width), num(height));
        svg.open(
            "svg",
            &[
                ("xmlns", "http://www.w3.org/2000/svg".into()),
                ("viewBox", (&view_box).into()),
                ("width", width.into()),
                ("height", height.into()),
                ("font-family", "sans-serif".into()),
            ],
        );
        svg
    }

    fn start_tag(&mut self, tag: &str, attrs: &Attrs<'_>) {
        self.indent();
        self.out.push('<');
        self.out.push_str(tag);
        for (name, value) in attrs {
            let value = match value {
                Value::Text(t) => escape(t),
                Value::Num(n) => Cow::Owned(num(*n)),
            };
            // Writing to a String cannot fail.
            let _ = write!(self.out, " {name}=\"{value}\"");
        }
    }

    fn indent(&mut self) {
        for _ in 0..self.open.len() {
            self.out.push_str("  ");
        }
    }

    /// Opens `<tag ...>`; its children follow until [`Svg::close`].
    pub fn open(&mut self, tag: &str, attrs: &Attrs<'_>) {
        self.start_tag(tag, attrs);
        self.out.push_str(">\n");
        self.open.push(tag.to_string());
    }

    /// Closes the element opened last.
    pub fn close(&mut self) {
        let tag = self.open.pop().expect("close() without an open element");
        self.indent();
        let _ = writeln!(self.out, "</{tag}>");
    }

    /// An element without children: `<tag .../>`.
    pub fn leaf(&mut self, tag: &str, attrs: &Attrs<'_>) {
        self.start_tag(tag, attrs);
        self.out.push_str("/>\n");
    }

    /// An element holding only `text` (escaped).
    pub fn text(&mut self, tag: &str, attrs: &Attrs<'_>, text: &str) {
        self.start_tag(tag, attrs);
        let _ = writeln!(self.out, ">{}</{tag}>", escape(text));
    }

    /// The finished document.
    pub fn finish(mut self) -> String {
        while !self.open.is_empty() {
            self.close();
        }
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_markup_characters_are_escaped() {
        assert_eq!(escape("plain-name_1"), "plain-name_1");
        assert_eq!(
            escape(r#"<a & "b" 'c'>"#),
            "&lt;a &amp; &quot;b&quot; &apos;c&apos;&gt;"
        );
        let mut svg = Svg::new(10.0, 10.0);
        svg.text("text", &[("data-name", r#"<&""#.into())], "x<&\"y");
        let doc = svg.finish();
        assert!(
            doc.contains(r#"data-name="&lt;&amp;&quot;">x&lt;&amp;&quot;y</text>"#),
            "{doc}"
        );
        let parsed = roxmltree::Document::parse(&doc).expect("well-formed");
        let text = parsed
            .descendants()
            .find(|n| n.has_tag_name("text"))
            .unwrap();
        assert_eq!(text.attribute("data-name"), Some(r#"<&""#));
        assert_eq!(text.text(), Some("x<&\"y"));
    }

    #[test]
    fn numbers_have_fixed_precision() {
        assert_eq!(num(12.5), "12.5");
        assert_eq!(num(3.0), "3");
        assert_eq!(num(1.0 / 3.0), "0.33");
        assert_eq!(num(-0.001), "0");
        assert_eq!(num(-2.675), "-2.67"); // binary -2.67499…
        assert_eq!(num(100.0), "100");
    }

    #[test]
    fn elements_nest_and_close_in_order() {
        let mut svg = Svg::new(800.0, 600.0);
        svg.open("g", &[("class", "a".into())]);
        svg.leaf("circle", &[("r", 2.0.into())]);
        let doc = svg.finish();
        let parsed = roxmltree::Document::parse(&doc).expect("well-formed");
        let root = parsed.root_element();
        assert_eq!(root.attribute("viewBox"), Some("0 0 800 600"));
        let g = root.first_element_child().unwrap();
        assert_eq!(g.attribute("class"), Some("a"));
        assert_eq!(g.first_element_child().unwrap().attribute("r"), Some("2"));
    }
}
