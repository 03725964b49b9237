//! The held-out test set: loaded (or carved from the dataset) at start-up,
//! standardised with the training rows' statistics, and touched only by
//! [`Runner::evaluate_test`](paretosearch_runner::Runner::evaluate_test),
//! which `paretosearch export` calls for the trials it exports. A trial of
//! the study never sees it: [`Inner::trial`] scores it only when handed a
//! [`TestRun`], which only `evaluate_test` does, after the study's trials
//! have finished and their values are stored.
//!
//! `test_fraction` sets its rows apart before anything else (with a
//! generator of its own), so that the validation rows, `limit` and the
//! training rows are drawn from the rest.

use std::collections::BTreeMap;

use paretosearch_core::spec::{SpecError, SpecOrigin};
use paretosearch_runner::{Job, TestScores};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::pipeline::TrialEnd;
use super::{Inner, TorchRunner};
use crate::data::{self, Dataset, DatasetSource};
use crate::error::TorchError;
use crate::options::{error_at, TestSet, TorchOptions, TEST_OBJECTIVES};
use crate::train::{Control, EpochReport};

/// Mixed into the study seed for the rows `test_fraction` sets apart, so
/// that they are not the validation rows' generator's first draws.
const TEST_SEED: u64 = 0x7e57_5e7d_0f7e_5700;

/// A test set to score a finished network on, and where the scores go.
pub(super) struct TestRun<'a> {
    pub data: &'a Dataset,
    pub scores: BTreeMap<String, f64>,
}

/// The dataset the trials split into training and validation rows, and the
/// raw (not yet standardised) test set, per the options' `test` or
/// `test_fraction`.
#[allow(clippy::result_large_err)]
pub(super) fn set_apart(
    opts: &TorchOptions,
    dataset: Dataset,
    study_seed: u64,
    origin: &SpecOrigin,
) -> Result<(Dataset, Option<Dataset>), SpecError> {
    match &opts.test {
        None => Ok((dataset, None)),
        Some(TestSet::Fraction(f)) => {
            let n = dataset.len();
            let n_test = ((n as f64 * f).round() as i64).clamp(1, n - 2);
            if n < 4 {
                return Err(error_at(
                    origin,
                    "test_fraction",
                    format!("{n} rows are too few to set a test set apart"),
                    Some("use a larger dataset, or remove test_fraction"),
                ));
            }
            let mut idx: Vec<i64> = (0..n).collect();
            idx.shuffle(&mut ChaCha8Rng::seed_from_u64(study_seed ^ TEST_SEED));
            let (test, rest) = idx.split_at(n_test as usize);
            let mut rest = rest.to_vec();
            // The rest in its original order: the validation split then
            // shuffles it as it shuffles a dataset without a test set.
            rest.sort_unstable();
            Ok((dataset.rows(&rest), Some(dataset.rows(test))))
        }
        Some(TestSet::Source(source)) => {
            let test = data::load(source).map_err(|e| {
                error_at(
                    origin,
                    "test",
                    e.to_string(),
                    Some("check the path and the files' format"),
                )
            })?;
            if test.sample_shape != dataset.sample_shape {
                return Err(error_at(
                    origin,
                    "test",
                    format!(
                        "the test samples have shape {:?}, the dataset's {:?}",
                        test.sample_shape, dataset.sample_shape
                    ),
                    Some("give the test set samples of the dataset's shape"),
                ));
            }
            let named = matches!(
                source,
                DatasetSource::Csv { .. } | DatasetSource::ImageFolder { .. }
            );
            if (named && test.classes != dataset.classes) || test.classes > dataset.classes {
                return Err(error_at(
                    origin,
                    "test",
                    format!(
                        "the test set has {} classes, the dataset {}",
                        test.classes, dataset.classes
                    ),
                    Some("give the test set the same classes (CSV labels, class folders) as the dataset"),
                ));
            }
            if test.is_empty() {
                return Err(error_at(
                    origin,
                    "test",
                    "the test set is empty",
                    Some("give a test set with samples, or remove `test`"),
                ));
            }
            Ok((dataset, Some(test)))
        }
    }
}

impl Inner {
    /// The objectives a test set measures, for `net`.
    pub(super) fn score(
        &self,
        data: &Dataset,
        infer: &mut dyn FnMut(&tch::Tensor) -> tch::Tensor,
    ) -> BTreeMap<String, f64> {
        let (loss, accuracy) = crate::train::evaluate_with(data, self.opts.eval_batch, infer);
        [
            ("accuracy".to_string(), accuracy),
            ("loss".to_string(), loss),
        ]
        .into()
    }
}

/// [`Runner::evaluate_test`](paretosearch_runner::Runner::evaluate_test) of
/// a [`TorchRunner`]: the trial's configuration trained again from its
/// seed, without a pruner, and scored on the test set and the validation
/// set. Nothing is saved.
pub(super) async fn evaluate(runner: &TorchRunner, job: Job) -> Option<Result<TestScores, String>> {
    let test = runner.inner.test.as_ref()?.lock().ok()?.shallow_clone();
    let inner = runner.inner.clone();
    let threads = runner.threads();
    let res = tokio::task::spawn_blocking(move || -> Result<TestScores, TorchError> {
        let lease = inner.lease(&|| false)?;
        tch::set_num_threads(threads as i32);
        let data = test.to_device(lease.device);
        let mut run = TestRun {
            data: &data,
            scores: BTreeMap::new(),
        };
        let mut progress = |_: u64, _: &EpochReport| Control::Continue;
        match inner.trial(
            &job,
            lease.device,
            &mut progress,
            &|| false,
            None,
            Some(&mut run),
        )? {
            TrialEnd::Complete(mut valid) => {
                valid.retain(|k, _| TEST_OBJECTIVES.contains(&k.as_str()));
                Ok(TestScores {
                    test: run.scores,
                    valid,
                })
            }
            TrialEnd::Stopped { reason, .. } => Err(TorchError::Unsupported(format!(
                "the re-run stopped: {reason}"
            ))),
        }
    })
    .await;
    Some(match res {
        Ok(r) => r.map_err(|e| e.to_string()),
        Err(e) => Err(format!("the test thread panicked: {e}")),
    })
}
