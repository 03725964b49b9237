//! Shared by the `spec_parse_*` tests: the documented example study, its
//! fragment, a loader over in-memory files, and assertions on located
//! errors.

// Each test file uses its own subset of these helpers.
#![allow(dead_code, clippy::result_large_err)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use paretosearch_core::spec::{SpecError, StudySpec};

pub const STUDY: &str = "studies/study.toml";
pub const FRAGMENT: &str = "search_spaces/some_fragment.toml";

pub const EXAMPLE: &str = r#"[study]
name = "zdt1-demo"
seed = 7
heartbeat = "2s"

[[objectives]]
name = "f1"
direction = "minimize"
constraint = { max = 5.0 }
cheap = true

[[objectives]]
name = "f2"
direction = "maximize"

[search_space]
x0 = { type = "float", low = 0, high = 1 }
lr = { type = "float", low = 1e-5, high = 1e-1, log = true }
layers = { type = "int", low = 1, high = 8 }
width = { type = "int", low = 16, high = 1024, step = 16, monotone = "increasing" }
optimizer = { type = "categorical", choices = ["sgd", "adam", "rmsprop"] }
momentum = { type = "float", low = 0.0, high = 0.99, when = { optimizer = ["sgd", "rmsprop"] } }
include = ["../search_spaces/some_fragment.toml"]

[sampler]
kind = "tpe"
n_startup = 10

[pruner]
kind = "dominated"

[runner]
kind = "command"
command = ["python3", "objective.py", "--lr", "{lr}", "--layers", "{layers}", "--json={{}}"]
timeout = "10m"
env = { CUDA_VISIBLE_DEVICES = "0" }

[budget]
trials = 100
timeout = "2h"
workers = 2
"#;

pub const FRAGMENT_TEXT: &str = r#"# shared
dropout = { type = "float", low = 0.0, high = 0.5, step = 0.1 }
act = { type = "categorical", choices = [true, 1, 2.5, "relu"] }
"#;

pub fn loader(files: &[(&str, &str)]) -> impl FnMut(&Path) -> Result<String, String> {
    let map: BTreeMap<PathBuf, String> = files
        .iter()
        .map(|(p, t)| (PathBuf::from(p), t.to_string()))
        .collect();
    move |p: &Path| {
        map.get(p)
            .cloned()
            .ok_or_else(|| format!("no such file: {}", p.display()))
    }
}

pub fn parse_with(text: &str, files: &[(&str, &str)]) -> Result<StudySpec, SpecError> {
    StudySpec::parse(text, Path::new(STUDY), &mut loader(files))
}

pub fn parse(text: &str) -> Result<StudySpec, SpecError> {
    parse_with(text, &[(FRAGMENT, FRAGMENT_TEXT)])
}

/// The example with `from` replaced by `to` (which must occur).
pub fn edit(from: &str, to: &str) -> String {
    assert!(EXAMPLE.contains(from), "example lacks {from:?}");
    EXAMPLE.replacen(from, to, 1)
}

/// 1-based line of the first occurrence of `needle`.
pub fn line_of(text: &str, needle: &str) -> usize {
    let at = text
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} not in text"));
    text[..at].matches('\n').count() + 1
}

/// 1-based column of the first occurrence of `needle` on its line.
pub fn col_of(text: &str, needle: &str) -> usize {
    let at = text.find(needle).unwrap();
    let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    text[start..at].chars().count() + 1
}

#[track_caller]
pub fn expect_err(text: &str, line: usize, field: &str, message: &str) -> SpecError {
    let e = parse(text).expect_err("should fail");
    check(&e, STUDY, line, field, message);
    e
}

#[track_caller]
pub fn check(e: &SpecError, file: &str, line: usize, field: &str, message: &str) {
    assert_eq!(e.file, PathBuf::from(file), "{e}");
    assert_eq!(e.line, Some(line), "{e}");
    assert!(e.column.is_some(), "{e}");
    assert_eq!(e.field, field, "{e}");
    assert!(
        e.message.contains(message),
        "message of {e:?} lacks {message:?}"
    );
    assert!(
        e.help.as_deref().is_some_and(|h| !h.is_empty()),
        "{e}: no help"
    );
}
