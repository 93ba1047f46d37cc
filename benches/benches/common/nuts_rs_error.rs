//! The log-density error the nuts-rs targets of the `nuts_overhead` and `peer_fit` benches
//! report (each bench includes this file with `#[path]`; `nuts-rs` is a dev-dependency).

use nuts_rs::LogpError;

/// A log-density that nuts-rs treats as a divergence (recoverable), with what went wrong.
#[derive(Debug)]
pub struct Recoverable(pub &'static str);

impl std::fmt::Display for Recoverable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for Recoverable {}

impl LogpError for Recoverable {
    fn is_recoverable(&self) -> bool {
        true
    }
}
