//! NSGA-II's operators, selection and generation bookkeeping.

use super::*;
use paretosearch_core::{Direction, Distribution, Objective, Param, ParamValue};
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

#[test]
fn trials_in_flight_fill_their_generation() {
    // Population 4; generation 0 complete; of generation 1, two COMPLETE and
    // two RUNNING (other workers'). The next trial belongs to generation 2,
    // bred from what is COMPLETE; before, generation 1 took a fifth trial.
    let space = SearchSpace::new(vec![Param {
        name: "x".into(),
        distribution: Distribution::Float {
            low: 0.0,
            high: 1.0,
            log: false,
            step: None,
        },
        when: vec![],
        monotone: None,
    }])
    .unwrap();
    let o = objs();
    let opts = Nsga2Options {
        population_size: 4,
        ..Default::default()
    };
    let x = |n: u64| (n as f64 + 0.5) / 8.0;
    let mut trials: Vec<Trial> = Vec::new();
    for n in 0..8u64 {
        let mut t = if n < 6 {
            trial(n, x(n), 1.0 - x(n))
        } else {
            Trial::new(n, TrialState::Running)
        };
        t.params = [("x".to_string(), ParamValue::Float(x(n)))].into();
        t.attrs
            .insert(GENERATION_ATTR.into(), json!(if n < 4 { 0 } else { 1 }));
        trials.push(t);
    }
    // Trial 8, claimed and being proposed: RUNNING without parameters.
    trials.push(Trial::new(8, TrialState::Running));
    let view = StudyView {
        space: &space,
        objectives: &o,
        trials: &trials,
        seed: 1,
    };
    let p = Nsga2Sampler::new(opts.clone()).propose(&view, 8).unwrap();
    assert_eq!(p.attrs[GENERATION_ATTR], json!(2));
    let parents: Vec<u64> = p.attrs[PARENTS_ATTR]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert!(
        parents.iter().all(|&n| n < 6),
        "parents {parents:?} must be COMPLETE"
    );

    // A RUNNING trial of generation 1 fails: generation 1 is one short again.
    trials[7].state = TrialState::Fail;
    let view = StudyView {
        space: &space,
        objectives: &o,
        trials: &trials,
        seed: 1,
    };
    let p = Nsga2Sampler::new(opts.clone()).propose(&view, 8).unwrap();
    assert_eq!(p.attrs[GENERATION_ATTR], json!(1));

    // Every earlier trial in flight (more workers than the population):
    // nothing to breed from, so generation 0 takes more Sobol points.
    let mut flying: Vec<Trial> = trials[..5].to_vec();
    for t in flying.iter_mut() {
        t.state = TrialState::Running;
        t.values.clear();
    }
    let view = StudyView {
        space: &space,
        objectives: &o,
        trials: &flying,
        seed: 1,
    };
    let p = Nsga2Sampler::new(opts).propose(&view, 5).unwrap();
    assert_eq!(p.attrs[GENERATION_ATTR], json!(0));
    assert!(!p.attrs.contains_key(PARENTS_ATTR));
}
