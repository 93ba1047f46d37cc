//! Shared helpers of the `hmm_*` integration tests: the reference model's emission, the
//! seed data and its reference values, and brute-force enumeration over all hidden paths.
#![allow(dead_code)]

use std::path::PathBuf;

use trellis_ad::{Scalar, ScalarFn};
use trellis_models::hmm::{self, Sequences};
use trellis_models::{Emission, FusedEmission};

pub mod oracle;

// The reference emission has one copy, shared with the `hmm` bench and the allocation test.
#[path = "../../../benches/src/shared_signal.rs"]
mod shared_signal;
pub use shared_signal::SharedSignal;

/// Two states with fixed log-densities `(−y, y − 1)`: the fused fast path with no parameters
/// at all. Its fused values are NaN for observations above `nan_above` (as from a bug in a
/// user's Jacobian code; claiming the fast path without implementing it does not compile, see
/// the `compile_fail` example on `Emission::fused`); the generic path never gives NaN.
pub struct Constant {
    pub nan_above: f64,
}

impl Constant {
    /// Never NaN.
    pub const VALID: Self = Self {
        nan_above: f64::INFINITY,
    };
    /// NaN fused values for observations above 1.5.
    pub const NAN_ABOVE_1_5: Self = Self { nan_above: 1.5 };
}

impl<T: Scalar> Emission<T> for Constant {
    type Obs = f64;
    fn n_states(&self) -> usize {
        2
    }
    fn log_densities(&self, seq: &[f64], t: usize, out: &mut [T]) {
        out[0] = T::constant(-seq[t]);
        out[1] = T::constant(seq[t] - 1.0);
    }
    fn fused(&self) -> Option<&dyn FusedEmission<T, Obs = f64>> {
        Some(self)
    }
}

impl<T: Scalar> FusedEmission<T> for Constant {
    fn parameters(&self, _out: &mut Vec<T>) {}
    fn log_densities_with_jacobian(
        &self,
        seq: &[f64],
        t: usize,
        out: &mut [f64],
        _jac: &mut [f64],
    ) {
        let y = seq[t];
        let nan = y > self.nan_above;
        out[0] = if nan { f64::NAN } else { -y };
        out[1] = if nan { f64::NAN } else { y - 1.0 };
    }
}

/// The seed log-likelihood as a function of
/// `(signal, noise, log p_init (3), log p_trans (9, row-major))`, the emission recorded as
/// `MODE` says ([`RefModel`], [`RefModelNodes`]).
pub struct Reference<const MODE: u8> {
    pub data: Sequences<f64>,
}

/// [`Reference`] with reverse mode through the fused emission path.
pub type RefModel = Reference<{ shared_signal::FUSED }>;
/// [`Reference`] with one tape node per emission log-density under reverse mode.
pub type RefModelNodes = Reference<{ shared_signal::NODES }>;

impl<const MODE: u8> ScalarFn for Reference<MODE> {
    fn eval<T: Scalar>(&self, x: &[T]) -> T {
        let emission = SharedSignal::<T, MODE>::with_mode(x[0], x[1], 3);
        // Outside the support (a finite-difference step can make the noise negative) the
        // log-likelihood is NaN, which the gradient checker skips, rather than a panic.
        hmm::batch_log_likelihood(&x[2..5], &x[5..14], &emission, &self.data)
            .unwrap_or(T::constant(f64::NAN))
    }
}

pub fn seed_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/seed-hmm")
}

/// The 70 × 51 emissions, parsed here independently of the library with `str::split`.
pub fn seed_rows() -> Vec<Vec<f64>> {
    let text = std::fs::read_to_string(seed_dir().join("emissions.csv")).unwrap();
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            l.split(',')
                .map(|v| v.trim().parse::<f64>().unwrap())
                .collect()
        })
        .collect()
}

pub fn truth() -> serde_json::Value {
    let text = std::fs::read_to_string(seed_dir().join("truth.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// `(signal, noise, log p_init, log p_trans)` at the true parameters.
pub fn true_point(truth: &serde_json::Value) -> Vec<f64> {
    let mut x = vec![
        truth["emission_signal"].as_f64().unwrap(),
        truth["emission_noise"].as_f64().unwrap(),
    ];
    for p in truth["p_initial_state"].as_array().unwrap() {
        x.push(p.as_f64().unwrap().ln());
    }
    for row in truth["p_transition"].as_array().unwrap() {
        for p in row.as_array().unwrap() {
            x.push(p.as_f64().unwrap().ln());
        }
    }
    x
}

/// The reference gradient in the order of [`true_point`].
pub fn reference_gradient(truth: &serde_json::Value) -> Vec<f64> {
    let g = &truth["reference"]["grad_at_true"];
    let mut out = vec![
        g["emission_signal"].as_f64().unwrap(),
        g["emission_noise"].as_f64().unwrap(),
    ];
    out.extend(
        g["logp_initial_state"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap()),
    );
    for row in g["logp_transition"].as_array().unwrap() {
        out.extend(row.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()));
    }
    out
}

pub fn rel_err(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(f64::MIN_POSITIVE)
}

/// Calls `f` with every hidden path of length `n` over `k` states.
pub fn for_each_path(k: usize, n: usize, mut f: impl FnMut(&[usize])) {
    let mut z = vec![0usize; n];
    loop {
        f(&z);
        let mut i = n;
        loop {
            if i == 0 {
                return;
            }
            i -= 1;
            z[i] += 1;
            if z[i] < k {
                break;
            }
            z[i] = 0;
        }
    }
}

/// The joint log-probability `ln p(z, y)` of one path.
pub fn path_log_prob<T: Scalar>(li: &[T], lt: &[T], le: &[T], k: usize, z: &[usize]) -> T {
    let mut lp = li[z[0]] + le[z[0]];
    for t in 1..z.len() {
        lp = lp + lt[z[t - 1] * k + z[t]] + le[t * k + z[t]];
    }
    lp
}

/// `ln Σ_z p(z, y)` over all `K^T` paths.
pub fn brute_log_likelihood<T: Scalar>(li: &[T], lt: &[T], le: &[T], k: usize) -> T {
    let n = le.len() / k;
    let mut terms = Vec::new();
    for_each_path(k, n, |z| terms.push(path_log_prob(li, lt, le, k, z)));
    T::log_sum_exp(&terms)
}

/// The brute-force log-likelihood as a function of `[li | lt | le]`.
pub struct Brute {
    pub k: usize,
}

impl ScalarFn for Brute {
    fn eval<T: Scalar>(&self, x: &[T]) -> T {
        let k = self.k;
        brute_log_likelihood(&x[..k], &x[k..k + k * k], &x[k + k * k..], k)
    }
}

/// Which core the HMM function of `[li | lt | le]` uses.
#[derive(Clone, Copy, Debug)]
pub enum Core {
    /// `forward_log_likelihood` (fused node under reverse mode).
    Dispatch,
    /// `forward_log_likelihood_generic` (always the generic recursion).
    Generic,
    /// `forward_log_likelihood_log_space`.
    LogSpace,
}

/// The HMM log-likelihood as a function of `[li | lt | le]`.
pub struct Flat {
    pub k: usize,
    pub core: Core,
}

impl ScalarFn for Flat {
    fn eval<T: Scalar>(&self, x: &[T]) -> T {
        let k = self.k;
        let (li, rest) = x.split_at(k);
        let (lt, le) = rest.split_at(k * k);
        match self.core {
            Core::Dispatch => hmm::forward_log_likelihood(li, lt, le, k),
            Core::Generic => hmm::forward_log_likelihood_generic(li, lt, le, k),
            Core::LogSpace => hmm::forward_log_likelihood_log_space(li, lt, le, k),
        }
        .unwrap()
    }
}

/// Emission given directly as a `T × K` log-density matrix of f64 (observations are time
/// indices).
pub struct Table {
    pub k: usize,
    pub le: Vec<f64>,
}

impl Emission<f64> for Table {
    type Obs = usize;
    fn n_states(&self) -> usize {
        self.k
    }
    fn log_densities(&self, seq: &[usize], t: usize, out: &mut [f64]) {
        let row = seq[t];
        out.copy_from_slice(&self.le[row * self.k..(row + 1) * self.k]);
    }
}
