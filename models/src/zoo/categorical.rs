//! Categorical emissions: per-state probabilities over `M` symbols.

use rand::Rng;
use rand_xoshiro::Xoshiro256PlusPlus;
use trellis_ad::Scalar;

use super::fused::SparseStep;
use super::view::PerStateView;
use super::{check_rows, Family};
use crate::layout::{LayoutError, ParamHandle, ParamLayout, Params, Shape};
use crate::model::ModelError;
use crate::priors::Prior;
use crate::transforms::Transform;

/// `y | state k ~ Categorical(exp(log_probs[k, ·]))` for symbols `y < M`.
///
/// The view holds log-probabilities (`K × M`, row-major), so a zero probability is exact
/// (`-inf`) and the log-density is a copy: no arithmetic, no tape node. A symbol `≥ M`
/// gives NaN, which the forward algorithm reports as a typed error; build the data through
/// a [`CategoricalFamily`] model to get the error naming the observation instead.
///
/// ```
/// use trellis_models::{zoo::Categorical, Emission};
/// let log_p = [0.5f64.ln(), 0.5f64.ln(), 0.0, f64::NEG_INFINITY];
/// let e = Categorical::new(&log_p, 2)?;
/// let mut out = [0.0; 2];
/// e.log_densities(&[1], 0, &mut out);
/// assert_eq!(out, [0.5f64.ln(), f64::NEG_INFINITY]);
/// # Ok::<(), trellis_models::ModelError>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Categorical<'a, T> {
    log_probs: &'a [T],
    n_symbols: usize,
}

impl<'a, T: Scalar> Categorical<'a, T> {
    /// A view over `K × M` log-probabilities (rows = states), `M = n_symbols`.
    ///
    /// # Errors
    /// `M = 0`, a length that is not a positive multiple of `M`, a NaN or positive entry, or
    /// a row whose probabilities do not sum to 1 (within 1e-9).
    pub fn new(log_probs: &'a [T], n_symbols: usize) -> Result<Self, ModelError> {
        check_rows("log_probs", log_probs, n_symbols)?;
        for (i, l) in log_probs.iter().enumerate() {
            let v = l.value();
            if v > 0.0 || v.is_nan() {
                return Err(ModelError::InvalidParameter {
                    name: format!("log_probs[{},{}]", i / n_symbols, i % n_symbols),
                    value: v,
                    reason: "a log-probability must be ≤ 0 and not NaN".into(),
                });
            }
        }
        for (row, r) in log_probs.chunks(n_symbols).enumerate() {
            let sum: f64 = r.iter().map(|l| l.value().exp()).sum();
            if (sum - 1.0).abs() > 1e-9 || sum.is_nan() {
                return Err(ModelError::InvalidParameter {
                    name: format!("Σ exp(log_probs[{row},·])"),
                    value: sum,
                    reason: "the probabilities of a state's symbols must sum to 1".into(),
                });
            }
        }
        Ok(Self {
            log_probs,
            n_symbols,
        })
    }

    /// Number of symbols `M`.
    pub fn n_symbols(&self) -> usize {
        self.n_symbols
    }
}

impl<T: Scalar> PerStateView for Categorical<'_, T> {
    type Num = T;
    type Obs = usize;

    fn log_densities(&self, seq: &[usize], t: usize, out: &mut [T]) {
        let y = seq[t];
        if y >= self.n_symbols {
            out.fill(T::constant(f64::NAN));
            return;
        }
        for (o, row) in out
            .iter_mut()
            .zip(self.log_probs.chunks_exact(self.n_symbols))
        {
            *o = row[y];
        }
    }

    fn n_states(&self) -> usize {
        self.log_probs.len() / self.n_symbols
    }

    /// Reverse mode's fast path, sparse: state `k`'s density is one of its own log-probabilities,
    /// so the adjoint contracts `1` partial per density whatever `K`.
    fn write_step(&self, seq: &[usize], t: usize, out: SparseStep<'_>) {
        let (y, m) = (seq[t], self.n_symbols);
        // θ are the log-probabilities themselves: ℓ[t][k] = θ[k·M + y], partial 1. A symbol
        // ≥ M gives NaN (a typed error in the forward algorithm) and points at θ[k·M].
        let known = y < m;
        let entry = |k: usize| {
            if known {
                (self.log_probs[k * m + y].value(), [1.0])
            } else {
                (f64::NAN, [0.0])
            }
        };
        let index = |k: usize, _| k * m + if known { y } else { 0 };
        out.per_state(entry, index);
    }

    fn parameter_blocks(&self) -> impl Iterator<Item = &[T]> {
        std::iter::once(self.log_probs)
    }

    fn check_params(&self) -> Result<(), ModelError> {
        Categorical::new(self.log_probs, self.n_symbols).map(|_| ())
    }

    fn sample(&self, state: usize, _history: &[usize], rng: &mut Xoshiro256PlusPlus) -> usize {
        let row = &self.log_probs[state * self.n_symbols..(state + 1) * self.n_symbols];
        let u: f64 = rng.random::<f64>();
        let mut acc = 0.0;
        for (m, l) in row.iter().enumerate() {
            acc += l.value().exp();
            if u < acc {
                return m;
            }
        }
        // Rounding left u above the last partial sum: the last symbol with positive mass.
        row.iter()
            .rposition(|l| l.value() > f64::NEG_INFINITY)
            .unwrap_or(self.n_symbols - 1)
    }
}

/// The categorical HMM family: `p_emission` (`K × M`, each row a simplex, PyMC's simplex
/// transform) with `Dirichlet(1, …, 1)` rows by default.
///
/// Label switching is **not** broken: no ordering of probability vectors is natural, so the
/// posterior has `K!` symmetric modes unless the priors (e.g. per-row
/// [`Prior::dirichlet_rows`]) or the initial/transition priors distinguish the states.
/// Summaries of a single chain are usually fine (chains rarely switch); compare chains with
/// care.
#[derive(Debug, Clone, PartialEq)]
pub struct CategoricalFamily {
    /// Number of hidden states `K`.
    pub n_states: usize,
    /// Number of symbols `M`.
    pub n_symbols: usize,
    /// Prior of the rows of `p_emission` (a Dirichlet with `M` or `K·M` concentrations, or
    /// flat).
    pub prior: Prior,
}

impl CategoricalFamily {
    /// `K` states over `M` symbols with `Dirichlet(1)` rows.
    pub fn new(n_states: usize, n_symbols: usize) -> Self {
        Self {
            n_states,
            n_symbols,
            prior: Prior::uniform_simplex(n_symbols),
        }
    }
}

impl Family for CategoricalFamily {
    type Obs = usize;
    type Handles = ParamHandle;
    type Emission<'a, T: Scalar> = Categorical<'a, T>;

    fn add_params(&self, layout: &mut ParamLayout) -> Result<ParamHandle, LayoutError> {
        layout.declare(
            "p_emission",
            Shape::Matrix(self.n_states, self.n_symbols),
            Transform::Simplex,
            self.prior.clone(),
        )
    }

    fn emission<'a, T: Scalar>(
        &'a self,
        p_emission: &ParamHandle,
        params: &Params<'a, T>,
    ) -> Categorical<'a, T> {
        // The simplex transform always provides logs.
        let log_probs = params.log_of(*p_emission).unwrap_or(&[]);
        Categorical {
            log_probs,
            n_symbols: self.n_symbols,
        }
    }

    fn invalid_observation(&self, &y: &usize) -> Option<String> {
        let m = self.n_symbols;
        (y >= m).then(|| format!("category out of range: there are {m} symbols (0..{m})"))
    }

    fn n_states(&self) -> usize {
        self.n_states
    }
}
