//! The command's process group: deadlines, signals, termination, and how
//! the command ended.

use std::os::unix::process::ExitStatusExt;
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

/// Kills the process group if the trial's future is dropped mid-run.
pub(super) struct GroupGuard(pub(super) libc::pid_t);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if group_alive(self.0) {
            signal_group(self.0, libc::SIGKILL);
        }
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
