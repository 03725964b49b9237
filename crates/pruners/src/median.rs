//! `kind = "median"`: the single-metric median stopping rule.
//!
//! After a report at step `s >= warmup_steps`, take the trial's best value
//! of `metric` so far, and the value each COMPLETE trial reported at exactly
//! step `s`. With at least `min_trials` such values, the trial stops if its
//! best is strictly worse than their median (the middle value, or the mean
//! of the two middle values). Only COMPLETE trials are compared, as Optuna's
//! `MedianPruner` does: pruned trials were stopped because they were bad,
//! and counting them would drag the median down. `metric` must name an
//! objective (its direction applies); a one-objective study may omit it.

use paretosearch_core::{Direction, Objectives, Trial, TrialState};

use super::{bad, best_until, minimised, option, series, single_metric, Pruner, PrunerError};
use paretosearch_core::{PruneReason, PruneRule, StudyView};

/// The median stopping rule. See the module documentation.
#[derive(Clone, Debug)]
pub struct MedianPruner {
    /// The watched objective.
    pub metric: String,
    /// Its direction.
    pub direction: Direction,
    /// No decision before this step.
    pub warmup_steps: u64,
    /// COMPLETE trials with a report at the step needed before any decision.
    pub min_trials: usize,
}

impl MedianPruner {
    /// Option keys (besides the common `partial_order*`).
    pub const OPTIONS: &'static [&'static str] = &["metric", "warmup_steps", "min_trials"];

    /// Build from the `[pruner]` table.
    pub fn from_options(o: &toml::Table, objectives: &Objectives) -> Result<Self, PrunerError> {
        let (metric, direction) = single_metric(o, objectives, "median")?;
        let min_trials = option::<usize>(o, "min_trials")?.unwrap_or(5);
        if min_trials == 0 {
            return Err(bad("min_trials", "must be at least 1"));
        }
        Ok(MedianPruner {
            metric,
            direction,
            warmup_steps: option(o, "warmup_steps")?.unwrap_or(2),
            min_trials,
        })
    }
}

/// Median of a non-empty slice (sorted in place).
pub(crate) fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

impl Pruner for MedianPruner {
    fn name(&self) -> &str {
        "median"
    }

    fn prune(&self, study: &StudyView<'_>, trial: &Trial) -> Option<PruneReason> {
        let s = trial.intermediate.last()?.step;
        if s < self.warmup_steps {
            return None;
        }
        let best = best_until(&series(trial, &self.metric, s), self.direction, s)?;
        let mut others: Vec<f64> = study
            .trials
            .iter()
            .filter(|t| t.state == TrialState::Complete && t.number != trial.number)
            .filter_map(|t| {
                t.intermediate
                    .iter()
                    .find(|r| r.step == s)
                    .and_then(|r| r.values.get(&self.metric))
                    .filter(|v| v.is_finite())
                    .map(|v| minimised(self.direction, *v))
            })
            .collect();
        if others.is_empty() || others.len() < self.min_trials {
            return None;
        }
        let n = others.len();
        let m = median(&mut others);
        (best > m).then(|| {
            PruneReason::new(PruneRule::Median, format!(
                "median: best `{}` {} by step {s} is worse than the median {} of {n} completed trials at that step",
                self.metric,
                minimised(self.direction, best),
                minimised(self.direction, m)
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;
    use paretosearch_core::{Objectives, SearchSpace};

    fn one() -> Objectives {
        Objectives(vec![objective("accuracy", Direction::Maximize, false)])
    }

    fn pruner(warmup: u64, min_trials: usize) -> MedianPruner {
        MedianPruner {
            metric: "accuracy".into(),
            direction: Direction::Maximize,
            warmup_steps: warmup,
            min_trials,
        }
    }

    /// Five completed trials whose curves at step 3 are 0.5..0.9 (median 0.7).
    fn completed() -> Vec<Trial> {
        (0..5)
            .map(|i| {
                let top = 0.5 + 0.1 * i as f64;
                complete(i, &[("accuracy", top)], &[top - 0.2, top - 0.1, top, top])
            })
            .collect()
    }

    fn decide(p: &MedianPruner, trials: &[Trial], t: &Trial) -> Option<PruneReason> {
        let space = SearchSpace::default();
        let o = one();
        let mut all = trials.to_vec();
        all.push(t.clone());
        p.prune(&view(&space, &o, &all), t)
    }

    #[test]
    fn below_median_is_stopped_above_is_not() {
        let trials = completed();
        let bad = running(9, "accuracy", &[0.3, 0.5, 0.6]);
        let r = decide(&pruner(2, 5), &trials, &bad).expect("pruned");
        assert!(r.detail.starts_with("median:"), "{r}");
        let good = running(9, "accuracy", &[0.3, 0.5, 0.75]);
        assert_eq!(decide(&pruner(2, 5), &trials, &good), None);
    }

    #[test]
    fn the_best_value_so_far_counts_not_the_last() {
        // A dip at step 3 below the median, after 0.8 at step 2.
        let t = running(9, "accuracy", &[0.3, 0.8, 0.6]);
        assert_eq!(decide(&pruner(2, 5), &completed(), &t), None);
    }

    #[test]
    fn warmup_and_min_trials_hold_decisions() {
        let bad = running(9, "accuracy", &[0.1, 0.1, 0.1]);
        assert_eq!(decide(&pruner(4, 5), &completed(), &bad), None);
        assert_eq!(decide(&pruner(2, 6), &completed(), &bad), None);
        assert_eq!(decide(&pruner(2, 1), &[], &bad), None);
    }

    #[test]
    fn minimised_metrics_use_their_direction() {
        let o = Objectives(vec![objective("loss", Direction::Minimize, false)]);
        let p = MedianPruner::from_options(&table(""), &o).unwrap();
        let space = SearchSpace::default();
        let mut trials: Vec<Trial> = (0..5)
            .map(|i| {
                let mut t = complete(i, &[("loss", 1.0)], &[]);
                t.intermediate = reports("loss", &[1.0, 1.0, 0.2 * i as f64]);
                t
            })
            .collect();
        // Others at step 3: 0, .2, .4, .6, .8 (median .4).
        let t = running(9, "loss", &[2.0, 1.0, 0.3]);
        trials.push(t.clone());
        assert_eq!(p.prune(&view(&space, &o, &trials), &t), None);
        let t = running(10, "loss", &[2.0, 1.0, 0.5]);
        trials.push(t.clone());
        assert!(p.prune(&view(&space, &o, &trials), &t).is_some());
    }

    #[test]
    fn median_of_even_and_odd() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), 2.5);
    }
}
