//! The fixed hypervolume reference of a study, and the hypervolume against it.
//!
//! A hypervolume is only comparable over time when the reference point it
//! is measured against stays put. Every hypervolume a study shows (the
//! progress bar, `status`, `plot`, `report`) uses the one reference
//! [`resolve`] picks, in this order:
//!
//! 1. **declared**: `[hypervolume] reference = { name = value, ... }` in the
//!    study file (raw objective values);
//! 2. **frozen and stored**: once `freeze_after` (default 10) feasible
//!    COMPLETE trials have finished, the engine freezes their nadir plus
//!    10 % of their range per objective ([`pareto::nadir_reference`] over
//!    those trials) and stores it in the study's stored spec under
//!    [`STORED_KEY`], with the numbers of the trials it came from; a later
//!    open of the study keeps it;
//! 3. **frozen, not yet stored**: a study older than this rule (or one
//!    read by a read-only command before a writer stored it) gets the same
//!    value from the same rule: the first `freeze_after` feasible COMPLETE
//!    trials in the order they finished (finish time, then number), a set
//!    that no later trial changes;
//! 4. **provisional**: fewer feasible trials than that: the rule over the
//!    ones there are, said to be provisional (it moves until frozen).
//!
//! The raw hypervolume multiplies the units of the objectives, so it is
//! shown with a normalised figure: the hypervolume divided by the volume
//! of the box between the ideal point (per objective the best value among
//! the Pareto-optimal trials that beat the reference in every objective)
//! and the reference. It is 1 when one trial is best in every objective,
//! and 0 when no trial beats the reference.

use paretosearch_core::{pareto, Direction, Objectives, StudySpec, Trial, TrialState};
use serde_json::{json, Value};

/// Key of the frozen reference in the stored spec JSON.
pub const STORED_KEY: &str = "frozen_hypervolume_reference";

/// Where a reference point comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum ReferenceSource {
    /// `[hypervolume] reference` in the study file.
    Declared,
    /// Frozen from these trials (by number); `stored`: read from the
    /// stored study rather than recomputed.
    Frozen {
        /// The trials whose nadir it is.
        trials: Vec<u64>,
        /// Whether the storage holds it.
        stored: bool,
    },
    /// From the `trials` feasible trials there are, fewer than
    /// `freeze_after`: it moves until frozen.
    Provisional {
        /// Feasible COMPLETE trials so far.
        trials: usize,
        /// How many freeze it.
        freeze_after: usize,
    },
}

/// A study's hypervolume reference point.
#[derive(Clone, Debug, PartialEq)]
pub struct Reference {
    /// Raw objective values, in objective order.
    pub raw: Vec<f64>,
    /// Where it comes from.
    pub source: ReferenceSource,
}

impl Reference {
    /// The point in the minimised space (maximised objectives negated).
    pub fn minimised(&self, objectives: &Objectives) -> Vec<f64> {
        minimise(&self.raw, objectives)
    }

    /// `declared`, `frozen` or `provisional`.
    pub fn kind(&self) -> &'static str {
        match self.source {
            ReferenceSource::Declared => "declared",
            ReferenceSource::Frozen { .. } => "frozen",
            ReferenceSource::Provisional { .. } => "provisional",
        }
    }

    /// Where it comes from, in words.
    pub fn source_text(&self) -> String {
        match &self.source {
            ReferenceSource::Declared => "declared in [hypervolume] of the study file".into(),
            ReferenceSource::Frozen { trials, .. } => format!(
                "frozen from the first {} feasible trials ({}): their worst values plus 10 % of their range",
                trials.len(),
                numbers(trials)
            ),
            ReferenceSource::Provisional {
                trials,
                freeze_after,
            } => format!(
                "provisional: from the {trials} feasible trial{} so far, frozen after {freeze_after}",
                if *trials == 1 { "" } else { "s" }
            ),
        }
    }

    /// `latency ≤ 12.3, accuracy ≥ 0.5`: the values with the side a trial
    /// must be on to count.
    pub fn describe(&self, objectives: &Objectives, fmt: impl Fn(f64) -> String) -> String {
        objectives
            .iter()
            .zip(&self.raw)
            .map(|(o, r)| {
                let side = match o.direction {
                    Direction::Minimize => "≤",
                    Direction::Maximize => "≥",
                };
                format!("{} {side} {}", o.name, fmt(*r))
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// As JSON: `values` by objective name, `kind`, `source` in words,
    /// the frozen trials and whether the storage holds it.
    pub fn to_json(&self, objectives: &Objectives) -> Value {
        let values: serde_json::Map<String, Value> = objectives
            .iter()
            .zip(&self.raw)
            .map(|(o, r)| (o.name.clone(), json!(r)))
            .collect();
        let (trials, stored) = match &self.source {
            ReferenceSource::Frozen { trials, stored } => (json!(trials), json!(stored)),
            _ => (Value::Null, Value::Null),
        };
        json!({
            "values": values,
            "kind": self.kind(),
            "source": self.source_text(),
            "trials": trials,
            "stored": stored,
        })
    }

    /// What the stored spec holds under [`STORED_KEY`] (frozen only).
    pub fn stored_json(&self, objectives: &Objectives) -> Option<Value> {
        let ReferenceSource::Frozen { trials, .. } = &self.source else {
            return None;
        };
        Some(json!({
            "objectives": objectives.names(),
            "values": self.raw,
            "trials": trials,
        }))
    }
}

/// `0-9` for a run of consecutive numbers, else `0, 2, 5`.
fn numbers(n: &[u64]) -> String {
    let consecutive = n.windows(2).all(|w| w[1] == w[0] + 1);
    match (n.first(), n.last()) {
        (Some(a), Some(b)) if consecutive && n.len() > 2 => format!("#{a}-#{b}"),
        _ => n
            .iter()
            .map(|x| format!("#{x}"))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

fn minimise(raw: &[f64], objectives: &Objectives) -> Vec<f64> {
    objectives
        .iter()
        .zip(raw)
        .map(|(o, r)| match o.direction {
            Direction::Minimize => *r,
            Direction::Maximize => -*r,
        })
        .collect()
}

/// The frozen reference a stored spec holds, if it holds one for these
/// objectives (by name, in order).
pub fn stored(spec_json: &str, objectives: &Objectives) -> Option<Reference> {
    let v: Value = serde_json::from_str(spec_json).ok()?;
    let r = v.get(STORED_KEY)?;
    let names: Vec<&str> = r
        .get("objectives")?
        .as_array()?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    if names != objectives.names() {
        return None;
    }
    let raw: Vec<f64> = r
        .get("values")?
        .as_array()?
        .iter()
        .map(Value::as_f64)
        .collect::<Option<_>>()?;
    if raw.len() != objectives.len() || raw.iter().any(|x| !x.is_finite()) {
        return None;
    }
    let trials = r
        .get("trials")?
        .as_array()?
        .iter()
        .filter_map(Value::as_u64)
        .collect();
    Some(Reference {
        raw,
        source: ReferenceSource::Frozen {
            trials,
            stored: true,
        },
    })
}

/// `spec_json` with `reference` stored under [`STORED_KEY`] (unchanged
/// when it is not frozen or the text is no JSON object).
pub fn with_stored(spec_json: &str, reference: &Reference, objectives: &Objectives) -> String {
    let (Ok(Value::Object(mut map)), Some(r)) = (
        serde_json::from_str::<Value>(spec_json),
        reference.stored_json(objectives),
    ) else {
        return spec_json.to_string();
    };
    map.insert(STORED_KEY.into(), r);
    Value::Object(map).to_string()
}

/// The feasible COMPLETE trials in the order they finished (finish time,
/// then number), with their minimised values.
fn feasible_in_finish_order<'a>(
    trials: &'a [Trial],
    objectives: &Objectives,
) -> Vec<(&'a Trial, Vec<f64>)> {
    let mut out: Vec<(&Trial, Vec<f64>)> = trials
        .iter()
        .filter(|t| t.state == TrialState::Complete && objectives.violation(&t.values) == 0.0)
        .filter_map(|t| Some((t, t.minimised(objectives)?)))
        .collect();
    out.sort_by_key(|(t, _)| (t.finished_at.unwrap_or(i64::MAX), t.number));
    out
}

/// The reference frozen from the first `freeze_after` feasible COMPLETE
/// trials; `None` while there are fewer (not stored: see [`resolve`]).
pub fn freeze(trials: &[Trial], objectives: &Objectives, freeze_after: usize) -> Option<Reference> {
    let feasible = feasible_in_finish_order(trials, objectives);
    if feasible.len() < freeze_after.max(1) {
        return None;
    }
    let first = &feasible[..freeze_after.max(1)];
    let points: Vec<Vec<f64>> = first.iter().map(|(_, p)| p.clone()).collect();
    let mut numbers: Vec<u64> = first.iter().map(|(t, _)| t.number).collect();
    numbers.sort_unstable();
    Some(Reference {
        raw: minimise(&pareto::nadir_reference(&points), objectives),
        source: ReferenceSource::Frozen {
            trials: numbers,
            stored: false,
        },
    })
}

/// The study's reference: declared, else `stored`, else frozen from
/// `trials`, else provisional; `None` without a feasible COMPLETE trial
/// (and nothing declared or stored).
pub fn resolve(
    spec: &StudySpec,
    stored: Option<&Reference>,
    trials: &[Trial],
) -> Option<Reference> {
    if let Some(raw) = &spec.hypervolume.reference {
        return Some(Reference {
            raw: raw.clone(),
            source: ReferenceSource::Declared,
        });
    }
    if let Some(r) = stored {
        return Some(r.clone());
    }
    by_rule(trials, &spec.objectives, spec.hypervolume.freeze_after)
}

/// Frozen from the first `freeze_after` feasible trials, else provisional
/// from those there are (steps 3 and 4 of [`resolve`]).
pub fn by_rule(
    trials: &[Trial],
    objectives: &Objectives,
    freeze_after: usize,
) -> Option<Reference> {
    freeze(trials, objectives, freeze_after).or_else(|| {
        let feasible = feasible_in_finish_order(trials, objectives);
        let points: Vec<Vec<f64>> = feasible.iter().map(|(_, p)| p.clone()).collect();
        (!points.is_empty()).then(|| Reference {
            raw: minimise(&pareto::nadir_reference(&points), objectives),
            source: ReferenceSource::Provisional {
                trials: points.len(),
                freeze_after,
            },
        })
    })
}

/// A hypervolume against a fixed reference, raw and normalised.
#[derive(Clone, Debug, PartialEq)]
pub struct Hypervolume {
    /// In the product of the objectives' units.
    pub raw: f64,
    /// `raw` over the volume of the box between the ideal point and the
    /// reference (`None` when no point beats the reference).
    pub normalised: Option<f64>,
    /// The ideal point, raw (`None` as for `normalised`).
    pub ideal: Option<Vec<f64>>,
}

/// The hypervolume of `front` (minimised points) against the minimised
/// reference `reference`; the ideal point is raw again through
/// `objectives`.
pub fn measure(front: &[Vec<f64>], reference: &[f64], objectives: &Objectives) -> Hypervolume {
    let raw = if front.is_empty() {
        0.0
    } else {
        pareto::hypervolume(front, reference)
    };
    let inside: Vec<&Vec<f64>> = front
        .iter()
        .filter(|p| p.iter().zip(reference).all(|(x, r)| x < r))
        .collect();
    let ideal: Option<Vec<f64>> = (!inside.is_empty()).then(|| {
        (0..reference.len())
            .map(|j| inside.iter().map(|p| p[j]).fold(f64::INFINITY, f64::min))
            .collect()
    });
    let normalised = ideal.as_ref().and_then(|i| {
        let volume: f64 = i.iter().zip(reference).map(|(i, r)| r - i).product();
        (volume > 0.0 && volume.is_finite()).then(|| (raw / volume).clamp(0.0, 1.0))
    });
    Hypervolume {
        raw,
        normalised,
        ideal: ideal.map(|i| minimise(&i, objectives)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use paretosearch_core::Objective;

    fn objectives() -> Objectives {
        Objectives(vec![
            Objective {
                name: "loss".into(),
                direction: Direction::Minimize,
                constraint: None,
                cheap: false,
            },
            Objective {
                name: "acc".into(),
                direction: Direction::Maximize,
                constraint: None,
                cheap: false,
            },
        ])
    }

    #[test]
    fn normalised_is_one_for_a_point_best_in_everything() {
        let o = objectives();
        // loss 1, acc 0.9 against loss 3, acc 0.5: minimised (1, -0.9)
        // against (3, -0.5).
        let h = measure(&[vec![1.0, -0.9]], &[3.0, -0.5], &o);
        assert!((h.raw - 2.0 * 0.4).abs() < 1e-12);
        assert_eq!(h.normalised, Some(1.0));
        assert_eq!(h.ideal, Some(vec![1.0, 0.9]));
    }

    #[test]
    fn normalised_by_the_box_between_ideal_and_reference() {
        let o = objectives();
        // Two points (0, -0.6) and (2, -1.0) against (4, 0): raw 4*0.6 +
        // 2*0.4 = 3.2; ideal (0, -1.0), box 4 * 1 = 4.
        let h = measure(&[vec![0.0, -0.6], vec![2.0, -1.0]], &[4.0, 0.0], &o);
        assert!((h.raw - 3.2).abs() < 1e-12);
        assert!((h.normalised.unwrap() - 0.8).abs() < 1e-12);
        // A point outside the reference box counts for nothing.
        let h = measure(&[vec![5.0, -2.0]], &[4.0, 0.0], &o);
        assert_eq!((h.raw, h.normalised), (0.0, None));
    }

    #[test]
    fn stored_round_trips_and_checks_the_objectives() {
        let o = objectives();
        let r = Reference {
            raw: vec![3.5, 0.25],
            source: ReferenceSource::Frozen {
                trials: vec![0, 1, 2],
                stored: false,
            },
        };
        let json = with_stored(r#"{"study":{"name":"x"}}"#, &r, &o);
        let back = stored(&json, &o).unwrap();
        assert_eq!(back.raw, r.raw);
        assert_eq!(
            back.source,
            ReferenceSource::Frozen {
                trials: vec![0, 1, 2],
                stored: true
            }
        );
        let mut renamed = o.clone();
        renamed.0[0].name = "other".into();
        assert_eq!(stored(&json, &renamed), None);
        assert_eq!(stored(r#"{"study":{}}"#, &o), None);
    }
}
