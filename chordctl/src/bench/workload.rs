//! What to send next: the operation, the key, and the value. Pure: every
//! choice takes the caller's RNG, so a seeded RNG gives the same sequence.

use std::time::Duration;

use rand::Rng;
use rand_distr::{Distribution, Zipf};

use super::args::{BenchPlan, Dist};

/// One kind of request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BenchOp {
    /// `GET /kv/{key}`.
    Get,
    /// `PUT /kv/{key}` with the benchmark value.
    Put,
}

/// The name of key number `index`.
pub fn key_name(index: u64) -> String {
    format!("bench-{index}")
}

/// A JSON string of exactly `size` bytes, quotes included (`size` >= 2).
pub fn value_body(size: usize) -> String {
    assert!(size >= 2, "a JSON string needs at least its two quotes");
    format!("\"{}\"", "x".repeat(size - 2))
}

/// Picks key indexes in `0..n`.
#[derive(Debug, Clone)]
pub enum KeyDist {
    /// Every index equally often.
    Uniform {
        /// Number of keys.
        n: u64,
    },
    /// Index `k` with probability proportional to `1 / (k+1)^s`.
    Zipf {
        /// Ranks `1..=n`, rank `r` standing for index `r - 1`.
        ranks: Zipf<f64>,
        /// Number of keys.
        n: u64,
    },
}

impl KeyDist {
    /// The distribution over `n` keys (`n` >= 1).
    ///
    /// Zipf samples by rejection (rand_distr's [`Zipf`]): constant memory
    /// and time whatever the number of keys.
    pub fn new(dist: Dist, n: u64) -> Self {
        assert!(n >= 1, "at least one key");
        match dist {
            Dist::Uniform => KeyDist::Uniform { n },
            Dist::Zipf(s) => KeyDist::Zipf {
                ranks: Zipf::new(n as f64, s)
                    .expect("validated plans have an exponent above 0 and a key"),
                n,
            },
        }
    }

    /// The next key index.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> u64 {
        match self {
            KeyDist::Uniform { n } => rng.random_range(0..*n),
            // A rank is a whole number in [1, n] held in a float; the clamp
            // only guards its conversion.
            KeyDist::Zipf { ranks, n } => (ranks.sample(rng) as u64).clamp(1, *n) - 1,
        }
    }
}

/// The operation mix and the key distribution of a run.
#[derive(Debug, Clone)]
pub struct Workload {
    /// Probability that a request is a get.
    get_ratio: f64,
    /// How keys are picked.
    keys: KeyDist,
}

impl Workload {
    /// The workload a plan describes.
    pub fn new(plan: &BenchPlan) -> Self {
        Self {
            get_ratio: plan.get_ratio,
            keys: KeyDist::new(plan.dist, plan.keys),
        }
    }

    /// The next request: an operation and a key index.
    pub fn next<R: Rng + ?Sized>(&self, rng: &mut R) -> (BenchOp, u64) {
        let op = if self.get_ratio >= 1.0 || rng.random::<f64>() < self.get_ratio {
            BenchOp::Get
        } else {
            BenchOp::Put
        };
        (op, self.keys.sample(rng))
    }
}

/// Open-loop slots due within `window`: slot `i` is due at `i / rate`.
pub fn due_slots(rate: f64, window: Duration) -> u64 {
    (window.as_secs_f64() * rate).ceil() as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn counts(dist: &KeyDist, n: usize, draws: usize, seed: u64) -> Vec<usize> {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut counts = vec![0; n];
        for _ in 0..draws {
            counts[dist.sample(&mut rng) as usize] += 1;
        }
        counts
    }

    #[test]
    fn open_loop_slots_due_in_a_window() {
        assert_eq!(due_slots(200.0, Duration::from_secs(3)), 600);
        assert_eq!(due_slots(0.5, Duration::from_secs(3)), 2);
        assert_eq!(due_slots(1000.0, Duration::from_millis(1500)), 1500);
    }

    #[test]
    fn values_are_json_strings_of_the_exact_size() {
        for size in [2, 3, 100, 4096] {
            let v = value_body(size);
            assert_eq!(v.len(), size);
            assert!(serde_json::from_str::<String>(&v).is_ok(), "{v}");
        }
    }

    #[test]
    fn zipf_frequencies_follow_the_law() {
        let (n, draws) = (100, 200_000);
        let dist = KeyDist::new(Dist::Zipf(1.0), n as u64);
        let counts = counts(&dist, n, draws, 42);
        let harmonic: f64 = (1..=n).map(|k| 1.0 / k as f64).sum();
        // The head, where the counts are large enough to compare closely.
        for (k, &count) in counts.iter().enumerate().take(10) {
            let want = 1.0 / ((k + 1) as f64 * harmonic);
            let got = count as f64 / draws as f64;
            assert!(
                (got - want).abs() < 0.1 * want,
                "key {k}: frequency {got:.4}, expected {want:.4}"
            );
        }
        // Key 0 about twice as often as key 1, ten times as key 9.
        let ratio = counts[0] as f64 / counts[1] as f64;
        assert!((1.8..2.2).contains(&ratio), "ratio {ratio}");
        let ratio = counts[0] as f64 / counts[9] as f64;
        assert!((8.5..11.5).contains(&ratio), "ratio {ratio}");
        // Every key is reachable, the tail included.
        assert!(counts.iter().all(|&c| c > 0), "{counts:?}");
    }

    #[test]
    fn a_larger_exponent_concentrates_on_the_head() {
        let mild = counts(&KeyDist::new(Dist::Zipf(0.5), 1000), 1000, 50_000, 1);
        let steep = counts(&KeyDist::new(Dist::Zipf(2.0), 1000), 1000, 50_000, 1);
        // With s = 2, key 0 has probability 1/zeta(2) ~ 0.61.
        let share = steep[0] as f64 / 50_000.0;
        assert!((0.58..0.64).contains(&share), "share {share}");
        assert!(mild[0] < steep[0]);
    }

    #[test]
    fn uniform_spreads_evenly() {
        let counts = counts(&KeyDist::new(Dist::Uniform, 10), 10, 100_000, 3);
        for (k, &c) in counts.iter().enumerate() {
            assert!((9_000..11_000).contains(&c), "key {k}: {c}");
        }
    }

    #[test]
    fn one_key_is_always_key_zero() {
        let mut rng = StdRng::seed_from_u64(5);
        for dist in [Dist::Uniform, Dist::Zipf(1.0)] {
            let d = KeyDist::new(dist, 1);
            assert!((0..100).all(|_| d.sample(&mut rng) == 0));
        }
    }

    #[test]
    fn the_mix_follows_the_ratio_and_the_seed() {
        let plan = |get_ratio| BenchPlan {
            ops: super::super::args::OpsArg::Mixed,
            get_ratio,
            keys: 50,
            value_size: 10,
            dist: Dist::Uniform,
            concurrency: 1,
            duration: std::time::Duration::from_secs(1),
            rate: None,
            preload: true,
            request_timeout: std::time::Duration::from_secs(1),
            seed: 0,
            targets: Vec::new(),
        };
        let w = Workload::new(&plan(0.9));
        let draw = |seed| {
            let mut rng = StdRng::seed_from_u64(seed);
            (0..10_000).map(|_| w.next(&mut rng)).collect::<Vec<_>>()
        };
        let a = draw(9);
        assert_eq!(a, draw(9), "same seed, same sequence");
        let gets = a.iter().filter(|(op, _)| *op == BenchOp::Get).count();
        assert!((8_800..9_200).contains(&gets), "{gets} gets");
        let mut rng = StdRng::seed_from_u64(1);
        let all_puts = Workload::new(&plan(0.0));
        assert!((0..1000).all(|_| all_puts.next(&mut rng).0 == BenchOp::Put));
        let all_gets = Workload::new(&plan(1.0));
        assert!((0..1000).all(|_| all_gets.next(&mut rng).0 == BenchOp::Get));
    }
}
