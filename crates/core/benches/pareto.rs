//! Benchmarks of the Pareto maths: hypervolume in 2, 3 and 4 objectives,
//! exclusive contributions, greedy subset selection and non-dominated sort.
//!
//! Inputs are mutually non-dominated points on the positive unit sphere
//! (the hard case: every point is on the front) and, for sorting, uniform
//! points in the unit cube. Run with `cargo bench -p paretosearch-core`.

#![allow(missing_docs)] // criterion_group! generates undocumented functions

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use paretosearch_core::pareto::{
    hssp_greedy, hypervolume, hypervolume_contributions, non_dominated_sort,
};

/// A small deterministic generator (SplitMix64), so the benchmark needs no
/// random-number crate and every run sees the same points.
struct SplitMix(u64);

impl SplitMix {
    fn next_f64(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// `n` points on the positive part of the unit sphere in `m` objectives,
/// mirrored so that they are minimised and mutually non-dominated.
fn sphere_front(n: usize, m: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut rng = SplitMix(seed);
    (0..n)
        .map(|_| {
            let v: Vec<f64> = (0..m).map(|_| rng.next_f64() + 1e-3).collect();
            let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
            v.iter().map(|x| 1.0 - x / norm).collect()
        })
        .collect()
}

fn uniform(n: usize, m: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut rng = SplitMix(seed);
    (0..n)
        .map(|_| (0..m).map(|_| rng.next_f64()).collect())
        .collect()
}

fn bench_hypervolume(c: &mut Criterion) {
    let mut g = c.benchmark_group("hypervolume");
    for (m, sizes) in [
        (2, &[100, 1000, 10_000][..]),
        (3, &[100, 1000]),
        (4, &[100, 1000]),
    ] {
        for &n in sizes {
            let pts = sphere_front(n, m, 7);
            let r = vec![1.1; m];
            g.bench_with_input(BenchmarkId::new(format!("{m}d"), n), &pts, |b, p| {
                b.iter(|| hypervolume(black_box(p), &r))
            });
        }
    }
    g.finish();
}

fn bench_contributions(c: &mut Criterion) {
    let mut g = c.benchmark_group("contributions");
    for (m, n) in [(2, 1000), (2, 10_000), (3, 100), (3, 1000), (4, 100)] {
        let pts = sphere_front(n, m, 11);
        let r = vec![1.1; m];
        g.bench_with_input(BenchmarkId::new(format!("{m}d"), n), &pts, |b, p| {
            b.iter(|| hypervolume_contributions(black_box(p), &r))
        });
    }
    g.finish();
}

fn bench_hssp(c: &mut Criterion) {
    let mut g = c.benchmark_group("hssp_greedy");
    for (m, n, k) in [
        (2, 100, 10),
        (2, 1000, 100),
        (3, 100, 10),
        (3, 1000, 100),
        (4, 100, 10),
    ] {
        let pts = sphere_front(n, m, 13);
        let r = vec![1.1; m];
        g.bench_with_input(BenchmarkId::new(format!("{m}d_k{k}"), n), &pts, |b, p| {
            b.iter(|| hssp_greedy(black_box(p), k, &r))
        });
    }
    g.finish();
}

fn bench_sort(c: &mut Criterion) {
    let mut g = c.benchmark_group("non_dominated_sort");
    for (m, n) in [(2, 1000), (3, 1000), (5, 1000)] {
        let pts = uniform(n, m, 17);
        g.bench_with_input(BenchmarkId::new(format!("{m}d"), n), &pts, |b, p| {
            b.iter(|| non_dominated_sort(black_box(p), None))
        });
    }
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! {
    name = benches;
    config = config();
    targets = bench_hypervolume, bench_contributions, bench_hssp, bench_sort
}
criterion_main!(benches);
