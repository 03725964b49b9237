//! `paretosearch report`: one self-contained HTML page about a study, and
//! (in [`serve`]) the same page served live while the study runs.
//!
//! The page needs nothing from the network: the figures are inline SVG
//! (the ones `plot` writes), the style sheet and the script are inline, and
//! the only request the page ever makes is the live page's poll of its own
//! server's `/state`. It holds, in order: the study's counts and
//! hypervolume, the figures (clicking a marker opens that trial below), the
//! Pareto set as a table sortable by any column (click a header), and every
//! trial with its parameters, values, state, pruning or failure reason,
//! intermediate reports and the tail of its log
//! (`<study dir>/<study name>-logs/trial-NNNNN.log`).

pub mod serve;

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use paretosearch_core::{ParamValue, StudySpec, Trial, TrialState};

use crate::cli::ReportArgs;
use crate::plot::svg::esc;
use crate::plot::{parse_reference, Figures};
use crate::study;
use crate::util::fmt_num;

/// Everything a page is made from.
pub struct PageInput<'a> {
    /// The study.
    pub spec: &'a StudySpec,
    /// Its storage URL (shown).
    pub storage_url: &'a str,
    /// Its trials, by number.
    pub trials: &'a [Trial],
    /// Folder of per-trial logs.
    pub logs_dir: &'a Path,
    /// Hypervolume reference (raw), if given.
    pub reference: Option<Vec<f64>>,
    /// Log lines per trial.
    pub log_lines: usize,
    /// `Some(state token)` for the live page.
    pub live: Option<String>,
}

/// A token that changes whenever the study does (trials added, finished,
/// reported): the live page reloads when its server's token differs.
pub fn state_token(trials: &[Trial]) -> String {
    let reports: usize = trials.iter().map(|t| t.intermediate.len()).sum();
    let states: String = trials
        .iter()
        .map(|t| match t.state {
            TrialState::Waiting => 'W',
            TrialState::Running => 'R',
            TrialState::Complete => 'C',
            TrialState::Pruned => 'P',
            TrialState::Fail => 'F',
        })
        .collect();
    let params: usize = trials.iter().filter(|t| !t.params.is_empty()).count();
    // The state string can be long; hash it (FNV-1a) to keep the token short.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in states.bytes() {
        h = (h ^ b as u64).wrapping_mul(0x0100_0000_01b3);
    }
    format!("{}-{params}-{reports}-{h:016x}", trials.len())
}

/// The last `lines` lines of a trial's log (at most 64 KiB read).
pub fn log_tail(path: &Path, lines: usize) -> Option<String> {
    if lines == 0 {
        return None;
    }
    let mut f = std::fs::File::open(path).ok()?;
    let len = f.metadata().ok()?.len();
    let start = len.saturating_sub(64 * 1024);
    f.seek(SeekFrom::Start(start)).ok()?;
    let mut buf = Vec::new();
    f.read_to_end(&mut buf).ok()?;
    let text = String::from_utf8_lossy(&buf);
    let all: Vec<&str> = text.lines().collect();
    let from = all.len().saturating_sub(lines);
    Some(all[from..].join("\n"))
}

fn param_text(v: &ParamValue) -> String {
    match v {
        ParamValue::Float(x) => fmt_num(*x),
        other => other.to_string(),
    }
}

fn state_class(s: TrialState) -> &'static str {
    match s {
        TrialState::Waiting => "waiting",
        TrialState::Running => "running",
        TrialState::Complete => "complete",
        TrialState::Pruned => "pruned",
        TrialState::Fail => "fail",
    }
}

const STYLE: &str = r#"
body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; margin: 0; color: #222; background: #fafbfc; }
header { background: #1f2937; color: #fff; padding: 14px 24px; }
header h1 { margin: 0 0 4px 0; font-size: 20px; }
header .meta { font-size: 13px; color: #cbd5e1; }
main { padding: 8px 24px 40px 24px; max-width: 1400px; }
h2 { font-size: 17px; margin: 26px 0 10px 0; border-bottom: 1px solid #dde1e6; padding-bottom: 4px; }
.figures { display: flex; flex-wrap: wrap; gap: 16px; }
figure { margin: 0; background: #fff; border: 1px solid #dde1e6; border-radius: 4px; padding: 6px; max-width: 100%; overflow-x: auto; }
figure svg { display: block; max-width: 100%; height: auto; }
figure svg [data-trial] { cursor: pointer; }
figcaption { font-size: 12px; color: #555; padding: 4px 2px 0 2px; }
table { border-collapse: collapse; font-size: 13px; background: #fff; }
th, td { border: 1px solid #dde1e6; padding: 3px 8px; text-align: right; white-space: nowrap; }
th { background: #f1f3f5; cursor: pointer; user-select: none; position: sticky; top: 0; }
th[data-dir="asc"]::after { content: " ▲"; } th[data-dir="desc"]::after { content: " ▼"; }
td.text, th.text { text-align: left; }
tbody tr[data-trial]:hover { background: #eef4fd; cursor: pointer; }
.state { font-size: 11px; font-weight: bold; padding: 1px 6px; border-radius: 8px; color: #fff; }
.state.complete { background: #2e8540; } .state.pruned { background: #8e44ad; } .state.fail { background: #c0392b; }
.state.running { background: #1f6fd1; } .state.waiting { background: #888; }
details.trial { background: #fff; border: 1px solid #dde1e6; border-radius: 4px; margin: 4px 0; padding: 4px 10px; }
details.trial summary { cursor: pointer; font-size: 13px; }
details.trial.flash { outline: 3px solid #1f6fd1; }
details.trial .body { display: flex; flex-wrap: wrap; gap: 18px; padding: 8px 0; }
details.trial pre { background: #111827; color: #e5e7eb; padding: 8px; font-size: 12px; max-height: 320px; overflow: auto; white-space: pre-wrap; min-width: 420px; max-width: 900px; margin: 0; }
.reason { color: #a33; }
.filters { font-size: 13px; margin: 6px 0; }
.filters label { margin-right: 12px; }
#live { font-size: 12px; color: #9ae6b4; }
.note { font-size: 12px; color: #666; }
"#;

const SCRIPT: &str = r#"
(function () {
  function key(row, i) {
    var c = row.cells[i];
    var v = c.getAttribute('data-v');
    if (v === null) v = c.textContent.trim();
    var x = Number(v);
    return v !== '' && !isNaN(x) ? { n: x, s: v } : { s: v };
  }
  document.querySelectorAll('table.sortable').forEach(function (table) {
    table.querySelectorAll('th').forEach(function (th, i) {
      th.addEventListener('click', function () {
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        var asc = th.getAttribute('data-dir') !== 'asc';
        table.querySelectorAll('th').forEach(function (h) { h.removeAttribute('data-dir'); });
        th.setAttribute('data-dir', asc ? 'asc' : 'desc');
        rows.sort(function (a, b) {
          var x = key(a, i), y = key(b, i), c;
          if ('n' in x && 'n' in y) c = x.n - y.n;
          else c = x.s.localeCompare(y.s);
          return asc ? c : -c;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });
  document.addEventListener('click', function (e) {
    if (e.target.closest('th')) return;
    var el = e.target.closest('[data-trial]');
    if (!el) return;
    var d = document.getElementById('trial-' + el.getAttribute('data-trial'));
    if (!d) return;
    d.open = true;
    d.style.display = '';
    d.scrollIntoView({ block: 'center' });
    d.classList.add('flash');
    setTimeout(function () { d.classList.remove('flash'); }, 1500);
  });
  document.querySelectorAll('.filters input').forEach(function (box) {
    box.addEventListener('change', function () {
      var state = box.getAttribute('data-state');
      document.querySelectorAll('details.trial[data-state="' + state + '"]').forEach(function (d) {
        d.style.display = box.checked ? '' : 'none';
      });
    });
  });
  var live = document.getElementById('live');
  if (live) {
    var token = live.getAttribute('data-token');
    try {
      var y = sessionStorage.getItem('ps-scroll');
      var open = JSON.parse(sessionStorage.getItem('ps-open') || '[]');
      open.forEach(function (id) { var d = document.getElementById(id); if (d) d.open = true; });
      if (y !== null) window.scrollTo(0, parseFloat(y));
    } catch (err) {}
    setInterval(function () {
      fetch('state', { cache: 'no-store' }).then(function (r) { return r.text(); }).then(function (t) {
        live.textContent = 'live: up to date ' + new Date().toLocaleTimeString();
        if (t.trim() !== token) {
          sessionStorage.setItem('ps-scroll', String(window.scrollY));
          var ids = Array.prototype.map.call(document.querySelectorAll('details[open]'), function (d) { return d.id; });
          sessionStorage.setItem('ps-open', JSON.stringify(ids));
          location.reload();
        }
      }).catch(function () { live.textContent = 'live: server unreachable (is `paretosearch serve` still running?)'; });
    }, 2000);
  }
})();
"#;

/// The whole page.
pub fn page(input: &PageInput<'_>) -> String {
    let spec = input.spec;
    let trials = input.trials;
    let figs = Figures::compute(spec, trials, input.reference.clone());
    let s = &figs.summary;
    let mut h = String::with_capacity(256 * 1024);
    let title = format!("paretosearch: {}", spec.name);
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    h.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    h.push_str(&format!(
        "<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        esc(&title)
    ));
    let counts: Vec<String> = s.counts.iter().map(|(st, n)| format!("{n} {st}")).collect();
    h.push_str(&format!(
        "<header><h1>{}</h1><div class=\"meta\">{} ({}) · Pareto set: {} · hypervolume {} · storage <code>{}</code> · generated {}</div>{}</header>\n<main>\n",
        esc(&spec.name),
        esc(&crate::util::finished_of(s, spec.budget.trials)),
        esc(&if counts.is_empty() { "none yet".to_string() } else { counts.join(", ") }),
        s.pareto.len(),
        s.hypervolume.map(fmt_num).unwrap_or_else(|| "-".into()),
        esc(input.storage_url),
        humantime::format_rfc3339_seconds(std::time::SystemTime::now()),
        match &input.live {
            Some(t) => format!("<div id=\"live\" data-token=\"{}\">live: waiting for changes</div>", esc(t)),
            None => String::new(),
        }
    ));

    // Figures.
    h.push_str("<h2>Figures</h2>\n<div class=\"figures\">\n");
    for f in &figs.figures {
        h.push_str(&format!(
            "<figure id=\"fig-{}\">\n{}<figcaption>{}</figcaption></figure>\n",
            esc(&f.name),
            f.svg,
            esc(&f.title)
        ));
    }
    h.push_str("</div>\n<p class=\"note\">Hypervolume: minimised objectives, against the fixed reference point shown on its figure. Importance: PED-ANOVA (how differently each parameter is distributed in the best 10 % of COMPLETE trials than in all of them; sums to 1 per objective). Click a marker to open its trial.</p>\n");

    // The Pareto table.
    let params: Vec<&str> = spec
        .space
        .params()
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    h.push_str(&format!(
        "<h2>Pareto set ({} trials)</h2>\n",
        s.pareto.len()
    ));
    if s.pareto.is_empty() {
        h.push_str("<p class=\"note\">empty: no feasible COMPLETE trial yet</p>\n");
    } else {
        h.push_str("<table class=\"sortable\" id=\"pareto-table\"><thead><tr><th>#</th>");
        for o in spec.objectives.iter() {
            h.push_str(&format!(
                "<th>{} {}</th>",
                esc(&o.name),
                match o.direction {
                    paretosearch_core::Direction::Minimize => "↓",
                    paretosearch_core::Direction::Maximize => "↑",
                }
            ));
        }
        for p in &params {
            h.push_str(&format!("<th class=\"text\">{}</th>", esc(p)));
        }
        h.push_str("</tr></thead><tbody>\n");
        let mut idx = s.pareto.clone();
        idx.sort_by_key(|&i| trials[i].number);
        for i in idx {
            let t = &trials[i];
            h.push_str(&format!(
                "<tr data-trial=\"{}\"><td>{}</td>",
                t.number, t.number
            ));
            for o in spec.objectives.iter() {
                let v = t.values.get(&o.name).copied();
                h.push_str(&format!(
                    "<td data-v=\"{}\">{}</td>",
                    v.map(|v| v.to_string()).unwrap_or_default(),
                    v.map(fmt_num).unwrap_or_default()
                ));
            }
            for p in &params {
                let v = t.params.get(*p);
                let sort = v.and_then(|v| v.as_f64()).map(|x| x.to_string());
                h.push_str(&format!(
                    "<td class=\"text\"{}>{}</td>",
                    sort.map(|s| format!(" data-v=\"{s}\"")).unwrap_or_default(),
                    esc(&v.map(param_text).unwrap_or_else(|| "-".into()))
                ));
            }
            h.push_str("</tr>\n");
        }
        h.push_str("</tbody></table>\n");
    }

    // Every trial.
    h.push_str(&format!(
        "<h2>Trials ({})</h2>\n<div class=\"filters\">show: ",
        trials.len()
    ));
    for st in [
        TrialState::Complete,
        TrialState::Pruned,
        TrialState::Fail,
        TrialState::Running,
        TrialState::Waiting,
    ] {
        let n = s.counts.get(&st).copied().unwrap_or(0);
        h.push_str(&format!(
            "<label><input type=\"checkbox\" checked data-state=\"{}\"> {} ({n})</label>",
            st.as_str(),
            st.as_str()
        ));
    }
    h.push_str("</div>\n");
    let front: std::collections::HashSet<usize> = s.pareto.iter().copied().collect();
    for (i, t) in trials.iter().enumerate().rev() {
        let values: Vec<String> = spec
            .objectives
            .iter()
            .filter_map(|o| Some(format!("{} = {}", o.name, fmt_num(*t.values.get(&o.name)?))))
            .collect();
        h.push_str(&format!(
            "<details class=\"trial\" id=\"trial-{n}\" data-state=\"{st}\"><summary>trial {n} <span class=\"state {cls}\">{st}</span>{star} {vals}{dur}{reason}</summary>\n<div class=\"body\">",
            n = t.number,
            st = t.state.as_str(),
            cls = state_class(t.state),
            star = if front.contains(&i) { " ★ Pareto-optimal" } else { "" },
            vals = esc(&values.join(", ")),
            dur = t.duration_s().map(|d| format!(" · {d:.1} s")).unwrap_or_default(),
            reason = t
                .reason
                .as_ref()
                .map(|r| format!(" · <span class=\"reason\">{}</span>", esc(r)))
                .unwrap_or_default(),
        ));
        // Parameters and all values.
        h.push_str("<table><tbody>");
        for (k, v) in &t.params {
            h.push_str(&format!(
                "<tr><td class=\"text\">{}</td><td class=\"text\">{}</td></tr>",
                esc(k),
                esc(&param_text(v))
            ));
        }
        if t.params.is_empty() {
            h.push_str("<tr><td class=\"text\">no parameters yet</td></tr>");
        }
        for (k, v) in &t.values {
            h.push_str(&format!(
                "<tr><td class=\"text\"><b>{}</b></td><td>{}</td></tr>",
                esc(k),
                esc(&fmt_num(*v))
            ));
        }
        h.push_str("</tbody></table>");
        if !t.intermediate.is_empty() {
            h.push_str("<table class=\"intermediate\"><thead><tr><th>step</th>");
            let keys: std::collections::BTreeSet<&String> = t
                .intermediate
                .iter()
                .flat_map(|r| r.values.keys())
                .collect();
            for k in &keys {
                h.push_str(&format!("<th>{}</th>", esc(k)));
            }
            h.push_str("</tr></thead><tbody>");
            for r in &t.intermediate {
                h.push_str(&format!("<tr><td>{}</td>", r.step));
                for k in &keys {
                    h.push_str(&format!(
                        "<td>{}</td>",
                        r.values.get(*k).map(|v| fmt_num(*v)).unwrap_or_default()
                    ));
                }
                h.push_str("</tr>");
            }
            h.push_str("</tbody></table>");
        }
        let log = input.logs_dir.join(format!("trial-{:05}.log", t.number));
        if let Some(tail) = log_tail(&log, input.log_lines) {
            h.push_str(&format!(
                "<div><div class=\"note\">last {} lines of {}</div><pre class=\"log\">{}</pre></div>",
                input.log_lines,
                esc(&log.display().to_string()),
                esc(&tail)
            ));
        }
        h.push_str("</div></details>\n");
    }
    h.push_str(&format!(
        "</main>\n<script>{SCRIPT}</script>\n</body>\n</html>\n"
    ));
    h
}

/// Run `report`.
pub async fn report(args: ReportArgs) -> Result<ExitCode> {
    let loaded = study::load(&args.study.study, args.study.storage.as_deref()).await?;
    let reference = parse_reference(&loaded.spec, args.reference.as_deref())?;
    let record = loaded.existing_study().await?;
    let trials = loaded.store.trials(record.id).await?;
    let logs_dir = loaded.dir.join(format!("{}-logs", loaded.spec.name));
    let html = page(&PageInput {
        spec: &loaded.spec,
        storage_url: &loaded.storage_url,
        trials: &trials,
        logs_dir: &logs_dir,
        reference,
        log_lines: args.log_lines,
        live: None,
    });
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| loaded.dir.join(format!("{}-report.html", loaded.spec.name)));
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    std::fs::write(&out, html).with_context(|| format!("writing {}", out.display()))?;
    println!("{}", out.display());
    Ok(ExitCode::SUCCESS)
}
