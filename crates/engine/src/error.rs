//! The engine's errors.

use paretosearch_core::spec::SpecError;
use paretosearch_store::StoreError;

/// What can go wrong while driving a study.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The study specification is wrong (located in its file when it came
    /// from one): a bad `[sampler]`, `[pruner]` or `[runner]` option.
    #[error(transparent)]
    Spec(Box<SpecError>),
    /// The storage failed or refused (an incompatible stored study, a bad URL ...).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// [`Study::open`](crate::Study::open) found no such study.
    #[error("storage {storage} holds no study named `{name}` (fix: create it with `Study::create_or_open`, or `paretosearch run` its study file)")]
    NoSuchStudy {
        /// The study name.
        name: String,
        /// The storage, credentials masked.
        storage: String,
    },
    /// The study has no trial with this number.
    #[error("study `{study}` has no trial {number}")]
    NoSuchTrial {
        /// The study name.
        study: String,
        /// The trial number asked for.
        number: u64,
    },
    /// The trial cannot be told or reported to in its state.
    #[error("trial {number} {message}")]
    NotRunning {
        /// The trial number.
        number: u64,
        /// Its state.
        state: paretosearch_core::TrialState,
        /// What is wrong, starting with a verb (`is WAITING: ...`), and what to do.
        message: String,
    },
    /// The sampler failed to propose parameters; the trial was failed and
    /// re-queued.
    #[error("sampler `{sampler}` failed on trial {number}: {message}")]
    Sampler {
        /// The sampler kind.
        sampler: String,
        /// The trial number.
        number: u64,
        /// What it said.
        message: String,
    },
    /// A parameter was asked for under a name the trial does not have, or
    /// as the wrong type.
    #[error("{0}")]
    Param(#[from] crate::ParamError),
    /// Values told for a trial that cannot be recorded as they are.
    #[error("{0}")]
    Values(String),
    /// A bad option passed in code (budget or workers of 0 ...).
    #[error("{0}")]
    Options(String),
    /// A background task of the engine panicked.
    #[error("an engine task panicked: {0}")]
    Panicked(String),
}

impl From<SpecError> for EngineError {
    fn from(e: SpecError) -> EngineError {
        EngineError::Spec(Box::new(e))
    }
}

impl EngineError {
    /// Is this the caller's input being wrong (a bad spec, option, value,
    /// or an incompatible stored study), rather than a failure of the
    /// machinery? The binary exits with status 2 for these.
    pub fn is_bad_input(&self) -> bool {
        match self {
            EngineError::Spec(_)
            | EngineError::NoSuchStudy { .. }
            | EngineError::NoSuchTrial { .. }
            | EngineError::NotRunning { .. }
            | EngineError::Param(_)
            | EngineError::Values(_)
            | EngineError::Options(_) => true,
            EngineError::Store(e) => matches!(
                e,
                StoreError::Incompatible { .. }
                    | StoreError::BadUrl { .. }
                    | StoreError::NoSuchStudy(_)
            ),
            _ => false,
        }
    }
}
