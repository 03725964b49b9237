//! Running a trial's blocking libtorch work from async code: the trial
//! runs on a blocking thread, checks the cancellation token between steps
//! (and while waiting for a GPU slot), and sends each epoch's report back
//! over a channel to be judged by the async reporter, whose verdict it
//! waits for.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use paretosearch_core::{FailKind, PruneReason, PruneRule, TrialOutcome};
use paretosearch_runner::{Job, ProfileJob, Reporter, Verdict};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::pipeline::TrialEnd;
use super::TorchRunner;
use crate::error::TorchError;
use crate::train::{Control, EpochReport};

type ReportMsg = (u64, BTreeMap<String, f64>, oneshot::Sender<Verdict>);

/// [`Runner::run`](paretosearch_runner::Runner::run) of a [`TorchRunner`].
pub(super) async fn run(
    runner: &TorchRunner,
    job: Job,
    reporter: &dyn Reporter,
    cancel: CancellationToken,
) -> TrialOutcome {
    let inner = runner.inner.clone();
    let threads = runner.threads();
    let (tx, mut rx) = mpsc::channel::<ReportMsg>(1);
    let token = cancel.clone();
    // The verdict that stopped the trial, rule included (the training loop
    // only carries its sentence).
    let stopped_by: Arc<Mutex<Option<PruneReason>>> = Arc::default();
    let stopped = stopped_by.clone();
    let handle = tokio::task::spawn_blocking(move || {
        let cancelled = || token.is_cancelled();
        let lease = match inner.lease(&cancelled) {
            Ok(l) => l,
            Err(e) => return Err(e),
        };
        tch::set_num_threads(threads as i32);
        let mut progress = |step: u64, rep: &EpochReport| {
            let values: BTreeMap<String, f64> = [
                ("accuracy".to_string(), rep.accuracy),
                ("loss".to_string(), rep.loss),
                ("train_loss".to_string(), rep.train_loss),
                ("n_valid".to_string(), rep.n_valid as f64),
            ]
            .into();
            let (reply, answer) = oneshot::channel();
            if tx.blocking_send((step, values, reply)).is_err() {
                return Control::Continue;
            }
            match answer.blocking_recv() {
                Ok(Verdict::Stop(reason)) => {
                    let detail = reason.detail.clone();
                    *stopped.lock().unwrap() = Some(reason);
                    Control::Stop(detail)
                }
                _ => Control::Continue,
            }
        };
        inner.trial(&job, lease.device, &mut progress, &cancelled, None, None)
    });
    while let Some((step, values, reply)) = rx.recv().await {
        let _ = reply.send(reporter.report(step, &values).await);
    }
    match handle.await {
        Ok(Ok(TrialEnd::Complete(values))) => TrialOutcome::Complete(values),
        Ok(Ok(TrialEnd::Stopped {
            values,
            step,
            reason,
        })) => TrialOutcome::Pruned {
            values,
            step: Some(step),
            reason: stopped_by
                .lock()
                .unwrap()
                .take()
                .unwrap_or_else(|| PruneReason::new(PruneRule::Told, reason)),
        },
        Ok(Err(TorchError::Interrupted)) => TrialOutcome::Fail {
            kind: FailKind::Interrupted,
            reason: "interrupted".into(),
        },
        Ok(Err(e)) => TrialOutcome::Fail {
            kind: FailKind::Error,
            reason: e.to_string(),
        },
        Err(e) => TrialOutcome::Fail {
            kind: FailKind::Error,
            reason: format!("the trial's libtorch thread panicked: {e}"),
        },
    }
}

/// [`Runner::profile`](paretosearch_runner::Runner::profile) of a [`TorchRunner`].
pub(super) async fn profile(
    runner: &TorchRunner,
    job: ProfileJob,
) -> Option<Result<BTreeMap<String, f64>, String>> {
    let job = Job {
        study: job.study,
        trial: job.trial,
        params: job.params,
        seed: job.seed,
        objectives: job.cheap,
        log_path: job.log_path,
    };
    let inner = runner.inner.clone();
    let threads = runner.threads();
    let res = tokio::task::spawn_blocking(move || {
        let lease = inner.lease(&|| false)?;
        tch::set_num_threads(threads as i32);
        inner.profile(&job, lease.device)
    })
    .await;
    Some(match res {
        Ok(r) => r.map_err(|e| e.to_string()),
        Err(e) => Err(format!("the profile thread panicked: {e}")),
    })
}
