//! Ask + tell throughput and latency of the stores, with 1, 4 and 16
//! concurrent workers, on an empty study and on one holding 10,000 finished
//! trials. Not a test: it prints a Markdown table.
//!
//! ```sh
//! export PARETOSEARCH_TEST_POSTGRES="$(scripts/start-postgres.sh | tail -n 1)"   # optional
//! cargo bench -p paretosearch-store --bench throughput
//! ```
//!
//! Each worker is a task with its own store handle (its own connection
//! pool), as a separate process would be. One trial is: **ask** = claim +
//! bring the worker's [`TrialCache`] up to date (what a sampler reads) +
//! store the parameters; **tell** = finish it COMPLETE. Workers load the
//! study once before the clock starts. `full read` is one
//! [`Store::trials`] of the whole study, what every ask cost before the
//! cache.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use paretosearch_core::{ParamValue, Params, TrialOutcome};
use paretosearch_store::{open, Claim, Store, TrialCache};
use sqlx::Connection;

const NEW_TRIALS: u64 = 400;

struct Backend {
    name: &'static str,
    url: String,
    _dir: Option<tempfile::TempDir>,
}

async fn backends() -> Vec<Backend> {
    let dir = tempfile::tempdir().expect("temporary folder");
    let mut out = vec![Backend {
        name: "SQLite",
        url: format!("sqlite://{}", dir.path().join("bench.db").display()),
        _dir: Some(dir),
    }];
    if let Some(base) = std::env::var("PARETOSEARCH_TEST_POSTGRES")
        .ok()
        .filter(|u| !u.is_empty())
    {
        let schema = format!("ps_bench_{}", std::process::id());
        let mut admin = sqlx::PgConnection::connect(&base).await.expect("connect");
        sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
            .execute(&mut admin)
            .await
            .unwrap();
        sqlx::query(&format!("CREATE SCHEMA {schema}"))
            .execute(&mut admin)
            .await
            .unwrap();
        let sep = if base.contains('?') { '&' } else { '?' };
        out.push(Backend {
            name: "PostgreSQL",
            url: format!("{base}{sep}options[search_path]={schema}"),
            _dir: None,
        });
    } else {
        eprintln!("PARETOSEARCH_TEST_POSTGRES not set: PostgreSQL skipped");
    }
    out
}

/// Insert `n` finished trials in one statement.
async fn populate(url: &str, study_id: i64, n: u64) {
    if n == 0 {
        return;
    }
    let values = r#"{"f1":0.5,"f2":0.25}"#;
    let params = r#"{"x":0.5,"y":3}"#;
    if url.starts_with("sqlite:") {
        let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
        sqlx::query(
            "WITH RECURSIVE g(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM g WHERE n + 1 < ?) \
             INSERT INTO trials (study_id, number, state, params, objective_values, started_at, finished_at) \
             SELECT ?, n, 'COMPLETE', ?, ?, 0, 1 FROM g",
        )
        .bind(n as i64)
        .bind(study_id)
        .bind(params)
        .bind(values)
        .execute(&mut c)
        .await
        .unwrap();
    } else {
        let mut c = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::query(
            "INSERT INTO trials (study_id, number, state, params, objective_values, started_at, finished_at) \
             SELECT $1, g, 'COMPLETE', $2, $3, 0, 1 FROM generate_series(0, $4 - 1) g",
        )
        .bind(study_id)
        .bind(params)
        .bind(values)
        .bind(n as i64)
        .execute(&mut c)
        .await
        .unwrap();
    }
}

struct Latencies {
    ask: Vec<Duration>,
    tell: Vec<Duration>,
}

async fn worker(store: Arc<dyn Store>, study_id: i64, budget: u64, me: String) -> Latencies {
    let mut cache = TrialCache::new(study_id);
    cache.refresh(&*store).await.unwrap();
    let mut lat = Latencies {
        ask: Vec::new(),
        tell: Vec::new(),
    };
    let values: BTreeMap<String, f64> = [("f1".into(), 0.1), ("f2".into(), 0.2)].into();
    loop {
        let t0 = Instant::now();
        let trial = match store.claim(study_id, &me, budget, 0).await.unwrap() {
            Claim::New(t) | Claim::Queued(t) => t,
            Claim::Exhausted { .. } => return lat,
        };
        let seen = cache.refresh(&*store).await.unwrap();
        assert!(seen.iter().any(|t| t.id == trial.id));
        let params: Params = [
            (
                "x".to_string(),
                ParamValue::Float(trial.number as f64 * 1e-3),
            ),
            ("y".to_string(), ParamValue::Int(3)),
        ]
        .into();
        store
            .set_params(trial.id, &params, &Default::default())
            .await
            .unwrap();
        let t1 = Instant::now();
        store
            .finish(trial.id, &TrialOutcome::Complete(values.clone()), false, 1)
            .await
            .unwrap();
        lat.ask.push(t1 - t0);
        lat.tell.push(t1.elapsed());
    }
}

fn pct(v: &mut [Duration], p: f64) -> f64 {
    v.sort_unstable();
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i].as_secs_f64() * 1e3
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    println!(
        "| backend | existing trials | workers | trials/s | ask p50 ms | ask p99 ms | tell p50 ms | tell p99 ms | full read ms |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for b in backends().await {
        for existing in [0u64, 10_000] {
            for workers in [1usize, 4, 16] {
                let admin = open(&b.url).await.expect("open");
                let name = format!("bench-{existing}-{workers}");
                let study_id = admin.open_study(&name, "fp", "{}").await.unwrap().id;
                populate(&b.url, study_id, existing).await;
                let t = Instant::now();
                let n = admin.trials(study_id).await.unwrap().len() as u64;
                let full_read = t.elapsed();
                assert_eq!(n, existing);
                let budget = existing + NEW_TRIALS;
                let mut stores = Vec::new();
                for _ in 0..workers {
                    stores.push(open(&b.url).await.expect("open"));
                }
                let start = Instant::now();
                let tasks: Vec<_> = stores
                    .into_iter()
                    .enumerate()
                    .map(|(i, s)| tokio::spawn(worker(s, study_id, budget, format!("bench:{i}:0"))))
                    .collect();
                let mut ask = Vec::new();
                let mut tell = Vec::new();
                for t in tasks {
                    let l = t.await.unwrap();
                    ask.extend(l.ask);
                    tell.extend(l.tell);
                }
                let secs = start.elapsed().as_secs_f64();
                assert_eq!(ask.len() as u64, NEW_TRIALS, "every new trial once");
                println!(
                    "| {} | {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {:.1} |",
                    b.name,
                    existing,
                    workers,
                    NEW_TRIALS as f64 / secs,
                    pct(&mut ask, 0.5),
                    pct(&mut ask, 0.99),
                    pct(&mut tell, 0.5),
                    pct(&mut tell, 0.99),
                    full_read.as_secs_f64() * 1e3
                );
                admin.delete_study(&name).await.unwrap();
            }
        }
    }
}
