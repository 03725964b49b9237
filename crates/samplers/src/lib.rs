//! # paretosearch-samplers
//!
//! A sampler proposes the next configuration of a study. This crate holds
//! the [`Sampler`] trait and every sampler behind it.
//!
//! ## The shape of a sampler
//!
//! A sampler sees a [`StudyView`]: the search space, the objectives, the
//! study seed and every trial known so far (finished ones, and RUNNING or
//! WAITING ones of this and other workers, so that parallel workers can
//! avoid proposing the same point). It answers with a [`Proposal`]: a full,
//! joint configuration (conditional parameters included) and a few
//! bookkeeping attributes that the store keeps with the trial (NSGA-II's
//! generation, the sampler that `auto` chose ...). Keeping state in trial
//! attributes rather than in the sampler object is what lets a study resume
//! after a crash, or run on many machines, and continue the same search.
//!
//! ## Determinism
//!
//! All randomness of trial `n` comes from [`trial_rng`]`(seed, n, stream)`,
//! never from a generator advanced by earlier calls. The same seed and the
//! same trial history therefore give the same proposal, whichever worker
//! asks and however many there are.
//!
//! ## Options
//!
//! [`build`] turns `[sampler]` (kind and options table) into a boxed
//! sampler; each sampler rejects options it does not know, with the key in
//! the message.

use paretosearch_core::spec::SamplerSpec;
use paretosearch_core::Params;
pub use paretosearch_core::StudyView;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

pub mod auto;
pub mod gp;
pub mod nsga2;
pub mod random;
pub mod tpe;

pub use auto::AutoSampler;
pub use gp::GpSampler;
pub use nsga2::Nsga2Sampler;
pub use random::{RandomSampler, SobolSampler};
pub use tpe::TpeSampler;

/// Errors raised while building or running a sampler.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SamplerError {
    /// Unknown sampler kind.
    #[error("unknown sampler kind `{0}`")]
    UnknownKind(String),
    /// An option key the sampler does not know, or a bad value.
    #[error("sampler option `{key}`: {message}")]
    BadOption {
        /// Option key.
        key: String,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// The sampler cannot work with this study.
    #[error("{0}")]
    Unsupported(String),
}

/// A sampler's answer.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Proposal {
    /// The configuration: all active parameters.
    pub params: Params,
    /// Bookkeeping stored with the trial.
    pub attrs: serde_json::Map<String, serde_json::Value>,
}

/// Proposes configurations.
pub trait Sampler: Send {
    /// Short name (`random`, `tpe` ...).
    fn name(&self) -> &str;

    /// Propose the parameters of trial `number`.
    fn propose(&mut self, study: &StudyView<'_>, number: u64) -> Result<Proposal, SamplerError>;
}

/// The random generator of trial `number`, stream `stream` (samplers use
/// distinct streams for distinct purposes). Depends only on its arguments.
pub fn trial_rng(seed: u64, number: u64, stream: u64) -> ChaCha8Rng {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(&number.to_le_bytes());
    key[16..24].copy_from_slice(&stream.to_le_bytes());
    key[24..].copy_from_slice(b"paretosr");
    ChaCha8Rng::from_seed(key)
}

/// Read an optional option from a sampler's table, with a typed error.
pub fn option<T: serde::de::DeserializeOwned>(
    options: &toml::Table,
    key: &str,
) -> Result<Option<T>, SamplerError> {
    match options.get(key) {
        None => Ok(None),
        Some(v) => v
            .clone()
            .try_into()
            .map(Some)
            .map_err(|e: toml::de::Error| SamplerError::BadOption {
                key: key.to_string(),
                message: e.message().to_string(),
            }),
    }
}

/// Fail on option keys not in `known`.
pub fn reject_unknown(options: &toml::Table, known: &[&str]) -> Result<(), SamplerError> {
    for k in options.keys() {
        if !known.contains(&k.as_str()) {
            return Err(SamplerError::BadOption {
                key: k.clone(),
                message: format!("unknown option; known options are: {}", known.join(", ")),
            });
        }
    }
    Ok(())
}

/// Names of the sampler kinds [`build`] knows.
pub const KINDS: &[&str] = &["random", "sobol", "tpe", "nsga2", "gp", "auto"];

/// Build the sampler a `[sampler]` table describes.
pub fn build(spec: &SamplerSpec) -> Result<Box<dyn Sampler>, SamplerError> {
    match spec.kind.as_str() {
        "random" => Ok(Box::new(RandomSampler::from_options(&spec.options)?)),
        "sobol" => Ok(Box::new(SobolSampler::from_options(&spec.options)?)),
        "tpe" => Ok(Box::new(TpeSampler::from_options(&spec.options)?)),
        "nsga2" => Ok(Box::new(Nsga2Sampler::from_options(&spec.options)?)),
        "gp" => Ok(Box::new(GpSampler::from_options(&spec.options)?)),
        "auto" => Ok(Box::new(AutoSampler::from_options(&spec.options)?)),
        other => Err(SamplerError::UnknownKind(other.to_string())),
    }
}
