//! Many workers in one process: what each proposal sees of the others.

mod common;

use std::collections::BTreeSet;
use std::sync::{Arc, Barrier, Mutex};
use std::time::Duration;

use common::zdt;
use paretosearch_core::TrialState;
use paretosearch_engine::{Options, Study, TrialHandle, Values};
use paretosearch_samplers::{Proposal, RandomSampler, Sampler, SamplerError, StudyView};

/// What one proposal saw: its trial number and the numbers of the other
/// RUNNING trials whose parameters it was shown.
type Seen = Arc<Mutex<Vec<(u64, BTreeSet<u64>)>>>;

/// Random proposals, recording what each one saw. The first proposal takes
/// a while (as a GP fit does), so that the other workers ask meanwhile.
struct Recording {
    seen: Seen,
    inner: RandomSampler,
}

impl Sampler for Recording {
    fn name(&self) -> &str {
        "recording"
    }

    fn propose(&mut self, study: &StudyView<'_>, number: u64) -> Result<Proposal, SamplerError> {
        let running: BTreeSet<u64> = study
            .trials
            .iter()
            .filter(|t| {
                t.number != number && t.state == TrialState::Running && !t.params.is_empty()
            })
            .map(|t| t.number)
            .collect();
        let first = {
            let mut seen = self.seen.lock().unwrap();
            seen.push((number, running));
            seen.len() == 1
        };
        if first {
            // Not a timing assertion: however long this takes, every later
            // proposal must see this one's parameters. The pause only gives
            // the other workers the chance to ask while it is being made.
            std::thread::sleep(Duration::from_millis(300));
        }
        self.inner.propose(study, number)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_proposal_sees_the_parameters_of_the_trials_proposed_before_it() {
    const WORKERS: usize = 4;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("study.db").display());
    let study = Study::create_or_open(zdt("seen", "random", 2 * WORKERS as u64), &url)
        .await
        .unwrap();
    let seen: Seen = Arc::default();
    study.set_sampler(Box::new(Recording {
        seen: seen.clone(),
        inner: RandomSampler,
    }));
    // The first WORKERS trials wait for each other, so each of them is
    // RUNNING, with its parameters, while every later one of them is asked.
    let gate = Arc::new(Barrier::new(WORKERS));
    let objective = move |t: &TrialHandle| -> Result<Values, String> {
        if (t.number() as usize) < WORKERS {
            gate.wait();
        }
        let x0 = t.float("x0").map_err(|e| e.to_string())?;
        Ok(Values::from([
            ("f1".to_string(), x0),
            ("f2".to_string(), 1.0 - x0),
        ]))
    };
    let done = study
        .optimize(
            objective,
            Options {
                workers: WORKERS,
                ..Options::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(done.trials, 2 * WORKERS as u64);
    let seen = seen.lock().unwrap().clone();
    let first: Vec<&(u64, BTreeSet<u64>)> = seen
        .iter()
        .filter(|(n, _)| (*n as usize) < WORKERS)
        .collect();
    assert_eq!(first.len(), WORKERS, "{seen:?}");
    for (k, (number, running)) in first.iter().enumerate() {
        let earlier: BTreeSet<u64> = first[..k].iter().map(|(n, _)| *n).collect();
        assert!(
            earlier.is_subset(running),
            "trial {number} was proposed without seeing the running trials {:?} proposed before it (it saw {running:?}; all: {seen:?})",
            earlier.difference(running).collect::<Vec<_>>()
        );
    }
}
