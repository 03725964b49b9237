//! The study as the interactive page reads it: one JSON document.
//!
//! `report` embeds it in the page, `serve` hands it out as `/data.json`;
//! the page's script (web/app.js) draws every view from it and nothing
//! else. Everything the page must not compute itself is computed here,
//! with the code `status` and `plot` use: the Pareto set and each trial's
//! kind (front, dominated, infeasible, pruned, failed), feasibility and
//! constraint violation, the hypervolume history against the study's fixed
//! reference (raw and normalised), PED-ANOVA importances with bootstrap
//! intervals, log tails and the command that reproduces a trial. The page
//! computes only what depends on the user's choices (axes, selections).
//!
//! Shape (all numbers plain JSON numbers; non-finite values become null):
//! `{"version", "generated", "live", "study": {...}, "others": [...]}`,
//! with one entry per trial in `study.trials` (`n` number, `s` state, `k`
//! kind, `p` parameters, `v` values, `feasible`, `violation`, `reason`,
//! `cause`, `worker`, `t0`/`t1` start and end in Unix ms, `steps`
//! intermediate reports `[step, {name: value}]`, `forecast` the pruner's
//! forecast attribute when it wrote one, `test`/`test_valid` the test-set
//! and re-run validation figures `export --pareto` stored, `log` the log tail, `cmd` how to
//! reproduce it) and, in `others`, the other studies of the same storage
//! (their fronts when their objectives are this study's). `study.pruner` is
//! the early-stopping rule's account of itself as `status --json` prints
//! it (calibration and false stops, or the rungs and epochs saved), with
//! `line`, its one-line summary; null without such a rule.

use std::collections::BTreeMap;
use std::path::Path;

use paretosearch_core::spec::RunnerSpec;
use paretosearch_core::{Direction, Distribution, ParamValue, StudySpec, Trial, TrialState};
use serde_json::{json, Map, Value};

use super::log_tail;
use crate::plot::importance::{with_uncertainty, TOP_QUANTILE};
use crate::plot::{Figures, Kind};

/// A number as JSON (`null` when not finite: JSON has no NaN).
fn num(x: f64) -> Value {
    if x.is_finite() {
        json!(x)
    } else {
        Value::Null
    }
}

fn param(v: &ParamValue) -> Value {
    match v {
        ParamValue::Bool(b) => json!(b),
        ParamValue::Int(i) => json!(i),
        ParamValue::Float(x) => num(*x),
        ParamValue::Str(s) => json!(s),
    }
}

fn values(v: &std::collections::BTreeMap<String, f64>) -> Value {
    Value::Object(v.iter().map(|(k, x)| (k.clone(), num(*x))).collect())
}

/// The kind of every trial, by number: the plotted kind for finished
/// trials with values, the state otherwise.
fn kind_name(t: &Trial, plotted: Option<Kind>) -> &'static str {
    match (plotted, t.state) {
        (Some(k), _) => k.class(),
        (None, TrialState::Running) => "running",
        (None, TrialState::Waiting) => "waiting",
        (None, TrialState::Pruned) => "pruned",
        (None, TrialState::Fail) => "failed",
        (None, TrialState::Complete) => "dominated",
    }
}

/// POSIX shell quoting: bare when safe, else single quotes.
fn sh_quote(s: &str) -> String {
    let safe = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
    if safe {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// The command that reproduces a trial: the runner's own command with the
/// trial's parameters for a command runner, else the study file of the
/// trial that `export --format toml` writes, run.
fn reproduce(spec: &StudySpec, t: &Trial) -> Option<String> {
    if t.params.is_empty() {
        return None;
    }
    let file = spec.origin.file.display().to_string();
    let export = format!(
        "paretosearch export {} --format toml --out trials/ && paretosearch run trials/{}",
        sh_quote(&file),
        sh_quote(&format!("{}-trial-{}.toml", spec.name, t.number))
    );
    match &spec.runner {
        RunnerSpec::Command(c) => {
            let argv: Option<Vec<String>> = c
                .command
                .iter()
                .map(|a| paretosearch_runner::command::substitute(a, &t.params).ok())
                .collect();
            let argv = argv?;
            let mut line = format!("cd {} && ", sh_quote(&c.workdir.display().to_string()));
            for (k, v) in &c.env {
                line.push_str(&format!("{}={} ", k, sh_quote(v)));
            }
            line.push_str(
                &argv
                    .iter()
                    .map(|a| sh_quote(a))
                    .collect::<Vec<_>>()
                    .join(" "),
            );
            Some(format!("{line}\n# or: {export}"))
        }
        _ => Some(export),
    }
}

fn distribution(d: &Distribution) -> Value {
    match d {
        Distribution::Float {
            low,
            high,
            log,
            step,
        } => {
            json!({"type": "float", "low": num(*low), "high": num(*high), "log": log, "step": step})
        }
        Distribution::Int {
            low,
            high,
            log,
            step,
        } => json!({"type": "int", "low": low, "high": high, "log": log, "step": step}),
        Distribution::Categorical { choices } => {
            json!({"type": "categorical", "choices": choices.iter().map(param).collect::<Vec<_>>()})
        }
    }
}

/// Where the page's hypervolume reference comes from, said in words.
pub struct Reference {
    /// Raw objective values, in objective order (`None`: take the nadir).
    pub raw: Option<Vec<f64>>,
    /// How it was chosen (`--reference`, the study file, frozen ...).
    pub source: String,
}

impl Reference {
    /// This one when given (`--reference`), else the study's fixed
    /// reference ([`paretosearch::reference::resolve`]: declared, stored,
    /// frozen, provisional) with its source in words.
    pub fn resolve(
        &self,
        spec: &StudySpec,
        stored: Option<&paretosearch::reference::Reference>,
        trials: &[Trial],
    ) -> Reference {
        if self.raw.is_some() {
            return Reference {
                raw: self.raw.clone(),
                source: self.source.clone(),
            };
        }
        match paretosearch::reference::resolve(spec, stored, trials) {
            Some(r) => Reference {
                source: format!("reference {}", r.source_text()),
                raw: Some(r.raw),
            },
            None => Reference {
                raw: None,
                source: "no feasible trial yet".into(),
            },
        }
    }
}

/// Where a study's trial logs are and how many lines of each to show.
pub struct Logs<'a> {
    /// `<study dir>/<study name>-logs`.
    pub dir: &'a Path,
    /// Lines of each log's tail.
    pub lines: usize,
    /// Bytes of log tails the page holds at most: failed trials' first,
    /// then the Pareto-optimal ones', then the newest; the others' detail
    /// pane names the file instead (with 10,000 trials the tails would be
    /// half of the page and its opening time).
    pub budget: usize,
}

/// The default [`Logs::budget`]: 4 MiB.
pub const LOG_BUDGET_KIB: usize = 4096;

/// The log tails that fit the budget, by trial number, in the order of
/// [`Logs::budget`].
fn log_tails(trials: &[Trial], pareto: &[u64], logs: &Logs<'_>) -> BTreeMap<u64, String> {
    let mut order: Vec<&Trial> = trials.iter().collect();
    let rank = |t: &Trial| {
        if t.state == TrialState::Fail {
            0
        } else if pareto.contains(&t.number) {
            1
        } else {
            2
        }
    };
    order.sort_by(|a, b| rank(a).cmp(&rank(b)).then(b.number.cmp(&a.number)));
    let mut left = logs.budget;
    let mut out = BTreeMap::new();
    for t in order {
        if left == 0 {
            break;
        }
        let log = logs.dir.join(format!("trial-{:05}.log", t.number));
        if let Some(tail) = log_tail(&log, logs.lines) {
            if tail.len() > left {
                continue;
            }
            left -= tail.len();
            out.insert(t.number, tail);
        }
    }
    out
}

/// Everything about one study that the page shows.
pub fn study_json(
    spec: &StudySpec,
    storage_url: &str,
    trials: &[Trial],
    logs: &Logs<'_>,
    reference: &Reference,
) -> Value {
    let figs = Figures::analyse(spec, trials, reference.raw.clone());
    let kinds: std::collections::HashMap<u64, Kind> =
        figs.points.iter().map(|p| (p.number, p.kind)).collect();
    let objectives = &spec.objectives;
    let pareto: Vec<u64> = figs
        .points
        .iter()
        .filter(|p| p.kind == Kind::Front)
        .map(|p| p.number)
        .collect();
    let tails = log_tails(trials, &pareto, logs);
    let rows: Vec<Value> = trials
        .iter()
        .map(|t| {
            let feasible = (t.state == TrialState::Complete && objectives.raw(&t.values).is_some())
                .then(|| objectives.violation(&t.values) == 0.0);
            let mut o = Map::new();
            o.insert("n".into(), json!(t.number));
            o.insert("s".into(), json!(t.state.as_str()));
            o.insert(
                "k".into(),
                json!(kind_name(t, kinds.get(&t.number).copied())),
            );
            o.insert(
                "p".into(),
                Value::Object(
                    t.params
                        .iter()
                        .map(|(k, v)| (k.clone(), param(v)))
                        .collect(),
                ),
            );
            o.insert("v".into(), values(&t.values));
            o.insert("feasible".into(), json!(feasible));
            if feasible == Some(false) {
                o.insert("violation".into(), num(objectives.violation(&t.values)));
            }
            if let Some(r) = &t.reason {
                o.insert("reason".into(), json!(r));
            }
            if let Some(c) = t.cause {
                o.insert("cause".into(), json!(c.as_str()));
            }
            if let Some(w) = &t.worker {
                o.insert("worker".into(), json!(w));
            }
            o.insert("t0".into(), json!(t.started_at));
            o.insert("t1".into(), json!(t.finished_at));
            if let Some(r) = t.retry_of {
                o.insert("retry_of".into(), json!(r));
            }
            if !t.intermediate.is_empty() {
                o.insert(
                    "steps".into(),
                    Value::Array(
                        t.intermediate
                            .iter()
                            .map(|r| json!([r.step, values(&r.values)]))
                            .collect(),
                    ),
                );
            }
            if let Some(f) = t.attrs.get("forecast").filter(|f| f.is_object()) {
                o.insert("forecast".into(), f.clone());
            }
            // Test-set scores (`export --pareto` writes them): `test` the
            // test figures, `test_valid` the re-run's validation figures.
            if let Some(tv) = t.attrs.get("test").filter(|v| v.is_object()) {
                if let Some(x) = tv.get("test").filter(|x| x.is_object()) {
                    o.insert("test".into(), x.clone());
                }
                if let Some(x) = tv.get("valid").filter(|x| x.is_object()) {
                    o.insert("test_valid".into(), x.clone());
                }
            }
            let log = logs.dir.join(format!("trial-{:05}.log", t.number));
            if let Some(tail) = tails.get(&t.number) {
                o.insert("log".into(), json!(tail));
                o.insert("log_path".into(), json!(log.display().to_string()));
            } else if logs.lines > 0 && log.is_file() {
                // Over the budget: the pane names the file.
                o.insert("log_path".into(), json!(log.display().to_string()));
                o.insert("log_omitted".into(), json!(true));
            }
            if let Some(cmd) = reproduce(spec, t) {
                o.insert("cmd".into(), json!(cmd));
            }
            Value::Object(o)
        })
        .collect();
    let s = &figs.summary;
    let importance: Vec<Value> = objectives
        .iter()
        .map(|o| match with_uncertainty(spec, trials, &o.name, TOP_QUANTILE) {
            Ok(u) => json!({
                "objective": o.name,
                "trials": u.trials,
                "warning": u.warning,
                "params": u.ranked.iter().map(|r| json!({
                    "name": r.name, "importance": num(r.importance), "lo": num(r.lo), "hi": num(r.hi)
                })).collect::<Vec<_>>(),
            }),
            Err(e) => json!({"objective": o.name, "error": e}),
        })
        .collect();
    // The normalised hypervolume: the box between the reference and the
    // ideal point of the Pareto set (the one `status` divides by).
    let measured = figs.reference.as_ref().map(|r| {
        let min = |raw: &[f64]| -> Vec<f64> {
            raw.iter()
                .zip(objectives.iter())
                .map(|(v, o)| match o.direction {
                    Direction::Minimize => *v,
                    Direction::Maximize => -*v,
                })
                .collect()
        };
        let front: Vec<Vec<f64>> = figs
            .points
            .iter()
            .filter(|p| p.kind == Kind::Front)
            .map(|p| min(&p.raw))
            .collect();
        paretosearch::reference::measure(&front, &min(r), objectives)
    });
    let ideal = measured.as_ref().and_then(|m| m.ideal.clone());
    let box_volume = match (&figs.reference, &ideal) {
        (Some(r), Some(i)) => r.iter().zip(i).map(|(r, i)| (r - i).abs()).product::<f64>(),
        _ => 0.0,
    };
    let hv: Vec<Value> = figs
        .hypervolume
        .iter()
        .map(|(n, h)| {
            let norm = if box_volume > 0.0 {
                num(h / box_volume)
            } else {
                Value::Null
            };
            json!([n, num(*h), norm])
        })
        .collect();
    json!({
        "name": spec.name,
        "file": spec.origin.file.display().to_string(),
        "storage": storage_url,
        "budget": s.effective_budget(spec.budget.trials),
        "finished": s.finished,
        "counts": s.counts.iter().map(|(k, v)| (k.as_str().to_string(), json!(v))).collect::<Map<_, _>>(),
        "objectives": objectives.iter().map(|o| json!({
            "name": o.name,
            "direction": match o.direction { Direction::Minimize => "minimize", Direction::Maximize => "maximize" },
            "constraint": o.constraint.map(|c| json!({"min": c.min, "max": c.max})),
        })).collect::<Vec<_>>(),
        "params": spec.space.params().iter().map(|p| {
            let mut d = distribution(&p.distribution);
            d["name"] = json!(p.name);
            d["conditional"] = json!(!p.when.is_empty());
            d
        }).collect::<Vec<_>>(),
        "pareto": s.pareto.iter().map(|&i| trials[i].number).collect::<Vec<_>>(),
        "reference": figs.reference.as_ref().map(|r| json!({
            "values": r.iter().map(|x| num(*x)).collect::<Vec<_>>(),
            "ideal": ideal.as_ref().map(|i| i.iter().map(|x| num(*x)).collect::<Vec<_>>()),
            "source": reference.source,
        })),
        "hypervolume": hv,
        "importance": importance,
        "pruner": crate::pruner_status::diagnose(spec, trials).map(|mut d| {
            d["line"] = json!(crate::pruner_status::line(&d));
            d
        }),
        "trials": rows,
    })
}

/// Another study of the same storage: its name and counts, and its
/// feasible Pareto set when it has `objectives` (by name, in order).
pub fn other_json(spec_json: &str, name: &str, objectives: &[&str], trials: &[Trial]) -> Value {
    let stored: Value = serde_json::from_str(spec_json).unwrap_or(Value::Null);
    let names: Vec<&str> = stored
        .pointer("/objectives")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|o| o.get("name")?.as_str()).collect())
        .unwrap_or_default();
    let same = names == objectives;
    let mut counts = Map::new();
    for t in trials {
        let c = counts.entry(t.state.as_str()).or_insert(json!(0));
        *c = json!(c.as_u64().unwrap_or(0) + 1);
    }
    let front: Vec<Value> = if same {
        match stored
            .get("objectives")
            .cloned()
            .map(serde_json::from_value::<paretosearch_core::Objectives>)
        {
            Some(Ok(objectives)) => {
                let s = crate::util::summarize(trials, &objectives);
                s.pareto
                    .iter()
                    .map(|&i| json!({"n": trials[i].number, "v": values(&trials[i].values)}))
                    .collect()
            }
            _ => Vec::new(),
        }
    } else {
        Vec::new()
    };
    json!({
        "name": name,
        "objectives": names,
        "comparable": same,
        "trials": trials.len(),
        "counts": counts,
        "front": front,
    })
}

/// `</script>` and friends cannot appear in the embedded JSON: every `<`,
/// `>` and `&` (which JSON holds only inside strings) is written as its
/// `\u` escape, and so are U+2028/U+2029.
pub fn embeddable(json: &Value) -> String {
    let text = json.to_string();
    let mut out = String::with_capacity(text.len() + 64);
    for c in text.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_breaks_out_of_the_script_block() {
        let v = json!({"name": "</script><script>alert(1)</script>", "x": "a & b > c", "l": "\u{2028}"});
        let s = embeddable(&v);
        assert!(
            !s.contains('<') && !s.contains('>') && !s.contains('&'),
            "{s}"
        );
        assert!(!s.contains('\u{2028}'));
        let back: Value = serde_json::from_str(&s).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn shell_quoting() {
        assert_eq!(sh_quote("--lr"), "--lr");
        assert_eq!(sh_quote("a b"), "'a b'");
        assert_eq!(sh_quote("it's"), "'it'\\''s'");
        assert_eq!(sh_quote(""), "''");
    }
}
