//! Completed curves as a forecast: what happened next to curves that stood
//! where this one stands.
//!
//! Trials of one study share the shape of their curves (one training
//! script, one schedule), so the rest of a completed curve that looked like
//! this one at step `s` is a forecast of this one's rest that no parametric
//! family can give: a plateau that ends in a drop when the learning-rate
//! schedule steps is forecast as a drop once completed peers dropped there.
//! A curve at step `s` is summarised by its **level** (the mean of its last
//! two reports up to `s`) and its **trend** (the level `TREND_LAG` reports
//! earlier minus the level now, positive while it improves); the `K`
//! nearest completed curves in that plane (each axis scaled by its spread
//! over the peers) give their remaining change `final − level`, regressed
//! locally and linearly on the offsets in that plane with tricube weights
//! (so a curve at the edge of the peers, the best one so far, is not pulled
//! towards the middle), and the weighted spread around that fit.

/// Reports between the two levels of the trend.
const TREND_LAG: usize = 3;

/// Nearest completed curves consulted.
pub const K: usize = 12;

/// A completed curve of one objective, minimised.
#[derive(Clone, Debug)]
pub struct Curve {
    /// The trial's number.
    pub number: u64,
    /// `(step, value)` in step order.
    pub points: Vec<(u64, f64)>,
    /// The final (minimised) value the trial was told with.
    pub final_value: f64,
}

impl Curve {
    /// The last step reported.
    pub fn last_step(&self) -> u64 {
        self.points.last().map_or(0, |p| p.0)
    }

    /// Level and trend at step `s`, from the reports up to `s`.
    pub fn features(&self, s: u64) -> Option<(f64, f64)> {
        let k = self.points.partition_point(|p| p.0 <= s);
        features(&self.points[..k])
    }
}

/// Level and trend of a curve from its reports (in step order); `None`
/// without a report.
pub fn features(points: &[(u64, f64)]) -> Option<(f64, f64)> {
    let n = points.len();
    if n == 0 {
        return None;
    }
    let level_at = |end: usize| {
        let k = end.min(2);
        points[end - k..end].iter().map(|p| p.1).sum::<f64>() / k as f64
    };
    let level = level_at(n);
    let earlier = level_at(n.saturating_sub(TREND_LAG).max(1));
    Some((level, earlier - level))
}

/// The peers' forecast: the mean remaining change (to be added to the
/// level) and its spread.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PeerForecast {
    /// Weighted mean of `final − level` over the nearest curves.
    pub change: f64,
    /// Weighted standard deviation of those changes.
    pub spread: f64,
}

/// Forecast from the completed curves `peers` that reached step `s`, for a
/// curve with `(level, trend)` at `s`. `skip` leaves one trial out (the one
/// being backtested). `None` with fewer than 3 usable peers.
pub fn forecast(
    peers: &[Curve],
    s: u64,
    me: (f64, f64),
    skip: Option<u64>,
) -> Option<PeerForecast> {
    let feats: Vec<(f64, f64, f64)> = peers
        .iter()
        .filter(|c| Some(c.number) != skip && c.last_step() >= s)
        .filter_map(|c| {
            let (l, g) = c.features(s)?;
            Some((l, g, c.final_value - l))
        })
        .collect();
    if feats.len() < 3 {
        return None;
    }
    let spread = |xs: &mut dyn Iterator<Item = f64>| {
        let v: Vec<f64> = xs.collect();
        let m = v.iter().sum::<f64>() / v.len() as f64;
        (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len() as f64).sqrt()
    };
    let sl = spread(&mut feats.iter().map(|f| f.0)).max(1e-12);
    let sg = spread(&mut feats.iter().map(|f| f.1)).max(1e-12);
    // Scaled offsets from this curve, with the remaining change.
    let mut near: Vec<(f64, f64, f64, f64)> = feats
        .iter()
        .map(|(l, g, d)| {
            let (x, y) = ((l - me.0) / sl, (g - me.1) / sg);
            ((x * x + y * y).sqrt(), x, y, *d)
        })
        .collect();
    let k = K.min(near.len());
    if near.len() > k {
        near.select_nth_unstable_by(k - 1, |a, b| a.0.total_cmp(&b.0));
        near.truncate(k);
    }
    near.sort_by(|a, b| a.0.total_cmp(&b.0));
    let near = &near[..k];
    let radius = near[k - 1].0.max(1e-9) * 1.5;
    let w: Vec<f64> = near
        .iter()
        .map(|n| (1.0 - (n.0 / radius).min(1.0).powi(3)).powi(3))
        .collect();
    let (change, resid) = local_linear(near, &w);
    let sw: f64 = w.iter().sum();
    // The spread of the neighbours' changes around the local fit, with a
    // small-sample correction for the three fitted coefficients.
    let var = near
        .iter()
        .zip(&resid)
        .zip(&w)
        .map(|((_, r), wi)| wi * r * r)
        .sum::<f64>()
        / sw
        * k as f64
        / (k as f64 - 3.0).max(1.0);
    Some(PeerForecast {
        change,
        spread: var.sqrt(),
    })
}

/// Locally weighted linear regression of the changes on the scaled offsets
/// (ridge-regularised slopes), evaluated at this curve (offset 0): the
/// local mean alone is biased towards the middle for curves at the edge of
/// the peers (the best trials, which are the ones that matter). Returns the
/// forecast change and each neighbour's residual.
fn local_linear(near: &[(f64, f64, f64, f64)], w: &[f64]) -> (f64, Vec<f64>) {
    let sw: f64 = w.iter().sum();
    let mean = near.iter().zip(w).map(|(n, wi)| wi * n.3).sum::<f64>() / sw;
    // Normal equations of d ≈ b0 + b1 x + b2 y, with ridge on b1, b2.
    let mut a = [[0.0f64; 3]; 3];
    let mut b = [0.0f64; 3];
    for (n, wi) in near.iter().zip(w) {
        let row = [1.0, n.1, n.2];
        for i in 0..3 {
            b[i] += wi * row[i] * n.3;
            for j in 0..3 {
                a[i][j] += wi * row[i] * row[j];
            }
        }
    }
    let ridge = 0.1 * sw;
    a[1][1] += ridge;
    a[2][2] += ridge;
    let beta = solve3(a, b).unwrap_or([mean, 0.0, 0.0]);
    let resid = near
        .iter()
        .map(|n| n.3 - beta[0] - beta[1] * n.1 - beta[2] * n.2)
        .collect();
    (beta[0], resid)
}

/// Solve a 3×3 system by Gaussian elimination with partial pivoting.
fn solve3(mut a: [[f64; 3]; 3], mut b: [f64; 3]) -> Option<[f64; 3]> {
    for c in 0..3 {
        let p = (c..3).max_by(|&i, &j| a[i][c].abs().total_cmp(&a[j][c].abs()))?;
        if a[p][c].abs() < 1e-12 {
            return None;
        }
        a.swap(c, p);
        b.swap(c, p);
        for r in c + 1..3 {
            let f = a[r][c] / a[c][c];
            let pivot = a[c];
            for (x, p) in a[r].iter_mut().zip(pivot).skip(c) {
                *x -= f * p;
            }
            b[r] -= f * b[c];
        }
    }
    let mut x = [0.0; 3];
    for r in (0..3).rev() {
        let s: f64 = (r + 1..3).map(|k| a[r][k] * x[k]).sum();
        x[r] = (b[r] - s) / a[r][r];
    }
    Some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn curve(number: u64, values: &[f64]) -> Curve {
        Curve {
            number,
            points: values
                .iter()
                .enumerate()
                .map(|(i, v)| (i as u64 + 1, *v))
                .collect(),
            final_value: *values.last().unwrap(),
        }
    }

    /// The local linear fit extrapolates to a curve beyond its peers,
    /// where a local mean would return the edge's value.
    #[test]
    fn edge_curves_are_not_pulled_to_the_middle() {
        // Remaining change proportional to the trend: d = -2 g.
        let peers: Vec<Curve> = (0..12)
            .map(|i| {
                let g = 0.01 * i as f64;
                let level = 0.5;
                Curve {
                    number: i,
                    points: vec![(1, level + g), (2, level + g), (3, level), (4, level)],
                    final_value: level - 2.0 * g,
                }
            })
            .collect();
        let me = (0.5, 0.15); // steeper than every peer
        let f = forecast(&peers, 4, me, None).unwrap();
        assert!((f.change + 0.3).abs() < 0.05, "{f:?}");
        assert!(f.spread < 0.01, "{f:?}");
        assert_eq!(
            solve3(
                [[2.0, 0.0, 0.0], [0.0, 4.0, 0.0], [0.0, 0.0, 1.0]],
                [2.0, 2.0, 3.0]
            ),
            Some([1.0, 0.5, 3.0])
        );
    }

    #[test]
    fn features_are_level_and_trend() {
        let c = curve(0, &[0.9, 0.7, 0.6, 0.5, 0.4]);
        // Level at 4: mean(0.6, 0.5); three reports earlier: mean(0.9) only.
        let (l, g) = c.features(4).unwrap();
        assert!(
            (l - 0.55).abs() < 1e-12 && (g - 0.35).abs() < 1e-12,
            "{l} {g}"
        );
    }

    /// Peers that dropped late forecast a late drop for a curve on the same
    /// plateau, and peers that did not, none.
    #[test]
    fn the_nearest_curves_give_the_rest() {
        let drop: Vec<Curve> = (0..5)
            .map(|i| {
                let p = 0.5 + 0.01 * i as f64;
                curve(i, &[0.9, 0.6, p, p, p, p, p - 0.2, p - 0.2])
            })
            .collect();
        let flat: Vec<Curve> = (5..10)
            .map(|i| {
                let p = 0.8 + 0.01 * i as f64;
                curve(i, &[0.95, 0.85, p, p, p, p, p, p])
            })
            .collect();
        let all: Vec<Curve> = drop.iter().chain(&flat).cloned().collect();
        let me = features(&[(1, 0.9), (2, 0.6), (3, 0.52), (4, 0.52), (5, 0.52)]).unwrap();
        let f = forecast(&all, 5, me, None).unwrap();
        assert!((f.change + 0.2).abs() < 0.05, "{f:?}");
        let me = features(&[(1, 0.95), (2, 0.85), (3, 0.87), (4, 0.87), (5, 0.87)]).unwrap();
        let f = forecast(&all, 5, me, None).unwrap();
        assert!(f.change.abs() < 0.05, "{f:?}");
        // Left out, a trial is not its own peer; too few peers, no forecast.
        assert!(forecast(&all[..3], 5, me, Some(0)).is_none());
    }
}
