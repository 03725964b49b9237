//! Disjoint boxes covering the region a front does not dominate.
//!
//! For a front `P` (minimised) and a reference point `r`, the improvement
//! region is `{z ≤ r : no p ∈ P has p ≤ z}`. We split it into disjoint
//! axis-aligned boxes `[l, u]` (lower bounds may be `−∞`), so that the
//! hypervolume improvement of a point `y` is `Σ_boxes Πⱼ (uⱼ − max(lⱼ,
//! yⱼ))⁺`, and its expectation under independent Gaussians is a sum of
//! products of one-dimensional terms (Yang et al. 2019; BoTorch's
//! `ExpectedHypervolumeImprovement` over a `NondominatedPartitioning`).
//!
//! * 1 objective: one box `(−∞, min(P ∪ {r})]`;
//! * 2 objectives: the `|P| + 1` boxes under the staircase;
//! * 3 objectives: a sweep along the third objective. Between consecutive
//!   levels of the front's third coordinates, the cross-section is the 2-D
//!   staircase region of the points already passed; a 2-D box that stays in
//!   the staircase from one level to the next is extended rather than
//!   re-emitted, so the number of boxes grows with the number of staircase
//!   changes (linear in `|P|` on typical fronts) rather than with
//!   `|P|²`.
//!
//! Box corners are stored as indices into per-objective lists of distinct
//! bound values (index 0 is `−∞`, the last is `rⱼ`), so that per-bound
//! quantities of the acquisition are computed once per candidate, not once
//! per box.

use std::collections::BTreeMap;

/// A box decomposition of the improvement region.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Boxes {
    /// Number of objectives.
    pub(crate) m: usize,
    /// Per objective, the distinct bound values, ascending; `bounds[j][0]`
    /// is `−∞`.
    pub(crate) bounds: Vec<Vec<f64>>,
    /// Lower-bound indices, `m` per box.
    pub(crate) lo: Vec<u32>,
    /// Upper-bound indices, `m` per box.
    pub(crate) hi: Vec<u32>,
}

impl Boxes {
    /// Decompose the region that `front` does not dominate below
    /// `reference` (1 to 3 objectives). Points not strictly below the
    /// reference in every objective, dominated points and duplicates are
    /// ignored.
    ///
    /// # Panics
    ///
    /// With more than 3 objectives.
    pub(crate) fn new(front: &[Vec<f64>], reference: &[f64]) -> Boxes {
        let m = reference.len();
        assert!(
            (1..=3).contains(&m),
            "box decomposition supports 1 to 3 objectives"
        );
        let mut pts: Vec<Vec<f64>> = front
            .iter()
            .filter(|p| p.iter().zip(reference).all(|(a, r)| a < r))
            .cloned()
            .collect();
        let keep = paretosearch_core::pareto::pareto_front(&pts);
        pts = keep.into_iter().map(|i| pts[i].clone()).collect();
        pts.sort_by(|a, b| lex(a, b));
        pts.dedup();

        let bounds: Vec<Vec<f64>> = (0..m)
            .map(|j| {
                let mut v: Vec<f64> = pts.iter().map(|p| p[j]).collect();
                v.push(reference[j]);
                v.push(f64::NEG_INFINITY);
                v.sort_by(f64::total_cmp);
                v.dedup();
                v
            })
            .collect();
        let idx = |j: usize, x: f64| -> u32 {
            bounds[j]
                .binary_search_by(|b| b.total_cmp(&x))
                .expect("bound listed") as u32
        };
        let top: Vec<u32> = (0..m).map(|j| bounds[j].len() as u32 - 1).collect();
        let mut out = Boxes {
            m,
            bounds: bounds.clone(),
            lo: Vec::new(),
            hi: Vec::new(),
        };
        match m {
            1 => {
                let u = pts.first().map(|p| idx(0, p[0])).unwrap_or(top[0]);
                out.push(&[0], &[u]);
            }
            2 => {
                let xy: Vec<(u32, u32)> =
                    pts.iter().map(|p| (idx(0, p[0]), idx(1, p[1]))).collect();
                for (xl, xh, yh) in staircase(&xy, top[0], top[1]) {
                    out.push(&[xl, 0], &[xh, yh]);
                }
            }
            _ => {
                // Sweep along the third objective.
                let mut by_z = pts.clone();
                by_z.sort_by(|a, b| a[2].total_cmp(&b[2]));
                let mut open: BTreeMap<(u32, u32, u32), u32> = BTreeMap::new();
                for b in staircase(&[], top[0], top[1]) {
                    open.insert(b, 0);
                }
                let mut passed: Vec<(u32, u32)> = Vec::new();
                let mut k = 0;
                while k < by_z.len() {
                    let z = by_z[k][2];
                    while k < by_z.len() && by_z[k][2] == z {
                        passed.push((idx(0, by_z[k][0]), idx(1, by_z[k][1])));
                        k += 1;
                    }
                    let zi = idx(2, z);
                    let now: Vec<(u32, u32, u32)> = staircase(&passed, top[0], top[1]);
                    let closing: Vec<(u32, u32, u32)> = open
                        .keys()
                        .filter(|b| now.binary_search(b).is_err())
                        .copied()
                        .collect();
                    for b in closing {
                        let z0 = open.remove(&b).expect("open box");
                        out.push(&[b.0, 0, z0], &[b.1, b.2, zi]);
                    }
                    for b in now {
                        open.entry(b).or_insert(zi);
                    }
                }
                for (b, z0) in open {
                    out.push(&[b.0, 0, z0], &[b.1, b.2, top[2]]);
                }
            }
        }
        out
    }

    fn push(&mut self, lo: &[u32], hi: &[u32]) {
        self.lo.extend_from_slice(lo);
        self.hi.extend_from_slice(hi);
    }

    /// Number of boxes.
    pub(crate) fn len(&self) -> usize {
        self.lo.len() / self.m
    }

    /// Box `k` as `(lower, upper)` corners.
    #[cfg(test)]
    pub(crate) fn corners(&self, k: usize) -> (Vec<f64>, Vec<f64>) {
        let m = self.m;
        (
            (0..m)
                .map(|j| self.bounds[j][self.lo[k * m + j] as usize])
                .collect(),
            (0..m)
                .map(|j| self.bounds[j][self.hi[k * m + j] as usize])
                .collect(),
        )
    }

    /// Hypervolume improvement of a point `y` (the deterministic
    /// counterpart of the expectation the acquisition computes).
    #[cfg(test)]
    pub(crate) fn improvement(&self, y: &[f64]) -> f64 {
        (0..self.len())
            .map(|k| {
                let (l, u) = self.corners(k);
                (0..self.m)
                    .map(|j| (u[j] - l[j].max(y[j])).max(0.0))
                    .product::<f64>()
            })
            .sum()
    }
}

fn lex(a: &[f64], b: &[f64]) -> std::cmp::Ordering {
    for (x, y) in a.iter().zip(b) {
        match x.total_cmp(y) {
            std::cmp::Ordering::Equal => continue,
            o => return o,
        }
    }
    std::cmp::Ordering::Equal
}

/// The boxes `(x_lo, x_hi, y_hi)` (with `y_lo = −∞`) under the 2-D
/// staircase of `pts` (bound indices) up to `(rx, ry)`, sorted.
fn staircase(pts: &[(u32, u32)], rx: u32, ry: u32) -> Vec<(u32, u32, u32)> {
    let mut p = pts.to_vec();
    p.sort_unstable();
    // Non-dominated in 2-D: increasing x, strictly decreasing y.
    let mut front: Vec<(u32, u32)> = Vec::new();
    for q in p {
        if front.last().is_none_or(|l| q.1 < l.1) {
            if front.last().is_some_and(|l| l.0 == q.0) {
                front.pop();
            }
            front.push(q);
        }
    }
    let mut out = Vec::with_capacity(front.len() + 1);
    let mut x_lo = 0;
    let mut y_hi = ry;
    for &(x, y) in &front {
        if x > x_lo || x_lo == 0 {
            out.push((x_lo, x, y_hi));
        }
        x_lo = x;
        y_hi = y;
    }
    out.push((x_lo, rx, y_hi));
    out.retain(|b| b.0 < b.1);
    out.sort_unstable();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;
    use paretosearch_core::pareto::hypervolume;
    use rand::{Rng, SeedableRng};

    fn random_front(m: usize, n: usize, seed: u64) -> Vec<Vec<f64>> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        (0..n)
            .map(|_| {
                // Points near the simplex, some dominated, some duplicated coordinates.
                let mut v: Vec<f64> = (0..m).map(|_| rng.random::<f64>()).collect();
                let s: f64 = v.iter().sum();
                v.iter_mut()
                    .for_each(|x| *x = (*x / s + 0.3 * rng.random::<f64>() * 0.2).min(0.99));
                if rng.random::<f64>() < 0.2 {
                    v[0] = 0.5;
                }
                v
            })
            .collect()
    }

    /// Volume of the boxes (−∞ replaced by `floor`) must equal the volume of
    /// `[floor, r]` minus the hypervolume of the front, and a random point
    /// must lie in exactly one box iff the front does not dominate it.
    fn check(front: &[Vec<f64>], reference: &[f64]) {
        let m = reference.len();
        let floor = -1.0;
        let b = Boxes::new(front, reference);
        let mut vol = 0.0;
        for k in 0..b.len() {
            let (l, u) = b.corners(k);
            vol += (0..m).map(|j| u[j] - l[j].max(floor)).product::<f64>();
        }
        let total: f64 = reference.iter().map(|r| r - floor).product();
        let hv = if front.is_empty() {
            0.0
        } else {
            hypervolume(front, reference)
        };
        assert_relative_eq!(vol, total - hv, max_relative = 1e-10);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        for _ in 0..2000 {
            let z: Vec<f64> = reference
                .iter()
                .map(|r| floor + rng.random::<f64>() * (r - floor))
                .collect();
            let dominated = front.iter().any(|p| p.iter().zip(&z).all(|(a, b)| a <= b));
            let inside = (0..b.len())
                .filter(|&k| {
                    let (l, u) = b.corners(k);
                    (0..m).all(|j| l[j] < z[j] && z[j] < u[j])
                })
                .count();
            assert_eq!(inside, usize::from(!dominated), "z = {z:?}");
        }
    }

    #[test]
    fn boxes_cover_exactly_the_non_dominated_region() {
        for m in 1..=3 {
            for (n, seed) in [(0, 1), (1, 2), (5, 3), (40, 4), (120, 5)] {
                let front = random_front(m, n, seed);
                check(&front, &vec![1.0; m]);
            }
        }
    }

    #[test]
    fn improvement_matches_hypervolume_difference() {
        for m in 2..=3 {
            let front = random_front(m, 30, 7);
            let r = vec![1.1; m];
            let b = Boxes::new(&front, &r);
            let y = vec![0.2; m];
            let mut with = front.clone();
            with.push(y.clone());
            assert_relative_eq!(
                b.improvement(&y),
                hypervolume(&with, &r) - hypervolume(&front, &r),
                max_relative = 1e-10
            );
        }
    }

    #[test]
    fn three_d_sweep_merges_boxes() {
        // Points on a plane: the decomposition stays far below |P|².
        let front: Vec<Vec<f64>> = (0..50)
            .map(|i| {
                let a = i as f64 / 50.0;
                let b = ((i * 37) % 50) as f64 / 50.0;
                vec![a, b, (2.0 - a - b).max(0.0) / 2.0]
            })
            .collect();
        let b = Boxes::new(&front, &[1.1, 1.1, 1.1]);
        assert!(b.len() < 50 * 50 / 4, "{} boxes", b.len());
        check(&front, &[1.1, 1.1, 1.1]);
    }
}
