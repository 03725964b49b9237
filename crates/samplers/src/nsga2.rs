//! NSGA-II (Deb, Pratap, Agarwal & Meyarivan 2002) as a stateless sampler:
//! the population lives in the store, not in the sampler.
//!
//! ## Generations in trial attributes
//!
//! Every proposal carries `attrs.generation = g` (and the numbers of its two
//! parents under `nsga2:parents`). Generation `g` is *full* once
//! `population_size` trials of generation `g` are COMPLETE or in flight
//! (RUNNING or WAITING with parameters, any worker's); the current
//! generation is the first one that is not full. Parallel workers thus
//! never wait for stragglers, nor breed more than `population_size`
//! trials of a generation: the next one is bred from the COMPLETE trials,
//! and a straggler joins the selection when it completes (a failed trial
//! leaves its generation one short, to be filled again). When no earlier
//! trial is COMPLETE yet, generation 0 gets more trials. Trials without the attribute
//! (enqueued configurations, or trials of another sampler before a switch)
//! count as generation 0, which is otherwise drawn from a scrambled Sobol
//! sequence.
//!
//! The parents of generation `g` are the survivors of elitist selection
//! over generations `0 .. g-1`: `S_1` = the best `population_size` COMPLETE
//! trials of generation 0, `S_{k+1}` = the best of `S_k` together with the
//! COMPLETE trials of generation `k`, "best" meaning non-dominated rank
//! (Deb's constraint domination when objectives carry bounds: feasible
//! first, then by violation) and, within the front that does not fit,
//! larger crowding distance (ties by trial number). Because this depends
//! only on stored trials, a resumed study or a second worker continues the
//! same generations. Survivor sets are cached per generation and reused
//! while the number of COMPLETE trials of every earlier generation is
//! unchanged.
//!
//! ## Variation in the unit view
//!
//! Offspring are bred in the unit view of the search space (see
//! `paretosearch_core::space`), where every parameter is a coordinate in
//! `[0, 1]` and [`Distribution::from_unit`](paretosearch_core::Distribution::from_unit) snaps integers, steps and
//! categories. Two parents are chosen by binary tournaments (lower rank
//! wins, then larger crowding distance); with probability `crossover_prob`
//! they are crossed: a fair swap of every coordinate (uniform crossover,
//! Optuna's default), or with `crossover = "sbx"` simulated binary
//! crossover (`eta_c`) on ordinal coordinates and a fair swap on
//! categorical ones. Each coordinate then mutates
//! with probability `mutation_prob` (default `1 / n_params`): polynomial
//! mutation (`eta_m`, the default) for ordinal coordinates, or a fresh
//! uniform draw (Optuna's operator) with `mutation = "uniform"`;
//! categorical coordinates always get a fresh uniform choice. A parameter active in only one parent is inherited
//! from it; one active in neither (a branch newly switched on) is drawn
//! uniformly.
//!
//! All randomness of trial `n` comes from `trial_rng(seed, n, 3)` (breeding)
//! and the Sobol sequence (generation 0).

use std::collections::BTreeMap;

use paretosearch_core::pareto::{crowding_distance, non_dominated_sort};
use paretosearch_core::{Objectives, SearchSpace, Trial, TrialState};
use rand::Rng;
use serde_json::json;

use crate::random::SobolSampler;
use crate::{option, reject_unknown, trial_rng, Proposal, Sampler, SamplerError, StudyView};

/// Attribute holding a trial's generation.
pub const GENERATION_ATTR: &str = "generation";
/// Attribute holding a trial's parents (trial numbers).
pub const PARENTS_ATTR: &str = "nsga2:parents";

/// Crossover operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Crossover {
    /// Simulated binary crossover on ordinal coordinates, fair swap on
    /// categorical ones.
    Sbx,
    /// Fair swap of every coordinate.
    Uniform,
}

/// Mutation operator for ordinal coordinates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mutation {
    /// A fresh uniform draw from the coordinate's range (Optuna's default).
    Uniform,
    /// Bounded polynomial mutation (`eta_m`).
    Polynomial,
}

/// NSGA-II options (`[sampler] kind = "nsga2"`).
#[derive(Clone, Debug, PartialEq)]
pub struct Nsga2Options {
    /// Trials per generation (`population_size`, 20: ten generations in
    /// a 200-trial study; Optuna's 50 gives four, and converged less in
    /// our ZDT/DTLZ benchmarks even at 1,000 trials).
    pub population_size: usize,
    /// Crossover operator (`crossover`, "uniform" as in Optuna, or "sbx").
    pub crossover: Crossover,
    /// Probability of crossing two parents (`crossover_prob`, 0.9).
    pub crossover_prob: f64,
    /// Per-coordinate mutation probability (`mutation_prob`, default
    /// `1 / n_params`).
    pub mutation_prob: Option<f64>,
    /// SBX distribution index (`eta_c`, 15).
    pub eta_c: f64,
    /// Polynomial mutation distribution index (`eta_m`, 20).
    pub eta_m: f64,
    /// Mutation operator for ordinal coordinates (`mutation`,
    /// "polynomial", or "uniform" as in Optuna).
    pub mutation: Mutation,
}

impl Default for Nsga2Options {
    fn default() -> Self {
        Nsga2Options {
            population_size: 20,
            crossover: Crossover::Uniform,
            crossover_prob: 0.9,
            mutation_prob: None,
            eta_c: 15.0,
            eta_m: 20.0,
            mutation: Mutation::Polynomial,
        }
    }
}

impl Nsga2Options {
    /// Parse `[sampler]` options, rejecting unknown keys and bad values.
    pub fn from_options(options: &toml::Table) -> Result<Self, SamplerError> {
        reject_unknown(
            options,
            &[
                "population_size",
                "crossover",
                "crossover_prob",
                "mutation_prob",
                "eta_c",
                "eta_m",
                "mutation",
            ],
        )?;
        let d = Nsga2Options::default();
        let o = Nsga2Options {
            population_size: option(options, "population_size")?.unwrap_or(d.population_size),
            crossover: option(options, "crossover")?.unwrap_or(d.crossover),
            crossover_prob: option(options, "crossover_prob")?.unwrap_or(d.crossover_prob),
            mutation_prob: option(options, "mutation_prob")?,
            eta_c: option(options, "eta_c")?.unwrap_or(d.eta_c),
            eta_m: option(options, "eta_m")?.unwrap_or(d.eta_m),
            mutation: option(options, "mutation")?.unwrap_or(d.mutation),
        };
        let bad = |key: &str, message: &str| {
            Err(SamplerError::BadOption {
                key: key.into(),
                message: message.into(),
            })
        };
        if o.population_size < 2 {
            return bad("population_size", "must be at least 2");
        }
        if !(0.0..=1.0).contains(&o.crossover_prob) {
            return bad("crossover_prob", "must be in [0, 1]");
        }
        if o.mutation_prob.is_some_and(|p| !(0.0..=1.0).contains(&p)) {
            return bad("mutation_prob", "must be in [0, 1]");
        }
        if !(o.eta_c >= 0.0 && o.eta_c.is_finite()) {
            return bad("eta_c", "must be a non-negative number");
        }
        if !(o.eta_m >= 0.0 && o.eta_m.is_finite()) {
            return bad("eta_m", "must be a non-negative number");
        }
        Ok(o)
    }
}

/// Survivors after generation `g` (the parents of `g + 1`), with the number
/// of COMPLETE trials of generation `g` they were computed from.
#[derive(Clone, Debug)]
struct Survivors {
    complete_in_generation: usize,
    numbers: Vec<u64>,
}

/// The NSGA-II sampler.
#[derive(Clone, Debug, Default)]
pub struct Nsga2Sampler {
    options: Nsga2Options,
    key: Option<(SearchSpace, Objectives)>,
    survivors: Vec<Survivors>,
}

/// One COMPLETE trial as selection sees it.
struct Member<'a> {
    trial: &'a Trial,
    values: Vec<f64>,
    violation: f64,
}

impl Nsga2Sampler {
    /// A sampler with these options.
    pub fn new(options: Nsga2Options) -> Self {
        Nsga2Sampler {
            options,
            ..Default::default()
        }
    }

    /// Build from `[sampler]` options.
    pub fn from_options(options: &toml::Table) -> Result<Self, SamplerError> {
        Ok(Self::new(Nsga2Options::from_options(options)?))
    }

    /// The options in use.
    pub fn options(&self) -> &Nsga2Options {
        &self.options
    }

    /// Parents of generation `target` (>= 1): survivors of generations
    /// `0 .. target - 1`, reusing cached survivor sets while still valid.
    fn parents<'a>(
        &mut self,
        by_generation: &BTreeMap<u64, Vec<Member<'a>>>,
        target: u64,
        lookup: &dyn Fn(u64) -> Option<Member<'a>>,
    ) -> Vec<Member<'a>> {
        let p = self.options.population_size;
        let mut valid = 0;
        while valid < self.survivors.len() && (valid as u64) < target {
            let count = by_generation.get(&(valid as u64)).map_or(0, Vec::len);
            if self.survivors[valid].complete_in_generation != count {
                break;
            }
            valid += 1;
        }
        self.survivors.truncate(valid);
        let mut current: Vec<Member<'a>> = match self.survivors.last() {
            Some(s) => s.numbers.iter().filter_map(|&n| lookup(n)).collect(),
            None => Vec::new(),
        };
        for g in valid as u64..target {
            let fresh = by_generation.get(&g).map(|v| v.as_slice()).unwrap_or(&[]);
            let mut pool: Vec<Member<'a>> = std::mem::take(&mut current);
            for m in fresh {
                if !pool.iter().any(|q| q.trial.number == m.trial.number) {
                    pool.push(Member {
                        trial: m.trial,
                        values: m.values.clone(),
                        violation: m.violation,
                    });
                }
            }
            let keep = select_survivors(&pool, p);
            let mut keep_flags = vec![false; pool.len()];
            for i in keep {
                keep_flags[i] = true;
            }
            current = pool
                .into_iter()
                .zip(keep_flags)
                .filter_map(|(m, k)| k.then_some(m))
                .collect();
            current.sort_by_key(|m| m.trial.number);
            self.survivors.push(Survivors {
                complete_in_generation: fresh.len(),
                numbers: current.iter().map(|m| m.trial.number).collect(),
            });
        }
        current
    }
}

/// Indices of the best `k` members: whole fronts while they fit, then the
/// most crowded-apart members of the next front (ties by trial number).
fn select_survivors(pool: &[Member<'_>], k: usize) -> Vec<usize> {
    if pool.len() <= k {
        return (0..pool.len()).collect();
    }
    let (points, viol) = points_of(pool);
    let fronts = non_dominated_sort(&points, viol.as_deref());
    let mut out = Vec::with_capacity(k);
    for front in fronts {
        if out.len() + front.len() <= k {
            out.extend(&front);
            if out.len() == k {
                break;
            }
            continue;
        }
        let cd = crowding_distance(&points, &front);
        let mut order: Vec<usize> = (0..front.len()).collect();
        order.sort_by(|&a, &b| {
            cd[b].total_cmp(&cd[a]).then(
                pool[front[a]]
                    .trial
                    .number
                    .cmp(&pool[front[b]].trial.number),
            )
        });
        let need = k - out.len();
        out.extend(order[..need].iter().map(|&j| front[j]));
        break;
    }
    out
}

fn points_of(pool: &[Member<'_>]) -> (Vec<Vec<f64>>, Option<Vec<f64>>) {
    let points: Vec<Vec<f64>> = pool.iter().map(|m| m.values.clone()).collect();
    let constrained = pool.iter().any(|m| m.violation > 0.0);
    let viol = constrained.then(|| pool.iter().map(|m| m.violation).collect());
    (points, viol)
}

/// Rank (front index) and crowding distance of every member.
fn rank_and_crowding(pool: &[Member<'_>]) -> (Vec<usize>, Vec<f64>) {
    let (points, viol) = points_of(pool);
    let fronts = non_dominated_sort(&points, viol.as_deref());
    let mut rank = vec![0; pool.len()];
    let mut crowd = vec![0.0; pool.len()];
    for (r, front) in fronts.iter().enumerate() {
        let cd = crowding_distance(&points, front);
        for (j, &i) in front.iter().enumerate() {
            rank[i] = r;
            crowd[i] = cd[j];
        }
    }
    (rank, crowd)
}

/// Binary tournament: lower rank wins, then larger crowding distance, then
/// the first drawn.
fn tournament<R: Rng + ?Sized>(rng: &mut R, rank: &[usize], crowd: &[f64]) -> usize {
    let n = rank.len();
    let a = rng.random_range(0..n);
    let b = rng.random_range(0..n);
    if rank[b] < rank[a] || (rank[b] == rank[a] && crowd[b] > crowd[a]) {
        b
    } else {
        a
    }
}

/// Simulated binary crossover of `y1`, `y2` in `[0, 1]` (bounded form of
/// Deb & Agrawal 1995, as in Deb's NSGA-II code): two children, in order.
pub fn sbx<R: Rng + ?Sized>(rng: &mut R, x1: f64, x2: f64, eta: f64) -> (f64, f64) {
    let (y1, y2) = if x1 <= x2 { (x1, x2) } else { (x2, x1) };
    if y2 - y1 <= 1e-14 {
        return (x1, x2);
    }
    let u: f64 = rng.random();
    let spread = |beta: f64| {
        let alpha = 2.0 - beta.powf(-(eta + 1.0));
        if u <= 1.0 / alpha {
            (u * alpha).powf(1.0 / (eta + 1.0))
        } else {
            (1.0 / (2.0 - u * alpha)).powf(1.0 / (eta + 1.0))
        }
    };
    let bq1 = spread(1.0 + 2.0 * y1 / (y2 - y1));
    let c1 = 0.5 * ((y1 + y2) - bq1 * (y2 - y1));
    let bq2 = spread(1.0 + 2.0 * (1.0 - y2) / (y2 - y1));
    let c2 = 0.5 * ((y1 + y2) + bq2 * (y2 - y1));
    (c1.clamp(0.0, 1.0), c2.clamp(0.0, 1.0))
}

/// Bounded polynomial mutation of `x` in `[0, 1]` (Deb & Goyal 1996, the
/// variant in Deb's NSGA-II code).
pub fn polynomial_mutation<R: Rng + ?Sized>(rng: &mut R, x: f64, eta: f64) -> f64 {
    let u: f64 = rng.random();
    let pow = 1.0 / (eta + 1.0);
    let dq = if u < 0.5 {
        let xy = 1.0 - x;
        let val = 2.0 * u + (1.0 - 2.0 * u) * xy.powf(eta + 1.0);
        val.powf(pow) - 1.0
    } else {
        let xy = x;
        let val = 2.0 * (1.0 - u) + 2.0 * (u - 0.5) * xy.powf(eta + 1.0);
        1.0 - val.powf(pow)
    };
    (x + dq).clamp(0.0, 1.0)
}

fn generation_of(t: &Trial) -> u64 {
    t.attrs
        .get(GENERATION_ATTR)
        .and_then(|v| v.as_u64())
        .unwrap_or(0)
}

impl Sampler for Nsga2Sampler {
    fn name(&self) -> &str {
        "nsga2"
    }

    fn propose(&mut self, study: &StudyView<'_>, number: u64) -> Result<Proposal, SamplerError> {
        let space = study.space;
        let objectives = study.objectives;
        if objectives.is_empty() {
            return Err(SamplerError::Unsupported(
                "nsga2 needs at least one objective".into(),
            ));
        }
        if self
            .key
            .as_ref()
            .is_none_or(|(s, o)| s != space || o != objectives)
        {
            self.key = Some((space.clone(), objectives.clone()));
            self.survivors.clear();
        }
        let member = |t: &'_ Trial| -> Option<(Vec<f64>, f64)> {
            if t.state != TrialState::Complete || t.number == number {
                return None;
            }
            Some((t.minimised(objectives)?, objectives.violation(&t.values)))
        };
        let mut by_generation: BTreeMap<u64, Vec<Member<'_>>> = BTreeMap::new();
        for t in study.trials {
            if let Some((values, violation)) = member(t) {
                by_generation
                    .entry(generation_of(t))
                    .or_default()
                    .push(Member {
                        trial: t,
                        values,
                        violation,
                    });
            }
        }
        let p = self.options.population_size;
        // Trials of each generation proposed so far: the COMPLETE ones and
        // those in flight (RUNNING or WAITING with parameters, any
        // worker's). Counting only COMPLETE ones, parallel workers kept
        // proposing for a generation until its stragglers came back, up to
        // `population_size + workers - 1` trials per generation.
        let mut proposed: BTreeMap<u64, usize> = by_generation
            .iter()
            .map(|(&g, members)| (g, members.len()))
            .collect();
        for t in study.trials {
            let in_flight = matches!(t.state, TrialState::Running | TrialState::Waiting);
            if in_flight && t.number != number && !t.params.is_empty() {
                *proposed.entry(generation_of(t)).or_default() += 1;
            }
        }
        let mut generation = 0u64;
        while proposed.get(&generation).copied().unwrap_or(0) >= p {
            generation += 1;
        }
        // Nothing to breed from while every earlier trial is still in
        // flight (more workers than `population_size`): more of generation 0.
        if by_generation.range(..generation).next().is_none() {
            generation = 0;
        }
        let mut attrs = serde_json::Map::new();
        attrs.insert(GENERATION_ATTR.into(), json!(generation));
        if generation == 0 {
            let u = SobolSampler::point(study.seed, number, space.len());
            return Ok(Proposal {
                params: space.from_unit(&u),
                attrs,
            });
        }
        let trials = study.trials;
        let lookup = |n: u64| -> Option<Member<'_>> {
            let i = trials.binary_search_by_key(&n, |t| t.number).ok()?;
            let t = &trials[i];
            let (values, violation) = member(t)?;
            Some(Member {
                trial: t,
                values,
                violation,
            })
        };
        let parents = self.parents(&by_generation, generation, &lookup);
        let (rank, crowd) = rank_and_crowding(&parents);
        let mut rng = trial_rng(study.seed, number, 3);
        let a = tournament(&mut rng, &rank, &crowd);
        let mut b = tournament(&mut rng, &rank, &crowd);
        for _ in 0..4 {
            if b != a || parents.len() < 2 {
                break;
            }
            b = tournament(&mut rng, &rank, &crowd);
        }
        let ua = space.to_unit(&parents[a].trial.params);
        let ub = space.to_unit(&parents[b].trial.params);
        let o = &self.options;
        let cross = rng.random::<f64>() < o.crossover_prob;
        let n_params = space.len().max(1);
        let pm = o.mutation_prob.unwrap_or(1.0 / n_params as f64);
        let mut child: Vec<Option<f64>> = Vec::with_capacity(space.len());
        for (k, param) in space.params().iter().enumerate() {
            let categorical = param.distribution.is_categorical();
            let x = match (ua[k], ub[k]) {
                (Some(x1), Some(x2)) if cross => {
                    if categorical || o.crossover == Crossover::Uniform {
                        Some(if rng.random::<bool>() { x1 } else { x2 })
                    } else if rng.random::<bool>() {
                        let (c1, c2) = sbx(&mut rng, x1, x2, o.eta_c);
                        Some(if rng.random::<bool>() { c1 } else { c2 })
                    } else {
                        Some(x1)
                    }
                }
                (Some(x1), _) => Some(x1),
                (None, Some(x2)) => Some(x2),
                (None, None) => None,
            };
            let x = x.map(|x| {
                if rng.random::<f64>() < pm {
                    if categorical || o.mutation == Mutation::Uniform {
                        rng.random::<f64>()
                    } else {
                        polynomial_mutation(&mut rng, x, o.eta_m)
                    }
                } else {
                    x
                }
            });
            child.push(x);
        }
        let params = space.sample_with(|i, p, _| {
            let u = child[i].unwrap_or_else(|| rng.random::<f64>());
            p.distribution.from_unit(u)
        });
        attrs.insert(
            PARENTS_ATTR.into(),
            json!([parents[a].trial.number, parents[b].trial.number]),
        );
        Ok(Proposal { params, attrs })
    }
}

#[cfg(test)]
mod tests;
