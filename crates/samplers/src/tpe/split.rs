//! Splitting the history into a good group (`l(x)`) and a bad group
//! (`g(x)`), and weighting them, as Optuna's TPE does.
//!
//! * `γ(n) = min(⌈fraction · n⌉, cap)` trials go to the good group, `n`
//!   counting finished (COMPLETE and PRUNED) trials.
//! * Feasible COMPLETE trials are ranked first: by value for one objective;
//!   for several, by non-dominated front, whole fronts while they fit, and
//!   the front that does not fit is cut by greedy hypervolume subset
//!   selection. PRUNED trials come next (one objective only: trials that got
//!   further first, then by their last intermediate value), infeasible trials
//!   last (smaller total violation first). RUNNING trials (constant liar)
//!   are always bad.
//! * Weights: the bad group gets Optuna's ramp (older trials count less once
//!   there are more than 25); the good group gets ones for one objective
//!   and, for several, each point's hypervolume contribution relative to the
//!   largest one (at least `1e-12`; infeasible members get `1e-12`).

use paretosearch_core::pareto::{hssp_greedy, hypervolume_contributions, non_dominated_sort};

use super::hssp::{hssp_pairwise, EXACT_PICKS};

const EPS: f64 = 1e-12;

/// Size of the good group for `n` finished trials.
pub(crate) fn gamma(n: usize, fraction: f64, cap: usize) -> usize {
    ((fraction * n as f64).ceil() as usize).min(cap)
}

/// Optuna's `default_weights`: ones up to 25 trials, beyond that a linear
/// ramp from `1/n` for the oldest `n - 25` trials followed by 25 ones.
pub(crate) fn default_weights(n: usize) -> Vec<f64> {
    if n < 25 {
        return vec![1.0; n];
    }
    let m = n - 25;
    let start = 1.0 / n as f64;
    let mut w: Vec<f64> = (0..m)
        .map(|i| {
            if m == 1 {
                start
            } else {
                start + (1.0 - start) * i as f64 / (m - 1) as f64
            }
        })
        .collect();
    w.extend(std::iter::repeat_n(1.0, 25));
    w
}

/// A reference point just behind `points`' worst corner:
/// `max(1.1 w, 0.9 w)` per objective, `1e-12` where that is 0.
pub(crate) fn reference_behind(points: &[&[f64]]) -> Vec<f64> {
    let m = points.first().map_or(0, |p| p.len());
    (0..m)
        .map(|j| {
            let w = points
                .iter()
                .map(|p| p[j])
                .fold(f64::NEG_INFINITY, f64::max);
            let r = (1.1 * w).max(0.9 * w);
            if r == 0.0 {
                EPS
            } else {
                r
            }
        })
        .collect()
}

/// The history of a study, reduced to what the split needs. Ids are
/// positions in trial-number order.
#[derive(Debug, Default)]
pub(crate) struct History<'a> {
    /// Feasible COMPLETE trials: id and minimised objective vector.
    pub feasible: Vec<(usize, &'a [f64])>,
    /// Infeasible COMPLETE trials: id and total violation.
    pub infeasible: Vec<(usize, f64)>,
    /// PRUNED trials: id and sort key (ascending is better).
    pub pruned: Vec<(usize, (f64, f64))>,
    /// RUNNING trials with parameters (constant liar).
    pub running: Vec<usize>,
}

/// Split into (good, bad), each sorted by id. `multi` says the study has
/// several objectives (PRUNED trials are then always bad).
///
/// `pairwise`: past [`EXACT_PICKS`] picks, cut the last good front by
/// pairwise bounds of the hypervolume gains ([`hssp_pairwise`]) instead
/// of exact gains.
pub(crate) fn split(
    h: &History<'_>,
    n_below: usize,
    multi: bool,
    pairwise: bool,
) -> (Vec<usize>, Vec<usize>) {
    let mut below = Vec::with_capacity(n_below);
    let mut above = Vec::new();
    let k = n_below.min(h.feasible.len());
    let chosen: Vec<usize> = if multi {
        let pts: Vec<&[f64]> = h.feasible.iter().map(|(_, p)| *p).collect();
        select_multi_objective(&pts, k, pairwise)
    } else {
        let mut order: Vec<usize> = (0..h.feasible.len()).collect();
        order.sort_by(|&a, &b| {
            h.feasible[a].1[0]
                .total_cmp(&h.feasible[b].1[0])
                .then(a.cmp(&b))
        });
        order.truncate(k);
        order
    };
    let mut is_below = vec![false; h.feasible.len()];
    for &i in &chosen {
        is_below[i] = true;
    }
    for (i, &(id, _)) in h.feasible.iter().enumerate() {
        if is_below[i] {
            below.push(id);
        } else {
            above.push(id);
        }
    }
    let mut rest = n_below - below.len();
    let mut pruned = h.pruned.clone();
    if multi {
        above.extend(pruned.iter().map(|p| p.0));
    } else {
        pruned.sort_by(|a, b| {
            a.1 .0
                .total_cmp(&b.1 .0)
                .then(a.1 .1.total_cmp(&b.1 .1))
                .then(a.0.cmp(&b.0))
        });
        let take = rest.min(pruned.len());
        below.extend(pruned[..take].iter().map(|p| p.0));
        above.extend(pruned[take..].iter().map(|p| p.0));
        rest -= take;
    }
    let mut infeasible = h.infeasible.clone();
    infeasible.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
    let take = rest.min(infeasible.len());
    below.extend(infeasible[..take].iter().map(|p| p.0));
    above.extend(infeasible[take..].iter().map(|p| p.0));
    above.extend(h.running.iter().copied());
    below.sort_unstable();
    above.sort_unstable();
    (below, above)
}

/// `k` indices of `points` (minimised vectors): whole non-dominated fronts
/// while they fit, then greedy hypervolume subset selection on the front
/// that does not, with the reference just behind that front. One
/// non-dominated sort of all points (`O(n log n)` in 2-D) gives the fronts.
pub(crate) fn select_multi_objective(points: &[&[f64]], k: usize, pairwise: bool) -> Vec<usize> {
    let mut selected: Vec<usize> = Vec::with_capacity(k);
    if k == 0 {
        return selected;
    }
    let owned: Vec<Vec<f64>> = points.iter().map(|p| p.to_vec()).collect();
    for front in non_dominated_sort(&owned, None) {
        let need = k - selected.len();
        if front.len() <= need {
            selected.extend(&front);
        } else {
            selected.extend(hssp_with_duplicates(points, &front, need, pairwise));
        }
        if selected.len() == k {
            break;
        }
    }
    selected
}

/// Greedy HSSP of `need` members of `front` (indices into `points`),
/// counting equal points once; when fewer distinct points than `need`
/// exist, all distinct ones and then duplicates in index order.
fn hssp_with_duplicates(
    points: &[&[f64]],
    front: &[usize],
    need: usize,
    pairwise: bool,
) -> Vec<usize> {
    let mut order: Vec<usize> = front.to_vec();
    order.sort_by(|&a, &b| {
        points[a]
            .iter()
            .zip(points[b])
            .map(|(x, y)| x.total_cmp(y))
            .find(|o| o.is_ne())
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(a.cmp(&b))
    });
    let mut unique: Vec<usize> = Vec::new();
    let mut dups: Vec<usize> = Vec::new();
    for &i in &order {
        match unique.last() {
            Some(&u) if points[u] == points[i] => dups.push(i),
            _ => unique.push(i),
        }
    }
    if unique.len() <= need {
        dups.sort_unstable();
        let mut out = unique;
        out.extend(dups.into_iter().take(need - out.len()));
        return out;
    }
    unique.sort_unstable();
    let refs: Vec<&[f64]> = unique.iter().map(|&i| points[i]).collect();
    let reference = reference_behind(&refs);
    let pts: Vec<Vec<f64>> = refs.iter().map(|p| p.to_vec()).collect();
    let chosen = if pairwise && need > EXACT_PICKS {
        let first = hssp_greedy(&pts, EXACT_PICKS, &reference);
        hssp_pairwise(&refs, need, &reference, &first)
    } else {
        hssp_greedy(&pts, need, &reference)
    };
    chosen.into_iter().map(|j| unique[j]).collect()
}

/// Weights of the good group for several objectives: hypervolume
/// contribution of each feasible member relative to the largest
/// (reference just behind the group), clipped to `[1e-12, 1]`; infeasible
/// members (`None`) get `1e-12`.
pub(crate) fn weights_below_multi_objective(points: &[Option<&[f64]>]) -> Vec<f64> {
    let feasible: Vec<&[f64]> = points.iter().filter_map(|p| *p).collect();
    let w: Vec<f64> = match feasible.len() {
        0 => Vec::new(),
        1 => vec![1.0],
        _ => {
            let reference = reference_behind(&feasible);
            let pts: Vec<Vec<f64>> = feasible.iter().map(|p| p.to_vec()).collect();
            let mut c = hypervolume_contributions(&pts, &reference);
            for x in &mut c {
                if x.is_nan() {
                    *x = f64::INFINITY;
                }
            }
            let max = c.iter().copied().fold(f64::NEG_INFINITY, f64::max).max(EPS);
            if max.is_finite() {
                c.iter().map(|x| (x / max).clamp(EPS, 1.0)).collect()
            } else {
                c.iter()
                    .map(|x| if x.is_finite() { EPS } else { 1.0 })
                    .collect()
            }
        }
    };
    let mut it = w.into_iter();
    points
        .iter()
        .map(|p| {
            if p.is_some() {
                it.next().unwrap_or(EPS)
            } else {
                EPS
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;
    use paretosearch_core::pareto::hypervolume;

    #[test]
    fn gamma_is_ceil_of_a_tenth_capped() {
        assert_eq!(gamma(0, 0.1, 25), 0);
        assert_eq!(gamma(1, 0.1, 25), 1);
        assert_eq!(gamma(10, 0.1, 25), 1);
        assert_eq!(gamma(11, 0.1, 25), 2);
        assert_eq!(gamma(1000, 0.1, 25), 25);
        assert_eq!(gamma(1000, 0.1, usize::MAX), 100);
    }

    #[test]
    fn default_weights_ramp() {
        assert_eq!(default_weights(3), vec![1.0; 3]);
        let w = default_weights(30);
        assert_eq!(w.len(), 30);
        // numpy.linspace(1/30, 1, 5) followed by 25 ones.
        let expect = [
            1.0 / 30.0,
            0.275,
            0.516_666_666_666_666_7,
            0.758_333_333_333_333_3,
            1.0,
        ];
        for (a, b) in w.iter().zip(&expect) {
            assert_relative_eq!(*a, *b, epsilon = 1e-12);
        }
        assert!(w[5..].iter().all(|&x| x == 1.0));
        assert_eq!(default_weights(26), {
            let mut v = vec![1.0 / 26.0];
            v.extend([1.0; 25]);
            v
        });
    }

    #[test]
    fn single_objective_split_orders_complete_pruned_infeasible_running() {
        let vals = [[3.0], [1.0], [2.0]];
        let h = History {
            feasible: vec![(0, &vals[0][..]), (2, &vals[1][..]), (5, &vals[2][..])],
            infeasible: vec![(3, 0.5), (4, 0.1)],
            pruned: vec![(1, (-3.0, 0.2)), (6, (-5.0, 9.0))],
            running: vec![7],
        };
        let (b, a) = split(&h, 2, false, false);
        assert_eq!(b, vec![2, 5]);
        assert_eq!(a, vec![0, 1, 3, 4, 6, 7]);
        // Pruned: further step first (6 reached step 5), then infeasible by violation.
        let (b, a) = split(&h, 6, false, false);
        assert_eq!(b, vec![0, 1, 2, 4, 5, 6]);
        assert_eq!(a, vec![3, 7]);
        // Multi-objective: pruned trials are always bad.
        let mo = [[1.0, 1.0]];
        let h2 = History {
            feasible: vec![(0, &mo[0][..])],
            infeasible: vec![(2, 1.0)],
            pruned: vec![(1, (0.0, 0.0))],
            running: vec![],
        };
        let (b, a) = split(&h2, 2, true, false);
        assert_eq!(b, vec![0, 2]);
        assert_eq!(a, vec![1]);
    }

    #[test]
    fn multi_objective_split_takes_fronts_then_hssp() {
        // Front 0: a, b, c, d, e on a staircase; front 1: f, g.
        let pts: Vec<Vec<f64>> = vec![
            vec![0.0, 10.0], // 0 a
            vec![1.0, 5.0],  // 1 b
            vec![1.5, 4.9],  // 2 c (close to b: small contribution)
            vec![5.0, 1.0],  // 3 d
            vec![10.0, 0.0], // 4 e
            vec![3.0, 6.0],  // 5 f (dominated by b)
            vec![6.0, 2.0],  // 6 g (dominated by d)
        ];
        let refs: Vec<&[f64]> = pts.iter().map(|p| &p[..]).collect();
        // k = 7 takes everything; k = 5 takes exactly front 0.
        let mut s = select_multi_objective(&refs, 5, false);
        s.sort_unstable();
        assert_eq!(s, vec![0, 1, 2, 3, 4]);
        // k = 3: HSSP on front 0 with reference behind it (11, 11).
        let mut s3 = select_multi_objective(&refs, 3, false);
        s3.sort_unstable();
        // Exhaustive check: the greedy pick achieves the best 3-subset
        // hypervolume here.
        let reference = [11.0, 11.0];
        let hv = |idx: &[usize]| {
            let p: Vec<Vec<f64>> = idx.iter().map(|&i| pts[i].clone()).collect();
            hypervolume(&p, &reference)
        };
        let mut best = 0.0f64;
        for a in 0..5 {
            for b in a + 1..5 {
                for c in b + 1..5 {
                    best = best.max(hv(&[a, b, c]));
                }
            }
        }
        assert_relative_eq!(hv(&s3), best, epsilon = 1e-12);
        assert!(!s3.contains(&2), "c adds least: {s3:?}");
        // k = 6: front 0 and one of front 1.
        let s6 = select_multi_objective(&refs, 6, false);
        assert_eq!(s6.len(), 6);
        assert!(s6.contains(&5) ^ s6.contains(&6));
    }

    #[test]
    fn duplicates_are_counted_once_in_hssp() {
        let pts: Vec<Vec<f64>> = vec![
            vec![1.0, 2.0],
            vec![1.0, 2.0],
            vec![2.0, 1.0],
            vec![1.5, 1.5],
        ];
        let refs: Vec<&[f64]> = pts.iter().map(|p| &p[..]).collect();
        let mut s = select_multi_objective(&refs, 3, false);
        s.sort_unstable();
        assert_eq!(s, vec![0, 2, 3]);
        let mut all = select_multi_objective(&refs, 4, false);
        all.sort_unstable();
        assert_eq!(all, vec![0, 1, 2, 3]);
    }

    #[test]
    fn below_weights_are_relative_contributions() {
        let a = [1.0, 3.0];
        let b = [2.0, 2.0];
        let c = [3.0, 1.0];
        let dominated = [3.0, 3.0];
        let w =
            weights_below_multi_objective(&[Some(&a), Some(&b), Some(&c), Some(&dominated), None]);
        // Reference: max(1.1*3, 0.9*3) = 3.3 in both objectives.
        // Contributions: a: (2-1)*(3.3-3) = 0.3, b: 1*1 = 1, c: 0.3, dominated: 0.
        assert_relative_eq!(w[0], 0.3, epsilon = 1e-9);
        assert_relative_eq!(w[1], 1.0, epsilon = 1e-12);
        assert_relative_eq!(w[2], 0.3, epsilon = 1e-9);
        assert_eq!(w[3], EPS);
        assert_eq!(w[4], EPS);
        assert_eq!(weights_below_multi_objective(&[Some(&a)]), vec![1.0]);
    }
}

#[cfg(test)]
mod fronts_tests {
    use super::*;
    use paretosearch_core::pareto::dominates;
    use rand::{Rng, SeedableRng};

    /// The fronts taken whole are the first non-dominated fronts (checked
    /// by brute-force peeling), and the cut front contributes the rest.
    #[test]
    fn whole_fronts_then_a_cut_one_by_brute_force() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(2);
        for m in [2, 3] {
            for _ in 0..40 {
                let n = rng.random_range(1..60);
                let pts: Vec<Vec<f64>> = (0..n)
                    .map(|_| {
                        (0..m)
                            .map(|_| (rng.random::<f64>() * 5.0).round())
                            .collect()
                    })
                    .collect();
                let refs: Vec<&[f64]> = pts.iter().map(|p| &p[..]).collect();
                // Brute-force fronts.
                let mut rank = vec![usize::MAX; n];
                let mut r = 0;
                while rank.contains(&usize::MAX) {
                    let front: Vec<usize> = (0..n)
                        .filter(|&i| rank[i] == usize::MAX)
                        .filter(|&i| {
                            !(0..n).any(|j| rank[j] == usize::MAX && dominates(&pts[j], &pts[i]))
                        })
                        .collect();
                    for i in front {
                        rank[i] = r;
                    }
                    r += 1;
                }
                let k = rng.random_range(0..=n);
                let s = select_multi_objective(&refs, k, false);
                assert_eq!(s.len(), k);
                let mut sorted = s.clone();
                sorted.sort_unstable();
                sorted.dedup();
                assert_eq!(sorted.len(), k, "no index twice");
                let worst = s.iter().map(|&i| rank[i]).max();
                if let Some(w) = worst {
                    for (i, &r) in rank.iter().enumerate() {
                        if r < w {
                            assert!(s.contains(&i), "a better front's member left out");
                        }
                    }
                }
            }
        }
    }
}
