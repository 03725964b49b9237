//! `[pruner] kind = "mo-asha"` end to end: a closure objective reporting a
//! synthetic two-objective learning curve per epoch, driven by `optimize`.
//!
//! The family: parameters `x0`, `x1`, `speed` in [0, 1]; the curves converge
//! to ZDT1-like final values `f1 = x0`, `f2 = g (1 - sqrt(x0 / g))` with
//! `g = 1 + 2 x1`, starting `1.5` above them and closing the gap by
//! `exp(-k t)` at epoch `t`, `k = 0.1 + 0.6 speed`. With `crossing`, `speed`
//! varies, so a slow curve that ends on the front looks worse early on than
//! a fast one that does not; without it every curve has `k = 0.4` and the
//! order at every epoch is the order of the final values.

mod common;

use std::collections::BTreeMap;

use paretosearch_core::pareto::{hypervolume, ideal_point, normalise, pareto_front};
use paretosearch_core::{PruneRule, Trial, TrialState};
use paretosearch_engine::{Options, Study, TrialHandle, Values};

fn study_text(seed: u64, trials: u64, pruner: &str) -> String {
    format!(
        r#"
[study]
name = "mo-asha-{seed}"
seed = {seed}

[[objectives]]
name = "f1"
direction = "minimize"

[[objectives]]
name = "f2"
direction = "minimize"

[search_space]
x0 = {{ type = "float", low = 0.0, high = 1.0 }}
x1 = {{ type = "float", low = 0.0, high = 1.0 }}
speed = {{ type = "float", low = 0.0, high = 1.0 }}

[sampler]
kind = "random"

[pruner]
{pruner}

[runner]
kind = "builtin"
problem = "zdt1"

[budget]
trials = {trials}
"#
    )
}

/// Final values of a configuration (no noise).
fn finals(x0: f64, x1: f64) -> [f64; 2] {
    let g = 1.0 + 2.0 * x1;
    [x0, g * (1.0 - (x0 / g).sqrt())]
}

/// Noise in about [-sigma, sigma]·√3 with standard deviation `sigma`, a
/// deterministic function of its inputs.
fn noise(sigma: f64, key: [u64; 4]) -> f64 {
    let mut h = 0x9e37_79b9_7f4a_7c15u64;
    for k in key {
        h ^= k.wrapping_add(0x9e37_79b9_7f4a_7c15);
        h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
        h ^= h >> 31;
        h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
        h ^= h >> 29;
    }
    let u = (h >> 11) as f64 / (1u64 << 53) as f64;
    sigma * 12f64.sqrt() * (u - 0.5)
}

struct Family {
    seed: u64,
    epochs: u64,
    sigma: f64,
    crossing: bool,
}

impl Family {
    fn evaluate(&self, t: &TrialHandle) -> Result<Values, String> {
        let p = |n: &str| t.float(n).map_err(|e| e.to_string());
        let target = finals(p("x0")?, p("x1")?);
        let k = if self.crossing {
            0.1 + 0.6 * p("speed")?
        } else {
            0.4
        };
        let mut last = Values::new();
        for epoch in 1..=self.epochs {
            let gap = 1.5 * (-k * epoch as f64).exp();
            last = (0..2)
                .map(|j| {
                    let key = [self.seed, t.number(), epoch, j as u64];
                    let v = target[j] + gap + noise(self.sigma, key);
                    (format!("f{}", j + 1), v)
                })
                .collect();
            t.report_blocking(epoch, &last);
            if t.should_stop() {
                break;
            }
        }
        Ok(last)
    }
}

/// Run one arm; the trials as stored.
async fn run(family: Family, trials: u64, pruner: &str) -> Vec<Trial> {
    let text = study_text(family.seed, trials, pruner);
    let study = Study::create_or_open(common::spec(&text), "sqlite::memory:")
        .await
        .unwrap();
    study
        .optimize(
            move |t: &TrialHandle| family.evaluate(t),
            Options::default(),
        )
        .await
        .unwrap();
    study.trials().await.unwrap().to_vec()
}

fn epochs(trials: &[Trial]) -> usize {
    trials.iter().map(|t| t.intermediate.len()).sum()
}

fn complete_points(trials: &[Trial]) -> Vec<Vec<f64>> {
    trials
        .iter()
        .filter(|t| t.state == TrialState::Complete)
        .map(|t| vec![t.values["f1"], t.values["f2"]])
        .collect()
}

/// Hypervolume of each set, all normalised by the ideal and nadir of their
/// union (reference 1.1 in each objective, as `scripts/measure-pruning.sh`).
fn hypervolumes(sets: &[Vec<Vec<f64>>]) -> Vec<f64> {
    let all: Vec<Vec<f64>> = sets.iter().flatten().cloned().collect();
    let ideal = ideal_point(&all);
    let nadir: Vec<f64> = (0..2)
        .map(|j| all.iter().map(|p| p[j]).fold(f64::NEG_INFINITY, f64::max))
        .collect();
    sets.iter()
        .map(|s| hypervolume(&normalise(s, &ideal, &nadir), &[1.1, 1.1]))
        .collect()
}

const MO_ASHA: &str = "kind = \"mo-asha\"\nmax_resource = 9\nmin_trials = 6";

#[tokio::test(flavor = "multi_thread")]
async fn mo_asha_stops_some_trials_and_keeps_the_best() {
    let family = || Family {
        seed: 5,
        epochs: 9,
        sigma: 0.0,
        crossing: false,
    };
    let full = run(family(), 30, "kind = \"none\"").await;
    assert_eq!(epochs(&full), 30 * 9);
    let points = complete_points(&full);
    let front = pareto_front(&points);
    // The defaults: at least 40 % of the epochs saved at 97 % of the
    // hypervolume (the bar of the defaults, README "Pruning"), on the same
    // configurations as the unpruned run.
    let pruned = run(family(), 30, MO_ASHA).await;
    let stopped: Vec<&Trial> = pruned
        .iter()
        .filter(|t| t.state == TrialState::Pruned)
        .collect();
    assert!(stopped.len() >= 5, "{} stopped", stopped.len());
    for t in &stopped {
        assert_eq!(t.prune_rule(), Some(PruneRule::MoAsha), "typed, stored");
        assert!(t.reason.as_deref().unwrap().starts_with("mo-asha: bracket"));
        assert!(t.intermediate.len() < 9);
    }
    assert!(
        epochs(&pruned) * 10 <= 30 * 9 * 6,
        "{} epochs",
        epochs(&pruned)
    );
    let same = |a: &Trial, b: &Trial| a.params == b.params;
    assert!(pruned.iter().zip(&full).all(|(a, b)| same(a, b)));
    let hv = hypervolumes(&[complete_points(&pruned), complete_points(&full)]);
    assert!(hv[0] >= 0.97 * hv[1], "{hv:?}");
    // With the front uncapped, every configuration on the unpruned front is
    // trained to the end (every unpruned trial is COMPLETE: point i is
    // trial i): these curves keep their order at every epoch, so a trial
    // on the final front is on its rung's front. The default cap (40 % of
    // a rung) trades that guarantee for the epochs of 3-objective rungs,
    // where most of a small rung is non-dominated.
    let uncapped = run(family(), 30, &format!("{MO_ASHA}\nfront_cap = 1.0")).await;
    assert!(epochs(&uncapped) < epochs(&full));
    let kept = front
        .iter()
        .filter(|&&i| uncapped[i].state == TrialState::Complete)
        .count();
    assert_eq!(kept, front.len(), "{kept} of {} kept", front.len());
}

/// Not a test: `cargo test -p paretosearch-engine --test mo_asha --
/// --ignored --nocapture measure` prints, over five seeds, the epochs saved
/// and the hypervolume ratio against no pruning (the same configurations,
/// trained to the end), on noisy curves that cross and that do not. "equal
/// epochs" is the hypervolume of the first trials of the unpruned run that
/// use as many epochs as the arm did: what spending the saving on fewer
/// trials would have found instead.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "a measurement, run by hand"]
async fn measure_mo_asha() {
    let trials = 60u64;
    let arms = [
        ("mo-asha, defaults", "kind = \"mo-asha\"\nmax_resource = 27"),
        (
            "mo-asha, Hyperband's brackets (3)",
            "kind = \"mo-asha\"\nmax_resource = 27\nbrackets = 3",
        ),
        ("dominated, defaults", "kind = \"dominated\""),
    ];
    for crossing in [true, false] {
        let mut rows: BTreeMap<&str, Vec<[f64; 4]>> = BTreeMap::new();
        for seed in 1..=5 {
            let family = || Family {
                seed,
                epochs: 27,
                sigma: 0.02,
                crossing,
            };
            let none = run(family(), trials, "kind = \"none\"").await;
            for (name, pruner) in arms {
                let arm = run(family(), trials, pruner).await;
                let used = epochs(&arm);
                let first = none[..used.div_ceil(27).min(none.len())].to_vec();
                let hv = hypervolumes(&[
                    complete_points(&arm),
                    complete_points(&none),
                    complete_points(&first),
                ]);
                let saved = 1.0 - used as f64 / epochs(&none) as f64;
                let stopped = arm.iter().filter(|t| t.state == TrialState::Pruned).count();
                println!(
                    "crossing {crossing} seed {seed} {name}: {stopped} stopped, epochs {used} of {}, \
                     HV {:.4} vs {:.4} (ratio {:.4}; equal epochs {:.4})",
                    epochs(&none),
                    hv[0],
                    hv[1],
                    hv[0] / hv[1],
                    hv[2] / hv[1]
                );
                rows.entry(name).or_default().push([
                    saved,
                    hv[0] / hv[1],
                    hv[2] / hv[1],
                    stopped as f64,
                ]);
            }
        }
        for (name, r) in rows {
            let mean = |k: usize| r.iter().map(|x| x[k]).sum::<f64>() / r.len() as f64;
            let per_seed = |k: usize, scale: f64| {
                r.iter()
                    .map(|x| format!("{:.3}", scale * x[k]))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            println!(
                "crossing {crossing}, {name}: epochs saved {:.1} % ({}), HV ratio {:.4} ({}), \
                 equal-epoch random {:.4}, stopped {:.1} of {trials}",
                100.0 * mean(0),
                per_seed(0, 100.0),
                mean(1),
                per_seed(1, 1.0),
                mean(2),
                mean(3),
            );
        }
    }
}
