//! Checks of a search space's definition, shared by the study-file parser
//! and [`SearchSpaceBuilder`](super::SearchSpaceBuilder), so that a space
//! built in code is refused exactly where the same space written in a study
//! file is. Each check returns a [`Fault`] (the part at fault, what is
//! wrong, the fix) that the caller locates: the parser at a line and
//! column, the builder at a parameter name.

use std::collections::BTreeMap;

use super::{Distribution, Param};
use crate::spec::did_you_mean;

/// How a fix spells a parameter's options: as study-file keys or as
/// builder calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Syntax {
    /// `log = true`, `step = ...` in a study file.
    Toml,
    /// `.log()`, `.step(...)` on a [`SearchSpaceBuilder`](super::SearchSpaceBuilder).
    Code,
}

impl Syntax {
    fn log(self) -> &'static str {
        match self {
            Syntax::Toml => "`log = true`",
            Syntax::Code => "`.log()`",
        }
    }

    fn step(self) -> &'static str {
        match self {
            Syntax::Toml => "`step`",
            Syntax::Code => "`.step()`",
        }
    }
}

/// A broken rule of one parameter.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Fault {
    /// The part at fault, relative to the parameter: `""` (the parameter
    /// itself), `low`, `step`, `choices`, `when.<parent>` ...
    pub field: String,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub help: String,
}

impl Fault {
    fn new(field: impl Into<String>, message: impl Into<String>, help: impl Into<String>) -> Self {
        Fault {
            field: field.into(),
            message: message.into(),
            help: help.into(),
        }
    }
}

/// A name usable as a parameter (and as a `{placeholder}` in commands).
pub(crate) fn check_name(name: &str) -> Result<(), Fault> {
    if name.trim().is_empty() || name.contains(['{', '}']) || name.chars().any(char::is_control) {
        return Err(Fault::new(
            "",
            format!("`{}` is not a usable parameter name", name.escape_default()),
            "use a non-empty name without braces (it is written `{name}` in commands)",
        ));
    }
    Ok(())
}

/// [`Distribution::check`], with the fix for its complaint.
pub(crate) fn check_distribution(d: &Distribution, syntax: Syntax) -> Result<(), Fault> {
    d.check().map_err(|(field, message)| {
        let help = distribution_help(d, &field, syntax);
        Fault::new(field, message, help)
    })
}

/// The fix for a failed [`Distribution::check`].
fn distribution_help(d: &Distribution, field: &str, syntax: Syntax) -> String {
    match (d, field) {
        (Distribution::Float { low, high, .. }, "low") if !low.is_finite() || !high.is_finite() => {
            "use finite numbers for low and high".into()
        }
        (
            Distribution::Float {
                log: true,
                low,
                high,
                ..
            },
            "low",
        ) if low < high => format!("use a positive low (e.g. 1e-5), or drop {}", syntax.log()),
        (
            Distribution::Int {
                log: true,
                low,
                high,
                ..
            },
            "low",
        ) if low < high => format!("use low >= 1, or drop {}", syntax.log()),
        (_, "low") => "make low smaller than high (swap them if they are reversed)".into(),
        (Distribution::Float { log: true, .. }, "step")
        | (Distribution::Int { log: true, .. }, "step") => format!(
            "remove {} or {}: a log-scaled parameter has no fixed step",
            syntax.step(),
            syntax.log()
        ),
        (
            Distribution::Float {
                low,
                high,
                step: Some(s),
                ..
            },
            "step",
        ) if *s > 0.0 && s <= &(high - low) => {
            let last = low + ((high - low) / s).floor() * s;
            format!(
                "write high = {} (the last value the step reaches), or a step that divides high - low ({})",
                (last * 1e12).round() / 1e12,
                high - low
            )
        }
        (
            Distribution::Int {
                low, high, step, ..
            },
            "step",
        ) if *step >= 1 && *step <= high - low => format!(
            "write high = {} (the last value the step reaches), or a step that divides high - low ({})",
            low + (high - low) / step * step,
            high - low
        ),
        (_, "step") => "use a positive step no larger than high - low".into(),
        (Distribution::Float { .. }, "high") => {
            "narrow the range so that high - low is a finite number (below about 1.8e308)".into()
        }
        (Distribution::Int { .. }, "high") => format!(
            "narrow the range to at most {} values, or use type = \"float\" with log = true for a range spanning orders of magnitude",
            super::distribution::MAX_INT_WIDTH
        ),
        (_, "choices") => {
            "list at least one choice, each once (strings, booleans or finite numbers)".into()
        }
        _ => "fix the parameter's definition".into(),
    }
}

/// Check one parameter on its own: a usable name, a valid distribution, no
/// monotonicity on a categorical, and conditions that each name a parent
/// once and list at least one of its values.
pub(crate) fn check_param(p: &Param, syntax: Syntax) -> Result<(), Fault> {
    check_name(&p.name)?;
    if p.distribution.is_categorical() && p.monotone.is_some() {
        let (message, help) = match syntax {
            Syntax::Toml => (
                "unknown key `monotone` for a categorical parameter",
                "`monotone` applies to float and int parameters",
            ),
            Syntax::Code => (
                "`.monotone()` does not apply to a categorical parameter",
                "drop `.monotone()`: it applies to float and int parameters",
            ),
        };
        return Err(Fault::new("monotone", message, help));
    }
    check_distribution(&p.distribution, syntax)?;
    for (i, c) in p.when.iter().enumerate() {
        let field = format!("when.{}", c.parent);
        if c.values.is_empty() {
            return Err(Fault::new(
                field,
                "the list of parent values is empty",
                format!("list at least one value of `{}`", c.parent),
            ));
        }
        if p.when[..i].iter().any(|d| d.parent == c.parent) {
            let help = match syntax {
                Syntax::Toml => format!(
                    "list every value that activates `{}` in one list: when = {{ {} = [...] }}",
                    p.name, c.parent
                ),
                Syntax::Code => format!(
                    "list every value that activates `{}` in one .when_any(\"{}\", [...])",
                    p.name, c.parent
                ),
            };
            return Err(Fault::new(
                field,
                format!("the condition on `{}` is given twice", c.parent),
                help,
            ));
        }
    }
    Ok(())
}

/// Check the conditions of a whole space: no parameter depends on itself,
/// every parent exists, every listed parent value is possible, and the
/// conditions form no cycle. On failure, the index of the parameter at
/// fault and the fault, whose field is `when.<parent>`.
pub(crate) fn check_conditions(params: &[Param]) -> Result<(), (usize, Fault)> {
    let names: Vec<&str> = params.iter().map(|p| p.name.as_str()).collect();
    for (i, p) in params.iter().enumerate() {
        for c in &p.when {
            let sub = format!("when.{}", c.parent);
            if c.parent == p.name {
                return Err((
                    i,
                    Fault::new(
                        sub,
                        format!("`{}` cannot depend on itself", c.parent),
                        "remove this condition",
                    ),
                ));
            }
            let Some(parent) = params.iter().find(|q| q.name == c.parent) else {
                let help = match did_you_mean(&c.parent, &names) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!("known parameters: {}", names.join(", ")),
                };
                return Err((
                    i,
                    Fault::new(
                        sub,
                        format!("`when` names unknown parameter `{}`", c.parent),
                        help,
                    ),
                ));
            };
            for v in &c.values {
                if !parent.distribution.contains(v) {
                    let takes = match &parent.distribution {
                        Distribution::Categorical { choices } => format!(
                            "its choices are {}",
                            choices
                                .iter()
                                .map(|c| format!("`{c}`"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                        Distribution::Float { low, high, .. } => {
                            format!("it ranges over [{low}, {high}]")
                        }
                        Distribution::Int {
                            low, high, step, ..
                        } => {
                            format!("it takes integers {low}..={high} in steps of {step}")
                        }
                    };
                    return Err((
                        i,
                        Fault::new(
                            sub,
                            format!("`{}` can never be `{v}` ({takes})", c.parent),
                            format!("use a value `{}` can take", c.parent),
                        ),
                    ));
                }
            }
        }
    }
    if let Some(cycle) = find_cycle(params) {
        let next = &params[cycle[1 % cycle.len()]].name;
        let names: Vec<&str> = cycle
            .iter()
            .chain(std::iter::once(&cycle[0]))
            .map(|&i| params[i].name.as_str())
            .collect();
        return Err((
            cycle[0],
            Fault::new(
                format!("when.{next}"),
                format!("`when` conditions form a cycle: {}", names.join(" -> ")),
                "a parameter cannot depend, directly or indirectly, on itself; remove one of these conditions",
            ),
        ));
    }
    Ok(())
}

/// Indices of a `when` cycle (child -> parent -> ... ), if there is one.
fn find_cycle(params: &[Param]) -> Option<Vec<usize>> {
    let index: BTreeMap<&str, usize> = params
        .iter()
        .enumerate()
        .map(|(i, p)| (p.name.as_str(), i))
        .collect();
    // 0 = unvisited, 1 = on the current path, 2 = done.
    let mut state = vec![0u8; params.len()];
    fn visit(
        i: usize,
        params: &[Param],
        index: &BTreeMap<&str, usize>,
        state: &mut [u8],
        path: &mut Vec<usize>,
    ) -> Option<Vec<usize>> {
        state[i] = 1;
        path.push(i);
        for c in &params[i].when {
            let Some(&j) = index.get(c.parent.as_str()) else {
                continue;
            };
            if state[j] == 1 {
                let from = path.iter().position(|&k| k == j).expect("on path");
                return Some(path[from..].to_vec());
            }
            if state[j] == 0 {
                if let Some(c) = visit(j, params, index, state, path) {
                    return Some(c);
                }
            }
        }
        path.pop();
        state[i] = 2;
        None
    }
    for i in 0..params.len() {
        if state[i] == 0 {
            if let Some(c) = visit(i, params, &index, &mut state, &mut Vec::new()) {
                return Some(c);
            }
        }
    }
    None
}
