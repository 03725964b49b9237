//! Typed access to a trial's parameters, with defaults.
//!
//! A trial's [`Params`] may hold any name; the model, training and
//! compression code read the names they know through [`ParamReader`], which
//! checks types and ranges and says which parameter is wrong.

use paretosearch_core::{ParamValue, Params};

use crate::error::TorchError;

/// Reads parameters from a trial's configuration, falling back to defaults
/// (from the runner options, then built-in ones).
pub struct ParamReader<'a> {
    params: &'a Params,
    defaults: &'a Params,
}

impl<'a> ParamReader<'a> {
    /// A reader over `params` with `defaults` for absent names.
    pub fn new(params: &'a Params, defaults: &'a Params) -> ParamReader<'a> {
        ParamReader { params, defaults }
    }

    fn get(&self, name: &str) -> Option<&'a ParamValue> {
        self.params.get(name).or_else(|| self.defaults.get(name))
    }

    /// Is the parameter set (in the trial or the defaults)?
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// A float in `[low, high]`.
    pub fn float(&self, name: &str, default: f64, low: f64, high: f64) -> Result<f64, TorchError> {
        let v = match self.get(name) {
            None => return Ok(default),
            Some(v) => v
                .as_f64()
                .ok_or_else(|| TorchError::param(name, format!("expected a number, got `{v}`")))?,
        };
        if !(v >= low && v <= high) {
            return Err(TorchError::param(
                name,
                format!("{v} is outside [{low}, {high}]"),
            ));
        }
        Ok(v)
    }

    /// An integer in `[low, high]` (floats with an integral value are accepted).
    pub fn int(&self, name: &str, default: i64, low: i64, high: i64) -> Result<i64, TorchError> {
        let v = match self.get(name) {
            None => return Ok(default),
            Some(ParamValue::Int(i)) => *i,
            Some(ParamValue::Float(f)) if f.fract() == 0.0 && f.is_finite() => *f as i64,
            Some(v) => {
                return Err(TorchError::param(
                    name,
                    format!("expected an integer, got `{v}`"),
                ))
            }
        };
        if v < low || v > high {
            return Err(TorchError::param(
                name,
                format!("{v} is outside [{low}, {high}]"),
            ));
        }
        Ok(v)
    }

    /// A boolean (also accepts 0/1 and "true"/"false").
    pub fn bool(&self, name: &str, default: bool) -> Result<bool, TorchError> {
        match self.get(name) {
            None => Ok(default),
            Some(ParamValue::Bool(b)) => Ok(*b),
            Some(ParamValue::Int(0)) => Ok(false),
            Some(ParamValue::Int(1)) => Ok(true),
            Some(ParamValue::Str(s)) if s == "true" => Ok(true),
            Some(ParamValue::Str(s)) if s == "false" => Ok(false),
            Some(v) => Err(TorchError::param(
                name,
                format!("expected true or false, got `{v}`"),
            )),
        }
    }

    /// One of `choices` (strings).
    pub fn choice(
        &self,
        name: &str,
        default: &str,
        choices: &[&str],
    ) -> Result<String, TorchError> {
        let v = match self.get(name) {
            None => return Ok(default.to_string()),
            Some(v) => v.to_string(),
        };
        if choices.contains(&v.as_str()) {
            Ok(v)
        } else {
            Err(TorchError::param(
                name,
                format!("`{v}` is not one of {}", choices.join(", ")),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trial_values_override_defaults_and_ranges_are_checked() {
        let p: Params = [
            ("lr".to_string(), ParamValue::Float(0.1)),
            ("layers".to_string(), ParamValue::Int(9)),
            ("act".to_string(), ParamValue::Str("gelu".into())),
        ]
        .into();
        let d: Params = [
            ("lr".to_string(), ParamValue::Float(0.5)),
            ("bn".to_string(), ParamValue::Bool(true)),
        ]
        .into();
        let r = ParamReader::new(&p, &d);
        assert_eq!(r.float("lr", 1.0, 0.0, 1.0).unwrap(), 0.1);
        assert!(r.bool("bn", false).unwrap());
        assert_eq!(r.int("width", 7, 1, 10).unwrap(), 7);
        assert!(r
            .int("layers", 1, 1, 8)
            .unwrap_err()
            .to_string()
            .contains("layers"));
        assert!(r.choice("act", "relu", &["relu", "tanh"]).is_err());
        assert_eq!(r.choice("act", "relu", &["relu", "gelu"]).unwrap(), "gelu");
    }
}
