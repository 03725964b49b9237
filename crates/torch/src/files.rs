//! The user's own data files: an image folder (`root/<class>/*.png|jpg`,
//! decoded with the `image` crate), NumPy `.npy` and `.npz` arrays and
//! safetensors files (both read by `tch`'s readers, the latter through the
//! `safetensors` crate).
//!
//! ## Arrays
//!
//! Features `x` have a leading sample axis: `[n, f]` is a table, `[n, h,
//! w]` a set of one-channel images, `[n, c, h, w]` images, and `[n, h, w,
//! c]` with `c` of 1 or 3 (and the second axis not) is read as
//! channels-last and permuted. Any numeric kind is accepted; `uint8`
//! features are pixel values and are divided by 255. Labels `y` are a
//! one-dimensional array of `n` non-negative integers (integral floats are
//! accepted), the classes `0..=max`. Arrays must be in C order (NumPy's
//! default; `np.ascontiguousarray` otherwise).
//!
//! ## Image folders
//!
//! One sub-folder per class, classes numbered in sorted name order; files
//! ending in `.png`, `.jpg` or `.jpeg` (any case) are read, others skipped.
//! Every image must have the same size (the model's `resolution` then
//! resizes them on the fly); they load as one channel when all are
//! greyscale, as RGB otherwise, scaled to `[0, 1]`.

use std::path::{Path, PathBuf};

use tch::{Kind, Tensor};

use crate::data::{Dataset, Normalize};
use crate::error::TorchError;

/// Features and labels as arrays, by file format.
#[derive(Clone, Debug, PartialEq)]
pub enum ArrayFiles {
    /// Two `.npy` files.
    Npy {
        /// Features.
        x: PathBuf,
        /// Labels.
        y: PathBuf,
    },
    /// One `.npz` archive holding both arrays under these names.
    Npz {
        /// The archive.
        path: PathBuf,
        /// Name of the features array.
        x: String,
        /// Name of the labels array.
        y: String,
    },
    /// One safetensors file holding both tensors under these names.
    Safetensors {
        /// The file.
        path: PathBuf,
        /// Name of the features tensor.
        x: String,
        /// Name of the labels tensor.
        y: String,
    },
}

fn named(
    path: &Path,
    mut all: Vec<(String, Tensor)>,
    x: &str,
    y: &str,
) -> Result<(Tensor, Tensor), TorchError> {
    let names: Vec<String> = all.iter().map(|(n, _)| n.clone()).collect();
    let mut take = |name: &str| -> Result<Tensor, TorchError> {
        // npz members may carry their `.npy` suffix.
        let pos = all
            .iter()
            .position(|(n, _)| n == name || n.strip_suffix(".npy") == Some(name));
        match pos {
            Some(i) => Ok(all.swap_remove(i).1),
            None => Err(TorchError::bad_data(
                path,
                format!(
                    "no array named `{name}` (it holds {}); name the arrays with x = \"...\" and y = \"...\"",
                    names.join(", ")
                ),
            )),
        }
    };
    let xs = take(x)?;
    let ys = take(y)?;
    Ok((xs, ys))
}

/// Load features and labels from array files.
pub fn load_arrays(files: &ArrayFiles) -> Result<Dataset, TorchError> {
    let read_err = |path: &Path, e: tch::TchError| TorchError::bad_data(path, e.to_string());
    let exists = |path: &Path| -> Result<(), TorchError> {
        if path.is_file() {
            Ok(())
        } else {
            Err(TorchError::Io {
                path: path.to_path_buf(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
            })
        }
    };
    let (x, y, x_path, y_path) = match files {
        ArrayFiles::Npy { x, y } => {
            exists(x)?;
            exists(y)?;
            let xs = Tensor::read_npy(x).map_err(|e| read_err(x, e))?;
            let ys = Tensor::read_npy(y).map_err(|e| read_err(y, e))?;
            (xs, ys, x.clone(), y.clone())
        }
        ArrayFiles::Npz { path, x, y } => {
            exists(path)?;
            let all = Tensor::read_npz(path).map_err(|e| read_err(path, e))?;
            let (xs, ys) = named(path, all, x, y)?;
            (xs, ys, path.clone(), path.clone())
        }
        ArrayFiles::Safetensors { path, x, y } => {
            exists(path)?;
            let all = Tensor::read_safetensors(path).map_err(|e| read_err(path, e))?;
            let (xs, ys) = named(path, all, x, y)?;
            (xs, ys, path.clone(), path.clone())
        }
    };
    from_arrays(x, y, &x_path, &y_path)
}

/// Check and shape arrays into a [`Dataset`] (see the module docs).
pub fn from_arrays(
    x: Tensor,
    y: Tensor,
    x_path: &Path,
    y_path: &Path,
) -> Result<Dataset, TorchError> {
    let dims = x.size();
    if dims.len() < 2 || dims.len() > 4 {
        return Err(TorchError::bad_data(
            x_path,
            format!("features of shape {dims:?}: expected [n, features], [n, h, w], [n, c, h, w] or [n, h, w, c]"),
        ));
    }
    let n = dims[0];
    if y.size() != [n] {
        return Err(TorchError::bad_data(
            y_path,
            format!(
                "labels of shape {:?}: expected one label per sample, [{n}]",
                y.size()
            ),
        ));
    }
    let scale = if x.kind() == Kind::Uint8 { 255.0 } else { 1.0 };
    let mut x = x.to_kind(Kind::Float) / scale;
    match dims.len() {
        3 => x = x.unsqueeze(1),
        4 if [1, 3].contains(&dims[3]) && ![1, 3].contains(&dims[1]) => {
            x = x.permute([0, 3, 1, 2]).contiguous()
        }
        _ => {}
    }
    if x.isfinite().logical_not().any().int64_value(&[]) != 0 {
        return Err(TorchError::bad_data(
            x_path,
            "features hold NaN or infinite values",
        ));
    }
    let yf = y.to_kind(Kind::Double);
    if (&yf - yf.round()).abs().max().double_value(&[]) > 0.0 || yf.min().double_value(&[]) < 0.0 {
        return Err(TorchError::bad_data(
            y_path,
            "labels must be non-negative integers (class indices 0, 1, ...)",
        ));
    }
    let y = yf.to_kind(Kind::Int64);
    let classes = (y.max().int64_value(&[]) + 1).max(2);
    let sample_shape = x.size()[1..].to_vec();
    let normalize = if sample_shape.len() == 3 {
        Normalize::PerChannel
    } else {
        Normalize::PerFeature
    };
    Ok(Dataset {
        x,
        y,
        sample_shape,
        classes,
        normalize,
    })
}

fn is_image_file(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| ["png", "jpg", "jpeg"].contains(&e.to_ascii_lowercase().as_str()))
}

/// Load `root/<class>/*.png|jpg|jpeg`.
pub fn load_image_folder(root: &Path) -> Result<Dataset, TorchError> {
    let io = |path: &Path, e: std::io::Error| TorchError::Io {
        path: path.to_path_buf(),
        source: e,
    };
    let mut classes: Vec<PathBuf> = std::fs::read_dir(root)
        .map_err(|e| io(root, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    classes.sort();
    if classes.len() < 2 {
        return Err(TorchError::bad_data(
            root,
            format!(
                "found {} class folder(s); an image folder holds one sub-folder per class (root/<class>/*.png), at least two",
                classes.len()
            ),
        ));
    }
    let mut images = Vec::new();
    for (label, dir) in classes.iter().enumerate() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| io(dir, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && is_image_file(p))
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(TorchError::bad_data(
                dir,
                "no .png, .jpg or .jpeg file in this class folder",
            ));
        }
        for f in files {
            let img = image::open(&f)
                .map_err(|e| TorchError::bad_data(&f, format!("cannot decode the image: {e}")))?;
            images.push((f, label as i64, img));
        }
    }
    let (first_path, _, first) = &images[0];
    let (w, h) = (first.width(), first.height());
    let grey = images.iter().all(|(_, _, i)| !i.color().has_color());
    let c: i64 = if grey { 1 } else { 3 };
    let mut pixels: Vec<u8> = Vec::with_capacity(images.len() * (w * h) as usize * c as usize);
    let mut labels = Vec::with_capacity(images.len());
    for (path, label, img) in &images {
        if (img.width(), img.height()) != (w, h) {
            return Err(TorchError::bad_data(
                path,
                format!(
                    "{}x{} pixels, but {} has {w}x{h}: every image of the folder must have the same size",
                    img.width(),
                    img.height(),
                    first_path.display()
                ),
            ));
        }
        if grey {
            pixels.extend_from_slice(img.to_luma8().as_raw());
        } else {
            pixels.extend_from_slice(img.to_rgb8().as_raw());
        }
        labels.push(*label);
    }
    let n = images.len() as i64;
    let x = Tensor::from_slice(&pixels).view([n, h as i64, w as i64, c]);
    let x = x.permute([0, 3, 1, 2]).contiguous();
    from_arrays(x, Tensor::from_slice(&labels), root, root)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    fn write_png(path: &Path, w: u32, h: u32, rgb: bool, seed: u8) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        if rgb {
            let img = image::RgbImage::from_fn(w, h, |x, y| {
                image::Rgb([seed, (x * 10) as u8, (y * 10) as u8])
            });
            img.save(path).unwrap();
        } else {
            let img = image::GrayImage::from_fn(w, h, |x, y| image::Luma([seed + (x + y) as u8]));
            img.save(path).unwrap();
        }
    }

    #[test]
    fn image_folders_read_classes_in_order_and_refuse_odd_sizes() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write_png(&root.join("cat/a.png"), 4, 3, false, 10);
        write_png(&root.join("cat/b.PNG"), 4, 3, false, 20);
        write_png(&root.join("dog/c.png"), 4, 3, false, 30);
        std::fs::write(root.join("dog/notes.txt"), "not an image").unwrap();
        let d = load_image_folder(root).unwrap();
        assert_eq!(d.x.size(), vec![3, 1, 3, 4]);
        assert_eq!(Vec::<i64>::try_from(&d.y).unwrap(), vec![0, 0, 1]);
        // Pixel (x=1, y=2) of b.PNG is 20 + 3, scaled to [0, 1].
        let v = d.x.double_value(&[1, 0, 2, 1]);
        assert!((v - 23.0 / 255.0).abs() < 1e-6, "{v}");
        // One RGB image makes the whole folder RGB.
        write_png(&root.join("dog/d.png"), 4, 3, true, 200);
        let d = load_image_folder(root).unwrap();
        assert_eq!(d.sample_shape, vec![3, 3, 4]);
        assert!((d.x.double_value(&[3, 0, 0, 0]) - 200.0 / 255.0).abs() < 1e-6);
        write_png(&root.join("dog/e.png"), 5, 3, false, 0);
        let e = load_image_folder(root).unwrap_err().to_string();
        assert!(e.contains("e.png") && e.contains("same size"), "{e}");
        let e = load_image_folder(&root.join("cat"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("one sub-folder per class"), "{e}");
    }

    #[test]
    fn npy_npz_and_safetensors_arrays_load_alike() {
        let dir = tempfile::tempdir().unwrap();
        let p = |n: &str| dir.path().join(n);
        // Channels-last uint8 images, 5 samples of 2x2x3.
        let x = Tensor::arange(60, (Kind::Uint8, Device::Cpu)).view([5, 2, 2, 3]);
        let y = Tensor::from_slice(&[0i64, 2, 1, 2, 0]);
        x.write_npy(p("x.npy")).unwrap();
        y.write_npy(p("y.npy")).unwrap();
        Tensor::write_npz(&[("x", &x), ("y", &y)], p("d.npz")).unwrap();
        Tensor::write_safetensors(&[("feat", &x), ("label", &y)], p("d.safetensors")).unwrap();
        let loads = [
            load_arrays(&ArrayFiles::Npy {
                x: p("x.npy"),
                y: p("y.npy"),
            }),
            load_arrays(&ArrayFiles::Npz {
                path: p("d.npz"),
                x: "x".into(),
                y: "y".into(),
            }),
            load_arrays(&ArrayFiles::Safetensors {
                path: p("d.safetensors"),
                x: "feat".into(),
                y: "label".into(),
            }),
        ];
        for d in loads {
            let d = d.unwrap();
            assert_eq!(d.x.size(), vec![5, 3, 2, 2]);
            assert_eq!(d.classes, 3);
            // Sample 1, channel 2, row 1, column 0 was x[1, 1, 0, 2] = 12 + 6 + 2.
            assert!((d.x.double_value(&[1, 2, 1, 0]) - 20.0 / 255.0).abs() < 1e-6);
            assert_eq!(Vec::<i64>::try_from(&d.y).unwrap(), vec![0, 2, 1, 2, 0]);
        }
        // A table, float labels with integral values.
        let t = Tensor::randn([4, 3], (Kind::Double, Device::Cpu));
        let ty = Tensor::from_slice(&[1.0f32, 0.0, 1.0, 1.0]);
        let d = from_arrays(t, ty, &p("t"), &p("t")).unwrap();
        assert_eq!((d.sample_shape.clone(), d.classes), (vec![3], 2));
        assert_eq!(d.normalize, Normalize::PerFeature);
        // Mistakes name the file and the fix.
        let e = load_arrays(&ArrayFiles::Npz {
            path: p("d.npz"),
            x: "images".into(),
            y: "y".into(),
        })
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("d.npz") && e.contains("`images`") && e.contains("x = "),
            "{e}"
        );
        let bad_y = Tensor::from_slice(&[0.5f32, 1.0, 0.0, 1.0, 0.0]);
        bad_y.write_npy(p("bad.npy")).unwrap();
        let e = load_arrays(&ArrayFiles::Npy {
            x: p("x.npy"),
            y: p("bad.npy"),
        })
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("bad.npy") && e.contains("non-negative integers"),
            "{e}"
        );
        let e = load_arrays(&ArrayFiles::Npy {
            x: p("x.npy"),
            y: p("x.npy"),
        })
        .unwrap_err()
        .to_string();
        assert!(e.contains("one label per sample"), "{e}");
    }
}
