//! The README's library example is `examples/zdt_closure.rs`, verbatim.

#[test]
fn readme_shows_the_tested_example() {
    let readme = include_str!("../README.md");
    let example = include_str!("../examples/zdt_closure.rs");
    let section = readme
        .split("## Use it as a Rust library")
        .nth(1)
        .expect("README has a library section");
    let block = section
        .split("```rust\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("the section has a rust block");
    assert_eq!(
        block, example,
        "README and examples/zdt_closure.rs drifted apart"
    );
}
