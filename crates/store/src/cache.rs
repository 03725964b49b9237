//! A reader's copy of a study's trials, brought up to date incrementally.

use std::sync::Arc;

use paretosearch_core::Trial;

use crate::{Known, Store, StoreError};

/// Every trial of one study, kept up to date by reading only what may have
/// changed since the last refresh ([`Store::trials_since`]): new trials and
/// the ones that were WAITING or RUNNING. Finished trials are immutable and
/// are never read twice.
///
/// The trials are handed out as an `Arc<Vec<Trial>>` snapshot, so a sampler
/// can work on one while the next refresh builds another (the vector is
/// copied only when a snapshot is still in use).
#[derive(Debug)]
pub struct TrialCache {
    study_id: i64,
    trials: Arc<Vec<Trial>>,
    known: Known,
    rows_read: u64,
}

impl TrialCache {
    /// An empty cache for a study; the first refresh reads everything.
    pub fn new(study_id: i64) -> TrialCache {
        TrialCache {
            study_id,
            trials: Arc::new(Vec::new()),
            known: Known::default(),
            rows_read: 0,
        }
    }

    /// The trials as of the last refresh, by number.
    pub fn snapshot(&self) -> Arc<Vec<Trial>> {
        self.trials.clone()
    }

    /// Trial rows read from the store so far, over all refreshes (what the
    /// incremental reading saves is visible here).
    pub fn rows_read(&self) -> u64 {
        self.rows_read
    }

    /// Read what changed and return the up-to-date trials, by number.
    pub async fn refresh(&mut self, store: &dyn Store) -> Result<Arc<Vec<Trial>>, StoreError> {
        let changed = store.trials_since(self.study_id, &self.known).await?;
        self.merge(changed);
        Ok(self.snapshot())
    }

    /// Replace a trial the cache holds by its finished record, as the
    /// caller just stored it, so that it need not be read back. A trial the
    /// cache does not hold is ignored: the cache reads everything numbered
    /// above the highest number it holds, and inserting a later one would
    /// hide the trials numbered in between.
    pub fn note_finished(&mut self, trial: &Trial) {
        if !trial.state.is_finished() {
            return;
        }
        let Ok(i) = self
            .trials
            .binary_search_by_key(&trial.number, |t| t.number)
        else {
            return;
        };
        Arc::make_mut(&mut self.trials)[i] = trial.clone();
        self.known.unfinished.retain(|&(id, _)| id != trial.id);
    }

    /// Fold freshly read trials (by number) into the cache.
    fn merge(&mut self, changed: Vec<Trial>) {
        self.rows_read += changed.len() as u64;
        let trials = Arc::make_mut(&mut self.trials);
        for t in changed {
            // New trials come last, so appending is the common case.
            match trials.last() {
                Some(last) if last.number >= t.number => {
                    match trials.binary_search_by_key(&t.number, |x| x.number) {
                        Ok(i) => trials[i] = t,
                        Err(i) => trials.insert(i, t),
                    }
                }
                _ => trials.push(t),
            }
        }
        self.known = Known {
            max_number: trials.last().map(|t| t.number),
            unfinished: trials
                .iter()
                .filter(|t| !t.state.is_finished())
                .map(|t| (t.id, t.number))
                .collect(),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use paretosearch_core::TrialState;

    fn trial(number: u64, state: TrialState) -> Trial {
        Trial::new(number, state)
    }

    #[test]
    fn merge_replaces_unfinished_and_appends_new() {
        let mut c = TrialCache::new(1);
        c.merge(vec![
            trial(0, TrialState::Complete),
            trial(1, TrialState::Running),
            trial(2, TrialState::Waiting),
        ]);
        assert_eq!(c.known.max_number, Some(2));
        assert_eq!(c.known.unfinished, vec![(1, 1), (2, 2)]);

        let held = c.snapshot();
        c.merge(vec![
            trial(1, TrialState::Fail),
            trial(2, TrialState::Running),
            trial(3, TrialState::Running),
        ]);
        let now = c.snapshot();
        let states: Vec<_> = now.iter().map(|t| (t.number, t.state)).collect();
        assert_eq!(
            states,
            [
                (0, TrialState::Complete),
                (1, TrialState::Fail),
                (2, TrialState::Running),
                (3, TrialState::Running)
            ]
        );
        assert_eq!(held.len(), 3, "an old snapshot is left alone");
        assert_eq!(c.known.unfinished, vec![(2, 2), (3, 3)]);
        assert_eq!(c.rows_read(), 6);
    }

    #[test]
    fn known_wants_new_and_unfinished_only() {
        let k = Known {
            max_number: Some(5),
            unfinished: vec![(3, 3)],
        };
        assert!(k.wants(&trial(6, TrialState::Running)));
        assert!(k.wants(&trial(3, TrialState::Complete)));
        assert!(!k.wants(&trial(4, TrialState::Complete)));
        assert!(Known::default().wants(&trial(0, TrialState::Complete)));
    }
}
