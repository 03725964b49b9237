//! Statistical smoke tests of the TPE sampler with fixed seeds: it must
//! beat random search on ZDT1, always propose legal configurations of a
//! mixed conditional space, and be deterministic.

use paretosearch_core::pareto::hypervolume;
use paretosearch_core::{
    Condition, Direction, Distribution, Objective, Objectives, Param, ParamValue, Params,
    SearchSpace, Trial, TrialState,
};
use paretosearch_samplers::tpe::{TpeOptions, TpeSampler};
use paretosearch_samplers::{RandomSampler, Sampler, StudyView};

fn float(name: &str) -> Param {
    Param {
        name: name.into(),
        distribution: Distribution::Float {
            low: 0.0,
            high: 1.0,
            log: false,
            step: None,
        },
        when: vec![],
        monotone: None,
    }
}

fn minimize(names: &[&str]) -> Objectives {
    Objectives(
        names
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

/// ZDT1 with 10 variables.
fn zdt1(p: &Params) -> Vec<(String, f64)> {
    let x: Vec<f64> = (0..10)
        .map(|i| p[&format!("x{i}")].as_f64().unwrap())
        .collect();
    let f1 = x[0];
    let g = 1.0 + 9.0 * x[1..].iter().sum::<f64>() / 9.0;
    let f2 = g * (1.0 - (f1 / g).sqrt());
    vec![("f1".into(), f1), ("f2".into(), f2)]
}

/// Run `n` sequential trials; returns the trials.
fn run(
    sampler: &mut dyn Sampler,
    space: &SearchSpace,
    objectives: &Objectives,
    seed: u64,
    n: u64,
    eval: &dyn Fn(&Params) -> Vec<(String, f64)>,
) -> Vec<Trial> {
    let mut trials: Vec<Trial> = Vec::new();
    for number in 0..n {
        let view = StudyView {
            space,
            objectives,
            trials: &trials,
            seed,
        };
        let p = sampler.propose(&view, number).unwrap();
        space
            .validate(&p.params)
            .unwrap_or_else(|e| panic!("trial {number}: {e}"));
        let mut t = Trial::new(number, TrialState::Complete);
        t.values = eval(&p.params).into_iter().collect();
        t.params = p.params;
        t.attrs = p.attrs;
        trials.push(t);
    }
    trials
}

fn hv(trials: &[Trial], objectives: &Objectives, reference: &[f64]) -> f64 {
    let pts: Vec<Vec<f64>> = trials
        .iter()
        .filter_map(|t| t.minimised(objectives))
        .collect();
    hypervolume(&pts, reference)
}

#[test]
fn tpe_beats_random_on_zdt1_at_100_trials() {
    let space = SearchSpace::new((0..10).map(|i| float(&format!("x{i}"))).collect()).unwrap();
    let objectives = minimize(&["f1", "f2"]);
    let reference = [1.1, 11.0];
    let mut wins = 0;
    for seed in 0..3 {
        let tpe = run(
            &mut TpeSampler::new(TpeOptions::default()),
            &space,
            &objectives,
            seed,
            100,
            &zdt1,
        );
        let rnd = run(&mut RandomSampler, &space, &objectives, seed, 100, &zdt1);
        let (a, b) = (
            hv(&tpe, &objectives, &reference),
            hv(&rnd, &objectives, &reference),
        );
        eprintln!("seed {seed}: tpe {a:.3} random {b:.3}");
        if a > b {
            wins += 1;
        }
    }
    assert_eq!(wins, 3);
}

fn mixed_space() -> SearchSpace {
    let when = |parent: &str, v: &str| {
        vec![Condition {
            parent: parent.into(),
            values: vec![ParamValue::Str(v.into())],
        }]
    };
    SearchSpace::new(vec![
        Param {
            name: "opt".into(),
            distribution: Distribution::Categorical {
                choices: vec![
                    ParamValue::Str("sgd".into()),
                    ParamValue::Str("adam".into()),
                ],
            },
            when: vec![],
            monotone: None,
        },
        Param {
            name: "lr".into(),
            distribution: Distribution::Float {
                low: 1e-5,
                high: 1e-1,
                log: true,
                step: None,
            },
            when: vec![],
            monotone: None,
        },
        Param {
            name: "momentum".into(),
            distribution: Distribution::Float {
                low: 0.0,
                high: 0.99,
                log: false,
                step: Some(0.01),
            },
            when: when("opt", "sgd"),
            monotone: None,
        },
        Param {
            name: "beta2".into(),
            distribution: Distribution::Float {
                low: 0.9,
                high: 0.9999,
                log: false,
                step: None,
            },
            when: when("opt", "adam"),
            monotone: None,
        },
        Param {
            name: "width".into(),
            distribution: Distribution::Int {
                low: 16,
                high: 1024,
                log: false,
                step: 16,
            },
            when: vec![],
            monotone: None,
        },
        Param {
            name: "batch".into(),
            distribution: Distribution::Int {
                low: 1,
                high: 512,
                log: true,
                step: 1,
            },
            when: vec![],
            monotone: None,
        },
        Param {
            name: "amp".into(),
            distribution: Distribution::Categorical {
                choices: vec![ParamValue::Bool(false), ParamValue::Bool(true)],
            },
            when: vec![],
            monotone: None,
        },
    ])
    .unwrap()
}

fn mixed_eval(p: &Params) -> Vec<(String, f64)> {
    let lr = p["lr"].as_f64().unwrap().log10();
    let width = p["width"].as_f64().unwrap();
    let batch = p["batch"].as_f64().unwrap();
    let branch = match p.get("momentum") {
        Some(m) => (m.as_f64().unwrap() - 0.9).abs(),
        None => (p["beta2"].as_f64().unwrap() - 0.999).abs() * 10.0,
    };
    let amp = if p["amp"] == ParamValue::Bool(true) {
        0.5
    } else {
        1.0
    };
    vec![
        ("err".into(), (lr + 3.0).powi(2) + branch + 100.0 / width),
        ("cost".into(), amp * width * (1.0 + 64.0 / batch)),
    ]
}

#[test]
fn proposals_are_legal_in_a_mixed_conditional_space_with_every_mode() {
    let space = mixed_space();
    let objectives = minimize(&["err", "cost"]);
    for (multivariate, group) in [(true, true), (true, false), (false, false)] {
        let mut s = TpeSampler::new(TpeOptions {
            multivariate: Some(multivariate),
            group,
            ..TpeOptions::default()
        });
        // `run` validates every proposal against the space.
        let trials = run(&mut s, &space, &objectives, 3, 60, &mixed_eval);
        let sgd = trials
            .iter()
            .filter(|t| t.params.contains_key("momentum"))
            .count();
        assert!(sgd > 0 && sgd < 60, "both branches explored ({sgd} sgd)");
    }
}

#[test]
fn same_seed_and_history_give_the_same_proposals() {
    let space = mixed_space();
    let objectives = minimize(&["err", "cost"]);
    let a = run(
        &mut TpeSampler::new(TpeOptions::default()),
        &space,
        &objectives,
        11,
        30,
        &mixed_eval,
    );
    let b = run(
        &mut TpeSampler::new(TpeOptions::default()),
        &space,
        &objectives,
        11,
        30,
        &mixed_eval,
    );
    assert_eq!(a, b);
    let c = run(
        &mut TpeSampler::new(TpeOptions::default()),
        &space,
        &objectives,
        12,
        30,
        &mixed_eval,
    );
    assert_ne!(a, c);
}
