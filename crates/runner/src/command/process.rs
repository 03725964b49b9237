//! The command's process group: deadlines, signals, termination, and how
//! the command ended.

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::Duration;

use tokio::process::{Child, Command};
use tokio::time::{sleep, sleep_until, timeout, timeout_at, Instant};

/// Await the deadline, or forever when there is none.
pub(super) async fn until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// Wait for a reader task; abandon it if it does not finish within
/// `deadline` (a process outside the group holds the pipe).
pub(super) async fn join(task: Option<tokio::task::JoinHandle<()>>, deadline: Instant) {
    let Some(mut task) = task else { return };
    if timeout_at(deadline, &mut task).await.is_err() {
        task.abort();
    }
}

fn signal_group(pgid: libc::pid_t, sig: libc::c_int) {
    // SAFETY: kill(2) has no memory-safety preconditions; a negative pid
    // addresses the process group we created.
    unsafe {
        libc::kill(-pgid, sig);
    }
}

fn group_alive(pgid: libc::pid_t) -> bool {
    // SAFETY: as in `signal_group`; signal 0 only checks for existence.
    unsafe { libc::kill(-pgid, 0) == 0 }
}

/// Stop the process group: SIGTERM, up to `grace` for it to empty, SIGKILL
/// for what is left; reap the command. `exited` is the command's status if
/// it has already been reaped. Returns the command's status.
pub(super) async fn terminate(
    child: &mut Child,
    pgid: libc::pid_t,
    grace: Duration,
    exited: Option<ExitStatus>,
) -> Option<ExitStatus> {
    if exited.is_some() && !group_alive(pgid) {
        return exited;
    }
    signal_group(pgid, libc::SIGTERM);
    let end = Instant::now() + grace;
    let status = match exited {
        Some(s) => Some(s),
        None => timeout_at(end, child.wait())
            .await
            .ok()
            .and_then(Result::ok),
    };
    while group_alive(pgid) && Instant::now() < end {
        sleep(Duration::from_millis(20)).await;
    }
    signal_group(pgid, libc::SIGKILL);
    // The kill is asynchronous; give the kernel a moment to end the group so
    // callers see it gone (zombies still answer `kill(0)`, hence the bound).
    let end = Instant::now() + Duration::from_millis(500);
    while group_alive(pgid) && Instant::now() < end {
        sleep(Duration::from_millis(10)).await;
    }
    match status {
        Some(s) => Some(s),
        None => timeout(Duration::from_secs(5), child.wait())
            .await
            .ok()
            .and_then(Result::ok),
    }
}

/// Kills the process group, and the processes carrying the execution's
/// tag, if the trial's future is dropped mid-run; removes the record.
pub(super) struct GroupGuard {
    pub(super) pgid: libc::pid_t,
    pub(super) tag: String,
    pub(super) record: Option<PathBuf>,
    /// Set once the trial's own cleanup ran.
    pub(super) done: bool,
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        if group_alive(self.pgid) {
            signal_group(self.pgid, libc::SIGKILL);
        }
        kill_all(&find(&self.tag, None), Duration::ZERO);
        if let Some(r) = &self.record {
            let _ = std::fs::remove_file(r);
        }
    }
}

/// The environment variable that tags every process of one execution of
/// a command (inherited by everything it starts, `setsid` or not), so that
/// processes that left its process group can be found.
pub const PROCESS_TAG_ENV: &str = "PARETOSEARCH_PROCESS_TAG";

/// A tag no other execution has: this process, the trial, the time.
pub(super) fn new_tag(trial: u64) -> String {
    static COUNT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let n = COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!(
        "{}.{}.{trial}.{nanos}.{n}",
        std::process::id(),
        self_start()
    )
}

/// The record of a running command next to its log (`trial-00007.proc`
/// beside `trial-00007.log`).
pub(super) fn record_path(log_path: &Path) -> PathBuf {
    log_path.with_extension("proc")
}

/// Write what a later run needs to find and kill what this execution
/// leaves behind if paretosearch dies: the machine's boot and pid
/// namespace (pids mean nothing elsewhere), the owner (this process: a
/// live owner's trial is never touched), the process group and its
/// leader's start time (pids are reused), the tag and the grace.
/// `None` where the platform gives no start times (nothing is recorded).
pub(super) fn write_record(
    path: &Path,
    trial: u64,
    pgid: libc::pid_t,
    tag: &str,
    grace: Duration,
) -> Option<PathBuf> {
    let machine = machine()?;
    let leader = stat(pgid)?.start;
    let record = serde_json::json!({
        "machine": machine,
        "owner": std::process::id(),
        "owner_start": self_start(),
        "trial": trial,
        "pgid": pgid,
        "leader_start": leader,
        "tag": tag,
        "grace_ms": grace.as_millis() as u64,
    });
    let tmp = path.with_extension("proc.tmp");
    std::fs::write(&tmp, record.to_string()).ok()?;
    std::fs::rename(&tmp, path).ok()?;
    Some(path.to_path_buf())
}

/// What [`reap_orphans`] killed for one trial.
#[derive(Clone, Debug, PartialEq)]
pub struct Reaped {
    /// The trial whose processes they were.
    pub trial: u64,
    /// How many processes were signalled.
    pub killed: usize,
}

/// Kill what an execution of a command whose paretosearch process died
/// left behind, from the record next to the trial's log `log_path`: the
/// rest of its process group (if the group's leader is gone or still has
/// the recorded start time) and every process carrying its tag, with
/// `SIGTERM`, then `SIGKILL` after the recorded grace. Does nothing (and
/// keeps the record) while the paretosearch process that wrote it lives,
/// or when the record comes from another machine, boot or pid namespace.
/// `None` when there is no record to act on. Linux only (elsewhere there
/// are no start times to tell a reused pid from the recorded one).
pub fn reap_orphans(log_path: &Path) -> Option<Reaped> {
    reap_record(&record_path(log_path))
}

/// [`reap_orphans`] for every record in `logs_dir`.
pub fn reap_all_orphans(logs_dir: &Path) -> Vec<Reaped> {
    let Ok(entries) = std::fs::read_dir(logs_dir) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "proc"))
        .filter_map(|p| reap_record(&p))
        .collect()
}

fn reap_record(path: &Path) -> Option<Reaped> {
    let text = std::fs::read_to_string(path).ok()?;
    let Ok(r) = serde_json::from_str::<serde_json::Value>(&text) else {
        let _ = std::fs::remove_file(path);
        return None;
    };
    let (Some(recorded), Some(owner), Some(owner_start), Some(trial), Some(pgid), Some(leader)) = (
        r["machine"].as_str(),
        r["owner"].as_i64(),
        r["owner_start"].as_u64(),
        r["trial"].as_u64(),
        r["pgid"].as_i64(),
        r["leader_start"].as_u64(),
    ) else {
        let _ = std::fs::remove_file(path);
        return None;
    };
    if recorded != machine()? {
        return None;
    }
    if stat(owner as libc::pid_t).is_some_and(|s| s.start == owner_start) {
        return None; // its owner lives and cleans up after itself
    }
    let pgid = pgid as libc::pid_t;
    // While any process has the group's id, the kernel gives that id to no
    // new process: a leader that is gone leaves a group that is ours.
    let group = match stat(pgid) {
        None => Some(pgid),
        Some(s) if s.start == leader => Some(pgid),
        Some(_) => None,
    };
    let tag = r["tag"].as_str().unwrap_or_default();
    let targets = find(tag, group);
    let grace = Duration::from_millis(r["grace_ms"].as_u64().unwrap_or(5000));
    kill_all(&targets, grace);
    let _ = std::fs::remove_file(path);
    Some(Reaped {
        trial,
        killed: targets.len(),
    })
}

/// Kill the processes that carry `tag` (they left the process group, or
/// the group is gone): `SIGTERM`, up to `grace`, `SIGKILL`. Returns how
/// many there were.
pub(super) async fn kill_tagged(tag: &str, grace: Duration) -> usize {
    let tag = tag.to_string();
    tokio::task::spawn_blocking(move || {
        let targets = find(&tag, None);
        kill_all(&targets, grace);
        targets.len()
    })
    .await
    .unwrap_or(0)
}

/// A process as `/proc/PID/stat` shows it.
pub(super) struct Stat {
    pub(super) zombie: bool,
    pgrp: libc::pid_t,
    /// Clock ticks after boot.
    start: u64,
}

#[cfg(target_os = "linux")]
pub(super) fn stat(pid: libc::pid_t) -> Option<Stat> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: fields start after
    // the last `)`, with the state (field 3) first.
    let fields: Vec<&str> = s.rsplit_once(')')?.1.split_whitespace().collect();
    Some(Stat {
        zombie: matches!(fields.first(), Some(&"Z") | Some(&"X")),
        pgrp: fields.get(2)?.parse().ok()?,
        start: fields.get(19)?.parse().ok()?,
    })
}

#[cfg(not(target_os = "linux"))]
pub(super) fn stat(_pid: libc::pid_t) -> Option<Stat> {
    None
}

fn self_start() -> u64 {
    stat(std::process::id() as libc::pid_t).map_or(0, |s| s.start)
}

/// This boot of this machine and this pid namespace: where recorded pids
/// mean what they meant.
fn machine() -> Option<String> {
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
    let ns = std::fs::read_link("/proc/self/ns/pid").ok()?;
    Some(format!("{} {}", boot.trim(), ns.display()))
}

/// Live processes (not this one) carrying `tag`, or in the process group
/// `group`, with their start times.
fn find(tag: &str, group: Option<libc::pid_t>) -> Vec<(libc::pid_t, u64)> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let me = std::process::id() as libc::pid_t;
    let needle = format!("{PROCESS_TAG_ENV}={tag}");
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<libc::pid_t>().ok())
        .filter(|&pid| pid != me)
        .filter_map(|pid| {
            let st = stat(pid)?;
            if st.zombie {
                return None;
            }
            // A pid reused meanwhile is caught when signalled: each target
            // is signalled only while it has the start time seen here.
            let ours = group == Some(st.pgrp) || (!tag.is_empty() && has_env(pid, &needle));
            ours.then_some((pid, st.start))
        })
        .collect()
}

fn has_env(pid: libc::pid_t, needle: &str) -> bool {
    std::fs::read(format!("/proc/{pid}/environ"))
        .map(|env| env.split(|&b| b == 0).any(|v| v == needle.as_bytes()))
        .unwrap_or(false)
}

/// Signal each of `targets` that still has its start time.
fn signal_each(targets: &[(libc::pid_t, u64)], sig: libc::c_int) -> usize {
    let mut live = 0;
    for &(pid, start) in targets {
        if stat(pid).is_some_and(|s| s.start == start && !s.zombie) {
            // SAFETY: kill(2) has no memory-safety preconditions.
            unsafe {
                libc::kill(pid, sig);
            }
            live += 1;
        }
    }
    live
}

/// `SIGTERM`, up to `grace` for them to end, `SIGKILL` to the rest.
fn kill_all(targets: &[(libc::pid_t, u64)], grace: Duration) {
    if targets.is_empty() {
        return;
    }
    let end = std::time::Instant::now() + grace;
    if !grace.is_zero() {
        signal_each(targets, libc::SIGTERM);
        while std::time::Instant::now() < end && signal_each(targets, 0) > 0 {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    signal_each(targets, libc::SIGKILL);
    // The kill is asynchronous: let the kernel end them.
    let end = std::time::Instant::now() + Duration::from_millis(500);
    while std::time::Instant::now() < end && signal_each(targets, 0) > 0 {
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Ask the kernel to SIGKILL the command when paretosearch dies.
#[cfg(target_os = "linux")]
pub(super) fn die_with_parent(cmd: &mut Command) {
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: the closure runs between fork and exec and calls only
    // async-signal-safe functions (prctl, getppid), allocating nothing.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::SIGKILL as libc::c_ulong,
                0,
                0,
                0,
            ) == -1
            {
                return Err(std::io::Error::last_os_error());
            }
            // The parent may have died before prctl took effect.
            if libc::getppid() != parent {
                return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
pub(super) fn die_with_parent(_cmd: &mut Command) {}

/// `command exited with status 3`, `command killed by signal 9 (SIGKILL)`.
pub(super) fn describe(status: ExitStatus) -> String {
    if let Some(code) = status.code() {
        return format!("command exited with status {code}");
    }
    match status.signal() {
        Some(sig) => {
            let name = match sig {
                libc::SIGHUP => " (SIGHUP)",
                libc::SIGINT => " (SIGINT)",
                libc::SIGABRT => " (SIGABRT)",
                libc::SIGKILL => " (SIGKILL)",
                libc::SIGSEGV => " (SIGSEGV)",
                libc::SIGTERM => " (SIGTERM)",
                libc::SIGBUS => " (SIGBUS)",
                _ => "",
            };
            format!("command killed by signal {sig}{name}")
        }
        None => "command ended abnormally".into(),
    }
}
