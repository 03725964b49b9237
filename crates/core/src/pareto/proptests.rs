//! Property tests of the Pareto maths against brute-force definitions.

use super::*;
use approx::assert_relative_eq;

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
