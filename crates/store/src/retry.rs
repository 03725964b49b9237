//! Waiting out a database that cannot be reached.
//!
//! [`Reach`] runs an operation again while it fails for want of a server
//! (connection refused or reset, the server shutting down or starting up,
//! too many clients), with a doubling, jittered pause, for up to a time
//! window. It remembers when the last outage ended, which the stale-trial
//! sweep needs (see the crate documentation), and tells the process-wide
//! observer set with [`on_connection_event`] when the database went away,
//! each time it is tried again, and when it came back. Its messages name
//! the server by `host:port` (never by URL: that may hold a password), and
//! when it gives up the error is [`StoreError::Unreachable`].

use std::future::Future;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::diagnose::describe;
use crate::row::now_ms;
use crate::StoreError;

/// What the observer set with [`on_connection_event`] hears.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ConnectionEvent {
    /// An operation failed because the database cannot be reached; it is
    /// retried for up to `retry_for`.
    Lost {
        /// The error, as text, naming the server (`connection refused at
        /// host:port`).
        error: String,
        /// How long the operation keeps retrying.
        retry_for: Duration,
    },
    /// Another attempt failed as well (one event per attempt after the
    /// first, a few seconds apart); retrying goes on until `retry_for` has
    /// passed since the loss.
    Retrying {
        /// The error of this attempt, as text, naming the server.
        error: String,
        /// The attempt that failed (2 for the first retry).
        attempt: u32,
        /// Time since the loss.
        elapsed: Duration,
        /// How long the operation retries in all.
        retry_for: Duration,
    },
    /// The database answers again after `after` of retries.
    Restored {
        /// How long the operation retried.
        after: Duration,
    },
}

type Observer = Box<dyn Fn(&ConnectionEvent) + Send + Sync>;

static OBSERVER: OnceLock<Observer> = OnceLock::new();

/// Set the process-wide observer of lost and restored database connections
/// (a CLI prints them). Only the first call has an effect.
pub fn on_connection_event(f: impl Fn(&ConnectionEvent) + Send + Sync + 'static) {
    let _ = OBSERVER.set(Box::new(f));
}

fn notify(event: ConnectionEvent) {
    if let Some(f) = OBSERVER.get() {
        f(&event);
    }
}

/// Is this the database being out of reach, rather than a wrong query?
pub(crate) fn is_unreachable(e: &StoreError) -> bool {
    if let StoreError::Unreachable { .. } = e {
        return true;
    }
    let Some(e) = crate::diagnose::sqlx_error(e) else {
        return false;
    };
    match e {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|c| {
            // 08: connection exception; 57P01-3: admin or crash shutdown,
            // cannot connect now (starting up); 53300: too many clients.
            c.starts_with("08") || matches!(c.as_ref(), "57P01" | "57P02" | "57P03" | "53300")
        }),
        _ => false,
    }
}

/// Retries while the database is unreachable; remembers outages.
pub(crate) struct Reach {
    window: Duration,
    /// Unix ms at which the last outage ended (0: none yet).
    restored_at: AtomicI64,
    /// The server, `host:port`, for messages (empty: unnamed).
    pub(crate) target: String,
    /// How long one attempt waits for a connection (for messages).
    acquire: Duration,
}

impl Reach {
    pub(crate) fn new(window: Duration) -> Reach {
        Reach {
            window,
            restored_at: AtomicI64::new(0),
            target: String::new(),
            acquire: Duration::ZERO,
        }
    }

    /// Name the server in messages; `acquire` is how long one attempt
    /// waits for a connection.
    pub(crate) fn at(self, target: String, acquire: Duration) -> Reach {
        Reach {
            target,
            acquire,
            ..self
        }
    }

    /// Unix ms at which the last outage ended, if any.
    pub(crate) fn restored_at(&self) -> Option<i64> {
        Some(self.restored_at.load(Ordering::Relaxed)).filter(|&t| t > 0)
    }

    /// Run `op` until it succeeds, fails for another reason, or the
    /// database has been out of reach for longer than the window.
    pub(crate) async fn run<T, F, Fut>(&self, op: F) -> Result<T, StoreError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, StoreError>>,
    {
        let mut lost: Option<Instant> = None;
        let mut attempt = 0u32;
        loop {
            match op().await {
                Err(e) if is_unreachable(&e) => {
                    let error = describe(&e, &self.target, self.acquire);
                    let since = match lost {
                        None => {
                            notify(ConnectionEvent::Lost {
                                error: error.clone(),
                                retry_for: self.window,
                            });
                            *lost.insert(Instant::now())
                        }
                        Some(since) => {
                            notify(ConnectionEvent::Retrying {
                                error: error.clone(),
                                attempt: attempt + 1,
                                elapsed: since.elapsed(),
                                retry_for: self.window,
                            });
                            since
                        }
                    };
                    if since.elapsed() >= self.window {
                        if self.target.is_empty() {
                            return Err(e);
                        }
                        return Err(StoreError::Unreachable {
                            target: self.target.clone(),
                            message: error,
                            retried_for: if attempt == 0 {
                                Duration::ZERO
                            } else {
                                self.window
                            },
                        });
                    }
                    attempt += 1;
                    tokio::time::sleep(pause(attempt)).await;
                }
                other => {
                    if let Some(since) = lost {
                        self.restored_at.store(now_ms(), Ordering::Relaxed);
                        if other.is_ok() {
                            notify(ConnectionEvent::Restored {
                                after: since.elapsed(),
                            });
                        }
                    }
                    return other;
                }
            }
        }
    }
}

/// Attempts of an operation that keeps losing races (PostgreSQL).
const RACE_ATTEMPTS: u32 = 12;

/// Is this a race another attempt can win: unique violation (23505),
/// serialisation failure (40001), deadlock (40P01)?
pub(crate) fn is_race(e: &StoreError) -> bool {
    match e {
        StoreError::Db(sqlx::Error::Database(db)) => {
            matches!(
                db.code().as_deref(),
                Some("23505") | Some("40001") | Some("40P01")
            )
        }
        _ => false,
    }
}

/// Run `op` again while it loses races.
pub(crate) async fn retry_races<T, F, Fut>(op: F) -> Result<T, StoreError>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T, StoreError>>,
{
    let mut attempt = 1;
    loop {
        match op().await {
            Err(e) if attempt < RACE_ATTEMPTS && is_race(&e) => {
                let base = 5u64 << attempt.min(6);
                let pause = base + jitter(base);
                tokio::time::sleep(Duration::from_millis(pause)).await;
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// The pause before retry `attempt` (from 1): 100 ms doubling up to 5 s,
/// plus up to as much again of jitter so that workers that lost the server
/// together do not all knock at once.
pub(crate) fn pause(attempt: u32) -> Duration {
    let base = (100u64 << attempt.saturating_sub(1).min(6)).min(5_000);
    Duration::from_millis(base + jitter(base))
}

/// A number in `0..below` from the clock's nanoseconds (no RNG needed for
/// spreading retries).
pub(crate) fn jitter(below: u64) -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64)
        .unwrap_or(0);
    nanos.wrapping_mul(0x9E37_79B9_7F4A_7C15) % below.max(1)
}

/// Parse `600`, `90s`, `500ms`, `10m` or `1h` into a duration.
pub(crate) fn parse_secs(text: &str) -> Option<Duration> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num.parse().ok()?;
    let ms = match unit.trim() {
        "" | "s" => n.checked_mul(1000)?,
        "ms" => n,
        "m" => n.checked_mul(60_000)?,
        "h" => n.checked_mul(3_600_000)?,
        _ => return None,
    };
    Some(Duration::from_millis(ms))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU32;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_secs("600"), Some(Duration::from_secs(600)));
        assert_eq!(parse_secs("90s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_secs("10m"), Some(Duration::from_secs(600)));
        assert_eq!(parse_secs("1h"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_secs("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_secs("soon"), None);
        assert_eq!(parse_secs("5 days"), None);
    }

    #[test]
    fn pauses_grow_and_stay_bounded() {
        assert!(pause(1) >= Duration::from_millis(100) && pause(1) < Duration::from_millis(200));
        assert!(pause(4) >= Duration::from_millis(800));
        assert!(pause(40) <= Duration::from_secs(10));
    }

    fn io_error() -> StoreError {
        StoreError::Db(sqlx::Error::Io(std::io::Error::from(
            std::io::ErrorKind::ConnectionRefused,
        )))
    }

    #[test]
    fn classification() {
        assert!(is_unreachable(&io_error()));
        assert!(is_unreachable(&StoreError::Db(sqlx::Error::PoolTimedOut)));
        assert!(!is_unreachable(&StoreError::Db(sqlx::Error::RowNotFound)));
        assert!(!is_unreachable(&StoreError::NoSuchTrial(1)));
    }

    #[tokio::test]
    async fn retries_until_the_database_answers() {
        let reach = Reach::new(Duration::from_secs(30));
        let calls = AtomicU32::new(0);
        let got = reach
            .run(|| async {
                if calls.fetch_add(1, Ordering::SeqCst) < 2 {
                    Err(io_error())
                } else {
                    Ok(7)
                }
            })
            .await
            .unwrap();
        assert_eq!((got, calls.load(Ordering::SeqCst)), (7, 3));
        assert!(reach.restored_at().is_some());
    }

    #[tokio::test]
    async fn other_errors_and_the_window_end_retries() {
        let reach = Reach::new(Duration::ZERO);
        let calls = AtomicU32::new(0);
        let got: Result<(), _> = reach
            .run(|| async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(io_error())
            })
            .await;
        assert!(got.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 1, "a zero window: no retry");
        assert_eq!(reach.restored_at(), None);

        let reach = Reach::new(Duration::from_secs(30));
        let got: Result<(), _> = reach
            .run(|| async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(StoreError::NoSuchTrial(3))
            })
            .await;
        assert!(matches!(got, Err(StoreError::NoSuchTrial(3))));
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }
}
