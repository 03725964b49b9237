//! The two observers of `run`: an indicatif progress bar on a terminal,
//! one plain line per trial otherwise. Both only print what the engine
//! tells them ([`paretosearch::Observer`]).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressState, ProgressStyle};
use paretosearch::observer::{Message, RunStarted, TrialFinished};
use paretosearch::reference::{self, Reference};
use paretosearch::{summarize_against, Observer, StudySpec, TrialOutcome, TrialState};

use crate::eta::{format_eta, EtaWindow};
use crate::util::{fmt_num, hv_short};

/// Progress output: a bar on a terminal, plain lines otherwise, nothing
/// but warnings with `quiet`.
pub struct Progress {
    bar: Option<ProgressBar>,
    quiet: bool,
    spec: StudySpec,
    /// The recent pace of finished trials, for the bar's ETA.
    eta: Arc<Mutex<EtaWindow>>,
    /// The hypervolume reference the storage holds (see
    /// [`Progress::set_stored_reference`]), and the kind of the last one
    /// used (a line says when it freezes).
    reference: Mutex<(Option<Reference>, Option<&'static str>)>,
}

impl Progress {
    /// Progress of a run of `spec` towards `budget` trials.
    pub fn new(spec: &StudySpec, budget: u64, plain: bool, quiet: bool) -> Progress {
        let eta = Arc::new(Mutex::new(EtaWindow::new(0, 1)));
        let bar = (!plain && !quiet).then(|| {
            let bar = ProgressBar::new(budget);
            // Our own estimate (see `eta`), not indicatif's `{eta}`.
            let window = eta.clone();
            let show_eta = move |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                let eta = window.lock().unwrap().eta(state.len().unwrap_or(0));
                let _ = w.write_str(&format_eta(eta));
            };
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {bar:30.cyan/blue} {pos}/{len} trials  {msg}  ETA {recent_eta}",
                )
                .expect("valid template")
                .with_key("recent_eta", show_eta),
            );
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Progress {
            bar,
            quiet,
            spec: spec.clone(),
            eta,
            reference: Mutex::new((None, None)),
        }
    }

    /// The reference frozen and stored with the study when the run began
    /// ([`paretosearch::Study::stored_reference`]); without one the rule
    /// gives the value the engine freezes.
    pub fn set_stored_reference(&self, r: Option<Reference>) {
        self.reference.lock().unwrap().0 = r;
    }

    /// Print a line above the bar (or plainly), unless quiet.
    pub fn line(&self, s: &str) {
        match &self.bar {
            Some(b) => b.println(s),
            None if !self.quiet => println!("{s}"),
            None => {}
        }
    }

    /// Remove the bar.
    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

impl Observer for Progress {
    fn run_started(&self, e: &RunStarted) {
        *self.eta.lock().unwrap() = EtaWindow::new(e.finished as u64, e.workers);
        if let Some(b) = &self.bar {
            b.set_position(e.finished as u64);
        }
        self.line(&format!(
            "study `{}`: {} of {} trials finished; running with {} worker{} (storage {})",
            e.study,
            e.finished,
            e.budget,
            e.workers,
            if e.workers == 1 { "" } else { "s" },
            e.storage
        ));
    }

    fn trial_finished(&self, e: &TrialFinished<'_>) {
        if self.quiet {
            return;
        }
        let r = {
            let mut held = self.reference.lock().unwrap();
            let r = reference::resolve(&self.spec, held.0.as_ref(), e.trials);
            let kind = r.as_ref().map(Reference::kind);
            if let Some(r) = r
                .as_ref()
                .filter(|_| held.1 != kind && kind != Some("provisional"))
            {
                self.line(&format!(
                    "hypervolume reference {} ({}); hv is the share of the box between the best values and it",
                    r.describe(&self.spec.objectives, fmt_num),
                    r.source_text()
                ));
            }
            held.1 = kind;
            r
        };
        let provisional = r.as_ref().is_some_and(|r| r.kind() == "provisional");
        let s = summarize_against(e.trials, &self.spec.objectives, r);
        let mut hv = hv_short(&s);
        if provisional {
            hv.push_str(" (provisional)");
        }
        self.eta.lock().unwrap().record(s.finished as u64);
        if let Some(b) = &self.bar {
            b.set_position(s.finished as u64);
            b.set_message(format!(
                "fail {}  stopped {}  skipped {}  front {}  hv {hv}",
                s.count(TrialState::Fail),
                s.stopped,
                s.skipped,
                s.pareto.len(),
            ));
            return;
        }
        let what = match e.outcome {
            TrialOutcome::Complete(v) => format!(
                "COMPLETE {}",
                self.spec
                    .objectives
                    .iter()
                    .map(|o| format!(
                        "{}={}",
                        o.name,
                        v.get(&o.name).map(|x| fmt_num(*x)).unwrap_or_default()
                    ))
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
            TrialOutcome::Pruned { reason, .. } => format!("PRUNED ({reason})"),
            TrialOutcome::Fail { reason, .. } => format!("FAIL ({reason})"),
        };
        println!(
            "trial {} {what} in {:.1} s | finished {}, failed {}, stopped {}, skipped {}, front {}, hv {hv}",
            e.trial.number,
            e.took.as_secs_f64(),
            s.finished,
            s.count(TrialState::Fail),
            s.stopped,
            s.skipped,
            s.pareto.len(),
        );
    }

    fn message(&self, m: &Message) {
        self.line(&m.text);
    }
}
