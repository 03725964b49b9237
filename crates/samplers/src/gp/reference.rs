//! What the current front decides: which rows train the GP once there are
//! more than `max_train`, and the reference point that bounds the EHVI
//! boxes (see the [parent module](super) for why the 2- and 3-objective
//! rules differ).

/// Which rows train the GP when there are more than `cap`: the best
/// non-dominated fronts (constraint-aware) up to half of `cap`, then the
/// most recent rows. Returned in row order.
pub(super) fn training_subset(ys: &[Vec<f64>], violations: &[f64], cap: usize) -> Vec<usize> {
    let mut keep = vec![false; ys.len()];
    let mut count = 0;
    'fronts: for front in paretosearch_core::pareto::non_dominated_sort(ys, Some(violations)) {
        for i in front {
            if count >= cap / 2 {
                break 'fronts;
            }
            keep[i] = true;
            count += 1;
        }
    }
    for i in (0..ys.len()).rev() {
        if count >= cap {
            break;
        }
        if !keep[i] {
            keep[i] = true;
            count += 1;
        }
    }
    (0..ys.len()).filter(|&i| keep[i]).collect()
}

/// The EHVI reference point for 3 objectives: per objective, the worst
/// value on the current front plus 10 % of the range observed over every
/// COMPLETE trial (`+1` when that range is zero).
pub(super) fn near_front_reference(front: &[Vec<f64>], observed: &[Vec<f64>]) -> Vec<f64> {
    let nd = paretosearch_core::pareto::pareto_front(front);
    (0..front[0].len())
        .map(|j| {
            let worst = nd
                .iter()
                .map(|&i| front[i][j])
                .fold(f64::NEG_INFINITY, f64::max);
            let lo = observed.iter().map(|p| p[j]).fold(f64::INFINITY, f64::min);
            let hi = observed
                .iter()
                .map(|p| p[j])
                .fold(f64::NEG_INFINITY, f64::max);
            worst + if hi > lo { 0.1 * (hi - lo) } else { 1.0 }
        })
        .collect()
}

/// The EHVI reference point for 2 objectives: per objective, the worst
/// value on the current front plus the front's extent in that objective,
/// capped at the nadir reference of every COMPLETE trial (the worst
/// observed value plus 10 % of the observed range); the nadir reference
/// where the front has no extent.
///
/// The reference bounds the two boxes that extend the front beyond its
/// extremes. From the observed nadir (start-up points put it far out: on
/// ZDT1 `f2` reaches 7 while the front ends at 1), the box below the
/// smallest `f1` is so tall that any posterior variance of `f1` at
/// `x0 = 0` outweighs every improvement along the front. One front extent
/// beyond the front still lets a front grow into pieces it has not reached
/// (ZDT3's last segment), where 10 % of the observed range did not.
pub(super) fn spread_reference(front: &[Vec<f64>], observed: &[Vec<f64>]) -> Vec<f64> {
    let nd = paretosearch_core::pareto::pareto_front(front);
    let nadir = paretosearch_core::pareto::nadir_reference(observed);
    (0..front[0].len())
        .map(|j| {
            let (lo, hi) = nd
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &i| {
                    (lo.min(front[i][j]), hi.max(front[i][j]))
                });
            if hi > lo {
                (2.0 * hi - lo).min(nadir[j])
            } else {
                nadir[j]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn training_subset_keeps_the_front_and_the_latest() {
        // Row 0 dominates everything; rows 1..10 are dominated, in order.
        let ys: Vec<Vec<f64>> = (0..10).map(|i| vec![i as f64, i as f64]).collect();
        let keep = training_subset(&ys, &[0.0; 10], 4);
        assert_eq!(keep, vec![0, 1, 8, 9]);
    }

    #[test]
    fn spread_reference_is_one_front_extent_beyond_the_front() {
        // Front (0, 1), (0.5, 0.3), (0.6, 0.2) and a dominated start-up
        // point (1, 7): observed nadir reference (1 + 0.1, 7 + 0.68).
        let front = vec![
            vec![0.0, 1.0],
            vec![0.5, 0.3],
            vec![0.6, 0.2],
            vec![1.0, 7.0],
        ];
        let r = spread_reference(&front, &front);
        // f1: 0.6 + 0.6 = 1.2, capped at 1.1; f2: 1 + 0.8 = 1.8.
        assert!((r[0] - 1.1).abs() < 1e-12, "{r:?}");
        assert!((r[1] - 1.8).abs() < 1e-12, "{r:?}");
        // A one-point front has no extent: the nadir reference.
        let one = vec![vec![0.2, 0.4], vec![0.9, 0.9]];
        let r = spread_reference(&one[..1], &one);
        assert!(
            (r[0] - 0.97).abs() < 1e-12 && (r[1] - 0.95).abs() < 1e-12,
            "{r:?}"
        );
    }
}
