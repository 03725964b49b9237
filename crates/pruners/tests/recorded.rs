//! The forecast's calibration on recorded learning curves: 160 validation
//! accuracy curves of the quickstart's MLP on the digits (15 epochs each),
//! recorded from unpruned runs (see `data/quickstart-curves.json`).

use paretosearch_pruners::forecast::{self, Calibration, Curve};

fn curves() -> Vec<Curve> {
    let text = include_str!("data/quickstart-curves.json");
    let v: serde_json::Value = serde_json::from_str(text).unwrap();
    v["curves"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, c)| Curve {
            number: i as u64,
            // Minimised: accuracy is maximised.
            points: c["accuracy"]
                .as_array()
                .unwrap()
                .iter()
                .enumerate()
                .map(|(s, a)| (s as u64 + 1, -a.as_f64().unwrap()))
                .collect(),
            final_value: -c["final"].as_f64().unwrap(),
        })
        .collect()
}

/// Coverage of the central 80 % interval on curves the calibration never
/// saw, cut at every step from 2 to 14.
fn coverage(cal: &Calibration, known: &[Curve], fresh: &[Curve]) -> f64 {
    let (mut inside, mut n) = (0, 0);
    for c in fresh {
        for i in 1..c.points.len() - 1 {
            let r = forecast::raw(&c.points[..=i], 15, known, None, 5).unwrap();
            let f = cal.forecast(&r);
            let (lo, hi) = (cal.quantile(&f, 0.1), cal.quantile(&f, 0.9));
            inside += usize::from(c.final_value >= lo && c.final_value <= hi);
            n += 1;
        }
    }
    inside as f64 / n as f64
}

#[test]
fn intervals_cover_recorded_tails_at_their_stated_rate() {
    let all = curves();
    assert_eq!(all.len(), 160);
    let (known, fresh) = all.split_at(100);
    let cal = Calibration::build(known, 15, 2, 5, true);
    let measured = cal.coverage.unwrap();
    let on_fresh = coverage(&cal, known, fresh);
    assert!(
        (0.7..=0.9).contains(&measured),
        "held-out coverage {measured}"
    );
    assert!(
        (0.7..=0.9).contains(&on_fresh),
        "coverage on new curves {on_fresh}"
    );
    // Without calibration the raw intervals miss their rate by more.
    let raw = Calibration::build(known, 15, 2, 5, false);
    let raw_cov = coverage(&raw, known, fresh);
    eprintln!("held-out {measured:.3}, new curves {on_fresh:.3}, uncalibrated {raw_cov:.3}");
    assert!(
        (raw_cov - 0.8).abs() > (on_fresh - 0.8).abs(),
        "raw {raw_cov} vs calibrated {on_fresh}"
    );
}
