//! # paretosearch-torch
//!
//! libtorch workloads (being built).
