//! `mixed`: a two-objective problem on a mixed space, for what the unit-cube
//! problems cannot exercise: integers, log-scaled floats and ints, and a
//! categorical choice that interacts with a float.
//!
//! | variable | type | optimum |
//! |----------|------|---------|
//! | `x0` | float in `[0, 1]` | anywhere: the position along the front |
//! | `x1`, `x2` | float in `[0, 1]` | 0 |
//! | `layers` | int in `1 ..= 16` | 6 |
//! | `width` | int in `8 ..= 512`, log | 64 |
//! | `lr` | float in `[1e-5, 1e-1]`, log | `1e-3` with `relu`, depends on `act` |
//! | `act` | categorical `relu`, `tanh`, `gelu`, `sigmoid` | `relu` |
//!
//! It is ZDT1 with a distance function of its own: `f1 = x0`,
//! `f2 = g (1 - sqrt(f1 / g))` with `g = 1 + 9 mean(t)` over six terms in
//! `[0, 1]`: `x1`, `x2`, `|layers - 6| / 10`, `((log2 width - 6) / 3)²`,
//! `min(1, ((log10 lr - o) / 2)²)` with `o` the best `log10 lr` of the
//! activation (`relu` −3, `tanh` −2, `gelu` −3.5, `sigmoid` −1.5), and the
//! activation's own penalty (`relu` 0, `tanh` 0.15, `gelu` 0.05, `sigmoid`
//! 0.4). The Pareto front is ZDT1's, `f2 = 1 - sqrt(f1)`, reached only with
//! `relu`, `lr = 1e-3`, `layers = 6`, `width = 64` and `x1 = x2 = 0`.

use std::collections::BTreeMap;

use paretosearch_core::{
    Direction, Distribution, Objective, Objectives, ParamValue, Params, SearchSpace,
};

use super::Mismatch;

/// The activations, with the best `log10 lr` and the penalty of each.
const ACTIVATIONS: &[(&str, f64, f64)] = &[
    ("relu", -3.0, 0.0),
    ("tanh", -2.0, 0.15),
    ("gelu", -3.5, 0.05),
    ("sigmoid", -1.5, 0.4),
];

/// The `mixed` problem; the module docs describe it.
#[derive(Clone, Copy, Debug)]
pub struct MixedProblem;

impl MixedProblem {
    /// Its name, as `[runner] problem` writes it.
    pub const NAME: &'static str = "mixed";

    /// The search space it is defined on.
    pub fn search_space(&self) -> SearchSpace {
        SearchSpace::builder()
            .float("x0", 0.0, 1.0)
            .float("x1", 0.0, 1.0)
            .float("x2", 0.0, 1.0)
            .int("layers", 1, 16)
            .int("width", 8, 512)
            .log()
            .float("lr", 1e-5, 1e-1)
            .log()
            .categorical("act", ACTIVATIONS.iter().map(|a| a.0))
            .build()
            .expect("the mixed problem's space is valid")
    }

    /// The objectives: `f1`, `f2`, both minimised.
    pub fn objectives(&self) -> Objectives {
        Objectives(
            ["f1", "f2"]
                .into_iter()
                .map(|name| Objective {
                    name: name.into(),
                    direction: Direction::Minimize,
                    constraint: None,
                    cheap: false,
                })
                .collect(),
        )
    }

    /// Evaluate a configuration; fails with a readable reason when a
    /// variable is missing or outside the problem's space.
    pub fn evaluate_params(&self, params: &Params) -> Result<BTreeMap<String, f64>, String> {
        let space = self.search_space();
        for p in space.params() {
            let v = params
                .get(&p.name)
                .ok_or_else(|| format!("parameter `{}` is missing; problem mixed needs x0, x1, x2, layers, width, lr and act", p.name))?;
            if !p.distribution.contains(v) {
                return Err(format!(
                    "parameter `{}` = {v} is outside problem mixed's space",
                    p.name
                ));
            }
        }
        let num = |name: &str| params[name].as_f64().expect("checked numeric");
        let act = match &params["act"] {
            ParamValue::Str(s) => s.as_str(),
            _ => unreachable!("checked against the choices"),
        };
        let (_, best_lr, penalty) = *ACTIVATIONS
            .iter()
            .find(|a| a.0 == act)
            .expect("checked against the choices");
        let terms = [
            num("x1"),
            num("x2"),
            (num("layers") - 6.0).abs() / 10.0,
            ((num("width").log2() - 6.0) / 3.0).powi(2),
            ((num("lr").log10() - best_lr) / 2.0).powi(2).min(1.0),
            penalty,
        ];
        let g = 1.0 + 9.0 * terms.iter().sum::<f64>() / terms.len() as f64;
        let f1 = num("x0");
        let f2 = g * (1.0 - (f1 / g).sqrt());
        Ok(BTreeMap::from([("f1".into(), f1), ("f2".into(), f2)]))
    }

    /// Check that a study's space gives every variable with the problem's
    /// type, within its range (choices among its choices), unconditionally,
    /// and asks only for `f1` and `f2`.
    pub fn check_study(&self, space: &SearchSpace, objectives: &[&str]) -> Result<(), Mismatch> {
        let own = self.search_space();
        for p in own.params() {
            let mismatch = |message: String| Mismatch {
                path: vec!["search_space".into(), p.name.clone()],
                message,
                help: format!(
                    "write {} as problem mixed defines it: {}",
                    p.name,
                    describe(&p.distribution)
                ),
            };
            let Some(q) = space.get(&p.name) else {
                return Err(Mismatch {
                    path: vec!["search_space".into()],
                    message: format!("built-in problem mixed needs `{}`", p.name),
                    help: format!("add {} = {}", p.name, describe(&p.distribution)),
                });
            };
            if !q.when.is_empty() {
                return Err(mismatch(format!(
                    "`{}` is conditional, and problem mixed needs it in every trial",
                    p.name
                )));
            }
            if !within(&q.distribution, &p.distribution) {
                return Err(mismatch(format!(
                    "`{}` is not within problem mixed's range",
                    p.name
                )));
            }
        }
        if let Some(o) = objectives.iter().find(|o| !["f1", "f2"].contains(o)) {
            return Err(Mismatch {
                path: vec!["objectives".into()],
                message: format!(
                    "objective `{}` is not reported by built-in problem mixed (it reports f1, f2)",
                    o.escape_default()
                ),
                help: "name the objectives f1, f2".into(),
            });
        }
        Ok(())
    }
}

/// Whether every value `inner` can take is one `outer` allows.
fn within(inner: &Distribution, outer: &Distribution) -> bool {
    match (inner, outer) {
        (Distribution::Float { low, high, .. }, Distribution::Float { .. }) => {
            outer.contains(&ParamValue::Float(*low)) && outer.contains(&ParamValue::Float(*high))
        }
        (Distribution::Int { low, high, .. }, _) => {
            outer.contains(&ParamValue::Int(*low)) && outer.contains(&ParamValue::Int(*high))
        }
        (Distribution::Categorical { choices }, _) => choices.iter().all(|c| outer.contains(c)),
        (Distribution::Float { .. }, _) => false,
    }
}

/// A distribution as a study file writes it.
fn describe(d: &Distribution) -> String {
    match d {
        Distribution::Float { low, high, log, .. } => format!(
            "{{ type = \"float\", low = {low:e}, high = {high:e}{} }}",
            if *log { ", log = true" } else { "" }
        ),
        Distribution::Int { low, high, log, .. } => format!(
            "{{ type = \"int\", low = {low}, high = {high}{} }}",
            if *log { ", log = true" } else { "" }
        ),
        Distribution::Categorical { choices } => {
            let c: Vec<String> = choices.iter().map(|c| c.to_json().to_string()).collect();
            format!("{{ type = \"categorical\", choices = [{}] }}", c.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(x0: f64, layers: i64, width: i64, lr: f64, act: &str) -> Params {
        Params::from([
            ("x0".into(), ParamValue::Float(x0)),
            ("x1".into(), ParamValue::Float(0.0)),
            ("x2".into(), ParamValue::Float(0.0)),
            ("layers".into(), ParamValue::Int(layers)),
            ("width".into(), ParamValue::Int(width)),
            ("lr".into(), ParamValue::Float(lr)),
            ("act".into(), ParamValue::Str(act.into())),
        ])
    }

    #[test]
    fn the_optimum_lies_on_zdt1s_front_and_act_moves_the_best_lr() {
        let p = MixedProblem;
        let f = p.evaluate_params(&at(0.25, 6, 64, 1e-3, "relu")).unwrap();
        assert!(
            (f["f1"] - 0.25).abs() < 1e-12 && (f["f2"] - 0.5).abs() < 1e-12,
            "{f:?}"
        );
        // tanh: g = 1 + 9 * 0.15 / 6 at its best lr, worse at relu's.
        let tanh_best = p.evaluate_params(&at(0.25, 6, 64, 1e-2, "tanh")).unwrap();
        let g = 1.0 + 9.0 * 0.15 / 6.0;
        assert!((tanh_best["f2"] - g * (1.0 - (0.25f64 / g).sqrt())).abs() < 1e-12);
        let tanh_off = p.evaluate_params(&at(0.25, 6, 64, 1e-3, "tanh")).unwrap();
        assert!(tanh_off["f2"] > tanh_best["f2"]);
        // layers 16, width 512: terms 1.0 and 1.0.
        let far = p.evaluate_params(&at(0.0, 16, 512, 1e-3, "relu")).unwrap();
        assert!(
            (far["f2"] - (1.0 + 9.0 * 2.0 / 6.0)).abs() < 1e-12,
            "{far:?}"
        );
    }

    #[test]
    fn values_outside_the_space_fail_and_studies_are_checked() {
        let p = MixedProblem;
        let mut params = at(0.5, 6, 64, 1e-3, "relu");
        params.insert("act".into(), ParamValue::Str("swish".into()));
        assert!(p.evaluate_params(&params).unwrap_err().contains("`act`"));
        params.remove("act");
        assert!(p.evaluate_params(&params).unwrap_err().contains("missing"));

        let space = p.search_space();
        assert!(p.check_study(&space, &["f1", "f2"]).is_ok());
        assert_eq!(
            p.check_study(&space, &["f3"]).unwrap_err().path,
            vec!["objectives"]
        );
        let narrow = SearchSpace::builder()
            .float("x0", 0.0, 1.0)
            .float("x1", 0.0, 0.5)
            .float("x2", 0.0, 1.0)
            .int("layers", 2, 8)
            .int("width", 8, 512)
            .float("lr", 1e-4, 1e-2)
            .log()
            .categorical("act", ["relu", "gelu"])
            .build()
            .unwrap();
        assert!(p.check_study(&narrow, &["f1"]).is_ok());
        let wide = SearchSpace::builder()
            .float("x0", 0.0, 1.0)
            .float("x1", 0.0, 1.0)
            .float("x2", 0.0, 1.0)
            .int("layers", 0, 16)
            .int("width", 8, 512)
            .float("lr", 1e-5, 1e-1)
            .categorical("act", ["relu"])
            .build()
            .unwrap();
        let e = p.check_study(&wide, &["f1"]).unwrap_err();
        assert_eq!(e.path, vec!["search_space", "layers"], "{e:?}");
        assert!(
            e.help.contains("type = \"int\", low = 1, high = 16"),
            "{}",
            e.help
        );
    }
}
