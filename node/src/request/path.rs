//! A traced request's path (pure): what each node adds to it on the way.
//!
//! The rules of `X-Chord-Path` (see [`chord_proto::trace`]):
//! * the entry starts it with itself, tagged `entry` ([`start`]);
//! * every sender appends the node it hands the request to, tagged with the
//!   routing reason and `retry` when an earlier candidate (or the entry's
//!   first attempt) brought nothing ([`forwarded`]), so the receiver is
//!   always last;
//! * the owner tags itself `owner` ([`owned`]) and sends the path back in
//!   its direct reply;
//! * the entry appends itself, tagged `direct-reply`, when the reply came
//!   from another node ([`replied`]).
//!
//! A request the entry runs itself has the path `A entry owner` ([`here`]).
//! Every append keeps the path within [`chord_proto::trace::MAX_PATH`]
//! hops. An untraced request carries `None` and none of this allocates.

use crate::routing::Why;
use chord_proto::trace::{bounded, push_bounded, Tag, TraceHop, MAX_PATH};

/// A new path at the entry node `me`.
pub fn start(me: &str) -> Vec<TraceHop> {
    vec![TraceHop::new(me, vec![Tag::Entry])]
}

/// The path of a request the entry node `me` ran itself.
pub fn here(me: &str) -> Vec<TraceHop> {
    vec![TraceHop::new(me, vec![Tag::Entry, Tag::Owner])]
}

/// The tags of a hop chosen for `why`, asked as a `retry` or not.
pub fn hop_tags(why: Why, retry: bool) -> Vec<Tag> {
    let mut tags: Vec<Tag> = why.tag().into_iter().collect();
    if retry || tags.is_empty() {
        tags.push(Tag::Retry);
    }
    tags
}

/// Appends `to`, chosen for `why` (as a `retry` or not), to the path of the
/// copy sent to it.
pub fn forwarded(path: &mut Vec<TraceHop>, to: &str, why: Why, retry: bool) {
    push_bounded(path, TraceHop::new(to, hop_tags(why, retry)));
}

/// Cuts a path that arrived from a peer to at most [`MAX_PATH`] hops (an
/// honest node never sends more; see `chord_proto::trace::bounded`).
pub fn received(path: &mut Vec<TraceHop>) {
    if path.len() > MAX_PATH {
        *path = bounded(path);
    }
}

/// Marks `me` as the owner: its own hop, last on the path (appended by the
/// sender); a path that does not end at `me` (cut, or a sender that did not
/// append) gets a hop of its own.
pub fn owned(path: &mut Vec<TraceHop>, me: &str) {
    match path.last_mut() {
        Some(last) if last.addr == me && !last.has(&Tag::Owner) => last.tags.push(Tag::Owner),
        Some(last) if last.addr == me => {}
        _ => push_bounded(path, TraceHop::new(me, vec![Tag::Owner])),
    }
}

/// The entry node `me` received the reply of the node at `from`: unless it
/// replied to itself (the request came back round to the entry), the path
/// ends with the direct reply.
pub fn replied(path: &mut Vec<TraceHop>, me: &str, from: &str) {
    if from != me {
        push_bounded(path, TraceHop::new(me, vec![Tag::DirectReply]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chord_proto::trace::{format_path, MAX_PATH};

    #[test]
    fn a_two_hop_path_reads_entry_finger_owner_reply() {
        let mut path = start("a:1");
        forwarded(&mut path, "b:2", Why::Finger(7), false);
        forwarded(&mut path, "c:3", Why::SuccessorList, false);
        owned(&mut path, "c:3");
        replied(&mut path, "a:1", "c:3");
        assert_eq!(
            format_path(&path),
            "a:1 entry, b:2 finger-7, c:3 successor-list owner, a:1 direct-reply"
        );
    }

    #[test]
    fn retries_and_hints_are_tagged() {
        assert_eq!(hop_tags(Why::Successor, true), [Tag::Successor, Tag::Retry]);
        assert_eq!(hop_tags(Why::Hint, false), [Tag::Hint]);
        assert_eq!(hop_tags(Why::Cache, false), [Tag::Cache]);
        // A hop with no reason of its own still says something.
        assert_eq!(hop_tags(Why::Local, false), [Tag::Retry]);
    }

    #[test]
    fn the_entry_running_it_itself_is_entry_and_owner_without_a_reply() {
        assert_eq!(format_path(&here("a:1")), "a:1 entry owner");
        // Routed back round to the entry, which owned it after all.
        let mut path = start("a:1");
        forwarded(&mut path, "b:2", Why::Finger(3), false);
        forwarded(&mut path, "a:1", Why::Hint, false);
        owned(&mut path, "a:1");
        replied(&mut path, "a:1", "a:1");
        assert_eq!(
            format_path(&path),
            "a:1 entry, b:2 finger-3, a:1 hint owner"
        );
    }

    #[test]
    fn a_node_that_gave_up_replies_without_the_owner_tag() {
        let mut path = start("a:1");
        forwarded(&mut path, "b:2", Why::Finger(3), false);
        replied(&mut path, "a:1", "b:2");
        assert_eq!(
            format_path(&path),
            "a:1 entry, b:2 finger-3, a:1 direct-reply"
        );
    }

    #[test]
    fn an_owner_missing_from_the_path_adds_itself_and_the_path_stays_bounded() {
        let mut path = start("a:1");
        owned(&mut path, "c:3");
        assert_eq!(format_path(&path), "a:1 entry, c:3 owner");
        let mut long = start("a:1");
        for i in 0..100 {
            forwarded(&mut long, &format!("n{i}:1"), Why::Successor, false);
        }
        owned(&mut long, "n99:1");
        assert_eq!(long.len(), MAX_PATH);
        let last = long.last().unwrap();
        assert!(last.has(&Tag::Owner) && last.has(&Tag::Truncated));
    }

    #[test]
    fn a_path_from_a_peer_is_cut_to_the_bound() {
        let mut long: Vec<TraceHop> = (0..1000)
            .map(|i| TraceHop::new(format!("n{i}:1"), vec![Tag::Successor]))
            .collect();
        received(&mut long);
        assert_eq!(long.len(), MAX_PATH);
        assert_eq!(long[MAX_PATH - 1].addr, "n999:1");
        let mut short = start("a:1");
        received(&mut short);
        assert_eq!(short, start("a:1"));
    }
}
