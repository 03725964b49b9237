//! How a [`Study`] freezes its hypervolume reference and keeps it: the
//! stored reference is read when the study is opened and carried over
//! when the stored spec is rewritten, and once enough feasible trials
//! have finished the engine freezes one and stores it (see
//! [`crate::reference`] for the rule).

use paretosearch_core::{Trial, TrialState};

use crate::observer::Level;
use crate::reference::{self, Reference, ReferenceSource};
use crate::study::Study;
use crate::summary::{summarize_against, Front, Summary};
use crate::EngineError;

impl Study {
    /// The reference every hypervolume of this study is measured against,
    /// given its trials: declared, stored, frozen or provisional
    /// ([`reference::resolve`]).
    pub fn reference(&self, trials: &[Trial]) -> Option<Reference> {
        let stored = self.inner.frozen.lock().unwrap().clone();
        reference::resolve(&self.inner.spec, stored.as_ref(), trials)
    }

    /// The reference the storage holds for this study, if frozen and stored.
    pub fn stored_reference(&self) -> Option<Reference> {
        self.inner.frozen.lock().unwrap().clone()
    }

    /// Counts, the Pareto set and the best trial per objective, the
    /// hypervolume against [`Study::reference`].
    pub async fn summary(&self) -> Result<(std::sync::Arc<Vec<Trial>>, Summary), EngineError> {
        let trials = self.trials().await?;
        let s = summarize_against(&trials, self.objectives(), self.reference(&trials));
        Ok((trials, s))
    }

    /// The feasible Pareto set with its hypervolume against
    /// [`Study::reference`] (minimised in [`Front::reference`]).
    pub async fn pareto_front(&self) -> Result<Front, EngineError> {
        let trials = self.trials().await?;
        let mut front = Front::of(&trials, self.objectives());
        if let Some(r) = self.reference(&trials) {
            let min = r.minimised(self.objectives());
            front.hypervolume = reference::measure(&front.points, &min, self.objectives()).raw;
            front.reference = min;
        }
        Ok(front)
    }

    /// Freeze and store the reference once `freeze_after` feasible trials
    /// have finished, unless it is declared or stored already. `known`:
    /// the trials as this process sees them (a fresh read is made before
    /// freezing, so trials of other processes count too). A failed write
    /// is said as a warning; the rule gives every reader the same value
    /// until a later write succeeds.
    pub(crate) async fn freeze_reference_if_due(&self, known: &[Trial]) {
        let spec = &self.inner.spec;
        if spec.hypervolume.reference.is_some() || self.inner.frozen.lock().unwrap().is_some() {
            return;
        }
        let feasible = known
            .iter()
            .filter(|t| t.state == TrialState::Complete)
            .filter(|t| spec.objectives.violation(&t.values) == 0.0)
            .count();
        if feasible < spec.hypervolume.freeze_after {
            return;
        }
        let trials = match self.trials().await {
            Ok(t) => t,
            Err(e) => {
                return self.say(
                    Level::Warning,
                    format!("hypervolume reference not stored yet: {e}"),
                )
            }
        };
        let Some(frozen) =
            reference::freeze(&trials, &spec.objectives, spec.hypervolume.freeze_after)
        else {
            return;
        };
        if let Err(e) = self.store_reference(frozen).await {
            self.say(
                Level::Warning,
                format!("could not store the frozen hypervolume reference (the next run tries again): {e}"),
            );
        }
    }

    /// Write `frozen` into the stored spec, unless another process stored
    /// one first (then that one is kept).
    async fn store_reference(&self, frozen: Reference) -> Result<(), EngineError> {
        let spec = &self.inner.spec;
        let store = &self.inner.store;
        let Some(rec) = store.find_study(&spec.name).await? else {
            return Ok(());
        };
        let kept = match reference::stored(&rec.spec_json, &spec.objectives) {
            Some(r) => r,
            None => {
                let json = reference::with_stored(&rec.spec_json, &frozen, &spec.objectives);
                store
                    .open_study(&spec.name, &rec.fingerprint, &json)
                    .await?;
                Reference {
                    source: match frozen.source {
                        ReferenceSource::Frozen { trials, .. } => ReferenceSource::Frozen {
                            trials,
                            stored: true,
                        },
                        other => other,
                    },
                    ..frozen
                }
            }
        };
        *self.inner.frozen.lock().unwrap() = Some(kept);
        Ok(())
    }
}
