//! `[runner] kind = "command"`: trials as external processes speaking a
//! JSON-lines protocol on stdout.
//!
//! # The protocol
//!
//! **Arguments.** Every argument of `command` may hold `{name}`
//! placeholders, replaced by the value of parameter `name` as the user would
//! write it (`0.001`, `64`, `adam`, `true`). `{{` and `}}` stand for literal
//! braces. A placeholder of a conditional parameter that is inactive in this
//! trial becomes the empty string (so `--dropout={dropout}` turns into
//! `--dropout=`). The study spec rejects placeholders that name no
//! parameter and unbalanced braces before a study starts (the one check,
//! `paretosearch_core::spec`, for files and for specs built in code).
//!
//! **Environment.** The command inherits paretosearch's environment, plus
//! the `env` table of the study file, plus:
//!
//! | variable | value |
//! |----------|-------|
//! | `PARETOSEARCH_PARAMS` | JSON object of all active parameters |
//! | `PARETOSEARCH_TRIAL` | trial number |
//! | `PARETOSEARCH_STUDY` | study name |
//! | `PARETOSEARCH_SEED` | the trial's seed |
//! | `PARETOSEARCH_PROCESS_TAG` | unique to this execution (see below) |
//!
//! It runs in `workdir`, with stdin closed (`/dev/null`).
//!
//! **Output.** On stdout, each line that is a JSON object is a protocol
//! message; everything else is ordinary output.
//!
//! * `{"step": 3, "accuracy": 0.71, "loss": 0.9}` is an intermediate report
//!   (`step` a non-negative integer; the other finite numeric keys are the
//!   values). It is handed to the pruner; if the pruner stops the trial,
//!   the process tree is terminated and the trial ends PRUNED with the last
//!   reported values.
//! * The **last** JSON object without `"step"` is the result:
//!   `{"accuracy": 0.93, "latency_ms": 4.1}`. It must name every objective
//!   of the study with a finite number. Other keys are ignored. Python's
//!   `json.dumps` spellings `NaN`, `Infinity` and `-Infinity` are
//!   understood, so that a NaN objective fails with a clear reason instead of
//!   "no result"; so are number literals too large for a 64-bit float
//!   (`1e999`), which fail naming the objective and the literal.
//!
//! All stdout lines (protocol or not) and all stderr go to the trial's log
//! file, between a header (study, trial, argv, working directory) and a
//! footer (how the command ended). Lines are streamed; one longer than
//! 1 MiB is cut in the log and never read as a protocol message (a trial
//! left without a result names the cut line). The log keeps at most
//! `log_limit` bytes of output: the first half as it comes, then a
//! marker; the last half is held and written at the end, after the count
//! of bytes cut.
//!
//! **Ending.** The trial FAILs, with a one-line reason, when the command
//! cannot start, exits with a non-zero status or a signal, prints no result,
//! misses an objective, reports a non-number or NaN/inf, or runs past
//! `timeout`. Reasons for crashes carry the last lines of stderr.
//!
//! # Process trees
//!
//! Training scripts fork data loaders, shell wrappers fork interpreters, so
//! the unit we stop is the **process group**: the command is started as the
//! leader of a new group, and stopping it sends `SIGTERM` to the whole
//! group, waits up to `grace` for the group to empty, then sends `SIGKILL`
//! to what is left, and reaps the command (no zombies). This happens on
//! timeout, when the pruner says stop, when the run is cancelled
//! (Ctrl-C, budget timeout), and when a command exits while processes it
//! started in the background are still alive.
//!
//! Every process of the execution inherits `PARETOSEARCH_PROCESS_TAG`;
//! when the trial ends, processes that carry it but left the group
//! (`setsid`) get the same `SIGTERM`, grace, `SIGKILL` (Linux: found in
//! `/proc/*/environ`).
//!
//! If paretosearch itself dies (crash, `kill -9`), the command receives
//! `SIGKILL` from the kernel (`PR_SET_PDEATHSIG`, Linux). That signal
//! reaches only the command itself: its own children live on. So on Linux
//! the running command is recorded beside its log (`trial-NNNNN.proc`:
//! machine boot and pid namespace, the owning paretosearch process, the
//! process group with its leader's start time, the tag), and
//! [`reap_orphans`] kills what is left once the owner is gone (the engine
//! calls it when it recovers the trial as stale). A process that left the
//! group and cleared its environment is beyond our reach. Being a child
//! subreaper (`PR_SET_CHILD_SUBREAPER`) is not used: it would not outlive
//! a killed paretosearch either, and reaping adopted orphans would race
//! tokio's own reaping of its children. The kernel ties
//! the death signal to the *thread* that started the command, so
//! [`CommandRunner::run`] must be polled from a runtime whose worker
//! threads live as long as the trial (any tokio runtime; not
//! `spawn_blocking` threads, which exit when idle).

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::Duration;

use async_trait::async_trait;
use paretosearch_core::spec::CommandSpec;
use paretosearch_core::{FailKind, Params, PruneReason, TrialOutcome};
use serde_json::{Map, Value};
use tokio::process::Command;
use tokio::sync::mpsc;
use tokio::time::{timeout_at, Instant};
use tokio_util::sync::CancellationToken;

use crate::{Job, NoReporter, ProfileJob, Reporter, Runner, Verdict};

mod log;
mod process;
mod protocol;
mod template;
#[cfg(test)]
mod tests;

pub use self::process::{reap_all_orphans, reap_orphans, Reaped, PROCESS_TAG_ENV};
pub use self::template::substitute;

use self::log::{io_message, no_result, read_stderr, read_stdout, with_tail, Log, Message, Slot};
use self::process::{
    describe, die_with_parent, join, kill_tagged, new_tag, record_path, terminate, until,
    write_record, GroupGuard,
};
use self::protocol::objective_values;
use self::template::substitute_argv;

/// How long to wait for the output pipes to close once the process group
/// is gone (a process that left the group may hold them open).
const DRAIN: Duration = Duration::from_secs(2);

/// Runs trials as external commands (see the module documentation for the
/// protocol).
#[derive(Clone, Debug)]
pub struct CommandRunner {
    spec: CommandSpec,
}

impl CommandRunner {
    /// A runner for `spec`. Templates are checked when the study spec is
    /// read or built; a malformed one that got past fails each trial with
    /// the reason.
    pub fn new(spec: CommandSpec) -> Self {
        CommandRunner { spec }
    }

    /// The spec this runner executes.
    pub fn spec(&self) -> &CommandSpec {
        &self.spec
    }

    /// Start `template` for `job` and follow it to its end. `Ok` carries
    /// the result object of a command that exited with status 0; `Err` the
    /// outcome of every other ending.
    async fn execute(
        &self,
        template: &[String],
        job: &Job,
        reporter: &dyn Reporter,
        cancel: &CancellationToken,
    ) -> Result<Map<String, Value>, TrialOutcome> {
        let fail = |reason: String| TrialOutcome::Fail {
            kind: FailKind::Error,
            reason,
        };
        if cancel.is_cancelled() {
            return Err(TrialOutcome::Fail {
                kind: FailKind::Interrupted,
                reason: "interrupted: the run was stopped before the trial started".into(),
            });
        }
        let argv = substitute_argv(template, &job.params).map_err(fail)?;
        let Some(program) = argv.first() else {
            return Err(fail("the command is empty".into()));
        };
        let workdir = &self.spec.workdir;
        if !workdir.as_os_str().is_empty() && !workdir.is_dir() {
            return Err(fail(format!(
                "working directory `{}` does not exist",
                workdir.display()
            )));
        }
        let log = Log::open(job, self.spec.log_limit).map_err(fail)?;
        log.note(&format!(
            "==> paretosearch: study `{}` trial {}: {:?} in `{}`",
            job.study,
            job.trial,
            argv,
            workdir.display()
        ));

        let tag = new_tag(job.trial);
        let mut cmd = Command::new(program);
        cmd.args(&argv[1..])
            .envs(&self.spec.env)
            .env("PARETOSEARCH_PARAMS", params_json(&job.params))
            .env("PARETOSEARCH_TRIAL", job.trial.to_string())
            .env("PARETOSEARCH_STUDY", &job.study)
            .env("PARETOSEARCH_SEED", job.seed.to_string())
            .env(PROCESS_TAG_ENV, &tag)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        if !workdir.as_os_str().is_empty() {
            cmd.current_dir(workdir);
        }
        die_with_parent(&mut cmd);

        let child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                let reason = format!("cannot start `{program}`: {}", io_message(&e));
                log.note(&format!("==> paretosearch: {reason}"));
                return Err(fail(reason));
            }
        };
        let Some(pgid) = child.id().map(|p| p as libc::pid_t) else {
            return Err(fail(format!(
                "`{program}` ended before it could be followed"
            )));
        };
        let record = job
            .log_path
            .as_deref()
            .and_then(|p| write_record(&record_path(p), job.trial, pgid, &tag, self.spec.grace));
        let mut guard = GroupGuard {
            pgid,
            tag: tag.clone(),
            record,
            done: false,
        };
        let outcome = self.follow(child, pgid, reporter, cancel, &log).await;
        // Processes that left the group (`setsid`) but carry the tag go too.
        let escaped = kill_tagged(&tag, self.spec.grace).await;
        if escaped > 0 {
            log.note(&format!(
                "==> paretosearch: killed {escaped} process(es) that had left the command's process group"
            ));
        }
        if let Some(r) = guard.record.take() {
            let _ = std::fs::remove_file(r);
        }
        guard.done = true;
        outcome
    }

    /// Follow the started command `child` (leader of group `pgid`) to its
    /// end, stopping it when it must be stopped.
    async fn follow(
        &self,
        mut child: tokio::process::Child,
        pgid: libc::pid_t,
        reporter: &dyn Reporter,
        cancel: &CancellationToken,
        log: &Log,
    ) -> Result<Map<String, Value>, TrialOutcome> {
        let fail = |reason: String| TrialOutcome::Fail {
            kind: FailKind::Error,
            reason,
        };
        let (tx, mut rx) = mpsc::channel(16);
        let result = Slot::default();
        let tail = Slot::default();
        let cut_line = Slot::default();
        let stdout = child.stdout.take().map(|o| {
            tokio::spawn(read_stdout(
                o,
                log.clone(),
                tx,
                result.clone(),
                cut_line.clone(),
            ))
        });
        let stderr = child
            .stderr
            .take()
            .map(|e| tokio::spawn(read_stderr(e, log.clone(), tail.clone())));
        let deadline = self.spec.timeout.map(|t| Instant::now() + t);

        // Follow the command until it exits or must be stopped.
        let mut last_values = BTreeMap::new();
        let mut stdout_open = true;
        let end = loop {
            tokio::select! {
                _ = cancel.cancelled() => break Err(Halt::Interrupted),
                _ = until(deadline) => break Err(Halt::TimedOut),
                msg = rx.recv(), if stdout_open => match msg {
                    Some(Message::Report(step, values)) => {
                        let verdict = tokio::select! {
                            v = reporter.report(step, &values) => v,
                            _ = cancel.cancelled() => break Err(Halt::Interrupted),
                            _ = until(deadline) => break Err(Halt::TimedOut),
                        };
                        last_values = values;
                        if let Verdict::Stop(reason) = verdict {
                            break Err(Halt::Pruned { step, reason });
                        }
                    }
                    Some(Message::Invalid(reason)) => break Err(Halt::Invalid(reason)),
                    // stdout closed; the exit should come next.
                    None => stdout_open = false,
                },
                status = child.wait() => match status {
                    Ok(status) => break Ok(status),
                    Err(e) => break Err(Halt::Invalid(format!("cannot wait for the command: {e}"))),
                },
            }
        };

        let (status, drained) = match end {
            Ok(status) => {
                // Background processes the command left behind go too.
                terminate(&mut child, pgid, self.spec.grace, Some(status)).await;
                // Reports still in the pipe are delivered, in order.
                let drained = Instant::now() + DRAIN;
                while let Ok(Some(msg)) = timeout_at(drained, rx.recv()).await {
                    match msg {
                        Message::Report(step, values) => {
                            let verdict = reporter.report(step, &values).await;
                            last_values = values;
                            if let Verdict::Stop(reason) = verdict {
                                rx.close();
                                join(stdout, Instant::now() + DRAIN).await;
                                join(stderr, Instant::now() + DRAIN).await;
                                log.note(&format!(
                                    "==> paretosearch: {}; pruned at step {step}: {reason}",
                                    describe(status)
                                ));
                                return Err(TrialOutcome::Pruned {
                                    values: last_values,
                                    step: Some(step),
                                    reason,
                                });
                            }
                        }
                        Message::Invalid(reason) => {
                            rx.close();
                            join(stdout, Instant::now() + DRAIN).await;
                            join(stderr, Instant::now() + DRAIN).await;
                            log.note(&format!("==> paretosearch: {reason}"));
                            return Err(fail(reason));
                        }
                    }
                }
                (status, drained)
            }
            Err(halt) => {
                rx.close();
                let status = terminate(&mut child, pgid, self.spec.grace, None).await;
                join(stdout, Instant::now() + DRAIN).await;
                join(stderr, Instant::now() + DRAIN).await;
                let ended = status
                    .map(describe)
                    .unwrap_or_else(|| "command could not be reaped".into());
                let outcome = match halt {
                    Halt::Interrupted => TrialOutcome::Fail {
                        kind: FailKind::Interrupted,
                        reason: "interrupted: the run was stopped before the trial finished".into(),
                    },
                    Halt::TimedOut => TrialOutcome::Fail {
                        kind: FailKind::Timeout,
                        reason: format!(
                            "timed out after {}",
                            humantime::format_duration(self.spec.timeout.unwrap_or_default())
                        ),
                    },
                    Halt::Invalid(reason) => fail(reason),
                    Halt::Pruned { step, reason } => TrialOutcome::Pruned {
                        values: last_values,
                        step: Some(step),
                        reason,
                    },
                };
                let what = match &outcome {
                    TrialOutcome::Pruned { step, reason, .. } => {
                        format!("pruned at step {}: {reason}", step.unwrap_or_default())
                    }
                    TrialOutcome::Fail { reason, .. } => reason.clone(),
                    TrialOutcome::Complete(_) => String::new(),
                };
                log.note(&format!("==> paretosearch: {what}; {ended}"));
                return Err(outcome);
            }
        };
        join(stdout, drained).await;
        join(stderr, drained).await;
        // A process that escaped the group may still hold the pipes; what
        // was read so far counts.
        let result = result.take();
        let tail = tail.take().unwrap_or_default();
        log.note(&format!("==> paretosearch: {}", describe(status)));
        if !status.success() {
            return Err(fail(with_tail(describe(status), &tail)));
        }
        result.ok_or_else(|| fail(with_tail(no_result(cut_line.take()), &tail)))
    }
}

#[async_trait]
impl Runner for CommandRunner {
    async fn run(
        &self,
        job: Job,
        reporter: &dyn Reporter,
        cancel: CancellationToken,
    ) -> TrialOutcome {
        match self
            .execute(&self.spec.command, &job, reporter, &cancel)
            .await
        {
            Ok(result) => match objective_values(&result, &job.objectives) {
                Ok(values) => TrialOutcome::Complete(values),
                Err(reason) => TrialOutcome::Fail {
                    kind: FailKind::Error,
                    reason,
                },
            },
            Err(outcome) => outcome,
        }
    }

    /// Runs `profile_command` like a trial (no pruning) and returns the
    /// values of `job.cheap`, or every numeric value when that list is empty.
    async fn profile(&self, job: ProfileJob) -> Option<Result<BTreeMap<String, f64>, String>> {
        let template = self.spec.profile_command.as_ref()?;
        let cancel = CancellationToken::new();
        let run = Job {
            study: job.study,
            trial: job.trial,
            params: job.params,
            seed: job.seed,
            objectives: job.cheap,
            log_path: job.log_path,
        };
        Some(
            match self.execute(template, &run, &NoReporter, &cancel).await {
                Ok(result) => objective_values(&result, &run.objectives),
                Err(TrialOutcome::Fail { reason, .. }) => Err(reason),
                Err(other) => Err(format!("profile command ended as {}", other.state())),
            },
        )
    }
}

/// Why the follow loop stopped the command.
enum Halt {
    Interrupted,
    TimedOut,
    Pruned { step: u64, reason: PruneReason },
    Invalid(String),
}

fn params_json(params: &Params) -> String {
    let obj: Map<String, Value> = params
        .iter()
        .map(|(k, v)| (k.clone(), v.to_json()))
        .collect();
    Value::Object(obj).to_string()
}
