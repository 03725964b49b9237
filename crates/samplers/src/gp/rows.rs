//! The training rows of the GP: every COMPLETE trial with finite values,
//! encoded. One place, so the sampler and the posterior Pareto set fit
//! their models to exactly the same data.

use paretosearch_core::{SearchSpace, TrialState};

use super::encode::Encoding;
use crate::StudyView;

/// The COMPLETE trials with finite values, in trial order.
pub(super) struct Rows {
    /// Trial numbers.
    pub numbers: Vec<u64>,
    /// Encoded parameters, `d` per row.
    pub x: Vec<f64>,
    /// Minimised objectives.
    pub ys: Vec<Vec<f64>>,
    /// Constraint violation (0: feasible).
    pub violations: Vec<f64>,
}

impl Rows {
    /// The rows of `study` in `enc`'s coordinates.
    pub(super) fn of(study: &StudyView<'_>, space: &SearchSpace, enc: &Encoding) -> Rows {
        let objectives = study.objectives;
        let mut rows = Rows {
            numbers: Vec::new(),
            x: Vec::new(),
            ys: Vec::new(),
            violations: Vec::new(),
        };
        for t in study
            .trials
            .iter()
            .filter(|t| t.state == TrialState::Complete)
        {
            let Some(y) = t.minimised(objectives) else {
                continue;
            };
            if y.iter().any(|v| !v.is_finite()) {
                continue;
            }
            rows.numbers.push(t.number);
            rows.x.extend(enc.encode(space, &t.params));
            rows.ys.push(y);
            rows.violations.push(objectives.violation(&t.values));
        }
        rows
    }
}
