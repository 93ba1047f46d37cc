//! The SIMD lane path of the reverse-mode batch likelihood (four sequences of equal length
//! per AVX2 vector, issue 12) against the scalar kernel and brute force.
//!
//! The scalar path is taken by evaluating every sequence in a batch of its own (a lane group
//! needs at least two sequences), so no switch is needed: `lanes` below is one batch, `scalar` the sum
//! of single-sequence batches, both through reverse mode (one fused node per sequence).
//! Where the machine has no AVX2 + FMA both are the scalar kernel and agree exactly.

use crate::hmm_common;

use hmm_common::{brute_log_likelihood, RefModel};
use trellis_ad::{forward, reverse, Scalar, ScalarFn};
use trellis_models::hmm::{self, Sequences};
use trellis_models::{Emission, FusedEmission};

/// Value and every partial of the lane path within this of the scalar kernel's, relative to
/// `1 + |x|` (the lane path's exponential is within 2 ulp of libm's, and it uses fused
/// multiply–adds; the differences seen are ~1e-15).
const TOLERANCE: f64 = 1e-14;

/// Log-densities from a table: step `t` of a sequence observes row `seq[t]`, and
/// `ℓ[t][k] = base[row][k] + θₖ · coef[row]` (`base` may be `-inf`: a structural zero).
/// With `fused`, the reverse-mode fast path with a dense `K × K` Jacobian; without, one tape
/// node per operation.
struct Tab<'a, T> {
    k: usize,
    base: &'a [f64],
    coef: &'a [f64],
    theta: &'a [T],
    fused: bool,
}

impl<T: Scalar> Emission<T> for Tab<'_, T> {
    type Obs = usize;
    fn n_states(&self) -> usize {
        self.k
    }
    fn log_densities(&self, seq: &[usize], t: usize, out: &mut [T]) {
        let row = seq[t];
        for (j, o) in out.iter_mut().enumerate() {
            let b = self.base[row * self.k + j];
            *o = if b == f64::NEG_INFINITY {
                T::constant(b)
            } else {
                self.theta[j] * self.coef[row] + b
            };
        }
    }
    fn fused(&self) -> Option<&dyn FusedEmission<T, Obs = usize>> {
        if self.fused {
            Some(self)
        } else {
            None
        }
    }
}

impl<T: Scalar> FusedEmission<T> for Tab<'_, T> {
    fn parameters(&self, out: &mut Vec<T>) {
        out.extend_from_slice(self.theta);
    }
    fn log_densities_with_jacobian(
        &self,
        seq: &[usize],
        t: usize,
        out: &mut [f64],
        jac: &mut [f64],
    ) {
        let (row, k) = (seq[t], self.k);
        for j in 0..k {
            let b = self.base[row * k + j];
            if b == f64::NEG_INFINITY {
                out[j] = b;
            } else {
                out[j] = self.theta[j].value() * self.coef[row] + b;
                jac[j * k + j] = self.coef[row];
            }
        }
    }
}

/// One random case: `x = [θ (K) | ln π (K) | ln P (K²)]`, the table, the sequences.
struct Case {
    k: usize,
    base: Vec<f64>,
    coef: Vec<f64>,
    data: Sequences<usize>,
    /// Every sequence as a batch of its own (the scalar kernel).
    singles: Vec<Sequences<usize>>,
    x: Vec<f64>,
    fused: bool,
}

impl Case {
    fn eval_on<T: Scalar>(&self, x: &[T], data: &Sequences<usize>) -> T {
        let k = self.k;
        let emission = Tab {
            k,
            base: &self.base,
            coef: &self.coef,
            theta: &x[..k],
            fused: self.fused,
        };
        let (li, lt) = (&x[k..2 * k], &x[2 * k..2 * k + k * k]);
        hmm::batch_log_likelihood(li, lt, &emission, data).unwrap()
    }
}

/// The whole batch at once (lane groups where possible).
struct Lanes<'a>(&'a Case);
/// Each sequence alone (the scalar kernel).
struct Singles<'a>(&'a Case);
/// Brute force over all paths.
struct Brute<'a>(&'a Case);

impl ScalarFn for Lanes<'_> {
    fn eval<T: Scalar>(&self, x: &[T]) -> T {
        self.0.eval_on(x, &self.0.data)
    }
}

impl ScalarFn for Singles<'_> {
    fn eval<T: Scalar>(&self, x: &[T]) -> T {
        let mut total = T::constant(0.0);
        for data in &self.0.singles {
            total += self.0.eval_on(x, data);
        }
        total
    }
}

impl ScalarFn for Brute<'_> {
    fn eval<T: Scalar>(&self, x: &[T]) -> T {
        let c = self.0;
        let k = c.k;
        let emission = Tab {
            k,
            base: &c.base,
            coef: &c.coef,
            theta: &x[..k],
            fused: false,
        };
        let (li, lt) = (&x[k..2 * k], &x[2 * k..2 * k + k * k]);
        let mut total = T::constant(0.0);
        for (s, seq) in c.data.iter().enumerate() {
            let mut le = vec![T::constant(0.0); seq.len() * k];
            for t in 0..seq.len() {
                if !c.data.is_missing(c.data.offsets()[s] + t) {
                    emission.log_densities(seq, t, &mut le[t * k..(t + 1) * k]);
                }
            }
            total += brute_log_likelihood(li, lt, &le, k);
        }
        total
    }
}

/// A small deterministic generator (splitmix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn uniform(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn normal(&mut self) -> f64 {
        (0..12).map(|_| self.uniform()).sum::<f64>() - 6.0
    }
}

/// How a random case is drawn.
#[derive(Clone, Copy)]
struct Shape {
    k: usize,
    n_seqs: usize,
    /// All sequences this long, or ragged lengths in `1..=len` when `ragged`.
    len: usize,
    ragged: bool,
    /// Probability of a missing step, of a structural zero (`-inf` density, zero π or P).
    missing: f64,
    zeros: f64,
    /// Spread of the log-densities (large: peaked steps whose densities underflow).
    spread: f64,
    fused: bool,
}

fn draw(rng: &mut Rng, shape: Shape) -> Case {
    let k = shape.k;
    let rows = 64;
    let mut base = Vec::with_capacity(rows * k);
    for _ in 0..rows {
        let keep = rng.below(k);
        for j in 0..k {
            base.push(if j != keep && rng.uniform() < shape.zeros {
                f64::NEG_INFINITY
            } else {
                shape.spread * rng.normal() - 1.0
            });
        }
    }
    let coef: Vec<f64> = (0..rows).map(|_| rng.normal()).collect();
    let mut seqs = Vec::new();
    for _ in 0..shape.n_seqs {
        let len = if shape.ragged {
            1 + rng.below(shape.len)
        } else {
            shape.len
        };
        seqs.push((0..len).map(|_| rng.below(rows)).collect::<Vec<_>>());
    }
    let missing: Vec<Vec<bool>> = seqs
        .iter()
        .map(|s| s.iter().map(|_| rng.uniform() < shape.missing).collect())
        .collect();
    let data = Sequences::new(seqs.clone())
        .unwrap()
        .with_missing(missing.concat())
        .unwrap();
    let singles = seqs
        .into_iter()
        .zip(missing)
        .map(|(s, m)| Sequences::new(vec![s]).unwrap().with_missing(m).unwrap())
        .collect();
    // Log-probabilities, unnormalised, with some exact zeros (never a whole row).
    let mut x: Vec<f64> = (0..k).map(|_| 0.5 * rng.normal()).collect();
    let mut log_probs = |n: usize| -> Vec<f64> {
        let keep = rng.below(n);
        (0..n)
            .map(|j| {
                if j != keep && rng.uniform() < shape.zeros {
                    f64::NEG_INFINITY
                } else {
                    -2.0 * rng.uniform() - 0.1
                }
            })
            .collect()
    };
    x.extend(log_probs(k));
    for _ in 0..k {
        x.extend(log_probs(k));
    }
    Case {
        k,
        base,
        coef,
        data,
        singles,
        x,
        fused: shape.fused,
    }
}

/// `max |a − b| / (1 + |b|)` over the value and the gradient.
fn worst(a: &(f64, Vec<f64>), b: &(f64, Vec<f64>)) -> f64 {
    let rel = |x: f64, y: f64| {
        if x == y {
            0.0
        } else {
            (x - y).abs() / (1.0 + y.abs())
        }
    };
    a.1.iter()
        .zip(&b.1)
        .fold(rel(a.0, b.0), |w, (&x, &y)| w.max(rel(x, y)))
}

fn lanes_expected() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx2")
            && std::is_x86_feature_detected!("fma")
            && std::env::var_os("TRELLIS_HMM_LANES").map_or(true, |v| v != "0")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Runs `cases` random cases of `shape` (K drawn from `ks`) and compares the lane path with
/// the scalar kernel; returns how many differed in some bit (the lane path was taken).
fn compare(seed: u64, cases: usize, ks: &[usize], shape: Shape) -> usize {
    let mut rng = Rng(seed);
    let (mut differed, mut largest) = (0, 0.0f64);
    for case in 0..cases {
        let shape = Shape {
            k: ks[rng.below(ks.len())],
            fused: rng.below(3) > 0,
            ..shape
        };
        let c = draw(&mut rng, shape);
        let lanes = reverse::value_and_gradient(&Lanes(&c), &c.x);
        let scalar = reverse::value_and_gradient(&Singles(&c), &c.x);
        let w = worst(&lanes, &scalar);
        assert!(
            w <= TOLERANCE,
            "case {case} (K = {}, {} sequences, fused {}): lane vs scalar differ by {w:e}\n\
             lanes {lanes:?}\nscalar {scalar:?}",
            c.k,
            c.data.len(),
            c.fused
        );
        if w > 0.0 {
            differed += 1;
        }
        largest = largest.max(w);
    }
    eprintln!("seed {seed}: {differed} of {cases} cases differed, by at most {largest:e}");
    differed
}

const BASE: Shape = Shape {
    k: 3,
    n_seqs: 9,
    len: 12,
    ragged: false,
    missing: 0.0,
    zeros: 0.0,
    spread: 1.0,
    fused: true,
};

#[test]
fn equal_lengths_match_the_scalar_kernel() {
    let n = 120;
    let differed = compare(
        1,
        n,
        &[1, 2, 3, 4, 5, 6],
        Shape {
            n_seqs: 9, // two groups of four and one sequence on its own
            ..BASE
        },
    );
    if lanes_expected() {
        // K ≤ 4 (two thirds of the cases) take lane groups; their rounding differs.
        assert!(differed >= n / 3, "only {differed} of {n} cases differed");
    } else {
        assert_eq!(differed, 0);
    }
}

#[test]
fn ragged_lengths_missing_steps_and_zeros_match() {
    for (seed, shape) in [
        (
            2,
            Shape {
                ragged: true,
                n_seqs: 11,
                len: 3,
                ..BASE
            },
        ),
        (
            3,
            Shape {
                missing: 0.2,
                n_seqs: 6,
                ..BASE
            },
        ),
        (
            4,
            Shape {
                zeros: 0.3,
                n_seqs: 8,
                len: 15,
                ..BASE
            },
        ),
        (
            5,
            Shape {
                zeros: 0.3,
                missing: 0.15,
                ragged: true,
                n_seqs: 13,
                len: 4,
                ..BASE
            },
        ),
    ] {
        let differed = compare(seed, 60, &[1, 2, 3, 4, 5], shape);
        if lanes_expected() {
            assert!(differed > 0, "seed {seed}: the lane path never ran");
        }
    }
}

#[test]
fn peaked_steps_that_underflow_match() {
    // Log-densities spread over hundreds of nats: weights and densities underflow, the
    // lane groups hand those sequences back to the scalar kernel (and keep the others).
    for (seed, spread) in [(6, 30.0), (7, 300.0), (8, 900.0)] {
        compare(
            seed,
            40,
            &[2, 3, 4],
            Shape {
                spread,
                zeros: 0.2,
                n_seqs: 8,
                len: 20,
                ..BASE
            },
        );
    }
}

#[test]
fn tiny_cases_match_brute_force() {
    let mut rng = Rng(9);
    for case in 0..30 {
        let shape = Shape {
            k: 1 + rng.below(3),
            n_seqs: 4 + rng.below(3),
            len: 1 + rng.below(4),
            zeros: 0.2,
            missing: 0.1,
            fused: rng.below(2) == 0,
            ..BASE
        };
        let c = draw(&mut rng, shape);
        let lanes = reverse::value_and_gradient(&Lanes(&c), &c.x);
        let brute = forward::value_and_gradient(&Brute(&c), &c.x);
        let w = worst(&lanes, &brute);
        assert!(
            w <= 1e-12,
            "case {case}: lanes vs brute force differ by {w:e}\n{lanes:?}\n{brute:?}"
        );
    }
}

#[test]
fn seed_reference_matches_the_scalar_kernel() {
    let seed = hmm::seed_dataset();
    let mut x = vec![seed.emission_signal, seed.emission_noise];
    x.extend(seed.p_initial_state.iter().map(|p| p.ln()));
    x.extend(seed.p_transition.iter().map(|p| p.ln()));
    let whole = RefModel {
        data: seed.sequences.clone(),
    };
    let lanes = reverse::value_and_gradient(&whole, &x);
    let mut scalar = (0.0, vec![0.0; x.len()]);
    for s in 0..seed.sequences.len() {
        let one = RefModel {
            data: Sequences::new(vec![seed.sequences[s].to_vec()]).unwrap(),
        };
        let (v, g) = reverse::value_and_gradient(&one, &x);
        scalar.0 += v;
        for (a, b) in scalar.1.iter_mut().zip(g) {
            *a += b;
        }
    }
    let w = worst(&lanes, &scalar);
    assert!(w <= TOLERANCE, "{w:e}\n{lanes:?}\n{scalar:?}");
}

#[test]
fn same_bits_whatever_the_thread_count() {
    let mut rng = Rng(10);
    // Large enough for the parallel path (work above PARALLEL_MIN_WORK), ragged enough for
    // both lane groups and single sequences.
    let mut c = draw(
        &mut rng,
        Shape {
            n_seqs: 42,
            len: 150,
            zeros: 0.1,
            missing: 0.05,
            ..BASE
        },
    );
    c.singles.clear();
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| reverse::value_and_gradient(&Lanes(&c), &c.x))
    };
    let (one, two) = (run(1), run(2));
    assert_eq!(one.0.to_bits(), two.0.to_bits());
    for (a, b) in one.1.iter().zip(&two.1) {
        assert_eq!(a.to_bits(), b.to_bits());
    }
}
