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
//! `--dropout=`). [`CommandRunner::check`] rejects placeholders that name no
//! parameter and unbalanced braces before a study starts.
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
//!   "no result".
//!
//! All stdout lines (protocol or not) and all stderr go to the trial's log
//! file, between a header (study, trial, argv, working directory) and a
//! footer (how the command ended). Lines are streamed; one longer than
//! 1 MiB is cut in the log and never read as a protocol message.
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
//! If paretosearch itself dies (crash, `kill -9`), the command receives
//! `SIGKILL` from the kernel (`PR_SET_PDEATHSIG`, Linux). That signal
//! reaches only the command itself: its own children rely on the command
//! passing the signal on, or on a later group kill; a process that leaves
//! the group (`setsid`) is beyond our reach in every case. The kernel ties
//! the death signal to the *thread* that started the command, so
//! [`CommandRunner::run`] must be polled from a runtime whose worker
//! threads live as long as the trial (any tokio runtime; not
//! `spawn_blocking` threads, which exit when idle).

use std::collections::{BTreeMap, VecDeque};
use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use paretosearch_core::spec::CommandSpec;
use paretosearch_core::{Params, SearchSpace, TrialOutcome};
use serde_json::{Map, Value};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;
use tokio::time::{sleep, sleep_until, timeout, timeout_at, Instant};
use tokio_util::sync::CancellationToken;

use crate::{Job, NoReporter, Reporter, Runner, RunnerError, Verdict};

/// Longest stdout/stderr line kept whole; longer lines are cut in the log
/// and are never protocol messages.
const MAX_LINE: usize = 1 << 20;
/// Lines of stderr quoted in failure reasons.
const TAIL_LINES: usize = 3;
/// Characters of one quoted stderr line.
const TAIL_LINE_CHARS: usize = 160;
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
    /// A runner for `spec`. Templates are checked by [`CommandRunner::check`];
    /// a malformed one otherwise fails each trial with the reason.
    pub fn new(spec: CommandSpec) -> Self {
        CommandRunner { spec }
    }

    /// The spec this runner executes.
    pub fn spec(&self) -> &CommandSpec {
        &self.spec
    }

    /// Check the command templates against the search space: the command
    /// is not empty, braces are balanced, every placeholder names a
    /// parameter.
    pub fn check(&self, space: &SearchSpace) -> Result<(), RunnerError> {
        if self.spec.command.is_empty() {
            return Err(RunnerError::EmptyCommand {
                field: "runner.command",
            });
        }
        let templates = [
            ("runner.command", Some(&self.spec.command)),
            ("runner.profile_command", self.spec.profile_command.as_ref()),
        ];
        for (field, argv) in templates {
            let Some(argv) = argv else { continue };
            if argv.is_empty() {
                return Err(RunnerError::EmptyCommand { field });
            }
            for (index, arg) in argv.iter().enumerate() {
                let pieces = parse_template(arg).map_err(|message| RunnerError::Template {
                    field,
                    index,
                    arg: arg.clone(),
                    message,
                })?;
                for piece in pieces {
                    if let Piece::Name(name) = piece {
                        if space.get(name).is_none() {
                            let known: Vec<&str> =
                                space.params().iter().map(|p| p.name.as_str()).collect();
                            return Err(RunnerError::Template {
                                field,
                                index,
                                arg: arg.clone(),
                                message: format!(
                                    "`{{{name}}}` names no parameter (parameters: {})",
                                    known.join(", ")
                                ),
                            });
                        }
                    }
                }
            }
        }
        Ok(())
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
        let fail = |reason: String| TrialOutcome::Fail { reason };
        if cancel.is_cancelled() {
            return Err(fail(
                "interrupted: the run was stopped before the trial started".into(),
            ));
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
        let log = Log::open(job).map_err(fail)?;
        log.line(&format!(
            "==> paretosearch: study `{}` trial {}: {:?} in `{}`",
            job.study,
            job.trial,
            argv,
            workdir.display()
        ));

        let mut cmd = Command::new(program);
        cmd.args(&argv[1..])
            .envs(&self.spec.env)
            .env("PARETOSEARCH_PARAMS", params_json(&job.params))
            .env("PARETOSEARCH_TRIAL", job.trial.to_string())
            .env("PARETOSEARCH_STUDY", &job.study)
            .env("PARETOSEARCH_SEED", job.seed.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        if !workdir.as_os_str().is_empty() {
            cmd.current_dir(workdir);
        }
        die_with_parent(&mut cmd);

        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                let reason = format!("cannot start `{program}`: {}", io_message(&e));
                log.line(&format!("==> paretosearch: {reason}"));
                return Err(fail(reason));
            }
        };
        let Some(pgid) = child.id().map(|p| p as libc::pid_t) else {
            return Err(fail(format!(
                "`{program}` ended before it could be followed"
            )));
        };
        let _guard = GroupGuard(pgid);
        let (tx, mut rx) = mpsc::channel(16);
        let result = Slot::default();
        let tail = Slot::default();
        let stdout = child
            .stdout
            .take()
            .map(|o| tokio::spawn(read_stdout(o, log.clone(), tx, result.clone())));
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
                                log.line(&format!(
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
                            log.line(&format!("==> paretosearch: {reason}"));
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
                    Halt::Interrupted => {
                        fail("interrupted: the run was stopped before the trial finished".into())
                    }
                    Halt::TimedOut => fail(format!(
                        "timed out after {}",
                        humantime::format_duration(self.spec.timeout.unwrap_or_default())
                    )),
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
                    TrialOutcome::Fail { reason } => reason.clone(),
                    TrialOutcome::Complete(_) => String::new(),
                };
                log.line(&format!("==> paretosearch: {what}; {ended}"));
                return Err(outcome);
            }
        };
        join(stdout, drained).await;
        join(stderr, drained).await;
        // A process that escaped the group may still hold the pipes; what
        // was read so far counts.
        let result = result.take();
        let tail = tail.take().unwrap_or_default();
        log.line(&format!("==> paretosearch: {}", describe(status)));
        if !status.success() {
            return Err(fail(with_tail(describe(status), &tail)));
        }
        result.ok_or_else(|| {
            fail(with_tail(
                "the command printed no result (a JSON object without \"step\" on stdout)".into(),
                &tail,
            ))
        })
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
                Err(reason) => TrialOutcome::Fail { reason },
            },
            Err(outcome) => outcome,
        }
    }

    /// Runs `profile_command` like a trial (no pruning) and returns the
    /// values of `job.objectives` (the caller lists the cheap ones), or
    /// every numeric value when that list is empty.
    async fn profile(&self, job: Job) -> Option<Result<BTreeMap<String, f64>, String>> {
        let template = self.spec.profile_command.as_ref()?;
        let cancel = CancellationToken::new();
        Some(
            match self.execute(template, &job, &NoReporter, &cancel).await {
                Ok(result) => objective_values(&result, &job.objectives),
                Err(TrialOutcome::Fail { reason }) => Err(reason),
                Err(other) => Err(format!("profile command ended as {}", other.state())),
            },
        )
    }
}

/// Why the follow loop stopped the command.
enum Halt {
    Interrupted,
    TimedOut,
    Pruned { step: u64, reason: String },
    Invalid(String),
}

/// What the stdout reader hands to the follow loop.
enum Message {
    Report(u64, BTreeMap<String, f64>),
    Invalid(String),
}

// ----- templates --------------------------------------------------------------

/// A piece of an argument template.
#[derive(Debug, PartialEq)]
enum Piece<'a> {
    Text(String),
    Name(&'a str),
}

/// Split a template into text and placeholders; `{{`/`}}` are braces.
/// The grammar is the one the study-file parser validates
/// (`paretosearch_core::spec`): names are taken verbatim.
fn parse_template(t: &str) -> Result<Vec<Piece<'_>>, String> {
    let is_brace = |c: char| c == '{' || c == '}';
    let mut out = Vec::new();
    let mut text = String::new();
    let mut rest = t;
    while let Some(k) = rest.find(is_brace) {
        text.push_str(&rest[..k]);
        let open = rest.as_bytes()[k] == b'{';
        let after = &rest[k + 1..];
        if open && after.starts_with('{') {
            text.push('{');
            rest = &after[1..];
        } else if !open && after.starts_with('}') {
            text.push('}');
            rest = &after[1..];
        } else if !open {
            return Err("unmatched `}` (write `}}` for a literal brace)".into());
        } else {
            match after.find(is_brace) {
                Some(j) if after.as_bytes()[j] == b'}' => {
                    let name = &after[..j];
                    if name.is_empty() {
                        return Err("empty placeholder `{}` (write `{name}` or `{{}}`)".into());
                    }
                    if !text.is_empty() {
                        out.push(Piece::Text(std::mem::take(&mut text)));
                    }
                    out.push(Piece::Name(name));
                    rest = &after[j + 1..];
                }
                _ => return Err("unclosed `{` (write `{{` for a literal brace)".into()),
            }
        }
    }
    text.push_str(rest);
    if !text.is_empty() {
        out.push(Piece::Text(text));
    }
    Ok(out)
}

/// Substitute one argument template; absent (inactive) parameters become
/// the empty string.
pub fn substitute(template: &str, params: &Params) -> Result<String, String> {
    let mut out = String::new();
    for piece in parse_template(template)? {
        match piece {
            Piece::Text(t) => out.push_str(&t),
            Piece::Name(n) => {
                if let Some(v) = params.get(n) {
                    out.push_str(&v.to_string());
                }
            }
        }
    }
    Ok(out)
}

fn substitute_argv(template: &[String], params: &Params) -> Result<Vec<String>, String> {
    template
        .iter()
        .enumerate()
        .map(|(i, a)| {
            substitute(a, params).map_err(|e| format!("command argument {i} (`{a}`): {e}"))
        })
        .collect()
}

fn params_json(params: &Params) -> String {
    let obj: Map<String, Value> = params
        .iter()
        .map(|(k, v)| (k.clone(), v.to_json()))
        .collect();
    Value::Object(obj).to_string()
}

// ----- output -----------------------------------------------------------------

/// The per-trial log: shared by the two readers, written line by line.
#[derive(Clone)]
struct Log(Option<Arc<Mutex<Option<std::io::LineWriter<std::fs::File>>>>>);

impl Log {
    fn open(job: &Job) -> Result<Log, String> {
        let Some(path) = &job.log_path else {
            return Ok(Log(None));
        };
        let open = || -> std::io::Result<std::fs::File> {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)?;
            }
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
        };
        match open() {
            Ok(f) => Ok(Log(Some(Arc::new(Mutex::new(Some(
                std::io::LineWriter::new(f),
            )))))),
            Err(e) => Err(format!(
                "cannot write the trial log `{}`: {}",
                path.display(),
                io_message(&e)
            )),
        }
    }

    /// Append one line; after a write error the log is abandoned (the trial
    /// goes on).
    fn line(&self, line: &str) {
        let Some(w) = &self.0 else { return };
        let Ok(mut w) = w.lock() else { return };
        if let Some(f) = w.as_mut() {
            if writeln!(f, "{line}").is_err() {
                *w = None;
            }
        }
    }
}

/// Reads lines of at most [`MAX_LINE`] bytes without buffering more.
struct Lines<R> {
    inner: BufReader<R>,
    buf: Vec<u8>,
}

impl<R: AsyncRead + Unpin> Lines<R> {
    fn new(r: R) -> Self {
        Lines {
            inner: BufReader::new(r),
            buf: Vec::new(),
        }
    }

    /// The next line (lossy UTF-8, without its line ending) and whether it
    /// was cut; `None` at end of input or on a read error.
    async fn next(&mut self) -> Option<(String, bool)> {
        self.buf.clear();
        let mut cut = false;
        loop {
            let avail = match self.inner.fill_buf().await {
                Ok(b) => b,
                Err(_) => &[],
            };
            if avail.is_empty() {
                if self.buf.is_empty() && !cut {
                    return None;
                }
                break;
            }
            let (chunk, used, done) = match avail.iter().position(|&b| b == b'\n') {
                Some(i) => (&avail[..i], i + 1, true),
                None => (avail, avail.len(), false),
            };
            let room = MAX_LINE - self.buf.len();
            if chunk.len() > room {
                cut = true;
            }
            self.buf.extend_from_slice(&chunk[..chunk.len().min(room)]);
            self.inner.consume(used);
            if done {
                break;
            }
        }
        if self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        Some((String::from_utf8_lossy(&self.buf).into_owned(), cut))
    }
}

/// A value a reader task publishes as it goes, so that nothing read is
/// lost if the task has to be abandoned.
struct Slot<T>(Arc<Mutex<Option<T>>>);

impl<T> Default for Slot<T> {
    fn default() -> Self {
        Slot(Arc::new(Mutex::new(None)))
    }
}

impl<T> Clone for Slot<T> {
    fn clone(&self) -> Self {
        Slot(self.0.clone())
    }
}

impl<T> Slot<T> {
    fn set(&self, v: T) {
        if let Ok(mut g) = self.0.lock() {
            *g = Some(v);
        }
    }

    fn take(&self) -> Option<T> {
        self.0.lock().ok()?.take()
    }
}

/// Log every stdout line, send reports, keep the last result object.
async fn read_stdout(
    out: impl AsyncRead + Unpin,
    log: Log,
    tx: mpsc::Sender<Message>,
    result: Slot<Map<String, Value>>,
) {
    let mut lines = Lines::new(out);
    while let Some((line, cut)) = lines.next().await {
        if cut {
            log.line(&format!("{line} [cut at {MAX_LINE} bytes]"));
            continue;
        }
        log.line(&line);
        match parse_line(&line) {
            Line::Other => {}
            Line::Result(obj) => result.set(obj),
            // A closed receiver means the trial is being stopped: keep
            // draining the pipe so the command never blocks on a write.
            Line::Report(step, values) => {
                let _ = tx.send(Message::Report(step, values)).await;
            }
            Line::Invalid(reason) => {
                let _ = tx.send(Message::Invalid(reason)).await;
            }
        }
    }
}

/// Log every stderr line, keep the last few.
async fn read_stderr(err: impl AsyncRead + Unpin, log: Log, last: Slot<VecDeque<String>>) {
    let mut lines = Lines::new(err);
    let mut tail = VecDeque::with_capacity(TAIL_LINES + 1);
    while let Some((line, cut)) = lines.next().await {
        log.line(&line);
        let trimmed = line.trim();
        if !trimmed.is_empty() {
            let mut short: String = trimmed.chars().take(TAIL_LINE_CHARS).collect();
            if cut || short.len() < trimmed.len() {
                short.push('…');
            }
            tail.push_back(short);
            if tail.len() > TAIL_LINES {
                tail.pop_front();
            }
            last.set(tail.clone());
        }
    }
}

/// A stdout line, classified.
#[derive(Debug, PartialEq)]
enum Line {
    Other,
    Report(u64, BTreeMap<String, f64>),
    Result(Map<String, Value>),
    Invalid(String),
}

fn parse_line(line: &str) -> Line {
    let t = line.trim();
    if !(t.starts_with('{') && t.ends_with('}')) {
        return Line::Other;
    }
    let obj = match serde_json::from_str::<Map<String, Value>>(t) {
        Ok(o) => o,
        Err(_) => match relaxed(t).and_then(|r| serde_json::from_str(&r).ok()) {
            Some(o) => o,
            None => return Line::Other,
        },
    };
    let Some(step) = obj.get("step") else {
        return Line::Result(obj);
    };
    let step = match step {
        Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| *f >= 0.0 && f.fract() == 0.0 && *f < 9.0e15)
                .map(|f| f as u64)
        }),
        _ => None,
    };
    let Some(step) = step else {
        return Line::Invalid(format!(
            "a report has \"step\": {}; it must be a non-negative integer",
            obj["step"]
        ));
    };
    let values = obj
        .iter()
        .filter(|(k, _)| k.as_str() != "step")
        .filter_map(|(k, v)| Some((k.clone(), number(v).ok().filter(|x| x.is_finite())?)))
        .collect();
    Line::Report(step, values)
}

/// Rewrite Python's bare `NaN`, `Infinity`, `-Infinity` (outside strings)
/// as strings, so the line parses and the value can be recognised. `None`
/// when there is nothing to rewrite.
fn relaxed(t: &str) -> Option<String> {
    const TOKENS: [&str; 3] = ["-Infinity", "Infinity", "NaN"];
    let mut out = String::with_capacity(t.len() + 8);
    let mut in_string = false;
    let mut escaped = false;
    let mut changed = false;
    let mut i = 0;
    while i < t.len() {
        let c = t[i..].chars().next().unwrap_or_default();
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
        } else if let Some(tok) = TOKENS.iter().find(|tok| t[i..].starts_with(*tok)) {
            out.push('"');
            out.push_str(tok);
            out.push('"');
            i += tok.len();
            changed = true;
            continue;
        }
        out.push(c);
        i += c.len_utf8();
    }
    changed.then_some(out)
}

/// A JSON value as a number: numbers, and the rewritten `NaN`/`Infinity`.
fn number(v: &Value) -> Result<f64, ()> {
    match v {
        Value::Number(n) => n.as_f64().ok_or(()),
        Value::String(s) => match s.as_str() {
            "NaN" => Ok(f64::NAN),
            "Infinity" => Ok(f64::INFINITY),
            "-Infinity" => Ok(f64::NEG_INFINITY),
            _ => Err(()),
        },
        _ => Err(()),
    }
}

/// The objectives' values from a result object (every finite number when
/// `objectives` is empty).
fn objective_values(
    result: &Map<String, Value>,
    objectives: &[String],
) -> Result<BTreeMap<String, f64>, String> {
    if objectives.is_empty() {
        return Ok(result
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), number(v).ok().filter(|x| x.is_finite())?)))
            .collect());
    }
    let mut out = BTreeMap::new();
    for name in objectives {
        let Some(v) = result.get(name) else {
            let keys: Vec<&str> = result.keys().map(String::as_str).collect();
            return Err(format!(
                "objective `{name}` missing from the result (it has: {})",
                if keys.is_empty() {
                    "nothing".into()
                } else {
                    keys.join(", ")
                }
            ));
        };
        match number(v) {
            Ok(x) if x.is_finite() => {
                out.insert(name.clone(), x);
            }
            Ok(x) => return Err(format!("objective `{name}` is {x}")),
            Err(()) => return Err(format!("objective `{name}` is not a number (got {v})")),
        }
    }
    Ok(out)
}

// ----- processes --------------------------------------------------------------

/// Await the deadline, or forever when there is none.
async fn until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// Wait for a reader task; abandon it if it does not finish within
/// `deadline` (a process outside the group holds the pipe).
async fn join(task: Option<tokio::task::JoinHandle<()>>, deadline: Instant) {
    let Some(mut task) = task else { return };
    if timeout_at(deadline, &mut task).await.is_err() {
        task.abort();
    }
}

fn signal_group(pgid: libc::pid_t, sig: libc::c_int) {
    // SAFETY: kill(2) has no memory-safety preconditions; a negative pid
    // addresses the process group we created.
    unsafe {
        libc::kill(-pgid, sig);
    }
}

fn group_alive(pgid: libc::pid_t) -> bool {
    // SAFETY: as in `signal_group`; signal 0 only checks for existence.
    unsafe { libc::kill(-pgid, 0) == 0 }
}

/// Stop the process group: SIGTERM, up to `grace` for it to empty, SIGKILL
/// for what is left; reap the command. `exited` is the command's status if
/// it has already been reaped. Returns the command's status.
async fn terminate(
    child: &mut Child,
    pgid: libc::pid_t,
    grace: Duration,
    exited: Option<ExitStatus>,
) -> Option<ExitStatus> {
    if exited.is_some() && !group_alive(pgid) {
        return exited;
    }
    signal_group(pgid, libc::SIGTERM);
    let end = Instant::now() + grace;
    let status = match exited {
        Some(s) => Some(s),
        None => timeout_at(end, child.wait())
            .await
            .ok()
            .and_then(Result::ok),
    };
    while group_alive(pgid) && Instant::now() < end {
        sleep(Duration::from_millis(20)).await;
    }
    signal_group(pgid, libc::SIGKILL);
    // The kill is asynchronous; give the kernel a moment to end the group so
    // callers see it gone (zombies still answer `kill(0)`, hence the bound).
    let end = Instant::now() + Duration::from_millis(500);
    while group_alive(pgid) && Instant::now() < end {
        sleep(Duration::from_millis(10)).await;
    }
    match status {
        Some(s) => Some(s),
        None => timeout(Duration::from_secs(5), child.wait())
            .await
            .ok()
            .and_then(Result::ok),
    }
}

/// Kills the process group if the trial's future is dropped mid-run.
struct GroupGuard(libc::pid_t);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if group_alive(self.0) {
            signal_group(self.0, libc::SIGKILL);
        }
    }
}

/// Ask the kernel to SIGKILL the command when paretosearch dies.
#[cfg(target_os = "linux")]
fn die_with_parent(cmd: &mut Command) {
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: the closure runs between fork and exec and calls only
    // async-signal-safe functions (prctl, getppid), allocating nothing.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::SIGKILL as libc::c_ulong,
                0,
                0,
                0,
            ) == -1
            {
                return Err(std::io::Error::last_os_error());
            }
            // The parent may have died before prctl took effect.
            if libc::getppid() != parent {
                return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_parent(_cmd: &mut Command) {}

/// `command exited with status 3`, `command killed by signal 9 (SIGKILL)`.
fn describe(status: ExitStatus) -> String {
    if let Some(code) = status.code() {
        return format!("command exited with status {code}");
    }
    match status.signal() {
        Some(sig) => {
            let name = match sig {
                libc::SIGHUP => " (SIGHUP)",
                libc::SIGINT => " (SIGINT)",
                libc::SIGABRT => " (SIGABRT)",
                libc::SIGKILL => " (SIGKILL)",
                libc::SIGSEGV => " (SIGSEGV)",
                libc::SIGTERM => " (SIGTERM)",
                libc::SIGBUS => " (SIGBUS)",
                _ => "",
            };
            format!("command killed by signal {sig}{name}")
        }
        None => "command ended abnormally".into(),
    }
}

fn with_tail(reason: String, tail: &VecDeque<String>) -> String {
    if tail.is_empty() {
        reason
    } else {
        let lines: Vec<&str> = tail.iter().map(String::as_str).collect();
        format!("{reason}; stderr: {}", lines.join(" | "))
    }
}

/// An I/O error without the `(os error N)` suffix.
fn io_message(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use paretosearch_core::space::{Distribution, Param};
    use paretosearch_core::{ParamValue, TrialState};
    use std::path::{Path, PathBuf};

    /// A reporter that records reports and stops at a given step.
    #[derive(Default)]
    struct Recorder {
        reports: Mutex<Vec<(u64, BTreeMap<String, f64>)>>,
        stop_at: Option<u64>,
    }

    #[async_trait]
    impl Reporter for Recorder {
        async fn report(&self, step: u64, values: &BTreeMap<String, f64>) -> Verdict {
            self.reports.lock().unwrap().push((step, values.clone()));
            if self.stop_at == Some(step) {
                Verdict::Stop(format!("dominated at step {step}"))
            } else {
                Verdict::Continue
            }
        }
    }

    fn spec(dir: &Path, argv: &[&str]) -> CommandSpec {
        CommandSpec {
            command: argv.iter().map(|s| s.to_string()).collect(),
            profile_command: None,
            timeout: Some(Duration::from_secs(10)),
            grace: Duration::from_millis(200),
            workdir: dir.to_path_buf(),
            env: BTreeMap::new(),
        }
    }

    /// A runner for a shell script written to the working directory (the
    /// script's braces are not templates).
    fn sh(dir: &Path, script: &str) -> CommandRunner {
        std::fs::write(dir.join("trial.sh"), script).unwrap();
        CommandRunner::new(spec(dir, &["sh", "trial.sh"]))
    }

    fn job(dir: &Path) -> Job {
        Job {
            study: "demo".into(),
            trial: 7,
            params: [
                ("lr".to_string(), ParamValue::Float(0.01)),
                ("layers".to_string(), ParamValue::Int(3)),
                ("opt".to_string(), ParamValue::Str("adam".into())),
            ]
            .into(),
            seed: 42,
            objectives: vec!["acc".into(), "lat".into()],
            log_path: Some(dir.join("logs").join("trial-7.log")),
        }
    }

    fn log_of(dir: &Path) -> String {
        std::fs::read_to_string(dir.join("logs").join("trial-7.log")).unwrap()
    }

    async fn run(r: &CommandRunner, job: Job) -> TrialOutcome {
        let started = std::time::Instant::now();
        let out = r.run(job, &NoReporter, CancellationToken::new()).await;
        // Guard only: proves the command was stopped rather than waited out.
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "took {:?}",
            started.elapsed()
        );
        out
    }

    fn fail_reason(o: TrialOutcome) -> String {
        match o {
            TrialOutcome::Fail { reason } => reason,
            o => panic!("expected a failure, got {o:?}"),
        }
    }

    /// Gone, or a zombie waiting for init: in both cases no longer running.
    fn process_dead_now(pid: i32) -> bool {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => true,
            Ok(stat) => {
                let after = stat.rsplit(')').next().unwrap_or("");
                let state = after.trim_start();
                state.starts_with('Z') || state.starts_with('X')
            }
        }
    }

    /// SIGKILL is delivered asynchronously: a killed process can still show
    /// as running for a moment. Wait (bounded) for it to become a zombie or
    /// vanish; a process that survives two seconds really survived.
    fn process_gone(pid: i32) -> bool {
        let end = std::time::Instant::now() + Duration::from_secs(2);
        loop {
            if process_dead_now(pid) {
                return true;
            }
            if std::time::Instant::now() >= end {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn read_pid(path: PathBuf) -> i32 {
        std::fs::read_to_string(path)
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    }

    #[tokio::test]
    async fn success_with_values() {
        let d = tempfile::tempdir().unwrap();
        let r = sh(d.path(), r#"echo '{"acc": 0.9, "lat": 3, "note": "x"}'"#);
        let out = run(&r, job(d.path())).await;
        let want: BTreeMap<String, f64> =
            [("acc".to_string(), 0.9), ("lat".to_string(), 3.0)].into();
        assert_eq!(out, TrialOutcome::Complete(want));
    }

    #[tokio::test]
    async fn reports_arrive_in_order_then_the_last_result_counts() {
        let d = tempfile::tempdir().unwrap();
        let r = sh(
            d.path(),
            r#"for i in 0 1 2 3; do echo "{\"step\": $i, \"acc\": 0.$i, \"tag\": \"t\"}"; done
               echo '{"acc": 0.1, "lat": 1}'
               echo '{"acc": 0.5, "lat": 2}'"#,
        );
        let rec = Recorder::default();
        let out = r.run(job(d.path()), &rec, CancellationToken::new()).await;
        let want: BTreeMap<String, f64> =
            [("acc".to_string(), 0.5), ("lat".to_string(), 2.0)].into();
        assert_eq!(out, TrialOutcome::Complete(want));
        let reports = rec.reports.lock().unwrap().clone();
        let steps: Vec<u64> = reports.iter().map(|r| r.0).collect();
        assert_eq!(steps, vec![0, 1, 2, 3]);
        assert_eq!(reports[2].1, [("acc".to_string(), 0.2)].into());
    }

    #[tokio::test]
    async fn stop_verdict_terminates_and_prunes() {
        let d = tempfile::tempdir().unwrap();
        let r = sh(
            d.path(),
            r#"sleep 30 & echo $! > child.pid
               echo '{"step": 0, "acc": 0.1}'; echo '{"step": 1, "acc": 0.2}'
               wait
               echo '{"step": 2, "acc": 0.3}'"#,
        );
        let rec = Recorder {
            stop_at: Some(1),
            ..Recorder::default()
        };
        let started = std::time::Instant::now();
        let out = r.run(job(d.path()), &rec, CancellationToken::new()).await;
        assert!(started.elapsed() < Duration::from_secs(10));
        assert_eq!(
            out,
            TrialOutcome::Pruned {
                values: [("acc".to_string(), 0.2)].into(),
                step: Some(1),
                reason: "dominated at step 1".into(),
            }
        );
        assert_eq!(rec.reports.lock().unwrap().len(), 2);
        assert!(process_gone(read_pid(d.path().join("child.pid"))));
        assert!(log_of(d.path()).contains("pruned at step 1"));
    }

    #[tokio::test]
    async fn timeout_kills_the_group_including_grandchildren() {
        let d = tempfile::tempdir().unwrap();
        let mut s = spec(
            d.path(),
            // TERM is ignored by the shell and (inherited) by its child:
            // only the SIGKILL after the grace period ends them.
            &[
                "sh",
                "-c",
                "trap '' TERM; sleep 1000 & echo $! > child.pid; wait",
            ],
        );
        s.timeout = Some(Duration::from_secs(1));
        let out = run(&CommandRunner::new(s), job(d.path())).await;
        assert_eq!(fail_reason(out), "timed out after 1s");
        let pid = read_pid(d.path().join("child.pid"));
        assert!(process_gone(pid), "grandchild {pid} survived");
        let log = log_of(d.path());
        assert!(
            log.contains("timed out after 1s") && log.contains("signal 9"),
            "{log}"
        );
    }

    #[tokio::test]
    async fn background_processes_are_cleaned_up_after_a_normal_exit() {
        let d = tempfile::tempdir().unwrap();
        let r = sh(
            d.path(),
            r#"sleep 1000 & echo $! > child.pid; echo '{"acc": 1, "lat": 2}'"#,
        );
        let out = run(&r, job(d.path())).await;
        assert_eq!(out.state(), TrialState::Complete, "{out:?}");
        assert!(process_gone(read_pid(d.path().join("child.pid"))));
    }

    #[tokio::test]
    async fn a_process_that_leaves_the_group_does_not_lose_the_result() {
        let d = tempfile::tempdir().unwrap();
        let r = sh(
            d.path(),
            r#"setsid sleep 30 & echo $! > escaped.pid; echo '{"acc": 1, "lat": 2}'"#,
        );
        let out = run(&r, job(d.path())).await;
        let pid = read_pid(d.path().join("escaped.pid"));
        // SAFETY: kill(2) on the test's own escaped process.
        unsafe { libc::kill(pid, libc::SIGKILL) };
        assert_eq!(out.state(), TrialState::Complete, "{out:?}");
    }

    #[tokio::test]
    async fn dropping_the_trial_kills_the_group() {
        let d = tempfile::tempdir().unwrap();
        let r = sh(d.path(), "sleep 1000 & echo $! > child.pid; wait");
        let (dir, path) = (d.path().to_path_buf(), d.path().join("child.pid"));
        let task = tokio::spawn(async move {
            r.run(job(&dir), &NoReporter, CancellationToken::new())
                .await
        });
        let mut tries = 0;
        while !path.exists() || std::fs::read_to_string(&path).unwrap().trim().is_empty() {
            tries += 1;
            assert!(tries < 500, "the command never started");
            sleep(Duration::from_millis(10)).await;
        }
        task.abort();
        assert!(task.await.unwrap_err().is_cancelled());
        let pid = read_pid(path);
        let mut tries = 0;
        while !process_gone(pid) {
            tries += 1;
            assert!(tries < 500, "grandchild {pid} survived the drop");
            sleep(Duration::from_millis(10)).await;
        }
    }

    #[tokio::test]
    async fn non_zero_exit_fails_with_status_and_stderr_tail() {
        let d = tempfile::tempdir().unwrap();
        let r = sh(
            d.path(),
            r#"echo '{"acc": 1, "lat": 2}'; for i in 1 2 3 4 5; do echo "line $i" >&2; done; exit 3"#,
        );
        let reason = fail_reason(run(&r, job(d.path())).await);
        assert_eq!(
            reason,
            "command exited with status 3; stderr: line 3 | line 4 | line 5"
        );
        let log = log_of(d.path());
        assert!(
            log.contains("line 1") && log.contains("command exited with status 3"),
            "{log}"
        );
        assert!(
            log.contains(r#"trial 7: ["sh", "trial.sh"]"#),
            "header with argv: {log}"
        );
    }

    #[tokio::test]
    async fn killed_by_signal() {
        let d = tempfile::tempdir().unwrap();
        let reason = fail_reason(run(&sh(d.path(), "kill -9 $$"), job(d.path())).await);
        assert_eq!(reason, "command killed by signal 9 (SIGKILL)");
    }

    #[tokio::test]
    async fn spawn_failure_names_the_program() {
        let d = tempfile::tempdir().unwrap();
        let r = CommandRunner::new(spec(d.path(), &["python4-nonexistent", "train.py"]));
        let reason = fail_reason(run(&r, job(d.path())).await);
        assert_eq!(
            reason,
            "cannot start `python4-nonexistent`: No such file or directory"
        );
        let mut s = spec(d.path(), &["sh", "-c", "true"]);
        s.workdir = d.path().join("missing");
        let reason = fail_reason(run(&CommandRunner::new(s), job(d.path())).await);
        assert!(reason.starts_with("working directory"), "{reason}");
    }

    #[tokio::test]
    async fn garbage_is_logged_and_ignored() {
        let d = tempfile::tempdir().unwrap();
        let r = sh(
            d.path(),
            r#"echo hello; echo '{not json'; echo '[1, 2]'; echo '{"acc": 0.7, "lat": 1}'; echo 'epoch done'
               echo 'warning: something' >&2"#,
        );
        let out = run(&r, job(d.path())).await;
        assert_eq!(out.state(), TrialState::Complete, "{out:?}");
        let log = log_of(d.path());
        for want in [
            "hello",
            "{not json",
            "[1, 2]",
            "epoch done",
            "warning: something",
        ] {
            assert!(log.contains(want), "log lacks {want:?}: {log}");
        }
    }

    #[tokio::test]
    async fn bad_results_fail_with_the_objective_named() {
        let d = tempfile::tempdir().unwrap();
        let cases = [
            (
                r#"echo '{"acc": 1}'"#,
                "objective `lat` missing from the result (it has: acc)",
            ),
            (
                r#"echo '{"acc": "high", "lat": 1}'"#,
                r#"objective `acc` is not a number (got "high")"#,
            ),
            (r#"echo '{"acc": NaN, "lat": 1}'"#, "objective `acc` is NaN"),
            (
                r#"echo '{"acc": 1, "lat": -Infinity}'"#,
                "objective `lat` is -inf",
            ),
            (
                r#"echo '{"step": -1, "acc": 1}'; sleep 30"#,
                "a report has \"step\": -1; it must be a non-negative integer",
            ),
        ];
        for (script, want) in cases {
            assert_eq!(
                fail_reason(run(&sh(d.path(), script), job(d.path())).await),
                want
            );
        }
        let reason = fail_reason(run(&sh(d.path(), "echo no json here"), job(d.path())).await);
        assert!(
            reason.starts_with("the command printed no result"),
            "{reason}"
        );
    }

    #[tokio::test]
    async fn python_nan_is_a_failure() {
        let d = tempfile::tempdir().unwrap();
        let script = d.path().join("train.py");
        std::fs::write(
            &script,
            "import json\nprint(json.dumps({'step': 0, 'acc': float('nan')}), flush=True)\n\
             print(json.dumps({'acc': float('nan'), 'lat': 1.5}))\n",
        )
        .unwrap();
        let r = CommandRunner::new(spec(d.path(), &["python3", script.to_str().unwrap()]));
        let rec = Recorder::default();
        let out = r.run(job(d.path()), &rec, CancellationToken::new()).await;
        assert_eq!(fail_reason(out), "objective `acc` is NaN");
        // The report arrives, without its non-finite value.
        assert_eq!(
            rec.reports.lock().unwrap().clone(),
            vec![(0, BTreeMap::new())]
        );
    }

    #[tokio::test]
    async fn cancel_interrupts() {
        let d = tempfile::tempdir().unwrap();
        let r = sh(d.path(), "sleep 30");
        let cancel = CancellationToken::new();
        let c = cancel.clone();
        tokio::spawn(async move {
            sleep(Duration::from_millis(200)).await;
            c.cancel();
        });
        let started = std::time::Instant::now();
        let out = r.run(job(d.path()), &NoReporter, cancel).await;
        assert!(started.elapsed() < Duration::from_secs(10));
        assert!(fail_reason(out).starts_with("interrupted"));

        // Cancelled before the start: nothing runs.
        let r = sh(d.path(), "touch started");
        let cancel = CancellationToken::new();
        cancel.cancel();
        let out = r.run(job(d.path()), &NoReporter, cancel).await;
        assert!(fail_reason(out).starts_with("interrupted"));
        assert!(!d.path().join("started").exists());
    }

    #[tokio::test]
    async fn closing_stdout_does_not_escape_the_timeout() {
        let d = tempfile::tempdir().unwrap();
        let mut s = spec(d.path(), &["sh", "-c", "exec >&-; sleep 30"]);
        s.timeout = Some(Duration::from_secs(1));
        let out = run(&CommandRunner::new(s), job(d.path())).await;
        assert_eq!(fail_reason(out), "timed out after 1s");
    }

    #[tokio::test]
    async fn placeholders_env_and_workdir() {
        let d = tempfile::tempdir().unwrap();
        let mut s = spec(
            d.path(),
            &[
                "sh",
                "-c",
                r#"printf '%s\n' "$1" "$2" "$3" "$PARETOSEARCH_TRIAL" "$PARETOSEARCH_STUDY" "$PARETOSEARCH_SEED" "$EXTRA" "$PARETOSEARCH_PARAMS" > args.txt
                   echo '{{"acc": 1, "lat": 1}}'"#,
                "argv0",
                "--lr={lr}",
                "--opt={opt}{{x}}",
                "{dropout}",
            ],
        );
        s.env.insert("EXTRA".into(), "from-spec".into());
        let out = run(&CommandRunner::new(s), job(d.path())).await;
        assert_eq!(out.state(), TrialState::Complete, "{out:?}");
        let got = std::fs::read_to_string(d.path().join("args.txt")).unwrap();
        let lines: Vec<&str> = got.lines().collect();
        assert_eq!(
            &lines[..7],
            &[
                "--lr=0.01",
                "--opt=adam{x}",
                "",
                "7",
                "demo",
                "42",
                "from-spec"
            ]
        );
        let params: Value = serde_json::from_str(lines[7]).unwrap();
        assert_eq!(
            params,
            serde_json::json!({"lr": 0.01, "layers": 3, "opt": "adam"})
        );
    }

    #[tokio::test]
    async fn long_lines_are_cut_and_not_parsed() {
        let d = tempfile::tempdir().unwrap();
        let r = sh(
            d.path(),
            r#"printf '{"acc": 2, "lat": 2, "pad": "'; head -c 1200000 /dev/zero | tr '\0' a; echo '"}'
               echo '{"acc": 1, "lat": 1}'"#,
        );
        let out = run(&r, job(d.path())).await;
        let want: BTreeMap<String, f64> =
            [("acc".to_string(), 1.0), ("lat".to_string(), 1.0)].into();
        assert_eq!(out, TrialOutcome::Complete(want));
        assert!(log_of(d.path()).contains("[cut at 1048576 bytes]"));
    }

    #[tokio::test]
    async fn profile_runs_the_profile_command() {
        let d = tempfile::tempdir().unwrap();
        let mut s = spec(d.path(), &["sh", "-c", "exit 1"]);
        let r = CommandRunner::new(s.clone());
        assert!(r.profile(job(d.path())).await.is_none());
        s.profile_command = Some(vec![
            "sh".into(),
            "-c".into(),
            r#"echo "{{\"lat\": $1, \"size\": 12}}""#.into(),
            "argv0".into(),
            "{layers}".into(),
        ]);
        let r = CommandRunner::new(s);
        let mut j = job(d.path());
        j.objectives = vec!["lat".into()];
        assert_eq!(
            r.profile(j.clone()).await,
            Some(Ok([("lat".to_string(), 3.0)].into()))
        );
        j.objectives.clear();
        let all: BTreeMap<String, f64> =
            [("lat".to_string(), 3.0), ("size".to_string(), 12.0)].into();
        assert_eq!(r.profile(j.clone()).await, Some(Ok(all)));
        j.objectives = vec!["flops".into()];
        assert!(matches!(r.profile(j).await, Some(Err(e)) if e.contains("`flops`")));
    }

    #[test]
    fn templates() {
        let params: Params = [
            ("a".to_string(), ParamValue::Int(1)),
            ("b".to_string(), ParamValue::Bool(true)),
        ]
        .into();
        assert_eq!(substitute("x{a}y{b}", &params).unwrap(), "x1ytrue");
        assert_eq!(substitute("{{a}}={a}", &params).unwrap(), "{a}=1");
        assert_eq!(substitute("--c={c}", &params).unwrap(), "--c=");
        assert_eq!(substitute("plain", &params).unwrap(), "plain");
        assert_eq!(
            substitute("{}}", &params).unwrap_err(),
            "empty placeholder `{}` (write `{name}` or `{{}}`)"
        );
        assert!(substitute("{a", &params).unwrap_err().contains("unclosed"));
        assert!(substitute("a}", &params).unwrap_err().contains("unmatched"));
        assert!(substitute("{a{b}}", &params)
            .unwrap_err()
            .contains("unclosed"));
    }

    #[test]
    fn check_against_the_space() {
        let float = Distribution::Float {
            low: 0.0,
            high: 1.0,
            log: false,
            step: None,
        };
        let space = SearchSpace::new(vec![Param {
            name: "lr".into(),
            distribution: float,
            when: vec![],
            monotone: None,
        }])
        .unwrap();
        let d = Path::new("/");
        assert!(CommandRunner::new(spec(d, &["train", "--lr={lr}", "{{}}"]))
            .check(&space)
            .is_ok());
        let e = CommandRunner::new(spec(d, &["train", "--bs={bs}"]))
            .check(&space)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "`runner.command` argument 1 (`--bs={bs}`): `{bs}` names no parameter (parameters: lr)"
        );
        let mut s = spec(d, &["train"]);
        s.profile_command = Some(vec!["prof".into(), "{lr".into()]);
        let e = CommandRunner::new(s).check(&space).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("`runner.profile_command` argument 1"),
            "{e}"
        );
        let e = CommandRunner::new(spec(d, &[])).check(&space).unwrap_err();
        assert!(matches!(e, RunnerError::EmptyCommand { .. }));
    }

    #[test]
    fn line_classification() {
        assert_eq!(parse_line("hello"), Line::Other);
        assert_eq!(parse_line("{bad"), Line::Other);
        assert_eq!(
            parse_line(r#" {"step": 3.0, "a": 1} "#),
            Line::Report(3, [("a".to_string(), 1.0)].into())
        );
        assert!(matches!(parse_line(r#"{"step": "3"}"#), Line::Invalid(_)));
        assert!(matches!(parse_line(r#"{"step": 1.5}"#), Line::Invalid(_)));
        // Tokens inside strings are left alone.
        match parse_line(r#"{"s": "NaN \"Infinity\"", "x": NaN}"#) {
            Line::Result(o) => {
                assert_eq!(o["s"], Value::String("NaN \"Infinity\"".into()));
                assert!(number(&o["x"]).unwrap().is_nan());
            }
            l => panic!("{l:?}"),
        }
    }
}
