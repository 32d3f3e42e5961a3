//! Inline SVG charts and graphs for the web UI, computed on the server.
//!
//! [`line_chart`], [`bar_chart`], [`column_chart`] (`charts.rs`) and [`graph`] (`graph.rs`, with
//! its layered layout) each return one `<svg>` element to embed in a page as is: all text is
//! escaped, the root carries `role="img"` with a `<title>` and a `<desc>` for screen readers, every
//! data mark has a `<title>` tooltip, and colours and fonts come only from the classes styled in
//! `assets/web/charts.css` (no inline styles, which the content security policy forbids). The same
//! input always gives the same bytes, no input makes these functions panic, and a chart without
//! data says so. This module holds what both share: escaping, text measure, the frame, axes and
//! legends.

mod charts;
mod graph;

pub use charts::{
    Bar, BarChart, BoxPlot, ColumnChart, Distribution, LineChart, Series, bar_chart, box_plot, column_chart, line_chart,
};
pub use graph::{Edge, Graph, Node, NodeState, graph};

use orgata_reports::text::{self, number};
use std::fmt::Write as _;

/// Appends formatted text to a `String` (which cannot fail).
macro_rules! w {
    ($dst:expr, $($arg:tt)*) => {{
        let _ = write!($dst, $($arg)*);
    }};
}
use w;

// ---------------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------------

/// Width of the fixed-size charts, in SVG user units.
const WIDTH: f64 = 720.0;
/// Placeholder for the per-chart id prefix (control characters never survive [`esc`]).
const ID: &str = "\u{1}";
/// Number of series colour classes.
const PALETTE: usize = 6;
/// Nodes drawn at most by [`graph`].
const MAX_NODES: usize = 60;
/// Items listed at most in a `<desc>`.
const LIST_LIMIT: usize = 25;

/// Escapes text for XML content and attribute values; drops characters XML does not allow.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(' '),
            c if c.is_control() || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

/// Estimated width of text at a font size (~7 px per character at 12 px).
fn text_width(s: &str, font: f64) -> f64 {
    s.chars().count() as f64 * font * 7.0 / 12.0
}

/// The text, cut with an ellipsis so that it fits `max` px at the font size.
fn truncate(s: &str, max: f64, font: f64) -> String {
    if text_width(s, font) <= max {
        return s.to_string();
    }
    let keep = ((max / (font * 7.0 / 12.0)).floor() as usize).saturating_sub(1);
    let mut out: String = s.chars().take(keep).collect::<String>().trim_end().to_string();
    out.push('…');
    out
}

/// `v` limited to `lo..=hi` (never panics, unlike `f64::clamp` with crossed bounds).
fn clampf(v: f64, lo: f64, hi: f64) -> f64 {
    if v > hi {
        hi
    } else if v < lo || v.is_nan() {
        lo
    } else {
        v
    }
}

/// A coordinate, rounded to 0.1.
fn num(v: f64) -> String {
    if !v.is_finite() {
        return "0".to_string();
    }
    let r = (v * 10.0).round() / 10.0;
    if r.fract().abs() < 1e-9 { format!("{}", r as i64) } else { format!("{r:.1}") }
}

/// What a chart's values measure: a number of something, or durations in seconds — whose ticks
/// fall on whole minutes, hours or days and whose every value is written as
/// [`orgata_reports::text::duration`] writes it, like every other duration on the page.
#[derive(Debug, Clone, PartialEq)]
pub enum Unit {
    /// A number of something, named by the text ("cases"; empty for none).
    Count(String),
    /// Seconds, shown as durations ("1d 20h").
    Duration,
}

impl Default for Unit {
    fn default() -> Unit {
        Unit::Count(String::new())
    }
}

impl From<&str> for Unit {
    fn from(name: &str) -> Unit {
        Unit::Count(name.to_string())
    }
}

impl Unit {
    /// The unit's name for axes and descriptions; empty where the values say it themselves.
    fn name(&self) -> &str {
        match self {
            Unit::Count(name) => name.trim(),
            Unit::Duration => "",
        }
    }

    /// A value alone: `41`, `1d 20h`.
    fn plain(&self, v: f64) -> String {
        match self {
            Unit::Count(_) => number(v),
            Unit::Duration => text::duration(v),
        }
    }

    /// A value with its unit: `41 cases`, `1d 20h`.
    fn value(&self, v: f64) -> String {
        match self.name() {
            "" => self.plain(v),
            name => format!("{} {name}", self.plain(v)),
        }
    }

    /// Axis ticks covering `min..=max` (and 0).
    fn ticks(&self, min: f64, max: f64) -> Ticks {
        axis_ticks(min, max, *self == Unit::Duration)
    }
}

/// The text, or a fallback when it is blank.
fn or_default(s: &str, fallback: impl FnOnce() -> String) -> String {
    let t = s.trim();
    if t.is_empty() { fallback() } else { t.to_string() }
}

/// An escaped link target, or none for schemes other than http, https and mailto.
fn safe_href(href: &str) -> Option<String> {
    let t = href.trim();
    if t.is_empty() {
        return None;
    }
    let lower = t.to_ascii_lowercase();
    if let Some(colon) = lower.find(':') {
        let scheme = &lower[..colon];
        if !scheme.contains(['/', '?', '#']) && !matches!(scheme, "http" | "https" | "mailto") {
            return None;
        }
    }
    Some(esc(t))
}

/// FNV-1a over the parts, for deterministic element ids.
fn fnv(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in part.bytes().chain([0xff]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// The root `<svg>` around a body, with its `<title>` and `<desc>`.
fn frame(kind: &str, title: &str, desc: &str, view: [f64; 4], body: &str) -> String {
    let title = or_default(title, || "Chart".to_string());
    let id = format!("chart-{:016x}", fnv(&[kind, &title, desc, body]));
    let body = body.replace(ID, &id);
    let mut out = String::with_capacity(body.len() + desc.len() + 400);
    // Charts stretch to their container; a graph keeps its natural size (its text stays
    // readable), and its container scrolls when it is wider.
    let size = if kind == "graph" {
        format!("width=\"{}\" height=\"{}\"", num(view[2]), num(view[3]))
    } else {
        "width=\"100%\"".to_string()
    };
    w!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart chart-{kind}\" viewBox=\"{} {} {} {}\" \
         {size} role=\"img\" aria-labelledby=\"{id}-title\" aria-describedby=\"{id}-desc\">",
        num(view[0]),
        num(view[1]),
        num(view[2]),
        num(view[3])
    );
    w!(out, "<title id=\"{id}-title\">{}</title><desc id=\"{id}-desc\">{}</desc>", esc(&title), esc(desc));
    out.push_str(&body);
    out.push_str("</svg>");
    out
}

/// A chart that says it has no data.
fn no_data(kind: &str, title: &str) -> String {
    let body = format!(
        "<rect class=\"no-data-box\" x=\"0.5\" y=\"0.5\" width=\"{}\" height=\"119\" rx=\"4\"/>\
         <text class=\"no-data\" x=\"{}\" y=\"60\" text-anchor=\"middle\" dy=\"0.35em\">No data</text>",
        num(WIDTH - 1.0),
        num(WIDTH / 2.0)
    );
    frame(kind, title, "No data to display.", [0.0, 0.0, WIDTH, 120.0], &body)
}

/// Colour class of the i-th series (dashed beyond the palette's first round).
fn series_class(i: usize) -> String {
    let alt = if (i / PALETTE) % 2 == 1 { " series-alt" } else { "" };
    format!("series-{}{alt}", i % PALETTE)
}

/// Zero-based "nice" axis ticks (1, 2 or 5 × 10ⁿ apart) covering `min..=max`.
#[derive(Debug, Clone, PartialEq)]
struct Ticks {
    values: Vec<f64>,
    step: f64,
    /// Whether the values are seconds, labelled as durations.
    duration: bool,
}

impl Ticks {
    fn lo(&self) -> f64 {
        self.values.first().copied().unwrap_or(0.0)
    }

    fn hi(&self) -> f64 {
        self.values.last().copied().unwrap_or(1.0)
    }

    /// Scales a value to 0..=1 along the axis.
    fn frac(&self, v: f64) -> f64 {
        let f = (v - self.lo()) / (self.hi() - self.lo());
        if f.is_finite() { f.clamp(0.0, 1.0) } else { 0.0 }
    }

    /// The tick labels: durations, or numbers abbreviated with k/M/B for large values.
    fn labels(&self) -> Vec<String> {
        if self.duration {
            return self.values.iter().map(|v| text::duration(*v)).collect();
        }
        let reference = self.lo().abs().max(self.hi().abs());
        let (div, suffix) = if reference >= 1e9 {
            (1e9, "B")
        } else if reference >= 1e6 {
            (1e6, "M")
        } else if reference >= 1e4 {
            (1e3, "k")
        } else {
            (1.0, "")
        };
        let step = self.step / div;
        let decimals =
            if step >= 1.0 || !step.is_finite() { 0 } else { ((-step.log10()) - 1e-9).ceil().min(6.0) as usize };
        self.values
            .iter()
            .map(|v| {
                let x = v / div;
                if x.abs() < step * 1e-6 { "0".to_string() } else { format!("{x:.decimals$}{suffix}") }
            })
            .collect()
    }
}

/// A 1, 2 or 5 × 10ⁿ step, the first not below `raw`.
fn nice_step(raw: f64) -> f64 {
    let mag = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * mag).find(|s| *s >= raw * (1.0 - 1e-9)).unwrap_or(10.0 * mag)
}

/// Steps a duration axis may take, in seconds: whole seconds, minutes, hours, days and weeks.
const DURATION_STEPS: [f64; 22] = [
    1.0,
    2.0,
    5.0,
    10.0,
    15.0,
    30.0,
    60.0,
    120.0,
    300.0,
    600.0,
    900.0,
    1800.0,
    3600.0,
    7200.0,
    10_800.0,
    21_600.0,
    43_200.0,
    86_400.0,
    172_800.0,
    432_000.0,
    604_800.0,
    1_209_600.0,
];

/// Seconds in the "month" of long duration axes.
const MONTH_S: f64 = 2_592_000.0;

/// A duration step in seconds, the first of [`DURATION_STEPS`] not below `raw`; beyond two
/// weeks, whole multiples of 30 days on 1–2–5 steps.
fn duration_step(raw: f64) -> f64 {
    DURATION_STEPS
        .iter()
        .copied()
        .find(|s| *s >= raw * (1.0 - 1e-9))
        .unwrap_or_else(|| nice_step(raw / MONTH_S).max(1.0) * MONTH_S)
}

/// Axis ticks from `min(min, 0)` to `max(max, 0)`, about five intervals: numbers on 1–2–5
/// steps, or durations in seconds on whole minutes, hours, days (see [`duration_step`]).
fn axis_ticks(min: f64, max: f64, duration: bool) -> Ticks {
    let lo = if min.is_finite() { min.min(0.0) } else { 0.0 };
    let hi = if max.is_finite() { max.max(0.0) } else { 0.0 };
    let span = hi - lo;
    let unit = if duration { 60.0 } else { 1.0 };
    let fallback = Ticks { values: vec![0.0, unit], step: unit, duration };
    if !(span.is_finite() && span > 0.0) {
        return fallback;
    }
    let raw = span / 5.0;
    let step = if duration { duration_step(raw) } else { nice_step(raw) };
    if !(step.is_finite() && step > 0.0) {
        return fallback;
    }
    let first = (lo / step + 1e-9).floor() as i64;
    let last = (hi / step - 1e-9).ceil() as i64;
    let values: Vec<f64> = if last <= first || last - first > 100 {
        Vec::new()
    } else {
        (first..=last).map(|k| k as f64 * step).collect()
    };
    if !values.is_empty() && values.iter().all(|v| v.is_finite()) {
        Ticks { values, step, duration }
    } else {
        Ticks { values: vec![lo, hi], step: span, duration }
    }
}

/// Draws a legend row (wrapping) and returns its height.
fn legend(out: &mut String, names: &[String], left: f64, top: f64, right: f64) -> f64 {
    let (mut x, mut y) = (left, top);
    for (i, name) in names.iter().enumerate() {
        let shown = truncate(name, 160.0, 12.0);
        let item = 18.0 + text_width(&shown, 12.0) + 18.0;
        if x > left && x + item > right {
            x = left;
            y += 20.0;
        }
        w!(
            out,
            "<g class=\"legend-item\"><title>{}</title><rect class=\"legend-swatch {}\" x=\"{}\" y=\"{}\" \
             width=\"12\" height=\"12\" rx=\"2\"/><text class=\"legend-label\" x=\"{}\" y=\"{}\" dy=\"0.35em\">{}</text></g>",
            esc(name),
            series_class(i),
            num(x),
            num(y),
            num(x + 18.0),
            num(y + 6.0),
            esc(&shown)
        );
        x += item;
    }
    y + 20.0 - top
}

/// Draws x labels centred on `xs`, keeping every k-th label for the smallest k without overlaps.
fn x_labels(out: &mut String, labels: &[String], xs: &[f64], y: f64, width: f64) {
    let n = labels.len().min(xs.len());
    let items: Vec<(String, f64)> = labels
        .iter()
        .take(n)
        .map(|l| {
            let s = truncate(l.trim(), 150.0, 12.0);
            let w = text_width(&s, 12.0);
            (s, w)
        })
        .collect();
    let centre = |i: usize| clampf(xs[i], items[i].1 / 2.0 + 2.0, width - items[i].1 / 2.0 - 2.0);
    let fits = |k: usize| {
        let mut last = f64::NEG_INFINITY;
        for i in (0..n).step_by(k) {
            if items[i].0.is_empty() {
                continue;
            }
            let c = centre(i);
            if c - items[i].1 / 2.0 < last + 10.0 {
                return false;
            }
            last = c + items[i].1 / 2.0;
        }
        true
    };
    let step = (1..=n.max(1)).find(|&k| fits(k)).unwrap_or(n.max(1));
    for i in (0..n).step_by(step) {
        let (shown, _) = &items[i];
        if shown.is_empty() {
            continue;
        }
        let title = if shown.as_str() == labels[i].trim() {
            String::new()
        } else {
            format!("<title>{}</title>", esc(&labels[i]))
        };
        w!(
            out,
            "<text class=\"x-label\" x=\"{}\" y=\"{}\" text-anchor=\"middle\" dy=\"0.35em\">{title}{}</text>",
            num(centre(i)),
            num(y),
            esc(shown)
        );
    }
}

/// Horizontal gridlines with tick labels left of `left`, and the unit label above them.
fn y_grid(out: &mut String, ticks: &Ticks, left: f64, right: f64, top: f64, bottom: f64) {
    for (t, label) in ticks.values.iter().zip(ticks.labels()) {
        let y = bottom - ticks.frac(*t) * (bottom - top);
        let class = if *t == 0.0 { "axis" } else { "grid" };
        w!(
            out,
            "<line class=\"{class}\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/>\
             <text class=\"tick-label\" x=\"{}\" y=\"{}\" text-anchor=\"end\" dy=\"0.35em\">{}</text>",
            num(left),
            num(y),
            num(right),
            num(y),
            num(left - 8.0),
            num(y),
            esc(&label)
        );
    }
}

/// Vertical gridlines from `top` to `bottom` at the ticks (placed by `x_of`), with their labels
/// below: the value axis of horizontal bars and box plots.
fn x_grid(out: &mut String, ticks: &Ticks, x_of: &dyn Fn(f64) -> f64, top: f64, bottom: f64) {
    for (t, label) in ticks.values.iter().zip(ticks.labels()) {
        let x = x_of(*t);
        let class = if *t == 0.0 { "axis" } else { "grid" };
        w!(
            out,
            "<line class=\"{class}\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/>\
             <text class=\"tick-label\" x=\"{}\" y=\"{}\" text-anchor=\"middle\" dy=\"0.35em\">{}</text>",
            num(x),
            num(top - 4.0),
            num(x),
            num(bottom + 4.0),
            num(x),
            num(bottom + 16.0),
            esc(&label)
        );
    }
}

/// Left margin that fits the tick labels.
fn tick_margin(ticks: &Ticks) -> f64 {
    (ticks.labels().iter().map(|t| text_width(t, 12.0)).fold(0.0, f64::max) + 16.0).max(40.0)
}

/// The unit label at the top left; returns the height it takes.
fn unit_label(out: &mut String, unit: &str, top: f64) -> f64 {
    let unit = unit.trim();
    if unit.is_empty() {
        return 8.0;
    }
    w!(
        out,
        "<text class=\"axis-label\" x=\"8\" y=\"{}\" dy=\"0.35em\">{}</text>",
        num(top + 6.0),
        esc(&truncate(unit, WIDTH - 16.0, 12.0))
    );
    24.0
}

/// "a, b and c" for a list of names, cut after [`LIST_LIMIT`].
fn list_words(items: &[String]) -> String {
    let shown: Vec<&str> = items.iter().take(LIST_LIMIT).map(String::as_str).collect();
    let mut out = shown.join("; ");
    if items.len() > LIST_LIMIT {
        w!(out, "; and {} more", items.len() - LIST_LIMIT);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::graph::layout;
    use super::*;

    pub(super) fn node(id: &str) -> Node {
        Node { id: id.to_string(), label: id.to_string(), ..Node::default() }
    }

    pub(super) fn edge(from: &str, to: &str) -> Edge {
        Edge { from: from.to_string(), to: to.to_string(), label: None, weight: 1.0 }
    }

    pub(super) fn graph_of(nodes: &[&str], edges: &[(&str, &str)]) -> Graph {
        Graph {
            title: "Test".to_string(),
            nodes: nodes.iter().map(|id| node(id)).collect(),
            edges: edges.iter().map(|(a, b)| edge(a, b)).collect(),
        }
    }

    /// Tags balance, attributes are quoted, `&` only starts entities, and there is one root `<svg>`.
    pub(super) fn assert_well_formed(svg: &str) {
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""), "{svg}");
        assert!(svg.ends_with("</svg>"));
        let mut stack: Vec<&str> = Vec::new();
        let mut rest = svg;
        while let Some(open) = rest.find('<') {
            let text = &rest[..open];
            for (i, _) in text.match_indices('&') {
                let entity = &text[i..];
                assert!(
                    ["&amp;", "&lt;", "&gt;", "&quot;", "&#39;"].iter().any(|e| entity.starts_with(e)),
                    "bare & in {text}"
                );
            }
            assert!(!text.contains('>'), "bare > in text {text}");
            let close = rest[open..].find('>').expect("unclosed tag") + open;
            let tag = &rest[open + 1..close];
            assert!(!tag.contains('<'), "< inside tag {tag}");
            assert_eq!(tag.matches('"').count() % 2, 0, "unbalanced quotes in {tag}");
            if let Some(name) = tag.strip_prefix('/') {
                assert_eq!(stack.pop(), Some(name), "mismatched </{name}>");
            } else if !tag.ends_with('/') {
                stack.push(tag.split_whitespace().next().unwrap_or(""));
            }
            rest = &rest[close + 1..];
            if stack.is_empty() {
                assert!(rest.is_empty(), "content after the root: {rest}");
            }
        }
        assert!(stack.is_empty(), "unclosed {stack:?}");
        assert!(!svg.contains("NaN") && !svg.contains("inf"), "non-finite number in {svg}");
    }

    pub(super) fn count(haystack: &str, needle: &str) -> usize {
        haystack.matches(needle).count()
    }

    #[test]
    fn nice_ticks_are_1_2_5_steps_from_zero() {
        assert_eq!(axis_ticks(0.0, 37.0, false).values, vec![0.0, 10.0, 20.0, 30.0, 40.0]);
        assert_eq!(axis_ticks(3.0, 37.0, false).values, vec![0.0, 10.0, 20.0, 30.0, 40.0]);
        assert_eq!(axis_ticks(0.0, 100.0, false).values, vec![0.0, 20.0, 40.0, 60.0, 80.0, 100.0]);
        assert_eq!(axis_ticks(0.0, 7.0, false).values, vec![0.0, 2.0, 4.0, 6.0, 8.0]);
        assert_eq!(axis_ticks(-3.0, 8.0, false).values, vec![-5.0, 0.0, 5.0, 10.0]);
        assert_eq!(axis_ticks(0.0, 0.0, false).values, vec![0.0, 1.0]);
        assert_eq!(axis_ticks(f64::NAN, f64::INFINITY, false).values, vec![0.0, 1.0]);
        let small = axis_ticks(0.0, 0.9, false);
        assert_eq!(small.labels(), vec!["0", "0.2", "0.4", "0.6", "0.8", "1.0"]);
        assert_eq!(axis_ticks(0.0, 0.23, false).labels(), vec!["0", "0.05", "0.10", "0.15", "0.20", "0.25"]);
        assert_eq!(axis_ticks(0.0, 42_000.0, false).labels(), vec!["0", "10k", "20k", "30k", "40k", "50k"]);
        assert_eq!(axis_ticks(0.0, 2.5e6, false).labels(), vec!["0", "0.5M", "1.0M", "1.5M", "2.0M", "2.5M"]);
        // Durations fall on whole hours and days, and long ones on 30-day steps.
        let day_and_a_half = axis_ticks(0.0, 158_400.0, true);
        assert_eq!(day_and_a_half.labels(), vec!["0s", "12h 00m", "1d 00h", "1d 12h", "2d 00h"]);
        let months = axis_ticks(0.0, 100.0 * 86_400.0, true).values;
        assert_eq!(months, [0.0, 30.0, 60.0, 90.0, 120.0].map(|d| d * 86_400.0));
        assert_eq!(axis_ticks(0.0, 0.0, true).values, vec![0.0, 60.0]);
        let huge = axis_ticks(-f64::MAX, f64::MAX, false);
        assert!(huge.values.iter().all(|v| v.is_finite()));
    }

    #[test]
    fn values_are_formatted_for_people() {
        assert_eq!(Unit::from(" completed ").value(41.0), "41 completed");
        assert_eq!(Unit::Duration.value(158_400.0), "1d 20h");
        assert_eq!(num(12.345), "12.3");
        assert_eq!(num(-0.01), "0");
        assert_eq!(num(f64::NAN), "0");
    }

    #[test]
    fn text_is_escaped_and_truncated() {
        assert_eq!(
            esc("<script>alert('x') & \"y\"</script>"),
            "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;"
        );
        assert_eq!(esc("a\u{0}b\u{1}c\nd"), "abc d");
        assert_eq!(truncate("short", 100.0, 12.0), "short");
        let long = "x".repeat(50);
        let cut = truncate(&long, 70.0, 12.0);
        assert_eq!(cut, format!("{}…", "x".repeat(9)));
        assert!(text_width(&cut, 12.0) <= 70.0);
    }

    #[test]
    fn script_in_labels_is_escaped_everywhere() {
        let evil = "<script>alert(1)</script>";
        let line = line_chart(&LineChart {
            title: evil.into(),
            x_labels: vec![evil.into()],
            series: vec![Series { name: evil.into(), values: vec![1.0] }],
            unit: evil.into(),
            partial: vec![true],
        });
        let bar = bar_chart(&BarChart {
            title: evil.into(),
            segment_names: vec![evil.into(), evil.into()],
            bars: vec![Bar {
                label: evil.into(),
                segments: vec![1.0, 2.0],
                value_text: evil.into(),
                href: Some(evil.into()),
            }],
            unit: evil.into(),
        });
        let column =
            column_chart(&ColumnChart { title: evil.into(), columns: vec![(evil.into(), 3.0)], unit: evil.into() });
        let mut g = graph_of(&["a", "b"], &[("a", "b")]);
        g.title = evil.into();
        g.nodes[0].label = evil.into();
        g.nodes[0].detail = Some(evil.into());
        g.edges[0].label = Some(evil.into());
        let graph = graph(&g);
        for svg in [line, bar, column, graph] {
            assert!(!svg.contains("<script"), "{svg}");
            assert!(svg.contains("&lt;script&gt;"), "{svg}");
            assert_well_formed(&svg);
        }
    }

    #[test]
    fn root_is_accessible() {
        let svg = column_chart(&ColumnChart {
            title: "Durations".into(),
            columns: vec![("< 1 d".into(), 4.0)],
            unit: "cases".into(),
        });
        assert_well_formed(&svg);
        let id = format!("chart-{:016x}", 0).len();
        let start = svg.find("aria-labelledby=\"").expect("labelledby") + "aria-labelledby=\"".len();
        let title_id = &svg[start..start + id + "-title".len()];
        assert!(title_id.ends_with("-title"));
        assert!(svg.contains(&format!("<title id=\"{title_id}\">Durations</title>")));
        assert!(svg.contains("role=\"img\"") && svg.contains("width=\"100%\"") && svg.contains("viewBox=\"0 0 720 "));
        assert!(svg.contains("<desc id=\""));
        assert!(svg.contains("<title>&lt; 1 d: 4 cases</title>"));
        assert!(!svg.contains("style=") && !svg.contains("#"), "no inline colours: {svg}");
    }

    #[test]
    fn empty_and_nan_inputs_say_no_data() {
        let nan = vec![f64::NAN, f64::INFINITY, f64::NEG_INFINITY];
        let outputs = [
            line_chart(&LineChart::default()),
            line_chart(&LineChart {
                series: vec![Series { name: "s".into(), values: nan.clone() }],
                ..LineChart::default()
            }),
            line_chart(&LineChart { x_labels: vec!["a".into(), "b".into()], ..LineChart::default() }),
            bar_chart(&BarChart::default()),
            bar_chart(&BarChart { bars: vec![Bar { segments: nan.clone(), ..Bar::default() }], ..BarChart::default() }),
            column_chart(&ColumnChart::default()),
            column_chart(&ColumnChart { columns: vec![("a".into(), f64::NAN)], ..ColumnChart::default() }),
            graph(&Graph::default()),
            graph(&Graph { edges: vec![edge("x", "y")], ..Graph::default() }),
        ];
        for svg in outputs {
            assert_well_formed(&svg);
            assert!(svg.contains(">No data</text>"), "{svg}");
            assert!(svg.contains("<desc id=\"") && svg.contains("No data to display."));
            assert!(svg.contains("<title id=\"") && svg.contains(">Chart</title>"));
        }
    }

    #[test]
    fn extreme_numbers_do_not_break_the_markup() {
        let values = vec![f64::MAX, -f64::MAX, 1e-300, f64::NAN, 0.0, f64::MIN_POSITIVE, 5.0];
        let line = line_chart(&LineChart {
            series: vec![Series { name: "s".into(), values: values.clone() }, Series::default()],
            ..LineChart::default()
        });
        let bar = bar_chart(&BarChart {
            bars: vec![
                Bar { label: "a".into(), segments: values.clone(), ..Bar::default() },
                Bar { label: "b".into(), segments: vec![f64::MAX, f64::MAX], ..Bar::default() },
                Bar::default(),
            ],
            ..BarChart::default()
        });
        let column = column_chart(&ColumnChart {
            columns: values.iter().map(|v| ("c".to_string(), *v)).collect(),
            ..ColumnChart::default()
        });
        let mut g = graph_of(&["a", "b", "c"], &[("a", "b"), ("b", "c"), ("c", "a")]);
        g.edges[0].weight = f64::INFINITY;
        g.edges[1].weight = f64::NAN;
        g.edges[2].weight = -5.0;
        for svg in [line, bar, column, graph(&g)] {
            assert_well_formed(&svg);
        }
    }

    #[test]
    fn line_chart_marks_have_tooltips() {
        let chart = LineChart {
            title: "Completed per week".into(),
            x_labels: vec!["Week of 2024-02-26".into(), "Week of 2024-03-04".into(), "Week of 2024-03-11".into()],
            series: vec![Series { name: "Completed".into(), values: vec![30.0, 41.0, f64::NAN] }],
            unit: "completed".into(),
            partial: vec![false, false, true],
        };
        let svg = line_chart(&chart);
        assert_well_formed(&svg);
        assert!(svg.contains("<title>Week of 2024-03-04: 41 completed</title>"), "{svg}");
        assert_eq!(count(&svg, "<circle class=\"point series-0\""), 2);
        assert_eq!(count(&svg, "<path class=\"line series-0\""), 1);
        assert_eq!(count(&svg, "class=\"legend-item\""), 0);
        // ticks 0, 10, …, 50 on the y axis and the unit shown.
        assert_eq!(count(&svg, "class=\"tick-label\""), 6);
        assert!(svg.contains(">completed</text>"));
        assert!(svg.contains("latest 41 completed, lowest 30, highest 41"));
        // The last week is partial: shaded, said in its tooltip and in the description.
        assert_eq!(count(&svg, "class=\"partial-band\""), 1);
        assert!(svg.contains("<title>Week of 2024-03-11: a partial period, not comparable with whole ones</title>"));
        assert!(svg.contains("Partial periods: Week of 2024-03-11."), "{svg}");

        let two = LineChart {
            series: vec![
                Series { name: "A".into(), values: vec![1.0, 2.0] },
                Series { name: "B".into(), values: vec![3.0] },
            ],
            partial: Vec::new(),
            ..chart
        };
        let svg = line_chart(&two);
        assert_eq!(count(&svg, "class=\"partial-band\""), 0);
        assert_eq!(count(&svg, "class=\"legend-item\""), 2);
        assert!(svg.contains("<title>B — Week of 2024-02-26: 3 completed</title>"));
    }

    #[test]
    fn many_x_labels_are_thinned_without_overlap() {
        let n = 365;
        let chart = LineChart {
            title: "Daily".into(),
            x_labels: (0..n).map(|i| format!("2024-01-{i:03}")).collect(),
            series: vec![Series { name: "s".into(), values: (0..n).map(|i| i as f64).collect() }],
            ..LineChart::default()
        };
        let svg = line_chart(&chart);
        assert_well_formed(&svg);
        let xs: Vec<f64> = svg
            .match_indices("<text class=\"x-label\" x=\"")
            .map(|(i, m)| {
                let rest = &svg[i + m.len()..];
                rest[..rest.find('"').unwrap_or(0)].parse().unwrap_or(f64::NAN)
            })
            .collect();
        assert!(xs.len() > 3 && xs.len() < 10, "{} labels", xs.len());
        let width = text_width("2024-01-000", 12.0);
        assert!(xs.windows(2).all(|p| p[1] - p[0] >= width), "{xs:?}");
        assert_eq!(count(&svg, "<circle"), n);
    }

    #[test]
    fn bar_chart_stacks_segments_and_links_rows() {
        let chart = BarChart {
            title: "Time per step".into(),
            segment_names: vec!["Waiting".into(), "Working".into()],
            bars: vec![
                Bar {
                    label: "Review".into(),
                    segments: vec![3.0, 1.5],
                    value_text: "4.5 h".into(),
                    href: Some("/steps/1?x=1&y=2".into()),
                },
                Bar {
                    label: "Approve".into(),
                    segments: vec![0.0, 2.0],
                    value_text: "2 h".into(),
                    href: Some("javascript:alert(1)".into()),
                },
            ],
            unit: "h".into(),
        };
        let svg = bar_chart(&chart);
        assert_well_formed(&svg);
        assert!(svg.contains("<a class=\"bar-link\" href=\"/steps/1?x=1&amp;y=2\">"));
        assert!(!svg.contains("javascript"));
        assert_eq!(count(&svg, "<rect class=\"bar series-0\""), 1);
        assert_eq!(count(&svg, "<rect class=\"bar series-1\""), 2);
        assert!(svg.contains("<title>Review — Waiting: 3 h</title>"));
        assert!(svg.contains(">4.5 h</text>"));
        assert_eq!(count(&svg, "class=\"legend-item\""), 2);
        // Ticks 0, 1, …, 5 for a longest bar of 4.5.
        assert_eq!(count(&svg, "class=\"tick-label\""), 6);
    }

    #[test]
    fn column_chart_draws_one_rect_per_value() {
        let chart = ColumnChart {
            title: "Case durations".into(),
            columns: vec![("< 1 d".into(), 12.0), ("1–2 d".into(), 37.0), ("2–5 d".into(), 5.0), ("> 5 d".into(), 0.0)],
            unit: "cases".into(),
        };
        let svg = column_chart(&chart);
        assert_well_formed(&svg);
        assert_eq!(count(&svg, "<rect class=\"column series-0\""), 4);
        assert!(svg.contains("<title>1–2 d: 37 cases</title>"));
        assert!(svg.contains("Highest: 1–2 d (37 cases)"));
        assert_eq!(count(&svg, "class=\"tick-label\""), 5);
    }

    #[test]
    fn graph_nodes_carry_state_links_and_text() {
        let g = Graph {
            title: "Onboarding".into(),
            nodes: vec![
                Node { id: "s".into(), label: "Start".into(), state: NodeState::Start, ..Node::default() },
                Node {
                    id: "r".into(),
                    label: "Review".into(),
                    detail: Some("completed 3 Mar".into()),
                    state: NodeState::Done,
                    href: Some("/steps/r".into()),
                },
                Node { id: "x".into(), label: "x".repeat(100), state: NodeState::Failed, ..Node::default() },
            ],
            edges: vec![
                Edge { from: "s".into(), to: "r".into(), label: Some("412 · 3.2 h".into()), weight: 412.0 },
                Edge { from: "r".into(), to: "x".into(), label: None, weight: 41.2 },
            ],
        };
        let svg = graph(&g);
        assert_well_formed(&svg);
        assert!(svg.contains("<a class=\"node-link\" href=\"/steps/r\"><g class=\"node node-done\"><title>Review — completed 3 Mar (done)</title>"));
        assert!(svg.contains("class=\"node node-start\"") && svg.contains("class=\"node node-failed\""));
        assert!(svg.contains(">completed 3 Mar</text>"));
        assert!(svg.contains(&format!("<title>{} (failed)</title>", "x".repeat(100))));
        assert!(svg.contains(&format!(">{}…</text>", "x".repeat(24))));
        assert!(svg.contains(">412 · 3.2 h</text>"));
        assert!(svg.contains("<title>Start → Review: 412 · 3.2 h</title>"));
        // Stroke widths scale with the weight: 6 px for the heaviest, 1.5 px for a tenth of it.
        let lay = layout(&g);
        assert_eq!(lay.edges.iter().map(|e| num(e.stroke)).collect::<Vec<_>>(), vec!["6", "1.5"]);
        assert_eq!(count(&svg, "<marker "), 2);
        assert!(svg.contains("States: 1 start, 1 done, 1 failed."));
    }

    #[test]
    fn output_is_deterministic() {
        let g = graph_of(
            &["a", "b", "c", "d", "e"],
            &[("a", "b"), ("b", "c"), ("c", "b"), ("a", "d"), ("d", "e"), ("e", "a"), ("c", "e")],
        );
        assert_eq!(graph(&g), graph(&g));
        let chart = LineChart {
            title: "t".into(),
            x_labels: vec!["a".into(), "b".into()],
            series: vec![Series { name: "s".into(), values: vec![1.0, 2.0] }],
            unit: "u".into(),
            partial: vec![false, true],
        };
        assert_eq!(line_chart(&chart), line_chart(&chart.clone()));
        // Different charts get different element ids.
        let other = LineChart { title: "other".into(), ..chart.clone() };
        let id = |svg: &str| svg[svg.find("id=\"").unwrap_or(0)..][..30].to_string();
        assert_ne!(id(&line_chart(&chart)), id(&line_chart(&other)));
    }

    #[test]
    fn hrefs_with_other_schemes_are_dropped() {
        assert_eq!(safe_href("/a?b=1&c=2").as_deref(), Some("/a?b=1&amp;c=2"));
        assert_eq!(safe_href("https://example.org/x").as_deref(), Some("https://example.org/x"));
        assert_eq!(safe_href("../x:y").as_deref(), Some("../x:y"));
        assert_eq!(safe_href(" JavaScript:alert(1)"), None);
        assert_eq!(safe_href("java\tscript:alert(1)"), None);
        assert_eq!(safe_href("data:text/html,x"), None);
        assert_eq!(safe_href("  "), None);
    }
}
