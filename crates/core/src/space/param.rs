//! Named parameters and the conditions that activate them.

use serde::{Deserialize, Serialize};

use super::{Distribution, Monotone, ParamValue, Params};

/// A parameter is active only when its parents hold listed values.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Condition {
    /// Parent parameter name.
    pub parent: String,
    /// The parent values that activate the child.
    pub values: Vec<ParamValue>,
}

/// One named parameter.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Param {
    /// Name, unique in the space.
    pub name: String,
    /// Its distribution.
    pub distribution: Distribution,
    /// Conditions that must all hold for the parameter to be active.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub when: Vec<Condition>,
    /// Declared monotonicity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monotone: Option<Monotone>,
}

impl Param {
    /// Is the parameter active given the (already chosen) parent values?
    pub fn is_active(&self, params: &Params) -> bool {
        self.when.iter().all(|c| {
            params
                .get(&c.parent)
                .is_some_and(|v| c.values.iter().any(|w| w.loosely_equals(v)))
        })
    }
}
