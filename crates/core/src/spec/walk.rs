//! A typed walk over a `toml_edit` document that remembers where every
//! value came from, so each complaint can point at it.
//!
//! [`Tab`] is a table being read: keys are taken one at a time, and the
//! keys nobody took are reported as unknown, with a suggestion. [`Field`]
//! is one value with its dotted path and span; its accessors check the type
//! and return located errors.

use std::ops::Range;
use std::time::Duration;

use toml_edit::{ArrayOfTables, Item, Table, TableLike, Value};

use super::locate::{suggestion_help, Source};
use super::SpecError;
use crate::space::ParamValue;

/// A table being read.
pub(crate) struct Tab<'a> {
    src: Source<'a>,
    table: &'a dyn TableLike,
    path: String,
    /// Where "missing key" errors point (the header, or the inline table).
    at: Option<Range<usize>>,
}

/// One value, with its path and where it is written.
#[derive(Clone)]
pub(crate) struct Field<'a> {
    pub src: Source<'a>,
    node: Node<'a>,
    /// Span of the value (or of the `[header]` for a table).
    pub span: Option<Range<usize>>,
    /// Span of the key, if the value has one (array elements do not).
    pub key_span: Option<Range<usize>>,
    /// Rendered dotted path (`search_space.lr.low`).
    pub path: String,
}

#[derive(Clone, Copy)]
enum Node<'a> {
    Value(&'a Value),
    Table(&'a Table),
    Tables(&'a ArrayOfTables),
}

fn non_empty(s: Option<Range<usize>>) -> Option<Range<usize>> {
    s.filter(|s| s.start < s.end)
}

pub(crate) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

impl<'a> Tab<'a> {
    /// A table read from `src`; `path` is its dotted path.
    pub fn new(
        src: Source<'a>,
        table: &'a dyn TableLike,
        path: &str,
        at: Option<Range<usize>>,
    ) -> Self {
        Tab {
            src,
            table,
            path: path.to_string(),
            at,
        }
    }

    /// Keys in written order.
    pub fn keys(&self) -> Vec<&'a str> {
        self.table
            .iter()
            .filter(|(_, i)| !i.is_none())
            .map(|(k, _)| k)
            .collect()
    }

    /// Is the table empty?
    pub fn is_empty(&self) -> bool {
        self.keys().is_empty()
    }

    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<Field<'a>> {
        let (k, item) = self.table.get_key_value(key)?;
        let key_span = non_empty(k.span());
        let path = join(&self.path, key);
        let (node, span) = match item {
            Item::None => return None,
            Item::Value(v) => (Node::Value(v), non_empty(v.span())),
            Item::Table(t) => (Node::Table(t), non_empty(t.span())),
            Item::ArrayOfTables(a) => (Node::Tables(a), non_empty(a.span())),
        };
        Some(Field {
            src: self.src,
            node,
            span: span.or_else(|| key_span.clone()),
            key_span,
            path,
        })
    }

    /// The value of a required key; `help` says what to write.
    pub fn require(&self, key: &str, help: &str) -> Result<Field<'a>, SpecError> {
        self.get(key).ok_or_else(|| {
            let what = if self.path.is_empty() {
                format!("missing required `{key}`")
            } else {
                format!("missing required key `{key}` in `{}`", self.path)
            };
            self.src
                .error(self.at.as_ref(), &join(&self.path, key), what, help)
        })
    }

    /// Fail on the first key not in `known`. `hint` may explain a key that
    /// is valid elsewhere (`log` on a categorical parameter).
    pub fn deny_unknown(
        &self,
        known: &[&str],
        hint: impl Fn(&str) -> Option<String>,
    ) -> Result<(), SpecError> {
        for key in self.keys() {
            if known.contains(&key) {
                continue;
            }
            let f = self.get(key).expect("listed key exists");
            let where_ = if self.path.is_empty() {
                "at the top level".to_string()
            } else {
                format!("in `{}`", self.path)
            };
            let help = hint(key).unwrap_or_else(|| suggestion_help(key, known));
            return Err(self.src.error(
                f.key_span.as_ref().or(f.span.as_ref()),
                &f.path,
                format!("unknown key `{key}` {where_}"),
                help,
            ));
        }
        Ok(())
    }

    /// Every key except `skip`, converted to plain TOML values.
    pub fn options(&self, skip: &[&str]) -> toml::Table {
        let mut out = toml::Table::new();
        for (k, item) in self.table.iter() {
            if skip.contains(&k) {
                continue;
            }
            if let Some(v) = item_to_toml(item) {
                out.insert(k.to_string(), v);
            }
        }
        out
    }
}

impl<'a> Field<'a> {
    /// An error pointing at this value.
    pub fn err(&self, message: impl Into<String>, help: impl Into<String>) -> SpecError {
        self.src
            .error(self.span.as_ref(), &self.path, message, help)
    }

    /// An error pointing `offset` bytes into this value's text.
    pub fn err_at_offset(
        &self,
        offset: usize,
        message: impl Into<String>,
        help: impl Into<String>,
    ) -> SpecError {
        let span = self.span.clone().map(|s| {
            let start = (s.start + offset).min(s.end);
            start..s.end
        });
        self.src.error(span.as_ref(), &self.path, message, help)
    }

    /// The raw text of the value, shortened.
    fn raw(&self) -> String {
        let Some(s) = &self.span else {
            return String::new();
        };
        let raw = self.src.text.get(s.clone()).unwrap_or("").trim();
        if raw.chars().count() > 40 {
            format!("{}...", raw.chars().take(37).collect::<String>())
        } else {
            raw.to_string()
        }
    }

    /// What the value is, for "expected X, found Y".
    pub fn found(&self) -> String {
        match self.node {
            Node::Value(v) => {
                let kind = match v {
                    Value::String(_) => "a string",
                    Value::Integer(_) => "an integer",
                    Value::Float(_) => "a float",
                    Value::Boolean(_) => "a boolean",
                    Value::Datetime(_) => "a datetime",
                    Value::Array(_) => "an array",
                    Value::InlineTable(_) => "a table",
                };
                format!("{kind} `{}`", self.raw())
            }
            Node::Table(_) => "a table".into(),
            Node::Tables(_) => "an array of tables".into(),
        }
    }

    fn expected(&self, what: &str, help: &str) -> SpecError {
        self.err(format!("expected {what}, found {}", self.found()), help)
    }

    fn value(&self) -> Option<&'a Value> {
        match self.node {
            Node::Value(v) => Some(v),
            _ => None,
        }
    }

    /// A string.
    pub fn str(&self) -> Result<&'a str, SpecError> {
        match self.value() {
            Some(Value::String(s)) => Ok(s.value().as_str()),
            _ => Err(self.expected("a string", "write the value in double quotes")),
        }
    }

    /// A non-empty string.
    pub fn non_empty_str(&self) -> Result<&'a str, SpecError> {
        let s = self.str()?;
        if s.trim().is_empty() {
            return Err(self.err("must not be empty", "write a non-empty string"));
        }
        Ok(s)
    }

    /// An integer.
    pub fn int(&self) -> Result<i64, SpecError> {
        match self.value() {
            Some(Value::Integer(i)) => Ok(*i.value()),
            _ => Err(self.expected("an integer", "write a whole number such as 10")),
        }
    }

    /// An integer of at least `min`.
    pub fn int_at_least(&self, min: i64) -> Result<i64, SpecError> {
        let i = self.int()?;
        if i < min {
            return Err(self.err(
                format!("must be at least {min} (got {i})"),
                format!("use a value >= {min}"),
            ));
        }
        Ok(i)
    }

    /// A number (integers are accepted and converted).
    pub fn float(&self) -> Result<f64, SpecError> {
        match self.value() {
            Some(Value::Float(f)) => Ok(*f.value()),
            Some(Value::Integer(i)) => Ok(*i.value() as f64),
            _ => Err(self.expected("a number", "write a number such as 0.5")),
        }
    }

    /// A boolean.
    pub fn bool(&self) -> Result<bool, SpecError> {
        match self.value() {
            Some(Value::Boolean(b)) => Ok(*b.value()),
            _ => Err(self.expected("true or false", "write true or false (without quotes)")),
        }
    }

    /// A duration written as a string (`"90s"`, `"10m"`, `"2h 30m"`).
    pub fn duration(&self) -> Result<Duration, SpecError> {
        let help = "write a duration in quotes, e.g. \"90s\", \"10m\" or \"2h 30m\"";
        let s = match self.value() {
            Some(Value::String(s)) => s.value(),
            _ => return Err(self.expected("a duration string", help)),
        };
        humantime::parse_duration(s.trim())
            .map_err(|e| self.err(format!("`{s}` is not a duration ({e})"), help))
    }

    /// A table (standard or inline).
    pub fn table(&self, help: &str) -> Result<Tab<'a>, SpecError> {
        let t: &'a dyn TableLike = match self.node {
            Node::Table(t) => t,
            Node::Value(Value::InlineTable(t)) => t,
            _ => return Err(self.expected("a table", help)),
        };
        Ok(Tab::new(self.src, t, &self.path, self.span.clone()))
    }

    /// The elements of an array (or of an array of tables).
    pub fn elements(&self, help: &str) -> Result<Vec<Field<'a>>, SpecError> {
        match self.node {
            Node::Value(Value::Array(a)) => Ok(a
                .iter()
                .enumerate()
                .map(|(i, v)| Field {
                    src: self.src,
                    node: Node::Value(v),
                    span: non_empty(v.span()).or_else(|| self.span.clone()),
                    key_span: None,
                    path: format!("{}[{i}]", self.path),
                })
                .collect()),
            Node::Tables(a) => Ok(a
                .iter()
                .enumerate()
                .map(|(i, t)| Field {
                    src: self.src,
                    node: Node::Table(t),
                    span: non_empty(t.span()).or_else(|| self.span.clone()),
                    key_span: None,
                    path: format!("{}[{i}]", self.path),
                })
                .collect()),
            _ => Err(self.expected("an array", help)),
        }
    }

    /// A non-empty array of strings.
    pub fn string_list(&self, help: &str) -> Result<Vec<(String, Field<'a>)>, SpecError> {
        let items = self.elements(help)?;
        if items.is_empty() {
            return Err(self.err("must not be empty", help));
        }
        items
            .into_iter()
            .map(|f| Ok((f.str()?.to_string(), f)))
            .collect()
    }

    /// A scalar usable as a parameter value (string, integer, float, bool).
    pub fn param_value(&self) -> Result<ParamValue, SpecError> {
        match self.value() {
            Some(Value::String(s)) => Ok(ParamValue::Str(s.value().clone())),
            Some(Value::Integer(i)) => Ok(ParamValue::Int(*i.value())),
            Some(Value::Float(f)) if !f.value().is_finite() => Err(self.err(
                format!("`{}` is not a usable parameter value", f.value()),
                "write a finite number (nan and inf cannot be stored or compared)",
            )),
            Some(Value::Float(f)) => Ok(ParamValue::Float(*f.value())),
            Some(Value::Boolean(b)) => Ok(ParamValue::Bool(*b.value())),
            _ => Err(self.expected(
                "a string, number or boolean",
                "parameter values are strings, integers, floats or booleans",
            )),
        }
    }
}

fn table_to_toml(t: &dyn TableLike) -> toml::Table {
    t.iter()
        .filter_map(|(k, i)| Some((k.to_string(), item_to_toml(i)?)))
        .collect()
}

fn item_to_toml(item: &Item) -> Option<toml::Value> {
    match item {
        Item::None => None,
        Item::Value(v) => Some(value_to_toml(v)),
        Item::Table(t) => Some(toml::Value::Table(table_to_toml(t))),
        Item::ArrayOfTables(a) => Some(toml::Value::Array(
            a.iter()
                .map(|t| toml::Value::Table(table_to_toml(t)))
                .collect(),
        )),
    }
}

fn value_to_toml(v: &Value) -> toml::Value {
    match v {
        Value::String(s) => toml::Value::String(s.value().clone()),
        Value::Integer(i) => toml::Value::Integer(*i.value()),
        Value::Float(f) => toml::Value::Float(*f.value()),
        Value::Boolean(b) => toml::Value::Boolean(*b.value()),
        Value::Datetime(d) => toml::Value::Datetime(*d.value()),
        Value::Array(a) => toml::Value::Array(a.iter().map(value_to_toml).collect()),
        Value::InlineTable(t) => toml::Value::Table(table_to_toml(t)),
    }
}
