//! A traced request's path (`X-Chord-Path`) for people: one line of node
//! names, each hop's reason in brackets, `→` between forwards and `⇒`
//! before the owner's direct reply to the entry node (pure).
//!
//! ```text
//! chord-default-6 → chord-default-2 (finger 7) → chord-default-12 (successor list, owner) ⇒ chord-default-6 (direct reply)
//! ```

use chord_proto::trace::{Tag, TraceHop};

/// The one-line path, `name_of` giving a node's name for its address
/// (`None`: the address is printed as it is). The entry's own `entry` tag
/// goes without saying; every other tag is shown by its label.
pub fn render(path: &[TraceHop], name_of: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::new();
    for (i, hop) in path.iter().enumerate() {
        if i > 0 {
            out.push_str(if hop.has(&Tag::DirectReply) {
                " ⇒ "
            } else {
                " → "
            });
        }
        out.push_str(&name_of(&hop.addr).unwrap_or_else(|| hop.addr.clone()));
        let labels: Vec<String> = (hop.tags.iter())
            .filter(|t| **t != Tag::Entry)
            .map(Tag::label)
            .collect();
        if !labels.is_empty() {
            out.push_str(&format!(" ({})", labels.join(", ")));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chord_proto::trace::parse_path;

    fn name_of(addr: &str) -> Option<String> {
        let n = addr.strip_prefix("10.0.0.")?.strip_suffix(":7000")?;
        Some(format!("chord-default-{n}"))
    }

    #[test]
    fn forwards_and_the_direct_reply_read_as_names_and_reasons() {
        let path = parse_path(
            "10.0.0.6:7000 entry, 10.0.0.2:7000 finger-7, \
             10.0.0.12:7000 owner, 10.0.0.6:7000 direct-reply",
        )
        .unwrap();
        assert_eq!(
            render(&path, name_of),
            "chord-default-6 → chord-default-2 (finger 7) → chord-default-12 (owner) \
             ⇒ chord-default-6 (direct reply)"
        );
    }

    #[test]
    fn several_tags_unknown_addresses_and_a_local_answer() {
        let path = parse_path(
            "10.0.0.6:7000 entry, 10.9.9.9:1 successor retry, \
             10.0.0.12:7000 successor-list owner, 10.0.0.6:7000 direct-reply",
        )
        .unwrap();
        assert_eq!(
            render(&path, name_of),
            "chord-default-6 → 10.9.9.9:1 (successor, retry) → chord-default-12 \
             (successor list, owner) ⇒ chord-default-6 (direct reply)"
        );
        let here = parse_path("10.0.0.6:7000 entry owner").unwrap();
        assert_eq!(render(&here, name_of), "chord-default-6 (owner)");
        // A 503 from the entry itself: just the entry.
        let alone = parse_path("10.0.0.6:7000 entry").unwrap();
        assert_eq!(render(&alone, name_of), "chord-default-6");
    }
}
