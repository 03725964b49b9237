//! Every format against a reference written here from the bit layouts:
//! all 2^k codes are decoded, and values at, between and exactly halfway
//! between neighbouring codes must round as round-to-nearest-even with
//! saturation says; block scaling against a scalar re-implementation.

use super::*;
use paretosearch_core::{ParamValue, Params};
use tch::Device;

/// A decoded code: its value and whether its last bit (the mantissa's, or
/// the integer's) is 0.
#[derive(Clone, Copy, Debug)]
struct Code {
    value: f64,
    even: bool,
}

/// Decode every code of a float format from its bit layout; codes beyond
/// the largest finite value (inf/NaN) are left out.
fn float_codes(f: &FloatFormat) -> Vec<Code> {
    let (e_bits, m_bits) = (f.exp_bits, f.man_bits);
    let mut out = Vec::new();
    for code in 0u32..(1 << f.bits()) {
        let sign = (code >> (e_bits + m_bits)) & 1;
        let e = ((code >> m_bits) & ((1 << e_bits) - 1)) as i32;
        let m = (code & ((1 << m_bits) - 1)) as f64 / (1u32 << m_bits) as f64;
        let mag = if e == 0 {
            m * 2f64.powi(1 - f.bias)
        } else {
            (1.0 + m) * 2f64.powi(e - f.bias)
        };
        if mag > f.max {
            continue;
        }
        out.push(Code {
            value: if sign == 1 { -mag } else { mag },
            even: code & 1 == 0,
        });
    }
    out
}

/// Every code of a k-bit two's complement integer.
fn int_codes(bits: u32) -> Vec<Code> {
    let half = 1i64 << (bits - 1);
    (-half..half)
        .map(|v| Code {
            value: v as f64,
            even: v & 1 == 0,
        })
        .collect()
}

/// Round to the nearest of `grid` (ascending, distinct), ties to the even
/// code, saturating at the ends: the reference rounding.
fn reference_round(grid: &[Code], x: f64) -> f64 {
    if x <= grid[0].value {
        return grid[0].value;
    }
    let last = grid[grid.len() - 1];
    if x >= last.value {
        return last.value;
    }
    let i = grid.partition_point(|c| c.value <= x) - 1;
    let (lo, hi) = (grid[i], grid[i + 1]);
    let (dlo, dhi) = (x - lo.value, hi.value - x);
    if dlo < dhi || (dlo == dhi && lo.even) {
        lo.value
    } else {
        hi.value
    }
}

/// The ascending grid a format rounds to: distinct values (one zero), and
/// for int the symmetric range only.
fn grid(format: &ElemFormat) -> Vec<Code> {
    let mut codes = match format {
        ElemFormat::Float(f) => float_codes(f),
        ElemFormat::Int(b) => {
            let q = format.max();
            let codes = int_codes(*b);
            assert_eq!(codes.len(), 1 << b);
            codes.into_iter().filter(|c| c.value >= -q).collect()
        }
    };
    codes.sort_by(|a, b| a.value.total_cmp(&b.value));
    codes.dedup_by(|a, b| a.value == b.value);
    codes
}

fn all_formats() -> Vec<ElemFormat> {
    let mut v: Vec<ElemFormat> = (2..=8).map(ElemFormat::Int).collect();
    v.extend(FLOAT_FORMATS.iter().map(|f| ElemFormat::Float(*f)));
    v
}

fn round_with(format: &ElemFormat, xs: &[f32]) -> Vec<f32> {
    Vec::<f32>::try_from(format.round(&Tensor::from_slice(xs))).unwrap()
}

#[test]
fn finite_code_counts_match_the_specifications() {
    // e4m3: 256 less the two NaNs; e5m2: less 2 infinities and 6 NaNs.
    let counts: Vec<usize> = FLOAT_FORMATS.iter().map(|f| float_codes(f).len()).collect();
    assert_eq!(counts, vec![254, 248, 64, 64, 16]);
    let e2m1: Vec<f64> = grid(&ElemFormat::Float(FP4_E2M1))
        .iter()
        .map(|c| c.value)
        .filter(|v| *v >= 0.0)
        .collect();
    assert_eq!(e2m1, vec![0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0]);
    assert_eq!(FP8_E4M3.emax(), 8);
    assert_eq!(FP8_E5M2.emax(), 15);
    assert_eq!(FP6_E3M2.emax(), 4);
    assert_eq!(FP6_E2M3.emax(), 2);
    assert_eq!(FP4_E2M1.emax(), 2);
}

#[test]
fn every_format_rounds_like_the_reference_at_and_between_all_codes() {
    for format in all_formats() {
        let g = grid(&format);
        let mut xs: Vec<f64> = Vec::new();
        for w in g.windows(2) {
            let (lo, hi) = (w[0].value, w[1].value);
            let mid = (lo + hi) / 2.0;
            let d = hi - lo;
            xs.extend([
                lo,
                hi,
                mid,
                lo + d / 4.0,
                lo + 3.0 * d / 4.0,
                mid - d / 1024.0,
                mid + d / 1024.0,
            ]);
        }
        let max = format.max();
        let top = g[g.len() - 1].value - g[g.len() - 2].value;
        for beyond in [max + top / 2.0, max + top, max * 1.25, 1e6, 1e30] {
            xs.extend([beyond, -beyond]);
        }
        let xs32: Vec<f32> = xs.iter().map(|&x| x as f32).collect();
        // Every probe is exact in f32 (the formats have at most 3 mantissa bits).
        for (a, b) in xs.iter().zip(&xs32) {
            assert!(*a == *b as f64 || a.abs() >= 1e6, "{a} is not exact in f32");
        }
        let got = round_with(&format, &xs32);
        for (x, y) in xs32.iter().zip(&got) {
            let want = reference_round(&g, *x as f64);
            assert_eq!(*y as f64, want, "{format:?}: round({x}) = {y}, want {want}");
        }
        if let ElemFormat::Int(b) = format {
            let unused = -(1i64 << (b - 1)) as f32;
            assert!(
                got.iter().all(|v| *v != unused),
                "int{b} used its -2^(k-1) code"
            );
        }
    }
}

#[test]
fn float_rounding_ties_go_to_the_even_mantissa_and_subnormals_exist() {
    // By hand: e2m1 1.25 lies halfway between 1.0 (m=0) and 1.5 (m=1).
    let e2m1 = ElemFormat::Float(FP4_E2M1);
    assert_eq!(
        round_with(&e2m1, &[1.25, 1.75, 2.5, 5.0, 0.25, 0.75, 7.0, -100.0]),
        vec![1.0, 2.0, 2.0, 4.0, 0.0, 1.0, 6.0, -6.0]
    );
    // e4m3's smallest subnormal is 2^-9; half of it ties to zero.
    let e4m3 = ElemFormat::Float(FP8_E4M3);
    let s = 2f32.powi(-9);
    assert_eq!(
        round_with(&e4m3, &[s, s / 2.0, s * 0.75, 3.0 * s / 2.0, 464.0, 465.0]),
        vec![s, 0.0, s, 2.0 * s, 448.0, 448.0]
    );
}

fn spec(format: ElemFormat, block: QuantBlock, scale: ScaleFormat) -> QuantSpec {
    QuantSpec {
        format,
        block,
        scale,
    }
}

#[test]
fn block_scales_by_hand() {
    let e2m1 = ElemFormat::Float(FP4_E2M1);
    let row = |v: &[f32]| Tensor::from_slice(v).view([1, v.len() as i64]);
    let get = |t: Tensor| Vec::<f32>::try_from(t.flatten(0, -1)).unwrap();
    // amax 0.75 over e2m1's 6: s = 0.125 as fp32 and as e8m0 (2^(-1-2)).
    let w = row(&[0.375, -0.75, 0.15625, 0.03125]);
    for scale in [ScaleFormat::Fp32, ScaleFormat::E8m0] {
        let q = spec(e2m1, QuantBlock::Channel, scale).fake_quantize(&w);
        assert_eq!(get(q), vec![0.375, -0.75, 0.125, 0.0], "{scale:?}");
    }
    // e8m0 with amax 15/16: s = 2^-3 and 7.5 saturates to 6 (the MX rule).
    let q = spec(e2m1, QuantBlock::Channel, ScaleFormat::E8m0).fake_quantize(&row(&[0.9375, 0.25]));
    assert_eq!(get(q), vec![0.75, 0.25]);
    // int4 e8m0: 2^ceil(log2(amax / 7)); at amax = 7/8 the power is exact.
    let int4 = ElemFormat::Int(4);
    let q = spec(int4, QuantBlock::Channel, ScaleFormat::E8m0)
        .fake_quantize(&row(&[0.875, -0.3, 0.0625]));
    assert_eq!(get(q), vec![0.875, -0.25, 0.0]);
    // Blocks of 16 each get their own scale: a small block stays fine.
    let mut v = vec![0.0f32; 32];
    v[0] = 6.0;
    v[1] = 1.0;
    v[16] = 0.06;
    v[17] = 0.01;
    let q = get(spec(e2m1, QuantBlock::Block(16), ScaleFormat::Fp32).fake_quantize(&row(&v)));
    assert_eq!((q[0], q[1]), (6.0, 1.0));
    assert!((q[16] - 0.06).abs() < 1e-7 && (q[17] - 0.01).abs() < 1e-7);
    let q = get(spec(e2m1, QuantBlock::Channel, ScaleFormat::Fp32).fake_quantize(&row(&v)));
    assert_eq!((q[16], q[17]), (0.0, 0.0));
}

/// A scalar re-implementation of the block scaling in f32.
fn reference_fake_quant(w: &[f32], rows: usize, s: &QuantSpec) -> Vec<f32> {
    let g = grid(&s.format);
    let e4m3 = grid(&ElemFormat::Float(FP8_E4M3));
    let len = w.len() / rows;
    let size = match s.block {
        QuantBlock::Channel => len,
        QuantBlock::Block(b) => b as usize,
    };
    let m = s.format.max() as f32;
    let tmax = w.iter().fold(0f32, |a, v| a.max(v.abs()));
    let per_tensor = (tmax as f64 / (m as f64 * 448.0)) as f32;
    let mut out = vec![0f32; w.len()];
    for r in 0..rows {
        for start in (0..len).step_by(size) {
            let idx: Vec<usize> = (start..(start + size).min(len))
                .map(|i| r * len + i)
                .collect();
            let amax = idx.iter().fold(0f32, |a, &i| a.max(w[i].abs()));
            let scale = match s.scale {
                ScaleFormat::Fp32 => amax / m,
                ScaleFormat::E8m0 => {
                    let e = match s.format {
                        ElemFormat::Float(f) => {
                            if amax == 0.0 {
                                -1 - f.emax()
                            } else {
                                (amax as f64).log2().floor() as i32 - f.emax()
                            }
                        }
                        ElemFormat::Int(_) => {
                            if amax == 0.0 {
                                0
                            } else {
                                ((amax / m) as f64).log2().ceil() as i32
                            }
                        }
                    };
                    2f32.powi(e.clamp(-127, 127))
                }
                ScaleFormat::E4m3 => {
                    if per_tensor > 0.0 {
                        reference_round(&e4m3, (amax / m / per_tensor) as f64) as f32 * per_tensor
                    } else {
                        0.0
                    }
                }
            };
            for &i in &idx {
                out[i] = if scale > 0.0 {
                    reference_round(&g, (w[i] / scale) as f64) as f32 * scale
                } else {
                    0.0
                };
            }
        }
    }
    out
}

#[test]
fn block_quantisation_matches_the_scalar_reference_for_every_combination() {
    tch::manual_seed(3);
    // 40 weights a row: blocks of 16 and 32 leave a partial block, 64 pads.
    let w = Tensor::randn([6, 40], (Kind::Float, Device::Cpu)) * 0.1;
    let _ = w.get(2).fill_(0.0); // an all-zero channel
    let values = Vec::<f32>::try_from(w.flatten(0, -1)).unwrap();
    for format in all_formats() {
        for block in [
            QuantBlock::Channel,
            QuantBlock::Block(16),
            QuantBlock::Block(32),
            QuantBlock::Block(64),
        ] {
            for scale in [ScaleFormat::Fp32, ScaleFormat::E8m0, ScaleFormat::E4m3] {
                let s = spec(format, block, scale);
                let got = Vec::<f32>::try_from(s.fake_quantize(&w).flatten(0, -1)).unwrap();
                let want = reference_fake_quant(&values, 6, &s);
                assert_eq!(got, want, "{s:?}");
            }
        }
    }
}

#[test]
fn scale_bits_count_every_block() {
    let s = |block, scale| spec(ElemFormat::Float(FP4_E2M1), block, scale);
    // [3, 40] in blocks of 16: 3 blocks a row (the last one partial).
    assert_eq!(
        s(QuantBlock::Block(16), ScaleFormat::E8m0).scale_bits(&[3, 40]),
        9 * 8
    );
    assert_eq!(
        s(QuantBlock::Block(16), ScaleFormat::E4m3).scale_bits(&[3, 40]),
        9 * 8 + 32
    );
    assert_eq!(
        s(QuantBlock::Block(64), ScaleFormat::Fp32).scale_bits(&[3, 40]),
        3 * 32
    );
    assert_eq!(
        s(QuantBlock::Channel, ScaleFormat::Fp32).scale_bits(&[3, 40]),
        3 * 32
    );
    // A conv weight [4, 2, 3, 3]: rows of 18, two blocks of 16 each.
    assert_eq!(
        s(QuantBlock::Block(16), ScaleFormat::E8m0).scale_bits(&[4, 2, 3, 3]),
        8 * 8
    );
}

fn read(kv: &[(&str, ParamValue)]) -> Result<Option<QuantSpec>, TorchError> {
    let p: Params = kv.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
    let empty = Params::new();
    QuantSpec::from_params(&ParamReader::new(&p, &empty))
}

#[test]
fn parameters_and_their_bad_combinations() {
    assert_eq!(read(&[]).unwrap(), None);
    assert_eq!(read(&[("quant_bits", ParamValue::Int(32))]).unwrap(), None);
    let s = read(&[
        ("quant_format", ParamValue::Str("fp4_e2m1".into())),
        ("quant_block", ParamValue::Int(16)),
    ])
    .unwrap()
    .unwrap();
    assert_eq!(s.format, ElemFormat::Float(FP4_E2M1));
    assert_eq!(
        (s.block, s.scale),
        (QuantBlock::Block(16), ScaleFormat::E8m0)
    );
    let s = read(&[("quant_bits", ParamValue::Int(4))])
        .unwrap()
        .unwrap();
    assert_eq!(
        (s.format, s.block, s.scale),
        (ElemFormat::Int(4), QuantBlock::Channel, ScaleFormat::Fp32)
    );
    let e = read(&[
        ("quant_format", ParamValue::Str("fp8_e4m3".into())),
        ("quant_bits", ParamValue::Int(8)),
    ])
    .unwrap_err()
    .to_string();
    assert!(e.contains("quant_bits") && e.contains("fp8_e4m3"), "{e}");
    let e = read(&[("quant_block", ParamValue::Int(24))])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("quant_block") && e.contains("channel, 16, 32, 64"),
        "{e}"
    );
    let e = read(&[("quant_format", ParamValue::Str("fp5".into()))])
        .unwrap_err()
        .to_string();
    assert!(e.contains("fp4_e2m1"), "{e}");
}
