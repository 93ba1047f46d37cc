//! Every integration-test file of this crate, compiled as one test binary: one link and
//! one copy of the generic code they instantiate, instead of one per file.
//!
//! A new test file must be listed here (`mod its_name;`): with `autotests = false` in the
//! crate's `Cargo.toml`, cargo no longer finds `tests/*.rs` by itself, and a file left out
//! would silently never run.

#[path = "../../benches/src/gradient_functions.rs"]
#[allow(dead_code)]
mod gradient_functions;
#[path = "common/modes.rs"]
mod modes;

mod accuracy;
mod custom_op;
mod derivatives;
mod gradient_check;
mod infinite_partials;
mod map_ops;
mod numerics;
mod second_order;
mod slice_ops;
mod tape_misuse;
