//! Argument templates: `{name}` placeholders in the command's arguments.
//!
//! The grammar (`{{`/`}}` for literal braces, names taken verbatim) is the
//! one of the study file, parsed by [`paretosearch_core::spec::parse_template`]:
//! the study-file check (which also refuses placeholders naming no
//! parameter, for specs parsed or built in code) and the runner read
//! templates with the same parser.

use paretosearch_core::spec::{parse_template, TemplatePart};
use paretosearch_core::Params;

/// Substitute one argument template; absent (inactive) parameters become
/// the empty string.
pub fn substitute(template: &str, params: &Params) -> Result<String, String> {
    let mut out = String::new();
    for part in parse_template(template).map_err(|e| format!("{} ({})", e.message, e.help))? {
        match part {
            TemplatePart::Text(t) => out.push_str(&t),
            TemplatePart::Param(n) => {
                if let Some(v) = params.get(&n) {
                    out.push_str(&v.to_string());
                }
            }
        }
    }
    Ok(out)
}

/// Substitute every argument; an error names the argument.
pub(super) fn substitute_argv(template: &[String], params: &Params) -> Result<Vec<String>, String> {
    template
        .iter()
        .enumerate()
        .map(|(i, a)| {
            substitute(a, params).map_err(|e| format!("command argument {i} (`{a}`): {e}"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use paretosearch_core::ParamValue;

    #[test]
    fn templates() {
        let params: Params = [
            ("a".to_string(), ParamValue::Int(1)),
            ("b".to_string(), ParamValue::Bool(true)),
        ]
        .into();
        assert_eq!(substitute("x{a}y{b}", &params).unwrap(), "x1ytrue");
        assert_eq!(substitute("{{a}}={a}", &params).unwrap(), "{a}=1");
        assert_eq!(substitute("--c={c}", &params).unwrap(), "--c=");
        assert_eq!(substitute("plain", &params).unwrap(), "plain");
        assert_eq!(
            substitute("{}}", &params).unwrap_err(),
            "empty placeholder `{}` (write `{name}` or `{{}}`)"
        );
        assert!(substitute("{a", &params).unwrap_err().contains("unclosed"));
        assert!(substitute("a}", &params).unwrap_err().contains("unmatched"));
        assert!(substitute("{a{b}}", &params)
            .unwrap_err()
            .contains("unclosed"));
    }
}
