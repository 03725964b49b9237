//! The search space: an ordered set of parameters, parents first, with
//! sampling helpers, configuration checks and a fingerprint.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{hex, Param, ParamValue, Params};
use crate::error::CoreError;

/// An ordered set of parameters; parents always precede their children.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SearchSpace {
    params: Vec<Param>,
}

impl SearchSpace {
    /// Build a space. Parameters are reordered so that parents precede
    /// children (stable otherwise). Fails on duplicate names, unknown
    /// parents, cycles, or invalid distributions.
    pub fn new(params: Vec<Param>) -> Result<Self, CoreError> {
        let mut seen = std::collections::BTreeSet::new();
        for p in &params {
            if !seen.insert(p.name.clone()) {
                return Err(CoreError::InvalidParam {
                    name: p.name.clone(),
                    message: "declared twice".into(),
                });
            }
            if let Err((field, msg)) = p.distribution.check() {
                return Err(CoreError::InvalidParam {
                    name: p.name.clone(),
                    message: format!("{field}: {msg}"),
                });
            }
        }
        for p in &params {
            for c in &p.when {
                let Some(parent) = params.iter().find(|q| q.name == c.parent) else {
                    return Err(CoreError::InvalidParam {
                        name: p.name.clone(),
                        message: format!("`when` names unknown parameter `{}`", c.parent),
                    });
                };
                for v in &c.values {
                    if !parent.distribution.contains(v) {
                        return Err(CoreError::InvalidParam {
                            name: p.name.clone(),
                            message: format!(
                                "`when` value `{v}` is not a possible value of `{}`",
                                c.parent
                            ),
                        });
                    }
                }
            }
        }
        // Stable topological order.
        let mut ordered: Vec<Param> = Vec::with_capacity(params.len());
        let mut rest = params;
        while !rest.is_empty() {
            let pos = rest.iter().position(|p| {
                p.when
                    .iter()
                    .all(|c| ordered.iter().any(|q| q.name == c.parent))
            });
            match pos {
                Some(i) => ordered.push(rest.remove(i)),
                None => {
                    return Err(CoreError::InvalidParam {
                        name: rest[0].name.clone(),
                        message: "conditions form a cycle".into(),
                    })
                }
            }
        }
        Ok(SearchSpace { params: ordered })
    }

    /// The parameters, parents first.
    pub fn params(&self) -> &[Param] {
        &self.params
    }

    /// Number of parameters.
    pub fn len(&self) -> usize {
        self.params.len()
    }

    /// Is the space empty?
    pub fn is_empty(&self) -> bool {
        self.params.is_empty()
    }

    /// Look a parameter up by name.
    pub fn get(&self, name: &str) -> Option<&Param> {
        self.params.iter().find(|p| p.name == name)
    }

    /// Index of a parameter by name.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.params.iter().position(|p| p.name == name)
    }

    /// Does any parameter carry a condition?
    pub fn is_conditional(&self) -> bool {
        self.params.iter().any(|p| !p.when.is_empty())
    }

    /// Build a configuration by asking `choose` for each active parameter,
    /// in order (parents first). `choose(index, param, chosen_so_far)`.
    pub fn sample_with(
        &self,
        mut choose: impl FnMut(usize, &Param, &Params) -> ParamValue,
    ) -> Params {
        let mut out = Params::new();
        for (i, p) in self.params.iter().enumerate() {
            if p.is_active(&out) {
                let v = choose(i, p, &out);
                out.insert(p.name.clone(), v);
            }
        }
        out
    }

    /// Build a configuration from unit coordinates, one per parameter (by
    /// index; coordinates of inactive parameters are ignored).
    pub fn from_unit(&self, u: &[f64]) -> Params {
        self.sample_with(|i, p, _| p.distribution.from_unit(u.get(i).copied().unwrap_or(0.5)))
    }

    /// Unit coordinates of a configuration; inactive parameters get `None`.
    pub fn to_unit(&self, params: &Params) -> Vec<Option<f64>> {
        self.params
            .iter()
            .map(|p| params.get(&p.name).and_then(|v| p.distribution.to_unit(v)))
            .collect()
    }

    /// Check a configuration: every active parameter present and legal,
    /// nothing else present.
    pub fn validate(&self, params: &Params) -> Result<(), CoreError> {
        for p in &self.params {
            let active = p.is_active(params);
            match (active, params.get(&p.name)) {
                (true, None) => {
                    return Err(CoreError::InvalidParam {
                        name: p.name.clone(),
                        message: "missing".into(),
                    })
                }
                (true, Some(v)) if !p.distribution.contains(v) => {
                    return Err(CoreError::InvalidParam {
                        name: p.name.clone(),
                        message: format!("value `{v}` is outside its distribution"),
                    })
                }
                (false, Some(_)) => {
                    return Err(CoreError::InvalidParam {
                        name: p.name.clone(),
                        message: "present although its condition does not hold".into(),
                    })
                }
                _ => {}
            }
        }
        for k in params.keys() {
            if self.get(k).is_none() {
                return Err(CoreError::InvalidParam {
                    name: k.clone(),
                    message: "not a parameter of the search space".into(),
                });
            }
        }
        Ok(())
    }

    /// A stable fingerprint of the space (names, distributions, conditions,
    /// monotonicity), independent of declaration order.
    pub fn fingerprint(&self) -> String {
        let mut sorted: Vec<&Param> = self.params.iter().collect();
        sorted.sort_by(|a, b| a.name.cmp(&b.name));
        let json = serde_json::to_string(&sorted).expect("space serialises");
        hex(&Sha256::digest(json.as_bytes()))
    }
}
