//! Checking a study against a built-in problem before any trial runs:
//! every variable present, numeric, within `[0, 1]` and unconditional, and
//! every objective one the problem reports. Otherwise every trial would
//! fail the same way; `check` and `run` refuse the file instead.

use paretosearch_core::{Distribution, SearchSpace};

use super::Problem;

/// Why a study's space or objectives cannot drive a built-in problem,
/// found before any trial runs (`check`, `run`).
#[derive(Clone, Debug, PartialEq)]
pub struct Mismatch {
    /// Where in the study file: `["search_space", "x3"]`, `["objectives"]`.
    pub path: Vec<String>,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub help: String,
}

impl Problem {
    /// Check that `space` gives every variable `x0 .. x{n-1}` as an
    /// unconditional number within `[0, 1]` and that every objective in
    /// `objectives` is one this problem reports; otherwise every trial
    /// would fail the same way.
    pub fn check_study(&self, space: &SearchSpace, objectives: &[&str]) -> Result<(), Mismatch> {
        let last = self.n_vars - 1;
        for name in self.variable_names() {
            let Some(p) = space.get(&name) else {
                return Err(Mismatch {
                    path: vec!["search_space".into()],
                    message: format!(
                        "built-in problem {} takes {} variables x0 .. x{last}, and the search space has no `{name}`",
                        self.name, self.n_vars
                    ),
                    help: format!(
                        "add {name} = {{ type = \"float\", low = 0.0, high = 1.0 }} (and every other x up to x{last})"
                    ),
                });
            };
            let at = vec!["search_space".to_string(), name.clone()];
            let (low, high) = match &p.distribution {
                Distribution::Float { low, high, .. } => (*low, *high),
                Distribution::Int { low, high, .. } => (*low as f64, *high as f64),
                // An exported trial's file fixes each variable as a
                // one-choice categorical: numbers are fine.
                Distribution::Categorical { choices }
                    if choices.iter().all(|c| c.as_f64().is_some()) =>
                {
                    let xs = choices.iter().filter_map(|c| c.as_f64());
                    (
                        xs.clone().fold(f64::INFINITY, f64::min),
                        xs.fold(f64::NEG_INFINITY, f64::max),
                    )
                }
                Distribution::Categorical { .. } => {
                    return Err(Mismatch {
                        path: at,
                        message: format!("`{name}` must be a number for problem {}", self.name),
                        help: format!(
                            "write {name} = {{ type = \"float\", low = 0.0, high = 1.0 }}"
                        ),
                    })
                }
            };
            if low < 0.0 || high > 1.0 {
                return Err(Mismatch {
                    path: at,
                    message: format!(
                        "`{name}` spans [{low}, {high}], and problem {} is defined on [0, 1]",
                        self.name
                    ),
                    help: "use bounds within low = 0.0 and high = 1.0".into(),
                });
            }
            if !p.when.is_empty() {
                return Err(Mismatch {
                    path: at,
                    message: format!(
                        "`{name}` is conditional, and problem {} needs it in every trial",
                        self.name
                    ),
                    help: format!("remove `when` from {name}"),
                });
            }
        }
        let produced = self.objective_names();
        if let Some(o) = objectives
            .iter()
            .find(|o| !produced.iter().any(|p| p == *o))
        {
            return Err(Mismatch {
                path: vec!["objectives".into()],
                message: format!(
                    "objective `{}` is not reported by built-in problem {} (it reports {})",
                    o.escape_default(),
                    self.name,
                    produced.join(", ")
                ),
                help: format!("name the objectives {}", produced.join(", ")),
            });
        }
        Ok(())
    }
}
