//! `kind = "hyperband"`: asynchronous successive halving in Hyperband
//! brackets, on one metric.
//!
//! ## Successive halving (one bracket)
//!
//! A bracket with minimum resource `r` has **rungs** at steps `r`, `r·η`,
//! `r·η²` ... below `max_resource` (η = `reduction_factor`, default 3).
//! When a trial's reports first reach a rung (its first report at a step
//! `>=` the rung), its **rung value** is its best value of `metric` so far.
//! It is compared with the rung values of every other trial of the same
//! bracket that reached that rung (any state: running, pruned or complete;
//! this is ASHA, Li et al. 2020, which never waits for a rung to fill). With
//! `n` trials at the rung, itself included, it goes on if fewer than
//! `max(1, floor(n / η))` of the others are strictly better, i.e. it is in the
//! top `1/η`; otherwise it stops. With fewer than `min_trials` (default η)
//! trials at the rung it always goes on: the first trials of a study have
//! nothing to be compared with.
//!
//! ## Hyperband (several brackets)
//!
//! Bracket `b` (0-based) uses minimum resource `min_resource · η^b`, so
//! bracket 0 is the most aggressive and the last bracket, with a single rung
//! or none, hardly prunes at all. The default number of brackets is
//! `floor(log_η(max_resource / min_resource)) + 1`, as in Hyperband
//! (Li et al. 2018); `brackets = 1` is plain successive halving. Trials are
//! assigned to brackets **by trial number**, deterministically and without
//! state: the numbers cycle through a pattern in which bracket `b` appears
//! `ceil(η^(B-1-b) / (B-b))` times (Hyperband's ratio of trials per bracket,
//! `B` brackets), so aggressive brackets get more trials, and trials of one
//! bracket are only ever compared with each other.

use paretosearch_core::{Direction, Objectives, Trial};

use super::{bad, best_until, minimised, option, series, single_metric, Pruner, PrunerError};
use paretosearch_core::{PruneReason, PruneRule, StudyView};

/// Successive halving in Hyperband brackets. See the module documentation.
#[derive(Clone, Debug)]
pub struct HyperbandPruner {
    /// The watched objective.
    pub metric: String,
    /// Its direction.
    pub direction: Direction,
    /// First rung of bracket 0.
    pub min_resource: u64,
    /// The step a full trial ends at.
    pub max_resource: u64,
    /// η: one in η trials goes on at each rung.
    pub reduction_factor: u64,
    /// Number of brackets.
    pub brackets: u32,
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
        let min_resource = option::<u64>(o, "min_resource")?.unwrap_or(1);
        if min_resource == 0 {
            return Err(bad("min_resource", "must be at least 1"));
        }
        let max_resource = option::<u64>(o, "max_resource")?.ok_or_else(|| {
            bad(
                "max_resource",
                "hyperband needs the step a full trial ends at, e.g. max_resource = 15 for 15 epochs",
            )
        })?;
        if max_resource <= min_resource {
            return Err(bad(
                "max_resource",
                format!("must be greater than min_resource ({min_resource})"),
            ));
        }
        let eta = option::<u64>(o, "reduction_factor")?.unwrap_or(3);
        if eta < 2 {
            return Err(bad("reduction_factor", "must be at least 2"));
        }
        let mut most = 1u32;
        let mut r = min_resource;
        while r.saturating_mul(eta) <= max_resource {
            r *= eta;
            most += 1;
        }
        let brackets = option::<u32>(o, "brackets")?.unwrap_or(most);
        if brackets == 0 || brackets > most {
            return Err(bad(
                "brackets",
                format!("must be between 1 and {most} for these resources"),
            ));
        }
        Ok(HyperbandPruner {
            metric,
            direction,
            min_resource,
            max_resource,
            reduction_factor: eta,
            brackets,
            min_trials: option(o, "min_trials")?.unwrap_or(eta as usize),
        })
    }

    /// The bracket of trial `number`.
    pub fn bracket(&self, number: u64) -> u32 {
        let b = self.brackets;
        let weights: Vec<u64> = (0..b)
            .map(|i| {
                let s = b - 1 - i;
                let num = self.reduction_factor.saturating_pow(s);
                num.div_ceil(u64::from(s + 1))
            })
            .collect();
        let total: u64 = weights.iter().sum();
        let mut k = number % total;
        for (i, w) in weights.iter().enumerate() {
            if k < *w {
                return i as u32;
            }
            k -= w;
        }
        b - 1
    }

    /// The rungs of bracket `b`.
    pub fn rungs(&self, b: u32) -> Vec<u64> {
        let mut out = Vec::new();
        let mut r = self
            .min_resource
            .saturating_mul(self.reduction_factor.saturating_pow(b));
        while r < self.max_resource {
            out.push(r);
            r = r.saturating_mul(self.reduction_factor);
        }
        out
    }

    /// The rung value of `t` at `rung`: best so far at its first report at or
    /// past the rung, if it got there.
    fn rung_value(&self, t: &Trial, rung: u64) -> Option<f64> {
        let reached = t.intermediate.iter().find(|r| r.step >= rung)?.step;
        best_until(&series(t, &self.metric, reached), self.direction, reached)
    }
}

impl Pruner for HyperbandPruner {
    fn name(&self) -> &str {
        "hyperband"
    }

    fn prune(&self, study: &StudyView<'_>, trial: &Trial) -> Option<PruneReason> {
        let reports = &trial.intermediate;
        let s = reports.last()?.step;
        let before = reports.len().checked_sub(2).map(|i| reports[i].step);
        let b = self.bracket(trial.number);
        // The rungs this report crosses (usually none or one).
        for rung in self
            .rungs(b)
            .into_iter()
            .filter(|r| *r <= s && before.is_none_or(|p| p < *r))
        {
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
            let keep = (n / self.reduction_factor as usize).max(1);
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
    fn rungs_and_brackets() {
        let p = HyperbandPruner::from_options(&table("max_resource = 27"), &one()).unwrap();
        assert_eq!(p.brackets, 4);
        assert_eq!(p.rungs(0), vec![1, 3, 9]);
        assert_eq!(p.rungs(1), vec![3, 9]);
        assert_eq!(p.rungs(3), Vec::<u64>::new());
        // Hyperband's ratios for η=3, B=4: ceil(27/4)=7, ceil(9/3)=3, ceil(3/2)=2, 1.
        let counts = (0..13).fold([0; 4], |mut c, n| {
            c[p.bracket(n) as usize] += 1;
            c
        });
        assert_eq!(counts, [7, 3, 2, 1]);
        assert!(
            HyperbandPruner::from_options(&table("max_resource = 27\nbrackets = 5"), &one())
                .is_err()
        );
        assert!(HyperbandPruner::from_options(&table("max_resource = 1"), &one()).is_err());
        assert!(HyperbandPruner::from_options(
            &table("max_resource = 9\nreduction_factor = 1"),
            &one()
        )
        .is_err());
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
