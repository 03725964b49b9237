//! `paretosearch bench-pruning`: the replayed table, its JSON rows, and the
//! clairvoyant ceiling.

mod common;

fn bench(args: &[&str]) -> (String, String, bool) {
    let out = common::ps(&[&["bench-pruning"], args].concat());
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.success(),
    )
}

/// The clairvoyant arm stops only trials that end dominated, so it never
/// loses hypervolume and never stops a front trial, yet saves epochs; the
/// real pruner is measured beside it on the same orders.
#[test]
fn the_clairvoyant_ceiling_loses_nothing_and_saves_epochs() {
    let (stdout, stderr, ok) = bench(&[
        "--synthetic",
        "crossing",
        "--trials",
        "30",
        "--steps",
        "10",
        "--seeds",
        "2",
        "--arm",
        "clairvoyant",
        "--arm",
        "clairvoyant:warmup_steps=5",
        "--arm",
        "dominated",
        "--json",
    ]);
    assert!(ok, "{stderr}");
    let rows: serde_json::Value =
        serde_json::from_str(stdout.lines().last().expect("a JSON line")).unwrap();
    let row = |arm: &str| {
        rows["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["arm"] == arm)
            .unwrap_or_else(|| panic!("no row for {arm}:\n{stdout}"))
            .clone()
    };
    let c = row("clairvoyant");
    assert_eq!(c["hv_ratio_worst"], 1.0, "{c}");
    assert_eq!(c["false_stops"], 0.0, "{c}");
    let saved = c["epochs_saved"].as_f64().unwrap();
    assert!(saved > 0.2, "{c}");
    // Stopping later saves less: 5 of 10 steps trained instead of 2.
    let late = row("clairvoyant:warmup_steps=5")["epochs_saved"]
        .as_f64()
        .unwrap();
    assert!(late < saved, "{late} vs {saved}");
    assert!(row("dominated")["epochs_saved"].as_f64().is_some());
}

#[test]
fn a_bad_clairvoyant_option_names_what_it_takes() {
    let (_, stderr, ok) = bench(&[
        "--synthetic",
        "crossing",
        "--trials",
        "10",
        "--arm",
        "clairvoyant:z=1.0",
    ]);
    assert!(!ok);
    assert!(stderr.contains("clairvoyant:z=1.0"), "{stderr}");
    assert!(
        stderr.contains("warmup_steps") && stderr.contains("min_gain"),
        "{stderr}"
    );
}

/// The project's recorded set (`bench/curves`: unpruned torch studies and
/// LCDB curves, gzip-compressed) replays as one folder, one row per file,
/// and each file is a workload of whole studies.
#[test]
fn the_recorded_set_replays_from_its_folder() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/curves");
    let files = std::fs::read_dir(&dir)
        .unwrap()
        .filter(|e| {
            let name = e.as_ref().unwrap().file_name();
            name.to_string_lossy().ends_with(".json.gz")
        })
        .count();
    assert!(files >= 10, "{files} workloads in {}", dir.display());
    let (stdout, stderr, ok) = bench(&[
        "--workload",
        dir.to_str().unwrap(),
        "--arm",
        "clairvoyant",
        "--seeds",
        "1",
        "--json",
    ]);
    assert!(ok, "{stderr}");
    let rows: serde_json::Value =
        serde_json::from_str(stdout.lines().last().expect("a JSON line")).unwrap();
    let rows = rows["rows"].as_array().unwrap();
    assert_eq!(rows.len(), files, "{stdout}");
    for r in rows {
        assert!(r["trials"].as_u64().unwrap() >= 30, "{r}");
        // The ceiling stops only trials that end dominated: nothing lost.
        assert!(
            (r["hv_ratio_worst"].as_f64().unwrap() - 1.0).abs() < 1e-9,
            "{r}"
        );
    }
    // Recordings of one study at several seeds are summed up per study:
    // cnn-random-s1 ... -s5 are one, the LCDB datasets are one each.
    let studies: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    let studies = studies["studies"].as_array().unwrap();
    let cnn = studies
        .iter()
        .find(|s| s["study"] == "cnn-random")
        .expect("cnn-random summed up");
    assert_eq!(cnn["recordings"], 5, "{cnn}");
    let saved = &cnn["epochs_saved"];
    let (lo, med, hi) = (
        saved["min"].as_f64().unwrap(),
        saved["median"].as_f64().unwrap(),
        saved["max"].as_f64().unwrap(),
    );
    assert!(lo > 0.0 && lo <= med && med <= hi, "{cnn}");
    assert!(
        saved["worst"].as_f64().unwrap() <= lo,
        "the worst order is no better than the worst median: {cnn}"
    );
    assert!(!studies
        .iter()
        .any(|s| s["study"].as_str().unwrap().starts_with("lcdb")));
    assert!(stdout.contains("epochs saved, range [worst]"), "{stdout}");
}

#[test]
fn bad_workload_files_and_folders_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let (_, stderr, ok) = bench(&["--workload", dir.path().to_str().unwrap()]);
    assert!(!ok);
    assert!(stderr.contains("no *.json or *.json.gz"), "{stderr}");
    let bad = common::write(dir.path(), "broken.json.gz", "not gzip");
    let (_, stderr, ok) = bench(&["--workload", bad.to_str().unwrap()]);
    assert!(!ok);
    assert!(
        stderr.contains("broken.json.gz") && stderr.contains("gzip"),
        "{stderr}"
    );
}
