//! The functions of the lean-tape comparison (issue 12, part 4), shared by the criterion
//! bench `tape_lean.rs` and the instruction-count driver `src/bin/tape_cost.rs`: each as a
//! hand-written `f64` gradient and as tape code in several styles, in one table of cases.
//!
//! - `rosenbrock` (n = 1000): extended Rosenbrock.
//! - `hierarchical` (100 groups): a non-centred hierarchical normal, `μ ~ N(0, 5)`,
//!   `τ ~ half-Cauchy(0, 5)` (sampled as `log τ`, with its Jacobian), `ηⱼ ~ N(0, 1)`,
//!   `yⱼ ~ N(μ + τ ηⱼ, σⱼ)`; 102 parameters.
//! - `logistic` (N = 1000, D = 10): a logistic-regression log-likelihood.
//! - `hmm_naive` (the seed data, 70 × 51, K = 3): the HMM written naively in log space,
//!   against the benches' scaled forward–backward yardstick.
//!
//! Variants: `hand` (hand-written gradient); `tape` (scalar user code; the logistic
//! regression's predictor through `weighted_sum`); `tape_slices` (array-style with the
//! one-node slice operations: `sum_of_squares`, `sum_log_logistic`, and for the HMM
//! `log_sum_exp_of_sums` + `normal_ln_pdf`); `tape_map` (the elementwise terms through one
//! `sum_map` node); `tape_fused` (the logistic regression as one
//! `sum_log_logistic_of_linear` node).

use trellis_ad::{reverse, scratch, ElementwiseFn, MapArg, Scalar, ScalarFn};
use trellis_benches::gradient_functions::{rosenbrock_hand, rosenbrock_point, Rosenbrock};
use trellis_benches::hand_written::HandWrittenHmm;
use trellis_models::hmm::{self, Sequences};

const HALF_LN_2PI: f64 = 0.918_938_533_204_672_8;

/// One value + gradient evaluation: writes the gradient, returns the value.
pub type Evaluate = Box<dyn FnMut(&[f64], &mut [f64]) -> f64>;

/// One function in one style, ready to run.
pub struct Case {
    /// The function (`rosenbrock`, `hierarchical`, `logistic`, `hmm_naive`).
    pub function: &'static str,
    /// Its size, as criterion's parameter.
    pub size: &'static str,
    /// `hand`, `tape`, `tape_slices`, `tape_map` or `tape_fused`.
    pub variant: &'static str,
    /// The point.
    pub x: Vec<f64>,
    pub evaluate: Evaluate,
}

impl Case {
    /// `function/variant`, the name the cost driver takes.
    pub fn name(&self) -> String {
        format!("{}/{}", self.function, self.variant)
    }
}

/// Reverse-mode value and gradient of `f`.
fn tape(f: impl ScalarFn + 'static) -> Evaluate {
    Box::new(move |x, g| reverse::value_and_gradient_into(&f, x, g))
}

/// Every case, in bench order (each function's `hand` first, then its `tape`).
pub fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    let mut add = |function, size, x: &Vec<f64>, variants: Vec<(&'static str, Evaluate)>| {
        for (variant, evaluate) in variants {
            cases.push(Case {
                function,
                size,
                variant,
                x: x.clone(),
                evaluate,
            });
        }
    };

    add(
        "rosenbrock",
        "1000",
        &rosenbrock_point(1000),
        vec![
            ("hand", Box::new(rosenbrock_hand)),
            ("tape", tape(Rosenbrock)),
            ("tape_slices", tape(RosenbrockSlices)),
            ("tape_map", tape(RosenbrockMap)),
        ],
    );

    let model = Hierarchical::new(100);
    let hand = model.clone();
    add(
        "hierarchical",
        "100",
        &model.point(),
        vec![
            ("hand", Box::new(move |x, g| hand.hand(x, g))),
            ("tape", tape(model.clone())),
            ("tape_slices", tape(HierarchicalSlices(model.clone()))),
            ("tape_map", tape(HierarchicalMap(model))),
        ],
    );

    let model = Logistic::new(1000, 10);
    let hand = model.clone();
    let signed = model.signed_rows();
    add(
        "logistic",
        "1000x10",
        &model.point(),
        vec![
            ("hand", Box::new(move |x, g| hand.hand(x, g))),
            ("tape", tape(model)),
            ("tape_slices", tape(LogisticSlices(signed.clone()))),
            ("tape_fused", tape(LogisticFused(signed.concat()))),
        ],
    );

    let (x, mut hand, naive) = seed_hmm();
    add(
        "hmm_naive",
        "seed",
        &x,
        vec![
            ("hand", Box::new(move |x, g| hand.value_and_gradient(x, g))),
            ("tape", tape(NaiveHmm(naive.clone()))),
            ("tape_slices", tape(NaiveHmmSlices(naive))),
        ],
    );
    cases
}

/// The hand-written gradients are the yardstick only if they are right, and every tape
/// variant must be the same function: each case against its function's `tape` case, once,
/// before anything is timed or counted.
pub fn check_cases(cases: &mut [Case]) {
    let results: Vec<(f64, Vec<f64>)> = cases
        .iter_mut()
        .map(|case| {
            let mut g = vec![0.0; case.x.len()];
            ((case.evaluate)(&case.x, &mut g), g)
        })
        .collect();
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * (1.0 + b.abs());
    for (case, (v, g)) in cases.iter().zip(&results) {
        let (tv, tg) = cases
            .iter()
            .zip(&results)
            .find(|(c, _)| c.function == case.function && c.variant == "tape")
            .map(|(_, result)| result)
            .expect("every function has a tape case");
        assert!(close(*v, *tv), "{}: value {v} vs tape {tv}", case.name());
        for (i, (a, b)) in g.iter().zip(tg).enumerate() {
            assert!(
                close(*a, *b),
                "{}: component {i}: {a} vs tape {b}",
                case.name()
            );
        }
    }
}

/// Extended Rosenbrock array-style: two sums of squares.
struct RosenbrockSlices;
impl ScalarFn for RosenbrockSlices {
    fn eval<T: Scalar>(&self, x: &[T]) -> T {
        scratch::with_vec(|a: &mut Vec<T>| {
            scratch::with_vec(|b: &mut Vec<T>| {
                for i in 0..x.len() - 1 {
                    a.push(x[i + 1] - x[i] * x[i]);
                    b.push(x[i] - 1.0);
                }
                T::sum_of_squares(a) * 100.0 + T::sum_of_squares(b)
            })
        })
    }
}

/// One Rosenbrock term `100 (b - a²)² + (1 - a)²` of `(a, b) = (xᵢ, xᵢ₊₁)`.
struct RosenbrockTerm;
impl ElementwiseFn<2> for RosenbrockTerm {
    #[inline]
    fn eval<T: Scalar>(&self, [a, b]: [T; 2]) -> T {
        let r = b - a * a;
        let s = -a + 1.0;
        r * r * 100.0 + s * s
    }
    #[inline]
    fn value_and_partials(&self, [a, b]: [f64; 2]) -> (f64, [f64; 2]) {
        let r = b - a * a;
        let s = 1.0 - a;
        (r * r * 100.0 + s * s, [-400.0 * r * a - 2.0 * s, 200.0 * r])
    }
}

/// Extended Rosenbrock as one `sum_map` over the pairs `(xᵢ, xᵢ₊₁)`.
struct RosenbrockMap;
impl ScalarFn for RosenbrockMap {
    fn eval<T: Scalar>(&self, x: &[T]) -> T {
        let n = x.len();
        T::sum_map(
            &RosenbrockTerm,
            [MapArg::Each(&x[..n - 1]), MapArg::Each(&x[1..])],
        )
    }
}

/// The non-centred hierarchical normal; parameters `(μ, log τ, η₁ … η_J)`.
#[derive(Clone)]
struct Hierarchical {
    y: Vec<f64>,
    sigma: Vec<f64>,
}

impl Hierarchical {
    fn new(groups: usize) -> Self {
        let y = (0..groups)
            .map(|j| 3.0 + 4.0 * (j as f64 * 0.37).sin())
            .collect();
        let sigma = (0..groups)
            .map(|j| 1.0 + 0.5 * (j as f64 * 0.11).cos().abs())
            .collect();
        Self { y, sigma }
    }

    fn point(&self) -> Vec<f64> {
        let mut x = vec![1.2, 0.4];
        x.extend((0..self.y.len()).map(|j| 0.8 * (j as f64 * 0.53).cos()));
        x
    }

    fn hand(&self, x: &[f64], grad: &mut [f64]) -> f64 {
        let (mu, log_tau) = (x[0], x[1]);
        let tau = log_tau.exp();
        // Priors: μ ~ N(0, 5), τ ~ half-Cauchy(0, 5) with the Jacobian of log τ.
        let r = tau / 5.0;
        let mut lp = -0.5 * (mu / 5.0) * (mu / 5.0) - (r * r).ln_1p() + log_tau;
        let mut d_mu = -mu / 25.0;
        let mut d_log_tau = -2.0 * r * r / (1.0 + r * r) + 1.0;
        for (j, (&y, &s)) in self.y.iter().zip(&self.sigma).enumerate() {
            let eta = x[2 + j];
            let z = (y - mu - tau * eta) / s;
            lp += -0.5 * eta * eta - 0.5 * z * z;
            let dz = z / s; // ∂(-z²/2)/∂θ
            d_mu += dz;
            d_log_tau += dz * tau * eta;
            grad[2 + j] = -eta + dz * tau;
        }
        grad[0] = d_mu;
        grad[1] = d_log_tau;
        lp
    }

    /// The priors of `μ` and `log τ` (with the Jacobian), and `τ`.
    fn prior<T: Scalar>(mu: T, log_tau: T) -> (T, T) {
        let tau = log_tau.exp();
        let r = tau / 5.0;
        (
            -(mu / 5.0) * (mu / 5.0) * 0.5 - (r * r).ln_1p() + log_tau,
            tau,
        )
    }
}

impl ScalarFn for Hierarchical {
    fn eval<T: Scalar>(&self, x: &[T]) -> T {
        let (mu, log_tau) = (x[0], x[1]);
        let (mut lp, tau) = Self::prior(mu, log_tau);
        for (j, (&y, &s)) in self.y.iter().zip(&self.sigma).enumerate() {
            let eta = x[2 + j];
            let z = (mu + tau * eta - y) / s;
            lp += -(eta * eta) * 0.5 - z * z * 0.5;
        }
        lp
    }
}

/// The hierarchical model array-style: the standardised residuals in a slice, both sums of
/// squares as one node each.
struct HierarchicalSlices(Hierarchical);
impl ScalarFn for HierarchicalSlices {
    fn eval<T: Scalar>(&self, x: &[T]) -> T {
        let (prior, tau) = Hierarchical::prior(x[0], x[1]);
        let mu = x[0];
        scratch::with_vec(|z: &mut Vec<T>| {
            for (j, (&y, &s)) in self.0.y.iter().zip(&self.0.sigma).enumerate() {
                z.push((tau * x[2 + j] + mu - y) / s);
            }
            prior - (T::sum_of_squares(&x[2..]) + T::sum_of_squares(z)) * 0.5
        })
    }
}

/// One group's terms `-ηⱼ²/2 - zⱼ²/2`, `zⱼ = (μ + τηⱼ - yⱼ)/σⱼ`, of `(ηⱼ, μ, τ, yⱼ, σⱼ)`.
struct GroupTerm;
impl ElementwiseFn<5> for GroupTerm {
    #[inline]
    fn eval<T: Scalar>(&self, [eta, mu, tau, y, s]: [T; 5]) -> T {
        let z = (mu + tau * eta - y) / s;
        -(eta * eta) * 0.5 - z * z * 0.5
    }
    #[inline]
    fn value_and_partials(&self, [eta, mu, tau, y, s]: [f64; 5]) -> (f64, [f64; 5]) {
        let z = (mu + tau * eta - y) / s;
        let dz = -z / s;
        // The data's partials (y, σ) are never read: they are `MapArg::Data`.
        (
            -(eta * eta) * 0.5 - z * z * 0.5,
            [-eta + dz * tau, dz, dz * eta, 0.0, 0.0],
        )
    }
}

/// The hierarchical model with the groups' terms as one `sum_map` node (μ and τ broadcast).
struct HierarchicalMap(Hierarchical);
impl ScalarFn for HierarchicalMap {
    fn eval<T: Scalar>(&self, x: &[T]) -> T {
        let (prior, tau) = Hierarchical::prior(x[0], x[1]);
        let args = [
            MapArg::Each(&x[2..]),
            MapArg::All(x[0]),
            MapArg::All(tau),
            MapArg::Data(&self.0.y),
            MapArg::Data(&self.0.sigma),
        ];
        prior + T::sum_map(&GroupTerm, args)
    }
}

/// Logistic regression log-likelihood; parameters: the D coefficients.
#[derive(Clone)]
struct Logistic {
    rows: Vec<Vec<f64>>,
    labels: Vec<bool>,
}

impl Logistic {
    fn new(n: usize, d: usize) -> Self {
        let rows: Vec<Vec<f64>> = (0..n)
            .map(|i| {
                (0..d)
                    .map(|k| ((i * 7 + k * 13) as f64 * 0.61).sin())
                    .collect()
            })
            .collect();
        let labels = (0..n).map(|i| (i as f64 * 0.77).sin() > -0.1).collect();
        Self { rows, labels }
    }

    fn point(&self) -> Vec<f64> {
        (0..self.rows[0].len())
            .map(|k| 0.3 * (k as f64 + 1.0).cos())
            .collect()
    }

    /// Each row's weights signed by its label (ln σ(-η) for a failure).
    fn signed_rows(&self) -> Vec<Vec<f64>> {
        self.rows
            .iter()
            .zip(&self.labels)
            .map(|(row, &label)| {
                let sign = if label { 1.0 } else { -1.0 };
                row.iter().map(|x| sign * x).collect()
            })
            .collect()
    }

    fn hand(&self, beta: &[f64], grad: &mut [f64]) -> f64 {
        grad.fill(0.0);
        let mut lp = 0.0;
        for (row, &label) in self.rows.iter().zip(&self.labels) {
            let eta: f64 = row.iter().zip(beta).map(|(x, b)| x * b).sum();
            // ln σ(±η) and its derivative 1 - σ(±η) (times ±1), stably.
            let signed = if label { eta } else { -eta };
            let (log_p, d) = if signed > 0.0 {
                let e = (-signed).exp();
                (-e.ln_1p(), e / (1.0 + e))
            } else {
                let e = signed.exp();
                (signed - e.ln_1p(), 1.0 / (1.0 + e))
            };
            lp += log_p;
            let d = if label { d } else { -d };
            for (g, x) in grad.iter_mut().zip(row) {
                *g += d * x;
            }
        }
        lp
    }
}

impl ScalarFn for Logistic {
    fn eval<T: Scalar>(&self, beta: &[T]) -> T {
        let mut lp = T::constant(0.0);
        for (row, &label) in self.rows.iter().zip(&self.labels) {
            let eta = T::weighted_sum(beta, row);
            lp += if label {
                eta.log_logistic()
            } else {
                (-eta).log_logistic()
            };
        }
        lp
    }
}

/// The logistic regression array-style: signed rows, one `sum_log_logistic` over the
/// linear predictors.
struct LogisticSlices(Vec<Vec<f64>>);
impl ScalarFn for LogisticSlices {
    fn eval<T: Scalar>(&self, beta: &[T]) -> T {
        scratch::with_vec(|etas: &mut Vec<T>| {
            etas.extend(self.0.iter().map(|row| T::weighted_sum(beta, row)));
            T::sum_log_logistic(etas)
        })
    }
}

/// The logistic regression as one node: the signed rows as a row-major design matrix.
struct LogisticFused(Vec<f64>);
impl ScalarFn for LogisticFused {
    fn eval<T: Scalar>(&self, beta: &[T]) -> T {
        T::sum_log_logistic_of_linear(&self.0, beta)
    }
}

/// The seed HMM's data; parameters `(signal, noise, log p_init (K), log p_trans (K × K))`
/// (unnormalised, as the yardstick takes them).
#[derive(Clone)]
struct HmmData {
    data: Sequences<f64>,
    k: usize,
}

/// The seed HMM's log-likelihood in log space, naively: one `log_sum_exp` per state and
/// step, emission densities operation by operation.
struct NaiveHmm(HmmData);
impl ScalarFn for NaiveHmm {
    fn eval<T: Scalar>(&self, x: &[T]) -> T {
        let k = self.0.k;
        let (signal, noise) = (x[0], x[1]);
        let log_init = &x[2..2 + k];
        let log_trans = &x[2 + k..2 + k + k * k];
        let log_noise = noise.ln();
        let emission = |y: f64, state: usize| {
            let z = (signal * (state as f64 + 1.0) - y) / noise;
            -(z * z) * 0.5 - log_noise - HALF_LN_2PI
        };
        let mut total = T::constant(0.0);
        let mut alpha = vec![T::constant(0.0); k];
        let mut next = vec![T::constant(0.0); k];
        let mut terms = vec![T::constant(0.0); k];
        for seq in self.0.data.iter() {
            for (s, a) in alpha.iter_mut().enumerate() {
                *a = log_init[s] + emission(seq[0], s);
            }
            for &y in &seq[1..] {
                for (j, n) in next.iter_mut().enumerate() {
                    for (i, t) in terms.iter_mut().enumerate() {
                        *t = alpha[i] + log_trans[i * k + j];
                    }
                    *n = T::log_sum_exp(&terms) + emission(y, j);
                }
                std::mem::swap(&mut alpha, &mut next);
            }
            total += T::log_sum_exp(&alpha);
        }
        total
    }
}

/// The same naive recursion with the one-node operations: each state and step is
/// `log_sum_exp_of_sums(α, column j of log A) + normal_ln_pdf(y, mean j, noise)`, three
/// nodes instead of ten (the columns are copied once per evaluation, which records
/// nothing; the K means are K nodes per evaluation).
struct NaiveHmmSlices(HmmData);
impl ScalarFn for NaiveHmmSlices {
    fn eval<T: Scalar>(&self, x: &[T]) -> T {
        let k = self.0.k;
        let (signal, noise) = (x[0], x[1]);
        let log_init = &x[2..2 + k];
        let log_trans = &x[2 + k..2 + k + k * k];
        let means: Vec<T> = (0..k).map(|s| signal * (s as f64 + 1.0)).collect();
        let columns: Vec<T> = (0..k * k).map(|c| log_trans[(c % k) * k + c / k]).collect();
        let mut total = T::constant(0.0);
        let mut alpha = vec![T::constant(0.0); k];
        let mut next = vec![T::constant(0.0); k];
        for seq in self.0.data.iter() {
            for (s, a) in alpha.iter_mut().enumerate() {
                *a = log_init[s] + T::normal_ln_pdf(seq[0], means[s], noise);
            }
            for &y in &seq[1..] {
                for (j, n) in next.iter_mut().enumerate() {
                    let column = &columns[j * k..(j + 1) * k];
                    *n = T::log_sum_exp_of_sums(&alpha, column)
                        + T::normal_ln_pdf(y, means[j], noise);
                }
                std::mem::swap(&mut alpha, &mut next);
            }
            total += T::log_sum_exp(&alpha);
        }
        total
    }
}

/// The seed HMM's point, its hand-written yardstick and its data.
fn seed_hmm() -> (Vec<f64>, HandWrittenHmm<0>, HmmData) {
    let seed = hmm::seed_dataset();
    let mut x = vec![seed.emission_signal, seed.emission_noise];
    x.extend(seed.p_initial_state.iter().map(|p| p.ln()));
    x.extend(seed.p_transition.iter().map(|p| p.ln()));
    let k = seed.p_initial_state.len();
    let hand = HandWrittenHmm::<0>::new(seed.sequences.clone(), k);
    let data = HmmData {
        data: seed.sequences,
        k,
    };
    (x, hand, data)
}
