//! Building a search space in code rather than in a study file.

use super::validate::{self, Fault, Syntax};
use super::{Condition, Distribution, Monotone, Param, ParamValue, SearchSpace};
use crate::error::CoreError;

/// A grid step given to [`SearchSpaceBuilder::step`]: whole for an int
/// parameter, any positive number for a float one. Built from `i32`, `i64`
/// and `f64`, so `.step(16)` and `.step(0.1)` both read naturally.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Step {
    /// A whole step (`.step(16)`); a float parameter takes it as a float.
    Int(i64),
    /// A fractional step (`.step(0.1)`); an int parameter refuses it.
    Float(f64),
}

impl From<i64> for Step {
    fn from(s: i64) -> Self {
        Step::Int(s)
    }
}

impl From<i32> for Step {
    fn from(s: i32) -> Self {
        Step::Int(s.into())
    }
}

impl From<f64> for Step {
    fn from(s: f64) -> Self {
        Step::Float(s)
    }
}

/// Why [`SearchSpaceBuilder::build`] refused a space. Every variant names
/// the fix; [`SpaceError::InvalidParam`] also names the parameter and the
/// part of it at fault.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SpaceError {
    /// A parameter's definition breaks a rule of the study-file format.
    #[error("parameter `{param}`: {message} (fix: {help})")]
    InvalidParam {
        /// The parameter's name.
        param: String,
        /// The part at fault: `""` for the parameter itself, else `low`,
        /// `step`, `choices`, `log`, `monotone` or `when.<parent>`.
        field: String,
        /// What is wrong.
        message: String,
        /// How to fix it.
        help: String,
    },
    /// A modifier (`log`, `step`, `monotone`, `when`) was called before
    /// any parameter was added.
    #[error("`.{modifier}()` was called before any parameter was added (fix: modifiers apply to the last parameter added; add one first with .float(), .int() or .categorical())")]
    NoParameter {
        /// The modifier called.
        modifier: &'static str,
    },
    /// No parameter was added.
    #[error("the search space has no parameters (fix: add at least one with .float(), .int() or .categorical())")]
    Empty,
}

impl SpaceError {
    fn invalid(param: &str, fault: Fault) -> Self {
        SpaceError::InvalidParam {
            param: param.to_string(),
            field: fault.field,
            message: fault.message,
            help: fault.help,
        }
    }

    /// The part at fault, the problem and the fix, for rendering the
    /// error as a study-file error (`(field, message, help)`, with `field`
    /// relative to `search_space`).
    pub(crate) fn parts(&self) -> (String, String, String) {
        match self {
            SpaceError::InvalidParam {
                param,
                field,
                message,
                help,
            } => {
                let field = if field.is_empty() {
                    param.clone()
                } else {
                    format!("{param}.{field}")
                };
                (field, message.clone(), help.clone())
            }
            SpaceError::NoParameter { modifier } => (
                String::new(),
                format!("`.{modifier}()` was called before any parameter was added"),
                "modifiers apply to the last parameter added; add one first with .float(), .int() or .categorical()".into(),
            ),
            SpaceError::Empty => (
                String::new(),
                "the search space has no parameters".into(),
                "add at least one with .float(), .int() or .categorical()".into(),
            ),
        }
    }
}

#[derive(Clone, Debug)]
enum Kind {
    Float { low: f64, high: f64 },
    Int { low: i64, high: i64 },
    Categorical { choices: Vec<ParamValue> },
}

/// One parameter as written, modifiers not yet checked.
#[derive(Clone, Debug)]
struct Entry {
    name: String,
    kind: Kind,
    log: bool,
    step: Option<Step>,
    monotone: Option<Monotone>,
    when: Vec<(String, Vec<ParamValue>)>,
}

fn fault(field: impl Into<String>, message: impl Into<String>, help: impl Into<String>) -> Fault {
    Fault {
        field: field.into(),
        message: message.into(),
        help: help.into(),
    }
}

impl Entry {
    /// The parameter, checked in the order the study-file parser checks
    /// one parameter table.
    fn into_param(self) -> Result<Param, SpaceError> {
        let name = self.name.clone();
        let fail = |f: Fault| SpaceError::invalid(&name, f);
        validate::check_name(&self.name).map_err(fail)?;
        let distribution = match &self.kind {
            Kind::Float { low, high } => Distribution::Float {
                low: *low,
                high: *high,
                log: self.log,
                step: self.step.map(|s| match s {
                    Step::Int(i) => i as f64,
                    Step::Float(x) => x,
                }),
            },
            Kind::Int { low, high } => Distribution::Int {
                low: *low,
                high: *high,
                log: self.log,
                step: match self.step {
                    None => 1,
                    Some(Step::Int(i)) => i,
                    Some(Step::Float(x)) => {
                        return Err(fail(fault(
                            "step",
                            format!("the step of an int parameter must be an integer, found {x}"),
                            "pass a whole number such as 2, or use .float()",
                        )))
                    }
                },
            },
            Kind::Categorical { choices } => {
                // (`monotone` is checked with the parameter, below.)
                let misplaced = [("log", self.log), ("step", self.step.is_some())];
                if let Some((m, _)) = misplaced.iter().find(|(_, set)| *set) {
                    return Err(fail(fault(
                        *m,
                        format!("`.{m}()` does not apply to a categorical parameter"),
                        format!("drop `.{m}()`: it applies to float and int parameters"),
                    )));
                }
                Distribution::Categorical {
                    choices: choices.clone(),
                }
            }
        };
        let when = self
            .when
            .into_iter()
            .map(|(parent, values)| Condition { parent, values })
            .collect();
        let param = Param {
            name: self.name,
            distribution,
            when,
            monotone: self.monotone,
        };
        validate::check_param(&param, Syntax::Code)
            .map_err(|f| SpaceError::invalid(&param.name, f))?;
        Ok(param)
    }
}

/// Builds a [`SearchSpace`] in code, checked by the same rules as a
/// `[search_space]` table of a study file.
///
/// Each of [`float`](Self::float), [`int`](Self::int) and
/// [`categorical`](Self::categorical) adds a parameter; the modifiers
/// [`log`](Self::log), [`step`](Self::step), [`monotone`](Self::monotone)
/// (or [`monotone_increasing`](Self::monotone_increasing),
/// [`monotone_decreasing`](Self::monotone_decreasing)),
/// [`when`](Self::when) and [`when_any`](Self::when_any) apply to the last
/// parameter added. Nothing is checked until [`build`](Self::build), which
/// refuses what the study-file parser refuses (low not below high, `log`
/// with low <= 0, a step <= 0 or combined with `log`, NaN or infinite
/// bounds, empty or repeated choices, unusable or repeated names,
/// conditions on unknown parents, on values the parent cannot take, on
/// the parameter itself or in a cycle) and names the parameter and the
/// fix.
///
/// As in a study file, parameters may be added in any order: the space
/// puts parents before their children.
///
/// ```
/// use paretosearch_core::{Monotone, ParamValue, SearchSpace};
///
/// let space = SearchSpace::builder()
///     .float("lr", 1e-5, 1e-1).log()
///     .int("width", 16, 1024).step(16).monotone(Monotone::Increasing)
///     .categorical("optimizer", ["sgd", "adam"])
///     .float("momentum", 0.0, 0.99).when("optimizer", "sgd")
///     .build()?;
/// assert_eq!(space.len(), 4);
/// assert!(space.get("lr").unwrap().distribution.is_log());
/// assert_eq!(space.get("momentum").unwrap().when[0].values, [ParamValue::from("sgd")]);
///
/// // Refused as a study file would be, naming the parameter and the fix.
/// let err = SearchSpace::builder().float("lr", 0.0, 1e-1).log().build().unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "parameter `lr`: a log-scaled parameter needs low > 0 (got 0) \
///      (fix: use a positive low (e.g. 1e-5), or drop `.log()`)"
/// );
/// # Ok::<(), paretosearch_core::space::SpaceError>(())
/// ```
#[derive(Clone, Debug, Default)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct SearchSpaceBuilder {
    entries: Vec<Entry>,
    /// The first modifier called before any parameter.
    misuse: Option<SpaceError>,
}

impl SearchSpace {
    /// A [`SearchSpaceBuilder`], to write a space in code.
    pub fn builder() -> SearchSpaceBuilder {
        SearchSpaceBuilder::default()
    }
}

impl SearchSpaceBuilder {
    /// An empty builder (same as [`SearchSpace::builder`]).
    pub fn new() -> Self {
        Self::default()
    }

    fn push(mut self, name: impl Into<String>, kind: Kind) -> Self {
        self.entries.push(Entry {
            name: name.into(),
            kind,
            log: false,
            step: None,
            monotone: None,
            when: Vec::new(),
        });
        self
    }

    /// Apply `f` to the last parameter, or remember that `modifier` came
    /// before any parameter.
    fn modify(mut self, modifier: &'static str, f: impl FnOnce(&mut Entry)) -> Self {
        match self.entries.last_mut() {
            Some(e) => f(e),
            None => {
                self.misuse
                    .get_or_insert(SpaceError::NoParameter { modifier });
            }
        }
        self
    }

    /// Add a float parameter on `[low, high]` (uniform unless [`log`](Self::log)
    /// or [`step`](Self::step) follows).
    pub fn float(self, name: impl Into<String>, low: f64, high: f64) -> Self {
        self.push(name, Kind::Float { low, high })
    }

    /// Add an int parameter on `low..=high` (step 1 unless [`step`](Self::step)
    /// follows).
    pub fn int(self, name: impl Into<String>, low: i64, high: i64) -> Self {
        self.push(name, Kind::Int { low, high })
    }

    /// Add a categorical parameter; choices are strings, integers, floats
    /// or booleans (anything that converts into a [`ParamValue`]).
    pub fn categorical<V: Into<ParamValue>>(
        self,
        name: impl Into<String>,
        choices: impl IntoIterator<Item = V>,
    ) -> Self {
        let choices = choices.into_iter().map(Into::into).collect();
        self.push(name, Kind::Categorical { choices })
    }

    /// Make the last parameter log-uniform (`log = true`): it needs
    /// low > 0 (low >= 1 for an int) and no step.
    pub fn log(self) -> Self {
        self.modify("log", |e| e.log = true)
    }

    /// Put the last parameter on the grid `low + k * step` (`step = ...`):
    /// a whole step for an int parameter, any positive step no larger than
    /// high - low for a float one.
    pub fn step(self, step: impl Into<Step>) -> Self {
        let step = step.into();
        self.modify("step", |e| e.step = Some(step))
    }

    /// Declare the last (float or int) parameter monotone
    /// (`monotone = "increasing"` or `"decreasing"`).
    pub fn monotone(self, monotone: Monotone) -> Self {
        self.modify("monotone", |e| e.monotone = Some(monotone))
    }

    /// Same as [`monotone`](Self::monotone)`(Monotone::Increasing)`.
    pub fn monotone_increasing(self) -> Self {
        self.monotone(Monotone::Increasing)
    }

    /// Same as [`monotone`](Self::monotone)`(Monotone::Decreasing)`.
    pub fn monotone_decreasing(self) -> Self {
        self.monotone(Monotone::Decreasing)
    }

    /// Make the last parameter active only when `parent` takes `value`
    /// (`when = { parent = value }`). Conditions on several parents must
    /// all hold.
    pub fn when(self, parent: impl Into<String>, value: impl Into<ParamValue>) -> Self {
        let cond = (parent.into(), vec![value.into()]);
        self.modify("when", |e| e.when.push(cond))
    }

    /// Make the last parameter active only when `parent` takes one of
    /// `values` (`when = { parent = [value1, value2] }`).
    pub fn when_any<V: Into<ParamValue>>(
        self,
        parent: impl Into<String>,
        values: impl IntoIterator<Item = V>,
    ) -> Self {
        let cond = (parent.into(), values.into_iter().map(Into::into).collect());
        self.modify("when_any", |e| e.when.push(cond))
    }

    /// Check every parameter and condition, then build the space (parents
    /// first). Parameters are checked in the order they were added, then
    /// the conditions, so the error is the one the study-file parser would
    /// report for the same space.
    pub fn build(self) -> Result<SearchSpace, SpaceError> {
        if let Some(e) = self.misuse {
            return Err(e);
        }
        if self.entries.is_empty() {
            return Err(SpaceError::Empty);
        }
        let mut params: Vec<Param> = Vec::with_capacity(self.entries.len());
        for entry in self.entries {
            let p = entry.into_param()?;
            if params.iter().any(|q| q.name == p.name) {
                return Err(SpaceError::invalid(
                    &p.name,
                    fault(
                        "",
                        format!("parameter `{}` is added twice", p.name),
                        "give every parameter a distinct name",
                    ),
                ));
            }
            params.push(p);
        }
        validate::check_conditions(&params)
            .map_err(|(i, f)| SpaceError::invalid(&params[i].name, f))?;
        SearchSpace::new(params).map_err(|e| match e {
            CoreError::InvalidParam { name, message } => SpaceError::InvalidParam {
                param: name,
                field: String::new(),
                message,
                help: "fix the parameter's definition".into(),
            },
            other => SpaceError::InvalidParam {
                param: String::new(),
                field: String::new(),
                message: other.to_string(),
                help: "fix the search space".into(),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invalid(e: SpaceError) -> (String, String, String, String) {
        match e {
            SpaceError::InvalidParam {
                param,
                field,
                message,
                help,
            } => (param, field, message, help),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn builds_the_documented_space() {
        let s = SearchSpace::builder()
            .float("lr", 1e-5, 1e-1)
            .log()
            .int("width", 16, 1024)
            .step(16)
            .categorical("optimizer", ["sgd", "adam"])
            .float("momentum", 0.0, 0.99)
            .when("optimizer", "sgd")
            .float("x", 0.0, 1.0)
            .step(1)
            .build()
            .unwrap();
        assert_eq!(
            s.get("width").unwrap().distribution,
            Distribution::Int {
                low: 16,
                high: 1024,
                log: false,
                step: 16
            }
        );
        assert_eq!(
            s.get("x").unwrap().distribution,
            Distribution::Float {
                low: 0.0,
                high: 1.0,
                log: false,
                step: Some(1.0)
            }
        );
        assert_eq!(
            s.get("momentum").unwrap().when,
            vec![Condition {
                parent: "optimizer".into(),
                values: vec![ParamValue::Str("sgd".into())]
            }]
        );
    }

    #[test]
    fn distribution_faults_name_the_field_and_a_code_fix() {
        let e = SearchSpace::builder()
            .float("lr", 1e-5, 1e-1)
            .log()
            .step(0.01)
            .build()
            .unwrap_err();
        let (param, field, message, help) = invalid(e);
        assert_eq!((param.as_str(), field.as_str()), ("lr", "step"));
        assert!(message.contains("cannot be combined with `log = true`"));
        assert!(help.contains("remove `.step()` or `.log()`"), "{help}");

        let e = SearchSpace::builder()
            .float("x", f64::NAN, 1.0)
            .build()
            .unwrap_err();
        assert!(e.to_string().contains("finite"), "{e}");
        let e = SearchSpace::builder()
            .int("n", 1, 8)
            .step(0.5)
            .build()
            .unwrap_err();
        assert_eq!(invalid(e).1, "step");
    }

    #[test]
    fn modifiers_check_their_parameter() {
        let e = SearchSpace::builder().log().float("x", 0.0, 1.0).build();
        assert_eq!(e, Err(SpaceError::NoParameter { modifier: "log" }));
        let e = SearchSpace::builder()
            .categorical("c", [1, 2])
            .monotone_decreasing()
            .build()
            .unwrap_err();
        assert_eq!(invalid(e).1, "monotone");
        let e = SearchSpace::builder()
            .categorical("c", ["a", "b"])
            .float("x", 0.0, 1.0)
            .when("c", "a")
            .when("c", "b")
            .build()
            .unwrap_err();
        assert!(invalid(e).3.contains("when_any"));
        let e = SearchSpace::builder()
            .categorical("c", ["a", "b"])
            .float("x", 0.0, 1.0)
            .when_any("c", Vec::<ParamValue>::new())
            .build()
            .unwrap_err();
        assert_eq!(invalid(e).1, "when.c");
        assert_eq!(SearchSpace::builder().build(), Err(SpaceError::Empty));
    }
}
