//! paretosearch: the command-line interface (being built).
fn main() {}
