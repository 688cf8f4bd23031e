//! Which nodes the nemesis may take down (pure): never so many that R nodes
//! in a row on the ring are down at once, since those R are every holder of
//! the range between them, and losing them all loses data by design.

/// Whether taking `candidate` down as well leaves every window of `replicas`
/// consecutive nodes (in ring order, wrapping) with at least one node up.
/// `ring` lists every member in ring order; `down` the ones already down.
pub fn may_take_down(ring: &[String], down: &[String], candidate: &str, replicas: usize) -> bool {
    let n = ring.len();
    if replicas == 0 || n == 0 {
        return true;
    }
    let is_down = |name: &String| name == candidate || down.contains(name);
    if replicas > n {
        // Every node holds every key: one must stay up.
        return ring.iter().any(|m| !is_down(m));
    }
    (0..n).all(|start| (0..replicas).any(|k| !is_down(&ring[(start + k) % n])))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("n{i}")).collect()
    }

    #[test]
    fn r_adjacent_nodes_may_not_be_down_together() {
        let r = ring(6);
        let down = vec!["n1".to_string(), "n2".to_string()];
        assert!(!may_take_down(&r, &down, "n3", 3), "n1 n2 n3 in a row");
        assert!(!may_take_down(&r, &down, "n0", 3), "n0 n1 n2 in a row");
        assert!(may_take_down(&r, &down, "n4", 3), "n4 leaves a gap at n3");
        assert!(may_take_down(&r, &[], "n0", 3));
    }

    #[test]
    fn windows_wrap_round_the_ring() {
        let r = ring(5);
        let down = vec!["n4".to_string(), "n0".to_string()];
        assert!(!may_take_down(&r, &down, "n1", 3));
        assert!(may_take_down(&r, &down, "n2", 3));
    }

    #[test]
    fn a_ring_no_larger_than_r_keeps_one_node_up() {
        let r = ring(2);
        assert!(may_take_down(&r, &[], "n0", 3));
        assert!(!may_take_down(&r, &["n1".to_string()], "n0", 3));
    }
}
