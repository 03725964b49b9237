//! # paretosearch
//!
//! Search configuration spaces for the **Pareto front** of several
//! objectives at once (accuracy against latency, model size, energy or
//! cost), from a study file with the `paretosearch` command, or from a
//! Rust program that evaluates the trials itself.
//!
//! This crate is the facade: it re-exports the engine
//! ([`Study`], [`TrialHandle`], [`Study::optimize`], [`Study::ask`] and
//! [`Study::tell`], [`Observer`]) at its root, and its parts as modules:
//! [`core`] (search spaces, study specs, trials, Pareto maths),
//! [`samplers`], [`pruners`], [`store`] (SQLite and PostgreSQL),
//! [`runner`] (the command runner, built-in problems) and, with the
//! `torch` feature (on by default), [`torch`] (libtorch workloads). Build
//! with `default-features = false` to leave libtorch out.
//!
//! ## A closure objective
//!
//! ```
//! use paretosearch::{Options, SearchSpace, Study, StudySpec, TrialHandle, Values};
//!
//! # #[tokio::main(flavor = "multi_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let space = SearchSpace::builder()
//!     .float("lr", 1e-4, 1e-1).log()
//!     .int("width", 16, 256).step(16)
//!     .build()?;
//! let spec = StudySpec::builder("sketch")
//!     .maximize("accuracy")
//!     .minimize("params")
//!     .space(space)
//!     .trials(16)
//!     .build()?;
//! let study = Study::create_or_open(spec, "sqlite::memory:").await?;
//! study
//!     .optimize(
//!         |t: &TrialHandle| -> Result<Values, paretosearch::ParamError> {
//!             let (lr, width) = (t.float("lr")?, t.int("width")? as f64);
//!             // Stand-in for training: wider is better, and so is lr near 1e-2.
//!             let accuracy = 1.0 - 1.0 / width - (lr.log10() + 2.0).powi(2) / 10.0;
//!             Ok(Values::from([("accuracy".into(), accuracy), ("params".into(), width * 785.0)]))
//!         },
//!         Options::default(),
//!     )
//!     .await?;
//! for t in study.pareto_front().await?.trials {
//!     println!("trial {}: {:?} -> {:?}", t.number, t.params, t.values);
//! }
//! # Ok(())
//! # }
//! ```
//!
//! `examples/` holds runnable programs: a closure on a built-in problem,
//! ask/tell from a hand-written loop, and a `tch` model trained inside
//! `optimize` that reports every epoch and stops when told.

// SpecError, the located error of the whole spec API, is large; it is
// returned once per command, never in a loop.
#![allow(clippy::result_large_err)]

use std::path::{Path, PathBuf};

pub use paretosearch_core as core;
pub use paretosearch_pruners as pruners;
pub use paretosearch_runner as runner;
pub use paretosearch_samplers as samplers;
pub use paretosearch_store as store;
#[cfg(feature = "torch")]
pub use paretosearch_torch as torch;

pub use paretosearch_core::spec::SpecError;
pub use paretosearch_core::{
    Cause, FailKind, ParamValue, Params, PruneReason, PruneRule, SearchSpace, StudySpec, Trial,
    TrialOutcome, TrialState,
};
pub use paretosearch_engine::*;
pub use paretosearch_runner::Verdict;

/// The runner kinds this build can run: `command`, `builtin`, and `torch`
/// with the `torch` feature (without it, naming `torch` says how to get it).
pub fn registry() -> Registry {
    let mut r = Registry::new();
    #[cfg(feature = "torch")]
    r.register("torch", |spec, options, workers| {
        let runner = paretosearch_torch::TorchRunner::from_options(
            options,
            &spec.origin,
            spec.seed,
            &spec.space,
            &spec.objectives,
        )?;
        runner.set_workers(workers);
        Ok(std::sync::Arc::new(runner) as std::sync::Arc<dyn paretosearch_runner::Runner>)
    });
    #[cfg(not(feature = "torch"))]
    r.unavailable(
        "torch",
        "this build of paretosearch has no libtorch support (rebuild with the `torch` feature, the default)",
    );
    r
}

/// Read and validate a study file, its `include`d fragments too; a
/// mistake comes back located (file, line, column, field, fix).
pub fn read_study_file(path: &Path) -> Result<StudySpec, SpecError> {
    let text = std::fs::read_to_string(path).map_err(|e| SpecError {
        file: path.to_path_buf(),
        line: None,
        column: None,
        field: String::new(),
        message: format!("cannot read study file: {e}"),
        help: Some("check the path".into()),
    })?;
    let mut load = |p: &Path| std::fs::read_to_string(p).map_err(|e| e.to_string());
    StudySpec::parse(&text, path, &mut load)
}

/// The folder a study file's relative paths resolve against.
pub fn study_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// The storage URL of a study: `flag` when given, else the file's
/// `storage` (a relative SQLite path resolves against `dir`, the study
/// file's folder), else `sqlite://<dir>/<name>.db`.
pub fn storage_url(spec: &StudySpec, dir: &Path, flag: Option<&str>) -> String {
    if let Some(url) = flag {
        return url.to_string();
    }
    match &spec.storage {
        Some(url) => {
            if let Some(rest) = url.strip_prefix("sqlite://") {
                let p = Path::new(rest);
                if p.is_relative() && !rest.starts_with(':') {
                    return format!("sqlite://{}", dir.join(p).display());
                }
            }
            url.clone()
        }
        None => format!(
            "sqlite://{}",
            dir.join(format!("{}.db", spec.name)).display()
        ),
    }
}

/// The file of a `sqlite://` URL, without its `?options` (`:memory:` for
/// an in-memory database); `None` for other backends.
pub fn sqlite_path(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("sqlite://")?;
    rest.split('?').next()
}
