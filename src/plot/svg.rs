//! A small SVG writer: documents, linear and log scales, axes with "nice"
//! ticks. A scale is logarithmic ([`Scale::fit_auto`]) when its values are
//! positive and span [`LOG_DECADES`] decades or more; tick labels carry
//! `class="tick"` and a `data-axis` naming the axis, and each plot area
//! says which kind of scale each axis has (`data-x-scale`, `data-y-scale`).
//!
//! The figures are written by hand rather than through a plotting crate
//! because the report needs semantic markup that plotting crates do not
//! emit: every marker carries a class naming what it is (`front`,
//! `dominated`, `pruned` ...), a `data-trial` attribute the HTML report's
//! script uses to jump to the trial, and a `<title>` that browsers show as a
//! tooltip. Colours are presentation attributes, not CSS, so that the PNG
//! rasteriser (resvg) and every browser render the same picture.

/// Colours of the trial kinds, shared by all figures.
pub mod colour {
    /// Pareto-optimal trials.
    pub const FRONT: &str = "#1f6fd1";
    /// Dominated feasible trials.
    pub const DOMINATED: &str = "#9aa3ad";
    /// Infeasible (constraint-violating) trials.
    pub const INFEASIBLE: &str = "#e07b00";
    /// Pruned trials.
    pub const PRUNED: &str = "#8e44ad";
    /// Failed trials.
    pub const FAILED: &str = "#c0392b";
    /// Axes, text.
    pub const INK: &str = "#222222";
    /// Grid lines.
    pub const GRID: &str = "#e6e8eb";
}

/// Escape text for XML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A number formatted for SVG coordinates (two decimals, no trailing zeros).
pub fn n(x: f64) -> String {
    let s = format!("{x:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.to_string()
    }
}

/// An SVG document being written.
pub struct Svg {
    body: String,
    width: f64,
    height: f64,
}

impl Svg {
    /// A blank white canvas of the given size (user units = pixels).
    pub fn new(width: f64, height: f64) -> Svg {
        let mut s = Svg {
            body: String::new(),
            width,
            height,
        };
        s.raw(&format!(
            r#"<rect class="background" x="0" y="0" width="{}" height="{}" fill="white"/>"#,
            n(width),
            n(height)
        ));
        s
    }

    /// Append raw markup (the caller escapes text).
    pub fn raw(&mut self, markup: &str) {
        self.body.push_str(markup);
        self.body.push('\n');
    }

    /// Text at (x, y); `anchor` is `start`, `middle` or `end`.
    pub fn text(&mut self, x: f64, y: f64, size: f64, anchor: &str, text: &str) {
        self.raw(&format!(
            r#"<text x="{}" y="{}" font-size="{}" text-anchor="{anchor}" fill="{}">{}</text>"#,
            n(x),
            n(y),
            n(size),
            colour::INK,
            esc(text)
        ));
    }

    /// A tick label of the axis `axis` (`x`, `y`, or `x:name` in a grid of
    /// plots): `<text class="tick" data-axis="...">`.
    pub fn tick(&mut self, x: f64, y: f64, size: f64, anchor: &str, axis: &str, text: &str) {
        self.raw(&format!(
            r#"<text class="tick" data-axis="{}" x="{}" y="{}" font-size="{}" text-anchor="{anchor}" fill="{}">{}</text>"#,
            esc(axis),
            n(x),
            n(y),
            n(size),
            colour::INK,
            esc(text)
        ));
    }

    /// Bold text.
    pub fn title(&mut self, x: f64, y: f64, size: f64, anchor: &str, text: &str) {
        self.raw(&format!(
            r#"<text class="title" x="{}" y="{}" font-size="{}" font-weight="bold" text-anchor="{anchor}" fill="{}">{}</text>"#,
            n(x),
            n(y),
            n(size),
            colour::INK,
            esc(text)
        ));
    }

    /// Text rotated by -90° around (x, y) (vertical axis labels).
    pub fn vtext(&mut self, x: f64, y: f64, size: f64, text: &str) {
        self.raw(&format!(
            r#"<text x="{x}" y="{y}" font-size="{}" text-anchor="middle" fill="{}" transform="rotate(-90 {x} {y})">{}</text>"#,
            n(size),
            colour::INK,
            esc(text),
            x = n(x),
            y = n(y),
        ));
    }

    /// A line segment.
    pub fn line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, stroke: &str, width: f64) {
        self.raw(&format!(
            r#"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{stroke}" stroke-width="{}"/>"#,
            n(x1),
            n(y1),
            n(x2),
            n(y2),
            n(width)
        ));
    }

    /// Close the document.
    pub fn finish(self) -> String {
        format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n{}</svg>\n",
            self.body,
            w = n(self.width),
            h = n(self.height),
        )
    }
}

/// Values spanning this many decades (max / min ≥ 10^LOG_DECADES, all
/// positive) get a log axis.
pub const LOG_DECADES: f64 = 2.0;

/// A linear or logarithmic map from data to pixels.
#[derive(Clone, Copy, Debug)]
pub struct Scale {
    /// Data interval.
    pub lo: f64,
    /// Data interval.
    pub hi: f64,
    /// Pixel interval (`p0` is where `lo` lands; may exceed `p1`).
    pub p0: f64,
    /// Pixel interval.
    pub p1: f64,
    /// Logarithmic (base 10): `lo` and `hi` are then positive.
    pub log: bool,
}

impl Scale {
    /// A scale over `values` (padded by 5 % on each side; a degenerate
    /// range is widened to ±0.5, or ±5 % of the value).
    pub fn fit(values: impl IntoIterator<Item = f64>, p0: f64, p1: f64) -> Scale {
        let (mut lo, mut hi) = values
            .into_iter()
            .filter(|v| v.is_finite())
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                (lo.min(v), hi.max(v))
            });
        if !lo.is_finite() {
            lo = 0.0;
            hi = 1.0;
        } else if hi - lo <= f64::EPSILON * lo.abs().max(1.0) {
            let pad = if lo == 0.0 { 0.5 } else { 0.05 * lo.abs() };
            lo -= pad;
            hi += pad;
        } else {
            let pad = 0.05 * (hi - lo);
            lo -= pad;
            hi += pad;
        }
        Scale {
            lo,
            hi,
            p0,
            p1,
            log: false,
        }
    }

    /// A log scale when the finite `values` are all positive and span
    /// [`LOG_DECADES`] decades or more (padded by 5 % of the log range),
    /// else [`Scale::fit`].
    pub fn fit_auto(values: impl IntoIterator<Item = f64>, p0: f64, p1: f64) -> Scale {
        let values: Vec<f64> = values.into_iter().filter(|v| v.is_finite()).collect();
        let (lo, hi) = values
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
                (lo.min(v), hi.max(v))
            });
        if values.is_empty() || lo <= 0.0 || (hi / lo).log10() < LOG_DECADES {
            return Scale::fit(values, p0, p1);
        }
        let pad = 0.05 * (hi / lo).log10();
        Scale {
            lo: 10f64.powf(lo.log10() - pad),
            hi: 10f64.powf(hi.log10() + pad),
            p0,
            p1,
            log: true,
        }
    }

    /// `log` or `linear`.
    pub fn kind(&self) -> &'static str {
        if self.log {
            "log"
        } else {
            "linear"
        }
    }

    /// Pixel of a data value.
    pub fn px(&self, v: f64) -> f64 {
        let f = if self.log {
            (v.log10() - self.lo.log10()) / (self.hi.log10() - self.lo.log10())
        } else {
            (v - self.lo) / (self.hi - self.lo)
        };
        self.p0 + f * (self.p1 - self.p0)
    }

    /// About `count` round tick values inside the data interval (at least
    /// two on a linear scale): on a log
    /// scale the powers of ten, with 2 and 5 times them when there are
    /// fewer than three.
    pub fn ticks(&self, count: usize) -> Vec<f64> {
        if !self.log {
            // At least two labels, so the axis can be read.
            let mut c = count.max(1);
            let mut t = nice_ticks(self.lo, self.hi, c);
            while t.len() < 2 && c < 64 {
                c *= 2;
                t = nice_ticks(self.lo, self.hi, c);
            }
            return t;
        }
        let (a, b) = (
            self.lo.log10().ceil() as i32,
            self.hi.log10().floor() as i32,
        );
        let powers: Vec<f64> = (a..=b).map(|e| 10f64.powi(e)).collect();
        if powers.len() >= 3 {
            return powers;
        }
        let (a, b) = (
            self.lo.log10().floor() as i32,
            self.hi.log10().ceil() as i32,
        );
        (a..=b)
            .flat_map(|e| [1.0, 2.0, 5.0].map(|m| m * 10f64.powi(e)))
            .filter(|v| (self.lo..=self.hi).contains(v))
            .collect()
    }

    /// The label of tick `v` among `ticks`.
    pub fn label(&self, v: f64, ticks: &[f64]) -> String {
        if !self.log {
            return tick_label(v, ticks);
        }
        if (1e-3..1e5).contains(&v) {
            let s = format!("{v:.3}");
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            format!("{v:e}")
        }
    }
}

/// Round tick values (steps of 1, 2 or 5 times a power of ten) covering
/// `[lo, hi]`, about `count` of them.
pub fn nice_ticks(lo: f64, hi: f64, count: usize) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo {
        return vec![];
    }
    let raw = (hi - lo) / count.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last).map(|k| k as f64 * step).collect()
}

/// A tick label: compact, with as many decimals as the tick step needs.
pub fn tick_label(v: f64, ticks: &[f64]) -> String {
    let step = if ticks.len() >= 2 {
        (ticks[1] - ticks[0]).abs()
    } else {
        v.abs().max(1.0)
    };
    let a = v.abs().max(step);
    if a != 0.0 && !(1e-3..1e6).contains(&a) {
        return format!("{v:.1e}");
    }
    let decimals = (-step.log10().floor()).max(0.0) as usize;
    format!("{v:.decimals$}")
}

/// Draw the frame, grid, ticks and labels of a rectangular plot area.
pub fn axes(svg: &mut Svg, x: &Scale, y: &Scale, xlabel: &str, ylabel: &str, size: f64) {
    let (left, right) = (x.p0.min(x.p1), x.p0.max(x.p1));
    let (top, bottom) = (y.p0.min(y.p1), y.p0.max(y.p1));
    let xt = x.ticks(6);
    let yt = y.ticks(5);
    svg.raw(&format!(
        r#"<g class="axes" data-x-scale="{}" data-y-scale="{}">"#,
        x.kind(),
        y.kind()
    ));
    for &t in &xt {
        let px = x.px(t);
        svg.line(px, top, px, bottom, colour::GRID, 1.0);
        svg.line(px, bottom, px, bottom + 4.0, colour::INK, 1.0);
        svg.tick(
            px,
            bottom + 4.0 + size,
            size * 0.85,
            "middle",
            "x",
            &x.label(t, &xt),
        );
    }
    for &t in &yt {
        let py = y.px(t);
        svg.line(left, py, right, py, colour::GRID, 1.0);
        svg.line(left - 4.0, py, left, py, colour::INK, 1.0);
        svg.tick(
            left - 6.0,
            py + size * 0.3,
            size * 0.85,
            "end",
            "y",
            &y.label(t, &yt),
        );
    }
    svg.raw(&format!(
        r#"<rect x="{}" y="{}" width="{}" height="{}" fill="none" stroke="{}" stroke-width="1"/>"#,
        n(left),
        n(top),
        n(right - left),
        n(bottom - top),
        colour::INK
    ));
    if !xlabel.is_empty() {
        svg.text(
            (left + right) / 2.0,
            bottom + 2.4 * size + 6.0,
            size,
            "middle",
            xlabel,
        );
    }
    if !ylabel.is_empty() {
        svg.vtext(left - 3.6 * size - 6.0, (top + bottom) / 2.0, size, ylabel);
    }
    svg.raw("</g>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_inside() {
        let t = nice_ticks(0.03, 0.97, 5);
        assert_eq!(t.len(), 4, "{t:?}"); // step 0.2: 0.2 .. 0.8
        assert!((t[0] - 0.2).abs() < 1e-12);
        assert!(t.iter().all(|v| (0.03..=0.97).contains(v)));
        assert!(nice_ticks(1.0, 1.0, 5).is_empty());
        assert_eq!(tick_label(0.2, &t), "0.2");
        assert_eq!(tick_label(1500.0, &[1000.0, 2000.0]), "1500");
    }

    #[test]
    fn scale_maps_ends_and_handles_degenerate_data() {
        let s = Scale::fit([0.0, 10.0], 100.0, 200.0);
        assert!(s.px(-0.5) - 100.0 < 1e-9);
        assert!((s.px(10.5) - 200.0).abs() < 1e-9);
        let d = Scale::fit([3.0, 3.0], 0.0, 1.0);
        assert!(d.lo < 3.0 && d.hi > 3.0);
        let e = Scale::fit(std::iter::empty(), 0.0, 1.0);
        assert_eq!((e.lo, e.hi), (0.0, 1.0));
    }

    #[test]
    fn log_scale_for_three_decades_only() {
        let s = Scale::fit_auto([0.5, 40.0, 600.0], 0.0, 100.0);
        assert!(s.log);
        assert_eq!(s.ticks(5), vec![1.0, 10.0, 100.0]);
        assert_eq!(s.label(1000.0, &[]), "1000");
        assert_eq!(s.label(1e6, &[]), "1e6");
        // Equal ratios, equal distances.
        assert!(((s.px(10.0) - s.px(1.0)) - (s.px(100.0) - s.px(10.0))).abs() < 1e-9);
        assert!(!Scale::fit_auto([1.0, 50.0], 0.0, 100.0).log);
        assert!(!Scale::fit_auto([-1.0, 500.0], 0.0, 100.0).log);
        // Two decades: 1, 2, 5 per decade.
        let s = Scale::fit_auto([3.0, 300.0], 0.0, 100.0);
        assert_eq!(s.ticks(5), vec![5.0, 10.0, 20.0, 50.0, 100.0, 200.0]);
        // A linear range whose round step leaves one tick gets a finer one.
        let s = Scale::fit([12.0, 80.0], 0.0, 100.0);
        assert_eq!(nice_ticks(s.lo, s.hi, 3), vec![50.0]);
        assert_eq!(s.ticks(3), vec![20.0, 40.0, 60.0, 80.0]);
    }

    #[test]
    fn escaping() {
        assert_eq!(esc("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
        assert_eq!(n(1.0), "1");
        assert_eq!(n(-0.001), "0");
    }
}
