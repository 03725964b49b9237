//! Domination, non-dominated sorting, the first front and crowding distance.

use std::cmp::Ordering;

/// Does `a` Pareto-dominate `b`? True when `a <= b` in every objective and
/// `a < b` in at least one (minimisation). Equal points do not dominate each
/// other.
///
/// # Panics
///
/// In debug builds, if the lengths differ.
#[inline]
pub fn dominates(a: &[f64], b: &[f64]) -> bool {
    debug_assert_eq!(a.len(), b.len(), "points of different lengths");
    let mut strictly = false;
    for (&x, &y) in a.iter().zip(b) {
        if x > y {
            return false;
        }
        if x < y {
            strictly = true;
        }
    }
    strictly
}

/// Is a total constraint violation feasible? Violations are non-negative by
/// construction; anything `<= 0` counts as feasible.
#[inline]
fn feasible(v: f64) -> bool {
    v <= 0.0
}

/// Constraint domination (Deb et al. 2002): a feasible point (violation
/// `<= 0`, normally exactly 0) beats an infeasible one; of two infeasible
/// points the one with the smaller violation wins (equal violations: neither
/// wins); two feasible points compare with [`dominates`].
#[inline]
pub fn constrained_dominates(a: &[f64], va: f64, b: &[f64], vb: f64) -> bool {
    match (feasible(va), feasible(vb)) {
        (true, true) => dominates(a, b),
        (true, false) => true,
        (false, true) => false,
        (false, false) => va < vb,
    }
}

/// Numeric lexicographic order (`-0.0 == 0.0`; NaN-free inputs assumed).
pub(crate) fn lex(a: &[f64], b: &[f64]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        match x.partial_cmp(y) {
            Some(Ordering::Equal) | None => {}
            Some(o) => return o,
        }
    }
    Ordering::Equal
}

/// Indices of `points` (restricted to `subset`) in numeric lexicographic
/// order. A point can only be dominated by points before it in this order.
fn lex_sorted(points: &[Vec<f64>], subset: impl Iterator<Item = usize>) -> Vec<usize> {
    let mut idx: Vec<usize> = subset.collect();
    idx.sort_by(|&i, &j| lex(&points[i], &points[j]).then(i.cmp(&j)));
    idx
}

/// ENS-BS non-dominated sort of `order` (already lexicographically sorted).
/// Fronts are returned with members in ascending index order.
fn ens_sort(points: &[Vec<f64>], order: &[usize]) -> Vec<Vec<usize>> {
    let m = order.first().map_or(0, |&i| points[i].len());
    let mut fronts: Vec<Vec<usize>> = Vec::new();
    for &q in order {
        let pq = &points[q];
        // Does front k hold a point that dominates q? True on a prefix of
        // the fronts: a dominator in front k is itself dominated by some
        // member of front k - 1, which then dominates q as well.
        let dominated_by = |front: &Vec<usize>| -> bool {
            if m == 2 {
                // Members of a 2-D front in lexicographic order have
                // decreasing second objective: the last one is the only
                // candidate dominator.
                let last = *front.last().expect("fronts are never empty");
                dominates(&points[last], pq)
            } else {
                front.iter().rev().any(|&p| dominates(&points[p], pq))
            }
        };
        let (mut lo, mut hi) = (0, fronts.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            if dominated_by(&fronts[mid]) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        if lo == fronts.len() {
            fronts.push(vec![q]);
        } else {
            fronts[lo].push(q);
        }
    }
    for f in &mut fronts {
        f.sort_unstable();
    }
    fronts
}

/// Non-dominated sorting: the fronts of `points`, as indices, front 0 being
/// the non-dominated points, front 1 those dominated only by front 0, and
/// so on. Members of each front are in ascending index order; equal points
/// always share a front.
///
/// With `violations` (one per point) the sort uses
/// [`constrained_dominates`]: all feasible points come first, sorted by
/// Pareto domination, then the infeasible ones, one front per distinct
/// violation value in increasing order.
///
/// Algorithm: ENS-BS (Zhang et al. 2015). After a lexicographic sort no
/// point can be dominated by a later one, so each point is placed, in
/// order, into the first existing front none of whose members dominates it,
/// found by binary search over the fronts. In 2-D each front test is `O(1)`
/// and the sort is `O(n log n)`; in general `O(m n^2)` in the worst case
/// (every point in its own front or one big front), typically much less.
///
/// # Panics
///
/// If `violations` has a different length from `points`.
pub fn non_dominated_sort(points: &[Vec<f64>], violations: Option<&[f64]>) -> Vec<Vec<usize>> {
    let Some(viol) = violations else {
        return ens_sort(points, &lex_sorted(points, 0..points.len()));
    };
    assert_eq!(viol.len(), points.len(), "one violation per point");
    let order = lex_sorted(points, (0..points.len()).filter(|&i| feasible(viol[i])));
    let mut fronts = ens_sort(points, &order);
    let mut infeasible: Vec<usize> = (0..points.len()).filter(|&i| !feasible(viol[i])).collect();
    infeasible.sort_by(|&i, &j| viol[i].total_cmp(&viol[j]).then(i.cmp(&j)));
    let mut start = 0;
    while start < infeasible.len() {
        let v = viol[infeasible[start]];
        let mut end = start + 1;
        #[allow(clippy::float_cmp)] // equal violations tie exactly, by definition
        while end < infeasible.len() && viol[infeasible[end]] == v {
            end += 1;
        }
        fronts.push(infeasible[start..end].to_vec());
        start = end;
    }
    fronts
}

/// Indices of the non-dominated points of `points` (the first front), in
/// ascending order. Duplicates of a non-dominated point are all kept.
///
/// Points are visited in lexicographic order, so a point can only be
/// dominated by earlier points, and the archive of non-dominated points seen
/// so far only grows: `O(n log n)` in 2-D (only the last archive member can
/// dominate the next point), `O(m n f)` otherwise, `f` being the front size.
pub fn pareto_front(points: &[Vec<f64>]) -> Vec<usize> {
    let order = lex_sorted(points, 0..points.len());
    let mut front: Vec<usize> = Vec::new();
    let two_d = points.first().is_some_and(|p| p.len() == 2);
    for q in order {
        let dominated = if two_d {
            front
                .last()
                .is_some_and(|&p| dominates(&points[p], &points[q]))
        } else {
            front
                .iter()
                .rev()
                .any(|&p| dominates(&points[p], &points[q]))
        };
        if !dominated {
            front.push(q);
        }
    }
    front.sort_unstable();
    front
}

/// NSGA-II crowding distance of each member of `front` (indices into
/// `points`), returned in the order of `front`.
///
/// For each objective the members are sorted by that objective (ties by
/// position in `front`); the first and last get `f64::INFINITY`, every other
/// member adds the gap between its two neighbours divided by the
/// objective's range over the front. Objectives with zero range over the
/// front are skipped (they cannot tell members apart). Fronts of one or two
/// members are all boundary: every distance is infinite.
pub fn crowding_distance(points: &[Vec<f64>], front: &[usize]) -> Vec<f64> {
    let n = front.len();
    let mut dist = vec![0.0; n];
    if n <= 2 {
        return vec![f64::INFINITY; n];
    }
    let m = points[front[0]].len();
    let mut order: Vec<usize> = (0..n).collect();
    let mut col = vec![0.0; n];
    #[allow(clippy::needless_range_loop)] // j is an objective, not a position in `points`
    for j in 0..m {
        for (c, &i) in col.iter_mut().zip(front) {
            *c = points[i][j];
        }
        let val = |k: usize| col[k];
        order.sort_by(|&a, &b| val(a).total_cmp(&val(b)).then(a.cmp(&b)));
        let lo = val(order[0]);
        let hi = val(order[n - 1]);
        let range = hi - lo;
        if range <= 0.0 {
            continue;
        }
        dist[order[0]] = f64::INFINITY;
        dist[order[n - 1]] = f64::INFINITY;
        for w in order.windows(3) {
            dist[w[1]] += (val(w[2]) - val(w[0])) / range;
        }
    }
    dist
}
