//! The two observers of `run`: an indicatif progress bar on a terminal,
//! one plain line per trial otherwise. Both only print what the engine
//! tells them ([`paretosearch::Observer`]).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressState, ProgressStyle};
use paretosearch::observer::{Message, RunStarted, TrialFinished};
use paretosearch::{summarize, Observer, StudySpec, TrialOutcome, TrialState};

use crate::eta::{format_eta, EtaWindow};
use crate::util::fmt_num;

/// Progress output: a bar on a terminal, plain lines otherwise, nothing
/// but warnings with `quiet`.
pub struct Progress {
    bar: Option<ProgressBar>,
    quiet: bool,
    spec: StudySpec,
    /// The recent pace of finished trials, for the bar's ETA.
    eta: Arc<Mutex<EtaWindow>>,
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
        }
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
        let s = summarize(e.trials, &self.spec.objectives);
        let hv = s.hypervolume.map(fmt_num).unwrap_or_else(|| "-".into());
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
