//! `paretosearch plot`: figures of a study as SVG (and PNG).
//!
//! Which figures:
//!
//! * **The Pareto front.** With two objectives, one scatter plot in the
//!   objectives' own units (maximised objectives are not flipped): the
//!   Pareto set as large blue dots joined by its attainment staircase,
//!   dominated trials grey, infeasible ones (a violated `constraint`)
//!   orange rings, pruned trials purple squares (at their last reported
//!   values), failed trials that reported values red crosses. With three or
//!   more, a scatter matrix (every pair of objectives) and parallel
//!   coordinates (one vertical axis per objective, one line per trial).
//! * **Hypervolume over trials.** After each trial number `n`, the
//!   hypervolume of the Pareto set of the feasible COMPLETE trials numbered
//!   `≤ n`, in the minimised space, against **one fixed reference point**:
//!   `--reference` if given (raw objective values, in objective order),
//!   else the study's fixed reference (`paretosearch::reference`: declared
//!   in `[hypervolume]`, or frozen from the first feasible trials), the one
//!   `status` uses. The curve therefore never decreases, and its last value
//!   is the hypervolume `paretosearch status` prints.
//! * **Parameter importance per objective**, by PED-ANOVA
//!   ([`importance`]).
//!
//! The figures are computed once ([`Figures::compute`]) and shared by
//! `plot`, `report` and `serve`.

pub mod charts;
pub mod importance;
pub mod svg;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use paretosearch_core::pareto::{self, ParetoFront};
use paretosearch_core::{Direction, StudySpec, Trial, TrialState};
use serde_json::json;

use crate::cli::PlotArgs;
use crate::util::{summarize, Summary};
use crate::{study, BadInput};

/// What a plotted trial is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// In the Pareto set.
    Front,
    /// Feasible, COMPLETE, dominated.
    Dominated,
    /// COMPLETE but violating a constraint.
    Infeasible,
    /// PRUNED, at its last values.
    Pruned,
    /// FAIL with values.
    Failed,
}

impl Kind {
    /// CSS class / legend key.
    pub fn class(self) -> &'static str {
        match self {
            Kind::Front => "front",
            Kind::Dominated => "dominated",
            Kind::Infeasible => "infeasible",
            Kind::Pruned => "pruned",
            Kind::Failed => "failed",
        }
    }
}

/// A trial with a value for every objective.
#[derive(Clone, Debug)]
pub struct Point {
    /// Trial number.
    pub number: u64,
    /// Raw objective values, in objective order.
    pub raw: Vec<f64>,
    /// What it is.
    pub kind: Kind,
}

/// Importances of one objective, `(parameter, importance)` largest
/// first, or why none could be computed.
pub type Importance = std::result::Result<Vec<(String, f64)>, String>;

/// One figure.
#[derive(Clone, Debug)]
pub struct Figure {
    /// File stem (`pareto`, `hypervolume` ...).
    pub name: String,
    /// Caption.
    pub title: String,
    /// The SVG document.
    pub svg: String,
}

/// Everything derived from a study for the figures.
pub struct Figures {
    /// The summary (`status`'s view).
    pub summary: Summary,
    /// Plottable trials.
    pub points: Vec<Point>,
    /// Trials that could not be plotted (no complete set of values), by state.
    pub unplotted: Vec<(TrialState, usize)>,
    /// Hypervolume reference point, raw objective values.
    pub reference: Option<Vec<f64>>,
    /// `(trial number, hypervolume so far)` for every finished trial.
    pub hypervolume: Vec<(u64, f64)>,
    /// Per objective, `(parameter, importance)` sorted by importance, or why not.
    pub importance: Vec<(String, Importance)>,
    /// The figures.
    pub figures: Vec<Figure>,
}

impl Figures {
    /// Compute points, hypervolume history, importances and all figures.
    /// `reference` is raw (objective units), as `--reference` gives it.
    pub fn compute(spec: &StudySpec, trials: &[Trial], reference: Option<Vec<f64>>) -> Figures {
        let mut fig = Figures::analyse(spec, trials, reference);
        fig.figures = charts::all(spec, &fig);
        fig
    }

    /// Everything [`Figures::compute`] computes but the figures themselves
    /// (the interactive page draws its own).
    pub fn analyse(spec: &StudySpec, trials: &[Trial], reference: Option<Vec<f64>>) -> Figures {
        let objectives = &spec.objectives;
        let summary = summarize(trials, objectives);
        let front: std::collections::HashSet<usize> = summary.pareto.iter().copied().collect();
        let mut points = Vec::new();
        let mut unplotted = std::collections::BTreeMap::<TrialState, usize>::new();
        for (i, t) in trials.iter().enumerate() {
            if !t.state.is_finished() {
                continue;
            }
            let raw = objectives.raw(&t.values).or_else(|| {
                // A pruned (or failed) trial: its last complete report.
                t.intermediate
                    .iter()
                    .rev()
                    .find_map(|r| objectives.raw(&r.values))
            });
            let Some(raw) = raw.filter(|r| r.iter().all(|v| v.is_finite())) else {
                *unplotted.entry(t.state).or_default() += 1;
                continue;
            };
            let kind = match t.state {
                TrialState::Complete if objectives.violation(&t.values) > 0.0 => Kind::Infeasible,
                TrialState::Complete if front.contains(&i) => Kind::Front,
                TrialState::Complete => Kind::Dominated,
                TrialState::Pruned => Kind::Pruned,
                _ => Kind::Failed,
            };
            points.push(Point {
                number: t.number,
                raw,
                kind,
            });
        }

        // The fixed reference point, minimised.
        let flip = |raw: &[f64]| -> Vec<f64> {
            raw.iter()
                .zip(objectives.iter())
                .map(|(v, o)| match o.direction {
                    Direction::Minimize => *v,
                    Direction::Maximize => -*v,
                })
                .collect()
        };
        let feasible: Vec<&Point> = points
            .iter()
            .filter(|p| matches!(p.kind, Kind::Front | Kind::Dominated))
            .collect();
        let reference_min = match &reference {
            Some(r) => Some(flip(r)),
            None if !feasible.is_empty() => Some(pareto::nadir_reference(
                &feasible.iter().map(|p| flip(&p.raw)).collect::<Vec<_>>(),
            )),
            None => None,
        };
        let mut hypervolume = Vec::new();
        if let Some(r) = &reference_min {
            let mut archive = ParetoFront::new();
            let mut hv = 0.0;
            let mut by_number: Vec<&Point> = feasible.clone();
            by_number.sort_by_key(|p| p.number);
            let mut k = 0;
            let mut finished: Vec<u64> = trials
                .iter()
                .filter(|t| t.state.is_finished())
                .map(|t| t.number)
                .collect();
            finished.sort_unstable();
            for number in finished {
                let mut changed = false;
                while k < by_number.len() && by_number[k].number <= number {
                    let m = flip(&by_number[k].raw);
                    if m.iter().zip(r).all(|(a, b)| a < b) {
                        changed |= archive.insert(by_number[k].number, m);
                    }
                    k += 1;
                }
                if changed {
                    hv = archive.hypervolume(r);
                }
                hypervolume.push((number, hv));
            }
        }
        let reference_raw = reference_min.as_ref().map(|r| flip(r));

        let importance = objectives
            .iter()
            .map(|o| {
                (
                    o.name.clone(),
                    importance::ped_anova(spec, trials, &o.name, importance::TOP_QUANTILE),
                )
            })
            .collect::<Vec<_>>();

        Figures {
            summary,
            points,
            unplotted: unplotted.into_iter().collect(),
            reference: reference_raw,
            hypervolume,
            importance,
            figures: Vec::new(),
        }
    }
}

/// Parse `--reference`.
pub fn parse_reference(spec: &StudySpec, text: Option<&str>) -> Result<Option<Vec<f64>>> {
    let Some(text) = text else { return Ok(None) };
    let vals: Vec<f64> = text
        .split(',')
        .map(|s| s.trim().parse::<f64>())
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| BadInput(format!("--reference `{text}`: {e} (fix: give numbers separated by commas, e.g. --reference 1.1,1.1)")))?;
    if vals.len() != spec.objectives.len() || vals.iter().any(|v| !v.is_finite()) {
        return Err(BadInput(format!(
            "--reference needs {} finite value(s), one per objective in order ({}); got `{text}`",
            spec.objectives.len(),
            spec.objectives.names().join(", ")
        ))
        .into());
    }
    Ok(Some(vals))
}

/// Rasterise an SVG document to PNG at `scale` times its size.
pub fn png(svg: &str, scale: f32) -> Result<Vec<u8>> {
    use resvg::{tiny_skia, usvg};
    static FONTS: std::sync::OnceLock<std::sync::Arc<usvg::fontdb::Database>> =
        std::sync::OnceLock::new();
    let fonts = FONTS.get_or_init(|| {
        let mut db = usvg::fontdb::Database::new();
        db.load_system_fonts();
        std::sync::Arc::new(db)
    });
    let opt = usvg::Options {
        fontdb: fonts.clone(),
        ..usvg::Options::default()
    };
    let tree = usvg::Tree::from_str(svg, &opt).context("parsing the SVG to rasterise it")?;
    let size = tree
        .size()
        .to_int_size()
        .scale_by(scale)
        .context("empty figure")?;
    let mut pixmap =
        tiny_skia::Pixmap::new(size.width(), size.height()).context("allocating the image")?;
    resvg::render(
        &tree,
        tiny_skia::Transform::from_scale(scale, scale),
        &mut pixmap.as_mut(),
    );
    pixmap.encode_png().context("encoding PNG")
}

/// Write the figures into `dir`; returns the paths written.
pub fn write_figures(figures: &[Figure], dir: &Path, with_png: bool) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut written = Vec::new();
    for f in figures {
        let p = dir.join(format!("{}.svg", f.name));
        std::fs::write(&p, &f.svg).with_context(|| format!("writing {}", p.display()))?;
        written.push(p);
        if with_png {
            let p = dir.join(format!("{}.png", f.name));
            let bytes = png(&f.svg, 2.0).with_context(|| format!("rendering {}", p.display()))?;
            std::fs::write(&p, bytes).with_context(|| format!("writing {}", p.display()))?;
            written.push(p);
        }
    }
    Ok(written)
}

/// Run `plot`.
pub async fn plot(args: PlotArgs) -> Result<ExitCode> {
    let loaded = study::load(&args.study.study, args.study.storage.as_deref()).await?;
    let given = crate::report::reference_of(&loaded.spec, args.reference.as_deref())?;
    let record = loaded.existing_study().await?;
    let trials = loaded.store.trials(record.id).await?;
    let stored = paretosearch::reference::stored(&record.spec_json, &loaded.spec.objectives);
    let reference = given.resolve(&loaded.spec, stored.as_ref(), &trials);
    let figs = Figures::compute(&loaded.spec, &trials, reference.raw.clone());
    let dir = args
        .out
        .clone()
        .unwrap_or_else(|| loaded.dir.join(format!("{}-plots", loaded.spec.name)));
    let written = write_figures(&figs.figures, &dir, !args.no_png)?;
    if args.json {
        let out = json!({
            "study": loaded.spec.name,
            "files": written.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
            "figures": figs.figures.iter().map(|f| json!({"name": f.name, "title": f.title})).collect::<Vec<_>>(),
            "pareto": figs.summary.pareto.iter().map(|&i| trials[i].number).collect::<Vec<_>>(),
            "reference": figs.reference,
            "reference_source": reference.source,
            "hypervolume": figs.hypervolume.iter().map(|(n, h)| json!({"trial": n, "hypervolume": h})).collect::<Vec<_>>(),
            "importance": figs.importance.iter().map(|(o, r)| (o.clone(), match r {
                Ok(v) => json!(v.iter().map(|(p, x)| (p.clone(), json!(x))).collect::<serde_json::Map<_, _>>()),
                Err(e) => json!({"error": e}),
            })).collect::<serde_json::Map<_, _>>(),
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        for p in &written {
            println!("{}", p.display());
        }
        eprintln!(
            "wrote {} file(s) to {} ({} trials, Pareto set of {})",
            written.len(),
            dir.display(),
            trials.len(),
            figs.summary.pareto.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}
