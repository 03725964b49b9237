//! `kind = "mo-asha"`: asynchronous successive halving on any number of
//! objectives, ranking the trials at a rung by Pareto dominance.
//!
//! ## Rungs and brackets
//!
//! Exactly those of `hyperband` (see [`Brackets`]): rungs at
//! `min_resource · η^(b + i)` below `max_resource` in bracket `b` (η =
//! `reduction_factor`, 3), brackets assigned by trial number, a trial
//! compared only with the trials of its own bracket. The defaults differ
//! from `hyperband`'s ([`DEFAULT_SCHEDULE`]): **one bracket**, i.e.
//! asynchronous successive halving, as ASHA (Li et al. 2020) and Syne
//! Tune's MOASHA run by default (`brackets = N` runs Hyperband's `N`
//! most aggressive), and a **first rung that scales with the training**:
//! `min_resource` = `max_resource / η²` rounded, at least 2, so the rungs
//! of a 20-epoch study are at steps 2, 6 and 18 and those of a 40-epoch one
//! at 4 and 12. A first rung at step 1 judges a trial by a single report;
//! on the benchmark's synthetic workloads that cost up to a quarter of the
//! hypervolume. A report is judged only when it crosses a rung; rungs below
//! `warmup_steps` (default 0) are never judged.
//!
//! ## Rung values
//!
//! When a trial reaches a rung (its first report at a step `>=` the rung),
//! its **rung point** has one coordinate per objective, in minimised form:
//! the best value of that objective among its reports up to that step (the
//! objective's direction respected, so a dip is not held against it); for an
//! objective the reports do not carry but that is `cheap`, the profile
//! phase's measurement (see [`cheap_values`]). Which objectives take part is
//! decided by the trial being judged: those it has a value for. An objective
//! neither reported nor cheap (a size written only with the final result) is
//! left out of the ranking; with none left, the trial is never stopped.
//! Other trials lacking a value of a taking-part objective are left out of
//! the comparison (fewer peers: a more lenient rule).
//!
//! ## The rule
//!
//! The trial is compared with every other trial of its bracket that reached
//! the same rung, in any state (running, pruned, complete, failed): ASHA
//! (Li et al. 2020) never waits for a rung to fill. With `n` trials at the
//! rung, itself included, `keep = max(1, floor(n / η))` of them would go on;
//! with fewer than `min_trials` (default 5) trials there, everyone goes on.
//! The trials are ordered by
//!
//! 1. **non-dominated rank**: fronts of a non-dominated sort of the rung
//!    points, front 1 first (MO-ASHA, Schmucker et al. 2021, with the
//!    selection of NSGA-II / SMS-EMOA). With constraints, the sort uses
//!    constrained domination: every rung point whose values violate an
//!    objective's bound ranks after all feasible ones, less violation first.
//!    The bounds apply to rung values as they are, so a `min = 0.9` on an
//!    accuracy that every trial is still far from at the first rung ranks
//!    them by how far they are from it (by accuracy alone) until some reach
//!    it;
//! 2. inside the **critical front** (the one that straddles `keep`), by
//!    **hypervolume contribution**: the member whose exclusive contribution
//!    to the front's hypervolume is smallest is put last and taken out, and
//!    the contributions of the rest recomputed, until one is left (the
//!    SMS-EMOA reduction, so two near-twins do not both survive or both
//!    fall). The reference point is taken from all the rung points:
//!    `max + 0.1 · (max - min)` per objective, or `max + 1` where all are
//!    equal ([`nadir_reference`]), so every point has a positive box;
//! 3. where the smallest contribution is shared (duplicates, whose exclusive
//!    contribution is 0, or exact ties), by NSGA-II **crowding distance**
//!    among the members left, smallest put last; then by trial number, the
//!    newest put last.
//!
//! The trial goes on if its place is at most `keep`, or (`keep_front`,
//! the default) if it is on the rung's front **within the noise**: no
//! feasible rung point beats it by more than the noise margin in every
//! objective. The margin of a reported objective is `z · √2 · σ`, with σ
//! the noise of its reports in this study (from the second differences of
//! consecutive reports, which a smooth curve keeps small; see
//! [`report_noise`]) and `z` = `noise_margin` (2.5); cheap objectives,
//! measured without noise, have none. At an early rung the rung values say
//! little about where a curve ends, and a slow model that no faster one
//! clearly beats is what the final front is made of. With several
//! objectives most of a small rung can be non-dominated, so at most
//! `front_cap` (40 %) of the rung goes on this way. Plain MO-ASHA
//! (`keep_front = false`) saved 66–73 % on the synthetic workloads but kept
//! only 0.88–0.93 of their hypervolume; the defaults save 50–71 % of the
//! epochs at 0.970–1.000 of the hypervolume (medians) on every workload of
//! the benchmark, the recorded quickstart and CNN studies included (README
//! "Pruning"). Otherwise the trial stops,
//! with a reason like `mo-asha: bracket 0, rung at step 9: rank 7 of 12 at
//! the rung (front 3), outside the top 1/3 (4 go on); loss=0.4120,
//! latency=3.1000`. Its rank is its place in this order; a trial of a
//! front that is not split is given the front's first place.
//!
//! The rung points are sorted by trial number before any of this, so the
//! decision is the same whatever order the study's trials come in, and, as
//! for every pruner here, whichever worker or process asks.

use std::collections::BTreeMap;

use paretosearch_core::pareto::{
    crowding_distance, hypervolume_contributions, nadir_reference, non_dominated_sort,
};
use paretosearch_core::{Objective, Objectives, PruneReason, PruneRule, StudyView, Trial};

use super::brackets::{reached, Brackets, Defaults};
use super::{best_until, cheap_values, minimised, option, series, Pruner, PrunerError};

/// Multi-objective asynchronous successive halving. See the module
/// documentation.
#[derive(Clone, Debug)]
pub struct MoAshaPruner {
    /// Resources, η and brackets.
    pub schedule: Brackets,
    /// Trials needed at a rung before it stops anyone.
    pub min_trials: usize,
    /// Rungs below this step are not judged.
    pub warmup_steps: u64,
    /// Does every trial of the rung's first non-dominated front go on,
    /// beyond the top 1/η?
    pub keep_front: bool,
    /// `z` of the noise margin of `keep_front`: a trial is dominated at the
    /// rung only by a point better by more than `z · √2 · σ` in every
    /// reported objective (σ the reports' noise, √2 for the difference of
    /// two noisy values).
    pub noise_margin: f64,
    /// The most of a rung (a fraction) that goes on with `keep_front`.
    pub front_cap: f64,
}

/// The default η of `mo-asha`, Hyperband's and ASHA's 3: each rung keeps
/// the top third (and, with `keep_front`, the front within the noise).
pub const DEFAULT_ETA: u64 = 3;

/// `mo-asha`'s defaults for the rungs: η = 3, one bracket (asynchronous
/// successive halving, as ASHA and Syne Tune's MOASHA run by default;
/// `brackets = N` for Hyperband's), the first rung at a ninth of the
/// training but not before step 2 ([`crate::scaled_min_resource`]).
pub const DEFAULT_SCHEDULE: Defaults = Defaults {
    reduction_factor: DEFAULT_ETA,
    scaled_min_resource: true,
    all_brackets: false,
};

/// The default `min_trials`: no one stops at a rung that fewer than 5
/// trials have reached.
pub const DEFAULT_MIN_TRIALS: usize = 5;

/// The default `front_cap`: with the front kept, at most 40 % of a rung
/// goes on (with three objectives most of a small rung is non-dominated).
pub const DEFAULT_FRONT_CAP: f64 = 0.4;

/// The default `noise_margin`, `z = 2.5`: a trial leaves the rung's front
/// only when another beats it by more than `2.5 · √2 · σ`, about 3.5
/// standard deviations of one report.
pub const DEFAULT_NOISE_Z: f64 = 2.5;

impl MoAshaPruner {
    /// Option keys (besides the common `partial_order*`).
    pub const OPTIONS: &'static [&'static str] = &[
        "min_resource",
        "max_resource",
        "reduction_factor",
        "brackets",
        "min_trials",
        "warmup_steps",
        "keep_front",
        "noise_margin",
        "front_cap",
    ];

    /// Build from the `[pruner]` table.
    pub fn from_options(o: &toml::Table, _objectives: &Objectives) -> Result<Self, PrunerError> {
        let schedule = Brackets::from_options_with(o, "mo-asha", DEFAULT_SCHEDULE)?;
        Ok(MoAshaPruner {
            min_trials: option(o, "min_trials")?.unwrap_or(DEFAULT_MIN_TRIALS),
            warmup_steps: option(o, "warmup_steps")?.unwrap_or(0),
            keep_front: option(o, "keep_front")?.unwrap_or(true),
            noise_margin: option(o, "noise_margin")?.unwrap_or(DEFAULT_NOISE_Z),
            front_cap: option(o, "front_cap")?.unwrap_or(DEFAULT_FRONT_CAP),
            schedule,
        })
    }

    /// The bracket of trial `number` (as `hyperband` assigns it).
    pub fn bracket(&self, number: u64) -> u32 {
        self.schedule.bracket(number)
    }
}

/// One trial at a rung.
#[derive(Clone, Debug)]
struct AtRung {
    number: u64,
    /// Minimised rung values of the objectives taking part.
    point: Vec<f64>,
    /// Total violation of their bounds (0: feasible).
    violation: f64,
}

/// The minimised rung value of `o` for `t`: its best report up to `until`,
/// else its cheap measurement if `o` is cheap.
fn objective_value(
    t: &Trial,
    o: &Objective,
    until: u64,
    cheap: &BTreeMap<String, f64>,
) -> Option<f64> {
    best_until(&series(t, &o.name, until), o.direction, until).or_else(|| {
        o.cheap
            .then(|| cheap.get(&o.name))
            .flatten()
            .map(|v| minimised(o.direction, *v))
    })
}

/// The rung point of `t` at `rung` over the objectives `used`, if it
/// reached the rung and has a value of each.
fn rung_point(t: &Trial, rung: u64, used: &[&Objective]) -> Option<AtRung> {
    let until = reached(t, rung)?;
    let cheap = cheap_values(t);
    let point = used
        .iter()
        .map(|o| objective_value(t, o, until, &cheap))
        .collect::<Option<Vec<f64>>>()?;
    // `minimised` is its own inverse: the raw value back.
    let violation = used
        .iter()
        .zip(&point)
        .filter_map(|(o, v)| Some(o.constraint?.violation(minimised(o.direction, *v))))
        .sum();
    Some(AtRung {
        number: t.number,
        point,
        violation,
    })
}

/// Where one trial stands at a rung.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Standing {
    /// 1-based place in the rung's order.
    rank: usize,
    /// 1-based front of the non-dominated sort.
    front: usize,
    /// Is the place within `keep`?
    goes_on: bool,
}

/// The standing of `at[me]` among `at` (sorted by trial number) when
/// `keep` go on.
fn standing(
    at: &[AtRung],
    me: usize,
    keep: usize,
    keep_front: Option<(&[f64], usize)>,
) -> Standing {
    let points: Vec<Vec<f64>> = at.iter().map(|a| a.point.clone()).collect();
    let violations: Vec<f64> = at.iter().map(|a| a.violation).collect();
    let fronts = non_dominated_sort(&points, Some(&violations));
    let (mine, front) = place(at, &points, &fronts, me, keep);
    let goes_on = mine < keep
        || keep_front.is_some_and(|(eps, cap)| {
            (front == 0 || near_front(at, me, eps)) && place(at, &points, &fronts, me, cap).0 < cap
        });
    Standing {
        rank: mine + 1,
        front: front + 1,
        goes_on,
    }
}

/// The 0-based place of `at[me]` in the order of the rung when `keep` go
/// on (the critical front ordered, the others not), and its front.
fn place(
    at: &[AtRung],
    points: &[Vec<f64>],
    fronts: &[Vec<usize>],
    me: usize,
    keep: usize,
) -> (usize, usize) {
    let mut before = 0;
    for (f, members) in fronts.iter().enumerate() {
        if members.contains(&me) {
            let within = if before >= keep || before + members.len() <= keep {
                0
            } else {
                let reference = nadir_reference(points);
                let numbers: Vec<u64> = at.iter().map(|a| a.number).collect();
                critical_order(points, members, &reference, &numbers)
                    .iter()
                    .position(|&i| i == me)
                    .expect("the order holds every member")
            };
            return (before + within, f);
        }
        before += members.len();
    }
    unreachable!("non-dominated sorting places every point in a front")
}

/// Is `at[me]` (feasible) dominated by no feasible rung point by more than
/// `eps` in every objective, i.e. on the rung's front within the noise?
fn near_front(at: &[AtRung], me: usize, eps: &[f64]) -> bool {
    let mine = &at[me];
    if mine.violation > 0.0 {
        return false;
    }
    !at.iter().enumerate().any(|(j, other)| {
        j != me
            && other.violation == 0.0
            && other
                .point
                .iter()
                .zip(&mine.point)
                .zip(eps)
                .all(|((o, m), e)| o + e <= *m)
            && other
                .point
                .iter()
                .zip(&mine.point)
                .zip(eps)
                .any(|((o, m), e)| o + e < *m)
    })
}

/// The noise of each objective's reports in this study: from the second
/// differences of every trial's consecutive reports (a smooth curve's are
/// small, evaluation noise adds `6σ²` to their variance), a robust
/// `σ = median |Δ²| / (0.6745 · √6)`, as the margin `z · √2 · σ` of a
/// difference of two noisy values; 0 for an objective
/// without reports (cheap ones, measured without noise by the profile).
fn report_noise(study: &StudyView<'_>, used: &[&Objective], margin: f64) -> Vec<f64> {
    used.iter()
        .map(|o| {
            let mut d2: Vec<f64> = study
                .trials
                .iter()
                .rev()
                .take(400)
                .flat_map(|t| {
                    let s = series(t, &o.name, u64::MAX);
                    s.windows(3)
                        .map(|w| (w[2].1 - 2.0 * w[1].1 + w[0].1).abs())
                        .collect::<Vec<f64>>()
                })
                .collect();
            if d2.len() < 10 {
                return 0.0;
            }
            let mid = d2.len() / 2;
            let (_, m, _) = d2.select_nth_unstable_by(mid, f64::total_cmp);
            margin * std::f64::consts::SQRT_2 * *m / (0.6745 * 6f64.sqrt())
        })
        .collect()
}

/// The members of a critical front (indices into `points`), best first: the
/// least hypervolume contributor (with respect to `reference`, among the
/// members left) is put last, repeatedly; a shared least contribution is
/// broken by the smaller crowding distance, then the larger trial number.
fn critical_order(
    points: &[Vec<f64>],
    front: &[usize],
    reference: &[f64],
    numbers: &[u64],
) -> Vec<usize> {
    let mut left: Vec<usize> = front.to_vec();
    let mut worst_first = Vec::with_capacity(front.len());
    while left.len() > 1 {
        let sub: Vec<Vec<f64>> = left.iter().map(|&i| points[i].clone()).collect();
        let hv = hypervolume_contributions(&sub, reference);
        let least = hv.iter().copied().fold(f64::INFINITY, f64::min);
        let most = hv.iter().copied().fold(0.0, f64::max);
        // Contributions equal up to rounding tie.
        let tolerance = 1e-12 * most;
        let tied: Vec<usize> = (0..left.len())
            .filter(|&k| hv[k] <= least + tolerance)
            .collect();
        let out = if tied.len() == 1 {
            tied[0]
        } else {
            let crowding = crowding_distance(points, &left);
            *tied
                .iter()
                .min_by(|&&a, &&b| {
                    crowding[a]
                        .total_cmp(&crowding[b])
                        .then(numbers[left[b]].cmp(&numbers[left[a]]))
                })
                .expect("at least one is least")
        };
        worst_first.push(left.remove(out));
    }
    worst_first.extend(left);
    worst_first.reverse();
    worst_first
}

impl Pruner for MoAshaPruner {
    fn name(&self) -> &str {
        "mo-asha"
    }

    fn uses_cheap_objectives(&self) -> bool {
        true
    }

    fn prune(&self, study: &StudyView<'_>, trial: &Trial) -> Option<PruneReason> {
        let b = self.bracket(trial.number);
        let eta = self.schedule.reduction_factor;
        for rung in self.schedule.crossed(b, trial) {
            if rung < self.warmup_steps {
                continue;
            }
            let Some(until) = reached(trial, rung) else {
                continue;
            };
            let cheap = cheap_values(trial);
            let used: Vec<&Objective> = study
                .objectives
                .iter()
                .filter(|o| objective_value(trial, o, until, &cheap).is_some())
                .collect();
            if used.is_empty() {
                continue;
            }
            let Some(mine) = rung_point(trial, rung, &used) else {
                continue;
            };
            let mut at: Vec<AtRung> = study
                .trials
                .iter()
                .filter(|t| t.number != trial.number && self.bracket(t.number) == b)
                .filter_map(|t| rung_point(t, rung, &used))
                .collect();
            at.push(mine.clone());
            at.sort_by_key(|a| a.number);
            let n = at.len();
            if n < self.min_trials.max(2) {
                continue;
            }
            let keep = (n / eta as usize).max(1);
            let me = at
                .iter()
                .position(|a| a.number == trial.number)
                .expect("pushed above");
            let eps = self
                .keep_front
                .then(|| report_noise(study, &used, self.noise_margin));
            let cap = ((n as f64 * self.front_cap).ceil() as usize).max(keep);
            let s = standing(&at, me, keep, eps.as_deref().map(|e| (e, cap)));
            if s.goes_on {
                continue;
            }
            let shown = used
                .iter()
                .zip(&mine.point)
                .map(|(o, v)| format!("{}={:.4}", o.name, minimised(o.direction, *v)))
                .collect::<Vec<_>>()
                .join(", ");
            let infeasible = if mine.violation > 0.0 {
                ", infeasible"
            } else {
                ""
            };
            return Some(PruneReason::new(
                PruneRule::MoAsha,
                format!(
                    "mo-asha: bracket {b}, rung at step {rung}: rank {} of {n} at the rung \
                     (front {}{infeasible}), outside the top 1/{eta} ({keep} go on); {shown}",
                    s.rank, s.front
                ),
            ));
        }
        None
    }

    /// The rungs' account ([`Brackets::account`]) and, with `keep_front`,
    /// the noise margin of each reported objective as the rule uses it now.
    fn diagnose(&self, study: &StudyView<'_>) -> Option<serde_json::Value> {
        let mut d = self.schedule.account(study.trials, self.min_trials);
        if self.keep_front {
            let reported: Vec<&Objective> = study
                .objectives
                .iter()
                .filter(|o| {
                    study.trials.iter().any(|t| {
                        t.intermediate
                            .iter()
                            .any(|r| r.values.contains_key(&o.name))
                    })
                })
                .collect();
            let margins = report_noise(study, &reported, self.noise_margin);
            d["noise_margin"] = reported
                .iter()
                .zip(margins)
                .map(|(o, m)| (o.name.clone(), serde_json::json!(m)))
                .collect::<serde_json::Map<_, _>>()
                .into();
        }
        Some(d)
    }
}

#[cfg(test)]
mod tests;
