//! DTLZ2 with 5 and 8 objectives through every sampler that accepts them
//! (issue 14): each proposal is a legal configuration, every sampler does
//! better than a point at the centre of the space would (DTLZ2's front is
//! the unit sphere's positive orthant, so a trial's distance from the
//! origin is at least 1), and the model-based ones get closer to the front
//! than random search does with the same trials.

use paretosearch_core::spec::SamplerSpec;
use paretosearch_core::{
    Direction, Distribution, Objective, Objectives, Param, Params, SearchSpace, Trial, TrialState,
};
use paretosearch_runner::suite::dtlz2;
use paretosearch_samplers::StudyView;

/// Median over the trials after `skip` of each trial's distance from the
/// origin minus 1 (0 on the front).
fn run(kind: &str, m: usize, trials: u64, skip: usize) -> f64 {
    let n = m + 3;
    let space = SearchSpace::new(
        (0..n)
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
    .unwrap();
    let objectives = Objectives(
        (0..m)
            .map(|j| Objective {
                name: format!("f{j}"),
                direction: Direction::Minimize,
                constraint: None,
                cheap: false,
            })
            .collect(),
    );
    let mut sampler = paretosearch_samplers::build(&SamplerSpec {
        kind: kind.into(),
        options: toml::Table::new(),
    })
    .unwrap();
    let mut history: Vec<Trial> = Vec::new();
    for number in 0..trials {
        let view = StudyView {
            space: &space,
            objectives: &objectives,
            trials: &history,
            seed: 4,
        };
        let p: Params = sampler.propose(&view, number).unwrap().params;
        space.validate(&p).unwrap();
        let x: Vec<f64> = (0..n)
            .map(|i| p[&format!("x{i}")].as_f64().unwrap())
            .collect();
        let mut t = Trial::new(number, TrialState::Complete);
        t.values = dtlz2(&x, m)
            .into_iter()
            .enumerate()
            .map(|(j, v)| (format!("f{j}"), v))
            .collect();
        t.params = p;
        history.push(t);
    }
    let mut gaps: Vec<f64> = history[skip..]
        .iter()
        .map(|t| t.values.values().map(|v| v * v).sum::<f64>().sqrt() - 1.0)
        .collect();
    gaps.sort_by(f64::total_cmp);
    gaps[gaps.len() / 2]
}

#[test]
fn five_and_eight_objectives_run_with_every_sampler() {
    for m in [5, 8] {
        let random = run("random", m, 60, 20);
        for kind in ["tpe", "nsga2", "auto"] {
            let gap = run(kind, m, 60, 20);
            assert!(gap.is_finite() && gap >= 0.0, "{kind} {m}: {gap}");
            if kind != "nsga2" {
                // NSGA-II's generations of 20 have barely started.
                assert!(
                    gap < random,
                    "{kind} {m}: {gap} not below random's {random}"
                );
            }
        }
        // ParEGO for >= 4 objectives; few trials (a fit per proposal).
        let gp = run("gp", m, 14, 10);
        assert!(gp.is_finite() && gp >= 0.0, "gp {m}: {gp}");
    }
}
