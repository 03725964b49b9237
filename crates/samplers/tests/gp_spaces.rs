//! The GP sampler on awkward studies: mixed int/log/step/categorical and
//! conditional parameters, constraints, pending trials, one and four
//! objectives. Proposals must always be legal configurations.

use paretosearch_core::{
    Condition, Constraint, Direction, Distribution, Objective, Objectives, Param, ParamValue,
    Params, SearchSpace, Trial, TrialState,
};
use paretosearch_samplers::gp::{GpOptions, GpSampler};
use paretosearch_samplers::{Sampler, StudyView};

fn p(name: &str, distribution: Distribution) -> Param {
    Param {
        name: name.into(),
        distribution,
        when: vec![],
        monotone: None,
    }
}

fn mixed_space() -> SearchSpace {
    let mut child = p(
        "momentum",
        Distribution::Float {
            low: 0.0,
            high: 0.99,
            log: false,
            step: None,
        },
    );
    child.when = vec![Condition {
        parent: "opt".into(),
        values: vec![ParamValue::Str("sgd".into())],
    }];
    SearchSpace::new(vec![
        p(
            "lr",
            Distribution::Float {
                low: 1e-5,
                high: 1.0,
                log: true,
                step: None,
            },
        ),
        p(
            "layers",
            Distribution::Int {
                low: 1,
                high: 8,
                log: false,
                step: 1,
            },
        ),
        p(
            "width",
            Distribution::Int {
                low: 16,
                high: 4096,
                log: true,
                step: 1,
            },
        ),
        p(
            "batch",
            Distribution::Int {
                low: 16,
                high: 512,
                log: false,
                step: 16,
            },
        ),
        p(
            "dropout",
            Distribution::Float {
                low: 0.0,
                high: 0.5,
                log: false,
                step: Some(0.05),
            },
        ),
        p(
            "seed_like",
            Distribution::Int {
                low: 0,
                high: 100_000,
                log: false,
                step: 1,
            },
        ),
        p(
            "opt",
            Distribution::Categorical {
                choices: vec![
                    ParamValue::Str("adam".into()),
                    ParamValue::Str("sgd".into()),
                    ParamValue::Str("lion".into()),
                ],
            },
        ),
        child,
    ])
    .unwrap()
}

fn objectives(m: usize, constrained: bool) -> Objectives {
    Objectives(
        (0..m)
            .map(|j| Objective {
                name: format!("f{j}"),
                direction: if j % 2 == 0 {
                    Direction::Minimize
                } else {
                    Direction::Maximize
                },
                constraint: (constrained && j == 0).then_some(Constraint {
                    min: None,
                    max: Some(0.6),
                }),
                cheap: false,
            })
            .collect(),
    )
}

fn num(params: &Params, k: &str) -> f64 {
    match &params[k] {
        ParamValue::Str(s) => s.len() as f64,
        v => v.as_f64().unwrap(),
    }
}

/// A smooth-ish synthetic response of the mixed space.
fn evaluate(params: &Params, m: usize) -> Vec<f64> {
    let a = (num(params, "lr").log10() + 2.5).abs() / 3.0;
    let b = num(params, "layers") / 8.0;
    let c = num(params, "width").ln() / 4096f64.ln();
    let d = num(params, "dropout") + num(params, "batch") / 512.0 + num(params, "opt") / 10.0;
    (0..m)
        .map(|j| match j % 4 {
            0 => a + 0.3 * d,
            1 => b + c,
            2 => (1.0 - b) + a * c,
            _ => d - c,
        })
        .collect()
}

fn drive(m: usize, constrained: bool, n: u64, pending_every: u64) -> Vec<Trial> {
    let space = mixed_space();
    let objs = objectives(m, constrained);
    let mut sampler = GpSampler::new(GpOptions {
        n_startup_trials: 6,
        n_candidates: 128,
        n_local_search: 3,
        ..GpOptions::default()
    });
    let mut trials: Vec<Trial> = Vec::new();
    for number in 0..n {
        // The trial being proposed is already RUNNING without parameters,
        // as the runner stores it.
        let mut all = trials.clone();
        all.push(Trial::new(number, TrialState::Running));
        let view = StudyView {
            space: &space,
            objectives: &objs,
            trials: &all,
            seed: 11,
        };
        let prop = sampler.propose(&view, number).unwrap();
        space
            .validate(&prop.params)
            .unwrap_or_else(|e| panic!("trial {number}: {:?} invalid: {e}", prop.params));
        let mut t = Trial::new(number, TrialState::Complete);
        t.attrs = prop.attrs;
        let f = evaluate(&prop.params, m);
        t.params = prop.params;
        if pending_every > 0 && number % pending_every == 0 {
            t.state = TrialState::Running;
        } else if number % 7 == 3 {
            t.state = TrialState::Fail;
        } else if number % 11 == 5 {
            t.state = TrialState::Pruned;
        } else {
            t.values = objs
                .iter()
                .zip(&f)
                .map(|(o, v)| (o.name.clone(), *v))
                .collect();
        }
        trials.push(t);
    }
    trials
}

fn model_trials(trials: &[Trial]) -> usize {
    trials
        .iter()
        .filter(|t| t.attrs.get("gp").and_then(|g| g.get("raw")).is_some())
        .count()
}

#[test]
fn mixed_space_two_objectives_with_failures_and_pending() {
    let t = drive(2, false, 24, 5);
    assert!(model_trials(&t) > 5);
}

#[test]
fn single_objective_with_constraint() {
    let t = drive(1, true, 22, 0);
    assert!(model_trials(&t) > 5);
}

#[test]
fn three_objectives() {
    let t = drive(3, false, 20, 0);
    assert!(model_trials(&t) > 5);
}

#[test]
fn four_objectives_use_parego() {
    let t = drive(4, true, 20, 0);
    let parego = t
        .iter()
        .filter(|t| t.attrs.get("gp").and_then(|g| g.get("phase")) == Some(&"parego".into()))
        .count();
    assert!(parego > 5);
}

#[test]
fn single_objective_gp_finds_a_quadratic_minimum() {
    // 1-D log-EI on (lr − 1e-2)² in log space: the best trial after 25
    // proposals is close to the optimum.
    let space = SearchSpace::new(vec![p(
        "lr",
        Distribution::Float {
            low: 1e-5,
            high: 1.0,
            log: true,
            step: None,
        },
    )])
    .unwrap();
    let objs = objectives(1, false);
    let mut sampler = GpSampler::new(GpOptions {
        n_startup_trials: 4,
        ..GpOptions::default()
    });
    let mut trials: Vec<Trial> = Vec::new();
    for number in 0..25 {
        let view = StudyView {
            space: &space,
            objectives: &objs,
            trials: &trials,
            seed: 2,
        };
        let prop = sampler.propose(&view, number).unwrap();
        let x = prop.params["lr"].as_f64().unwrap().log10();
        let mut t = Trial::new(number, TrialState::Complete);
        t.params = prop.params;
        t.attrs = prop.attrs;
        t.values = [("f0".to_string(), (x + 2.0).powi(2))].into();
        trials.push(t);
    }
    let best = trials
        .iter()
        .map(|t| t.values["f0"])
        .fold(f64::INFINITY, f64::min);
    assert!(best < 1e-3, "best {best}");
}
