//! The finished trials' coordinates kept sorted, per parameter, across
//! proposals.
//!
//! Every estimator's neighbour bandwidths (and the windowed densities of
//! one-dimensional ones) need its observations sorted by value. The good
//! and bad groups change with every proposal, but they are subsets of the
//! history, and a subset's sorted order is the history's sorted order
//! with the other trials left out. So the sampler keeps, per parameter,
//! the finished trials sorted by (value, trial number), inserts each newly
//! finished trial once, and hands each estimator its order in one linear
//! pass (running trials of the constant liar, few and never cached, are
//! merged in). Ties fall by position in the group, exactly as the
//! estimator's own sort would order them, so the estimators are the same
//! as without the cache.

use super::parzen::total_key;

/// Per parameter, the finished trials sorted by (value, number).
#[derive(Clone, Debug, Default)]
pub(crate) struct SortedHistory {
    per_param: Vec<Vec<(u64, u64)>>,
    /// Trial id of each included trial number.
    included: Vec<Option<i64>>,
    count: usize,
}

impl SortedHistory {
    /// Forget everything (another space).
    pub(crate) fn clear(&mut self) {
        *self = SortedHistory::default();
    }

    /// Bring up to date with the finished trials `(number, id, coords)`
    /// of this proposal; starts afresh when one included before is gone or
    /// changed.
    pub(crate) fn update<'a>(
        &mut self,
        d: usize,
        finished: impl Iterator<Item = (u64, i64, &'a [f64])> + Clone,
    ) {
        if self.per_param.len() != d {
            self.clear();
            self.per_param = vec![Vec::new(); d];
        }
        let still = finished
            .clone()
            .filter(|&(number, id, _)| {
                self.included.get(number as usize).copied().flatten() == Some(id)
            })
            .count();
        if still != self.count {
            self.clear();
            self.per_param = vec![Vec::new(); d];
        }
        for (number, id, coords) in finished {
            let slot = number as usize;
            if self.included.len() <= slot {
                self.included.resize(slot + 1, None);
            }
            if self.included[slot] == Some(id) {
                continue;
            }
            self.included[slot] = Some(id);
            self.count += 1;
            for (list, &x) in self.per_param.iter_mut().zip(coords) {
                if !x.is_nan() {
                    let entry = (total_key(x), number);
                    let at = list.partition_point(|e| *e < entry);
                    list.insert(at, entry);
                }
            }
        }
    }

    /// The rows of one estimator's observations of parameter `param`
    /// sorted by value, ties by row. `row_of_number[number]` is the row of
    /// a finished trial in the estimator (`u32::MAX` if absent) and rows
    /// must grow with trial numbers; `extra` are the other rows (running
    /// trials) with their values.
    pub(crate) fn order(
        &self,
        param: usize,
        row_of_number: &[u32],
        extra: &[(u32, f64)],
    ) -> Vec<u32> {
        let keyed = self.per_param[param].iter().filter_map(|&(k, number)| {
            let r = *row_of_number.get(number as usize)?;
            (r != u32::MAX).then_some((k, r))
        });
        if extra.is_empty() {
            return keyed.map(|(_, r)| r).collect();
        }
        let mut more: Vec<(u64, u32)> = extra.iter().map(|&(r, x)| (total_key(x), r)).collect();
        more.sort_unstable();
        let mut out = Vec::with_capacity(row_of_number.len() + more.len());
        let mut more = more.into_iter().peekable();
        for (k, r) in keyed {
            while let Some(&m) = more.peek() {
                if m < (k, r) {
                    out.push(m.1);
                    more.next();
                } else {
                    break;
                }
            }
            out.push(r);
        }
        out.extend(more.map(|m| m.1));
        out
    }
}

/// Per member of `group`, the rows of the estimator built from the trials
/// `ids` of `pool` (rows: the ids whose group members are all active, in
/// order) sorted by value, ties by row; empty for categorical members
/// (`numeric[k]` false). Ids below `numbers.len()` are finished trials
/// with those (increasing) numbers, the rest running ones.
pub(crate) fn group_orders(
    history: &SortedHistory,
    group: &[usize],
    numeric: &[bool],
    ids: &[usize],
    pool: &[&[f64]],
    numbers: &[u64],
) -> Vec<Vec<u32>> {
    let size = numbers.last().map_or(0, |&n| n as usize + 1);
    let mut row_of_number = vec![u32::MAX; size];
    let mut running: Vec<(u32, usize)> = Vec::new();
    let mut row = 0u32;
    for &id in ids {
        let c = pool[id];
        if group.iter().all(|&p| !c[p].is_nan()) {
            match numbers.get(id) {
                Some(&number) => row_of_number[number as usize] = row,
                None => running.push((row, id)),
            }
            row += 1;
        }
    }
    group
        .iter()
        .zip(numeric)
        .map(|(&p, &is_numeric)| {
            if !is_numeric {
                return Vec::new();
            }
            let extra: Vec<(u32, f64)> = running.iter().map(|&(r, id)| (r, pool[id][p])).collect();
            history.order(p, &row_of_number, &extra)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// Against sorting each estimator's observations directly: random
    /// pools with inactive parameters, gaps in the trial numbers, running
    /// trials, many ties, trials added over several proposals and one
    /// replaced (which rebuilds the cache).
    #[test]
    fn orders_equal_a_direct_stable_sort() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(9);
        let mut history = SortedHistory::default();
        let d = 3;
        let mut trials: Vec<(u64, i64, Vec<f64>)> = Vec::new();
        let mut number = 0u64;
        for round in 0..30 {
            for _ in 0..rng.random_range(0..20) {
                number += rng.random_range(1..3);
                let coords: Vec<f64> = (0..d)
                    .map(|p| {
                        if p == 2 && rng.random::<f64>() < 0.3 {
                            f64::NAN
                        } else {
                            (rng.random::<f64>() * 6.0).round() / 6.0
                        }
                    })
                    .collect();
                trials.push((number, number as i64, coords));
            }
            if round == 20 {
                trials[3].1 = -1; // another trial under the same number
                trials[3].2 = vec![0.5, 0.5, 0.5];
            }
            history.update(d, trials.iter().map(|(n, id, c)| (*n, *id, &c[..])));
            let running: Vec<Vec<f64>> = (0..rng.random_range(0..4))
                .map(|_| {
                    (0..d)
                        .map(|_| (rng.random::<f64>() * 6.0).round() / 6.0)
                        .collect()
                })
                .collect();
            let mut pool: Vec<&[f64]> = trials.iter().map(|t| &t.2[..]).collect();
            pool.extend(running.iter().map(|r| &r[..]));
            let numbers: Vec<u64> = trials.iter().map(|t| t.0).collect();
            let ids: Vec<usize> = (0..pool.len())
                .filter(|_| rng.random::<f64>() < 0.6)
                .collect();
            for group in [vec![0], vec![1, 2], vec![2, 0]] {
                let numeric = vec![true; group.len()];
                let got = group_orders(&history, &group, &numeric, &ids, &pool, &numbers);
                let rows: Vec<&[f64]> = ids
                    .iter()
                    .map(|&i| pool[i])
                    .filter(|c| group.iter().all(|&p| !c[p].is_nan()))
                    .collect();
                for (k, &p) in group.iter().enumerate() {
                    let mut want: Vec<u32> = (0..rows.len() as u32).collect();
                    want.sort_by(|&a, &b| rows[a as usize][p].total_cmp(&rows[b as usize][p]));
                    assert_eq!(got[k], want, "round {round} group {group:?} param {p}");
                }
            }
        }
    }
}
