//! The study file: a TOML document naming objectives, search space,
//! sampler, pruner, runner, budget and storage.
//!
//! Parsing is pure: [`StudySpec::parse`] receives the text and a loader for
//! `include`d fragments. Every error is a [`SpecError`] that names the file,
//! the line and column, the field, what is wrong and how to fix it.
//!
//! ## Why a hand walk over `toml_edit` rather than `serde`
//!
//! A derived `Deserialize` would give the shapes for free but poor
//! complaints: serde stops at the first mismatch with a message about Rust
//! types, knows nothing about "did you mean", and cannot say that a
//! parameter is defined both here and in an included fragment. The study
//! file is the one place users meet the engine before anything runs, so
//! every key is taken explicitly from a `toml_edit` document (which keeps
//! the byte span of every key and value) and every complaint points at the
//! exact line and column, in the fragment when the fault is in a fragment.
//!
//! Semantic checks of distributions reuse [`Distribution::check`] and
//! conditions are checked against the merged space before
//! [`SearchSpace::new`] builds it, so the rules live in one place and the
//! spec layer only adds locations and fixes.
//!
//! ## Studies built in code
//!
//! [`StudySpec::builder`] (with [`SearchSpace::builder`] for the space)
//! builds the same [`StudySpec`] without a file: the parser's defaults
//! for every key left out, and the parser's own rules, shared with it, so
//! a study refused in a file is refused in code with the same message.
//!
//! ## Errors after parsing
//!
//! Sampler, pruner and runner options are validated by the crates that
//! implement them. The spec keeps its source text in [`SpecOrigin`], and
//! [`SpecOrigin::error_at`] turns a dotted path into a located
//! [`SpecError`], so those errors read exactly like the parser's own.
//!
//! [`Distribution::check`]: crate::space::Distribution::check

// `SpecError` is a public record of six fields that other crates build and
// read; errors are rare and returned once per parse, so its size on the
// error path is not worth an indirection in every signature.
#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::objective::Objectives;
use crate::space::SearchSpace;

mod builder;
mod diff;
mod locate;
mod parse;
mod template;
mod walk;

pub use builder::{StudySpecBuilder, CODE_ORIGIN, NO_RUNNER};
pub use diff::describe_changes;

/// The most trials one process runs at once (`[budget] workers`,
/// `--workers`, the engine's `Options::workers`): a slot per worker holds a
/// runner and its buffers, so a value past what a machine can run would
/// only exhaust its memory. More processes on one storage share a study
/// beyond that.
pub const MAX_WORKERS: usize = 1024;
pub use template::{parse_template, placeholders, TemplateError, TemplatePart};

/// A study file, parsed and validated.
#[derive(Clone, Debug)]
pub struct StudySpec {
    /// Study name (unique within a storage).
    pub name: String,
    /// Master seed: every trial's randomness derives from (seed, number).
    pub seed: u64,
    /// Storage URL from the file, if any (`sqlite://...`, `postgres://...`).
    pub storage: Option<String>,
    /// How often running trials refresh their heartbeat.
    pub heartbeat: Duration,
    /// A RUNNING trial whose heartbeat is older than this is stale.
    pub stale_after: Duration,
    /// How many times a stale or interrupted trial's parameters are re-queued.
    pub retries: u32,
    /// Objectives in declared order.
    pub objectives: Objectives,
    /// The search space, includes merged.
    pub space: SearchSpace,
    /// `[sampler]`.
    pub sampler: SamplerSpec,
    /// `[pruner]`, if present.
    pub pruner: Option<PrunerSpec>,
    /// `[runner]`.
    pub runner: RunnerSpec,
    /// `[budget]`.
    pub budget: Budget,
    /// `[hypervolume]`: the reference point, declared or to be frozen.
    pub hypervolume: HypervolumeSpec,
    /// Where the spec came from (for errors raised after parsing).
    pub origin: SpecOrigin,
}

/// `[sampler]`: a kind and its options (validated by the samplers crate).
#[derive(Clone, Debug, PartialEq)]
pub struct SamplerSpec {
    /// `random`, `sobol`, `tpe`, `gp`, `nsga2`, `auto`.
    pub kind: String,
    /// Every other key of the table.
    pub options: toml::Table,
}

/// `[pruner]`: a kind and its options.
#[derive(Clone, Debug, PartialEq)]
pub struct PrunerSpec {
    /// `none`, `dominated`, `median`, `hyperband` ...
    pub kind: String,
    /// Every other key of the table.
    pub options: toml::Table,
}

/// `[runner]`.
#[derive(Clone, Debug, PartialEq)]
pub enum RunnerSpec {
    /// An external command speaking the JSON-lines protocol.
    Command(CommandSpec),
    /// A built-in analytic problem (zdt1 ...).
    Builtin(BuiltinSpec),
    /// A runner implemented in another crate (`torch`); its table is
    /// validated there, with [`SpecOrigin::error_at`] for locations.
    Other {
        /// The `kind`.
        kind: String,
        /// The whole `[runner]` table except `kind`.
        options: toml::Table,
    },
}

/// `[runner] kind = "command"`.
#[derive(Clone, Debug, PartialEq)]
pub struct CommandSpec {
    /// argv with `{param}` placeholders.
    pub command: Vec<String>,
    /// Optional argv that measures only the cheap objectives.
    pub profile_command: Option<Vec<String>>,
    /// Per-trial time limit.
    pub timeout: Option<Duration>,
    /// Grace between SIGTERM and SIGKILL when a trial is stopped.
    pub grace: Duration,
    /// Working directory: `workdir` from the file resolved against the study
    /// file's folder (default: that folder), lexically normalised.
    pub workdir: PathBuf,
    /// Extra environment variables.
    pub env: BTreeMap<String, String>,
    /// `log_limit`: most bytes of output kept in a trial's log (its first
    /// and last halves; default [`DEFAULT_LOG_LIMIT`]).
    pub log_limit: u64,
}

/// The default `[runner] log_limit` of a command runner: 10 MiB, about
/// 100 000 lines of progress output, far more than a training script's
/// own log needs, small enough that a runaway print loop in every trial
/// of a long study does not fill a disk.
pub const DEFAULT_LOG_LIMIT: u64 = 10 << 20;

/// `[runner] kind = "builtin"`.
#[derive(Clone, Debug, PartialEq)]
pub struct BuiltinSpec {
    /// Problem name.
    pub problem: String,
    /// `delay`: how long each trial takes (the runner waits this long
    /// before it reports), so that benchmarks of many workers see trials
    /// that overlap as real ones do. `None` (the default): no wait.
    pub delay: Option<Duration>,
}

/// `[budget]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Budget {
    /// Total finished trials over all runs of the study.
    pub trials: u64,
    /// Wall-clock bound of one `run`.
    pub timeout: Option<Duration>,
    /// Concurrent trials on this machine.
    pub workers: usize,
}

/// How many first feasible COMPLETE trials freeze a study's hypervolume
/// reference when `[hypervolume] reference` is not declared.
pub const DEFAULT_FREEZE_AFTER: usize = 10;

/// `[hypervolume]`: the one reference point every hypervolume of the
/// study (progress bar, `status`, `plot`, `report`) is measured against.
#[derive(Clone, Debug, PartialEq)]
pub struct HypervolumeSpec {
    /// Declared reference: raw objective values, in objective order.
    pub reference: Option<Vec<f64>>,
    /// Without a declared reference, the first this many feasible
    /// COMPLETE trials (in the order they finished) freeze it: their
    /// nadir plus 10 % of their range per objective, stored with the
    /// study once reached.
    pub freeze_after: usize,
}

impl Default for HypervolumeSpec {
    fn default() -> Self {
        HypervolumeSpec {
            reference: None,
            freeze_after: DEFAULT_FREEZE_AFTER,
        }
    }
}

/// The file a spec was read from and its text, kept to locate fields in
/// errors raised after parsing (e.g. by a runner validating its options).
#[derive(Clone, Debug, Default)]
pub struct SpecOrigin {
    /// Path of the study file.
    pub file: PathBuf,
    /// Its text.
    pub text: String,
    /// The fragments merged into `[search_space]`, in include order.
    pub fragments: Vec<IncludedFragment>,
}

/// A search-space fragment merged through `include`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IncludedFragment {
    /// Its path (resolved against the including file's folder, normalised).
    pub file: PathBuf,
    /// Its text.
    pub text: String,
    /// The parameters it defines itself (not through nested includes).
    pub params: Vec<String>,
}

/// A study-file error: file, position, field, problem, fix.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SpecError {
    /// The file at fault (the study file or an included fragment).
    pub file: PathBuf,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
    /// Dotted path of the field (`search_space.lr.low`).
    pub field: String,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub help: Option<String>,
}

impl SpecOrigin {
    /// The file and text holding `path`, and the path inside that file:
    /// parameters merged from a fragment are looked up in the fragment.
    fn source_of<'a>(&'a self, path: &[&'a str]) -> (&'a Path, &'a str, Vec<&'a str>) {
        if let [first, param, ..] = path {
            if *first == "search_space" {
                if let Some(f) = self
                    .fragments
                    .iter()
                    .find(|f| f.params.iter().any(|p| p == param))
                {
                    // A fragment holds parameters at its top level, or under [search_space].
                    let nested = toml_edit::Document::parse(f.text.as_str())
                        .is_ok_and(|d| d.as_table().contains_key("search_space"));
                    let inner = if nested {
                        path.to_vec()
                    } else {
                        path[1..].to_vec()
                    };
                    return (&f.file, &f.text, inner);
                }
            }
        }
        (&self.file, &self.text, path.to_vec())
    }

    fn located(&self, path: &[&str], key: bool, message: String, help: Option<&str>) -> SpecError {
        let (file, text, inner) = self.source_of(path);
        let span = toml_edit::Document::parse(text).ok().and_then(|doc| {
            let l = locate::locate(doc.as_item(), &inner);
            if key && l.complete {
                l.key.or(l.value)
            } else {
                l.value.or(l.key)
            }
        });
        let src = locate::Source { file, text };
        let mut e = src.error(
            span.as_ref(),
            &locate::render_path(path),
            message,
            help.unwrap_or(""),
        );
        if span.is_none() {
            e.line = Some(1);
            e.column = Some(1);
        }
        e
    }

    /// A [`SpecError`] located at the value of a dotted field path, e.g.
    /// `&["runner", "epochs"]` or `&["objectives", "1", "name"]` (array
    /// elements by index). When the path does not exist, the error points
    /// at its deepest existing ancestor (say, the `[runner]` header for a
    /// missing key). Parameters merged from a fragment are located in the
    /// fragment.
    pub fn error_at(
        &self,
        path: &[&str],
        message: impl Into<String>,
        help: Option<&str>,
    ) -> SpecError {
        self.located(path, false, message.into(), help)
    }

    /// Like [`SpecOrigin::error_at`], but pointing at the key rather than
    /// its value (for complaints about the key itself).
    pub fn key_error_at(
        &self,
        path: &[&str],
        message: impl Into<String>,
        help: Option<&str>,
    ) -> SpecError {
        self.located(path, true, message.into(), help)
    }

    /// "unknown key" for option tables validated outside this crate: the
    /// error points at `key` inside `table` and suggests the closest of
    /// `known` (or lists them).
    pub fn unknown_key(&self, table: &[&str], key: &str, known: &[&str]) -> SpecError {
        let mut path = table.to_vec();
        path.push(key);
        let help = locate::suggestion_help(key, known);
        self.key_error_at(
            &path,
            format!("unknown key `{key}` in `{}`", locate::render_path(table)),
            Some(&help),
        )
    }
}

/// The closest of `known` to `word`, if it looks like a typo of it (for
/// "did you mean" hints in other crates' validation).
pub fn did_you_mean<'k>(word: &str, known: &[&'k str]) -> Option<&'k str> {
    locate::suggest(word, known)
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
            if let Some(c) = self.column {
                write!(f, ":{c}")?;
            }
        }
        if self.field.is_empty() {
            write!(f, ": {}", self.message)?;
        } else {
            write!(f, ": `{}`: {}", self.field, self.message)?;
        }
        if let Some(h) = &self.help {
            write!(f, " (fix: {h})")?;
        }
        Ok(())
    }
}

impl std::error::Error for SpecError {}

impl StudySpec {
    /// Parse and validate a study file. `file` is its path (for errors and
    /// to resolve `include`s and `workdir`); `load` reads an included
    /// fragment given its resolved path (the binary passes
    /// `|p| std::fs::read_to_string(p).map_err(|e| e.to_string())`).
    pub fn parse(
        text: &str,
        file: &Path,
        load: &mut dyn FnMut(&Path) -> Result<String, String>,
    ) -> Result<StudySpec, SpecError> {
        parse::parse_spec(text, file, load)
    }

    /// A canonical JSON rendering of the whole spec (keys sorted, defaults
    /// filled in, durations in humantime form, includes merged), stored
    /// with the study.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::json;
        let dur = |d: &Duration| humantime::format_duration(*d).to_string();
        let table = |t: &toml::Table| serde_json::to_value(t).unwrap_or(serde_json::Value::Null);
        let runner = match &self.runner {
            RunnerSpec::Command(c) => json!({
                "kind": "command",
                "command": c.command,
                "profile_command": c.profile_command,
                "timeout": c.timeout.as_ref().map(dur),
                "grace": dur(&c.grace),
                "workdir": c.workdir.to_string_lossy(),
                "env": c.env,
                "log_limit": c.log_limit,
            }),
            RunnerSpec::Builtin(b) => json!({
                "kind": "builtin",
                "problem": b.problem,
                "delay": b.delay.as_ref().map(dur),
            }),
            RunnerSpec::Other { kind, options } => {
                json!({ "kind": kind, "options": table(options) })
            }
        };
        json!({
            "study": {
                "name": self.name,
                "seed": self.seed,
                "storage": self.storage,
                "heartbeat": dur(&self.heartbeat),
                "stale_after": dur(&self.stale_after),
                "retries": self.retries,
            },
            "objectives": serde_json::to_value(&self.objectives).unwrap_or(serde_json::Value::Null),
            "search_space": serde_json::to_value(self.space.params()).unwrap_or(serde_json::Value::Null),
            "sampler": { "kind": self.sampler.kind, "options": table(&self.sampler.options) },
            "pruner": self.pruner.as_ref().map(|p| json!({ "kind": p.kind, "options": table(&p.options) })),
            "runner": runner,
            "budget": {
                "trials": self.budget.trials,
                "timeout": self.budget.timeout.as_ref().map(dur),
                "workers": self.budget.workers,
            },
            "hypervolume": {
                "reference": self.hypervolume.reference,
                "freeze_after": self.hypervolume.freeze_after,
            },
        })
    }

    /// A fingerprint of what makes stored trials comparable: the search
    /// space and the objectives' names and directions. Budget, sampler,
    /// runner and constraints may change between runs.
    pub fn fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        let s = format!(
            "{}|{}",
            self.space.fingerprint(),
            self.objectives.fingerprint()
        );
        crate::space::hex(&Sha256::digest(s.as_bytes()))[..16].to_string()
    }
}

/// Parse a duration like `10m`, `2h 30m`, `90s`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| {
        format!("`{s}` is not a duration ({e}); write e.g. \"90s\", \"10m\" or \"2h\"")
    })
}
