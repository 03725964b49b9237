//! The heartbeat task of a [`Study`](crate::Study): while trials handed out
//! by the handle run, refresh their heartbeat; every beat, fail the trials
//! of dead or silent workers and re-queue their parameters.

use std::sync::{Arc, Weak};
use std::time::Duration;

use paretosearch_core::clock::now_ms;

use crate::observer::Level;
use crate::study::{Inner, Study};

/// Start the task; it holds the study weakly and ends with it.
pub(crate) fn spawn(inner: &Arc<Inner>) {
    let weak: Weak<Inner> = Arc::downgrade(inner);
    let closed = inner.closed.clone();
    let every = inner.spec.heartbeat.max(Duration::from_millis(100));
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = closed.cancelled() => return,
                _ = tokio::time::sleep(every) => {}
            }
            let Some(inner) = weak.upgrade() else { return };
            let study = Study { inner };
            beat(&study).await;
        }
    });
}

/// One beat: refresh this handle's running trials, then recover stale ones.
pub(crate) async fn beat(study: &Study) {
    let ids: Vec<i64> = study.inner.active.lock().unwrap().iter().copied().collect();
    if !ids.is_empty() {
        if let Err(e) = study.inner.store.heartbeat(&ids, now_ms()).await {
            study.say(Level::Warning, format!("warning: heartbeat failed: {e}"));
        }
    }
    if let Err(e) = study.recover_stale().await {
        study.say(
            Level::Warning,
            format!("warning: stale-trial sweep failed: {e}"),
        );
    }
}
