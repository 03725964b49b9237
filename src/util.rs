//! Small helpers: clocks, worker identity, summaries of a study.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use paretosearch_core::{pareto, Objectives, Trial, TrialState};

/// Unix time in milliseconds.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// This machine's host name.
pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most buf.len() bytes into buf.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return "localhost".into();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

/// A worker identity `host:pid:start_ms`, stored with the trials it runs.
pub fn worker_id() -> String {
    format!("{}:{}:{}", hostname(), std::process::id(), now_ms())
}

/// Is the worker that wrote `id` certainly gone? True only for workers on
/// this host whose process no longer exists (or whose pid is now ours, from
/// an earlier incarnation). Workers elsewhere are judged by heartbeat alone.
pub fn worker_is_dead(id: &str, me: &str) -> bool {
    if id == me {
        return false;
    }
    let mut parts = id.rsplitn(3, ':');
    let (Some(_start), Some(pid), Some(host)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    if host != hostname() {
        return false;
    }
    let Ok(pid) = pid.parse::<i32>() else {
        return false;
    };
    if pid as u32 == std::process::id() {
        return true; // same pid, different start time: a previous life
    }
    // SAFETY: kill with signal 0 only checks for existence.
    let rc = unsafe { libc::kill(pid, 0) };
    if rc == 0 {
        return is_zombie(pid);
    }
    std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
}

fn is_zombie(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            let after = s.rsplit_once(')')?.1.trim_start().chars().next()?;
            Some(after == 'Z' || after == 'X')
        })
        .unwrap_or(false)
}

/// The seed handed to the runner for trial `number`.
pub fn trial_seed(study_seed: u64, number: u64) -> u64 {
    // splitmix64 of the pair.
    let mut z = study_seed ^ number.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// What a study looks like now.
#[derive(Debug, Default, Clone)]
pub struct Summary {
    /// Trials by state.
    pub counts: BTreeMap<TrialState, usize>,
    /// Trials counting towards the budget that are finished.
    pub finished: usize,
    /// Indices (into the trial slice) of the Pareto set: feasible COMPLETE
    /// trials no other feasible COMPLETE trial dominates, by number.
    pub pareto: Vec<usize>,
    /// Hypervolume of the Pareto set in the minimised space, with the
    /// reference point [`pareto::nadir_reference`] of all feasible
    /// COMPLETE trials (it moves as the study grows; for display).
    pub hypervolume: Option<f64>,
    /// Index of the best trial per objective (feasible COMPLETE).
    pub best: Vec<Option<usize>>,
    /// PRUNED trials skipped before training by partial-order pruning.
    pub skipped: usize,
    /// PRUNED trials stopped while training (early stopping, or pruned by
    /// the user through `tell --state pruned`).
    pub stopped: usize,
}

/// Whether a PRUNED trial was skipped before training (partial-order
/// pruning) rather than stopped while it trained.
pub fn skipped_before_training(t: &Trial) -> bool {
    t.state == TrialState::Pruned
        && t.reason
            .as_deref()
            .is_some_and(|r| r.starts_with("partial-order"))
}

/// Summarise a study's trials.
pub fn summarize(trials: &[Trial], objectives: &Objectives) -> Summary {
    let mut s = Summary::default();
    for t in trials {
        *s.counts.entry(t.state).or_default() += 1;
        if t.state == TrialState::Pruned {
            if skipped_before_training(t) {
                s.skipped += 1;
            } else {
                s.stopped += 1;
            }
        }
        if t.state.is_finished() && t.counts_towards_budget() {
            s.finished += 1;
        }
    }
    let feasible: Vec<(usize, Vec<f64>)> = trials
        .iter()
        .enumerate()
        .filter(|(_, t)| objectives.violation(&t.values) == 0.0)
        .filter_map(|(i, t)| Some((i, t.minimised(objectives)?)))
        .collect();
    let points: Vec<Vec<f64>> = feasible.iter().map(|(_, p)| p.clone()).collect();
    if !points.is_empty() {
        let front = pareto::pareto_front(&points);
        let front_pts: Vec<Vec<f64>> = front.iter().map(|&i| points[i].clone()).collect();
        let reference = pareto::nadir_reference(&points);
        s.hypervolume = Some(pareto::hypervolume(&front_pts, &reference));
        s.pareto = front.iter().map(|&i| feasible[i].0).collect();
    }
    s.best = (0..objectives.len())
        .map(|k| {
            feasible
                .iter()
                .min_by(|a, b| a.1[k].total_cmp(&b.1[k]))
                .map(|(i, _)| *i)
        })
        .collect();
    s
}

/// Format a float compactly for tables and log lines.
pub fn fmt_num(x: f64) -> String {
    if x == 0.0 {
        return "0".into();
    }
    let a = x.abs();
    if !(1e-3..1e6).contains(&a) {
        format!("{x:.4e}")
    } else {
        let s = format!("{x:.6}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dead_worker_detection() {
        let me = worker_id();
        assert!(!worker_is_dead(&me, &me));
        // A pid that cannot exist on Linux (above pid_max's hard limit).
        let ghost = format!("{}:{}:1", hostname(), 4_194_400);
        assert!(worker_is_dead(&ghost, &me));
        // Another host: unknown, never declared dead.
        assert!(!worker_is_dead("elsewhere:1:1", &me));
        // Ourselves in a previous life.
        let old = format!("{}:{}:1", hostname(), std::process::id());
        assert!(worker_is_dead(&old, &me));
    }

    #[test]
    fn trial_seeds_differ() {
        assert_ne!(trial_seed(7, 0), trial_seed(7, 1));
        assert_ne!(trial_seed(7, 0), trial_seed(8, 0));
        assert_eq!(trial_seed(7, 3), trial_seed(7, 3));
    }

    #[test]
    fn fmt_num_is_compact() {
        assert_eq!(fmt_num(0.5), "0.5");
        assert_eq!(fmt_num(12.0), "12");
        assert_eq!(fmt_num(1e-5), "1.0000e-5");
    }
}
