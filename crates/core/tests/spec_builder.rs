//! Studies built in code: the same spec (fingerprint, `to_json`, every
//! field) as the same study parsed from a file, the parser's defaults, and
//! the parser's complaints for the same mistakes.

#![allow(clippy::result_large_err)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use paretosearch_core::space::{SearchSpaceBuilder, SpaceError};
use paretosearch_core::spec::{
    CommandSpec, RunnerSpec, SpecError, StudySpecBuilder, CODE_ORIGIN, NO_RUNNER,
};
use paretosearch_core::{Constraint, Direction, Objective, SearchSpace, StudySpec};

const TOML: &str = r#"[study]
name = "demo"
seed = 7
heartbeat = "2s"

[[objectives]]
name = "f1"
direction = "minimize"
constraint = { max = 5.0 }
cheap = true

[[objectives]]
name = "accuracy"
direction = "maximize"

[search_space]
lr = { type = "float", low = 1e-5, high = 1e-1, log = true }
width = { type = "int", low = 16, high = 1024, step = 16, monotone = "increasing" }
optimizer = { type = "categorical", choices = ["sgd", "adam"] }
momentum = { type = "float", low = 0.0, high = 0.99, when = { optimizer = "sgd" } }

[sampler]
kind = "tpe"
n_startup = 10

[pruner]
kind = "dominated"

[runner]
kind = "builtin"
problem = "zdt1"

[budget]
trials = 100
workers = 2
"#;

fn parse(text: &str) -> Result<StudySpec, SpecError> {
    StudySpec::parse(text, Path::new("study.toml"), &mut |p: &Path| {
        Err(format!("no file {}", p.display()))
    })
}

/// `TOML` with `from` replaced by `to` (which must occur).
fn edit(from: &str, to: &str) -> String {
    assert!(TOML.contains(from), "TOML lacks {from:?}");
    TOML.replacen(from, to, 1)
}

fn space() -> SearchSpaceBuilder {
    SearchSpace::builder()
        .float("lr", 1e-5, 1e-1)
        .log()
        .int("width", 16, 1024)
        .step(16)
        .monotone_increasing()
        .categorical("optimizer", ["sgd", "adam"])
        .float("momentum", 0.0, 0.99)
        .when("optimizer", "sgd")
}

/// `TOML`'s objective `f1`, with a constraint.
fn f1(min: Option<f64>, max: Option<f64>) -> Objective {
    Objective {
        name: "f1".into(),
        direction: Direction::Minimize,
        constraint: Some(Constraint { min, max }),
        cheap: true,
    }
}

/// `TOML` in code, but for the search space.
fn study() -> StudySpecBuilder {
    study_with(f1(None, Some(5.0)))
}

/// `TOML` in code with another first objective, but for the search space.
fn study_with(first: Objective) -> StudySpecBuilder {
    StudySpec::builder("demo")
        .seed(7)
        .heartbeat(Duration::from_secs(2))
        .objective(first)
        .maximize("accuracy")
        .sampler("tpe")
        .sampler_option("n_startup", 10)
        .pruner("dominated")
        .builtin("zdt1")
        .trials(100)
        .workers(2)
}

#[test]
fn a_study_built_in_code_is_the_study_parsed_from_its_file() {
    let built = study().space(space().build().unwrap()).build().unwrap();
    let parsed = parse(TOML).unwrap();
    assert_eq!(built.fingerprint(), parsed.fingerprint());
    assert_eq!(built.to_json(), parsed.to_json());
    assert_eq!(built.name, parsed.name);
    assert_eq!(built.seed, parsed.seed);
    assert_eq!(built.storage, parsed.storage);
    assert_eq!(built.heartbeat, parsed.heartbeat);
    assert_eq!(built.stale_after, parsed.stale_after);
    assert_eq!(built.retries, parsed.retries);
    assert_eq!(built.objectives, parsed.objectives);
    assert_eq!(built.space, parsed.space);
    assert_eq!(built.sampler, parsed.sampler);
    assert_eq!(built.pruner, parsed.pruner);
    assert_eq!(built.runner, parsed.runner);
    assert_eq!(built.budget, parsed.budget);
    // Another space, another fingerprint.
    let other = study()
        .space(space().float("extra", 0.0, 1.0).build().unwrap())
        .build()
        .unwrap();
    assert_ne!(other.fingerprint(), parsed.fingerprint());
}

#[test]
fn command_runners_match_too() {
    let toml = edit(
        "kind = \"builtin\"\nproblem = \"zdt1\"",
        "kind = \"command\"\ncommand = [\"python3\", \"train.py\", \"--lr={lr}\", \"{{literal}}\"]",
    );
    let parsed = parse(&toml).unwrap();
    let built = study()
        .space(space().build().unwrap())
        .command(["python3", "train.py", "--lr={lr}", "{{literal}}"])
        .build()
        .unwrap();
    assert_eq!(built.runner, parsed.runner);
    assert_eq!(built.to_json(), parsed.to_json());
    let RunnerSpec::Command(c) = &built.runner else {
        panic!("{:?}", built.runner)
    };
    assert_eq!(c.workdir, PathBuf::from("."));
    assert_eq!(c.grace, Duration::from_secs(5));
}

#[test]
fn keys_left_out_take_the_parsers_defaults() {
    let toml = r#"
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
    let parsed = parse(toml).unwrap();
    let built = StudySpec::builder("s")
        .minimize("y")
        .space(
            SearchSpace::builder()
                .float("x", -1.0, 1.0)
                .build()
                .unwrap(),
        )
        .builtin("zdt1")
        .trials(3)
        .build()
        .unwrap();
    assert_eq!(built.to_json(), parsed.to_json());
    assert_eq!(built.fingerprint(), parsed.fingerprint());
    assert_eq!(built.seed, 0);
    assert_eq!(built.heartbeat, Duration::from_secs(5));
    assert_eq!(built.stale_after, Duration::from_secs(60));
    assert_eq!(built.retries, 1);
    assert_eq!(built.sampler.kind, "auto");
    assert!(built.sampler.options.is_empty());
    assert!(built.pruner.is_none());
    assert_eq!(built.budget.workers, 1);
    assert_eq!(built.budget.timeout, None);
    // A long heartbeat stretches the default staleness, as in a file.
    let slow = StudySpec::builder("s")
        .minimize("y")
        .space(
            SearchSpace::builder()
                .float("x", -1.0, 1.0)
                .build()
                .unwrap(),
        )
        .builtin("zdt1")
        .trials(3)
        .heartbeat(Duration::from_secs(45))
        .build()
        .unwrap();
    assert_eq!(slow.stale_after, Duration::from_secs(90));
}

#[test]
fn the_origin_of_a_built_spec_locates_at_line_one() {
    let spec = study().space(space().build().unwrap()).build().unwrap();
    assert_eq!(spec.origin.file, PathBuf::from(CODE_ORIGIN));
    assert!(spec.origin.text.is_empty());
    let e = spec
        .origin
        .error_at(&["sampler", "n_startup"], "too few", Some("use 20"));
    assert_eq!(e.file, PathBuf::from("<code>"));
    assert_eq!((e.line, e.column), (Some(1), Some(1)));
    assert_eq!(e.field, "sampler.n_startup");
    assert_eq!(
        e.to_string(),
        "<code>:1:1: `sampler.n_startup`: too few (fix: use 20)"
    );
}

/// The parser's error for `TOML` edited, and the builder's for the same
/// mistake, agree on the field and the message.
#[track_caller]
fn same_complaint(parsed: &str, built: Result<StudySpec, SpecError>) -> (SpecError, SpecError) {
    let p = parse(parsed).expect_err("the file should be refused");
    let b = built.expect_err("the builder should refuse");
    assert_eq!(b.file, PathBuf::from(CODE_ORIGIN), "{b}");
    assert_eq!(b.line, None, "{b}");
    assert_eq!(b.field, p.field, "{b} / {p}");
    assert_eq!(b.message, p.message, "{b} / {p}");
    assert!(b.help.as_deref().is_some_and(|h| !h.is_empty()), "{b}");
    (p, b)
}

/// The builder's error for a space, as a study error.
fn with_space(s: SearchSpaceBuilder) -> Result<StudySpec, SpecError> {
    let space = s.build()?;
    study().space(space).build()
}

#[test]
fn parameters_are_refused_like_in_a_file() {
    let (p, b) = same_complaint(
        &edit("low = 1e-5, high = 1e-1", "low = 0.0, high = 1e-1"),
        with_space(SearchSpace::builder().float("lr", 0.0, 1e-1).log()),
    );
    assert!(p.help.unwrap().contains("drop `log = true`"));
    assert!(b.help.unwrap().contains("drop `.log()`"));

    let (p, b) = same_complaint(
        &edit("low = 16, high = 1024", "low = 2048, high = 1024"),
        with_space(
            SearchSpace::builder()
                .float("lr", 1e-5, 1e-1)
                .log()
                .int("width", 2048, 1024),
        ),
    );
    assert_eq!(p.help, b.help);
    same_complaint(
        &edit("step = 16", "step = 0"),
        with_space(
            SearchSpace::builder()
                .float("lr", 1e-5, 1e-1)
                .int("width", 16, 1024)
                .step(0),
        ),
    );
    same_complaint(
        &edit("low = 1e-5", "low = nan"),
        with_space(SearchSpace::builder().float("lr", f64::NAN, 1e-1)),
    );
    let (p, b) = same_complaint(
        &edit("when = { optimizer", "when = { optimiser"),
        with_space(
            SearchSpace::builder()
                .categorical("optimizer", ["sgd", "adam"])
                .float("momentum", 0.0, 0.99)
                .when("optimiser", "sgd"),
        ),
    );
    assert_eq!(p.help, b.help);
    assert_eq!(b.help.as_deref(), Some("did you mean `optimizer`?"));
    same_complaint(
        &edit("optimizer = \"sgd\" }", "optimizer = \"rmsprop\" }"),
        with_space(
            SearchSpace::builder()
                .categorical("optimizer", ["sgd", "adam"])
                .float("momentum", 0.0, 0.99)
                .when("optimizer", "rmsprop"),
        ),
    );
    let (_, b) = same_complaint(
        &edit(
            "choices = [\"sgd\", \"adam\"] }",
            "choices = [\"sgd\", \"adam\"], when = { momentum = 0.5 } }",
        ),
        with_space(
            SearchSpace::builder()
                .float("lr", 1e-5, 1e-1)
                .int("width", 16, 1024)
                .categorical("optimizer", ["sgd", "adam"])
                .when("momentum", 0.5)
                .float("momentum", 0.0, 0.99)
                .when("optimizer", "sgd"),
        ),
    );
    assert!(
        b.message.contains("optimizer -> momentum -> optimizer"),
        "{b}"
    );
    same_complaint(
        &edit("lr = {", "\"{lr}\" = {"),
        with_space(SearchSpace::builder().float("{lr}", 1e-5, 1e-1)),
    );
}

#[test]
fn study_keys_are_refused_like_in_a_file() {
    let space = || space().build().unwrap();
    same_complaint(
        &edit("name = \"demo\"", "name = \"a/b\""),
        StudySpec::builder("a/b")
            .minimize("f1")
            .space(space())
            .builtin("zdt1")
            .trials(1)
            .build(),
    );
    same_complaint(
        &edit("heartbeat = \"2s\"", "heartbeat = \"0s\""),
        study().space(space()).heartbeat(Duration::ZERO).build(),
    );
    same_complaint(
        &edit(
            "heartbeat = \"2s\"",
            "heartbeat = \"2s\"\nstale_after = \"1s\"",
        ),
        study()
            .space(space())
            .stale_after(Duration::from_secs(1))
            .build(),
    );
    same_complaint(
        &edit(
            "constraint = { max = 5.0 }",
            "constraint = { min = 6, max = 5.0 }",
        ),
        study_with(f1(Some(6.0), Some(5.0))).space(space()).build(),
    );
    same_complaint(
        &edit("trials = 100", "trials = 0"),
        study().space(space()).trials(0).build(),
    );
    same_complaint(
        &edit("workers = 2", "workers = 0"),
        study().space(space()).workers(0).build(),
    );
    same_complaint(
        &edit(
            "kind = \"builtin\"\nproblem = \"zdt1\"",
            "kind = \"command\"\ncommand = [\"python3\", \"--lr={lr}\", \"--w={widht}\"]",
        ),
        study()
            .space(space())
            .command(["python3", "--lr={lr}", "--w={widht}"])
            .build(),
    );
    // The file names the line of the first declaration; the code cannot.
    let p = parse(&edit("name = \"accuracy\"", "name = \"f1\"")).unwrap_err();
    let b = study().minimize("f1").space(space()).build().unwrap_err();
    assert_eq!(b.field, "objectives[2].name");
    assert!(p.message.starts_with(&b.message), "{p} / {b}");
}

#[test]
fn the_builder_requires_what_a_file_requires_but_the_runner() {
    let space = || SearchSpace::builder().float("x", 0.0, 1.0).build().unwrap();
    let fields = |b: StudySpecBuilder| b.build().unwrap_err().field;
    let full = || {
        StudySpec::builder("s")
            .minimize("y")
            .space(space())
            .builtin("zdt1")
            .trials(1)
    };
    assert!(full().build().is_ok());
    assert_eq!(
        fields(
            StudySpec::builder("s")
                .space(space())
                .builtin("zdt1")
                .trials(1)
        ),
        "objectives"
    );
    assert_eq!(
        fields(
            StudySpec::builder("s")
                .minimize("y")
                .builtin("zdt1")
                .trials(1)
        ),
        "search_space"
    );
    // Unlike a file, code may leave the runner out: the program evaluates
    // the trials itself.
    let spec = StudySpec::builder("s")
        .minimize("y")
        .space(space())
        .trials(1)
        .build()
        .unwrap();
    assert_eq!(
        spec.runner,
        RunnerSpec::Other {
            kind: NO_RUNNER.into(),
            options: toml::Table::new()
        }
    );
    assert_eq!(spec.to_json()["runner"]["kind"], "none");
    assert_eq!(
        fields(
            StudySpec::builder("s")
                .minimize("y")
                .space(space())
                .builtin("zdt1")
        ),
        "budget.trials"
    );
    assert_eq!(fields(StudySpec::builder(" ").minimize("y")), "study.name");
    assert_eq!(fields(full().space(SearchSpace::default())), "search_space");
    assert_eq!(
        fields(full().sampler_option("n_startup", 5)),
        "sampler.kind"
    );
    assert_eq!(fields(full().pruner("")), "pruner.kind");
    assert_eq!(fields(full().builtin("")), "runner.problem");
    assert_eq!(
        fields(full().runner(RunnerSpec::Command(CommandSpec::new(Vec::<String>::new())))),
        "runner.command"
    );
    let options = toml::Table::new();
    assert_eq!(
        fields(full().runner(RunnerSpec::Other {
            kind: "command".into(),
            options
        })),
        "runner.kind"
    );
    // Options are kept as given.
    let spec = full()
        .pruner("median")
        .pruner_option("warmup", toml::Value::Integer(3))
        .budget_timeout(Duration::from_secs(60))
        .storage("sqlite://s.db")
        .retries(0)
        .build()
        .unwrap();
    assert_eq!(spec.pruner.unwrap().options["warmup"].as_integer(), Some(3));
    assert_eq!(spec.budget.timeout, Some(Duration::from_secs(60)));
    assert_eq!(spec.storage.as_deref(), Some("sqlite://s.db"));
    assert_eq!(spec.retries, 0);
}

#[test]
fn a_space_from_search_space_new_is_checked_like_a_file() {
    use paretosearch_core::{Distribution, Param};
    // SearchSpace::new accepts a name with braces; a study file does not.
    let space = SearchSpace::new(vec![Param {
        name: "{x}".into(),
        distribution: Distribution::Float {
            low: 0.0,
            high: 1.0,
            log: false,
            step: None,
        },
        when: vec![],
        monotone: None,
    }])
    .unwrap();
    let e = StudySpec::builder("s")
        .minimize("y")
        .space(space)
        .builtin("zdt1")
        .trials(1)
        .build()
        .unwrap_err();
    assert_eq!(e.field, "search_space.{x}");
    assert!(e.message.contains("not a usable parameter name"), "{e}");
}

#[test]
fn space_errors_convert_into_study_errors() {
    let e = SearchSpace::builder().build().unwrap_err();
    assert_eq!(e, SpaceError::Empty);
    let e = SpecError::from(e);
    assert_eq!(e.field, "search_space");
    let e = SpecError::from(
        SearchSpace::builder()
            .int("n", 1, 8)
            .log()
            .step(2)
            .build()
            .unwrap_err(),
    );
    assert_eq!(e.field, "search_space.n.step");
    assert_eq!(
        e.to_string(),
        "<code>: `search_space.n.step`: `step` cannot be combined with `log = true` (fix: remove `.step()` or `.log()`: a log-scaled parameter has no fixed step)"
    );
}
