use super::*;
use paretosearch_core::{Condition, Direction, Distribution, Objective, Param};
use std::collections::BTreeMap;

fn float(name: &str, low: f64, high: f64) -> Param {
    Param {
        name: name.into(),
        distribution: Distribution::Float {
            low,
            high,
            log: false,
            step: None,
        },
        when: vec![],
        monotone: None,
    }
}

fn objectives(names: &[&str]) -> Objectives {
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

fn complete(number: u64, params: Params, values: &[(&str, f64)]) -> Trial {
    let mut t = Trial::new(number, TrialState::Complete);
    t.params = params;
    t.values = values
        .iter()
        .map(|(k, v)| (k.to_string(), *v))
        .collect::<BTreeMap<_, _>>();
    t
}

fn quadratic_history(space: &SearchSpace, n: u64) -> Vec<Trial> {
    (0..n)
        .map(|i| {
            let u = [(i as f64 * 0.618_034) % 1.0];
            let p = space.from_unit(&u);
            let x = p["x"].as_f64().unwrap();
            complete(i, p, &[("f", (x - 0.8).powi(2))])
        })
        .collect()
}

#[test]
fn startup_then_tpe_concentrates_near_the_optimum() {
    let space = SearchSpace::new(vec![float("x", 0.0, 1.0)]).unwrap();
    let objs = objectives(&["f"]);
    let trials = quadratic_history(&space, 40);
    let view = StudyView {
        space: &space,
        objectives: &objs,
        trials: &trials,
        seed: 1,
    };
    let mut s = TpeSampler::new(TpeOptions::default());
    let mut near = 0;
    for n in 40..80 {
        let p = s.propose(&view, n).unwrap();
        let x = p.params["x"].as_f64().unwrap();
        if (x - 0.8).abs() < 0.2 {
            near += 1;
        }
    }
    // Uniform sampling would land within 0.2 of the optimum 40% of the time.
    assert!(near >= 30, "only {near}/40 proposals near the optimum");
}

#[test]
fn same_history_same_proposal_and_cache_is_transparent() {
    let space = SearchSpace::new(vec![float("x", 0.0, 1.0), float("y", -1.0, 1.0)]).unwrap();
    let objs = objectives(&["f", "g"]);
    let trials: Vec<Trial> = (0..30)
        .map(|i| {
            let p = space.from_unit(&crate::SobolSampler::point(5, i, 2));
            let x = p["x"].as_f64().unwrap();
            let y = p["y"].as_f64().unwrap();
            complete(i, p, &[("f", x + y * y), ("g", 1.0 - x + y)])
        })
        .collect();
    let view = StudyView {
        space: &space,
        objectives: &objs,
        trials: &trials,
        seed: 9,
    };
    let mut warm = TpeSampler::new(TpeOptions::default());
    // Fill the cache with a shorter history first.
    let short = StudyView {
        trials: &trials[..20],
        ..view
    };
    warm.propose(&short, 20).unwrap();
    let a = warm.propose(&view, 30).unwrap();
    let b = TpeSampler::new(TpeOptions::default())
        .propose(&view, 30)
        .unwrap();
    assert_eq!(a, b);
    let c = TpeSampler::new(TpeOptions::default())
        .propose(&view, 31)
        .unwrap();
    assert_ne!(a, c);
}

#[test]
fn constant_liar_steers_away_from_running_points() {
    let space = SearchSpace::new(vec![float("x", 0.0, 1.0)]).unwrap();
    let objs = objectives(&["f"]);
    let mut trials = quadratic_history(&space, 30);
    let plain = TpeSampler::new(TpeOptions::default())
        .propose(
            &StudyView {
                space: &space,
                objectives: &objs,
                trials: &trials,
                seed: 4,
            },
            40,
        )
        .unwrap();
    // Many workers already evaluate points right at the optimum.
    for k in 0..10 {
        let mut t = Trial::new(30 + k, TrialState::Running);
        t.params
            .insert("x".into(), ParamValue::Float(0.8 + 0.001 * k as f64));
        trials.push(t);
    }
    let view = StudyView {
        space: &space,
        objectives: &objs,
        trials: &trials,
        seed: 4,
    };
    let lied = TpeSampler::new(TpeOptions::default())
        .propose(&view, 40)
        .unwrap();
    let honest = TpeSampler::new(TpeOptions {
        constant_liar: false,
        ..TpeOptions::default()
    })
    .propose(&view, 40)
    .unwrap();
    // Without the liar, running trials are invisible.
    assert_eq!(honest, plain);
    let d_lied = (lied.params["x"].as_f64().unwrap() - 0.8).abs();
    let d_plain = (plain.params["x"].as_f64().unwrap() - 0.8).abs();
    assert!(d_lied > d_plain, "liar {d_lied} vs plain {d_plain}");
}

#[test]
fn groups_follow_conditions() {
    let cat = Param {
        name: "opt".into(),
        distribution: Distribution::Categorical {
            choices: vec![
                ParamValue::Str("sgd".into()),
                ParamValue::Str("adam".into()),
            ],
        },
        when: vec![],
        monotone: None,
    };
    let when_sgd = vec![Condition {
        parent: "opt".into(),
        values: vec![ParamValue::Str("sgd".into())],
    }];
    let mut m = float("momentum", 0.0, 1.0);
    m.when = when_sgd.clone();
    let mut n = float("nesterov_w", 0.0, 1.0);
    n.when = when_sgd;
    let mut b = float("beta", 0.0, 1.0);
    b.when = vec![Condition {
        parent: "opt".into(),
        values: vec![ParamValue::Str("adam".into())],
    }];
    let space = SearchSpace::new(vec![cat, float("lr", 0.0, 1.0), m, n, b]).unwrap();
    let names = |gs: Vec<Vec<usize>>| -> Vec<Vec<String>> {
        gs.into_iter()
            .map(|g| {
                g.into_iter()
                    .map(|i| space.params()[i].name.clone())
                    .collect()
            })
            .collect()
    };
    assert_eq!(
        names(parameter_groups(&space, true, true, false)),
        vec![
            vec!["opt", "lr"],
            vec!["momentum", "nesterov_w"],
            vec!["beta"]
        ]
    );
    assert_eq!(
        names(parameter_groups(&space, true, false, false)),
        vec![
            vec!["opt", "lr"],
            vec!["momentum"],
            vec!["nesterov_w"],
            vec!["beta"]
        ]
    );
    assert_eq!(parameter_groups(&space, false, true, false).len(), 5);
}

#[test]
fn options_are_checked() {
    let t: toml::Table =
        toml::from_str("gamma = 0.2\nmultivariate = false\nstartup = \"random\"").unwrap();
    let o = TpeOptions::from_options(&t).unwrap();
    assert_eq!(o.gamma, Some(0.2));
    assert_eq!(o.multivariate, Some(false));
    assert_eq!(o.startup, Startup::Random);
    assert_eq!(o.bandwidth, BandwidthRule::Neighbours);
    assert!(!o.hv_weights);
    let t: toml::Table =
        toml::from_str("bandwidth = \"scott\"\nhv_weights = true\ngamma_max = 25").unwrap();
    let o = TpeOptions::from_options(&t).unwrap();
    assert_eq!(o.bandwidth, BandwidthRule::Scott);
    assert!(o.hv_weights);
    assert_eq!(o.gamma_max, Some(25));
    let bad: toml::Table = toml::from_str("bandwidth = \"silverman\"").unwrap();
    assert!(TpeOptions::from_options(&bad).is_err());
    let bad: toml::Table = toml::from_str("gama = 0.2").unwrap();
    assert!(TpeOptions::from_options(&bad)
        .unwrap_err()
        .to_string()
        .contains("gama"));
    let bad: toml::Table = toml::from_str("gamma = 2.0").unwrap();
    assert!(TpeOptions::from_options(&bad).is_err());
}

#[test]
fn pruned_trials_rank_by_progress_then_value() {
    let objs = objectives(&["f"]);
    let mut t = Trial::new(0, TrialState::Pruned);
    assert_eq!(pruned_key(&t, &objs), (1.0, 0.0));
    for step in 0..3u64 {
        t.intermediate.push(paretosearch_core::Intermediate {
            step,
            values: [("f".to_string(), 10.0 - step as f64)].into(),
        });
    }
    assert_eq!(pruned_key(&t, &objs), (-2.0, 8.0));
}

#[test]
fn failed_trials_are_ignored() {
    let space = SearchSpace::new(vec![float("x", 0.0, 1.0)]).unwrap();
    let objs = objectives(&["f"]);
    let mut trials = quadratic_history(&space, 20);
    let base = TpeSampler::new(TpeOptions::default())
        .propose(
            &StudyView {
                space: &space,
                objectives: &objs,
                trials: &trials,
                seed: 2,
            },
            25,
        )
        .unwrap();
    let mut f = Trial::new(20, TrialState::Fail);
    f.params.insert("x".into(), ParamValue::Float(0.1));
    trials.push(f);
    let with_fail = TpeSampler::new(TpeOptions::default())
        .propose(
            &StudyView {
                space: &space,
                objectives: &objs,
                trials: &trials,
                seed: 2,
            },
            25,
        )
        .unwrap();
    assert_eq!(base, with_fail);
}

fn choice(name: &str, n: i64) -> Param {
    Param {
        name: name.into(),
        distribution: Distribution::Categorical {
            choices: (0..n).map(ParamValue::Int).collect(),
        },
        when: vec![],
        monotone: None,
    }
}

fn int_of(p: &Params, name: &str) -> i64 {
    match p[name] {
        ParamValue::Int(v) => v,
        ref other => panic!("{other:?}"),
    }
}

/// Two objectives over three 3-way choices, run as a study: how many of
/// the 27 configurations the first 27 trials try.
fn distinct_configurations(options: TpeOptions) -> usize {
    let space = SearchSpace::new(vec![choice("a", 3), choice("b", 3), choice("c", 3)]).unwrap();
    let objs = objectives(&["f", "g"]);
    let mut s = TpeSampler::new(TpeOptions {
        n_startup_trials: Some(6),
        ..options
    });
    let mut trials: Vec<Trial> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for n in 0..27 {
        let view = StudyView {
            space: &space,
            objectives: &objs,
            trials: &trials,
            seed: 3,
        };
        let p = s.propose(&view, n).unwrap().params;
        let x = [int_of(&p, "a"), int_of(&p, "b"), int_of(&p, "c")];
        seen.insert(x);
        let f = (x[0] + x[1] + x[2]) as f64;
        let g = (6 - x[0] - x[1] + x[2]) as f64;
        trials.push(complete(n, p, &[("f", f), ("g", g)]));
    }
    seen.len()
}

#[test]
fn discrete_spaces_never_repeat_a_configuration() {
    // Regression: univariate TPE took each choice's best ratio on its own
    // and proposed the same configuration until the split changed.
    let before = distinct_configurations(TpeOptions {
        avoid_repeats: false,
        joint_categorical: false,
        ..TpeOptions::default()
    });
    assert!(before < 20, "{before} distinct without avoid_repeats");
    assert_eq!(distinct_configurations(TpeOptions::default()), 27);
    assert_eq!(
        distinct_configurations(TpeOptions {
            joint_categorical: false,
            ..TpeOptions::default()
        }),
        27
    );
}

#[test]
fn joint_categorical_kernels_see_interactions() {
    // Good iff a == b: every choice is equally common among the good and
    // the bad trials, so univariate kernels see nothing; the joint kernel
    // puts the good trials' mass on the diagonal.
    let space = SearchSpace::new(vec![choice("a", 5), choice("b", 5)]).unwrap();
    let objs = objectives(&["f", "g"]);
    let mut trials = Vec::new();
    for a in 0..5i64 {
        for b in 0..5i64 {
            let (f, g) = if a == b {
                (a as f64, 4.0 - a as f64)
            } else {
                (10.0 + a as f64, 10.0 + b as f64)
            };
            let p: Params = [
                ("a".to_string(), ParamValue::Int(a)),
                ("b".to_string(), ParamValue::Int(b)),
            ]
            .into();
            trials.push(complete(trials.len() as u64, p, &[("f", f), ("g", g)]));
        }
    }
    let view = StudyView {
        space: &space,
        objectives: &objs,
        trials: &trials,
        seed: 5,
    };
    let diagonal = |joint: bool| -> usize {
        let mut s = TpeSampler::new(TpeOptions {
            joint_categorical: joint,
            // Every configuration is tried; look at the model's choice.
            avoid_repeats: false,
            ..TpeOptions::default()
        });
        (100..140)
            .filter(|&n| {
                let p = s.propose(&view, n).unwrap().params;
                int_of(&p, "a") == int_of(&p, "b")
            })
            .count()
    };
    let (joint, univariate) = (diagonal(true), diagonal(false));
    assert!(joint >= 36, "joint: {joint}/40 on the diagonal");
    assert!(
        univariate <= 20,
        "univariate: {univariate}/40 on the diagonal"
    );
}

#[test]
fn joint_categorical_groups_choices_with_the_same_conditions() {
    let mut c = choice("c", 2);
    c.when = vec![Condition {
        parent: "a".into(),
        values: vec![ParamValue::Int(1)],
    }];
    let mut d = choice("d", 2);
    d.when = c.when.clone();
    let space = SearchSpace::new(vec![
        choice("a", 3),
        float("x", 0.0, 1.0),
        choice("b", 4),
        c,
        float("y", 0.0, 1.0),
        d,
    ])
    .unwrap();
    assert_eq!(
        parameter_groups(&space, false, true, true),
        vec![vec![0, 2], vec![1], vec![3, 5], vec![4]]
    );
    assert_eq!(parameter_groups(&space, false, true, false).len(), 6);
    // Multivariate: unchanged by the option.
    assert_eq!(
        parameter_groups(&space, true, true, true),
        parameter_groups(&space, true, true, false)
    );
}
