//! The two traits of a sampler: [`Sampler`], the configured settings, which makes a [`Chain`]
//! for a density at a start point; and [`Chain`], the per-chain state that makes one Markov
//! transition at a time. Everything else — initialisation, validation, the warm-up/sampling
//! loop, parallel chains, statistics, progress bars and output — is done once by the runner
//! ([`crate::sample`]) for every sampler.

use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

use crate::density::{LogDensity, LogDensityError};
use crate::error::{ConfigError, NonFinite};

/// The random number generator of one chain (xoshiro256++; chain `k` gets the stream of the
/// user seed after `k` jumps, see [`crate::chain_rng`]).
pub type ChainRng = Xoshiro256PlusPlus;

/// The current state of a chain: a position with its log-density and gradient.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// Position on the unconstrained space.
    pub position: Vec<f64>,
    /// ∇ log p at `position`.
    pub gradient: Vec<f64>,
    /// log p at `position`.
    pub logp: f64,
}

impl Point {
    /// A point at the origin of an `n`-dimensional space, not yet evaluated (`logp` is −∞).
    pub fn zeros(n: usize) -> Self {
        Self {
            position: vec![0.0; n],
            gradient: vec![0.0; n],
            logp: f64::NEG_INFINITY,
        }
    }

    /// Evaluates `density` at `self.position`, filling `logp` and `gradient`.
    ///
    /// Returns what was wrong if the log-density failed or the value or the gradient is not
    /// finite (`logp` is then −∞).
    ///
    /// For a proposal inside a transition, [`Point::evaluate_proposal`] sorts the outcome
    /// into "use it", "reject it" and "stop the run".
    pub fn evaluate<D: LogDensity + ?Sized>(&mut self, density: &D) -> Result<(), NonFinite> {
        match density.logp_and_grad(&self.position, &mut self.gradient) {
            Err(e) => {
                self.logp = f64::NEG_INFINITY;
                Err(NonFinite::Error(e))
            }
            Ok(lp) if !lp.is_finite() => {
                self.logp = f64::NEG_INFINITY;
                Err(NonFinite::LogDensity(lp))
            }
            Ok(lp) => {
                self.logp = lp;
                if let Some((index, &value)) = self
                    .gradient
                    .iter()
                    .enumerate()
                    .find(|(_, g)| !g.is_finite())
                {
                    self.logp = f64::NEG_INFINITY;
                    return Err(NonFinite::Gradient { index, value });
                }
                Ok(())
            }
        }
    }
}

impl Point {
    /// Evaluates a proposal: `Ok(true)` if it is a valid state, `Ok(false)` if it must be
    /// rejected (a non-finite value or gradient, or a recoverable density error), and the
    /// error if the density failed in a way no other point would avoid
    /// ([`LogDensityError::is_recoverable`] is false): the transition then returns it with `?`
    /// and the run stops.
    pub fn evaluate_proposal<D: LogDensity + ?Sized>(
        &mut self,
        density: &D,
    ) -> Result<bool, LogDensityError> {
        match self.evaluate(density) {
            Ok(()) => Ok(true),
            Err(NonFinite::Error(e)) if !e.is_recoverable() => Err(e),
            Err(_) => Ok(false),
        }
    }
}

/// Where a transition sits in the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Warm-up iteration `iteration` (0-based) of `total`: samplers adapt their tuning.
    Warmup {
        /// 0-based index of this warm-up iteration.
        iteration: usize,
        /// Number of warm-up iterations.
        total: usize,
    },
    /// Sampling iteration `iteration` (0-based): tuning is frozen.
    Sampling {
        /// 0-based index of this draw.
        iteration: usize,
    },
}

impl Phase {
    /// True during warm-up.
    pub fn is_warmup(&self) -> bool {
        matches!(self, Phase::Warmup { .. })
    }
}

/// Statistics of one transition, written as CmdStan's `*__` columns.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct DrawStats {
    /// log p of the new state (`lp__`).
    pub lp: f64,
    /// Acceptance statistic in \[0, 1\] (`accept_stat__`): for NUTS the mean Metropolis
    /// acceptance probability over the trajectory, for Metropolis samplers the acceptance
    /// probability of the proposal.
    pub accept_stat: f64,
    /// Step size (or proposal scale) used for this transition (`stepsize__`).
    pub step_size: f64,
    /// NUTS tree depth (`treedepth__`); 0 for other samplers.
    pub tree_depth: u32,
    /// Number of gradient evaluations (`n_leapfrog__`).
    pub n_grad: u32,
    /// The transition hit a divergence: an energy error above the threshold, or a point where
    /// the log-density or its gradient was not finite (`divergent__`).
    pub divergent: bool,
    /// Hamiltonian at the new state (`energy__`); −`lp` for samplers without momentum.
    pub energy: f64,
    /// NUTS stopped because it reached its maximum tree depth.
    pub max_depth_hit: bool,
}

/// The inverse mass matrix (metric) of a Hamiltonian sampler.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvMetric {
    /// Diagonal elements.
    Diag(Vec<f64>),
    /// Dense `dim × dim` matrix, row-major.
    Dense {
        /// Number of rows (= columns).
        dim: usize,
        /// Row-major elements.
        values: Vec<f64>,
    },
}

/// Tuning parameters a sampler reports at the end of warm-up (and writes to the output).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Tuning {
    /// Adapted step size, if the sampler has one.
    pub step_size: Option<f64>,
    /// Adapted inverse metric, if the sampler has one.
    pub inv_metric: Option<InvMetric>,
    /// Anything else worth reporting (name, value).
    pub extra: Vec<(String, f64)>,
}

/// A configured sampler: validated settings (`Clone`, shared by every chain) that make the
/// state of one chain with [`Sampler::new_chain`]; implement this and [`Chain`], and
/// [`crate::sample`] provides the rest.
///
/// The runner checks [`Sampler::validate`] once before any chain starts, finds each chain's
/// valid initial point, calls [`Sampler::new_chain`] there, then drives the [`Chain`]: one
/// [`Chain::step`] per iteration (warm-up iterations first), with [`Chain::end_warmup`] in
/// between, and [`Chain::tuning`] at the end.
///
/// See `samplers/examples/custom_sampler.rs` for a complete sampler in a page of code.
pub trait Sampler: Clone + Send + Sync {
    /// The per-chain state this sampler drives.
    type Chain: Chain;

    /// Short name used in output metadata, e.g. `"nuts"`.
    fn name(&self) -> &str;

    /// Checks the settings before any chain starts.
    fn validate(&self) -> Result<(), ConfigError> {
        Ok(())
    }

    /// Checks the settings against the density's dimension `dim` (e.g. the size of a given
    /// metric), before any chain starts.
    fn validate_dim(&self, dim: usize) -> Result<(), ConfigError> {
        let _ = dim;
        Ok(())
    }

    /// Settings written to the output header as `key = value` lines.
    fn settings(&self) -> Vec<(String, String)> {
        Vec::new()
    }

    /// The state of one chain at its (valid) initial point `start`, before the first of
    /// `num_warmup` warm-up iterations: buffers, an initial step size, ….
    ///
    /// Returns a density error that is not recoverable (see
    /// [`Point::evaluate_proposal`]); the run then stops with it.
    fn new_chain<D: LogDensity + ?Sized>(&self, start: ChainStart<'_, D>) -> NewChain<Self>;
}

/// A new chain, or the density error (not recoverable) that prevented it.
pub type NewChain<S> = Result<<S as Sampler>::Chain, LogDensityError>;

/// One transition's statistics, or the density error (not recoverable) that stops the run.
pub type StepResult = Result<DrawStats, LogDensityError>;

/// Where a chain starts: the arguments of [`Sampler::new_chain`].
#[derive(Debug)]
pub struct ChainStart<'a, D: ?Sized> {
    /// The target.
    pub density: &'a D,
    /// The chain's valid initial point (finite log-density and gradient).
    pub point: &'a Point,
    /// Number of warm-up iterations that will follow.
    pub num_warmup: usize,
    /// The chain's random stream.
    pub rng: &'a mut ChainRng,
}

/// One transition's arguments: [`Chain::step`] moves `point` in place.
#[derive(Debug)]
pub struct Transition<'a, D: ?Sized> {
    /// The target.
    pub density: &'a D,
    /// The chain's current state, updated in place.
    pub point: &'a mut Point,
    /// Where the transition sits in the run.
    pub phase: Phase,
    /// The chain's random stream.
    pub rng: &'a mut ChainRng,
}

impl<'a, D: ?Sized> Transition<'a, D> {
    /// Bundles the arguments of one transition.
    pub fn new(density: &'a D, point: &'a mut Point, phase: Phase, rng: &'a mut ChainRng) -> Self {
        Self {
            density,
            point,
            phase,
            rng,
        }
    }

    /// `(density, point, phase, rng)`, for a `let` that binds them all.
    pub fn into_parts(self) -> (&'a D, &'a mut Point, Phase, &'a mut ChainRng) {
        (self.density, self.point, self.phase, self.rng)
    }
}

/// The state of one chain: a Markov transition kernel on ℝⁿ with whatever it adapts.
///
/// `step` must leave `point` a valid state (finite `logp` and gradient): a rejected proposal
/// keeps the current point. A non-finite log-density or a recoverable density error at a
/// proposal is a rejection (and may be reported as `divergent`), never a panic; a density
/// error that is not recoverable is returned, and stops the run.
pub trait Chain: Send {
    /// One transition from `t.point`, which is updated in place.
    fn step<D: LogDensity + ?Sized>(&mut self, t: Transition<'_, D>) -> StepResult;

    /// Called once after the last warm-up iteration (even if there were none): freeze tuning.
    fn end_warmup(&mut self) {}

    /// The current tuning parameters.
    fn tuning(&self) -> Tuning {
        Tuning::default()
    }
}
