//! Study-file parsing: the documented example, every malformed case (with
//! its file, line, field and message), includes, `error_at` and `to_json`.

#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use paretosearch_core::spec::{RunnerSpec, SpecError, StudySpec};
use paretosearch_core::{Condition, Direction, Distribution, Monotone, ParamValue};

const STUDY: &str = "studies/study.toml";
const FRAGMENT: &str = "search_spaces/some_fragment.toml";

const EXAMPLE: &str = r#"[study]
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

const FRAGMENT_TEXT: &str = r#"# shared
dropout = { type = "float", low = 0.0, high = 0.5, step = 0.1 }
act = { type = "categorical", choices = [true, 1, 2.5, "relu"] }
"#;

fn loader(files: &[(&str, &str)]) -> impl FnMut(&Path) -> Result<String, String> {
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

fn parse_with(text: &str, files: &[(&str, &str)]) -> Result<StudySpec, SpecError> {
    StudySpec::parse(text, Path::new(STUDY), &mut loader(files))
}

fn parse(text: &str) -> Result<StudySpec, SpecError> {
    parse_with(text, &[(FRAGMENT, FRAGMENT_TEXT)])
}

/// The example with `from` replaced by `to` (which must occur).
fn edit(from: &str, to: &str) -> String {
    assert!(EXAMPLE.contains(from), "example lacks {from:?}");
    EXAMPLE.replacen(from, to, 1)
}

/// 1-based line of the first occurrence of `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    let at = text
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} not in text"));
    text[..at].matches('\n').count() + 1
}

/// 1-based column of the first occurrence of `needle` on its line.
fn col_of(text: &str, needle: &str) -> usize {
    let at = text.find(needle).unwrap();
    let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    text[start..at].chars().count() + 1
}

#[track_caller]
fn expect_err(text: &str, line: usize, field: &str, message: &str) -> SpecError {
    let e = parse(text).expect_err("should fail");
    check(&e, STUDY, line, field, message);
    e
}

#[track_caller]
fn check(e: &SpecError, file: &str, line: usize, field: &str, message: &str) {
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

#[test]
fn the_documented_example_parses() {
    let spec = parse(EXAMPLE).unwrap();
    assert_eq!(spec.name, "zdt1-demo");
    assert_eq!(spec.seed, 7);
    assert_eq!(spec.storage, None);
    assert_eq!(spec.heartbeat, Duration::from_secs(2));
    assert_eq!(spec.stale_after, Duration::from_secs(60));
    assert_eq!(spec.retries, 1);

    assert_eq!(spec.objectives.names(), vec!["f1", "f2"]);
    assert_eq!(
        spec.objectives.directions(),
        vec![Direction::Minimize, Direction::Maximize]
    );
    let f1 = &spec.objectives.0[0];
    assert!(f1.cheap);
    assert_eq!(f1.constraint.unwrap().max, Some(5.0));
    assert_eq!(f1.constraint.unwrap().min, None);

    let s = &spec.space;
    assert_eq!(s.len(), 8);
    assert_eq!(
        s.get("x0").unwrap().distribution,
        Distribution::Float {
            low: 0.0,
            high: 1.0,
            log: false,
            step: None
        }
    );
    assert!(s.get("lr").unwrap().distribution.is_log());
    assert_eq!(
        s.get("layers").unwrap().distribution,
        Distribution::Int {
            low: 1,
            high: 8,
            log: false,
            step: 1
        }
    );
    let width = s.get("width").unwrap();
    assert_eq!(
        width.distribution,
        Distribution::Int {
            low: 16,
            high: 1024,
            log: false,
            step: 16
        }
    );
    assert_eq!(width.monotone, Some(Monotone::Increasing));
    assert_eq!(
        s.get("momentum").unwrap().when,
        vec![Condition {
            parent: "optimizer".into(),
            values: vec![
                ParamValue::Str("sgd".into()),
                ParamValue::Str("rmsprop".into())
            ],
        }]
    );
    // Parents precede children.
    assert!(s.index_of("optimizer").unwrap() < s.index_of("momentum").unwrap());
    // The fragment's parameters are merged where `include` is written.
    assert_eq!(
        s.get("dropout").unwrap().distribution,
        Distribution::Float {
            low: 0.0,
            high: 0.5,
            log: false,
            step: Some(0.1)
        }
    );
    assert_eq!(
        s.get("act").unwrap().distribution,
        Distribution::Categorical {
            choices: vec![
                ParamValue::Bool(true),
                ParamValue::Int(1),
                ParamValue::Float(2.5),
                ParamValue::Str("relu".into())
            ]
        }
    );
    assert_eq!(spec.origin.fragments.len(), 1);
    assert_eq!(spec.origin.fragments[0].file, PathBuf::from(FRAGMENT));
    assert_eq!(spec.origin.fragments[0].params, vec!["dropout", "act"]);

    assert_eq!(spec.sampler.kind, "tpe");
    assert_eq!(
        spec.sampler
            .options
            .get("n_startup")
            .and_then(|v| v.as_integer()),
        Some(10)
    );
    assert!(!spec.sampler.options.contains_key("kind"));
    assert_eq!(spec.pruner.as_ref().unwrap().kind, "dominated");

    let RunnerSpec::Command(c) = &spec.runner else {
        panic!("{:?}", spec.runner)
    };
    assert_eq!(c.command[3], "{lr}");
    assert_eq!(c.command.last().unwrap(), "--json={{}}");
    assert_eq!(c.timeout, Some(Duration::from_secs(600)));
    assert_eq!(c.grace, Duration::from_secs(5));
    assert_eq!(c.workdir, PathBuf::from("studies"));
    assert_eq!(
        c.env.get("CUDA_VISIBLE_DEVICES").map(String::as_str),
        Some("0")
    );
    assert_eq!(c.profile_command, None);

    assert_eq!(spec.budget.trials, 100);
    assert_eq!(spec.budget.timeout, Some(Duration::from_secs(7200)));
    assert_eq!(spec.budget.workers, 2);
}

#[test]
fn optional_tables_take_defaults() {
    let text = r#"
[study]
name = "s"
[[objectives]]
name = "y"
direction = "minimize"
[search_space]
x = { type = "float", low = -1, high = 1 }
[runner]
kind = "builtin"
problem = "zdt1"
[budget]
trials = 3
"#;
    let spec = parse(text).unwrap();
    assert_eq!(spec.sampler.kind, "auto");
    assert!(spec.sampler.options.is_empty());
    assert!(spec.pruner.is_none());
    assert_eq!(spec.seed, 0);
    assert_eq!(spec.heartbeat, Duration::from_secs(5));
    assert_eq!(spec.budget.workers, 1);
    assert_eq!(spec.budget.timeout, None);
    assert_eq!(
        spec.runner,
        RunnerSpec::Builtin(paretosearch_core::spec::BuiltinSpec {
            problem: "zdt1".into()
        })
    );
}

#[test]
fn other_runner_kinds_keep_their_table() {
    let text = edit(
        "kind = \"command\"\ncommand = [\"python3\", \"objective.py\", \"--lr\", \"{lr}\", \"--layers\", \"{layers}\", \"--json={{}}\"]\ntimeout = \"10m\"\nenv = { CUDA_VISIBLE_DEVICES = \"0\" }",
        "kind = \"torch\"\nmodel = \"resnet\"\nepochs = 3\n[runner.data]\npath = \"x\"",
    );
    let spec = parse(&text).unwrap();
    let RunnerSpec::Other { kind, options } = &spec.runner else {
        panic!()
    };
    assert_eq!(kind, "torch");
    assert_eq!(options.get("epochs").and_then(|v| v.as_integer()), Some(3));
    assert_eq!(options["data"]["path"].as_str(), Some("x"));
    assert!(!options.contains_key("kind"));
    // Another crate can locate its own complaints.
    let e = spec.origin.error_at(
        &["runner", "epochs"],
        "epochs must be even",
        Some("use 2 or 4"),
    );
    check(
        &e,
        STUDY,
        line_of(&text, "epochs = 3"),
        "runner.epochs",
        "even",
    );
    assert_eq!(e.column, Some(col_of(&text, "3\n[runner.data]")));
    let e = spec
        .origin
        .error_at(&["runner", "data", "path"], "no such dataset", None);
    assert_eq!(e.line, Some(line_of(&text, "path = \"x\"")));
    assert_eq!(e.column, Some(8));
    assert_eq!(e.help, None);
    let e = spec
        .origin
        .unknown_key(&["runner"], "model", &["mode", "epochs"]);
    assert_eq!(e.line, Some(line_of(&text, "model = ")));
    assert_eq!(e.column, Some(1));
    assert!(e.help.unwrap().contains("did you mean `mode`?"));
}

#[test]
fn error_at_locates_nested_keys_in_the_file_and_in_fragments() {
    let spec = parse(EXAMPLE).unwrap();
    let o = &spec.origin;
    let e = o.error_at(
        &["search_space", "lr", "high"],
        "too high",
        Some("lower it"),
    );
    assert_eq!(e.file, PathBuf::from(STUDY));
    assert_eq!(e.line, Some(line_of(EXAMPLE, "lr = {")));
    assert_eq!(e.column, Some(col_of(EXAMPLE, "1e-1, log")));
    assert_eq!(e.field, "search_space.lr.high");
    let e = o.key_error_at(&["objectives", "1", "direction"], "bad", None);
    assert_eq!(e.field, "objectives[1].direction");
    assert_eq!(e.line, Some(line_of(EXAMPLE, "direction = \"maximize\"")));
    assert_eq!(e.column, Some(1));
    // A missing key points at its table's header.
    let e = o.error_at(&["sampler", "n_ei"], "missing", None);
    assert_eq!(e.line, Some(line_of(EXAMPLE, "[sampler]")));
    // A parameter that came from a fragment is located in the fragment.
    let e = o.error_at(&["search_space", "dropout", "step"], "too coarse", None);
    assert_eq!(e.file, PathBuf::from(FRAGMENT));
    assert_eq!(e.line, Some(2));
    assert_eq!(e.column, Some(col_of(FRAGMENT_TEXT, "0.1 }")));
}

#[test]
fn display_is_one_readable_line() {
    let e = expect_err(
        &edit("low = 1e-5, high = 1e-1", "low = 0.1, high = 0.01"),
        line_of(EXAMPLE, "lr = {"),
        "search_space.lr.low",
        "low (0.1) must be less than high (0.01)",
    );
    let col = col_of(EXAMPLE, "1e-5");
    assert_eq!(
        e.to_string(),
        format!(
            "studies/study.toml:{}:{col}: `search_space.lr.low`: low (0.1) must be less than high (0.01) (fix: make low smaller than high (swap them if they are reversed))",
            line_of(EXAMPLE, "lr = {")
        )
    );
    assert!(!e.to_string().contains('\n'));
}

// ----- malformed files: one test per case ----------------------------------

#[test]
fn toml_syntax_error() {
    let text = edit("seed = 7", "seed = 7 7");
    let e = expect_err(&text, line_of(&text, "seed = 7 7"), "", "TOML syntax error");
    assert!(!e.to_string().contains('\n'));
    let text = edit("name = \"f2\"", "name = \"f2");
    expect_err(
        &text,
        line_of(&text, "name = \"f2"),
        "",
        "TOML syntax error",
    );
    let text = edit("[budget]", "[study]\nseed = 1\n[budget]");
    let e = expect_err(
        &text,
        line_of(&text, "[study]\nseed = 1"),
        "",
        "duplicate key `study`",
    );
    assert_eq!(e.help.as_deref(), Some("remove one of the two definitions"));
}

#[test]
fn unknown_keys_suggest_the_closest() {
    let text = edit("direction = \"maximize\"", "dirction = \"maximize\"");
    let e = expect_err(
        &text,
        line_of(&text, "dirction"),
        "objectives[1].dirction",
        "unknown key `dirction`",
    );
    assert_eq!(e.help.as_deref(), Some("did you mean `direction`?"));
    assert_eq!(e.column, Some(1));

    let text = edit("[budget]", "[budgt]");
    let e = expect_err(
        &text,
        line_of(&text, "[budgt]"),
        "budgt",
        "unknown key `budgt` at the top level",
    );
    assert_eq!(e.help.as_deref(), Some("did you mean `budget`?"));

    let text = edit("log = true }", "lg = true }");
    let e = expect_err(
        &text,
        line_of(&text, "lg = "),
        "search_space.lr.lg",
        "unknown key `lg`",
    );
    assert_eq!(e.help.as_deref(), Some("did you mean `log`?"));

    let text = edit(
        "choices = [\"sgd\", \"adam\", \"rmsprop\"] }",
        "choices = [\"sgd\", \"adam\", \"rmsprop\"], log = true }",
    );
    let e = expect_err(
        &text,
        line_of(&text, "rmsprop\"], log"),
        "search_space.optimizer.log",
        "unknown key `log`",
    );
    assert!(e.help.unwrap().contains("float and int"));

    let text = edit("workers = 2", "worker = 2");
    expect_err(
        &text,
        line_of(&text, "worker = 2"),
        "budget.worker",
        "unknown key",
    );
    let text = edit("timeout = \"10m\"", "timeout = \"10m\"\ncolour = \"red\"");
    let e = expect_err(
        &text,
        line_of(&text, "colour"),
        "runner.colour",
        "unknown key",
    );
    assert!(e.help.unwrap().contains("`profile_command`"));
}

#[test]
fn wrong_types() {
    let text = edit("high = 1 }", "high = \"a\" }");
    expect_err(
        &text,
        line_of(&text, "x0 ="),
        "search_space.x0.high",
        "expected a number, found a string `\"a\"`",
    );
    let text = edit("seed = 7", "seed = \"7\"");
    expect_err(
        &text,
        line_of(&text, "seed"),
        "study.seed",
        "expected an integer",
    );
    let text = edit("cheap = true", "cheap = \"yes\"");
    expect_err(
        &text,
        line_of(&text, "cheap"),
        "objectives[0].cheap",
        "expected true or false",
    );
    let text = edit(
        "command = [\"python3\", \"objective.py\",",
        "command = [\"python3\", 3,",
    );
    let e = expect_err(
        &text,
        line_of(&text, "command ="),
        "runner.command[1]",
        "expected a string",
    );
    assert_eq!(e.column, Some(col_of(&text, "3,")));
    let text = edit("x0 = { type = \"float\", low = 0, high = 1 }", "x0 = 3");
    expect_err(
        &text,
        line_of(&text, "x0 = 3"),
        "search_space.x0",
        "expected a table",
    );
    let text = edit("x0 = {", "\"{x}\" = {");
    expect_err(
        &text,
        line_of(&text, "\"{x}\""),
        "search_space.{x}",
        "not a usable parameter name",
    );
}

#[test]
fn missing_required_keys() {
    let text = edit("name = \"zdt1-demo\"\n", "");
    let e = expect_err(&text, 1, "study.name", "missing required key `name`");
    assert_eq!(e.column, Some(1));
    assert!(e.help.unwrap().contains("name = "));

    let no_study = edit(
        "[study]\nname = \"zdt1-demo\"\nseed = 7\nheartbeat = \"2s\"\n",
        "",
    );
    expect_err(&no_study, 1, "study", "missing required `study`");

    let start = EXAMPLE.find("[[objectives]]").unwrap();
    let end = EXAMPLE.find("[search_space]").unwrap();
    let no_obj = format!("{}{}", &EXAMPLE[..start], &EXAMPLE[end..]);
    expect_err(&no_obj, 1, "objectives", "missing required `objectives`");

    let start = EXAMPLE.find("[runner]").unwrap();
    let end = EXAMPLE.find("[budget]").unwrap();
    let no_runner = format!("{}{}", &EXAMPLE[..start], &EXAMPLE[end..]);
    expect_err(&no_runner, 1, "runner", "missing required `runner`");

    let start = EXAMPLE.find("[search_space]").unwrap();
    let end = EXAMPLE.find("[sampler]").unwrap();
    let no_space = format!("{}{}", &EXAMPLE[..start], &EXAMPLE[end..]);
    expect_err(
        &no_space,
        1,
        "search_space",
        "missing required `search_space`",
    );

    let text = edit("trials = 100\n", "");
    expect_err(
        &text,
        line_of(&text, "[budget]"),
        "budget.trials",
        "missing required key `trials`",
    );

    let text = edit(
        "[budget]\ntrials = 100\ntimeout = \"2h\"\nworkers = 2\n",
        "",
    );
    expect_err(&text, 1, "budget", "missing required `budget`");

    let text = edit(
        "type = \"int\", low = 1, high = 8",
        "type = \"int\", low = 1",
    );
    expect_err(
        &text,
        line_of(&text, "layers"),
        "search_space.layers.high",
        "missing required key `high`",
    );

    let text = edit("kind = \"command\"", "kind = \"builtin\"");
    let text = text.replace("command = [\"python3\", \"objective.py\", \"--lr\", \"{lr}\", \"--layers\", \"{layers}\", \"--json={{}}\"]\ntimeout = \"10m\"\nenv = { CUDA_VISIBLE_DEVICES = \"0\" }\n", "");
    expect_err(
        &text,
        line_of(&text, "[runner]"),
        "runner.problem",
        "missing required key `problem`",
    );
}

#[test]
fn int_params_need_integer_bounds_and_floats_accept_integers() {
    let text = edit("low = 1, high = 8", "low = 1.5, high = 8");
    expect_err(
        &text,
        line_of(&text, "layers"),
        "search_space.layers.low",
        "must be integers, found a float `1.5`",
    );
    let text = edit("step = 16,", "step = 0.5,");
    expect_err(
        &text,
        line_of(&text, "width"),
        "search_space.width.step",
        "must be an integer",
    );
    // `low = 0, high = 1` for a float parameter parsed in the example.
    assert!(parse(EXAMPLE)
        .unwrap()
        .space
        .get("x0")
        .unwrap()
        .distribution
        .check()
        .is_ok());
}

#[test]
fn low_must_be_below_high() {
    let text = edit("low = 1, high = 8", "low = 8, high = 8");
    let e = expect_err(
        &text,
        line_of(&text, "layers"),
        "search_space.layers.low",
        "low (8) must be less than high (8)",
    );
    assert_eq!(e.column, Some(col_of(&text, "8, high")));
}

#[test]
fn log_needs_positive_low() {
    let text = edit(
        "low = 1e-5, high = 1e-1, log = true",
        "low = 0, high = 1e-1, log = true",
    );
    let e = expect_err(
        &text,
        line_of(&text, "lr ="),
        "search_space.lr.low",
        "needs low > 0",
    );
    assert!(e.help.unwrap().contains("drop `log = true`"));
}

#[test]
fn step_must_be_positive_and_not_with_log() {
    let text = edit("step = 16,", "step = 0,");
    expect_err(
        &text,
        line_of(&text, "width"),
        "search_space.width.step",
        "step must be >= 1",
    );
    let text = edit(
        "type = \"float\", low = 0, high = 1 }",
        "type = \"float\", low = 0, high = 1, step = -0.1 }",
    );
    expect_err(
        &text,
        line_of(&text, "x0"),
        "search_space.x0.step",
        "step must be > 0",
    );
    let text = edit("log = true }", "log = true, step = 0.01 }");
    let e = expect_err(
        &text,
        line_of(&text, "lr ="),
        "search_space.lr.step",
        "cannot be combined with `log = true`",
    );
    assert!(e.help.unwrap().contains("remove `step`"));
}

#[test]
fn choices_must_be_non_empty_and_distinct() {
    let text = edit("choices = [\"sgd\", \"adam\", \"rmsprop\"]", "choices = []");
    // `momentum`'s condition is checked later; the empty list fails first.
    expect_err(
        &text,
        line_of(&text, "optimizer ="),
        "search_space.optimizer.choices",
        "at least one value",
    );
    let text = edit(
        "choices = [\"sgd\", \"adam\", \"rmsprop\"]",
        "choices = [\"sgd\", \"adam\", \"sgd\"]",
    );
    let e = expect_err(
        &text,
        line_of(&text, "optimizer ="),
        "search_space.optimizer.choices[2]",
        "choice `sgd` appears twice",
    );
    assert_eq!(e.column, Some(col_of(&text, "\"sgd\"]")));
    // 1 and 1.0 are the same choice.
    let text = FRAGMENT_TEXT.replace("[true, 1, 2.5, \"relu\"]", "[1, 1.0]");
    let e = parse_with(EXAMPLE, &[(FRAGMENT, &text)]).unwrap_err();
    check(
        &e,
        FRAGMENT,
        3,
        "search_space.act.choices[1]",
        "appears twice",
    );
}

#[test]
fn when_must_name_a_known_parameter() {
    let text = edit("when = { optimizer = [", "when = { optimiser = [");
    let e = expect_err(
        &text,
        line_of(&text, "momentum"),
        "search_space.momentum.when.optimiser",
        "unknown parameter `optimiser`",
    );
    assert_eq!(e.help.as_deref(), Some("did you mean `optimizer`?"));
    assert_eq!(e.column, Some(col_of(&text, "[\"sgd\", \"rmsprop\"]")));
}

#[test]
fn when_value_must_be_possible() {
    let text = edit("[\"sgd\", \"rmsprop\"] }", "[\"sgd\", \"adagrad\"] }");
    let e = expect_err(
        &text,
        line_of(&text, "momentum"),
        "search_space.momentum.when.optimizer",
        "`optimizer` can never be `adagrad`",
    );
    assert!(e.message.contains("`sgd`, `adam`, `rmsprop`"), "{e}");
    let text = edit("high = 8 }", "high = 8, when = { width = 17 } }");
    expect_err(
        &text,
        line_of(&text, "layers"),
        "search_space.layers.when.width",
        "can never be `17`",
    );
}

#[test]
fn cyclic_when_is_an_error() {
    let text = edit(
        "type = \"categorical\", choices = [\"sgd\", \"adam\", \"rmsprop\"] }",
        "type = \"categorical\", choices = [\"sgd\", \"adam\", \"rmsprop\"], when = { momentum = 0.5 } }",
    );
    let e = expect_err(
        &text,
        line_of(&text, "optimizer ="),
        "search_space.optimizer.when.momentum",
        "cycle",
    );
    assert!(
        e.message.contains("optimizer -> momentum -> optimizer"),
        "{e}"
    );
    let text = edit("high = 8 }", "high = 8, when = { layers = 2 } }");
    expect_err(
        &text,
        line_of(&text, "layers ="),
        "search_space.layers.when.layers",
        "cannot depend on itself",
    );
}

#[test]
fn direction_must_be_minimize_or_maximize() {
    let text = edit("direction = \"maximize\"", "direction = \"maximise\"");
    let e = expect_err(
        &text,
        line_of(&text, "maximise"),
        "objectives[1].direction",
        "not \"maximise\"",
    );
    assert_eq!(e.help.as_deref(), Some("did you mean \"maximize\"?"));
    assert_eq!(e.column, Some(13));
}

#[test]
fn objective_names_are_unique() {
    let text = edit("name = \"f2\"", "name = \"f1\"");
    let e = expect_err(
        &text,
        line_of(&text, "direction = \"maximize\"") - 1,
        "objectives[1].name",
        "objective `f1` is declared twice",
    );
    assert!(e
        .message
        .contains(&format!("line {}", line_of(&text, "name = \"f1\""))));
}

#[test]
fn zero_objectives_is_an_error() {
    let start = EXAMPLE.find("[[objectives]]").unwrap();
    let end = EXAMPLE.find("[search_space]").unwrap();
    let text = format!("objectives = []\n{}{}", &EXAMPLE[..start], &EXAMPLE[end..]);
    expect_err(
        &text,
        line_of(&text, "objectives = []"),
        "objectives",
        "at least one objective",
    );
    // Written after [study], it lands in [study]: the help says why.
    let text = format!(
        "{}objectives = []\n\n{}",
        &EXAMPLE[..start],
        &EXAMPLE[end..]
    );
    let e = expect_err(
        &text,
        line_of(&text, "objectives = []"),
        "study.objectives",
        "unknown key `objectives` in `study`",
    );
    assert!(e.help.unwrap().contains("belongs at the top level"));
}

#[test]
fn constraints_are_checked() {
    let text = edit(
        "constraint = { max = 5.0 }",
        "constraint = { min = 6, max = 5.0 }",
    );
    expect_err(
        &text,
        line_of(&text, "constraint"),
        "objectives[0].constraint",
        "no value is feasible",
    );
    let text = edit(
        "constraint = { max = 5.0 }",
        "constraint = { maximum = 5.0 }",
    );
    let e = expect_err(
        &text,
        line_of(&text, "constraint"),
        "objectives[0].constraint.maximum",
        "unknown key",
    );
    assert_eq!(e.help.as_deref(), Some("did you mean `max`?"));
}

#[test]
fn command_placeholders_must_be_parameters() {
    let text = edit("\"{layers}\"", "\"--layers={layer}\"");
    let e = expect_err(
        &text,
        line_of(&text, "command ="),
        "runner.command[5]",
        "`{layer}` is not a parameter",
    );
    assert!(
        e.message.contains("{lr}") && e.message.contains("{momentum}"),
        "{e}"
    );
    assert!(e
        .help
        .as_deref()
        .unwrap()
        .contains("did you mean `{layers}`?"));
    // The column points at the brace inside the string.
    assert_eq!(e.column, Some(col_of(&text, "{layer}")));

    let text = edit("\"--json={{}}\"", "\"--json={\"");
    expect_err(
        &text,
        line_of(&text, "command ="),
        "runner.command[6]",
        "unclosed `{`",
    );

    let text = edit(
        "timeout = \"10m\"",
        "timeout = \"10m\"\nprofile_command = [\"profile\", \"{depth}\"]",
    );
    expect_err(
        &text,
        line_of(&text, "profile_command"),
        "runner.profile_command[1]",
        "`{depth}` is not a parameter",
    );

    let text = edit("command = [", "command = \"python3 objective.py\" #[");
    expect_err(
        &text,
        line_of(&text, "command ="),
        "runner.command",
        "expected an array",
    );
}

#[test]
fn durations_must_parse() {
    let text = edit("timeout = \"10m\"", "timeout = \"10 minutes please\"");
    let e = expect_err(
        &text,
        line_of(&text, "10 minutes"),
        "runner.timeout",
        "is not a duration",
    );
    assert!(e.help.unwrap().contains("\"90s\""));
    let text = edit("timeout = \"2h\"", "timeout = 7200");
    expect_err(
        &text,
        line_of(&text, "7200"),
        "budget.timeout",
        "expected a duration string",
    );
    let text = edit(
        "heartbeat = \"2s\"",
        "heartbeat = \"2s\"\nstale_after = \"1s\"",
    );
    expect_err(
        &text,
        line_of(&text, "stale_after"),
        "study.stale_after",
        "must be longer than heartbeat",
    );
}

#[test]
fn budget_counts_must_be_positive() {
    let text = edit("trials = 100", "trials = 0");
    let e = expect_err(
        &text,
        line_of(&text, "trials = 0"),
        "budget.trials",
        "at least 1 (got 0)",
    );
    assert_eq!(e.column, Some(10));
    let text = edit("workers = 2", "workers = 0");
    expect_err(
        &text,
        line_of(&text, "workers = 0"),
        "budget.workers",
        "at least 1 (got 0)",
    );
}

#[test]
fn missing_include_is_located_at_the_include() {
    let e = parse_with(EXAMPLE, &[]).unwrap_err();
    check(
        &e,
        STUDY,
        line_of(EXAMPLE, "include"),
        "search_space.include[0]",
        "cannot read include `search_spaces/some_fragment.toml`",
    );
    assert!(e.message.contains("no such file"), "{e}");
    assert!(e
        .help
        .unwrap()
        .contains("relative to the folder of studies/study.toml"));
}

#[test]
fn include_cycles_are_detected() {
    let a = "[search_space]\ninclude = [\"b.toml\"]\na = { type = \"int\", low = 0, high = 3 }\n";
    let b = "include = \"a.toml\"\nb = { type = \"int\", low = 0, high = 3 }\n";
    let text = edit(
        "../search_spaces/some_fragment.toml",
        "../search_spaces/a.toml",
    );
    let e = parse_with(
        &text,
        &[("search_spaces/a.toml", a), ("search_spaces/b.toml", b)],
    )
    .unwrap_err();
    check(
        &e,
        "search_spaces/b.toml",
        1,
        "search_space.include",
        "include cycle",
    );
    assert!(
        e.message
            .contains("search_spaces/a.toml -> search_spaces/b.toml -> search_spaces/a.toml"),
        "{e}"
    );
    // The study file including itself is a cycle too.
    let text = edit("../search_spaces/some_fragment.toml", "study.toml");
    let e = parse_with(&text, &[]).unwrap_err();
    check(
        &e,
        STUDY,
        line_of(&text, "include"),
        "search_space.include[0]",
        "include cycle",
    );
}

#[test]
fn a_parameter_in_both_file_and_fragment_names_both_files() {
    let frag = format!("{FRAGMENT_TEXT}layers = {{ type = \"int\", low = 2, high = 4 }}\n");
    let e = parse_with(EXAMPLE, &[(FRAGMENT, &frag)]).unwrap_err();
    check(&e, FRAGMENT, 4, "search_space.layers", "defined both in");
    assert!(
        e.message.contains(FRAGMENT)
            && e.message
                .contains(&format!("{STUDY}:{}", line_of(EXAMPLE, "layers"))),
        "{e}"
    );
}

#[test]
fn errors_inside_fragments_name_the_fragment() {
    let frag = FRAGMENT_TEXT.replace("high = 0.5", "high = \"half\"");
    let e = parse_with(EXAMPLE, &[(FRAGMENT, &frag)]).unwrap_err();
    check(
        &e,
        FRAGMENT,
        2,
        "search_space.dropout.high",
        "expected a number",
    );
    let frag = "[search_space]\nx = { type = \"flaot\", low = 0, high = 1 }\n";
    let e = parse_with(EXAMPLE, &[(FRAGMENT, frag)]).unwrap_err();
    check(
        &e,
        FRAGMENT,
        2,
        "search_space.x.type",
        "unknown parameter type \"flaot\"",
    );
    assert_eq!(e.help.as_deref(), Some("did you mean \"float\"?"));
    let e = parse_with(EXAMPLE, &[(FRAGMENT, "x = { type = \"float\",\n")]).unwrap_err();
    check(&e, FRAGMENT, 1, "", "TOML syntax error");
    let e = parse_with(
        EXAMPLE,
        &[(
            FRAGMENT,
            "[search_space]\nx = { type = \"float\", low = 0, high = 1 }\n[runner]\n",
        )],
    )
    .unwrap_err();
    check(
        &e,
        FRAGMENT,
        3,
        "runner",
        "unknown key `runner` at the top level",
    );
}

#[test]
fn repository_fragments_parse_and_nest() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let text = edit("../search_spaces/some_fragment.toml", "../search_spaces/training.toml")
        .replace("lr = { type = \"float\", low = 1e-5, high = 1e-1, log = true }\n", "")
        .replace("optimizer = { type = \"categorical\", choices = [\"sgd\", \"adam\", \"rmsprop\"] }\n", "")
        .replace("momentum = { type = \"float\", low = 0.0, high = 0.99, when = { optimizer = [\"sgd\", \"rmsprop\"] } }\n", "");
    let mut read = |p: &Path| std::fs::read_to_string(root.join(p)).map_err(|e| e.to_string());
    let spec = StudySpec::parse(&text, Path::new(STUDY), &mut read).unwrap();
    for name in [
        "optimizer",
        "lr",
        "momentum",
        "weight_decay",
        "batch_size",
        "epochs",
    ] {
        assert!(spec.space.get(name).is_some(), "{name} missing");
    }
    let files: Vec<_> = spec
        .origin
        .fragments
        .iter()
        .map(|f| f.file.clone())
        .collect();
    assert_eq!(
        files,
        vec![
            PathBuf::from("search_spaces/optimizer.toml"),
            PathBuf::from("search_spaces/training.toml")
        ]
    );
    // Located in the nested fragment, which uses the top-level form.
    let e = spec
        .origin
        .error_at(&["search_space", "momentum", "when"], "x", None);
    assert_eq!(e.file, PathBuf::from("search_spaces/optimizer.toml"));
    let opt = std::fs::read_to_string(root.join("search_spaces/optimizer.toml")).unwrap();
    assert_eq!(e.line, Some(line_of(&opt, "momentum =")));
    // ... and in the [search_space] form.
    let e = spec
        .origin
        .error_at(&["search_space", "epochs", "monotone"], "x", None);
    assert_eq!(e.file, PathBuf::from("search_spaces/training.toml"));
}

#[test]
fn to_json_is_canonical_and_complete() {
    let spec = parse(EXAMPLE).unwrap();
    let j = spec.to_json();
    assert_eq!(j["study"]["name"], "zdt1-demo");
    assert_eq!(j["study"]["heartbeat"], "2s");
    assert_eq!(j["study"]["stale_after"], "1m");
    assert_eq!(j["objectives"][1]["direction"], "maximize");
    assert_eq!(j["objectives"][0]["constraint"]["max"], 5.0);
    assert_eq!(j["search_space"].as_array().unwrap().len(), 8);
    let lr = j["search_space"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "lr")
        .unwrap();
    assert_eq!(lr["distribution"]["type"], "float");
    assert_eq!(lr["distribution"]["log"], true);
    assert_eq!(
        j["sampler"],
        serde_json::json!({"kind": "tpe", "options": {"n_startup": 10}})
    );
    assert_eq!(j["pruner"]["kind"], "dominated");
    assert_eq!(j["runner"]["kind"], "command");
    assert_eq!(j["runner"]["timeout"], "10m");
    assert_eq!(j["runner"]["grace"], "5s");
    assert_eq!(j["runner"]["workdir"], "studies");
    assert_eq!(
        j["budget"],
        serde_json::json!({"trials": 100, "timeout": "2h", "workers": 2})
    );
    // Formatting and comments do not change it.
    let reformatted = EXAMPLE
        .replace("seed = 7", "seed   =   7   # lucky")
        .replace("\n\n", "\n\n\n");
    assert_eq!(parse(&reformatted).unwrap().to_json(), j);
    assert_eq!(
        serde_json::to_string(&j).unwrap(),
        serde_json::to_string(&parse(EXAMPLE).unwrap().to_json()).unwrap()
    );
}

#[test]
fn parameters_may_be_standard_or_dotted_tables() {
    let text = edit(
        "include = [\"../search_spaces/some_fragment.toml\"]\n",
        "include = [\"../search_spaces/some_fragment.toml\"]\ndepth.type = \"int\"\ndepth.low = 1\ndepth.high = 4\n\n[search_space.gamma]\ntype = \"float\"\nlow = 0.9\nhigh = 0.999\n",
    );
    let spec = parse(&text).unwrap();
    assert_eq!(
        spec.space.get("depth").unwrap().distribution,
        Distribution::Int {
            low: 1,
            high: 4,
            log: false,
            step: 1
        }
    );
    assert!(spec.space.get("gamma").is_some());
    let bad = text.replace("low = 0.9\n", "low = 1.5\n");
    let e = expect_err(
        &bad,
        line_of(&bad, "low = 1.5"),
        "search_space.gamma.low",
        "must be less than high",
    );
    assert_eq!(e.column, Some(7));
    let bad = text.replace("depth.high = 4", "depth.hihg = 4");
    let e = expect_err(
        &bad,
        line_of(&bad, "depth.hihg"),
        "search_space.depth.hihg",
        "unknown key",
    );
    assert_eq!(e.help.as_deref(), Some("did you mean `high`?"));
}
