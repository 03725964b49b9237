//! The progress bar's ETA, from the recent rate of finished trials.
//!
//! indicatif's own estimate follows the bar's position ticks; a resumed
//! run jumps the position at its start, and trials finishing in bursts (a
//! batch of parallel workers) leave long flat stretches it reads as
//! "almost done", so it froze at a second for most of a run. This one is
//! computed from what a study's progress actually is: the number of
//! finished trials (of every worker and process) at the moments trials
//! finished, over a moving window, so a burst of parallel finishes and
//! the wait before the next burst average out.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Finished-trial counts at moments of a run: the rate over the last
/// few finishes (see [`EtaWindow::new`]) gives the estimate.
#[derive(Debug, Clone)]
pub struct EtaWindow {
    /// `(seconds since the run started, trials finished then)`, oldest
    /// first; the first entry is the run's start until the window is full.
    samples: VecDeque<(f64, u64)>,
    capacity: usize,
    started: Instant,
}

impl EtaWindow {
    /// A window for a run that starts now with `finished` trials already
    /// finished and `workers` trials running at once: it spans the last
    /// `max(10, 3 × workers)` finishes, so that one batch of parallel
    /// finishes never makes the whole window.
    pub fn new(finished: u64, workers: usize) -> EtaWindow {
        let mut samples = VecDeque::new();
        samples.push_back((0.0, finished));
        EtaWindow {
            samples,
            capacity: workers.saturating_mul(3).max(10),
            started: Instant::now(),
        }
    }

    /// Note that `finished` trials are finished now.
    pub fn record(&mut self, finished: u64) {
        let t = self.started.elapsed().as_secs_f64();
        self.record_at(t, finished);
    }

    /// Note that `finished` trials were finished at `t` seconds into the run.
    pub fn record_at(&mut self, t: f64, finished: u64) {
        let last = self.samples.back().map_or(0, |s| s.1);
        if finished <= last {
            return; // nothing new finished (or an older count)
        }
        self.samples.push_back((t, finished));
        while self.samples.len() > self.capacity + 1 {
            self.samples.pop_front();
        }
    }

    /// The estimate now for a budget of `budget` trials.
    pub fn eta(&self, budget: u64) -> Option<Duration> {
        let now = self.started.elapsed().as_secs_f64();
        let s: Vec<(f64, u64)> = self.samples.iter().copied().collect();
        eta_seconds(&s, now, budget).map(Duration::from_secs_f64)
    }
}

/// Seconds left until `budget` trials are finished, at `now` seconds into
/// a run, given `samples` of `(seconds, trials finished)` in time order
/// (the oldest is the start of the window: the run's start, or the finish
/// just before the window). `None` before the first trial of the run
/// finished; `Some(0)` when the budget is reached.
///
/// The time per trial is the window's span over the trials finished in
/// it, so parallel workers count as they should (four workers finish four
/// trials in the time of one). While the current trial takes longer than
/// that, `now` counts as a finish to come, so the estimate grows instead
/// of running down to zero and staying there; otherwise the time since
/// the last finish is taken off.
pub fn eta_seconds(samples: &[(f64, u64)], now: f64, budget: u64) -> Option<f64> {
    let (&(t0, n0), &(t1, n1)) = (samples.first()?, samples.last()?);
    if n1 >= budget {
        return Some(0.0);
    }
    if n1 <= n0 {
        return None; // nothing finished in the window yet
    }
    let done = (n1 - n0) as f64;
    let left = (budget - n1) as f64;
    let per_trial = (t1 - t0).max(0.0) / done;
    let since = (now - t1).max(0.0);
    let eta = if since <= per_trial {
        left * per_trial - since
    } else {
        // Slower than the window says: the rate if a trial finished now.
        let slower = (now - t0) / (done + 1.0);
        (left - 1.0) * slower
    };
    Some(eta.max(0.0))
}

/// `1h 02m`, `4m 05s`, `12s`, `<1s`; `?` without an estimate.
pub fn format_eta(eta: Option<Duration>) -> String {
    let Some(d) = eta else {
        return "?".into();
    };
    let s = d.as_secs_f64().round() as u64;
    match s {
        0 => "<1s".into(),
        1..=59 => format!("{s}s"),
        60..=3599 => format!("{}m {:02}s", s / 60, s % 60),
        _ => format!("{}h {:02}m", s / 3600, (s % 3600) / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(capacity: usize) -> EtaWindow {
        let mut w = EtaWindow::new(0, 1);
        w.capacity = capacity;
        w
    }

    /// Trials of 1 s each, one worker, 200 trials: the estimate right
    /// after each finish is the time really left, all along (the bar of
    /// the issue said "ETA 1s" from trial 85 to 191).
    #[test]
    fn steady_trials_give_the_time_really_left() {
        let mut w = window(10);
        for n in 1..=199u64 {
            let t = n as f64;
            w.record_at(t, n);
            let s: Vec<_> = w.samples.iter().copied().collect();
            let eta = eta_seconds(&s, t, 200).unwrap();
            assert!((eta - (200 - n) as f64).abs() < 1e-9, "trial {n}: {eta}");
            // Half a trial later, half a second less.
            let eta = eta_seconds(&s, t + 0.5, 200).unwrap();
            assert!(
                (eta - (200 - n) as f64 + 0.5).abs() < 1e-9,
                "trial {n}: {eta}"
            );
        }
    }

    /// Four workers finishing in bursts of four every 4 s (a trial takes
    /// 4 s): about 1 s per trial, before and after the window fills, and
    /// never the near-zero a burst alone suggests.
    #[test]
    fn bursts_of_parallel_workers_average_out() {
        let mut w = EtaWindow::new(0, 4);
        assert_eq!(w.capacity, 12);
        let mut n = 0;
        for batch in 1..=20 {
            let t = 4.0 * batch as f64;
            for k in 0..4 {
                n += 1;
                w.record_at(t + 0.01 * k as f64, n);
            }
            let s: Vec<_> = w.samples.iter().copied().collect();
            let eta = eta_seconds(&s, t + 0.05, 100).unwrap();
            let truth = (100 - n) as f64; // 1 s per trial
            assert!(
                (eta - truth).abs() <= 0.25 * truth + 2.0,
                "after {n} trials: {eta} against {truth}"
            );
        }
    }

    /// A trial that takes far longer than the others: the estimate grows
    /// while it runs instead of staying at zero, and it is honest again
    /// once trials finish at the old pace.
    #[test]
    fn a_slow_trial_raises_the_estimate() {
        let mut w = window(10);
        for n in 1..=10u64 {
            w.record_at(n as f64, n);
        }
        let s: Vec<_> = w.samples.iter().copied().collect();
        let at = |now: f64| eta_seconds(&s, now, 20).unwrap();
        assert!((at(10.0) - 10.0).abs() < 1e-9);
        assert!((at(11.0) - 9.0).abs() < 1e-9);
        // 5 s into a trial that usually takes 1 s: more than 9 s left, and
        // more the longer it runs.
        assert!(
            at(15.0) > 9.0 && at(30.0) > at(15.0),
            "{} {}",
            at(15.0),
            at(30.0)
        );
    }

    #[test]
    fn no_estimate_before_a_finish_and_zero_at_the_end() {
        let w = EtaWindow::new(85, 2);
        assert_eq!(w.eta(200), None);
        assert_eq!(eta_seconds(&[(0.0, 85), (3.0, 200)], 3.0, 200), Some(0.0));
        // A resumed run (85 finished before it): only this run's pace counts.
        let e = eta_seconds(&[(0.0, 85), (10.0, 95)], 10.0, 200).unwrap();
        assert!((e - 105.0).abs() < 1e-9, "{e}");
    }

    #[test]
    fn eta_reads_well() {
        assert_eq!(format_eta(None), "?");
        assert_eq!(format_eta(Some(Duration::from_millis(300))), "<1s");
        assert_eq!(format_eta(Some(Duration::from_secs(42))), "42s");
        assert_eq!(format_eta(Some(Duration::from_secs(245))), "4m 05s");
        assert_eq!(format_eta(Some(Duration::from_secs(3720))), "1h 02m");
    }
}
