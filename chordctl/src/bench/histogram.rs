//! A log-linear histogram of non-negative integers (latencies in
//! microseconds), in the manner of HdrHistogram: constant memory however
//! long the run, mergeable across workers, and percentiles within a known
//! relative error.
//!
//! Values below [`SUB`] each have a bucket of their own (exact). Above,
//! every power of two `[2^e, 2^(e+1))` is split into [`SUB`] / 2 equal
//! buckets, so a bucket is at most 1/64 of its values wide. A percentile is
//! reported as the upper end of its bucket, clamped to the largest value
//! seen: never below the true value, at most 1.6 % above it.

/// Bits of linear resolution.
const SUB_BITS: u32 = 7;
/// Values below this have a bucket each, so they are exact.
const SUB: usize = 1 << SUB_BITS;
/// Half of [`SUB`]: buckets per power of two above that.
const HALF: usize = SUB / 2;

/// Counts of values, by bucket.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Histogram {
    /// Count per bucket; grows to the largest bucket used.
    buckets: Vec<u64>,
    /// Values recorded.
    count: u64,
    /// Their sum, for the mean (u128: no overflow in any real run).
    sum: u128,
    /// Smallest value (meaningless while `count` is 0).
    min: u64,
    /// Largest value.
    max: u64,
}

/// The bucket of a value.
fn bucket_of(value: u64) -> usize {
    if value < SUB as u64 {
        return value as usize;
    }
    // value = top << shift, with top in [64, 128): the 7 leading bits.
    let shift = (63 - value.leading_zeros()) - (SUB_BITS - 1);
    let top = (value >> shift) as usize;
    SUB + (shift as usize - 1) * HALF + (top - HALF)
}

/// The largest value that falls in bucket `index`.
fn bucket_high(index: usize) -> u64 {
    if index < SUB {
        return index as u64;
    }
    let shift = ((index - SUB) / HALF + 1) as u32;
    let top = ((index - SUB) % HALF + HALF) as u128;
    // In u128: the last bucket ends at u64::MAX, one below 2^64.
    let high = ((top + 1) << shift) - 1;
    u64::try_from(high).unwrap_or(u64::MAX)
}

impl Histogram {
    /// Adds one value.
    pub fn record(&mut self, value: u64) {
        let index = bucket_of(value);
        if index >= self.buckets.len() {
            self.buckets.resize(index + 1, 0);
        }
        self.buckets[index] += 1;
        if self.count == 0 || value < self.min {
            self.min = value;
        }
        self.max = self.max.max(value);
        self.count += 1;
        self.sum += u128::from(value);
    }

    /// Adds every value of `other`.
    pub fn merge(&mut self, other: &Histogram) {
        if other.count == 0 {
            return;
        }
        if other.buckets.len() > self.buckets.len() {
            self.buckets.resize(other.buckets.len(), 0);
        }
        for (mine, theirs) in self.buckets.iter_mut().zip(&other.buckets) {
            *mine += theirs;
        }
        if self.count == 0 || other.min < self.min {
            self.min = other.min;
        }
        self.max = self.max.max(other.max);
        self.count += other.count;
        self.sum += other.sum;
    }

    /// Number of values recorded.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Exact mean, if any value was recorded.
    pub fn mean(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum as f64 / self.count as f64)
    }

    /// Exact smallest value.
    pub fn min(&self) -> Option<u64> {
        (self.count > 0).then_some(self.min)
    }

    /// Exact largest value.
    pub fn max(&self) -> Option<u64> {
        (self.count > 0).then_some(self.max)
    }

    /// The `p`-th percentile (0 to 100) by nearest rank: the smallest value
    /// `v` such that at least `p` % of the values are `<= v`, up to the
    /// bucket width (see the module doc).
    pub fn percentile(&self, p: f64) -> Option<u64> {
        if self.count == 0 {
            return None;
        }
        let rank = ((p.clamp(0.0, 100.0) / 100.0 * self.count as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (index, &n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return Some(bucket_high(index).clamp(self.min, self.max));
            }
        }
        Some(self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_contiguous_and_narrow() {
        let mut previous_high = None;
        for index in 0..SUB + 40 * HALF {
            let high = bucket_high(index);
            let low = previous_high.map_or(0, |h| h + 1);
            assert_eq!(bucket_of(low), index, "low end of bucket {index}");
            assert_eq!(bucket_of(high), index, "high end of bucket {index}");
            assert!((high - low) as f64 <= low as f64 / 64.0, "bucket {index}");
            previous_high = Some(high);
        }
        assert_eq!(bucket_high(bucket_of(u64::MAX)), u64::MAX);
    }

    #[test]
    fn percentiles_of_one_to_a_hundred() {
        let mut h = Histogram::default();
        for v in 1..=100 {
            h.record(v);
        }
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
            assert!(got as f64 <= exact as f64 * 1.016, "p{p}: {got} vs {exact}");
        }
        assert_eq!(h.percentile(100.0), Some(1_000_000));
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
        let mut empty = Histogram::default();
        empty.merge(&Histogram::default());
        assert_eq!(empty.percentile(50.0), None);
        assert_eq!(empty.mean(), None);
        empty.merge(&all);
        assert_eq!(empty, all);
    }
}
