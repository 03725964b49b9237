//! The `[runner]` table of a study with `kind = "torch"`: parsing and
//! validation, every error located in the study file.

// `SpecError` (the shared study-file error, ~130 bytes) is returned once,
// at start-up; boxing it would only change the lead's API.
#![allow(clippy::result_large_err)]

use std::path::{Path, PathBuf};

use paretosearch_core::spec::{did_you_mean, SpecError, SpecOrigin};
use paretosearch_core::{Distribution, Objectives, ParamValue, Params, SearchSpace};

use crate::compress::CompressSpec;
use crate::data::DatasetSource;
use crate::error::TorchError;
use crate::files::ArrayFiles;
use crate::measure::LatencySpec;
use crate::params::ParamReader;

mod dataset;
mod names;

use dataset::{parse_dataset, parse_valid};
use names::{all_params, KEYS};
pub use names::{
    known_param, ARCH_PARAMS, CHEAP_OBJECTIVES, COMPRESS_PARAMS, ENERGY_OBJECTIVES, MODEL_PARAMS,
    OBJECTIVES, TEST_OBJECTIVES, TRAIN_PARAMS,
};

/// What a trial does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Task {
    /// Train a model built from the trial's parameters.
    Train,
    /// Compress a base model (trained once per study run) with the trial's
    /// compression parameters.
    Compress,
}

/// Where trials run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeviceChoice {
    /// CUDA when available, else the CPU.
    Auto,
    /// The CPU.
    Cpu,
    /// All CUDA devices.
    Cuda,
    /// One CUDA device.
    CudaIndex(usize),
}

/// The training epochs when `[runner] epochs` is not written (a trial's
/// `epochs` parameter overrides both). The engine's `[pruner]` builder
/// reads the same number (`paretosearch_engine::TORCH_DEFAULT_EPOCHS`).
pub const DEFAULT_EPOCHS: i64 = 10;

/// Parsed `[runner]` options.
#[derive(Clone, Debug)]
pub struct TorchOptions {
    /// `task`.
    pub task: Task,
    /// `dataset`.
    pub dataset: DatasetSource,
    /// `device`.
    pub device: DeviceChoice,
    /// `model`: `mlp`, `cnn` or `torchscript`.
    pub model: String,
    /// The TorchScript file of `model = { kind = "torchscript", path = "..." }`.
    pub torchscript: Option<PathBuf>,
    /// `epochs`: default training epochs (a trial's `epochs` parameter overrides).
    pub epochs: i64,
    /// `valid_fraction`: share of rows held out for validation.
    pub valid_fraction: f64,
    /// `valid`: an explicit validation set (then nothing is held out).
    pub valid: Option<DatasetSource>,
    /// `test` or `test_fraction`: a held-out test set, scored only for the
    /// trials a user exports (never seen by sampling or pruning).
    pub test: Option<TestSet>,
    /// `limit`: use at most this many rows of the dataset.
    pub limit: Option<usize>,
    /// `threads`: CPU threads per trial (`None` = cores / workers).
    pub threads: Option<usize>,
    /// `trials_per_gpu`: concurrent trials sharing one GPU.
    pub trials_per_gpu: usize,
    /// `latency_batch`, `latency_warmup`, `latency_repeats`.
    pub latency: LatencySpec,
    /// `eval_batch`: batch size of validation passes.
    pub eval_batch: i64,
    /// `save_weights_dir`: where completed trials' weights are written.
    pub save_weights_dir: Option<PathBuf>,
    /// `[runner.params]`: fixed values for parameters the space does not search.
    pub defaults: Params,
    /// `[runner.base]`: the base model's architecture and training (compress task).
    pub base: Params,
}

/// Where the held-out test set comes from.
#[derive(Clone, Debug)]
pub enum TestSet {
    /// `test_fraction`: this share of the dataset's rows, set apart before
    /// the validation rows are.
    Fraction(f64),
    /// `test`: a dataset of its own.
    Source(DatasetSource),
}

/// A located error for `runner.<key>` (`key` may be dotted, e.g.
/// `params.width`), through [`SpecOrigin::error_at`].
pub fn error_at(
    origin: &SpecOrigin,
    key: &str,
    message: impl Into<String>,
    help: Option<&str>,
) -> SpecError {
    let mut path = vec!["runner"];
    path.extend(key.split('.').filter(|k| !k.is_empty()));
    origin.error_at(&path, message, help)
}

fn toml_to_param(v: &toml::Value) -> Option<ParamValue> {
    Some(match v {
        toml::Value::Boolean(b) => ParamValue::Bool(*b),
        toml::Value::Integer(i) => ParamValue::Int(*i),
        toml::Value::Float(f) => ParamValue::Float(*f),
        toml::Value::String(s) => ParamValue::Str(s.clone()),
        _ => return None,
    })
}

impl TorchOptions {
    /// Parse and validate the `[runner]` table.
    pub fn parse(
        table: &toml::Table,
        origin: &SpecOrigin,
        space: &SearchSpace,
        objectives: &Objectives,
    ) -> Result<TorchOptions, SpecError> {
        let err = |key: &str, msg: String, help: &str| error_at(origin, key, msg, Some(help));
        for k in table.keys() {
            if !KEYS.contains(&k.as_str()) {
                return Err(origin.unknown_key(&["runner"], k, &KEYS[..KEYS.len() - 1]));
            }
        }
        let base_dir = origin
            .file
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let resolve = |p: &str| {
            let p = PathBuf::from(p);
            if p.is_absolute() {
                p
            } else {
                base_dir.join(p)
            }
        };
        let string = |key: &str, default: &str| -> Result<String, SpecError> {
            match table.get(key) {
                None => Ok(default.to_string()),
                Some(toml::Value::String(s)) => Ok(s.clone()),
                Some(v) => Err(err(
                    key,
                    format!("expected a string, got `{v}`"),
                    "quote the value",
                )),
            }
        };
        let int = |key: &str, default: i64, low: i64, high: i64| -> Result<i64, SpecError> {
            match table.get(key) {
                None => Ok(default),
                Some(toml::Value::Integer(i)) if *i >= low && *i <= high => Ok(*i),
                Some(v) => Err(err(
                    key,
                    format!("`{v}` is not an integer in [{low}, {high}]"),
                    &format!("write e.g. {key} = {default}"),
                )),
            }
        };

        let task = match string("task", "train")?.as_str() {
            "train" => Task::Train,
            "compress" => Task::Compress,
            other => {
                return Err(err(
                    "task",
                    format!("unknown task `{other}`"),
                    "use \"train\" or \"compress\"",
                ));
            }
        };
        let dataset = parse_dataset(table.get("dataset"), origin, &resolve)?;
        let device = match string("device", "auto")?.as_str() {
            "auto" => DeviceChoice::Auto,
            "cpu" => DeviceChoice::Cpu,
            "cuda" => DeviceChoice::Cuda,
            s => match s.strip_prefix("cuda:").and_then(|i| i.parse().ok()) {
                Some(i) => DeviceChoice::CudaIndex(i),
                None => {
                    return Err(err(
                        "device",
                        format!("unknown device `{s}`"),
                        "use \"auto\", \"cpu\", \"cuda\" or \"cuda:N\"",
                    ))
                }
            },
        };
        let model_help = "use \"mlp\", \"cnn\", \"resnet\", \"mobilenet\" or { kind = \"torchscript\", path = \"model.pt\" }";
        let (model, torchscript) = match table.get("model") {
            None => ("mlp".to_string(), None),
            Some(toml::Value::String(s))
                if ["mlp", "cnn", "resnet", "mobilenet"].contains(&s.as_str()) =>
            {
                (s.clone(), None)
            }
            Some(toml::Value::Table(t)) => {
                match (t.get("kind").and_then(|k| k.as_str()), t.get("path")) {
                    (Some("torchscript"), Some(toml::Value::String(p))) => {
                        ("torchscript".to_string(), Some(resolve(p)))
                    }
                    _ => {
                        return Err(err(
                            "model",
                            "a model table needs kind = \"torchscript\" and a path".into(),
                            model_help,
                        ))
                    }
                }
            }
            Some(v) => return Err(err("model", format!("unknown model `{v}`"), model_help)),
        };
        let valid_fraction = match table.get("valid_fraction") {
            None => 0.2,
            Some(v) => match v.as_float().or(v.as_integer().map(|i| i as f64)) {
                Some(f) if f > 0.0 && f < 1.0 => f,
                _ => {
                    return Err(err(
                        "valid_fraction",
                        format!("`{v}` is not in (0, 1)"),
                        "write e.g. valid_fraction = 0.2",
                    ))
                }
            },
        };
        let limit = table
            .get("limit")
            .map(|_| int("limit", 1000, 10, i64::MAX).map(|v| v as usize))
            .transpose()?;
        let threads = match table.get("threads") {
            None => None,
            Some(toml::Value::String(s)) if s == "auto" => None,
            Some(_) => Some(int("threads", 1, 1, 1024)? as usize),
        };
        let save_weights_dir = table
            .get("save_weights_dir")
            .map(|_| string("save_weights_dir", "").map(|s| resolve(&s)))
            .transpose()?;
        let params_table = |key: &str| -> Result<Params, SpecError> {
            match table.get(key) {
                None => Ok(Params::new()),
                Some(toml::Value::Table(t)) => {
                    let mut out = Params::new();
                    for (k, v) in t {
                        if !known_param(k) {
                            return Err(origin.unknown_key(&["runner", key], k, &all_params()));
                        }
                        let pv = toml_to_param(v).ok_or_else(|| {
                            err(
                                &format!("{key}.{k}"),
                                format!("`{v}` is not a number, boolean or string"),
                                "use a scalar value",
                            )
                        })?;
                        out.insert(k.clone(), pv);
                    }
                    Ok(out)
                }
                Some(v) => Err(err(
                    key,
                    format!("expected a table, got `{v}`"),
                    &format!("write [runner.{key}] with parameter = value lines"),
                )),
            }
        };
        let valid = match table.get("valid") {
            None => None,
            Some(v) => {
                if table.contains_key("valid_fraction") {
                    return Err(err(
                        "valid_fraction",
                        "with an explicit `valid` set no rows are held out".into(),
                        "remove valid_fraction, or valid",
                    ));
                }
                Some(parse_valid("valid", v, &dataset, origin, &resolve)?)
            }
        };
        let test = match (table.get("test"), table.get("test_fraction")) {
            (None, None) => None,
            (Some(_), Some(_)) => {
                return Err(err(
                    "test_fraction",
                    "`test` names a test set of its own, `test_fraction` carves one from the dataset: give one of them".into(),
                    "remove test_fraction, or test",
                ))
            }
            (Some(v), None) => Some(TestSet::Source(parse_valid(
                "test", v, &dataset, origin, &resolve,
            )?)),
            (None, Some(v)) => match v.as_float().or(v.as_integer().map(|i| i as f64)) {
                Some(f) if f > 0.0 && f < 0.5 => Some(TestSet::Fraction(f)),
                _ => {
                    return Err(err(
                        "test_fraction",
                        format!("`{v}` is not in (0, 0.5)"),
                        "write e.g. test_fraction = 0.2",
                    ))
                }
            },
        };
        let opts = TorchOptions {
            task,
            dataset,
            device,
            model,
            torchscript,
            epochs: int("epochs", DEFAULT_EPOCHS, 0, 100_000)?,
            valid_fraction,
            valid,
            test,
            limit,
            threads,
            trials_per_gpu: int("trials_per_gpu", 1, 1, 64)? as usize,
            latency: LatencySpec {
                batch: int("latency_batch", 1, 1, 1 << 20)?,
                warmup: int("latency_warmup", 10, 0, 100_000)? as usize,
                repeats: int("latency_repeats", 50, 1, 100_000)? as usize,
            },
            eval_batch: int("eval_batch", 1024, 1, 1 << 20)?,
            save_weights_dir,
            defaults: params_table("params")?,
            base: params_table("base")?,
        };
        if opts.task == Task::Train && table.contains_key("base") {
            return Err(err(
                "base",
                "[runner.base] only applies to task = \"compress\"".into(),
                "remove it or set task = \"compress\"",
            ));
        }

        for p in space.params() {
            if !known_param(&p.name) {
                let help = match did_you_mean(&p.name, &all_params()) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!(
                        "model: {}; training: {}; compression: {}",
                        MODEL_PARAMS.join(", "),
                        TRAIN_PARAMS.join(", "),
                        COMPRESS_PARAMS.join(", ")
                    ),
                };
                return Err(origin.key_error_at(
                    &["search_space", &p.name],
                    format!(
                        "the torch runner does not read a parameter named `{}`",
                        p.name
                    ),
                    Some(&help),
                ));
            }
            if opts.torchscript.is_some() {
                let name = p.name.as_str();
                let why = if ARCH_PARAMS.contains(&name) {
                    Some("its architecture is fixed by its code")
                } else if name == "prune_ratio" || name == "rank_ratio" {
                    Some("structured pruning and low-rank factorisation change layer shapes its code fixes")
                } else if name == "precision" {
                    Some("mixed precision needs the built-in models' layers; the module trains in fp32")
                } else {
                    None
                };
                if let Some(why) = why {
                    return Err(origin.key_error_at(
                        &["search_space", &p.name],
                        format!("a TorchScript module cannot be changed by `{name}`: {why}"),
                        Some("search training parameters, finetune_epochs/finetune_lr, sparsity, semi_structured, the quant_* parameters and cast"),
                    ));
                }
            }
            if opts.task == Task::Compress && ARCH_PARAMS.contains(&p.name.as_str()) {
                return Err(origin.key_error_at(
                    &["search_space", &p.name],
                    format!(
                        "with task = \"compress\" the architecture is fixed by [runner.base]; `{}` cannot be searched",
                        p.name
                    ),
                    Some("move it to [runner.base], or use task = \"train\""),
                ));
            }
            let mixed = p.name == "precision"
                && matches!(&p.distribution, Distribution::Categorical { choices }
                    if choices.iter().any(|c| matches!(c, ParamValue::Str(s) if s != "fp32")));
            if mixed && opts.device == DeviceChoice::Cpu {
                return Err(err(
                    "device",
                    "the search space tries mixed precision (bf16/fp16), which needs CUDA, but device = \"cpu\"".into(),
                    "drop bf16/fp16 from `precision` or use a CUDA device",
                ));
            }
        }
        check_quant(&opts, origin, space)?;
        let power_limit = space.params().iter().any(|p| p.name == "gpu_power_limit")
            || opts.defaults.contains_key("gpu_power_limit");
        if power_limit && opts.trials_per_gpu > 1 {
            return Err(err(
                "trials_per_gpu",
                format!(
                    "gpu_power_limit caps a whole GPU, which {} trials would share",
                    opts.trials_per_gpu
                ),
                "set trials_per_gpu = 1 with gpu_power_limit",
            ));
        }
        for (i, o) in objectives.iter().enumerate() {
            let index = i.to_string();
            if !OBJECTIVES.contains(&o.name.as_str()) {
                let help = match did_you_mean(&o.name, &OBJECTIVES) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!("it reports: {}", OBJECTIVES.join(", ")),
                };
                return Err(origin.error_at(
                    &["objectives", &index, "name"],
                    format!("the torch runner cannot measure `{}`", o.name),
                    Some(&help),
                ));
            }
            if o.name == "macs" && opts.torchscript.is_some() {
                return Err(origin.error_at(
                    &["objectives", &index, "name"],
                    "MACs cannot be counted for an opaque TorchScript module",
                    Some("drop the objective, or use latency_ms"),
                ));
            }
            if ENERGY_OBJECTIVES.contains(&o.name.as_str()) && opts.trials_per_gpu > 1 {
                return Err(err(
                    "trials_per_gpu",
                    format!(
                        "`{}` reads a per-GPU energy counter, which would mix the energy of the {} trials sharing a GPU",
                        o.name, opts.trials_per_gpu
                    ),
                    "set trials_per_gpu = 1 for energy objectives",
                ));
            }
        }
        Ok(opts)
    }
}

/// The fixed compression parameters must read (the error names the table
/// and key), and `quant_bits` may be searched beside a float
/// `quant_format` only when it is conditional on `quant_format = "int"`.
fn check_quant(
    opts: &TorchOptions,
    origin: &SpecOrigin,
    space: &SearchSpace,
) -> Result<(), SpecError> {
    for (table, params) in [("params", &opts.defaults), ("base", &opts.base)] {
        let empty = Params::new();
        if let Err(TorchError::Param { name, message }) =
            CompressSpec::from_params(&ParamReader::new(params, &empty))
        {
            let key = if params.contains_key(&name) {
                format!("{table}.{name}")
            } else {
                table.to_string()
            };
            return Err(error_at(
                origin,
                &key,
                message,
                Some("fix or remove the value"),
            ));
        }
    }
    let Some(bits) = space.params().iter().find(|p| p.name == "quant_bits") else {
        return Ok(());
    };
    let is_float = |v: &ParamValue| matches!(v, ParamValue::Str(s) if s != "int");
    let float_format = match space.params().iter().find(|p| p.name == "quant_format") {
        Some(p) => match &p.distribution {
            Distribution::Categorical { choices } => choices.iter().any(is_float),
            _ => false,
        },
        None => opts
            .defaults
            .get("quant_format")
            .or(opts.base.get("quant_format"))
            .is_some_and(is_float),
    };
    let only_int = bits.when.iter().any(|c| {
        c.parent == "quant_format"
            && c.values
                .iter()
                .all(|v| matches!(v, ParamValue::Str(s) if s == "int"))
    });
    if float_format && !only_int {
        return Err(origin.key_error_at(
            &["search_space", "quant_bits"],
            "quant_bits applies to quant_format = \"int\"; the float formats fix their own bits",
            Some("make it conditional: when = { quant_format = \"int\" }"),
        ));
    }
    Ok(())
}
