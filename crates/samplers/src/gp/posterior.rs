//! The model's front: what the GP believes each finished trial's
//! objectives are, and the trials that are Pareto-optimal by that belief.
//!
//! With noisy objectives the observed Pareto set is biased: a trial enters
//! it by being measured luckily as often as by being good, and its reported
//! values are the lucky ones. One GP per objective, with its observation
//! noise fitted (the default, `deterministic_objective = false`), gives a
//! posterior mean at each trial's own configuration that pools the
//! evidence of its neighbours: noise the model attributes to the
//! measurement is taken out. The *posterior Pareto set* is the set of
//! trials non-dominated by their posterior means (among those whose means
//! satisfy the bounds), reported with those means and their standard
//! deviations, so a user picks from estimates rather than from draws.
//!
//! The fit is the sampler's own (same encoding, standardisation, priors,
//! training cap): only the questions asked of it differ.

use paretosearch_core::pareto::pareto_front;
use paretosearch_core::Direction;

use super::encode::Encoding;
use super::reference::training_subset;
use super::rows::Rows;
use super::{GpSampler, Target};
use crate::StudyView;

/// The model's estimate of one finished trial's objectives.
#[derive(Clone, Debug, PartialEq)]
pub struct Estimate {
    /// The trial's number.
    pub number: u64,
    /// Posterior mean of each objective, in its own direction and units.
    pub mean: Vec<f64>,
    /// Posterior standard deviation of each objective's *value* (the
    /// latent function's; measurement noise excluded).
    pub sd: Vec<f64>,
    /// Fitted measurement-noise standard deviation of each objective.
    pub noise_sd: Vec<f64>,
}

/// The posterior estimates of every COMPLETE trial and the posterior
/// Pareto set.
#[derive(Clone, Debug, PartialEq)]
pub struct Posterior {
    /// One per COMPLETE trial with finite values, in trial order.
    pub estimates: Vec<Estimate>,
    /// Numbers of the trials non-dominated by their posterior means,
    /// among those whose means satisfy every bound; ascending.
    pub front: Vec<u64>,
}

impl GpSampler {
    /// Fit the models to the COMPLETE trials of `study` and estimate each
    /// one's objectives. `None` with fewer than two such trials or an
    /// empty space.
    pub fn posterior(&self, study: &StudyView<'_>) -> Option<Posterior> {
        let space = study.space;
        let objectives = study.objectives;
        let (d, m) = (space.len(), objectives.len());
        if d == 0 || m == 0 {
            return None;
        }
        let enc = Encoding::new(space);
        let is_cat = enc.categorical_mask();
        let Rows {
            numbers,
            x,
            ys,
            violations,
        } = Rows::of(study, space, &enc);
        if ys.len() < 2 {
            return None;
        }
        let all_x = x.clone();
        let (train_x, train_y) = if ys.len() > self.options.max_train.max(2) {
            let keep = training_subset(&ys, &violations, self.options.max_train.max(2));
            (
                keep.iter()
                    .flat_map(|&i| x[i * d..(i + 1) * d].to_vec())
                    .collect(),
                keep.iter().map(|&i| ys[i].clone()).collect(),
            )
        } else {
            (x, ys.clone())
        };
        let targets: Vec<Target> = (0..m)
            .map(|j| Target::new(train_y.iter().map(|y: &Vec<f64>| y[j]).collect()))
            .collect();
        let warm = super::warm_start(study.trials, u64::MAX);
        let (models, _) = self.fit_models(&train_x, d, &is_cat, &targets, warm.as_ref());
        let mut estimates: Vec<Estimate> = numbers
            .iter()
            .map(|&number| Estimate {
                number,
                mean: Vec::with_capacity(m),
                sd: Vec::with_capacity(m),
                noise_sd: Vec::with_capacity(m),
            })
            .collect();
        for (j, (gp, t)) in models.iter().zip(&targets).enumerate() {
            let (means, vars) = gp.posterior_batch(&all_x);
            let sign = match objectives.0[j].direction {
                Direction::Minimize => 1.0,
                Direction::Maximize => -1.0,
            };
            let noise_sd = gp.kernel().noise.sqrt() * t.sd;
            for (e, (mu, var)) in estimates.iter_mut().zip(means.iter().zip(&vars)) {
                e.mean.push(sign * (t.mean + t.sd * mu));
                e.sd.push(t.sd * var.max(0.0).sqrt());
                e.noise_sd.push(noise_sd);
            }
        }
        let names: Vec<String> = objectives.names().iter().map(|s| s.to_string()).collect();
        let feasible: Vec<usize> = (0..estimates.len())
            .filter(|&i| {
                let values = names
                    .iter()
                    .cloned()
                    .zip(estimates[i].mean.iter().copied())
                    .collect();
                objectives.violation(&values) == 0.0
            })
            .collect();
        let points: Vec<Vec<f64>> = feasible
            .iter()
            .map(|&i| {
                estimates[i]
                    .mean
                    .iter()
                    .zip(objectives.iter())
                    .map(|(v, o)| match o.direction {
                        Direction::Minimize => *v,
                        Direction::Maximize => -*v,
                    })
                    .collect()
            })
            .collect();
        let mut front: Vec<u64> = pareto_front(&points)
            .into_iter()
            .map(|k| estimates[feasible[k]].number)
            .collect();
        front.sort_unstable();
        Some(Posterior { estimates, front })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use paretosearch_core::{Objective, Objectives, ParamValue, SearchSpace, Trial, TrialState};
    use rand::SeedableRng;
    use rand_distr::{Distribution as _, Normal};

    fn study(noise: f64, n: u64) -> (SearchSpace, Objectives, Vec<Trial>, Vec<f64>) {
        let space = SearchSpace::builder().float("x", 0.0, 1.0).build().unwrap();
        let objectives = Objectives(vec![Objective {
            name: "f".into(),
            direction: Direction::Maximize,
            constraint: None,
            cheap: false,
        }]);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let normal = Normal::new(0.0, noise).unwrap();
        let mut truth = Vec::new();
        let trials = (0..n)
            .map(|i| {
                let x = (i as f64 + 0.5) / n as f64;
                let f = (6.0 * x).sin();
                truth.push(f);
                let mut t = Trial::new(i, TrialState::Complete);
                t.params.insert("x".into(), ParamValue::Float(x));
                t.values.insert("f".into(), f + normal.sample(&mut rng));
                t
            })
            .collect();
        (space, objectives, trials, truth)
    }

    #[test]
    fn the_posterior_mean_is_closer_to_the_truth_than_the_noisy_observations() {
        let (space, objectives, trials, truth) = study(0.3, 40);
        let view = StudyView {
            space: &space,
            objectives: &objectives,
            trials: &trials,
            seed: 0,
        };
        let p = GpSampler::default().posterior(&view).unwrap();
        assert_eq!(p.estimates.len(), 40);
        let err = |f: &dyn Fn(usize) -> f64| {
            (0..40).map(|i| (f(i) - truth[i]).powi(2)).sum::<f64>() / 40.0
        };
        let observed = err(&|i| trials[i].values["f"]);
        let posterior = err(&|i| p.estimates[i].mean[0]);
        assert!(posterior < 0.5 * observed, "{posterior} vs {observed}");
        // The fitted noise is of the size that was added, in the
        // objective's units.
        let noise = p.estimates[0].noise_sd[0];
        assert!((0.15..0.6).contains(&noise), "{noise}");
        // One objective, maximised: the front is the trial of the highest
        // posterior mean, near the true maximum at x = pi / 12.
        assert_eq!(p.front.len(), 1);
        let best = &p.estimates[p.front[0] as usize];
        let x = trials[best.number as usize].params["x"].as_f64().unwrap();
        assert!((x - std::f64::consts::PI / 12.0).abs() < 0.1, "{x}");
    }

    #[test]
    fn without_noise_the_posterior_reproduces_the_observations() {
        let (space, objectives, trials, truth) = study(1e-9, 15);
        let view = StudyView {
            space: &space,
            objectives: &objectives,
            trials: &trials,
            seed: 0,
        };
        let p = GpSampler::default().posterior(&view).unwrap();
        for (e, t) in p.estimates.iter().zip(&truth) {
            assert!((e.mean[0] - t).abs() < 1e-2, "{} vs {t}", e.mean[0]);
        }
    }
}
