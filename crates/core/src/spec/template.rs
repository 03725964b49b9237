//! Command templates: `{param}` placeholders in argv, `{{` and `}}` for
//! literal braces.

/// One piece of a command-line argument template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TemplatePart {
    /// Literal text (escapes already resolved).
    Text(String),
    /// A `{name}` placeholder.
    Param(String),
}

/// A template parse error: the byte offset in the argument, a message and
/// a hint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TemplateError {
    /// Byte offset of the offending brace in the argument.
    pub offset: usize,
    /// What is wrong, e.g. `` unclosed `{` ``.
    pub message: String,
    /// How to fix it, e.g. ``write `{{` for a literal brace``.
    pub help: &'static str,
}

/// Split an argument like `--lr={lr}` into text and placeholders. `{{` and
/// `}}` stand for literal braces; names are taken verbatim. A lone `}`, an
/// unclosed `{` (no `}` before the next `{`) or an empty `{}` is an error.
pub fn parse_template(arg: &str) -> Result<Vec<TemplatePart>, TemplateError> {
    let mut parts = Vec::new();
    let mut text = String::new();
    let mut chars = arg.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '{' if chars.peek().map(|p| p.1) == Some('{') => {
                chars.next();
                text.push('{');
            }
            '{' => {
                let rest = &arg[i + 1..];
                // The name runs to the next `}`; a `{` before it leaves this
                // one unclosed.
                let closing = rest.find('}').filter(|&end| !rest[..end].contains('{'));
                let Some(end) = closing else {
                    return Err(TemplateError {
                        offset: i,
                        message: "unclosed `{`".into(),
                        help: "write `{{` for a literal brace",
                    });
                };
                let name = &rest[..end];
                if name.is_empty() {
                    return Err(TemplateError {
                        offset: i,
                        message: "empty placeholder `{}`".into(),
                        help: "write `{name}` or `{{}}`",
                    });
                }
                if !text.is_empty() {
                    parts.push(TemplatePart::Text(std::mem::take(&mut text)));
                }
                parts.push(TemplatePart::Param(name.to_string()));
                while chars.peek().is_some_and(|p| p.0 <= i + 1 + end) {
                    chars.next();
                }
            }
            '}' if chars.peek().map(|p| p.1) == Some('}') => {
                chars.next();
                text.push('}');
            }
            '}' => {
                return Err(TemplateError {
                    offset: i,
                    message: "unmatched `}`".into(),
                    help: "write `}}` for a literal brace",
                })
            }
            c => text.push(c),
        }
    }
    if !text.is_empty() {
        parts.push(TemplatePart::Text(text));
    }
    Ok(parts)
}

/// The placeholder names of an argument, with their byte offsets.
pub fn placeholders(arg: &str) -> Result<Vec<(usize, String)>, TemplateError> {
    // Re-scan for offsets: parse_template resolves escapes, so positions are
    // computed here on the raw text.
    let mut out = Vec::new();
    let mut i = 0;
    let bytes = arg.as_bytes();
    parse_template(arg)?;
    while i < bytes.len() {
        match bytes[i] {
            b'{' if bytes.get(i + 1) == Some(&b'{') => i += 2,
            b'}' if bytes.get(i + 1) == Some(&b'}') => i += 2,
            b'{' => {
                let end = arg[i..].find('}').map_or(bytes.len(), |e| i + e);
                out.push((i, arg[i + 1..end].to_string()));
                i = end + 1;
            }
            _ => i += 1,
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_text_and_placeholders() {
        assert_eq!(
            parse_template("--lr={lr}/{{x}}{n}").unwrap(),
            vec![
                TemplatePart::Text("--lr=".into()),
                TemplatePart::Param("lr".into()),
                TemplatePart::Text("/{x}".into()),
                TemplatePart::Param("n".into()),
            ]
        );
        assert_eq!(
            parse_template("plain").unwrap(),
            vec![TemplatePart::Text("plain".into())]
        );
        assert_eq!(parse_template("").unwrap(), vec![]);
        assert_eq!(
            placeholders("{{a}} {b}é{c}").unwrap(),
            vec![(6, "b".to_string()), (11, "c".to_string())]
        );
    }

    #[test]
    fn rejects_broken_braces() {
        assert_eq!(parse_template("a{b").unwrap_err().offset, 1);
        assert_eq!(parse_template("a}b").unwrap_err().message, "unmatched `}`");
        assert!(parse_template("{}").is_err());
        assert!(parse_template("{a{b}").is_err());
        let e = parse_template("x{}}").unwrap_err();
        assert_eq!(
            (e.offset, e.message.as_str()),
            (1, "empty placeholder `{}`")
        );
        assert_eq!(e.help, "write `{name}` or `{{}}`");
        // A `{` before the closing brace leaves the first one unclosed.
        let e = parse_template("{a{b}}").unwrap_err();
        assert_eq!((e.offset, e.message.as_str()), (0, "unclosed `{`"));
        assert_eq!(e.help, "write `{{` for a literal brace");
        assert_eq!(
            parse_template("a}").unwrap_err().help,
            "write `}}` for a literal brace"
        );
    }
}
