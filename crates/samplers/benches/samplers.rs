//! Per-trial `propose` overhead of each sampler with 100, 1,000, 5,000 and 10,000
//! finished trials in the history (ZDT1-shaped: 10 float parameters, two
//! objectives). Each sampler is warmed once on the full history first, so
//! per-trial caches hold what they would in a running study.
//!
//! Add a sampler by adding one line to `SAMPLERS`.

#![allow(missing_docs)] // criterion's macros generate undocumented items

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use paretosearch_core::{
    Direction, Distribution, Objective, Objectives, Param, SearchSpace, Trial, TrialState,
};
use paretosearch_samplers::{
    AutoSampler, GpSampler, Nsga2Sampler, RandomSampler, Sampler, StudyView, TpeSampler,
};

type Factory = fn() -> Box<dyn Sampler>;

/// (name, factory): one line per sampler.
const SAMPLERS: &[(&str, Factory)] = &[
    ("random", || Box::new(RandomSampler)),
    ("tpe", || Box::new(TpeSampler::default())),
    ("nsga2", || Box::new(Nsga2Sampler::default())),
    ("gp", || Box::new(GpSampler::default())),
    ("auto", || Box::new(AutoSampler::default())),
];

const SIZES: &[u64] = &[100, 1_000, 5_000, 10_000];

fn zdt1_study(n: u64) -> (SearchSpace, Objectives, Vec<Trial>) {
    let space = SearchSpace::new(
        (0..10)
            .map(|i| Param {
                name: format!("x{i}"),
                distribution: Distribution::Float {
                    low: 0.0,
                    high: 1.0,
                    log: false,
                    step: None,
                },
                when: vec![],
                monotone: None,
            })
            .collect(),
    )
    .expect("valid space");
    let objectives = Objectives(
        ["f1", "f2"]
            .iter()
            .map(|n| Objective {
                name: n.to_string(),
                direction: Direction::Minimize,
                constraint: None,
                cheap: false,
            })
            .collect(),
    );
    let trials = (0..n)
        .map(|i| {
            let u = paretosearch_samplers::SobolSampler::point(17, i, 10);
            let params = space.from_unit(&u);
            let x: Vec<f64> = (0..10)
                .map(|k| params[&format!("x{k}")].as_f64().unwrap_or(0.0))
                .collect();
            let g = 1.0 + 9.0 * x[1..].iter().sum::<f64>() / 9.0;
            let f2 = g * (1.0 - (x[0] / g).sqrt());
            let mut t = Trial::new(i, TrialState::Complete);
            t.params = params;
            t.values = [("f1".to_string(), x[0]), ("f2".to_string(), f2)].into();
            t
        })
        .collect();
    (space, objectives, trials)
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("propose");
    group.sample_size(10);
    for &n in SIZES {
        let (space, objectives, trials) = zdt1_study(n);
        let view = StudyView {
            space: &space,
            objectives: &objectives,
            trials: &trials,
            seed: 1,
        };
        for (name, make) in SAMPLERS {
            let mut sampler = make();
            sampler.propose(&view, n).expect("propose");
            group.bench_with_input(BenchmarkId::new(*name, n), &n, |b, &n| {
                b.iter(|| sampler.propose(&view, n).expect("propose"))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
