//! Inference on a fitted or given HMM (plain `f64` parameters): filtered and smoothed state
//! probabilities, the Viterbi path, posterior sampling of hidden paths (forward-filter
//! backward-sample), per-sequence log-likelihoods, and simulation of hidden paths.
//!
//! Every routine takes any [`Emission<f64>`]; the parameters come as a validated
//! [`HmmParams`]. Filtering is the scaled forward recursion's forward pass, smoothing the
//! forward–backward adjoint's backward pass (`γ = ∂ ln L / ∂ℓ`), with the log-space
//! recursion where probability space cannot be trusted.

use ndarray::{Array1, Array2};
use rand::Rng;

use super::data::Sequences;
use super::error::HmmError;
use trellis_ad::{reverse, Scalar, ScalarFn};

use super::adjoint;
use super::chain::SequenceChain;
use super::checks::check_plain_emission;
use super::forward::{fill_emission, per_sequence_log_likelihood};
use super::log_space;
use super::recursion::{self, scaled, with_const_states, with_probs, Forward, Kept};
use crate::emission::Emission;

/// Tolerance on the sums of probability vectors given to [`HmmParams::from_probabilities`].
pub const STOCHASTIC_TOLERANCE: f64 = 1e-9;

/// The initial distribution and transition matrix of an HMM with `K` states, validated and
/// stored as log-probabilities.
///
/// ```
/// use trellis_models::hmm::{HmmError, HmmParams};
/// let params = HmmParams::from_probabilities(&[0.5, 0.5], &[0.9, 0.1, 0.2, 0.8]).unwrap();
/// assert_eq!(params.n_states(), 2);
/// let err = HmmParams::from_probabilities(&[0.5, 0.5], &[0.9, 0.2, 0.2, 0.8]).unwrap_err();
/// assert!(matches!(err, HmmError::NotStochastic { row: 0, .. }));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct HmmParams {
    k: usize,
    log_init: Vec<f64>,
    log_trans: Vec<f64>,
}

impl HmmParams {
    /// From the initial-state probabilities (length `K`) and the transition matrix (`K × K`,
    /// row-major, rows = from-state). Every entry must be finite and in `[0, 1]` and every
    /// row must sum to 1 within [`STOCHASTIC_TOLERANCE`]; zeros are allowed.
    ///
    /// # Errors
    /// [`HmmError::NoStates`], [`HmmError::WrongLength`],
    /// [`HmmError::InvalidInitialProbability`], [`HmmError::InvalidTransitionProbability`],
    /// [`HmmError::InitialNotNormalised`], [`HmmError::NotStochastic`].
    pub fn from_probabilities(p_init: &[f64], p_trans: &[f64]) -> Result<Self, HmmError> {
        let k = p_init.len();
        if k == 0 {
            return Err(HmmError::NoStates);
        }
        if p_trans.len() != k * k {
            return Err(HmmError::WrongLength {
                what: "transition matrix (K × K, row-major)",
                expected: k * k,
                found: p_trans.len(),
            });
        }
        let valid = |p: f64| p.is_finite() && (0.0..=1.0).contains(&p);
        for (state, &value) in p_init.iter().enumerate() {
            if !valid(value) {
                return Err(HmmError::InvalidInitialProbability { state, value });
            }
        }
        for (index, &value) in p_trans.iter().enumerate() {
            if !valid(value) {
                return Err(HmmError::InvalidTransitionProbability {
                    row: index / k,
                    column: index % k,
                    value,
                });
            }
        }
        let sum: f64 = p_init.iter().sum();
        if (sum - 1.0).abs() > STOCHASTIC_TOLERANCE {
            return Err(HmmError::InitialNotNormalised { sum });
        }
        for (row, r) in p_trans.chunks_exact(k).enumerate() {
            let sum: f64 = r.iter().sum();
            if (sum - 1.0).abs() > STOCHASTIC_TOLERANCE {
                return Err(HmmError::NotStochastic { row, sum });
            }
        }
        Ok(Self {
            k,
            log_init: p_init.iter().map(|p| p.ln()).collect(),
            log_trans: p_trans.iter().map(|p| p.ln()).collect(),
        })
    }

    /// From an initial distribution and a transition matrix as ndarray arrays.
    ///
    /// # Errors
    /// As [`HmmParams::from_probabilities`]; a non-square matrix is a
    /// [`HmmError::WrongLength`].
    pub fn from_arrays(
        p_init: ndarray::ArrayView1<'_, f64>,
        p_trans: ndarray::ArrayView2<'_, f64>,
    ) -> Result<Self, HmmError> {
        let k = p_init.len();
        if p_trans.nrows() != k || p_trans.ncols() != k {
            return Err(HmmError::WrongLength {
                what: "transition matrix (K × K)",
                expected: k * k,
                found: p_trans.len(),
            });
        }
        let init: Vec<f64> = p_init.iter().copied().collect();
        let trans: Vec<f64> = p_trans.iter().copied().collect(); // logical (row-major) order
        Self::from_probabilities(&init, &trans)
    }

    /// From log-probabilities (`-inf` for zero): exponentiated, they must pass the checks of
    /// [`HmmParams::from_probabilities`].
    ///
    /// # Errors
    /// As [`HmmParams::from_probabilities`].
    pub fn from_log_probabilities(log_init: &[f64], log_trans: &[f64]) -> Result<Self, HmmError> {
        let p_init: Vec<f64> = log_init.iter().map(|l| l.exp()).collect();
        let p_trans: Vec<f64> = log_trans.iter().map(|l| l.exp()).collect();
        // Validate on the probabilities, keep the caller's logs (exactly).
        let mut params = Self::from_probabilities(&p_init, &p_trans)?;
        params.log_init = log_init.to_vec();
        params.log_trans = log_trans.to_vec();
        Ok(params)
    }

    /// Number of hidden states `K`.
    #[inline]
    pub fn n_states(&self) -> usize {
        self.k
    }

    /// `ln p(z₁ = k)`, length `K`.
    #[inline]
    pub fn log_init(&self) -> &[f64] {
        &self.log_init
    }

    /// `ln p(zₜ₊₁ = j | zₜ = i)` at `i · K + j`.
    #[inline]
    pub fn log_trans(&self) -> &[f64] {
        &self.log_trans
    }

    /// The initial-state probabilities.
    pub fn initial_probabilities(&self) -> Array1<f64> {
        self.log_init.iter().map(|l| l.exp()).collect()
    }

    /// The transition matrix (rows = from-state).
    pub fn transition_matrix(&self) -> Array2<f64> {
        Array2::from_shape_fn((self.k, self.k), |(i, j)| {
            self.log_trans[i * self.k + j].exp()
        })
    }

    fn check_emission<E: Emission<f64> + ?Sized>(&self, emission: &E) -> Result<(), HmmError> {
        if emission.n_states() != self.k {
            return Err(HmmError::WrongLength {
                what: "emission states (emission.n_states())",
                expected: self.k,
                found: emission.n_states(),
            });
        }
        Ok(())
    }
}

/// The `T × K` emission log-density matrix of `seq`, checked (and the chain against it).
fn emission_matrix<E: Emission<f64> + ?Sized>(
    params: &SequenceChain<'_>,
    emission: &E,
    seq: &[E::Obs],
) -> Result<Vec<f64>, HmmError> {
    if emission.n_states() != params.k {
        return Err(HmmError::WrongLength {
            what: "emission states (emission.n_states())",
            expected: params.k,
            found: emission.n_states(),
        });
    }
    if seq.is_empty() {
        return Err(HmmError::EmptySequence { sequence: 0 });
    }
    params.check_len(seq.len())?;
    let k = params.k;
    let mut le = vec![0.0; seq.len() * k];
    fill_emission(emission, seq, &mut le);
    check_plain_emission(&le, k)?;
    Ok(le)
}

/// Filtering is the scaled recursion's forward pass: the weights its trace kept, each row
/// divided by its sum, are `p(zₜ = k | y₁..yₜ)` (`T × K`, row-major).
fn forward_filter(params: &SequenceChain<'_>, le: &[f64]) -> Result<Vec<f64>, HmmError> {
    let (k, n) = (params.k, le.len() / params.k);
    let mut buf = vec![0.0; Kept::len(n, k)];
    let (mut trace, _) = Kept::new(&mut buf, n, k);
    let forward = with_probs(
        params.log_init,
        params.log_trans,
        |probs| with_const_states!(k, scaled::<f64, @>(probs, le, k, &mut trace)),
    );
    match forward {
        Forward::Value { .. } => Ok(row_normalised(k, trace.a.to_vec())),
        Forward::Impossible { step } => Err(HmmError::ZeroProbability {
            sequence: 0,
            position: step,
        }),
        Forward::Untrusted => log_space_filter(params, le),
    }
}

/// Each `K`-row divided by its sum.
fn row_normalised(k: usize, mut weights: Vec<f64>) -> Vec<f64> {
    for row in weights.chunks_exact_mut(k) {
        let sum: f64 = row.iter().sum();
        for x in row.iter_mut() {
            *x /= sum;
        }
    }
    weights
}

/// Filtering by the log-space recursion, where probability space cannot be trusted: no
/// state is lost to underflow, however peaked the emissions.
fn log_space_filter(params: &SequenceChain<'_>, le: &[f64]) -> Result<Vec<f64>, HmmError> {
    let k = params.k;
    let mut filtered = vec![0.0; le.len()];
    let mut impossible = None;
    log_space::recursion(params.log_init, params.log_trans, le, k, |t, la| {
        let norm = f64::log_sum_exp(la);
        if norm == f64::NEG_INFINITY {
            impossible.get_or_insert(t);
        }
        for (f, &l) in filtered[t * k..(t + 1) * k].iter_mut().zip(la) {
            *f = (l - norm).exp();
        }
    });
    match impossible {
        Some(position) => Err(HmmError::ZeroProbability {
            sequence: 0,
            position,
        }),
        None => Ok(filtered),
    }
}

/// The log-likelihood as a function of the emission log-densities (`T × K`), the transition
/// parameters fixed: its gradient is the smoothed probabilities.
struct EmissionLogLikelihood<'a> {
    params: &'a SequenceChain<'a>,
}

impl ScalarFn for EmissionLogLikelihood<'_> {
    fn eval<T: Scalar>(&self, le: &[T]) -> T {
        let li: Vec<T> = self
            .params
            .log_init
            .iter()
            .map(|&l| T::constant(l))
            .collect();
        let lt: Vec<T> = self
            .params
            .log_trans
            .iter()
            .map(|&l| T::constant(l))
            .collect();
        recursion::log_likelihood(&li, &lt, le, self.params.k)
    }
}

/// Filtered and smoothed probabilities (`T × K` each) and the log-likelihood: smoothing is
/// the forward–backward adjoint (`γ = ∂ ln L / ∂ℓ`), filtering its forward pass. Where
/// probability space cannot be trusted, reverse mode through the generic recursion (which
/// then runs in log space) gives `γ`.
fn forward_backward(
    params: &SequenceChain<'_>,
    le: &[f64],
) -> Result<(Vec<f64>, Vec<f64>, f64), HmmError> {
    let (k, n) = (params.k, le.len() / params.k);
    let b_len = adjoint::backward_len(k);
    let mut buf = vec![0.0; Kept::len(n, k) + b_len + k + params.log_trans.len()];
    let (mut trace, rest) = Kept::new(&mut buf, n, k);
    let (b, d_params) = rest.split_at_mut(b_len);
    let mut smoothed = vec![0.0; n * k];
    let forward = with_probs(params.log_init, params.log_trans, |probs| {
        with_const_states!(
            k,
            adjoint::forward_backward::<@>(probs, le, k, &mut trace, b, d_params, &mut smoothed)
        )
    });
    match forward {
        Forward::Value { log_likelihood, .. } => {
            let filtered = row_normalised(k, trace.a.to_vec());
            // Exact arithmetic gives rows of γ that sum to 1; remove the rounding drift.
            Ok((filtered, row_normalised(k, smoothed), log_likelihood))
        }
        Forward::Impossible { step } => Err(HmmError::ZeroProbability {
            sequence: 0,
            position: step,
        }),
        Forward::Untrusted => {
            let filtered = log_space_filter(params, le)?;
            let (log_likelihood, smoothed) =
                reverse::value_and_gradient(&EmissionLogLikelihood { params }, le);
            Ok((filtered, row_normalised(k, smoothed), log_likelihood))
        }
    }
}

fn to_array(k: usize, flat: Vec<f64>) -> Array2<f64> {
    let n = flat.len() / k;
    Array2::from_shape_vec((n, k), flat).expect("T × K buffer")
}

/// Filtered state probabilities `p(zₜ = k | y₁..yₜ)`, a `T × K` array.
///
/// # Errors
/// [`HmmError::ZeroProbability`] if the sequence is impossible under the model; an empty
/// sequence; a NaN or `+inf` emission log-density; an emission with the wrong number of
/// states.
pub fn filter<'c, E: Emission<f64> + ?Sized>(
    params: impl Into<SequenceChain<'c>>,
    emission: &E,
    seq: &[E::Obs],
) -> Result<Array2<f64>, HmmError> {
    let params = &params.into();
    let le = emission_matrix(params, emission, seq)?;
    Ok(to_array(params.k, forward_filter(params, &le)?))
}

/// Smoothed state probabilities `p(zₜ = k | y₁..y_T)` (forward–backward), a `T × K` array.
///
/// # Errors
/// As [`filter`].
pub fn smooth<'c, E: Emission<f64> + ?Sized>(
    params: impl Into<SequenceChain<'c>>,
    emission: &E,
    seq: &[E::Obs],
) -> Result<Array2<f64>, HmmError> {
    Ok(posterior(params, emission, seq)?.smoothed)
}

/// Filtered and smoothed probabilities and the log-likelihood of one sequence.
#[derive(Clone, Debug, PartialEq)]
pub struct Posterior {
    /// `p(zₜ = k | y₁..yₜ)`, `T × K`.
    pub filtered: Array2<f64>,
    /// `p(zₜ = k | y₁..y_T)`, `T × K`.
    pub smoothed: Array2<f64>,
    /// `ln p(y₁..y_T)`.
    pub log_likelihood: f64,
}

/// Filtered and smoothed probabilities and the log-likelihood in one forward–backward pass
/// (the log-likelihood is the one [`sequence_log_likelihoods`] gives).
///
/// # Errors
/// As [`filter`].
pub fn posterior<'c, E: Emission<f64> + ?Sized>(
    params: impl Into<SequenceChain<'c>>,
    emission: &E,
    seq: &[E::Obs],
) -> Result<Posterior, HmmError> {
    let params = &params.into();
    let le = emission_matrix(params, emission, seq)?;
    let (filtered, smoothed, log_likelihood) = forward_backward(params, &le)?;
    Ok(Posterior {
        filtered: to_array(params.k, filtered),
        smoothed: to_array(params.k, smoothed),
        log_likelihood,
    })
}

/// The most likely hidden path and its joint log-probability `ln p(z*, y)`.
#[derive(Clone, Debug, PartialEq)]
pub struct ViterbiPath {
    /// The states `z*₁..z*_T`.
    pub states: Vec<usize>,
    /// `ln p(z*, y)`, the joint log-probability of the path and the observations.
    pub log_probability: f64,
}

/// The Viterbi path: `argmax_z p(z | y)` by max-product in log space. Ties go to the lowest
/// state index.
///
/// # Errors
/// As [`filter`].
pub fn viterbi<'c, E: Emission<f64> + ?Sized>(
    params: impl Into<SequenceChain<'c>>,
    emission: &E,
    seq: &[E::Obs],
) -> Result<ViterbiPath, HmmError> {
    let params = &params.into();
    let le = emission_matrix(params, emission, seq)?;
    let k = params.k;
    let n = seq.len();
    let mut delta: Vec<f64> = (0..k).map(|j| params.log_init[j] + le[j]).collect();
    let mut next = vec![0.0; k];
    let mut back = vec![0usize; n * k];
    for t in 0..n {
        if t > 0 {
            let log_trans = params.trans(t);
            for j in 0..k {
                let mut best = f64::NEG_INFINITY;
                let mut arg = 0;
                for (i, &d) in delta.iter().enumerate() {
                    let v = d + log_trans[i * k + j];
                    if v > best {
                        best = v;
                        arg = i;
                    }
                }
                next[j] = best + le[t * k + j];
                back[t * k + j] = arg;
            }
            delta.copy_from_slice(&next);
        }
        if delta.iter().all(|&d| d == f64::NEG_INFINITY) {
            return Err(HmmError::ZeroProbability {
                sequence: 0,
                position: t,
            });
        }
    }
    let mut last = 0;
    for j in 1..k {
        if delta[j] > delta[last] {
            last = j;
        }
    }
    let log_probability = delta[last];
    let mut states = vec![0; n];
    states[n - 1] = last;
    for t in (1..n).rev() {
        states[t - 1] = back[t * k + states[t]];
    }
    Ok(ViterbiPath {
        states,
        log_probability,
    })
}

/// Index drawn with probabilities proportional to `exp(log_weights)`.
fn draw_log<R: Rng + ?Sized>(log_weights: &[f64], rng: &mut R) -> usize {
    let m = log_weights
        .iter()
        .copied()
        .fold(f64::NEG_INFINITY, f64::max);
    let mut total = 0.0;
    for &l in log_weights {
        total += (l - m).exp();
    }
    let u = rng.random::<f64>() * total;
    let mut cum = 0.0;
    let mut last_possible = 0;
    for (i, &l) in log_weights.iter().enumerate() {
        if l > f64::NEG_INFINITY {
            cum += (l - m).exp();
            last_possible = i;
            if u < cum {
                return i;
            }
        }
    }
    last_possible
}

/// `n_draws` hidden paths drawn independently from `p(z | y)` by forward-filter
/// backward-sample, one row per draw (`n_draws × T`). The filter runs once.
///
/// # Errors
/// As [`filter`].
pub fn sample_paths<'c, E: Emission<f64> + ?Sized, R: Rng + ?Sized>(
    params: impl Into<SequenceChain<'c>>,
    emission: &E,
    seq: &[E::Obs],
    n_draws: usize,
    rng: &mut R,
) -> Result<Array2<usize>, HmmError> {
    let params = &params.into();
    let le = emission_matrix(params, emission, seq)?;
    let log_alpha: Vec<f64> = forward_filter(params, &le)?
        .iter()
        .map(|f| f.ln())
        .collect();
    let k = params.k;
    let n = seq.len();
    let mut paths = Array2::zeros((n_draws, n));
    let mut w = vec![0.0; k];
    for mut path in paths.rows_mut() {
        let mut z = draw_log(&log_alpha[(n - 1) * k..], rng);
        path[n - 1] = z;
        for t in (0..n - 1).rev() {
            let lt = params.trans(t + 1);
            for i in 0..k {
                w[i] = log_alpha[t * k + i] + lt[i * k + z];
            }
            z = draw_log(&w, rng);
            path[t] = z;
        }
    }
    Ok(paths)
}

/// One hidden path drawn from `p(z | y)` (forward-filter backward-sample).
///
/// # Errors
/// As [`filter`].
pub fn sample_path<'c, E: Emission<f64> + ?Sized, R: Rng + ?Sized>(
    params: impl Into<SequenceChain<'c>>,
    emission: &E,
    seq: &[E::Obs],
    rng: &mut R,
) -> Result<Vec<usize>, HmmError> {
    Ok(sample_paths(params, emission, seq, 1, rng)?.row(0).to_vec())
}

/// A hidden path of length `len` simulated from the prior (the Markov chain alone).
///
/// With per-step transitions ([`SequenceChain`]) the chain must have at least `len − 1`
/// matrices.
///
/// # Panics
/// If a per-step chain has fewer than `len − 1` matrices.
pub fn simulate_states<'c, R: Rng + ?Sized>(
    params: impl Into<SequenceChain<'c>>,
    len: usize,
    rng: &mut R,
) -> Vec<usize> {
    let params = params.into();
    let k = params.k;
    let mut states = Vec::with_capacity(len);
    for t in 0..len {
        let z = if t == 0 {
            draw_log(params.log_init, rng)
        } else {
            let prev = states[t - 1];
            draw_log(&params.trans(t)[prev * k..(prev + 1) * k], rng)
        };
        states.push(z);
    }
    states
}

/// The log-likelihood of each sequence of a batch (`-inf` for impossible ones).
///
/// # Errors
/// A NaN or `+inf` emission log-density (named by sequence, position and state); an emission
/// with the wrong number of states.
pub fn sequence_log_likelihoods<E>(
    params: &HmmParams,
    emission: &E,
    sequences: &Sequences<E::Obs>,
) -> Result<Array1<f64>, HmmError>
where
    E: Emission<f64> + Sync + ?Sized,
    E::Obs: Sync,
{
    params.check_emission(emission)?;
    Ok(Array1::from(per_sequence_log_likelihood(
        &params.log_init,
        &params.log_trans,
        emission,
        sequences,
    )?))
}
