//! An incrementally maintained set of non-dominated points.

use super::dominance::dominates;
use super::hypervolume::hypervolume;

/// The non-dominated points seen so far, each with a key (a trial number
/// by default), maintained as points arrive.
///
/// [`insert`](ParetoFront::insert) admits a point unless some member
/// dominates it, and evicts the members it dominates. Points equal to a
/// member enter too (all copies are kept, as in
/// [`pareto_front`](super::pareto_front)). Each insertion costs `O(m f)` for
/// a front of `f` members. Points are minimised objective vectors.
#[derive(Debug, Clone, PartialEq)]
pub struct ParetoFront<K = u64> {
    keys: Vec<K>,
    points: Vec<Vec<f64>>,
}

impl<K> Default for ParetoFront<K> {
    fn default() -> Self {
        ParetoFront {
            keys: Vec::new(),
            points: Vec::new(),
        }
    }
}

impl<K> ParetoFront<K> {
    /// An empty front.
    pub fn new() -> Self {
        Self::default()
    }

    /// Offers `point` under `key`; returns whether it entered the front.
    ///
    /// # Panics
    ///
    /// If `point` has a different length from the current members.
    pub fn insert(&mut self, key: K, point: Vec<f64>) -> bool {
        if let Some(first) = self.points.first() {
            assert_eq!(
                first.len(),
                point.len(),
                "point length differs from the front's"
            );
        }
        if self.is_dominated(&point) {
            return false;
        }
        let mut i = 0;
        while i < self.points.len() {
            if dominates(&point, &self.points[i]) {
                self.points.swap_remove(i);
                self.keys.swap_remove(i);
            } else {
                i += 1;
            }
        }
        self.points.push(point);
        self.keys.push(key);
        true
    }

    /// Does some member dominate `point`? (Such a point would not enter.)
    pub fn is_dominated(&self, point: &[f64]) -> bool {
        self.points.iter().any(|p| dominates(p, point))
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// No members?
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// Keys of the members, parallel to [`points`](ParetoFront::points) (in
    /// no particular order).
    pub fn keys(&self) -> &[K] {
        &self.keys
    }

    /// The members' objective vectors, parallel to
    /// [`keys`](ParetoFront::keys).
    pub fn points(&self) -> &[Vec<f64>] {
        &self.points
    }

    /// Members as `(key, point)` pairs.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &[f64])> {
        self.keys.iter().zip(self.points.iter().map(Vec::as_slice))
    }

    /// Hypervolume of the front with respect to `reference` (see
    /// [`hypervolume`](super::hypervolume)).
    pub fn hypervolume(&self, reference: &[f64]) -> f64 {
        hypervolume(&self.points, reference)
    }

    /// Removes every member.
    pub fn clear(&mut self) {
        self.keys.clear();
        self.points.clear();
    }
}

impl<K> Extend<(K, Vec<f64>)> for ParetoFront<K> {
    fn extend<I: IntoIterator<Item = (K, Vec<f64>)>>(&mut self, iter: I) {
        for (k, p) in iter {
            self.insert(k, p);
        }
    }
}

impl<K> FromIterator<(K, Vec<f64>)> for ParetoFront<K> {
    fn from_iter<I: IntoIterator<Item = (K, Vec<f64>)>>(iter: I) -> Self {
        let mut front = ParetoFront::new();
        front.extend(iter);
        front
    }
}
