//! Positions in study files: byte offsets to line/column, dotted paths to
//! the spans `toml_edit` keeps, and "did you mean" suggestions.

use std::ops::Range;
use std::path::Path;

use toml_edit::{Item, Value};

use super::SpecError;

/// A file being parsed: its path (for errors) and its text (for positions).
#[derive(Clone, Copy)]
pub(crate) struct Source<'a> {
    pub file: &'a Path,
    pub text: &'a str,
}

impl Source<'_> {
    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        line_col(self.text, offset)
    }

    /// Line and column of the start of a span, if any.
    pub fn position(&self, span: Option<&Range<usize>>) -> (Option<usize>, Option<usize>) {
        match span {
            Some(s) => {
                let (l, c) = self.line_col(s.start);
                (Some(l), Some(c))
            }
            None => (None, None),
        }
    }

    /// An error located at the start of `span`.
    pub fn error(
        &self,
        span: Option<&Range<usize>>,
        field: &str,
        message: impl Into<String>,
        help: impl Into<String>,
    ) -> SpecError {
        let (line, column) = self.position(span);
        SpecError {
            file: self.file.to_path_buf(),
            line,
            column,
            field: field.to_string(),
            message: message.into(),
            help: Some(help.into()).filter(|h: &String| !h.is_empty()),
        }
    }
}

/// 1-based line and column (counted in characters) of a byte offset.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut off = offset.min(text.len());
    while !text.is_char_boundary(off) {
        off -= 1;
    }
    let before = &text[..off];
    let line = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[start..].chars().count() + 1)
}

/// Render a path: `a.b[2].c` (all-digit segments become indices).
pub(crate) fn render_path<S: AsRef<str>>(segments: &[S]) -> String {
    let mut out = String::new();
    for s in segments {
        let s = s.as_ref();
        if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && !out.is_empty() {
            out.push('[');
            out.push_str(s);
            out.push(']');
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(s);
        }
    }
    out
}

/// Where a path points in a document: the span of the deepest node found
/// (its value, or its header for a `[table]`), the span of its key, and
/// whether the whole path was found.
pub(crate) struct Located {
    pub value: Option<Range<usize>>,
    pub key: Option<Range<usize>>,
    pub complete: bool,
}

#[derive(Clone, Copy)]
enum Node<'a> {
    Item(&'a Item),
    Table(&'a toml_edit::Table),
    Value(&'a Value),
}

fn non_empty(s: Option<Range<usize>>) -> Option<Range<usize>> {
    s.filter(|s| s.start < s.end)
}

/// Walk `path` through a parsed document. Array elements are addressed by
/// their index written as a segment (`["objectives", "1", "name"]`).
pub(crate) fn locate(root: &Item, path: &[&str]) -> Located {
    let mut node = Node::Item(root);
    let mut found = Located {
        value: None,
        key: None,
        complete: true,
    };
    for seg in path {
        let next: Option<(Option<Range<usize>>, Node<'_>)> = match node {
            Node::Item(Item::Value(v)) | Node::Value(v) => step_value(v, seg),
            Node::Item(Item::ArrayOfTables(a)) => seg
                .parse::<usize>()
                .ok()
                .and_then(|i| a.get(i))
                .map(|t| (t.span(), Node::Table(t))),
            Node::Item(item) => item.as_table_like().and_then(|t| {
                t.get_key_value(seg)
                    .filter(|(_, i)| !i.is_none())
                    .map(|(k, i)| (k.span(), Node::Item(i)))
            }),
            Node::Table(t) => t
                .get_key_value(seg)
                .filter(|(_, i)| !i.is_none())
                .map(|(k, i)| (k.span(), Node::Item(i))),
        };
        match next {
            Some((key, n)) => {
                found.key = non_empty(key).or(found.key.take());
                found.value = match n {
                    Node::Item(Item::Value(v)) | Node::Value(v) => non_empty(v.span()),
                    Node::Item(i) => non_empty(i.span()),
                    Node::Table(t) => non_empty(t.span()),
                }
                .or_else(|| found.key.clone());
                node = n;
            }
            None => {
                found.complete = false;
                break;
            }
        }
    }
    found
}

fn step_value<'a>(v: &'a Value, seg: &str) -> Option<(Option<Range<usize>>, Node<'a>)> {
    match v {
        Value::InlineTable(t) => t
            .get_key_value(seg)
            .filter(|(_, i)| !i.is_none())
            .map(|(k, i)| (k.span(), Node::Item(i))),
        Value::Array(a) => {
            let i = seg.parse::<usize>().ok()?;
            a.get(i).map(|e| (e.span(), Node::Value(e)))
        }
        _ => None,
    }
}

/// The known key closest to `key`, if it is close enough to be a typo.
pub(crate) fn suggest<'k>(key: &str, known: &[&'k str]) -> Option<&'k str> {
    let lower = key.to_lowercase();
    known
        .iter()
        .map(|k| {
            let kl = k.to_lowercase();
            // A known key spelt out longer or cut short (`maximum`, `dir`).
            let affix = kl.len().min(lower.len()) >= 3
                && (kl.starts_with(&lower) || lower.starts_with(&kl));
            let d = strsim::damerau_levenshtein(&lower, &kl);
            (if affix { d.min(1) } else { d }, *k)
        })
        .filter(|(d, k)| *d <= 2.max(k.chars().count() / 3) && *d < k.chars().count())
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// `did you mean `x`?` or a list of the valid keys.
pub(crate) fn suggestion_help(key: &str, known: &[&str]) -> String {
    match suggest(key, known) {
        Some(k) => format!("did you mean `{k}`?"),
        None if known.is_empty() => "remove it".to_string(),
        None => format!(
            "remove it; valid keys here: {}",
            known
                .iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters() {
        let t = "a = 1\nbé = \"x\"\n";
        assert_eq!(line_col(t, 0), (1, 1));
        assert_eq!(line_col(t, 6), (2, 1));
        // `=` after a two-byte character is the 4th character of line 2.
        assert_eq!(line_col(t, t.find("= \"").unwrap()), (2, 4));
        assert_eq!(line_col(t, 10_000), (3, 1));
    }

    #[test]
    fn paths_render_indices() {
        assert_eq!(
            render_path(&["objectives", "1", "name"]),
            "objectives[1].name"
        );
        assert_eq!(
            render_path(&["search_space", "lr", "low"]),
            "search_space.lr.low"
        );
    }

    #[test]
    fn suggestions_catch_typos_only() {
        let known = ["name", "direction", "constraint", "cheap"];
        assert_eq!(suggest("dirction", &known), Some("direction"));
        assert_eq!(suggest("Direction", &known), Some("direction"));
        assert_eq!(suggest("colour", &known), None);
        assert_eq!(suggest("maximum", &["min", "max"]), Some("max"));
        assert_eq!(suggest("xyz", &["min", "max"]), None);
        assert!(suggestion_help("colour", &known).contains("`cheap`"));
    }

    #[test]
    fn locate_walks_tables_arrays_and_inline_tables() {
        let text = "[[objectives]]\nname = \"a\"\n[[objectives]]\nname = \"b\"\n\n[search_space]\nlr = { type = \"float\", low = 1 }\nc = { choices = [1, 2] }\n";
        let doc = toml_edit::Document::parse(text).unwrap();
        let at = |p: &[&str]| {
            let l = locate(doc.as_item(), p);
            (l.value.map(|s| line_col(text, s.start)), l.complete)
        };
        assert_eq!(at(&["objectives", "1", "name"]), (Some((4, 8)), true));
        assert_eq!(at(&["search_space", "lr", "low"]), (Some((7, 30)), true));
        assert_eq!(
            at(&["search_space", "c", "choices", "1"]),
            (Some((8, 21)), true)
        );
        // Missing leaf: the deepest existing node.
        assert_eq!(at(&["search_space", "lr", "high"]), (Some((7, 6)), false));
    }
}
