//! `[hypervolume]`: the fixed reference point the hypervolume of a study
//! is measured against, declared per objective, or how many first
//! feasible trials freeze it when it is not declared.
//!
//! ```toml
//! [hypervolume]
//! reference = { latency_ms = 200.0, accuracy = 0.5 }
//! ```

use super::super::locate::suggest;
use super::super::walk::Tab;
use super::super::{HypervolumeSpec, SpecError, DEFAULT_FREEZE_AFTER};
use super::helpers::top_level_hint;
use crate::objective::Objectives;

const HYPERVOLUME_KEYS: &[&str] = &["reference", "freeze_after"];

/// `[hypervolume]`, defaults filled in (no declared reference, frozen from
/// the first [`DEFAULT_FREEZE_AFTER`] feasible trials).
pub(super) fn parse_hypervolume(
    root: &Tab<'_>,
    objectives: &Objectives,
) -> Result<HypervolumeSpec, SpecError> {
    let Some(f) = root.get("hypervolume") else {
        return Ok(HypervolumeSpec::default());
    };
    let example = example(objectives);
    let t = f.table(&format!(
        "write a [hypervolume] table, e.g. reference = {example}"
    ))?;
    t.deny_unknown(HYPERVOLUME_KEYS, top_level_hint)?;
    let reference = match t.get("reference") {
        None => None,
        Some(r) => {
            let help = format!(
                "write reference = {example}: one raw value per objective, worse than any trial that should count"
            );
            let rt = r.table(&help)?;
            let names = objectives.names();
            rt.deny_unknown(&names, |key| {
                let all = format!(
                    "reference takes one value per objective ({})",
                    names.join(", ")
                );
                Some(match suggest(key, &names) {
                    Some(s) => format!("did you mean `{s}`? {all}"),
                    None => format!("{key} is no objective: {all}"),
                })
            })?;
            let mut values = Vec::with_capacity(objectives.len());
            for o in objectives.iter() {
                let Some(v) = rt.get(&o.name) else {
                    return Err(r.err(
                        format!("the reference has no value for objective `{}`", o.name),
                        format!(
                            "add {} = <value> to reference (every objective needs one, e.g. reference = {example})",
                            o.name
                        ),
                    ));
                };
                let x = v.float()?;
                if !x.is_finite() {
                    return Err(v.err(
                        "a reference value must be finite",
                        "use a finite number worse than any trial that should count",
                    ));
                }
                values.push(x);
            }
            Some(values)
        }
    };
    let freeze_after = match t.get("freeze_after") {
        None => DEFAULT_FREEZE_AFTER,
        Some(n) => {
            if reference.is_some() {
                return Err(n.err(
                    "freeze_after has no effect when the reference is declared",
                    "remove freeze_after, or remove reference to freeze it from the first trials",
                ));
            }
            n.int_at_least(1)? as usize
        }
    };
    Ok(HypervolumeSpec {
        reference,
        freeze_after,
    })
}

/// `{ f1 = ..., f2 = ... }` with the study's objective names.
fn example(objectives: &Objectives) -> String {
    let parts: Vec<String> = objectives
        .iter()
        .map(|o| {
            format!(
                "{} = {}",
                o.name,
                if o.direction == crate::Direction::Maximize {
                    "0.0"
                } else {
                    "1.0"
                }
            )
        })
        .collect();
    format!("{{ {} }}", parts.join(", "))
}
