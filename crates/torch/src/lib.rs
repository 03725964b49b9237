//! # paretosearch-torch
//!
//! Built-in libtorch workloads: a study with `[runner] kind = "torch"`
//! trains (or compresses) a real neural network per trial and reports its
//! accuracy, latency and size, so the search finds the Pareto front of a
//! training and compression configuration space without any user code.
//!
//! ## Why a runner in-process
//!
//! The `command` runner pays a process start, a Python import of torch
//! (seconds) and a data load per trial. Here the dataset is loaded and
//! split once per study run, shared by every trial (the CPU tensors are
//! read-only), and a trial is a few hundred libtorch calls from Rust. The
//! training loop is the same one a PyTorch user writes (see
//! `bench/torch_epoch.py` for the side-by-side comparison).
//!
//! ## libtorch
//!
//! [`tch`] links libtorch from PyTorch's PyPI wheel, installed into
//! `.deps/pytorch` by `scripts/install-libtorch.sh`; `.cargo/config.toml`
//! sets `LIBTORCH`. This crate's build script bakes the library folder
//! into the rpath of its own test binaries and re-exports it as
//! `DEP_PARETOSEARCH_TORCH_LIBTORCH_LIB`, so a binary crate depending on it
//! adds the same rpath from its build script and runs without
//! `LD_LIBRARY_PATH`.
//!
//! ## Trials
//!
//! A trial reads its configuration from [`Job::params`], falling back to
//! `[runner.params]` and then to built-in defaults:
//!
//! | parameter | meaning | default |
//! |---|---|---|
//! | `layers` | MLP hidden layers | 2 |
//! | `width` | MLP units per hidden layer | 128 |
//! | `activation` | relu, gelu, silu, tanh | relu |
//! | `dropout` | dropout after hidden layers (before the classifier in a CNN) | 0 |
//! | `batch_norm` | batch normalisation (MLP: false, CNN: true) | |
//! | `stages` | CNN stages (2x2 pooling between) | 2 |
//! | `channels` | CNN channels of the first stage | 16 |
//! | `channel_mult` | channel growth per stage | 2.0 |
//! | `convs_per_stage` | convolutions per stage | 1 |
//! | `kernel_size` | odd kernel size | 3 |
//! | `pooling` | max, avg | max |
//! | `fc_width` | hidden fully connected units before the classifier (0 = none) | 0 |
//! | `width_mult`, `depth_mult` | resnet/mobilenet channel and block multipliers ([`families`]) | 1.0 |
//! | `resolution` | resnet/mobilenet input side, images resized on the fly (0 = native) | 0 |
//! | `block` | resnet: basic, bottleneck | basic |
//! | `expand_ratio`, `se` | mobilenet: inverted-residual expansion, squeeze-excitation | 6, false |
//! | `optimizer` | sgd (momentum), adam, adamw | adam |
//! | `lr` | learning rate | 1e-3 (sgd: 0.05) |
//! | `weight_decay` | weight decay | 0 |
//! | `momentum`, `nesterov` | SGD momentum | 0.9, false |
//! | `batch_size` | batch size | 64 |
//! | `epochs` | training epochs (overrides the runner's `epochs`) | runner |
//! | `schedule` | constant, cosine, step, onecycle | constant |
//! | `label_smoothing` | cross-entropy label smoothing | 0 |
//! | `augment_crop` | images: random crop after padding each side by this many pixels | 0 |
//! | `augment_flip` | images: random horizontal flip | false |
//! | `gpu_power_limit` | the trial's GPU power cap in watts, through NVML, restored afterwards ([`power`]) | unchanged |
//! | `precision` | fp32, bf16, fp16 (mixed precision, CUDA only) | fp32 |
//! | `prune_ratio` | structured: fraction of neurons/channels removed | 0 |
//! | `rank_ratio` | low-rank factorisation of linear layers (1 = off) | 1 |
//! | `semi_structured` | 2:4 pruning | false |
//! | `sparsity` | unstructured magnitude pruning fraction | 0 |
//! | `quant_format` | int, fp8_e4m3, fp8_e5m2, fp6_e3m2, fp6_e2m3, fp4_e2m1 ([`lowbit`]) | int |
//! | `quant_bits` | bits of the int format, 2..=8 (32 = off; an error with a float format) | 32 |
//! | `quant_block` | weights sharing a scale: channel, 16, 32, 64 | channel |
//! | `quant_scale` | scale storage: fp32, e8m0 (MX), e4m3 (NVFP4) | fp32 (channel), e8m0 (blocks) |
//! | `cast` | fp32, fp16, bf16 storage | fp32 |
//! | `finetune_epochs` | fine-tuning after pruning/quantisation (masks kept; quantisation-aware with a straight-through estimator) | 0 |
//! | `finetune_lr` | fine-tuning learning rate | lr / 10 |
//!
//! With `task = "train"` compression parameters apply after training too,
//! so one space can mix architecture, training and compression. With
//! `task = "compress"` the base model described by `[runner.base]` is
//! trained once (seeded by the study seed) and every trial compresses a
//! copy of it.
//!
//! ## Runner options (`[runner]`, validated with located errors)
//!
//! `task` (train | compress), `dataset` ("digits", `{ kind = "mnist" |
//! "fashion-mnist" | "cifar10", dir = ... }`, `{ kind = "csv", path = ...,
//! label = ... }`, `{ kind = "image-folder", dir = ... }`, `{ kind = "npy", x
//! = ..., y = ... }`, `{ kind = "npz" | "safetensors", path = ..., x = "x", y
//! = "y" }`: see [`files`]), `model` (mlp | cnn | resnet | mobilenet | `{ kind = "torchscript", path =
//! ... }`: trained from its current weights with `task = "train"`,
//! compressed and fine-tuned with either task; see [`script`]), `device` (auto | cpu | cuda | cuda:N), `epochs`
//! (10), `valid_fraction` (0.2), `valid` (an explicit validation set instead:
//! a path read as the dataset's kind, or a table like `dataset`, same
//! classes and sample shape, standardised with the training statistics),
//! `limit` (rows), `threads` (per trial;
//! default cores / workers, see [`TorchRunner::set_workers`]),
//! `trials_per_gpu` (1), `latency_batch` (1), `latency_warmup` (10),
//! `latency_repeats` (50), `eval_batch` (1024), `save_weights_dir` (every
//! completed trial's weights as `<dir>/<study>/trial-<n>.safetensors` plus
//! a `.json` of its parameters and values), `[runner.params]` (fixed
//! parameter values) and `[runner.base]` (the compress task's base model).
//!
//! ## Objectives
//!
//! `accuracy` and `loss` on the validation split, `latency_ms` (median of
//! timed batches after warm-up, see [`measure`]), `throughput` (samples/s
//! at that batch size), `params`, `nonzero_params`, `size_bytes` (packed:
//! k-bit values, 16-bit casts, sparse bitmaps or 2:4 metadata), `macs` (per
//! sample) and `train_seconds`. `TorchRunner::profile` (the `Runner` trait's) measures only the
//! cheap ones on an untrained network of the same structure.
//!
//! Where NVIDIA's NVML is present (see [`energy`]): `energy_joules`, the
//! GPU energy of the trial's training and fine-tuning (0 when the trial
//! trains nothing), read from the GPU's cumulative energy
//! counter around it; and `inference_energy_joules`, the energy of one
//! latency batch (`latency_batch` samples), read around the timed latency
//! passes (warm-up excluded) and divided by their count. Asking for either
//! is checked when the study is read: on the CPU, without the NVML library
//! or driver, on a GPU without energy counters (pre-Volta) or with
//! `trials_per_gpu > 1` it is a located error that says why.
//!
//! ## Determinism
//!
//! Weights and batch order come from ChaCha generators seeded by the trial
//! seed, the split from the study seed; on the CPU with a fixed thread
//! count two runs of a configuration give identical results. Dropout uses
//! libtorch's global generator, so with dropout and several concurrent
//! workers results can vary between runs.

pub mod compress;
pub mod data;
pub mod energy;
pub mod error;
pub mod families;
pub mod files;
pub mod lowbit;
pub mod measure;
pub mod model;
pub mod options;
pub mod params;
pub mod power;
pub mod script;
pub mod train;

mod formats;
mod runner;
mod spec;

pub use error::TorchError;
pub use runner::{doctor, TorchRunner};

/// Re-export of `paretosearch_runner::Job` for the docs' links.
pub use paretosearch_runner::Job;
