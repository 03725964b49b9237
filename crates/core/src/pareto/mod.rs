//! Pareto maths on minimised objective vectors.
//!
//! Every routine here works on **minimised** objective vectors: callers flip
//! maximised objectives once (see
//! [`Objectives::minimised`](crate::objective::Objectives::minimised)), so the
//! maths never branches on direction. Inputs are assumed free of NaN; the
//! results on NaN are unspecified (but no routine panics on them unless
//! documented). Points may hold infinite values (a point at `+inf` in some
//! objective never contributes hypervolume), but reference points must be
//! finite: an infinite reference makes volumes infinite or NaN.
//!
//! Points are given either as `&[Vec<f64>]` (one vector per point, all of the
//! same length `m`, the number of objectives) or as `&[f64]` for a single
//! point. Vectors of mismatched lengths are a caller bug and panic.
//!
//! ## What is here, and how it is computed
//!
//! | routine | algorithm | cost |
//! |---|---|---|
//! | [`dominates`], [`constrained_dominates`] | definition (Deb's constraint domination) | `O(m)` |
//! | [`non_dominated_sort`] | lexicographic pre-sort, then each point placed in the first front none of whose members dominates it, found by binary search (ENS-BS, Zhang et al. 2015); in 2-D each front test is `O(1)` | `O(n log n)` in 2-D, `O(m n^2)` worst case otherwise, far less on typical data |
//! | [`pareto_front`] | lexicographic pre-sort and an archive that only grows | `O(n log n)` in 2-D, `O(m n f)` otherwise (`f` = front size) |
//! | [`crowding_distance`] | NSGA-II crowding distance (Deb et al. 2002) | `O(m f log f)` |
//! | [`hypervolume`] | 2-D sweep; 3-D sweep over the third objective with an incrementally maintained 2-D staircase (Fonseca, Paquete & López-Ibáñez 2006; Beume et al. 2009); WFG for `m >= 4` (While, Bradstreet & Barone 2012) with slicing on the last objective, bottoming out in the 3-D algorithm | `O(n log n)` for `m <= 3`, exponential in `m` in the worst case for WFG |
//! | [`hypervolume_contributions`] | 2-D: one lexicographic sweep builds the staircase and, for each member, the points dominated by it alone; a member's contribution is the rectangle between its neighbours minus what those points cover. Otherwise each front point's box minus the hypervolume of its limit set (WFG's `exclhv`) | `O(n log n)` in 2-D, `O(f n log n)` in 3-D |
//! | [`hssp_greedy`] | greedy hypervolume subset selection (Guerreiro, Fonseca & Paquete 2016) evaluated lazily: marginal gains only shrink as the subset grows (hypervolume is submodular), so stale gains are upper bounds and most candidates are never re-evaluated; in 2-D a gain costs `O(log k)` plus the steps it covers on the selected staircase | see [`hssp_greedy`] |
//! | [`ParetoFront`] | incremental archive of non-dominated points | `O(m f)` per insertion |
//!
//! The sweeps sort by one objective with an LSD radix sort on the bit
//! pattern of the values (skipping bytes on which all keys agree), which is
//! several times faster than a comparison sort from a few hundred points on.
//! The 2-D staircase of the 3-D sweep and of 2-D subset selection is a
//! `BTreeMap` keyed the same way.
//!
//! Exact zeros are part of the contract: dominated points, duplicates and
//! points outside the reference get contributions of exactly `0.0`, and
//! an empty set has hypervolume `0.0`.
//!
//! ## Measured speed
//!
//! `cargo bench -p paretosearch-core --bench pareto` measures each routine on
//! points of a spherical front (all mutually non-dominated, the hard case);
//! see `benches/pareto.rs`.
//!
//! ## References
//!
//! * K. Deb, A. Pratap, S. Agarwal, T. Meyarivan. *A fast and elitist
//!   multiobjective genetic algorithm: NSGA-II.* IEEE TEC 6(2), 2002.
//! * X. Zhang, Y. Tian, R. Cheng, Y. Jin. *An efficient approach to
//!   nondominated sorting for evolutionary multiobjective optimization.*
//!   IEEE TEC 19(2), 2015.
//! * C. M. Fonseca, L. Paquete, M. López-Ibáñez. *An improved dimension-sweep
//!   algorithm for the hypervolume indicator.* IEEE CEC 2006.
//! * N. Beume, C. M. Fonseca, M. López-Ibáñez, L. Paquete, J. Vahrenhold.
//!   *On the complexity of computing the hypervolume indicator.* IEEE TEC
//!   13(5), 2009.
//! * L. While, L. Bradstreet, L. Barone. *A fast way of calculating exact
//!   hypervolumes.* IEEE TEC 16(1), 2012.
//! * A. P. Guerreiro, C. M. Fonseca, L. Paquete. *Greedy hypervolume subset
//!   selection in low dimensions.* Evolutionary Computation 24(3), 2016.

mod archive;
mod dominance;
mod hssp;
mod hypervolume;
#[cfg(test)]
mod proptests;
mod radix;

pub use archive::ParetoFront;
pub use dominance::{
    constrained_dominates, crowding_distance, dominates, non_dominated_sort, pareto_front,
};
pub use hssp::hssp_greedy;
pub use hypervolume::{hypervolume, hypervolume_contributions};

/// A reference point for [`hypervolume`] when the user gave none.
///
/// Rule, per objective `j`: `max_j + 0.1 * (max_j - min_j)` where `min_j` and
/// `max_j` are taken over `points`; when the range is zero (one point, or all
/// points equal in that objective) the reference is `max_j + 1`. Every point
/// is therefore strictly better than the reference in every objective and
/// contributes to the hypervolume. Returns an empty vector for no points.
pub fn nadir_reference(points: &[Vec<f64>]) -> Vec<f64> {
    let Some(first) = points.first() else {
        return Vec::new();
    };
    let m = first.len();
    (0..m)
        .map(|j| {
            let (lo, hi) = points
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
                    (lo.min(p[j]), hi.max(p[j]))
                });
            let range = hi - lo;
            if range > 0.0 {
                hi + 0.1 * range
            } else {
                hi + 1.0
            }
        })
        .collect()
}

/// Rescales `points` so that `ideal` maps to 0 and `nadir` to 1 in every
/// objective: `(x - ideal_j) / (nadir_j - ideal_j)`.
///
/// Where `nadir_j == ideal_j` the objective is only shifted
/// (`x - ideal_j`), so that a degenerate objective does not produce
/// infinities. Monotone per objective, so domination relations are kept.
///
/// # Panics
///
/// If `ideal`, `nadir` and the points do not all have the same length.
pub fn normalise(points: &[Vec<f64>], ideal: &[f64], nadir: &[f64]) -> Vec<Vec<f64>> {
    assert_eq!(ideal.len(), nadir.len(), "ideal and nadir lengths differ");
    let scale: Vec<f64> = ideal
        .iter()
        .zip(nadir)
        .map(|(&lo, &hi)| {
            let s = hi - lo;
            if s == 0.0 {
                1.0
            } else {
                s
            }
        })
        .collect();
    points
        .iter()
        .map(|p| {
            assert_eq!(p.len(), ideal.len(), "point and ideal lengths differ");
            p.iter()
                .zip(ideal)
                .zip(&scale)
                .map(|((&x, &lo), &s)| (x - lo) / s)
                .collect()
        })
        .collect()
}

/// Per-objective minimum over `points` (the ideal point); empty for no
/// points.
pub fn ideal_point(points: &[Vec<f64>]) -> Vec<f64> {
    let Some(first) = points.first() else {
        return Vec::new();
    };
    let mut out = first.clone();
    for p in &points[1..] {
        for (o, &x) in out.iter_mut().zip(p) {
            *o = o.min(x);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn nadir_reference_rule() {
        let pts = vec![vec![0.0, 5.0], vec![10.0, 5.0]];
        let r = nadir_reference(&pts);
        assert_relative_eq!(r[0], 11.0);
        assert_relative_eq!(r[1], 6.0);
        assert!(nadir_reference(&[]).is_empty());
    }

    #[test]
    fn normalise_maps_ideal_and_nadir() {
        let pts = vec![vec![1.0, 2.0], vec![3.0, 2.0]];
        let n = normalise(&pts, &ideal_point(&pts), &[3.0, 2.0]);
        assert_relative_eq!(n[0][0], 0.0);
        assert_relative_eq!(n[1][0], 1.0);
        assert_relative_eq!(n[1][1], 0.0);
    }
}
