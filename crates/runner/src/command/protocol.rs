//! The stdout protocol: which lines are reports, results or mistakes, and
//! the objective values of a result.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// A stdout line, classified.
#[derive(Debug, PartialEq)]
pub(super) enum Line {
    Other,
    Report(u64, BTreeMap<String, f64>),
    Result(Map<String, Value>),
    Invalid(String),
}

/// Classify one stdout line.
pub(super) fn parse_line(line: &str) -> Line {
    let t = line.trim();
    if !(t.starts_with('{') && t.ends_with('}')) {
        return Line::Other;
    }
    let obj = match serde_json::from_str::<Map<String, Value>>(t) {
        Ok(o) => o,
        Err(_) => match relaxed(t).and_then(|r| serde_json::from_str(&r).ok()) {
            Some(o) => o,
            None => return Line::Other,
        },
    };
    let Some(step) = obj.get("step") else {
        return Line::Result(obj);
    };
    let step = match step {
        Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| *f >= 0.0 && f.fract() == 0.0 && *f < 9.0e15)
                .map(|f| f as u64)
        }),
        _ => None,
    };
    let Some(step) = step else {
        return Line::Invalid(format!(
            "a report has \"step\": {}; it must be a non-negative integer",
            obj["step"]
        ));
    };
    let values = obj
        .iter()
        .filter(|(k, _)| k.as_str() != "step")
        .filter_map(|(k, v)| Some((k.clone(), number(v).ok().filter(|x| x.is_finite())?)))
        .collect();
    Line::Report(step, values)
}

/// Marks a number literal too large for an `f64` (`1e999`), rewritten as a
/// string holding its text so the line parses (serde_json refuses it) and
/// the reason can quote it.
const OVERFLOW: &str = "\u{0}overflow:";
/// [`OVERFLOW`] as written inside a JSON string.
const OVERFLOW_JSON: &str = "\\u0000overflow:";

/// Rewrite Python's bare `NaN`, `Infinity`, `-Infinity` and number
/// literals that overflow an `f64` (outside strings) as strings, so the
/// line parses and the value can be recognised. `None` when there is
/// nothing to rewrite.
fn relaxed(t: &str) -> Option<String> {
    const TOKENS: [&str; 3] = ["-Infinity", "Infinity", "NaN"];
    let mut out = String::with_capacity(t.len() + 8);
    let mut in_string = false;
    let mut escaped = false;
    let mut changed = false;
    let mut i = 0;
    while i < t.len() {
        let c = t[i..].chars().next().unwrap_or_default();
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
        } else if let Some(tok) = TOKENS.iter().find(|tok| t[i..].starts_with(*tok)) {
            out.push('"');
            out.push_str(tok);
            out.push('"');
            i += tok.len();
            changed = true;
            continue;
        } else if c == '-' || c.is_ascii_digit() {
            let len = number_len(&t[i..]);
            let lit = &t[i..i + len];
            if lit.parse::<f64>().is_ok_and(f64::is_infinite) {
                out.push('"');
                out.push_str(OVERFLOW_JSON);
                out.push_str(lit);
                out.push('"');
                changed = true;
            } else {
                out.push_str(lit);
            }
            i += len.max(1);
            continue;
        }
        out.push(c);
        i += c.len_utf8();
    }
    changed.then_some(out)
}

/// The length of the JSON number literal at the start of `t` (at least
/// the first character).
fn number_len(t: &str) -> usize {
    let end = t
        .char_indices()
        .skip(1)
        .find(|&(i, c)| {
            let prev = t.as_bytes()[i - 1];
            !(c.is_ascii_digit()
                || c == '.'
                || c == 'e'
                || c == 'E'
                || ((c == '+' || c == '-') && (prev == b'e' || prev == b'E')))
        })
        .map_or(t.len(), |(i, _)| i);
    end.max(1)
}

/// A JSON value as a number: numbers, the rewritten `NaN`/`Infinity`, and
/// overflowing literals (as infinities).
fn number(v: &Value) -> Result<f64, ()> {
    match v {
        Value::Number(n) => n.as_f64().ok_or(()),
        Value::String(s) => match s.as_str() {
            "NaN" => Ok(f64::NAN),
            "Infinity" => Ok(f64::INFINITY),
            "-Infinity" => Ok(f64::NEG_INFINITY),
            s => match s.strip_prefix(OVERFLOW) {
                Some(lit) => lit.parse().map_err(|_| ()),
                None => Err(()),
            },
        },
        _ => Err(()),
    }
}

/// The literal of a value that overflowed an `f64`, as the command wrote it.
fn overflowed(v: &Value) -> Option<&str> {
    v.as_str()?.strip_prefix(OVERFLOW)
}

/// The objectives' values from a result object (every finite number when
/// `objectives` is empty).
pub(super) fn objective_values(
    result: &Map<String, Value>,
    objectives: &[String],
) -> Result<BTreeMap<String, f64>, String> {
    if objectives.is_empty() {
        return Ok(result
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), number(v).ok().filter(|x| x.is_finite())?)))
            .collect());
    }
    let mut out = BTreeMap::new();
    for name in objectives {
        let Some(v) = result.get(name) else {
            let keys: Vec<&str> = result.keys().map(String::as_str).collect();
            return Err(format!(
                "objective `{name}` missing from the result (it has: {})",
                if keys.is_empty() {
                    "nothing".into()
                } else {
                    keys.join(", ")
                }
            ));
        };
        match number(v) {
            Ok(x) if x.is_finite() => {
                out.insert(name.clone(), x);
            }
            Ok(_) if overflowed(v).is_some() => {
                return Err(format!(
                    "objective `{name}` = {} is not a finite number (too large for a 64-bit float)",
                    overflowed(v).unwrap_or_default()
                ))
            }
            Ok(x) => return Err(format!("objective `{name}` is {x}")),
            Err(()) => return Err(format!("objective `{name}` is not a number (got {v})")),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_classification() {
        assert_eq!(parse_line("hello"), Line::Other);
        assert_eq!(parse_line("{bad"), Line::Other);
        assert_eq!(
            parse_line(r#" {"step": 3.0, "a": 1} "#),
            Line::Report(3, [("a".to_string(), 1.0)].into())
        );
        assert!(matches!(parse_line(r#"{"step": "3"}"#), Line::Invalid(_)));
        assert!(matches!(parse_line(r#"{"step": 1.5}"#), Line::Invalid(_)));
        // Tokens inside strings are left alone.
        match parse_line(r#"{"s": "NaN \"Infinity\"", "x": NaN}"#) {
            Line::Result(o) => {
                assert_eq!(o["s"], Value::String("NaN \"Infinity\"".into()));
                assert!(number(&o["x"]).unwrap().is_nan());
            }
            l => panic!("{l:?}"),
        }
    }

    #[test]
    fn overflowing_literals_are_recognised() {
        match parse_line(r#"{"a": 1e999, "b": -1E+400, "c": 2.5e3, "s": "1e999"}"#) {
            Line::Result(o) => {
                assert_eq!(number(&o["a"]), Ok(f64::INFINITY));
                assert_eq!(overflowed(&o["b"]), Some("-1E+400"));
                assert_eq!(number(&o["b"]), Ok(f64::NEG_INFINITY));
                assert_eq!(number(&o["c"]), Ok(2500.0));
                assert_eq!(o["s"], Value::String("1e999".into()));
            }
            l => panic!("{l:?}"),
        }
        // A report keeps its finite values.
        assert_eq!(
            parse_line(r#"{"step": 1, "a": 1e999, "b": 2}"#),
            Line::Report(1, [("b".to_string(), 2.0)].into())
        );
    }
}
