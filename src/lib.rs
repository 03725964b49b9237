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
///
/// Study files and fragments are read only when they are regular files
/// (a device, a FIFO or a folder is refused without being opened for
/// reading: `/dev/zero` would never end and a FIFO would block) of at most
/// [`MAX_STUDY_FILE_BYTES`].
pub fn read_study_file(path: &Path) -> Result<StudySpec, SpecError> {
    let text = read_bounded(path).map_err(|e| SpecError {
        file: path.to_path_buf(),
        line: None,
        column: None,
        field: String::new(),
        message: format!("cannot read study file: {e}"),
        help: Some("give the path of a study file (a TOML text file of at most 1 MiB)".into()),
    })?;
    let mut load = |p: &Path| read_bounded(p);
    StudySpec::parse(&text, path, &mut load)
}

/// The largest study file or search-space fragment read (1 MiB: a
/// hand-written file is a few kilobytes; a generated one with thousands of
/// parameters still fits).
pub const MAX_STUDY_FILE_BYTES: u64 = 1 << 20;

/// Read a text file that must be a regular file of at most
/// [`MAX_STUDY_FILE_BYTES`]; the error says which rule it broke.
fn read_bounded(path: &Path) -> Result<String, String> {
    use std::io::Read;
    let kind = |m: &std::fs::Metadata| -> Option<&'static str> {
        let t = m.file_type();
        if t.is_file() {
            return None;
        }
        if t.is_dir() {
            return Some("a folder");
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileTypeExt;
            if t.is_fifo() {
                return Some("a FIFO (named pipe)");
            }
            if t.is_char_device() || t.is_block_device() {
                return Some("a device");
            }
            if t.is_socket() {
                return Some("a socket");
            }
        }
        Some("not a regular file")
    };
    let refuse = |what: &str| format!("{} is {what}, not a regular file", path.display());
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if let Some(what) = kind(&meta) {
        return Err(refuse(what));
    }
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        // Swapped for a FIFO between the check and the open, it must not
        // block the open.
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path).map_err(|e| e.to_string())?;
    let meta = file.metadata().map_err(|e| e.to_string())?;
    if let Some(what) = kind(&meta) {
        return Err(refuse(what));
    }
    let too_big = |n: u64| {
        format!(
            "{} is {n} bytes, over the limit of {MAX_STUDY_FILE_BYTES} bytes (1 MiB) for study files and fragments",
            path.display()
        )
    };
    if meta.len() > MAX_STUDY_FILE_BYTES {
        return Err(too_big(meta.len()));
    }
    let mut bytes = Vec::new();
    file.take(MAX_STUDY_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > MAX_STUDY_FILE_BYTES {
        return Err(too_big(bytes.len() as u64));
    }
    String::from_utf8(bytes).map_err(|e| {
        format!(
            "{} is not UTF-8 text (invalid byte at offset {}): a study file is TOML text",
            path.display(),
            e.utf8_error().valid_up_to()
        )
    })
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
