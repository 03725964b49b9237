//! The trial's output: the per-trial log, the line reader, and the two
//! tasks that read the command's stdout (protocol messages) and stderr (the
//! tail quoted in failure reasons).

use std::collections::{BTreeMap, VecDeque};
use std::io::Write;
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::sync::mpsc;

use super::protocol::{parse_line, Line};
use crate::Job;

/// Longest stdout/stderr line kept whole; longer lines are cut in the log
/// and are never protocol messages.
const MAX_LINE: usize = 1 << 20;
/// Lines of stderr quoted in failure reasons.
const TAIL_LINES: usize = 3;
/// Characters of one quoted stderr line.
const TAIL_LINE_CHARS: usize = 160;

/// What the stdout reader hands to the follow loop.
pub(super) enum Message {
    Report(u64, BTreeMap<String, f64>),
    Invalid(String),
}

/// The per-trial log: shared by the two readers, written line by line.
#[derive(Clone)]
pub(super) struct Log(Option<Arc<Mutex<Option<std::io::LineWriter<std::fs::File>>>>>);

impl Log {
    pub(super) fn open(job: &Job) -> Result<Log, String> {
        let Some(path) = &job.log_path else {
            return Ok(Log(None));
        };
        let open = || -> std::io::Result<std::fs::File> {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)?;
            }
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
        };
        match open() {
            Ok(f) => Ok(Log(Some(Arc::new(Mutex::new(Some(
                std::io::LineWriter::new(f),
            )))))),
            Err(e) => Err(format!(
                "cannot write the trial log `{}`: {}",
                path.display(),
                io_message(&e)
            )),
        }
    }

    /// Append one line; after a write error the log is abandoned (the trial
    /// goes on).
    pub(super) fn line(&self, line: &str) {
        let Some(w) = &self.0 else { return };
        let Ok(mut w) = w.lock() else { return };
        if let Some(f) = w.as_mut() {
            if writeln!(f, "{line}").is_err() {
                *w = None;
            }
        }
    }
}

/// Reads lines of at most [`MAX_LINE`] bytes without buffering more.
struct Lines<R> {
    inner: BufReader<R>,
    buf: Vec<u8>,
}

impl<R: AsyncRead + Unpin> Lines<R> {
    fn new(r: R) -> Self {
        Lines {
            inner: BufReader::new(r),
            buf: Vec::new(),
        }
    }

    /// The next line (lossy UTF-8, without its line ending) and whether it
    /// was cut; `None` at end of input or on a read error.
    async fn next(&mut self) -> Option<(String, bool)> {
        self.buf.clear();
        let mut cut = false;
        loop {
            let avail = match self.inner.fill_buf().await {
                Ok(b) => b,
                Err(_) => &[],
            };
            if avail.is_empty() {
                if self.buf.is_empty() && !cut {
                    return None;
                }
                break;
            }
            let (chunk, used, done) = match avail.iter().position(|&b| b == b'\n') {
                Some(i) => (&avail[..i], i + 1, true),
                None => (avail, avail.len(), false),
            };
            let room = MAX_LINE - self.buf.len();
            if chunk.len() > room {
                cut = true;
            }
            self.buf.extend_from_slice(&chunk[..chunk.len().min(room)]);
            self.inner.consume(used);
            if done {
                break;
            }
        }
        if self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        Some((String::from_utf8_lossy(&self.buf).into_owned(), cut))
    }
}

/// A value a reader task publishes as it goes, so that nothing read is
/// lost if the task has to be abandoned.
pub(super) struct Slot<T>(Arc<Mutex<Option<T>>>);

impl<T> Default for Slot<T> {
    fn default() -> Self {
        Slot(Arc::new(Mutex::new(None)))
    }
}

impl<T> Clone for Slot<T> {
    fn clone(&self) -> Self {
        Slot(self.0.clone())
    }
}

impl<T> Slot<T> {
    fn set(&self, v: T) {
        if let Ok(mut g) = self.0.lock() {
            *g = Some(v);
        }
    }

    pub(super) fn take(&self) -> Option<T> {
        self.0.lock().ok()?.take()
    }
}

/// Log every stdout line, send reports, keep the last result object.
pub(super) async fn read_stdout(
    out: impl AsyncRead + Unpin,
    log: Log,
    tx: mpsc::Sender<Message>,
    result: Slot<Map<String, Value>>,
) {
    let mut lines = Lines::new(out);
    while let Some((line, cut)) = lines.next().await {
        if cut {
            log.line(&format!("{line} [cut at {MAX_LINE} bytes]"));
            continue;
        }
        log.line(&line);
        match parse_line(&line) {
            Line::Other => {}
            Line::Result(obj) => result.set(obj),
            // A closed receiver means the trial is being stopped: keep
            // draining the pipe so the command never blocks on a write.
            Line::Report(step, values) => {
                let _ = tx.send(Message::Report(step, values)).await;
            }
            Line::Invalid(reason) => {
                let _ = tx.send(Message::Invalid(reason)).await;
            }
        }
    }
}

/// Log every stderr line, keep the last few.
pub(super) async fn read_stderr(
    err: impl AsyncRead + Unpin,
    log: Log,
    last: Slot<VecDeque<String>>,
) {
    let mut lines = Lines::new(err);
    let mut tail = VecDeque::with_capacity(TAIL_LINES + 1);
    while let Some((line, cut)) = lines.next().await {
        log.line(&line);
        let trimmed = line.trim();
        if !trimmed.is_empty() {
            let mut short: String = trimmed.chars().take(TAIL_LINE_CHARS).collect();
            if cut || short.len() < trimmed.len() {
                short.push('…');
            }
            tail.push_back(short);
            if tail.len() > TAIL_LINES {
                tail.pop_front();
            }
            last.set(tail.clone());
        }
    }
}

pub(super) fn with_tail(reason: String, tail: &VecDeque<String>) -> String {
    if tail.is_empty() {
        reason
    } else {
        let lines: Vec<&str> = tail.iter().map(String::as_str).collect();
        format!("{reason}; stderr: {}", lines.join(" | "))
    }
}

/// An I/O error without the `(os error N)` suffix.
pub(super) fn io_message(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}
