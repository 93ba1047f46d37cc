//! The Bayesian HMM over a zoo family: the family's parameters, then the Markov chain's,
//! with the forward algorithm's marginal likelihood.

use trellis_ad::Scalar;

use super::Family;
use crate::hmm::{self, HmmError, HmmParams, Sequences};
use crate::layout::{LayoutError, NameStyle, ParamHandle, ParamLayout, Params, Shape};
use crate::model::{BayesianModel, ModelError};
use crate::priors::Prior;
use crate::simulate::{simulate_hmm, Simulated};
use crate::transforms::Transform;

/// Priors and transform of the Markov chain of an [`HmmModel`].
#[derive(Debug, Clone, PartialEq)]
pub struct MarkovPriors {
    /// Prior of `p_initial_state`: [`Prior::Dirichlet`] (length `K`) or [`Prior::Flat`].
    pub initial: Prior,
    /// Prior of the rows of `p_transition`: [`Prior::Dirichlet`] with `K` concentrations
    /// shared by every row or `K²` (one vector per row, see [`Prior::dirichlet_rows`]), or
    /// [`Prior::Flat`].
    pub transition: Prior,
    /// The simplex transform: [`Transform::Simplex`] (PyMC's, the default) or
    /// [`Transform::StickBreaking`] (Stan's).
    pub transform: Transform,
}

impl MarkovPriors {
    /// `Dirichlet(1, …, 1)` on the initial distribution and on every transition row, PyMC's
    /// simplex transform.
    pub fn uniform(n_states: usize) -> Self {
        Self {
            initial: Prior::uniform_simplex(n_states),
            transition: Prior::uniform_simplex(n_states),
            transform: Transform::Simplex,
        }
    }
}

/// A Bayesian hidden Markov model with emissions from a zoo [`Family`].
///
/// Parameters, in this order: the family's, then `p_initial_state` (`K`, simplex) and
/// `p_transition` (`K × K`, each row a simplex; rows = from-state). The log-likelihood term
/// `hmm_loglike` is the marginal likelihood of all sequences (forward algorithm, summed over
/// sequences), evaluated with log-probabilities taken straight from the simplex transforms'
/// log-softmax.
#[derive(Debug, Clone)]
pub struct HmmModel<F: Family> {
    family: F,
    data: Sequences<F::Obs>,
    layout: ParamLayout,
    /// The family's parameters in `layout`.
    emission_params: F::Handles,
    /// `p_initial_state` and `p_transition` in `layout`.
    initial: ParamHandle,
    transition: ParamHandle,
}

impl<F: Family> HmmModel<F> {
    /// The model with `Dirichlet(1)` priors on the chain (see [`MarkovPriors::uniform`]).
    ///
    /// # Errors
    /// Observations outside the family's support; invalid family priors.
    pub fn new(family: F, data: Sequences<F::Obs>) -> Result<Self, ModelError> {
        let markov = MarkovPriors::uniform(family.n_states());
        Self::with_markov_priors(family, data, markov)
    }

    /// The model with the given priors on the Markov chain.
    ///
    /// # Errors
    /// As [`HmmModel::new`]; a Dirichlet of the wrong length; a non-simplex transform.
    pub fn with_markov_priors(
        family: F,
        data: Sequences<F::Obs>,
        markov: MarkovPriors,
    ) -> Result<Self, ModelError> {
        let k = family.n_states();
        if k == 0 {
            return Err(HmmError::NoStates.into());
        }
        family.check_data(&data)?;
        if !markov.transform.is_simplex() {
            return Err(LayoutError::InvalidParameter {
                name: "p_initial_state".into(),
                reason: format!(
                    "the Markov chain needs a simplex transform, not {:?}",
                    markov.transform
                ),
            }
            .into());
        }
        let mut layout = ParamLayout::new();
        let emission_params = family.add_params(&mut layout)?;
        let initial = layout.declare(
            "p_initial_state",
            Shape::Vector(k),
            markov.transform,
            markov.initial,
        )?;
        let transition = layout.declare(
            "p_transition",
            Shape::Matrix(k, k),
            markov.transform,
            markov.transition,
        )?;
        Ok(Self {
            family,
            data,
            layout,
            emission_params,
            initial,
            transition,
        })
    }

    /// Uses `style` for element names (e.g. 1-based for posteriordb).
    pub fn with_name_style(mut self, style: NameStyle) -> Self {
        self.layout = self.layout.with_name_style(style);
        self
    }

    /// The emission family.
    pub fn family(&self) -> &F {
        &self.family
    }

    /// The data.
    pub fn data(&self) -> &Sequences<F::Obs> {
        &self.data
    }

    /// Index of `p_initial_state` in the layout (`p_transition` follows it).
    pub fn initial_index(&self) -> usize {
        self.initial.index()
    }

    /// The family's emission view at `params`, a point of this model's layout.
    pub fn emission<'a, T: Scalar>(&'a self, params: &Params<'a, T>) -> F::Emission<'a, T> {
        self.family.emission(&self.emission_params, params)
    }

    /// `(ln p_initial_state, ln p_transition)` from the simplex transforms' exact logs.
    fn log_chain<'a, T: Scalar>(&self, params: &Params<'a, T>) -> (&'a [T], &'a [T]) {
        // HmmModel only admits simplex transforms, which always provide logs.
        let li = params.log_of(self.initial).unwrap_or(&[]);
        let lt = params.log_of(self.transition).unwrap_or(&[]);
        (li, lt)
    }

    /// Runs `f` on the [`Params`] view of the constrained values `constrained` (layout
    /// order), checked against the supports.
    fn with_point<R>(
        &self,
        constrained: &[f64],
        f: impl FnOnce(&Params<'_, f64>) -> Result<R, ModelError>,
    ) -> Result<R, ModelError> {
        let u = self.layout.unconstrain(constrained)?;
        let mut buffer = Vec::new();
        let params = self.layout.constrain_params(&u, &mut buffer)?;
        f(&params)
    }

    /// The Markov chain at constrained values `constrained` (in layout order), validated.
    pub fn chain(&self, constrained: &[f64]) -> Result<HmmParams, ModelError> {
        self.with_point(constrained, |params| self.chain_at(params))
    }

    fn chain_at(&self, params: &Params<'_, f64>) -> Result<HmmParams, ModelError> {
        let (li, lt) = self.log_chain(params);
        Ok(HmmParams::from_log_probabilities(li, lt)?)
    }

    /// Runs `f` with the Markov chain and the emission view at the constrained values
    /// `constrained` (layout order): the entry point for decoding, filtering and smoothing
    /// with the functions of [`hmm`](crate::hmm) at a posterior draw.
    ///
    /// ```
    /// use trellis_models::{hmm, reference::{seed_reference_model, seed_true_constrained}};
    /// let model = seed_reference_model()?;
    /// let path = model.at_point(&seed_true_constrained(), |chain, emission| {
    ///     hmm::viterbi(chain, emission, &model.data()[0])
    /// })??;
    /// assert_eq!(path.states.len(), 51);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// Values outside the support or of the wrong length.
    pub fn at_point<R>(
        &self,
        constrained: &[f64],
        f: impl FnOnce(&HmmParams, &F::Emission<'_, f64>) -> R,
    ) -> Result<R, ModelError> {
        self.with_point(constrained, |params| {
            let chain = self.chain_at(params)?;
            Ok(f(&chain, &self.emission(params)))
        })
    }

    /// Simulates `n_sequences` sequences of `length` observations from the model at the
    /// constrained values `constrained` (layout order), bit-reproducibly for `seed`.
    ///
    /// # Errors
    /// Values outside the support or of the wrong length; zero sequences or length.
    pub fn simulate(
        &self,
        constrained: &[f64],
        n_sequences: usize,
        length: usize,
        seed: u64,
    ) -> Result<Simulated<F::Obs>, ModelError> {
        self.with_point(constrained, |params| {
            let chain = self.chain_at(params)?;
            simulate_hmm(&chain, &self.emission(params), n_sequences, length, seed)
        })
    }
}

impl<F: Family> BayesianModel for HmmModel<F> {
    fn layout(&self) -> &ParamLayout {
        &self.layout
    }

    fn log_likelihood<T: Scalar>(&self, params: &Params<'_, T>) -> Result<T, ModelError> {
        let (li, lt) = self.log_chain(params);
        let emission = self.emission(params);
        Ok(hmm::batch_log_likelihood(li, lt, &emission, &self.data)?)
    }

    fn likelihood_name(&self) -> &str {
        "hmm_loglike"
    }
}
