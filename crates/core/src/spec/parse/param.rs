//! One parameter of `[search_space]`: its type, bounds, choices, step,
//! monotonicity and `when` conditions, read from its table.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::super::locate::suggest;
use super::super::walk::Field;
use super::super::SpecError;
use crate::space::validate::{self, Syntax};
use crate::space::{Condition, Distribution, Monotone, Param, ParamValue};

const NUMERIC_PARAM_KEYS: &[&str] = &["type", "low", "high", "log", "step", "when", "monotone"];
const CATEGORICAL_PARAM_KEYS: &[&str] = &["type", "choices", "when"];

/// A parameter read from a file, with what later checks need to point at it.
pub(super) struct RawParam {
    pub param: Param,
    pub file: PathBuf,
    /// Position of the parameter's key.
    pub at: (Option<usize>, Option<usize>),
    /// Positions of `when.<parent>` values.
    pub when_at: BTreeMap<String, (Option<usize>, Option<usize>)>,
}

impl RawParam {
    pub fn error(
        &self,
        sub: &str,
        message: impl Into<String>,
        help: impl Into<String>,
    ) -> SpecError {
        let (line, column) = if let Some(p) = sub.strip_prefix("when.") {
            self.when_at.get(p).copied().unwrap_or(self.at)
        } else {
            self.at
        };
        let field = if sub.is_empty() {
            format!("search_space.{}", self.param.name)
        } else {
            format!("search_space.{}.{sub}", self.param.name)
        };
        SpecError {
            file: self.file.clone(),
            line,
            column,
            field,
            message: message.into(),
            help: Some(help.into()),
        }
    }
}

fn param_type_hint(key: &str) -> Option<String> {
    match key {
        "low" | "high" | "log" | "step" | "monotone" => Some(format!(
            "`{key}` applies to float and int parameters; a categorical parameter takes `choices`"
        )),
        "choices" => {
            Some("`choices` applies to categorical parameters; use type = \"categorical\"".into())
        }
        _ => None,
    }
}

pub(super) fn parse_param(name: &str, f: &Field<'_>) -> Result<RawParam, SpecError> {
    if let Err(fault) = validate::check_name(name) {
        return Err(f.src.error(
            f.key_span.as_ref().or(f.span.as_ref()),
            &f.path,
            fault.message,
            fault.help,
        ));
    }
    let t = f.table(
        "write a parameter as a table, e.g. x = { type = \"float\", low = 0.0, high = 1.0 }",
    )?;
    let at = f.src.position(f.key_span.as_ref().or(f.span.as_ref()));
    let ty_f = t.require("type", "add type = \"float\", \"int\" or \"categorical\"")?;
    let ty = ty_f.str()?;
    let types = ["float", "int", "categorical"];
    if !types.contains(&ty) {
        let help = match suggest(ty, &types) {
            Some(s) => format!("did you mean \"{s}\"?"),
            None => "use \"float\", \"int\" or \"categorical\"".into(),
        };
        return Err(ty_f.err(format!("unknown parameter type \"{ty}\""), help));
    }
    let known = if ty == "categorical" {
        CATEGORICAL_PARAM_KEYS
    } else {
        NUMERIC_PARAM_KEYS
    };
    t.deny_unknown(known, param_type_hint)?;

    let distribution = match ty {
        "float" => {
            let low = t.require("low", "add low = <lower bound>")?.float()?;
            let high = t.require("high", "add high = <upper bound>")?.float()?;
            let log = t.get("log").map(|f| f.bool()).transpose()?.unwrap_or(false);
            let step = t.get("step").map(|f| f.float()).transpose()?;
            Distribution::Float {
                low,
                high,
                log,
                step,
            }
        }
        "int" => {
            let int_bound = |key: &str| -> Result<i64, SpecError> {
                let f = t.require(key, &format!("add {key} = <whole number>"))?;
                f.int().map_err(|_| {
                    f.err(
                        format!(
                            "bounds of an int parameter must be integers, found {}",
                            f.found()
                        ),
                        "write whole numbers, or use type = \"float\"",
                    )
                })
            };
            let low = int_bound("low")?;
            let high = int_bound("high")?;
            let log = t.get("log").map(|f| f.bool()).transpose()?.unwrap_or(false);
            let step = match t.get("step") {
                Some(f) => f.int().map_err(|_| {
                    f.err(
                        format!(
                            "the step of an int parameter must be an integer, found {}",
                            f.found()
                        ),
                        "write a whole number such as 2, or use type = \"float\"",
                    )
                })?,
                None => 1,
            };
            Distribution::Int {
                low,
                high,
                log,
                step,
            }
        }
        _ => {
            let help = "write choices = [\"a\", \"b\"] (strings, numbers or booleans)";
            let cf = t.require("choices", help)?;
            let mut choices: Vec<ParamValue> = Vec::new();
            for e in cf.elements(help)? {
                let v = e.param_value()?;
                if choices.iter().any(|c| c.loosely_equals(&v)) {
                    return Err(e.err(
                        format!("choice `{v}` appears twice"),
                        "remove the repeated choice",
                    ));
                }
                choices.push(v);
            }
            Distribution::Categorical { choices }
        }
    };
    if let Err(fault) = validate::check_distribution(&distribution, Syntax::Toml) {
        let ff = t.get(&fault.field).unwrap_or_else(|| f.clone());
        // A missing `step` (int default) points at the parameter itself.
        return Err(ff.src.error(
            ff.span.as_ref(),
            &format!("search_space.{name}.{}", fault.field),
            fault.message,
            fault.help,
        ));
    }

    let monotone = match t.get("monotone") {
        Some(f) => match f.str()? {
            "increasing" => Some(Monotone::Increasing),
            "decreasing" => Some(Monotone::Decreasing),
            other => {
                return Err(f.err(
                    format!("monotone must be \"increasing\" or \"decreasing\", not \"{other}\""),
                    match suggest(other, &["increasing", "decreasing"]) {
                        Some(s) => format!("did you mean \"{s}\"?"),
                        None => "write \"increasing\" or \"decreasing\", or leave it out".into(),
                    },
                ))
            }
        },
        None => None,
    };

    let mut when = Vec::new();
    let mut when_at = BTreeMap::new();
    if let Some(wf) = t.get("when") {
        let help = "write when = { parent = value } or when = { parent = [value1, value2] }";
        let wt = wf.table(help)?;
        if wt.is_empty() {
            return Err(wf.err("`when` lists no condition", help));
        }
        for parent in wt.keys() {
            let vf = wt.get(parent).expect("listed key exists");
            let values = match vf.elements(help) {
                Ok(items) => {
                    if items.is_empty() {
                        return Err(vf.err("the list of parent values is empty", help));
                    }
                    items
                        .iter()
                        .map(|e| e.param_value())
                        .collect::<Result<Vec<_>, _>>()?
                }
                Err(_) => vec![vf.param_value()?],
            };
            when_at.insert(parent.to_string(), vf.src.position(vf.span.as_ref()));
            when.push(Condition {
                parent: parent.to_string(),
                values,
            });
        }
    }

    Ok(RawParam {
        param: Param {
            name: name.to_string(),
            distribution,
            when,
            monotone,
        },
        file: f.src.file.to_path_buf(),
        at,
        when_at,
    })
}
