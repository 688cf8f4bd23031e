//! Whether a ring formed: straight from the nodes' `/status`, and through
//! `chordctl status` and `check`.

use super::net::{http, json};
use super::Ctl;

/// What a joined node's `/status` says of its place in the ring (ids in
/// lower case). Ordered by id first, so sorting puts a ring in order.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Place {
    /// The node's id.
    pub id: String,
    /// Its predecessor's id.
    pub predecessor: Option<String>,
    /// Its first successor's id.
    pub successor: Option<String>,
    /// The address it advertises.
    pub addr: String,
}

/// The place of the node at `endpoint` once it has joined; `label` names
/// the node in complaints.
pub fn place(endpoint: &str, label: &str) -> Result<Place, String> {
    let (code, body) = http(endpoint, "GET", "/status", None)?;
    if code != 200 {
        return Err(format!("{label}: /status answered {code}"));
    }
    let s = json(&body);
    if s["ready"] != true {
        return Err(format!("{label} has not joined"));
    }
    let id_at = |v: &serde_json::Value| v.as_str().map(str::to_ascii_lowercase);
    Ok(Place {
        id: id_at(&s["id"]).unwrap_or_default(),
        predecessor: id_at(&s["predecessor"]["id"]),
        successor: id_at(&s["successors"][0]["id"]),
        addr: s["addr"].as_str().unwrap_or_default().to_string(),
    })
}

/// Sorts `places` by id and checks that every successor and predecessor
/// is the neighbour in that order.
pub fn in_ring_order(places: &mut [Place]) -> Result<(), String> {
    places.sort();
    let n = places.len();
    for (i, p) in places.iter().enumerate() {
        let want_succ = &places[(i + 1) % n].id;
        let want_pred = &places[(i + n - 1) % n].id;
        if p.successor.as_ref() != Some(want_succ) || p.predecessor.as_ref() != Some(want_pred) {
            return Err(format!(
                "{} ({:.8}): successor {:?} predecessor {:?}, expected {want_succ:.8} and \
                 {want_pred:.8}",
                p.addr, p.id, p.successor, p.predecessor
            ));
        }
    }
    Ok(())
}

/// `chordctl status -o json` parsed, when it exits 0.
pub fn chordctl_status(ctl: &Ctl) -> Result<serde_json::Value, String> {
    let run = ctl.run(&["status", "-o", "json"]);
    if run.code != 0 {
        return Err(format!("status exit {}: {}", run.code, run.stderr.trim()));
    }
    Ok(run.json())
}

/// `chordctl check` finds `keys` keys, none lost.
pub fn check_clean(ctl: &Ctl, keys: u64) {
    let check = ctl
        .run(&["check", "--wait", "60", "-o", "json"])
        .ok("chordctl check")
        .json();
    assert_eq!(check["data"]["keys"].as_u64(), Some(keys), "{check:#}");
    assert_eq!(
        check["data"]["lost"].as_array().map(Vec::len),
        Some(0),
        "{check:#}"
    );
}
