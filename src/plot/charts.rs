//! The figures themselves (see the module above for what each shows).
//!
//! Every trial marker is an element with `class` = its [`Kind`] and
//! `data-trial` = its number, holding a `<title>` tooltip; the Pareto
//! front of a 2-objective study is additionally joined by a
//! `front-line` staircase. Tests and the report's script rely on these
//! names.

use paretosearch_core::{Direction, StudySpec};

use super::svg::{axes, colour, esc, n, Scale, Svg};
use super::{Figure, Figures, Kind, Point};
use crate::util::fmt_num;

/// All figures for a study.
pub fn all(spec: &StudySpec, figs: &Figures) -> Vec<Figure> {
    let m = spec.objectives.len();
    let mut out = Vec::new();
    match m {
        0 => {}
        1 => out.push(values_over_trials(spec, figs)),
        2 => out.push(pareto_2d(spec, figs)),
        _ => {
            out.push(scatter_matrix(spec, figs));
            out.push(parallel_coordinates(spec, figs));
        }
    }
    out.push(hypervolume(spec, figs));
    out.push(importance(figs));
    out
}

fn label(spec: &StudySpec, k: usize) -> String {
    let o = &spec.objectives.0[k];
    format!(
        "{} ({})",
        o.name,
        match o.direction {
            Direction::Minimize => "minimize",
            Direction::Maximize => "maximize",
        }
    )
}

fn kind_label(k: Kind) -> &'static str {
    match k {
        Kind::Front => "Pareto set",
        Kind::Dominated => "dominated",
        Kind::Infeasible => "infeasible",
        Kind::Pruned => "pruned",
        Kind::Failed => "failed",
    }
}

fn kind_colour(k: Kind) -> &'static str {
    match k {
        Kind::Front => colour::FRONT,
        Kind::Dominated => colour::DOMINATED,
        Kind::Infeasible => colour::INFEASIBLE,
        Kind::Pruned => colour::PRUNED,
        Kind::Failed => colour::FAILED,
    }
}

fn tooltip(spec: &StudySpec, p: &Point) -> String {
    let mut s = format!("trial {} ({})", p.number, kind_label(p.kind));
    for (o, v) in spec.objectives.iter().zip(&p.raw) {
        s.push_str(&format!("\n{} = {}", o.name, fmt_num(*v)));
    }
    s
}

/// One marker; `scale` shrinks it (scatter-matrix cells).
fn marker(svg: &mut Svg, p: &Point, x: f64, y: f64, scale: f64, tip: &str) {
    let head = format!(r#"class="{}" data-trial="{}""#, p.kind.class(), p.number);
    let title = format!("<title>{}</title>", esc(tip));
    let c = kind_colour(p.kind);
    let (x, y) = (n(x), n(y));
    let markup = match p.kind {
        Kind::Front => format!(
            r#"<circle {head} cx="{x}" cy="{y}" r="{}" fill="{c}" stroke="white" stroke-width="1">{title}</circle>"#,
            n(4.5 * scale)
        ),
        Kind::Dominated => format!(
            r#"<circle {head} cx="{x}" cy="{y}" r="{}" fill="{c}" fill-opacity="0.75">{title}</circle>"#,
            n(3.0 * scale)
        ),
        Kind::Infeasible => format!(
            r#"<circle {head} cx="{x}" cy="{y}" r="{}" fill="none" stroke="{c}" stroke-width="1.5">{title}</circle>"#,
            n(3.5 * scale)
        ),
        Kind::Pruned => {
            let h = 3.0 * scale;
            format!(
                r#"<rect {head} x="{}" y="{}" width="{}" height="{}" fill="{c}" fill-opacity="0.8" transform="translate({x} {y})">{title}</rect>"#,
                n(-h),
                n(-h),
                n(2.0 * h),
                n(2.0 * h)
            )
        }
        Kind::Failed => {
            let h = 3.5 * scale;
            format!(
                r#"<path {head} d="M{} {} L{} {} M{} {} L{} {}" stroke="{c}" stroke-width="1.8" fill="none" transform="translate({x} {y})">{title}</path>"#,
                n(-h),
                n(-h),
                n(h),
                n(h),
                n(-h),
                n(h),
                n(h),
                n(-h)
            )
        }
    };
    svg.raw(&markup);
}

/// Draw order: the Pareto set last, on top.
fn draw_order(points: &[Point]) -> Vec<&Point> {
    let rank = |k: Kind| match k {
        Kind::Dominated => 0,
        Kind::Infeasible => 1,
        Kind::Failed => 2,
        Kind::Pruned => 3,
        Kind::Front => 4,
    };
    let mut v: Vec<&Point> = points.iter().collect();
    v.sort_by_key(|p| (rank(p.kind), p.number));
    v
}

/// Legend entries with counts, in a column starting at (x, y).
fn legend(svg: &mut Svg, figs: &Figures, x: f64, y: f64) {
    let mut yy = y;
    svg.raw(r#"<g class="legend">"#);
    for k in [
        Kind::Front,
        Kind::Dominated,
        Kind::Infeasible,
        Kind::Pruned,
        Kind::Failed,
    ] {
        let count = figs.points.iter().filter(|p| p.kind == k).count();
        if count == 0 && k != Kind::Front {
            continue;
        }
        let c = kind_colour(k);
        let sample = match k {
            Kind::Infeasible => format!(
                r#"<circle cx="{}" cy="{}" r="3.5" fill="none" stroke="{c}" stroke-width="1.5"/>"#,
                n(x + 5.0),
                n(yy - 4.0)
            ),
            Kind::Pruned => format!(
                r#"<rect x="{}" y="{}" width="6" height="6" fill="{c}"/>"#,
                n(x + 2.0),
                n(yy - 7.0)
            ),
            Kind::Failed => format!(
                r#"<path d="M{} {} l7 7 m-7 0 l7 -7" stroke="{c}" stroke-width="1.8"/>"#,
                n(x + 1.5),
                n(yy - 7.5)
            ),
            _ => format!(
                r#"<circle cx="{}" cy="{}" r="4" fill="{c}"/>"#,
                n(x + 5.0),
                n(yy - 4.0)
            ),
        };
        svg.raw(&sample);
        svg.text(
            x + 15.0,
            yy,
            12.0,
            "start",
            &format!("{} ({count})", kind_label(k)),
        );
        yy += 18.0;
    }
    for (state, count) in &figs.unplotted {
        svg.text(
            x,
            yy,
            11.0,
            "start",
            &format!("{count} {} without values", state.as_str().to_lowercase()),
        );
        yy += 16.0;
    }
    svg.raw("</g>");
}

fn empty_note(svg: &mut Svg, x: f64, y: f64, text: &str) {
    svg.raw(&format!(
        r#"<text class="empty" x="{}" y="{}" font-size="14" text-anchor="middle" fill="{}">{}</text>"#,
        n(x),
        n(y),
        colour::DOMINATED,
        esc(text)
    ));
}

/// Two objectives: the scatter plot with the front's staircase.
fn pareto_2d(spec: &StudySpec, figs: &Figures) -> Figure {
    let (w, h) = (780.0, 500.0);
    let (left, right, top, bottom) = (78.0, 590.0, 44.0, 440.0);
    let mut svg = Svg::new(w, h);
    let x = Scale::fit_auto(figs.points.iter().map(|p| p.raw[0]), left, right);
    let y = Scale::fit_auto(figs.points.iter().map(|p| p.raw[1]), bottom, top);
    svg.title(
        left,
        26.0,
        16.0,
        "start",
        &format!("Pareto front of `{}`", spec.name),
    );
    axes(&mut svg, &x, &y, &label(spec, 0), &label(spec, 1), 13.0);
    if figs.points.is_empty() {
        empty_note(
            &mut svg,
            (left + right) / 2.0,
            (top + bottom) / 2.0,
            "no trial with values yet",
        );
    }
    // The attainment staircase, in the order of the first minimised objective.
    let mut front: Vec<&Point> = figs
        .points
        .iter()
        .filter(|p| p.kind == Kind::Front)
        .collect();
    let sign = |k: usize| match spec.objectives.0[k].direction {
        Direction::Minimize => 1.0,
        Direction::Maximize => -1.0,
    };
    front.sort_by(|a, b| (sign(0) * a.raw[0]).total_cmp(&(sign(0) * b.raw[0])));
    if front.len() > 1 {
        let mut d = format!("M{} {}", n(x.px(front[0].raw[0])), n(y.px(front[0].raw[1])));
        for pair in front.windows(2) {
            d.push_str(&format!(
                " L{} {} L{} {}",
                n(x.px(pair[1].raw[0])),
                n(y.px(pair[0].raw[1])),
                n(x.px(pair[1].raw[0])),
                n(y.px(pair[1].raw[1]))
            ));
        }
        svg.raw(&format!(
            r#"<path class="front-line" d="{d}" fill="none" stroke="{}" stroke-width="1.5" stroke-opacity="0.7"/>"#,
            colour::FRONT
        ));
    }
    for p in draw_order(&figs.points) {
        let tip = tooltip(spec, p);
        marker(&mut svg, p, x.px(p.raw[0]), y.px(p.raw[1]), 1.0, &tip);
    }
    legend(&mut svg, figs, right + 18.0, top + 12.0);
    Figure {
        name: "pareto".into(),
        title: "Pareto front".into(),
        svg: svg.finish(),
    }
}

/// One objective: its value per trial, the best trial highlighted.
fn values_over_trials(spec: &StudySpec, figs: &Figures) -> Figure {
    let (w, h) = (780.0, 500.0);
    let (left, right, top, bottom) = (78.0, 590.0, 44.0, 440.0);
    let mut svg = Svg::new(w, h);
    let x = Scale::fit(figs.points.iter().map(|p| p.number as f64), left, right);
    let y = Scale::fit_auto(figs.points.iter().map(|p| p.raw[0]), bottom, top);
    svg.title(
        left,
        26.0,
        16.0,
        "start",
        &format!("`{}`: objective per trial", spec.name),
    );
    axes(&mut svg, &x, &y, "trial", &label(spec, 0), 13.0);
    if figs.points.is_empty() {
        empty_note(
            &mut svg,
            (left + right) / 2.0,
            (top + bottom) / 2.0,
            "no trial with values yet",
        );
    }
    for p in draw_order(&figs.points) {
        let tip = tooltip(spec, p);
        marker(
            &mut svg,
            p,
            x.px(p.number as f64),
            y.px(p.raw[0]),
            1.0,
            &tip,
        );
    }
    legend(&mut svg, figs, right + 18.0, top + 12.0);
    Figure {
        name: "pareto".into(),
        title: "Objective per trial (best highlighted)".into(),
        svg: svg.finish(),
    }
}

/// Three or more objectives: every pair in a grid.
fn scatter_matrix(spec: &StudySpec, figs: &Figures) -> Figure {
    let m = spec.objectives.len();
    let cell = 170.0;
    let gap = 10.0;
    let (left, top) = (70.0, 44.0);
    let size = m as f64 * cell + (m - 1) as f64 * gap;
    let (w, h) = (left + size + 170.0, top + size + 50.0);
    let mut svg = Svg::new(w, h);
    svg.title(
        left,
        26.0,
        16.0,
        "start",
        &format!("Objectives of `{}`, pair by pair", spec.name),
    );
    let order = draw_order(&figs.points);
    // One scale per objective (log where it spans decades), shared by its
    // column (x) and its row (y).
    let fit =
        |k: usize, p0: f64, p1: f64| Scale::fit_auto(figs.points.iter().map(|p| p.raw[k]), p0, p1);
    for i in 0..m {
        for j in 0..m {
            let x0 = left + j as f64 * (cell + gap);
            let y0 = top + i as f64 * (cell + gap);
            let xs = fit(j, x0, x0 + cell);
            let ys = fit(i, y0 + cell, y0);
            // Every column's ticks under the bottom row and every row's
            // left of the first column, the diagonal cells' included.
            if i == m - 1 {
                let t = xs.ticks(3);
                let axis = format!("x:{}", spec.objectives.0[j].name);
                for &v in &t {
                    svg.tick(
                        xs.px(v),
                        y0 + cell + 14.0,
                        10.0,
                        "middle",
                        &axis,
                        &xs.label(v, &t),
                    );
                }
            }
            if j == 0 {
                let t = ys.ticks(3);
                let axis = format!("y:{}", spec.objectives.0[i].name);
                for &v in &t {
                    svg.tick(
                        x0 - 4.0,
                        ys.px(v) + 3.0,
                        10.0,
                        "end",
                        &axis,
                        &ys.label(v, &t),
                    );
                }
            }
            if i == j {
                svg.raw(&format!(
                    r##"<rect x="{}" y="{}" width="{}" height="{}" fill="#f6f7f9" stroke="{}"/>"##,
                    n(x0),
                    n(y0),
                    n(cell),
                    n(cell),
                    colour::INK
                ));
                let o = &spec.objectives.0[i];
                svg.title(
                    x0 + cell / 2.0,
                    y0 + cell / 2.0 - 4.0,
                    13.0,
                    "middle",
                    &o.name,
                );
                svg.text(
                    x0 + cell / 2.0,
                    y0 + cell / 2.0 + 14.0,
                    11.0,
                    "middle",
                    &format!(
                        "{}{}",
                        match o.direction {
                            Direction::Minimize => "minimize",
                            Direction::Maximize => "maximize",
                        },
                        if xs.log { ", log scale" } else { "" }
                    ),
                );
                continue;
            }
            svg.raw(&format!(
                r#"<g class="cell" data-x="{}" data-y="{}" data-x-scale="{}" data-y-scale="{}">"#,
                esc(&spec.objectives.0[j].name),
                esc(&spec.objectives.0[i].name),
                xs.kind(),
                ys.kind()
            ));
            svg.raw(&format!(
                r#"<rect x="{}" y="{}" width="{}" height="{}" fill="none" stroke="{}"/>"#,
                n(x0),
                n(y0),
                n(cell),
                n(cell),
                colour::INK
            ));
            for p in &order {
                let tip = tooltip(spec, p);
                marker(&mut svg, p, xs.px(p.raw[j]), ys.px(p.raw[i]), 0.7, &tip);
            }
            svg.raw("</g>");
        }
    }
    if figs.points.is_empty() {
        empty_note(
            &mut svg,
            left + size / 2.0,
            top + size / 2.0,
            "no trial with values yet",
        );
    }
    legend(&mut svg, figs, left + size + 18.0, top + 12.0);
    Figure {
        name: "scatter-matrix".into(),
        title: "Objectives pair by pair".into(),
        svg: svg.finish(),
    }
}

/// Three or more objectives: one vertical axis per objective, better up.
fn parallel_coordinates(spec: &StudySpec, figs: &Figures) -> Figure {
    let m = spec.objectives.len();
    let (left, top, bottom) = (70.0, 60.0, 420.0);
    let spacing = 170.0;
    let right = left + (m - 1) as f64 * spacing;
    let (w, h) = (right + 200.0, 480.0);
    let mut svg = Svg::new(w, h);
    svg.title(
        left - 40.0,
        26.0,
        16.0,
        "start",
        &format!("Parallel coordinates of `{}` (better is up)", spec.name),
    );
    let scales: Vec<Scale> = (0..m)
        .map(|k| {
            let (p0, p1) = match spec.objectives.0[k].direction {
                Direction::Minimize => (top, bottom),
                Direction::Maximize => (bottom, top),
            };
            Scale::fit_auto(figs.points.iter().map(|p| p.raw[k]), p0, p1)
        })
        .collect();
    let ax = |k: usize| left + k as f64 * spacing;
    for p in draw_order(&figs.points) {
        let pts: Vec<String> = (0..m)
            .map(|k| format!("{},{}", n(ax(k)), n(scales[k].px(p.raw[k]))))
            .collect();
        let (width, opacity) = match p.kind {
            Kind::Front => (2.0, 0.9),
            Kind::Dominated => (1.0, 0.35),
            _ => (1.2, 0.6),
        };
        svg.raw(&format!(
            r#"<polyline class="{}" data-trial="{}" points="{}" fill="none" stroke="{}" stroke-width="{}" stroke-opacity="{}"><title>{}</title></polyline>"#,
            p.kind.class(),
            p.number,
            pts.join(" "),
            kind_colour(p.kind),
            n(width),
            n(opacity),
            esc(&tooltip(spec, p))
        ));
    }
    for (k, s) in scales.iter().enumerate() {
        let x = ax(k);
        svg.line(x, top, x, bottom, colour::INK, 1.2);
        let t = s.ticks(5);
        let axis = format!("y:{}", spec.objectives.0[k].name);
        for &v in &t {
            svg.line(x - 3.0, s.px(v), x + 3.0, s.px(v), colour::INK, 1.0);
            svg.tick(x - 6.0, s.px(v) + 4.0, 10.0, "end", &axis, &s.label(v, &t));
        }
        svg.title(x, top - 14.0, 12.0, "middle", &spec.objectives.0[k].name);
        svg.text(
            x,
            bottom + 18.0,
            11.0,
            "middle",
            &format!(
                "{}{}",
                match spec.objectives.0[k].direction {
                    Direction::Minimize => "minimize",
                    Direction::Maximize => "maximize",
                },
                if s.log { ", log" } else { "" }
            ),
        );
    }
    if figs.points.is_empty() {
        empty_note(
            &mut svg,
            (left + right) / 2.0,
            (top + bottom) / 2.0,
            "no trial with values yet",
        );
    }
    legend(&mut svg, figs, right + 30.0, top + 12.0);
    Figure {
        name: "parallel".into(),
        title: "Parallel coordinates".into(),
        svg: svg.finish(),
    }
}

/// Hypervolume of the Pareto set after each trial.
fn hypervolume(spec: &StudySpec, figs: &Figures) -> Figure {
    let (w, h) = (780.0, 420.0);
    let (left, right, top, bottom) = (88.0, 740.0, 62.0, 360.0);
    let mut svg = Svg::new(w, h);
    svg.title(left, 26.0, 16.0, "start", "Hypervolume over trials");
    let sub = match &figs.reference {
        Some(r) => format!(
            "fixed reference point: {}",
            spec.objectives
                .iter()
                .zip(r)
                .map(|(o, v)| format!("{} = {}", o.name, fmt_num(*v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        None => "no feasible COMPLETE trial yet".into(),
    };
    svg.text(left, 46.0, 12.0, "start", &sub);
    let hv = &figs.hypervolume;
    let x = Scale::fit(hv.iter().map(|(t, _)| *t as f64), left, right);
    let y = Scale::fit(
        hv.iter().map(|(_, v)| *v).chain(std::iter::once(0.0)),
        bottom,
        top,
    );
    axes(&mut svg, &x, &y, "trial", "hypervolume", 13.0);
    if hv.is_empty() {
        empty_note(
            &mut svg,
            (left + right) / 2.0,
            (top + bottom) / 2.0,
            "nothing to show yet",
        );
    } else {
        let mut d = format!("M{} {}", n(x.px(hv[0].0 as f64)), n(y.px(hv[0].1)));
        for pair in hv.windows(2) {
            d.push_str(&format!(
                " L{} {} L{} {}",
                n(x.px(pair[1].0 as f64)),
                n(y.px(pair[0].1)),
                n(x.px(pair[1].0 as f64)),
                n(y.px(pair[1].1))
            ));
        }
        svg.raw(&format!(
            r#"<path class="hv-line" d="{d}" fill="none" stroke="{}" stroke-width="2"/>"#,
            colour::FRONT
        ));
        let (last_t, last_v) = hv[hv.len() - 1];
        svg.raw(&format!(
            r#"<circle class="hv-last" cx="{}" cy="{}" r="3.5" fill="{}"><title>after trial {last_t}: {}</title></circle>"#,
            n(x.px(last_t as f64)),
            n(y.px(last_v)),
            colour::FRONT,
            esc(&fmt_num(last_v))
        ));
    }
    Figure {
        name: "hypervolume".into(),
        title: "Hypervolume over trials".into(),
        svg: svg.finish(),
    }
}

/// Horizontal bars of PED-ANOVA importance, one panel per objective.
fn importance(figs: &Figures) -> Figure {
    let bar_h = 20.0;
    let label_w = 170.0;
    let bar_w = 420.0;
    let w = 40.0 + label_w + bar_w + 80.0;
    let heights: Vec<f64> = figs
        .importance
        .iter()
        .map(|(_, r)| match r {
            Ok(v) => 40.0 + v.len().max(1) as f64 * (bar_h + 6.0),
            Err(_) => 60.0,
        })
        .collect();
    let h = 70.0 + heights.iter().sum::<f64>();
    let mut svg = Svg::new(w, h);
    svg.title(
        20.0,
        26.0,
        16.0,
        "start",
        "Parameter importance (PED-ANOVA, top 10 % vs all)",
    );
    let mut y = 60.0;
    for ((objective, r), ph) in figs.importance.iter().zip(&heights) {
        svg.raw(&format!(
            r#"<g class="importance" data-objective="{}">"#,
            esc(objective)
        ));
        svg.title(20.0, y + 10.0, 13.0, "start", objective);
        match r {
            Err(e) => svg.text(40.0, y + 36.0, 12.0, "start", e),
            Ok(v) => {
                let mut yy = y + 26.0;
                for (param, imp) in v {
                    svg.text(20.0 + label_w, yy + bar_h * 0.7, 12.0, "end", param);
                    svg.raw(&format!(
                        r#"<rect class="importance-bar" data-param="{}" x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{}: {}</title></rect>"#,
                        esc(param),
                        n(30.0 + label_w),
                        n(yy),
                        n((imp * bar_w).max(0.5)),
                        n(bar_h),
                        colour::FRONT,
                        esc(param),
                        esc(&format!("{imp:.3}"))
                    ));
                    svg.text(
                        36.0 + label_w + imp * bar_w,
                        yy + bar_h * 0.7,
                        11.0,
                        "start",
                        &format!("{imp:.3}"),
                    );
                    yy += bar_h + 6.0;
                }
            }
        }
        svg.raw("</g>");
        y += ph;
    }
    Figure {
        name: "importance".into(),
        title: "Parameter importance".into(),
        svg: svg.finish(),
    }
}
