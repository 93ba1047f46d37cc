//! The Bayesian HMM over a zoo family: the family's parameters, then the Markov chain's,
//! with the forward algorithm's marginal likelihood; structural zeros ([`StateMasks`]),
//! missing observations ([`Sequences::with_missing`]) and covariate-driven transitions
//! ([`Covariates`]).

use trellis_ad::{scratch, Scalar};

use super::Family;
use crate::emission::Emission;
use crate::hmm::{self, HmmError, HmmParams, MissingSteps, Sequences, Transitions};
use crate::layout::{LayoutError, NameStyle, ParamHandle, ParamLayout, Params};
use crate::model::{BayesianModel, ModelError};
use crate::priors::Prior;
use crate::simulate::Simulated;
use crate::transforms::Transform;

mod covariate_node;
mod masked_steps;
mod simulation;
mod structure;

pub use structure::{Covariates, StateMasks};

/// The default prior of each free covariate transition coefficient: `Normal(0, 2)`, wide on
/// the logit scale (a coefficient of ±4 changes the odds of a move by a factor of e⁴ ≈ 55
/// per unit of the covariate).
pub const DEFAULT_COEFFICIENT_PRIOR: Prior = Prior::Normal {
    mu: 0.0,
    sigma: 2.0,
};

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

/// How the transitions are parameterised.
#[derive(Debug, Clone)]
enum TransitionParams {
    /// `p_transition`, `K × K`, rows simplexes (masked or not).
    Matrix(ParamHandle),
    /// `transition_coef`, `K × K × C`, diagonal fixed at 0; `design` holds every
    /// observation's design vector (`N × C`, flat order of the data); `mask` the free
    /// transitions (`K × K`, row-major) when some are structural zeros.
    Coefficients {
        coef: ParamHandle,
        covariates: Covariates,
        design: Vec<f64>,
        mask: Option<Vec<bool>>,
    },
}

/// A Bayesian hidden Markov model with emissions from a zoo [`Family`].
///
/// Parameters, in this order: the family's, then `p_initial_state` (`K`, simplex) and
/// `p_transition` (`K × K`, each row a simplex; rows = from-state). The log-likelihood term
/// `hmm_loglike` is the marginal likelihood of all sequences (forward algorithm, summed over
/// sequences), evaluated with log-probabilities taken straight from the simplex transforms'
/// log-softmax.
///
/// Beyond that:
/// - [`HmmModel::with_masks`]: structural zeros in `p_initial_state` and `p_transition`
///   (exact zeros; the free entries of each row form a simplex of their own size);
/// - missing observations, flagged in the data ([`Sequences::with_missing`]): each missing
///   step contributes log-density 0 to every state, and an AR(1) step after a gap has the
///   gap's conditional density given the last observed value
///   ([`Ar1Gaussian`](super::Ar1Gaussian));
/// - [`HmmModel::with_covariates`]: `p_transition` is replaced by `transition_coef`
///   (`K × K × C`), a multinomial logit of the from-time's covariates
///   ([`hmm::covariate_log_transitions`]), diagonal fixed at 0, prior
///   [`DEFAULT_COEFFICIENT_PRIOR`] on the free coefficients.
///
/// ```
/// use trellis_models::zoo::{Covariates, GaussianFamily, HmmModel, StateMasks};
/// use trellis_models::{hmm::Sequences, BayesianModel};
/// let data = Sequences::new(vec![vec![0.1, 0.0, 2.2, 2.0], vec![1.9, 0.2]])?
///     .with_missing(vec![false, true, false, false, false, false])?;
/// let masked = HmmModel::new(GaussianFamily::new(2), data.clone())?
///     .with_masks(StateMasks::left_to_right(2))?;
/// // mu (2) + sigma (2) + p_initial_state (constant) + p_transition (row 0 only)
/// assert_eq!(masked.layout().dim(), 5);
/// let cov = Covariates::new(vec!["x".into()], vec![0.5, 1.0, -1.0, 0.0, 2.0, 1.5], 6)?;
/// let with_cov = HmmModel::new(GaussianFamily::new(2), data)?.with_covariates(cov)?;
/// assert_eq!(with_cov.layout().element_names()[6], "transition_coef[0,0,0]");
/// let (lp, grad) = with_cov.log_density_and_gradient(&with_cov.layout().initial_point())?;
/// assert!(lp.is_finite() && grad.iter().all(|g| g.is_finite()));
/// # Ok::<(), trellis_models::ModelError>(())
/// ```
#[derive(Debug, Clone)]
pub struct HmmModel<F: Family> {
    family: F,
    data: Sequences<F::Obs>,
    layout: ParamLayout,
    /// The family's parameters in `layout`.
    emission_params: F::Handles,
    /// `p_initial_state` in `layout`.
    initial: ParamHandle,
    transition: TransitionParams,
    markov: MarkovPriors,
    masks: Option<StateMasks>,
    coefficient_prior: Prior,
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
        check_observed(&family, &data)?;
        // An autoregressive family recognises missing steps by its marker when it looks
        // back; every other family's data stays as given.
        let data = match family.missing_marker() {
            Some(marker) => data.with_missing_marker(marker),
            None => data,
        };
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
        let (initial, transition) = structure::declare_chain(
            &mut layout,
            k,
            &markov,
            None,
            None,
            &DEFAULT_COEFFICIENT_PRIOR,
        )?;
        Ok(Self {
            family,
            data,
            layout,
            emission_params,
            initial,
            transition,
            markov,
            masks: None,
            coefficient_prior: DEFAULT_COEFFICIENT_PRIOR,
        })
    }

    /// Rebuilds the layout after a change of structure, keeping the name style.
    fn rebuild(mut self) -> Result<Self, ModelError> {
        let k = self.family.n_states();
        let style = self.layout.name_style();
        let mut layout = ParamLayout::new();
        self.emission_params = self.family.add_params(&mut layout)?;
        let covariates = match &self.transition {
            TransitionParams::Coefficients { covariates, .. } => Some(covariates),
            TransitionParams::Matrix(_) => None,
        };
        let (initial, transition) = structure::declare_chain(
            &mut layout,
            k,
            &self.markov,
            self.masks.as_ref(),
            covariates,
            &self.coefficient_prior,
        )?;
        self.layout = layout.with_name_style(style);
        self.initial = initial;
        self.transition = transition;
        Ok(self)
    }

    /// Fixes the entries of `p_initial_state` and `p_transition` that `masks` flags `false`
    /// at exactly 0; the free entries of each row form a simplex of their own size (a row
    /// with one free entry is the constant 1), and the Dirichlet priors apply to the free
    /// entries only. The constrained parameters keep their shapes (`K` and `K × K`), so
    /// element names and CSV columns stay the same.
    ///
    /// With covariates ([`HmmModel::with_covariates`], in either order) a masked transition
    /// is exactly 0 at every step: its `ηₜ` is left out of the row's softmax and its
    /// coefficients are fixed at 0 (like the reference category's; a row whose staying entry
    /// is masked takes its first free entry as the reference).
    ///
    /// # Errors
    /// A mask of the wrong shape or with a row that has no free entry (named).
    pub fn with_masks(mut self, masks: StateMasks) -> Result<Self, ModelError> {
        masks.validate(self.family.n_states())?;
        self.masks = Some(masks);
        self.rebuild()
    }

    /// Replaces `p_transition` by `transition_coef` (`K × K × C`, `C = 1 +` covariates,
    /// intercept first; elements `transition_coef[i,j,c]`): the transition from `t` to
    /// `t + 1` is `softmax` over `j` of `ηₜ[i][j] = Σ_c transition_coef[i][j][c] · zₜ[c]`,
    /// with `zₜ = (1, x1ₜ, …)` the covariates of the from-time `t` and `ηₜ[i][i] = 0`
    /// (staying is the reference category). The diagonal coefficients are fixed at 0: not
    /// sampled, reported as 0. Each free coefficient has the prior
    /// [`DEFAULT_COEFFICIENT_PRIOR`], `Normal(0, 2)` (see
    /// [`HmmModel::with_coefficient_prior`]).
    ///
    /// With a transition mask ([`HmmModel::with_masks`]) the masked entries are structural
    /// zeros of every `Γₜ` and their coefficients are fixed at 0.
    ///
    /// # Errors
    /// Covariates that do not have one row per observation of the data, or that are not
    /// finite.
    pub fn with_covariates(mut self, covariates: Covariates) -> Result<Self, ModelError> {
        covariates.check(self.data.total_len())?;
        let design = covariates.design();
        // A placeholder handle: `rebuild` declares the coefficients and sets the real one.
        self.transition = TransitionParams::Coefficients {
            coef: self.initial,
            covariates,
            design,
            mask: None,
        };
        self.rebuild()
    }

    /// Sets the prior of each free covariate transition coefficient (an element-wise prior,
    /// e.g. [`Prior::Normal`]; the default is [`DEFAULT_COEFFICIENT_PRIOR`]).
    ///
    /// # Errors
    /// A prior that is not element-wise (Dirichlet) or has invalid hyperparameters.
    pub fn with_coefficient_prior(mut self, prior: Prior) -> Result<Self, ModelError> {
        self.coefficient_prior = prior;
        self.rebuild()
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

    /// The data; its missing steps hold the family's [`Family::missing_marker`] if it has
    /// one (NaN for [`Ar1Family`](super::Ar1Family)), else the placeholders given.
    pub fn data(&self) -> &Sequences<F::Obs> {
        &self.data
    }

    /// The structural zeros, if any ([`HmmModel::with_masks`]).
    pub fn masks(&self) -> Option<&StateMasks> {
        self.masks.as_ref()
    }

    /// The transition covariates, if any ([`HmmModel::with_covariates`]).
    pub fn covariates(&self) -> Option<&Covariates> {
        match &self.transition {
            TransitionParams::Coefficients { covariates, .. } => Some(covariates),
            TransitionParams::Matrix(_) => None,
        }
    }

    /// Index of `p_initial_state` in the layout (`p_transition` or `transition_coef` follows
    /// it).
    pub fn initial_index(&self) -> usize {
        self.initial.index()
    }

    /// The family's emission view at `params`, a point of this model's layout.
    pub fn emission<'a, T: Scalar>(&'a self, params: &Params<'a, T>) -> F::Emission<'a, T> {
        self.family.emission(&self.emission_params, params)
    }

    /// `ln p_initial_state` from the simplex transform's exact logs.
    fn log_initial<'a, T: Scalar>(&self, params: &Params<'a, T>) -> &'a [T] {
        // HmmModel only admits simplex transforms, which always provide logs.
        params.log_of(self.initial).unwrap_or(&[])
    }

    /// Sequence `s`'s `ln Γₜ` (`(Tₛ − 1) × K × K`) from the coefficients `coef`, masked
    /// entries at `−∞`, into `out` (resized).
    fn step_log_transitions<T: Scalar>(
        &self,
        coef: &[T],
        s: usize,
        out: &mut Vec<T>,
    ) -> Result<(), ModelError> {
        let (design, c) = self.design_of(s).expect("a covariate model");
        let k = self.family.n_states();
        out.clear();
        out.resize(
            (design.len() / c).saturating_sub(1) * k * k,
            T::constant(0.0),
        );
        masked_steps::log_transitions(coef, k, c, design, self.transition_mask(), out)?;
        Ok(())
    }

    /// The free transitions (`K × K`, row-major) of a covariate model with structural zeros.
    fn transition_mask(&self) -> Option<&[bool]> {
        match &self.transition {
            TransitionParams::Coefficients { mask, .. } => mask.as_deref(),
            TransitionParams::Matrix(_) => None,
        }
    }

    /// Sequence `s`'s design vectors (`Tₛ × C`) and `C`, with covariates.
    fn design_of(&self, s: usize) -> Option<(&[f64], usize)> {
        match &self.transition {
            TransitionParams::Coefficients {
                design, covariates, ..
            } => {
                let c = covariates.design_len();
                let offsets = self.data.offsets();
                Some((&design[offsets[s] * c..offsets[s + 1] * c], c))
            }
            TransitionParams::Matrix(_) => None,
        }
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
    ///
    /// # Errors
    /// Values outside the support; a covariate model (its transitions differ from step to
    /// step: see [`HmmModel::at_sequence`]).
    pub fn chain(&self, constrained: &[f64]) -> Result<HmmParams, ModelError> {
        self.with_point(constrained, |params| self.chain_at(params))
    }

    fn chain_at(&self, params: &Params<'_, f64>) -> Result<HmmParams, ModelError> {
        let li = self.log_initial(params);
        match &self.transition {
            TransitionParams::Matrix(handle) => {
                let lt = params.log_of(*handle).unwrap_or(&[]);
                Ok(HmmParams::from_log_probabilities(li, lt)?)
            }
            TransitionParams::Coefficients { .. } => Err(LayoutError::InvalidParameter {
                name: "transition_coef".into(),
                reason: "with covariates the transition matrix differs from step to step: use \
                         HmmModel::at_sequence"
                    .into(),
            }
            .into()),
        }
    }

    /// Runs `f` with the Markov chain and the emission view at the constrained values
    /// `constrained` (layout order): the entry point for decoding, filtering and smoothing
    /// with the functions of [`hmm`](crate::hmm) at a posterior draw. For data with missing
    /// observations or a covariate model use [`HmmModel::at_sequence`].
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
    /// Values outside the support or of the wrong length; a covariate model.
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

    /// Runs `f` with sequence `s`'s own chain (its per-step transitions with covariates) and
    /// emission view (its missing steps masked) at the constrained values `constrained`:
    /// filtering, smoothing, Viterbi and posterior sampling of one sequence of any model.
    ///
    /// ```
    /// use trellis_models::{hmm, zoo::{GaussianFamily, HmmModel}, hmm::Sequences};
    /// let data = Sequences::new(vec![vec![0.1, 9.9, 2.2]])?
    ///     .with_missing(vec![false, true, false])?;
    /// let model = HmmModel::new(GaussianFamily::new(2), data)?;
    /// let point = [0.0, 2.0, 1.0, 1.0, 0.5, 0.5, 0.8, 0.2, 0.3, 0.7];
    /// let path = model.at_sequence(&point, 0, |chain, emission, seq| {
    ///     hmm::viterbi(chain, emission, seq)
    /// })??;
    /// assert_eq!(path.states.len(), 3);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// Values outside the support or of the wrong length; `s` out of range.
    pub fn at_sequence<R>(
        &self,
        constrained: &[f64],
        s: usize,
        f: impl FnOnce(hmm::SequenceChain<'_>, &MissingSteps<'_, F::Emission<'_, f64>>, &[F::Obs]) -> R,
    ) -> Result<R, ModelError> {
        let Some(seq) = self.data.get(s) else {
            return Err(ModelError::WrongLength {
                what: format!("sequence index {s} (the data's number of sequences)"),
                expected: self.data.len(),
                found: s,
            });
        };
        self.with_point(constrained, |params| {
            let emission = self.emission(params);
            let view = MissingSteps::new(&emission, self.data.missing_of(s));
            let li = self.log_initial(params);
            match &self.transition {
                TransitionParams::Matrix(handle) => {
                    let lt = params.log_of(*handle).unwrap_or(&[]);
                    let chain = hmm::SequenceChain::new(li, Transitions::Homogeneous(lt))?;
                    Ok(f(chain, &view, seq))
                }
                TransitionParams::Coefficients { coef, .. } => {
                    let mut lt = Vec::new();
                    self.step_log_transitions(params.of(*coef), s, &mut lt)?;
                    let chain = hmm::SequenceChain::new(li, Transitions::PerStep(&lt))?;
                    Ok(f(chain, &view, seq))
                }
            }
        })
    }

    /// `∂ ln L / ∂ p_initial_state[i]` at the constrained values `constrained`, each entry
    /// free (probability space, not on the simplex), summed over the sequences: finite at
    /// exact zeros, where the log-probability route has `1/p`. Any chain — homogeneous,
    /// masked or covariate-driven — since `Lₛ` is linear in the initial distribution:
    /// `∂ Lₛ/∂πᵢ = Lₛ(start in i)`, so `∂ ln Lₛ/∂πᵢ = exp(ln Lₛ(start in i) − ln Lₛ)`.
    ///
    /// ```
    /// use trellis_models::{zoo::{GaussianFamily, HmmModel, StateMasks}, hmm::Sequences};
    /// let data = Sequences::new(vec![vec![0.1, 2.0, 1.9]])?;
    /// let masks = StateMasks { initial: vec![true, false], ..StateMasks::all_free(2) };
    /// let model = HmmModel::new(GaussianFamily::new(2), data)?.with_masks(masks)?;
    /// let point = [0.0, 2.0, 1.0, 1.0, 1.0, 0.0, 0.8, 0.2, 0.3, 0.7];
    /// let g = model.initial_probability_gradient(&point)?;
    /// assert!(g[1].is_finite() && g[1] > 0.0);
    /// # Ok::<(), trellis_models::ModelError>(())
    /// ```
    ///
    /// # Errors
    /// Values outside the support or of the wrong length; a sequence of probability 0.
    pub fn initial_probability_gradient(
        &self,
        constrained: &[f64],
    ) -> Result<Vec<f64>, ModelError> {
        let k = self.family.n_states();
        self.with_point(constrained, |params| {
            let emission = self.emission(params);
            let li = self.log_initial(params);
            let mut grad = vec![0.0; k];
            let (mut lt, mut le) = (Vec::new(), Vec::new());
            let mut start = vec![f64::NEG_INFINITY; k];
            for (s, seq) in self.data.iter().enumerate() {
                let view = MissingSteps::new(&emission, self.data.missing_of(s));
                le.clear();
                le.resize(seq.len() * k, 0.0);
                for (t, row) in le.chunks_exact_mut(k).enumerate() {
                    view.log_densities(seq, t, row);
                }
                let transitions = match &self.transition {
                    TransitionParams::Matrix(handle) => {
                        Transitions::Homogeneous(params.log_of(*handle).unwrap_or(&[]))
                    }
                    TransitionParams::Coefficients { coef, .. } => {
                        self.step_log_transitions(params.of(*coef), s, &mut lt)?;
                        Transitions::PerStep(&lt)
                    }
                };
                let ll = |init: &[f64]| {
                    hmm::forward_log_likelihood_with(init, transitions, &le, k)
                        .map_err(|e| e.in_sequence(s))
                };
                let total = ll(li)?;
                if !total.is_finite() {
                    // The filter names the first step no path explains.
                    let chain = hmm::SequenceChain::new(li, transitions)?;
                    hmm::filter(chain, &view, seq).map_err(|e| e.in_sequence(s))?;
                }
                for (i, g) in grad.iter_mut().enumerate() {
                    start[i] = 0.0;
                    *g += (ll(&start)? - total).exp();
                    start[i] = f64::NEG_INFINITY;
                }
            }
            Ok(grad)
        })
    }

    /// Simulates `n_sequences` sequences of `length` observations from the model at the
    /// constrained values `constrained` (layout order), bit-reproducibly for `seed`. A
    /// covariate model simulates the data's own sequences (see
    /// [`HmmModel::simulate_like_data`]): `n_sequences` and `length` must then match them.
    ///
    /// # Errors
    /// Values outside the support or of the wrong length; zero sequences or length; a
    /// covariate model whose data has another shape.
    pub fn simulate(
        &self,
        constrained: &[f64],
        n_sequences: usize,
        length: usize,
        seed: u64,
    ) -> Result<Simulated<F::Obs>, ModelError> {
        self.simulate_with_missing(constrained, n_sequences, length, 0.0, seed)
    }
}

/// Checks the observed (not missing) observations against the family's support: the
/// placeholders at missing steps are never read, so they are not checked.
fn check_observed<F: Family>(family: &F, data: &Sequences<F::Obs>) -> Result<(), HmmError> {
    if data.missing().is_none() {
        return family.check_data(data);
    }
    let offsets = data.offsets();
    for (s, seq) in data.iter().enumerate() {
        for (t, o) in seq.iter().enumerate() {
            if data.is_missing(offsets[s] + t) {
                continue;
            }
            if let Some(reason) = family.invalid_observation(o) {
                return Err(super::invalid_obs(s, t, format!("{o:?}"), reason));
            }
        }
    }
    Ok(())
}

impl<F: Family> BayesianModel for HmmModel<F> {
    fn layout(&self) -> &ParamLayout {
        &self.layout
    }

    /// The zero point with the family's [starting values read off the data](Family::initial_values)
    /// in place (a value outside its support keeps the zero point's block).
    fn initial_point(&self) -> Vec<f64> {
        let mut u = self.layout.initial_point();
        for (handle, values) in self
            .family
            .initial_values(&self.emission_params, &self.data)
        {
            let _ = self.layout.set_unconstrained(&mut u, handle, &values);
        }
        u
    }

    fn log_likelihood<T: Scalar>(&self, params: &Params<'_, T>) -> Result<T, ModelError> {
        let li = self.log_initial(params);
        let emission = self.emission(params);
        let coef = match &self.transition {
            TransitionParams::Matrix(handle) => {
                let lt = params.log_of(*handle).unwrap_or(&[]);
                return Ok(hmm::batch_log_likelihood(li, lt, &emission, &self.data)?);
            }
            TransitionParams::Coefficients { coef, .. } => params.of(*coef),
        };
        // Reverse mode with a fused emission: one node per sequence (see `covariate_node`).
        let fused = if T::CUSTOM_IS_CHEAPER {
            emission.fused()
        } else {
            None
        };
        scratch::with_vec(|theta: &mut Vec<T>| {
            theta.clear();
            if let Some(f) = fused {
                f.parameters(theta);
            }
            scratch::with_vec(|values: &mut Vec<T>| {
                values.clear();
                // Without structural zeros: every sequence's forward–backward at once (lane
                // groups where possible), else (or on any error) sequence by sequence below.
                if let (
                    Some(_),
                    None,
                    TransitionParams::Coefficients {
                        design, covariates, ..
                    },
                ) = (fused, self.transition_mask(), &self.transition)
                {
                    let c = covariates.design_len();
                    if covariate_node::fused_batch(
                        li, coef, design, c, &emission, &self.data, theta, values,
                    )? {
                        return Ok(T::sum_of(values));
                    }
                    values.clear();
                }
                for (s, seq) in self.data.iter().enumerate() {
                    let view = MissingSteps::new(&emission, self.data.missing_of(s));
                    let (design, c) = self.design_of(s).expect("a covariate model");
                    if let Some(free) = self.transition_mask() {
                        // Structural zeros: the generic recursion (the fused node has no mask).
                        values.push(
                            masked_steps::sequence_log_likelihood(
                                li,
                                coef,
                                (design, c),
                                free,
                                &view,
                                seq,
                            )
                            .map_err(|e| e.in_sequence(s))?,
                        );
                        continue;
                    }
                    let recorded = match (fused, view.fused()) {
                        (Some(_), Some(f)) => {
                            covariate_node::fused_sequence(li, coef, design, c, f, theta, seq)
                                .map_err(|e| e.in_sequence(s))?
                        }
                        _ => None,
                    };
                    let value = match recorded {
                        Some(v) => v,
                        None => covariate_node::generic_sequence(li, coef, design, c, &view, seq)
                            .map_err(|e| e.in_sequence(s))?,
                    };
                    values.push(value);
                }
                Ok(T::sum_of(values))
            })
        })
    }

    fn likelihood_name(&self) -> &str {
        "hmm_loglike"
    }
}
