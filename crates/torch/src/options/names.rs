//! The names a torch study can use: the objectives the runner reports
//! (which of them are cheap, which depend on the data, which need a GPU's
//! energy counters), the parameters it reads, and the keys of `[runner]`.

/// The objectives a test set measures (those that depend on the data).
pub const TEST_OBJECTIVES: [&str; 2] = ["accuracy", "loss"];

/// Objectives the runner can report.
pub const OBJECTIVES: [&str; 11] = [
    "accuracy",
    "loss",
    "latency_ms",
    "throughput",
    "params",
    "nonzero_params",
    "size_bytes",
    "macs",
    "train_seconds",
    "energy_joules",
    "inference_energy_joules",
];

/// Objectives read from NVML's GPU energy counters (see [`crate::energy`]).
pub const ENERGY_OBJECTIVES: [&str; 2] = ["energy_joules", "inference_energy_joules"];

/// Objectives measurable without training (returned by `profile`).
pub const CHEAP_OBJECTIVES: [&str; 6] = [
    "latency_ms",
    "throughput",
    "params",
    "nonzero_params",
    "size_bytes",
    "macs",
];

/// Parameter names the runner reads from a trial's configuration.
pub const MODEL_PARAMS: [&str; 21] = [
    "layers",
    "width",
    "activation",
    "dropout",
    "batch_norm",
    "stages",
    "channels",
    "channel_mult",
    "convs_per_stage",
    "kernel_size",
    "pooling",
    "fc_width",
    "width_mult",
    "depth_mult",
    "resolution",
    "block",
    "expand_ratio",
    "se",
    "epochs",
    "batch_size",
    "precision",
];
/// Training parameter names.
pub const TRAIN_PARAMS: [&str; 11] = [
    "gpu_power_limit",
    "optimizer",
    "lr",
    "augment_crop",
    "augment_flip",
    "weight_decay",
    "momentum",
    "nesterov",
    "schedule",
    "label_smoothing",
    "finetune_lr",
];
/// Compression parameter names.
pub const COMPRESS_PARAMS: [&str; 10] = [
    "prune_ratio",
    "rank_ratio",
    "semi_structured",
    "sparsity",
    "quant_bits",
    "quant_format",
    "quant_block",
    "quant_scale",
    "cast",
    "finetune_epochs",
];

pub(super) const KEYS: [&str; 20] = [
    "task",
    "dataset",
    "device",
    "model",
    "epochs",
    "valid_fraction",
    "valid",
    "test",
    "test_fraction",
    "limit",
    "threads",
    "trials_per_gpu",
    "latency_batch",
    "latency_warmup",
    "latency_repeats",
    "eval_batch",
    "save_weights_dir",
    "params",
    "base",
    "kind",
];

/// Architecture parameters (fixed by `[runner.base]` in the compress task).
pub const ARCH_PARAMS: [&str; 18] = [
    "layers",
    "width",
    "activation",
    "dropout",
    "batch_norm",
    "stages",
    "channels",
    "channel_mult",
    "convs_per_stage",
    "kernel_size",
    "pooling",
    "fc_width",
    "width_mult",
    "depth_mult",
    "resolution",
    "block",
    "expand_ratio",
    "se",
];

pub(super) fn all_params() -> Vec<&'static str> {
    MODEL_PARAMS
        .iter()
        .chain(&TRAIN_PARAMS)
        .chain(&COMPRESS_PARAMS)
        .copied()
        .collect()
}

/// Is `name` a parameter the runner reads?
pub fn known_param(name: &str) -> bool {
    MODEL_PARAMS.contains(&name) || TRAIN_PARAMS.contains(&name) || COMPRESS_PARAMS.contains(&name)
}
