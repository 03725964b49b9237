//! `digits`: a tabular problem recorded from the project's own torch runner
//! (`bench/data/digits_mlp.csv`, written by `scripts/record-digits-table.sh`):
//! every configuration of a 360-point MLP grid on the embedded digits,
//! trained with three seeds. A mostly categorical space (width, layers,
//! activation, optimiser, learning rate, all categorical), two objectives
//! (validation error, parameters), and real training noise: a trial
//! observes the error of one training seed (drawn from the trial's noise
//! seed), while its truth is the mean over the three.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use paretosearch_core::pareto::pareto_front;
use paretosearch_core::{ParamValue, Params, SearchSpace};

const CSV: &str = include_str!("../../../../bench/data/digits_mlp.csv");

const WIDTHS: [i64; 5] = [16, 32, 64, 128, 256];
const LAYERS: [i64; 3] = [1, 2, 3];
const ACTIVATIONS: [&str; 3] = ["relu", "tanh", "gelu"];
const OPTIMIZERS: [&str; 2] = ["adam", "sgd"];
const LRS: [f64; 4] = [0.001, 0.003, 0.01, 0.03];

/// A configuration's key: indices into the grid's axes.
type Key = [usize; 5];

/// The recorded table: per configuration, the error of each seed and the
/// parameter count.
struct Table {
    rows: BTreeMap<Key, (Vec<f64>, f64)>,
}

fn position<T: PartialEq>(axis: &[T], v: &T) -> Option<usize> {
    axis.iter().position(|a| a == v)
}

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut rows: BTreeMap<Key, (Vec<f64>, f64)> = BTreeMap::new();
        let mut lines = CSV.lines().filter(|l| !l.starts_with('#'));
        let header: Vec<&str> = lines.next().expect("a header").split(',').collect();
        let col = |name: &str| {
            header
                .iter()
                .position(|h| *h == name)
                .unwrap_or_else(|| panic!("digits_mlp.csv has no column {name}"))
        };
        let (w, l, a, o, r, e, p) = (
            col("width"),
            col("layers"),
            col("activation"),
            col("optimizer"),
            col("lr"),
            col("val_error"),
            col("params"),
        );
        for line in lines.filter(|l| !l.trim().is_empty()) {
            let f: Vec<&str> = line.split(',').collect();
            let num = |i: usize| f[i].parse::<f64>().expect("a number in digits_mlp.csv");
            let key = [
                position(&WIDTHS, &(num(w) as i64)).expect("a grid width"),
                position(&LAYERS, &(num(l) as i64)).expect("a grid depth"),
                position(&ACTIVATIONS, &f[a]).expect("a grid activation"),
                position(&OPTIMIZERS, &f[o]).expect("a grid optimizer"),
                LRS.iter()
                    .position(|x| (x - num(r)).abs() < 1e-12)
                    .expect("a grid learning rate"),
            ];
            let entry = rows.entry(key).or_insert_with(|| (Vec::new(), num(p)));
            entry.0.push(num(e));
        }
        Table { rows }
    })
}

pub(super) fn search_space() -> SearchSpace {
    SearchSpace::builder()
        .categorical("width", WIDTHS)
        .categorical("layers", LAYERS)
        .categorical("activation", ACTIVATIONS)
        .categorical("optimizer", OPTIMIZERS)
        .categorical("lr", LRS)
        .build()
        .expect("the digits grid is a valid space")
}

pub(super) const OBJECTIVES: [&str; 2] = ["error", "params"];

fn key_of(params: &Params) -> Key {
    let int = |name: &str, axis: &[i64]| match &params[name] {
        ParamValue::Int(v) => position(axis, v),
        _ => None,
    };
    let string = |name: &str, axis: &[&str]| match &params[name] {
        ParamValue::Str(v) => position(axis, &v.as_str()),
        _ => None,
    };
    let lr = params["lr"]
        .as_f64()
        .and_then(|v| LRS.iter().position(|x| (x - v).abs() < 1e-12));
    [
        int("width", &WIDTHS),
        int("layers", &LAYERS),
        string("activation", &ACTIVATIONS),
        string("optimizer", &OPTIMIZERS),
        lr,
    ]
    .map(|k| k.expect("a configuration of the digits grid"))
}

/// Observed (one seed's error, drawn by `noise_seed`) and true (mean
/// error) values.
pub(super) fn evaluate(params: &Params, noise_seed: u64) -> (Vec<f64>, Vec<f64>) {
    let (errors, size) = &table().rows[&key_of(params)];
    let mean = errors.iter().sum::<f64>() / errors.len() as f64;
    let drawn = errors[(noise_seed % errors.len() as u64) as usize];
    (vec![drawn, *size], vec![mean, *size])
}

/// The true front's nadir plus 10 % of its range.
pub(super) fn reference() -> Vec<f64> {
    static REF: OnceLock<Vec<f64>> = OnceLock::new();
    REF.get_or_init(|| {
        let points: Vec<Vec<f64>> = table()
            .rows
            .values()
            .map(|(e, p)| vec![e.iter().sum::<f64>() / e.len() as f64, *p])
            .collect();
        let front = pareto_front(&points);
        (0..2)
            .map(|j| {
                let vals = front.iter().map(|&i| points[i][j]);
                let lo = vals.clone().fold(f64::INFINITY, f64::min);
                let hi = vals.fold(f64::NEG_INFINITY, f64::max);
                hi + 0.1 * (hi - lo)
            })
            .collect()
    })
    .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_holds_every_grid_point_with_three_seeds() {
        let t = table();
        assert_eq!(t.rows.len(), 5 * 3 * 3 * 2 * 4);
        assert!(t.rows.values().all(|(e, p)| e.len() == 3 && *p > 0.0));
        assert!(t
            .rows
            .values()
            .all(|(e, _)| e.iter().all(|v| (0.0..=1.0).contains(v))));
    }

    #[test]
    fn observations_are_seeds_and_the_truth_their_mean() {
        let p: Params = [
            ("width", ParamValue::Int(16)),
            ("layers", ParamValue::Int(1)),
            ("activation", ParamValue::Str("relu".into())),
            ("optimizer", ParamValue::Str("adam".into())),
            ("lr", ParamValue::Float(0.001)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let (errors, size) = &table().rows[&[0, 0, 0, 0, 0]];
        let mean = errors.iter().sum::<f64>() / 3.0;
        for s in 0..3 {
            let (obs, truth) = evaluate(&p, s);
            assert_eq!(obs, vec![errors[s as usize], *size]);
            assert!((truth[0] - mean).abs() < 1e-15);
        }
        // Recorded seeds differ: the table has training noise.
        assert!(table().rows.values().any(|(e, _)| e[0] != e[1]));
    }
}
