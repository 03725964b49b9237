//! Loading a study: file → spec → storage → stored study.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use paretosearch_core::spec::{RunnerSpec, SpecError};
use paretosearch_core::StudySpec;
use paretosearch_runner::{BuiltinRunner, CommandRunner, Runner};
use paretosearch_store::{Store, StudyRecord};

use crate::cli::StudyArgs;
use crate::BadInput;

/// A study file read and validated, with its storage opened.
pub struct LoadedStudy {
    /// The parsed spec.
    pub spec: StudySpec,
    /// The folder of the study file (relative paths resolve here).
    pub dir: PathBuf,
    /// The storage URL in use.
    pub storage_url: String,
    /// The store.
    pub store: Arc<dyn Store>,
}

/// Read and validate a study file (no storage access).
pub fn read_spec(path: &Path) -> Result<StudySpec> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        BadInput(format!(
            "cannot read study file {}: {e} (fix: check the path)",
            path.display()
        ))
    })?;
    let mut load = |p: &Path| std::fs::read_to_string(p).map_err(|e| e.to_string());
    let spec = StudySpec::parse(&text, path, &mut load)?;
    Ok(spec)
}

/// The folder holding the study file.
pub fn study_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Resolve the storage URL: the CLI flag, else the file's `storage`
/// (relative SQLite paths resolve against the study file's folder), else
/// `sqlite://<study folder>/<name>.db`.
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

/// A study file read and validated, storage not yet opened.
#[derive(Clone)]
pub struct Prepared {
    /// The parsed spec.
    pub spec: StudySpec,
    /// The folder of the study file.
    pub dir: PathBuf,
    /// The storage URL to use.
    pub storage_url: String,
}

/// Read the study file and resolve its storage URL (nothing opened yet).
pub fn prepare(args: &StudyArgs) -> Result<Prepared> {
    let spec = read_spec(&args.study)?;
    let dir = study_dir(&args.study);
    let storage_url = storage_url(&spec, &dir, args.storage.as_deref());
    Ok(Prepared {
        spec,
        dir,
        storage_url,
    })
}

impl Prepared {
    /// Open the storage (creating a SQLite file if needed).
    pub async fn connect(self) -> Result<LoadedStudy> {
        let store = paretosearch_store::open(&self.storage_url)
            .await
            .with_context(|| format!("opening storage {}", self.storage_url))?;
        Ok(LoadedStudy {
            spec: self.spec,
            dir: self.dir,
            storage_url: self.storage_url,
            store,
        })
    }

    /// Open storage that must already exist (read commands never create it).
    pub async fn connect_existing(self) -> Result<LoadedStudy> {
        if let Some(path) = sqlite_path(&self.storage_url) {
            if !path.starts_with(':') && !Path::new(path).exists() {
                return Err(BadInput(format!(
                    "study `{}` has no storage yet ({} does not exist) (fix: run it first with `paretosearch run {}`, or pass --storage)",
                    self.spec.name,
                    path,
                    self.spec.origin.file.display()
                ))
                .into());
            }
        }
        self.connect().await
    }
}

/// Read the study file and open its existing storage (read commands).
pub async fn load(args: &StudyArgs) -> Result<LoadedStudy> {
    prepare(args)?.connect_existing().await
}

impl LoadedStudy {
    /// Create the study in the store, or load it and check it is compatible.
    pub async fn open_study(&self) -> Result<StudyRecord> {
        let spec_json = self.spec.to_json().to_string();
        Ok(self
            .store
            .open_study(&self.spec.name, &self.spec.fingerprint(), &spec_json)
            .await?)
    }

    /// Load the existing study (for read commands): a clear error if the
    /// storage holds no such study.
    pub async fn existing_study(&self) -> Result<StudyRecord> {
        match self.store.find_study(&self.spec.name).await? {
            Some(rec) => {
                if rec.fingerprint != self.spec.fingerprint() {
                    return Err(paretosearch_store::StoreError::Incompatible {
                        name: rec.name.clone(),
                        stored: rec.fingerprint.clone(),
                        given: self.spec.fingerprint(),
                        help: "the study file's search space or objectives changed since the study was created; use a new study name, or delete the storage to start over".into(),
                    }
                    .into());
                }
                Ok(rec)
            }
            None => Err(BadInput(format!(
                "storage {} holds no study named `{}` (fix: run it first with `paretosearch run {}`)",
                self.storage_url,
                self.spec.name,
                self.spec.origin.file.display()
            ))
            .into()),
        }
    }
}

/// Build the sampler of a spec; a bad `[sampler]` option is a located error.
pub fn build_sampler(spec: &StudySpec) -> Result<Box<dyn paretosearch_samplers::Sampler>> {
    paretosearch_samplers::build(&spec.sampler).map_err(|e| {
        let key = match &e {
            paretosearch_samplers::SamplerError::BadOption { key, .. } => key.clone(),
            _ => "kind".into(),
        };
        anyhow::Error::from(
            spec.origin
                .error_at(&["sampler", &key], e.to_string(), None),
        )
    })
}

/// Build the `[pruner]` of a spec; a bad option is a located error.
pub fn build_pruning(spec: &StudySpec) -> Result<paretosearch_samplers::pruners::Pruning> {
    paretosearch_samplers::pruners::build(spec.pruner.as_ref(), &spec.space, &spec.objectives)
        .map_err(|e| {
            anyhow::Error::from(
                spec.origin
                    .error_at(&["pruner", e.key()], e.to_string(), None),
            )
        })
}

/// Build the runner of a spec.
pub fn build_runner(spec: &StudySpec, workers: usize) -> Result<Arc<dyn Runner>> {
    match &spec.runner {
        // The spec already resolved `workdir` against the study file's folder.
        RunnerSpec::Command(c) => Ok(Arc::new(CommandRunner::new(c.clone()))),
        RunnerSpec::Builtin(b) => match BuiltinRunner::new(&b.problem) {
            Ok(r) => Ok(Arc::new(r)),
            Err(e) => Err(located(spec, &["runner", "problem"], &e.to_string(), None).into()),
        },
        RunnerSpec::Other { kind, options } if kind == "torch" => {
            let runner = paretosearch_torch::TorchRunner::from_options(
                options,
                &spec.origin,
                spec.seed,
                &spec.space,
                &spec.objectives,
            )?;
            runner.set_workers(workers);
            Ok(Arc::new(runner))
        }
        RunnerSpec::Other { kind, .. } => Err(located(
            spec,
            &["runner", "kind"],
            &format!("unknown runner kind `{kind}`"),
            Some("use \"command\", \"builtin\" or \"torch\""),
        )
        .into()),
    }
}

fn located(spec: &StudySpec, path: &[&str], msg: &str, help: Option<&str>) -> SpecError {
    spec.origin.error_at(path, msg, help)
}
