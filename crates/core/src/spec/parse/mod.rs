//! From study-file text to a validated [`StudySpec`].
//!
//! The document is parsed once with `toml_edit` (which keeps spans) and
//! walked by hand: every key is taken explicitly, so every type error,
//! missing key and unknown key is reported where it is written.
//!
//! One part per table: [`study`] (`[study]`), [`objectives`]
//! (`[[objectives]]`), [`search_space`] and [`param`] (`[search_space]`,
//! its includes and its parameters), [`runner`] (`[runner]`) and [`tables`]
//! (`[sampler]`, `[pruner]`, `[budget]`), [`hypervolume`] (`[hypervolume]`), with shared [`helpers`]. The
//! rules that do not depend on TOML (a study name's characters, heartbeat
//! and staleness, constraints, placeholders, the budget, and through
//! [`crate::space::validate`] every rule on parameters) are functions
//! that [`StudySpecBuilder`](super::StudySpecBuilder) calls too, so a
//! study built in code is checked exactly like a study file.

use std::path::Path;
use std::time::Duration;

use toml_edit::Document;

use super::locate::Source;
use super::walk::Tab;
use super::{RunnerSpec, SpecError, SpecOrigin, StudySpec, NO_RUNNER};

mod helpers;
mod hypervolume;
mod objectives;
mod param;
mod runner;
mod search_space;
mod study;
mod tables;

pub(crate) use helpers::{folder_of, Problem};
pub(crate) use objectives::{
    check_constraint, check_objective_name, duplicate as duplicate_objective,
};
pub(crate) use runner::check_placeholders;
pub(crate) use study::{check_heartbeat, check_name, check_stale_after, default_stale_after};
pub(crate) use tables::{check_trials, check_workers, default_sampler};

const TOP_KEYS: &[&str] = &[
    "study",
    "objectives",
    "search_space",
    "sampler",
    "pruner",
    "runner",
    "budget",
    "hypervolume",
];

/// Default heartbeat period.
pub(crate) const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(5);
/// Default staleness threshold.
pub(crate) const DEFAULT_STALE_AFTER: Duration = Duration::from_secs(60);
/// Default SIGTERM-to-SIGKILL grace.
pub(crate) const DEFAULT_GRACE: Duration = Duration::from_secs(5);
/// Default number of re-queues of a stale or interrupted trial.
pub(crate) const DEFAULT_RETRIES: u32 = 1;
/// Default number of concurrent trials.
pub(crate) const DEFAULT_WORKERS: usize = 1;

pub(crate) fn parse_spec(
    text: &str,
    file: &Path,
    load: &mut dyn FnMut(&Path) -> Result<String, String>,
) -> Result<StudySpec, SpecError> {
    let src = Source { file, text };
    let doc = Document::parse(text).map_err(|e| helpers::syntax_error(src, &e))?;
    let root = Tab::new(src, doc.as_table(), "", Some(0..0));
    root.deny_unknown(TOP_KEYS, helpers::no_hint)?;

    let study::StudyTable {
        name,
        seed,
        storage,
        heartbeat,
        stale_after,
        retries,
    } = study::parse_study(&root)?;
    let objectives = objectives::parse_objectives(&root)?;
    let (space, fragments) = search_space::parse_search_space(&root, file, load)?;
    let sampler = tables::parse_sampler(&root)?;
    let pruner = tables::parse_pruner(&root)?;
    // Without a [runner] the study is evaluated elsewhere (ask and tell);
    // `run` refuses it (the runner registry names the fix).
    let runner = match root.get("runner") {
        Some(f) => runner::parse_runner(&f, &space, file)?,
        None => RunnerSpec::Other {
            kind: NO_RUNNER.into(),
            options: toml::Table::new(),
        },
    };
    let budget = tables::parse_budget(&root)?;
    let hypervolume = hypervolume::parse_hypervolume(&root, &objectives)?;

    Ok(StudySpec {
        name,
        seed,
        storage,
        heartbeat,
        stale_after,
        retries,
        objectives,
        space,
        sampler,
        pruner,
        runner,
        budget,
        hypervolume,
        origin: SpecOrigin {
            file: file.to_path_buf(),
            text: text.to_string(),
            fragments,
        },
    })
}
