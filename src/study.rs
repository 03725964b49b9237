//! Loading a study for a command: file → spec → storage → stored study.
//! Takes paths and URLs (never CLI structs); the file reading, URL
//! resolution and study opening themselves are the library's.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use paretosearch::store::{Store, StoreError, StudyRecord};
use paretosearch::{EngineError, Study, StudySpec};

use crate::BadInput;

pub use paretosearch::sqlite_path;

/// A study file read and validated, with its storage opened.
pub struct LoadedStudy {
    /// The parsed spec.
    pub spec: StudySpec,
    /// The folder of the study file (relative paths resolve here).
    pub dir: PathBuf,
    /// The storage URL in use (credentials masked: for messages only).
    pub storage_url: String,
    /// The store.
    pub store: Arc<dyn Store>,
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

/// Read the study file `path` and resolve its storage URL (the `--storage`
/// flag when given); nothing is opened yet.
pub fn prepare(path: &Path, storage: Option<&str>) -> Result<Prepared> {
    let spec = paretosearch::read_study_file(path)?;
    let dir = paretosearch::study_dir(path);
    let storage_url = paretosearch::storage_url(&spec, &dir, storage);
    Ok(Prepared {
        spec,
        dir,
        storage_url,
    })
}

impl Prepared {
    /// Where the trials' logs go: `<study folder>/<name>-logs`.
    pub fn logs_dir(&self) -> PathBuf {
        self.dir.join(format!("{}-logs", self.spec.name))
    }

    /// Open the study in its storage (`create`: create both when missing).
    pub async fn open_study(&self, create: bool) -> Result<Study, EngineError> {
        if create {
            Study::create_or_open(self.spec.clone(), &self.storage_url).await
        } else {
            Study::open(self.spec.clone(), &self.storage_url).await
        }
    }

    /// Open the existing study: a clear error when the storage or the
    /// study does not exist (read commands never create either).
    pub async fn open_existing(&self) -> Result<Study> {
        self.check_storage_exists()?;
        match self.open_study(false).await {
            Err(EngineError::NoSuchStudy { name, storage }) => Err(BadInput(format!(
                "storage {storage} holds no study named `{name}` (fix: run it first with `paretosearch run {}`)",
                self.spec.origin.file.display()
            ))
            .into()),
            other => Ok(other?),
        }
    }

    fn check_storage_exists(&self) -> Result<()> {
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
        Ok(())
    }

    /// Open the storage that must already exist, for reading only (read
    /// commands): nothing is created, migrated or switched to WAL, so a
    /// study in a folder this user cannot write can be read; a PostgreSQL
    /// server that is not there is reported at once.
    pub async fn connect_existing(self) -> Result<LoadedStudy> {
        self.check_storage_exists()?;
        let masked = paretosearch::mask_url(&self.storage_url);
        let store = match paretosearch::store::open_read_only(&self.storage_url).await {
            Ok(store) => store,
            Err(StoreError::Uninitialized { .. }) => {
                return Err(BadInput(format!(
                    "storage {masked} holds no study named `{}`: no study has been run there yet (fix: run it first with `paretosearch run {}`)",
                    self.spec.name,
                    self.spec.origin.file.display()
                ))
                .into())
            }
            Err(e) => return Err(e).with_context(|| format!("opening storage {masked}")),
        };
        Ok(LoadedStudy {
            spec: self.spec,
            dir: self.dir,
            storage_url: paretosearch::mask_url(&self.storage_url),
            store,
        })
    }
}

/// Read the study file and open its existing storage (read commands).
pub async fn load(path: &Path, storage: Option<&str>) -> Result<LoadedStudy> {
    prepare(path, storage)?.connect_existing().await
}

impl LoadedStudy {
    /// Load the existing study (for read commands): a clear error if the
    /// storage holds no such study, or one created from another space.
    pub async fn existing_study(&self) -> Result<StudyRecord> {
        match self.store.find_study(&self.spec.name).await? {
            Some(rec) => {
                if rec.fingerprint != self.spec.fingerprint() {
                    return Err(paretosearch::store::StoreError::incompatible(
                        &rec.name,
                        (&rec.fingerprint, &rec.spec_json),
                        (&self.spec.fingerprint(), &self.spec.to_json().to_string()),
                        paretosearch::store::INCOMPATIBLE_HELP,
                    )
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
