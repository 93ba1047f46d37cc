//! Every integration-test file of this crate, compiled as one test binary: one link and
//! one copy of the generic code they instantiate, instead of one per file.
//!
//! A new test file must be listed here (`mod its_name;`): with `autotests = false` in the
//! crate's `Cargo.toml`, cargo no longer finds `tests/*.rs` by itself, and a file left out
//! would silently never run.

mod ar1_common;
#[path = "../../benches/src/family_likelihood.rs"]
mod family_likelihood;
mod hmm_common;
mod ppc_common;
mod zoo_common;

mod dynamax_reference;
mod emission_vjp;
mod hmm_bruteforce;
mod hmm_covariate_lanes;
mod hmm_errors;
mod hmm_inference;
mod hmm_lanes;
mod hmm_large_k;
mod hmm_long;
mod hmm_missing_batch;
mod hmm_per_step;
mod hmm_proptest;
mod hmm_real_data;
mod hmm_seed;
mod model_distributions;
mod model_layout;
mod model_reference;
mod model_transforms;
mod pointwise;
mod ppc;
mod ppc_real_data;
mod relabel;
mod size_limits;
mod zoo_ar1_gap;
mod zoo_ar1_missing_model;
mod zoo_bad_input;
mod zoo_fused;
mod zoo_gradients;
mod zoo_initial;
mod zoo_simulation;
