//! A user's TorchScript classifier (`model = { kind = "torchscript", path =
//! "model.pt" }`), loaded with [`CModule`]: trained from its current
//! weights (`task = "train"`), compressed by the weight-value methods and
//! fine-tuned (`task = "compress"`, or after training).
//!
//! ## What an opaque module allows
//!
//! Its graph cannot be rewritten from here, so only the methods that act on
//! weight values apply (2:4 and magnitude pruning, low-bit quantisation,
//! fp16/bf16 casting), to every parameter with two or more dimensions;
//! structured pruning and low-rank factorisation would change shapes the
//! module's code fixes, and MACs cannot be counted without the graph:
//! these are refused when the study is read. The packed size counts the
//! module's parameters (buffers such as batch-norm statistics are not
//! parameters and are left out).
//!
//! ## Training it
//!
//! The module's parameters are registered in a [`VarStore`] (as tch's
//! `TrainableCModule` does), so the optimisers of [`crate::train`] update
//! them in place; `set_train`/`set_eval` switch its dropout and batch norm.
//! Masks are re-applied after every step. Quantisation-aware fine-tuning
//! cannot insert fake-quantisation into the module's graph, so it swaps
//! values instead: before a training forward pass the latent weights are
//! saved and the parameters overwritten with their quantised values, the
//! backward pass computes the gradient at the quantised point, and the
//! latent weights are put back before the optimiser applies that gradient
//! to them: the straight-through estimator, exactly. Dropout inside the
//! module draws from libtorch's global generator, so with dropout and
//! several workers its runs are not repeatable.

use std::path::{Path, PathBuf};

use tch::nn::VarStore;
use tch::{CModule, Device, Kind, Tensor};

use crate::compress::{
    magnitude_tensor, quantize_tensor, semi_structured_tensor, Cast, CompressSpec, Compressible,
};
use crate::error::TorchError;
use crate::lowbit::QuantSpec;
use crate::model::{weight_bits, ModelCost, WeightFormat};
use crate::train::Trainable;

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

/// A trainable, compressible copy of the module on one device.
pub struct ScriptNet {
    module: CModule,
    vs: VarStore,
    /// Parameters of two or more dimensions, with their formats.
    formats: Vec<(Tensor, WeightFormat)>,
    /// The other parameters (biases, norms), stored densely.
    dense: Vec<Tensor>,
    float_bits: u32,
    kind: Kind,
    flatten_input: bool,
    training: bool,
    /// Quantisation-aware fine-tuning: the format the forward pass sees.
    qat: Option<QuantSpec>,
    /// Latent weights saved while the parameters hold quantised values.
    latent: Vec<Tensor>,
    sample_shape: Vec<i64>,
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

    /// A fresh copy on `device`, its parameters registered for training.
    pub fn load(&self, device: Device) -> Result<ScriptNet, TorchError> {
        let mut module = CModule::load_on_device(&self.path, device)?;
        module.set_eval();
        let vs = VarStore::new(device);
        let mut formats = Vec::new();
        let mut dense = Vec::new();
        for (name, p) in module.named_parameters()? {
            let p = vs.root().add(&name.replace('.', "_"), p, true);
            if p.dim() >= 2 {
                formats.push((p, WeightFormat::default()));
            } else {
                dense.push(p);
            }
        }
        Ok(ScriptNet {
            module,
            vs,
            formats,
            dense,
            float_bits: 32,
            kind: Kind::Float,
            flatten_input: self.flatten_input,
            training: false,
            qat: None,
            latent: Vec::new(),
            sample_shape: self.sample_shape.clone(),
        })
    }
}

impl ScriptNet {
    fn set_mode(&mut self, train: bool) {
        if train != self.training {
            if train {
                self.module.set_train();
            } else {
                self.module.set_eval();
            }
            self.training = train;
        }
    }

    /// Overwrite the weights with their quantised values, keeping the latent ones.
    fn swap_in_quantised(&mut self, q: &QuantSpec) {
        tch::no_grad(|| {
            self.latent.clear();
            for (w, _) in &self.formats {
                self.latent.push(w.detach().copy());
                let mut t = w.shallow_clone();
                let _ = t.f_copy_(&q.fake_quantize(&w.detach())).map(|_| ());
            }
        });
    }

    /// Put the latent weights back.
    fn restore_latent(&mut self) {
        tch::no_grad(|| {
            for ((w, _), l) in self.formats.iter().zip(self.latent.drain(..)) {
                let mut t = w.shallow_clone();
                let _ = t.f_copy_(&l).map(|_| ());
            }
        });
    }

    fn run(&self, x: &Tensor) -> Tensor {
        let x = if self.flatten_input {
            x.flatten(1, -1)
        } else {
            x.shallow_clone()
        };
        self.module
            .forward_ts(&[x.to_kind(self.kind)])
            .expect("the module ran on this data when the study was read")
            .to_kind(Kind::Float)
    }

    /// Save the module (with its current weights) as a TorchScript file.
    pub fn save(&self, path: &Path) -> Result<(), TorchError> {
        Ok(self.module.save(path)?)
    }

    /// The weights of two or more dimensions and their formats (for tests).
    pub fn weights(&self) -> &[(Tensor, WeightFormat)] {
        &self.formats
    }
}

impl Trainable for ScriptNet {
    fn device(&self) -> Device {
        self.vs.device()
    }
    fn var_store(&self) -> &VarStore {
        &self.vs
    }
    fn forward_mode(&mut self, x: &Tensor, train: bool, _amp: Option<Kind>) -> Tensor {
        self.set_mode(train);
        match self.qat {
            Some(q) => {
                self.swap_in_quantised(&q);
                let y = self.run(x);
                if !train {
                    // Evaluation has no backward pass to wait for.
                    self.restore_latent();
                }
                y
            }
            None => self.run(x),
        }
    }
    fn mixed_precision(&self) -> bool {
        false
    }
    fn before_step(&mut self) {
        if !self.latent.is_empty() {
            self.restore_latent();
        }
    }
    fn after_step(&mut self) {
        tch::no_grad(|| {
            for (w, fmt) in &self.formats {
                if let Some(m) = &fmt.mask {
                    let mut t = w.shallow_clone();
                    let _ = t.f_mul_(m).map(|_| ());
                }
            }
        });
    }
}

impl Compressible for ScriptNet {
    fn apply_masks_and_structure(&mut self, spec: &CompressSpec) -> Result<(), TorchError> {
        if spec.prune_ratio > 0.0 || spec.rank_ratio < 1.0 {
            return Err(TorchError::Unsupported(
                "a TorchScript module's layer shapes are fixed by its code: prune_ratio and rank_ratio need a built-in model (sparsity, semi_structured, the quant_* parameters, cast and fine-tuning apply)"
                    .into(),
            ));
        }
        tch::no_grad(|| {
            for (p, fmt) in &mut self.formats {
                let mut w = p.shallow_clone();
                if spec.semi_structured {
                    semi_structured_tensor(&mut w, fmt);
                }
                if spec.sparsity > 0.0 {
                    magnitude_tensor(&mut w, fmt, spec.sparsity);
                }
            }
        });
        Ok(())
    }

    fn start_qat(&mut self, spec: &CompressSpec) {
        self.qat = spec.quant;
    }

    fn apply_formats(&mut self, spec: &CompressSpec, real_cast: bool) -> Result<(), TorchError> {
        self.qat = None;
        self.set_mode(false);
        let device = self.device();
        let (kind, real) = match spec.cast {
            Cast::Fp32 => (Kind::Float, false),
            Cast::Fp16 => (Kind::Half, real_cast),
            Cast::Bf16 => (Kind::BFloat16, real_cast),
        };
        tch::no_grad(|| -> Result<(), TorchError> {
            for (p, fmt) in &mut self.formats {
                if let Some(q) = &spec.quant {
                    let mut w = p.shallow_clone();
                    quantize_tensor(&mut w, fmt, q);
                }
            }
            if kind != Kind::Float && !real {
                for t in self.formats.iter().map(|(t, _)| t).chain(self.dense.iter()) {
                    let rounded = t.to_kind(kind).to_kind(Kind::Float);
                    t.shallow_clone().f_copy_(&rounded)?;
                }
            }
            Ok(())
        })?;
        if real {
            self.module.to(device, kind, false);
            self.kind = kind;
        }
        if kind != Kind::Float {
            self.float_bits = 16;
        }
        Ok(())
    }

    fn infer(&self, x: &Tensor) -> Tensor {
        self.run(x)
    }

    /// Parameters and packed size (MACs are not known for an opaque module: 0).
    fn model_cost(&self) -> ModelCost {
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

    fn sample_shape(&self) -> &[i64] {
        &self.sample_shape
    }
}
