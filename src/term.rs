//! Terminal conventions shared by the reporting commands: colour only on a
//! terminal and never under `NO_COLOR` (<https://no-color.org>), and tables
//! sized to the terminal's width.

use std::io::IsTerminal;

/// Should stdout be coloured? Only when it is a terminal and `NO_COLOR` is
/// unset or empty (the convention says any non-empty value disables it).
pub fn colour_enabled() -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    !no_color && std::io::stdout().is_terminal()
}

/// ANSI styles used by the CLI.
#[derive(Clone, Copy, Debug)]
pub enum Paint {
    /// Headings and names.
    Bold,
    /// Good news (a chosen trial, COMPLETE).
    Green,
    /// Warnings (PRUNED, nothing chosen).
    Yellow,
    /// Failures.
    Red,
}

/// `text` wrapped in the ANSI codes of `paint` when colour is enabled.
pub fn paint(text: &str, paint: Paint) -> String {
    if !colour_enabled() {
        return text.to_string();
    }
    let code = match paint {
        Paint::Bold => "1",
        Paint::Green => "32",
        Paint::Yellow => "33",
        Paint::Red => "31",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

/// The width of the terminal stdout is attached to, if it is one.
pub fn terminal_width() -> Option<u16> {
    if !std::io::stdout().is_terminal() {
        return None;
    }
    // SAFETY: TIOCGWINSZ fills a winsize struct.
    unsafe {
        let mut ws: libc::winsize = std::mem::zeroed();
        if libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) == 0 && ws.ws_col > 0 {
            return Some(ws.ws_col);
        }
    }
    None
}

/// A table preset for the CLI, sized to the terminal when there is one
/// (comfy-table wraps cells to fit) and left at its natural width
/// otherwise (pipes and files get whole lines).
pub fn table() -> comfy_table::Table {
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::UTF8_BORDERS_ONLY);
    if let Some(w) = terminal_width() {
        t.set_width(w);
        t.set_content_arrangement(comfy_table::ContentArrangement::Dynamic);
    }
    if !colour_enabled() {
        t.force_no_tty();
    }
    t
}
