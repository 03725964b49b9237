//! What the forecast rule tells a user about itself (`status --json`, the
//! report): per objective, how many completed curves calibrate it, the
//! measured coverage of its 80 % intervals (calibrated, and raw for
//! comparison), each model's backtest error and weight; and for the study,
//! an estimate of the false-stop rate: the completed trials replayed
//! through the rule (each left out of its own neighbour search), counting
//! those the rule would have stopped although they ended on the front.

use paretosearch_core::pareto::dominates;
use paretosearch_core::{StudyView, Trial, TrialState};
use serde_json::{json, Value};

use super::super::DominatedPruner;
use super::{curves, NotYet};
use crate::forecast::{model_names, BINS};
use crate::{cheap_values, feasible_points};

/// Completed trials replayed for the false-stop estimate at most.
const BACKTESTED: usize = 100;

impl DominatedPruner {
    /// The rule's calibration and false-stop estimate on `study`.
    pub(crate) fn diagnose_forecast(&self, study: &StudyView<'_>) -> Value {
        let trials = study.trials;
        let horizon = self.max_steps.or_else(|| {
            trials
                .iter()
                .filter(|t| t.state == TrialState::Complete)
                .filter_map(|t| t.intermediate.last().map(|r| r.step))
                .max()
        });
        let Some(horizon) = horizon else {
            return json!({
                "rule": "forecast",
                "state": "waiting: no completed trial has reported a learning curve yet",
            });
        };
        let names = model_names();
        let mut per_objective = serde_json::Map::new();
        let mut warming = Vec::new();
        for o in study.objectives.iter() {
            let peers = curves(trials, &o.name, o.direction, u64::MAX);
            if peers.is_empty() {
                continue; // not reported during training (cheap, or final only)
            }
            let cal = self.calibration(&o.name, horizon, &peers);
            if !cal.ready(self.min_curves) {
                warming.push(format!(
                    "`{}`: {} of {} completed full-length curves",
                    o.name, cal.curves, self.min_curves
                ));
            }
            let weights: Vec<Value> = (0..BINS)
                .map(|b| {
                    let w = cal.weights(b);
                    json!(names
                        .iter()
                        .zip(w)
                        .filter(|(_, w)| *w > 0.0)
                        .map(|(n, w)| (n.to_string(), json!(w)))
                        .collect::<serde_json::Map<_, _>>())
                })
                .collect();
            per_objective.insert(
                o.name.clone(),
                json!({
                    "curves": cal.curves,
                    "backtest_cases": cal.cases,
                    "cases_per_progress_bin": cal.cases_per_bin(),
                    "min_cases": self.min_cases,
                    "interval": crate::forecast::calibrate::LEVEL,
                    "coverage": cal.coverage,
                    "coverage_uncalibrated": cal.coverage_raw,
                    "calibrated": cal.calibrated,
                    "ensemble_rmse": cal.ensemble_rmse,
                    "model_rmse": cal.model_rmse.iter().map(|(n, e)| (n.to_string(), json!(e))).collect::<serde_json::Map<_, _>>(),
                    "weights_by_progress": weights,
                }),
            );
        }
        let state = if warming.is_empty() {
            "calibrated".to_string()
        } else {
            format!(
                "conservative: the forecast waits for {} (until then only the linear bound stops trials)",
                warming.join(", ")
            )
        };
        json!({
            "rule": "forecast",
            "stop_below": self.stop_below,
            "horizon": horizon,
            "state": state,
            "objectives": per_objective,
            "false_stops": self.false_stops(study, horizon),
        })
    }

    /// Replay the latest completed full-length trials through the rule.
    fn false_stops(&self, study: &StudyView<'_>, horizon: u64) -> Value {
        let mut done: Vec<&Trial> = study
            .trials
            .iter()
            .filter(|t| t.state == TrialState::Complete)
            .filter(|t| t.intermediate.last().is_some_and(|r| r.step >= horizon))
            .collect();
        done.sort_by_key(|t| std::cmp::Reverse(t.number));
        done.truncate(BACKTESTED);
        let (mut judged, mut stopped, mut mattered, mut wrong) = (0, 0, 0, 0);
        for t in done {
            let refs = feasible_points(study.trials, study.objectives, Some(t.number));
            if refs.is_empty() {
                continue;
            }
            let matters = study.objectives.violation(&t.values) <= 0.0
                && t.minimised(study.objectives)
                    .is_some_and(|me| !refs.iter().any(|r| dominates(r, &me)));
            let cheap = cheap_values(t);
            let mut would_stop = false;
            let mut any = false;
            for r in t
                .intermediate
                .iter()
                .filter(|r| r.step >= self.warmup_steps && r.step < horizon)
            {
                let mut head = t.clone();
                head.intermediate.retain(|x| x.step <= r.step);
                head.state = TrialState::Running;
                match self.judge(
                    study.trials,
                    study.objectives,
                    &head,
                    r.step,
                    horizon,
                    &refs,
                    &cheap,
                    study.seed,
                    Some(t.number),
                ) {
                    Ok(j) => {
                        any = true;
                        if j.verdict(r.step, horizon, self.stop_below).is_some() {
                            would_stop = true;
                            break;
                        }
                    }
                    Err(NotYet::Warming { .. }) | Err(NotYet::Unknown(_)) => {}
                }
            }
            if !any {
                continue;
            }
            judged += 1;
            stopped += usize::from(would_stop);
            mattered += usize::from(matters);
            wrong += usize::from(would_stop && matters);
        }
        json!({
            "backtested_trials": judged,
            "would_stop": stopped,
            "on_the_front": mattered,
            "wrongly_stopped": wrong,
            "rate": (mattered > 0).then(|| wrong as f64 / mattered as f64),
        })
    }
}
