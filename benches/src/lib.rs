//! Criterion benchmarks live in `benches/benches/`; see `BENCHMARKS.md` for the figures.
