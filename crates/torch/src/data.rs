//! Datasets: the embedded digits set, IDX (MNIST, Fashion-MNIST), CIFAR-10
//! binary batches and CSV tables (read by `formats.rs`; the user's image
//! folders and array files by [`crate::files`]), and the deterministic
//! train/validation split.
//!
//! Every loader returns a [`Dataset`]: features as a float tensor of shape
//! `[n, ...sample_shape]` and labels as an `i64` tensor of shape `[n]`, on
//! the CPU. Images keep their `[channels, height, width]` shape (a CNN needs
//! it, an MLP flattens it); tabular data has shape `[features]`.
//!
//! [`split`] shuffles with a ChaCha generator seeded from the study seed, so
//! every trial of a study (and every resume) trains and validates on the
//! same rows, and standardises the features with statistics of the training
//! rows only.

use std::io::Read;
use std::path::PathBuf;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tch::{Kind, Tensor};

use crate::error::TorchError;
use crate::files::{load_arrays, load_image_folder, ArrayFiles};
pub use crate::formats::{load_cifar10, load_csv, load_idx, parse_idx};

/// The UCI optical digits set (1797 8x8 images, 10 classes), as shipped in
/// the repository's `data/digits.csv.gz`: 64 pixel columns (0..16) and the
/// label, no header.
static DIGITS_CSV_GZ: &[u8] = include_bytes!("../../../data/digits.csv.gz");

/// Where a dataset comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum DatasetSource {
    /// The embedded UCI digits set.
    Digits,
    /// MNIST-format IDX files (`train-images-idx3-ubyte`,
    /// `train-labels-idx1-ubyte`, optionally gzipped) in a folder.
    Idx {
        /// The folder.
        dir: PathBuf,
    },
    /// CIFAR-10 binary batches (`data_batch_1.bin` ... `data_batch_5.bin`)
    /// in a folder (or its `cifar-10-batches-bin` subfolder).
    Cifar10 {
        /// The folder.
        dir: PathBuf,
    },
    /// A CSV file with a header; `label` names the class column, every
    /// other column is a numeric feature.
    Csv {
        /// The file.
        path: PathBuf,
        /// Name of the label column.
        label: String,
    },
    /// `.npy`, `.npz` or safetensors arrays ([`crate::files`]).
    Arrays(ArrayFiles),
    /// `root/<class>/*.png|jpg` ([`crate::files`]).
    ImageFolder {
        /// The root folder.
        dir: PathBuf,
    },
}

impl DatasetSource {
    /// A short name for logs and reports.
    pub fn name(&self) -> String {
        match self {
            DatasetSource::Digits => "digits".into(),
            DatasetSource::Idx { dir } => format!("idx:{}", dir.display()),
            DatasetSource::Cifar10 { dir } => format!("cifar10:{}", dir.display()),
            DatasetSource::Csv { path, .. } => format!("csv:{}", path.display()),
            DatasetSource::Arrays(ArrayFiles::Npy { x, .. }) => format!("npy:{}", x.display()),
            DatasetSource::Arrays(ArrayFiles::Npz { path, .. }) => {
                format!("npz:{}", path.display())
            }
            DatasetSource::Arrays(ArrayFiles::Safetensors { path, .. }) => {
                format!("safetensors:{}", path.display())
            }
            DatasetSource::ImageFolder { dir } => format!("images:{}", dir.display()),
        }
    }
}

/// How features are standardised.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Normalize {
    /// One mean and standard deviation per image channel.
    PerChannel,
    /// One mean and standard deviation per feature column.
    PerFeature,
}

/// Features and labels on the CPU.
#[derive(Debug)]
pub struct Dataset {
    /// `[n, ...sample_shape]`, float.
    pub x: Tensor,
    /// `[n]`, int64 class indices in `0..classes`.
    pub y: Tensor,
    /// Shape of one sample: `[c, h, w]` for images, `[f]` for tables.
    pub sample_shape: Vec<i64>,
    /// Number of classes.
    pub classes: i64,
    /// How [`split`] standardises the features.
    pub normalize: Normalize,
}

impl Dataset {
    /// Number of samples.
    pub fn len(&self) -> i64 {
        self.y.size()[0]
    }

    /// No samples?
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Does every sample have an image shape `[c, h, w]`?
    pub fn is_image(&self) -> bool {
        self.sample_shape.len() == 3
    }

    /// A cheap handle on the same storage.
    pub fn shallow_clone(&self) -> Dataset {
        Dataset {
            x: self.x.shallow_clone(),
            y: self.y.shallow_clone(),
            sample_shape: self.sample_shape.clone(),
            classes: self.classes,
            normalize: self.normalize,
        }
    }

    /// The same data on `device`.
    pub fn to_device(&self, device: tch::Device) -> Dataset {
        Dataset {
            x: self.x.to_device(device),
            y: self.y.to_device(device),
            sample_shape: self.sample_shape.clone(),
            classes: self.classes,
            normalize: self.normalize,
        }
    }

    pub(crate) fn rows(&self, idx: &[i64]) -> Dataset {
        let index = Tensor::from_slice(idx);
        Dataset {
            x: self.x.index_select(0, &index),
            y: self.y.index_select(0, &index),
            sample_shape: self.sample_shape.clone(),
            classes: self.classes,
            normalize: self.normalize,
        }
    }
}

/// Load a dataset.
pub fn load(source: &DatasetSource) -> Result<Dataset, TorchError> {
    match source {
        DatasetSource::Digits => load_digits(),
        DatasetSource::Idx { dir } => load_idx(dir),
        DatasetSource::Cifar10 { dir } => load_cifar10(dir),
        DatasetSource::Csv { path, label } => load_csv(path, label),
        DatasetSource::Arrays(files) => load_arrays(files),
        DatasetSource::ImageFolder { dir } => load_image_folder(dir),
    }
}

/// The embedded digits set as `[1797, 1, 8, 8]` images with values in `[0, 1]`.
pub fn load_digits() -> Result<Dataset, TorchError> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(DIGITS_CSV_GZ)
        .read_to_string(&mut text)
        .map_err(|e| TorchError::bad_data("<embedded digits>", e.to_string()))?;
    let mut x = Vec::with_capacity(1797 * 64);
    let mut y = Vec::with_capacity(1797);
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let cols: Vec<&str> = line.split(',').collect();
        if cols.len() != 65 {
            return Err(TorchError::bad_data(
                "<embedded digits>",
                format!("line {}: {} columns, expected 65", i + 1, cols.len()),
            ));
        }
        for c in &cols[..64] {
            let v: f32 = c.trim().parse().map_err(|_| {
                TorchError::bad_data(
                    "<embedded digits>",
                    format!("line {}: `{c}` is not a number", i + 1),
                )
            })?;
            x.push(v / 16.0);
        }
        let label: i64 = cols[64].trim().parse().map_err(|_| {
            TorchError::bad_data("<embedded digits>", format!("line {}: bad label", i + 1))
        })?;
        y.push(label);
    }
    let n = y.len() as i64;
    Ok(Dataset {
        x: Tensor::from_slice(&x).view([n, 1, 8, 8]),
        y: Tensor::from_slice(&y),
        sample_shape: vec![1, 8, 8],
        classes: 10,
        normalize: Normalize::PerChannel,
    })
}

/// Training and validation parts of a dataset.
#[derive(Debug)]
pub struct Split {
    /// Rows the model trains on.
    pub train: Dataset,
    /// Rows the objectives are measured on.
    pub valid: Dataset,
    /// The training rows' statistics, which standardised both parts (and
    /// standardise a test set alike).
    pub scale: Scale,
}

/// Per-channel or per-feature mean and standard deviation of the training
/// rows, applied to every part of a dataset.
#[derive(Debug)]
pub struct Scale {
    mean: Tensor,
    std: Tensor,
}

impl Scale {
    /// `d` standardised with these statistics.
    pub fn apply(&self, d: &Dataset) -> Dataset {
        Dataset {
            x: (&d.x - &self.mean) / &self.std,
            ..d.shallow_clone()
        }
    }

    fn shallow_clone(&self) -> Scale {
        Scale {
            mean: self.mean.shallow_clone(),
            std: self.std.shallow_clone(),
        }
    }
}

impl Split {
    /// Both parts on `device`.
    pub fn to_device(&self, device: tch::Device) -> Split {
        Split {
            train: self.train.to_device(device),
            valid: self.valid.to_device(device),
            scale: self.scale.shallow_clone(),
        }
    }

    /// Cheap handles on the same storage.
    pub fn shallow_clone(&self) -> Split {
        Split {
            train: self.train.shallow_clone(),
            valid: self.valid.shallow_clone(),
            scale: self.scale.shallow_clone(),
        }
    }
}

/// Shuffle the rows with a generator seeded by `seed`, keep at most `limit`
/// of them, hold out `valid_fraction` for validation and standardise both
/// parts with the training rows' statistics.
pub fn split(
    data: &Dataset,
    seed: u64,
    valid_fraction: f64,
    limit: Option<usize>,
) -> Result<Split, TorchError> {
    let n = data.len() as usize;
    let mut idx: Vec<i64> = (0..n as i64).collect();
    idx.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    if let Some(l) = limit {
        idx.truncate(l.max(2));
    }
    let n = idx.len();
    let n_valid = ((n as f64 * valid_fraction).round() as usize).clamp(1, n.saturating_sub(1));
    if n < 2 || n_valid == 0 {
        return Err(TorchError::Unsupported(format!(
            "{n} rows are too few to split"
        )));
    }
    let valid = data.rows(&idx[..n_valid]);
    let train = data.rows(&idx[n_valid..]);
    Ok(standardise(train, valid))
}

/// Train on `data` (shuffled, at most `limit` rows) and validate on all of
/// `valid`, an explicit validation set; both standardised with the
/// training rows' statistics. The two must have the same sample shape.
pub fn split_with_valid(
    data: &Dataset,
    valid: &Dataset,
    seed: u64,
    limit: Option<usize>,
) -> Result<Split, TorchError> {
    if data.sample_shape != valid.sample_shape {
        return Err(TorchError::Unsupported(format!(
            "the validation samples have shape {:?}, the training samples {:?}",
            valid.sample_shape, data.sample_shape
        )));
    }
    if valid.is_empty() {
        return Err(TorchError::Unsupported(
            "the validation set is empty".into(),
        ));
    }
    let mut idx: Vec<i64> = (0..data.len()).collect();
    idx.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    if let Some(l) = limit {
        idx.truncate(l.max(1));
    }
    let classes = data.classes.max(valid.classes);
    let mut train = data.rows(&idx);
    train.classes = classes;
    let mut valid = valid.shallow_clone();
    valid.classes = classes;
    Ok(standardise(train, valid))
}

fn standardise(train: Dataset, valid: Dataset) -> Split {
    let (mean, std) = match train.normalize {
        Normalize::PerChannel => {
            let dims: Vec<i64> = (0..train.x.dim() as i64).filter(|d| *d != 1).collect();
            let mean = train.x.mean_dim(&dims[..], true, Kind::Float);
            let std = train.x.std_dim(&dims[..], false, true);
            (mean, std)
        }
        Normalize::PerFeature => (
            train.x.mean_dim(0, true, Kind::Float),
            train.x.std_dim(0, false, true),
        ),
    };
    // Constant features stay as they are (centred) instead of dividing by 0.
    let scale = Scale {
        mean,
        std: std.clamp_min(1e-6),
    };
    Split {
        train: scale.apply(&train),
        valid: scale.apply(&valid),
        scale,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idx_bytes(dims: &[u32], data: &[u8]) -> Vec<u8> {
        let mut b = vec![0, 0, 8, dims.len() as u8];
        for d in dims {
            b.extend_from_slice(&d.to_be_bytes());
        }
        b.extend_from_slice(data);
        b
    }

    #[test]
    fn digits_are_embedded_and_well_formed() {
        let d = load_digits().unwrap();
        assert_eq!(d.len(), 1797);
        assert_eq!(d.x.size(), vec![1797, 1, 8, 8]);
        assert_eq!(d.y.max().int64_value(&[]), 9);
        assert!(d.x.max().double_value(&[]) <= 1.0);
    }

    #[test]
    fn idx_loader_reads_plain_and_gzipped_files() {
        let dir = tempfile::tempdir().unwrap();
        let pixels: Vec<u8> = (0..3 * 4 * 5).map(|i| (i * 4) as u8).collect();
        std::fs::write(
            dir.path().join("train-images-idx3-ubyte"),
            idx_bytes(&[3, 4, 5], &pixels),
        )
        .unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &idx_bytes(&[3], &[2, 0, 1])).unwrap();
        std::fs::write(
            dir.path().join("train-labels-idx1-ubyte.gz"),
            gz.finish().unwrap(),
        )
        .unwrap();
        let d = load_idx(dir.path()).unwrap();
        assert_eq!(d.x.size(), vec![3, 1, 4, 5]);
        assert_eq!(Vec::<i64>::try_from(&d.y).unwrap(), vec![2, 0, 1]);
        assert_eq!(d.classes, 3);
        let last = d.x.get(2).get(0).get(3).get(4).double_value(&[]);
        assert!((last - (59.0 * 4.0) / 255.0).abs() < 1e-6);
    }

    #[test]
    fn idx_loader_rejects_mismatched_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("train-images-idx3-ubyte"),
            idx_bytes(&[2, 2, 2], &[0; 8]),
        )
        .unwrap();
        std::fs::write(
            dir.path().join("train-labels-idx1-ubyte"),
            idx_bytes(&[3], &[0, 1, 2]),
        )
        .unwrap();
        let e = load_idx(dir.path()).unwrap_err().to_string();
        assert!(e.contains("labels for 2 images"), "{e}");
        // Truncated data.
        std::fs::write(
            dir.path().join("train-images-idx3-ubyte"),
            idx_bytes(&[3, 2, 2], &[0; 7]),
        )
        .unwrap();
        assert!(load_idx(dir.path())
            .unwrap_err()
            .to_string()
            .contains("announces 12 bytes"));
        let missing = load_idx(&dir.path().join("nope")).unwrap_err().to_string();
        assert!(missing.contains("nope"), "{missing}");
    }

    #[test]
    fn cifar_loader_reads_records_and_rejects_partial_ones() {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = Vec::new();
        for label in [3u8, 7] {
            bytes.push(label);
            bytes.extend((0..3072).map(|i| (i % 256) as u8));
        }
        std::fs::write(dir.path().join("data_batch_1.bin"), &bytes).unwrap();
        let d = load_cifar10(dir.path()).unwrap();
        assert_eq!(d.x.size(), vec![2, 3, 32, 32]);
        assert_eq!(Vec::<i64>::try_from(&d.y).unwrap(), vec![3, 7]);
        // Second channel starts at byte 1024 of the record: value 1024 % 256 = 0, then 1.
        assert!((d.x.get(0).get(1).get(0).get(1).double_value(&[]) - 1.0 / 255.0).abs() < 1e-6);
        bytes.pop();
        std::fs::write(dir.path().join("data_batch_1.bin"), &bytes).unwrap();
        assert!(load_cifar10(dir.path())
            .unwrap_err()
            .to_string()
            .contains("whole number"));
    }

    #[test]
    fn csv_loader_maps_labels_and_reports_bad_cells() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.csv");
        std::fs::write(
            &p,
            "a,species,b\n1.5,setosa,2\n0.5,virginica,1\n3,setosa,0\n",
        )
        .unwrap();
        let d = load_csv(&p, "species").unwrap();
        assert_eq!(d.x.size(), vec![3, 2]);
        assert_eq!(Vec::<i64>::try_from(&d.y).unwrap(), vec![0, 1, 0]);
        assert_eq!(d.classes, 2);
        assert!(load_csv(&p, "target")
            .unwrap_err()
            .to_string()
            .contains("no column named `target`"));
        std::fs::write(&p, "a,y\n1,0\nx,1\n").unwrap();
        assert!(load_csv(&p, "y")
            .unwrap_err()
            .to_string()
            .contains("line 3, column `a`"));
    }

    #[test]
    fn split_is_deterministic_disjoint_and_standardised() {
        let d = load_digits().unwrap();
        let a = split(&d, 7, 0.25, None).unwrap();
        let b = split(&d, 7, 0.25, None).unwrap();
        let c = split(&d, 8, 0.25, None).unwrap();
        assert_eq!(a.valid.len(), 449);
        assert_eq!(a.train.len() + a.valid.len(), 1797);
        assert!(a.valid.x.equal(&b.valid.x));
        assert!(!a.valid.x.equal(&c.valid.x));
        let m = a.train.x.mean(Kind::Float).double_value(&[]);
        assert!(m.abs() < 1e-4, "{m}");
        let limited = split(&d, 7, 0.5, Some(100)).unwrap();
        assert_eq!(limited.train.len() + limited.valid.len(), 100);
    }
}
