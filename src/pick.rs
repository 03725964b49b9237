//! `paretosearch pick`: choose one configuration by a rule a person can
//! state ("latency under 5 ms, then the most accurate"), print it and
//! export it as a ready-to-run study file.
//!
//! Candidates are the feasible COMPLETE trials that satisfy every
//! `--where` condition. With `--best OBJECTIVE` the pick is the candidate
//! best in that objective (ties go to the candidate that is Pareto-optimal
//! among the candidates, then to the lower trial number: the rule of
//! `status`'s best per objective, [`paretosearch::best_in`]). Without it, the
//! pick is the **compromise** among the candidates' Pareto set: the one
//! closest (Euclidean) to the ideal point after scaling every objective to
//! [0, 1] over the candidates.

use std::process::ExitCode;

use anyhow::{Context, Result};
use paretosearch_core::{pareto, Direction, ParamValue, StudySpec, Trial, TrialState};
use serde_json::json;

use crate::cli::PickArgs;
use crate::term::{paint, wrap, Paint};
use crate::util::fmt_num;
use crate::{study, BadInput};

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `==` or `=`
    Eq,
    /// `!=`
    Ne,
}

/// One parsed `--where` condition.
#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    /// Objective or parameter name.
    pub name: String,
    /// Operator.
    pub op: Op,
    /// Right-hand side as written (quotes removed).
    pub value: String,
}

/// Parse one flag's text into conditions (`and` / `&&` separate several).
pub fn parse_conditions(text: &str) -> Result<Vec<Condition>, String> {
    let mut out = Vec::new();
    for part in text.split("&&").flat_map(|p| p.split(" and ")) {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        // The first operator occurrence; two-character operators first.
        let ops: [(&str, Op); 7] = [
            ("<=", Op::Le),
            (">=", Op::Ge),
            ("==", Op::Eq),
            ("!=", Op::Ne),
            ("<", Op::Lt),
            (">", Op::Gt),
            ("=", Op::Eq),
        ];
        let found = ops
            .iter()
            .filter_map(|(s, op)| part.find(s).map(|i| (i, *s, *op)))
            .min_by_key(|(i, s, _)| (*i, std::cmp::Reverse(s.len())));
        let Some((i, s, op)) = found else {
            return Err(format!(
                "`{part}` has no operator (fix: write NAME OP VALUE, e.g. \"latency_ms < 5\")"
            ));
        };
        let name = part[..i].trim().to_string();
        let value = part[i + s.len()..]
            .trim()
            .trim_matches(|c| c == '"' || c == '\'')
            .to_string();
        if name.is_empty() || value.is_empty() {
            return Err(format!("`{part}`: NAME and VALUE must both be given"));
        }
        out.push(Condition { name, op, value });
    }
    Ok(out)
}

enum Lhs {
    Num(f64),
    Text(String),
}

fn lhs(spec: &StudySpec, t: &Trial, name: &str) -> Option<Lhs> {
    if spec.objectives.iter().any(|o| o.name == name) || t.values.contains_key(name) {
        return t.values.get(name).map(|v| Lhs::Num(*v));
    }
    match t.params.get(name)? {
        ParamValue::Int(i) => Some(Lhs::Num(*i as f64)),
        ParamValue::Float(x) => Some(Lhs::Num(*x)),
        ParamValue::Bool(b) => Some(Lhs::Text(b.to_string())),
        ParamValue::Str(s) => Some(Lhs::Text(s.clone())),
    }
}

/// Check that every condition names something known and compares sensibly.
pub fn check_conditions(spec: &StudySpec, conds: &[Condition]) -> Result<(), String> {
    for c in conds {
        let is_obj = spec.objectives.iter().any(|o| o.name == c.name);
        let param = spec.space.get(&c.name);
        if !is_obj && param.is_none() {
            let mut known: Vec<&str> = spec.objectives.names();
            known.extend(spec.space.params().iter().map(|p| p.name.as_str()));
            return Err(format!(
                "--where: `{}` is neither an objective nor a parameter (known: {})",
                c.name,
                known.join(", ")
            ));
        }
        let numeric_name = is_obj || param.is_some_and(|p| !p.distribution.is_categorical());
        let numeric_value = c.value.parse::<f64>().is_ok();
        let ordered = !matches!(c.op, Op::Eq | Op::Ne);
        if ordered && !(numeric_name && numeric_value) {
            return Err(format!(
                "--where: `{} {:?} {}`: only numbers compare with <, <=, >, >= (use == or != for choices)",
                c.name, c.op, c.value
            ));
        }
    }
    Ok(())
}

/// Does the trial satisfy the condition? (A missing value never does.)
pub fn satisfies(spec: &StudySpec, t: &Trial, c: &Condition) -> bool {
    match lhs(spec, t, &c.name) {
        None => false,
        Some(Lhs::Num(x)) => match c.value.parse::<f64>() {
            Ok(v) => match c.op {
                Op::Lt => x < v,
                Op::Le => x <= v,
                Op::Gt => x > v,
                Op::Ge => x >= v,
                Op::Eq => x == v,
                Op::Ne => x != v,
            },
            Err(_) => c.op == Op::Ne,
        },
        Some(Lhs::Text(s)) => match c.op {
            Op::Eq => s == c.value,
            Op::Ne => s != c.value,
            _ => false,
        },
    }
}

/// The outcome of a pick.
pub struct Picked<'a> {
    /// The chosen trial.
    pub trial: &'a Trial,
    /// How many trials were candidates.
    pub candidates: usize,
    /// The rule applied, in words.
    pub rule: String,
}

/// Choose among `trials` (see the module docs).
pub fn choose<'a>(
    spec: &StudySpec,
    trials: &'a [Trial],
    conds: &[Condition],
    best: Option<&str>,
) -> Result<Option<Picked<'a>>, String> {
    let objectives = &spec.objectives;
    let cands: Vec<(&Trial, Vec<f64>)> = trials
        .iter()
        .filter(|t| t.state == TrialState::Complete && objectives.violation(&t.values) == 0.0)
        .filter(|t| conds.iter().all(|c| satisfies(spec, t, c)))
        .filter_map(|t| Some((t, t.minimised(objectives)?)))
        .collect();
    if cands.is_empty() {
        return Ok(None);
    }
    let points: Vec<Vec<f64>> = cands.iter().map(|(_, p)| p.clone()).collect();
    let front = pareto::pareto_front(&points);
    let mut on_front = vec![false; points.len()];
    for &i in &front {
        on_front[i] = true;
    }
    let numbers: Vec<u64> = cands.iter().map(|(t, _)| t.number).collect();
    let (index, rule) = match best {
        Some(name) => {
            let Some(k) = objectives.iter().position(|o| o.name == name) else {
                return Err(format!(
                    "--best: `{name}` is not an objective (objectives: {})",
                    objectives.names().join(", ")
                ));
            };
            // The rule `status` names its best trials by.
            let i = paretosearch::best_in(&points, &numbers, &on_front, k).expect("non-empty");
            let dir = match objectives.0[k].direction {
                Direction::Minimize => "lowest",
                Direction::Maximize => "highest",
            };
            (i, format!("{dir} {name}"))
        }
        None => {
            let fp: Vec<Vec<f64>> = front.iter().map(|&i| points[i].clone()).collect();
            let ideal = pareto::ideal_point(&fp);
            let nadir: Vec<f64> = (0..objectives.len())
                .map(|k| fp.iter().map(|p| p[k]).fold(f64::NEG_INFINITY, f64::max))
                .collect();
            let scaled = pareto::normalise(&fp, &ideal, &nadir);
            let best = (0..fp.len())
                .min_by(|&a, &b| {
                    let d = |p: &Vec<f64>| p.iter().map(|x| x * x).sum::<f64>();
                    d(&scaled[a]).total_cmp(&d(&scaled[b]))
                })
                .expect("non-empty front");
            (
                front[best],
                "compromise: closest to the ideal point of the candidates' Pareto set (objectives scaled to [0, 1])".to_string(),
            )
        }
    };
    Ok(Some(Picked {
        trial: cands[index].0,
        candidates: cands.len(),
        rule,
    }))
}

/// Run `pick`.
pub async fn pick(args: PickArgs) -> Result<ExitCode> {
    let loaded = study::load(&args.study.study, args.study.storage.as_deref()).await?;
    let spec = &loaded.spec;
    let mut conds = Vec::new();
    for text in &args.conditions {
        conds.extend(parse_conditions(text).map_err(|e| BadInput(format!("--where: {e}")))?);
    }
    check_conditions(spec, &conds).map_err(BadInput)?;
    let record = loaded.existing_study().await?;
    let trials = loaded.store.trials(record.id).await?;
    let picked = choose(spec, &trials, &conds, args.best.as_deref()).map_err(BadInput)?;
    let Some(p) = picked else {
        let what = if conds.is_empty() {
            "no feasible COMPLETE trial yet".to_string()
        } else {
            format!(
                "no feasible COMPLETE trial satisfies {}",
                args.conditions.join(" and ")
            )
        };
        if args.json {
            println!(
                "{}",
                serde_json::to_string_pretty(
                    &json!({"trial": null, "candidates": 0, "reason": what})
                )?
            );
        }
        eprintln!("{}: {what}", paint("nothing picked", Paint::Yellow));
        return Ok(ExitCode::from(1));
    };
    if let Some(out) = &args.out {
        let text = crate::export::study_file_for(spec, p.trial)?;
        if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(out, text).with_context(|| format!("writing {}", out.display()))?;
    }
    if args.json {
        let out = json!({
            "trial": crate::export::trial_json(p.trial),
            "candidates": p.candidates,
            "where": args.conditions,
            "rule": p.rule,
            "file": args.out.as_ref().map(|p| p.display().to_string()),
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(ExitCode::SUCCESS);
    }
    let t = p.trial;
    let head = format!(
        "{} trial {} (from {} candidate{}; rule: {})",
        paint("picked", Paint::Green),
        paint(&t.number.to_string(), Paint::Bold),
        p.candidates,
        if p.candidates == 1 { "" } else { "s" },
        p.rule
    );
    println!("{}", wrap(&head, 2));
    let mut table = crate::term::table();
    table.set_header(vec!["", "name", "value"]);
    for o in spec.objectives.iter() {
        if let Some(v) = t.values.get(&o.name) {
            table.add_row(vec!["objective".to_string(), o.name.clone(), fmt_num(*v)]);
        }
    }
    for (k, v) in &t.params {
        let shown = match v {
            ParamValue::Float(x) => fmt_num(*x),
            other => other.to_string(),
        };
        table.add_row(vec!["parameter".to_string(), k.clone(), shown]);
    }
    // The kind and name columns stay; long values wrap.
    let left_out = crate::term::fit(&mut table, 2);
    println!("{table}");
    if let Some(note) = crate::term::left_out_note(&left_out, "`paretosearch pick --json`") {
        println!("{}", wrap(&note, 2));
    }
    if let Some(out) = &args.out {
        let line = format!(
            "wrote {} (run it with `paretosearch run {}`)",
            out.display(),
            out.display()
        );
        println!("{}", wrap(&line, 2));
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_parse() {
        let c = parse_conditions("latency_ms < 5 and optimizer == 'adam'").unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].name, "latency_ms");
        assert_eq!(c[0].op, Op::Lt);
        assert_eq!(c[0].value, "5");
        assert_eq!(c[1].op, Op::Eq);
        assert_eq!(c[1].value, "adam");
        let c = parse_conditions("acc>=0.9&&lr<=1e-3").unwrap();
        assert_eq!((c[0].op, c[1].op), (Op::Ge, Op::Le));
        assert_eq!(c[1].value, "1e-3");
        assert_eq!(parse_conditions("x != 3").unwrap()[0].op, Op::Ne);
        assert!(parse_conditions("latency 5").is_err());
        assert!(parse_conditions("< 5").is_err());
    }
}
