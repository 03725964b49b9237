//! Opening a store.
//!
//! Read-write, a SQLite file is created (with its folders) when missing,
//! switched to WAL and migrated; a PostgreSQL database is migrated, waiting
//! for a server that is not up yet. Read-only (see "Opening for reading
//! only" in the crate documentation), SQLite is opened `mode=ro`
//! (`immutable` where a folder that cannot be written leaves no other way)
//! and PostgreSQL is tried once, at once, with read-only sessions; neither
//! is migrated, and both must hold an up-to-date schema.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqlitePoolOptions, SqliteSynchronous};
use sqlx::Connection;

use crate::diagnose::{mask_url, pg_login, sqlite_code, sqlite_damage};
use crate::postgres::{
    PgStore, ACQUIRE_TIMEOUT, MIGRATOR as PG_MIGRATOR, POOL_SIZE as PG_POOL_SIZE,
};
use crate::retry::{is_unreachable, Reach};
use crate::sqlite::{
    backoff, is_busy, retry_busy, SqliteStore, BUSY_ATTEMPTS, BUSY_TIMEOUT, MIGRATOR, POOL_SIZE,
};
use crate::{StoreError, StoreOptions};

impl SqliteStore {
    /// Open (creating when missing) and migrate the database `url` names;
    /// with `read_only`, open the existing file for reading only.
    pub(crate) async fn open(url: &str, read_only: bool) -> Result<SqliteStore, StoreError> {
        let rest = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .ok_or_else(|| bad_url(url, "not a sqlite URL"))?;
        let path = rest.split('?').next().unwrap_or_default();
        if path.is_empty() {
            return Err(bad_url(
                url,
                "no file name; use `sqlite://path/to/file.db` or `sqlite::memory:`",
            ));
        }
        let memory = path == ":memory:" || rest.contains("mode=memory");
        if read_only && !memory {
            let options = sqlite_options(url, path, BUSY_TIMEOUT).await?;
            let pool = SqlitePoolOptions::new()
                .max_connections(POOL_SIZE)
                .connect_with(options)
                .await
                .map_err(|e| sqlite_damage(e.into(), path))?;
            return Ok(SqliteStore {
                pool,
                file: Some(path.to_string()),
                read_only: true,
            });
        }
        Self::open_read_write(url, path, memory).await.map_err(|e| {
            if memory {
                e
            } else {
                sqlite_damage(e, path)
            }
        })
    }

    async fn open_read_write(
        url: &str,
        path: &str,
        memory: bool,
    ) -> Result<SqliteStore, StoreError> {
        if !memory {
            if let Some(dir) = Path::new(path)
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
            {
                std::fs::create_dir_all(dir).map_err(|e| {
                    bad_url(
                        url,
                        format!("cannot create folder `{}`: {e}", dir.display()),
                    )
                })?;
            }
        }
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| bad_url(url, e.to_string()))?
            .create_if_missing(true)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true)
            .synchronous(SqliteSynchronous::Normal);

        let pool = if memory {
            // A private in-memory database lives as long as its connection.
            SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .connect_with(options)
                .await?
        } else {
            retry_busy(|| enable_wal(&options)).await?;
            let mut conn = SqliteConnection::connect_with(&options).await?;
            migrate(&mut conn).await?;
            conn.close().await?;
            SqlitePoolOptions::new()
                .max_connections(POOL_SIZE)
                .connect_with(options)
                .await?
        };
        if memory {
            let mut conn = pool.acquire().await?;
            migrate(&mut conn).await?;
        }
        Ok(SqliteStore {
            pool,
            file: (!memory).then(|| path.to_string()),
            read_only: false,
        })
    }
}

/// Switch the file to WAL (persistent; a no-op when already done). This
/// needs an exclusive lock that the busy timeout does not wait for, hence
/// the caller's retries.
async fn enable_wal(options: &SqliteConnectOptions) -> Result<(), StoreError> {
    let mut conn = SqliteConnection::connect_with(options).await?;
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut conn)
        .await?;
    if !mode.eq_ignore_ascii_case("wal") {
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode = WAL")
            .fetch_one(&mut conn)
            .await?;
        if !mode.eq_ignore_ascii_case("wal") {
            // Another connection held the file; SQLite answers with the old mode.
            return Err(StoreError::Db(sqlx::Error::Protocol(format!(
                "could not switch the database to WAL mode (still `{mode}`)"
            ))));
        }
    }
    conn.close().await?;
    Ok(())
}

/// Apply migrations under the write lock, so two processes opening a new
/// file at once do not both create the tables.
async fn migrate(conn: &mut SqliteConnection) -> Result<(), StoreError> {
    let mut attempt = 1;
    loop {
        let result = async {
            let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
            MIGRATOR.run_direct(&mut *tx).await?;
            tx.commit().await?;
            Ok::<(), StoreError>(())
        }
        .await;
        match result {
            Err(e) if attempt < BUSY_ATTEMPTS && is_busy(&e) => {
                tokio::time::sleep(backoff(attempt)).await;
                attempt += 1;
            }
            other => return other,
        }
    }
}

fn bad_url(url: &str, message: impl Into<String>) -> StoreError {
    StoreError::BadUrl {
        url: mask_url(url),
        message: message.into(),
    }
}

impl PgStore {
    /// Connect to and migrate the database `url` names.
    /// The server may be down for a while ([`StoreOptions::unreachable_for`]).
    /// Read-only: the server is tried once, and not migrated.
    pub(crate) async fn open(url: &str, options: &StoreOptions) -> Result<PgStore, StoreError> {
        let connect = PgConnectOptions::from_str(url).map_err(|e| StoreError::BadUrl {
            url: mask_url(url),
            message: e.to_string(),
        })?;
        let target = crate::diagnose::pg_target(&connect);
        let (connect, window) = if options.read_only {
            let connect = connect.options([("default_transaction_read_only", "on")]);
            pg_check(&connect, &target, &mask_url(url))
                .await
                .map_err(|e| pg_login(e, &target))?;
            let window = options.unreachable_for.min(crate::READ_ONLY_RETRY);
            (connect, window)
        } else {
            (connect, options.unreachable_for)
        };
        let store = PgStore {
            pool: PgPoolOptions::new()
                .max_connections(PG_POOL_SIZE)
                .acquire_timeout(ACQUIRE_TIMEOUT)
                .connect_lazy_with(connect.clone()),
            reach: Reach::new(window).at(target, ACQUIRE_TIMEOUT),
            connect,
        };
        if !options.read_only {
            // sqlx holds an advisory lock while migrating PostgreSQL.
            store
                .retry(|| async { Ok(PG_MIGRATOR.run(&store.pool).await?) })
                .await
                .map_err(|e| pg_login(e, &store.reach.target))?;
        }
        Ok(store)
    }
}

/// How long a read-only open waits for a PostgreSQL server to answer.
const PG_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// SQLITE_READONLY and SQLITE_CANTOPEN: what SQLite says when a read-only
/// connection cannot get at the `-shm` (or `-wal`) file it needs.
const SQLITE_READONLY: i32 = 8;
const SQLITE_CANTOPEN: i32 = 14;

/// Connect options for reading the SQLite file `path` of `url`; the
/// connection is tried (and the schema checked) before they are returned.
pub(crate) async fn sqlite_options(
    url: &str,
    path: &str,
    busy_timeout: Duration,
) -> Result<SqliteConnectOptions, StoreError> {
    if !Path::new(path).exists() {
        return Err(StoreError::BadUrl {
            url: mask_url(url),
            message: format!(
                "{path} does not exist, and opening it for reading creates nothing (fix: run a study with this storage first)"
            ),
        });
    }
    let options = SqliteConnectOptions::from_str(url)
        .map_err(|e| StoreError::BadUrl {
            url: mask_url(url),
            message: e.to_string(),
        })?
        .read_only(true)
        .create_if_missing(false)
        .busy_timeout(busy_timeout);
    let storage = mask_url(url);
    let result = match sqlite_probe(&options, &storage).await {
        Err(e) if matches!(sqlite_code(&e), Some(SQLITE_READONLY | SQLITE_CANTOPEN)) => {
            // No `-shm` can be made here. Without changes in a `-wal`,
            // nobody can be writing (a writer needs both files, in this
            // folder): the file is all there is.
            let wal = format!("{path}-wal");
            let pending = std::fs::metadata(&wal).is_ok_and(|m| m.len() > 0);
            if pending {
                let folder = match Path::new(path).parent() {
                    Some(p) if !p.as_os_str().is_empty() => p.display().to_string(),
                    _ => ".".into(),
                };
                return Err(StoreError::WalNeedsFolder {
                    file: path.to_string(),
                    folder,
                });
            }
            let immutable = options.clone().immutable(true);
            sqlite_probe(&immutable, &storage).await.map(|()| immutable)
        }
        other => other.map(|()| options),
    };
    result.map_err(|e| sqlite_damage(e, path))
}

/// One connection: the schema is there and up to date.
async fn sqlite_probe(options: &SqliteConnectOptions, storage: &str) -> Result<(), StoreError> {
    let mut conn = SqliteConnection::connect_with(options).await?;
    let result = async {
        let has_table: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
        )
        .fetch_one(&mut conn)
        .await?;
        let applied: Vec<i64> = if has_table > 0 {
            sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
                .fetch_all(&mut conn)
                .await?
        } else {
            Vec::new()
        };
        check_schema(&applied, &MIGRATOR, storage)
    }
    .await;
    let _ = conn.close().await;
    result
}

/// Try the PostgreSQL server once (no retries: a read command should hear
/// about a server that is not there at once) and check its schema.
pub(crate) async fn pg_check(
    connect: &PgConnectOptions,
    target: &str,
    storage: &str,
) -> Result<(), StoreError> {
    let unreachable = |message: String| StoreError::Unreachable {
        target: target.to_string(),
        message,
        retried_for: Duration::ZERO,
    };
    let mut conn =
        match tokio::time::timeout(PG_CONNECT_TIMEOUT, PgConnection::connect_with(connect)).await {
            Err(_) => {
                return Err(unreachable(format!(
                    "no answer from {target} within {} s",
                    PG_CONNECT_TIMEOUT.as_secs()
                )))
            }
            Ok(Err(e)) => {
                let e = StoreError::Db(e);
                return Err(if is_unreachable(&e) {
                    unreachable(crate::diagnose::describe(&e, target, PG_CONNECT_TIMEOUT))
                } else {
                    e
                });
            }
            Ok(Ok(conn)) => conn,
        };
    let result = async {
        let has_table: bool =
            sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
                .fetch_one(&mut conn)
                .await?;
        let applied: Vec<i64> = if has_table {
            sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
                .fetch_all(&mut conn)
                .await?
        } else {
            Vec::new()
        };
        check_schema(&applied, &PG_MIGRATOR, storage)
    }
    .await;
    let _ = conn.close().await;
    result
}

/// Every migration this version knows is applied: else
/// [`StoreError::Uninitialized`] (none is) or [`StoreError::Outdated`].
fn check_schema(applied: &[i64], migrator: &Migrator, storage: &str) -> Result<(), StoreError> {
    let mut known: Vec<i64> = migrator.iter().map(|m| m.version).collect();
    known.sort_unstable();
    known.dedup();
    let have = known.iter().filter(|v| applied.contains(v)).count();
    if applied.is_empty() {
        Err(StoreError::Uninitialized {
            storage: storage.to_string(),
        })
    } else if have < known.len() {
        Err(StoreError::Outdated {
            storage: storage.to_string(),
            applied: have,
            known: known.len(),
        })
    } else {
        Ok(())
    }
}
