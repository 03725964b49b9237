//! Study-file parsing of `[[objectives]]`: directions, unique names, at
//! least one objective, constraints.

mod common;

use common::*;

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
