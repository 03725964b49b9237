//! No password in any output (issue 13): a study run on PostgreSQL with a
//! password, then every command that reads it, a wrong password and a
//! closed port; every stdout, stderr and written file is searched for the
//! password. Runs when `PARETOSEARCH_TEST_POSTGRES` is set and this user is
//! root (the test's role is created as the `postgres` superuser, as
//! `scripts/start-postgres.sh` does); skipped otherwise, saying so.

mod common;
mod distributed_common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::{bin, text, write};
use distributed_common::{pg_server_lock, PG_ENV};

/// A 10-variable ZDT1 study, evaluated in-process.
fn study_file(dir: &Path, name: &str, trials: u64, storage: Option<&str>) -> PathBuf {
    let vars: String = common::zdt_space();
    let storage = storage
        .map(|s| format!("storage = \"{s}\"\n"))
        .unwrap_or_default();
    let body = format!(
        "[study]\nname = \"{name}\"\nseed = 3\n{storage}\n\
         [[objectives]]\nname = \"f1\"\ndirection = \"minimize\"\n\n\
         [[objectives]]\nname = \"f2\"\ndirection = \"minimize\"\n\n\
         [search_space]\n{vars}\n[sampler]\nkind = \"random\"\n\n\
         [runner]\nkind = \"builtin\"\nproblem = \"zdt1\"\n\n\
         [budget]\ntrials = {trials}\nworkers = 1\n"
    );
    write(dir, &format!("{name}.toml"), &body)
}

/// A local port nothing listens on.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn is_root() -> bool {
    unsafe { libc::geteuid() == 0 }
}

/// A role of its own on the test server, with a password no output could
/// hold by chance, and a schema named after it (so its default search
/// path); both dropped at the end. Needs root (the role is created as the
/// `postgres` superuser over the local socket, as `scripts/start-postgres.sh`
/// does).
struct PgRole {
    host_port: String,
    port: String,
    db: String,
    role: String,
    password: String,
    _lock: std::fs::File,
}

fn psql_admin(port: &str, db: &str, sql: &str, tuples: bool) -> Option<String> {
    use std::io::Write;
    let flags = if tuples { "-At" } else { "-q" };
    let mut child = Command::new("su")
        .args([
            "postgres",
            "-c",
            &format!("psql -X {flags} -v ON_ERROR_STOP=1 -p {port} -d {db}"),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    child.stdin.take()?.write_all(sql.as_bytes()).ok()?;
    let o = child.wait_with_output().ok()?;
    if !o.status.success() {
        eprintln!("psql: {}", String::from_utf8_lossy(&o.stderr));
        return None;
    }
    Some(String::from_utf8_lossy(&o.stdout).into_owned())
}

impl PgRole {
    fn new() -> Option<PgRole> {
        let Some(base) = std::env::var(PG_ENV).ok().filter(|u| !u.is_empty()) else {
            eprintln!("{PG_ENV} not set: PostgreSQL test skipped");
            return None;
        };
        if !is_root() {
            eprintln!("not root: cannot create a role on the test server; skipped");
            return None;
        }
        // postgres://user:password@host:port/database[?...]
        let rest = base.split_once("://")?.1;
        let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
        let (host_port, db) = rest.split_once('/')?;
        let db = db.split('?').next()?.to_string();
        let port = host_port
            .rsplit_once(':')
            .map_or("5432", |(_, p)| p)
            .to_string();
        let lock = pg_server_lock(false);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let role = format!("ps_mask_{}_{}", std::process::id(), nanos % 1_000_000_000);
        let password = format!("Qz{nanos}Kw");
        psql_admin(
            &port,
            &db,
            &format!(
                "CREATE ROLE {role} LOGIN PASSWORD '{password}';\nCREATE SCHEMA {role} AUTHORIZATION {role};\n"
            ),
            false,
        )
        .or_else(|| {
            eprintln!("cannot create a role on the test server; skipped");
            None
        })?;
        Some(PgRole {
            host_port: host_port.to_string(),
            port,
            db,
            role,
            password,
            _lock: lock,
        })
    }

    fn url(&self, password: &str, host_port: &str) -> String {
        format!(
            "postgres://{}:{password}@{host_port}/{}",
            self.role, self.db
        )
    }
}

impl Drop for PgRole {
    fn drop(&mut self) {
        let role = &self.role;
        psql_admin(
            &self.port,
            &self.db,
            &format!("DROP SCHEMA IF EXISTS {role} CASCADE;\nDROP ROLE IF EXISTS {role};\n"),
            false,
        );
    }
}

/// Every file under `dir`.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut all = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            all.extend(files_under(&p));
        } else {
            all.push(p);
        }
    }
    all
}

#[test]
fn credentials_never_appear_in_any_output() {
    let Some(pg) = PgRole::new() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let url = pg.url(&pg.password, &pg.host_port);
    // The password is in the study file, as a shared study would have it.
    let study = study_file(dir.path(), "secret", 8, Some(&url));
    let s = study.to_str().unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let o = |name: &str| out.join(name).to_str().unwrap().to_string();
    let wrong_password = format!("Wr{}Pw", pg.password);
    let wrong = pg.url(&wrong_password, &pg.host_port);
    let closed = pg.url(&pg.password, &format!("127.0.0.1:{}", closed_port()));

    let mut outputs: Vec<(String, Output)> = Vec::new();
    let mut run = |args: &[&str], env: &[(&str, &str)], ok: bool| {
        let mut cmd = Command::new(bin());
        cmd.args(args).stdin(Stdio::null()).current_dir(dir.path());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let output = cmd.output().expect("paretosearch starts");
        assert_eq!(output.status.success(), ok, "{}", text(&output));
        outputs.push((args.join(" "), output));
    };
    run(&["run", s, "--plain"], &[], true);
    let csv = o("trials.csv");
    let toml = o("toml");
    let journal = o("journal.log");
    let report = o("report.html");
    let plots = o("plots");
    let picked = o("picked.toml");
    for args in [
        vec!["status", s],
        vec!["status", s, "--json"],
        vec!["export", s],
        vec!["export", s, "--format", "csv", "--out", &csv],
        vec!["export", s, "--format", "toml", "--out", &toml],
        vec!["export", s, "--format", "optuna-journal", "--out", &journal],
        vec!["report", s, "--out", &report],
        vec!["pick", s, "--best", "f1", "--out", &picked],
        vec!["pick", s, "--best", "f1", "--json"],
        vec!["check", s],
        vec!["check", s, "--json"],
        vec!["plot", s, "--out", &plots],
    ] {
        run(&args, &[], true);
    }
    // A wrong password, and a server that is not there.
    for cmd in ["status", "run", "export"] {
        run(&[cmd, s, "--storage", &wrong], &[], false);
        run(
            &[cmd, s, "--storage", &closed],
            &[("PARETOSEARCH_DB_RETRY", "2s")],
            false,
        );
    }

    let secrets = [pg.password.as_str(), wrong_password.as_str()];
    for (what, output) in &outputs {
        let all = text(output);
        for secret in secrets {
            assert!(!all.contains(secret), "`{what}` shows a password:\n{all}");
        }
    }
    let status = &outputs[1].1;
    assert!(String::from_utf8_lossy(&status.stdout).contains(":***@"));
    let wrong_err = &outputs.iter().find(|(w, _)| w.contains(&wrong)).unwrap().1;
    assert!(
        String::from_utf8_lossy(&wrong_err.stderr).contains("password authentication failed"),
        "{}",
        text(wrong_err)
    );
    let written = files_under(dir.path());
    assert!(written.len() > 8, "{written:?}");
    for file in written.iter().filter(|f| **f != study) {
        let bytes = std::fs::read(file).unwrap();
        for secret in secrets {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{} holds a password",
                file.display()
            );
        }
    }
    // Nor does the stored copy of the study file.
    let stored = psql_admin(
        &pg.port,
        &pg.db,
        &format!("SELECT spec_json FROM {}.studies;\n", pg.role),
        true,
    )
    .expect("stored spec");
    assert!(stored.contains(":***@"), "{stored}");
    assert!(!stored.contains(&pg.password), "{stored}");
}
