//! The GP sampler's options, fits and start-up.

use super::*;

#[test]
fn options_are_parsed_and_unknown_ones_rejected() {
    let t: toml::Table = toml::from_str("n_startup_trials = 5\nkriging_believer = false").unwrap();
    let s = GpSampler::from_options(&t).unwrap();
    assert_eq!(s.options().n_startup_trials, 5);
    assert!(!s.options().kriging_believer);
    let bad: toml::Table = toml::from_str("n_startup = 5").unwrap();
    assert!(
        matches!(GpSampler::from_options(&bad), Err(SamplerError::BadOption { key, .. }) if key == "n_startup")
    );
    let zero: toml::Table = toml::from_str("n_candidates = 0").unwrap();
    assert!(GpSampler::from_options(&zero).is_err());
}

#[test]
fn a_bad_warm_start_does_not_stick() {
    // With a short fit budget the warm start decides where the fit
    // ends; the default start is tried too and the lower loss wins.
    use rand::SeedableRng;
    let (n, d) = (30, 3);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    let x: Vec<f64> = (0..n * d).map(|_| rng.random::<f64>()).collect();
    let t = Target::new(
        (0..n)
            .map(|i| (6.0 * x[i * d]).sin() + x[i * d + 1].powi(2))
            .collect(),
    );
    let is_cat = vec![false; d];
    let data = FitData::new(&x, d, &is_cat, &t.y, false);
    let iters = 3;
    let from_default = fit(&data, &Kernel::initial(d).to_raw(), iters);
    // Lengthscales of 20 and noise 7: everything explained as noise.
    let bad = vec![vec![-6.0, -6.0, -6.0, 0.0, 2.0]];
    let from_bad = fit(&data, &bad[0], iters);
    let sampler = GpSampler::new(GpOptions {
        max_fit_iters: iters,
        ..GpOptions::default()
    });
    let (_, raws) = sampler.fit_models(&x, d, &is_cat, &[t], Some(&bad));
    let chosen = loss_of(&data, &Some(raws[0].clone()));
    let (a, b) = (loss_of(&data, &from_bad), loss_of(&data, &from_default));
    assert!(a > b + 1.0, "the bad start must end worse: {a} vs {b}");
    assert!(
        (chosen - b).abs() < 1e-2,
        "chose {chosen}, starts gave {a} and {b}"
    );
}

#[test]
fn start_up_counts_the_trials_in_flight() {
    // One worker: COMPLETE trials alone.
    assert!(!model_ready(9, 0, 10));
    assert!(model_ready(10, 0, 10));
    // Many: the trials in flight count, once half are COMPLETE.
    assert!(model_ready(6, 4, 10));
    assert!(!model_ready(4, 6, 10));
    assert!(!model_ready(5, 4, 10));
    assert!(model_ready(1, 0, 1) && !model_ready(0, 5, 1) && !model_ready(1, 0, 2));

    // Through a proposal: 6 COMPLETE and 4 RUNNING, the default start-up.
    let space = SearchSpace::builder()
        .float("x", 0.0, 1.0)
        .float("y", 0.0, 1.0)
        .build()
        .unwrap();
    let objectives = Objectives(vec![paretosearch_core::Objective {
        name: "f".into(),
        direction: Direction::Minimize,
        constraint: None,
        cheap: false,
    }]);
    let mut trials = Vec::new();
    for n in 0..10u64 {
        let u = SobolSampler::point(0, n, 2);
        let state = if n < 6 {
            TrialState::Complete
        } else {
            TrialState::Running
        };
        let mut t = Trial::new(n, state);
        t.params = space.from_unit(&u);
        if n < 6 {
            t.values.insert("f".into(), (u[0] - 0.3).powi(2) + u[1]);
        }
        trials.push(t);
    }
    trials.push(Trial::new(10, TrialState::Running));
    let view = StudyView {
        space: &space,
        objectives: &objectives,
        trials: &trials,
        seed: 0,
    };
    let p = GpSampler::default().propose(&view, 10).unwrap();
    assert_eq!(p.attrs[ATTR]["phase"], "model", "{:?}", p.attrs);
    // Without the trials in flight it is still a start-up point.
    let p = GpSampler::default()
        .propose(&view_of(&space, &objectives, &trials[..6]), 10)
        .unwrap();
    assert_eq!(p.attrs[ATTR]["phase"], "startup");
}

fn view_of<'a>(
    space: &'a SearchSpace,
    objectives: &'a Objectives,
    trials: &'a [Trial],
) -> StudyView<'a> {
    StudyView {
        space,
        objectives,
        trials,
        seed: 0,
    }
}

#[test]
fn target_standardisation_handles_constant_values() {
    let t = Target::new(vec![2.0, 2.0, 2.0]);
    assert_eq!(t.y, vec![0.0, 0.0, 0.0]);
    let t = Target::new(vec![1.0, 3.0]);
    assert_eq!(t.y, vec![-1.0, 1.0]);
    assert_eq!(t.standardise(5.0), 3.0);
}
