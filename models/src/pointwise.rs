//! Pointwise log-likelihoods of posterior draws: the input of PSIS-LOO and WAIC
//! ([`trellis_samplers::loo`]).
//!
//! Two units are offered:
//!
//! - **per sequence**, `ln p(y⁽ˢ⁾ | θ)`: the unit leave-one-out should drop for an HMM, since
//!   the observations of one sequence are dependent through the hidden path;
//! - **per step**, `ln p(yₜ | y₁..yₜ₋₁, θ)`: one-step-ahead predictive scores, which sum over a
//!   sequence's steps to its log-likelihood. They come from the normalisers of the forward
//!   recursion: with filtered probabilities `fₜ₋₁` and predicted ones
//!   `πₜ = fₜ₋₁ · P`, `ln p(yₜ | y_<t) = ln Σₖ πₜ[k] p(yₜ | zₜ = k)`, evaluated by
//!   log-sum-exp over `ln πₜ[k] + ln p(yₜ | k)` so that peaked emissions do not underflow.
//!
//! [`sequence_log_lik_array`] evaluates every draw of a [`Trace`] into the
//! `(chains, draws, sequences)` array that [`trellis_samplers::loo::loo`] takes.

use ndarray::Array3;
use rayon::prelude::*;
use thiserror::Error;
use trellis_ad::Scalar;
use trellis_samplers::Trace;

use crate::emission::Emission;
use crate::hmm::{self, HmmParams, MissingSteps};
use crate::model::{BayesianModel, ModelError};
use crate::zoo::{Family, HmmModel};

/// Why pointwise log-likelihoods could not be computed.
#[derive(Debug, Error)]
pub enum PointwiseError {
    /// The model's parameter is not among the trace's output values.
    #[error("the draws have no column '{name}' of the model's parameters (another model?)")]
    MissingColumn {
        /// The parameter element's name, e.g. `mu[1]`.
        name: String,
    },
    /// A draw could not be evaluated (outside the support, an impossible sequence …).
    #[error("chain {chain}, draw {draw}: {source}", chain = .chain + 1, draw = .draw + 1)]
    Draw {
        /// 0-based chain index (printed 1-based, as chain files are numbered).
        chain: usize,
        /// 0-based draw index (printed 1-based).
        draw: usize,
        /// What went wrong.
        source: ModelError,
    },
}

/// `ln p(y⁽ˢ⁾ | θ)` for every sequence `s` of the model's data at the constrained values
/// `constrained` (layout order). An impossible sequence gives `-inf`.
///
/// # Errors
/// Values outside the support or of the wrong length; a NaN emission log-density.
pub fn log_lik_per_sequence<F: Family>(
    model: &HmmModel<F>,
    constrained: &[f64],
) -> Result<Vec<f64>, ModelError> {
    model
        .at_point(constrained, |chain, emission| {
            hmm::sequence_log_likelihoods(chain, emission, model.data())
        })?
        .map(|a| a.to_vec())
        .map_err(ModelError::from)
}

/// `ln p(yₜ | y₁..yₜ₋₁, θ)` for every step `t` of every sequence (one vector per sequence) at
/// the constrained values `constrained`; each sequence's entries sum to its
/// [`log_lik_per_sequence`] value. A missing step's entry is 0 (nothing observed to predict);
/// the steps after it condition on the observed steps only.
///
/// # Errors
/// As [`log_lik_per_sequence`], and [`crate::HmmError::ZeroProbability`] for a sequence that
/// is impossible under the parameters (no step-ahead prediction exists past that step).
pub fn log_lik_per_step<F: Family>(
    model: &HmmModel<F>,
    constrained: &[f64],
) -> Result<Vec<Vec<f64>>, ModelError> {
    model
        .at_point(constrained, |chain, emission| {
            model
                .data()
                .iter()
                .enumerate()
                .map(|(s, seq)| {
                    let view = MissingSteps::new(emission, model.data().missing_of(s));
                    step_log_likelihoods(chain, &view, seq).map_err(|e| (s, e))
                })
                .collect::<Result<Vec<_>, _>>()
        })?
        .map_err(|(s, e)| ModelError::from(e.in_sequence(s)))
}

/// One sequence's one-step-ahead log predictive densities from its filtered probabilities.
fn step_log_likelihoods<E: Emission<f64> + ?Sized>(
    chain: &HmmParams,
    emission: &E,
    seq: &[E::Obs],
) -> Result<Vec<f64>, hmm::HmmError> {
    let filtered = hmm::filter(chain, emission, seq)?;
    let k = chain.n_states();
    let log_trans = chain.log_trans();
    let mut log_emission = vec![0.0; k];
    let mut log_predicted = chain.log_init().to_vec();
    let mut terms = vec![0.0; k];
    let mut out = Vec::with_capacity(seq.len());
    for t in 0..seq.len() {
        if t > 0 {
            // πₜ[j] = Σᵢ fₜ₋₁[i] P[i, j], in logs: the filtered row is normalised, so the
            // log-sum-exp is over at most K finite terms of moderate size.
            let previous = filtered.row(t - 1);
            for (j, lp) in log_predicted.iter_mut().enumerate() {
                for (i, term) in terms.iter_mut().enumerate() {
                    *term = previous[i].ln() + log_trans[i * k + j];
                }
                *lp = f64::log_sum_exp(&terms);
            }
        }
        emission.log_densities(seq, t, &mut log_emission);
        for ((term, &lp), &le) in terms.iter_mut().zip(&log_predicted).zip(&log_emission) {
            *term = lp + le;
        }
        out.push(f64::log_sum_exp(&terms));
    }
    Ok(out)
}

/// The columns of `trace` holding the model's constrained parameters, in layout order (the
/// trace may hold other output values too, e.g. `log_lik` columns).
///
/// # Errors
/// [`PointwiseError::MissingColumn`] naming the first parameter element the trace lacks.
pub fn parameter_columns(
    layout: &crate::ParamLayout,
    trace: &Trace,
) -> Result<Vec<usize>, PointwiseError> {
    layout
        .element_names()
        .into_iter()
        .map(|name| {
            trace
                .index_of(&name)
                .ok_or(PointwiseError::MissingColumn { name })
        })
        .collect()
}

/// The per-sequence log-likelihood of every draw of `trace` (post warm-up), shaped
/// `(chains, draws, sequences)` as [`trellis_samplers::loo::loo`] takes it. Draws are
/// evaluated in parallel; the result does not depend on the number of threads.
///
/// # Errors
/// A parameter missing from the trace; a draw outside the support (naming chain and draw).
pub fn sequence_log_lik_array<F: Family>(
    model: &HmmModel<F>,
    trace: &Trace,
) -> Result<Array3<f64>, PointwiseError> {
    let columns = parameter_columns(model.layout(), trace)?;
    let chains = trace.num_chains();
    let draws = trace.chains.first().map_or(0, |c| c.draws.len());
    let sequences = model.data().len();
    let jobs: Vec<(usize, usize)> = (0..chains)
        .flat_map(|c| (0..draws).map(move |d| (c, d)))
        .collect();
    let rows: Vec<Vec<f64>> = jobs
        .par_iter()
        .map(|&(chain, draw)| {
            let row = trace.chains[chain].draws.draw(draw);
            let point: Vec<f64> = columns.iter().map(|&j| row[j]).collect();
            log_lik_per_sequence(model, &point).map_err(|source| PointwiseError::Draw {
                chain,
                draw,
                source,
            })
        })
        .collect::<Result<_, _>>()?;
    let flat: Vec<f64> = rows.into_iter().flatten().collect();
    Ok(Array3::from_shape_vec((chains, draws, sequences), flat)
        .expect("one value per chain, draw and sequence"))
}

/// Which pointwise log-likelihood [`WithLogLik`] records with every draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLikUnit {
    /// One value per sequence, `log_lik[s]` ([`log_lik_per_sequence`]): the unit for LOO.
    Sequence,
    /// One value per observation, sequences concatenated ([`log_lik_per_step`]).
    Step,
}

/// A model's [`ModelDensity`](crate::ModelDensity) that also records the pointwise
/// log-likelihood of every draw after its constrained parameters, as columns `log_lik[i]`
/// (CmdStan's `log_lik.1 …`, which `az.from_cmdstan(…, log_likelihood="log_lik")` reads).
/// Sampling is unchanged: the columns are computed from each kept draw only.
#[derive(Debug, Clone)]
pub struct WithLogLik<F: Family> {
    inner: crate::ModelDensity<HmmModel<F>>,
    unit: Option<LogLikUnit>,
}

impl<F: Family> WithLogLik<F> {
    /// `density`, recording `unit` (`None`: nothing extra).
    pub fn new(density: crate::ModelDensity<HmmModel<F>>, unit: Option<LogLikUnit>) -> Self {
        Self {
            inner: density,
            unit,
        }
    }

    /// The model.
    pub fn model(&self) -> &HmmModel<F> {
        self.inner.model()
    }

    /// Number of `log_lik` columns.
    fn columns(&self) -> usize {
        match self.unit {
            None => 0,
            Some(LogLikUnit::Sequence) => self.model().data().len(),
            Some(LogLikUnit::Step) => self.model().data().total_len(),
        }
    }
}

impl<F: Family> trellis_samplers::LogDensity for WithLogLik<F> {
    fn dim(&self) -> usize {
        self.inner.dim()
    }

    fn logp_and_grad(
        &self,
        x: &[f64],
        grad: &mut [f64],
    ) -> Result<f64, trellis_samplers::LogDensityError> {
        self.inner.logp_and_grad(x, grad)
    }

    fn initial_point(&self) -> Vec<f64> {
        self.inner.initial_point()
    }

    fn output_names(&self) -> Vec<String> {
        let mut names = self.inner.output_names();
        names.extend((0..self.columns()).map(|i| format!("log_lik[{i}]")));
        names
    }

    fn write_output(&self, x: &[f64], out: &mut Vec<f64>) {
        self.inner.write_output(x, out);
        let n = self.columns();
        let values = match self.unit {
            None => return,
            Some(LogLikUnit::Sequence) => log_lik_per_sequence(self.model(), out).ok(),
            Some(LogLikUnit::Step) => log_lik_per_step(self.model(), out)
                .ok()
                .map(|steps| steps.concat()),
        };
        // A draw the model cannot evaluate (it was accepted, so this is not expected) still
        // gets its columns, as NaN, so every row has the same width.
        match values {
            Some(v) if v.len() == n => out.extend(v),
            _ => out.resize(out.len() + n, f64::NAN),
        }
    }
}
