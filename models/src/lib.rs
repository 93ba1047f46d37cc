//! # trellis-models: hidden Markov models written once over `Scalar`
//!
//! The forward algorithm, filtering, smoothing, Viterbi decoding, posterior path sampling and
//! simulation for any [`Emission`]; a zoo of emission families; priors, constraining
//! transforms and a parameter layout that turn named parameters into a log-density on an
//! unconstrained vector, ready for `trellis-ad` and `trellis-samplers`.

pub mod emission;
pub mod hmm;

pub use emission::{Emission, FusedEmission};
pub use hmm::{HmmError, HmmParams, Sequences};

pub mod distributions;
pub mod layout;
pub mod masked;
pub mod model;
pub mod pointwise;
pub mod ppc;
pub mod prior_draws;
pub mod priors;
pub mod reference;
pub mod relabel;
pub mod simulate;
pub mod transforms;
pub mod zoo;

pub use layout::{LayoutError, NameStyle, ParamHandle, ParamLayout, ParamSpec, Params, Shape};
pub use model::{BayesianModel, ModelDensity, ModelError};
pub use priors::Prior;
pub use simulate::{simulate_hmm, SampleEmission, Simulated};
pub use transforms::Transform;
