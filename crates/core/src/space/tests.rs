use super::*;

fn f(low: f64, high: f64, log: bool, step: Option<f64>) -> Distribution {
    Distribution::Float {
        low,
        high,
        log,
        step,
    }
}

#[test]
fn unit_round_trip_discrete() {
    let dists = [
        Distribution::Int {
            low: 16,
            high: 1024,
            log: false,
            step: 16,
        },
        Distribution::Int {
            low: 1,
            high: 8,
            log: false,
            step: 1,
        },
        Distribution::Int {
            low: 1,
            high: 100,
            log: true,
            step: 1,
        },
        f(0.0, 1.0, false, Some(0.1)),
        Distribution::Categorical {
            choices: vec![
                ParamValue::Str("a".into()),
                ParamValue::Int(3),
                ParamValue::Bool(true),
            ],
        },
    ];
    for d in &dists {
        for i in 0..=1000 {
            let u = i as f64 / 1000.0;
            let v = d.from_unit(u);
            assert!(d.contains(&v), "{d:?} {v:?}");
            let back = d.from_unit(d.to_unit(&v).unwrap());
            assert!(back.loosely_equals(&v), "{d:?}: {v:?} -> {back:?}");
            let vi = d.from_internal(d.to_internal(&v).unwrap());
            assert!(vi.loosely_equals(&v), "{d:?}: {v:?} -> {vi:?}");
        }
    }
}

#[test]
fn unit_discrete_cells_are_equal() {
    let d = Distribution::Int {
        low: 1,
        high: 4,
        log: false,
        step: 1,
    };
    let mut counts = [0usize; 4];
    for i in 0..4000 {
        let v = d.from_unit((i as f64 + 0.5) / 4000.0);
        if let ParamValue::Int(k) = v {
            counts[(k - 1) as usize] += 1;
        }
    }
    assert_eq!(counts, [1000, 1000, 1000, 1000]);
}

#[test]
fn log_float_is_log_uniform() {
    let d = f(1e-5, 1e-1, true, None);
    let mid = d.from_unit(0.5).as_f64().unwrap();
    assert!((mid - 1e-3).abs() < 1e-12);
    assert!((d.to_unit(&ParamValue::Float(1e-3)).unwrap() - 0.5).abs() < 1e-12);
}

#[test]
fn stepped_float_snaps() {
    let d = f(0.0, 1.0, false, Some(0.1));
    assert_eq!(d.cardinality(), Some(11));
    assert_eq!(d.from_internal(0.3333), ParamValue::Float(0.3));
    assert!(d.contains(&ParamValue::Float(0.7)));
    assert!(!d.contains(&ParamValue::Float(0.75)));
}

#[test]
fn check_rejects_bad_distributions() {
    assert!(f(1.0, 1.0, false, None).check().is_err());
    assert!(f(0.0, 1.0, true, None).check().is_err());
    assert!(Distribution::Categorical { choices: vec![] }
        .check()
        .is_err());
    assert!(Distribution::Int {
        low: 0,
        high: 5,
        log: false,
        step: 0
    }
    .check()
    .is_err());
}

fn conditional_space() -> SearchSpace {
    SearchSpace::new(vec![
        Param {
            name: "momentum".into(),
            distribution: f(0.0, 0.99, false, None),
            when: vec![Condition {
                parent: "optimizer".into(),
                values: vec![ParamValue::Str("sgd".into())],
            }],
            monotone: None,
        },
        Param {
            name: "optimizer".into(),
            distribution: Distribution::Categorical {
                choices: vec![
                    ParamValue::Str("sgd".into()),
                    ParamValue::Str("adam".into()),
                ],
            },
            when: vec![],
            monotone: None,
        },
    ])
    .unwrap()
}

#[test]
fn conditions_order_and_activate() {
    let s = conditional_space();
    assert_eq!(s.params()[0].name, "optimizer");
    let sgd = s.from_unit(&[0.1, 0.5]);
    assert!(sgd.contains_key("momentum"));
    s.validate(&sgd).unwrap();
    let adam = s.from_unit(&[0.9, 0.5]);
    assert!(!adam.contains_key("momentum"));
    s.validate(&adam).unwrap();
    let mut bad = adam.clone();
    bad.insert("momentum".into(), ParamValue::Float(0.5));
    assert!(s.validate(&bad).is_err());
}

#[test]
fn unknown_parent_is_an_error() {
    let err = SearchSpace::new(vec![Param {
        name: "x".into(),
        distribution: f(0.0, 1.0, false, None),
        when: vec![Condition {
            parent: "nope".into(),
            values: vec![ParamValue::Int(1)],
        }],
        monotone: None,
    }])
    .unwrap_err();
    assert!(err.to_string().contains("nope"));
}

#[test]
fn fingerprint_ignores_order() {
    let a = conditional_space();
    let mut ps = a.params().to_vec();
    ps.reverse();
    let b = SearchSpace::new(ps).unwrap();
    assert_eq!(a.fingerprint(), b.fingerprint());
}
