//! What samplers and pruners see of a study.

use crate::objective::Objectives;
use crate::space::SearchSpace;
use crate::trial::Trial;

/// A read-only view of a study: the search space, the objectives, the
/// study seed and every trial known so far (finished ones, and RUNNING or
/// WAITING ones of this and other workers, so that parallel workers can
/// avoid proposing the same point). Samplers propose from it, pruners judge
/// running trials against it; both keep no state of their own between
/// calls, so any worker of any process decides the same.
#[derive(Clone, Copy, Debug)]
pub struct StudyView<'a> {
    /// The search space.
    pub space: &'a SearchSpace,
    /// The objectives.
    pub objectives: &'a Objectives,
    /// Every trial known, sorted by number. RUNNING trials may have empty
    /// params (not yet sampled).
    pub trials: &'a [Trial],
    /// Study seed.
    pub seed: u64,
}
