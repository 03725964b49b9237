//! Hyperband brackets and their rungs, shared by `kind = "hyperband"` and
//! `kind = "mo-asha"`: the two differ only in how the trials at a rung are
//! ranked, never in where the rungs are or which trials meet there.
//!
//! A bracket with minimum resource `r` has **rungs** at steps `r`, `r·η`,
//! `r·η²` ... below `max_resource` (η = `reduction_factor`, default 3).
//! Bracket `b` (0-based) uses `r = min_resource · η^b`, so bracket 0 is the
//! most aggressive and the last one hardly prunes. `hyperband`'s default
//! number of brackets is `floor(log_η(max_resource / min_resource)) + 1`,
//! as in Hyperband (Li et al. 2018); one bracket is plain successive
//! halving, `mo-asha`'s default, whose first rung also scales with the
//! training ([`Defaults`], [`scaled_min_resource`]).
//!
//! Trials are assigned to brackets **by trial number**, deterministically and
//! without state: the numbers cycle through a pattern in which bracket `b`
//! appears `ceil(η^(B-1-b) / (B-b))` times (Hyperband's ratio of trials per
//! bracket, `B` brackets), so aggressive brackets get more trials; trials of
//! one bracket are only ever compared with each other.
//!
//! A trial **reaches** a rung with its first report at a step `>=` the rung
//! (reports need not land on the rung exactly), and a report **crosses** the
//! rungs above the previous report's step and at or below its own.

use paretosearch_core::{Trial, TrialState};
use serde_json::json;

use super::{bad, option, PrunerError};

/// Resources, η and the number of brackets. See the module documentation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Brackets {
    /// First rung of bracket 0.
    pub min_resource: u64,
    /// The step a full trial ends at; no rung at or above it.
    pub max_resource: u64,
    /// η: one in η trials goes on at each rung.
    pub reduction_factor: u64,
    /// Number of brackets.
    pub count: u32,
}

/// What [`Brackets::from_options_with`] assumes for the options a
/// `[pruner]` table leaves out (`max_resource` has no default).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Defaults {
    /// η.
    pub reduction_factor: u64,
    /// `min_resource` from `max_resource` ([`scaled_min_resource`]), else 1.
    pub scaled_min_resource: bool,
    /// Every bracket Hyperband would run, else one (successive halving).
    pub all_brackets: bool,
}

impl Defaults {
    /// `hyperband`'s: η = 3, `min_resource = 1`, all brackets (Li et al. 2018).
    pub const HYPERBAND: Defaults = Defaults {
        reduction_factor: 3,
        scaled_min_resource: false,
        all_brackets: true,
    };
}

/// The first rung when the table names none: a `1/η²` of the training
/// (`max_resource / η²`, rounded), so that whatever the length of the
/// training the rungs fall at the same fractions of it, but never before
/// step 2 (one report says nothing about the slope of a curve) and always
/// below `max_resource`.
pub fn scaled_min_resource(max_resource: u64, eta: u64) -> u64 {
    let r = (max_resource as f64 / (eta * eta) as f64).round() as u64;
    r.max(2).min(max_resource.saturating_sub(1)).max(1)
}

impl Brackets {
    /// The option keys read by [`Brackets::from_options`].
    pub const OPTIONS: &'static [&'static str] = &[
        "min_resource",
        "max_resource",
        "reduction_factor",
        "brackets",
    ];

    /// Read `min_resource` (default 1), `max_resource` (required),
    /// `reduction_factor` (default 3) and `brackets` (default: all) from the
    /// `[pruner]` table of a `kind` pruner: [`Defaults::HYPERBAND`].
    pub fn from_options(o: &toml::Table, kind: &str) -> Result<Self, PrunerError> {
        Self::from_options_with(o, kind, Defaults::HYPERBAND)
    }

    /// [`Brackets::from_options`] with other defaults for the options a
    /// table leaves out.
    pub fn from_options_with(
        o: &toml::Table,
        kind: &str,
        defaults: Defaults,
    ) -> Result<Self, PrunerError> {
        let max_resource = option::<u64>(o, "max_resource")?.ok_or_else(|| {
            bad(
                "max_resource",
                format!(
                    "{kind} needs the step a full trial ends at, e.g. max_resource = 15 for 15 epochs"
                ),
            )
        })?;
        let eta = option::<u64>(o, "reduction_factor")?.unwrap_or(defaults.reduction_factor);
        if eta < 2 {
            return Err(bad("reduction_factor", "must be at least 2"));
        }
        let min_resource = match option::<u64>(o, "min_resource")? {
            Some(0) => return Err(bad("min_resource", "must be at least 1")),
            Some(r) => r,
            None if defaults.scaled_min_resource => scaled_min_resource(max_resource, eta),
            None => 1,
        };
        if max_resource <= min_resource {
            return Err(bad(
                "max_resource",
                format!("must be greater than min_resource ({min_resource})"),
            ));
        }
        let mut most = 1u32;
        let mut r = min_resource;
        while r.saturating_mul(eta) <= max_resource {
            r *= eta;
            most += 1;
        }
        let default_count = if defaults.all_brackets { most } else { 1 };
        let count = option::<u32>(o, "brackets")?.unwrap_or(default_count);
        if count == 0 || count > most {
            return Err(bad(
                "brackets",
                format!("must be between 1 and {most} for these resources"),
            ));
        }
        Ok(Brackets {
            min_resource,
            max_resource,
            reduction_factor: eta,
            count,
        })
    }

    /// The bracket of trial `number`.
    pub fn bracket(&self, number: u64) -> u32 {
        let b = self.count;
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

    /// The rungs of bracket `b` that the latest report of `trial` crosses
    /// (usually none or one), in increasing order.
    pub fn crossed(&self, b: u32, trial: &Trial) -> Vec<u64> {
        let reports = &trial.intermediate;
        let Some(last) = reports.last() else {
            return Vec::new();
        };
        let before = reports.len().checked_sub(2).map(|i| reports[i].step);
        self.rungs(b)
            .into_iter()
            .filter(|r| *r <= last.step && before.is_none_or(|p| p < *r))
            .collect()
    }
}

impl Brackets {
    /// What the rungs have done so far among `trials`, for `status` and the
    /// report (the rule's `diagnose`): per bracket and rung, how many
    /// trials reached it and how many of those were stopped there (PRUNED
    /// without reaching the bracket's next rung: a report that jumps past
    /// several rungs counts at the highest), the rest having gone on; and
    /// the epochs (steps) the finished trials trained beside what they
    /// would have trained unpruned (`max_resource` each, or their own last
    /// step where that is longer). `state` says whether any rung of bracket
    /// 0 has the `min_trials` it needs to stop anyone.
    pub fn account(&self, trials: &[Trial], min_trials: usize) -> serde_json::Value {
        let mut rungs = Vec::new();
        let mut judging = false;
        for b in 0..self.count {
            let steps = self.rungs(b);
            let mine: Vec<&Trial> = trials
                .iter()
                .filter(|t| self.bracket(t.number) == b)
                .collect();
            for (i, &rung) in steps.iter().enumerate() {
                let at: Vec<&&Trial> = mine.iter().filter(|t| reached(t, rung).is_some()).collect();
                let stopped = at
                    .iter()
                    .filter(|t| {
                        t.state == TrialState::Pruned
                            && steps
                                .get(i + 1)
                                .is_none_or(|next| reached(t, *next).is_none())
                    })
                    .count();
                judging |= b == 0 && at.len() >= min_trials.max(2);
                rungs.push(json!({
                    "bracket": b,
                    "step": rung,
                    "reached": at.len(),
                    "stopped": stopped,
                    "went_on": at.len() - stopped,
                }));
            }
        }
        let finished: Vec<u64> = trials
            .iter()
            .filter(|t| matches!(t.state, TrialState::Complete | TrialState::Pruned))
            .filter_map(|t| Some(t.intermediate.last()?.step))
            .collect();
        let trained: u64 = finished.iter().sum();
        let unpruned: u64 = finished.iter().map(|s| (*s).max(self.max_resource)).sum();
        let first = self.rungs(0).first().copied().unwrap_or(self.max_resource);
        let state = if judging {
            "judging".to_string()
        } else {
            format!(
                "waiting: fewer than min_trials = {min_trials} trials at the first rung \
                 (step {first}), so every trial goes on"
            )
        };
        json!({
            "state": state,
            "min_trials": min_trials,
            "max_resource": self.max_resource,
            "rungs": rungs,
            "epochs": {
                "finished_trials": finished.len(),
                "trained": trained,
                "unpruned": unpruned,
                "saved": if unpruned > 0 { 1.0 - trained as f64 / unpruned as f64 } else { 0.0 },
            },
        })
    }
}

/// The step at which `t` reached `rung`: its first report at or past it.
pub(crate) fn reached(t: &Trial, rung: u64) -> Option<u64> {
    Some(t.intermediate.iter().find(|r| r.step >= rung)?.step)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    fn brackets(options: &str) -> Result<Brackets, PrunerError> {
        Brackets::from_options(&table(options), "test")
    }

    #[test]
    fn rungs_and_brackets() {
        let p = brackets("max_resource = 27").unwrap();
        assert_eq!(p.count, 4);
        assert_eq!(p.rungs(0), vec![1, 3, 9]);
        assert_eq!(p.rungs(1), vec![3, 9]);
        assert_eq!(p.rungs(3), Vec::<u64>::new());
        // Hyperband's ratios for η=3, B=4: ceil(27/4)=7, ceil(9/3)=3, ceil(3/2)=2, 1.
        let counts = (0..13).fold([0; 4], |mut c, n| {
            c[p.bracket(n) as usize] += 1;
            c
        });
        assert_eq!(counts, [7, 3, 2, 1]);
        assert!(brackets("max_resource = 27\nbrackets = 5").is_err());
        assert!(brackets("max_resource = 1").is_err());
        assert!(brackets("max_resource = 9\nreduction_factor = 1").is_err());
        assert_eq!(brackets("").unwrap_err().key(), "max_resource");
        assert_eq!(
            brackets("max_resource = 9\nmin_resource = 0")
                .unwrap_err()
                .key(),
            "min_resource"
        );
    }

    #[test]
    fn the_account_counts_who_reached_each_rung_and_who_stopped_there() {
        // One bracket, rungs at 1, 3 and 9 of 27.
        let p = brackets("max_resource = 27\nbrackets = 1").unwrap();
        let pruned = |n, steps: usize| {
            let mut t = running(n, "accuracy", &vec![0.5; steps]);
            t.state = TrialState::Pruned;
            t
        };
        let mut done = running(0, "accuracy", &[0.5; 27]);
        done.state = TrialState::Complete;
        let trials = vec![
            done,
            pruned(1, 1),                       // stopped at rung 1
            pruned(2, 2),                       // stopped at rung 1 (no report at 3)
            pruned(3, 3),                       // stopped at rung 3
            running(4, "accuracy", &[0.5; 10]), // past rung 9, still running
            pruned(5, 10),                      // stopped at rung 9
        ];
        let a = p.account(&trials, 5);
        let row = |step: u64| {
            a["rungs"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["step"] == step)
                .cloned()
                .unwrap()
        };
        assert_eq!(
            (row(1)["reached"].as_u64(), row(1)["stopped"].as_u64()),
            (Some(6), Some(2))
        );
        assert_eq!(row(1)["went_on"], 4);
        assert_eq!(
            (row(3)["reached"].as_u64(), row(3)["stopped"].as_u64()),
            (Some(4), Some(1))
        );
        assert_eq!(
            (row(9)["reached"].as_u64(), row(9)["stopped"].as_u64()),
            (Some(3), Some(1))
        );
        // Finished: 27 + 1 + 2 + 3 + 10 of 5 · 27 (the running trial is left out).
        assert_eq!(a["epochs"]["finished_trials"], 5);
        assert_eq!(a["epochs"]["trained"], 43);
        assert_eq!(a["epochs"]["unpruned"], 135);
        assert!((a["epochs"]["saved"].as_f64().unwrap() - (1.0 - 43.0 / 135.0)).abs() < 1e-12);
        assert_eq!(a["state"], "judging", "6 trials reached the first rung");
        let a = p.account(&trials[..4], 5);
        assert!(
            a["state"].as_str().unwrap().starts_with("waiting"),
            "{}",
            a["state"]
        );
        // Two brackets: each trial is counted in its own only.
        let two = brackets("max_resource = 27\nbrackets = 2").unwrap();
        let a = two.account(&trials, 5);
        let reached: u64 = a["rungs"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["step"] == 3)
            .map(|r| r["reached"].as_u64().unwrap())
            .sum();
        assert_eq!(
            reached, 4,
            "rung 3 of either bracket: the trials that got there"
        );
    }

    #[test]
    fn a_report_crosses_the_rungs_since_the_previous_one() {
        let p = brackets("max_resource = 27\nbrackets = 1").unwrap();
        let t = running(0, "accuracy", &[0.1, 0.2]);
        assert_eq!(p.crossed(0, &t), Vec::<u64>::new(), "step 2 is no rung");
        let mut t = running(0, "accuracy", &[0.1]);
        assert_eq!(p.crossed(0, &t), vec![1]);
        // A report at step 10 after one at step 1 crosses rungs 3 and 9.
        t.intermediate
            .push(reports("accuracy", &[0.0; 10])[9].clone());
        assert_eq!(p.crossed(0, &t), vec![3, 9]);
        assert_eq!(reached(&t, 3), Some(10));
        assert_eq!(reached(&t, 11), None);
    }
}
