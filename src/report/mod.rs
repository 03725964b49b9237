//! `paretosearch report` and `paretosearch serve`: one interactive
//! application about a study.
//!
//! The page is the same in both: the style sheet, Apache ECharts (vendored
//! in `web/vendor/`, Apache-2.0) and the application's script (`web/*.js`)
//! are compiled into the binary and written inline, so the page needs
//! nothing from the network. `report` embeds the study ([`data`]) in a
//! `<script type="application/json">` block, escaped so that nothing a user
//! wrote can end it, and writes one self-contained offline file; `serve`
//! ([`serve`]) leaves the block empty, and the page fetches `data.json`
//! from its server and polls `state` to redraw when the study changes.
//! The views (Pareto front in 2-D and 3-D, objective histories,
//! hypervolume, parallel coordinates, slices, importance, learning curves,
//! timeline, the table with its detail pane, other studies' fronts) are
//! described in web/app.js.

pub mod data;
pub mod serve;

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use paretosearch_core::{StudySpec, Trial, TrialState};

use crate::cli::ReportArgs;
use crate::plot::parse_reference;
use crate::plot::svg::esc;
use crate::study;

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

/// The page's assets, compiled in: (file, text), in load order.
const SCRIPTS: [(&str, &str); 5] = [
    (
        "web/vendor/echarts.min.js",
        include_str!("../../web/vendor/echarts.min.js"),
    ),
    ("web/app.js", include_str!("../../web/app.js")),
    ("web/charts.js", include_str!("../../web/charts.js")),
    ("web/panels.js", include_str!("../../web/panels.js")),
    ("web/table.js", include_str!("../../web/table.js")),
];
const STYLE: &str = include_str!("../../web/app.css");

/// The page: `data` embedded (a report) or `None` (the live page, which
/// fetches `data.json`).
pub fn page(title: &str, data: Option<&serde_json::Value>) -> String {
    let mut h = String::with_capacity(1_400_000);
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    h.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    h.push_str(&format!(
        "<title>paretosearch: {}</title>\n<style>{STYLE}</style>\n</head>\n",
        esc(title)
    ));
    h.push_str(&format!(
        "<body data-live=\"{}\">\n<header><h1 id=\"title\">{}</h1><div class=\"meta\"><span id=\"meta\">loading…</span><span id=\"live\"></span></div></header>\n",
        if data.is_none() { "1" } else { "0" },
        esc(title)
    ));
    h.push_str("<noscript>This page draws its figures with JavaScript; enable it, or use `paretosearch plot` for static figures.</noscript>\n");
    h.push_str("<div class=\"toolbar\" id=\"toolbar\"></div>\n<main id=\"views\"></main>\n");
    h.push_str("<script type=\"application/json\" id=\"ps-data\">");
    if let Some(d) = data {
        h.push_str(&data::embeddable(d));
    }
    h.push_str("</script>\n");
    for (_, js) in SCRIPTS {
        h.push_str("<script>");
        h.push_str(js);
        h.push_str("</script>\n");
    }
    h.push_str("<script>PS.start();</script>\n</body>\n</html>\n");
    h
}

/// The document the page draws: this study and the others of its storage.
pub async fn page_data(
    store: &dyn paretosearch_store::Store,
    spec: &StudySpec,
    storage_url: &str,
    trials: &[Trial],
    logs: &data::Logs<'_>,
    reference: &data::Reference,
    live: Option<&str>,
) -> Result<serde_json::Value> {
    let stored = match store.find_study(&spec.name).await? {
        Some(rec) => paretosearch::reference::stored(&rec.spec_json, &spec.objectives),
        None => None,
    };
    let reference = reference.resolve(spec, stored.as_ref(), trials);
    let names = spec.objectives.names();
    let mut others = Vec::new();
    for rec in store.list_studies().await? {
        if rec.name == spec.name {
            continue;
        }
        let ts = store.trials(rec.id).await?;
        others.push(data::other_json(&rec.spec_json, &rec.name, &names, &ts));
    }
    Ok(serde_json::json!({
        "version": 1,
        "generated": humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        "live": live.is_some(),
        "token": live,
        "study": data::study_json(spec, storage_url, trials, logs, &reference),
        "others": others,
    }))
}

/// Run `report`.
pub async fn report(args: ReportArgs) -> Result<ExitCode> {
    let loaded = study::load(&args.study.study, args.study.storage.as_deref()).await?;
    let reference = reference_of(&loaded.spec, args.reference.as_deref())?;
    let record = loaded.existing_study().await?;
    let trials = loaded.store.trials(record.id).await?;
    let logs_dir = loaded.dir.join(format!("{}-logs", loaded.spec.name));
    let data = page_data(
        loaded.store.as_ref(),
        &loaded.spec,
        &paretosearch::mask_url(&loaded.storage_url),
        &trials,
        &data::Logs {
            dir: &logs_dir,
            lines: args.log_lines,
            budget: args.log_budget * 1024,
        },
        &reference,
        None,
    )
    .await?;
    let html = page(&loaded.spec.name, Some(&data));
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

/// The hypervolume reference `--reference` gives, checked; without it
/// the page uses the study's ([`data::Reference::resolve`]).
pub fn reference_of(spec: &StudySpec, text: Option<&str>) -> Result<data::Reference> {
    let raw = parse_reference(spec, text)?;
    let source = match &raw {
        Some(_) => "reference given by --reference".to_string(),
        None => String::new(),
    };
    Ok(data::Reference { raw, source })
}

#[cfg(test)]
mod tests {
    use super::SCRIPTS;

    /// The assets are written inline: none may end its script block.
    #[test]
    fn no_asset_closes_its_script_block() {
        for (file, text) in SCRIPTS {
            assert!(!text.to_ascii_lowercase().contains("</script"), "{file}");
            assert!(!text.contains("<!--"), "{file}");
        }
    }
}
