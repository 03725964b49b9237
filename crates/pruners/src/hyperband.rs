//! `kind = "hyperband"`: asynchronous successive halving in Hyperband
//! brackets, on one metric.
//!
//! ## Successive halving (one bracket)
//!
//! The rungs and brackets are those of [`Brackets`] (shared with
//! `mo-asha`): rungs at steps `r`, `r·η`, `r·η²` ... below `max_resource`
//! (η = `reduction_factor`, default 3). When a trial's reports first reach a
//! rung (its first report at a step `>=` the rung), its **rung value** is
//! its best value of `metric` so far. It is compared with the rung values of
//! every other trial of the same bracket that reached that rung (any state:
//! running, pruned or complete; this is ASHA, Li et al. 2020, which never
//! waits for a rung to fill). With `n` trials at the rung, itself included,
//! it goes on if fewer than `max(1, floor(n / η))` of the others are
//! strictly better, i.e. it is in the top `1/η`; otherwise it stops. With
//! fewer than `min_trials` (default η) trials at the rung it always goes on:
//! the first trials of a study have nothing to be compared with.
//!
//! ## Hyperband (several brackets)
//!
//! Bracket `b` (0-based) uses minimum resource `min_resource · η^b`, so
//! bracket 0 is the most aggressive and the last bracket, with a single rung
//! or none, hardly prunes at all. The default number of brackets is
//! `floor(log_η(max_resource / min_resource)) + 1`, as in Hyperband
//! (Li et al. 2018); `brackets = 1` is plain successive halving. Trials are
//! assigned to brackets **by trial number** (see [`Brackets::bracket`]), so
//! aggressive brackets get more trials, and trials of one bracket are only
//! ever compared with each other.

use paretosearch_core::{Direction, Objectives, Trial};

use super::brackets::{reached, Brackets};
use super::{best_until, minimised, option, series, single_metric, Pruner, PrunerError};
use paretosearch_core::{PruneReason, PruneRule, StudyView};

/// Successive halving in Hyperband brackets. See the module documentation.
#[derive(Clone, Debug)]
pub struct HyperbandPruner {
    /// The watched objective.
    pub metric: String,
    /// Its direction.
    pub direction: Direction,
    /// Resources, η and brackets.
    pub schedule: Brackets,
    /// Trials needed at a rung before it stops anyone.
    pub min_trials: usize,
}

impl HyperbandPruner {
    /// Option keys (besides the common `partial_order*`).
    pub const OPTIONS: &'static [&'static str] = &[
        "metric",
        "min_resource",
        "max_resource",
        "reduction_factor",
        "brackets",
        "min_trials",
    ];

    /// Build from the `[pruner]` table.
    pub fn from_options(o: &toml::Table, objectives: &Objectives) -> Result<Self, PrunerError> {
        let (metric, direction) = single_metric(o, objectives, "hyperband")?;
        let schedule = Brackets::from_options(o, "hyperband")?;
        Ok(HyperbandPruner {
            metric,
            direction,
            min_trials: option(o, "min_trials")?.unwrap_or(schedule.reduction_factor as usize),
            schedule,
        })
    }

    /// The bracket of trial `number`.
    pub fn bracket(&self, number: u64) -> u32 {
        self.schedule.bracket(number)
    }

    /// The rungs of bracket `b`.
    pub fn rungs(&self, b: u32) -> Vec<u64> {
        self.schedule.rungs(b)
    }

    /// The rung value of `t` at `rung`: best so far at its first report at or
    /// past the rung, if it got there.
    fn rung_value(&self, t: &Trial, rung: u64) -> Option<f64> {
        let reached = reached(t, rung)?;
        best_until(&series(t, &self.metric, reached), self.direction, reached)
    }
}

impl Pruner for HyperbandPruner {
    fn name(&self) -> &str {
        "hyperband"
    }

    fn prune(&self, study: &StudyView<'_>, trial: &Trial) -> Option<PruneReason> {
        let b = self.bracket(trial.number);
        for rung in self.schedule.crossed(b, trial) {
            let Some(mine) = self.rung_value(trial, rung) else {
                continue;
            };
            let others: Vec<f64> = study
                .trials
                .iter()
                .filter(|t| t.number != trial.number && self.bracket(t.number) == b)
                .filter_map(|t| self.rung_value(t, rung))
                .collect();
            let n = others.len() + 1;
            if n < self.min_trials.max(2) {
                continue;
            }
            let keep = (n / self.schedule.reduction_factor as usize).max(1);
            let better = others.iter().filter(|v| **v < mine).count();
            if better >= keep {
                return Some(PruneReason::new(PruneRule::Hyperband, format!(
                    "hyperband: bracket {b}, rung at step {rung}: `{}` {} is not in the top {keep} of {n} trials",
                    self.metric,
                    minimised(self.direction, mine)
                )));
            }
        }
        None
    }

    /// The rungs' account ([`Brackets::account`]).
    fn diagnose(&self, study: &StudyView<'_>) -> Option<serde_json::Value> {
        Some(self.schedule.account(study.trials, self.min_trials))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;
    use paretosearch_core::{Objectives, SearchSpace, TrialState};

    fn one() -> Objectives {
        Objectives(vec![objective("accuracy", Direction::Maximize, false)])
    }

    fn sh(max: u64) -> HyperbandPruner {
        HyperbandPruner::from_options(
            &table(&format!("max_resource = {max}\nbrackets = 1")),
            &one(),
        )
        .unwrap()
    }

    #[test]
    fn the_schedule_comes_from_the_shared_brackets() {
        let p = HyperbandPruner::from_options(&table("max_resource = 27"), &one()).unwrap();
        assert_eq!(p.schedule.count, 4);
        assert_eq!(p.rungs(1), vec![3, 9]);
        assert_eq!(p.min_trials, 3);
        let e = HyperbandPruner::from_options(&table("brackets = 2"), &one()).unwrap_err();
        assert_eq!(e.key(), "max_resource");
        assert!(e.to_string().contains("hyperband needs"), "{e}");
    }

    #[test]
    fn only_the_top_third_goes_on_at_a_rung() {
        let p = sh(9);
        let space = SearchSpace::default();
        let o = one();
        // Five trials reached rung 1 with values 0.1 .. 0.5.
        let mut trials: Vec<Trial> = (0..5)
            .map(|i| {
                let mut t = running(i, "accuracy", &[0.1 * (i + 1) as f64]);
                t.state = TrialState::Pruned;
                t
            })
            .collect();
        // n = 6 → keep 2: 0.45 has one better (0.5): goes on; 0.35 has two.
        let good = running(10, "accuracy", &[0.45]);
        trials.push(good.clone());
        assert_eq!(p.prune(&view(&space, &o, &trials), &good), None);
        trials.pop();
        let bad = running(11, "accuracy", &[0.35]);
        trials.push(bad.clone());
        let r = p.prune(&view(&space, &o, &trials), &bad).expect("pruned");
        assert!(
            r.detail.starts_with("hyperband: bracket 0, rung at step 1"),
            "{r}"
        );
    }

    #[test]
    fn no_decision_between_rungs_or_with_few_trials() {
        let p = sh(9);
        let space = SearchSpace::default();
        let o = one();
        let mut trials: Vec<Trial> = (0..5)
            .map(|i| running(i, "accuracy", &[0.9, 0.9, 0.9]))
            .collect();
        // Step 2 is no rung (rungs at 1 and 3): no decision, however bad.
        let t = running(10, "accuracy", &[0.95, 0.1]);
        trials.push(t.clone());
        assert_eq!(p.prune(&view(&space, &o, &trials), &t), None);
        // Alone at a rung: goes on.
        let lone = running(20, "accuracy", &[0.1]);
        assert_eq!(
            p.prune(&view(&space, &o, std::slice::from_ref(&lone)), &lone),
            None
        );
    }
}
