//! Tree-structured Parzen estimator (TPE), single- and multi-objective,
//! following Optuna's `TPESampler` (v4/v5) closely enough that its
//! published behaviour carries over, and fast enough to be an afterthought
//! next to the trials it schedules.
//!
//! ## One proposal
//!
//! 1. Until `n_startup_trials` trials have finished, propose the next point
//!    of a scrambled Sobol sequence (or a uniform random point).
//! 2. Split the history (`split`): the best `γ(n)` trials form the good
//!    group, the rest (and, with the constant liar, RUNNING trials) the bad
//!    group. For several objectives the good group is whole non-dominated
//!    fronts, cut by greedy hypervolume subset selection; infeasible trials
//!    rank after feasible ones.
//! 3. For each group of parameters (all of them jointly in multivariate
//!    mode; with `group`, one group per set of parameters that are always
//!    active together; otherwise one parameter at a time), in parent-first
//!    order and only if the group is active given the values chosen so far,
//!    build `l(x)` from the good trials and `g(x)` from the bad ones in which
//!    the group is active ([`parzen`]), draw `n_ei_candidates` points from
//!    `l` and keep the one maximising `log l(x) - log g(x)`.
//!
//! ## Speed
//!
//! Finished trials never change, so their internal coordinates, minimised
//! objective vectors, violations and pruning keys are computed once and
//! cached by trial number (the cache is dropped if the sampler is handed a
//! different space or objectives). A proposal then costs one split
//! (`O(n log n)` for two objectives), building the estimators (one pass
//! over the observations, with every per-component constant folded into a
//! bias) and `n_ei_candidates x n x d` multiply-adds; see the crate's
//! benchmarks.
//!
//! ## Determinism
//!
//! Randomness comes from [`trial_rng`]`(seed, number, 1)` only; the
//! history is read in trial-number order. The same history therefore gives
//! the same proposal in any worker.

mod choose;
mod groups;
mod hssp;
pub mod parzen;
mod sorted;
mod split;
mod truncnorm;

use paretosearch_core::{Objectives, ParamValue, Params, SearchSpace, Trial, TrialState};
use rand::Rng;

use std::collections::HashSet;

use crate::random::SobolSampler;
use crate::{option, reject_unknown, trial_rng, Proposal, Sampler, SamplerError, StudyView};
use choose::Ranked;
use groups::parameter_groups;
use parzen::{BandwidthRule, KernelDomain, ParzenEstimator, ParzenSettings};
use sorted::{group_orders, SortedHistory};
use split::{default_weights, gamma, split, weights_below_multi_objective, History};

/// How the first trials are drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Startup {
    /// Scrambled Sobol points (even coverage).
    Sobol,
    /// Independent uniform points.
    Random,
}

/// How the last good front is cut with several objectives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Hssp {
    /// Exact up to 3 objectives; from 4, pairwise after 32 exact picks.
    Auto,
    /// Greedy selection by exact hypervolume gains.
    Exact,
    /// The first 32 picks by exact gains, the rest by their pairwise
    /// bounds.
    Pairwise,
}

/// TPE options (`[sampler] kind = "tpe"`).
#[derive(Clone, Debug, PartialEq)]
pub struct TpeOptions {
    /// Finished trials before TPE takes over (`n_startup_trials`; by
    /// default 10 for one objective, 24 for several).
    pub n_startup_trials: Option<usize>,
    /// Candidates drawn from `l(x)` per proposal (`n_ei_candidates`, 24).
    pub n_ei_candidates: usize,
    /// Fraction of finished trials in the good group (`gamma`; by default
    /// 0.1 for one objective, 0.15 for several).
    pub gamma: Option<f64>,
    /// Cap on the good group's size (`gamma_max`; by default 25 for one
    /// objective and none for several, as in Optuna 5).
    pub gamma_max: Option<usize>,
    /// Weight of the prior kernel (`prior_weight`, 1.0).
    pub prior_weight: f64,
    /// Lower bound on bandwidths (`consider_magic_clip`, true).
    pub consider_magic_clip: bool,
    /// Domain ends as neighbours in univariate bandwidths
    /// (`consider_endpoints`; by default no for one objective, yes for
    /// several).
    pub consider_endpoints: Option<bool>,
    /// Model parameters jointly (`multivariate`; by default yes for one
    /// objective and no for several, as in Optuna 5).
    pub multivariate: Option<bool>,
    /// Kernel bandwidth rule (`bandwidth`: "neighbours" (default, Optuna
    /// 5), "neighbours_with_prior" or "scott").
    pub bandwidth: BandwidthRule,
    /// Several objectives: weight the good group by hypervolume
    /// contribution (`hv_weights`, false; Optuna 3/4 did, Optuna 5 weighs
    /// all good trials equally).
    pub hv_weights: bool,
    /// With `multivariate`, one joint model per set of parameters that are
    /// always active together (`group`, true); without, conditional
    /// parameters are modelled one at a time.
    pub group: bool,
    /// RUNNING trials with parameters count as bad (`constant_liar`, true).
    pub constant_liar: bool,
    /// How the first trials are drawn (`startup`, "sobol").
    pub startup: Startup,
    /// Without `multivariate`, still model the categorical parameters that
    /// are always active together jointly (`joint_categorical`, true):
    /// univariate kernels cannot see interactions between choices.
    pub joint_categorical: bool,
    /// In a space of discrete parameters only, never propose a
    /// configuration already tried while an untried one scores nearly as
    /// well (`avoid_repeats`, true; see `choose`).
    pub avoid_repeats: bool,
    /// How the good group's last front is cut (`hssp`: "auto" (default):
    /// exact hypervolume gains up to 3 objectives; from 4, where exact
    /// gains cost exponentially more with the selection, exact for the
    /// first 32 picks and pairwise bounds of the gains after; "exact";
    /// "pairwise", the latter at any number of objectives).
    pub hssp: Hssp,
}

impl Default for TpeOptions {
    fn default() -> Self {
        TpeOptions {
            n_startup_trials: None,
            n_ei_candidates: 24,
            gamma: None,
            gamma_max: None,
            prior_weight: 1.0,
            consider_magic_clip: true,
            consider_endpoints: None,
            multivariate: None,
            bandwidth: BandwidthRule::Neighbours,
            hv_weights: false,
            group: true,
            constant_liar: true,
            startup: Startup::Sobol,
            joint_categorical: true,
            avoid_repeats: true,
            hssp: Hssp::Auto,
        }
    }
}

const OPTION_KEYS: &[&str] = &[
    "n_startup_trials",
    "n_ei_candidates",
    "gamma",
    "gamma_max",
    "prior_weight",
    "consider_magic_clip",
    "consider_endpoints",
    "multivariate",
    "bandwidth",
    "hv_weights",
    "group",
    "constant_liar",
    "startup",
    "joint_categorical",
    "avoid_repeats",
    "hssp",
];

impl TpeOptions {
    /// Parse `[sampler]` options, rejecting unknown keys and bad values.
    pub fn from_options(options: &toml::Table) -> Result<Self, SamplerError> {
        reject_unknown(options, OPTION_KEYS)?;
        let d = TpeOptions::default();
        let bad = |key: &str, message: &str| SamplerError::BadOption {
            key: key.into(),
            message: message.into(),
        };
        let o = TpeOptions {
            n_startup_trials: option(options, "n_startup_trials")?.or(d.n_startup_trials),
            n_ei_candidates: option(options, "n_ei_candidates")?.unwrap_or(d.n_ei_candidates),
            gamma: option(options, "gamma")?.or(d.gamma),
            gamma_max: option(options, "gamma_max")?.or(d.gamma_max),
            prior_weight: option(options, "prior_weight")?.unwrap_or(d.prior_weight),
            consider_magic_clip: option(options, "consider_magic_clip")?
                .unwrap_or(d.consider_magic_clip),
            consider_endpoints: option(options, "consider_endpoints")?.or(d.consider_endpoints),
            multivariate: option(options, "multivariate")?.or(d.multivariate),
            bandwidth: option(options, "bandwidth")?.unwrap_or(d.bandwidth),
            hv_weights: option(options, "hv_weights")?.unwrap_or(d.hv_weights),
            group: option(options, "group")?.unwrap_or(d.group),
            constant_liar: option(options, "constant_liar")?.unwrap_or(d.constant_liar),
            startup: option(options, "startup")?.unwrap_or(d.startup),
            joint_categorical: option(options, "joint_categorical")?.unwrap_or(d.joint_categorical),
            avoid_repeats: option(options, "avoid_repeats")?.unwrap_or(d.avoid_repeats),
            hssp: option(options, "hssp")?.unwrap_or(d.hssp),
        };
        if o.n_ei_candidates == 0 {
            return Err(bad("n_ei_candidates", "must be at least 1"));
        }
        if o.gamma.is_some_and(|g| !(g > 0.0 && g <= 1.0)) {
            return Err(bad("gamma", "must be in (0, 1]"));
        }
        if o.gamma_max == Some(0) {
            return Err(bad("gamma_max", "must be at least 1"));
        }
        if !(o.prior_weight > 0.0 && o.prior_weight.is_finite()) {
            return Err(bad("prior_weight", "must be a positive number"));
        }
        Ok(o)
    }
}

/// What a finished trial contributes, computed once.
#[derive(Clone, Debug)]
struct CachedTrial {
    id: i64,
    state: TrialState,
    /// Internal coordinate per parameter; NaN where inactive.
    coords: Vec<f64>,
    /// Minimised objective vector (COMPLETE trials).
    values: Option<Vec<f64>>,
    violation: f64,
    /// Sort key of a PRUNED trial (single objective).
    pruned_key: (f64, f64),
}

/// The multi-objective TPE sampler.
#[derive(Clone, Debug, Default)]
pub struct TpeSampler {
    options: TpeOptions,
    space: Option<SearchSpace>,
    objectives: Option<Objectives>,
    groups: Vec<Vec<usize>>,
    cache: Vec<Option<CachedTrial>>,
    sorted: SortedHistory,
}

impl TpeSampler {
    /// A sampler with these options.
    pub fn new(options: TpeOptions) -> Self {
        TpeSampler {
            options,
            ..Default::default()
        }
    }

    /// Build from `[sampler]` options.
    pub fn from_options(options: &toml::Table) -> Result<Self, SamplerError> {
        Ok(Self::new(TpeOptions::from_options(options)?))
    }

    /// The options in use.
    pub fn options(&self) -> &TpeOptions {
        &self.options
    }

    /// Whether parameters are modelled jointly for these objectives.
    fn multivariate(&self, objectives: &Objectives) -> bool {
        self.options.multivariate.unwrap_or(objectives.len() == 1)
    }

    /// Reset caches if the study's space or objectives changed.
    fn refresh(&mut self, space: &SearchSpace, objectives: &Objectives) {
        if self.space.as_ref() != Some(space) || self.objectives.as_ref() != Some(objectives) {
            self.space = Some(space.clone());
            self.objectives = Some(objectives.clone());
            self.groups = parameter_groups(
                space,
                self.multivariate(objectives),
                self.options.group,
                self.options.joint_categorical,
            );
            self.cache.clear();
            self.sorted.clear();
        }
    }

    fn cached(&mut self, t: &Trial, space: &SearchSpace, objectives: &Objectives) -> &CachedTrial {
        let slot = t.number as usize;
        if self.cache.len() <= slot {
            self.cache.resize(slot + 1, None);
        }
        let stale = match &self.cache[slot] {
            Some(c) => c.id != t.id || c.state != t.state,
            None => true,
        };
        if stale {
            let values = t.minimised(objectives);
            let violation = if t.state == TrialState::Complete {
                objectives.violation(&t.values)
            } else {
                0.0
            };
            self.cache[slot] = Some(CachedTrial {
                id: t.id,
                state: t.state,
                coords: coordinates(space, &t.params),
                values,
                violation,
                pruned_key: pruned_key(t, objectives),
            });
        }
        self.cache[slot].as_ref().expect("just filled")
    }

    fn startup(&self, study: &StudyView<'_>, number: u64) -> Proposal {
        let d = study.space.len();
        let u: Vec<f64> = match self.options.startup {
            Startup::Sobol => SobolSampler::point(study.seed, number, d),
            Startup::Random => {
                let mut rng = trial_rng(study.seed, number, 0);
                (0..d).map(|_| rng.random::<f64>()).collect()
            }
        };
        Proposal {
            params: study.space.from_unit(&u),
            ..Default::default()
        }
    }
}

impl Sampler for TpeSampler {
    fn name(&self) -> &str {
        "tpe"
    }

    fn propose(&mut self, study: &StudyView<'_>, number: u64) -> Result<Proposal, SamplerError> {
        let space = study.space;
        let objectives = study.objectives;
        if objectives.is_empty() {
            return Err(SamplerError::Unsupported(
                "tpe needs at least one objective".into(),
            ));
        }
        self.refresh(space, objectives);
        let multi = objectives.len() > 1;
        let constrained = objectives.constrained();

        // Gather the history in trial-number order.
        let mut finished: Vec<usize> = Vec::new();
        let mut liars: Vec<Vec<f64>> = Vec::new();
        for (pos, t) in study.trials.iter().enumerate() {
            if t.number == number {
                continue;
            }
            match t.state {
                TrialState::Complete | TrialState::Pruned => {
                    let c = self.cached(t, space, objectives);
                    if c.state == TrialState::Complete && c.values.is_none() {
                        continue;
                    }
                    finished.push(pos);
                }
                TrialState::Running | TrialState::Waiting
                    if self.options.constant_liar && !t.params.is_empty() =>
                {
                    liars.push(coordinates(space, &t.params));
                }
                _ => {}
            }
        }
        // Several objectives need a wider look at the front before the
        // model takes over, a larger good group and kernels that reach the
        // domain ends (where ZDT-like optima sit); see `TpeOptions`.
        let o = &self.options;
        let n_startup = o.n_startup_trials.unwrap_or(if multi { 24 } else { 10 });
        let gamma_fraction = o.gamma.unwrap_or(if multi { 0.15 } else { 0.1 });
        let consider_endpoints = o.consider_endpoints.unwrap_or(multi);
        if finished.len() < n_startup.max(1) {
            return Ok(self.startup(study, number));
        }

        // Pool: finished trials then liars; ids are pool positions.
        let mut pool: Vec<&[f64]> = Vec::with_capacity(finished.len() + liars.len());
        let mut history = History::default();
        let cache = &self.cache;
        let entry = |pos: usize| {
            cache[study.trials[pos].number as usize]
                .as_ref()
                .expect("cached")
        };
        for &pos in &finished {
            let c = entry(pos);
            let id = pool.len();
            pool.push(&c.coords);
            match (&c.values, c.state) {
                (Some(v), TrialState::Complete) => {
                    if constrained && c.violation > 0.0 {
                        history.infeasible.push((id, c.violation));
                    } else {
                        history.feasible.push((id, v));
                    }
                }
                _ => history.pruned.push((id, c.pruned_key)),
            }
        }
        for l in &liars {
            history.running.push(pool.len());
            pool.push(l);
        }
        // The finished trials kept sorted per parameter (when the history
        // comes in trial-number order, as a study hands it over).
        let numbers: Vec<u64> = finished.iter().map(|&p| study.trials[p].number).collect();
        let presorted = numbers.windows(2).all(|w| w[0] < w[1]);
        if presorted {
            self.sorted.update(
                space.len(),
                finished.iter().map(|&pos| {
                    let c = entry(pos);
                    (study.trials[pos].number, c.id, &c.coords[..])
                }),
            );
        }
        let cap = match self.options.gamma_max {
            Some(cap) => cap,
            None if multi => usize::MAX,
            None => 25,
        };
        let n_below = gamma(finished.len(), gamma_fraction, cap);
        let pairwise = match self.options.hssp {
            Hssp::Exact => false,
            Hssp::Pairwise => true,
            Hssp::Auto => objectives.len() >= 4,
        };
        let (below, above) = split(&history, n_below, multi, pairwise);
        // Several objectives: good trials weigh the same (Optuna 5) or by
        // hypervolume contribution; one objective: Optuna's ramp.
        let below_weights: Option<Vec<f64>> = match (multi, self.options.hv_weights) {
            (false, _) => None,
            (true, false) => Some(vec![1.0; below.len()]),
            (true, true) => {
                let mut feasible_values: Vec<Option<&[f64]>> = vec![None; pool.len()];
                for &(id, v) in &history.feasible {
                    feasible_values[id] = Some(v);
                }
                let pts: Vec<Option<&[f64]>> =
                    below.iter().map(|&id| feasible_values[id]).collect();
                Some(weights_below_multi_objective(&pts))
            }
        };

        let settings = ParzenSettings {
            prior_weight: self.options.prior_weight,
            consider_magic_clip: self.options.consider_magic_clip,
            consider_endpoints,
            bandwidth: self.options.bandwidth,
        };
        let mut rng = trial_rng(study.seed, number, 1);
        let mut params = Params::new();
        let mut ranked: Vec<Ranked> = Vec::with_capacity(self.groups.len());
        let mut obs = Vec::new();
        let mut weights = Vec::new();
        for group in &self.groups {
            let first = &space.params()[group[0]];
            if !first.is_active(&params) {
                continue;
            }
            let domains: Vec<KernelDomain> = group
                .iter()
                .map(|&i| KernelDomain::of(&space.params()[i].distribution))
                .collect();
            gather(
                &pool,
                &below,
                group,
                &mut obs,
                &mut weights,
                below_weights.as_deref(),
            );
            let numeric: Vec<bool> = domains
                .iter()
                .map(|d| !matches!(d, KernelDomain::Categorical { .. }))
                .collect();
            let orders = |ids: &[usize]| {
                presorted.then(|| group_orders(&self.sorted, group, &numeric, ids, &pool, &numbers))
            };
            let l = ParzenEstimator::with_sorted(
                &domains,
                &obs,
                &weights,
                &settings,
                orders(&below).as_deref(),
            );
            gather(&pool, &above, group, &mut obs, &mut weights, None);
            let g = ParzenEstimator::with_sorted(
                &domains,
                &obs,
                &weights,
                &settings,
                orders(&above).as_deref(),
            );

            let m = self.options.n_ei_candidates;
            let mut cands = l.sample(&mut rng, m);
            let d = group.len();
            let mut values: Vec<ParamValue> = Vec::with_capacity(m * d);
            for (k, x) in cands.iter_mut().enumerate() {
                let dist = &space.params()[group[k % d]].distribution;
                let v = dist.from_internal(*x);
                *x = dist.to_internal(&v).unwrap_or(*x);
                values.push(v);
            }
            let mut ll = vec![0.0; m];
            let mut lg = vec![0.0; m];
            l.log_pdf(&cands, &mut ll);
            g.log_pdf(&cands, &mut lg);
            let scores: Vec<f64> = ll.iter().zip(&lg).map(|(a, b)| a - b).collect();
            let r = Ranked::new(group, &cands, values, &scores);
            for (&pi, v) in group.iter().zip(&r.values[0]) {
                params.insert(space.params()[pi].name.clone(), v.clone());
            }
            ranked.push(r);
        }
        // Assemble in space order: exactly the active parameters, any gap
        // (a group made active by a later choice) drawn at random; in an
        // all-discrete space, not a configuration already tried.
        let tried: Option<HashSet<Vec<u64>>> = (self.options.avoid_repeats
            && space
                .params()
                .iter()
                .all(|p| p.distribution.cardinality().is_some()))
        .then(|| pool.iter().map(|c| choose::key(c)).collect());
        let params = choose::choose(
            space,
            &ranked,
            tried.as_ref(),
            |p| coordinates(space, p),
            study.seed,
            number,
        );
        Ok(Proposal {
            params,
            ..Default::default()
        })
    }
}

/// Observations (rows where every parameter of `group` is active) and
/// weights of the trials `ids` of `pool`. Weights: `predetermined[i]` for
/// the `i`-th id when given, Optuna's ramp over the kept rows otherwise.
fn gather(
    pool: &[&[f64]],
    ids: &[usize],
    group: &[usize],
    obs: &mut Vec<f64>,
    weights: &mut Vec<f64>,
    predetermined: Option<&[f64]>,
) {
    obs.clear();
    weights.clear();
    for (i, &id) in ids.iter().enumerate() {
        let c = pool[id];
        if group.iter().all(|&p| !c[p].is_nan()) {
            obs.extend(group.iter().map(|&p| c[p]));
            weights.push(predetermined.map_or(1.0, |w| w[i]));
        }
    }
    if predetermined.is_none() {
        *weights = default_weights(weights.len());
    }
}

/// Internal coordinate of every parameter of `space` in `params` (NaN when
/// absent or of the wrong type).
fn coordinates(space: &SearchSpace, params: &Params) -> Vec<f64> {
    space
        .params()
        .iter()
        .map(|p| {
            params
                .get(&p.name)
                .and_then(|v| p.distribution.to_internal(v))
                .unwrap_or(f64::NAN)
        })
        .collect()
}

/// Optuna's ranking key of a PRUNED trial for one objective: trials that
/// reached a later step first, then by their last reported value of the
/// objective (minimised); no report sorts last.
fn pruned_key(t: &Trial, objectives: &Objectives) -> (f64, f64) {
    let Some(o) = objectives.iter().next() else {
        return (1.0, 0.0);
    };
    let sign = match o.direction {
        paretosearch_core::Direction::Minimize => 1.0,
        paretosearch_core::Direction::Maximize => -1.0,
    };
    let value = |v: f64| if v.is_nan() { f64::INFINITY } else { sign * v };
    if let Some(im) = t
        .intermediate
        .iter()
        .rev()
        .find(|im| im.values.contains_key(&o.name))
    {
        return (-(im.step as f64), value(im.values[&o.name]));
    }
    match t.values.get(&o.name) {
        Some(&v) => (0.0, value(v)),
        None => (1.0, 0.0),
    }
}

#[cfg(test)]
mod tests;
