//! Property tests of the Pareto maths against brute-force definitions.
//!
//! Two kinds of random input: small-integer coordinates (0..=6 against a
//! reference of 5 in every objective), which make ties, duplicates and
//! points on or beyond the reference common and keep every hypervolume an
//! exact integer; and continuous coordinates in `[0, 1)`.

// Exact float equality is asserted where the contract promises it (zero
// contributions, integer-exact hypervolumes).
#![allow(clippy::float_cmp)]

use super::*;
use approx::assert_relative_eq;
use proptest::prelude::*;

/// Brute-force hypervolume: the union of boxes measured on the grid of all
/// coordinates that occur; a cell is covered when some point weakly
/// dominates its lower corner.
fn brute_hv(points: &[Vec<f64>], r: &[f64]) -> f64 {
    let m = r.len();
    let inside: Vec<&Vec<f64>> = points
        .iter()
        .filter(|p| p.iter().zip(r).all(|(x, y)| x < y))
        .collect();
    if inside.is_empty() {
        return 0.0;
    }
    let axes: Vec<Vec<f64>> = (0..m)
        .map(|j| {
            let mut c: Vec<f64> = inside.iter().map(|p| p[j]).collect();
            c.push(r[j]);
            c.sort_by(f64::total_cmp);
            c.dedup();
            c
        })
        .collect();
    let mut idx = vec![0usize; m];
    let mut total = 0.0;
    'cells: loop {
        let corner: Vec<f64> = (0..m).map(|j| axes[j][idx[j]]).collect();
        if inside
            .iter()
            .any(|p| p.iter().zip(&corner).all(|(a, b)| a <= b))
        {
            total += (0..m)
                .map(|j| axes[j][idx[j] + 1] - axes[j][idx[j]])
                .product::<f64>();
        }
        for j in 0..m {
            idx[j] += 1;
            if idx[j] + 1 < axes[j].len() {
                continue 'cells;
            }
            idx[j] = 0;
        }
        return total;
    }
}

/// Brute-force non-dominated sorting: peel off the points no remaining
/// point beats under `better`.
fn brute_sort(n: usize, better: impl Fn(usize, usize) -> bool) -> Vec<Vec<usize>> {
    let mut left: Vec<usize> = (0..n).collect();
    let mut fronts = Vec::new();
    while !left.is_empty() {
        let front: Vec<usize> = left
            .iter()
            .copied()
            .filter(|&i| !left.iter().any(|&j| better(j, i)))
            .collect();
        left.retain(|i| !front.contains(i));
        fronts.push(front);
    }
    fronts
}

/// Brute-force greedy subset selection with [`hypervolume`]: each step's
/// gains for every remaining point.
fn brute_greedy_gains(points: &[Vec<f64>], chosen: &[usize], r: &[f64]) -> Vec<(usize, f64)> {
    let sel: Vec<Vec<f64>> = chosen.iter().map(|&i| points[i].clone()).collect();
    let base = hypervolume(&sel, r);
    (0..points.len())
        .filter(|i| !chosen.contains(i))
        .map(|i| {
            let mut with = sel.clone();
            with.push(points[i].clone());
            (i, hypervolume(&with, r) - base)
        })
        .collect()
}

fn int_points(max_n: usize) -> impl Strategy<Value = Vec<Vec<f64>>> {
    (2usize..=5).prop_flat_map(move |m| {
        prop::collection::vec(
            prop::collection::vec((0i32..=6).prop_map(f64::from), m),
            0..=max_n,
        )
    })
}

fn float_points(max_n: usize) -> impl Strategy<Value = Vec<Vec<f64>>> {
    float_points_from(1, max_n)
}

fn float_points_from(min_n: usize, max_n: usize) -> impl Strategy<Value = Vec<Vec<f64>>> {
    (2usize..=5).prop_flat_map(move |m| {
        prop::collection::vec(prop::collection::vec(0.0f64..1.0, m), min_n..=max_n)
    })
}

fn dim(points: &[Vec<f64>]) -> usize {
    points.first().map_or(2, Vec::len)
}

fn tol(scale: f64) -> f64 {
    1e-9 * scale.abs().max(1e-12)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn sort_matches_definition(points in int_points(12)) {
        let fronts = non_dominated_sort(&points, None);
        let brute = brute_sort(points.len(), |a, b| dominates(&points[a], &points[b]));
        prop_assert_eq!(&fronts, &brute);
        let first = fronts.first().cloned().unwrap_or_default();
        prop_assert_eq!(pareto_front(&points), first);
    }

    #[test]
    fn constrained_sort_matches_definition(
        points in int_points(12),
        raw in prop::collection::vec(0i32..4, 12),
    ) {
        // About half feasible; violations with ties.
        let viol: Vec<f64> = raw.iter().take(points.len())
            .map(|&v| f64::from((v - 1).max(0))).collect();
        let fronts = non_dominated_sort(&points, Some(&viol));
        let brute = brute_sort(points.len(), |a, b| {
            constrained_dominates(&points[a], viol[a], &points[b], viol[b])
        });
        prop_assert_eq!(fronts, brute);
    }

    #[test]
    fn hypervolume_matches_grid(points in int_points(12)) {
        let r = vec![5.0; dim(&points)];
        let hv = hypervolume(&points, &r);
        let brute = brute_hv(&points, &r);
        prop_assert!((hv - brute).abs() <= tol(brute), "{hv} vs {brute}");
    }

    #[test]
    fn hypervolume_matches_grid_float(points in float_points(8)) {
        let r = vec![0.9; dim(&points)];
        let hv = hypervolume(&points, &r);
        let brute = brute_hv(&points, &r);
        prop_assert!((hv - brute).abs() <= tol(brute), "{hv} vs {brute}");
    }

    #[test]
    fn contributions_match_leave_one_out(points in int_points(10)) {
        let r = vec![5.0; dim(&points)];
        let all = hypervolume(&points, &r);
        let contrib = hypervolume_contributions(&points, &r);
        prop_assert_eq!(contrib.len(), points.len());
        for (i, c) in contrib.iter().enumerate() {
            let mut rest = points.clone();
            rest.remove(i);
            let expected = all - hypervolume(&rest, &r);
            prop_assert!((c - expected).abs() <= tol(all), "{i}: {c} vs {expected}");
        }
    }

    #[test]
    fn contributions_match_leave_one_out_float(points in float_points(8)) {
        let r = vec![0.9; dim(&points)];
        let all = hypervolume(&points, &r);
        let contrib = hypervolume_contributions(&points, &r);
        for (i, c) in contrib.iter().enumerate() {
            let mut rest = points.clone();
            rest.remove(i);
            let expected = all - hypervolume(&rest, &r);
            prop_assert!((c - expected).abs() <= tol(all), "{i}: {c} vs {expected}");
        }
    }

    /// On integer data every hypervolume is exact, so the selection order
    /// must equal the brute-force greedy's, tie-breaking included.
    #[test]
    fn hssp_matches_brute_greedy(points in int_points(10), k in 0usize..10) {
        let r = vec![5.0; dim(&points)];
        let got = hssp_greedy(&points, k, &r);
        if k >= points.len() {
            prop_assert_eq!(got, (0..points.len()).collect::<Vec<_>>());
        } else {
            let mut expected = Vec::new();
            while expected.len() < k {
                let gains = brute_greedy_gains(&points, &expected, &r);
                let best = gains.iter().fold(gains[0], |b, &g| if g.1 > b.1 { g } else { b });
                expected.push(best.0);
            }
            prop_assert_eq!(got, expected);
        }
    }

    /// On continuous data rounding may reorder near-ties: check each pick's
    /// brute-force gain is the best up to rounding.
    #[test]
    fn hssp_picks_best_gain_float(points in float_points(9), k in 1usize..9) {
        let r = vec![0.9; dim(&points)];
        let got = hssp_greedy(&points, k, &r);
        prop_assert_eq!(got.len(), k.min(points.len()));
        if k < points.len() {
            let total = hypervolume(&points, &r);
            for step in 0..k {
                let gains = brute_greedy_gains(&points, &got[..step], &r);
                let best = gains.iter().map(|g| g.1).fold(0.0, f64::max);
                let mine = gains.iter().find(|g| g.0 == got[step]).expect("unselected").1;
                prop_assert!(mine >= best - tol(total), "step {step}: {mine} < {best}");
            }
        }
    }

    #[test]
    fn hssp_within_greedy_bound_of_optimum(
        (points, k) in float_points_from(2, 7).prop_flat_map(|p| {
            let n = p.len();
            (Just(p), 1..n)
        })
    ) {
        let r = vec![1.0; dim(&points)];
        let n = points.len();
        let pick = |idx: &[usize]| idx.iter().map(|&i| points[i].clone()).collect::<Vec<_>>();
        let greedy = hypervolume(&pick(&hssp_greedy(&points, k, &r)), &r);
        let mut best: f64 = 0.0;
        for mask in 0u32..(1 << n) {
            if mask.count_ones() as usize == k {
                let idx: Vec<usize> = (0..n).filter(|&i| mask & (1 << i) != 0).collect();
                best = best.max(hypervolume(&pick(&idx), &r));
            }
        }
        prop_assert!(greedy >= (1.0 - 1.0 / std::f64::consts::E) * best - tol(best));
        prop_assert!(greedy <= best + tol(best));
    }

    #[test]
    fn archive_keeps_exactly_the_front(points in int_points(12)) {
        let front: ParetoFront<usize> = points.iter().cloned().enumerate().collect();
        let mut keys = front.keys().to_vec();
        keys.sort_unstable();
        prop_assert_eq!(keys, pareto_front(&points));
        let r = vec![5.0; dim(&points)];
        prop_assert!((front.hypervolume(&r) - hypervolume(&points, &r)).abs() <= tol(1.0));
    }

    #[test]
    fn normalise_keeps_domination(points in float_points(10)) {
        let ideal = ideal_point(&points);
        let nadir = nadir_reference(&points);
        let n = normalise(&points, &ideal, &nadir);
        for i in 0..points.len() {
            prop_assert!(n[i].iter().all(|&x| (0.0..1.0).contains(&x)));
            for j in 0..points.len() {
                prop_assert_eq!(dominates(&points[i], &points[j]), dominates(&n[i], &n[j]));
            }
        }
    }

    #[test]
    fn crowding_boundaries_infinite(points in float_points(10)) {
        let front = pareto_front(&points);
        let d = crowding_distance(&points, &front);
        prop_assert_eq!(d.len(), front.len());
        prop_assert!(d.iter().all(|&x| x >= 0.0));
        if !front.is_empty() {
            // The best member in the first objective is a boundary point.
            let best = (0..front.len())
                .min_by(|&a, &b| points[front[a]][0].total_cmp(&points[front[b]][0]).then(a.cmp(&b)))
                .expect("non-empty");
            prop_assert!(d[best].is_infinite());
        }
    }
}

#[test]
fn hand_examples() {
    let pts = vec![
        vec![1.0, 3.0],
        vec![2.0, 2.0],
        vec![3.0, 1.0],
        vec![3.0, 3.0],
        vec![2.0, 2.0],
    ];
    assert!(dominates(&pts[1], &pts[3]));
    assert!(!dominates(&pts[1], &pts[4]));
    assert_eq!(pareto_front(&pts), vec![0, 1, 2, 4]);
    assert_eq!(
        non_dominated_sort(&pts, None),
        vec![vec![0, 1, 2, 4], vec![3]]
    );
    let r = [4.0, 4.0];
    assert_relative_eq!(hypervolume(&pts, &r), 3.0 + 2.0 + 1.0);
    assert_eq!(
        hypervolume_contributions(&pts, &r),
        vec![1.0, 0.0, 1.0, 0.0, 0.0]
    );
    assert_eq!(hssp_greedy(&pts, 2, &r), vec![1, 0]);
    let cube = vec![vec![0.0, 0.0, 0.0]];
    assert_relative_eq!(hypervolume(&cube, &[1.0, 2.0, 3.0]), 6.0);
    let four = vec![vec![0.0; 4], vec![0.5; 4]];
    assert_relative_eq!(hypervolume(&four, &[1.0; 4]), 1.0);
    let four = vec![vec![0.0, 0.5, 0.5, 0.5], vec![0.5, 0.0, 0.5, 0.5]];
    assert_relative_eq!(hypervolume(&four, &[1.0; 4]), 0.125 + 0.0625);
    let three = vec![
        vec![0.0, 0.5, 0.5],
        vec![0.5, 0.0, 0.5],
        vec![0.5, 0.5, 0.0],
    ];
    assert_relative_eq!(hypervolume(&three, &[1.0; 3]), 0.5);
}

#[test]
fn one_objective() {
    let pts = vec![vec![3.0], vec![1.0], vec![2.0], vec![7.0]];
    assert_relative_eq!(hypervolume(&pts, &[5.0]), 4.0);
    assert_eq!(
        hypervolume_contributions(&pts, &[5.0]),
        vec![0.0, 1.0, 0.0, 0.0]
    );
    assert_eq!(hssp_greedy(&pts, 2, &[5.0]), vec![1, 0]);
    assert_eq!(
        non_dominated_sort(&pts, None),
        vec![vec![1], vec![2], vec![0], vec![3]]
    );
}

#[test]
fn reference_boundary_and_beyond() {
    // On the reference in one objective, beyond it, and equal to it.
    let pts = vec![vec![1.0, 4.0], vec![5.0, 0.0], vec![4.0, 4.0]];
    let r = [4.0, 4.0];
    assert_eq!(hypervolume(&pts, &r), 0.0);
    assert_eq!(hypervolume_contributions(&pts, &r), vec![0.0; 3]);
    assert_eq!(hssp_greedy(&pts, 2, &r), vec![0, 1]);
}

#[test]
fn duplicates_contribute_nothing_but_stay_on_the_front() {
    let pts = vec![
        vec![1.0, 1.0, 1.0],
        vec![1.0, 1.0, 1.0],
        vec![0.0, 2.0, 2.0],
    ];
    let r = [3.0; 3];
    assert_eq!(pareto_front(&pts), vec![0, 1, 2]);
    let c = hypervolume_contributions(&pts, &r);
    assert_eq!(c[0], 0.0);
    assert_eq!(c[1], 0.0);
    assert_relative_eq!(c[2], 1.0);
    // The first copy is picked, then the distinct point, then the copy.
    assert_eq!(hssp_greedy(&pts, 2, &r), vec![0, 2]);
}

#[test]
fn crowding_hand_computed() {
    // Front sorted by f1: a(0,4) b(1,2) c(2,1) d(4,0); ranges 4 and 4.
    let pts = vec![
        vec![2.0, 1.0],
        vec![0.0, 4.0],
        vec![4.0, 0.0],
        vec![1.0, 2.0],
    ];
    let d = crowding_distance(&pts, &[0, 1, 2, 3]);
    // c: (4-1)/4 + (2-0)/4 = 1.25; b: (2-0)/4 + (4-1)/4 = 1.25.
    assert_relative_eq!(d[0], 1.25);
    assert!(d[1].is_infinite() && d[2].is_infinite());
    assert_relative_eq!(d[3], 1.25);
    // Uneven spacing, and a constant objective that is ignored.
    let pts = vec![
        vec![0.0, 5.0, 1.0],
        vec![1.0, 4.0, 1.0],
        vec![3.0, 1.0, 1.0],
        vec![10.0, 0.0, 1.0],
    ];
    let d = crowding_distance(&pts, &[3, 2, 1, 0]);
    // point 1: (3-0)/10 + (5-1)/5 = 1.1; point 2: (10-1)/10 + (4-0)/5 = 1.7.
    assert!(d[0].is_infinite() && d[3].is_infinite());
    assert_relative_eq!(d[1], 1.7, max_relative = 1e-12);
    assert_relative_eq!(d[2], 1.1, max_relative = 1e-12);
    assert_eq!(crowding_distance(&pts, &[1, 2]), vec![f64::INFINITY; 2]);
}

#[test]
fn archive_insert_reports_entry() {
    let mut front = ParetoFront::new();
    assert!(front.insert(0, vec![2.0, 2.0]));
    assert!(!front.insert(1, vec![3.0, 3.0]));
    assert!(front.insert(2, vec![2.0, 2.0]));
    assert!(front.insert(3, vec![1.0, 1.0]));
    assert_eq!(front.keys(), &[3]);
    assert!(front.insert(4, vec![0.0, 5.0]));
    assert_eq!(front.len(), 2);
    assert_relative_eq!(front.hypervolume(&[6.0, 6.0]), 25.0 + 1.0 * 1.0);
}

/// Hypervolume by slicing along the last objective: the sum over slabs of
/// the `(m-1)`-objective hypervolume of the points below each slab. An
/// independent check of the 3-D sweep and of WFG on sets too large for the
/// grid.
fn sliced_hv(points: &[Vec<f64>], r: &[f64]) -> f64 {
    let m = r.len();
    let mut inside: Vec<&Vec<f64>> = points
        .iter()
        .filter(|p| p.iter().zip(r).all(|(x, y)| x < y))
        .collect();
    inside.sort_by(|a, b| a[m - 1].total_cmp(&b[m - 1]));
    let mut total = 0.0;
    for k in 0..inside.len() {
        let top = inside.get(k + 1).map_or(r[m - 1], |p| p[m - 1]);
        let below: Vec<Vec<f64>> = inside[..=k].iter().map(|p| p[..m - 1].to_vec()).collect();
        total += (top - inside[k][m - 1]) * hypervolume(&below, &r[..m - 1]);
    }
    total
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]

    #[test]
    fn larger_sets_match_slicing(
        (m, points) in (3usize..=5).prop_flat_map(|m| {
            let n = match m { 3 => 200, 4 => 60, _ => 25 };
            (Just(m), prop::collection::vec(prop::collection::vec(0.0f64..1.0, m), n))
        })
    ) {
        // Project onto the sphere so that most points are non-dominated.
        let front: Vec<Vec<f64>> = points
            .iter()
            .map(|p| {
                let norm = p.iter().map(|x| x * x).sum::<f64>().sqrt().max(1e-9);
                p.iter().map(|x| 1.0 - x / norm).collect()
            })
            .collect();
        let r = vec![1.0; m];
        let hv = hypervolume(&front, &r);
        let sliced = sliced_hv(&front, &r);
        prop_assert!((hv - sliced).abs() <= tol(sliced), "{hv} vs {sliced}");
        let c = hypervolume_contributions(&front, &r);
        let i = c.len() / 2;
        let mut rest = front.clone();
        rest.remove(i);
        let expected = hv - hypervolume(&rest, &r);
        prop_assert!((c[i] - expected).abs() <= 1e-9 * hv, "{} vs {expected}", c[i]);
    }
}

#[test]
fn empty_and_degenerate_inputs() {
    let none: Vec<Vec<f64>> = Vec::new();
    assert!(non_dominated_sort(&none, None).is_empty());
    assert!(pareto_front(&none).is_empty());
    assert!(crowding_distance(&none, &[]).is_empty());
    assert_eq!(hypervolume(&none, &[1.0, 1.0]), 0.0);
    assert!(hypervolume_contributions(&none, &[1.0; 3]).is_empty());
    assert!(hssp_greedy(&none, 3, &[1.0; 3]).is_empty());
    let pts = vec![vec![0.0, 0.0], vec![1.0, 1.0]];
    assert!(hssp_greedy(&pts, 0, &[2.0, 2.0]).is_empty());
    // All infeasible: one front per violation level, in increasing order.
    let fronts = non_dominated_sort(&pts, Some(&[2.0, 1.0]));
    assert_eq!(fronts, vec![vec![1], vec![0]]);
    // Feasible but dominated still ranks before any infeasible point.
    let fronts = non_dominated_sort(&pts, Some(&[1.0, 0.0]));
    assert_eq!(fronts, vec![vec![1], vec![0]]);
}
