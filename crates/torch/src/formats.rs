//! The public dataset formats: IDX files (MNIST, Fashion-MNIST; plain or
//! gzip-compressed), CIFAR-10's binary batches and CSV tables with a named
//! label column. Each loader returns a [`Dataset`] as [`crate::data`]
//! describes it, and names the file and what is wrong with it when it
//! cannot.

use std::io::Read;
use std::path::{Path, PathBuf};

use tch::{Kind, Tensor};

use crate::data::{Dataset, Normalize};
use crate::error::TorchError;

fn read_maybe_gz(path: &Path) -> Result<Vec<u8>, TorchError> {
    let raw = std::fs::read(path).map_err(|source| TorchError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(|e| TorchError::bad_data(path, format!("gzip: {e}")))?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

fn find_file(dir: &Path, names: &[&str]) -> Result<PathBuf, TorchError> {
    if !dir.is_dir() {
        return Err(TorchError::Io {
            path: dir.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such folder"),
        });
    }
    for n in names {
        for candidate in [n.to_string(), format!("{n}.gz")] {
            let p = dir.join(&candidate);
            if p.is_file() {
                return Ok(p);
            }
        }
    }
    Err(TorchError::bad_data(
        dir,
        format!(
            "none of {} (optionally .gz) is in this folder",
            names.join(", ")
        ),
    ))
}

/// Parse one IDX file of unsigned bytes: returns the dimensions and the data.
pub fn parse_idx(path: &Path, bytes: &[u8]) -> Result<(Vec<usize>, Vec<u8>), TorchError> {
    if bytes.len() < 4 || bytes[0] != 0 || bytes[1] != 0 {
        return Err(TorchError::bad_data(
            path,
            "not an IDX file (bad magic number)",
        ));
    }
    if bytes[2] != 0x08 {
        return Err(TorchError::bad_data(
            path,
            format!(
                "IDX element type 0x{:02x} is not unsigned bytes (0x08)",
                bytes[2]
            ),
        ));
    }
    let ndim = bytes[3] as usize;
    let header = 4 + 4 * ndim;
    if bytes.len() < header {
        return Err(TorchError::bad_data(path, "truncated IDX header"));
    }
    let dims: Vec<usize> = (0..ndim)
        .map(|i| {
            u32::from_be_bytes(bytes[4 + 4 * i..8 + 4 * i].try_into().expect("4 bytes")) as usize
        })
        .collect();
    let count: usize = dims.iter().product();
    if bytes.len() - header != count {
        return Err(TorchError::bad_data(
            path,
            format!(
                "IDX header announces {count} bytes of data ({dims:?}), the file has {}",
                bytes.len() - header
            ),
        ));
    }
    Ok((dims, bytes[header..].to_vec()))
}

/// MNIST / Fashion-MNIST training files from `dir`, as `[n, 1, h, w]` images in `[0, 1]`.
pub fn load_idx(dir: &Path) -> Result<Dataset, TorchError> {
    let img_path = find_file(dir, &["train-images-idx3-ubyte", "train-images.idx3-ubyte"])?;
    let lbl_path = find_file(dir, &["train-labels-idx1-ubyte", "train-labels.idx1-ubyte"])?;
    let (idims, pixels) = parse_idx(&img_path, &read_maybe_gz(&img_path)?)?;
    let (ldims, labels) = parse_idx(&lbl_path, &read_maybe_gz(&lbl_path)?)?;
    if idims.len() != 3 {
        return Err(TorchError::bad_data(
            &img_path,
            format!("images need 3 dimensions (n, rows, cols), found {idims:?}"),
        ));
    }
    if ldims.len() != 1 || ldims[0] != idims[0] {
        return Err(TorchError::bad_data(
            &lbl_path,
            format!("{:?} labels for {} images", ldims, idims[0]),
        ));
    }
    let classes = labels.iter().copied().max().unwrap_or(0) as i64 + 1;
    let (n, h, w) = (idims[0] as i64, idims[1] as i64, idims[2] as i64);
    let x = Tensor::from_slice(&pixels)
        .to_kind(Kind::Float)
        .view([n, 1, h, w])
        / 255.0;
    let y = Tensor::from_slice(&labels).to_kind(Kind::Int64);
    Ok(Dataset {
        x,
        y,
        sample_shape: vec![1, h, w],
        classes: classes.max(2),
        normalize: Normalize::PerChannel,
    })
}

/// CIFAR-10 training batches from `dir`, as `[n, 3, 32, 32]` images in `[0, 1]`.
pub fn load_cifar10(dir: &Path) -> Result<Dataset, TorchError> {
    let nested = dir.join("cifar-10-batches-bin");
    let dir = if nested.is_dir() {
        nested
    } else {
        dir.to_path_buf()
    };
    if !dir.is_dir() {
        return Err(TorchError::Io {
            path: dir,
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such folder"),
        });
    }
    const RECORD: usize = 1 + 3 * 32 * 32;
    let mut labels = Vec::new();
    let mut pixels = Vec::new();
    for b in 1..=5 {
        let p = dir.join(format!("data_batch_{b}.bin"));
        if !p.is_file() {
            continue;
        }
        let bytes = read_maybe_gz(&p)?;
        if bytes.is_empty() || bytes.len() % RECORD != 0 {
            return Err(TorchError::bad_data(
                &p,
                format!(
                    "{} bytes is not a whole number of {RECORD}-byte CIFAR-10 records",
                    bytes.len()
                ),
            ));
        }
        for rec in bytes.chunks_exact(RECORD) {
            if rec[0] > 9 {
                return Err(TorchError::bad_data(
                    &p,
                    format!("label {} is not in 0..9", rec[0]),
                ));
            }
            labels.push(rec[0] as i64);
            pixels.extend_from_slice(&rec[1..]);
        }
    }
    if labels.is_empty() {
        return Err(TorchError::bad_data(
            &dir,
            "no data_batch_1.bin ... data_batch_5.bin here (the CIFAR-10 binary version)",
        ));
    }
    let n = labels.len() as i64;
    Ok(Dataset {
        x: Tensor::from_slice(&pixels)
            .to_kind(Kind::Float)
            .view([n, 3, 32, 32])
            / 255.0,
        y: Tensor::from_slice(&labels),
        sample_shape: vec![3, 32, 32],
        classes: 10,
        normalize: Normalize::PerChannel,
    })
}

/// A CSV table with a header: `label` is the class column (any strings;
/// classes are numbered in sorted order, numerically when all are numbers),
/// every other column must be numeric.
pub fn load_csv(path: &Path, label: &str) -> Result<Dataset, TorchError> {
    let file = std::fs::File::open(path).map_err(|source| TorchError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(file);
    let headers = reader
        .headers()
        .map_err(|e| TorchError::bad_data(path, e.to_string()))?
        .clone();
    let label_col = headers.iter().position(|h| h == label).ok_or_else(|| {
        TorchError::bad_data(
            path,
            format!(
                "no column named `{label}`; the header has: {}",
                headers.iter().collect::<Vec<_>>().join(", ")
            ),
        )
    })?;
    let features = headers.len() - 1;
    if features == 0 {
        return Err(TorchError::bad_data(
            path,
            "no feature columns besides the label",
        ));
    }
    let mut x = Vec::new();
    let mut raw_labels = Vec::new();
    for (i, rec) in reader.records().enumerate() {
        let rec = rec.map_err(|e| TorchError::bad_data(path, e.to_string()))?;
        let line = i + 2;
        if rec.len() != headers.len() {
            return Err(TorchError::bad_data(
                path,
                format!(
                    "line {line}: {} fields, the header has {}",
                    rec.len(),
                    headers.len()
                ),
            ));
        }
        for (j, field) in rec.iter().enumerate() {
            if j == label_col {
                raw_labels.push(field.to_string());
            } else {
                let v: f32 = field.parse().map_err(|_| {
                    TorchError::bad_data(
                        path,
                        format!(
                            "line {line}, column `{}`: `{field}` is not a number",
                            &headers[j]
                        ),
                    )
                })?;
                x.push(v);
            }
        }
    }
    if raw_labels.is_empty() {
        return Err(TorchError::bad_data(path, "no data rows"));
    }
    let mut classes: Vec<String> = raw_labels.clone();
    let numeric = classes.iter().all(|c| c.parse::<f64>().is_ok());
    if numeric {
        classes.sort_by(|a, b| {
            a.parse::<f64>()
                .unwrap()
                .total_cmp(&b.parse::<f64>().unwrap())
        });
    } else {
        classes.sort();
    }
    classes.dedup();
    if classes.len() < 2 {
        return Err(TorchError::bad_data(
            path,
            format!("column `{label}` has a single class"),
        ));
    }
    let y: Vec<i64> = raw_labels
        .iter()
        .map(|l| {
            classes
                .binary_search_by(|c| cmp_label(c, l, numeric))
                .expect("known class") as i64
        })
        .collect();
    let n = y.len() as i64;
    Ok(Dataset {
        x: Tensor::from_slice(&x).view([n, features as i64]),
        y: Tensor::from_slice(&y),
        sample_shape: vec![features as i64],
        classes: classes.len() as i64,
        normalize: Normalize::PerFeature,
    })
}

fn cmp_label(a: &str, b: &str, numeric: bool) -> std::cmp::Ordering {
    if numeric {
        a.parse::<f64>()
            .unwrap()
            .total_cmp(&b.parse::<f64>().unwrap())
    } else {
        a.cmp(b)
    }
}
