//! NSGA-II (Deb, Pratap, Agarwal & Meyarivan 2002) as a stateless sampler:
//! the population lives in the store, not in the sampler.
//!
//! ## Generations in trial attributes
//!
//! Every proposal carries `attrs.generation = g` (and the numbers of its two
//! parents under `nsga2:parents`). Generation `g` is *done* once the store
//! holds `population_size` COMPLETE trials of generation `g`; the current
//! generation is the first one that is not done, and workers keep proposing
//! for it rather than waiting for stragglers. Trials without the attribute
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
        let mut generation = 0u64;
        while by_generation.get(&generation).map_or(0, Vec::len) >= p {
            generation += 1;
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
mod tests {
    use super::*;
    use paretosearch_core::{Direction, Distribution, Objective, Param};
    use rand::SeedableRng;

    #[test]
    fn sbx_children_are_bounded_and_symmetric_about_the_parents() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        for _ in 0..2000 {
            let x1: f64 = rng.random();
            let x2: f64 = rng.random();
            let (c1, c2) = sbx(&mut rng, x1, x2, 15.0);
            assert!((0.0..=1.0).contains(&c1) && (0.0..=1.0).contains(&c2));
            assert!(c1 <= c2 + 1e-12);
        }
        // Far from the bounds the spread factors coincide: the children's
        // mean is the parents' mean.
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
        for _ in 0..200 {
            let (c1, c2) = sbx(&mut rng, 0.49, 0.51, 15.0);
            assert!(((c1 + c2) / 2.0 - 0.5).abs() < 1e-3, "{c1} {c2}");
        }
        // Equal parents are returned unchanged.
        assert_eq!(sbx(&mut rng, 0.3, 0.3, 15.0), (0.3, 0.3));
    }

    #[test]
    fn polynomial_mutation_is_bounded_and_mostly_small() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let mut small = 0;
        for _ in 0..2000 {
            let y = polynomial_mutation(&mut rng, 0.5, 20.0);
            assert!((0.0..=1.0).contains(&y));
            if (y - 0.5).abs() < 0.1 {
                small += 1;
            }
            let e = polynomial_mutation(&mut rng, 1.0, 20.0);
            assert!((0.0..=1.0).contains(&e));
        }
        // |dq| < 0.1 from x = 0.5 unless (2u)^(1/21) <= 0.9 or the mirror
        // case: probability 1 - 0.9^21 (up to a 0.5^21 term).
        let expect = 1.0 - 0.9f64.powi(21);
        assert!((small as f64 / 2000.0 - expect).abs() < 0.03, "{small}");
    }

    fn objs() -> Objectives {
        Objectives(
            ["f1", "f2"]
                .iter()
                .map(|n| Objective {
                    name: n.to_string(),
                    direction: Direction::Minimize,
                    constraint: None,
                    cheap: false,
                })
                .collect(),
        )
    }

    fn member(t: &Trial) -> Member<'_> {
        Member {
            trial: t,
            values: objs().minimised(&t.values).unwrap(),
            violation: 0.0,
        }
    }

    fn trial(number: u64, f1: f64, f2: f64) -> Trial {
        let mut t = Trial::new(number, TrialState::Complete);
        t.values = [("f1".to_string(), f1), ("f2".to_string(), f2)].into();
        t
    }

    #[test]
    fn survival_takes_fronts_then_least_crowded() {
        let ts = [
            trial(0, 0.0, 4.0),
            trial(1, 1.0, 3.0),
            trial(2, 1.1, 2.9),
            trial(3, 4.0, 0.0),
            trial(4, 2.0, 5.0), // front 1
        ];
        let pool: Vec<Member<'_>> = ts.iter().map(member).collect();
        let mut s = select_survivors(&pool, 3);
        s.sort_unstable();
        // Front 0 has 4 members; the boundary ones (0, 3) are infinitely
        // crowded-apart. By hand: 1 has (1.1 - 0)/4 + (4 - 2.9)/4 = 0.55,
        // 2 has (4 - 1)/4 + (3 - 0)/4 = 1.5 (its neighbour 3 is far away).
        assert_eq!(s, vec![0, 2, 3]);
        let mut s4 = select_survivors(&pool, 4);
        s4.sort_unstable();
        assert_eq!(s4, vec![0, 1, 2, 3]);
        let (rank, _) = rank_and_crowding(&pool);
        assert_eq!(rank, vec![0, 0, 0, 0, 1]);
    }

    #[test]
    fn constraint_domination_puts_infeasible_last() {
        let ts = [trial(0, 0.0, 0.0), trial(1, 5.0, 5.0), trial(2, 6.0, 6.0)];
        let mut pool: Vec<Member<'_>> = ts.iter().map(member).collect();
        pool[0].violation = 1.0;
        let s = select_survivors(&pool, 1);
        assert_eq!(s, vec![1]);
    }

    #[test]
    fn generations_advance_and_resume_identically() {
        let space = SearchSpace::new(vec![
            Param {
                name: "x".into(),
                distribution: Distribution::Float {
                    low: 0.0,
                    high: 1.0,
                    log: false,
                    step: None,
                },
                when: vec![],
                monotone: None,
            },
            Param {
                name: "k".into(),
                distribution: Distribution::Int {
                    low: 1,
                    high: 9,
                    log: false,
                    step: 2,
                },
                when: vec![],
                monotone: None,
            },
        ])
        .unwrap();
        let o = objs();
        let opts = Nsga2Options {
            population_size: 4,
            ..Default::default()
        };
        let mut warm = Nsga2Sampler::new(opts.clone());
        let mut trials: Vec<Trial> = Vec::new();
        let mut generations = Vec::new();
        for n in 0..20u64 {
            let view = StudyView {
                space: &space,
                objectives: &o,
                trials: &trials,
                seed: 5,
            };
            let p = warm.propose(&view, n).unwrap();
            let cold = Nsga2Sampler::new(opts.clone()).propose(&view, n).unwrap();
            assert_eq!(p, cold, "trial {n}: a fresh sampler must agree");
            space.validate(&p.params).unwrap();
            generations.push(p.attrs[GENERATION_ATTR].as_u64().unwrap());
            let x = p.params["x"].as_f64().unwrap();
            let k = p.params["k"].as_f64().unwrap();
            let mut t = trial(n, x, 1.0 - x + k / 10.0);
            t.params = p.params;
            t.attrs = p.attrs;
            trials.push(t);
        }
        assert_eq!(
            generations,
            [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4]
        );
        // A failed trial does not complete a generation.
        let mut f = Trial::new(20, TrialState::Fail);
        f.attrs.insert(GENERATION_ATTR.into(), json!(5));
        trials.push(f);
        let view = StudyView {
            space: &space,
            objectives: &o,
            trials: &trials,
            seed: 5,
        };
        let p = warm.propose(&view, 21).unwrap();
        assert_eq!(p.attrs[GENERATION_ATTR], json!(5));
        let parents = p.attrs[PARENTS_ATTR].as_array().unwrap();
        assert_eq!(parents.len(), 2);
    }

    #[test]
    fn options_are_checked() {
        let t: toml::Table =
            toml::from_str("population_size = 20\ncrossover = \"sbx\"\nmutation = \"uniform\"")
                .unwrap();
        let o = Nsga2Options::from_options(&t).unwrap();
        assert_eq!(o.population_size, 20);
        assert_eq!(o.crossover, Crossover::Sbx);
        assert_eq!(o.mutation, Mutation::Uniform);
        let d = Nsga2Options::default();
        assert_eq!(
            (d.crossover, d.mutation),
            (Crossover::Uniform, Mutation::Polynomial)
        );
        let bad: toml::Table = toml::from_str("populaton_size = 20").unwrap();
        assert!(Nsga2Options::from_options(&bad)
            .unwrap_err()
            .to_string()
            .contains("populaton_size"));
        let bad: toml::Table = toml::from_str("crossover_prob = 1.5").unwrap();
        assert!(Nsga2Options::from_options(&bad).is_err());
    }
}
