//! Bake libtorch's library folder into the rpath of this crate's test,
//! example and bench binaries, and hand the folder on to dependents.
//!
//! `torch-sys` (links = "tch") reports the folder as `DEP_TCH_LIBTORCH_LIB`.
//! A `cargo:rustc-link-arg` only reaches this package's own binaries, so the
//! folder is re-exported as `DEP_PARETOSEARCH_TORCH_LIBTORCH_LIB`; a binary
//! crate that depends on this one adds the same rpath in its build script.

fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") else {
        return;
    };
    println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
    println!("cargo:rustc-env=PARETOSEARCH_LIBTORCH_LIB={lib}");
    println!("cargo:libtorch_lib={lib}");
    // The version from the wheel's torch/version.py, for `doctor`.
    let version_py = std::path::Path::new(&lib).join("../version.py");
    if let Ok(text) = std::fs::read_to_string(&version_py) {
        if let Some(v) = text
            .lines()
            .find_map(|l| l.strip_prefix("__version__ = "))
            .map(|v| v.trim().trim_matches('\''))
        {
            println!("cargo:rustc-env=PARETOSEARCH_LIBTORCH_VERSION={v}");
        }
    }
}
