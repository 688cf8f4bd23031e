//! Counterexamples for people: the path replayed from the start world, one
//! action per line, and the world where the property failed.

use crate::checks::settle_rounds;
use crate::explore::Counterexample;
use crate::model::Model;
use std::fmt::Write;

/// Replays `cx` and renders it.
pub fn render(model: &Model, cx: &Counterexample) -> String {
    let mut w = model.initial();
    let mut out = String::new();
    let _ = writeln!(out, "{model:?}");
    let _ = writeln!(out, "start:\n{w}");
    for (k, a) in cx.path.iter().enumerate() {
        let _ = writeln!(out, "{:3}. {}", k + 1, w.describe(*a));
        w.apply(*a);
    }
    let _ = writeln!(out, "reached:\n{w}");
    let v = &cx.violation;
    let _ = writeln!(out, "violates {}: {}", v.property, v.detail);
    if v.detail.contains("settling") || v.property == "Converges" {
        // The failure lies on the fault-free continuation: show where it ends.
        let _ = settle_rounds(&mut w, model.converge_rounds);
        let _ = writeln!(out, "after the fault-free continuation:\n{w}");
    }
    out
}
