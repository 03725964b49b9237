//! From scored candidates to one configuration, avoiding repeats.
//!
//! Each parameter group ranks its distinct candidates by
//! `log l(x) - log g(x)`. The proposal takes every group's best one unless
//! that configuration was already tried (finished or running) in a space
//! where repeats are possible at all (every parameter discrete): then it
//! takes the untried combination that loses the least acquisition, the sum
//! over groups of each group's drop from its best score, found best-first
//! over the groups' rankings. Univariate TPE on categorical parameters picks
//! each parameter's best ratio independently, so without this it proposes
//! the same configuration again and again until the split changes (30 of 76
//! model-guided trials on `cells` were repeats).

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashSet};

use paretosearch_core::{ParamValue, Params, SearchSpace};
use rand::Rng;

use crate::trial_rng;

/// Combinations examined before turning to random configurations.
const SEARCH_LIMIT: usize = 512;
/// Random configurations drawn before repeating the best.
const RANDOM_LIMIT: usize = 64;

/// The distinct candidates of one group, best first.
#[derive(Clone, Debug, Default)]
pub(crate) struct Ranked {
    /// Parameter indices of the group.
    pub group: Vec<usize>,
    /// Per alternative, one value per member of `group`.
    pub values: Vec<Vec<ParamValue>>,
    /// Per alternative, its acquisition value (descending).
    pub scores: Vec<f64>,
}

impl Ranked {
    /// Rank `scores.len()` candidates (`coords` and `values` row-major,
    /// `group.len()` per row): by score, descending, ties by position;
    /// candidates equal (bit for bit) to a better one are dropped.
    pub fn new(group: &[usize], coords: &[f64], values: Vec<ParamValue>, scores: &[f64]) -> Self {
        let d = group.len();
        let mut order: Vec<usize> = (0..scores.len()).collect();
        order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
        let mut seen: HashSet<Vec<u64>> = HashSet::new();
        let mut out = Ranked {
            group: group.to_vec(),
            ..Default::default()
        };
        for i in order {
            let row = &coords[i * d..(i + 1) * d];
            if seen.insert(row.iter().map(|x| x.to_bits()).collect()) {
                out.values.push(values[i * d..(i + 1) * d].to_vec());
                out.scores.push(scores[i]);
            }
        }
        out
    }
}

/// The bit pattern of a configuration's internal coordinates (NaN where a
/// parameter is inactive), the key of [`choose`]'s `tried` set.
pub(crate) fn key(coords: &[f64]) -> Vec<u64> {
    coords
        .iter()
        .map(|x| if x.is_nan() { u64::MAX } else { x.to_bits() })
        .collect()
}

/// The configuration taking alternative `pick[g]` of every group `g`;
/// parameters no group chose (made active by a later choice) are drawn at
/// random from `trial_rng(seed, number, 2)`.
fn assemble(
    space: &SearchSpace,
    ranked: &[Ranked],
    pick: &[usize],
    seed: u64,
    number: u64,
) -> Params {
    let mut chosen: Vec<Option<&ParamValue>> = vec![None; space.len()];
    for (r, &k) in ranked.iter().zip(pick) {
        for (&pi, v) in r.group.iter().zip(&r.values[k]) {
            chosen[pi] = Some(v);
        }
    }
    let mut fallback = trial_rng(seed, number, 2);
    space.sample_with(|i, p, _| {
        chosen[i]
            .cloned()
            .unwrap_or_else(|| p.distribution.from_unit(fallback.random::<f64>()))
    })
}

/// A partial search state: one alternative per group and the summed loss.
#[derive(Debug)]
struct State {
    loss: f64,
    pick: Vec<usize>,
    /// Groups before this one are never advanced again (each combination
    /// is generated once).
    first: usize,
}

impl PartialEq for State {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}
impl Eq for State {}
impl PartialOrd for State {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for State {
    /// Smaller loss first (a max-heap pops the greatest), then the
    /// lexicographically smaller pick.
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .loss
            .total_cmp(&self.loss)
            .then_with(|| other.pick.cmp(&self.pick))
    }
}

/// The proposal: every group's best alternative, or, when `tried` is given
/// and holds that configuration's [`key`], the untried combination of
/// least total loss (at most [`SEARCH_LIMIT`] examined). When every
/// combination of the candidates was tried, the model has nothing new to
/// offer: an untried uniform random configuration (drawn from
/// `trial_rng(seed, number, 3)`, at most [`RANDOM_LIMIT`] draws), else the
/// best one again.
pub(crate) fn choose(
    space: &SearchSpace,
    ranked: &[Ranked],
    tried: Option<&HashSet<Vec<u64>>>,
    coordinates: impl Fn(&Params) -> Vec<f64>,
    seed: u64,
    number: u64,
) -> Params {
    let best = vec![0; ranked.len()];
    let first = assemble(space, ranked, &best, seed, number);
    let Some(tried) = tried else {
        return first;
    };
    if !tried.contains(&key(&coordinates(&first))) {
        return first;
    }
    let mut heap = BinaryHeap::new();
    heap.push(State {
        loss: 0.0,
        pick: best,
        first: 0,
    });
    let mut examined = 0;
    while let Some(state) = heap.pop() {
        if examined > 0 {
            let params = assemble(space, ranked, &state.pick, seed, number);
            if !tried.contains(&key(&coordinates(&params))) {
                return params;
            }
        }
        examined += 1;
        if examined >= SEARCH_LIMIT {
            break;
        }
        #[allow(clippy::needless_range_loop)] // g indexes pick and ranked
        for g in state.first..ranked.len() {
            let k = state.pick[g] + 1;
            if k < ranked[g].scores.len() {
                let mut pick = state.pick.clone();
                pick[g] = k;
                let r = &ranked[g];
                heap.push(State {
                    loss: state.loss + (r.scores[k - 1] - r.scores[k]),
                    pick,
                    first: g,
                });
            }
        }
    }
    let mut rng = trial_rng(seed, number, 3);
    for _ in 0..RANDOM_LIMIT {
        let params = space.sample_with(|_, p, _| p.distribution.from_unit(rng.random::<f64>()));
        if !tried.contains(&key(&coordinates(&params))) {
            return params;
        }
    }
    first
}

#[cfg(test)]
mod tests {
    use super::*;
    use paretosearch_core::{Distribution, Param};
    use rand::SeedableRng;

    fn categorical(name: &str, n: usize) -> Param {
        Param {
            name: name.into(),
            distribution: Distribution::Categorical {
                choices: (0..n as i64).map(ParamValue::Int).collect(),
            },
            when: vec![],
            monotone: None,
        }
    }

    fn coords(space: &SearchSpace, p: &Params) -> Vec<f64> {
        space
            .params()
            .iter()
            .map(|q| {
                p.get(&q.name)
                    .and_then(|v| q.distribution.to_internal(v))
                    .unwrap_or(f64::NAN)
            })
            .collect()
    }

    #[test]
    fn all_candidates_tried_gives_an_untried_random_configuration() {
        let space =
            SearchSpace::new((0..2).map(|i| categorical(&format!("x{i}"), 3)).collect()).unwrap();
        let ranked: Vec<Ranked> = (0..2)
            .map(|g| Ranked {
                group: vec![g],
                values: vec![vec![ParamValue::Int(1)]],
                scores: vec![0.0],
            })
            .collect();
        let mut tried: HashSet<Vec<u64>> = HashSet::new();
        tried.insert(key(&[1.0, 1.0]));
        for number in 0..20 {
            let p = choose(
                &space,
                &ranked,
                Some(&tried),
                |p| coords(&space, p),
                1,
                number,
            );
            assert!(!tried.contains(&key(&coords(&space, &p))));
        }
        // Everything tried: the best again.
        for a in 0..3 {
            for b in 0..3 {
                tried.insert(key(&[a as f64, b as f64]));
            }
        }
        let p = choose(&space, &ranked, Some(&tried), |p| coords(&space, p), 1, 0);
        assert_eq!(coords(&space, &p), vec![1.0, 1.0]);
    }

    #[test]
    fn ranking_sorts_by_score_and_drops_repeats() {
        let coords = [2.0, 0.0, 2.0, 1.0, 0.0];
        let values: Vec<ParamValue> = coords.iter().map(|&x| ParamValue::Int(x as i64)).collect();
        let scores = [0.5, 0.1, 0.9, 0.5, 0.7];
        let r = Ranked::new(&[3], &coords, values, &scores);
        // 2 (0.9) beats 0 (0.5, also choice 2); 4 and 1 are choice 0 (0.7 first).
        assert_eq!(r.scores, vec![0.9, 0.7, 0.5]);
        assert_eq!(
            r.values,
            vec![
                vec![ParamValue::Int(2)],
                vec![ParamValue::Int(0)],
                vec![ParamValue::Int(1)]
            ]
        );
        assert_eq!(r.group, vec![3]);
    }

    /// Against brute force: the chosen configuration is an untried one of
    /// least total loss over all combinations of the groups' alternatives.
    #[test]
    fn choice_is_the_least_loss_untried_combination() {
        let space =
            SearchSpace::new((0..3).map(|i| categorical(&format!("x{i}"), 4)).collect()).unwrap();
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for round in 0..200 {
            let ranked: Vec<Ranked> = (0..3)
                .map(|g| {
                    let mut scores: Vec<f64> = (0..4).map(|_| rng.random::<f64>()).collect();
                    scores.sort_by(|a, b| b.total_cmp(a));
                    let mut order: Vec<i64> = vec![0, 1, 2, 3];
                    order.rotate_left(rng.random_range(0..4));
                    Ranked {
                        group: vec![g],
                        values: order.iter().map(|&c| vec![ParamValue::Int(c)]).collect(),
                        scores,
                    }
                })
                .collect();
            let all: Vec<[usize; 3]> = (0..64).map(|k| [k / 16, (k / 4) % 4, k % 4]).collect();
            let config = |pick: &[usize]| -> Vec<f64> {
                (0..3)
                    .map(|g| match &ranked[g].values[pick[g]][0] {
                        ParamValue::Int(c) => *c as f64,
                        _ => unreachable!(),
                    })
                    .collect()
            };
            let loss = |pick: &[usize]| -> f64 {
                (0..3)
                    .map(|g| ranked[g].scores[0] - ranked[g].scores[pick[g]])
                    .sum()
            };
            // Try a random half of the configurations; in some rounds all.
            let tried: HashSet<Vec<u64>> = all
                .iter()
                .filter(|_| round % 50 == 49 || rng.random::<f64>() < 0.5)
                .map(|p| key(&config(p)))
                .collect();
            let got = choose(&space, &ranked, Some(&tried), |p| coords(&space, p), 1, 2);
            let got = coords(&space, &got);
            let untried: Vec<&[usize; 3]> = all
                .iter()
                .filter(|p| !tried.contains(&key(&config(&p[..]))))
                .collect();
            match untried
                .iter()
                .map(|p| loss(&p[..]))
                .min_by(|a, b| a.total_cmp(b))
            {
                None => assert_eq!(got, config(&[0, 0, 0]), "all tried: the best"),
                Some(best) => {
                    assert!(!tried.contains(&key(&got)), "round {round}: a repeat");
                    let pick: Vec<usize> = (0..3)
                        .map(|g| {
                            ranked[g]
                                .values
                                .iter()
                                .position(|v| v[0] == ParamValue::Int(got[g] as i64))
                                .unwrap()
                        })
                        .collect();
                    assert!((loss(&pick) - best).abs() < 1e-12, "round {round}");
                }
            }
            // Without a tried set: every group's best.
            let plain = choose(&space, &ranked, None, |p| coords(&space, p), 1, 2);
            assert_eq!(coords(&space, &plain), config(&[0, 0, 0]));
        }
    }
}
