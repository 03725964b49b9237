//! The GP's coordinates of a configuration.
//!
//! Each parameter owns one coordinate:
//!
//! * continuous floats (linear or log): the unit view, in `[0, 1]`;
//! * discrete numbers (ints, stepped floats, log ints): the unit view of the
//!   value, so only the centres of the cells (or, for log ints, the log
//!   positions) of legal values occur;
//! * categoricals: the index of the choice, compared by the kernel with a
//!   Hamming term (`1[i ≠ j]`), never by magnitude;
//! * inactive conditional parameters: the fixed value `0.5` (for a
//!   categorical, a non-integer index that equals no choice).

use paretosearch_core::{Distribution, ParamValue, Params, SearchSpace};

/// Discrete numeric parameters with at most this many values are searched
/// exhaustively; larger ones are searched as continuous and snapped.
pub(crate) const EXHAUSTIVE_MAX: u64 = 64;

/// Unit value given to inactive parameters.
pub(crate) const INACTIVE: f64 = 0.5;

/// How one coordinate is searched.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Coord {
    /// Any value in `[0, 1]`.
    Continuous,
    /// One of a few legal unit values, sorted.
    Discrete(Vec<f64>),
    /// Many legal values: searched as continuous, snapped to the nearest
    /// legal value.
    Snapped,
    /// A choice index in `0..n`.
    Categorical(usize),
}

/// The encoding of a search space.
#[derive(Clone, Debug)]
pub(crate) struct Encoding {
    pub(crate) coords: Vec<Coord>,
    dists: Vec<Distribution>,
}

impl Encoding {
    /// The encoding of `space`.
    pub(crate) fn new(space: &SearchSpace) -> Encoding {
        let dists: Vec<Distribution> = space
            .params()
            .iter()
            .map(|p| p.distribution.clone())
            .collect();
        let coords = dists.iter().map(coord_of).collect();
        Encoding { coords, dists }
    }

    /// Number of coordinates.
    pub(crate) fn dims(&self) -> usize {
        self.coords.len()
    }

    /// Which coordinates are categorical.
    pub(crate) fn categorical_mask(&self) -> Vec<bool> {
        self.coords
            .iter()
            .map(|c| matches!(c, Coord::Categorical(_)))
            .collect()
    }

    /// Coordinates of a configuration of `space`; inactive or missing
    /// parameters get [`INACTIVE`].
    pub(crate) fn encode(&self, space: &SearchSpace, params: &Params) -> Vec<f64> {
        space
            .params()
            .iter()
            .zip(&self.coords)
            .zip(&self.dists)
            .map(|((p, c), d)| {
                let Some(v) = params.get(&p.name) else {
                    return INACTIVE;
                };
                match c {
                    Coord::Categorical(_) => {
                        d.choice_index(v).map(|k| k as f64).unwrap_or(INACTIVE)
                    }
                    _ => d.to_unit(v).unwrap_or(INACTIVE),
                }
            })
            .collect()
    }

    /// The unit view of coordinates `z` (for [`SearchSpace::from_unit`]).
    pub(crate) fn to_unit(&self, z: &[f64]) -> Vec<f64> {
        self.coords
            .iter()
            .zip(z)
            .map(|(c, &v)| match c {
                Coord::Categorical(n) => {
                    let k = v.round().clamp(0.0, (*n - 1) as f64);
                    (k + 0.5) / *n as f64
                }
                _ => v.clamp(0.0, 1.0),
            })
            .collect()
    }

    /// The legal coordinate nearest to `v` in coordinate `i`.
    pub(crate) fn snap(&self, i: usize, v: f64) -> f64 {
        match &self.coords[i] {
            Coord::Continuous => v.clamp(0.0, 1.0),
            Coord::Discrete(vals) => nearest(vals, v),
            Coord::Snapped => {
                let d = &self.dists[i];
                d.to_unit(&d.from_unit(v)).unwrap_or(v.clamp(0.0, 1.0))
            }
            Coord::Categorical(n) => v.round().clamp(0.0, (*n - 1) as f64),
        }
    }

    /// Snap every coordinate.
    pub(crate) fn snap_all(&self, z: &mut [f64]) {
        for (i, v) in z.iter_mut().enumerate() {
            *v = self.snap(i, *v);
        }
    }

    /// Does coordinate `i` move continuously (gradient steps)?
    pub(crate) fn is_continuous(&self, i: usize) -> bool {
        matches!(self.coords[i], Coord::Continuous | Coord::Snapped)
    }
}

fn nearest(vals: &[f64], v: f64) -> f64 {
    let mut best = vals[0];
    for &c in vals {
        if (c - v).abs() < (best - v).abs() {
            best = c;
        }
    }
    best
}

fn coord_of(d: &Distribution) -> Coord {
    match d {
        Distribution::Categorical { choices } => Coord::Categorical(choices.len()),
        Distribution::Float { step: None, .. } => Coord::Continuous,
        _ => {
            let card = d.cardinality().unwrap_or(u64::MAX);
            if card > EXHAUSTIVE_MAX {
                return Coord::Snapped;
            }
            let mut vals: Vec<f64> = (0..card)
                .filter_map(|k| d.to_unit(&legal_value(d, k)))
                .collect();
            vals.sort_by(f64::total_cmp);
            vals.dedup();
            Coord::Discrete(vals)
        }
    }
}

/// The `k`-th legal value of a discrete numeric distribution.
fn legal_value(d: &Distribution, k: u64) -> ParamValue {
    match d {
        Distribution::Int { low, step, .. } => ParamValue::Int(low + k as i64 * step),
        Distribution::Float {
            low, step: Some(s), ..
        } => ParamValue::Float(low + k as f64 * s),
        _ => unreachable!("legal_value on a continuous or categorical distribution"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use paretosearch_core::Param;

    fn param(name: &str, distribution: Distribution) -> Param {
        Param {
            name: name.into(),
            distribution,
            when: vec![],
            monotone: None,
        }
    }

    #[test]
    fn discrete_values_round_trip_through_the_space() {
        let space = SearchSpace::new(vec![
            param(
                "n",
                Distribution::Int {
                    low: 1,
                    high: 40,
                    log: true,
                    step: 1,
                },
            ),
            param(
                "s",
                Distribution::Float {
                    low: 0.0,
                    high: 1.0,
                    log: false,
                    step: Some(0.25),
                },
            ),
            param(
                "c",
                Distribution::Categorical {
                    choices: vec![ParamValue::Str("a".into()), ParamValue::Str("b".into())],
                },
            ),
        ])
        .unwrap();
        let enc = Encoding::new(&space);
        let Coord::Discrete(vals) = &enc.coords[0] else {
            panic!("log int should be discrete: {:?}", enc.coords[0])
        };
        assert_eq!(vals.len(), 40);
        for &u in vals {
            let z = vec![u, 0.3, 1.0];
            let params = space.from_unit(&enc.to_unit(&z));
            space.validate(&params).unwrap();
            let back = enc.encode(&space, &params);
            assert!((back[0] - u).abs() < 1e-12);
            assert_eq!(back[2], 1.0);
        }
        assert_eq!(enc.snap(1, 0.3), 0.3);
        assert_eq!(enc.categorical_mask(), vec![false, false, true]);
    }
}
