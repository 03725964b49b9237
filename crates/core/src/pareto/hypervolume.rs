//! Exact hypervolume and exclusive hypervolume contributions.
//!
//! Internally points live in flat buffers (`n * m` values, row-major) that
//! are already filtered to those strictly better than the reference point
//! in every objective; the public functions do that filtering.

use std::collections::BTreeMap;

use super::dominance::lex;
use super::radix::{sort_by_f64_key, ukey};

/// The region of the plane dominated by a set of points and bounded by a
/// reference point `(rx, ry)`, kept as a staircase: points sorted by `x`
/// with strictly decreasing `y`, none dominating another.
///
/// Inserting a point or asking what it would add costs `O(log s)` plus the
/// number of steps it covers, each step being removed at most once.
#[derive(Debug, Clone)]
pub(crate) struct Staircase {
    steps: BTreeMap<u64, (f64, f64)>,
    rx: f64,
    ry: f64,
    area: f64,
}

impl Staircase {
    /// An empty staircase under the reference point `(rx, ry)`.
    pub(crate) fn new(rx: f64, ry: f64) -> Staircase {
        Staircase {
            steps: BTreeMap::new(),
            rx,
            ry,
            area: 0.0,
        }
    }

    /// The dominated area so far.
    pub(crate) fn area(&self) -> f64 {
        self.area
    }

    /// Area `(x, y)` would add (`None` if a step weakly dominates it), and
    /// the keys of the steps it would cover (pushed into `covered` when
    /// given). `(x, y)` must be strictly inside the reference point.
    fn walk(&self, x: f64, y: f64, mut covered: Option<&mut Vec<u64>>) -> Option<f64> {
        let k = ukey(x);
        if let Some((_, &(_, py))) = self.steps.range(..=k).next_back() {
            if py <= y {
                return None;
            }
        }
        let mut height = self
            .steps
            .range(..k)
            .next_back()
            .map_or(self.ry, |(_, &(_, py))| py);
        let mut cur = x;
        let mut gained = 0.0;
        for (&sk, &(sx, sy)) in self.steps.range(k..) {
            gained += (sx - cur) * (height - y);
            if sy < y {
                return Some(gained);
            }
            if let Some(c) = covered.as_deref_mut() {
                c.push(sk);
            }
            height = sy;
            cur = sx;
        }
        Some(gained + (self.rx - cur) * (height - y))
    }

    /// Area that inserting `(x, y)` would add (0 if it is weakly dominated).
    pub(crate) fn gain(&self, x: f64, y: f64) -> f64 {
        self.walk(x, y, None).unwrap_or(0.0)
    }

    /// Inserts `(x, y)` (strictly inside the reference point), returning the
    /// area it added. `scratch` is working memory.
    pub(crate) fn insert(&mut self, x: f64, y: f64, scratch: &mut Vec<u64>) -> f64 {
        scratch.clear();
        let Some(gained) = self.walk(x, y, Some(scratch)) else {
            return 0.0;
        };
        for k in scratch.iter() {
            self.steps.remove(k);
        }
        self.steps.insert(ukey(x), (x, y));
        self.area += gained;
        gained
    }
}

/// Points of `points` strictly better than `reference` in every objective,
/// flattened.
fn inside_flat(points: &[Vec<f64>], reference: &[f64]) -> Vec<f64> {
    let m = reference.len();
    let mut flat = Vec::with_capacity(points.len() * m);
    for p in points {
        assert_eq!(p.len(), m, "point and reference lengths differ");
        if strictly_inside(p, reference) {
            flat.extend_from_slice(p);
        }
    }
    flat
}

#[inline]
fn strictly_inside(p: &[f64], reference: &[f64]) -> bool {
    p.iter().zip(reference).all(|(x, r)| x < r)
}

/// Volume of the box between `p` and `reference`.
#[inline]
fn box_volume(p: &[f64], reference: &[f64]) -> f64 {
    p.iter().zip(reference).map(|(x, r)| r - x).product()
}

/// Exact hypervolume of the region dominated by `points` and bounded by
/// `reference` (minimisation: the union of the boxes `[p, reference]`).
///
/// Points that are not strictly better than `reference` in every
/// objective contribute nothing; dominated and duplicate points are
/// harmless. NaN-free input assumed.
///
/// * 1 objective: `reference - min`.
/// * 2 objectives: sort and sweep, `O(n log n)`.
/// * 3 objectives: sweep over the third objective, keeping the 2-D
///   staircase of the points seen so far in a balanced tree; each point is
///   inserted and removed at most once, `O(n log n)` (Fonseca, Paquete &
///   López-Ibáñez 2006; Beume et al. 2009).
/// * 4 or more: WFG (While, Bradstreet & Barone 2012). Points sorted by the
///   last objective, worst first, so the volume is the sum of each point's
///   exclusive volume with respect to the points after it; every such
///   limit set shares the last coordinate of the point, so the exclusive
///   volume is a slab of an `(m-1)`-objective problem, solved recursively
///   (down to the 3-D sweep) on the non-dominated part of the limit set.
///
/// # Panics
///
/// If a point's length differs from the reference's.
pub fn hypervolume(points: &[Vec<f64>], reference: &[f64]) -> f64 {
    if reference.len() == 2 {
        let mut pts: Vec<[f64; 2]> = points
            .iter()
            .filter(|p| {
                assert_eq!(p.len(), 2, "point and reference lengths differ");
                p[0] < reference[0] && p[1] < reference[1]
            })
            .map(|p| [p[0], p[1]])
            .collect();
        return hv2_rows(&mut pts, reference[0], reference[1]);
    }
    let mut flat = inside_flat(points, reference);
    hv_flat(&mut flat, reference)
}

/// Hypervolume of a flat buffer of points, all strictly inside `reference`.
/// May reorder the buffer.
pub(crate) fn hv_flat(flat: &mut [f64], reference: &[f64]) -> f64 {
    let m = reference.len();
    if m == 0 || flat.is_empty() {
        return 0.0;
    }
    match m {
        1 => reference[0] - flat.iter().copied().fold(f64::INFINITY, f64::min),
        2 => hv2(flat, reference[0], reference[1]),
        3 => hv3(flat, reference),
        _ => {
            let mut front = nondominated_flat(flat, m);
            wfg(&mut front, reference)
        }
    }
}

/// 2-D sweep over a flat buffer.
fn hv2(flat: &mut [f64], rx: f64, ry: f64) -> f64 {
    let mut pts = as_rows::<2>(flat).to_vec();
    hv2_rows(&mut pts, rx, ry)
}

/// 2-D sweep: by increasing first objective, each point that lowers the
/// best second objective so far adds the strip between the two levels.
fn hv2_rows(pts: &mut Vec<[f64; 2]>, rx: f64, ry: f64) -> f64 {
    // Ties in the first objective may come in any order: the sweep adds
    // the same total for them whichever comes first.
    sort_by_f64_key(pts, |p| p[0]);
    let mut best = ry;
    let mut area = 0.0;
    for p in pts.iter() {
        if p[1] < best {
            area += (rx - p[0]) * (best - p[1]);
            best = p[1];
        }
    }
    area
}

/// 3-D sweep over the third objective with a 2-D staircase.
fn hv3(flat: &mut [f64], reference: &[f64]) -> f64 {
    let mut pts = as_rows::<3>(flat).to_vec();
    sort_by_f64_key(&mut pts, |p| p[2]);
    let mut stairs = Staircase::new(reference[0], reference[1]);
    let mut scratch = Vec::new();
    let mut volume = 0.0;
    let mut z = pts[0][2];
    for p in pts.iter() {
        volume += stairs.area() * (p[2] - z);
        z = p[2];
        stairs.insert(p[0], p[1], &mut scratch);
    }
    volume + stairs.area() * (reference[2] - z)
}

/// Views a flat buffer as rows of `M` values.
fn as_rows<const M: usize>(flat: &[f64]) -> &[[f64; M]] {
    let (rows, rest) = flat.as_chunks::<M>();
    debug_assert!(rest.is_empty());
    rows
}

/// WFG on a non-dominated, duplicate-free flat buffer, `m >= 4`.
fn wfg(flat: &mut [f64], reference: &[f64]) -> f64 {
    let m = reference.len();
    let n = flat.len() / m;
    if n == 1 {
        return box_volume(flat, reference);
    }
    // Worst last objective first.
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_unstable_by(|&a, &b| flat[b * m + m - 1].total_cmp(&flat[a * m + m - 1]));
    let sorted: Vec<f64> = order
        .iter()
        .flat_map(|&i| flat[i * m..(i + 1) * m].iter().copied())
        .collect();
    let sub_ref = &reference[..m - 1];
    let mut limit = Vec::with_capacity(n * (m - 1));
    let mut total = 0.0;
    for k in 0..n {
        let p = &sorted[k * m..(k + 1) * m];
        let slab = reference[m - 1] - p[m - 1];
        let inclusive = box_volume(&p[..m - 1], sub_ref);
        limit.clear();
        for q in sorted[(k + 1) * m..].chunks_exact(m) {
            for j in 0..m - 1 {
                limit.push(p[j].max(q[j]));
            }
        }
        let covered = hv_flat(&mut limit, sub_ref);
        total += slab * (inclusive - covered);
    }
    total
}

/// The non-dominated points of a flat buffer (`m` values per point), one
/// copy of each, flattened.
pub(crate) fn nondominated_flat(flat: &[f64], m: usize) -> Vec<f64> {
    let n = flat.len() / m;
    let row = |i: usize| &flat[i * m..(i + 1) * m];
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_unstable_by(|&a, &b| lex(row(a), row(b)));
    let mut kept: Vec<usize> = Vec::new();
    'next: for &i in &order {
        let q = row(i);
        // Earlier points in lexicographic order are the only candidate
        // dominators; weak domination also drops duplicates.
        for &j in kept.iter().rev() {
            if row(j).iter().zip(q).all(|(a, b)| a <= b) {
                continue 'next;
            }
        }
        kept.push(i);
    }
    kept.iter().flat_map(|&i| row(i).iter().copied()).collect()
}

/// Exclusive hypervolume contribution of each point:
/// `hypervolume(all) - hypervolume(all without i)`, in the order of
/// `points`.
///
/// Dominated points, points not strictly better than the reference in every
/// objective, and duplicated points (removing one copy leaves the other)
/// get exactly 0.
///
/// * 2 objectives: the non-dominated points sorted by the first objective
///   form a staircase; a point's contribution is the rectangle between its
///   neighbours minus what the points dominated by it alone cover there,
///   all found in one lexicographic sweep: `O(n log n)` overall.
/// * otherwise: each non-dominated point's box minus the hypervolume of its
///   limit set (the other front points, and the points it alone dominates,
///   clipped to its box), as in WFG: `f` hypervolume computations on about
///   `f` points for a front of `f` points, `O(f^2 log f)` in 3-D (plus
///   `O(m n f)` to find who dominates whom).
///
/// # Panics
///
/// If a point's length differs from the reference's.
pub fn hypervolume_contributions(points: &[Vec<f64>], reference: &[f64]) -> Vec<f64> {
    let m = reference.len();
    if m == 2 {
        return contributions2(points, reference[0], reference[1]);
    }
    let n = points.len();
    let mut out = vec![0.0; n];
    let inside: Vec<usize> = (0..n)
        .filter(|&i| {
            assert_eq!(points[i].len(), m, "point and reference lengths differ");
            strictly_inside(&points[i], reference)
        })
        .collect();
    if inside.is_empty() || m == 0 {
        return out;
    }
    // Unique non-dominated points, in lexicographic order.
    let mut order = inside;
    order.sort_by(|&a, &b| lex(&points[a], &points[b]));
    let mut front: Vec<usize> = Vec::new();
    let mut duplicated: Vec<bool> = Vec::new();
    // Per front member, the points dominated by it alone: removing the
    // member uncovers them. Points dominated by two or more members never
    // matter.
    let mut shadows: Vec<Vec<usize>> = Vec::new();
    for &i in &order {
        let q = &points[i];
        if let Some(&last) = front.last() {
            if lex(&points[last], q).is_eq() {
                *duplicated.last_mut().expect("parallel to front") = true;
                continue;
            }
        }
        // Only earlier points can dominate q, so all its dominators on the
        // front are known by now.
        let mut dominators = front
            .iter()
            .enumerate()
            .rev()
            .filter(|&(_, &j)| weakly_dominates(&points[j], q))
            .map(|(k, _)| k);
        match (dominators.next(), dominators.next()) {
            (None, _) => {
                front.push(i);
                duplicated.push(false);
                shadows.push(Vec::new());
            }
            (Some(k), None) => shadows[k].push(i),
            (Some(_), Some(_)) => {}
        }
    }
    if m == 1 {
        if !duplicated[0] {
            // One unique minimum; the next-best value bounds its exclusive
            // part.
            let next = order
                .iter()
                .map(|&i| points[i][0])
                .find(|&v| v > points[front[0]][0])
                .unwrap_or(reference[0]);
            out[front[0]] = next - points[front[0]][0];
        }
        return out;
    }
    // Each member's box minus the hypervolume of the other members and its
    // shadow, clipped to the box.
    let mut limit = Vec::with_capacity(order.len() * m);
    for (k, &i) in front.iter().enumerate() {
        if duplicated[k] {
            continue;
        }
        let p = &points[i];
        limit.clear();
        for &j in front.iter().chain(&shadows[k]) {
            if j != i {
                limit.extend(p.iter().zip(&points[j]).map(|(a, b)| a.max(*b)));
            }
        }
        let covered = hv_flat(&mut limit, reference);
        out[i] = (box_volume(p, reference) - covered).max(0.0);
    }
    out
}

/// A member of the 2-D staircase in [`contributions2`].
struct Step {
    x: f64,
    y: f64,
    index: usize,
    duplicated: bool,
    /// Range in the shadow list of the points dominated by this step alone.
    shadows: std::ops::Range<usize>,
}

/// 2-D contributions. Sorted lexicographically, the unique non-dominated
/// points form a staircase; a member's exclusive region lies in the
/// rectangle between its neighbours, less what the points dominated by it
/// alone (its "shadow") cover there. In lexicographic order those points
/// arrive while the member is the last of the staircase, so one sweep finds
/// everything; each shadow is then measured by a 2-D sweep bounded by the
/// rectangle. `O(n log n)` overall (radix sorts, linear sweeps).
fn contributions2(points: &[Vec<f64>], rx: f64, ry: f64) -> Vec<f64> {
    let mut out = vec![0.0; points.len()];
    let mut pts: Vec<(f64, f64, usize)> = points
        .iter()
        .enumerate()
        .filter(|(_, p)| {
            assert_eq!(p.len(), 2, "point and reference lengths differ");
            p[0] < rx && p[1] < ry
        })
        .map(|(i, p)| (p[0], p[1], i))
        .collect();
    // Two stable sorts: lexicographic order.
    sort_by_f64_key(&mut pts, |p| p.1);
    sort_by_f64_key(&mut pts, |p| p.0);
    let mut steps: Vec<Step> = Vec::new();
    let mut shadows: Vec<[f64; 2]> = Vec::new();
    for &(x, y, index) in &pts {
        if let Some(last) = steps.last_mut() {
            // `last.x <= x` by the order.
            if last.y <= y {
                #[allow(clippy::float_cmp)] // duplicates are exactly equal points
                if last.x == x && last.y == y {
                    last.duplicated = true;
                } else {
                    shadows.push([x, y]);
                    last.shadows.end = shadows.len();
                }
                continue;
            }
        }
        steps.push(Step {
            x,
            y,
            index,
            duplicated: false,
            shadows: shadows.len()..shadows.len(),
        });
    }
    for (k, step) in steps.iter().enumerate() {
        if step.duplicated {
            continue;
        }
        let right = steps.get(k + 1).map_or(rx, |s| s.x);
        let above = if k > 0 { steps[k - 1].y } else { ry };
        let rect = (right - step.x) * (above - step.y);
        let covered = sweep_sorted(&shadows[step.shadows.clone()], right, above);
        out[step.index] = (rect - covered).max(0.0);
    }
    out
}

/// 2-D hypervolume of points already in lexicographic order, bounded by
/// `(rx, ry)`; points outside the bound are ignored.
fn sweep_sorted(pts: &[[f64; 2]], rx: f64, ry: f64) -> f64 {
    let mut best = ry;
    let mut area = 0.0;
    for p in pts {
        if p[0] >= rx {
            break;
        }
        if p[1] < best {
            area += (rx - p[0]) * (best - p[1]);
            best = p[1];
        }
    }
    area
}

#[inline]
fn weakly_dominates(a: &[f64], b: &[f64]) -> bool {
    a.iter().zip(b).all(|(x, y)| x <= y)
}

/// Volume of the box between `p` and `reference`, for callers in the
/// module (zero unless `p` is strictly inside).
pub(crate) fn inclusive(p: &[f64], reference: &[f64]) -> f64 {
    if strictly_inside(p, reference) {
        box_volume(p, reference)
    } else {
        0.0
    }
}
