//! `status --posterior` and `export --pareto --posterior`: the posterior
//! Pareto set beside the observed one (see `paretosearch::posterior`).
//!
//! The estimates are computed when asked, never stored: they change with
//! every trial. An exported trial carries them in its attributes under
//! `posterior` (`mean`, `sd`, `noise_sd`, each by objective name), and the
//! CSV in `posterior.<objective>` and `posterior_sd.<objective>` columns.

use comfy_table::{Cell, CellAlignment};
use paretosearch::samplers::gp::{Estimate, Posterior};
use paretosearch_core::{StudySpec, Trial};
use serde_json::{json, Value};

use crate::term::wrap;
use crate::util::fmt_num;

/// The attribute an exported trial carries its estimate in.
pub const ATTR: &str = "posterior";

fn by_name(spec: &StudySpec, v: &[f64]) -> Value {
    Value::Object(
        spec.objectives
            .names()
            .iter()
            .zip(v)
            .map(|(n, x)| (n.to_string(), json!(x)))
            .collect(),
    )
}

/// One estimate as JSON: `mean`, `sd`, `noise_sd` by objective name.
pub fn estimate_json(spec: &StudySpec, e: &Estimate) -> Value {
    json!({
        "mean": by_name(spec, &e.mean),
        "sd": by_name(spec, &e.sd),
        "noise_sd": by_name(spec, &e.noise_sd),
    })
}

/// Fit the posterior to `trials` and write each COMPLETE trial's estimate
/// into its attributes; the posterior Pareto set's numbers, or `None` when
/// there are too few COMPLETE trials to fit.
pub fn attach(spec: &StudySpec, trials: &mut [Trial]) -> Option<Vec<u64>> {
    let p = paretosearch::posterior::posterior(spec, trials)?;
    for e in &p.estimates {
        if let Some(t) = trials.iter_mut().find(|t| t.number == e.number) {
            t.attrs.insert(ATTR.into(), estimate_json(spec, e));
        }
    }
    Some(p.front)
}

/// `status --json`'s `posterior`: the posterior Pareto set (trials with
/// their estimates), the fitted noise, and how it overlaps the observed set.
pub fn status_json(spec: &StudySpec, trials: &[Trial], observed: &[u64]) -> Value {
    let Some(p) = paretosearch::posterior::posterior(spec, trials) else {
        return json!(null);
    };
    let front: Vec<Value> = p
        .front
        .iter()
        .filter_map(|n| {
            let t = trials.iter().find(|t| t.number == *n)?;
            let e = p.estimates.iter().find(|e| e.number == *n)?;
            let mut v = crate::export::trial_json(t);
            v[ATTR] = estimate_json(spec, e);
            Some(v)
        })
        .collect();
    json!({
        "pareto": front,
        "noise_sd": p.estimates.first().map(|e| by_name(spec, &e.noise_sd)),
        "also_observed_pareto": p.front.iter().filter(|n| observed.contains(n)).count(),
    })
}

/// Print the posterior Pareto set under the observed one.
pub fn print(spec: &StudySpec, trials: &[Trial], observed: &[u64]) {
    let Some(p) = paretosearch::posterior::posterior(spec, trials) else {
        println!("posterior Pareto set: needs at least two COMPLETE trials");
        return;
    };
    print_posterior(spec, trials, observed, &p);
}

fn print_posterior(spec: &StudySpec, trials: &[Trial], observed: &[u64], p: &Posterior) {
    let both = p.front.iter().filter(|n| observed.contains(n)).count();
    let noise: Vec<String> = match p.estimates.first() {
        Some(e) => spec
            .objectives
            .names()
            .iter()
            .zip(&e.noise_sd)
            .map(|(n, s)| format!("{n} ±{}", fmt_num(*s)))
            .collect(),
        None => Vec::new(),
    };
    let line = format!(
        "posterior Pareto set (a GP's estimate of each trial, measurement noise taken out): {} trial{}, {both} of them in the observed set; fitted measurement noise (sd): {}",
        p.front.len(),
        if p.front.len() == 1 { "" } else { "s" },
        noise.join(", ")
    );
    println!("{}", wrap(&line, 2));
    let mut table = crate::term::table();
    let mut header = vec![Cell::new("#")];
    for o in spec.objectives.iter() {
        header.push(Cell::new(format!("{} estimate", o.name)));
        header.push(Cell::new(format!("{} observed", o.name)));
    }
    table.set_header(header);
    let mut rows: Vec<&Estimate> = p
        .estimates
        .iter()
        .filter(|e| p.front.contains(&e.number))
        .collect();
    rows.sort_by(|a, b| a.mean[0].total_cmp(&b.mean[0]));
    for e in rows {
        let Some(t) = trials.iter().find(|t| t.number == e.number) else {
            continue;
        };
        let mut row = vec![Cell::new(t.number).set_alignment(CellAlignment::Right)];
        for (j, o) in spec.objectives.iter().enumerate() {
            row.push(
                Cell::new(format!("{} ± {}", fmt_num(e.mean[j]), fmt_num(e.sd[j])))
                    .set_alignment(CellAlignment::Right),
            );
            row.push(
                Cell::new(
                    t.values
                        .get(&o.name)
                        .map(|v| fmt_num(*v))
                        .unwrap_or_default(),
                )
                .set_alignment(CellAlignment::Right),
            );
        }
        table.add_row(row);
    }
    let left_out = crate::term::fit(&mut table, 2);
    println!("{table}");
    if let Some(note) =
        crate::term::left_out_note(&left_out, "`paretosearch status --posterior --json`")
    {
        println!("{}", wrap(&note, 2));
    }
}
