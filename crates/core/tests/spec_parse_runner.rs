//! Study-file parsing of `[runner]` and `[budget]`: other runner kinds and
//! their located errors, command placeholders, budget counts.

mod common;

use paretosearch_core::spec::RunnerSpec;

use common::*;

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
