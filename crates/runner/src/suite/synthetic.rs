//! The suite's synthetic problems: architecture spaces of categorical
//! choices (`cells`, `arch`), a conditional space of model families
//! (`families`) and a constrained ZDT1 (`zdt1-memory`).
//!
//! `cells` and `arch` are defined operation for operation as in
//! `bench/compare_samplers.py`, which runs Optuna on them; their reference
//! points are the true front's nadir plus 10 % of its range, the true front
//! found by enumerating the space (15,625 and 129,600 configurations).
//!
//! `families` chooses one of three model families, each with two
//! parameters of its own (active only for it) and a learning rate shared
//! by all, whose best value depends on the family:
//!
//! | family | own parameters | error | cost |
//! |---|---|---|---|
//! | `mlp` | `mlp_width` 8–512 (log), `mlp_depth` 1–8 | `0.35 + 0.45 (1 − s)² + 0.3 ((d − 3) / 5)²` | `0.05 + 0.5 s + 0.05 d` |
//! | `cnn` | `cnn_channels` 4–256 (log), `cnn_kernel` 3 \| 5 \| 7 | `0.15 + 0.7 (1 − s)^1.5 + k_e` | `0.15 + 0.35 s k_c` |
//! | `gbt` | `gbt_trees` 10–2000 (log), `gbt_depth` 2–12 | `0.3 + 0.3 (1 − s)³ + 0.2 ((d − 6) / 6)²` | `0.02 + 0.3 s + 0.02 d` |
//!
//! with `s` the size parameter's position on its log range, the kernel's
//! error and cost terms `k_e` = 0, 0.03, 0.08 and `k_c` = 1, 1.6, 2.4,
//! plus `min(0.5, 0.1 (log10 lr − o)²)` on the error with `o` = −3 (mlp),
//! −2.5 (cnn), −1 (gbt). The front is pieced together from the families:
//! boosted trees where cost matters, convolutions where error does.
//!
//! `zdt1-memory` is ZDT1 on six variables with a third objective, memory
//! `0.2 + 0.8 (1 − x1)`, bounded above by 0.7: the bound forces
//! `x1 ≥ 0.375`, which the unconstrained optimum (`x1 = 0`) violates, so
//! the feasible front lies on the bound's edge.

use std::sync::OnceLock;

use paretosearch_core::pareto::pareto_front;
use paretosearch_core::{ParamValue, Params, SearchSpace};

/// The synthetic problems.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Which {
    Families,
    Cells,
    Arch,
    Memory,
}

/// Operations of an edge of `cells`: accuracy contribution, latency, size.
/// The operations of an edge of `cells`.
pub const OPS: [&str; 5] = ["none", "skip", "conv1", "conv3", "pool"];
const OP_ACC: [f64; 5] = [0.0, 0.25, 0.55, 0.85, 0.35];
const OP_LAT: [f64; 5] = [0.0, 0.05, 0.4, 1.2, 0.2];
const OP_SIZE: [f64; 5] = [0.0, 0.0, 1.0, 3.0, 0.0];
const EDGE_WEIGHT: [f64; 6] = [1.0, 0.8, 0.6, 1.0, 0.7, 0.5];

/// Choices per parameter of `arch`.
pub const ARCH_CHOICES: [usize; 8] = [3, 4, 5, 6, 3, 4, 5, 6];

/// `cells` at choice indices `o` (six edges): error, latency, size.
pub fn cells(o: &[usize]) -> Vec<f64> {
    let mut score: f64 = (0..6).map(|e| EDGE_WEIGHT[e] * OP_ACC[o[e]]).sum();
    score += 0.3 * (0..5).filter(|&e| o[e] == 3 && o[e + 1] == 1).count() as f64;
    if o[0] == 0 && o[1] == 0 {
        score -= 0.4;
    }
    if o[2] == 4 && o[5] == 2 {
        score += 0.2;
    }
    let mut latency: f64 = o.iter().map(|&k| OP_LAT[k]).sum();
    if o[3] == 3 && o[4] == 3 {
        latency += 0.3;
    }
    vec![(-score).exp(), latency, o.iter().map(|&k| OP_SIZE[k]).sum()]
}

/// A number in `[0, 1)` from three small integers (an integer hash, so the
/// Python side of `bench/compare_samplers.py` computes the same table).
fn arch_hash(a: usize, b: usize, c: usize) -> f64 {
    let mut h =
        ((a as u64 * 73_856_093) ^ (b as u64 * 19_349_663) ^ (c as u64 * 83_492_791)) & 0xFFFF_FFFF;
    h = (h * 2_654_435_761) & 0xFFFF_FFFF;
    h ^= h >> 15;
    h as f64 / 4_294_967_296.0
}

/// `arch` at choice indices `o`: eight choices of 3-6 options, each a level
/// (accuracy and cost grow with it) plus hashed per-choice terms, and a
/// bonus for some pairs of neighbouring choices; error, latency, size.
pub fn arch(o: &[usize]) -> Vec<f64> {
    let (mut score, mut latency, mut size) = (0.0, 0.0, 0.0);
    for (k, &j) in o.iter().enumerate() {
        let level = j as f64 / (ARCH_CHOICES[k] - 1) as f64;
        score += 0.5 * level + 0.5 * arch_hash(k, j, 1);
        latency += level + 0.3 * arch_hash(k, j, 2);
        size += level * level;
    }
    for k in 0..7 {
        if arch_hash(k, o[k], 10 + o[k + 1]) > 0.8 {
            score += 0.6;
        }
    }
    vec![(-score / 2.0).exp(), latency, size]
}

/// Every configuration of a space of `choices[i]` options per parameter.
fn enumerate(choices: &[usize], f: fn(&[usize]) -> Vec<f64>) -> Vec<Vec<f64>> {
    let total: usize = choices.iter().product();
    let mut out = Vec::with_capacity(total);
    let mut o = vec![0; choices.len()];
    for _ in 0..total {
        out.push(f(&o));
        for (k, c) in choices.iter().enumerate() {
            o[k] += 1;
            if o[k] < *c {
                break;
            }
            o[k] = 0;
        }
    }
    out
}

/// The true front's nadir plus 10 % of its range.
fn enumerated_reference(choices: &[usize], f: fn(&[usize]) -> Vec<f64>) -> Vec<f64> {
    let points = enumerate(choices, f);
    let front = pareto_front(&points);
    let m = points[0].len();
    (0..m)
        .map(|j| {
            let lo = front
                .iter()
                .map(|&i| points[i][j])
                .fold(f64::INFINITY, f64::min);
            let hi = front
                .iter()
                .map(|&i| points[i][j])
                .fold(f64::NEG_INFINITY, f64::max);
            hi + 0.1 * (hi - lo)
        })
        .collect()
}

/// Index of a categorical value among `choices`.
fn index_of(v: &ParamValue, choices: &[String]) -> usize {
    match v {
        ParamValue::Str(s) => choices
            .iter()
            .position(|c| c == s)
            .expect("a value of the space"),
        other => panic!("a categorical value, got {other}"),
    }
}

fn num(params: &Params, name: &str) -> f64 {
    params
        .get(name)
        .and_then(ParamValue::as_f64)
        .unwrap_or_else(|| panic!("`{name}` is a number of the space"))
}

/// Position of `v` on the log range `[lo, hi]`.
fn log_pos(v: f64, lo: f64, hi: f64) -> f64 {
    (v / lo).ln() / (hi / lo).ln()
}

const KERNELS: [i64; 3] = [3, 5, 7];

fn families(params: &Params) -> Vec<f64> {
    let lr_penalty = |best: f64| (0.1 * (num(params, "lr").log10() - best).powi(2)).min(0.5);
    match &params["family"] {
        ParamValue::Str(f) if f == "mlp" => {
            let s = log_pos(num(params, "mlp_width"), 8.0, 512.0);
            let d = num(params, "mlp_depth");
            vec![
                0.35 + 0.45 * (1.0 - s).powi(2)
                    + 0.3 * ((d - 3.0) / 5.0).powi(2)
                    + lr_penalty(-3.0),
                0.05 + 0.5 * s + 0.05 * d,
            ]
        }
        ParamValue::Str(f) if f == "cnn" => {
            let s = log_pos(num(params, "cnn_channels"), 4.0, 256.0);
            let k = match &params["cnn_kernel"] {
                ParamValue::Int(k) => KERNELS.iter().position(|c| c == k),
                _ => None,
            }
            .expect("a kernel of the space");
            let (ke, kc) = ([0.0, 0.03, 0.08][k], [1.0, 1.6, 2.4][k]);
            vec![
                0.15 + 0.7 * (1.0 - s).powf(1.5) + ke + lr_penalty(-2.5),
                0.15 + 0.35 * s * kc,
            ]
        }
        _ => {
            let s = log_pos(num(params, "gbt_trees"), 10.0, 2000.0);
            let d = num(params, "gbt_depth");
            vec![
                0.3 + 0.3 * (1.0 - s).powi(3) + 0.2 * ((d - 6.0) / 6.0).powi(2) + lr_penalty(-1.0),
                0.02 + 0.3 * s + 0.02 * d,
            ]
        }
    }
}

fn memory(params: &Params) -> Vec<f64> {
    let x: Vec<f64> = (0..6).map(|i| num(params, &format!("x{i}"))).collect();
    let g = 1.0 + 9.0 * x[1..].iter().sum::<f64>() / 5.0;
    vec![
        x[0],
        g * (1.0 - (x[0] / g).sqrt()),
        0.2 + 0.8 * (1.0 - x[1]),
    ]
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_string()).collect()
}

fn arch_options(k: usize) -> Vec<String> {
    (0..ARCH_CHOICES[k]).map(|j| format!("o{j}")).collect()
}

impl Which {
    pub(super) fn search_space(self) -> SearchSpace {
        let mut b = SearchSpace::builder();
        match self {
            Which::Cells => {
                for i in 0..6 {
                    b = b.categorical(format!("x{i}"), OPS);
                }
            }
            Which::Arch => {
                for k in 0..8 {
                    b = b.categorical(format!("x{k}"), arch_options(k));
                }
            }
            Which::Families => {
                b = b
                    .categorical("family", ["mlp", "cnn", "gbt"])
                    .float("lr", 1e-4, 1.0)
                    .log()
                    .int("mlp_width", 8, 512)
                    .log()
                    .when("family", "mlp")
                    .int("mlp_depth", 1, 8)
                    .when("family", "mlp")
                    .int("cnn_channels", 4, 256)
                    .log()
                    .when("family", "cnn")
                    .categorical("cnn_kernel", KERNELS)
                    .when("family", "cnn")
                    .int("gbt_trees", 10, 2000)
                    .log()
                    .when("family", "gbt")
                    .int("gbt_depth", 2, 12)
                    .when("family", "gbt");
            }
            Which::Memory => {
                for i in 0..6 {
                    b = b.float(format!("x{i}"), 0.0, 1.0);
                }
            }
        }
        b.build().expect("the suite's spaces are valid")
    }

    pub(super) fn objective_names(self) -> &'static [&'static str] {
        match self {
            Which::Cells | Which::Arch => &["error", "latency", "size"],
            Which::Families => &["error", "cost"],
            Which::Memory => &["f1", "f2", "memory"],
        }
    }

    /// Upper bounds on the objectives (feasibility), in objective order.
    pub(super) fn bounds(self) -> Vec<Option<f64>> {
        match self {
            Which::Memory => vec![None, None, Some(0.7)],
            _ => vec![None; self.objective_names().len()],
        }
    }

    pub(super) fn reference(self) -> Vec<f64> {
        static CELLS: OnceLock<Vec<f64>> = OnceLock::new();
        static ARCH: OnceLock<Vec<f64>> = OnceLock::new();
        match self {
            Which::Cells => CELLS
                .get_or_init(|| enumerated_reference(&[5; 6], cells))
                .clone(),
            Which::Arch => ARCH
                .get_or_init(|| enumerated_reference(&ARCH_CHOICES, arch))
                .clone(),
            Which::Families => vec![1.0, 1.0],
            // f2 reaches 1.675 - sqrt(1.675) = 0.38 at x0 = 1 on the bound
            // and 1.675 at x0 = 0; memory is at most 0.7 where feasible.
            Which::Memory => vec![1.1, 1.8, 0.75],
        }
    }

    pub(super) fn evaluate(self, params: &Params) -> Vec<f64> {
        let choices = |n: usize, options: &dyn Fn(usize) -> Vec<String>| -> Vec<usize> {
            (0..n)
                .map(|k| index_of(&params[&format!("x{k}")], &options(k)))
                .collect()
        };
        match self {
            Which::Cells => cells(&choices(6, &|_| strings(&OPS))),
            Which::Arch => arch(&choices(8, &arch_options)),
            Which::Families => families(params),
            Which::Memory => memory(params),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(items: &[(&str, ParamValue)]) -> Params {
        items
            .iter()
            .map(|(k, v)| ((*k).to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn cells_by_hand() {
        // conv3 then skip on edges 0-1 (the +0.3 pair), none elsewhere.
        let f = cells(&[3, 1, 0, 0, 0, 0]);
        let score = 1.0 * 0.85 + 0.8 * 0.25 + 0.3;
        assert!((f[0] - f64::exp(-score)).abs() < 1e-12);
        assert!((f[1] - 1.25).abs() < 1e-12);
        assert_eq!(f[2], 3.0);
        // The empty cell is penalised: both first edges `none`.
        assert!((cells(&[0; 6])[0] - f64::exp(0.4)).abs() < 1e-12);
    }

    #[test]
    fn enumeration_visits_every_configuration_once() {
        let pts = enumerate(&[2, 3], |o| vec![o[0] as f64, o[1] as f64]);
        let mut seen: Vec<(i64, i64)> = pts.iter().map(|p| (p[0] as i64, p[1] as i64)).collect();
        seen.sort_unstable();
        assert_eq!(seen, [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]);
        // reference: front {(0, 0)} has zero range: nadir itself.
        assert_eq!(
            enumerated_reference(&[2, 3], |o| vec![o[0] as f64, o[1] as f64]),
            [0.0, 0.0]
        );
    }

    #[test]
    fn families_follow_their_table() {
        let p = params(&[
            ("family", ParamValue::Str("cnn".into())),
            ("lr", ParamValue::Float(10f64.powf(-2.5))),
            ("cnn_channels", ParamValue::Int(256)),
            ("cnn_kernel", ParamValue::Int(5)),
        ]);
        let f = families(&p);
        assert!((f[0] - (0.15 + 0.03)).abs() < 1e-12, "{f:?}");
        assert!((f[1] - (0.15 + 0.35 * 1.6)).abs() < 1e-12, "{f:?}");
        let p = params(&[
            ("family", ParamValue::Str("gbt".into())),
            ("lr", ParamValue::Float(1.0)),
            ("gbt_trees", ParamValue::Int(10)),
            ("gbt_depth", ParamValue::Int(6)),
        ]);
        let f = families(&p);
        assert!((f[0] - (0.3 + 0.3 + 0.1)).abs() < 1e-12, "{f:?}");
        assert!((f[1] - (0.02 + 0.12)).abs() < 1e-12, "{f:?}");
    }

    #[test]
    fn the_memory_bound_cuts_the_unconstrained_optimum() {
        let at = |x1: f64| {
            let mut p: Params = (0..6)
                .map(|i| (format!("x{i}"), ParamValue::Float(0.0)))
                .collect();
            p.insert("x1".into(), ParamValue::Float(x1));
            memory(&p)[2]
        };
        assert!(at(0.0) > 0.7);
        assert!((at(0.375) - 0.7).abs() < 1e-12);
    }
}
