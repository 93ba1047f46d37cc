//! The typed errors of the HMM algorithms and data containers.
//!
//! Bad input is reported, never turned into a panic or a silent NaN: every variant names
//! where the problem is (sequence, position, state, row, column) and the offending value.
//! Emission families with their own domain checks (negative counts, categories out of range)
//! report [`HmmError::InvalidObservation`] or wrap this type.

use thiserror::Error;

/// Everything that can be wrong with the input of an HMM computation.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum HmmError {
    /// A batch of sequences must hold at least one sequence.
    #[error("no sequences: a data set needs at least one sequence")]
    NoSequences,

    /// A sequence without observations.
    #[error("sequence {sequence} is empty: every sequence needs at least one observation")]
    EmptySequence {
        /// Index of the sequence in its batch.
        sequence: usize,
    },

    /// A NaN or infinite real-valued observation.
    #[error("observation {position} of sequence {sequence} is {value}, not a finite number")]
    NonFinite {
        /// Index of the sequence in its batch.
        sequence: usize,
        /// Time step within the sequence.
        position: usize,
        /// The offending value.
        value: f64,
    },

    /// An observation outside the support of its emission family (a negative count, a
    /// category out of range, …).
    #[error("observation {position} of sequence {sequence} ({value}) is invalid: {reason}")]
    InvalidObservation {
        /// Index of the sequence in its batch.
        sequence: usize,
        /// Time step within the sequence.
        position: usize,
        /// The offending value, formatted.
        value: String,
        /// Why it is invalid.
        reason: String,
    },

    /// A slice or vector of the wrong length (parameter vectors, emission matrices, …).
    #[error("{what} has length {found}, expected {expected}")]
    WrongLength {
        /// What has the wrong length.
        what: &'static str,
        /// The length required.
        expected: usize,
        /// The length given.
        found: usize,
    },

    /// A model with zero hidden states.
    #[error("a hidden Markov model needs at least one hidden state")]
    NoStates,

    /// An initial-state probability that is NaN, infinite or outside `[0, 1]`.
    #[error("initial probability of state {state} is {value}, not a probability in [0, 1]")]
    InvalidInitialProbability {
        /// The state.
        state: usize,
        /// The offending value.
        value: f64,
    },

    /// A transition probability that is NaN, infinite or outside `[0, 1]`.
    #[error("transition probability [{row}][{column}] is {value}, not a probability in [0, 1]")]
    InvalidTransitionProbability {
        /// The from-state.
        row: usize,
        /// The to-state.
        column: usize,
        /// The offending value.
        value: f64,
    },

    /// Initial-state probabilities that do not sum to 1 (within 1e-9).
    #[error("the initial-state probabilities sum to {sum}, not 1")]
    InitialNotNormalised {
        /// Their sum.
        sum: f64,
    },

    /// A row of a transition matrix that does not sum to 1 (within 1e-9).
    #[error("row {row} of the transition matrix sums to {sum}, not 1")]
    NotStochastic {
        /// The from-state whose row is wrong.
        row: usize,
        /// The row's sum.
        sum: f64,
    },

    /// A log-probability parameter that is NaN or `+inf` (`-inf`, a zero probability, is
    /// allowed).
    #[error("{what}[{index}] is {value}: a log-probability must not be NaN or +inf")]
    InvalidLogProbability {
        /// `"log_init"` or `"log_trans"`.
        what: &'static str,
        /// Flat index (row-major for the transition matrix).
        index: usize,
        /// The offending value.
        value: f64,
    },

    /// An emission log-density that is NaN or `+inf` (from bad emission parameters).
    #[error(
        "emission log-density of observation {position} of sequence {sequence} in state {state} \
         is {value}: it must not be NaN or +inf"
    )]
    InvalidLogDensity {
        /// Index of the sequence in its batch.
        sequence: usize,
        /// Time step within the sequence.
        position: usize,
        /// The hidden state.
        state: usize,
        /// The offending value.
        value: f64,
    },

    /// Inference asked for the posterior of a sequence the model gives probability zero:
    /// there is no posterior to report.
    #[error(
        "sequence {sequence} has probability zero under the model (no hidden path explains \
         observations 0..={position})"
    )]
    ZeroProbability {
        /// Index of the sequence in its batch.
        sequence: usize,
        /// First time step at which every path has probability zero.
        position: usize,
    },

    /// Text that is not a number where a number was expected (CSV input).
    #[error("line {line}, field {field}: cannot parse {text:?} as a number")]
    Parse {
        /// Line number, from 1.
        line: usize,
        /// Field number in the line, from 1.
        field: usize,
        /// The text found.
        text: String,
    },
}

impl HmmError {
    /// The same error with its sequence index (if it has one) set to `sequence`: per-sequence
    /// routines report sequence 0 and batch routines re-label.
    pub fn in_sequence(self, sequence: usize) -> Self {
        match self {
            Self::EmptySequence { .. } => Self::EmptySequence { sequence },
            Self::NonFinite {
                position, value, ..
            } => Self::NonFinite {
                sequence,
                position,
                value,
            },
            Self::InvalidObservation {
                position,
                value,
                reason,
                ..
            } => Self::InvalidObservation {
                sequence,
                position,
                value,
                reason,
            },
            Self::InvalidLogDensity {
                position,
                state,
                value,
                ..
            } => Self::InvalidLogDensity {
                sequence,
                position,
                state,
                value,
            },
            Self::ZeroProbability { position, .. } => Self::ZeroProbability { sequence, position },
            other => other,
        }
    }
}
