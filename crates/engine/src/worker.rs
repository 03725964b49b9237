//! Who runs a trial: worker identities, and telling a dead worker from a
//! slow one; the seed each trial's runner gets.

use paretosearch_core::clock::now_ms;

/// Environment variable naming this machine in worker ids, for containers
/// that share a host name but not a process namespace (pids could then be
/// mistaken for those of another container).
pub const HOSTNAME_ENV: &str = "PARETOSEARCH_HOSTNAME";

/// This machine's host name (`PARETOSEARCH_HOSTNAME` when set).
pub fn hostname() -> String {
    if let Ok(h) = std::env::var(HOSTNAME_ENV) {
        if !h.trim().is_empty() {
            return h.trim().to_string();
        }
    }
    system_hostname()
}

fn system_hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most buf.len() bytes into buf.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return "localhost".into();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

/// A worker identity `host:pid:start_ms`, stored with the trials it runs.
/// Ids of this shape let [`worker_is_dead`] recognise a crashed process on
/// this host at once; any other id is judged by heartbeat alone.
pub fn worker_id() -> String {
    let _ = *PROCESS_START;
    format!("{}:{}:{}", hostname(), std::process::id(), now_ms())
}

/// Is the worker that wrote `id` certainly gone? True only for workers on
/// this host whose process no longer exists (or whose pid is now ours, from
/// an earlier incarnation). Workers elsewhere are judged by heartbeat alone.
pub fn worker_is_dead(id: &str, me: &str) -> bool {
    if id == me {
        return false;
    }
    let mut parts = id.rsplitn(3, ':');
    let (Some(_start), Some(pid), Some(host)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    if host != hostname() {
        return false;
    }
    let Ok(pid) = pid.parse::<i32>() else {
        return false;
    };
    if pid as u32 == std::process::id() {
        // Same pid: this process in an earlier life (started before this
        // process did), or another `Study` handle of this very process,
        // which is alive.
        let start = id.rsplit(':').next().and_then(|s| s.parse::<i64>().ok());
        return start.is_none_or(|s| s < *PROCESS_START);
    }
    // SAFETY: kill with signal 0 only checks for existence.
    let rc = unsafe { libc::kill(pid, 0) };
    if rc == 0 {
        return is_zombie(pid);
    }
    std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
}

/// The earliest moment this process can have made a worker id: set on the
/// first call of [`worker_id`] or [`worker_is_dead`], whichever comes first.
/// An id with our pid and an earlier start is an earlier process's.
static PROCESS_START: std::sync::LazyLock<i64> = std::sync::LazyLock::new(now_ms);

fn is_zombie(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            let after = s.rsplit_once(')')?.1.trim_start().chars().next()?;
            Some(after == 'Z' || after == 'X')
        })
        .unwrap_or(false)
}

/// The seed handed to the runner (or objective) of trial `number`: a
/// splitmix64 of the study seed and the number, so a trial's randomness
/// depends on nothing else.
pub fn trial_seed(study_seed: u64, number: u64) -> u64 {
    let mut z = study_seed ^ number.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dead_worker_detection() {
        let me = worker_id();
        assert!(!worker_is_dead(&me, &me));
        // A pid that cannot exist on Linux (above pid_max's hard limit).
        let ghost = format!("{}:{}:1", hostname(), 4_194_400);
        assert!(worker_is_dead(&ghost, &me));
        // Another host: unknown, never declared dead.
        assert!(!worker_is_dead("elsewhere:1:1", &me));
        // Ourselves in a previous life.
        let old = format!("{}:{}:1", hostname(), std::process::id());
        assert!(worker_is_dead(&old, &me));
        // Another study handle of this very process: alive.
        let sibling = format!("{}:{}:{}", hostname(), std::process::id(), now_ms() + 5);
        assert!(!worker_is_dead(&sibling, &me));
    }

    #[test]
    fn trial_seeds_differ() {
        assert_ne!(trial_seed(7, 0), trial_seed(7, 1));
        assert_ne!(trial_seed(7, 0), trial_seed(8, 0));
        assert_eq!(trial_seed(7, 3), trial_seed(7, 3));
    }
}
