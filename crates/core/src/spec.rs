//! The study file: a TOML document naming objectives, search space,
//! sampler, pruner, runner, budget and storage.
//!
//! Parsing is pure: [`StudySpec::parse`] receives the text and a loader for
//! `include`d fragments. Every error is a [`SpecError`] that names the file,
//! the line and column, the field, what is wrong and how to fix it.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};


use crate::objective::Objectives;
use crate::space::SearchSpace;

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
    /// Working directory (relative to the study file); default: the study file's folder.
    pub workdir: PathBuf,
    /// Extra environment variables.
    pub env: BTreeMap<String, String>,
}

/// `[runner] kind = "builtin"`.
#[derive(Clone, Debug, PartialEq)]
pub struct BuiltinSpec {
    /// Problem name.
    pub problem: String,
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

/// The file a spec was read from and its text, kept to locate fields in
/// errors raised after parsing (e.g. by a runner validating its options).
#[derive(Clone, Debug, Default)]
pub struct SpecOrigin {
    /// Path of the study file.
    pub file: PathBuf,
    /// Its text.
    pub text: String,
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
    /// A fingerprint of what makes stored trials comparable: the search
    /// space and the objectives' names and directions. Budget, sampler,
    /// runner and constraints may change between runs.
    pub fn fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        let s = format!("{}|{}", self.space.fingerprint(), self.objectives.fingerprint());
        crate::space::hex(&Sha256::digest(s.as_bytes()))[..16].to_string()
    }
}

/// Parse a duration like `10m`, `2h 30m`, `90s`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("`{s}` is not a duration ({e}); write e.g. \"90s\", \"10m\" or \"2h\""))
}

