//! PostgreSQL stopped and started again while workers run: they wait with
//! backoff, carry on, and no trial is recorded twice.
//!
//! A binary of its own so that no other test of this package runs while the
//! server is down; tests of other packages and processes that use the test
//! server hold the shared lock this one takes exclusively. Runs only when
//! `PARETOSEARCH_TEST_POSTGRES` is set and this user may run `pg_ctlcluster`
//! (root, as `scripts/test.sh` is); the server is started again whatever
//! happens.

mod common;
mod distributed_common;

use std::process::Command;
use std::time::Duration;

use distributed_common::*;

/// Starts the cluster again when dropped (also when the test panics).
struct Restart {
    version: String,
    cluster: String,
}

impl Restart {
    fn ctl(&self, action: &str) -> bool {
        Command::new("pg_ctlcluster")
            .args([&self.version, &self.cluster, action])
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    }
}

impl Drop for Restart {
    fn drop(&mut self) {
        self.ctl("start");
    }
}

/// The first cluster `pg_lsclusters` lists, if this user can control it.
fn cluster() -> Option<Restart> {
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("not root: cannot stop the test server; skipped");
        return None;
    }
    let out = Command::new("pg_lsclusters").arg("-h").output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut fields = text.lines().next()?.split_whitespace();
    Some(Restart {
        version: fields.next()?.to_string(),
        cluster: fields.next()?.to_string(),
    })
}

#[test]
fn workers_ride_out_a_postgres_restart() {
    let Some(pg) = PgSchema::new("restart", true) else {
        return;
    };
    let Some(server) = cluster() else {
        return;
    };
    let storage = pg.url();
    let dir = tempfile::tempdir().unwrap();
    let trials = 40;
    let study = study_file(dir.path(), "restart", trials, "5s");
    let study_s = study.to_str().unwrap();
    let mut workers: Vec<Worker> = (0..4)
        .map(|i| {
            Worker::spawn(
                dir.path(),
                &format!("w{i}"),
                &["worker", study_s, "--storage", &storage, "--create"],
                &[("SLEEP", "0.2"), ("PARETOSEARCH_DB_RETRY", "2m")],
            )
        })
        .collect();
    wait_until("the first trials", Duration::from_secs(60), || {
        finished(&study, &storage).unwrap_or(0) >= 8
    });

    assert!(server.ctl("stop"), "pg_ctlcluster stop");
    // Trials that were running finish meanwhile; their workers must wait.
    std::thread::sleep(Duration::from_secs(3));
    assert!(server.ctl("start"), "pg_ctlcluster start");

    for w in &mut workers {
        let status = w.wait(Duration::from_secs(120));
        assert!(status.success(), "{}", w.output());
    }
    let lost = workers
        .iter()
        .filter(|w| w.stderr_text().contains("cannot be reached"))
        .count();
    assert!(lost > 0, "no worker noticed the outage");
    assert!(workers
        .iter()
        .any(|w| w.stderr_text().contains("answers again")));

    let all = export(&study, &storage);
    assert_unique_numbers(&all);
    let counted = counted(&all);
    assert_eq!(counted.len() as u64, trials, "{all:#?}");
    assert!(counted.iter().all(|t| t["state"] == "COMPLETE"), "{all:#?}");
    // A failure is only acceptable as a claim whose answer was lost in the
    // outage (recovered by the sweep, never run): re-queued, no parameters.
    for t in all.iter().filter(|t| t["state"] == "FAIL") {
        assert!(
            t["params"].as_object().unwrap().is_empty(),
            "a trial with parameters failed: {t:#}"
        );
    }
    drop(server);
}
