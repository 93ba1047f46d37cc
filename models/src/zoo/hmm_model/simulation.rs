//! Simulation from an [`HmmModel`]: its own chain (per-step transitions with covariates) and
//! emissions, with observations missing at random.

use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

use super::{Family, HmmModel, TransitionParams};
use crate::hmm::{self, HmmError, SequenceChain, Sequences, Transitions};
use crate::model::ModelError;
use crate::simulate::{SampleEmission, Simulated};

impl<F: Family> HmmModel<F> {
    /// [`HmmModel::simulate`] with each observation but the first of every sequence missing
    /// with probability `missing_rate` (independently; the first is always observed, so a
    /// sequence keeps at least one observation). The missing flags come from a stream of
    /// their own (the seed's generator moved 2¹⁹² steps ahead), so the hidden states and
    /// observations are those of the same seed at any rate; the value drawn at a missing
    /// step stays as its placeholder. Bit-reproducible for `seed`.
    ///
    /// ```
    /// use trellis_models::{zoo::{GaussianFamily, HmmModel}, hmm::Sequences};
    /// let model = HmmModel::new(GaussianFamily::new(2), Sequences::single(vec![0.0])?)?;
    /// let point = [0.0, 3.0, 1.0, 1.0, 0.5, 0.5, 0.9, 0.1, 0.2, 0.8];
    /// let sim = model.simulate_with_missing(&point, 20, 50, 0.1, 7)?;
    /// let full = model.simulate(&point, 20, 50, 7)?;
    /// assert_eq!(sim.observations.flat(), full.observations.flat());
    /// let rate = sim.observations.n_missing() as f64 / (20.0 * 49.0);
    /// assert!(rate > 0.05 && rate < 0.15);
    /// # Ok::<(), trellis_models::ModelError>(())
    /// ```
    ///
    /// # Errors
    /// As [`HmmModel::simulate`]; a `missing_rate` outside `[0, 1)`.
    pub fn simulate_with_missing(
        &self,
        constrained: &[f64],
        n_sequences: usize,
        length: usize,
        missing_rate: f64,
        seed: u64,
    ) -> Result<Simulated<F::Obs>, ModelError> {
        if let TransitionParams::Coefficients { .. } = self.transition {
            let same = self.data.len() == n_sequences && self.data.lengths().all(|n| n == length);
            if !same {
                return Err(ModelError::WrongLength {
                    what: format!(
                        "simulated sequences of {length} observations (a covariate model \
                         simulates its covariates' own sequences: {} of lengths {:?})",
                        self.data.len(),
                        self.data.lengths().collect::<Vec<_>>()
                    ),
                    expected: self.data.len(),
                    found: n_sequences,
                });
            }
        }
        if n_sequences == 0 {
            return Err(HmmError::NoSequences.into());
        }
        if length == 0 {
            return Err(HmmError::EmptySequence { sequence: 0 }.into());
        }
        self.simulate_lengths(constrained, &vec![length; n_sequences], missing_rate, seed)
    }

    /// Simulates sequences of the data's own lengths (with covariates: the covariates' own
    /// sequences), as [`HmmModel::simulate_with_missing`] does.
    ///
    /// # Errors
    /// As [`HmmModel::simulate_with_missing`].
    pub fn simulate_like_data(
        &self,
        constrained: &[f64],
        missing_rate: f64,
        seed: u64,
    ) -> Result<Simulated<F::Obs>, ModelError> {
        let lengths: Vec<usize> = self.data.lengths().collect();
        self.simulate_lengths(constrained, &lengths, missing_rate, seed)
    }

    /// Sequence `s` has `lengths[s]` observations (`s` indexes the data's covariates).
    fn simulate_lengths(
        &self,
        constrained: &[f64],
        lengths: &[usize],
        missing_rate: f64,
        seed: u64,
    ) -> Result<Simulated<F::Obs>, ModelError> {
        if !(0.0..1.0).contains(&missing_rate) {
            return Err(ModelError::InvalidParameter {
                name: "missing_rate".into(),
                value: missing_rate,
                reason: "must lie in [0, 1)".into(),
            });
        }
        self.with_point(constrained, |params| {
            let emission = self.emission(params);
            emission.check_params()?;
            let li = self.log_initial(params);
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
            let mut missing_rng = rng.clone();
            missing_rng.long_jump();
            let (mut observations, mut states) = (Vec::new(), Vec::new());
            let mut missing = Vec::new();
            let mut lt = Vec::new();
            for (s, &len) in lengths.iter().enumerate() {
                let chain = match &self.transition {
                    TransitionParams::Matrix(handle) => {
                        let lt = params.log_of(*handle).unwrap_or(&[]);
                        SequenceChain::new(li, Transitions::Homogeneous(lt))?
                    }
                    TransitionParams::Coefficients { coef, .. } => {
                        self.step_log_transitions(params.of(*coef), s, &mut lt)?;
                        SequenceChain::new(li, Transitions::PerStep(&lt))?
                    }
                };
                let path = hmm::simulate_states(chain, len, &mut rng);
                let mut seq: Vec<F::Obs> = Vec::with_capacity(len);
                for &z in &path {
                    let y = emission.sample(z, &seq, &mut rng);
                    seq.push(y);
                }
                missing
                    .extend((0..len).map(|t| t > 0 && missing_rng.random::<f64>() < missing_rate));
                observations.push(seq);
                states.push(path);
            }
            Ok(Simulated {
                observations: Sequences::new(observations)?.with_missing(missing)?,
                states: Sequences::new(states)?,
            })
        })
    }
}
