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

/// The per-trial log: shared by the two readers, written line by line,
/// capped at `[runner] log_limit` bytes (see [`Capped`]).
#[derive(Clone)]
pub(super) struct Log(Option<Arc<Mutex<Option<Capped>>>>);

/// A log file that keeps the first and the last part of the output once it
/// exceeds its limit: the first `limit - limit/2` bytes (less what the file
/// already held) go to the file as they come, with a marker when the limit
/// is reached; the last `limit/2` bytes are held in memory and written,
/// after a line counting the bytes cut, when the trial ends. Lines from
/// paretosearch itself (header, footer) are never cut.
struct Capped {
    file: std::io::LineWriter<std::fs::File>,
    limit: u64,
    /// Bytes of output still written straight to the file.
    head_left: u64,
    tail: VecDeque<String>,
    tail_bytes: u64,
    tail_cap: u64,
    cutting: bool,
    cut_bytes: u64,
    cut_lines: u64,
}

impl Capped {
    fn output(&mut self, line: &str) -> std::io::Result<()> {
        let bytes = line.len() as u64 + 1;
        if !self.cutting && bytes <= self.head_left {
            self.head_left -= bytes;
            return writeln!(self.file, "{line}");
        }
        if !self.cutting {
            self.cutting = true;
            writeln!(
                self.file,
                "==> paretosearch: the log reached its limit of {} ([runner] log_limit): \
                 output is cut from here; its last {} follow at the end",
                size(self.limit),
                size(self.tail_cap)
            )?;
        }
        self.tail.push_back(line.to_string());
        self.tail_bytes += bytes;
        while self.tail_bytes > self.tail_cap {
            let Some(old) = self.tail.pop_front() else {
                break;
            };
            let n = old.len() as u64 + 1;
            self.tail_bytes -= n;
            self.cut_bytes += n;
            self.cut_lines += 1;
        }
        Ok(())
    }

    /// Write the held tail, after the count of what was cut.
    fn flush_tail(&mut self) -> std::io::Result<()> {
        if !self.cutting {
            return Ok(());
        }
        self.cutting = false;
        self.head_left = 0;
        writeln!(
            self.file,
            "==> paretosearch: {} bytes ({} lines) of output were cut here; the last {} bytes follow",
            self.cut_bytes, self.cut_lines, self.tail_bytes
        )?;
        self.cut_bytes = 0;
        self.cut_lines = 0;
        self.tail_bytes = 0;
        for line in std::mem::take(&mut self.tail) {
            writeln!(self.file, "{line}")?;
        }
        Ok(())
    }
}

/// `10 MiB`, `512 KiB`, `1000 bytes`.
fn size(n: u64) -> String {
    match n {
        n if n >= 1 << 20 && n % (1 << 20) == 0 => format!("{} MiB", n >> 20),
        n if n >= 1 << 10 && n % (1 << 10) == 0 => format!("{} KiB", n >> 10),
        n => format!("{n} bytes"),
    }
}

impl Log {
    /// Open (append to) the job's log, capped at `limit` bytes.
    pub(super) fn open(job: &Job, limit: u64) -> Result<Log, String> {
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
            Ok(f) => {
                let held = f.metadata().map(|m| m.len()).unwrap_or(0);
                let tail_cap = limit / 2;
                Ok(Log(Some(Arc::new(Mutex::new(Some(Capped {
                    file: std::io::LineWriter::new(f),
                    limit,
                    head_left: (limit - tail_cap).saturating_sub(held),
                    tail: VecDeque::new(),
                    tail_bytes: 0,
                    tail_cap,
                    cutting: false,
                    cut_bytes: 0,
                    cut_lines: 0,
                }))))))
            }
            Err(e) => Err(format!(
                "cannot write the trial log `{}`: {}",
                path.display(),
                io_message(&e)
            )),
        }
    }

    /// Append one line of the command's output (subject to the limit);
    /// after a write error the log is abandoned (the trial goes on).
    pub(super) fn line(&self, line: &str) {
        self.with(|c| c.output(line));
    }

    /// Append a line of paretosearch's own (never cut), after the held
    /// tail of the output if the output was cut.
    pub(super) fn note(&self, line: &str) {
        self.with(|c| {
            c.flush_tail()?;
            writeln!(c.file, "{line}")
        });
    }

    fn with(&self, f: impl FnOnce(&mut Capped) -> std::io::Result<()>) {
        let Some(w) = &self.0 else { return };
        let Ok(mut w) = w.lock() else { return };
        if let Some(c) = w.as_mut() {
            if f(c).is_err() {
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

/// Log every stdout line, send reports, keep the last result object and
/// the number (from 1) of the last line that looked like a protocol
/// message but was cut at [`MAX_LINE`] bytes.
pub(super) async fn read_stdout(
    out: impl AsyncRead + Unpin,
    log: Log,
    tx: mpsc::Sender<Message>,
    result: Slot<Map<String, Value>>,
    cut_line: Slot<u64>,
) {
    let mut lines = Lines::new(out);
    let mut number = 0u64;
    while let Some((line, cut)) = lines.next().await {
        number += 1;
        if cut {
            if line.trim_start().starts_with('{') {
                cut_line.set(number);
            }
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

/// Why a command that exited with status 0 has no result, naming a
/// protocol line that was cut (`cut_line`) when there was one.
pub(super) fn no_result(cut_line: Option<u64>) -> String {
    let base = "the command printed no result (a JSON object without \"step\" on stdout)";
    match cut_line {
        Some(n) => format!(
            "{base}: line {n} of stdout was longer than {} and was cut, so it was not read \
             (a protocol line must be at most {} long)",
            size(MAX_LINE as u64),
            size(MAX_LINE as u64)
        ),
        None => base.to_string(),
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
