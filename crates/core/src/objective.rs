//! Objectives: names, directions, feasibility bounds.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Which way an objective improves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Smaller is better.
    Minimize,
    /// Larger is better.
    Maximize,
}

/// A feasibility bound on an objective's raw value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Constraint {
    /// Values below this are infeasible.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Values above this are infeasible.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
}

impl Constraint {
    /// How far `v` is outside the bound (0 when feasible).
    pub fn violation(&self, v: f64) -> f64 {
        let mut out = 0.0;
        if let Some(m) = self.max {
            out += (v - m).max(0.0);
        }
        if let Some(m) = self.min {
            out += (m - v).max(0.0);
        }
        out
    }
}

/// One objective of a study.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Objective {
    /// Name, as reported by the runner.
    pub name: String,
    /// Direction of improvement.
    pub direction: Direction,
    /// Optional feasibility bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constraint: Option<Constraint>,
    /// Measurable without training (latency, size, MACs).
    #[serde(default)]
    pub cheap: bool,
}

/// The ordered objectives of a study.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Objectives(pub Vec<Objective>);

impl Objectives {
    /// Number of objectives.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// No objectives?
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Iterate over the objectives.
    pub fn iter(&self) -> std::slice::Iter<'_, Objective> {
        self.0.iter()
    }

    /// Objective names in order.
    pub fn names(&self) -> Vec<&str> {
        self.0.iter().map(|o| o.name.as_str()).collect()
    }

    /// Directions in order.
    pub fn directions(&self) -> Vec<Direction> {
        self.0.iter().map(|o| o.direction).collect()
    }

    /// Raw values in objective order, if every objective is present.
    pub fn raw(&self, values: &BTreeMap<String, f64>) -> Option<Vec<f64>> {
        self.0
            .iter()
            .map(|o| values.get(&o.name).copied())
            .collect()
    }

    /// Values in objective order, signs flipped so that every objective is
    /// minimised. `None` if any objective is missing.
    pub fn minimised(&self, values: &BTreeMap<String, f64>) -> Option<Vec<f64>> {
        self.0
            .iter()
            .map(|o| {
                values.get(&o.name).map(|v| match o.direction {
                    Direction::Minimize => *v,
                    Direction::Maximize => -*v,
                })
            })
            .collect()
    }

    /// Total constraint violation of a set of values (0 means feasible).
    /// Missing values count as feasible here; completeness is checked elsewhere.
    pub fn violation(&self, values: &BTreeMap<String, f64>) -> f64 {
        self.0
            .iter()
            .filter_map(|o| Some(o.constraint?.violation(*values.get(&o.name)?)))
            .sum()
    }

    /// Are there any constraints?
    pub fn constrained(&self) -> bool {
        self.0.iter().any(|o| o.constraint.is_some())
    }

    /// A stable fingerprint of names and directions (constraints and the
    /// `cheap` flag may change between runs of a study).
    pub fn fingerprint(&self) -> String {
        let parts: Vec<(String, Direction)> = self
            .0
            .iter()
            .map(|o| (o.name.clone(), o.direction))
            .collect();
        let json = serde_json::to_string(&parts).expect("objectives serialise");
        crate::space::hex(&Sha256::digest(json.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimised_flips_maximised() {
        let o = Objectives(vec![
            Objective {
                name: "acc".into(),
                direction: Direction::Maximize,
                constraint: None,
                cheap: false,
            },
            Objective {
                name: "lat".into(),
                direction: Direction::Minimize,
                constraint: Some(Constraint {
                    min: None,
                    max: Some(5.0),
                }),
                cheap: true,
            },
        ]);
        let v: BTreeMap<String, f64> = [("acc".to_string(), 0.9), ("lat".to_string(), 7.0)].into();
        assert_eq!(o.minimised(&v), Some(vec![-0.9, 7.0]));
        assert_eq!(o.violation(&v), 2.0);
        let partial: BTreeMap<String, f64> = [("acc".to_string(), 0.9)].into();
        assert_eq!(o.minimised(&partial), None);
    }
}
