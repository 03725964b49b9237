//! Partial-order pruning: skip a candidate before it trains when what its
//! trained neighbours say about it is already dominated.
//!
//! After Li et al., *Partial Order Pruning: for Best Speed/Accuracy
//! Trade-off in Neural Architecture Search* (CVPR 2019). Their assumption:
//! within a family of architectures, a wider or deeper network is at least
//! as accurate and at least as slow. Latency is measured on the target
//! platform without training, accuracy costs a training run; so a candidate
//! whose accuracy cannot beat what the known front offers at its latency
//! need not be trained. This module generalises the rule to any number of
//! cheap and expensive objectives and to any parameters declared monotone.
//!
//! ## The partial order
//!
//! A parameter declared `monotone = "increasing"` promises: all else equal,
//! a larger value never lowers quality (and never lowers cost);
//! `"decreasing"` promises the same for smaller values. Configuration `a`
//! is **below** `b` (`a ≤ b`, [`compare`]) when every non-monotone
//! parameter is equal in both (or inactive in both) and every monotone
//! parameter of `a` is on the weaker side of, or equal to, `b`'s. Other
//! pairs are incomparable. Expensive objectives are the quality measures
//! the promise is about: for every expensive objective, `a ≤ b` means `b`
//! is at least as good as `a`.
//!
//! ## The rule
//!
//! For a candidate `c` whose cheap objectives have been measured (the
//! runner's profile phase):
//!
//! 1. For each expensive objective, the **optimistic bound** of `c` is the
//!    worst value among the COMPLETE trials `t` with `c ≤ t` (each is at
//!    least as good as `c`, so `c` can be no better than any of them),
//!    loosened by `partial_order_margin` (default 0, in the objective's
//!    units) to absorb training noise. (Trained trials below `c` give a
//!    pessimistic bound, which can never justify a skip and is not used.)
//!    If some expensive objective has no trial above `c`, nothing bounds it
//!    and `c` is trained.
//! 2. The optimistic point of `c` is its measured cheap objectives plus
//!    those bounds.
//! 3. `c` is skipped if the point is dominated by a COMPLETE feasible trial,
//!    or if the point itself violates a constraint (a cheap objective out
//!    of bounds, or an expensive one whose best possible value is) while a
//!    feasible COMPLETE trial exists. Without a feasible COMPLETE trial
//!    nothing is skipped.
//!
//! A skipped candidate is recorded PRUNED with a reason starting
//! `partial-order` and its measured cheap values; the samplers see it as an
//! evaluated (bad) configuration and do not propose it again.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use paretosearch_core::pareto::dominates;
use paretosearch_core::{
    Monotone, Objectives, ParamValue, Params, PruneReason, PruneRule, SearchSpace, Trial,
    TrialState,
};

use super::{bad, feasible_complete, minimised, option, PrunerError};

/// Partial-order pruning. See the module documentation.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PartialOrder {
    /// Slack added to each optimistic bound, in the objective's units.
    pub margin: f64,
}

impl PartialOrder {
    /// Build from the `[pruner]` table (`partial_order_margin`), checking
    /// that the study can use the rule: at least one monotone parameter and
    /// one cheap objective.
    pub fn from_options(
        o: &toml::Table,
        space: &SearchSpace,
        objectives: &Objectives,
    ) -> Result<Self, PrunerError> {
        if !space.params().iter().any(|p| p.monotone.is_some()) {
            return Err(bad(
                "partial_order",
                "no parameter of the search space is declared monotone; \
                 add monotone = \"increasing\" (or \"decreasing\") to the width/depth parameters",
            ));
        }
        if !objectives.iter().any(|o| o.cheap) {
            return Err(bad(
                "partial_order",
                "no objective is declared cheap; add cheap = true to objectives measurable \
                 without training (latency, size)",
            ));
        }
        let margin = option::<f64>(o, "partial_order_margin")?.unwrap_or(0.0);
        if !(margin.is_finite() && margin >= 0.0) {
            return Err(bad(
                "partial_order_margin",
                format!("must be a number >= 0, not {margin}"),
            ));
        }
        Ok(PartialOrder { margin })
    }

    /// Should candidate `params`, whose cheap objectives measured `cheap`,
    /// be skipped? `Some(reason)` (starting with `partial-order`) if so.
    /// `trials` is the study's history (the candidate's own record, if
    /// present, is not COMPLETE and so plays no part).
    pub fn check(
        &self,
        space: &SearchSpace,
        objectives: &Objectives,
        trials: &[Trial],
        params: &Params,
        cheap: &BTreeMap<String, f64>,
    ) -> Option<PruneReason> {
        let refs = feasible_complete(trials, objectives, None);
        if refs.is_empty() {
            return None;
        }
        let mut point = Vec::with_capacity(objectives.len());
        let mut why = Vec::new();
        for o in objectives.iter() {
            if o.cheap {
                let v = *cheap.get(&o.name).filter(|v| v.is_finite())?;
                point.push(minimised(o.direction, v));
                continue;
            }
            // The worst value among trained configurations at or above `params`.
            let (bound, by) = trials
                .iter()
                .filter(|t| t.state == TrialState::Complete)
                .filter(|t| {
                    matches!(
                        compare(space, params, &t.params),
                        Some(Ordering::Less | Ordering::Equal)
                    )
                })
                .filter_map(|t| {
                    let v = *t.values.get(&o.name).filter(|v| v.is_finite())?;
                    Some((minimised(o.direction, v), t.number))
                })
                .max_by(|a, b| a.0.total_cmp(&b.0))?;
            let loosened = bound - self.margin;
            point.push(loosened);
            let raw = minimised(o.direction, loosened);
            why.push(format!(
                "`{}` can be at best {raw:.4} (trial {by} is at least as large)",
                o.name
            ));
        }
        let shown = why.join(", ");
        for (o, v) in objectives.iter().zip(&point) {
            if let Some(c) = o.constraint {
                let raw = minimised(o.direction, *v);
                if c.violation(raw) > 0.0 {
                    return Some(PruneReason::new(PruneRule::PartialOrder, format!(
                        "partial-order: `{}` = {raw:.4} violates its constraint even optimistically{}{shown}",
                        o.name,
                        if shown.is_empty() { "" } else { "; " }
                    )));
                }
            }
        }
        let (n, _) = refs.iter().find(|(_, r)| dominates(r, &point))?;
        Some(PruneReason::new(
            PruneRule::PartialOrder,
            format!(
                "partial-order: dominated by trial {n}{}{shown}",
                if shown.is_empty() { "" } else { "; " }
            ),
        ))
    }
}

/// Compare two configurations in the partial order of the monotone
/// parameters: `Less` if `a` is below `b` (weaker or equal in every
/// monotone parameter, strictly in one), `Equal` if they agree everywhere,
/// `Greater` if above, `None` if incomparable (a non-monotone parameter
/// differs, or is active in only one, or monotone parameters disagree in
/// direction).
pub fn compare(space: &SearchSpace, a: &Params, b: &Params) -> Option<Ordering> {
    let mut below = false;
    let mut above = false;
    let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    for k in keys {
        let (x, y) = match (a.get(k), b.get(k)) {
            (Some(x), Some(y)) => (x, y),
            (None, None) => continue,
            _ => return None,
        };
        let monotone = space.get(k).and_then(|p| p.monotone);
        match monotone {
            None => {
                if !same(x, y) {
                    return None;
                }
            }
            Some(m) => {
                let (x, y) = (x.as_f64()?, y.as_f64()?);
                let ord = match m {
                    Monotone::Increasing => x.partial_cmp(&y)?,
                    Monotone::Decreasing => y.partial_cmp(&x)?,
                };
                match ord {
                    Ordering::Less => below = true,
                    Ordering::Greater => above = true,
                    Ordering::Equal => {}
                }
            }
        }
        if below && above {
            return None;
        }
    }
    Some(match (below, above) {
        (false, false) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (true, true) => unreachable!("returned above"),
    })
}

fn same(x: &ParamValue, y: &ParamValue) -> bool {
    x.loosely_equals(y)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;
    use paretosearch_core::{Constraint, Distribution, Param};

    fn space() -> SearchSpace {
        let int = |name: &str, monotone| Param {
            name: name.into(),
            distribution: Distribution::Int {
                low: 1,
                high: 512,
                log: false,
                step: 1,
            },
            when: vec![],
            monotone,
        };
        SearchSpace::new(vec![
            int("width", Some(Monotone::Increasing)),
            int("dropout_pct", Some(Monotone::Decreasing)),
            Param {
                name: "act".into(),
                distribution: Distribution::Categorical {
                    choices: vec![
                        ParamValue::Str("relu".into()),
                        ParamValue::Str("tanh".into()),
                    ],
                },
                when: vec![],
                monotone: None,
            },
        ])
        .unwrap()
    }

    fn cfg(width: i64, dropout: i64, act: &str) -> Params {
        params(&[
            ("width", ParamValue::Int(width)),
            ("dropout_pct", ParamValue::Int(dropout)),
            ("act", ParamValue::Str(act.into())),
        ])
    }

    fn trained(n: u64, p: Params, acc: f64, lat: f64) -> Trial {
        let mut t = complete(n, &[("accuracy", acc), ("latency", lat)], &[]);
        t.params = p;
        t
    }

    fn lat(v: f64) -> BTreeMap<String, f64> {
        [("latency".to_string(), v)].into()
    }

    #[test]
    fn the_partial_order() {
        let s = space();
        use Ordering::*;
        assert_eq!(
            compare(&s, &cfg(64, 10, "relu"), &cfg(128, 10, "relu")),
            Some(Less)
        );
        assert_eq!(
            compare(&s, &cfg(64, 10, "relu"), &cfg(128, 5, "relu")),
            Some(Less)
        );
        assert_eq!(
            compare(&s, &cfg(64, 5, "relu"), &cfg(64, 10, "relu")),
            Some(Greater)
        );
        assert_eq!(
            compare(&s, &cfg(64, 10, "relu"), &cfg(64, 10, "relu")),
            Some(Equal)
        );
        // Wider but more dropout: incomparable.
        assert_eq!(
            compare(&s, &cfg(64, 5, "relu"), &cfg(128, 10, "relu")),
            None
        );
        // A non-monotone parameter differs.
        assert_eq!(
            compare(&s, &cfg(64, 10, "relu"), &cfg(128, 10, "tanh")),
            None
        );
        // A parameter active in only one.
        let mut a = cfg(64, 10, "relu");
        a.remove("act");
        assert_eq!(compare(&s, &a, &cfg(128, 10, "relu")), None);
    }

    #[test]
    fn a_small_candidate_bounded_by_a_dominated_big_one_is_skipped() {
        let s = space();
        let o = acc_latency();
        // Trial 0: narrow tanh network, 0.95 at latency 1. Trial 1: wide relu,
        // only 0.90 at latency 5. A relu candidate narrower than trial 1 is at
        // most 0.90 accurate; at latency 2 it is dominated by trial 0.
        let trials = vec![
            trained(0, cfg(32, 0, "tanh"), 0.95, 1.0),
            trained(1, cfg(256, 0, "relu"), 0.90, 5.0),
        ];
        let po = PartialOrder::default();
        let r = po
            .check(&s, &o, &trials, &cfg(128, 0, "relu"), &lat(2.0))
            .expect("skipped");
        assert!(
            r.detail.starts_with("partial-order: dominated by trial 0"),
            "{r}"
        );
        assert!(r.detail.contains("trial 1 is at least as large"), "{r}");
        // The same candidate measured faster than trial 0 is trained.
        assert_eq!(
            po.check(&s, &o, &trials, &cfg(128, 0, "relu"), &lat(0.5)),
            None
        );
        // A margin of 0.06 lifts its bound to 0.96: trained.
        let loose = PartialOrder { margin: 0.06 };
        assert_eq!(
            loose.check(&s, &o, &trials, &cfg(128, 0, "relu"), &lat(2.0)),
            None
        );
    }

    #[test]
    fn no_upper_bound_means_no_skip() {
        let s = space();
        let o = acc_latency();
        let trials = vec![
            trained(0, cfg(32, 0, "tanh"), 0.95, 1.0),
            trained(1, cfg(256, 0, "relu"), 0.90, 5.0),
        ];
        let po = PartialOrder::default();
        // Wider than every relu trial: only a lower bound (0.90) is known.
        assert_eq!(
            po.check(&s, &o, &trials, &cfg(512, 0, "relu"), &lat(9.0)),
            None
        );
        // Incomparable with everything (gelu): trained.
        assert_eq!(
            po.check(&s, &o, &trials, &cfg(64, 0, "gelu"), &lat(9.0)),
            None
        );
        // Cheap objective not measured: trained.
        assert_eq!(
            po.check(&s, &o, &trials, &cfg(128, 0, "relu"), &BTreeMap::new()),
            None
        );
        // No completed trial at all.
        assert_eq!(po.check(&s, &o, &[], &cfg(128, 0, "relu"), &lat(9.0)), None);
    }

    #[test]
    fn the_tightest_bound_is_used() {
        let s = space();
        let o = acc_latency();
        // Two larger relu trials: 0.97 and 0.91; the candidate is at most 0.91.
        let trials = vec![
            trained(0, cfg(32, 0, "tanh"), 0.93, 1.0),
            trained(1, cfg(512, 0, "relu"), 0.97, 9.0),
            trained(2, cfg(256, 0, "relu"), 0.91, 5.0),
        ];
        let r = PartialOrder::default()
            .check(&s, &o, &trials, &cfg(128, 0, "relu"), &lat(2.0))
            .expect("skipped");
        assert!(r.detail.contains("at best 0.9100 (trial 2"), "{r}");
    }

    #[test]
    fn constraints() {
        let s = space();
        let mut o = acc_latency();
        o.0[1].constraint = Some(Constraint {
            min: None,
            max: Some(3.0),
        });
        let mut trials = vec![trained(1, cfg(256, 0, "relu"), 0.99, 2.5)];
        let po = PartialOrder::default();
        // Latency 4 is over the bound whatever its accuracy: skipped ...
        let r = po
            .check(&s, &o, &trials, &cfg(128, 0, "relu"), &lat(4.0))
            .expect("skipped");
        assert!(r.detail.contains("violates its constraint"), "{r}");
        // ... but only if some feasible trial exists.
        trials[0].values.insert("latency".into(), 3.5);
        assert_eq!(
            po.check(&s, &o, &trials, &cfg(128, 0, "relu"), &lat(4.0)),
            None
        );
        // An infeasible trial dominating the candidate does not skip it.
        o.0[1].constraint = Some(Constraint {
            min: Some(1.0),
            max: None,
        });
        let trials = vec![
            trained(1, cfg(256, 0, "relu"), 0.99, 2.5),
            trained(0, cfg(32, 0, "tanh"), 0.999, 0.5),
        ];
        assert_eq!(
            po.check(&s, &o, &trials, &cfg(128, 0, "relu"), &lat(2.0)),
            None
        );
        // Without the constraint, trial 0 dominates it.
        o.0[1].constraint = None;
        assert!(po
            .check(&s, &o, &trials, &cfg(128, 0, "relu"), &lat(2.0))
            .is_some());
    }

    #[test]
    fn options_need_monotone_params_and_cheap_objectives() {
        let o = acc_latency();
        assert!(PartialOrder::from_options(&table(""), &SearchSpace::default(), &o).is_err());
        let mut expensive = o.clone();
        expensive.0[1].cheap = false;
        assert!(PartialOrder::from_options(&table(""), &space(), &expensive).is_err());
        assert!(
            PartialOrder::from_options(&table("partial_order_margin = -1.0"), &space(), &o)
                .is_err()
        );
        assert_eq!(
            PartialOrder::from_options(&table("partial_order_margin = 0.01"), &space(), &o)
                .unwrap()
                .margin,
            0.01
        );
    }
}
