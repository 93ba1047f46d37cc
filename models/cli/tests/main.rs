//! Every integration-test file of this crate, compiled as one test binary: one link and
//! one copy of the generic code they instantiate, instead of one per file.
//!
//! A new test file must be listed here (`mod its_name;`): with `autotests = false` in the
//! crate's `Cargo.toml`, cargo no longer finds `tests/*.rs` by itself, and a file left out
//! would silently never run.

#[path = "../../tests/ar1_common/mod.rs"]
mod ar1_common;
mod cli_common;
#[path = "../../../samplers/tests/plot_files/mod.rs"]
#[allow(dead_code)]
mod plot_files;
#[path = "../src/plots.rs"]
mod plots;

mod cli_ar1_missing;
mod cli_bad_input;
mod cli_commands;
mod cli_covariate_alignment;
mod cli_covariate_fits;
mod cli_logp_fd;
mod cli_model_checking;
mod cli_plots;
mod cli_posterior;
mod cli_ppc_real_data;
mod cli_provenance;
mod cli_python_clients;
mod cli_python_compare;
mod cli_real_data;
mod cli_reliability;
mod cli_report;
mod cli_roundtrip;
mod cli_run_control;
mod cli_runs;
mod cli_simulate_size;
