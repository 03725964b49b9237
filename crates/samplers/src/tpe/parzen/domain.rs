//! The domain of one estimator dimension, in internal coordinates.

use paretosearch_core::Distribution;

/// How one dimension of an estimator is modelled, in internal coordinates
/// (see [`KernelDomain::of`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum KernelDomain {
    /// A continuous interval.
    Continuous {
        /// Lower bound.
        low: f64,
        /// Upper bound.
        high: f64,
    },
    /// The grid `low, low + step, ..., high`.
    Discrete {
        /// First grid value.
        low: f64,
        /// Last grid value.
        high: f64,
        /// Grid step.
        step: f64,
    },
    /// Choice indices `0..n`.
    Categorical {
        /// Number of choices.
        n: usize,
    },
}

impl KernelDomain {
    /// The domain of a parameter in the internal view
    /// ([`Distribution::to_internal`]): floats and log-floats are continuous
    /// (in log space for the latter), stepped floats and ints are grids, log
    /// ints are continuous in log space over their cells
    /// `[ln(low - 1/2), ln(high + 1/2)]` and rounded when mapped back.
    pub fn of(dist: &Distribution) -> KernelDomain {
        match dist {
            Distribution::Float {
                low, step: Some(s), ..
            } => {
                let n = dist.cardinality().unwrap_or(1);
                KernelDomain::Discrete {
                    low: *low,
                    high: low + (n - 1) as f64 * s,
                    step: *s,
                }
            }
            Distribution::Float { .. } => {
                let (low, high) = dist.internal_bounds();
                KernelDomain::Continuous { low, high }
            }
            Distribution::Int {
                low,
                high,
                log: true,
                ..
            } => KernelDomain::Continuous {
                low: (*low as f64 - 0.5).ln(),
                high: (*high as f64 + 0.5).ln(),
            },
            Distribution::Int { low, step, .. } => {
                let n = dist.cardinality().unwrap_or(1);
                KernelDomain::Discrete {
                    low: *low as f64,
                    high: (*low + (n as i64 - 1) * step) as f64,
                    step: *step as f64,
                }
            }
            Distribution::Categorical { choices } => KernelDomain::Categorical { n: choices.len() },
        }
    }

    /// `(low, high, step)` of a numeric domain (step 0 when continuous).
    pub(super) fn numeric(&self) -> Option<(f64, f64, f64)> {
        match *self {
            KernelDomain::Continuous { low, high } => Some((low, high, 0.0)),
            KernelDomain::Discrete { low, high, step } => Some((low, high, step)),
            KernelDomain::Categorical { .. } => None,
        }
    }
}
