//! Study-file parsing of `[search_space]`: bounds, log, steps, choices,
//! `when` conditions and the table forms of a parameter.

mod common;

use paretosearch_core::Distribution;

use common::*;

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
