//! Distributions of parameters and their two canonical views: the unit
//! view (equal lengths carry equal prior mass) and the internal view (the
//! value, its logarithm, or a choice index).

use serde::{Deserialize, Serialize};

use super::ParamValue;

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
                if !(high - low).is_finite() {
                    return Err((
                        "high".into(),
                        format!(
                            "the range [{low}, {high}] is wider than a float can hold (high - low overflows)"
                        ),
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
                    let n = (high - low) / s;
                    if (n - n.round()).abs() > 1e-9 * n.max(1.0) {
                        let last = snap(low + n.floor() * s, *low, *high);
                        return Err((
                            "step".into(),
                            format!(
                                "step ({s}) does not divide high - low ({}): the values would stop at {last}, not at high",
                                high - low
                            ),
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
                match high.checked_sub(*low) {
                    Some(w) if w <= MAX_INT_WIDTH => {}
                    _ => {
                        return Err((
                            "high".into(),
                            format!(
                                "the range [{low}, {high}] holds more values than can be sampled exactly (at most 2^53 = {MAX_INT_WIDTH})"
                            ),
                        ))
                    }
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
                if *step > high - low {
                    return Err((
                        "step".into(),
                        format!("step ({step}) is larger than high - low ({})", high - low),
                    ));
                }
                if (high - low) % step != 0 {
                    let last = low + (high - low) / step * step;
                    return Err((
                        "step".into(),
                        format!(
                            "step ({step}) does not divide high - low ({}): the values would stop at {last}, not at high",
                            high - low
                        ),
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
                    if matches!(a, ParamValue::Float(x) if !x.is_finite()) {
                        return Err((
                            "choices".into(),
                            format!("choice `{a}` is not a finite number"),
                        ));
                    }
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

/// The widest int range ([`Distribution::Int`]'s `high - low`) whose values
/// the unit and internal views (`f64`) tell apart exactly.
pub const MAX_INT_WIDTH: i64 = 1 << 53;

fn snap(x: f64, low: f64, high: f64) -> f64 {
    // Remove floating-point noise from `low + k * step` (0.1 + 2 * 0.1 ...).
    let r = (x * 1e12).round() / 1e12;
    r.clamp(low, high)
}
