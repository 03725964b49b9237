//! Saying what went wrong without saying too much: URLs with their
//! passwords masked, servers named by host and port, SQLite failures that
//! mean a damaged file told apart from the rest.

use std::time::Duration;

use crate::StoreError;

/// Hide the password of a storage URL: `postgres://user:***@host/db`.
///
/// The user information ends at the last `@` (one in a query value
/// aside), so a password holding an unescaped `/`, `?` or `@` is masked
/// whole (masking too much is harmless); `password=` and `sslpassword=`
/// query parameters are masked too. Anything that is not a URL is
/// returned as it is.
pub fn mask_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let query_at = rest.find(['?', '#']);
    let at = match (rest.rfind('@'), query_at) {
        // An `@` past the query start belongs to the query when a `=`
        // comes between (`?application_name=me@host`).
        (Some(at), Some(q)) if at > q && rest[q..at].contains('=') => rest[..q].rfind('@'),
        (at, _) => at,
    };
    let (head, tail) = match at {
        Some(at) => (&rest[..at], &rest[at..]),
        None => ("", rest),
    };
    let (host, query) = match tail.find(['?', '#']) {
        Some(i) => tail.split_at(i),
        None => (tail, ""),
    };
    let cred = match head.split_once(':') {
        Some((user, _)) => format!("{user}:***"),
        None => head.to_string(),
    };
    format!("{scheme}://{cred}{host}{}", mask_query(query))
}

/// Mask the values of `password` and `sslpassword` in `?a=b&c=d`.
fn mask_query(query: &str) -> String {
    let Some(pairs) = query.strip_prefix('?') else {
        return query.to_string();
    };
    let (pairs, fragment) = match pairs.find('#') {
        Some(i) => pairs.split_at(i),
        None => (pairs, ""),
    };
    let masked: Vec<String> = pairs
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _))
                if key.eq_ignore_ascii_case("password")
                    || key.eq_ignore_ascii_case("sslpassword") =>
            {
                format!("{key}=***")
            }
            _ => pair.to_string(),
        })
        .collect();
    format!("?{}{fragment}", masked.join("&"))
}

/// `path` quoted for a POSIX shell when it needs quoting.
pub(crate) fn shell_quote(path: &str) -> String {
    let plain = !path.is_empty()
        && path
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+:,=@%".contains(c));
    if plain {
        path.to_string()
    } else {
        format!("'{}'", path.replace('\'', r"'\''"))
    }
}

/// `", retried for 10m"`, or nothing for no retries.
pub(crate) fn retried(d: &Duration) -> String {
    if d.is_zero() {
        String::new()
    } else {
        format!(
            ", retried for {}",
            humantime_like(Duration::from_secs(d.as_secs().max(1)))
        )
    }
}

/// `90s` as `1m 30s`: short and without a dependency.
fn humantime_like(d: Duration) -> String {
    let s = d.as_secs();
    match (s / 3600, s / 60 % 60, s % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, 0) => format!("{m}m"),
        (0, m, s) => format!("{m}m {s}s"),
        (h, m, _) => format!("{h}h {m}m"),
    }
}

/// The sqlx error inside a store error, if any.
pub(crate) fn sqlx_error(e: &StoreError) -> Option<&sqlx::Error> {
    match e {
        StoreError::Db(e) => Some(e),
        StoreError::Migrate(sqlx::migrate::MigrateError::Execute(e)) => Some(e),
        _ => None,
    }
}

/// SQLite's primary result code of a database error.
pub(crate) fn sqlite_code(e: &StoreError) -> Option<i32> {
    match sqlx_error(e)? {
        sqlx::Error::Database(db) => db
            .code()
            .and_then(|c| c.parse::<i32>().ok())
            .map(|c| c & 0xff),
        _ => None,
    }
}

/// SQLITE_CORRUPT and SQLITE_NOTADB.
const SQLITE_CORRUPT: i32 = 11;
const SQLITE_NOTADB: i32 = 26;

/// Turn an error that means the SQLite file `file` is damaged into
/// [`StoreError::Damaged`] or [`StoreError::NotADatabase`]; any other
/// error is returned as it is. What this store wrote always decodes, so a
/// column that does not (text that is not UTF-8, a number where text
/// belongs, JSON that does not parse) means the file changed under it.
pub(crate) fn sqlite_damage(e: StoreError, file: &str) -> StoreError {
    let file = file.to_string();
    match sqlite_code(&e) {
        Some(SQLITE_NOTADB) => return StoreError::NotADatabase { file },
        Some(SQLITE_CORRUPT) => {
            let detail = sqlx_error(&e).map(|e| e.to_string()).unwrap_or_default();
            return StoreError::Damaged { file, detail };
        }
        _ => {}
    }
    match e {
        StoreError::Corrupt(detail) => StoreError::Damaged { file, detail },
        StoreError::Db(
            e @ (sqlx::Error::ColumnDecode { .. }
            | sqlx::Error::Decode(_)
            | sqlx::Error::ColumnNotFound(_)),
        ) => StoreError::Damaged {
            file,
            detail: e.to_string(),
        },
        other => other,
    }
}

/// How a PostgreSQL server is named in messages: `host:port`, or the
/// socket folder.
pub(crate) fn pg_target(o: &sqlx::postgres::PgConnectOptions) -> String {
    match o.get_socket() {
        Some(socket) => format!("socket {}:{}", socket.display(), o.get_port()),
        None => format!("{}:{}", o.get_host(), o.get_port()),
    }
}

/// A login the PostgreSQL server refused (SQLSTATE class 28: a wrong
/// user or password; 3D000: no such database) as
/// [`StoreError::LoginRefused`]; any other error as it is.
pub(crate) fn pg_login(e: StoreError, target: &str) -> StoreError {
    let refused = match sqlx_error(&e) {
        Some(sqlx::Error::Database(db)) => db
            .code()
            .filter(|c| c.starts_with("28") || c.as_ref() == "3D000")
            .map(|_| db.message().to_string()),
        _ => None,
    };
    match refused {
        Some(message) => StoreError::LoginRefused {
            target: target.to_string(),
            message,
        },
        None => e,
    }
}

/// What an unreachable-server error says, naming `target` (`host:port`)
/// and nothing of the URL: `connection refused at 127.0.0.1:5432`.
pub(crate) fn describe(e: &StoreError, target: &str, acquire: Duration) -> String {
    if target.is_empty() {
        return e.to_string();
    }
    match sqlx_error(e) {
        Some(sqlx::Error::Io(io)) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            format!("connection refused at {target}")
        }
        Some(sqlx::Error::Io(io)) => format!("{io} (at {target})"),
        Some(sqlx::Error::PoolTimedOut) => format!(
            "no connection to {target} within {} s",
            acquire.as_secs_f64()
        ),
        Some(sqlx::Error::Database(db)) => format!("{} (at {target})", db.message()),
        _ => match e {
            StoreError::Unreachable { message, .. } => message.clone(),
            _ => format!("{e} (at {target})"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_masked() {
        assert_eq!(
            mask_url("postgres://me:secret@db:5432/studies"),
            "postgres://me:***@db:5432/studies"
        );
        assert_eq!(mask_url("postgres://me@db/x"), "postgres://me@db/x");
        assert_eq!(mask_url("sqlite://runs/a.db"), "sqlite://runs/a.db");
        assert_eq!(mask_url("sqlite::memory:"), "sqlite::memory:");
        assert_eq!(
            mask_url("postgresql://u:p@ss@h/db"),
            "postgresql://u:***@h/db"
        );
        // An unescaped `/` in the password.
        assert_eq!(
            mask_url("postgres://u:se/cret@h:1/db"),
            "postgres://u:***@h:1/db"
        );
        assert_eq!(
            mask_url("postgres://h/db?user=u&password=secret&sslmode=require"),
            "postgres://h/db?user=u&password=***&sslmode=require"
        );
        assert_eq!(
            mask_url("postgres://u:secret@h/db?options[search_path]=s"),
            "postgres://u:***@h/db?options[search_path]=s"
        );
        assert_eq!(mask_url("mysql://u:secret@h"), "mysql://u:***@h");
        assert_eq!(mask_url("postgres://u:pa?ss@h/db"), "postgres://u:***@h/db");
        assert_eq!(
            mask_url("postgres://u:pw@h/db?application_name=me@x"),
            "postgres://u:***@h/db?application_name=me@x"
        );
    }

    #[test]
    fn paths_are_quoted_for_the_shell() {
        assert_eq!(shell_quote("/tmp/a.db"), "/tmp/a.db");
        assert_eq!(shell_quote("my study.db"), "'my study.db'");
        assert_eq!(shell_quote("it's.db"), r"'it'\''s.db'");
    }

    #[test]
    fn retries_are_told_briefly() {
        assert_eq!(retried(&Duration::ZERO), "");
        assert_eq!(retried(&Duration::from_secs(600)), ", retried for 10m");
        assert_eq!(retried(&Duration::from_secs(90)), ", retried for 1m 30s");
    }

    #[test]
    fn refused_connections_name_the_target_only() {
        let e = StoreError::Db(sqlx::Error::Io(std::io::Error::from(
            std::io::ErrorKind::ConnectionRefused,
        )));
        assert_eq!(
            describe(&e, "127.0.0.1:1", Duration::from_secs(3)),
            "connection refused at 127.0.0.1:1"
        );
        let o: sqlx::postgres::PgConnectOptions =
            "postgres://u:secret@db.example:6543/x".parse().unwrap();
        assert_eq!(pg_target(&o), "db.example:6543");
    }

    #[test]
    fn damage_is_told_apart() {
        let e = sqlite_damage(StoreError::Corrupt("bad json".into()), "/x/a.db");
        assert!(matches!(e, StoreError::Damaged { .. }));
        let text = e.to_string();
        assert!(text.contains("/x/a.db") && text.contains("PRAGMA integrity_check"));
        assert!(matches!(
            sqlite_damage(StoreError::NoSuchTrial(1), "/x/a.db"),
            StoreError::NoSuchTrial(1)
        ));
    }
}
