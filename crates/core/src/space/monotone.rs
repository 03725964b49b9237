//! Declared monotonicity of a parameter.

use serde::{Deserialize, Serialize};

/// Declared monotonicity of a parameter (used by partial-order pruning):
/// all else equal, increasing the parameter never lowers quality and never
/// lowers cost (`Increasing`), or the opposite (`Decreasing`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Monotone {
    /// Larger values: at least as good, at least as costly.
    Increasing,
    /// Smaller values: at least as good, at least as costly.
    Decreasing,
}
