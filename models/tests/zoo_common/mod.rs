//! Shared inputs of the zoo property tests (`zoo_fused`, `zoo_gradients`).
#![allow(dead_code)]

use proptest::prelude::*;
use trellis_models::hmm::Sequences;

/// A one-observation data set that only sets up a real-valued family's layout.
pub fn real_dummy() -> Sequences<f64> {
    Sequences::new(vec![vec![0.5]]).unwrap()
}

/// `(sequences, length, seed)` of a small simulated data set.
pub fn shape() -> impl Strategy<Value = (usize, usize, u64)> {
    (1usize..4, 1usize..7, any::<u64>())
}
