//! # paretosearch-core
//!
//! The vocabulary every other crate of paretosearch speaks, and the maths
//! that decides what "better" means when there is more than one objective.
//!
//! This crate does no I/O. It knows what a search space is
//! ([`space::SearchSpace`]), what a trial is ([`trial::Trial`]), what a
//! study file says ([`spec::StudySpec`], parsed from text handed to it, with
//! includes fetched through a caller-supplied loader), and how to compare
//! vectors of objective values ([`pareto`]). Everything that touches a disk,
//! a process or a database lives in the crates above it, so everything here
//! can be tested exhaustively and fast.
//!
//! ## One internal representation
//!
//! Parameters come in many shapes (float, log-float, stepped float, int,
//! log-int, stepped int, categorical, conditional). Samplers should not each
//! re-learn these shapes, so [`space::Distribution`] offers two canonical
//! views of a value:
//!
//! * the **unit** view, a number in `[0, 1]` where equal lengths carry equal
//!   prior mass (log parameters are uniform in log space, discrete ones are
//!   split into equal cells). Random search, Sobol starts, GP-BO and NSGA-II
//!   work here.
//! * the **internal** view, the value itself (or its logarithm, or the index of a
//!   category), with the step that separates neighbouring values. Parzen
//!   estimators (TPE) work here, where kernel bandwidths have meaning.
//!
//! Both views round-trip: `from_unit(to_unit(v)) == v` for every legal value.
//!
//! ## Objectives are minimised internally
//!
//! Users say `direction = "maximize"` for accuracy. Every Pareto routine in
//! [`pareto`] minimises; [`objective::Objectives::minimised`] flips signs
//! once, at the boundary, so the maths never branches on direction.
//!
//! ## Trials are records
//!
//! A [`trial::Trial`] is what the store holds. Finishing one goes through
//! [`trial::TrialOutcome`], whose variants make the illegal combinations
//! (a COMPLETE trial without values, a FAIL with values) impossible to build.

pub mod clock;
pub mod error;
pub mod objective;
pub mod pareto;
pub mod reason;
pub mod space;
pub mod spec;
pub mod trial;
pub mod view;

pub use error::CoreError;
pub use objective::{Constraint, Direction, Objective, Objectives};
pub use reason::{Cause, FailKind, PruneReason, PruneRule, FORECAST_ATTR};
pub use space::{Condition, Distribution, Monotone, Param, ParamValue, Params, SearchSpace};
pub use spec::StudySpec;
pub use trial::{Intermediate, Trial, TrialOutcome, TrialState};
pub use view::StudyView;
