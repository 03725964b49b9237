//! Compression of a trained network: structured neuron/channel pruning,
//! low-rank factorisation, unstructured magnitude pruning, 2:4
//! semi-structured pruning, low-bit quantisation (k-bit integers and the
//! fp8/fp6/fp4 formats of [`crate::lowbit`], per channel or in blocks) and
//! fp16/bf16 casting.
//!
//! The methods compose in a fixed order, the one that keeps each step
//! meaningful: first the structural ones, which change shapes
//! ([`prune_structured`] drops whole neurons or channels, [`low_rank`]
//! splits a linear layer in two), then the masks ([`prune_semi_structured`],
//! [`prune_magnitude`]), which fine-tuning keeps in place, then the
//! number formats ([`quantize`], [`cast`]), applied last to the fine-tuned
//! weights (post-training quantisation).
//!
//! Quantisation is simulated: weights are rounded to their format (see
//! [`crate::lowbit`] for the exact rounding and the scales) and kept as
//! floats, so the accuracy is that of the quantised model while
//! `size_bytes` counts the packed codes plus the block or channel scales.
//! Zero stays exactly zero in every format, so pruned weights stay pruned.
//!
//! Fine-tuning (`finetune_epochs`) runs between the masks and the number
//! formats: masks are re-applied after every optimiser step, and when the
//! trial quantises, the fine-tuning is quantisation-aware
//! ([`CompressSpec::start_qat`]): the forward pass sees the weights in the
//! trial's format, the gradient passes straight through to the latent
//! full-precision weights, and the final rounding is the same function the
//! forward pass used.

use tch::{Device, Kind, Tensor};

use crate::error::TorchError;
use crate::lowbit::QuantSpec;
use crate::model::{Layer, Linear, ModelCost, Net, WeightFormat};
use crate::params::ParamReader;
use crate::train::Trainable;

/// Float format of the stored model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cast {
    /// 32-bit floats (no cast).
    Fp32,
    /// IEEE half precision.
    Fp16,
    /// bfloat16.
    Bf16,
}

/// The compression a trial applies, read from its parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct CompressSpec {
    /// Fraction of neurons (MLP) or channels (CNN) removed from every
    /// hidden layer, by L2 norm of their incoming weights (`prune_ratio`).
    pub prune_ratio: f64,
    /// Rank kept by the factorisation of each linear layer, as a fraction
    /// of `min(in, out)`; 1 = no factorisation (`rank_ratio`).
    pub rank_ratio: f64,
    /// 2:4 semi-structured pruning (`semi_structured`).
    pub semi_structured: bool,
    /// Fraction of each weight tensor zeroed by magnitude (`sparsity`).
    pub sparsity: f64,
    /// The low-bit format (`quant_format`, `quant_bits`, `quant_block`,
    /// `quant_scale`); `None` = not quantised.
    pub quant: Option<QuantSpec>,
    /// Float format (`cast`: fp32, fp16, bf16).
    pub cast: Cast,
    /// Fine-tuning epochs after pruning (`finetune_epochs`).
    pub finetune_epochs: i64,
}

impl CompressSpec {
    /// Read the compression parameters (all optional; defaults compress nothing).
    pub fn from_params(r: &ParamReader<'_>) -> Result<CompressSpec, TorchError> {
        Ok(CompressSpec {
            prune_ratio: r.float("prune_ratio", 0.0, 0.0, 0.95)?,
            rank_ratio: r.float("rank_ratio", 1.0, 0.01, 1.0)?,
            semi_structured: r.bool("semi_structured", false)?,
            sparsity: r.float("sparsity", 0.0, 0.0, 0.99)?,
            quant: QuantSpec::from_params(r)?,
            cast: match r
                .choice("cast", "fp32", &["fp32", "fp16", "bf16"])?
                .as_str()
            {
                "fp16" => Cast::Fp16,
                "bf16" => Cast::Bf16,
                _ => Cast::Fp32,
            },
            finetune_epochs: r.int("finetune_epochs", 0, 0, 1000)?,
        })
    }

    /// Does this change the structure or add masks (steps before fine-tuning)?
    pub fn has_structural(&self) -> bool {
        self.prune_ratio > 0.0
            || self.rank_ratio < 1.0
            || self.semi_structured
            || self.sparsity > 0.0
    }

    /// Apply the structural steps and masks, then re-register the tensors.
    pub fn apply_structural(&self, net: &mut Net) -> Result<(), TorchError> {
        let device = net.device();
        tch::no_grad(|| -> Result<(), TorchError> {
            if self.prune_ratio > 0.0 {
                prune_structured(net, self.prune_ratio)?;
            }
            if self.rank_ratio < 1.0 {
                low_rank(net, self.rank_ratio);
            }
            if self.semi_structured {
                prune_semi_structured(net);
            }
            if self.sparsity > 0.0 {
                prune_magnitude(net, self.sparsity);
            }
            Ok(())
        })?;
        net.rebuild(device);
        Ok(())
    }

    /// Make the fine-tuning quantisation-aware: every weight's forward pass
    /// uses its values in the trial's format (straight-through gradient)
    /// until [`CompressSpec::apply_formats`] rounds them for good. A no-op
    /// when the trial does not quantise.
    pub fn start_qat(&self, net: &mut Net) {
        if let Some(q) = self.quant {
            for layer in &mut net.layers {
                if let Some((_, fmt)) = layer.weight_mut() {
                    fmt.fake_quant = Some(q);
                }
            }
        }
    }

    /// Apply the number formats (after fine-tuning). `real_cast` stores the
    /// tensors in the 16-bit kind (on GPUs); otherwise values are rounded
    /// to it and kept as 32-bit floats for CPU kernels.
    pub fn apply_formats(&self, net: &mut Net, real_cast: bool) {
        tch::no_grad(|| {
            for layer in &mut net.layers {
                if let Some((_, fmt)) = layer.weight_mut() {
                    fmt.fake_quant = None;
                }
            }
            if let Some(q) = &self.quant {
                quantize(net, q);
            }
            match self.cast {
                Cast::Fp32 => {}
                Cast::Fp16 => cast(net, Kind::Half, real_cast),
                Cast::Bf16 => cast(net, Kind::BFloat16, real_cast),
            }
        });
    }
}

/// A model a trial compresses: the built-in [`Net`] or a TorchScript
/// module ([`crate::script::ScriptNet`]). The trial calls, in order,
/// `apply_masks_and_structure`, then (when fine-tuning) `start_qat` and
/// the training loop, then `apply_formats`.
pub trait Compressible: Trainable {
    /// Structural steps and pruning masks (kept through fine-tuning).
    fn apply_masks_and_structure(&mut self, spec: &CompressSpec) -> Result<(), TorchError>;
    /// Make the coming fine-tuning quantisation-aware (no-op without quantisation).
    fn start_qat(&mut self, spec: &CompressSpec);
    /// Round to the number formats for good (ends quantisation-aware mode).
    fn apply_formats(&mut self, spec: &CompressSpec, real_cast: bool) -> Result<(), TorchError>;
    /// Logits for a batch, evaluation mode.
    fn infer(&self, x: &Tensor) -> Tensor;
    /// Parameters, MACs (0 where unknown) and packed size.
    fn model_cost(&self) -> ModelCost;
    /// Shape of one input sample.
    fn sample_shape(&self) -> &[i64];
}

impl Compressible for Net {
    fn apply_masks_and_structure(&mut self, spec: &CompressSpec) -> Result<(), TorchError> {
        if spec.has_structural() {
            spec.apply_structural(self)?;
        }
        Ok(())
    }
    fn start_qat(&mut self, spec: &CompressSpec) {
        spec.start_qat(self);
    }
    fn apply_formats(&mut self, spec: &CompressSpec, real_cast: bool) -> Result<(), TorchError> {
        spec.apply_formats(self, real_cast);
        Ok(())
    }
    fn infer(&self, x: &Tensor) -> Tensor {
        self.forward(x, false, None)
    }
    fn model_cost(&self) -> ModelCost {
        self.cost()
    }
    fn sample_shape(&self) -> &[i64] {
        &self.sample_shape
    }
}

/// Is there a layer between `from` and `to` that breaks the one-to-one
/// mapping of channels (a flatten over spatial positions)?
fn channel_path_ok(layers: &[Layer]) -> bool {
    layers.iter().all(|l| {
        matches!(
            l,
            Layer::Norm(_)
                | Layer::Act(_)
                | Layer::Dropout(_)
                | Layer::Pool(_)
                | Layer::GlobalAvgPool
        )
    })
}

/// Remove the weakest `ratio` of the output units of every hidden linear or
/// convolution layer (by the L2 norm of their weights), with the matching
/// batch-norm entries and input columns of the next layer. The network
/// really shrinks: fewer parameters, fewer MACs.
pub fn prune_structured(net: &mut Net, ratio: f64) -> Result<(), TorchError> {
    let producers: Vec<usize> = (0..net.layers.len())
        .filter(|&i| match &net.layers[i] {
            Layer::Linear(l) => !l.factor,
            Layer::Conv(_) => true,
            _ => false,
        })
        .collect();
    for (pos, &i) in producers.iter().enumerate() {
        let Some(&j) = producers.get(pos + 1) else {
            break;
        };
        // The consumer must be the next weight layer with only channel-wise layers between.
        let next_weight = (i + 1..net.layers.len())
            .find(|&k| matches!(net.layers[k], Layer::Linear(_) | Layer::Conv(_)))
            .expect("a producer with a successor");
        let grouped = |l: &Layer| matches!(l, Layer::Conv(c) if c.groups > 1);
        if next_weight != j
            || !channel_path_ok(&net.layers[i + 1..j])
            || grouped(&net.layers[i])
            || grouped(&net.layers[j])
        {
            continue;
        }
        let (w, _) = net.layers[i].weight_mut().expect("producer has a weight");
        let out = w.size()[0];
        let keep = ((out as f64 * (1.0 - ratio)).round() as i64).clamp(1, out);
        if keep == out {
            continue;
        }
        let score = w
            .detach()
            .flatten(1, -1)
            .square()
            .sum_dim_intlist(1, false, Kind::Float);
        let (_, top) = score.topk(keep, 0, true, false);
        let (idx, _) = top.sort(0, false);
        shrink_outputs(&mut net.layers[i], &idx);
        for layer in &mut net.layers[i + 1..j] {
            if let Layer::Norm(n) = layer {
                n.gamma = n.gamma.index_select(0, &idx);
                n.beta = n.beta.index_select(0, &idx);
                n.mean = n.mean.index_select(0, &idx);
                n.var = n.var.index_select(0, &idx);
            }
        }
        let (w, fmt) = net.layers[j].weight_mut().expect("consumer has a weight");
        *w = w.index_select(1, &idx);
        if let Some(m) = &mut fmt.mask {
            *m = m.index_select(1, &idx);
        }
    }
    Ok(())
}

fn shrink_outputs(layer: &mut Layer, idx: &Tensor) {
    let (w, b, fmt) = match layer {
        Layer::Linear(l) => (&mut l.w, &mut l.b, &mut l.fmt),
        Layer::Conv(c) => (&mut c.w, &mut c.b, &mut c.fmt),
        _ => return,
    };
    *w = w.index_select(0, idx);
    if let Some(b) = b {
        *b = b.index_select(0, idx);
    }
    if let Some(m) = &mut fmt.mask {
        *m = m.index_select(0, idx);
    }
}

/// The rank kept for an `[out, in]` layer, or `None` when factorising would
/// not save parameters (`r * (in + out) >= in * out`).
pub fn kept_rank(out: i64, inp: i64, ratio: f64) -> Option<i64> {
    let r = ((ratio * out.min(inp) as f64).round() as i64).max(1);
    (r * (out + inp) < out * inp).then_some(r)
}

/// Replace each linear layer `W` (`[out, in]`) by two, `A = sqrt(S_r) V_r^T`
/// (`[r, in]`) then `B = U_r sqrt(S_r)` (`[out, r]`), from the truncated
/// SVD `W ≈ U_r S_r V_r^T`, wherever that saves parameters.
pub fn low_rank(net: &mut Net, ratio: f64) {
    let mut out_layers = Vec::with_capacity(net.layers.len() + 4);
    for layer in net.layers.drain(..) {
        match layer {
            Layer::Linear(l) if !l.factor => {
                let (out, inp) = (l.w.size()[0], l.w.size()[1]);
                let Some(r) = kept_rank(out, inp, ratio) else {
                    out_layers.push(Layer::Linear(l));
                    continue;
                };
                let (u, s, v) = l.w.detach().to_kind(Kind::Float).svd(true, true);
                let root = s.narrow(0, 0, r).sqrt();
                let a = v.narrow(1, 0, r).transpose(0, 1) * root.unsqueeze(1);
                let b = u.narrow(1, 0, r) * root.unsqueeze(0);
                out_layers.push(Layer::Linear(Linear {
                    w: a.contiguous(),
                    b: None,
                    fmt: WeightFormat::default(),
                    factor: true,
                }));
                out_layers.push(Layer::Linear(Linear {
                    w: b.contiguous(),
                    b: l.b,
                    fmt: WeightFormat::default(),
                    factor: false,
                }));
            }
            other => out_layers.push(other),
        }
    }
    net.layers = out_layers;
}

/// Keep the 2 largest-magnitude weights of every group of 4 consecutive
/// inputs (rows padded with zeros to a multiple of 4).
pub fn prune_semi_structured(net: &mut Net) {
    for layer in &mut net.layers {
        if let Some((w, fmt)) = layer.weight_mut() {
            semi_structured_tensor(w, fmt);
        }
    }
}

/// 2:4 pruning of one weight tensor (rows = output channels).
pub fn semi_structured_tensor(w: &mut Tensor, fmt: &mut WeightFormat) {
    {
        let rows = w.size()[0];
        let flat = w.detach().reshape([rows, -1]);
        let len = flat.size()[1];
        let pad = (4 - len % 4) % 4;
        let padded = flat.constant_pad_nd([0, pad]);
        let groups = padded.view([rows, -1, 4]);
        let (_, top) = groups.abs().topk(2, -1, true, false);
        let mask = groups.zeros_like().scatter_value(-1, &top, 1.0);
        let mask = mask
            .view([rows, len + pad])
            .narrow(1, 0, len)
            .reshape(w.size());
        let mask = match &fmt.mask {
            Some(m) => mask * m,
            None => mask,
        };
        let _ = w.f_mul_(&mask).map(|_| ());
        fmt.mask = Some(mask);
        fmt.semi_structured = true;
    }
}

/// Zero the `sparsity` fraction of smallest-magnitude weights of every
/// weight tensor (weights pruned already count towards it).
pub fn prune_magnitude(net: &mut Net, sparsity: f64) {
    for layer in &mut net.layers {
        if let Some((w, fmt)) = layer.weight_mut() {
            magnitude_tensor(w, fmt, sparsity);
        }
    }
}

/// Magnitude pruning of one weight tensor to `sparsity`.
pub fn magnitude_tensor(w: &mut Tensor, fmt: &mut WeightFormat, sparsity: f64) {
    {
        let n = w.numel() as i64;
        let k = (sparsity * n as f64).floor() as i64;
        if k == 0 {
            return;
        }
        let mut score = w.detach().abs().flatten(0, -1);
        if let Some(m) = &fmt.mask {
            // Already pruned weights go first.
            score = score * m.flatten(0, -1) - (1.0 - m.flatten(0, -1));
        }
        let (_, order) = score.sort(0, false);
        let mask = score
            .ones_like()
            .index_fill(0, &order.narrow(0, 0, k), 0.0)
            .view(w.size().as_slice());
        let _ = w.f_mul_(&mask).map(|_| ());
        fmt.mask = Some(mask);
    }
}

/// Round every weight tensor to the low-bit format `q` (values kept as
/// floats; see [`crate::lowbit`]).
pub fn quantize(net: &mut Net, q: &QuantSpec) {
    for layer in &mut net.layers {
        if let Some((w, fmt)) = layer.weight_mut() {
            quantize_tensor(w, fmt, q);
        }
    }
}

/// Quantisation of one weight tensor, in place.
pub fn quantize_tensor(w: &mut Tensor, fmt: &mut WeightFormat, q: &QuantSpec) {
    let values = q.fake_quantize(&w.detach());
    let _ = w.f_copy_(&values.to_kind(w.kind())).map(|_| ());
    fmt.quant = Some(*q);
}

/// Cast every tensor to `kind` (fp16/bf16). With `real = false` the values
/// are rounded to `kind` and kept as 32-bit floats (CPU kernels for 16-bit
/// floats are slow or missing); either way the model is stored in 16 bits.
pub fn cast(net: &mut Net, kind: Kind, real: bool) {
    let device: Device = net.device();
    for layer in &mut net.layers {
        let tensors: Vec<&mut Tensor> = match layer {
            Layer::Linear(l) => std::iter::once(&mut l.w).chain(l.b.as_mut()).collect(),
            Layer::Conv(c) => std::iter::once(&mut c.w).chain(c.b.as_mut()).collect(),
            Layer::Norm(n) => vec![&mut n.gamma, &mut n.beta, &mut n.mean, &mut n.var],
            _ => continue,
        };
        for t in tensors {
            let rounded = t.detach().to_kind(kind);
            *t = if real {
                rounded
            } else {
                rounded.to_kind(Kind::Float)
            };
        }
    }
    net.float_bits = 16;
    if real {
        net.kind = kind;
    }
    net.rebuild(device);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ModelSpec;
    use paretosearch_core::{ParamValue, Params};

    fn net(family: &str, kv: &[(&str, ParamValue)], shape: &[i64]) -> Net {
        let p: Params = kv.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
        let empty = Params::new();
        let spec = ModelSpec::from_params(family, &ParamReader::new(&p, &empty)).unwrap();
        Net::new(
            spec.build(shape, 10, 3).unwrap(),
            shape.to_vec(),
            10,
            Device::Cpu,
        )
    }

    fn mlp() -> Net {
        net(
            "mlp",
            &[
                ("layers", ParamValue::Int(2)),
                ("width", ParamValue::Int(30)),
                ("batch_norm", ParamValue::Bool(true)),
            ],
            &[64],
        )
    }

    fn weights(net: &Net) -> Vec<Tensor> {
        net.layers
            .iter()
            .filter_map(|l| match l {
                Layer::Linear(l) => Some(l.w.shallow_clone()),
                Layer::Conv(c) => Some(c.w.shallow_clone()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn semi_structured_keeps_at_most_two_of_every_four() {
        let mut n = net(
            "cnn",
            &[
                ("channels", ParamValue::Int(4)),
                ("fc_width", ParamValue::Int(12)),
            ],
            &[1, 8, 8],
        );
        let before = n.cost();
        tch::no_grad(|| prune_semi_structured(&mut n));
        for w in weights(&n) {
            let rows = w.size()[0];
            let flat = w.reshape([rows, -1]);
            let len = flat.size()[1];
            let padded = flat
                .constant_pad_nd([0, (4 - len % 4) % 4])
                .view([rows, -1, 4]);
            let nz = padded.ne(0.0).sum_dim_intlist(-1, false, Kind::Int64);
            assert!(
                nz.max().int64_value(&[]) <= 2,
                "a group of 4 keeps more than 2"
            );
        }
        let after = n.cost();
        assert!(after.size_bytes < before.size_bytes);
        assert!(after.nonzero_params < before.nonzero_params);
    }

    #[test]
    fn magnitude_pruning_hits_the_sparsity_and_drops_the_smallest() {
        let mut n = mlp();
        let original = weights(&n)[0].copy();
        tch::no_grad(|| prune_magnitude(&mut n, 0.7));
        let w = &weights(&n)[0];
        let zeros = w.eq(0.0).sum(Kind::Int64).int64_value(&[]);
        assert_eq!(zeros, (0.7 * w.numel() as f64).floor() as i64);
        // Every kept weight is at least as large as every pruned one.
        let kept_min = original
            .abs()
            .masked_select(&w.ne(0.0))
            .min()
            .double_value(&[]);
        let pruned_max = original
            .abs()
            .masked_select(&w.eq(0.0))
            .max()
            .double_value(&[]);
        assert!(kept_min >= pruned_max);
    }

    #[test]
    fn quantized_channels_take_at_most_two_to_the_k_values() {
        for bits in [2u32, 3, 4, 8] {
            let mut n = net("cnn", &[("channels", ParamValue::Int(6))], &[1, 8, 8]);
            let before = n.cost().size_bytes;
            let q = crate::lowbit::QuantSpec {
                format: crate::lowbit::ElemFormat::Int(bits),
                block: crate::lowbit::QuantBlock::Channel,
                scale: crate::lowbit::ScaleFormat::Fp32,
            };
            tch::no_grad(|| quantize(&mut n, &q));
            for w in weights(&n) {
                let flat = w.reshape([w.size()[0], -1]);
                for r in 0..flat.size()[0] {
                    let mut vals = Vec::<f32>::try_from(flat.get(r)).unwrap();
                    vals.sort_by(|a, b| a.total_cmp(b));
                    vals.dedup();
                    assert!(
                        vals.len() <= 1 << bits,
                        "{} values at {bits} bits",
                        vals.len()
                    );
                }
            }
            assert!(n.cost().size_bytes < before);
        }
    }

    #[test]
    fn structured_pruning_really_shrinks_mlp_and_cnn() {
        let mut n = mlp();
        let before = n.cost();
        prune_structured(&mut n, 0.5).unwrap();
        n.rebuild(Device::Cpu);
        let after = n.cost();
        // 30 -> 15 hidden units in both layers.
        let expect = 64 * 15 + 15 + 15 * 15 + 15 + 15 * 10 + 10 + 2 * 2 * 15;
        assert_eq!(after.params, expect);
        assert!(after.macs < before.macs);
        let y = n.forward(
            &Tensor::zeros([2, 64], (Kind::Float, Device::Cpu)),
            false,
            None,
        );
        assert_eq!(y.size(), vec![2, 10]);

        let mut c = net(
            "cnn",
            &[
                ("channels", ParamValue::Int(8)),
                ("stages", ParamValue::Int(2)),
            ],
            &[1, 8, 8],
        );
        let before = c.cost();
        prune_structured(&mut c, 0.5).unwrap();
        c.rebuild(Device::Cpu);
        let after = c.cost();
        assert!(after.params < before.params && after.macs < before.macs);
        let y = c.forward(
            &Tensor::zeros([2, 1, 8, 8], (Kind::Float, Device::Cpu)),
            false,
            None,
        );
        assert_eq!(y.size(), vec![2, 10]);
    }

    #[test]
    fn low_rank_reduces_params_as_computed() {
        let mut n = net(
            "mlp",
            &[
                ("layers", ParamValue::Int(1)),
                ("width", ParamValue::Int(40)),
            ],
            &[64],
        );
        let x = Tensor::randn([4, 64], (Kind::Float, Device::Cpu));
        let full = n.forward(&x, false, None);
        tch::no_grad(|| low_rank(&mut n, 1.0 / 4.0));
        n.rebuild(Device::Cpu);
        // 64x40 at rank 10: 10 * (64 + 40); 40x10 at rank 2 (10*0.25 rounds to 3): 3 * 50 = 150 < 400.
        let r1 = kept_rank(40, 64, 0.25).unwrap();
        let r2 = kept_rank(10, 40, 0.25).unwrap();
        assert_eq!((r1, r2), (10, 3));
        assert_eq!(n.cost().params, r1 * (64 + 40) + 40 + r2 * (40 + 10) + 10);
        assert_eq!(kept_rank(10, 12, 0.9), None);
        // A weight of rank 2 is reproduced exactly at rank 2.
        let mut m = net("mlp", &[("layers", ParamValue::Int(0))], &[64]);
        if let Layer::Linear(l) = &mut m.layers[1] {
            let w = Tensor::randn([10, 2], (Kind::Float, Device::Cpu))
                .matmul(&Tensor::randn([2, 64], (Kind::Float, Device::Cpu)));
            tch::no_grad(|| l.w.copy_(&w));
        }
        let before = m.forward(&x, false, None);
        tch::no_grad(|| low_rank(&mut m, 0.2));
        m.rebuild(Device::Cpu);
        assert_eq!(m.cost().params, 2 * (64 + 10) + 10);
        let after = m.forward(&x, false, None);
        assert!(before.allclose(&after, 1e-4, 1e-4, false));
        assert_eq!(full.size(), vec![4, 10]);
    }

    #[test]
    fn cast_halves_the_stored_floats() {
        let mut n = mlp();
        let before = n.cost().size_bytes;
        tch::no_grad(|| cast(&mut n, Kind::BFloat16, false));
        assert_eq!(n.cost().size_bytes * 2, before);
        let w = &weights(&n)[0];
        assert!(w.equal(&w.to_kind(Kind::BFloat16).to_kind(Kind::Float)));
    }
}
