//! Maximising the acquisition over the mixed space.
//!
//! 1. Score many candidates at once: scrambled Sobol points plus Gaussian
//!    perturbations of the best observed points (most improvement is found
//!    near the current front).
//! 2. From the best few distinct candidates (points already evaluated are
//!    never proposed again), alternate until nothing
//!    improves: a spectral projected-gradient ascent (Birgin, Martínez &
//!    Raydan 2000: Barzilai–Borwein steps, projection on `[0, 1]`, Armijo
//!    backtracking) over the continuous coordinates, then an exhaustive
//!    sweep of every discrete or categorical coordinate over its legal
//!    values, the others fixed. Discrete parameters with many values move
//!    with the continuous ones and are snapped to their nearest legal value.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution as _, StandardNormal};

use super::acquisition::Acquisition;
use super::encode::{Coord, Encoding};
use crate::random::SobolSampler;

/// Settings of the maximisation.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    /// Quasi-random candidates scored.
    pub(crate) candidates: usize,
    /// Local searches started from the best candidates.
    pub(crate) local_searches: usize,
    /// Gradient iterations per local search round.
    pub(crate) gradient_iters: usize,
}

/// Maximise `acq`; `anchors` are observed points (coordinates) worth
/// perturbing. Returns the best legal point and its value.
pub(crate) fn maximise(
    acq: &Acquisition,
    enc: &Encoding,
    anchors: &[Vec<f64>],
    observed: &[Vec<f64>],
    settings: &Settings,
    rng: &mut ChaCha8Rng,
) -> (Vec<f64>, f64) {
    let d = enc.dims();
    let scramble: u64 = rng.random();
    let mut cands: Vec<f64> = Vec::with_capacity((settings.candidates + anchors.len() * 8) * d);
    for i in 0..settings.candidates {
        let u = SobolSampler::point(scramble, i as u64, d);
        for (c, &v) in enc.coords.iter().zip(&u) {
            cands.push(match c {
                Coord::Categorical(n) => ((v * *n as f64).floor()).min((*n - 1) as f64),
                _ => v,
            });
        }
    }
    for i in (0..d).filter(|&i| !matches!(enc.coords[i], Coord::Categorical(_))) {
        for k in 0..settings.candidates {
            cands[k * d + i] = enc.snap(i, cands[k * d + i]);
        }
    }
    for a in anchors {
        for _ in 0..8 {
            let mut z = a.clone();
            for (i, v) in z.iter_mut().enumerate() {
                match enc.coords[i] {
                    Coord::Categorical(n) => {
                        if rng.random::<f64>() < 1.0 / d as f64 {
                            *v = rng.random_range(0..n) as f64;
                        }
                    }
                    _ => {
                        let e: f64 = StandardNormal.sample(rng);
                        *v = enc.snap(i, *v + 0.05 * e);
                    }
                }
            }
            cands.extend_from_slice(&z);
        }
    }
    let values = acq.values(&cands, d);
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[b].total_cmp(&values[a]).then(a.cmp(&b)));

    let mut best: Option<(Vec<f64>, f64)> = None;
    let mut starts: Vec<(Vec<f64>, f64)> = Vec::new();
    for &i in &order {
        if starts.len() >= settings.local_searches {
            break;
        }
        let z = cands[i * d..(i + 1) * d].to_vec();
        if starts.iter().any(|s| s.0 == z) {
            continue;
        }
        starts.push((z, values[i]));
    }
    // A point already evaluated teaches nothing new (its acquisition is
    // only positive through the fitted noise): skip repeats.
    let seen = |z: &[f64]| {
        observed
            .iter()
            .any(|o| o.iter().zip(z).all(|(a, b)| (a - b).abs() <= 1e-9))
    };
    for (start, v0) in starts {
        let (z, v) = local_search(acq, enc, start, v0, settings);
        if seen(&z) {
            continue;
        }
        if best.as_ref().is_none_or(|(_, b)| v > *b) {
            best = Some((z, v));
        }
    }
    best.unwrap_or_else(|| {
        let i = order
            .iter()
            .copied()
            .find(|&i| !seen(&cands[i * d..(i + 1) * d]))
            .unwrap_or(order[0]);
        (cands[i * d..(i + 1) * d].to_vec(), values[i])
    })
}

fn local_search(
    acq: &Acquisition,
    enc: &Encoding,
    mut z: Vec<f64>,
    mut v: f64,
    settings: &Settings,
) -> (Vec<f64>, f64) {
    let d = enc.dims();
    let free: Vec<usize> = (0..d).filter(|&i| enc.is_continuous(i)).collect();
    let snapped: Vec<usize> = (0..d)
        .filter(|&i| enc.coords[i] == Coord::Snapped)
        .collect();
    let discrete: Vec<usize> = (0..d)
        .filter(|&i| matches!(enc.coords[i], Coord::Discrete(_) | Coord::Categorical(_)))
        .collect();
    for _round in 0..4 {
        let mut improved = false;
        if !free.is_empty() {
            let (mut z2, _) = spg(acq, &z, &free, settings.gradient_iters);
            for &i in &snapped {
                z2[i] = enc.snap(i, z2[i]);
            }
            let v2 = acq.values(&z2, d)[0];
            if v2 > v + 1e-10 * v.abs().max(1.0) {
                z = z2;
                v = v2;
                improved = true;
            }
        }
        for &i in &discrete {
            let legal: Vec<f64> = match &enc.coords[i] {
                Coord::Discrete(vals) => vals.clone(),
                Coord::Categorical(n) => (0..*n).map(|k| k as f64).collect(),
                _ => unreachable!(),
            };
            let mut batch = Vec::with_capacity(legal.len() * d);
            for &c in &legal {
                let mut w = z.clone();
                w[i] = c;
                batch.extend_from_slice(&w);
            }
            let vals = acq.values(&batch, d);
            let (kbest, vbest) =
                vals.iter()
                    .enumerate()
                    .fold((usize::MAX, f64::NEG_INFINITY), |acc, (k, &x)| {
                        if x > acc.1 {
                            (k, x)
                        } else {
                            acc
                        }
                    });
            if kbest != usize::MAX && vbest > v + 1e-10 * v.abs().max(1.0) {
                z[i] = legal[kbest];
                v = vbest;
                improved = true;
            }
        }
        if !improved {
            break;
        }
    }
    (z, v)
}

/// Spectral projected gradient ascent over the coordinates `free` in
/// `[0, 1]`; returns the final point and value.
fn spg(acq: &Acquisition, z0: &[f64], free: &[usize], iters: usize) -> (Vec<f64>, f64) {
    let d = z0.len();
    let mut x = z0.to_vec();
    let mut g = vec![0.0; d];
    let mut f = acq.value_grad(&x, &mut g);
    if !f.is_finite() {
        return (x, f);
    }
    let proj = |v: f64| v.clamp(0.0, 1.0);
    let gmax = free.iter().map(|&i| g[i].abs()).fold(0.0, f64::max);
    let mut lambda = if gmax > 0.0 { 0.1 / gmax } else { 1.0 };
    let mut gn = vec![0.0; d];
    for _ in 0..iters {
        // Projected step direction (ascent).
        let mut dir = vec![0.0; d];
        let mut dmax: f64 = 0.0;
        for &i in free {
            dir[i] = proj(x[i] + lambda * g[i]) - x[i];
            dmax = dmax.max(dir[i].abs());
        }
        if dmax < 1e-9 {
            break;
        }
        let slope: f64 = free.iter().map(|&i| g[i] * dir[i]).sum();
        let mut t = 1.0;
        let mut accepted = None;
        for _ in 0..30 {
            let mut xn = x.clone();
            for &i in free {
                xn[i] = proj(x[i] + t * dir[i]);
            }
            // Value only while backtracking; the gradient once accepted.
            let fnew = acq.values(&xn, d)[0];
            if fnew.is_finite() && fnew >= f + 1e-4 * t * slope {
                let fnew = acq.value_grad(&xn, &mut gn);
                accepted = Some((xn, fnew));
                break;
            }
            t *= 0.5;
        }
        let Some((xn, fnew)) = accepted else { break };
        // Barzilai–Borwein step for the next iteration (ascent: y = −Δg).
        let mut ss = 0.0;
        let mut sy = 0.0;
        for &i in free {
            let s = xn[i] - x[i];
            let y = -(gn[i] - g[i]);
            ss += s * s;
            sy += s * y;
        }
        lambda = if sy > 0.0 {
            (ss / sy).clamp(1e-8, 1e4)
        } else {
            1e4
        };
        let gain = fnew - f;
        x = xn;
        f = fnew;
        std::mem::swap(&mut g, &mut gn);
        // Log-acquisition units: 1e-6 is a relative change of 1e-6.
        if gain.abs() < 1e-6 {
            break;
        }
    }
    (x, f)
}
