//! [`BuiltinRunner`]: `[runner] kind = "builtin"`.

use std::time::Duration;

use async_trait::async_trait;
use paretosearch_core::{FailKind, SearchSpace, TrialOutcome};
use tokio_util::sync::CancellationToken;

use super::{names, problem, Mismatch, MixedProblem, Problem};
use crate::{Job, Reporter, Runner, RunnerError};

/// The problem a [`BuiltinRunner`] evaluates.
#[derive(Clone, Copy, Debug)]
enum Which {
    /// One of the unit-cube problems (`zdt1` ...).
    Unit(Problem),
    /// `mixed`.
    Mixed,
}

/// `[runner] kind = "builtin"`: evaluates a built-in problem in-process,
/// reporting objectives `f1 .. fm`. With a [`delay`](Self::with_delay)
/// every trial takes that long (the runner waits before it reports), so
/// that trials of many workers overlap as real ones do.
#[derive(Clone, Debug)]
pub struct BuiltinRunner {
    which: Which,
    delay: Option<Duration>,
}

impl BuiltinRunner {
    /// The runner for the problem called `problem` (a unit-cube problem of
    /// [`names`], or `mixed`); the error lists the known problems.
    pub fn new(name: &str) -> Result<Self, RunnerError> {
        let which = if name == MixedProblem::NAME {
            Which::Mixed
        } else {
            match problem(name) {
                Some(p) => Which::Unit(p),
                None => {
                    return Err(RunnerError::UnknownProblem {
                        name: name.to_string(),
                        known: format!("{}, {}", names().join(", "), MixedProblem::NAME),
                    })
                }
            }
        };
        Ok(BuiltinRunner { which, delay: None })
    }

    /// Every trial takes `delay` (`[runner] delay`); `None`: no wait.
    pub fn with_delay(mut self, delay: Option<Duration>) -> Self {
        self.delay = delay.filter(|d| !d.is_zero());
        self
    }

    /// The unit-cube problem this runner evaluates (`None` for `mixed`).
    pub fn problem(&self) -> Option<&Problem> {
        match &self.which {
            Which::Unit(p) => Some(p),
            Which::Mixed => None,
        }
    }

    /// Check a study's space and objectives against the problem before
    /// any trial runs.
    pub fn check_study(&self, space: &SearchSpace, objectives: &[&str]) -> Result<(), Mismatch> {
        match &self.which {
            Which::Unit(p) => p.check_study(space, objectives),
            Which::Mixed => MixedProblem.check_study(space, objectives),
        }
    }

    fn objective_names(&self) -> Vec<String> {
        match &self.which {
            Which::Unit(p) => p.objective_names(),
            Which::Mixed => vec!["f1".into(), "f2".into()],
        }
    }
}

fn interrupted(when: &str) -> TrialOutcome {
    TrialOutcome::Fail {
        kind: FailKind::Interrupted,
        reason: format!("interrupted {when}"),
    }
}

#[async_trait]
impl Runner for BuiltinRunner {
    async fn run(
        &self,
        job: Job,
        _reporter: &dyn Reporter,
        cancel: CancellationToken,
    ) -> TrialOutcome {
        if cancel.is_cancelled() {
            return interrupted("before the trial started");
        }
        let produced = self.objective_names();
        if let Some(unknown) = job.objectives.iter().find(|o| !produced.contains(o)) {
            let name = match &self.which {
                Which::Unit(p) => p.name,
                Which::Mixed => MixedProblem::NAME,
            };
            return TrialOutcome::Fail {
                kind: FailKind::Error,
                reason: format!(
                    "objective `{unknown}` is not produced by built-in problem {name} (it reports {})",
                    produced.join(", ")
                ),
            };
        }
        if let Some(d) = self.delay {
            tokio::select! {
                _ = tokio::time::sleep(d) => {}
                _ = cancel.cancelled() => return interrupted("while the trial waited out its delay"),
            }
        }
        let values = match &self.which {
            Which::Unit(p) => p.evaluate_params(&job.params),
            Which::Mixed => MixedProblem.evaluate_params(&job.params),
        };
        match values {
            Ok(values) => TrialOutcome::Complete(values),
            Err(reason) => TrialOutcome::Fail {
                kind: FailKind::Error,
                reason,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NoReporter;
    use paretosearch_core::{ParamValue, Params};

    fn job(params: Params) -> Job {
        Job {
            study: "s".into(),
            trial: 0,
            params,
            seed: 0,
            objectives: vec!["f1".into(), "f2".into()],
            log_path: None,
        }
    }

    #[tokio::test]
    async fn builtin_runner_evaluates_and_checks() {
        let err = BuiltinRunner::new("zdt9").unwrap_err().to_string();
        assert!(
            err.contains("zdt9") && err.contains("zdt1") && err.contains("dtlz7"),
            "{err}"
        );

        let r = BuiltinRunner::new("zdt1").unwrap();
        let mut params: Params = (0..10)
            .map(|i| (format!("x{i}"), ParamValue::Float(0.0)))
            .collect();
        params.insert("x0".into(), ParamValue::Float(0.25));
        let out = r
            .run(job(params.clone()), &NoReporter, CancellationToken::new())
            .await;
        match out {
            TrialOutcome::Complete(v) => {
                assert!((v["f1"] - 0.25).abs() < 1e-12 && (v["f2"] - 0.5).abs() < 1e-12)
            }
            o => panic!("{o:?}"),
        }

        params.remove("x3");
        let out = r
            .run(job(params.clone()), &NoReporter, CancellationToken::new())
            .await;
        assert!(matches!(out, TrialOutcome::Fail { reason, .. } if reason.contains("`x3`")));

        params.insert("x3".into(), ParamValue::Float(1.5));
        let out = r
            .run(job(params), &NoReporter, CancellationToken::new())
            .await;
        assert!(matches!(out, TrialOutcome::Fail { reason, .. } if reason.contains("[0, 1]")));

        let mut j = job(Params::new());
        j.objectives = vec!["accuracy".into()];
        let out = r.run(j, &NoReporter, CancellationToken::new()).await;
        assert!(matches!(out, TrialOutcome::Fail { reason, .. } if reason.contains("`accuracy`")));
    }

    #[tokio::test]
    async fn mixed_is_a_builtin_problem() {
        let r = BuiltinRunner::new("mixed").unwrap();
        assert!(r.problem().is_none());
        let space = MixedProblem.search_space();
        assert!(r.check_study(&space, &["f1", "f2"]).is_ok());
        let params = space.from_unit(&[0.5; 7]);
        let out = r
            .run(job(params), &NoReporter, CancellationToken::new())
            .await;
        assert!(
            matches!(&out, TrialOutcome::Complete(v) if v["f1"] == 0.5),
            "{out:?}"
        );
        let err = BuiltinRunner::new("mixd").unwrap_err().to_string();
        assert!(err.contains("zdt1") && err.contains("mixed"), "{err}");
    }

    fn zdt1_front_point() -> Params {
        (0..10)
            .map(|i| (format!("x{i}"), ParamValue::Float(0.0)))
            .collect()
    }

    // Virtual time (paused clock): the waits below take no real time.
    #[tokio::test(start_paused = true)]
    async fn a_delay_holds_the_result_back_until_it_has_passed() {
        let r = BuiltinRunner::new("zdt1")
            .unwrap()
            .with_delay(Some(Duration::from_millis(20)));
        let t0 = tokio::time::Instant::now();
        let out = r
            .run(
                job(zdt1_front_point()),
                &NoReporter,
                CancellationToken::new(),
            )
            .await;
        assert!(matches!(out, TrialOutcome::Complete(_)), "{out:?}");
        assert_eq!(t0.elapsed(), Duration::from_millis(20));

        // Cancelled while it waits: interrupted at once, not after the delay.
        let cancel = CancellationToken::new();
        let t0 = tokio::time::Instant::now();
        let stop = async {
            tokio::time::sleep(Duration::from_millis(5)).await;
            cancel.cancel();
        };
        let (out, ()) = tokio::join!(
            r.run(job(zdt1_front_point()), &NoReporter, cancel.clone()),
            stop
        );
        assert!(
            matches!(
                &out,
                TrialOutcome::Fail {
                    kind: FailKind::Interrupted,
                    ..
                }
            ),
            "{out:?}"
        );
        assert_eq!(t0.elapsed(), Duration::from_millis(5));

        // No delay, or a zero one: no wait at all.
        let r = BuiltinRunner::new("zdt1")
            .unwrap()
            .with_delay(Some(Duration::ZERO));
        let t0 = tokio::time::Instant::now();
        r.run(
            job(zdt1_front_point()),
            &NoReporter,
            CancellationToken::new(),
        )
        .await;
        assert_eq!(t0.elapsed(), Duration::ZERO);
    }
}
