//! Greedy hypervolume subset selection.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use super::hypervolume::{hv_flat, inclusive, Staircase};

/// A candidate in the lazy-greedy queue: its marginal gain as last
/// computed (an upper bound on its current gain) and the round it was
/// computed in.
#[derive(Debug)]
struct Candidate {
    gain: f64,
    index: usize,
    round: usize,
    /// Selected points already folded into `gain` by the pairwise bound.
    checked: usize,
}

impl PartialEq for Candidate {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}
impl Eq for Candidate {}
impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Candidate {
    /// Larger gain first; on equal gains the lower index first.
    fn cmp(&self, other: &Self) -> Ordering {
        self.gain
            .total_cmp(&other.gain)
            .then_with(|| other.index.cmp(&self.index))
    }
}

/// The hypervolume dominated by the points selected so far, in the form
/// that makes marginal gains cheap for the number of objectives.
enum Selected<'r> {
    /// 1 objective: the best value so far.
    One { best: f64 },
    /// 2 objectives: the staircase of selected points.
    Two {
        stairs: Staircase,
        scratch: Vec<u64>,
    },
    /// 3 or more: the selected points inside the reference, flattened.
    Many {
        flat: Vec<f64>,
        limit: Vec<f64>,
        reference: &'r [f64],
    },
}

impl<'r> Selected<'r> {
    fn new(reference: &'r [f64]) -> Selected<'r> {
        match reference.len() {
            1 => Selected::One { best: reference[0] },
            2 => Selected::Two {
                stairs: Staircase::new(reference[0], reference[1]),
                scratch: Vec::new(),
            },
            _ => Selected::Many {
                flat: Vec::new(),
                limit: Vec::new(),
                reference,
            },
        }
    }

    /// Hypervolume `p` would add (0 when it is not strictly inside the
    /// reference).
    fn gain(&mut self, p: &[f64], reference: &[f64]) -> f64 {
        if inclusive(p, reference) <= 0.0 {
            return 0.0;
        }
        let g = match self {
            Selected::One { best } => *best - p[0],
            Selected::Two { stairs, .. } => stairs.gain(p[0], p[1]),
            Selected::Many {
                flat,
                limit,
                reference,
            } => {
                let m = reference.len();
                limit.clear();
                for q in flat.chunks_exact(m) {
                    limit.extend(p.iter().zip(q).map(|(a, b)| a.max(*b)));
                }
                inclusive(p, reference) - hv_flat(limit, reference)
            }
        };
        if g > 0.0 {
            g
        } else {
            0.0
        }
    }

    fn add(&mut self, p: &[f64], reference: &[f64]) {
        if inclusive(p, reference) <= 0.0 {
            return;
        }
        match self {
            Selected::One { best } => *best = best.min(p[0]),
            Selected::Two { stairs, scratch } => {
                stairs.insert(p[0], p[1], scratch);
            }
            Selected::Many { flat, .. } => flat.extend_from_slice(p),
        }
    }
}

/// An upper bound on the gain of `c`'s point given a selection that
/// includes `newly` (indices of points selected since `c` was last
/// bounded): by submodularity its gain is at most what it adds to any one
/// selected point `t`, `inclusive(p) - inclusive(max(p, t))`, `O(m)` each
/// against a hypervolume of the whole selection. Inflated by a relative
/// `1e-12` so that rounding never puts it below the exact gain.
fn pairwise_bound(points: &[Vec<f64>], newly: &[usize], c: &Candidate, reference: &[f64]) -> f64 {
    let p = &points[c.index];
    let own = inclusive(p, reference);
    let mut bound = c.gain;
    let mut corner = vec![0.0; p.len()];
    for &t in newly {
        for ((x, a), b) in corner.iter_mut().zip(p).zip(&points[t]) {
            *x = a.max(*b);
        }
        bound = bound.min(own - inclusive(&corner, reference));
    }
    bound.max(0.0) + 1e-12 * own
}

/// Greedy hypervolume subset selection: `k` indices of `points` chosen one
/// at a time, each step adding the point whose marginal hypervolume gain
/// (with respect to `reference`) is largest, ties going to the lower index.
/// Returns the indices in selection order; if `k >= points.len()`, returns
/// every index in ascending order.
///
/// Once no remaining point adds anything (all dominated by the selection,
/// duplicates of it, or outside the reference), the rest are taken in index
/// order. Greedy selection reaches at least `1 - 1/e` of the best subset's
/// hypervolume because hypervolume is monotone submodular (Guerreiro,
/// Fonseca & Paquete 2016 give exact low-dimensional algorithms; this is
/// the greedy variant they analyse).
///
/// Submodularity also means a point's gain can only shrink as the
/// selection grows, so gains are evaluated lazily: a max-queue holds each
/// point's last computed gain as an upper bound, and only the queue's top
/// is re-evaluated until one that is up to date stays on top (Minoux's
/// accelerated greedy). A gain costs `O(log k)` plus the covered steps in 2-D
/// (a staircase of the selection), and one `(m)`-objective hypervolume of
/// at most `k` clipped points in 3 or more objectives; there a stale
/// bound is first tightened by what the point adds to each newly selected
/// point alone (`O(m)` each; Optuna's HSSP uses the same bound), and the
/// hypervolume is computed only if the point still tops the queue. With
/// many objectives nearly every point is non-dominated and each
/// hypervolume is expensive, so this skips most of them.
///
/// # Panics
///
/// If a point's length differs from the reference's.
pub fn hssp_greedy(points: &[Vec<f64>], k: usize, reference: &[f64]) -> Vec<usize> {
    let n = points.len();
    if k >= n {
        return (0..n).collect();
    }
    for p in points {
        assert_eq!(
            p.len(),
            reference.len(),
            "point and reference lengths differ"
        );
    }
    if k == 0 || reference.is_empty() {
        return (0..k).collect();
    }
    let mut selected = Selected::new(reference);
    let mut queue: BinaryHeap<Candidate> = points
        .iter()
        .enumerate()
        .map(|(index, p)| Candidate {
            gain: inclusive(p, reference),
            index,
            round: 0,
            checked: 0,
        })
        .collect();
    let mut out = Vec::with_capacity(k);
    while out.len() < k {
        let top = queue.pop().expect("k < n leaves candidates");
        let round = out.len();
        // Up to date, or a bound of 0 (gains never grow): it is the best.
        if top.round == round || top.gain <= 0.0 {
            selected.add(&points[top.index], reference);
            out.push(top.index);
        } else {
            if reference.len() >= 3 && top.checked < round {
                // Cheap first: gain(p | S) <= gain(p | {t}) for each t in S.
                let bound = pairwise_bound(points, &out[top.checked..], &top, reference);
                if queue.peek().is_some_and(|next| bound < next.gain) {
                    queue.push(Candidate {
                        gain: bound,
                        checked: round,
                        ..top
                    });
                    continue;
                }
            }
            let gain = selected.gain(&points[top.index], reference);
            queue.push(Candidate {
                gain,
                index: top.index,
                round,
                checked: round,
            });
        }
    }
    out
}
