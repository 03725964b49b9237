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

/// The narrowest width output is fitted to (a smaller `COLUMNS` is taken
/// as this).
pub const MIN_WIDTH: u16 = 20;

/// The width output must fit: `COLUMNS` when it is set to a positive
/// number (whatever stdout is), else the terminal's when stdout is one,
/// else none (pipes and files get whole lines).
pub fn output_width() -> Option<u16> {
    let columns = std::env::var("COLUMNS")
        .ok()
        .and_then(|v| v.trim().parse::<u16>().ok())
        .filter(|&w| w > 0);
    columns.map(|w| w.max(MIN_WIDTH)).or_else(terminal_width)
}

/// A table preset for the CLI, sized to [`output_width`] when there is
/// one and left at its natural width otherwise. Call [`fit`] once its
/// rows are in.
pub fn table() -> comfy_table::Table {
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::UTF8_BORDERS_ONLY);
    if !colour_enabled() {
        t.force_no_tty();
    }
    t
}

/// A column is never narrowed below this many characters (or its widest
/// cell, when that is narrower): narrower, numbers break mid-digit.
pub const MIN_COLUMN: u16 = 9;

/// A wrapped cell shows at most this many lines (the rest becomes `…`).
pub const MAX_CELL_LINES: usize = 3;

/// Fit `table` (rows and header in) into [`output_width`]: long cells are
/// wrapped (at most [`MAX_CELL_LINES`] lines, then `…`); when the columns
/// do not fit even at [`MIN_COLUMN`] characters each, the last columns are
/// left out, never the first `keep`. Returns the headers of the columns
/// left out, for a note below the table. Without a width, nothing changes.
pub fn fit(table: &mut comfy_table::Table, keep: usize) -> Vec<String> {
    use comfy_table::{ColumnConstraint, Width};
    let Some(width) = output_width() else {
        return Vec::new();
    };
    table.set_truncation_indicator("…");
    for row in table.row_iter_mut() {
        row.max_height(MAX_CELL_LINES);
    }
    let natural = table.column_max_content_widths();
    let headers: Vec<String> = table
        .header()
        .map(|h| h.cell_iter().map(|c| c.content()).collect())
        .unwrap_or_default();
    // Borders and padding around the content, measured on this table's
    // style: a render of one-character columns.
    // (An absolute width counts the padding: content plus padding.)
    let padded = |table: &comfy_table::Table, i: usize, w: u16| {
        let pad = table.column(i).map_or(0, |c| c.padding_width());
        ColumnConstraint::Absolute(Width::Fixed(w + pad))
    };
    let overhead = {
        for i in 0..natural.len() {
            let fixed = padded(table, i, 1);
            if let Some(c) = table.column_mut(i) {
                c.set_constraint(fixed);
            }
        }
        let rendered = table.lines().map(|l| display_width(&l)).max().unwrap_or(0);
        rendered.saturating_sub(natural.len())
    };
    let per_column = overhead.saturating_sub(2) / natural.len().max(1);
    let border = overhead.saturating_sub(per_column * natural.len());
    let keep = keep.max(1);
    // As many columns as fit at their narrowest, then checked by rendering.
    let narrowest = |i: usize| usize::from(natural[i].clamp(1, MIN_COLUMN)) + per_column;
    let mut visible = natural.len();
    while visible > keep && border + (0..visible).map(narrowest).sum::<usize>() > usize::from(width)
    {
        visible -= 1;
    }
    loop {
        let widths = share(&natural[..visible], usize::from(width), border, per_column);
        for i in 0..natural.len() {
            let constraint = match widths.get(i) {
                Some(&w) => padded(table, i, w),
                None => ColumnConstraint::Hidden,
            };
            if let Some(c) = table.column_mut(i) {
                c.set_constraint(constraint);
            }
        }
        let widest = table.lines().map(|l| display_width(&l)).max().unwrap_or(0);
        if widest <= usize::from(width) || visible <= keep {
            break;
        }
        visible -= 1;
    }
    headers.into_iter().skip(visible).collect()
}

/// Content widths for columns of natural widths `natural` in a table of
/// `width` characters (`border` for the outer borders, `per_column` of
/// padding and separator for each column): every column at least
/// [`MIN_COLUMN`] (or its natural width when that is smaller), the rest
/// shared out with the narrowest needs served first, in full while that
/// leaves the others enough.
fn share(natural: &[u16], width: usize, border: usize, per_column: usize) -> Vec<u16> {
    let n = natural.len();
    let available = width.saturating_sub(border + per_column * n);
    let mut widths: Vec<usize> = natural
        .iter()
        .map(|&w| usize::from(w.clamp(1, MIN_COLUMN)))
        .collect();
    let mut left = available.saturating_sub(widths.iter().sum());
    let mut wanting: Vec<usize> = (0..n)
        .filter(|&i| usize::from(natural[i]) > widths[i])
        .collect();
    wanting.sort_by_key(|&i| usize::from(natural[i]) - widths[i]);
    let mut remaining = wanting.len();
    for i in wanting {
        let need = usize::from(natural[i]) - widths[i];
        // A whole cell when what is left still widens the others by at
        // least [`MIN_COLUMN`] each, else a fair share.
        let give = if left >= need + (remaining - 1) * usize::from(MIN_COLUMN) {
            need
        } else {
            need.min(left / remaining)
        };
        widths[i] += give;
        left -= give;
        remaining -= 1;
    }
    widths.into_iter().map(|w| w as u16).collect()
}

/// The note printed under a table [`fit`] left columns out of.
pub fn left_out_note(left_out: &[String], json_hint: &str) -> Option<String> {
    if left_out.is_empty() {
        return None;
    }
    let names = match left_out {
        [one] => one.clone(),
        [a, b] => format!("{a}, {b}"),
        [first, .., last] => format!("{first} … {last}"),
        [] => String::new(),
    };
    Some(format!(
        "{} column{} left out to fit {} characters ({names}; {json_hint} shows {})",
        left_out.len(),
        if left_out.len() == 1 { "" } else { "s" },
        output_width().unwrap_or(0),
        if left_out.len() == 1 { "it" } else { "them" },
    ))
}

/// Characters shown on a terminal (ANSI colour codes not counted).
pub fn display_width(line: &str) -> usize {
    let mut n = 0;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            // CSI ... final byte in @..~
            for d in chars.by_ref() {
                if ('@'..='~').contains(&d) && d != '[' {
                    break;
                }
            }
        } else {
            n += 1;
        }
    }
    n
}

/// `text` broken at spaces into lines of at most [`output_width`]
/// characters (a word longer than that is cut); unchanged without a
/// width. Lines after the first are indented by `indent` spaces.
pub fn wrap(text: &str, indent: usize) -> String {
    match output_width() {
        Some(w) => wrap_at(text, usize::from(w), indent),
        None => text.to_string(),
    }
}

fn wrap_at(text: &str, width: usize, indent: usize) -> String {
    let indent = indent.min(width / 2);
    let pad = " ".repeat(indent);
    let mut out: Vec<String> = Vec::new();
    for para in text.split('\n') {
        let mut line = String::new();
        // Characters in `line`, and how many of them are indentation.
        let (mut len, mut base) = (0, 0);
        for word in para.split(' ') {
            let chars: Vec<char> = word.chars().collect();
            let mut w = &chars[..];
            if len > base {
                if len + 1 + w.len() <= width {
                    line.push(' ');
                    len += 1;
                } else {
                    out.push(std::mem::replace(&mut line, pad.clone()));
                    (len, base) = (indent, indent);
                }
            }
            // A word wider than a whole line is cut.
            while len + w.len() > width {
                let take = width - len;
                line.extend(&w[..take]);
                out.push(std::mem::replace(&mut line, pad.clone()));
                (len, base) = (indent, indent);
                w = &w[take..];
            }
            line.extend(w);
            len += w.len();
        }
        out.push(line);
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_keeps_lines_within_the_width() {
        let text = "picked trial 12 (from 30 candidates; rule: compromise: closest to the ideal point of the candidates' Pareto set (objectives scaled to [0, 1]))";
        let w = wrap_at(text, 40, 2);
        assert!(w.lines().all(|l| l.chars().count() <= 40), "{w}");
        assert_eq!(
            w.split_whitespace().collect::<Vec<_>>(),
            text.split_whitespace().collect::<Vec<_>>()
        );
        assert!(w.lines().skip(1).all(|l| l.starts_with("  ")), "{w}");
        let long = format!("path {}", "x".repeat(50));
        assert!(wrap_at(&long, 20, 0)
            .lines()
            .all(|l| l.chars().count() <= 20));
        assert_eq!(wrap_at("short line", 80, 2), "short line");
    }

    #[test]
    fn ansi_codes_take_no_width() {
        assert_eq!(display_width("\x1b[1mbold\x1b[0m x"), 6);
    }
}
