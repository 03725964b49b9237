//! Saving a trained network: where `save_weights_dir` puts a completed
//! trial's weights, re-running a configuration to save it, and the
//! safetensors file with its `.json` of parameters and values.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use paretosearch_runner::Job;

use super::pipeline::TrialEnd;
use super::TorchRunner;
use crate::error::TorchError;
use crate::model::Net;
use crate::train::{Control, EpochReport};

impl TorchRunner {
    /// Where a completed trial's weights are written when
    /// `save_weights_dir` is set: `<dir>/<study>/trial-<n>.safetensors`
    /// (with a `.json` beside it holding the parameters and values).
    pub fn weights_path(&self, study: &str, trial: u64) -> Option<PathBuf> {
        let dir = self.inner.opts.save_weights_dir.as_ref()?;
        Some(weights_file(dir, study, trial))
    }

    /// Re-run a configuration (deterministic from `job.seed`) and save its
    /// weights to `path` (safetensors when it ends in `.safetensors`), with
    /// a `.json` beside it. Blocking: call it from a blocking thread.
    /// Returns the measured values.
    pub fn save_weights(
        &self,
        job: &Job,
        path: &Path,
    ) -> Result<BTreeMap<String, f64>, TorchError> {
        let inner = &self.inner;
        let lease = inner.lease(&|| false)?;
        tch::set_num_threads(self.threads() as i32);
        let mut progress = |_: u64, _: &EpochReport| Control::Continue;
        match inner.trial(
            job,
            lease.device,
            &mut progress,
            &|| false,
            Some(path),
            None,
        )? {
            TrialEnd::Complete(v) => Ok(v),
            TrialEnd::Stopped { reason, .. } => {
                Err(TorchError::Unsupported(format!("stopped: {reason}")))
            }
        }
    }
}

pub(super) fn weights_file(dir: &Path, study: &str, trial: u64) -> PathBuf {
    dir.join(study).join(format!("trial-{trial}.safetensors"))
}

pub(super) fn save(
    net: &Net,
    path: &Path,
    job: &Job,
    model: &str,
    values: &BTreeMap<String, f64>,
) -> Result<(), TorchError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|source| TorchError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    net.save(path)?;
    let meta = serde_json::json!({
        "study": job.study,
        "trial": job.trial,
        "seed": job.seed,
        "model": model,
        "sample_shape": net.sample_shape,
        "classes": net.classes,
        "params": job.params,
        "values": values,
    });
    let json_path = path.with_extension("json");
    std::fs::write(
        &json_path,
        serde_json::to_string_pretty(&meta).expect("json"),
    )
    .map_err(|source| TorchError::Io {
        path: json_path,
        source,
    })
}
