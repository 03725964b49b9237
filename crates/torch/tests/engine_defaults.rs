//! What the engine assumes of this crate without depending on it: the
//! `[pruner]` builder reads a torch `train` study's epochs (mo-asha's and
//! hyperband's `max_resource`), and when the study writes none it takes
//! the default this crate trains with.

#[test]
fn the_engine_knows_the_default_epochs() {
    assert_eq!(
        paretosearch_engine::TORCH_DEFAULT_EPOCHS,
        paretosearch_torch::options::DEFAULT_EPOCHS
    );
}
