//! The crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong while loading data, building, training,
/// compressing or measuring a model.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TorchError {
    /// A file or folder could not be read.
    #[error("cannot read `{path}`: {source}")]
    Io {
        /// The path at fault.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A data file exists but its content is not what its format promises.
    #[error("`{path}`: {message}")]
    BadData {
        /// The file at fault.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A trial parameter is missing, of the wrong type or out of range.
    #[error("parameter `{name}`: {message}")]
    Param {
        /// Parameter name.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// The model and the data or the requested operation do not fit
    /// (e.g. a CNN on tabular data, low-rank on a TorchScript module).
    #[error("{0}")]
    Unsupported(String),
    /// The requested device is not there.
    #[error("device: {0}")]
    Device(String),
    /// libtorch reported an error.
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
    /// Training diverged (loss became NaN or infinite).
    #[error("training diverged at epoch {epoch}: loss is {loss}")]
    Diverged {
        /// 1-based epoch.
        epoch: u64,
        /// The non-finite loss.
        loss: f64,
    },
    /// The trial was cancelled.
    #[error("interrupted")]
    Interrupted,
}

impl TorchError {
    /// Shorthand for [`TorchError::Param`].
    pub fn param(name: &str, message: impl Into<String>) -> TorchError {
        TorchError::Param {
            name: name.to_string(),
            message: message.into(),
        }
    }

    /// Shorthand for [`TorchError::BadData`].
    pub fn bad_data(path: impl Into<PathBuf>, message: impl Into<String>) -> TorchError {
        TorchError::BadData {
            path: path.into(),
            message: message.into(),
        }
    }
}
