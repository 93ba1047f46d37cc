//! The SIMD lane path of covariate-driven transitions (up to four equal-length sequences
//! per AVX2 vector, each with its own design rows) against the scalar covariate kernel.
//!
//! The scalar kernel is taken by evaluating every sequence as a model of its own (a lane
//! group needs at least two sequences), so no switch is needed: `batch` below is the whole
//! data set in one model, `singles` the sum over one-sequence models, both in reverse mode
//! (one fused node per sequence) at the same constrained point. Where the machine has no
//! AVX2 + FMA both are the scalar kernel and agree exactly.

use crate::zoo_common;

use trellis_ad::{reverse, ScalarFn};
use trellis_models::hmm::Sequences;
use trellis_models::zoo::{Covariates, GaussianFamily, HmmModel, StateMasks};
use trellis_models::BayesianModel;
use zoo_common::AsGiven;

/// Value and every partial of the lane path within this of the scalar kernel's, relative to
/// `1 + |x|` (the lane path's exponential is within 2 ulp of libm's and it uses fused
/// multiply–adds; as for the homogeneous lanes in `hmm_lanes.rs`).
const TOLERANCE: f64 = 1e-14;

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
    fn normal(&mut self) -> f64 {
        (0..12).map(|_| self.uniform()).sum::<f64>() - 6.0
    }
}

/// How a random case is drawn.
#[derive(Clone)]
struct Shape {
    k: usize,
    /// Number of covariates (the design vector has one more entry: the intercept).
    covariates: usize,
    lengths: Vec<usize>,
    /// Probability of a missing step.
    missing: f64,
    /// Spread of the unconstrained parameters (large: extreme transition probabilities).
    spread: f64,
    /// Added to every off-diagonal intercept coefficient (e.g. ±700: the scalar code's
    /// shifted softmax, or probabilities below 1e-150).
    intercept: f64,
    /// Multiplies the observations' spread (large: densities that underflow).
    y_scale: f64,
}

const BASE: Shape = Shape {
    k: 3,
    covariates: 2,
    lengths: Vec::new(),
    missing: 0.0,
    spread: 1.0,
    intercept: 0.0,
    y_scale: 1.0,
};

/// Ragged lengths: groups of 4, 3, 2, a single between groups, a group of 4 followed by a
/// single of the same length, sequences of one step.
fn ragged() -> Vec<usize> {
    vec![
        6, 6, 6, 6, 9, 4, 4, 4, 7, 7, 5, 3, 3, 3, 3, 3, 1, 1, 1, 8, 2, 2,
    ]
}

/// The data (observations with missing flags, covariates), one model of all sequences, one
/// model per sequence, and a constrained point.
struct Case {
    batch: HmmModel<GaussianFamily>,
    singles: Vec<HmmModel<GaussianFamily>>,
    x: Vec<f64>,
}

fn model(
    k: usize,
    names: &[String],
    ys: &[Vec<f64>],
    missing: &[Vec<bool>],
    xs: &[Vec<f64>],
) -> HmmModel<GaussianFamily> {
    let n_obs = ys.iter().map(Vec::len).sum();
    let data = Sequences::new(ys.to_vec())
        .unwrap()
        .with_missing(missing.concat())
        .unwrap();
    let covariates = Covariates::new(names.to_vec(), xs.concat(), n_obs).unwrap();
    HmmModel::new(GaussianFamily::new(k), data)
        .unwrap()
        .with_covariates(covariates)
        .unwrap()
}

fn draw(seed: u64, shape: &Shape) -> Case {
    let mut rng = Rng(seed);
    let k = shape.k;
    let names: Vec<String> = (0..shape.covariates).map(|c| format!("x{c}")).collect();
    let mut ys = Vec::new();
    let mut missing = Vec::new();
    let mut xs = Vec::new();
    for &len in &shape.lengths {
        let mut m: Vec<bool> = (0..len).map(|_| rng.uniform() < shape.missing).collect();
        // A model needs one observed value somewhere; keep the first step of each sequence
        // observed now and then so that the data are never empty of observations.
        if m.iter().all(|&x| x) && rng.uniform() < 0.5 {
            m[0] = false;
        }
        ys.push(
            (0..len)
                .map(|_| shape.y_scale * 2.0 * rng.normal())
                .collect(),
        );
        missing.push(m);
        xs.push((0..len * shape.covariates).map(|_| rng.normal()).collect());
    }
    let batch = model(k, &names, &ys, &missing, &xs);
    let singles = (0..ys.len())
        .map(|s| model(k, &names, &ys[s..=s], &missing[s..=s], &xs[s..=s]))
        .collect();
    let layout = batch.layout();
    let u: Vec<f64> = (0..layout.dim())
        .map(|_| shape.spread * rng.normal())
        .collect();
    let mut x = Vec::new();
    layout.constrain(&u, &mut x).unwrap();
    if shape.intercept != 0.0 {
        let index = layout.index_of("transition_coef").expect("coefficients");
        let start = layout.params()[index].constrained_offset;
        let cc = shape.covariates + 1;
        for i in 0..k {
            for j in 0..k {
                if i != j {
                    x[start + (i * k + j) * cc] += shape.intercept;
                }
            }
        }
    }
    Case { batch, singles, x }
}

/// Value and gradient of all sequences at once (lane groups where possible) and the sum of
/// the one-sequence models' (the scalar kernel).
fn both(case: &Case) -> ((f64, Vec<f64>), (f64, Vec<f64>)) {
    let lanes = reverse::value_and_gradient(&AsGiven { model: &case.batch }, &case.x);
    let mut scalar = (0.0, vec![0.0; case.x.len()]);
    for one in &case.singles {
        let (v, g) = reverse::value_and_gradient(&AsGiven { model: one }, &case.x);
        scalar.0 += v;
        for (a, b) in scalar.1.iter_mut().zip(g) {
            *a += b;
        }
    }
    (lanes, scalar)
}

/// The largest difference between value or partial, relative to `1 + |x|`.
fn worst(a: &(f64, Vec<f64>), b: &(f64, Vec<f64>)) -> f64 {
    assert!(a.0.is_finite() && b.0.is_finite(), "{} {}", a.0, b.0);
    std::iter::once((a.0, b.0))
        .chain(a.1.iter().copied().zip(b.1.iter().copied()))
        .map(|(x, y)| (x - y).abs() / (1.0 + y.abs()))
        .fold(0.0, f64::max)
}

fn check(seed: u64, shape: &Shape) -> f64 {
    let case = draw(seed, shape);
    let (lanes, scalar) = both(&case);
    let w = worst(&lanes, &scalar);
    assert!(
        w <= TOLERANCE,
        "seed {seed}, K {}, C {}: {w:e}\n{lanes:?}\n{scalar:?}",
        shape.k,
        shape.covariates + 1
    );
    w
}

#[test]
fn ragged_lengths_every_k_and_design_length_match_the_scalar_kernel() {
    let mut seen = 0.0f64;
    for k in 1..=4 {
        // Design lengths 2 … 5 (5: beyond the lane kernel's 4, every sequence scalar).
        for covariates in 1..=4 {
            for seed in 0..3 {
                let shape = Shape {
                    k,
                    covariates,
                    lengths: ragged(),
                    ..BASE
                };
                seen = seen.max(check(
                    100 * k as u64 + 10 * covariates as u64 + seed,
                    &shape,
                ));
            }
        }
    }
    eprintln!("worst difference {seen:e}");
}

#[test]
fn missing_steps_match_the_scalar_kernel() {
    for seed in 0..6 {
        let shape = Shape {
            missing: 0.3,
            lengths: ragged(),
            ..BASE
        };
        check(seed, &shape);
        // Whole sequences missing too.
        let shape = Shape {
            missing: 0.9,
            ..shape
        };
        check(50 + seed, &shape);
    }
}

#[test]
fn extreme_transitions_and_peaked_densities_match_the_scalar_kernel() {
    for seed in 0..6 {
        // Transition probabilities near 0 and 1, densities that underflow: lanes fall back
        // wherever the scalar recursion would treat a step specially.
        for (spread, y_scale) in [(4.0, 1.0), (1.0, 40.0), (3.0, 15.0)] {
            let shape = Shape {
                spread,
                y_scale,
                lengths: ragged(),
                missing: 0.1,
                ..BASE
            };
            check(seed, &shape);
        }
    }
}

/// Cases where every lane must hand back to the scalar kernel: an `η ≥ 600` (the scalar
/// code's shifted softmax) or a probability below 1e-150 (its log-space route). The
/// results are then those of the scalar kernel to the last bit: the same batch is evaluated
/// by this test binary run again with `TRELLIS_HMM_LANES=0` (read once per process), which
/// prints its results' bits.
#[test]
fn lanes_that_must_fall_back_give_the_scalar_bits() {
    const NAME: &str = "lanes_that_must_fall_back_give_the_scalar_bits";
    let bits = || -> Vec<String> {
        let mut out = Vec::new();
        for intercept in [700.0, -400.0] {
            for seed in 0..3 {
                let shape = Shape {
                    intercept,
                    lengths: vec![5, 5, 5, 5, 3, 3, 3, 4, 4],
                    ..BASE
                };
                let case = draw(seed, &shape);
                let (v, g) = reverse::value_and_gradient(&AsGiven { model: &case.batch }, &case.x);
                assert!(v.is_finite(), "{intercept}: {v}");
                // The lanes really are off the lane path's results: the scalar kernel agrees.
                let (lanes, scalar) = both(&case);
                assert!(worst(&lanes, &scalar) <= TOLERANCE);
                out.push(
                    std::iter::once(v)
                        .chain(g)
                        .map(|x| format!("{:016x}", x.to_bits()))
                        .collect::<Vec<_>>()
                        .join(","),
                );
            }
        }
        out
    };
    if std::env::var_os("TRELLIS_HMM_LANES").is_some_and(|v| v == "0") {
        for line in bits() {
            println!("BITS {line}");
        }
        return;
    }
    // The test's name in the harness: its module path within the test binary, then NAME.
    let full_name = match module_path!().split_once("::") {
        Some((_, module)) => format!("{module}::{NAME}"),
        None => NAME.to_string(),
    };
    let child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", &full_name, "--nocapture", "--test-threads", "1"])
        .env("TRELLIS_HMM_LANES", "0")
        .output()
        .unwrap();
    assert!(child.status.success(), "{child:?}");
    let stdout = String::from_utf8(child.stdout).unwrap();
    let scalar: Vec<String> = stdout
        .lines()
        // (The harness may print the test's name on the same line first.)
        .filter_map(|l| l.find("BITS ").map(|i| l[i + 5..].to_owned()))
        .collect();
    let lanes = bits();
    assert_eq!(scalar.len(), lanes.len(), "{stdout}");
    for (a, b) in lanes.iter().zip(&scalar) {
        assert_eq!(a, b);
    }
}

/// The seed-style shape of the benchmark (70 sequences of 51 steps, K = 3, C = 3).
#[test]
fn benchmark_shape_matches_the_scalar_kernel() {
    let shape = Shape {
        lengths: vec![51; 70],
        ..BASE
    };
    let w = check(7, &shape);
    eprintln!("70 × 51: worst difference {w:e}");
}

/// A masked covariate model (structural zeros) keeps its generic route: the same values
/// whether its sequences are evaluated together or one by one.
#[test]
fn masked_covariate_models_are_unaffected() {
    let shape = Shape {
        lengths: vec![4, 4, 4, 4, 6],
        ..BASE
    };
    let case = draw(3, &shape);
    let masks = || StateMasks {
        initial: vec![true; 3],
        transition: vec![
            vec![true, false, true],
            vec![true, true, true],
            vec![false, true, true],
        ],
    };
    let mask = |m: &HmmModel<GaussianFamily>| m.clone().with_masks(masks()).unwrap();
    let masked = Case {
        batch: mask(&case.batch),
        singles: case.singles.iter().map(mask).collect(),
        x: case.x.clone(),
    };
    // The masked layout may differ; constrain a fresh point for it.
    let layout = masked.batch.layout();
    let mut rng = Rng(11);
    let u: Vec<f64> = (0..layout.dim()).map(|_| rng.normal()).collect();
    let mut x = Vec::new();
    layout.constrain(&u, &mut x).unwrap();
    let masked = Case { x, ..masked };
    let (a, b) = both(&masked);
    assert!(worst(&a, &b) <= 1e-12, "{a:?}\n{b:?}");
    let f = AsGiven {
        model: &masked.batch,
    };
    assert!(f.eval(&masked.x).is_finite());
}

#[test]
fn same_bits_whatever_the_thread_count() {
    // Large enough for the parallel path (work above PARALLEL_MIN_WORK), ragged enough for
    // lane groups and single sequences.
    let mut lengths = Vec::new();
    for i in 0..60 {
        lengths.push(20 + (i / 3) % 7 + if i % 5 == 0 { 1 } else { 0 });
    }
    let shape = Shape {
        lengths,
        missing: 0.05,
        ..BASE
    };
    let case = draw(21, &shape);
    let f = AsGiven { model: &case.batch };
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| reverse::value_and_gradient(&f, &case.x))
    };
    let (one, two) = (run(1), run(2));
    assert_eq!(one.0.to_bits(), two.0.to_bits());
    for (a, b) in one.1.iter().zip(&two.1) {
        assert_eq!(a.to_bits(), b.to_bits());
    }
}
