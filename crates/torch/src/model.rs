//! Models built from parameters: an MLP and a small CNN, kept as an explicit
//! list of layers so that compression can rewrite them (drop neurons and
//! channels, split a linear layer in two, mask and quantise weights) and the
//! cost of the result (parameters, MACs, packed bytes) can be counted from
//! the structure itself.
//!
//! Weights are initialised from a ChaCha generator seeded with the trial
//! seed, with PyTorch's default bounds (uniform in `±1/sqrt(fan_in)`), so a
//! configuration builds the same network on every machine and in every
//! worker. Dropout masks come from libtorch's generator, reseeded for each
//! mask from the trial seed and a draw counter under a process-wide lock:
//! trials training side by side in one process (`workers > 1`) do not
//! perturb each other's masks, so a seed repeats its run exactly.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

use crate::error::TorchError;
use crate::lowbit::QuantSpec;

pub(crate) use crate::spec::{linear, norm, uniform};
pub use crate::spec::{CnnSpec, MlpSpec, ModelSpec};

/// Non-linearity between layers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    /// max(0, x).
    Relu,
    /// Gaussian error linear unit (exact).
    Gelu,
    /// x * sigmoid(x).
    Silu,
    /// Hyperbolic tangent.
    Tanh,
    /// min(max(0, x), 6) (MobileNetV2).
    Relu6,
    /// The logistic function (squeeze-excitation gates; not a parameter choice).
    Sigmoid,
}

impl Activation {
    /// Names accepted in the `activation` parameter.
    pub const NAMES: [&'static str; 5] = ["relu", "gelu", "silu", "tanh", "relu6"];

    pub(crate) fn parse(s: &str) -> Activation {
        match s {
            "gelu" => Activation::Gelu,
            "relu6" => Activation::Relu6,
            "silu" => Activation::Silu,
            "tanh" => Activation::Tanh,
            _ => Activation::Relu,
        }
    }

    fn apply(self, x: &Tensor) -> Tensor {
        match self {
            Activation::Relu => x.relu(),
            Activation::Gelu => x.gelu("none"),
            Activation::Silu => x.silu(),
            Activation::Tanh => x.tanh(),
            Activation::Relu6 => x.clamp(0.0, 6.0),
            Activation::Sigmoid => x.sigmoid(),
        }
    }
}

/// 2x2 down-sampling between CNN stages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoolKind {
    /// Max pooling.
    Max,
    /// Average pooling.
    Avg,
}

/// How a weight tensor is stored once compressed; drives `size_bytes`.
#[derive(Debug, Default)]
pub struct WeightFormat {
    /// 1 for kept weights, 0 for pruned ones (same shape as the weight).
    pub mask: Option<Tensor>,
    /// The mask follows the 2:4 pattern (stored as 2 values + 2-bit
    /// indices per group of 4).
    pub semi_structured: bool,
    /// The low-bit format the weight is stored in (values already rounded to it).
    pub quant: Option<QuantSpec>,
    /// Quantisation-aware fine-tuning: the forward pass uses the weight's
    /// values in this format, the gradient reaches the latent full-precision
    /// weight unchanged (straight-through estimator).
    pub fake_quant: Option<QuantSpec>,
}

impl WeightFormat {
    fn copy(&self) -> WeightFormat {
        WeightFormat {
            mask: self.mask.as_ref().map(|m| m.copy()),
            semi_structured: self.semi_structured,
            quant: self.quant,
            fake_quant: self.fake_quant,
        }
    }
}

/// A fully connected layer, `y = x W^T + b`, `W: [out, in]`.
#[derive(Debug)]
pub struct Linear {
    /// `[out, in]`.
    pub w: Tensor,
    /// `[out]`.
    pub b: Option<Tensor>,
    /// Storage format.
    pub fmt: WeightFormat,
    /// First factor of a low-rank pair (its outputs are not neurons and are
    /// never pruned structurally).
    pub factor: bool,
}

/// A 2-d convolution with "same" padding (`k / 2`), a stride and groups
/// (`groups = in = out` is a depthwise convolution).
#[derive(Debug)]
pub struct Conv {
    /// `[out, in / groups, k, k]`.
    pub w: Tensor,
    /// `[out]`.
    pub b: Option<Tensor>,
    /// Padding on each side.
    pub padding: i64,
    /// Stride (1, or 2 to halve the resolution).
    pub stride: i64,
    /// Channel groups.
    pub groups: i64,
    /// Storage format.
    pub fmt: WeightFormat,
}

/// Batch normalisation over the channel (or feature) dimension.
#[derive(Debug)]
pub struct Norm {
    /// Scale.
    pub gamma: Tensor,
    /// Shift.
    pub beta: Tensor,
    /// Running mean (not trained).
    pub mean: Tensor,
    /// Running variance (not trained).
    pub var: Tensor,
}

/// One layer of a [`Net`].
#[derive(Debug)]
pub enum Layer {
    /// Fully connected.
    Linear(Linear),
    /// Convolution.
    Conv(Conv),
    /// Batch normalisation.
    Norm(Norm),
    /// Activation.
    Act(Activation),
    /// Dropout with this probability (training only).
    Dropout(f64),
    /// 2x2 pooling.
    Pool(PoolKind),
    /// Mean over the spatial dimensions: `[n, c, h, w] -> [n, c]`.
    GlobalAvgPool,
    /// `[n, ...] -> [n, prod(...)]`.
    Flatten,
    /// Bilinear resize of `[n, c, h, w]` images to `[n, c, r, r]` (the
    /// `resolution` of the model families).
    Resize(i64),
    /// Push the current activation on the skip stack (start of a residual
    /// block or of a squeeze-excitation gate).
    Fork,
    /// Exchange the current activation with the top of the stack (after a
    /// block's main path: the projection shortcut then runs on its input).
    Swap,
    /// Pop the stack and add it to the current activation (residual sum).
    Add,
    /// Pop the stack (`[n, c, h, w]`) and multiply it by the current
    /// per-channel gate (`[n, c]`): squeeze-excitation.
    Scale,
}

impl Layer {
    fn deep_copy(&self) -> Layer {
        let c = |t: &Tensor| t.detach().copy();
        match self {
            Layer::Linear(l) => Layer::Linear(Linear {
                w: c(&l.w),
                b: l.b.as_ref().map(c),
                fmt: l.fmt.copy(),
                factor: l.factor,
            }),
            Layer::Conv(l) => Layer::Conv(Conv {
                w: c(&l.w),
                b: l.b.as_ref().map(c),
                padding: l.padding,
                stride: l.stride,
                groups: l.groups,
                fmt: l.fmt.copy(),
            }),
            Layer::Norm(n) => Layer::Norm(Norm {
                gamma: c(&n.gamma),
                beta: c(&n.beta),
                mean: c(&n.mean),
                var: c(&n.var),
            }),
            Layer::Act(a) => Layer::Act(*a),
            Layer::Dropout(p) => Layer::Dropout(*p),
            Layer::Pool(k) => Layer::Pool(*k),
            Layer::GlobalAvgPool => Layer::GlobalAvgPool,
            Layer::Flatten => Layer::Flatten,
            Layer::Resize(r) => Layer::Resize(*r),
            Layer::Fork => Layer::Fork,
            Layer::Swap => Layer::Swap,
            Layer::Add => Layer::Add,
            Layer::Scale => Layer::Scale,
        }
    }

    /// The weight and its format, for layers that have one.
    pub fn weight_mut(&mut self) -> Option<(&mut Tensor, &mut WeightFormat)> {
        match self {
            Layer::Linear(l) => Some((&mut l.w, &mut l.fmt)),
            Layer::Conv(c) => Some((&mut c.w, &mut c.fmt)),
            _ => None,
        }
    }
}

/// What a model costs, counted from its structure.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ModelCost {
    /// Trainable parameters (dense count of the current structure).
    pub params: i64,
    /// Parameters left non-zero by pruning.
    pub nonzero_params: i64,
    /// Multiply-accumulates for one sample (dense).
    pub macs: i64,
    /// Bytes to store the model: packed k-bit values, 16- or 32-bit
    /// floats, sparse indices or bitmaps, quantisation scales, normalisation
    /// statistics.
    pub size_bytes: i64,
}

/// A network: layers, the shape of one input sample and the number of
/// classes, with its tensors registered in a [`VarStore`] for training.
#[derive(Debug)]
pub struct Net {
    /// The layers, in order.
    pub layers: Vec<Layer>,
    /// Shape of one input sample.
    pub sample_shape: Vec<i64>,
    /// Output classes.
    pub classes: i64,
    /// Bits per stored float (32, or 16 after an fp16/bf16 cast).
    pub float_bits: u32,
    /// The kind the tensors are kept in (`Float` unless cast on a GPU).
    pub kind: Kind,
    vs: VarStore,
    /// Dropout masks are drawn from (this seed, a draw counter), so they do
    /// not depend on what other trials in the process draw meanwhile.
    dropout_seed: u64,
    dropout_draws: AtomicU64,
}

/// libtorch has one default generator per device for the whole process;
/// a dropout mask is drawn under this lock right after seeding it.
static TORCH_RNG: Mutex<()> = Mutex::new(());

/// A dropout mask for `like` (kept with probability `1 - p`, scaled by
/// `1 / (1 - p)`), drawn from libtorch's generator reseeded with `seed`.
fn dropout_mask(like: &Tensor, p: f64, seed: u64) -> Tensor {
    let keep = 1.0 - p;
    let mut mask = Tensor::empty_like(like);
    {
        let _guard = TORCH_RNG.lock().unwrap_or_else(|e| e.into_inner());
        tch::manual_seed((seed & (i64::MAX as u64)) as i64);
        let _ = mask.bernoulli_float_(keep);
    }
    mask / keep
}

/// SplitMix64: well-mixed seeds for successive draws.
fn mix(seed: u64, draw: u64) -> u64 {
    let mut z = seed ^ draw.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Net {
    /// Register `layers` (moved to `device`) in a fresh var store.
    pub fn new(layers: Vec<Layer>, sample_shape: Vec<i64>, classes: i64, device: Device) -> Net {
        let mut net = Net {
            layers,
            sample_shape,
            classes,
            float_bits: 32,
            kind: Kind::Float,
            vs: VarStore::new(device),
            dropout_seed: 0,
            dropout_draws: AtomicU64::new(0),
        };
        net.rebuild(device);
        net
    }

    /// Restart the dropout masks from `seed` (training does, with the
    /// trial's seed, so a run repeats exactly whatever else runs alongside).
    pub fn seed_dropout(&mut self, seed: u64) {
        self.dropout_seed = seed;
        self.dropout_draws = AtomicU64::new(0);
    }

    /// The device the tensors live on.
    pub fn device(&self) -> Device {
        self.vs.device()
    }

    /// The var store holding the trainable tensors (for optimisers).
    pub fn var_store(&self) -> &VarStore {
        &self.vs
    }

    /// Re-register every tensor in a fresh var store on `device` (after a
    /// structural change, or to move the network).
    pub fn rebuild(&mut self, device: Device) {
        let vs = VarStore::new(device);
        let root = vs.root();
        let take = |t: &mut Tensor, name: String, trainable: bool| {
            let moved = t.detach().to_device(device);
            *t = root.add(&name, moved, trainable);
        };
        for (i, layer) in self.layers.iter_mut().enumerate() {
            match layer {
                Layer::Linear(Linear { w, b, fmt, .. }) | Layer::Conv(Conv { w, b, fmt, .. }) => {
                    take(w, format!("l{i}_weight"), true);
                    if let Some(b) = b {
                        take(b, format!("l{i}_bias"), true);
                    }
                    if let Some(m) = &mut fmt.mask {
                        *m = m.to_device(device);
                    }
                }
                Layer::Norm(n) => {
                    take(&mut n.gamma, format!("l{i}_gamma"), true);
                    take(&mut n.beta, format!("l{i}_beta"), true);
                    take(&mut n.mean, format!("l{i}_running_mean"), false);
                    take(&mut n.var, format!("l{i}_running_var"), false);
                }
                _ => {}
            }
        }
        self.vs = vs;
    }

    /// An independent copy on `device`.
    pub fn deep_copy(&self, device: Device) -> Net {
        let mut net = Net {
            layers: self.layers.iter().map(Layer::deep_copy).collect(),
            sample_shape: self.sample_shape.clone(),
            classes: self.classes,
            float_bits: self.float_bits,
            kind: self.kind,
            vs: VarStore::new(device),
            dropout_seed: self.dropout_seed,
            dropout_draws: AtomicU64::new(self.dropout_draws.load(Ordering::Relaxed)),
        };
        net.rebuild(device);
        net
    }

    /// Logits `[n, classes]` (float) for a batch `x` of shape `[n, ...sample_shape]`.
    /// `amp` runs linear and convolution layers in that kind (mixed
    /// precision; the tensors stay in their own kind).
    pub fn forward(&self, x: &Tensor, train: bool, amp: Option<Kind>) -> Tensor {
        let compute = amp.unwrap_or(self.kind);
        let cast = |t: &Tensor, k: Kind| {
            if t.kind() == k {
                t.shallow_clone()
            } else {
                t.to_kind(k)
            }
        };
        let mut h = cast(x, compute);
        let mut stack: Vec<Tensor> = Vec::new();
        let pop =
            |stack: &mut Vec<Tensor>| stack.pop().expect("a Fork before every Swap/Add/Scale");
        for layer in &self.layers {
            h = match layer {
                Layer::Linear(l) => {
                    let h = if h.dim() > 2 { h.flatten(1, -1) } else { h };
                    let h = cast(&h, compute);
                    let w = effective_weight(&l.w, &l.fmt);
                    h.linear(&cast(&w, compute), l.b.as_ref().map(|b| cast(b, compute)))
                }
                Layer::Conv(c) => cast(&h, compute).conv2d(
                    &cast(&effective_weight(&c.w, &c.fmt), compute),
                    c.b.as_ref().map(|b| cast(b, compute)),
                    [c.stride, c.stride],
                    [c.padding, c.padding],
                    [1, 1],
                    c.groups,
                ),
                Layer::Norm(n) => cast(&h, n.gamma.kind()).batch_norm(
                    Some(&n.gamma),
                    Some(&n.beta),
                    Some(&n.mean),
                    Some(&n.var),
                    train,
                    0.1,
                    1e-5,
                    true,
                ),
                Layer::Act(a) => a.apply(&h),
                Layer::Dropout(p) => {
                    if train && *p > 0.0 {
                        let draw = self.dropout_draws.fetch_add(1, Ordering::Relaxed);
                        &h * dropout_mask(&h, *p, mix(self.dropout_seed, draw))
                    } else {
                        h
                    }
                }
                Layer::Pool(PoolKind::Max) => h.max_pool2d([2, 2], [2, 2], [0, 0], [1, 1], false),
                Layer::Pool(PoolKind::Avg) => {
                    h.avg_pool2d([2, 2], [2, 2], [0, 0], false, true, None)
                }
                Layer::GlobalAvgPool => h.adaptive_avg_pool2d([1, 1]).flatten(1, -1),
                Layer::Flatten => h.flatten(1, -1),
                Layer::Resize(r) => {
                    if h.size()[2] == *r && h.size()[3] == *r {
                        h
                    } else {
                        h.upsample_bilinear2d([*r, *r], false, None, None)
                    }
                }
                Layer::Fork => {
                    stack.push(h.shallow_clone());
                    h
                }
                Layer::Swap => {
                    let top = pop(&mut stack);
                    stack.push(h);
                    top
                }
                Layer::Add => {
                    let skip = pop(&mut stack);
                    let skip = cast(&skip, h.kind());
                    h + skip
                }
                Layer::Scale => {
                    let x = pop(&mut stack);
                    let gate = cast(&h, x.kind());
                    let (n, c) = (gate.size()[0], gate.size()[1]);
                    x * gate.view([n, c, 1, 1])
                }
            };
        }
        cast(&h, Kind::Float)
    }

    /// Zero the pruned weights again (after an optimiser step).
    pub fn apply_masks(&mut self) {
        tch::no_grad(|| {
            for layer in &mut self.layers {
                if let Some((w, fmt)) = layer.weight_mut() {
                    if let Some(m) = &fmt.mask {
                        let _ = w.f_mul_(m).map(|_| ());
                    }
                }
            }
        });
    }

    /// Parameters, MACs and packed size.
    pub fn cost(&self) -> ModelCost {
        let float_bits = self.float_bits as i64;
        let mut cost = ModelCost {
            params: 0,
            nonzero_params: 0,
            macs: 0,
            size_bytes: 0,
        };
        let mut bits: i64 = 0;
        let mut shape = self.sample_shape.clone();
        let mut stack: Vec<Vec<i64>> = Vec::new();
        let dense = |t: &Tensor, cost: &mut ModelCost, bits: &mut i64, trainable: bool| {
            let n = t.numel() as i64;
            if trainable {
                cost.params += n;
                cost.nonzero_params += n;
            }
            *bits += n * float_bits;
        };
        for layer in &self.layers {
            match layer {
                Layer::Linear(l) => {
                    let (out, inp) = (l.w.size()[0], l.w.size()[1]);
                    cost.macs += out * inp;
                    bits += weight_bits(&l.w, &l.fmt, float_bits, &mut cost);
                    if let Some(b) = &l.b {
                        dense(b, &mut cost, &mut bits, true);
                    }
                    shape = vec![out];
                }
                Layer::Conv(c) => {
                    let s = c.w.size();
                    let (h, w) = (shape[1], shape[2]);
                    let ho = (h + 2 * c.padding - s[2]) / c.stride + 1;
                    let wo = (w + 2 * c.padding - s[3]) / c.stride + 1;
                    cost.macs += s[0] * s[1] * s[2] * s[3] * ho * wo;
                    bits += weight_bits(&c.w, &c.fmt, float_bits, &mut cost);
                    if let Some(b) = &c.b {
                        dense(b, &mut cost, &mut bits, true);
                    }
                    shape = vec![s[0], ho, wo];
                }
                Layer::Norm(n) => {
                    dense(&n.gamma, &mut cost, &mut bits, true);
                    dense(&n.beta, &mut cost, &mut bits, true);
                    dense(&n.mean, &mut cost, &mut bits, false);
                    dense(&n.var, &mut cost, &mut bits, false);
                }
                Layer::Pool(_) => shape = vec![shape[0], shape[1] / 2, shape[2] / 2],
                Layer::GlobalAvgPool => shape = vec![shape[0]],
                Layer::Flatten => shape = vec![shape.iter().product()],
                Layer::Resize(r) => shape = vec![shape[0], *r, *r],
                Layer::Fork => stack.push(shape.clone()),
                Layer::Swap => {
                    let top = stack.pop().expect("a Fork before every Swap");
                    stack.push(std::mem::replace(&mut shape, top));
                }
                Layer::Add => {
                    stack.pop();
                }
                Layer::Scale => shape = stack.pop().expect("a Fork before every Scale"),
                Layer::Act(_) | Layer::Dropout(_) => {}
            }
        }
        cost.size_bytes = (bits + 7) / 8;
        cost
    }

    /// Save the tensors (safetensors when the path ends in `.safetensors`,
    /// libtorch's format otherwise).
    pub fn save(&self, path: &std::path::Path) -> Result<(), TorchError> {
        Ok(self.vs.save(path)?)
    }
}

/// The weight the forward pass uses: under quantisation-aware fine-tuning
/// `w + (q(w) - w).detach()`, whose value is the quantised weight and whose
/// gradient is the identity (straight-through estimator); else `w` itself.
pub fn effective_weight(w: &Tensor, fmt: &WeightFormat) -> Tensor {
    match &fmt.fake_quant {
        Some(q) => {
            let delta = tch::no_grad(|| q.fake_quantize(w) - w);
            w + delta.detach()
        }
        None => w.shallow_clone(),
    }
}

/// Bits to store one weight tensor in its format; adds to params counts.
pub(crate) fn weight_bits(
    w: &Tensor,
    fmt: &WeightFormat,
    float_bits: i64,
    cost: &mut ModelCost,
) -> i64 {
    let n = w.numel() as i64;
    let channels = w.size()[0];
    cost.params += n;
    let value_bits = fmt
        .quant
        .map(|q| q.format.bits() as i64)
        .unwrap_or(float_bits);
    let scales = fmt.quant.map(|q| q.scale_bits(&w.size())).unwrap_or(0);
    let packed = match &fmt.mask {
        Some(m) => {
            let nnz = m.count_nonzero(None::<i64>).int64_value(&[]);
            cost.nonzero_params += nnz;
            if fmt.semi_structured {
                // Two values and two 2-bit positions per group of 4 (rows padded to 4).
                let row = n / channels;
                let groups = channels * ((row + 3) / 4);
                groups * 2 * (value_bits + 2)
            } else {
                // Dense, or a presence bitmap plus the kept values, whichever is smaller.
                (n * value_bits).min(n + nnz * value_bits)
            }
        }
        None => {
            cost.nonzero_params += n;
            n * value_bits
        }
    };
    packed + scales
}

#[cfg(test)]
#[path = "model_tests.rs"]
mod tests;
