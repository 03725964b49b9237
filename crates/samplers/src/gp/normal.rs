//! Standard-normal helpers evaluated in log space.
//!
//! Expected improvement and its hypervolume generalisation are built from
//! `h(z) = φ(z) + z Φ(z) = E[(z − Z)⁺]` for a standard normal `Z`. For
//! candidates far from improving, `h(z)` underflows long before its
//! logarithm stops carrying information (Ament et al., *Unexpected
//! improvements to expected improvement for Bayesian optimization*, 2023), so
//! every quantity here comes as a logarithm computed without forming the
//! underflowing value.

use std::f64::consts::{LN_2, SQRT_2};

/// `ln(2π) / 2`.
pub(crate) const HALF_LN_2PI: f64 = 0.918_938_533_204_672_8;

/// Below this `z` the asymptotic (Mills ratio) series replace the direct
/// formulas.
const TAIL: f64 = -25.0;

/// `ln φ(z)`.
pub(crate) fn log_pdf(z: f64) -> f64 {
    -0.5 * z * z - HALF_LN_2PI
}

/// `φ(z)`.
pub(crate) fn pdf(z: f64) -> f64 {
    log_pdf(z).exp()
}

/// `Φ(z)`.
pub(crate) fn cdf(z: f64) -> f64 {
    0.5 * libm::erfc(-z / SQRT_2)
}

/// `ln Φ(z)`, accurate in both tails.
pub(crate) fn log_cdf(z: f64) -> f64 {
    if z >= 0.0 {
        (-0.5 * libm::erfc(z / SQRT_2)).ln_1p()
    } else if z > -37.0 {
        (0.5 * libm::erfc(-z / SQRT_2)).ln()
    } else {
        // Φ(z) = φ(z)/|z| (1 − 1/z² + 3/z⁴ − 15/z⁶ + …)
        let r = 1.0 / (z * z);
        log_pdf(z) - (-z).ln() + (1.0 - r + 3.0 * r * r - 15.0 * r * r * r).ln()
    }
}

/// `h(z) = φ(z) + z Φ(z)` (may underflow to 0 for very negative `z`).
#[cfg(test)]
pub(crate) fn h(z: f64) -> f64 {
    log_h(z).exp()
}

/// `ln h(z)` for `h(z) = φ(z) + z Φ(z)`, finite for every finite `z`.
pub(crate) fn log_h(z: f64) -> f64 {
    if z == f64::NEG_INFINITY {
        return f64::NEG_INFINITY;
    }
    if z > TAIL {
        // The relative cancellation grows like z², ~1e-13 at z = −25.
        (pdf(z) + z * cdf(z)).ln()
    } else {
        // h(z) = φ(z)/z² (1 − 3/z² + 15/z⁴ − 105/z⁶ + 945/z⁸ − …)
        let r = 1.0 / (z * z);
        let series = 1.0 - 3.0 * r + 15.0 * r * r - 105.0 * r * r * r + 945.0 * r.powi(4);
        log_pdf(z) + r.ln() + series.ln()
    }
}

/// `ln(1 − eˣ)` for `x ≤ 0` (Mächler's two-branch formula).
pub(crate) fn log1mexp(x: f64) -> f64 {
    if x > -LN_2 {
        (-x.exp_m1()).ln()
    } else {
        (-x.exp()).ln_1p()
    }
}

/// `ln(eᵃ + eᵇ)`.
#[cfg(test)]
pub(crate) fn logaddexp(a: f64, b: f64) -> f64 {
    let m = a.max(b);
    if m == f64::NEG_INFINITY {
        return m;
    }
    m + ((a - m).exp() + (b - m).exp()).ln()
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    /// `h` by numerical integration of `∫_{-∞}^{z} Φ(t) dt` (Simpson).
    fn h_quad(z: f64) -> f64 {
        let lo = z - 40.0;
        let n = 20_000;
        let dx = (z - lo) / n as f64;
        let mut s = cdf(lo) + cdf(z);
        for i in 1..n {
            let w = if i % 2 == 1 { 4.0 } else { 2.0 };
            s += w * cdf(lo + i as f64 * dx);
        }
        s * dx / 3.0
    }

    #[test]
    fn h_matches_its_integral_form() {
        for z in [-6.0, -2.5, -1.0, 0.0, 0.3, 2.0, 5.0] {
            assert_relative_eq!(h(z), h_quad(z), max_relative = 1e-6);
        }
    }

    #[test]
    fn log_h_is_continuous_across_the_tail_switch() {
        let a = log_h(TAIL + 1e-9);
        let b = log_h(TAIL - 1e-9);
        assert_relative_eq!(a, b, max_relative = 1e-9);
        // Far tail: finite and decreasing.
        assert!(log_h(-200.0).is_finite());
        assert!(log_h(-200.0) < log_h(-100.0));
    }

    #[test]
    fn log_cdf_is_continuous_and_accurate() {
        assert_relative_eq!(
            log_cdf(-37.0 + 1e-9),
            log_cdf(-37.0 - 1e-9),
            max_relative = 1e-9
        );
        assert_relative_eq!(log_cdf(1.0), cdf(1.0).ln(), max_relative = 1e-14);
        assert_relative_eq!(log_cdf(-3.0), cdf(-3.0).ln(), max_relative = 1e-14);
        assert!(log_cdf(10.0) < 0.0 && log_cdf(10.0) > -1e-20);
    }

    #[test]
    fn log1mexp_both_branches() {
        for x in [-1e-10, -0.1, -0.69, -0.7, -5.0, -50.0] {
            let direct = (1.0 - f64::exp(x)).ln();
            assert_relative_eq!(log1mexp(x), direct, max_relative = 1e-6);
        }
        assert_relative_eq!(logaddexp(0.0, 0.0), LN_2);
    }
}
