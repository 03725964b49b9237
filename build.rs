//! Bake libtorch's library folder into the binary's rpath, so that
//! `paretosearch` runs without LD_LIBRARY_PATH. The folder comes from the
//! `paretosearch-torch` crate (which gets it from `torch-sys`).
fn main() {
    println!("cargo:rerun-if-env-changed=DEP_PARETOSEARCH_TORCH_LIBTORCH_LIB");
    if let Ok(lib) = std::env::var("DEP_PARETOSEARCH_TORCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
    }
}
