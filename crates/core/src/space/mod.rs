//! Search spaces: parameters, their distributions, conditions and the two
//! canonical views (unit and internal) that samplers work in.
//!
//! A space comes from a study file ([`crate::spec::StudySpec::parse`]),
//! from [`SearchSpace::new`] given a list of [`Param`]s, or from
//! [`SearchSpace::builder`], which checks a space written in code by the
//! same rules as the study-file parser.

mod builder;
mod distribution;
mod monotone;
mod param;
mod search_space;
pub(crate) mod validate;
mod value;

pub use builder::{SearchSpaceBuilder, SpaceError, Step};
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
