//! Study-file parsing of `include`d search-space fragments: merging,
//! missing files, cycles, clashes, errors located in the fragment, and
//! `error_at` in the file and in fragments.

mod common;

use std::path::{Path, PathBuf};

use paretosearch_core::spec::StudySpec;

use common::*;

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
