//! Integration tests across the Trellis crates live in `tests/tests/`; this library only
//! holds helpers they share.
