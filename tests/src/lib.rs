//! Integration tests across the Trellis crates live in `tests/tests/`.
//!
//! This library also compiles and runs the README's Rust examples as doc tests, so the
//! README cannot drift from the API.

#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
