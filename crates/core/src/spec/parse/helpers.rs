//! Helpers shared by the parts of the parser: hints for unknown keys, TOML
//! syntax errors, paths, and [`Problem`], a broken rule not yet located.

use std::path::{Component, Path, PathBuf};

use super::super::locate::Source;
use super::super::SpecError;
use super::TOP_KEYS;

/// A broken rule of a study: what is wrong and how to fix it. The rules
/// are shared by the parser, which locates the problem at the value at
/// fault, and [`StudySpecBuilder`](crate::spec::StudySpecBuilder), which
/// names the field.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Problem {
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub help: String,
}

impl Problem {
    pub(crate) fn new(message: impl Into<String>, help: impl Into<String>) -> Self {
        Problem {
            message: message.into(),
            help: help.into(),
        }
    }
}

pub(super) fn no_hint(_: &str) -> Option<String> {
    None
}

/// For a top-level key written under a `[table]` header (TOML puts every
/// key after a header into that table).
pub(super) fn top_level_hint(key: &str) -> Option<String> {
    TOP_KEYS.contains(&key).then(|| {
        format!("`{key}` belongs at the top level: move it above the first [table] header, or write it as a [{key}] table")
    })
}

/// Turn a `toml_edit` syntax error into a located, one-line error.
pub(super) fn syntax_error(src: Source<'_>, e: &toml_edit::TomlError) -> SpecError {
    let message = e
        .message()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    let key = e
        .span()
        .and_then(|sp| src.text.get(sp))
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= 60 && !k.contains('\n'));
    let message = match key {
        Some(k) if message.starts_with("duplicate key") => {
            message.replacen("duplicate key", &format!("duplicate key `{k}`"), 1)
        }
        _ => message,
    };
    let help = if message.contains("duplicate key") {
        "remove one of the two definitions"
    } else {
        "fix the TOML syntax at this position (strings need double quotes, tables `key = { ... }` or a `[header]`)"
    };
    src.error(
        e.span().as_ref(),
        "",
        format!("TOML syntax error: {message}"),
        help,
    )
}

/// Lexically normalise a path (`a/b/../c` -> `a/c`), so that the same
/// include reached two ways is recognised.
pub(crate) fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if matches!(out.components().next_back(), Some(Component::Normal(_))) {
                    out.pop();
                } else if !matches!(out.components().next_back(), Some(Component::RootDir)) {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

pub(crate) fn folder_of(file: &Path) -> PathBuf {
    match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}
