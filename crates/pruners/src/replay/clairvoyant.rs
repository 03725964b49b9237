//! The clairvoyant stopper: the ceiling of what any rule that judges a
//! trial against the trials finished before it can save on a workload.
//!
//! It knows every trial's final values (the workload is recorded), and
//! stops a trial at its `warmup_steps`-th report exactly when its final
//! point will not matter against the feasible COMPLETE trials so far:
//! dominated, or with `min_gain > 0`, adding less than that share of the
//! front's hypervolume (the same judge as `dominated`'s `min_gain`). No
//! causal rule stops earlier or more correctly, so its epochs saved are an
//! upper bound for `dominated` with the same warm-up (and `min_gain`), and
//! the gap between the two rows is what a sharper forecast could still buy.
//! When even this row saves less than a target, the target cannot be met
//! on that workload by stopping only trials that will not matter.

use paretosearch_core::{PruneReason, PruneRule, StudyView, Trial};

use super::Workload;
use crate::dominated::gain::Gain;
use crate::{bad, feasible_points, option, reject_unknown, DominatedPruner, Pruner, PrunerError};

/// A pruner that knows the final values of a replay's trials.
#[derive(Clone, Debug)]
pub struct Clairvoyant {
    /// Minimised final values by trial number (the replay's position).
    finals: Vec<Option<Vec<f64>>>,
    /// Reports before the stop.
    pub warmup_steps: usize,
    /// Share of the front's hypervolume a final point must add to matter.
    pub min_gain: f64,
}

impl Clairvoyant {
    /// The clairvoyant stopper for `w` replayed in `order`.
    pub fn new(w: &Workload, order: &[usize], warmup_steps: usize, min_gain: f64) -> Self {
        let finals = order
            .iter()
            .map(|&i| {
                let v = &w.trials[i].values;
                (w.objectives.violation(v) <= 0.0)
                    .then(|| w.objectives.minimised(v))
                    .flatten()
            })
            .collect();
        Clairvoyant {
            finals,
            warmup_steps: warmup_steps.max(1),
            min_gain,
        }
    }

    /// Option keys: `warmup_steps` (default `dominated`'s) and `min_gain`
    /// (default 0).
    pub const OPTIONS: &'static [&'static str] = &["warmup_steps", "min_gain"];

    /// The clairvoyant stopper for `w` replayed in `order`, from a
    /// `[pruner]`-like table of [`Self::OPTIONS`].
    pub fn from_options(
        o: &toml::Table,
        w: &Workload,
        order: &[usize],
    ) -> Result<Self, PrunerError> {
        reject_unknown(o, Self::OPTIONS)?;
        let warmup = match option::<u64>(o, "warmup_steps")? {
            Some(0) => return Err(bad("warmup_steps", "must be at least 1")),
            Some(n) => n as usize,
            None => DominatedPruner::default().warmup_steps as usize,
        };
        let min_gain = option::<f64>(o, "min_gain")?.unwrap_or(0.0);
        if !(0.0..0.5).contains(&min_gain) {
            return Err(bad(
                "min_gain",
                format!("must be a share of the front's hypervolume in [0, 0.5), not {min_gain}"),
            ));
        }
        Ok(Clairvoyant::new(w, order, warmup, min_gain))
    }
}

impl Pruner for Clairvoyant {
    fn name(&self) -> &str {
        "clairvoyant"
    }

    fn prune(&self, study: &StudyView<'_>, trial: &Trial) -> Option<PruneReason> {
        if trial.intermediate.len() != self.warmup_steps {
            return None;
        }
        let refs = feasible_points(study.trials, study.objectives, Some(trial.number));
        if refs.is_empty() {
            return None;
        }
        let stop = match self.finals.get(trial.number as usize)? {
            // An infeasible final point never enters the front.
            None => true,
            Some(p) => !Gain::new(&refs, self.min_gain).matters(p),
        };
        stop.then(|| PruneReason::new(PruneRule::Dominated, "will not matter (clairvoyant)"))
    }
}

#[cfg(test)]
mod tests {
    use super::super::{replay, tests::workload};
    use super::*;

    /// Three 4-step trials: the third ends dominated by the first, so the
    /// clairvoyant stops it after its second report (2 of 12 epochs); the
    /// second is on the front and runs on; nothing of the front is lost.
    #[test]
    fn stops_exactly_the_trials_that_end_dominated_by_earlier_ones() {
        let w = workload(&[
            (&[0.5, 0.6, 0.7, 0.8], 2.0),
            (&[0.5, 0.6, 0.7, 0.9], 3.0),
            (&[0.6, 0.7, 0.7, 0.7], 4.0),
        ]);
        let order = [0, 1, 2];
        let out = replay(&Clairvoyant::new(&w, &order, 2, 0.0), &w, &order, 0);
        assert_eq!((out.stopped, out.false_stops), (1, 0));
        assert!((out.epochs_saved - 2.0 / 12.0).abs() < 1e-12, "{out:?}");
        assert_eq!(out.hv_ratio, 1.0);
        // In the other order the dominated trial runs first, with nothing
        // to judge it by, and the later ones are not dominated.
        let order = [2, 1, 0];
        let out = replay(&Clairvoyant::new(&w, &order, 2, 0.0), &w, &order, 0);
        assert_eq!(out.stopped, 0);
    }
}
