//! Every integration-test file of this crate, compiled as one test binary: one link and
//! one copy of the generic code they instantiate, instead of one per file.

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
