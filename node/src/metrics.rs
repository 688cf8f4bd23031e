//! Prometheus metrics (`GET /metrics`): counters and histograms the data
//! path bumps as it goes, and gauges filled in when a scrape asks.
//!
//! Counts the pure ring state keeps itself ([`crate::ring::RingCounters`])
//! are copied in at scrape time rather than bumped from the driver, so the
//! state machine stays free of I/O and the two can never disagree.

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::OnceLock;

/// A client operation, as a label.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)] // label values are lower case on the wire
pub enum OpLabel {
    /// `GET /kv/{key}`.
    get,
    /// `PUT /kv/{key}`.
    put,
    /// `DELETE /kv/{key}`.
    delete,
}

/// Labels of `chord_requests_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// The operation.
    pub op: OpLabel,
    /// The HTTP status answered.
    pub status: u16,
}

/// Labels of the latency histogram.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OpLabels {
    /// The operation.
    pub op: OpLabel,
}

/// A label with one free-form lower-case value (`kind`, `result`, `what`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    /// The value.
    pub kind: &'static str,
}

/// Every metric this node exports.
pub struct Metrics {
    registry: Registry,
    /// Client requests answered at this node (the entry), by operation and status.
    pub requests: Family<RequestLabels, Counter>,
    /// Client request latency at the entry node, in seconds.
    pub latency: Family<OpLabels, Histogram>,
    /// Hops a client request travelled after the entry node.
    pub hops: Histogram,
    /// Entry-node retries (a lost reply, a node that gave up, an inconclusive answer).
    pub retries: Counter,
    /// Timeouts, by kind: `hop` (a next hop silent past the call timeout),
    /// `reply` (no owner reply within the request timeout), `expired` (a
    /// routed request dropped because it arrived after the entry's deadline).
    pub timeouts: Family<KindLabels, Counter>,
    /// Replica writes sent by this node as owner, by result
    /// (`applied`, `newer`: the holder had a newer version, `failed`).
    pub replica_writes: Family<KindLabels, Counter>,
    /// Anti-entropy repair rounds run.
    pub repair_rounds: Counter,
    /// Entries moved by repair, either way.
    pub repair_keys: Counter,
    /// Bytes of entries moved by repair, either way (keys, values and a
    /// fixed per-entry overhead).
    pub repair_bytes: Counter,
    /// Ring changes seen here, by `kind`: `successor`, `predecessor`.
    pub ring_changes: Family<KindLabels, Counter>,
    /// Routed client requests by what the location cache knew at the entry:
    /// `hit` (it offered the owner), `miss` (it did not), `wrong` (a hit
    /// whose reply came from another owner).
    pub location_cache: Family<KindLabels, Counter>,
    /// Owners' replies received by this node as entry, by how they came:
    /// `inline` (on the first hop's own connection: one exchange) or
    /// `posted` (`POST /chord/reply`, after a longer path).
    pub replies: Family<KindLabels, Counter>,
    /// Reads and deletes this node executed as owner without a live copy of
    /// the key, by `kind`: `authoritative` (no copy, outside the window
    /// after a view change: answered "not found" with no network call) or
    /// `polled` (the other holders were asked: within that window, or the
    /// copy is a tombstone).
    pub owner_misses: Family<KindLabels, Counter>,
    merges: Counter,
    suspected: Counter,
    dropped: Counter,
    routed_in_flight: Gauge,
    keys: Family<KindLabels, Gauge>,
    ring_size: Gauge,
    hot: HotSeries,
}

/// The statuses of a `/kv` answer that succeeded or found no key (the
/// others are rare), whose series [`HotSeries`] keeps.
const HOT_STATUSES: [u16; 2] = [200, 404];

/// Handles of the series every request bumps, taken from their families on
/// first use (a series still appears only once it counts something): a
/// family's lookup hashes the labels under a lock, about 200 instructions,
/// twice per client request (callgrind). A handle shares the family's
/// counter, so a scrape sees one count.
#[derive(Default)]
struct HotSeries {
    /// By operation, then by [`HOT_STATUSES`].
    requests: [[OnceLock<Counter>; HOT_STATUSES.len()]; 3],
    /// By operation.
    latency: [OnceLock<Histogram>; 3],
}

/// What a scrape reads from the node at that moment.
#[derive(Clone, Copy, Debug, Default)]
pub struct Snapshot {
    /// Live keys in this node's range.
    pub owned: usize,
    /// Live keys held for other owners.
    pub replica: usize,
    /// Tombstones held.
    pub tombstones: usize,
    /// The ring's size as this node estimates it.
    pub ring_size: u64,
    /// Routed requests being handled now.
    pub routed_in_flight: usize,
    /// The ring state's own counts.
    pub ring: crate::ring::RingCounters,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// Every metric at zero, registered under the `chord_` prefix.
    pub fn new() -> Metrics {
        let mut m = Metrics {
            registry: Registry::with_prefix("chord"),
            requests: Family::default(),
            // 0.5 ms to ~16 s: loopback hops to a request that waited out
            // timeouts and a retry.
            latency: Family::new_with_constructor(|| {
                Histogram::new(exponential_buckets(0.0005, 2.0, 16))
            }),
            hops: Histogram::new((0..=12).map(f64::from)),
            retries: Counter::default(),
            timeouts: Family::default(),
            replica_writes: Family::default(),
            repair_rounds: Counter::default(),
            repair_keys: Counter::default(),
            repair_bytes: Counter::default(),
            ring_changes: Family::default(),
            location_cache: Family::default(),
            replies: Family::default(),
            owner_misses: Family::default(),
            merges: Counter::default(),
            suspected: Counter::default(),
            dropped: Counter::default(),
            routed_in_flight: Gauge::default(),
            keys: Family::default(),
            ring_size: Gauge::default(),
            hot: HotSeries::default(),
        };
        let r = &mut m.registry;
        r.register(
            "requests",
            "Client requests answered by this node as entry, by operation and HTTP status",
            m.requests.clone(),
        );
        r.register(
            "request_duration_seconds",
            "Client request latency at the entry node",
            m.latency.clone(),
        );
        r.register(
            "request_hops",
            "Hops a client request travelled after the entry node",
            m.hops.clone(),
        );
        r.register(
            "routed_in_flight",
            "Routed requests this node is handling now",
            m.routed_in_flight.clone(),
        );
        r.register(
            "retries",
            "Entry-node retries of a client request",
            m.retries.clone(),
        );
        r.register(
            "timeouts",
            "Timeouts by kind: hop (a next hop silent past the call timeout), reply (no owner reply in time), expired (a routed request that arrived after the entry's deadline, dropped)",
            m.timeouts.clone(),
        );
        r.register(
            "replica_writes",
            "Replica writes sent as owner, by result (applied, newer, failed)",
            m.replica_writes.clone(),
        );
        r.register(
            "repair_rounds",
            "Anti-entropy repair rounds run",
            m.repair_rounds.clone(),
        );
        r.register(
            "repair_keys_moved",
            "Entries moved by repair, either way",
            m.repair_keys.clone(),
        );
        r.register(
            "repair_bytes_moved",
            "Bytes of entries moved by repair, either way",
            m.repair_bytes.clone(),
        );
        r.register(
            "location_cache",
            "Routed client requests by what the entry's location cache knew: hit, miss, wrong (a hit answered by another owner)",
            m.location_cache.clone(),
        );
        r.register(
            "replies",
            "Owners' replies received as entry, by how they came: inline (on the first hop's connection), posted (POST /chord/reply)",
            m.replies.clone(),
        );
        r.register(
            "ring_changes",
            "Changes of this node's successor or predecessor",
            m.ring_changes.clone(),
        );
        r.register(
            "owner_misses",
            "Owner reads and deletes without a live copy, by kind: authoritative (not found with no network call), polled (the other holders were asked)",
            m.owner_misses.clone(),
        );
        r.register(
            "ring_merges",
            "Merge lookups that found a node of another ring (a split being healed)",
            m.merges.clone(),
        );
        r.register(
            "peers_suspected",
            "Misses counted against peers (at most one per peer and maintenance tick)",
            m.suspected.clone(),
        );
        r.register(
            "peers_dropped",
            "Peers forgotten as dead",
            m.dropped.clone(),
        );
        r.register(
            "keys",
            "Keys held here, by kind: owned, replica, tombstone",
            m.keys.clone(),
        );
        r.register(
            "ring_size_estimate",
            "The ring's size as this node estimates it from its successor list",
            m.ring_size.clone(),
        );
        m
    }

    /// Counts one answered client request.
    pub fn request(&self, op: OpLabel, status: u16, seconds: f64, hops: u32) {
        // A match, so a new operation cannot compile without its slot.
        let i = match op {
            OpLabel::get => 0,
            OpLabel::put => 1,
            OpLabel::delete => 2,
        };
        let labels = RequestLabels { op, status };
        match HOT_STATUSES.iter().position(|s| *s == status) {
            Some(j) => self.hot.requests[i][j]
                .get_or_init(|| self.requests.get_or_create(&labels).clone())
                .inc(),
            None => self.requests.get_or_create(&labels).inc(),
        };
        self.hot.latency[i]
            .get_or_init(|| self.latency.get_or_create(&OpLabels { op }).clone())
            .observe(seconds);
        self.hops.observe(f64::from(hops));
    }

    /// Bumps a counter of a `kind`-labelled family.
    pub fn count(family: &Family<KindLabels, Counter>, kind: &'static str) {
        family.get_or_create(&KindLabels { kind }).inc();
    }

    /// The text exposition, with the gauges and ring counts set from `now`.
    pub fn render(&self, now: &Snapshot) -> String {
        let gauge = |kind, v: usize| {
            self.keys
                .get_or_create(&KindLabels { kind })
                .set(i64::try_from(v).unwrap_or(i64::MAX));
        };
        gauge("owned", now.owned);
        gauge("replica", now.replica);
        gauge("tombstone", now.tombstones);
        self.ring_size
            .set(i64::try_from(now.ring_size).unwrap_or(i64::MAX));
        self.routed_in_flight
            .set(i64::try_from(now.routed_in_flight).unwrap_or(i64::MAX));
        // Counters only go up: catch up to the ring state's counts (a max,
        // so two scrapes at once cannot both add the difference).
        let catch_up = |c: &Counter, to: u64| {
            c.inner()
                .fetch_max(to, std::sync::atomic::Ordering::Relaxed);
        };
        catch_up(&self.merges, now.ring.merges);
        catch_up(&self.suspected, now.ring.suspected);
        catch_up(&self.dropped, now.ring.dropped);
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// Series that are one reading of the ring, not a per-position amount: the
/// node's text takes their largest value instead of a sum.
const NOT_SUMMED: [&str; 1] = ["chord_ring_size_estimate"];

/// One text exposition out of several positions' (see `crate::host`): each
/// series' values summed (counters, key gauges, histogram buckets, sums and
/// counts all add up), a series any position has appears once, families and
/// series in the order first seen. `NOT_SUMMED` series take the largest.
pub fn sum_expositions(texts: &[String]) -> String {
    if let [one] = texts {
        return one.clone();
    }
    /// A family: its `# HELP`/`# TYPE` lines and its series by name+labels.
    #[derive(Default)]
    struct Family {
        header: Vec<String>,
        series: Vec<(String, f64, bool)>,
    }
    let mut families: Vec<Family> = Vec::new();
    let mut by_header: std::collections::HashMap<String, usize> = Default::default();
    for text in texts {
        let mut current: Option<usize> = None;
        let mut header: Vec<String> = Vec::new();
        for line in text.lines() {
            if line == "# EOF" {
                continue;
            }
            if line.starts_with('#') {
                if current.is_some() {
                    header.clear();
                    current = None;
                }
                header.push(line.to_string());
                continue;
            }
            let f = *current.get_or_insert_with(|| {
                let key = header.join("\n");
                *by_header.entry(key).or_insert_with(|| {
                    families.push(Family {
                        header: header.clone(),
                        series: Vec::new(),
                    });
                    families.len() - 1
                })
            });
            let Some((name, value)) = line.rsplit_once(' ') else {
                continue;
            };
            let v: f64 = value.parse().unwrap_or(0.0);
            let float = value.contains(['.', 'e', 'E', 'N', 'n']);
            let keep_max = NOT_SUMMED.iter().any(|n| name.starts_with(n));
            let series = &mut families[f].series;
            match series.iter_mut().find(|(n, _, _)| n == name) {
                Some((_, total, was_float)) => {
                    *total = if keep_max { total.max(v) } else { *total + v };
                    *was_float |= float;
                }
                None => series.push((name.to_string(), v, float)),
            }
        }
    }
    let mut out = String::new();
    for f in &families {
        for h in &f.header {
            out.push_str(h);
            out.push('\n');
        }
        for (name, v, float) in &f.series {
            let value = if !*float {
                format!("{}", *v as i64)
            } else if v.is_infinite() {
                (if *v > 0.0 { "+Inf" } else { "-Inf" }).to_string()
            } else if v.fract() == 0.0 && v.abs() < 1e15 {
                format!("{v:.1}")
            } else {
                format!("{v}")
            };
            out.push_str(&format!("{name} {value}\n"));
        }
    }
    out.push_str("# EOF\n");
    out
}

/// The ring's size estimated from a successor list: `k` successors spread
/// over `span` of the id circle means about `k · 2^160 / span` nodes
/// (uniform SHA-1 ids). At least the nodes actually known; exactly them
/// when the list is not full (it then holds the whole ring).
pub fn estimate_ring_size(known: usize, list_full: bool, span_fraction: f64) -> u64 {
    let known = known as u64;
    if !list_full || known <= 1 || span_fraction <= 0.0 {
        return known.max(1);
    }
    // `known` counts this node too: k successors cover k gaps.
    let est = ((known - 1) as f64 / span_fraction).round() as u64;
    est.max(known)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_expositions_add_up_series_by_series() {
        let a = "# HELP x_total X.\n# TYPE x counter\nx_total{op=\"get\"} 2\n\
                 # TYPE h histogram\nh_sum 0.5\nh_count 1\n\
                 # TYPE chord_ring_size_estimate gauge\nchord_ring_size_estimate 30\n# EOF\n";
        let b =
            "# HELP x_total X.\n# TYPE x counter\nx_total{op=\"put\"} 1\nx_total{op=\"get\"} 3\n\
                 # TYPE h histogram\nh_sum 1.5\nh_count 2\n\
                 # TYPE chord_ring_size_estimate gauge\nchord_ring_size_estimate 34\n# EOF\n";
        let sum = sum_expositions(&[a.to_string(), b.to_string()]);
        assert_eq!(
            sum,
            "# HELP x_total X.\n# TYPE x counter\nx_total{op=\"get\"} 5\nx_total{op=\"put\"} 1\n\
             # TYPE h histogram\nh_sum 2.0\nh_count 3\n\
             # TYPE chord_ring_size_estimate gauge\nchord_ring_size_estimate 34\n# EOF\n"
        );
        assert_eq!(sum_expositions(&[a.to_string()]), a);
    }

    #[test]
    fn a_scrape_shows_counts_and_gauges() {
        let m = Metrics::new();
        m.request(OpLabel::get, 404, 0.002, 1);
        m.request(OpLabel::get, 404, 0.004, 2);
        m.request(OpLabel::put, 200, 0.010, 0);
        // A status without a kept handle goes through the family.
        m.request(OpLabel::get, 503, 0.001, 0);
        Metrics::count(&m.timeouts, "hop");
        let ring = crate::ring::RingCounters {
            suspected: 3,
            dropped: 1,
            merges: 2,
        };
        let snap = Snapshot {
            owned: 5,
            replica: 7,
            tombstones: 1,
            ring_size: 16,
            routed_in_flight: 2,
            ring,
        };
        let text = m.render(&snap);
        for line in [
            r#"chord_requests_total{op="get",status="404"} 2"#,
            r#"chord_requests_total{op="put",status="200"} 1"#,
            r#"chord_requests_total{op="get",status="503"} 1"#,
            r#"chord_request_duration_seconds_count{op="get"} 3"#,
            "chord_request_hops_sum 3.0",
            r#"chord_timeouts_total{kind="hop"} 1"#,
            r#"chord_keys{kind="owned"} 5"#,
            r#"chord_keys{kind="replica"} 7"#,
            r#"chord_keys{kind="tombstone"} 1"#,
            "chord_ring_size_estimate 16",
            "chord_routed_in_flight 2",
            "chord_peers_suspected_total 3",
            "chord_peers_dropped_total 1",
            "chord_ring_merges_total 2",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
        // Series appear once they count something, as before handles.
        assert!(!text.contains(r#"op="delete""#), "{text}");
        assert!(!text.contains(r#"status="201""#), "{text}");
        // A second scrape does not count the ring's totals twice.
        let again = m.render(&snap);
        assert!(again.lines().any(|l| l == "chord_peers_suspected_total 3"));
        assert!(text.ends_with("# EOF\n"));
    }

    #[test]
    fn ring_size_estimates() {
        // 3 successors spread over a quarter of the circle: ~12 nodes.
        assert_eq!(estimate_ring_size(4, true, 0.25), 12);
        // A list that is not full is the whole ring.
        assert_eq!(estimate_ring_size(4, false, 0.25), 4);
        // Never fewer than known; a lone node is one.
        assert_eq!(estimate_ring_size(4, true, 1.0), 4);
        assert_eq!(estimate_ring_size(1, false, 0.0), 1);
    }
}
