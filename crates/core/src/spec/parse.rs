//! From study-file text to a validated [`StudySpec`].
//!
//! The document is parsed once with `toml_edit` (which keeps spans) and
//! walked by hand: every key is taken explicitly, so every type error,
//! missing key and unknown key is reported where it is written.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use toml_edit::Document;

use super::locate::{suggest, Source};
use super::template::placeholders;
use super::walk::{Field, Tab};
use super::{
    Budget, BuiltinSpec, CommandSpec, IncludedFragment, PrunerSpec, RunnerSpec, SamplerSpec,
    SpecError, SpecOrigin, StudySpec,
};
use crate::objective::{Constraint, Direction, Objective, Objectives};
use crate::space::{Condition, Distribution, Monotone, Param, ParamValue, SearchSpace};

const TOP_KEYS: &[&str] = &[
    "study",
    "objectives",
    "search_space",
    "sampler",
    "pruner",
    "runner",
    "budget",
];
const STUDY_KEYS: &[&str] = &[
    "name",
    "seed",
    "storage",
    "heartbeat",
    "stale_after",
    "retries",
];
const OBJECTIVE_KEYS: &[&str] = &["name", "direction", "constraint", "cheap"];
const NUMERIC_PARAM_KEYS: &[&str] = &["type", "low", "high", "log", "step", "when", "monotone"];
const CATEGORICAL_PARAM_KEYS: &[&str] = &["type", "choices", "when"];
const COMMAND_KEYS: &[&str] = &[
    "kind",
    "command",
    "profile_command",
    "timeout",
    "grace",
    "workdir",
    "env",
];
const BUDGET_KEYS: &[&str] = &["trials", "timeout", "workers"];

/// Default heartbeat period.
pub(crate) const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(5);
/// Default staleness threshold.
pub(crate) const DEFAULT_STALE_AFTER: Duration = Duration::from_secs(60);
/// Default SIGTERM-to-SIGKILL grace.
pub(crate) const DEFAULT_GRACE: Duration = Duration::from_secs(5);

fn no_hint(_: &str) -> Option<String> {
    None
}

/// For a top-level key written under a `[table]` header (TOML puts every
/// key after a header into that table).
fn top_level_hint(key: &str) -> Option<String> {
    TOP_KEYS.contains(&key).then(|| {
        format!("`{key}` belongs at the top level: move it above the first [table] header, or write it as a [{key}] table")
    })
}

/// Turn a `toml_edit` syntax error into a located, one-line error.
fn syntax_error(src: Source<'_>, e: &toml_edit::TomlError) -> SpecError {
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

fn folder_of(file: &Path) -> PathBuf {
    match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

pub(crate) fn parse_spec(
    text: &str,
    file: &Path,
    load: &mut dyn FnMut(&Path) -> Result<String, String>,
) -> Result<StudySpec, SpecError> {
    let src = Source { file, text };
    let doc = Document::parse(text).map_err(|e| syntax_error(src, &e))?;
    let root = Tab::new(src, doc.as_table(), "", Some(0..0));
    root.deny_unknown(TOP_KEYS, no_hint)?;

    // [study]
    let study = root
        .require("study", "add a [study] table with name = \"my-study\"")?
        .table("write a [study] table")?;
    study.deny_unknown(STUDY_KEYS, top_level_hint)?;
    let name_f = study.require("name", "add name = \"my-study\" under [study]")?;
    let name = name_f.non_empty_str()?.to_string();
    if let Some(c) = name
        .chars()
        .find(|c| matches!(c, '/' | '\\') || c.is_control())
    {
        return Err(name_f.err(
            format!("study name `{name}` contains `{}`", c.escape_default()),
            "use letters, digits, `-`, `_` and `.` (the name also names the default database file)",
        ));
    }
    let seed = match study.get("seed") {
        Some(f) => f.int_at_least(0)? as u64,
        None => 0,
    };
    let storage = match study.get("storage") {
        Some(f) => Some(f.non_empty_str()?.to_string()),
        None => None,
    };
    let heartbeat = match study.get("heartbeat") {
        Some(f) => {
            let d = f.duration()?;
            if d.is_zero() {
                return Err(f.err("heartbeat must be longer than zero", "write e.g. \"5s\""));
            }
            d
        }
        None => DEFAULT_HEARTBEAT,
    };
    let stale_after = match study.get("stale_after") {
        Some(f) => {
            let d = f.duration()?;
            if d <= heartbeat {
                return Err(f.err(
                    format!(
                        "stale_after ({}) must be longer than heartbeat ({})",
                        humantime::format_duration(d),
                        humantime::format_duration(heartbeat)
                    ),
                    "use several heartbeats, e.g. 12 times the heartbeat",
                ));
            }
            d
        }
        None => DEFAULT_STALE_AFTER.max(heartbeat * 2),
    };
    let retries = match study.get("retries") {
        Some(f) => {
            let r = f.int_at_least(0)?;
            u32::try_from(r).map_err(|_| {
                f.err(
                    format!("{r} retries is too many"),
                    "use a small number such as 1",
                )
            })?
        }
        None => 1,
    };

    // [[objectives]]
    let objectives = parse_objectives(&root)?;

    // [search_space]
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
    let space = build_space(params)?;

    // [sampler], [pruner]
    let sampler = match root.get("sampler") {
        Some(f) => {
            let (kind, options) = kind_and_options(&f, "sampler", "auto")?;
            SamplerSpec { kind, options }
        }
        // Without a [sampler] table the samplers crate's `auto` picks one.
        None => SamplerSpec {
            kind: "auto".into(),
            options: toml::Table::new(),
        },
    };
    let pruner = match root.get("pruner") {
        Some(f) => {
            let (kind, options) = kind_and_options(&f, "pruner", "dominated")?;
            Some(PrunerSpec { kind, options })
        }
        None => None,
    };

    // [runner]
    let runner = parse_runner(
        &root.require(
            "runner",
            "add a [runner] table, e.g. kind = \"command\" and command = [\"python3\", \"train.py\", \"--lr\", \"{lr}\"]",
        )?,
        &space,
        file,
    )?;

    // [budget]
    let budget_t = root
        .require("budget", "add a [budget] table with trials = 100")?
        .table("write a [budget] table")?;
    budget_t.deny_unknown(BUDGET_KEYS, top_level_hint)?;
    let trials_f = budget_t.require("trials", "add trials = 100 under [budget]")?;
    let trials = trials_f.int()?;
    if trials < 1 {
        return Err(trials_f.err(
            format!("budget.trials must be at least 1 (got {trials})"),
            "set the total number of trials to run, e.g. trials = 100",
        ));
    }
    let timeout = budget_t.get("timeout").map(|f| f.duration()).transpose()?;
    let workers = match budget_t.get("workers") {
        Some(f) => {
            let w = f.int()?;
            if w < 1 {
                return Err(f.err(
                    format!("workers must be at least 1 (got {w})"),
                    "use workers = 1 for one trial at a time",
                ));
            }
            w as usize
        }
        None => 1,
    };

    Ok(StudySpec {
        name,
        seed,
        storage,
        heartbeat,
        stale_after,
        retries,
        objectives,
        space,
        sampler,
        pruner,
        runner,
        budget: Budget {
            trials: trials as u64,
            timeout,
            workers,
        },
        origin: SpecOrigin {
            file: file.to_path_buf(),
            text: text.to_string(),
            fragments,
        },
    })
}

fn parse_objectives(root: &Tab<'_>) -> Result<Objectives, SpecError> {
    let help = "add one [[objectives]] table per objective, with name = \"...\" and direction = \"minimize\" or \"maximize\"";
    let field = root.require("objectives", help)?;
    let items = field.elements(help)?;
    if items.is_empty() {
        return Err(field.err("a study needs at least one objective", help));
    }
    let mut out: Vec<Objective> = Vec::new();
    let mut first_seen: BTreeMap<String, Option<usize>> = BTreeMap::new();
    for item in items {
        let t = item.table(help)?;
        t.deny_unknown(OBJECTIVE_KEYS, top_level_hint)?;
        let name_f = t.require("name", "add name = \"...\" (the key the runner reports)")?;
        let name = name_f.non_empty_str()?.to_string();
        if let Some(line) = first_seen.get(&name) {
            let at = line
                .map(|l| format!(" (first at line {l})"))
                .unwrap_or_default();
            return Err(name_f.err(
                format!("objective `{name}` is declared twice{at}"),
                "give every objective a distinct name",
            ));
        }
        first_seen.insert(name.clone(), name_f.src.position(name_f.span.as_ref()).0);
        let dir_f = t.require("direction", "add direction = \"minimize\" or \"maximize\"")?;
        let direction = match dir_f.str()? {
            "minimize" => Direction::Minimize,
            "maximize" => Direction::Maximize,
            other => {
                let help = match suggest(other, &["minimize", "maximize"]) {
                    Some(s) => format!("did you mean \"{s}\"?"),
                    None => "write \"minimize\" or \"maximize\"".into(),
                };
                return Err(dir_f.err(
                    format!("direction must be \"minimize\" or \"maximize\", not \"{other}\""),
                    help,
                ));
            }
        };
        let constraint = match t.get("constraint") {
            Some(f) => {
                let help = "write constraint = { max = 5.0 }, { min = 0.9 } or both";
                let c = f.table(help)?;
                c.deny_unknown(&["min", "max"], no_hint)?;
                let min = c.get("min").map(|f| f.float()).transpose()?;
                let max = c.get("max").map(|f| f.float()).transpose()?;
                if min.is_none() && max.is_none() {
                    return Err(f.err("a constraint needs `min`, `max` or both", help));
                }
                if let (Some(lo), Some(hi)) = (min, max) {
                    if lo > hi {
                        return Err(f.err(
                            format!("constraint min ({lo}) is greater than max ({hi}): no value is feasible"),
                            "swap min and max",
                        ));
                    }
                }
                for (v, k) in [(min, "min"), (max, "max")] {
                    if v.is_some_and(|v| !v.is_finite()) {
                        return Err(c.get(k).expect("present").err(
                            "constraint bounds must be finite",
                            "use a finite number, or leave the bound out",
                        ));
                    }
                }
                Some(Constraint { min, max })
            }
            None => None,
        };
        let cheap = t
            .get("cheap")
            .map(|f| f.bool())
            .transpose()?
            .unwrap_or(false);
        out.push(Objective {
            name,
            direction,
            constraint,
            cheap,
        });
    }
    Ok(Objectives(out))
}

/// A parameter read from a file, with what later checks need to point at it.
struct RawParam {
    param: Param,
    file: PathBuf,
    /// Position of the parameter's key.
    at: (Option<usize>, Option<usize>),
    /// Positions of `when.<parent>` values.
    when_at: BTreeMap<String, (Option<usize>, Option<usize>)>,
}

impl RawParam {
    fn error(&self, sub: &str, message: impl Into<String>, help: impl Into<String>) -> SpecError {
        let (line, column) = if let Some(p) = sub.strip_prefix("when.") {
            self.when_at.get(p).copied().unwrap_or(self.at)
        } else {
            self.at
        };
        let field = if sub.is_empty() {
            format!("search_space.{}", self.param.name)
        } else {
            format!("search_space.{}.{sub}", self.param.name)
        };
        SpecError {
            file: self.file.clone(),
            line,
            column,
            field,
            message: message.into(),
            help: Some(help.into()),
        }
    }
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

fn param_type_hint(key: &str) -> Option<String> {
    match key {
        "low" | "high" | "log" | "step" | "monotone" => Some(format!(
            "`{key}` applies to float and int parameters; a categorical parameter takes `choices`"
        )),
        "choices" => {
            Some("`choices` applies to categorical parameters; use type = \"categorical\"".into())
        }
        _ => None,
    }
}

fn parse_param(name: &str, f: &Field<'_>) -> Result<RawParam, SpecError> {
    if name.trim().is_empty() || name.contains(['{', '}']) || name.chars().any(char::is_control) {
        return Err(f.src.error(
            f.key_span.as_ref().or(f.span.as_ref()),
            &f.path,
            format!("`{name}` is not a usable parameter name"),
            "use a non-empty name without braces (it is written `{name}` in commands)",
        ));
    }
    let t = f.table(
        "write a parameter as a table, e.g. x = { type = \"float\", low = 0.0, high = 1.0 }",
    )?;
    let at = f.src.position(f.key_span.as_ref().or(f.span.as_ref()));
    let ty_f = t.require("type", "add type = \"float\", \"int\" or \"categorical\"")?;
    let ty = ty_f.str()?;
    let types = ["float", "int", "categorical"];
    if !types.contains(&ty) {
        let help = match suggest(ty, &types) {
            Some(s) => format!("did you mean \"{s}\"?"),
            None => "use \"float\", \"int\" or \"categorical\"".into(),
        };
        return Err(ty_f.err(format!("unknown parameter type \"{ty}\""), help));
    }
    let known = if ty == "categorical" {
        CATEGORICAL_PARAM_KEYS
    } else {
        NUMERIC_PARAM_KEYS
    };
    t.deny_unknown(known, param_type_hint)?;

    let distribution = match ty {
        "float" => {
            let low = t.require("low", "add low = <lower bound>")?.float()?;
            let high = t.require("high", "add high = <upper bound>")?.float()?;
            let log = t.get("log").map(|f| f.bool()).transpose()?.unwrap_or(false);
            let step = t.get("step").map(|f| f.float()).transpose()?;
            Distribution::Float {
                low,
                high,
                log,
                step,
            }
        }
        "int" => {
            let int_bound = |key: &str| -> Result<i64, SpecError> {
                let f = t.require(key, &format!("add {key} = <whole number>"))?;
                f.int().map_err(|_| {
                    f.err(
                        format!(
                            "bounds of an int parameter must be integers, found {}",
                            f.found()
                        ),
                        "write whole numbers, or use type = \"float\"",
                    )
                })
            };
            let low = int_bound("low")?;
            let high = int_bound("high")?;
            let log = t.get("log").map(|f| f.bool()).transpose()?.unwrap_or(false);
            let step = match t.get("step") {
                Some(f) => f.int().map_err(|_| {
                    f.err(
                        format!(
                            "the step of an int parameter must be an integer, found {}",
                            f.found()
                        ),
                        "write a whole number such as 2, or use type = \"float\"",
                    )
                })?,
                None => 1,
            };
            Distribution::Int {
                low,
                high,
                log,
                step,
            }
        }
        _ => {
            let help = "write choices = [\"a\", \"b\"] (strings, numbers or booleans)";
            let cf = t.require("choices", help)?;
            let mut choices: Vec<ParamValue> = Vec::new();
            for e in cf.elements(help)? {
                let v = e.param_value()?;
                if choices.iter().any(|c| c.loosely_equals(&v)) {
                    return Err(e.err(
                        format!("choice `{v}` appears twice"),
                        "remove the repeated choice",
                    ));
                }
                choices.push(v);
            }
            Distribution::Categorical { choices }
        }
    };
    if let Err((field, message)) = distribution.check() {
        let help = distribution_help(&distribution, &field);
        let ff = t.get(&field).unwrap_or_else(|| f.clone());
        // A missing `step` (int default) points at the parameter itself.
        return Err(ff.src.error(
            ff.span.as_ref(),
            &format!("search_space.{name}.{field}"),
            message,
            help,
        ));
    }

    let monotone = match t.get("monotone") {
        Some(f) => match f.str()? {
            "increasing" => Some(Monotone::Increasing),
            "decreasing" => Some(Monotone::Decreasing),
            other => {
                return Err(f.err(
                    format!("monotone must be \"increasing\" or \"decreasing\", not \"{other}\""),
                    match suggest(other, &["increasing", "decreasing"]) {
                        Some(s) => format!("did you mean \"{s}\"?"),
                        None => "write \"increasing\" or \"decreasing\", or leave it out".into(),
                    },
                ))
            }
        },
        None => None,
    };

    let mut when = Vec::new();
    let mut when_at = BTreeMap::new();
    if let Some(wf) = t.get("when") {
        let help = "write when = { parent = value } or when = { parent = [value1, value2] }";
        let wt = wf.table(help)?;
        if wt.is_empty() {
            return Err(wf.err("`when` lists no condition", help));
        }
        for parent in wt.keys() {
            let vf = wt.get(parent).expect("listed key exists");
            let values = match vf.elements(help) {
                Ok(items) => {
                    if items.is_empty() {
                        return Err(vf.err("the list of parent values is empty", help));
                    }
                    items
                        .iter()
                        .map(|e| e.param_value())
                        .collect::<Result<Vec<_>, _>>()?
                }
                Err(_) => vec![vf.param_value()?],
            };
            when_at.insert(parent.to_string(), vf.src.position(vf.span.as_ref()));
            when.push(Condition {
                parent: parent.to_string(),
                values,
            });
        }
    }

    Ok(RawParam {
        param: Param {
            name: name.to_string(),
            distribution,
            when,
            monotone,
        },
        file: f.src.file.to_path_buf(),
        at,
        when_at,
    })
}

/// The fix for a failed [`Distribution::check`].
fn distribution_help(d: &Distribution, field: &str) -> String {
    match (d, field) {
        (Distribution::Float { low, high, .. }, "low") if !low.is_finite() || !high.is_finite() => {
            "use finite numbers for low and high".into()
        }
        (
            Distribution::Float {
                log: true,
                low,
                high,
                ..
            },
            "low",
        ) if low < high => "use a positive low (e.g. 1e-5), or drop `log = true`".into(),
        (
            Distribution::Int {
                log: true,
                low,
                high,
                ..
            },
            "low",
        ) if low < high => "use low >= 1, or drop `log = true`".into(),
        (_, "low") => "make low smaller than high (swap them if they are reversed)".into(),
        (Distribution::Float { log: true, .. }, "step")
        | (Distribution::Int { log: true, .. }, "step") => {
            "remove `step` or `log = true`: a log-scaled parameter has no fixed step".into()
        }
        (_, "step") => "use a positive step no larger than high - low".into(),
        (_, "choices") => "list at least one choice, each once".into(),
        _ => "fix the parameter's definition".into(),
    }
}

/// Check conditions against the whole space, then build it.
fn build_space(raw: Vec<RawParam>) -> Result<SearchSpace, SpecError> {
    let names: Vec<&str> = raw.iter().map(|r| r.param.name.as_str()).collect();
    for r in &raw {
        for c in &r.param.when {
            let sub = format!("when.{}", c.parent);
            if c.parent == r.param.name {
                return Err(r.error(
                    &sub,
                    format!("`{}` cannot depend on itself", c.parent),
                    "remove this condition",
                ));
            }
            let Some(parent) = raw.iter().find(|p| p.param.name == c.parent) else {
                let help = match suggest(&c.parent, &names) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!("known parameters: {}", names.join(", ")),
                };
                return Err(r.error(
                    &sub,
                    format!("`when` names unknown parameter `{}`", c.parent),
                    help,
                ));
            };
            for v in &c.values {
                if !parent.param.distribution.contains(v) {
                    let takes = match &parent.param.distribution {
                        Distribution::Categorical { choices } => format!(
                            "its choices are {}",
                            choices
                                .iter()
                                .map(|c| format!("`{c}`"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                        Distribution::Float { low, high, .. } => {
                            format!("it ranges over [{low}, {high}]")
                        }
                        Distribution::Int {
                            low, high, step, ..
                        } => {
                            format!("it takes integers {low}..={high} in steps of {step}")
                        }
                    };
                    return Err(r.error(
                        &sub,
                        format!("`{}` can never be `{v}` ({takes})", c.parent),
                        format!("use a value `{}` can take", c.parent),
                    ));
                }
            }
        }
    }
    if let Some(cycle) = find_cycle(&raw) {
        let first = &raw[cycle[0]];
        let next = &raw[cycle[1 % cycle.len()]].param.name;
        let names: Vec<&str> = cycle
            .iter()
            .chain(std::iter::once(&cycle[0]))
            .map(|&i| raw[i].param.name.as_str())
            .collect();
        return Err(first.error(
            &format!("when.{next}"),
            format!("`when` conditions form a cycle: {}", names.join(" -> ")),
            "a parameter cannot depend, directly or indirectly, on itself; remove one of these conditions",
        ));
    }
    let params: Vec<Param> = raw.iter().map(|r| r.param.clone()).collect();
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

/// Indices of a `when` cycle (child -> parent -> ... ), if there is one.
fn find_cycle(raw: &[RawParam]) -> Option<Vec<usize>> {
    let index: BTreeMap<&str, usize> = raw
        .iter()
        .enumerate()
        .map(|(i, r)| (r.param.name.as_str(), i))
        .collect();
    // 0 = unvisited, 1 = on the current path, 2 = done.
    let mut state = vec![0u8; raw.len()];
    fn visit(
        i: usize,
        raw: &[RawParam],
        index: &BTreeMap<&str, usize>,
        state: &mut [u8],
        path: &mut Vec<usize>,
    ) -> Option<Vec<usize>> {
        state[i] = 1;
        path.push(i);
        for c in &raw[i].param.when {
            let Some(&j) = index.get(c.parent.as_str()) else {
                continue;
            };
            if state[j] == 1 {
                let from = path.iter().position(|&k| k == j).expect("on path");
                return Some(path[from..].to_vec());
            }
            if state[j] == 0 {
                if let Some(c) = visit(j, raw, index, state, path) {
                    return Some(c);
                }
            }
        }
        path.pop();
        state[i] = 2;
        None
    }
    for i in 0..raw.len() {
        if state[i] == 0 {
            if let Some(c) = visit(i, raw, &index, &mut state, &mut Vec::new()) {
                return Some(c);
            }
        }
    }
    None
}

fn kind_and_options(
    f: &Field<'_>,
    table: &str,
    example: &str,
) -> Result<(String, toml::Table), SpecError> {
    let t = f.table(&format!(
        "write a [{table}] table with kind = \"{example}\""
    ))?;
    let kind = t
        .require("kind", &format!("add kind = \"{example}\" under [{table}]"))?
        .non_empty_str()?
        .to_string();
    Ok((kind, t.options(&["kind"])))
}

fn parse_runner(f: &Field<'_>, space: &SearchSpace, file: &Path) -> Result<RunnerSpec, SpecError> {
    let t = f.table("write a [runner] table with kind = \"command\" or \"builtin\"")?;
    let kind = t
        .require(
            "kind",
            "add kind = \"command\" (or \"builtin\", or a runner such as \"torch\")",
        )?
        .non_empty_str()?
        .to_string();
    match kind.as_str() {
        "command" => {
            t.deny_unknown(COMMAND_KEYS, top_level_hint)?;
            let help = "write command = [\"python3\", \"train.py\", \"--lr\", \"{lr}\"]";
            let command = check_argv(&t.require("command", help)?, space, help)?;
            let profile_command = match t.get("profile_command") {
                Some(pf) => Some(check_argv(
                    &pf,
                    space,
                    "write profile_command = [\"python3\", \"profile.py\", \"--width\", \"{width}\"]",
                )?),
                None => None,
            };
            let timeout = t.get("timeout").map(|f| f.duration()).transpose()?;
            let grace = t
                .get("grace")
                .map(|f| f.duration())
                .transpose()?
                .unwrap_or(DEFAULT_GRACE);
            let base = folder_of(file);
            let workdir = match t.get("workdir") {
                Some(w) => normalize(&base.join(w.non_empty_str()?)),
                None => base,
            };
            let mut env = BTreeMap::new();
            if let Some(ef) = t.get("env") {
                let et = ef.table("write env = { NAME = \"value\" }")?;
                for k in et.keys() {
                    let v = et.get(k).expect("listed key exists");
                    env.insert(k.to_string(), v.str()?.to_string());
                }
            }
            Ok(RunnerSpec::Command(CommandSpec {
                command,
                profile_command,
                timeout,
                grace,
                workdir,
                env,
            }))
        }
        "builtin" => {
            t.deny_unknown(&["kind", "problem"], top_level_hint)?;
            let problem = t
                .require("problem", "add problem = \"zdt1\"")?
                .non_empty_str()?
                .to_string();
            Ok(RunnerSpec::Builtin(BuiltinSpec { problem }))
        }
        _ => Ok(RunnerSpec::Other {
            options: t.options(&["kind"]),
            kind,
        }),
    }
}

/// An argv whose `{placeholders}` all name parameters.
fn check_argv(f: &Field<'_>, space: &SearchSpace, help: &str) -> Result<Vec<String>, SpecError> {
    let args = f.string_list(help)?;
    let names: Vec<&str> = space.params().iter().map(|p| p.name.as_str()).collect();
    let mut out = Vec::with_capacity(args.len());
    for (arg, af) in args {
        // Offset of the argument's text inside its written form, when the
        // string has no escapes (so byte offsets line up).
        let raw = af
            .span
            .as_ref()
            .and_then(|s| af.src.text.get(s.clone()))
            .unwrap_or("");
        let inner = if raw.len() == arg.len() + 2 && raw.get(1..raw.len() - 1) == Some(arg.as_str())
        {
            Some(1)
        } else {
            None
        };
        let err_at = |offset: usize, message: String, help: String| match inner {
            Some(i) => af.err_at_offset(i + offset, message, help),
            None => af.err(message, help),
        };
        let found = placeholders(&arg).map_err(|e| {
            err_at(
                e.offset,
                format!("{} in `{arg}`", e.message),
                "placeholders are `{name}`; write `{{` and `}}` for literal braces".into(),
            )
        })?;
        for (offset, name) in found {
            if !names.contains(&name.as_str()) {
                let known = names
                    .iter()
                    .map(|n| format!("{{{n}}}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let help = match suggest(&name, &names) {
                    Some(s) => {
                        format!("did you mean `{{{s}}}`? (write `{{{{` for a literal brace)")
                    }
                    None => "use one of the parameters, or write `{{` for a literal brace".into(),
                };
                return Err(err_at(
                    offset,
                    format!("`{{{name}}}` is not a parameter (known: {known})"),
                    help,
                ));
            }
        }
        out.push(arg);
    }
    Ok(out)
}
