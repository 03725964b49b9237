//! What a trial's parameters build: the MLP and CNN specifications read
//! from its parameters (ResNet and MobileNet ones come from
//! [`crate::families`]), and the layers they build, initialised like
//! PyTorch's defaults from a ChaCha generator seeded with the trial seed
//! (see [`crate::model`]).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tch::{Device, Kind, Tensor};

use crate::error::TorchError;
use crate::families::{build_mobilenet, build_resnet, MobileSpec, ResnetSpec};
use crate::model::{Activation, Conv, Layer, Linear, Norm, PoolKind, WeightFormat};
use crate::params::ParamReader;

/// A multi-layer perceptron: `layers` hidden layers of `width` units.
#[derive(Clone, Debug, PartialEq)]
pub struct MlpSpec {
    /// Hidden layers (0 = logistic regression).
    pub layers: i64,
    /// Units per hidden layer.
    pub width: i64,
    /// Non-linearity.
    pub activation: Activation,
    /// Dropout after each hidden activation.
    pub dropout: f64,
    /// Batch normalisation after each hidden linear layer.
    pub batch_norm: bool,
}

/// A small CNN: `stages` stages of `convs_per_stage` convolutions each,
/// 2x2 pooling between stages, global average pooling, an optional hidden
/// fully connected layer and the classifier.
#[derive(Clone, Debug, PartialEq)]
pub struct CnnSpec {
    /// Number of stages.
    pub stages: i64,
    /// Channels of the first stage.
    pub channels: i64,
    /// Channel multiplier from one stage to the next.
    pub channel_mult: f64,
    /// Convolutions per stage.
    pub convs_per_stage: i64,
    /// Kernel size (odd).
    pub kernel_size: i64,
    /// Pooling between stages.
    pub pooling: PoolKind,
    /// Non-linearity.
    pub activation: Activation,
    /// Batch normalisation after each convolution.
    pub batch_norm: bool,
    /// Dropout before the classifier.
    pub dropout: f64,
    /// Units of a hidden fully connected layer before the classifier (0 = none).
    pub fc_width: i64,
}

/// A model family with its architecture parameters.
#[derive(Clone, Debug, PartialEq)]
pub enum ModelSpec {
    /// Multi-layer perceptron.
    Mlp(MlpSpec),
    /// Convolutional network.
    Cnn(CnnSpec),
    /// Residual CNN ([`crate::families`]).
    Resnet(ResnetSpec),
    /// MobileNetV2-style network ([`crate::families`]).
    Mobile(MobileSpec),
}

impl ModelSpec {
    /// Read the architecture of `family` (`mlp` or `cnn`) from parameters.
    pub fn from_params(family: &str, r: &ParamReader<'_>) -> Result<ModelSpec, TorchError> {
        let activation = Activation::parse(&r.choice("activation", "relu", &Activation::NAMES)?);
        match family {
            "mlp" => Ok(ModelSpec::Mlp(MlpSpec {
                layers: r.int("layers", 2, 0, 64)?,
                width: r.int("width", 128, 1, 1 << 16)?,
                activation,
                dropout: r.float("dropout", 0.0, 0.0, 0.95)?,
                batch_norm: r.bool("batch_norm", false)?,
            })),
            "cnn" => {
                let kernel_size = r.int("kernel_size", 3, 1, 15)?;
                if kernel_size % 2 == 0 {
                    return Err(TorchError::param(
                        "kernel_size",
                        format!("{kernel_size} is even; use an odd size"),
                    ));
                }
                Ok(ModelSpec::Cnn(CnnSpec {
                    stages: r.int("stages", 2, 1, 8)?,
                    channels: r.int("channels", 16, 1, 4096)?,
                    channel_mult: r.float("channel_mult", 2.0, 0.25, 4.0)?,
                    convs_per_stage: r.int("convs_per_stage", 1, 1, 8)?,
                    kernel_size,
                    pooling: match r.choice("pooling", "max", &["max", "avg"])?.as_str() {
                        "avg" => PoolKind::Avg,
                        _ => PoolKind::Max,
                    },
                    activation,
                    batch_norm: r.bool("batch_norm", true)?,
                    dropout: r.float("dropout", 0.0, 0.0, 0.95)?,
                    fc_width: r.int("fc_width", 0, 0, 1 << 16)?,
                }))
            }
            "resnet" => Ok(ModelSpec::Resnet(ResnetSpec::from_params(r)?)),
            "mobilenet" => Ok(ModelSpec::Mobile(MobileSpec::from_params(r)?)),
            other => Err(TorchError::Unsupported(format!(
                "unknown model family `{other}`"
            ))),
        }
    }

    /// Build the layers for samples of `sample_shape` and `classes` outputs,
    /// initialised from `seed`.
    pub fn build(
        &self,
        sample_shape: &[i64],
        classes: i64,
        seed: u64,
    ) -> Result<Vec<Layer>, TorchError> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut layers = Vec::new();
        match self {
            ModelSpec::Resnet(r) => return build_resnet(r, sample_shape, classes, seed),
            ModelSpec::Mobile(m) => return build_mobilenet(m, sample_shape, classes, seed),
            ModelSpec::Mlp(m) => {
                let mut fan_in: i64 = sample_shape.iter().product();
                layers.push(Layer::Flatten);
                for _ in 0..m.layers {
                    layers.push(Layer::Linear(linear(&mut rng, fan_in, m.width)));
                    if m.batch_norm {
                        layers.push(Layer::Norm(norm(m.width)));
                    }
                    layers.push(Layer::Act(m.activation));
                    if m.dropout > 0.0 {
                        layers.push(Layer::Dropout(m.dropout));
                    }
                    fan_in = m.width;
                }
                layers.push(Layer::Linear(linear(&mut rng, fan_in, classes)));
            }
            ModelSpec::Cnn(c) => {
                if sample_shape.len() != 3 {
                    return Err(TorchError::Unsupported(format!(
                        "a CNN needs image samples [channels, height, width]; this dataset's samples have shape {sample_shape:?} (use model = \"mlp\")"
                    )));
                }
                let (mut cin, mut h, mut w) = (sample_shape[0], sample_shape[1], sample_shape[2]);
                let mut ch = c.channels as f64;
                for _ in 0..c.stages {
                    let cout = (ch.round() as i64).max(1);
                    for _ in 0..c.convs_per_stage {
                        layers.push(Layer::Conv(conv(&mut rng, cin, cout, c.kernel_size)));
                        if c.batch_norm {
                            layers.push(Layer::Norm(norm(cout)));
                        }
                        layers.push(Layer::Act(c.activation));
                        cin = cout;
                    }
                    if h >= 2 && w >= 2 {
                        layers.push(Layer::Pool(c.pooling));
                        h /= 2;
                        w /= 2;
                    }
                    ch *= c.channel_mult;
                }
                layers.push(Layer::GlobalAvgPool);
                let mut fan_in = cin;
                if c.fc_width > 0 {
                    layers.push(Layer::Linear(linear(&mut rng, fan_in, c.fc_width)));
                    layers.push(Layer::Act(c.activation));
                    fan_in = c.fc_width;
                }
                if c.dropout > 0.0 {
                    layers.push(Layer::Dropout(c.dropout));
                }
                layers.push(Layer::Linear(linear(&mut rng, fan_in, classes)));
            }
        }
        Ok(layers)
    }
}

pub(crate) fn uniform(rng: &mut ChaCha8Rng, dims: &[i64], bound: f32) -> Tensor {
    let n: i64 = dims.iter().product();
    let v: Vec<f32> = (0..n).map(|_| rng.random_range(-bound..=bound)).collect();
    Tensor::from_slice(&v).view(dims)
}

pub(crate) fn linear(rng: &mut ChaCha8Rng, fan_in: i64, out: i64) -> Linear {
    let bound = 1.0 / (fan_in as f32).sqrt();
    Linear {
        w: uniform(rng, &[out, fan_in], bound),
        b: Some(uniform(rng, &[out], bound)),
        fmt: WeightFormat::default(),
        factor: false,
    }
}

fn conv(rng: &mut ChaCha8Rng, cin: i64, cout: i64, k: i64) -> Conv {
    let bound = 1.0 / ((cin * k * k) as f32).sqrt();
    Conv {
        w: uniform(rng, &[cout, cin, k, k], bound),
        b: Some(uniform(rng, &[cout], bound)),
        padding: k / 2,
        stride: 1,
        groups: 1,
        fmt: WeightFormat::default(),
    }
}

pub(crate) fn norm(n: i64) -> Norm {
    Norm {
        gamma: Tensor::ones([n], (Kind::Float, Device::Cpu)),
        beta: Tensor::zeros([n], (Kind::Float, Device::Cpu)),
        mean: Tensor::zeros([n], (Kind::Float, Device::Cpu)),
        var: Tensor::ones([n], (Kind::Float, Device::Cpu)),
    }
}
