//! Synthetic workloads with the shapes real studies show, for the pruning
//! benchmark: two objectives, validation accuracy (reported every epoch)
//! against a cheap latency, bigger models being better and slower.
//!
//! * `power`: saturating power-law curves, mild noise;
//! * `schedule`: curves that plateau and jump when the learning rate drops
//!   at 60 % of training, by an amount that varies by trial;
//! * `crossing`: the best final models start slowest, so curves cross and
//!   early ranks mislead;
//! * `noisy`: `power` with five times the evaluation noise.

use std::collections::BTreeMap;

use paretosearch_core::{Direction, Intermediate, Objective, Objectives};

use super::{Recorded, Workload};

/// The synthetic workload names.
pub const KINDS: [&str; 4] = ["power", "schedule", "crossing", "noisy"];

/// The synthetic workload `kind` with `n` trials of `steps` epochs.
pub fn workload(kind: &str, n: usize, steps: u64, seed: u64) -> Option<Workload> {
    if !KINDS.contains(&kind) {
        return None;
    }
    let mut next = crate::forecast::rng(seed ^ 0x5EED);
    let mut uniform = move || (next() >> 11) as f64 / (1u64 << 53) as f64;
    let trials = (0..n)
        .map(|_| {
            let size = uniform(); // model size, 0..1
            let top = 0.62 + 0.33 * size.powf(0.7) + 0.04 * (uniform() - 0.5);
            let latency = (0.5 + 4.0 * size + 0.3 * uniform()).exp();
            let (alpha, start) = match kind {
                "crossing" => (0.15 + 0.6 * (1.0 - size), 0.1 + 0.3 * (1.0 - size)),
                _ => (0.5 + 0.8 * uniform(), 0.2 + 0.2 * uniform()),
            };
            let noise = if kind == "noisy" { 0.02 } else { 0.004 };
            let jump = 0.03 + 0.06 * uniform();
            let drop_at = (0.6 * steps as f64).round() as u64;
            let reports: Vec<Intermediate> = (1..=steps)
                .map(|t| {
                    let tf = t as f64;
                    let mut acc = top - (top - start) * tf.powf(-alpha);
                    if kind == "schedule" {
                        // Before the drop the curve saturates below its top.
                        acc -= if t < drop_at { jump } else { 0.0 };
                    }
                    let gauss = {
                        let (u, v) = (uniform().max(1e-300), uniform());
                        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
                    };
                    let acc = (acc + noise * gauss).clamp(0.0, 1.0);
                    Intermediate {
                        step: t,
                        values: [("accuracy".to_string(), acc)].into(),
                    }
                })
                .collect();
            let final_acc = reports.last().unwrap().values["accuracy"];
            Recorded {
                reports,
                values: BTreeMap::from([
                    ("accuracy".to_string(), final_acc),
                    ("latency".to_string(), latency),
                ]),
                cheap: BTreeMap::from([("latency".to_string(), latency)]),
                seconds_per_step: 0.2 + 2.0 * size,
                profile_seconds: 0.5,
            }
        })
        .collect();
    Some(Workload {
        name: format!("synthetic-{kind}"),
        objectives: Objectives(vec![
            Objective {
                name: "accuracy".into(),
                direction: Direction::Maximize,
                constraint: None,
                cheap: false,
            },
            Objective {
                name: "latency".into(),
                direction: Direction::Minimize,
                constraint: None,
                cheap: true,
            },
        ]),
        trials,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workloads_have_their_shapes() {
        let s = workload("schedule", 20, 20, 1).unwrap();
        for t in &s.trials {
            let a = |k: usize| t.reports[k].values["accuracy"];
            // The jump at 60 % of training (step 12) exceeds the noise.
            assert!(a(12) - a(10) > 0.02, "{:?}", t.reports);
        }
        let c = workload("crossing", 50, 20, 1).unwrap();
        // The best final accuracy did not lead at step 2.
        let best_final = (0..50)
            .max_by(|&i, &j| {
                c.trials[i].values["accuracy"].total_cmp(&c.trials[j].values["accuracy"])
            })
            .unwrap();
        let best_early = (0..50)
            .max_by(|&i, &j| {
                c.trials[i].reports[1].values["accuracy"]
                    .total_cmp(&c.trials[j].reports[1].values["accuracy"])
            })
            .unwrap();
        assert_ne!(best_final, best_early);
        assert!(workload("nope", 1, 1, 0).is_none());
    }
}
