//! Criterion benchmarks live in `benches/benches/`; see `BENCHMARKS.md` for the figures. This
//! library holds what several benchmarks share.

pub mod family_likelihood;
pub mod gradient_functions;
pub mod hand_written;
pub mod paired;
pub mod reference_model;
pub mod shared_signal;
