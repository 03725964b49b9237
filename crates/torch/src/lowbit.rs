//! Low-bit weight formats: symmetric k-bit integers and the small float
//! formats of the OCP Microscaling (MX) specification and NVIDIA's NVFP4
//! (fp8 e4m3 and e5m2, fp6 e3m2 and e2m3, fp4 e2m1), each with a scale
//! shared by an output channel or by a block of 16, 32 or 64 consecutive
//! weights of a row.
//!
//! ## What is simulated, and how exactly
//!
//! Quantisation is simulated ("fake quantisation"): a weight tensor is
//! replaced by the values its low-bit encoding decodes to, kept as 32-bit
//! floats, so the measured accuracy is that of the quantised model on any
//! device while `size_bytes` counts the packed codes plus the scales. The
//! element rounding is the format's own:
//!
//! * **float formats**: round to nearest, ties to even (the code whose
//!   mantissa ends in 0), with subnormals below the smallest normal
//!   exponent, and saturation to the largest finite value (448 for e4m3,
//!   57344 for e5m2, 28 for e3m2, 7.5 for e2m3, 6 for e2m1) instead of
//!   infinity or NaN, as the MX specification's conversions do. The grid
//!   step of `|x|` is `2^(max(floor(log2|x|), emin) - mantissa_bits)`,
//!   with `floor(log2|x|)` read exactly from `frexp`;
//! * **int**: `round(x)` to even, clamped to `[-q, q]`, `q = 2^(k-1) - 1`
//!   (symmetric: the code `-2^(k-1)` is unused, zero is exact).
//!
//! Zero encodes to zero in every format, so pruned weights stay pruned.
//!
//! ## Scales
//!
//! A group (a row of the weight, i.e. an output channel, or a block of
//! `quant_block` consecutive weights of that row, the row padded with
//! zeros to a whole number of blocks) shares one scale `s`: its weights
//! are stored as codes of `w / s`. `quant_scale` says how `s` is stored:
//!
//! * `fp32`: `s = max|w| / M` (`M` the format's largest value): 32 bits a
//!   group;
//! * `e8m0`: a power of two, 8 bits a group, as in MX: for float formats
//!   `s = 2^(floor(log2 max|w|) - emax)` (`emax` the exponent of the
//!   format's largest normal, so the block's largest weight may saturate,
//!   as the specification accepts), for int `s = 2^ceil(log2(max|w| / q))`
//!   (no clipping); exponents clamped to e8m0's `[-127, 127]`;
//! * `e4m3`: as NVFP4, the group's `max|w| / M` divided by a per-tensor
//!   fp32 scale `max|W| / (M * 448)` and rounded to fp8 e4m3 (8 bits a
//!   group plus 32 bits a tensor); a scale that rounds to zero zeroes its
//!   group.
//!
//! Defaults: per-channel groups with fp32 scales; blocks default to e8m0
//! scales, the MX choice.

use tch::{Kind, Tensor};

use crate::error::TorchError;
use crate::params::ParamReader;

/// A small floating-point format: sign, `exp_bits` exponent bits with
/// `bias`, `man_bits` mantissa bits, and its largest finite value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FloatFormat {
    /// The `quant_format` name.
    pub name: &'static str,
    /// Exponent bits.
    pub exp_bits: u32,
    /// Mantissa bits.
    pub man_bits: u32,
    /// Exponent bias.
    pub bias: i32,
    /// Largest finite magnitude (values beyond it saturate to it).
    pub max: f64,
}

impl FloatFormat {
    /// Bits per code (sign included).
    pub fn bits(&self) -> u32 {
        1 + self.exp_bits + self.man_bits
    }

    /// Exponent of the smallest normal (subnormals share it).
    pub fn emin(&self) -> i32 {
        1 - self.bias
    }

    /// Exponent of the largest normal.
    pub fn emax(&self) -> i32 {
        self.max.log2().floor() as i32
    }
}

/// OCP fp8 E4M3 (no infinities; only S.1111.111 is NaN).
pub const FP8_E4M3: FloatFormat = FloatFormat {
    name: "fp8_e4m3",
    exp_bits: 4,
    man_bits: 3,
    bias: 7,
    max: 448.0,
};
/// OCP fp8 E5M2 (IEEE-like; the top exponent holds inf/NaN, never produced).
pub const FP8_E5M2: FloatFormat = FloatFormat {
    name: "fp8_e5m2",
    exp_bits: 5,
    man_bits: 2,
    bias: 15,
    max: 57344.0,
};
/// OCP MX fp6 E3M2 (no infinities or NaN).
pub const FP6_E3M2: FloatFormat = FloatFormat {
    name: "fp6_e3m2",
    exp_bits: 3,
    man_bits: 2,
    bias: 3,
    max: 28.0,
};
/// OCP MX fp6 E2M3 (no infinities or NaN).
pub const FP6_E2M3: FloatFormat = FloatFormat {
    name: "fp6_e2m3",
    exp_bits: 2,
    man_bits: 3,
    bias: 1,
    max: 7.5,
};
/// OCP MX / NVFP4 fp4 E2M1 (no infinities or NaN).
pub const FP4_E2M1: FloatFormat = FloatFormat {
    name: "fp4_e2m1",
    exp_bits: 2,
    man_bits: 1,
    bias: 1,
    max: 6.0,
};

/// Every float format, in `quant_format` order.
pub const FLOAT_FORMATS: [FloatFormat; 5] = [FP8_E4M3, FP8_E5M2, FP6_E3M2, FP6_E2M3, FP4_E2M1];

/// The element format of quantised weights.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ElemFormat {
    /// Symmetric integers of this many bits (2..=8).
    Int(u32),
    /// A small float format.
    Float(FloatFormat),
}

impl ElemFormat {
    /// Bits per stored weight.
    pub fn bits(&self) -> u32 {
        match self {
            ElemFormat::Int(b) => *b,
            ElemFormat::Float(f) => f.bits(),
        }
    }

    /// The largest magnitude a code holds.
    pub fn max(&self) -> f64 {
        match self {
            ElemFormat::Int(b) => ((1i64 << (b - 1)) - 1) as f64,
            ElemFormat::Float(f) => f.max,
        }
    }

    /// Round `x` (float) to the nearest representable value, ties to even,
    /// saturating at [`ElemFormat::max`].
    pub fn round(&self, x: &Tensor) -> Tensor {
        match self {
            ElemFormat::Int(_) => {
                let q = self.max();
                x.round().clamp(-q, q)
            }
            ElemFormat::Float(f) => round_float(x, f),
        }
    }
}

/// Round to a float format (see the module docs).
pub fn round_float(x: &Tensor, f: &FloatFormat) -> Tensor {
    let a = x.abs();
    // a = m * 2^e with m in [0.5, 1): floor(log2 a) = e - 1 (exact).
    let (_, e) = a.frexp();
    let exp = (e - 1).clamp_min(f.emin() as i64);
    let step = (exp - f.man_bits as i64).to_kind(Kind::Float).exp2();
    let q = (&a / &step).round() * &step;
    q.clamp_max(f.max) * x.sign()
}

/// Which weights share a scale.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuantBlock {
    /// One scale per output channel (row).
    Channel,
    /// One scale per block of this many consecutive weights of a row.
    Block(i64),
}

/// How a group's scale is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScaleFormat {
    /// A 32-bit float.
    Fp32,
    /// A power of two in 8 bits (MX).
    E8m0,
    /// fp8 e4m3 under a per-tensor fp32 scale (NVFP4).
    E4m3,
}

impl ScaleFormat {
    /// Bits per group scale.
    pub fn bits(&self) -> i64 {
        match self {
            ScaleFormat::Fp32 => 32,
            ScaleFormat::E8m0 | ScaleFormat::E4m3 => 8,
        }
    }

    /// Bits per tensor besides the group scales.
    pub fn tensor_bits(&self) -> i64 {
        match self {
            ScaleFormat::E4m3 => 32,
            _ => 0,
        }
    }
}

/// A complete weight quantisation: element format, grouping and scale.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QuantSpec {
    /// Element format.
    pub format: ElemFormat,
    /// Grouping.
    pub block: QuantBlock,
    /// Scale storage.
    pub scale: ScaleFormat,
}

/// The `quant_format` names.
pub const FORMAT_NAMES: [&str; 6] = [
    "int", "fp8_e4m3", "fp8_e5m2", "fp6_e3m2", "fp6_e2m3", "fp4_e2m1",
];

impl QuantSpec {
    /// Read `quant_format`, `quant_bits`, `quant_block` and `quant_scale`;
    /// `None` when weights are not quantised (int format at 16 or 32 bits;
    /// `quant_block` and `quant_scale` are still checked).
    pub fn from_params(r: &ParamReader<'_>) -> Result<Option<QuantSpec>, TorchError> {
        let block = match r.choice("quant_block", "channel", &["channel", "16", "32", "64"])? {
            s if s == "channel" => QuantBlock::Channel,
            s => QuantBlock::Block(s.parse().expect("one of the listed sizes")),
        };
        let default_scale = match block {
            QuantBlock::Channel => "fp32",
            QuantBlock::Block(_) => "e8m0",
        };
        let scale = match r
            .choice("quant_scale", default_scale, &["fp32", "e8m0", "e4m3"])?
            .as_str()
        {
            "e8m0" => ScaleFormat::E8m0,
            "e4m3" => ScaleFormat::E4m3,
            _ => ScaleFormat::Fp32,
        };
        let name = r.choice("quant_format", "int", &FORMAT_NAMES)?;
        let format = match FLOAT_FORMATS.iter().find(|f| f.name == name) {
            Some(f) => {
                if r.has("quant_bits") {
                    return Err(TorchError::param(
                        "quant_bits",
                        format!(
                            "quant_bits applies to quant_format = \"int\"; {name} has {} bits by itself: drop quant_bits, or make it conditional on quant_format = \"int\"",
                            f.bits()
                        ),
                    ));
                }
                ElemFormat::Float(*f)
            }
            None => {
                let bits = r.int("quant_bits", 32, 2, 32)?;
                if bits > 8 && bits != 16 && bits != 32 {
                    return Err(TorchError::param(
                        "quant_bits",
                        format!("{bits} bits: use 2..=8 (quantised) or 32 (not quantised)"),
                    ));
                }
                if bits > 8 {
                    return Ok(None);
                }
                ElemFormat::Int(bits as u32)
            }
        };
        Ok(Some(QuantSpec {
            format,
            block,
            scale,
        }))
    }

    /// The group size for rows of `row_len` weights.
    fn group(&self, row_len: i64) -> i64 {
        match self.block {
            QuantBlock::Channel => row_len.max(1),
            QuantBlock::Block(b) => b,
        }
    }

    /// Scale groups of a weight of this shape (`[out, ...]`).
    pub fn groups(&self, shape: &[i64]) -> i64 {
        let rows = shape.first().copied().unwrap_or(1);
        let row: i64 = shape.iter().skip(1).product();
        let g = self.group(row);
        rows * ((row + g - 1) / g)
    }

    /// Bits of the scales of a weight of this shape.
    pub fn scale_bits(&self, shape: &[i64]) -> i64 {
        self.groups(shape) * self.scale.bits() + self.scale.tensor_bits()
    }

    /// The values `w` decodes to once quantised (float, same shape).
    pub fn fake_quantize(&self, w: &Tensor) -> Tensor {
        let shape = w.size();
        let rows = shape.first().copied().unwrap_or(1);
        let flat = w.to_kind(Kind::Float).reshape([rows, -1]);
        let len = flat.size()[1];
        let g = self.group(len);
        let pad = (g - len % g) % g;
        let groups = flat.constant_pad_nd([0, pad]).view([rows, -1, g]);
        let amax = groups.abs().amax([-1], true);
        let m = self.format.max();
        let scale = match self.scale {
            ScaleFormat::Fp32 => &amax / m,
            ScaleFormat::E8m0 => {
                let exp = match self.format {
                    // floor(log2 amax) - emax.
                    ElemFormat::Float(f) => amax.frexp().1 - 1 - f.emax() as i64,
                    // ceil(log2(amax / q)): frexp's e, less one at an exact power of two.
                    ElemFormat::Int(_) => {
                        let (mant, e) = (&amax / m).frexp();
                        e - mant.eq(0.5).to_kind(Kind::Int)
                    }
                };
                exp.clamp(-127, 127).to_kind(Kind::Float).exp2()
            }
            ScaleFormat::E4m3 => {
                let per_tensor = (amax.max().double_value(&[]) / (m * FP8_E4M3.max)) as f32;
                if per_tensor > 0.0 {
                    round_float(&(&amax / m / per_tensor as f64), &FP8_E4M3) * per_tensor as f64
                } else {
                    amax.zeros_like()
                }
            }
        };
        let safe = scale.where_scalarother(&scale.gt(0.0), 1.0);
        let q = self.format.round(&(&groups / &safe)) * &scale;
        q.view([rows, len + pad])
            .narrow(1, 0, len)
            .reshape(shape.as_slice())
    }
}

#[cfg(test)]
#[path = "lowbit_tests.rs"]
mod tests;
