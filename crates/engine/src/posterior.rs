//! The study's posterior Pareto set: the trials that are Pareto-optimal by
//! a GP's estimate of their objectives rather than by their measurements
//! (see [`paretosearch_samplers::gp::Posterior`]). With noisy objectives the
//! observed set favours lucky measurements; this one is what a user should
//! pick from.

use paretosearch_core::{StudySpec, StudyView, Trial};
use paretosearch_samplers::gp::{GpSampler, Posterior};

use crate::study::Study;
use crate::EngineError;

/// Fit one GP per objective to the COMPLETE `trials` of a study and return
/// each one's estimate and the posterior Pareto set; `None` with fewer than
/// two COMPLETE trials. The GP takes the study's own `gp` options
/// (`[sampler]` of kind `gp`, or `[sampler.gp]` under `auto`), so a study
/// that declared `deterministic_objective = true` gets its observations
/// back.
pub fn posterior(spec: &StudySpec, trials: &[Trial]) -> Option<Posterior> {
    let options = match spec.sampler.kind.as_str() {
        "gp" => spec.sampler.options.clone(),
        "auto" => spec
            .sampler
            .options
            .get("gp")
            .and_then(|v| v.as_table())
            .cloned()
            .unwrap_or_default(),
        _ => toml::Table::new(),
    };
    let gp = GpSampler::from_options(&options).unwrap_or_default();
    let view = StudyView {
        space: &spec.space,
        objectives: &spec.objectives,
        trials,
        seed: spec.seed,
    };
    gp.posterior(&view)
}

impl Study {
    /// [`posterior`] of this study's trials.
    pub async fn posterior(&self) -> Result<Option<Posterior>, EngineError> {
        let trials = self.trials().await?;
        Ok(posterior(self.spec(), &trials))
    }
}
