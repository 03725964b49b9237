//! `ln(sum(exp(v)))` over the components of a mixture.
//!
//! Terms more than [`LSE_CUTOFF`] below the largest are left out: each is
//! below `e^-40 ≈ 4e-18` of the largest, so even 10⁶ of them change the
//! sum by less than `5e-12` relative, while far components of a large
//! mixture would otherwise cost an `exp` each, on `exp`'s slow underflow
//! path. The one-dimensional estimators go further and never compute the
//! far terms (`window`), leaving out exactly the same ones.

/// Terms more than this below the largest are left out.
pub(crate) const LSE_CUTOFF: f64 = 40.0;

/// `ln(sum(exp(v)))`, stable; `-inf` for an empty or all `-inf` slice;
/// terms more than [`LSE_CUTOFF`] below the largest are left out.
pub(crate) fn log_sum_exp(v: &[f64]) -> f64 {
    let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !max.is_finite() {
        return max;
    }
    let floor = max - LSE_CUTOFF;
    let mut s = 0.0;
    for &x in v {
        if x > floor {
            s += (x - max).exp();
        }
    }
    max + s.ln()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// Against the plain two-pass sum with libm's exp.
    #[test]
    fn log_sum_exp_matches_the_plain_sum() {
        let plain = |v: &[f64]| {
            let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            if !max.is_finite() {
                return max;
            }
            max + v.iter().map(|x| (x - max).exp()).sum::<f64>().ln()
        };
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        for len in [0, 1, 2, 7, 8, 9, 100, 1001, 10_000] {
            for spread in [1.0, 30.0, 1000.0] {
                let mut v: Vec<f64> = (0..len)
                    .map(|_| spread * (rng.random::<f64>() - 0.9) - 5.0)
                    .collect();
                if len > 3 {
                    v[1] = f64::NEG_INFINITY;
                }
                let (a, b) = (log_sum_exp(&v), plain(&v));
                if b.is_finite() {
                    assert!(
                        (a - b).abs() <= 1e-13 * b.abs().max(1.0),
                        "{len} {spread}: {a} {b}"
                    );
                } else {
                    assert_eq!(a, b);
                }
            }
        }
        assert_eq!(log_sum_exp(&[f64::NEG_INFINITY; 3]), f64::NEG_INFINITY);
        assert!((log_sum_exp(&[0.0, 0.0]) - std::f64::consts::LN_2).abs() < 1e-15);
        // Terms 40 or more below the largest are left out.
        assert_eq!(log_sum_exp(&[0.0, -40.0, -1e9]), 0.0);
        assert!((log_sum_exp(&[0.0, -30.0]) - (-30f64).exp()).abs() < 1e-15);
    }
}
