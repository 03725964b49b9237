//! Built-in analytic test problems (ZDT, DTLZ) and the runner that evaluates
//! them.
//!
//! These problems cost nothing to evaluate, so a study on them measures only
//! the optimiser: its sample efficiency (hypervolume after N trials) and its
//! overhead (milliseconds per trial). They are what `paretosearch bench` and
//! `[runner] kind = "builtin"` run.
//!
//! Every problem takes variables `x0 .. x{n-1}`, each a float in `[0, 1]`,
//! and returns objectives `f1 .. fm`, all minimised.
//!
//! ## Definitions
//!
//! `zdt1`, `zdt2`, `zdt3` (10 variables) and `dtlz2` (3 objectives, **6**
//! variables) follow `shared/bench/compare.py` operation for operation, so
//! our numbers and the comparison script's agree to the last bit (checked on
//! 800 random points against Python 3.11; Python 3.12 and later sum floats
//! with a compensated `sum()`, which moves about a quarter of the values by
//! an ulp or so). Note that
//! `dtlz2` has 6 variables (k = 4), not the 12 of the original paper: that is
//! the size the comparison runs.
//!
//! The others follow Deb, Thiele, Laumanns and Zitzler (2002) and Zitzler,
//! Deb and Thiele (2000), with the usual variable counts for 3 objectives:
//!
//! | problem | variables | notes |
//! |---------|-----------|-------|
//! | `zdt4`  | 10 | `x1..x9` are rescaled from `[0, 1]` to `[-5, 5]` inside the function (optimum at `x_i = 0.5`) |
//! | `zdt6`  | 10 | |
//! | `dtlz1` | 7 (k = 5) | linear front `f1 + f2 + f3 = 0.5` |
//! | `dtlz3` | 12 (k = 10) | DTLZ1's multimodal `g` with DTLZ2's spherical front |
//! | `dtlz4` | 12 (k = 10) | `alpha = 100` bias |
//! | `dtlz5` | 12 (k = 10) | degenerate (curve) front |
//! | `dtlz6` | 12 (k = 10) | DTLZ5 with `g = sum x^0.1` |
//! | `dtlz7` | 22 (k = 20) | disconnected front |
//!
//! One problem is not on the unit cube: [`MixedProblem`] (`mixed`), ZDT1's
//! front behind integers, log-scaled parameters and a categorical choice.

use std::collections::BTreeMap;
use std::f64::consts::PI;

use paretosearch_core::{
    Direction, Distribution, Objective, Objectives, Param, Params, SearchSpace,
};

/// An analytic multi-objective problem on `[0, 1]^n`.
#[derive(Clone, Copy, Debug)]
pub struct Problem {
    /// Name (`zdt1`, `dtlz2` ...).
    pub name: &'static str,
    /// Number of variables (`x0 .. x{n_vars-1}`).
    pub n_vars: usize,
    /// Number of objectives (`f1 .. f{n_obj}`).
    pub n_obj: usize,
    eval: fn(&[f64]) -> Vec<f64>,
}

const PROBLEMS: &[Problem] = &[
    Problem {
        name: "zdt1",
        n_vars: 10,
        n_obj: 2,
        eval: zdt1,
    },
    Problem {
        name: "zdt2",
        n_vars: 10,
        n_obj: 2,
        eval: zdt2,
    },
    Problem {
        name: "zdt3",
        n_vars: 10,
        n_obj: 2,
        eval: zdt3,
    },
    Problem {
        name: "zdt4",
        n_vars: 10,
        n_obj: 2,
        eval: zdt4,
    },
    Problem {
        name: "zdt6",
        n_vars: 10,
        n_obj: 2,
        eval: zdt6,
    },
    Problem {
        name: "dtlz1",
        n_vars: 7,
        n_obj: 3,
        eval: dtlz1,
    },
    Problem {
        name: "dtlz2",
        n_vars: 6,
        n_obj: 3,
        eval: dtlz2,
    },
    Problem {
        name: "dtlz3",
        n_vars: 12,
        n_obj: 3,
        eval: dtlz3,
    },
    Problem {
        name: "dtlz4",
        n_vars: 12,
        n_obj: 3,
        eval: dtlz4,
    },
    Problem {
        name: "dtlz5",
        n_vars: 12,
        n_obj: 3,
        eval: dtlz5,
    },
    Problem {
        name: "dtlz6",
        n_vars: 12,
        n_obj: 3,
        eval: dtlz6,
    },
    Problem {
        name: "dtlz7",
        n_vars: 22,
        n_obj: 3,
        eval: dtlz7,
    },
];

const NAMES: &[&str] = &[
    "zdt1", "zdt2", "zdt3", "zdt4", "zdt6", "dtlz1", "dtlz2", "dtlz3", "dtlz4", "dtlz5", "dtlz6",
    "dtlz7",
];

/// The problem called `name`, if there is one.
pub fn problem(name: &str) -> Option<Problem> {
    PROBLEMS.iter().find(|p| p.name == name).copied()
}

/// Names of all built-in problems.
pub fn names() -> &'static [&'static str] {
    NAMES
}

impl Problem {
    /// Evaluate at `x` (length [`Problem::n_vars`], entries in `[0, 1]`);
    /// returns the `n_obj` minimised objective values.
    ///
    /// # Panics
    ///
    /// If `x` does not have `n_vars` entries (a programming error; the
    /// runner checks parameters before calling this).
    pub fn evaluate(&self, x: &[f64]) -> Vec<f64> {
        assert_eq!(
            x.len(),
            self.n_vars,
            "{} takes {} variables, got {}",
            self.name,
            self.n_vars,
            x.len()
        );
        (self.eval)(x)
    }

    /// Variable names `x0 .. x{n-1}`.
    pub fn variable_names(&self) -> Vec<String> {
        (0..self.n_vars).map(|i| format!("x{i}")).collect()
    }

    /// Objective names `f1 .. fm`.
    pub fn objective_names(&self) -> Vec<String> {
        (1..=self.n_obj).map(|i| format!("f{i}")).collect()
    }

    /// The search space: `x0 .. x{n-1}`, floats in `[0, 1]`.
    pub fn search_space(&self) -> SearchSpace {
        let params = self
            .variable_names()
            .into_iter()
            .map(|name| Param {
                name,
                distribution: Distribution::Float {
                    low: 0.0,
                    high: 1.0,
                    log: false,
                    step: None,
                },
                when: Vec::new(),
                monotone: None,
            })
            .collect();
        SearchSpace::new(params).expect("unit-cube spaces are valid")
    }

    /// The objectives: `f1 .. fm`, all minimised.
    pub fn objectives(&self) -> Objectives {
        Objectives(
            self.objective_names()
                .into_iter()
                .map(|name| Objective {
                    name,
                    direction: Direction::Minimize,
                    constraint: None,
                    cheap: false,
                })
                .collect(),
        )
    }

    /// Read `x0 .. x{n-1}` from a configuration and evaluate; the result is
    /// keyed by objective name. Fails with a readable reason when a
    /// variable is missing, not a number, or outside `[0, 1]`.
    pub fn evaluate_params(&self, params: &Params) -> Result<BTreeMap<String, f64>, String> {
        let mut x = Vec::with_capacity(self.n_vars);
        for name in self.variable_names() {
            let v = params.get(&name).ok_or_else(|| {
                format!(
                    "parameter `{name}` is missing; problem {} needs x0 .. x{}",
                    self.name,
                    self.n_vars - 1
                )
            })?;
            let v = v
                .as_f64()
                .ok_or_else(|| format!("parameter `{name}` must be a number (got `{v}`)"))?;
            if !(0.0..=1.0).contains(&v) {
                return Err(format!("parameter `{name}` must lie in [0, 1] (got {v})"));
            }
            x.push(v);
        }
        Ok(self
            .objective_names()
            .into_iter()
            .zip(self.evaluate(&x))
            .collect())
    }
}

mod check;
mod mixed;
mod runner;
pub use check::Mismatch;
pub use mixed::MixedProblem;
pub use runner::BuiltinRunner;

// ----- ZDT -------------------------------------------------------------------

/// `1 + 9 * sum(x[1:]) / (n - 1)`, summed left to right as Python does.
fn zdt_g(x: &[f64]) -> f64 {
    let s: f64 = x[1..].iter().fold(0.0, |a, b| a + b);
    1.0 + 9.0 * s / (x.len() - 1) as f64
}

fn zdt1(x: &[f64]) -> Vec<f64> {
    let g = zdt_g(x);
    vec![x[0], g * (1.0 - (x[0] / g).sqrt())]
}

fn zdt2(x: &[f64]) -> Vec<f64> {
    let g = zdt_g(x);
    vec![x[0], g * (1.0 - (x[0] / g).powi(2))]
}

fn zdt3(x: &[f64]) -> Vec<f64> {
    let g = zdt_g(x);
    let f1 = x[0];
    vec![
        f1,
        g * (1.0 - (f1 / g).sqrt() - (f1 / g) * (10.0 * PI * f1).sin()),
    ]
}

fn zdt4(x: &[f64]) -> Vec<f64> {
    let f1 = x[0];
    let g = 1.0
        + 10.0 * (x.len() - 1) as f64
        + x[1..]
            .iter()
            .map(|u| {
                let y = 10.0 * u - 5.0;
                y * y - 10.0 * (4.0 * PI * y).cos()
            })
            .sum::<f64>();
    vec![f1, g * (1.0 - (f1 / g).sqrt())]
}

fn zdt6(x: &[f64]) -> Vec<f64> {
    let f1 = 1.0 - (-4.0 * x[0]).exp() * (6.0 * PI * x[0]).sin().powi(6);
    let s: f64 = x[1..].iter().sum();
    let g = 1.0 + 9.0 * (s / (x.len() - 1) as f64).powf(0.25);
    vec![f1, g * (1.0 - (f1 / g).powi(2))]
}

// ----- DTLZ ------------------------------------------------------------------

const M: usize = 3;

/// DTLZ1/DTLZ3's multimodal distance function over the last k variables.
fn g_rastrigin(xm: &[f64]) -> f64 {
    100.0
        * (xm.len() as f64
            + xm.iter()
                .map(|v| (v - 0.5).powi(2) - (20.0 * PI * (v - 0.5)).cos())
                .sum::<f64>())
}

/// DTLZ2's distance function, summed left to right as Python does.
fn g_sphere(xm: &[f64]) -> f64 {
    xm.iter().fold(0.0, |a, v| a + (v - 0.5).powi(2))
}

/// The spherical front over angles `theta[j] * pi / 2` (`theta` in `[0, 1]`),
/// scaled by `1 + g`: the loop of `compare.py`'s `dtlz2`.
fn sphere(theta: &[f64], g: f64) -> Vec<f64> {
    (0..M)
        .map(|i| {
            let mut v = 1.0 + g;
            for t in &theta[..M - 1 - i] {
                v *= (t * PI / 2.0).cos();
            }
            if i > 0 {
                v *= (theta[M - 1 - i] * PI / 2.0).sin();
            }
            v
        })
        .collect()
}

fn dtlz1(x: &[f64]) -> Vec<f64> {
    let g = g_rastrigin(&x[M - 1..]);
    (0..M)
        .map(|i| {
            let mut v = 0.5 * (1.0 + g);
            for xj in &x[..M - 1 - i] {
                v *= xj;
            }
            if i > 0 {
                v *= 1.0 - x[M - 1 - i];
            }
            v
        })
        .collect()
}

fn dtlz2(x: &[f64]) -> Vec<f64> {
    sphere(&x[..M - 1], g_sphere(&x[M - 1..]))
}

fn dtlz3(x: &[f64]) -> Vec<f64> {
    sphere(&x[..M - 1], g_rastrigin(&x[M - 1..]))
}

fn dtlz4(x: &[f64]) -> Vec<f64> {
    let theta: Vec<f64> = x[..M - 1].iter().map(|v| v.powi(100)).collect();
    sphere(&theta, g_sphere(&x[M - 1..]))
}

/// DTLZ5/DTLZ6: the first angle is free, the others collapse towards pi/4
/// as `g` goes to 0, giving a curve as front.
fn degenerate(x: &[f64], g: f64) -> Vec<f64> {
    let mut theta = Vec::with_capacity(M - 1);
    theta.push(x[0]);
    for xi in &x[1..M - 1] {
        // In units of pi/2: pi / (4 (1 + g)) * (1 + 2 g x) / (pi / 2).
        theta.push((1.0 + 2.0 * g * xi) / (2.0 * (1.0 + g)));
    }
    sphere(&theta, g)
}

fn dtlz5(x: &[f64]) -> Vec<f64> {
    degenerate(x, g_sphere(&x[M - 1..]))
}

fn dtlz6(x: &[f64]) -> Vec<f64> {
    let g = x[M - 1..].iter().map(|v| v.powf(0.1)).sum();
    degenerate(x, g)
}

fn dtlz7(x: &[f64]) -> Vec<f64> {
    let xm = &x[M - 1..];
    let g = 1.0 + 9.0 / xm.len() as f64 * xm.iter().sum::<f64>();
    let mut f: Vec<f64> = x[..M - 1].to_vec();
    let h = M as f64
        - f.iter()
            .map(|fi| fi / (1.0 + g) * (1.0 + (3.0 * PI * fi).sin()))
            .sum::<f64>();
    f.push((1.0 + g) * h);
    f
}

// ----- runner ----------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: &[f64], b: &[f64]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= 1e-12)
    }

    #[test]
    fn names_and_lookup_agree() {
        assert_eq!(names().len(), PROBLEMS.len());
        for n in names() {
            let p = problem(n).unwrap();
            assert_eq!(&p.name, n);
            let x = vec![0.3; p.n_vars];
            let f = p.evaluate(&x);
            assert_eq!(f.len(), p.n_obj, "{n}");
            assert!(f.iter().all(|v| v.is_finite()), "{n}: {f:?}");
            assert_eq!(p.search_space().len(), p.n_vars);
            assert_eq!(
                p.objectives().names(),
                vec!["f1", "f2", "f3"][..p.n_obj].to_vec()
            );
        }
        assert!(problem("zdt5").is_none());
    }

    #[test]
    fn zdt_known_points() {
        let mut x = vec![0.0; 10];
        x[0] = 0.25;
        assert!(close(&problem("zdt1").unwrap().evaluate(&x), &[0.25, 0.5]));
        assert!(close(
            &problem("zdt2").unwrap().evaluate(&x),
            &[0.25, 0.9375]
        ));
        // sin(10 pi / 4) = sin(pi / 2 + 2 pi) = 1: 1 - 0.5 - 0.25.
        assert!(close(&problem("zdt3").unwrap().evaluate(&x), &[0.25, 0.25]));
        // g = 1 + 9 * 9 * 0.5 / 9 = 5.5 off the front.
        x[1..].fill(0.5);
        let g = 5.5;
        let f = problem("zdt1").unwrap().evaluate(&x);
        assert!(close(&f, &[0.25, g * (1.0 - (0.25f64 / g).sqrt())]));
    }

    #[test]
    fn zdt4_and_zdt6_fronts() {
        // ZDT4: optimum where the rescaled x1.. are 0, i.e. x = 0.5 -> g = 1.
        let mut x = vec![0.5; 10];
        x[0] = 0.36;
        assert!(close(&problem("zdt4").unwrap().evaluate(&x), &[0.36, 0.4]));
        // ZDT6: g = 1 when x1.. = 0, f2 = 1 - f1^2.
        let mut x = vec![0.0; 10];
        x[0] = 0.3;
        let f = problem("zdt6").unwrap().evaluate(&x);
        assert!((f[1] - (1.0 - f[0] * f[0])).abs() < 1e-12);
        assert!(f[0] > 0.0 && f[0] <= 1.0);
    }

    #[test]
    fn dtlz2_front_is_the_unit_sphere() {
        let p = problem("dtlz2").unwrap();
        assert_eq!(p.n_vars, 6);
        for (a, b) in [(0.0, 0.0), (0.3, 0.7), (1.0, 0.5), (0.123, 1.0)] {
            let f = p.evaluate(&[a, b, 0.5, 0.5, 0.5, 0.5]);
            let r: f64 = f.iter().map(|v| v * v).sum();
            assert!((r - 1.0).abs() < 1e-12, "{f:?}");
        }
        // Off the front the radius is 1 + g.
        let f = p.evaluate(&[0.3, 0.7, 1.0, 0.5, 0.5, 0.5]);
        let r: f64 = f.iter().map(|v| v * v).sum::<f64>().sqrt();
        assert!((r - 1.25).abs() < 1e-12);
        // Corner: x0 = 1 puts everything on f3.
        assert!(close(
            &p.evaluate(&[1.0, 0.3, 0.5, 0.5, 0.5, 0.5]),
            &[0.0, 0.0, 1.0]
        ));
    }

    #[test]
    fn dtlz_family_fronts() {
        let mid = |n: usize, a: f64, b: f64| {
            let mut x = vec![0.5; n];
            x[0] = a;
            x[1] = b;
            x
        };
        // DTLZ1: the plane f1 + f2 + f3 = 0.5.
        let f = problem("dtlz1").unwrap().evaluate(&mid(7, 0.3, 0.8));
        assert!((f.iter().sum::<f64>() - 0.5).abs() < 1e-12, "{f:?}");
        // DTLZ3 and DTLZ4: the unit sphere.
        for n in ["dtlz3", "dtlz4"] {
            let f = problem(n).unwrap().evaluate(&mid(12, 0.3, 0.8));
            assert!(
                (f.iter().map(|v| v * v).sum::<f64>() - 1.0).abs() < 1e-12,
                "{n} {f:?}"
            );
        }
        // DTLZ3 is multimodal: a local front at g = 100 * (k + ...) > 0.
        let mut x = mid(12, 0.3, 0.8);
        x[5] = 0.0;
        let f = problem("dtlz3").unwrap().evaluate(&x);
        assert!(f.iter().map(|v| v * v).sum::<f64>() > 1.5);
        // DTLZ5 on its front (g = 0): second angle is pi / 4, so f1 = f2
        // when the first angle is 0, and the point is on the unit sphere.
        let f = problem("dtlz5").unwrap().evaluate(&mid(12, 0.0, 0.9));
        assert!(
            (f[0] - f[1]).abs() < 1e-12
                && (f.iter().map(|v| v * v).sum::<f64>() - 1.0).abs() < 1e-12
        );
        // DTLZ6 on its front needs x_M = 0.
        let mut x = vec![0.0; 12];
        x[1] = 0.9;
        let f = problem("dtlz6").unwrap().evaluate(&x);
        assert!(
            (f.iter().map(|v| v * v).sum::<f64>() - 1.0).abs() < 1e-12,
            "{f:?}"
        );
        // DTLZ7: with x_M = 0, g = 1 and f3 = 2 * (3 - sum f_i/2 (1 + sin 3 pi f_i)).
        let mut x = vec![0.0; 22];
        x[0] = 0.5;
        x[1] = 0.5;
        let f = problem("dtlz7").unwrap().evaluate(&x);
        let h = 3.0 - 2.0 * (0.5 / 2.0 * (1.0 + (1.5 * PI).sin()));
        assert!(close(&f, &[0.5, 0.5, 2.0 * h]), "{f:?}");
    }
}
