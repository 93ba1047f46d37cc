//! Missing steps through the batch driver (issue 11): a batch with missing observations runs
//! through the same serial or parallel routes as complete data, and gives
//! - per-sequence values bit-identical to the generic recursion on the emission matrix with
//!   the missing rows set to log-density 0 (the definition of marginalising a step);
//! - the same values and reverse-mode gradients, to the last bit, on one thread and on two
//!   (the batch is large enough to be split);
//! - reverse-mode gradients equal to those of the complete-data batch with the missing rows
//!   zeroed (forward mode, for an independent route), also for a family whose buffers are
//!   not zeroed before it writes them ([`FusedEmission::writes_every_entry`]) evaluated
//!   after another model left its numbers in them.

use trellis_ad::{forward, reverse, Scalar, ScalarFn};
use trellis_models::hmm::{self, Sequences};
use trellis_models::zoo::{Gaussian, SharedSignalGaussian};
use trellis_models::{Emission, FusedEmission};

/// 80 sequences of 60 steps (work above `PARALLEL_MIN_WORK`), every 7th step of each
/// missing (never the first), and a sequence missing all but its first value.
fn data() -> Sequences<f64> {
    data_with_gaps_in(|_| true)
}

/// [`data`] with the missing steps only in the sequences `s` with `gaps(s)`.
fn data_with_gaps_in(gaps: impl Fn(usize) -> bool) -> Sequences<f64> {
    let mut seqs = Vec::new();
    let mut missing = Vec::new();
    for s in 0..80 {
        let seq: Vec<f64> = (0..60)
            .map(|t| ((s * 31 + t * 17) % 23) as f64 * 0.25 - 1.0)
            .collect();
        missing.extend((0..60).map(|t| gaps(s) && t > 0 && (s == 3 || (t + s) % 7 == 0)));
        seqs.push(seq);
    }
    Sequences::new(seqs).unwrap().with_missing(missing).unwrap()
}

/// `(means (3), log sd (3), log p_init (3), log p_trans (9))`.
fn point() -> Vec<f64> {
    let mut x = vec![-0.8, 0.4, 1.9, -0.3, 0.1, -0.5];
    x.extend([0.5f64, 0.3, 0.2].map(f64::ln));
    x.extend([0.8f64, 0.15, 0.05, 0.1, 0.7, 0.2, 0.1, 0.3, 0.6].map(f64::ln));
    x
}

/// The batch log-likelihood of [`point`]'s parameters; with `zeroed`, on complete data whose
/// missing rows are given log-density 0 by hand instead.
struct Batch {
    data: Sequences<f64>,
    zeroed: bool,
    /// The shared-signal family (signal `x[0]`, noise `exp(x[3])`) instead of the Gaussian.
    shared: bool,
}

impl ScalarFn for Batch {
    fn eval<T: Scalar>(&self, x: &[T]) -> T {
        if self.shared {
            let emission = SharedSignalGaussian::new(x[0], x[3].exp(), 3).unwrap();
            return self.log_likelihood(x, &emission);
        }
        let sds: Vec<T> = x[3..6].iter().map(|l| l.exp()).collect();
        self.log_likelihood(x, &Gaussian::new(&x[..3], &sds).unwrap())
    }
}

impl Batch {
    fn log_likelihood<T: Scalar, E: Emission<T, Obs = f64> + Sync>(
        &self,
        x: &[T],
        emission: &E,
    ) -> T {
        let (li, lt) = (&x[6..9], &x[9..18]);
        if !self.zeroed {
            return hmm::batch_log_likelihood(li, lt, emission, &self.data).unwrap();
        }
        let mut total = T::constant(0.0);
        for (s, seq) in self.data.iter().enumerate() {
            let le = zeroed_rows(emission, seq, self.data.missing_of(s).unwrap());
            total += hmm::forward_log_likelihood_generic(li, lt, &le, 3).unwrap();
        }
        total
    }
}

/// The emission matrix of `seq` with the rows of the missing steps set to 0.
fn zeroed_rows<T: Scalar, E: Emission<T, Obs = f64>>(
    e: &E,
    seq: &[f64],
    missing: &[bool],
) -> Vec<T> {
    let mut le = vec![T::constant(0.0); seq.len() * 3];
    for t in (0..seq.len()).filter(|&t| !missing[t]) {
        e.log_densities(seq, t, &mut le[t * 3..t * 3 + 3]);
    }
    le
}

#[test]
fn missing_values_are_the_zeroed_rows_values_serial_and_parallel() {
    let (data, x) = (data(), point());
    let sds: Vec<f64> = x[3..6].iter().map(|l: &f64| l.exp()).collect();
    let emission = Gaussian::new(&x[..3], &sds).unwrap();
    let expected: Vec<f64> = data
        .iter()
        .enumerate()
        .map(|(s, seq)| {
            let le = zeroed_rows(&emission, seq, data.missing_of(s).unwrap());
            hmm::forward_log_likelihood(&x[6..9], &x[9..18], &le, 3).unwrap()
        })
        .collect();
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let got = pool.install(|| {
            hmm::per_sequence_log_likelihood(&x[6..9], &x[9..18], &emission, &data).unwrap()
        });
        assert_eq!(got, expected, "{threads} thread(s)");
    }
}

#[test]
fn missing_gradients_match_zeroed_rows_and_do_not_depend_on_threads() {
    let x = point();
    let masked = Batch {
        data: data(),
        zeroed: false,
        shared: false,
    };
    let by_hand = Batch {
        zeroed: true,
        data: data(),
        shared: false,
    };
    let run = |threads: usize, f: &Batch| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| reverse::value_and_gradient(f, &x))
    };
    let (v1, g1) = run(1, &masked);
    let (v2, g2) = run(2, &masked);
    assert_eq!(v1.to_bits(), v2.to_bits());
    assert_eq!(g1, g2);
    let (vf, gf) = forward::value_and_gradient(&by_hand, &x);
    assert!((v1 - vf).abs() <= 1e-12 * vf.abs(), "{v1} vs {vf}");
    for (i, (a, b)) in g1.iter().zip(&gf).enumerate() {
        assert!((a - b).abs() <= 1e-9 * (1.0 + b.abs()), "∂{i}: {a} vs {b}");
    }
}

#[test]
fn a_family_writing_every_entry_gets_the_zeroed_rows_gradient_from_stale_buffers() {
    let x = point();
    let emission = SharedSignalGaussian::new(x[0], x[3].exp(), 3).unwrap();
    assert!(emission.writes_every_entry());
    // The claim itself: buffers full of NaN have no NaN left after one sequence's call.
    let seq = [0.3, -1.2, 2.5, 0.0, 4.1];
    let (mut values, mut jacobian) = (vec![f64::NAN; 5 * 3], vec![f64::NAN; 5 * 3 * 2]);
    emission.sequence_with_jacobian(&seq, &mut values, &mut jacobian);
    assert!(values.iter().chain(&jacobian).all(|v| v.is_finite()));

    // Gaps in the even sequences only: the odd ones skip the zeroing.
    let masked = Batch {
        data: data_with_gaps_in(|s| s % 2 == 0),
        zeroed: false,
        shared: true,
    };
    let by_hand = Batch {
        data: data_with_gaps_in(|s| s % 2 == 0),
        zeroed: true,
        shared: true,
    };
    // Complete data: its numbers sit where the shared family's missing steps are.
    let gaussian = Batch {
        data: data_with_gaps_in(|_| false),
        zeroed: false,
        shared: false,
    };
    let (vf, gf) = forward::value_and_gradient(&by_hand, &x);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let (v, g) = pool.install(|| {
        // The Gaussian's larger sparse buffers first leave their numbers behind.
        let _ = reverse::value_and_gradient(&gaussian, &x);
        reverse::value_and_gradient(&masked, &x)
    });
    assert!((v - vf).abs() <= 1e-12 * vf.abs(), "{v} vs {vf}");
    for (i, (a, b)) in g.iter().zip(&gf).enumerate() {
        assert!((a - b).abs() <= 1e-9 * (1.0 + b.abs()), "∂{i}: {a} vs {b}");
    }
}
