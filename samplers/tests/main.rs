//! Every integration-test file of this crate, compiled as one test binary: one link and
//! one copy of the generic code they instantiate, instead of one per file.
//!
//! A new test file must be listed here (`mod its_name;`): with `autotests = false` in the
//! crate's `Cargo.toml`, cargo no longer finds `tests/*.rs` by itself, and a file left out
//! would silently never run.

mod common;
#[path = "../examples/custom_sampler.rs"]
#[allow(dead_code)]
mod custom_sampler;
#[path = "common/fixtures.rs"]
mod fixtures;
#[cfg(feature = "plots")]
mod plot_files;

mod adapt_draws_gradients;
mod density_errors;
mod diagnostics_arviz;
#[cfg(feature = "plots")]
mod kde;
mod loo_arviz;
mod pinned_draws;
#[cfg(feature = "plots")]
mod plots;
mod read_streaming;
mod run_control;
mod sampling;
