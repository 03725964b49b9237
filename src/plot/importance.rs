//! Parameter importance by PED-ANOVA (Watanabe, Bansal & Hutter, *PED-ANOVA:
//! Efficiently quantifying hyperparameter importance in arbitrary
//! subspaces*, IJCAI 2023), one objective at a time.
//!
//! The question PED-ANOVA answers: how differently is a parameter
//! distributed among the best trials than among all of them? A parameter
//! whose good values are spread like all values does not matter; one whose
//! good values crowd into a corner does. Concretely, for an objective:
//!
//! 1. Take the COMPLETE trials with a finite value for the objective (at
//!    least [`MIN_TRIALS`]), and among them the top `γ` fraction
//!    ([`TOP_QUANTILE`] = 10 %, at least 2 trials) in its direction.
//! 2. For each parameter, estimate its density among all trials (`p`) and
//!    among the top ones (`p_top`), on the parameter's unit scale (log
//!    parameters on a log scale): continuous parameters with a Gaussian
//!    Parzen estimator (Scott's bandwidth) evaluated on a grid of 50 cells,
//!    discrete ones (categorical, int, stepped float with at most 50
//!    values) by counting. Both estimates are mixed with a uniform prior
//!    worth one observation, so a handful of trials cannot produce zero
//!    densities.
//! 3. The importance is the Pearson divergence `Σ p · (p_top / p − 1)²`
//!    over the cells; importances are normalised to sum to 1 per
//!    objective.
//!
//! A conditional parameter is judged on the trials where it is active.
//! Unlike fANOVA this needs no surrogate model (no random forest to fit),
//! costs `O(trials × parameters × 50)`, and is deterministic. It measures
//! where good values lie, not how much of the variance a parameter
//! explains; on the studies paretosearch runs (a few hundred trials) the
//! two rank parameters alike.

use paretosearch_core::{Direction, Distribution, StudySpec, Trial, TrialState};

/// Fraction of trials that count as "top".
pub const TOP_QUANTILE: f64 = 0.1;
/// Fewer COMPLETE trials than this and no importance is computed.
pub const MIN_TRIALS: usize = 4;
/// Cells of the density grid of continuous parameters.
const GRID: usize = 50;

/// Importances of every parameter for `objective`, sorted by importance
/// (largest first), summing to 1 (or all 0 when no parameter separates the
/// top trials from the rest); `Err` says why none can be computed.
pub fn ped_anova(
    spec: &StudySpec,
    trials: &[Trial],
    objective: &str,
    gamma: f64,
) -> Result<Vec<(String, f64)>, String> {
    let Some(obj) = spec.objectives.iter().find(|o| o.name == objective) else {
        return Err(format!("no objective named `{objective}`"));
    };
    let mut done: Vec<(&Trial, f64)> = trials
        .iter()
        .filter(|t| t.state == TrialState::Complete)
        .filter_map(|t| {
            let v = *t.values.get(objective)?;
            v.is_finite().then_some((t, v))
        })
        .collect();
    if done.len() < MIN_TRIALS {
        return Err(format!(
            "needs at least {MIN_TRIALS} COMPLETE trials, the study has {}",
            done.len()
        ));
    }
    if spec.space.is_empty() {
        return Err("the search space has no parameters".into());
    }
    Ok(scores(spec, obj.direction, &mut done, gamma))
}

/// PED-ANOVA on `done` (COMPLETE trials with their finite value), which
/// it sorts in place.
fn scores(
    spec: &StudySpec,
    direction: Direction,
    done: &mut [(&Trial, f64)],
    gamma: f64,
) -> Vec<(String, f64)> {
    done.sort_by(|a, b| match direction {
        Direction::Minimize => a.1.total_cmp(&b.1),
        Direction::Maximize => b.1.total_cmp(&a.1),
    });
    let n_top = ((gamma * done.len() as f64).ceil() as usize).clamp(2, done.len() - 1);
    let mut out: Vec<(String, f64)> = spec
        .space
        .params()
        .iter()
        .map(|p| {
            let cells = cells(&p.distribution);
            let coords = |ts: &[(&Trial, f64)]| -> Vec<f64> {
                ts.iter()
                    .filter_map(|(t, _)| coordinate(&p.distribution, cells, t.params.get(&p.name)?))
                    .collect()
            };
            let all = coords(done);
            let top = coords(&done[..n_top]);
            let score = if all.len() < 2 || top.is_empty() {
                0.0
            } else {
                let p_all = density(&all, cells);
                let p_top = density(&top, cells);
                pearson_divergence(&p_top, &p_all)
            };
            (p.name.clone(), score)
        })
        .collect();
    let total: f64 = out.iter().map(|(_, s)| s).sum();
    if total > 0.0 {
        for (_, s) in &mut out {
            *s /= total;
        }
    }
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    out
}

/// Bootstrap replicates behind [`with_uncertainty`]'s intervals.
pub const REPLICATES: usize = 24;
/// Below this many COMPLETE trials the ranking carries a warning: the top
/// 10 % is then fewer than ten trials.
pub const SMALL_SAMPLE: usize = 100;

/// One parameter's importance with its bootstrap interval.
#[derive(Clone, Debug, PartialEq)]
pub struct Ranked {
    /// Parameter.
    pub name: String,
    /// PED-ANOVA importance on all trials.
    pub importance: f64,
    /// 5th percentile over [`REPLICATES`] bootstrap resamples.
    pub lo: f64,
    /// 95th percentile.
    pub hi: f64,
}

/// Importances of one objective with their uncertainty.
#[derive(Clone, Debug, PartialEq)]
pub struct Uncertain {
    /// By importance, largest first.
    pub ranked: Vec<Ranked>,
    /// COMPLETE trials the importances come from.
    pub trials: usize,
    /// Why the ranking should not be trusted, when it should not: too
    /// few trials, or a first place whose interval overlaps the second's.
    pub warning: Option<String>,
}

/// [`ped_anova`] with a 90 % bootstrap interval per parameter (the trials
/// resampled with replacement [`REPLICATES`] times, deterministically) and
/// a warning when the sample is too small to rank.
pub fn with_uncertainty(
    spec: &StudySpec,
    trials: &[Trial],
    objective: &str,
    gamma: f64,
) -> Result<Uncertain, String> {
    let point = ped_anova(spec, trials, objective, gamma)?;
    let obj = spec
        .objectives
        .iter()
        .find(|o| o.name == objective)
        .expect("ped_anova checked the name");
    let done: Vec<(&Trial, f64)> = trials
        .iter()
        .filter(|t| t.state == TrialState::Complete)
        .filter_map(|t| {
            let v = *t.values.get(objective)?;
            v.is_finite().then_some((t, v))
        })
        .collect();
    let mut samples: std::collections::BTreeMap<String, Vec<f64>> = Default::default();
    // SplitMix64: a fixed, seedless stream, so the page is reproducible.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    for _ in 0..REPLICATES {
        let mut resample: Vec<(&Trial, f64)> = (0..done.len())
            .map(|_| done[(next() % done.len() as u64) as usize])
            .collect();
        for (name, s) in scores(spec, obj.direction, &mut resample, gamma) {
            samples.entry(name).or_default().push(s);
        }
    }
    let pct = |xs: &mut Vec<f64>, q: f64| -> f64 {
        xs.sort_by(f64::total_cmp);
        let pos = q * (xs.len() - 1) as f64;
        let (i, f) = (pos.floor() as usize, pos.fract());
        xs[i] + f * (xs[(i + 1).min(xs.len() - 1)] - xs[i])
    };
    let ranked: Vec<Ranked> = point
        .into_iter()
        .map(|(name, importance)| {
            let mut xs = samples.remove(&name).unwrap_or_default();
            let (lo, hi) = if xs.is_empty() {
                (importance, importance)
            } else {
                (pct(&mut xs, 0.05), pct(&mut xs, 0.95))
            };
            Ranked {
                name,
                importance,
                lo,
                hi,
            }
        })
        .collect();
    let n = done.len();
    let warning = if n < SMALL_SAMPLE {
        let top = ((gamma * n as f64).ceil() as usize).clamp(2, n - 1);
        Some(format!(
            "only {n} COMPLETE trials (the top {:.0} % is {top}): too few to rank parameters; read the intervals, not the order",
            gamma * 100.0
        ))
    } else if ranked.len() >= 2 && ranked[0].lo <= ranked[1].hi {
        Some(format!(
            "the intervals of `{}` and `{}` overlap: their order is not established",
            ranked[0].name, ranked[1].name
        ))
    } else {
        None
    };
    Ok(Uncertain {
        ranked,
        trials: n,
        warning,
    })
}

/// `Some(k)`: a discrete parameter with `k` values (counted per value);
/// `None`: continuous (a Parzen estimate on the grid).
fn cells(d: &Distribution) -> Option<usize> {
    match d.cardinality() {
        Some(k) if k as usize <= GRID => Some(k as usize),
        _ => None,
    }
}

/// A value's coordinate: its cell index for discrete parameters (the
/// choice index of a categorical one), its unit coordinate otherwise.
fn coordinate(
    d: &Distribution,
    cells: Option<usize>,
    v: &paretosearch_core::ParamValue,
) -> Option<f64> {
    match (d, cells) {
        (Distribution::Categorical { .. }, _) => d.choice_index(v).map(|i| i as f64),
        // Discrete values own equal cells of the unit interval.
        (_, Some(k)) => d
            .to_unit(v)
            .map(|u| ((u * k as f64).floor() as usize).min(k - 1) as f64),
        (_, None) => d.to_unit(v),
    }
}

/// Probability mass per cell.
fn density(xs: &[f64], cells: Option<usize>) -> Vec<f64> {
    let n = xs.len() as f64;
    match cells {
        Some(k) => {
            let mut mass = vec![1.0 / k as f64; k]; // the prior: one observation
            for &x in xs {
                mass[(x as usize).min(k - 1)] += 1.0;
            }
            mass.iter().map(|m| m / (n + 1.0)).collect()
        }
        None => {
            let h = scott_bandwidth(xs).max(1.0 / GRID as f64);
            let grid: Vec<f64> = (0..GRID).map(|j| (j as f64 + 0.5) / GRID as f64).collect();
            let mut mass = vec![1.0 / GRID as f64; GRID];
            for &x in xs {
                let k: Vec<f64> = grid
                    .iter()
                    .map(|g| (-0.5 * ((g - x) / h).powi(2)).exp())
                    .collect();
                let z: f64 = k.iter().sum();
                if z > 0.0 {
                    for (m, v) in mass.iter_mut().zip(&k) {
                        *m += v / z;
                    }
                }
            }
            mass.iter().map(|m| m / (n + 1.0)).collect()
        }
    }
}

/// Scott's rule, `1.059 · min(σ, IQR / 1.34) · n^(-1/5)`.
fn scott_bandwidth(xs: &[f64]) -> f64 {
    let n = xs.len() as f64;
    if xs.len() < 2 {
        return 1.0 / GRID as f64;
    }
    let mean = xs.iter().sum::<f64>() / n;
    let sd = (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    let mut s = xs.to_vec();
    s.sort_by(f64::total_cmp);
    let q = |p: f64| {
        let pos = p * (s.len() - 1) as f64;
        let (i, f) = (pos.floor() as usize, pos.fract());
        s[i] + f * (s[(i + 1).min(s.len() - 1)] - s[i])
    };
    let iqr = q(0.75) - q(0.25);
    let spread = if iqr > 0.0 { sd.min(iqr / 1.34) } else { sd };
    1.059 * spread * n.powf(-0.2)
}

/// `Σ p · (q / p − 1)²` (both are strictly positive thanks to the prior).
fn pearson_divergence(q: &[f64], p: &[f64]) -> f64 {
    q.iter()
        .zip(p)
        .map(|(q, p)| p * (q / p - 1.0).powi(2))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use paretosearch_core::{ParamValue, Params};

    fn spec() -> StudySpec {
        let text = r#"
[study]
name = "imp"
[[objectives]]
name = "loss"
direction = "minimize"
[[objectives]]
name = "acc"
direction = "maximize"
[search_space]
x = { type = "float", low = 0.0, high = 1.0 }
noise = { type = "float", low = 0.0, high = 1.0 }
opt = { type = "categorical", choices = ["a", "b", "c"] }
[runner]
kind = "builtin"
problem = "zdt1"
[budget]
trials = 10
"#;
        StudySpec::parse(text, std::path::Path::new("imp.toml"), &mut |_| {
            Err("no includes".into())
        })
        .unwrap()
    }

    /// `loss` depends on `x` only, `acc` on `opt` only; `noise` on nothing.
    fn trials() -> Vec<Trial> {
        (0..200u64)
            .map(|i| {
                let x = ((i * 37) % 200) as f64 / 200.0;
                let noise = ((i * 91 + 13) % 200) as f64 / 200.0;
                let opt = ["a", "b", "c"][(i % 3) as usize];
                let mut t = Trial::new(i, TrialState::Complete);
                let mut p = Params::new();
                p.insert("x".into(), ParamValue::Float(x));
                p.insert("noise".into(), ParamValue::Float(noise));
                p.insert("opt".into(), ParamValue::Str(opt.into()));
                t.params = p;
                t.values.insert("loss".into(), (x - 0.3).abs());
                let acc = if opt == "b" { 0.9 } else { 0.5 };
                t.values.insert("acc".into(), acc);
                t
            })
            .collect()
    }

    #[test]
    fn finds_the_parameter_that_matters() {
        let s = spec();
        let t = trials();
        let loss = ped_anova(&s, &t, "loss", TOP_QUANTILE).unwrap();
        assert_eq!(loss[0].0, "x", "{loss:?}");
        assert!(loss[0].1 > 0.8, "{loss:?}");
        let acc = ped_anova(&s, &t, "acc", TOP_QUANTILE).unwrap();
        assert_eq!(acc[0].0, "opt", "{acc:?}");
        let sum: f64 = acc.iter().map(|(_, v)| v).sum();
        assert!((sum - 1.0).abs() < 1e-9);
    }

    #[test]
    fn intervals_cover_the_estimate_and_small_samples_warn() {
        let s = spec();
        let t = trials();
        let u = with_uncertainty(&s, &t, "loss", TOP_QUANTILE).unwrap();
        assert_eq!(u.trials, 200);
        assert_eq!(u.ranked[0].name, "x");
        for r in &u.ranked {
            assert!(r.lo <= r.hi, "{r:?}");
        }
        // `x` clearly first: its interval is above the others'.
        assert!(u.ranked[0].lo > u.ranked[1].hi, "{u:?}");
        assert_eq!(u.warning, None);
        let few = with_uncertainty(&s, &t[..30], "loss", TOP_QUANTILE).unwrap();
        let w = few.warning.unwrap();
        assert!(w.contains("only 30 COMPLETE trials"), "{w}");
    }

    #[test]
    fn too_few_trials_is_an_explained_error() {
        let s = spec();
        let t = trials();
        let e = ped_anova(&s, &t[..3], "loss", TOP_QUANTILE).unwrap_err();
        assert!(e.contains("at least"), "{e}");
        assert!(ped_anova(&s, &t, "nope", TOP_QUANTILE).is_err());
    }
}
