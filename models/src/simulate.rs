//! Simulation of hidden states and observations from given parameters with a seeded RNG
//! (the reference's `simulate_hmm`): bit-reproducible for a seed.
//!
//! ```
//! use trellis_models::hmm::HmmParams;
//! use trellis_models::simulate::simulate_hmm;
//! use trellis_models::zoo::Gaussian;
//!
//! let chain = HmmParams::from_probabilities(&[0.5, 0.5], &[0.9, 0.1, 0.2, 0.8])?;
//! let (means, sds) = ([-1.0, 2.0], [0.5, 0.5]);
//! let emission = Gaussian::new(&means, &sds)?;
//! let sim = simulate_hmm(&chain, &emission, 3, 20, 42)?;
//! assert_eq!(sim.observations.len(), 3);
//! assert_eq!(sim.states[0].len(), 20);
//! // Same seed, same draws.
//! assert_eq!(sim, simulate_hmm(&chain, &emission, 3, 20, 42)?);
//! # Ok::<(), trellis_models::ModelError>(())
//! ```

use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use trellis_ad::Scalar;

use crate::emission::Emission;
use crate::hmm::{simulate_states, HmmError, HmmParams, Observation, Sequences};
use crate::model::ModelError;

/// An emission that can draw observations at its parameters' values.
///
/// Draws read the parameters' values ([`Scalar::value`]), so one implementation over every
/// number type `T` serves simulation from `f64` parameters and lets a zoo
/// [`Family`](crate::zoo::Family) name a single emission type for evaluation and
/// simulation; `T` defaults to `f64`, the type [`simulate_hmm`] takes.
pub trait SampleEmission<T: Scalar = f64>: Emission<T> {
    /// Checks that the parameters define a proper distribution for every state (positive
    /// scales, probabilities on the simplex, …), naming the offending parameter.
    fn check_params(&self) -> Result<(), ModelError>;

    /// Draws the observation at time `history.len()` given the hidden `state` and the
    /// observations before it (used by autoregressive families). Called only after
    /// [`SampleEmission::check_params`] succeeded.
    fn sample(
        &self,
        state: usize,
        history: &[Self::Obs],
        rng: &mut Xoshiro256PlusPlus,
    ) -> Self::Obs;
}

/// Simulated sequences with the hidden states that generated them.
#[derive(Debug, Clone, PartialEq)]
pub struct Simulated<O> {
    /// The observations.
    pub observations: Sequences<O>,
    /// The hidden states, one per observation.
    pub states: Sequences<usize>,
}

/// Simulates `n_sequences` independent sequences of `length` observations: for each
/// sequence, its hidden path from the Markov chain, then its observations in time order,
/// all from one `Xoshiro256PlusPlus` stream seeded with `seed`.
///
/// # Errors
/// No sequences or zero length, an emission with a different number of states than the
/// chain, or invalid emission parameters.
pub fn simulate_hmm<E>(
    chain: &HmmParams,
    emission: &E,
    n_sequences: usize,
    length: usize,
    seed: u64,
) -> Result<Simulated<E::Obs>, ModelError>
where
    E: SampleEmission + ?Sized,
    E::Obs: Observation,
{
    if n_sequences == 0 {
        return Err(HmmError::NoSequences.into());
    }
    if length == 0 {
        return Err(HmmError::EmptySequence { sequence: 0 }.into());
    }
    if emission.n_states() != chain.n_states() {
        return Err(ModelError::WrongLength {
            what: "emission states (the chain's number of states)".into(),
            expected: chain.n_states(),
            found: emission.n_states(),
        });
    }
    emission.check_params()?;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut observations = Vec::with_capacity(n_sequences);
    let mut states = Vec::with_capacity(n_sequences);
    for _ in 0..n_sequences {
        let path = simulate_states(chain, length, &mut rng);
        let mut seq: Vec<E::Obs> = Vec::with_capacity(length);
        for &z in &path {
            let y = emission.sample(z, &seq, &mut rng);
            seq.push(y);
        }
        observations.push(seq);
        states.push(path);
    }
    Ok(Simulated {
        observations: Sequences::new(observations)?,
        states: Sequences::new(states)?,
    })
}
