//! Opening for reading only, damaged files, servers that are not there and
//! passwords that must not show (the store's part of issue 13). The
//! command-line side is the root package's `tests/hardening_store.rs`.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use paretosearch_core::{ParamValue, Params, TrialOutcome};
use paretosearch_store::{
    on_connection_event, open_with, Claim, ConnectionEvent, StoreError, StoreOptions,
};
use sqlx::Connection;

const PG_ENV: &str = "PARETOSEARCH_TEST_POSTGRES";

fn rw() -> StoreOptions {
    StoreOptions::default()
}

fn ro() -> StoreOptions {
    StoreOptions {
        read_only: true,
        ..StoreOptions::default()
    }
}

fn url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

/// A study with one finished trial in `path`; the store closed, so its
/// write-ahead log is folded into the file.
async fn one_trial(path: &Path) {
    let store = open_with(&url(path), &rw()).await.unwrap();
    let id = store.open_study("s", "fp", "{}").await.unwrap().id;
    let trial = match store.claim(id, "w", 5, 1).await.unwrap() {
        Claim::New(t) | Claim::Queued(t) => t,
        other => panic!("no trial: {other:?}"),
    };
    let params: Params = [("x".to_string(), ParamValue::Float(0.5))].into();
    store
        .set_params(trial.id, &params, &Default::default())
        .await
        .unwrap();
    let values: BTreeMap<String, f64> = [("loss".to_string(), 1.5)].into();
    store
        .finish(trial.id, &TrialOutcome::Complete(values), false, 2)
        .await
        .unwrap();
    store.close().await;
}

/// The 18th and 19th bytes of a SQLite file: 2 in WAL mode, 1 otherwise.
fn header_modes(path: &Path) -> (u8, u8) {
    let bytes = std::fs::read(path).unwrap();
    (bytes[18], bytes[19])
}

/// The `-wal`, `-shm` and `-journal` files next to `path`, with what the
/// `-wal` holds: a closed store may leave an empty log behind (a
/// connection the pool was still taking back closes a moment later).
fn side_files(path: &Path) -> Vec<String> {
    ["-wal", "-shm", "-journal"]
        .iter()
        .map(|s| format!("{}{s}", path.display()))
        .filter(|p| Path::new(p).exists())
        .inspect(|p| {
            if p.ends_with("-wal") {
                let len = std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
                assert_eq!(len, 0, "{p} holds changes");
            }
        })
        .collect()
}

#[tokio::test]
async fn read_only_open_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing").join("a.db");
    let err = open_with(&url(&path), &ro()).await.err().expect("refused");
    assert!(matches!(err, StoreError::BadUrl { .. }), "{err}");
    assert!(err.to_string().contains("does not exist"), "{err}");
    assert!(!dir.path().join("missing").exists(), "a folder was created");

    // An empty file is a database with no tables: refused, left empty.
    let empty = dir.path().join("empty.db");
    std::fs::write(&empty, b"").unwrap();
    let err = open_with(&url(&empty), &ro()).await.err().expect("refused");
    assert!(matches!(err, StoreError::Uninitialized { .. }), "{err}");
    assert_eq!(
        std::fs::metadata(&empty).unwrap().len(),
        0,
        "it was migrated"
    );
}

#[tokio::test]
async fn read_only_open_neither_migrates_nor_switches_to_wal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.db");
    one_trial(&path).await;
    let before = side_files(&path);
    assert_eq!(header_modes(&path), (2, 2), "written in WAL mode");
    // Back to rollback mode (nothing is in a write-ahead log): a read-only
    // open must leave it there.
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[18] = 1;
    bytes[19] = 1;
    std::fs::write(&path, &bytes).unwrap();

    let store = open_with(&url(&path), &ro()).await.unwrap();
    let studies = store.list_studies().await.unwrap();
    assert_eq!(studies.len(), 1);
    let trials = store.trials(studies[0].id).await.unwrap();
    assert_eq!(trials.len(), 1);
    assert!(
        store.open_study("other", "fp", "{}").await.is_err(),
        "a read-only store wrote"
    );
    store.close().await;
    assert_eq!(header_modes(&path), (1, 1), "switched to WAL");
    let after = side_files(&path);
    assert!(after.iter().all(|f| before.contains(f)), "{after:?}");
    assert_eq!(std::fs::read(&path).unwrap(), bytes, "the file changed");
}

#[tokio::test]
async fn read_only_open_refuses_an_older_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.db");
    one_trial(&path).await;
    let mut conn = sqlx::SqliteConnection::connect(&url(&path)).await.unwrap();
    sqlx::query(
        "DELETE FROM _sqlx_migrations WHERE version = (SELECT max(version) FROM _sqlx_migrations)",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
    let err = open_with(&url(&path), &ro()).await.err().expect("refused");
    assert!(matches!(err, StoreError::Outdated { .. }), "{err}");
    assert!(err.to_string().contains("paretosearch run"), "{err}");
}

#[tokio::test]
async fn damaged_text_is_reported_with_the_file_and_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.db");
    one_trial(&path).await;
    let mut conn = sqlx::SqliteConnection::connect(&url(&path)).await.unwrap();
    sqlx::query("UPDATE trials SET params = CAST(X'7BFF22' AS TEXT)")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    for options in [rw(), ro()] {
        let store = open_with(&url(&path), &options).await.unwrap();
        let id = store.list_studies().await.unwrap()[0].id;
        let err = store.trials(id).await.expect_err("damage noticed");
        assert!(matches!(err, StoreError::Damaged { .. }), "{err}");
        let text = err.to_string();
        let file = path.display().to_string();
        for want in [
            file.as_str(),
            "looks damaged",
            "PRAGMA integrity_check",
            "backup",
        ] {
            assert!(text.contains(want), "{want:?} missing: {text}");
        }
        store.close().await;
    }
}

#[tokio::test]
async fn a_file_that_is_no_database_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.db");
    std::fs::write(&path, "these are my notes, not a database\n".repeat(64)).unwrap();
    for options in [rw(), ro()] {
        let err = open_with(&url(&path), &options)
            .await
            .err()
            .expect("refused");
        assert!(matches!(err, StoreError::NotADatabase { .. }), "{err}");
        let text = err.to_string();
        assert!(text.contains("notes.db") && text.contains("not a SQLite database"));
        assert!(text.contains("PRAGMA integrity_check"), "{text}");
    }
}

/// A local port nothing listens on.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[tokio::test]
async fn readers_hear_of_a_missing_server_at_once() {
    let port = closed_port();
    let url = format!("postgres://someone:Hunter2Secret@127.0.0.1:{port}/db");
    let started = Instant::now();
    let err = open_with(&url, &ro()).await.err().expect("refused");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert!(matches!(err, StoreError::Unreachable { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains(&format!("connection refused at 127.0.0.1:{port}")),
        "{text}"
    );
    assert!(!text.contains("Hunter2Secret"), "{text}");
}

#[tokio::test]
async fn workers_retry_a_missing_server_and_say_where() {
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = events.clone();
    on_connection_event(move |e| seen.lock().unwrap().push(e.clone()));
    let port = closed_port();
    let url = format!("postgres://someone:Hunter2Secret@127.0.0.1:{port}/db");
    let options = StoreOptions {
        unreachable_for: Duration::from_secs(1),
        ..StoreOptions::default()
    };
    let err = open_with(&url, &options).await.err().expect("refused");
    let text = err.to_string();
    assert!(matches!(err, StoreError::Unreachable { .. }), "{text}");
    assert!(text.contains(&format!("connection refused at 127.0.0.1:{port}")));
    assert!(text.contains("retried for 1s"), "{text}");
    let events = events.lock().unwrap().clone();
    let target = format!("127.0.0.1:{port}");
    assert!(
        matches!(&events[0], ConnectionEvent::Lost { error, .. } if error.contains(&target)),
        "{events:?}"
    );
    assert!(
        events.iter().skip(1).all(|e| matches!(e,
            ConnectionEvent::Retrying { error, .. } if error.contains(&target))),
        "{events:?}"
    );
    assert!(!format!("{events:?}{text}").contains("Hunter2Secret"));
}

#[tokio::test]
async fn bad_urls_do_not_show_passwords() {
    for url in [
        "mysql://me:Hunter2Secret@db/x",
        "postgres://me:Hunter2Secret@db:notaport/x",
        "postgres://me:Hunter2Secret@db/x?sslmode=sometimes",
        "postgres://db/x?password=Hunter2Secret&sslmode=sometimes",
    ] {
        for options in [rw(), ro()] {
            let err = open_with(url, &options).await.err().expect("refused");
            let text = format!("{err} {err:?}");
            assert!(!text.contains("Hunter2Secret"), "{text}");
        }
    }
}

/// A fresh schema on the test server (`None` when there is none), with
/// the shared hold on the server `tests/pg_restart.rs` takes exclusively.
async fn pg_schema() -> Option<(String, String, std::fs::File)> {
    let Some(base) = std::env::var(PG_ENV).ok().filter(|u| !u.is_empty()) else {
        eprintln!("{PG_ENV} not set: PostgreSQL part skipped");
        return None;
    };
    let lock = tokio::task::spawn_blocking(|| {
        let path = std::env::temp_dir().join("paretosearch-test-postgres.lock");
        let f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .unwrap();
        f.lock_shared().unwrap();
        f
    })
    .await
    .unwrap();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let schema = format!("ps_ro_{}_{nanos}", std::process::id());
    let mut admin = sqlx::PgConnection::connect(&base).await.unwrap();
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&mut admin)
        .await
        .unwrap();
    admin.close().await.ok();
    let sep = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{sep}options[search_path]={schema}");
    Some((base, url, lock))
}

async fn drop_schema(base: &str, url: &str) {
    let schema = url.rsplit('=').next().unwrap();
    if let Ok(mut admin) = sqlx::PgConnection::connect(base).await {
        let _ = sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
            .execute(&mut admin)
            .await;
    }
}

#[tokio::test]
async fn postgres_read_only_sessions_neither_migrate_nor_write() {
    let Some((base, url, _lock)) = pg_schema().await else {
        return;
    };
    let err = open_with(&url, &ro()).await.err().expect("refused");
    assert!(matches!(err, StoreError::Uninitialized { .. }), "{err}");
    let writer = open_with(&url, &rw()).await.unwrap();
    writer.open_study("s", "fp", "{}").await.unwrap();
    let reader = open_with(&url, &ro()).await.unwrap();
    assert_eq!(reader.list_studies().await.unwrap().len(), 1);
    let err = reader
        .open_study("t", "fp", "{}")
        .await
        .expect_err("refused");
    assert!(err.to_string().contains("read-only"), "{err}");
    reader.close().await;
    writer.close().await;

    // A wrong password: said, not shown.
    let (scheme, rest) = base.split_once("://").unwrap();
    let (user, host) = match rest.rsplit_once('@') {
        Some((cred, host)) => (cred.split(':').next().unwrap(), host),
        None => ("paretosearch", rest),
    };
    let wrong = format!("{scheme}://{user}:Hunter2Wrong@{host}");
    for options in [rw(), ro()] {
        let err = open_with(&wrong, &options).await.err().expect("refused");
        assert!(matches!(err, StoreError::LoginRefused { .. }), "{err}");
        let text = format!("{err} {err:?}");
        assert!(text.contains("password authentication failed"), "{text}");
        assert!(!text.contains("Hunter2Wrong"), "{text}");
    }
    drop_schema(&base, &url).await;
}
