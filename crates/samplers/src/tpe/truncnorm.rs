//! Gaussian tail arithmetic for truncated-normal kernels, in log space.
//!
//! A TPE kernel is a normal `N(mu, sigma)` cut to the domain `[low, high]`
//! of its parameter. Its log density needs `log(Phi(b) - Phi(a))`, the log
//! probability mass of the standard normal between the standardised bounds,
//! and discrete kernels need the same mass for every grid cell. Computed
//! naively, `Phi(b) - Phi(a)` cancels to zero as soon as both bounds sit in
//! the same far tail, and the log of it becomes `-inf`; the routines here
//! stay accurate over the whole real line by working with the tail that is
//! small (`log Phi(x)` for `x <= 0`, its mirror image otherwise).

use rand::Rng;
use rand_distr::StandardNormal;

const FRAC_1_SQRT_2: f64 = std::f64::consts::FRAC_1_SQRT_2;
/// `0.5 * ln(2 pi)`.
pub(crate) const HALF_LN_2PI: f64 = 0.918_938_533_204_672_7;

/// Standard normal CDF `Phi(x)` (the reference the fast tail is tested
/// against).
#[cfg(test)]
pub(crate) fn ndtr(x: f64) -> f64 {
    0.5 * libm::erfc(-x * FRAC_1_SQRT_2)
}

/// `ln Phi(x)`, accurate in both tails.
pub(crate) fn log_ndtr(x: f64) -> f64 {
    if x > 6.0 {
        // Phi(x) = 1 - Phi(-x), with Phi(-x) < 1e-9.
        (-0.5 * libm::erfc(x * FRAC_1_SQRT_2)).ln_1p()
    } else if x > -20.0 {
        (0.5 * libm::erfc(-x * FRAC_1_SQRT_2)).ln()
    } else {
        // Asymptotic series of Mills' ratio: erfc underflows near x = -37.
        let x2 = x * x;
        let inv = 1.0 / x2;
        let series = 1.0 - inv * (1.0 - 3.0 * inv * (1.0 - 5.0 * inv * (1.0 - 7.0 * inv)));
        -0.5 * x2 - (-x).ln() - HALF_LN_2PI + series.ln()
    }
}

/// Lower tail `Phi(-|x|)` with one exponential: Hart's (1968) rational
/// approximation as presented by West (2005). Its relative error stays
/// below 1e-8 (a few 1e-16 within two sigma) and its absolute error below
/// 3e-16; the kernel normalisers it feeds, `ln(1 - tails)`, need only the
/// absolute accuracy, and it is several times cheaper than `erfc`.
pub(crate) fn lower_tail(x: f64) -> f64 {
    let t = x.abs();
    if t > 37.0 {
        return 0.0;
    }
    let e = (-0.5 * t * t).exp();
    if t < 7.071_067_811_865_47 {
        const NUM: [f64; 7] = [
            0.035_262_496_599_891_1,
            0.700_383_064_443_688,
            6.373_962_203_531_65,
            33.912_866_078_383,
            112.079_291_497_871,
            221.213_596_169_931,
            220.206_867_912_376,
        ];
        const DEN: [f64; 8] = [
            0.088_388_347_648_318_4,
            1.755_667_163_182_64,
            16.064_177_579_207,
            86.780_732_202_946_1,
            296.564_248_779_674,
            637.333_633_378_831,
            793.826_512_519_948,
            440.413_735_824_752,
        ];
        let num = NUM.iter().fold(0.0, |acc, c| acc * t + c);
        let den = DEN.iter().fold(0.0, |acc, c| acc * t + c);
        e * num / den
    } else {
        let c = t + 1.0 / (t + 2.0 / (t + 3.0 / (t + 4.0 / (t + 0.65))));
        e / c / 2.506_628_274_631
    }
}

/// `ln(1 - e^x)` for `x <= 0`, accurate near both ends.
fn log1mexp(x: f64) -> f64 {
    if x > -std::f64::consts::LN_2 {
        (-x.exp_m1()).ln()
    } else {
        (-x.exp()).ln_1p()
    }
}

/// `ln(Phi(b) - Phi(a))` for `a <= b`: the log mass of the standard normal
/// on `[a, b]` (`-inf` when `a == b`).
pub(crate) fn log_gauss_mass(a: f64, b: f64) -> f64 {
    if a >= b {
        return f64::NEG_INFINITY;
    }
    if b <= 0.0 {
        let lb = log_ndtr(b);
        lb + log1mexp(log_ndtr(a) - lb)
    } else if a >= 0.0 {
        let la = log_ndtr(-a);
        la + log1mexp(log_ndtr(-b) - la)
    } else {
        // Both tails are at most 1/2: 1 - Phi(a) - Phi(-b) without
        // cancellation. Tails beyond 8.3 sigma are below 1e-16 and skipped;
        // `ln(1 - s)` is accurate to 1e-16 in absolute terms, which is what
        // a log density needs.
        let ta = if a < -8.3 { 0.0 } else { lower_tail(a) };
        let tb = if b > 8.3 { 0.0 } else { lower_tail(b) };
        (1.0 - ta - tb).ln()
    }
}

/// Log density at `x` of `N(mu, sigma)` truncated to `[low, high]`
/// (`-inf` outside). The estimators fold this into per-component biases;
/// kept as the reference they are tested against.
#[cfg(test)]
pub(crate) fn log_pdf(x: f64, mu: f64, sigma: f64, low: f64, high: f64) -> f64 {
    if !(x >= low && x <= high) {
        return f64::NEG_INFINITY;
    }
    let z = (x - mu) / sigma;
    -0.5 * z * z
        - HALF_LN_2PI
        - sigma.ln()
        - log_gauss_mass((low - mu) / sigma, (high - mu) / sigma)
}

/// Draw from `N(mu, sigma)` truncated to `[low, high]`, with `mu` inside the
/// interval (as every TPE kernel centre is). Rejection from the untruncated
/// normal accepts with probability at least `Phi(1) - Phi(0) = 0.34` when
/// `sigma <= high - low` and `mu` is inside, so the loop is short; in the
/// astronomically unlikely case it runs out, the centre is returned.
pub(crate) fn sample<R: Rng + ?Sized>(
    rng: &mut R,
    mu: f64,
    sigma: f64,
    low: f64,
    high: f64,
) -> f64 {
    for _ in 0..256 {
        let z: f64 = rng.sample(StandardNormal);
        let x = mu + sigma * z;
        if x >= low && x <= high {
            return x;
        }
    }
    mu.clamp(low, high)
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    /// Simpson's rule on `n` (even) intervals.
    fn simpson(f: impl Fn(f64) -> f64, a: f64, b: f64, n: usize) -> f64 {
        let h = (b - a) / n as f64;
        let mut s = f(a) + f(b);
        for i in 1..n {
            let w = if i % 2 == 1 { 4.0 } else { 2.0 };
            s += w * f(a + i as f64 * h);
        }
        s * h / 3.0
    }

    #[test]
    fn ndtr_known_values() {
        assert_relative_eq!(ndtr(0.0), 0.5, epsilon = 1e-15);
        assert_relative_eq!(ndtr(1.0), 0.841_344_746_068_542_9, epsilon = 1e-14);
        assert_relative_eq!(ndtr(-1.96), 0.024_997_895_148_220_435, epsilon = 1e-14);
    }

    #[test]
    fn lower_tail_matches_erfc() {
        for i in 0..=3700 {
            let x = -37.0 + i as f64 * 0.01;
            let exact = ndtr(x);
            let fast = lower_tail(x);
            let err = (fast - exact).abs();
            assert!(
                err <= 3e-16 && err <= 1e-8 * exact,
                "x = {x}: error {err:e} of {exact:e}"
            );
            if x > -2.0 {
                assert!(err <= 4e-15 * exact, "x = {x}: error {err:e} of {exact:e}");
            }
            assert_eq!(lower_tail(-x), fast);
        }
    }

    #[test]
    fn log_ndtr_is_continuous_across_branches_and_matches_tails() {
        for &x in &[-20.0, 6.0] {
            let below = log_ndtr(x - 1e-9);
            let above = log_ndtr(x + 1e-9);
            assert_relative_eq!(below, above, max_relative = 1e-7);
        }
        // Far tail against the direct value (erfc is still representable at -30).
        let direct = (0.5 * libm::erfc(30.0 * FRAC_1_SQRT_2)).ln();
        assert_relative_eq!(log_ndtr(-30.0), direct, max_relative = 1e-12);
        // Beyond erfc's range the result stays finite and follows -x^2/2.
        let far = log_ndtr(-100.0);
        assert!(far.is_finite());
        assert_relative_eq!(
            far,
            -5000.0 - 100f64.ln() - HALF_LN_2PI,
            max_relative = 1e-6
        );
    }

    #[test]
    fn gauss_mass_matches_difference_of_cdfs_and_survives_tails() {
        for &(a, b) in &[
            (-1.0, 1.0),
            (-3.0, -0.5),
            (0.2, 4.0),
            (-0.1, 0.1),
            (2.0, 2.5),
        ] {
            assert_relative_eq!(
                log_gauss_mass(a, b),
                (ndtr(b) - ndtr(a)).ln(),
                max_relative = 1e-12
            );
        }
        // Naive difference cancels to 0 here; the log mass is still accurate:
        // mass of [40, 41] ~ pdf(40) / 40.
        let lm = log_gauss_mass(40.0, 41.0);
        assert!(lm.is_finite());
        assert_relative_eq!(lm, -800.0 - HALF_LN_2PI - 40f64.ln(), max_relative = 1e-3);
        assert_relative_eq!(log_gauss_mass(-41.0, -40.0), lm, max_relative = 1e-12);
        assert_eq!(log_gauss_mass(1.0, 1.0), f64::NEG_INFINITY);
    }

    #[test]
    fn truncated_log_pdf_matches_direct_formula_and_integrates_to_one() {
        let (mu, sigma, low, high): (f64, f64, f64, f64) = (0.3, 0.25, 0.0, 1.0);
        let x = 0.71;
        let direct = {
            let z = (x - mu) / sigma;
            let pdf = (-0.5 * z * z).exp() / (sigma * (2.0 * std::f64::consts::PI).sqrt());
            let mass = ndtr((high - mu) / sigma) - ndtr((low - mu) / sigma);
            (pdf / mass).ln()
        };
        assert_relative_eq!(
            log_pdf(x, mu, sigma, low, high),
            direct,
            max_relative = 1e-12
        );
        assert_eq!(log_pdf(1.5, mu, sigma, low, high), f64::NEG_INFINITY);
        let total = simpson(|t| log_pdf(t, mu, sigma, low, high).exp(), low, high, 2000);
        assert_relative_eq!(total, 1.0, epsilon = 1e-9);
    }

    #[test]
    fn samples_stay_inside_and_have_the_truncated_mean() {
        use rand::SeedableRng;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let (mu, sigma, low, high) = (0.0, 1.0, 0.0, 3.0);
        let n = 20_000;
        let mut sum = 0.0;
        for _ in 0..n {
            let x = sample(&mut rng, mu, sigma, low, high);
            assert!((low..=high).contains(&x));
            sum += x;
        }
        // Mean of N(0,1) on [0, 3]: (phi(0) - phi(3)) / (Phi(3) - Phi(0)).
        let phi = |t: f64| (-0.5 * t * t).exp() / (2.0 * std::f64::consts::PI).sqrt();
        let expect = (phi(0.0) - phi(3.0)) / (ndtr(3.0) - ndtr(0.0));
        assert!(
            (sum / n as f64 - expect).abs() < 0.02,
            "{} vs {expect}",
            sum / n as f64
        );
    }
}
