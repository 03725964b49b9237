//! Compression of a user's TorchScript module (`model = { kind =
//! "torchscript", path = "model.pt" }`, task `compress`), loaded with
//! [`CModule`].
//!
//! A TorchScript module is opaque: its graph cannot be rewritten from here,
//! so only the methods that act on weight values apply (2:4 and magnitude
//! pruning, k-bit quantisation, fp16/bf16 casting), to every parameter with
//! two or more dimensions; structured pruning, low-rank factorisation,
//! fine-tuning and MAC counts are refused when the study is read. The
//! packed size counts the module's parameters (buffers such as batch-norm
//! statistics are not parameters and are left out).

use std::path::{Path, PathBuf};

use tch::{CModule, Device, Kind, Tensor};

use crate::compress::{
    magnitude_tensor, quantize_tensor, semi_structured_tensor, Cast, CompressSpec,
};
use crate::error::TorchError;
use crate::model::{weight_bits, ModelCost, WeightFormat};

/// A TorchScript classifier file, checked against the dataset.
#[derive(Clone, Debug)]
pub struct ScriptModel {
    /// The `.pt` file.
    pub path: PathBuf,
    /// The module takes flattened samples `[n, features]` rather than
    /// `[n, ...sample_shape]`.
    pub flatten_input: bool,
    /// Shape of one sample.
    pub sample_shape: Vec<i64>,
}

/// A compressed copy of the module, ready to evaluate.
pub struct CompressedScript {
    module: CModule,
    formats: Vec<(Tensor, WeightFormat)>,
    dense: Vec<Tensor>,
    float_bits: u32,
    kind: Kind,
    flatten_input: bool,
}

impl ScriptModel {
    /// Load `path` on the CPU and check that a batch of samples of
    /// `sample_shape` (as they are, or flattened) gives `[n, classes]` logits.
    pub fn open(
        path: &Path,
        sample_shape: &[i64],
        classes: i64,
    ) -> Result<ScriptModel, TorchError> {
        if !path.is_file() {
            return Err(TorchError::Io {
                path: path.to_path_buf(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
            });
        }
        let mut module = CModule::load_on_device(path, Device::Cpu)
            .map_err(|e| TorchError::bad_data(path, format!("not a TorchScript module: {e}")))?;
        module.set_eval();
        let mut shape = vec![2];
        shape.extend_from_slice(sample_shape);
        let x = Tensor::zeros(shape.as_slice(), (Kind::Float, Device::Cpu));
        for flatten_input in [false, true] {
            let input = if flatten_input {
                x.flatten(1, -1)
            } else {
                x.shallow_clone()
            };
            if let Ok(y) = tch::no_grad(|| module.forward_ts(&[input])) {
                if y.size() == [2, classes] {
                    return Ok(ScriptModel {
                        path: path.to_path_buf(),
                        flatten_input,
                        sample_shape: sample_shape.to_vec(),
                    });
                }
                return Err(TorchError::bad_data(
                    path,
                    format!("the module maps a batch of 2 samples to shape {:?}, expected [2, {classes}]", y.size()),
                ));
            }
        }
        Err(TorchError::bad_data(
            path,
            format!("the module accepts neither [n, {sample_shape:?}] nor flattened samples of this dataset"),
        ))
    }

    /// A fresh copy on `device`, compressed by `spec` (weight-value methods only).
    pub fn compress(
        &self,
        spec: &CompressSpec,
        device: Device,
    ) -> Result<CompressedScript, TorchError> {
        if spec.prune_ratio > 0.0 || spec.rank_ratio < 1.0 || spec.finetune_epochs > 0 {
            return Err(TorchError::Unsupported(
                "a TorchScript module supports sparsity, semi_structured, quant_bits and cast only"
                    .into(),
            ));
        }
        let mut module = CModule::load_on_device(&self.path, device)?;
        module.set_eval();
        let mut formats = Vec::new();
        let mut dense = Vec::new();
        let (kind, real) = match spec.cast {
            Cast::Fp32 => (Kind::Float, false),
            Cast::Fp16 => (Kind::Half, device.is_cuda()),
            Cast::Bf16 => (Kind::BFloat16, device.is_cuda()),
        };
        tch::no_grad(|| -> Result<(), TorchError> {
            for (_, p) in module.named_parameters()? {
                if p.dim() < 2 {
                    dense.push(p);
                    continue;
                }
                let mut w = p.shallow_clone();
                let mut fmt = WeightFormat::default();
                if spec.semi_structured {
                    semi_structured_tensor(&mut w, &mut fmt);
                }
                if spec.sparsity > 0.0 {
                    magnitude_tensor(&mut w, &mut fmt, spec.sparsity);
                }
                if let Some(q) = &spec.quant {
                    quantize_tensor(&mut w, &mut fmt, q);
                }
                formats.push((p, fmt));
            }
            if kind != Kind::Float && !real {
                for t in formats.iter_mut().map(|(t, _)| t).chain(dense.iter_mut()) {
                    let rounded = t.to_kind(kind).to_kind(Kind::Float);
                    t.f_copy_(&rounded)?;
                }
            }
            Ok(())
        })?;
        if real {
            module.to(device, kind, false);
        }
        Ok(CompressedScript {
            module,
            formats,
            dense,
            float_bits: if kind == Kind::Float { 32 } else { 16 },
            kind: if real { kind } else { Kind::Float },
            flatten_input: self.flatten_input,
        })
    }
}

impl CompressedScript {
    /// Logits (float) for a batch.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor, TorchError> {
        let x = if self.flatten_input {
            x.flatten(1, -1)
        } else {
            x.shallow_clone()
        };
        let y = self.module.forward_ts(&[x.to_kind(self.kind)])?;
        Ok(y.to_kind(Kind::Float))
    }

    /// Parameters and packed size (MACs are not known for an opaque module: 0).
    pub fn cost(&self) -> ModelCost {
        let mut cost = ModelCost {
            params: 0,
            nonzero_params: 0,
            macs: 0,
            size_bytes: 0,
        };
        let mut bits = 0;
        for (w, fmt) in &self.formats {
            bits += weight_bits(w, fmt, self.float_bits as i64, &mut cost);
        }
        for t in &self.dense {
            let n = t.numel() as i64;
            cost.params += n;
            cost.nonzero_params += n;
            bits += n * self.float_bits as i64;
        }
        cost.size_bytes = (bits + 7) / 8;
        cost
    }
}
