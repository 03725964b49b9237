//! `[search_space]`: its parameters, the fragments it `include`s, and the
//! checks on the merged space (conditions, cycles) before it is built.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use toml_edit::Document;

use super::super::locate::Source;
use super::super::walk::{Field, Tab};
use super::super::{IncludedFragment, SpecError};
use super::helpers::{folder_of, normalize, syntax_error};
use super::param::{parse_param, RawParam};
use crate::space::{validate, Param, SearchSpace};

/// Read `[search_space]` and its includes into a checked space, with the
/// fragments merged into it.
pub(super) fn parse_search_space(
    root: &Tab<'_>,
    file: &Path,
    load: &mut dyn FnMut(&Path) -> Result<String, String>,
) -> Result<(SearchSpace, Vec<IncludedFragment>), SpecError> {
    let ss_field = root.require(
        "search_space",
        "add a [search_space] table, e.g. x = { type = \"float\", low = 0.0, high = 1.0 }",
    )?;
    let mut collector = Collector {
        load,
        stack: vec![normalize(file)],
        done: BTreeSet::new(),
        fragments: Vec::new(),
        params: Vec::new(),
    };
    let ss = ss_field.table("write [search_space] with one table per parameter")?;
    collector.collect(&ss)?;
    if collector.params.is_empty() {
        return Err(ss_field.err(
            "the search space has no parameters",
            "add at least one parameter, e.g. x = { type = \"float\", low = 0.0, high = 1.0 }",
        ));
    }
    let Collector {
        fragments, params, ..
    } = collector;
    Ok((build_space(params)?, fragments))
}

/// Walks `[search_space]` and its includes.
struct Collector<'l> {
    load: &'l mut dyn FnMut(&Path) -> Result<String, String>,
    /// Files being included (cycle detection).
    stack: Vec<PathBuf>,
    /// Fragments already merged (a fragment reached twice is merged once).
    done: BTreeSet<PathBuf>,
    fragments: Vec<IncludedFragment>,
    params: Vec<RawParam>,
}

impl Collector<'_> {
    /// Read a table of parameters (and `include`), in written order.
    fn collect(&mut self, table: &Tab<'_>) -> Result<(), SpecError> {
        for key in table.keys() {
            let f = table.get(key).expect("listed key exists");
            if key == "include" {
                let help = "write include = [\"../search_spaces/fragment.toml\"] (paths relative to this file)";
                let paths = match f.str() {
                    Ok(s) => vec![(s.to_string(), f.clone())],
                    Err(_) => f.string_list(help)?,
                };
                for (rel, at) in paths {
                    self.include(&rel, &at)?;
                }
                continue;
            }
            let raw = parse_param(key, &f)?;
            if let Some(prev) = self.params.iter().find(|p| p.param.name == raw.param.name) {
                let prev_at = match prev.at.0 {
                    Some(l) => format!("{}:{l}", prev.file.display()),
                    None => prev.file.display().to_string(),
                };
                return Err(raw.error(
                    "",
                    format!(
                        "parameter `{key}` is defined both in {} and in {prev_at}",
                        raw.file.display()
                    ),
                    "keep one definition (rename one of them, or drop it from the study file or the fragment)",
                ));
            }
            self.params.push(raw);
        }
        Ok(())
    }

    fn include(&mut self, rel: &str, at: &Field<'_>) -> Result<(), SpecError> {
        let including = at.src.file;
        let path = normalize(&folder_of(including).join(rel));
        if let Some(pos) = self.stack.iter().position(|p| *p == path) {
            let cycle: Vec<String> = self.stack[pos..]
                .iter()
                .chain(std::iter::once(&path))
                .map(|p| p.display().to_string())
                .collect();
            return Err(at.err(
                format!("include cycle: {}", cycle.join(" -> ")),
                "remove one of the includes that lead back to an including file",
            ));
        }
        if self.done.contains(&path) {
            return Ok(());
        }
        // Only TOML fragments are read: a path that names any other file
        // (`/etc/passwd`, a device) is refused before it is opened.
        if path.extension().and_then(|e| e.to_str()) != Some("toml") {
            return Err(at.err(
                format!(
                    "include `{}` is not a search-space fragment (its name must end in .toml)",
                    rel.escape_default()
                ),
                "include TOML files of parameter tables, named like ../search_spaces/fragment.toml",
            ));
        }
        let text = (self.load)(&path).map_err(|e| {
            at.err(
                format!("cannot read include `{}`: {e}", path.display()),
                format!(
                    "check the path; it is relative to the folder of {} ({})",
                    including.display(),
                    folder_of(including).display()
                ),
            )
        })?;
        self.stack.push(path.clone());
        let before = self.params.len();
        {
            let src = Source {
                file: &path,
                text: &text,
            };
            let doc = Document::parse(text.as_str()).map_err(|e| syntax_error(src, &e))?;
            let root = Tab::new(src, doc.as_table(), "", Some(0..0));
            if root.keys().contains(&"search_space") {
                root.deny_unknown(&["search_space"], |_| {
                    Some("a fragment holds only parameter tables, at the top level or under [search_space]".into())
                })?;
                let inner = root
                    .get("search_space")
                    .expect("present")
                    .table("write [search_space] with one table per parameter")?;
                self.collect(&inner)?;
            } else {
                self.collect(&Tab::new(src, doc.as_table(), "search_space", Some(0..0)))?;
            }
        }
        self.stack.pop();
        self.done.insert(path.clone());
        let params = self.params[before..]
            .iter()
            .filter(|p| p.file == path)
            .map(|p| p.param.name.clone())
            .collect();
        self.fragments.push(IncludedFragment {
            file: path,
            text,
            params,
        });
        Ok(())
    }
}

/// Check conditions against the whole space, then build it.
fn build_space(raw: Vec<RawParam>) -> Result<SearchSpace, SpecError> {
    let params: Vec<Param> = raw.iter().map(|r| r.param.clone()).collect();
    if let Err((i, fault)) = validate::check_conditions(&params) {
        return Err(raw[i].error(&fault.field, fault.message, fault.help));
    }
    SearchSpace::new(params).map_err(|e| match e {
        crate::CoreError::InvalidParam { name, message } => {
            match raw.iter().find(|r| r.param.name == name) {
                Some(r) => r.error("", message, "fix the parameter's definition"),
                None => SpecError {
                    file: PathBuf::new(),
                    line: None,
                    column: None,
                    field: format!("search_space.{name}"),
                    message,
                    help: None,
                },
            }
        }
        other => SpecError {
            file: PathBuf::new(),
            line: None,
            column: None,
            field: "search_space".into(),
            message: other.to_string(),
            help: None,
        },
    })
}
