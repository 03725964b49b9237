//! The `dataset`, `valid` and `test` values of `[runner]`: `"digits"`, a
//! table naming a format and its files, or (for `valid` and `test`) a path
//! read as the dataset's own kind. Errors name the key and say what to
//! write instead.

use super::*;

/// `valid` or `test` (`key`): a dataset table like `dataset`, or a path
/// read as the dataset's own kind (its `dir` or `path` replaced).
pub(super) fn parse_valid(
    key: &str,
    v: &toml::Value,
    dataset: &DatasetSource,
    origin: &SpecOrigin,
    resolve: &dyn Fn(&str) -> PathBuf,
) -> Result<DatasetSource, SpecError> {
    let toml::Value::String(p) = v else {
        return parse_dataset(Some(v), origin, resolve).map_err(|_| {
            error_at(
                origin,
                key,
                format!("`{v}` is not a dataset"),
                Some(&format!(
                    "write {key} = \"path\" (same kind as dataset) or a table like dataset's"
                )),
            )
        });
    };
    let path = resolve(p);
    Ok(match dataset {
        DatasetSource::Idx { .. } => DatasetSource::Idx { dir: path },
        DatasetSource::Cifar10 { .. } => DatasetSource::Cifar10 { dir: path },
        DatasetSource::ImageFolder { .. } => DatasetSource::ImageFolder { dir: path },
        DatasetSource::Csv { label, .. } => DatasetSource::Csv {
            path,
            label: label.clone(),
        },
        DatasetSource::Arrays(ArrayFiles::Npz { x, y, .. }) => {
            DatasetSource::Arrays(ArrayFiles::Npz {
                path,
                x: x.clone(),
                y: y.clone(),
            })
        }
        DatasetSource::Arrays(ArrayFiles::Safetensors { x, y, .. }) => {
            DatasetSource::Arrays(ArrayFiles::Safetensors {
                path,
                x: x.clone(),
                y: y.clone(),
            })
        }
        DatasetSource::Digits | DatasetSource::Arrays(ArrayFiles::Npy { .. }) => {
            return Err(error_at(
                origin,
                key,
                format!("{key} = \"path\" needs a dataset read from one file or folder"),
                Some(&format!(
                    "write {key} = {{ kind = ..., ... }} as for dataset"
                )),
            ))
        }
    })
}

pub(super) fn parse_dataset(
    v: Option<&toml::Value>,
    origin: &SpecOrigin,
    resolve: &dyn Fn(&str) -> PathBuf,
) -> Result<DatasetSource, SpecError> {
    let help = "use \"digits\", { kind = \"mnist\" | \"cifar10\" | \"image-folder\", dir = \"...\" }, { kind = \"csv\", path = \"...\", label = \"...\" }, { kind = \"npy\", x = \"x.npy\", y = \"y.npy\" } or { kind = \"npz\" | \"safetensors\", path = \"...\", x = \"x\", y = \"y\" }";
    let err = |msg: String| error_at(origin, "dataset", msg, Some(help));
    let (kind, t) = match v {
        None => return Ok(DatasetSource::Digits),
        Some(toml::Value::String(s)) => (s.clone(), None),
        Some(toml::Value::Table(t)) => match t.get("kind") {
            Some(toml::Value::String(k)) => (k.clone(), Some(t)),
            _ => return Err(err("the dataset table needs a `kind`".into())),
        },
        Some(v) => return Err(err(format!("`{v}` is not a dataset"))),
    };
    let field = |name: &str| -> Result<String, SpecError> {
        match t.and_then(|t| t.get(name)) {
            Some(toml::Value::String(s)) => Ok(s.clone()),
            _ => Err(err(format!(
                "dataset kind `{kind}` needs `{name} = \"...\"`"
            ))),
        }
    };
    Ok(match kind.as_str() {
        "digits" => DatasetSource::Digits,
        "mnist" | "fashion-mnist" | "fashion_mnist" | "idx" => DatasetSource::Idx {
            dir: resolve(&field("dir")?),
        },
        "cifar10" | "cifar-10" => DatasetSource::Cifar10 {
            dir: resolve(&field("dir")?),
        },
        "csv" => DatasetSource::Csv {
            path: resolve(&field("path")?),
            label: field("label")?,
        },
        "image-folder" | "image_folder" | "images" => DatasetSource::ImageFolder {
            dir: resolve(&field("dir")?),
        },
        "npy" => DatasetSource::Arrays(ArrayFiles::Npy {
            x: resolve(&field("x")?),
            y: resolve(&field("y")?),
        }),
        "npz" | "safetensors" => {
            let name = |key: &str| -> Result<String, SpecError> {
                match t.and_then(|t| t.get(key)) {
                    None => Ok(key.to_string()),
                    Some(toml::Value::String(s)) => Ok(s.clone()),
                    Some(v) => Err(err(format!(
                        "`{key}` names an array: `{v}` is not a string"
                    ))),
                }
            };
            let (path, x, y) = (resolve(&field("path")?), name("x")?, name("y")?);
            if kind == "npz" {
                DatasetSource::Arrays(ArrayFiles::Npz { path, x, y })
            } else {
                DatasetSource::Arrays(ArrayFiles::Safetensors { path, x, y })
            }
        }
        other => return Err(err(format!("unknown dataset kind `{other}`"))),
    })
}
