//! The no-U-turn sampler: multinomial trajectory sampling with the generalised no-U-turn
//! criterion (Betancourt 2017) as in Stan — uniform (multinomial) sampling inside subtrees,
//! biased progressive sampling between the old trajectory and each new subtree, the criterion
//! also checked across every join, a maximum tree depth and divergence on large energy errors.
//!
//! Trajectory states live in a per-chain pool with reference counts, so a leapfrog step never
//! allocates or copies a state; only the chosen sample is copied out at the end.

use rand::Rng;
use trellis_ad::Scalar as _;

use super::hamiltonian::{leapfrog, pair_mut, validate_max_energy_error, PhaseState};
use super::hamiltonian::{HamiltonianChain, HamiltonianCore};
use crate::adapt::metric::{InitialMetric, MetricKind};
use crate::adapt::{AdaptSettings, MetricAdaptation, StartTuning};
use crate::density::{LogDensity, LogDensityError};
use crate::error::ConfigError;
use crate::sampler::StepResult;
use crate::sampler::{ChainRng, ChainStart, DrawStats, NewChain, Point, Sampler};
use crate::vecmath::{self, JoinInputs};

/// NUTS settings (Stan's defaults); [`Sampler::new_chain`] makes a [`NutsChain`].
///
/// ```
/// use trellis_samplers::{sample, LogDensity, LogDensityError, MetricKind, Nuts, RunConfig};
///
/// /// A correlated 2-D Gaussian, written by hand.
/// struct Gaussian2;
/// impl LogDensity for Gaussian2 {
///     fn dim(&self) -> usize { 2 }
///     fn logp_and_grad(&self, x: &[f64], g: &mut [f64]) -> Result<f64, LogDensityError> {
///         // Precision matrix of unit variances with correlation 0.5.
///         let (a, b) = (4.0 / 3.0, -2.0 / 3.0);
///         g[0] = -(a * x[0] + b * x[1]);
///         g[1] = -(b * x[0] + a * x[1]);
///         Ok(0.5 * (x[0] * g[0] + x[1] * g[1]))
///     }
/// }
///
/// let nuts = Nuts::default().with_metric(MetricKind::Dense);
/// let config = RunConfig { chains: 2, warmup: 300, draws: 300, seed: 7, progress: false,
///                          ..RunConfig::default() };
/// let trace = sample(&Gaussian2, &nuts, &config)?;
/// let x0 = trace.column(0).concat();
/// let mean = x0.iter().sum::<f64>() / x0.len() as f64;
/// assert!(mean.abs() < 0.3);
/// assert_eq!(trace.divergences(), 0);
/// # Ok::<(), trellis_samplers::SampleError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Nuts {
    /// Maximum tree depth: at most `2^max_depth − 1` leapfrog steps per draw. Default 10.
    pub max_depth: u32,
    /// A trajectory diverges when its energy error exceeds this. Default 1000.
    pub max_energy_error: f64,
    /// Warm-up adaptation (step size, metric).
    pub adapt: AdaptSettings,
    /// Step size and metric to start from (default: the heuristic and the initial metric).
    pub start: StartTuning,
}

impl Default for Nuts {
    fn default() -> Self {
        Self {
            max_depth: 10,
            max_energy_error: 1000.0,
            adapt: AdaptSettings::default(),
            start: StartTuning::default(),
        }
    }
}

impl Nuts {
    /// NUTS with Stan's defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the target acceptance statistic of step-size adaptation (default 0.8).
    pub fn with_target_accept(mut self, target: f64) -> Self {
        self.adapt.step_size.target_accept = target;
        self
    }

    /// Sets the maximum tree depth (default 10).
    pub fn with_max_depth(mut self, depth: u32) -> Self {
        self.max_depth = depth;
        self
    }

    /// Chooses the initial metric (default: Stan's identity).
    pub fn with_initial_metric(mut self, initial: InitialMetric) -> Self {
        self.adapt.initial_metric = initial;
        self
    }

    /// Chooses the metric (default diagonal).
    pub fn with_metric(mut self, metric: MetricKind) -> Self {
        self.adapt.metric = metric;
        self
    }

    /// Starts from a given step size and metric, e.g. an earlier run's adapted ones (see
    /// [`StartTuning`]).
    pub fn with_start(mut self, start: StartTuning) -> Self {
        self.start = start;
        self
    }

    /// Chooses how the metric adapts during warm-up (default: Stan's windows).
    pub fn with_metric_adaptation(mut self, adaptation: MetricAdaptation) -> Self {
        self.adapt.metric_adaptation = adaptation;
        self
    }
}

/// Where a subtree's momentum sum lives: a leaf's own momentum, or a pool buffer.
#[derive(Debug, Clone, Copy)]
enum Rho {
    State(usize),
    Buf(usize),
}

/// A valid subtree: its first and last states (in build order), its proposal, its momentum
/// sum and the log of its total multinomial weight.
#[derive(Debug, Clone, Copy)]
struct Subtree {
    beg: usize,
    end: usize,
    proposal: usize,
    rho: Rho,
    log_weight: f64,
}

/// The state of one NUTS chain: metric, step size and adaptation, and the pool of trajectory
/// states.
#[derive(Debug, Clone)]
pub struct NutsChain {
    core: HamiltonianCore,
    max_depth: u32,
    max_energy_error: f64,
    states: Vec<PhaseState>,
    refs: Vec<u32>,
    free_states: Vec<usize>,
    bufs: Vec<Vec<f64>>,
    free_bufs: Vec<usize>,
    dim: usize,
    // Per-transition accumulators.
    h0: f64,
    n_leapfrog: u32,
    sum_metro: f64,
    divergent: bool,
    /// A density error that is not recoverable, met inside the trajectory.
    failure: Option<LogDensityError>,
}

impl NutsChain {
    /// The current step size.
    pub fn step_size(&self) -> f64 {
        self.core.eps
    }

    fn reset_pool(&mut self) {
        self.free_states.clear();
        self.free_states.extend((0..self.states.len()).rev());
        self.refs.iter_mut().for_each(|r| *r = 0);
        self.free_bufs.clear();
        self.free_bufs.extend((0..self.bufs.len()).rev());
    }

    fn alloc_state(&mut self) -> usize {
        let id = match self.free_states.pop() {
            Some(id) => id,
            None => {
                self.states.push(PhaseState::new(self.dim));
                self.refs.push(0);
                self.states.len() - 1
            }
        };
        self.refs[id] = 1;
        id
    }

    #[inline]
    fn release(&mut self, id: usize) {
        self.refs[id] -= 1;
        if self.refs[id] == 0 {
            self.free_states.push(id);
        }
    }

    fn alloc_buf(&mut self) -> usize {
        match self.free_bufs.pop() {
            Some(id) => id,
            None => {
                self.bufs.push(vec![0.0; self.dim]);
                self.bufs.len() - 1
            }
        }
    }

    fn release_rho(&mut self, rho: Rho) {
        match rho {
            Rho::State(id) => self.release(id),
            Rho::Buf(b) => self.free_bufs.push(b),
        }
    }

    fn rho_slice(&self, rho: Rho) -> &[f64] {
        match rho {
            Rho::State(id) => &self.states[id].p,
            Rho::Buf(b) => &self.bufs[b],
        }
    }

    /// Joins sub-trajectory `a` (outer end `outer_a`, inner end `inner_a`) with the adjacent
    /// `b` (inner end `inner_b`, outer end `outer_b`): returns the joined momentum sum and
    /// whether the no-U-turn criterion lets the trajectory continue. Releases the inner ends
    /// and the two partial sums.
    fn join(
        &mut self,
        (outer_a, inner_a, rho_a): (usize, usize, Rho),
        (inner_b, outer_b, rho_b): (usize, usize, Rho),
    ) -> (Rho, bool) {
        let out = self.alloc_buf();
        let mut rho = std::mem::take(&mut self.bufs[out]);
        let ok = {
            let s = &self.states;
            vecmath::join(
                &JoinInputs {
                    rho_a: self.rho_slice(rho_a),
                    rho_b: self.rho_slice(rho_b),
                    p_inner_a: &s[inner_a].p,
                    p_inner_b: &s[inner_b].p,
                    v_outer_a: &s[outer_a].v,
                    v_inner_a: &s[inner_a].v,
                    v_inner_b: &s[inner_b].v,
                    v_outer_b: &s[outer_b].v,
                },
                &mut rho,
            )
        };
        self.bufs[out] = rho;
        self.release(inner_a);
        self.release(inner_b);
        self.release_rho(rho_a);
        self.release_rho(rho_b);
        (Rho::Buf(out), ok)
    }

    /// Builds a subtree of `2^depth` leapfrog steps of size `eps` starting after state
    /// `start`. `None` means the subtree is invalid (divergent, or a U-turn inside it).
    /// A density error that is not recoverable ends it too, kept in `self.failure`.
    fn build_tree<D: LogDensity + ?Sized>(
        &mut self,
        density: &D,
        depth: u32,
        start: usize,
        eps: f64,
        rng: &mut ChainRng,
    ) -> Option<Subtree> {
        if depth == 0 {
            let id = self.alloc_state();
            {
                let (from, to) = pair_mut(&mut self.states, start, id);
                let core = &mut self.core;
                if let Err(e) = leapfrog(density, &core.metric, from, to, eps, &mut core.scratch) {
                    self.failure = Some(e);
                    return None;
                }
            }
            self.n_leapfrog += 1;
            let h = self.states[id].energy();
            let log_weight = self.h0 - h;
            self.sum_metro += if log_weight > 0.0 {
                1.0
            } else {
                log_weight.exp()
            };
            let error = h - self.h0;
            if error.is_nan() || error > self.max_energy_error {
                self.divergent = true;
                return None;
            }
            // References: beginning, end, proposal and momentum sum.
            self.refs[id] = 4;
            return Some(Subtree {
                beg: id,
                end: id,
                proposal: id,
                rho: Rho::State(id),
                log_weight,
            });
        }

        let init = self.build_tree(density, depth - 1, start, eps, rng)?;
        let last = self.build_tree(density, depth - 1, init.end, eps, rng)?;

        // Multinomial sampling within the subtree: the later half is taken with probability
        // w_last / (w_init + w_last).
        let (log_weight, p_last) = log_add_exp_with_share(init.log_weight, last.log_weight);
        let take_last = rng.random::<f64>() < p_last;
        let proposal = if take_last {
            self.release(init.proposal);
            last.proposal
        } else {
            self.release(last.proposal);
            init.proposal
        };

        let (rho, ok) = self.join(
            (init.beg, init.end, init.rho),
            (last.beg, last.end, last.rho),
        );
        if !ok {
            return None;
        }
        Some(Subtree {
            beg: init.beg,
            end: last.end,
            proposal,
            rho,
            log_weight,
        })
    }
}

impl HamiltonianChain for NutsChain {
    fn core(&self) -> &HamiltonianCore {
        &self.core
    }

    fn core_mut(&mut self) -> &mut HamiltonianCore {
        &mut self.core
    }

    /// One NUTS transition from `point`.
    fn transition<D: LogDensity + ?Sized>(
        &mut self,
        density: &D,
        point: &mut Point,
        rng: &mut ChainRng,
    ) -> StepResult {
        self.reset_pool();
        let s0 = self.alloc_state();
        self.states[s0].load(point);
        self.states[s0].refresh_momentum(&self.core.metric, rng);
        self.h0 = self.states[s0].energy();
        self.n_leapfrog = 0;
        self.sum_metro = 0.0;
        self.divergent = false;
        // References: forward end, backward end, sample, momentum sum.
        self.refs[s0] = 4;
        let (mut fwd, mut bck, mut sample) = (s0, s0, s0);
        let mut rho = Rho::State(s0);
        let mut log_weight = 0.0;
        let mut depth = 0;

        while depth < self.max_depth {
            let forward = rng.random::<f64>() > 0.5;
            let (start, eps) = if forward {
                (fwd, self.core.eps)
            } else {
                (bck, -self.core.eps)
            };
            let Some(sub) = self.build_tree(density, depth, start, eps, rng) else {
                if let Some(e) = self.failure.take() {
                    return Err(e);
                }
                break;
            };
            depth += 1;

            // Biased progressive sampling: favour the new subtree.
            if sub.log_weight > log_weight
                || rng.random::<f64>() < (sub.log_weight - log_weight).exp()
            {
                self.release(sample);
                sample = sub.proposal;
            } else {
                self.release(sub.proposal);
            }
            log_weight = log_weight.log_add_exp(sub.log_weight);

            let old = if forward {
                (bck, fwd, rho)
            } else {
                (fwd, bck, rho)
            };
            let (joined, ok) = self.join(old, (sub.beg, sub.end, sub.rho));
            rho = joined;
            if forward {
                fwd = sub.end;
            } else {
                bck = sub.end;
            }
            if !ok {
                break;
            }
        }

        let s = &self.states[sample];
        s.store(point);
        Ok(DrawStats {
            lp: s.logp,
            accept_stat: if self.n_leapfrog > 0 {
                self.sum_metro / self.n_leapfrog as f64
            } else {
                0.0
            },
            step_size: self.core.eps,
            tree_depth: depth,
            n_grad: self.n_leapfrog,
            divergent: self.divergent,
            energy: s.energy(),
            max_depth_hit: depth >= self.max_depth,
        })
    }
}

/// `(ln(eᵃ + eᵇ), eᵇ / (eᵃ + eᵇ))` for finite `a`, `b`, with one `exp` and one `ln_1p`:
/// `trellis_ad`'s `log_add_exp` plus the share the multinomial choice needs, which would
/// otherwise cost a second `exp`.
#[inline]
fn log_add_exp_with_share(a: f64, b: f64) -> (f64, f64) {
    let d = a - b;
    let e = (-d.abs()).exp();
    if d >= 0.0 {
        (a + e.ln_1p(), e / (1.0 + e))
    } else {
        (b + e.ln_1p(), 1.0 / (1.0 + e))
    }
}

impl Sampler for Nuts {
    type Chain = NutsChain;

    fn name(&self) -> &str {
        "nuts"
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.max_depth == 0 {
            return Err(ConfigError::MaxDepthZero);
        }
        validate_max_energy_error(self.max_energy_error)?;
        self.adapt.validate()
    }

    fn validate_dim(&self, dim: usize) -> Result<(), ConfigError> {
        self.start.validate(self.adapt.metric, dim)
    }

    fn settings(&self) -> Vec<(String, String)> {
        let mut s = vec![
            ("algorithm".into(), "hmc".into()),
            ("engine".into(), "nuts".into()),
            ("max_depth".into(), self.max_depth.to_string()),
            ("max_energy_error".into(), self.max_energy_error.to_string()),
        ];
        s.extend(self.adapt.describe());
        s
    }

    fn new_chain<D: LogDensity + ?Sized>(&self, start: ChainStart<'_, D>) -> NewChain<Self> {
        let dim = start.point.position.len();
        Ok(NutsChain {
            core: HamiltonianCore::new(&self.adapt, &self.start, start)?,
            max_depth: self.max_depth,
            max_energy_error: self.max_energy_error,
            states: Vec::new(),
            refs: Vec::new(),
            free_states: Vec::new(),
            bufs: Vec::new(),
            free_bufs: Vec::new(),
            dim,
            h0: 0.0,
            n_leapfrog: 0,
            sum_metro: 0.0,
            divergent: false,
            failure: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::density::StdNormal;
    use crate::sampler::{Chain, Phase, Transition};
    use rand::SeedableRng;

    const SAMPLING: Phase = Phase::Sampling { iteration: 0 };

    fn start<'a>(
        d: &'a StdNormal,
        point: &'a Point,
        rng: &'a mut ChainRng,
    ) -> ChainStart<'a, StdNormal> {
        ChainStart {
            density: d,
            point,
            num_warmup: 0,
            rng,
        }
    }

    #[test]
    fn pool_stays_small_and_tree_sizes_are_consistent() {
        let d = StdNormal(5);
        let nuts = Nuts::default();
        let mut rng = ChainRng::seed_from_u64(11);
        let mut point = Point::zeros(5);
        point.evaluate(&d).unwrap();
        let mut c = nuts.new_chain(start(&d, &point, &mut rng)).unwrap();
        for _ in 0..200 {
            let s = c.step(Transition::new(&d, &mut point, SAMPLING, &mut rng));
            let s = s.unwrap();
            assert!(s.n_grad >= 1 && s.n_grad < 1 << (s.tree_depth.max(1) + 1));
            assert!(!s.divergent);
            assert!((0.0..=1.0).contains(&s.accept_stat));
        }
        // A state pool proportional to the depth, not to the number of steps.
        assert!(
            c.states.len() <= 4 * nuts.max_depth as usize + 4,
            "{}",
            c.states.len()
        );
    }

    #[test]
    fn log_add_exp_with_share_matches_direct_formulas() {
        let (l, p) = log_add_exp_with_share(1.0, 2.0);
        assert!((l - (1f64.exp() + 2f64.exp()).ln()).abs() < 1e-14);
        assert!((p - 2f64.exp() / (1f64.exp() + 2f64.exp())).abs() < 1e-14);
        let (l, p) = log_add_exp_with_share(-3.0, -700.0);
        assert!((l + 3.0).abs() < 1e-14 && p < 1e-250);
    }

    #[test]
    fn max_depth_is_respected_and_reported() {
        let d = StdNormal(2);
        let nuts = Nuts::default().with_max_depth(2);
        let mut rng = ChainRng::seed_from_u64(5);
        let mut point = Point::zeros(2);
        point.evaluate(&d).unwrap();
        let mut c = nuts.new_chain(start(&d, &point, &mut rng)).unwrap();
        c.core.eps = 0.01; // far too small: every tree runs to the cap.
        let s = c.step(Transition::new(&d, &mut point, SAMPLING, &mut rng));
        let s = s.unwrap();
        assert_eq!(s.tree_depth, 2);
        assert_eq!(s.n_grad, 3);
        assert!(s.max_depth_hit);
    }
}
