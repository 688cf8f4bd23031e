//! Latencies in microseconds: an [HdrHistogram](hdrhistogram) for the
//! percentiles (constant memory however long the run, mergeable across
//! workers), beside the exact count, sum, minimum and maximum.
//!
//! The histogram keeps two significant digits: values below 256 are exact,
//! and above, every power of two `[2^e, 2^(e+1))` is split into 128 equal
//! buckets, so a bucket is at most 1/128 of its values wide. A percentile
//! is reported as the upper end of its bucket, clamped to the exact
//! extremes: never below the true value, at most 0.8 % above it.

/// Significant decimal digits the histogram keeps (see the module doc).
const SIGFIG: u8 = 2;

/// Latencies recorded, with their percentiles.
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    /// Counts by bucket; grows (auto-resize) to the largest value recorded.
    buckets: hdrhistogram::Histogram<u64>,
    /// Their sum, for the exact mean (u128: no overflow in any real run).
    sum: u128,
    /// Smallest value (meaningless while nothing is recorded): the
    /// histogram only knows its bucket.
    min: u64,
    /// Largest value, exact for the same reason.
    max: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        let buckets = hdrhistogram::Histogram::new(SIGFIG)
            .expect("2 significant digits is a valid HdrHistogram precision");
        Self {
            buckets,
            sum: 0,
            min: 0,
            max: 0,
        }
    }
}

impl Histogram {
    /// Adds one value.
    pub fn record(&mut self, value: u64) {
        if self.count() == 0 || value < self.min {
            self.min = value;
        }
        self.max = self.max.max(value);
        self.sum += u128::from(value);
        // Growing to u64::MAX takes some 7,400 counters at this precision,
        // so the only error (an index past usize) cannot happen.
        self.buckets
            .record(value)
            .expect("an auto-resizing histogram takes any u64");
    }

    /// Adds every value of `other`.
    pub fn merge(&mut self, other: &Histogram) {
        if other.count() == 0 {
            return;
        }
        if self.count() == 0 || other.min < self.min {
            self.min = other.min;
        }
        self.max = self.max.max(other.max);
        self.sum += other.sum;
        self.buckets
            .add(&other.buckets)
            .expect("an auto-resizing histogram takes every value of another");
    }

    /// Number of values recorded.
    pub fn count(&self) -> u64 {
        self.buckets.len()
    }

    /// Exact mean, if any value was recorded.
    pub fn mean(&self) -> Option<f64> {
        let count = self.count();
        (count > 0).then(|| self.sum as f64 / count as f64)
    }

    /// Exact smallest value.
    pub fn min(&self) -> Option<u64> {
        (self.count() > 0).then_some(self.min)
    }

    /// Exact largest value.
    pub fn max(&self) -> Option<u64> {
        (self.count() > 0).then_some(self.max)
    }

    /// The `p`-th percentile (0 to 100) by nearest rank: the smallest value
    /// `v` such that at least `p` % of the values are `<= v`, up to the
    /// bucket width (see the module doc).
    pub fn percentile(&self, p: f64) -> Option<u64> {
        if self.count() == 0 {
            return None;
        }
        let quantile = p.clamp(0.0, 100.0) / 100.0;
        let value = self.buckets.value_at_quantile(quantile);
        Some(value.clamp(self.min, self.max))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_one_to_a_hundred() {
        let mut h = Histogram::default();
        for v in 1..=100 {
            h.record(v);
        }
        assert_eq!(h.count(), 100);
        assert_eq!(h.percentile(50.0), Some(50));
        assert_eq!(h.percentile(90.0), Some(90));
        assert_eq!(h.percentile(99.0), Some(99));
        assert_eq!(h.percentile(99.9), Some(100));
        assert_eq!(h.percentile(0.0), Some(1));
        assert_eq!(h.percentile(100.0), Some(100));
        assert_eq!(h.mean(), Some(50.5));
        assert_eq!((h.min(), h.max()), (Some(1), Some(100)));
    }

    #[test]
    fn percentiles_of_large_values_are_close_and_never_low() {
        // 1 ms to 1 s in microseconds, in steps of 1 ms.
        let mut h = Histogram::default();
        let values: Vec<u64> = (1..=1000).map(|ms| ms * 1000).collect();
        for &v in &values {
            h.record(v);
        }
        for (p, exact) in [(50.0, 500_000), (90.0, 900_000), (99.0, 990_000)] {
            let got = h.percentile(p).unwrap();
            assert!(got >= exact, "p{p}: {got} < {exact}");
            assert!(
                got as f64 <= exact as f64 * (1.0 + 1.0 / 128.0),
                "p{p}: {got} vs {exact}"
            );
        }
        assert_eq!(h.percentile(100.0), Some(1_000_000));
        assert_eq!(h.percentile(0.0), Some(1_000));
    }

    #[test]
    fn extremes_and_mean_are_exact_where_buckets_are_not() {
        // 1001 and 1003 share a bucket (above 256 buckets are wider than 1).
        let mut h = Histogram::default();
        for v in [1001, 1003, 1003] {
            h.record(v);
        }
        assert_eq!((h.min(), h.max()), (Some(1001), Some(1003)));
        assert_eq!(h.mean(), Some(3007.0 / 3.0));
        // Every percentile within the values seen, however wide the bucket.
        for p in [0.0, 50.0, 99.9, 100.0] {
            let got = h.percentile(p).unwrap();
            assert!((1001..=1003).contains(&got), "p{p}: {got}");
        }
    }

    #[test]
    fn the_largest_value_still_counts() {
        let mut h = Histogram::default();
        h.record(5);
        h.record(u64::MAX);
        assert_eq!(h.count(), 2);
        assert_eq!(h.max(), Some(u64::MAX));
        assert_eq!(h.percentile(50.0), Some(5));
        // The histogram's last bucket ends one short of u64::MAX.
        assert!(h.percentile(100.0) >= Some(u64::MAX - 1));
        // What that costs in memory, as the comment in `record` says.
        let counters = h.buckets.distinct_values();
        assert!(counters < 8_000, "{counters} counters");
    }

    #[test]
    fn a_skewed_distribution() {
        // 990 fast requests and 10 slow ones: p99 is still fast, p99.9 slow.
        let mut h = Histogram::default();
        for _ in 0..990 {
            h.record(100);
        }
        for _ in 0..10 {
            h.record(90_000);
        }
        assert_eq!(h.percentile(50.0), Some(100));
        assert_eq!(h.percentile(99.0), Some(100));
        assert_eq!(h.percentile(99.9), Some(90_000));
    }

    #[test]
    fn merging_equals_recording_everything() {
        let (mut a, mut b, mut all) = (
            Histogram::default(),
            Histogram::default(),
            Histogram::default(),
        );
        for v in [5, 700, 12, 3_000_000] {
            a.record(v);
            all.record(v);
        }
        for v in [1, 90_000] {
            b.record(v);
            all.record(v);
        }
        a.merge(&b);
        assert_eq!(a, all);
        for p in [0.0, 50.0, 90.0, 99.9, 100.0] {
            assert_eq!(a.percentile(p), all.percentile(p), "p{p}");
        }
        let mut empty = Histogram::default();
        empty.merge(&Histogram::default());
        assert_eq!(empty.percentile(50.0), None);
        assert_eq!(empty.mean(), None);
        assert_eq!((empty.min(), empty.max()), (None, None));
        empty.merge(&all);
        assert_eq!(empty, all);
    }
}
