//! The sampler benchmark suite: problems of every kind users search, each
//! tagged with its class, for `paretosearch bench-suite`.
//!
//! The analytic ZDT/DTLZ problems measure one thing well (continuous,
//! unconstrained, exact objectives) and nothing else. What ML engineers
//! search is mostly something else: integers and log-scaled rates beside a
//! categorical choice, parameters that exist only for one model family,
//! spaces of operation choices, objectives measured with noise, four or
//! more objectives, and feasibility bounds. A sampler (and `auto`'s rule
//! for picking one) is only right by default if it is right on all of
//! them, so each class has problems here:
//!
//! | class | problems |
//! |---|---|
//! | continuous | `zdt1`, `zdt3` (disconnected front), `dtlz2` (3 objectives) |
//! | mixed | `mixed` (ints, log floats and ints, a categorical interacting with a float) |
//! | conditional | `families`: three model families, each with parameters of its own |
//! | categorical | `cells` (six edges × five operations), `arch` (eight choices of 3–6 options), `digits` (an MLP grid trained on digits by our torch runner, recorded with three seeds) |
//! | noisy | `zdt1-noisy`, `mixed-noisy` (Gaussian noise, σ = 0.05, on every objective) |
//! | many objectives | `dtlz2-5` (5 objectives, 8 variables) |
//! | constrained | `zdt1-memory`: a third objective bounded above, which moves the front |
//!
//! A problem answers with two vectors: what a runner would *observe* (the
//! values the sampler is told, noisy where the problem is) and the *truth*
//! (the noiseless values). A study is scored by the truth of the trials it
//! would report as its Pareto set (non-dominated by observed values among
//! those observed feasible, then kept only where truly feasible), so a
//! sampler that chases lucky noise is not rewarded for it.
//!
//! Every objective is minimised. Each problem carries a fixed reference
//! point for the hypervolume.

use paretosearch_core::{
    Constraint, Direction, Objective, Objectives, ParamValue, Params, SearchSpace,
};
use rand::SeedableRng;
use rand_distr::{Distribution as _, Normal};

use crate::problems::{self, MixedProblem};

mod digits;
mod synthetic;

pub use synthetic::{arch, cells, ARCH_CHOICES, OPS};

/// What kind of search a problem stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Class {
    /// Floats on the unit cube, exact objectives.
    Continuous,
    /// Ints, log-scaled floats and ints, and a categorical choice.
    Mixed,
    /// Parameters active only for some values of a categorical parent.
    Conditional,
    /// Spaces of categorical choices only (cells, architectures).
    Categorical,
    /// Objectives measured with noise.
    Noisy,
    /// Four or more objectives.
    ManyObjectives,
    /// Objectives with feasibility bounds.
    Constrained,
}

impl Class {
    /// Every class, in table order.
    pub const ALL: [Class; 7] = [
        Class::Continuous,
        Class::Mixed,
        Class::Conditional,
        Class::Categorical,
        Class::Noisy,
        Class::ManyObjectives,
        Class::Constrained,
    ];

    /// Its name in tables.
    pub fn name(self) -> &'static str {
        match self {
            Class::Continuous => "continuous",
            Class::Mixed => "mixed",
            Class::Conditional => "conditional",
            Class::Categorical => "categorical",
            Class::Noisy => "noisy",
            Class::ManyObjectives => "many-objectives",
            Class::Constrained => "constrained",
        }
    }
}

/// How a problem is evaluated.
#[derive(Clone, Copy, Debug)]
enum Kind {
    /// A unit-cube problem of [`problems`].
    Analytic(&'static str),
    /// DTLZ2 with this many objectives and `m + 3` variables.
    Dtlz2(usize),
    /// [`MixedProblem`].
    Mixed,
    /// One of [`synthetic`]'s problems.
    Synthetic(synthetic::Which),
    /// The recorded digits table ([`digits`]).
    Digits,
}

/// One problem of the suite.
#[derive(Clone, Copy, Debug)]
pub struct SuiteProblem {
    /// Its name in tables and on the command line.
    pub name: &'static str,
    /// Its class.
    pub class: Class,
    kind: Kind,
    /// Standard deviation of the Gaussian noise added to every observed
    /// objective (0: exact).
    pub noise: f64,
}

const fn problem(name: &'static str, class: Class, kind: Kind, noise: f64) -> SuiteProblem {
    SuiteProblem {
        name,
        class,
        kind,
        noise,
    }
}

const SUITE: &[SuiteProblem] = &[
    problem("zdt1", Class::Continuous, Kind::Analytic("zdt1"), 0.0),
    problem("zdt3", Class::Continuous, Kind::Analytic("zdt3"), 0.0),
    problem("dtlz2", Class::Continuous, Kind::Analytic("dtlz2"), 0.0),
    problem("mixed", Class::Mixed, Kind::Mixed, 0.0),
    problem(
        "families",
        Class::Conditional,
        Kind::Synthetic(synthetic::Which::Families),
        0.0,
    ),
    problem(
        "cells",
        Class::Categorical,
        Kind::Synthetic(synthetic::Which::Cells),
        0.0,
    ),
    problem(
        "arch",
        Class::Categorical,
        Kind::Synthetic(synthetic::Which::Arch),
        0.0,
    ),
    problem("digits", Class::Categorical, Kind::Digits, 0.0),
    problem("zdt1-noisy", Class::Noisy, Kind::Analytic("zdt1"), 0.05),
    problem("mixed-noisy", Class::Noisy, Kind::Mixed, 0.05),
    problem("dtlz2-5", Class::ManyObjectives, Kind::Dtlz2(5), 0.0),
    problem(
        "zdt1-memory",
        Class::Constrained,
        Kind::Synthetic(synthetic::Which::Memory),
        0.0,
    ),
];

/// Every problem of the suite, in table order.
pub fn all() -> &'static [SuiteProblem] {
    SUITE
}

/// The suite's problem called `name`.
pub fn get(name: &str) -> Option<SuiteProblem> {
    SUITE.iter().find(|p| p.name == name).copied()
}

/// A configuration's values: what a runner observes and the noiseless
/// truth, both in objective order (every objective minimised).
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    /// What the sampler is told.
    pub observed: Vec<f64>,
    /// The noiseless values.
    pub truth: Vec<f64>,
}

fn minimised(names: &[&str]) -> Vec<Objective> {
    names
        .iter()
        .map(|n| Objective {
            name: (*n).to_string(),
            direction: Direction::Minimize,
            constraint: None,
            cheap: false,
        })
        .collect()
}

fn unit_cube(name: &str) -> problems::Problem {
    problems::problem(name).expect("the suite names built-in problems")
}

impl SuiteProblem {
    /// The search space.
    pub fn search_space(&self) -> SearchSpace {
        match self.kind {
            Kind::Analytic(p) => unit_cube(p).search_space(),
            Kind::Dtlz2(m) => {
                let mut b = SearchSpace::builder();
                for i in 0..m + 3 {
                    b = b.float(format!("x{i}"), 0.0, 1.0);
                }
                b.build().expect("unit-cube spaces are valid")
            }
            Kind::Mixed => MixedProblem.search_space(),
            Kind::Synthetic(w) => w.search_space(),
            Kind::Digits => digits::search_space(),
        }
    }

    /// Whether what a trial observes differs from the truth (Gaussian
    /// noise, or the recorded training seeds of `digits`).
    pub fn is_noisy(&self) -> bool {
        self.noise > 0.0 || matches!(self.kind, Kind::Digits)
    }

    /// The objectives, all minimised, with their feasibility bounds.
    pub fn objectives(&self) -> Objectives {
        match self.kind {
            Kind::Analytic(p) => unit_cube(p).objectives(),
            Kind::Dtlz2(m) => {
                let names: Vec<String> = (1..=m).map(|i| format!("f{i}")).collect();
                Objectives(minimised(
                    &names.iter().map(String::as_str).collect::<Vec<_>>(),
                ))
            }
            Kind::Mixed => MixedProblem.objectives(),
            Kind::Digits => Objectives(minimised(&digits::OBJECTIVES)),
            Kind::Synthetic(w) => {
                let mut o = minimised(w.objective_names());
                for (obj, max) in o.iter_mut().zip(w.bounds()) {
                    obj.constraint = max.map(|max| Constraint {
                        min: None,
                        max: Some(max),
                    });
                }
                Objectives(o)
            }
        }
    }

    /// The hypervolume's reference point (objective order).
    pub fn reference(&self) -> Vec<f64> {
        match self.kind {
            Kind::Analytic("dtlz2") => vec![1.1; 3],
            Kind::Analytic(_) | Kind::Mixed => vec![1.1, 1.1],
            Kind::Dtlz2(m) => vec![1.1; m],
            Kind::Synthetic(w) => w.reference(),
            Kind::Digits => digits::reference(),
        }
    }

    /// Evaluate a configuration the space produced. `noise_seed` seeds the
    /// observation noise (one per trial, so a study is reproducible).
    ///
    /// # Panics
    ///
    /// If `params` does not come from [`Self::search_space`].
    pub fn evaluate(&self, params: &Params, noise_seed: u64) -> Evaluation {
        if let Kind::Digits = self.kind {
            let (observed, truth) = digits::evaluate(params, noise_seed);
            return Evaluation { observed, truth };
        }
        let truth = match self.kind {
            Kind::Analytic(p) => {
                let p = unit_cube(p);
                p.evaluate(&unit_values(params, p.n_vars))
            }
            Kind::Dtlz2(m) => dtlz2(&unit_values(params, m + 3), m),
            Kind::Mixed => {
                let v = MixedProblem
                    .evaluate_params(params)
                    .expect("parameters from the mixed space");
                vec![v["f1"], v["f2"]]
            }
            Kind::Synthetic(w) => w.evaluate(params),
            Kind::Digits => unreachable!("evaluated above"),
        };
        let observed = if self.noise > 0.0 {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(noise_seed);
            let normal = Normal::new(0.0, self.noise).expect("a positive deviation");
            truth.iter().map(|v| v + normal.sample(&mut rng)).collect()
        } else {
            truth.clone()
        };
        Evaluation { observed, truth }
    }
}

/// `x0 .. x{n-1}` as floats.
fn unit_values(params: &Params, n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| {
            params
                .get(&format!("x{i}"))
                .and_then(ParamValue::as_f64)
                .expect("a unit-cube variable")
        })
        .collect()
}

/// DTLZ2 with `m` objectives on `x` (the last `x.len() - m + 1` are the
/// distance variables, optimal at 0.5).
pub fn dtlz2(x: &[f64], m: usize) -> Vec<f64> {
    let g: f64 = x[m - 1..].iter().map(|v| (v - 0.5).powi(2)).sum();
    (0..m)
        .map(|i| {
            let mut v = 1.0 + g;
            for xj in &x[..m - 1 - i] {
                v *= (xj * std::f64::consts::FRAC_PI_2).cos();
            }
            if i > 0 {
                v *= (x[m - 1 - i] * std::f64::consts::FRAC_PI_2).sin();
            }
            v
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn centre(space: &SearchSpace) -> Params {
        space
            .params()
            .iter()
            .map(|p| {
                let v = match &p.distribution {
                    paretosearch_core::Distribution::Float { low, high, .. } => {
                        ParamValue::Float((low + high) / 2.0)
                    }
                    paretosearch_core::Distribution::Int { low, .. } => ParamValue::Int(*low),
                    paretosearch_core::Distribution::Categorical { choices } => choices[0].clone(),
                };
                (p.name.clone(), v)
            })
            .collect::<BTreeMap<_, _>>()
    }

    #[test]
    fn every_problem_evaluates_in_its_space_with_matching_shapes() {
        for p in all() {
            let space = p.search_space();
            let mut params = centre(&space);
            params.retain(|name, _| {
                let q = space.get(name).unwrap();
                q.when.iter().all(|c| {
                    c.values
                        .iter()
                        .any(|v| Some(v) == centre(&space).get(&c.parent))
                })
            });
            let e = p.evaluate(&params, 7);
            let m = p.objectives().len();
            assert_eq!(e.truth.len(), m, "{}", p.name);
            assert_eq!(e.observed.len(), m, "{}", p.name);
            assert_eq!(p.reference().len(), m, "{}", p.name);
            assert!(e.truth.iter().all(|v| v.is_finite()), "{}", p.name);
            if !p.is_noisy() {
                assert_eq!(e.observed, e.truth, "{}", p.name);
            } else {
                assert_ne!(e.observed, e.truth, "{}", p.name);
                assert_eq!(p.evaluate(&params, 7), e, "{}: seeded noise", p.name);
            }
        }
    }

    #[test]
    fn every_class_has_a_problem_and_names_are_unique() {
        for c in Class::ALL {
            assert!(all().iter().any(|p| p.class == c), "{c:?}");
        }
        let mut names: Vec<_> = all().iter().map(|p| p.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), all().len());
    }

    #[test]
    fn dtlz2_front_lies_on_the_unit_sphere() {
        let x = [0.3, 0.7, 0.1, 0.9, 0.5, 0.5, 0.5, 0.5];
        let f = dtlz2(&x, 5);
        let r: f64 = f.iter().map(|v| v * v).sum();
        assert!((r - 1.0).abs() < 1e-12, "{r}");
    }
}
