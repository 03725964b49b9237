//! Model families with scaling knobs: a residual CNN (`model = "resnet"`,
//! basic or bottleneck blocks) and a MobileNetV2-style network (`model =
//! "mobilenet"`, inverted residuals with depthwise convolutions and
//! optional squeeze-excitation), each scaled by `width_mult`, `depth_mult`
//! and the input `resolution` (images resized bilinearly on the fly), the
//! three axes of compound scaling (EfficientNet) and of partial-order
//! pruning over backbones.
//!
//! ## Representation
//!
//! Both are built as the same flat [`Layer`] list as the MLP and the CNN,
//! with four stack layers for the branches: `Fork` pushes the block input,
//! `Swap` exchanges it with the main path's output (so a projection
//! shortcut runs on the input), `Add` sums, `Scale` applies a
//! squeeze-excitation gate. Every compression method therefore works on
//! them unchanged (masks, low-bit formats, casts, fine-tuning), and the
//! structural ones where they are sound: structured pruning shrinks only
//! the channels inside a block (a residual sum or a depthwise convolution
//! ties the others), low-rank only the linear layers. Costs are counted
//! from the structure as for the other models.
//!
//! ## Scaling (all monotone non-decreasing in each knob)
//!
//! * resnet: stage `s` (of `stages`, default 3) has `round(channels * 2^s *
//!   width_mult)` channels (bottleneck: that many inside, four times as
//!   many out) and `ceil(2 * depth_mult)` blocks (ResNet-18's two a stage);
//!   a 3x3 stem at stride 1 (the small-image stem), stride 2 at the first
//!   block of later stages while the image is at least 2 pixels wide;
//! * mobilenet: the first `stages` (default 4) rows of MobileNetV2's table
//!   (expansion, channels, repeats, stride) = (1, 16, 1, 1), (t, 24, 2, 2),
//!   (t, 32, 3, 2), (t, 64, 4, 2), (t, 96, 3, 1), (t, 160, 3, 2),
//!   (t, 320, 1, 1) with `t = expand_ratio` (6), channels `c * width_mult`
//!   rounded to a multiple of 8 as MobileNet does, repeats `ceil(n *
//!   depth_mult)`, a 32-channel stem at stride 1, and a 1x1 head of 1280
//!   channels for all seven stages (4x the last stage's channels when fewer
//!   are taken); `se = true` adds a squeeze-excitation gate (reduction to a
//!   quarter of the block's input channels) after each depthwise
//!   convolution; activation relu6 by default;
//! * `resolution` (0 = the dataset's own) resizes the input first.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::error::TorchError;
use crate::model::{linear, norm, uniform, Activation, Conv, Layer, WeightFormat};
use crate::params::ParamReader;

/// Residual block type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockKind {
    /// Two 3x3 convolutions.
    Basic,
    /// 1x1 down, 3x3, 1x1 up (x4).
    Bottleneck,
}

/// The scaling knobs shared by both families.
#[derive(Clone, Debug, PartialEq)]
pub struct Scaling {
    /// Channel multiplier.
    pub width_mult: f64,
    /// Block-count multiplier.
    pub depth_mult: f64,
    /// Input side in pixels (0 = unchanged).
    pub resolution: i64,
}

/// A residual CNN.
#[derive(Clone, Debug, PartialEq)]
pub struct ResnetSpec {
    /// Block type.
    pub block: BlockKind,
    /// Stages.
    pub stages: i64,
    /// Channels of the first stage before `width_mult`.
    pub channels: i64,
    /// Scaling knobs.
    pub scaling: Scaling,
    /// Non-linearity.
    pub activation: Activation,
    /// Dropout before the classifier.
    pub dropout: f64,
}

/// A MobileNetV2-style network.
#[derive(Clone, Debug, PartialEq)]
pub struct MobileSpec {
    /// Rows of the MobileNetV2 table used.
    pub stages: i64,
    /// Expansion of the inverted residuals (after the first stage).
    pub expand_ratio: i64,
    /// Squeeze-excitation after each depthwise convolution.
    pub se: bool,
    /// Scaling knobs.
    pub scaling: Scaling,
    /// Non-linearity.
    pub activation: Activation,
    /// Dropout before the classifier.
    pub dropout: f64,
}

const MOBILE_TABLE: [(i64, i64, i64, i64); 7] = [
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
];

fn scaling(r: &ParamReader<'_>) -> Result<Scaling, TorchError> {
    Ok(Scaling {
        width_mult: r.float("width_mult", 1.0, 0.05, 8.0)?,
        depth_mult: r.float("depth_mult", 1.0, 0.05, 8.0)?,
        resolution: r.int("resolution", 0, 0, 1024)?,
    })
}

impl ResnetSpec {
    /// Read the parameters.
    pub fn from_params(r: &ParamReader<'_>) -> Result<ResnetSpec, TorchError> {
        Ok(ResnetSpec {
            block: match r
                .choice("block", "basic", &["basic", "bottleneck"])?
                .as_str()
            {
                "bottleneck" => BlockKind::Bottleneck,
                _ => BlockKind::Basic,
            },
            stages: r.int("stages", 3, 1, 6)?,
            channels: r.int("channels", 16, 1, 1024)?,
            scaling: scaling(r)?,
            activation: Activation::parse(&r.choice("activation", "relu", &Activation::NAMES)?),
            dropout: r.float("dropout", 0.0, 0.0, 0.95)?,
        })
    }
}

impl MobileSpec {
    /// Read the parameters.
    pub fn from_params(r: &ParamReader<'_>) -> Result<MobileSpec, TorchError> {
        Ok(MobileSpec {
            stages: r.int("stages", 4, 1, 7)?,
            expand_ratio: r.int("expand_ratio", 6, 1, 8)?,
            se: r.bool("se", false)?,
            scaling: scaling(r)?,
            activation: Activation::parse(&r.choice("activation", "relu6", &Activation::NAMES)?),
            dropout: r.float("dropout", 0.0, 0.0, 0.95)?,
        })
    }
}

/// MobileNet's channel rounding: to a multiple of 8, at least 8, never
/// more than 10 % down (monotone non-decreasing).
pub fn make_divisible(v: f64) -> i64 {
    let mut new = (((v + 4.0) / 8.0).floor() as i64 * 8).max(8);
    if (new as f64) < 0.9 * v {
        new += 8;
    }
    new
}

/// Blocks in a stage of `base` blocks under `depth_mult`.
pub fn scaled_depth(base: i64, depth_mult: f64) -> i64 {
    ((base as f64 * depth_mult).ceil() as i64).max(1)
}

struct Builder {
    rng: ChaCha8Rng,
    layers: Vec<Layer>,
    act: Activation,
    /// Current channels and side.
    c: i64,
    side: i64,
}

impl Builder {
    fn conv(&mut self, cout: i64, k: i64, stride: i64, groups: i64) {
        let cin_g = self.c / groups;
        let bound = 1.0 / ((cin_g * k * k) as f32).sqrt();
        self.layers.push(Layer::Conv(Conv {
            w: uniform(&mut self.rng, &[cout, cin_g, k, k], bound),
            b: None,
            padding: k / 2,
            stride,
            groups,
            fmt: WeightFormat::default(),
        }));
        self.layers.push(Layer::Norm(norm(cout)));
        self.c = cout;
        self.side = (self.side + 2 * (k / 2) - k) / stride + 1;
    }

    fn act(&mut self) {
        self.layers.push(Layer::Act(self.act));
    }

    /// Stride 2 only while the image is at least 2 pixels wide.
    fn stride(&self, s: i64) -> i64 {
        if s > 1 && self.side >= 2 {
            s
        } else {
            1
        }
    }

    fn head(mut self, classes: i64, dropout: f64) -> Vec<Layer> {
        self.layers.push(Layer::GlobalAvgPool);
        if dropout > 0.0 {
            self.layers.push(Layer::Dropout(dropout));
        }
        let fc = linear(&mut self.rng, self.c, classes);
        self.layers.push(Layer::Linear(fc));
        self.layers
    }
}

fn start(
    sample_shape: &[i64],
    scaling: &Scaling,
    act: Activation,
    seed: u64,
    family: &str,
) -> Result<Builder, TorchError> {
    if sample_shape.len() != 3 {
        return Err(TorchError::Unsupported(format!(
            "model = \"{family}\" needs image samples [channels, height, width]; this dataset's samples have shape {sample_shape:?} (use model = \"mlp\")"
        )));
    }
    let mut layers = Vec::new();
    let mut side = sample_shape[1].max(sample_shape[2]);
    if scaling.resolution > 0 {
        layers.push(Layer::Resize(scaling.resolution));
        side = scaling.resolution;
    }
    Ok(Builder {
        rng: ChaCha8Rng::seed_from_u64(seed),
        layers,
        act,
        c: sample_shape[0],
        side,
    })
}

/// Build a residual CNN.
pub fn build_resnet(
    spec: &ResnetSpec,
    sample_shape: &[i64],
    classes: i64,
    seed: u64,
) -> Result<Vec<Layer>, TorchError> {
    let mut b = start(sample_shape, &spec.scaling, spec.activation, seed, "resnet")?;
    let width = |s: i64| {
        ((spec.channels as f64 * 2f64.powi(s as i32) * spec.scaling.width_mult).round() as i64)
            .max(1)
    };
    b.conv(width(0), 3, 1, 1);
    b.act();
    let blocks = scaled_depth(2, spec.scaling.depth_mult);
    for s in 0..spec.stages {
        let mid = width(s);
        let out = match spec.block {
            BlockKind::Basic => mid,
            BlockKind::Bottleneck => 4 * mid,
        };
        for j in 0..blocks {
            let stride = if s > 0 && j == 0 { b.stride(2) } else { 1 };
            let (cin, side_in) = (b.c, b.side);
            b.layers.push(Layer::Fork);
            match spec.block {
                BlockKind::Basic => {
                    b.conv(mid, 3, stride, 1);
                    b.act();
                    b.conv(out, 3, 1, 1);
                }
                BlockKind::Bottleneck => {
                    b.conv(mid, 1, 1, 1);
                    b.act();
                    b.conv(mid, 3, stride, 1);
                    b.act();
                    b.conv(out, 1, 1, 1);
                }
            }
            if stride != 1 || cin != out {
                b.layers.push(Layer::Swap);
                let (c_after, side_after) = (b.c, b.side);
                b.c = cin;
                b.side = side_in;
                b.conv(out, 1, stride, 1);
                debug_assert_eq!((b.c, b.side), (c_after, side_after));
            }
            b.layers.push(Layer::Add);
            b.act();
        }
    }
    Ok(b.head(classes, spec.dropout))
}

/// Build a MobileNetV2-style network.
pub fn build_mobilenet(
    spec: &MobileSpec,
    sample_shape: &[i64],
    classes: i64,
    seed: u64,
) -> Result<Vec<Layer>, TorchError> {
    let wm = spec.scaling.width_mult;
    let mut b = start(
        sample_shape,
        &spec.scaling,
        spec.activation,
        seed,
        "mobilenet",
    )?;
    b.conv(make_divisible(32.0 * wm), 3, 1, 1);
    b.act();
    for (i, &(t, c, n, s)) in MOBILE_TABLE.iter().take(spec.stages as usize).enumerate() {
        let t = if i == 0 { t } else { spec.expand_ratio };
        let out = make_divisible(c as f64 * wm);
        for j in 0..scaled_depth(n, spec.scaling.depth_mult) {
            let stride = if j == 0 { b.stride(s) } else { 1 };
            let cin = b.c;
            let residual = stride == 1 && cin == out;
            if residual {
                b.layers.push(Layer::Fork);
            }
            let hidden = cin * t;
            if t != 1 {
                b.conv(hidden, 1, 1, 1);
                b.act();
            }
            b.conv(hidden, 3, stride, hidden);
            b.act();
            if spec.se {
                let r = (cin / 4).max(1);
                b.layers.push(Layer::Fork);
                b.layers.push(Layer::GlobalAvgPool);
                let down = linear(&mut b.rng, hidden, r);
                b.layers.push(Layer::Linear(down));
                b.layers.push(Layer::Act(Activation::Relu));
                let up = linear(&mut b.rng, r, hidden);
                b.layers.push(Layer::Linear(up));
                b.layers.push(Layer::Act(Activation::Sigmoid));
                b.layers.push(Layer::Scale);
            }
            b.conv(out, 1, 1, 1);
            if residual {
                b.layers.push(Layer::Add);
            }
        }
    }
    let head = if spec.stages == 7 {
        make_divisible(1280.0 * wm.max(1.0))
    } else {
        4 * b.c
    };
    b.conv(head, 1, 1, 1);
    b.act();
    Ok(b.head(classes, spec.dropout))
}

#[cfg(test)]
#[path = "families_tests.rs"]
mod tests;
