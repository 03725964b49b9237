//! Small helpers of the commands' output. (Clocks, worker identities,
//! trial seeds and study summaries are the library's.)

pub use paretosearch::{summarize, Summary};

/// Format a float compactly for tables and log lines.
/// A command-line option value as TOML (`0.1`, `true`, `"linear"`); a
/// bare word that is not TOML is taken as a string.
pub fn toml_value(v: &str) -> toml::Value {
    format!("v = {v}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(v.to_string()))
}

pub fn fmt_num(x: f64) -> String {
    if x == 0.0 {
        return "0".into();
    }
    let a = x.abs();
    if !(1e-3..1e6).contains(&a) {
        format!("{x:.4e}")
    } else {
        let s = format!("{x:.6}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        s.to_string()
    }
}

/// `13 of 20 trials finished`, or, when the budget in force is larger than
/// the study file's `[budget] trials` (`file_budget`) because `--trials`
/// raised it, `13 of 14 trials finished (budget 12 in the file, raised to
/// 14 by --trials)`. Never shows more trials finished than budgeted.
pub fn finished_of(summary: &Summary, file_budget: u64) -> String {
    let budget = summary.effective_budget(file_budget);
    let finished = summary.finished;
    if budget == file_budget {
        format!("{finished} of {budget} trials finished")
    } else {
        format!(
            "{finished} of {budget} trials finished (budget {file_budget} in the file, raised to {budget} by --trials)"
        )
    }
}

/// The hypervolume of a summary as people read it: the normalised figure
/// (`0.734 of the box`), or `-` without one.
pub fn hv_short(summary: &Summary) -> String {
    match (summary.hypervolume, summary.normalised) {
        (_, Some(n)) => format!("{n:.3}"),
        (Some(_), None) => "0".into(),
        (None, _) => "-".into(),
    }
}

/// `hypervolume 0.734 of the box between the best values and the
/// reference f1 ≤ 1.1, f2 ≤ 10 (frozen from ...; raw 12.3)`.
pub fn hv_long(summary: &Summary, objectives: &paretosearch_core::Objectives) -> Option<String> {
    let raw = summary.hypervolume?;
    let r = summary.reference.as_ref()?;
    let refs = r.describe(objectives, fmt_num);
    Some(match summary.normalised {
        Some(n) => format!(
            "hypervolume {n:.3} of the box between the best values and the reference {refs} ({}; raw {})",
            r.source_text(),
            fmt_num(raw)
        ),
        None => format!(
            "hypervolume 0: no trial beats the reference {refs} in every objective ({})",
            r.source_text()
        ),
    })
}

/// `kind` or `kind:key=value,key=value` (values are TOML; bare words are
/// strings), as given to `flag`: the kind and its options table.
pub fn kind_options(spec: &str, flag: &str) -> Result<(String, toml::Table), crate::BadInput> {
    let (kind, rest) = spec.split_once(':').unwrap_or((spec, ""));
    let mut options = toml::Table::new();
    for kv in rest.split(',').filter(|s| !s.trim().is_empty()) {
        let (k, v) = kv.split_once('=').ok_or_else(|| {
            crate::BadInput(format!("{flag} {spec}: write kind:key=value,key=value"))
        })?;
        options.insert(k.trim().to_string(), toml_value(v.trim()));
    }
    Ok((kind.trim().to_string(), options))
}

/// The median (NaN when empty).
pub fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fmt_num_is_compact() {
        assert_eq!(fmt_num(0.5), "0.5");
        assert_eq!(fmt_num(12.0), "12");
        assert_eq!(fmt_num(1e-5), "1.0000e-5");
    }

    #[test]
    fn finished_never_exceeds_the_budget_shown() {
        let mut s = Summary {
            finished: 13,
            ..Summary::default()
        };
        assert_eq!(
            finished_of(&s, 12),
            "13 of 13 trials finished (budget 12 in the file, raised to 13 by --trials)"
        );
        s.raised_budget = Some(14);
        assert_eq!(
            finished_of(&s, 12),
            "13 of 14 trials finished (budget 12 in the file, raised to 14 by --trials)"
        );
        assert_eq!(finished_of(&s, 20), "13 of 20 trials finished");
    }
}
