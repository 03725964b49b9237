//! Pareto maths on minimised objective vectors.
//!
//! (Being written: dominance, non-dominated sorting, crowding distance,
//! hypervolume and contributions, hypervolume subset selection.)
