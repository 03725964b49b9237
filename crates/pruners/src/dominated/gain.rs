//! `min_gain`: a final point that is not dominated can still be worth
//! nothing. Three objectives, two of them cheap and measured with noise
//! (latency), make nearly every small model non-dominated by a hair; a
//! trial that could only ever add a sliver of hypervolume is not worth its
//! remaining epochs. With `min_gain = g`, a drawn final point *matters*
//! when it is not dominated **and** either
//!
//! * it reaches past the front's extent (worse than the front's nadir plus
//!   10 % of its range in some objective, while not dominated: it would
//!   stretch the front, and the study's reference point with it), or
//! * adding it to the front raises the front's hypervolume by at least `g`
//!   of that hypervolume, objectives normalised by the front's ideal and
//!   nadir, reference 1.1 in each (the reference the reports use).
//!
//! The gain is the point's exclusive volume: the volume of its box to the
//! reference minus the hypervolume of the front clipped to that box. With
//! fewer than two front points, or more than four objectives (where an
//! exact hypervolume per draw stops being cheap), only dominance counts.

use paretosearch_core::pareto::{dominates, hypervolume};

/// Objectives past which the gain is not computed.
const MAX_OBJECTIVES: usize = 4;
/// The reference in normalised objectives.
const REFERENCE: f64 = 1.1;

/// The front, normalised, and its hypervolume: what a draw is judged by.
pub(crate) struct Gain {
    front: Vec<Vec<f64>>,
    normalised: Vec<Vec<f64>>,
    ideal: Vec<f64>,
    scale: Vec<f64>,
    volume: f64,
    min_gain: f64,
}

impl Gain {
    /// The judge at `min_gain` against the front of `refs` (minimised
    /// points; the dominated ones are dropped).
    pub(crate) fn new(refs: &[Vec<f64>], min_gain: f64) -> Gain {
        let front: Vec<Vec<f64>> = refs
            .iter()
            .filter(|a| !refs.iter().any(|b| dominates(b, a)))
            .cloned()
            .collect();
        let d = front.first().map_or(0, Vec::len);
        let ideal: Vec<f64> = (0..d)
            .map(|i| front.iter().map(|p| p[i]).fold(f64::INFINITY, f64::min))
            .collect();
        let scale: Vec<f64> = (0..d)
            .map(|i| {
                let nadir = front.iter().map(|p| p[i]).fold(f64::NEG_INFINITY, f64::max);
                let range = nadir - ideal[i];
                if range > 0.0 {
                    range
                } else {
                    1e-12 * ideal[i].abs().max(1.0)
                }
            })
            .collect();
        let active = min_gain > 0.0 && front.len() >= 2 && d <= MAX_OBJECTIVES;
        let normalised: Vec<Vec<f64>> = if active {
            front.iter().map(|p| norm(p, &ideal, &scale)).collect()
        } else {
            Vec::new()
        };
        let volume = if active {
            hypervolume(&normalised, &vec![REFERENCE; d])
        } else {
            0.0
        };
        Gain {
            front,
            normalised,
            ideal,
            scale,
            volume,
            min_gain: if active && volume > 0.0 {
                min_gain
            } else {
                0.0
            },
        }
    }

    /// Whether the (minimised) final point `p` matters.
    pub(crate) fn matters(&self, p: &[f64]) -> bool {
        if self.front.iter().any(|r| dominates(r, p)) {
            return false;
        }
        if self.min_gain == 0.0 {
            return true;
        }
        let q = norm(p, &self.ideal, &self.scale);
        if q.iter().any(|v| *v >= REFERENCE) {
            return true;
        }
        let d = q.len();
        let boxed: f64 = q.iter().map(|v| REFERENCE - v).product();
        let clipped: Vec<Vec<f64>> = self
            .normalised
            .iter()
            .map(|f| f.iter().zip(&q).map(|(a, b)| a.max(*b)).collect())
            .collect();
        let covered = hypervolume(&clipped, &vec![REFERENCE; d]);
        boxed - covered >= self.min_gain * self.volume
    }
}

fn norm(p: &[f64], ideal: &[f64], scale: &[f64]) -> Vec<f64> {
    p.iter()
        .zip(ideal)
        .zip(scale)
        .map(|((v, lo), s)| (v - lo) / s)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn front() -> Vec<Vec<f64>> {
        vec![vec![0.0, 1.0], vec![0.5, 0.5], vec![1.0, 0.0]]
    }

    /// Hand-computed: the front (0,1), (.5,.5), (1,0) with reference 1.1
    /// covers 0.5·0.1 + 0.5·0.6 + 0.1·1.1 = 0.46 (slabs by the first
    /// objective: [0, .5) of height 0.1, [.5, 1) of 0.6, [1, 1.1) of 1.1).
    /// The point (0.25, 0.75) adds the box [.25, .5) × [.75, 1) = 0.0625
    /// (13.6 % of 0.46); (0.49, 0.99) adds 0.01 · 0.01 = 1e-4 (0.022 %).
    #[test]
    fn gain_is_the_exclusive_volume_against_a_share_of_the_front() {
        let g = Gain::new(&front(), 0.1);
        assert!((g.volume - 0.46).abs() < 1e-12, "{}", g.volume);
        assert!(g.matters(&[0.25, 0.75]));
        assert!(!Gain::new(&front(), 0.14).matters(&[0.25, 0.75]));
        let tiny = [0.49, 0.99];
        assert!(Gain::new(&front(), 0.0).matters(&tiny));
        assert!(Gain::new(&front(), 1e-4).matters(&tiny));
        assert!(!Gain::new(&front(), 1e-3).matters(&tiny));
        // Dominated never matters; past the extent always does.
        assert!(!Gain::new(&front(), 0.0).matters(&[0.6, 0.6]));
        assert!(Gain::new(&front(), 0.4).matters(&[-0.01, 5.0]));
        assert!(Gain::new(&front(), 0.4).matters(&[1.2, -0.5]));
    }

    /// The brute-force check: the gain equals HV(front ∪ p) − HV(front).
    #[test]
    fn gain_matches_the_difference_of_hypervolumes() {
        let f3 = vec![
            vec![0.0, 0.4, 1.0],
            vec![0.3, 0.0, 0.8],
            vec![1.0, 1.0, 0.0],
            vec![0.6, 0.6, 0.3],
        ];
        let reference = vec![REFERENCE; 3];
        let base = hypervolume(&f3, &reference);
        for p in [
            [0.2, 0.3, 0.9],
            [0.5, 0.5, 0.5],
            [0.9, 0.1, 0.2],
            [0.05, 0.35, 0.95],
        ] {
            let mut with = f3.clone();
            with.push(p.to_vec());
            let share = (hypervolume(&with, &reference) - base) / base;
            // The front's ideal is 0 and nadir 1 in every objective, so
            // normalisation is the identity here.
            assert!(Gain::new(&f3, share * 0.999).matters(&p), "{p:?} {share}");
            assert!(!Gain::new(&f3, share * 1.001).matters(&p), "{p:?} {share}");
        }
    }
}
