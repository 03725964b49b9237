//! Search spaces: parameters, their distributions, conditions and the two
//! canonical views (unit and internal) that samplers work in.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::CoreError;

/// One parameter value as the user sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ParamValue {
    /// A boolean categorical choice.
    Bool(bool),
    /// An integer (int parameters, integer categorical choices).
    Int(i64),
    /// A float.
    Float(f64),
    /// A string categorical choice.
    Str(String),
}

impl ParamValue {
    /// The value as a float, if numeric.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            ParamValue::Int(i) => Some(*i as f64),
            ParamValue::Float(f) => Some(*f),
            _ => None,
        }
    }

    /// The value as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("param values serialise")
    }

    /// Loose equality used for conditions: `1` equals `1.0`.
    pub fn loosely_equals(&self, other: &ParamValue) -> bool {
        match (self.as_f64(), other.as_f64()) {
            (Some(a), Some(b)) => a == b,
            _ => self == other,
        }
    }
}

impl fmt::Display for ParamValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamValue::Bool(b) => write!(f, "{b}"),
            ParamValue::Int(i) => write!(f, "{i}"),
            ParamValue::Float(x) => write!(f, "{x}"),
            ParamValue::Str(s) => write!(f, "{s}"),
        }
    }
}

/// A configuration: parameter name to value. Inactive conditional
/// parameters are absent.
pub type Params = BTreeMap<String, ParamValue>;

/// The distribution of one parameter.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Distribution {
    /// A real number in `[low, high]`, optionally log-uniform or on a grid
    /// `low + k * step`.
    Float {
        /// Lower bound (inclusive).
        low: f64,
        /// Upper bound (inclusive).
        high: f64,
        /// Log-uniform prior (requires `low > 0`).
        #[serde(default)]
        log: bool,
        /// Grid step (not with `log`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        step: Option<f64>,
    },
    /// An integer in `[low, high]` on the grid `low + k * step`.
    Int {
        /// Lower bound (inclusive).
        low: i64,
        /// Upper bound (inclusive).
        high: i64,
        /// Log-uniform prior (requires `low >= 1`, `step == 1`).
        #[serde(default)]
        log: bool,
        /// Grid step (>= 1).
        step: i64,
    },
    /// One of a list of choices.
    Categorical {
        /// The choices, in declared order.
        choices: Vec<ParamValue>,
    },
}

impl Distribution {
    /// Check the distribution itself: bounds ordered, steps positive,
    /// log bounds positive, choices non-empty. Returns a message naming the
    /// offending field and the fix.
    pub fn check(&self) -> Result<(), (String, String)> {
        match self {
            Distribution::Float {
                low,
                high,
                log,
                step,
            } => {
                if !low.is_finite() || !high.is_finite() {
                    return Err(("low".into(), "bounds must be finite numbers".into()));
                }
                if low >= high {
                    return Err((
                        "low".into(),
                        format!("low ({low}) must be less than high ({high})"),
                    ));
                }
                if *log && *low <= 0.0 {
                    return Err((
                        "low".into(),
                        format!("a log-scaled parameter needs low > 0 (got {low})"),
                    ));
                }
                if let Some(s) = step {
                    if *log {
                        return Err((
                            "step".into(),
                            "`step` cannot be combined with `log = true`".into(),
                        ));
                    }
                    if !s.is_finite() || *s <= 0.0 {
                        return Err(("step".into(), format!("step must be > 0 (got {s})")));
                    }
                    if *s > high - low {
                        return Err((
                            "step".into(),
                            format!("step ({s}) is larger than high - low ({})", high - low),
                        ));
                    }
                }
                Ok(())
            }
            Distribution::Int {
                low,
                high,
                log,
                step,
            } => {
                if low >= high {
                    return Err((
                        "low".into(),
                        format!("low ({low}) must be less than high ({high})"),
                    ));
                }
                if *step < 1 {
                    return Err(("step".into(), format!("step must be >= 1 (got {step})")));
                }
                if *log && *low < 1 {
                    return Err((
                        "low".into(),
                        format!("a log-scaled int parameter needs low >= 1 (got {low})"),
                    ));
                }
                if *log && *step != 1 {
                    return Err((
                        "step".into(),
                        "`step` cannot be combined with `log = true`".into(),
                    ));
                }
                Ok(())
            }
            Distribution::Categorical { choices } => {
                if choices.is_empty() {
                    return Err((
                        "choices".into(),
                        "choices must list at least one value".into(),
                    ));
                }
                for (i, a) in choices.iter().enumerate() {
                    if choices[..i].iter().any(|b| b.loosely_equals(a)) {
                        return Err(("choices".into(), format!("choice `{a}` appears twice")));
                    }
                }
                Ok(())
            }
        }
    }

    /// Is this a categorical distribution?
    pub fn is_categorical(&self) -> bool {
        matches!(self, Distribution::Categorical { .. })
    }

    /// Is this a log-scaled distribution?
    pub fn is_log(&self) -> bool {
        matches!(
            self,
            Distribution::Float { log: true, .. } | Distribution::Int { log: true, .. }
        )
    }

    /// Number of distinct values for discrete distributions (stepped float,
    /// int, categorical); `None` for continuous ones.
    pub fn cardinality(&self) -> Option<u64> {
        match self {
            Distribution::Float {
                low,
                high,
                step: Some(s),
                ..
            } => Some(((high - low) / s + 1e-9).floor() as u64 + 1),
            Distribution::Float { .. } => None,
            Distribution::Int {
                low, high, step, ..
            } => Some(((high - low) / step) as u64 + 1),
            Distribution::Categorical { choices } => Some(choices.len() as u64),
        }
    }

    /// Does `v` belong to this distribution (type, bounds, grid)?
    pub fn contains(&self, v: &ParamValue) -> bool {
        match (self, v) {
            (
                Distribution::Float {
                    low, high, step, ..
                },
                _,
            ) => {
                let Some(x) = v.as_f64() else { return false };
                if !(x >= *low && x <= *high) {
                    return false;
                }
                match step {
                    Some(s) => {
                        let k = ((x - low) / s).round();
                        (low + k * s - x).abs() <= 1e-9 * s.max(1.0)
                    }
                    None => true,
                }
            }
            (
                Distribution::Int {
                    low, high, step, ..
                },
                ParamValue::Int(i),
            ) => i >= low && i <= high && (i - low) % step == 0,
            (Distribution::Int { .. }, _) => false,
            (Distribution::Categorical { choices }, v) => {
                choices.iter().any(|c| c.loosely_equals(v))
            }
        }
    }

    /// Index of a categorical choice.
    pub fn choice_index(&self, v: &ParamValue) -> Option<usize> {
        match self {
            Distribution::Categorical { choices } => {
                choices.iter().position(|c| c.loosely_equals(v))
            }
            _ => None,
        }
    }

    // ----- unit view -------------------------------------------------------

    /// Map `u` in `[0, 1]` to a legal value. Equal lengths of `u` carry
    /// equal prior mass: log parameters are log-uniform, discrete values
    /// each own a cell of width `1 / cardinality`.
    pub fn from_unit(&self, u: f64) -> ParamValue {
        let u = if u.is_nan() { 0.5 } else { u.clamp(0.0, 1.0) };
        match self {
            Distribution::Float {
                low,
                high,
                log,
                step,
            } => {
                if let Some(s) = step {
                    let n = self.cardinality().unwrap_or(1);
                    let k = ((u * n as f64).floor() as u64).min(n - 1);
                    ParamValue::Float(snap(low + k as f64 * s, *low, *high))
                } else if *log {
                    let x = (low.ln() + u * (high.ln() - low.ln())).exp();
                    ParamValue::Float(x.clamp(*low, *high))
                } else {
                    ParamValue::Float((low + u * (high - low)).clamp(*low, *high))
                }
            }
            Distribution::Int {
                low,
                high,
                log,
                step,
            } => {
                if *log {
                    let a = (*low as f64 - 0.5).ln();
                    let b = (*high as f64 + 0.5).ln();
                    let x = (a + u * (b - a)).exp().round() as i64;
                    ParamValue::Int(x.clamp(*low, *high))
                } else {
                    let n = self.cardinality().unwrap_or(1);
                    let k = ((u * n as f64).floor() as u64).min(n - 1);
                    ParamValue::Int(low + k as i64 * step)
                }
            }
            Distribution::Categorical { choices } => {
                let n = choices.len();
                let k = ((u * n as f64).floor() as usize).min(n - 1);
                choices[k].clone()
            }
        }
    }

    /// Inverse of [`Distribution::from_unit`]: the unit coordinate of a value
    /// (the centre of its cell for discrete values). `None` if the value is
    /// not of this distribution's type.
    pub fn to_unit(&self, v: &ParamValue) -> Option<f64> {
        match self {
            Distribution::Float {
                low,
                high,
                log,
                step,
            } => {
                let x = v.as_f64()?;
                if let Some(s) = step {
                    let n = self.cardinality().unwrap_or(1) as f64;
                    let k = ((x - low) / s).round().clamp(0.0, n - 1.0);
                    Some((k + 0.5) / n)
                } else if *log {
                    Some(((x.max(*low).ln() - low.ln()) / (high.ln() - low.ln())).clamp(0.0, 1.0))
                } else {
                    Some(((x - low) / (high - low)).clamp(0.0, 1.0))
                }
            }
            Distribution::Int {
                low,
                high,
                log,
                step,
            } => {
                let x = v.as_f64()?;
                if *log {
                    let a = (*low as f64 - 0.5).ln();
                    let b = (*high as f64 + 0.5).ln();
                    Some(((x.max(*low as f64).ln() - a) / (b - a)).clamp(0.0, 1.0))
                } else {
                    let n = self.cardinality().unwrap_or(1) as f64;
                    let k = ((x - *low as f64) / *step as f64)
                        .round()
                        .clamp(0.0, n - 1.0);
                    Some((k + 0.5) / n)
                }
            }
            Distribution::Categorical { choices } => {
                let k = choices.iter().position(|c| c.loosely_equals(v))?;
                Some((k as f64 + 0.5) / choices.len() as f64)
            }
        }
    }

    // ----- internal view ---------------------------------------------------

    /// The internal coordinate of a value: the value itself, its logarithm
    /// for log parameters, or the choice index for categoricals.
    pub fn to_internal(&self, v: &ParamValue) -> Option<f64> {
        match self {
            Distribution::Float { log, .. } | Distribution::Int { log, .. } => {
                let x = v.as_f64()?;
                Some(if *log { x.ln() } else { x })
            }
            Distribution::Categorical { .. } => self.choice_index(v).map(|i| i as f64),
        }
    }

    /// Map an internal coordinate back to the nearest legal value.
    pub fn from_internal(&self, x: f64) -> ParamValue {
        match self {
            Distribution::Float {
                low,
                high,
                log,
                step,
            } => {
                let v = if *log { x.exp() } else { x };
                let v = if v.is_nan() {
                    *low
                } else {
                    v.clamp(*low, *high)
                };
                match step {
                    Some(s) => {
                        ParamValue::Float(snap(low + ((v - low) / s).round() * s, *low, *high))
                    }
                    None => ParamValue::Float(v),
                }
            }
            Distribution::Int {
                low,
                high,
                log,
                step,
            } => {
                let v = if *log { x.exp() } else { x };
                let v = if v.is_nan() { *low as f64 } else { v };
                let k = ((v - *low as f64) / *step as f64).round();
                let max_k = ((high - low) / step) as f64;
                ParamValue::Int(low + k.clamp(0.0, max_k) as i64 * step)
            }
            Distribution::Categorical { choices } => {
                let k = if x.is_nan() { 0.0 } else { x.round() };
                choices[(k.max(0.0) as usize).min(choices.len() - 1)].clone()
            }
        }
    }

    /// Bounds of the internal coordinate: `(low, high)` (in log space for
    /// log parameters), `(0, n - 1)` for categoricals.
    pub fn internal_bounds(&self) -> (f64, f64) {
        match self {
            Distribution::Float { low, high, log, .. } => {
                if *log {
                    (low.ln(), high.ln())
                } else {
                    (*low, *high)
                }
            }
            Distribution::Int { low, high, log, .. } => {
                if *log {
                    ((*low as f64).ln(), (*high as f64).ln())
                } else {
                    (*low as f64, *high as f64)
                }
            }
            Distribution::Categorical { choices } => (0.0, (choices.len() - 1) as f64),
        }
    }

    /// Distance between neighbouring legal values in the internal view, for
    /// grid-valued parameters in linear scale (stepped float, non-log int).
    /// Log ints are discrete too but their grid is uneven in log space:
    /// `None` there, and callers round through [`Distribution::from_internal`].
    pub fn internal_step(&self) -> Option<f64> {
        match self {
            Distribution::Float { step, .. } => *step,
            Distribution::Int {
                log: false, step, ..
            } => Some(*step as f64),
            _ => None,
        }
    }
}

fn snap(x: f64, low: f64, high: f64) -> f64 {
    // Remove floating-point noise from `low + k * step` (0.1 + 2 * 0.1 ...).
    let r = (x * 1e12).round() / 1e12;
    r.clamp(low, high)
}

/// A parameter is active only when its parents hold listed values.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Condition {
    /// Parent parameter name.
    pub parent: String,
    /// The parent values that activate the child.
    pub values: Vec<ParamValue>,
}

/// Declared monotonicity of a parameter (used by partial-order pruning):
/// all else equal, increasing the parameter never lowers quality and never
/// lowers cost (`Increasing`), or the opposite (`Decreasing`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Monotone {
    /// Larger values: at least as good, at least as costly.
    Increasing,
    /// Smaller values: at least as good, at least as costly.
    Decreasing,
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

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(low: f64, high: f64, log: bool, step: Option<f64>) -> Distribution {
        Distribution::Float {
            low,
            high,
            log,
            step,
        }
    }

    #[test]
    fn unit_round_trip_discrete() {
        let dists = [
            Distribution::Int {
                low: 16,
                high: 1024,
                log: false,
                step: 16,
            },
            Distribution::Int {
                low: 1,
                high: 8,
                log: false,
                step: 1,
            },
            Distribution::Int {
                low: 1,
                high: 100,
                log: true,
                step: 1,
            },
            f(0.0, 1.0, false, Some(0.1)),
            Distribution::Categorical {
                choices: vec![
                    ParamValue::Str("a".into()),
                    ParamValue::Int(3),
                    ParamValue::Bool(true),
                ],
            },
        ];
        for d in &dists {
            for i in 0..=1000 {
                let u = i as f64 / 1000.0;
                let v = d.from_unit(u);
                assert!(d.contains(&v), "{d:?} {v:?}");
                let back = d.from_unit(d.to_unit(&v).unwrap());
                assert!(back.loosely_equals(&v), "{d:?}: {v:?} -> {back:?}");
                let vi = d.from_internal(d.to_internal(&v).unwrap());
                assert!(vi.loosely_equals(&v), "{d:?}: {v:?} -> {vi:?}");
            }
        }
    }

    #[test]
    fn unit_discrete_cells_are_equal() {
        let d = Distribution::Int {
            low: 1,
            high: 4,
            log: false,
            step: 1,
        };
        let mut counts = [0usize; 4];
        for i in 0..4000 {
            let v = d.from_unit((i as f64 + 0.5) / 4000.0);
            if let ParamValue::Int(k) = v {
                counts[(k - 1) as usize] += 1;
            }
        }
        assert_eq!(counts, [1000, 1000, 1000, 1000]);
    }

    #[test]
    fn log_float_is_log_uniform() {
        let d = f(1e-5, 1e-1, true, None);
        let mid = d.from_unit(0.5).as_f64().unwrap();
        assert!((mid - 1e-3).abs() < 1e-12);
        assert!((d.to_unit(&ParamValue::Float(1e-3)).unwrap() - 0.5).abs() < 1e-12);
    }

    #[test]
    fn stepped_float_snaps() {
        let d = f(0.0, 1.0, false, Some(0.1));
        assert_eq!(d.cardinality(), Some(11));
        assert_eq!(d.from_internal(0.3333), ParamValue::Float(0.3));
        assert!(d.contains(&ParamValue::Float(0.7)));
        assert!(!d.contains(&ParamValue::Float(0.75)));
    }

    #[test]
    fn check_rejects_bad_distributions() {
        assert!(f(1.0, 1.0, false, None).check().is_err());
        assert!(f(0.0, 1.0, true, None).check().is_err());
        assert!(Distribution::Categorical { choices: vec![] }
            .check()
            .is_err());
        assert!(Distribution::Int {
            low: 0,
            high: 5,
            log: false,
            step: 0
        }
        .check()
        .is_err());
    }

    fn conditional_space() -> SearchSpace {
        SearchSpace::new(vec![
            Param {
                name: "momentum".into(),
                distribution: f(0.0, 0.99, false, None),
                when: vec![Condition {
                    parent: "optimizer".into(),
                    values: vec![ParamValue::Str("sgd".into())],
                }],
                monotone: None,
            },
            Param {
                name: "optimizer".into(),
                distribution: Distribution::Categorical {
                    choices: vec![
                        ParamValue::Str("sgd".into()),
                        ParamValue::Str("adam".into()),
                    ],
                },
                when: vec![],
                monotone: None,
            },
        ])
        .unwrap()
    }

    #[test]
    fn conditions_order_and_activate() {
        let s = conditional_space();
        assert_eq!(s.params()[0].name, "optimizer");
        let sgd = s.from_unit(&[0.1, 0.5]);
        assert!(sgd.contains_key("momentum"));
        s.validate(&sgd).unwrap();
        let adam = s.from_unit(&[0.9, 0.5]);
        assert!(!adam.contains_key("momentum"));
        s.validate(&adam).unwrap();
        let mut bad = adam.clone();
        bad.insert("momentum".into(), ParamValue::Float(0.5));
        assert!(s.validate(&bad).is_err());
    }

    #[test]
    fn unknown_parent_is_an_error() {
        let err = SearchSpace::new(vec![Param {
            name: "x".into(),
            distribution: f(0.0, 1.0, false, None),
            when: vec![Condition {
                parent: "nope".into(),
                values: vec![ParamValue::Int(1)],
            }],
            monotone: None,
        }])
        .unwrap_err();
        assert!(err.to_string().contains("nope"));
    }

    #[test]
    fn fingerprint_ignores_order() {
        let a = conditional_space();
        let mut ps = a.params().to_vec();
        ps.reverse();
        let b = SearchSpace::new(ps).unwrap();
        assert_eq!(a.fingerprint(), b.fingerprint());
    }
}
