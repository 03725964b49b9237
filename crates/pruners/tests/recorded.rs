//! The forecast's calibration on recorded learning curves: 160 validation
//! accuracy curves of the quickstart's MLP on the digits (15 epochs each,
//! cosine schedule), recorded from unpruned runs (see
//! `data/quickstart-curves.json`), and the 200 of the five step-schedule
//! recordings of `bench/curves` (the learning rate divided by 10 at 50 %
//! and again at 75 % of the 15 epochs), which jump when the rate drops.

use std::io::Read;

use paretosearch_pruners::forecast::{self, Calibration, Curve};
use paretosearch_pruners::replay::Workload;

const HORIZON: u64 = 15;

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

/// Share of `fresh` final values inside the central 80 % interval, the
/// curves cut at the steps `cuts`.
fn coverage(cal: &Calibration, known: &[Curve], fresh: &[Curve], cuts: &[u64]) -> f64 {
    let (mut inside, mut n) = (0, 0);
    for c in fresh {
        for &s in cuts {
            let k = c.points.partition_point(|p| p.0 <= s);
            let r = forecast::raw(&c.points[..k], HORIZON, known, None, 5).unwrap();
            let f = cal.forecast(&r);
            let (lo, hi) = (cal.quantile(&f, 0.1), cal.quantile(&f, 0.9));
            inside += usize::from(c.final_value >= lo && c.final_value <= hi);
            n += 1;
        }
    }
    inside as f64 / n as f64
}

/// Every step but the first and the last.
fn every_cut() -> Vec<u64> {
    (2..HORIZON).collect()
}

#[test]
fn intervals_cover_recorded_tails_at_their_stated_rate() {
    let all = curves();
    assert_eq!(all.len(), 160);
    let (known, fresh) = all.split_at(100);
    let cal = Calibration::build(known, HORIZON, 2, 5, true);
    let measured = cal.coverage.unwrap();
    let on_fresh = coverage(&cal, known, fresh, &every_cut());
    assert!(
        (0.7..=0.9).contains(&measured),
        "held-out coverage {measured}"
    );
    assert!(
        (0.7..=0.9).contains(&on_fresh),
        "coverage on new curves {on_fresh}"
    );
    // Without calibration the raw intervals miss their rate by more.
    let raw = Calibration::build(known, HORIZON, 2, 5, false);
    let raw_cov = coverage(&raw, known, fresh, &every_cut());
    eprintln!("held-out {measured:.3}, new curves {on_fresh:.3}, uncalibrated {raw_cov:.3}");
    assert!(
        (raw_cov - 0.8).abs() > (on_fresh - 0.8).abs(),
        "raw {raw_cov} vs calibrated {on_fresh}"
    );
}

/// Calibrated on four step-schedule recordings, the intervals cover the
/// fifth's final values at their stated rate, also at the steps just
/// before the drop, where a forecast that never saw a drop is wrong.
/// The accuracy curves (minimised) of one recording.
fn step_curves(seed: u32, first_number: u64) -> Vec<Curve> {
    let path = format!(
        "{}/../../bench/curves/quickstart-step-s{seed}.json.gz",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&path).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    let w: Workload = serde_json::from_str(&text).unwrap();
    w.trials
        .iter()
        .enumerate()
        .map(|(i, t)| Curve {
            number: first_number + i as u64,
            points: t
                .reports
                .iter()
                .map(|r| (r.step, -r.values["accuracy"]))
                .collect(),
            final_value: -t.values["accuracy"],
        })
        .collect()
}

#[test]
fn intervals_cover_step_schedule_tails_at_their_stated_rate() {
    let every = every_cut();
    let before_drop = [6, 7, 8];
    let mut report = Vec::new();
    for held_out in 1..=5u32 {
        let known: Vec<Curve> = (1..=5u32)
            .filter(|&s| s != held_out)
            .flat_map(|s| step_curves(s, 100 * s as u64))
            .collect();
        let fresh = step_curves(held_out, 1000);
        assert_eq!((known.len(), fresh.len()), (160, 40));
        let cal = Calibration::build(&known, HORIZON, 2, 5, true);
        let raw = Calibration::build(&known, HORIZON, 2, 5, false);
        report.push((
            coverage(&cal, &known, &fresh, &every),
            coverage(&cal, &known, &fresh, &before_drop),
            coverage(&raw, &known, &fresh, &every),
        ));
    }
    eprintln!("(all steps, before the drop, uncalibrated) per held-out recording: {report:.3?}");
    let mean = |k: usize| report.iter().map(|r| [r.0, r.1, r.2][k]).sum::<f64>() / 5.0;
    let (all, before, raw) = (mean(0), mean(1), mean(2));
    assert!((0.7..=0.9).contains(&all), "coverage {all}");
    assert!((0.7..=0.95).contains(&before), "before the drop {before}");
    assert!(
        (raw - 0.8).abs() > (all - 0.8).abs(),
        "uncalibrated {raw} vs calibrated {all}"
    );
}
