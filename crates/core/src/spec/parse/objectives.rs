//! `[[objectives]]`: names, directions, constraints, and the rules on them
//! shared with the builder.

use std::collections::BTreeMap;

use super::super::locate::suggest;
use super::super::walk::Tab;
use super::super::SpecError;
use super::helpers::{no_hint, top_level_hint, Problem};
use crate::objective::{Constraint, Direction, Objective, Objectives};
use crate::space::validate::Syntax;

const OBJECTIVE_KEYS: &[&str] = &["name", "direction", "constraint", "cheap"];

/// An objective whose name was declared before (`first_line`: where, when
/// known).
pub(crate) fn duplicate(name: &str, first_line: Option<usize>) -> Problem {
    let at = first_line
        .map(|l| format!(" (first at line {l})"))
        .unwrap_or_default();
    Problem::new(
        format!("objective `{name}` is declared twice{at}"),
        "give every objective a distinct name",
    )
}

/// A constraint needs a bound, finite bounds, and a feasible value. On
/// failure, the bound at fault (`None`: the constraint as a whole).
pub(crate) fn check_constraint(
    c: &Constraint,
    syntax: Syntax,
) -> Result<(), (Option<&'static str>, Problem)> {
    if c.min.is_none() && c.max.is_none() {
        let help = match syntax {
            Syntax::Toml => "write constraint = { max = 5.0 }, { min = 0.9 } or both",
            Syntax::Code => "set min, max or both, e.g. Constraint { min: None, max: Some(5.0) }",
        };
        return Err((
            None,
            Problem::new("a constraint needs `min`, `max` or both", help),
        ));
    }
    if let (Some(lo), Some(hi)) = (c.min, c.max) {
        if lo > hi {
            return Err((
                None,
                Problem::new(
                    format!(
                        "constraint min ({lo}) is greater than max ({hi}): no value is feasible"
                    ),
                    "swap min and max",
                ),
            ));
        }
    }
    for (v, k) in [(c.min, "min"), (c.max, "max")] {
        if v.is_some_and(|v| !v.is_finite()) {
            return Err((
                Some(k),
                Problem::new(
                    "constraint bounds must be finite",
                    "use a finite number, or leave the bound out",
                ),
            ));
        }
    }
    Ok(())
}

/// An objective's name is a key of the runner's result and a column
/// heading in exports: printable, not blank.
pub(crate) fn check_objective_name(name: &str) -> Result<(), Problem> {
    if name.trim().is_empty() {
        return Err(Problem::new(
            "an objective name must not be blank",
            "name the objective as the runner reports it",
        ));
    }
    if let Some(c) = name.chars().find(|c| c.is_control()) {
        return Err(Problem::new(
            format!(
                "objective name `{}` contains the control character `{}`",
                name.escape_default(),
                c.escape_default()
            ),
            "use printable characters only (letters, digits, `_`, `-`, `.`)",
        ));
    }
    Ok(())
}

pub(super) fn parse_objectives(root: &Tab<'_>) -> Result<Objectives, SpecError> {
    let help = "add one [[objectives]] table per objective, with name = \"...\" and direction = \"minimize\" or \"maximize\"";
    let field = root.require("objectives", help)?;
    let items = field.elements(help)?;
    if items.is_empty() {
        return Err(field.err("a study needs at least one objective", help));
    }
    let mut out: Vec<Objective> = Vec::new();
    let mut first_seen: BTreeMap<String, Option<usize>> = BTreeMap::new();
    for item in items {
        let t = item.table(help)?;
        t.deny_unknown(OBJECTIVE_KEYS, top_level_hint)?;
        let name_f = t.require("name", "add name = \"...\" (the key the runner reports)")?;
        let name = name_f.non_empty_str()?.to_string();
        check_objective_name(&name).map_err(|p| name_f.err(p.message, p.help))?;
        if let Some(line) = first_seen.get(&name) {
            let p = duplicate(&name, *line);
            return Err(name_f.err(p.message, p.help));
        }
        first_seen.insert(name.clone(), name_f.src.position(name_f.span.as_ref()).0);
        let dir_f = t.require("direction", "add direction = \"minimize\" or \"maximize\"")?;
        let direction = match dir_f.str()? {
            "minimize" => Direction::Minimize,
            "maximize" => Direction::Maximize,
            other => {
                let help = match suggest(other, &["minimize", "maximize"]) {
                    Some(s) => format!("did you mean \"{s}\"?"),
                    None => "write \"minimize\" or \"maximize\"".into(),
                };
                return Err(dir_f.err(
                    format!("direction must be \"minimize\" or \"maximize\", not \"{other}\""),
                    help,
                ));
            }
        };
        let constraint = match t.get("constraint") {
            Some(f) => {
                let help = "write constraint = { max = 5.0 }, { min = 0.9 } or both";
                let c = f.table(help)?;
                c.deny_unknown(&["min", "max"], no_hint)?;
                let min = c.get("min").map(|f| f.float()).transpose()?;
                let max = c.get("max").map(|f| f.float()).transpose()?;
                let constraint = Constraint { min, max };
                check_constraint(&constraint, Syntax::Toml).map_err(|(bound, p)| {
                    match bound.and_then(|k| c.get(k)) {
                        Some(b) => b.err(p.message, p.help),
                        None => f.err(p.message, p.help),
                    }
                })?;
                Some(constraint)
            }
            None => None,
        };
        let cheap = t
            .get("cheap")
            .map(|f| f.bool())
            .transpose()?
            .unwrap_or(false);
        out.push(Objective {
            name,
            direction,
            constraint,
            cheap,
        });
    }
    Ok(Objectives(out))
}
