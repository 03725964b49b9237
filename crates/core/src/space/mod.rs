//! Search spaces: parameters, their distributions, conditions and the two
//! canonical views (unit and internal) that samplers work in.

mod distribution;
mod monotone;
mod param;
mod search_space;
mod value;

pub use distribution::Distribution;
pub use monotone::Monotone;
pub use param::{Condition, Param};
pub use search_space::SearchSpace;
pub use value::{ParamValue, Params};

/// Lower-case hexadecimal rendering of a digest.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests;
