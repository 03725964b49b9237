//! Errors of the core crate.

/// Errors raised by core data structures.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum CoreError {
    /// A parameter value does not belong to its distribution.
    #[error("parameter `{name}`: {message}")]
    InvalidParam {
        /// Parameter name.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// A trial state transition that the invariants forbid.
    #[error("invalid trial transition: {0}")]
    InvalidTransition(String),
    /// Objective values that do not match the study's objectives.
    #[error("invalid objective values: {0}")]
    InvalidValues(String),
}
