//! Convergence diagnostics (placeholder).
