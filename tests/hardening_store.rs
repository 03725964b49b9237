//! Storage hardening from the command line (issue 13): read commands open
//! their storage read-only (and work in a folder they cannot write), a
//! PostgreSQL server that is not there is reported at once to readers and
//! visibly retried by workers, damaged files are named with the check and
//! the fix, and no URL in a message shows a password (the whole-study
//! check that no output or file does is `tests/hardening_credentials.rs`).
//!
//! Permissions: as root, `chmod` does not stop writes, so the commands that
//! must cope with a read-only folder are run as `nobody` (uid 65534) when
//! this process is root; when the binary is out of that user's reach the
//! permission part is skipped, saying so, and the tests that need no
//! permissions (the file left as it was, no WAL switch, no migration)
//! still show that the read-only path is taken.

mod common;
mod distributed_common;

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{bin, ps, run_study, text, write};
use distributed_common::Worker;

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

/// Close a SQLite study's store through the library: the file then holds
/// everything; an emptied log and the shared-memory file are removed (by
/// SQLite, if its last connection closes first, or here).
fn fold_log(db: &Path) {
    let url = format!("sqlite://{}", db.display());
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let store = paretosearch::store::open(&url).await.unwrap();
        store.close().await;
    });
    for side in ["-wal", "-shm"] {
        let p = PathBuf::from(format!("{}{side}", db.display()));
        if let Ok(m) = std::fs::metadata(&p) {
            assert!(
                side == "-shm" || m.len() == 0,
                "{} holds changes",
                p.display()
            );
            // The pool's last connection may close after `close` returns,
            // and SQLite then removes these files itself.
            match std::fs::remove_file(&p) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    panic!("remove {}: {e}", p.display())
                }
                _ => {}
            }
        }
    }
}

fn is_root() -> bool {
    unsafe { libc::geteuid() == 0 }
}

/// Can `nobody` reach (search every folder above) and run the binary?
fn nobody_can_run_the_binary() -> bool {
    let mut p = Path::new(bin()).to_path_buf();
    let file_ok = std::fs::metadata(&p).is_ok_and(|m| m.permissions().mode() & 0o001 != 0);
    let mut dirs_ok = true;
    while let Some(parent) = p.parent().map(Path::to_path_buf) {
        dirs_ok &= std::fs::metadata(&parent).is_ok_and(|m| m.permissions().mode() & 0o001 != 0);
        p = parent;
    }
    file_ok && dirs_ok
}

/// Makes a folder read-only for the commands run through it; undoes it
/// when dropped.
struct ReadOnly {
    dir: PathBuf,
    as_nobody: bool,
}

impl ReadOnly {
    /// `None` (having said why) when this user cannot be kept from writing.
    fn new(dir: &Path) -> Option<ReadOnly> {
        let as_nobody = is_root();
        if as_nobody && !nobody_can_run_the_binary() {
            eprintln!(
                "running as root and {} is out of reach of the unprivileged user `nobody`: the read-only folder part is skipped",
                bin()
            );
            return None;
        }
        // Others may read the study (the tempdir is private) but nobody
        // may write the folder.
        let mut a = dir.to_path_buf();
        while let Some(parent) = a.parent().map(Path::to_path_buf) {
            if parent == std::env::temp_dir() || parent.as_os_str().is_empty() {
                break;
            }
            let mode = std::fs::metadata(&parent).unwrap().permissions().mode();
            std::fs::set_permissions(&parent, std::fs::Permissions::from_mode(mode | 0o005))
                .unwrap();
            a = parent;
        }
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o555)).unwrap();
        Some(ReadOnly {
            dir: dir.to_path_buf(),
            as_nobody,
        })
    }

    /// `paretosearch ARGS`, as `nobody` when root.
    fn ps(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(bin());
        cmd.args(args).stdin(Stdio::null());
        if self.as_nobody {
            cmd.uid(65534).gid(65534).env("HOME", "/");
        }
        cmd.output().expect("paretosearch starts")
    }
}

impl Drop for ReadOnly {
    fn drop(&mut self) {
        let _ = std::fs::set_permissions(&self.dir, std::fs::Permissions::from_mode(0o755));
    }
}

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A folder anybody may write, for what the read commands write.
fn open_folder(parent: &Path) -> PathBuf {
    let out = parent.join("out");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o777)).unwrap();
    out
}

/// Every read command on `study`, each expected to succeed.
fn read_commands_succeed(ro: &ReadOnly, study: &Path, out: &Path, tag: &str) {
    let s = study.to_str().unwrap();
    let report = out.join(format!("{tag}.html"));
    let plots = out.join(format!("{tag}-plots"));
    let csv = out.join(format!("{tag}.csv"));
    let commands: Vec<Vec<&str>> = vec![
        vec!["status", s],
        vec!["status", s, "--json"],
        vec!["export", s],
        vec![
            "export",
            s,
            "--format",
            "csv",
            "--out",
            csv.to_str().unwrap(),
        ],
        vec!["report", s, "--out", report.to_str().unwrap()],
        vec!["check", s],
        vec!["pick", s, "--best", "f1"],
        vec!["plot", s, "--out", plots.to_str().unwrap(), "--no-png"],
    ];
    for args in commands {
        let o = ro.ps(&args);
        assert!(
            o.status.success(),
            "{tag}: `{}` failed in a read-only folder\n{}",
            args.join(" "),
            text(&o)
        );
    }
    assert!(report.exists() && csv.exists() && plots.exists());
}

#[test]
fn read_commands_work_in_a_folder_they_cannot_write() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("study");
    std::fs::create_dir(&dir).unwrap();
    let out = open_folder(root.path());
    let study = study_file(&dir, "ro", 6, None);
    run_study(&study);

    // As `run` leaves it: a log and its shared-memory file next to the file.
    let before = listing(&dir);
    {
        let Some(ro) = ReadOnly::new(&dir) else {
            return;
        };
        read_commands_succeed(&ro, &study, &out, "after-run");
    }
    assert_eq!(listing(&dir), before, "a read command left files");

    // Closed cleanly: the file alone, no `-shm` to read through.
    fold_log(&dir.join("ro.db"));
    let before = listing(&dir);
    assert_eq!(before, ["ro.db", "ro.toml"]);
    {
        let ro = ReadOnly::new(&dir).expect("checked above");
        read_commands_succeed(&ro, &study, &out, "folded");
    }
    assert_eq!(listing(&dir), before, "a read command left files");
}

#[test]
fn wal_changes_in_a_folder_that_cannot_be_written_say_how_to_fix_it() {
    let root = tempfile::tempdir().unwrap();
    let (first, dir) = (root.path().join("first"), root.path().join("study"));
    std::fs::create_dir(&first).unwrap();
    std::fs::create_dir(&dir).unwrap();
    let study = study_file(&first, "wal", 4, None);
    run_study(&study);
    let db = first.join("wal.db");
    fold_log(&db);
    // A copy taken while a writer holds changes in the log: the file and
    // its `-wal`, no `-shm` (SQLite rebuilds that from the log, but not in
    // a folder it cannot write).
    let url = format!("sqlite://{}", db.display());
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let store = paretosearch::store::open(&url).await.unwrap();
        store.open_study("another", "fp", "{}").await.unwrap();
        for name in ["wal.db", "wal.db-wal", "wal.toml"] {
            std::fs::copy(first.join(name), dir.join(name)).unwrap();
        }
        store.close().await;
    });
    let wal = dir.join("wal.db-wal");
    assert!(std::fs::metadata(&wal).is_ok_and(|m| m.len() > 0), "no log");
    let study = dir.join("wal.toml");
    let Some(ro) = ReadOnly::new(&dir) else {
        return;
    };
    let o = ro.ps(&["status", study.to_str().unwrap()]);
    assert!(!o.status.success(), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    for want in [
        "WAL mode",
        "-shm",
        "without write access to its folder",
        "chmod u+w",
        "PRAGMA wal_checkpoint(TRUNCATE)",
    ] {
        assert!(err.contains(want), "{want:?} missing:\n{err}");
    }
    assert!(!err.contains("unable to open database file"), "{err}");
}

#[test]
fn read_commands_leave_the_file_as_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let study = study_file(dir.path(), "keep", 4, None);
    run_study(&study);
    let db = dir.path().join("keep.db");
    fold_log(&db);
    // Back to rollback mode: a read command must not switch it to WAL.
    let mut bytes = std::fs::read(&db).unwrap();
    assert_eq!((bytes[18], bytes[19]), (2, 2), "written in WAL mode");
    bytes[18] = 1;
    bytes[19] = 1;
    std::fs::write(&db, &bytes).unwrap();
    let s = study.to_str().unwrap();
    for args in [vec!["status", s], vec!["export", s], vec!["check", s]] {
        let o = ps(&args);
        assert!(o.status.success(), "{}", text(&o));
    }
    assert_eq!(
        std::fs::read(&db).unwrap(),
        bytes,
        "a read command changed the file"
    );
    assert_eq!(listing(dir.path()), ["keep.db", "keep.toml"]);

    // An empty file is not migrated by a reader.
    let empty = dir.path().join("empty.db");
    std::fs::write(&empty, b"").unwrap();
    let storage = format!("sqlite://{}", empty.display());
    let o = ps(&["status", s, "--storage", &storage]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("holds no study named `keep`"),
        "{}",
        text(&o)
    );
    assert_eq!(std::fs::metadata(&empty).unwrap().len(), 0, "migrated");
}

#[test]
fn a_damaged_file_is_named_with_the_check_and_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let study = study_file(dir.path(), "dmg", 4, None);
    run_study(&study);
    let db = dir.path().join("dmg.db");
    fold_log(&db);
    // Flip a byte inside stored parameters: text that is not UTF-8.
    let mut bytes = std::fs::read(&db).unwrap();
    let at = bytes
        .windows(6)
        .position(|w| w == b"{\"x0\":")
        .expect("stored parameters");
    bytes[at + 2] = 0xff;
    std::fs::write(&db, &bytes).unwrap();
    let s = study.to_str().unwrap();
    for args in [vec!["status", s], vec!["export", s]] {
        let o = ps(&args);
        assert_eq!(o.status.code(), Some(1), "{}", text(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        for want in [
            "looks damaged",
            db.to_str().unwrap(),
            "PRAGMA integrity_check",
            "backup",
        ] {
            assert!(err.contains(want), "{want:?} missing:\n{err}");
        }
    }
}

#[test]
fn a_file_that_is_not_a_database_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let notes = dir.path().join("notes.db");
    std::fs::write(&notes, "shopping: eggs, milk, bread\n".repeat(100)).unwrap();
    let study = study_file(dir.path(), "nodb", 4, Some("sqlite://notes.db"));
    let s = study.to_str().unwrap();
    for args in [vec!["status", s], vec!["run", s, "--plain"]] {
        let o = ps(&args);
        assert!(!o.status.success(), "{}", text(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        for want in [
            "is not a SQLite database",
            notes.to_str().unwrap(),
            "PRAGMA integrity_check",
        ] {
            assert!(err.contains(want), "{want:?} missing:\n{err}");
        }
    }
    assert_eq!(
        std::fs::read(&notes).unwrap(),
        "shopping: eggs, milk, bread\n".repeat(100).as_bytes()
    );
}

/// A local port nothing listens on.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[test]
fn read_commands_fail_fast_on_a_closed_postgres_port() {
    let dir = tempfile::tempdir().unwrap();
    let port = closed_port();
    let url = format!("postgres://me:Fast9Secret@127.0.0.1:{port}/db");
    let study = study_file(dir.path(), "fast", 4, None);
    let s = study.to_str().unwrap();
    let out = dir.path().join("out");
    for (i, cmd) in ["status", "export", "report", "pick", "plot"]
        .iter()
        .enumerate()
    {
        let mut args = vec![*cmd, s, "--storage", url.as_str()];
        let target = out.join(format!("{cmd}.out"));
        if matches!(*cmd, "report" | "plot") {
            args.extend(["--out", target.to_str().unwrap()]);
        }
        let started = Instant::now();
        // Without a limit the old behaviour waits ten minutes.
        let mut w = Worker::spawn(dir.path(), &format!("r{i}"), &args, &[]);
        let status = w.wait(Duration::from_secs(30));
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "`{cmd}` took {:?}",
            started.elapsed()
        );
        assert!(!status.success(), "{}", w.output());
        let err = w.stderr_text();
        assert!(
            err.contains(&format!("connection refused at 127.0.0.1:{port}")),
            "`{cmd}`:\n{err}"
        );
        assert!(!w.output().contains("Fast9Secret"), "`{cmd}`:\n{err}");
    }
}

#[test]
fn workers_say_where_they_retry() {
    let dir = tempfile::tempdir().unwrap();
    let port = closed_port();
    let url = format!("postgres://me:Retry9Secret@127.0.0.1:{port}/db");
    let study = study_file(dir.path(), "wait", 4, None);
    let s = study.to_str().unwrap();
    let mut w = Worker::spawn(
        dir.path(),
        "w",
        &["run", s, "--storage", &url, "--plain"],
        &[("PARETOSEARCH_DB_RETRY", "3s")],
    );
    let status = w.wait(Duration::from_secs(60));
    assert!(!status.success(), "{}", w.output());
    let err = w.stderr_text();
    let target = format!("127.0.0.1:{port}");
    let warning = err
        .lines()
        .find(|l| l.contains("retrying"))
        .unwrap_or_else(|| panic!("no word of retrying:\n{err}"));
    assert!(warning.contains(&target), "{warning}");
    assert!(
        err.contains(&format!("connection refused at {target}")),
        "{err}"
    );
    assert!(!w.output().contains("Retry9Secret"), "{}", w.output());
}

#[test]
fn bad_storage_urls_do_not_show_passwords() {
    let dir = tempfile::tempdir().unwrap();
    let study = study_file(dir.path(), "bad", 4, None);
    let s = study.to_str().unwrap();
    for url in [
        "mysql://me:Bad9Secret@db/x",
        "postgres://me:Bad9Secret@db:notaport/x",
        "postgres://db/x?password=Bad9Secret&sslmode=sometimes",
    ] {
        for cmd in ["status", "run", "export", "check"] {
            let o = ps(&[cmd, s, "--storage", url]);
            // `check` does not contact a server; the rest cannot.
            assert!(cmd == "check" || !o.status.success(), "{}", text(&o));
            assert!(!text(&o).contains("Bad9Secret"), "`{cmd}`: {}", text(&o));
        }
    }
}
