//! Study-file parsing of malformed files in general: TOML syntax, unknown
//! keys, wrong types and missing keys, each with its file, line, field,
//! message and help.

mod common;

use common::*;

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
    // `[runner]` is optional: a study evaluated through ask and tell has
    // none (the runner registry refuses to `run` it).
    let spec = parse(&no_runner).expect("a study without [runner] parses");
    assert!(matches!(
        &spec.runner,
        paretosearch_core::spec::RunnerSpec::Other { kind, options }
            if kind == paretosearch_core::spec::NO_RUNNER && options.is_empty()
    ));

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
