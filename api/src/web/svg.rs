//! Inline SVG charts and graphs for the web UI, computed on the server.
//!
//! [`line_chart`], [`bar_chart`], [`column_chart`] and [`graph`] each return one `<svg>` element
//! to embed in a page as is: all text is escaped, the root carries `role="img"` with a `<title>`
//! and a `<desc>` for screen readers, every data mark has a `<title>` tooltip, and colours and
//! fonts come only from the classes styled in `assets/web/charts.css` (no inline styles, which
//! the content security policy forbids). The same input always gives the same bytes, no input
//! makes these functions panic, and a chart without data says so.

use orgata_reports::text::{number, plural};
use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt::Write as _;

/// Appends formatted text to a `String` (which cannot fail).
macro_rules! w {
    ($dst:expr, $($arg:tt)*) => {{
        let _ = write!($dst, $($arg)*);
    }};
}

/// A line chart over a shared x axis (e.g. days or weeks).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LineChart {
    /// Title, for screen readers (the page shows its own heading).
    pub title: String,
    /// One label per x position.
    pub x_labels: Vec<String>,
    /// The lines.
    pub series: Vec<Series>,
    /// Unit of the values, e.g. "cases" or "h" (shown on the y axis and in tooltips).
    pub unit: String,
}

/// One line: a value per x label (shorter vectors just end early).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Series {
    /// Name shown in the legend and tooltips.
    pub name: String,
    /// One value per x position; a non-finite value leaves a gap.
    pub values: Vec<f64>,
}

/// Horizontal bars, each split into stacked segments (e.g. waiting vs working time).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BarChart {
    /// Title, for screen readers (the page shows its own heading).
    pub title: String,
    /// Name of each segment, in stacking order (shown in the legend when more than one).
    pub segment_names: Vec<String>,
    /// The bars, top to bottom.
    pub bars: Vec<Bar>,
    /// Unit of the values (shown on the axis and in tooltips).
    pub unit: String,
}

/// One horizontal bar of a [`BarChart`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Bar {
    /// Label left of the bar.
    pub label: String,
    /// Segment values in the order of [`BarChart::segment_names`]; negative or non-finite ones are left out.
    pub segments: Vec<f64>,
    /// Text shown right of the bar, e.g. "4.2 h".
    pub value_text: String,
    /// Link for the whole row, if any.
    pub href: Option<String>,
}

/// Vertical columns (e.g. a histogram of case durations).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ColumnChart {
    /// Title, for screen readers (the page shows its own heading).
    pub title: String,
    /// Label and value of each column, left to right.
    pub columns: Vec<(String, f64)>,
    /// Unit of the values (shown on the y axis and in tooltips).
    pub unit: String,
}

/// A directed graph drawn left to right in layers: a playbook's step DAG (with each step's state)
/// or a directly-follows graph (which has cycles and self-loops).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Graph {
    /// Title, for screen readers (the page shows its own heading).
    pub title: String,
    /// The nodes; only the first of repeated ids and only the first 60 distinct ids are drawn.
    pub nodes: Vec<Node>,
    /// The edges; those naming unknown nodes are left out.
    pub edges: Vec<Edge>,
}

/// One node of a [`Graph`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Node {
    /// Identifier that edges refer to.
    pub id: String,
    /// Text in the box (the id when empty).
    pub label: String,
    /// Smaller second line, e.g. "312 cases" or "completed 3 Mar".
    pub detail: Option<String>,
    /// How the node is drawn.
    pub state: NodeState,
    /// Link for the node, if any.
    pub href: Option<String>,
}

/// A node's state, drawn with the CSS class `node-<state>`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum NodeState {
    /// No particular state (`node-plain`).
    #[default]
    Plain,
    /// Finished (`node-done`).
    Done,
    /// In progress (`node-running`).
    Running,
    /// Waiting for something (`node-waiting`).
    Waiting,
    /// Skipped (`node-skipped`).
    Skipped,
    /// Failed (`node-failed`).
    Failed,
    /// Start of a process (`node-start`).
    Start,
    /// End of a process (`node-end`).
    End,
}

impl NodeState {
    fn class(self) -> &'static str {
        match self {
            Self::Plain => "node-plain",
            Self::Done => "node-done",
            Self::Running => "node-running",
            Self::Waiting => "node-waiting",
            Self::Skipped => "node-skipped",
            Self::Failed => "node-failed",
            Self::Start => "node-start",
            Self::End => "node-end",
        }
    }

    fn word(self) -> &'static str {
        match self {
            Self::Plain => "",
            Self::Done => "done",
            Self::Running => "running",
            Self::Waiting => "waiting",
            Self::Skipped => "skipped",
            Self::Failed => "failed",
            Self::Start => "start",
            Self::End => "end",
        }
    }
}

/// One edge of a [`Graph`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Edge {
    /// Id of the source node.
    pub from: String,
    /// Id of the target node.
    pub to: String,
    /// Text at the middle of the edge, e.g. "412 · 3.2 h".
    pub label: Option<String>,
    /// Relative weight: the stroke width grows with it (1–6 px).
    pub weight: f64,
}

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

/// A value with its unit, e.g. "41 cases".
fn with_unit(v: f64, unit: &str) -> String {
    let unit = unit.trim();
    if unit.is_empty() { number(v) } else { format!("{} {unit}", number(v)) }
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

    /// The tick labels, abbreviated with k/M/B for large values.
    fn labels(&self) -> Vec<String> {
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

/// Nice ticks from `min(min, 0)` to `max(max, 0)`, about five intervals.
fn nice_ticks(min: f64, max: f64) -> Ticks {
    let lo = if min.is_finite() { min.min(0.0) } else { 0.0 };
    let hi = if max.is_finite() { max.max(0.0) } else { 0.0 };
    let span = hi - lo;
    let fallback = Ticks { values: vec![0.0, 1.0], step: 1.0 };
    if span.is_nan() || span <= 0.0 || !span.is_finite() {
        return fallback;
    }
    let raw = span / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * mag).find(|s| *s >= raw * (1.0 - 1e-9)).unwrap_or(10.0 * mag);
    if step.is_nan() || step <= 0.0 || !step.is_finite() {
        return fallback;
    }
    let first = (lo / step + 1e-9).floor() as i64;
    let last = (hi / step - 1e-9).ceil() as i64;
    if last <= first || last - first > 100 {
        return Ticks { values: vec![lo, hi], step: span };
    }
    let values: Vec<f64> = (first..=last).map(|k| k as f64 * step).collect();
    if values.iter().all(|v| v.is_finite()) {
        Ticks { values, step }
    } else {
        Ticks { values: vec![lo, hi], step: span }
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

// ---------------------------------------------------------------------------------------------
// Line chart
// ---------------------------------------------------------------------------------------------

/// Draws a line chart: one polyline per series with a marker (and tooltip) per value.
pub fn line_chart(chart: &LineChart) -> String {
    let n = chart.series.iter().map(|s| s.values.len()).max().unwrap_or(0).max(chart.x_labels.len());
    let finite = chart.series.iter().flat_map(|s| s.values.iter().copied()).filter(|v| v.is_finite());
    let (lo, hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if n == 0 || lo > hi {
        return no_data("line", &chart.title);
    }
    let ticks = nice_ticks(lo, hi);
    let left = tick_margin(&ticks);
    let right = WIDTH - 20.0;
    let names: Vec<String> =
        chart.series.iter().enumerate().map(|(i, s)| or_default(&s.name, || format!("Series {}", i + 1))).collect();
    let x_name = |i: usize| or_default(chart.x_labels.get(i).map_or("", String::as_str), || format!("Point {}", i + 1));

    let mut body = String::new();
    let mut top = 12.0;
    if chart.series.len() > 1 {
        top += legend(&mut body, &names, left, top, right) + 4.0;
    }
    top += unit_label(&mut body, &chart.unit, top);
    let bottom = top + 220.0;
    let height = bottom + 36.0;
    y_grid(&mut body, &ticks, left, right, top, bottom);
    let xs: Vec<f64> = (0..n)
        .map(|i| if n == 1 { (left + right) / 2.0 } else { left + (right - left) * i as f64 / (n - 1) as f64 })
        .collect();
    let y_of = |v: f64| bottom - ticks.frac(v) * (bottom - top);
    let labels: Vec<String> = (0..n).map(|i| chart.x_labels.get(i).cloned().unwrap_or_default()).collect();
    x_labels(&mut body, &labels, &xs, bottom + 18.0, WIDTH);

    for (si, s) in chart.series.iter().enumerate() {
        let mut d = String::new();
        let mut pen = false;
        for (x, &v) in xs.iter().zip(&s.values) {
            if v.is_finite() {
                w!(d, "{}{},{} ", if pen { "L" } else { "M" }, num(*x), num(y_of(v)));
                pen = true;
            } else {
                pen = false;
            }
        }
        if !d.is_empty() {
            w!(body, "<path class=\"line {}\" fill=\"none\" d=\"{}\"/>", series_class(si), d.trim_end());
        }
    }
    let radius = if n > 60 { 2.0 } else { 3.5 };
    for (si, s) in chart.series.iter().enumerate() {
        w!(body, "<g class=\"points {}\">", series_class(si));
        for (i, (x, &v)) in xs.iter().zip(&s.values).enumerate() {
            if !v.is_finite() {
                continue;
            }
            let tip = if chart.series.len() > 1 {
                format!("{} — {}: {}", names[si], x_name(i), with_unit(v, &chart.unit))
            } else {
                format!("{}: {}", x_name(i), with_unit(v, &chart.unit))
            };
            w!(
                body,
                "<circle class=\"point {}\" cx=\"{}\" cy=\"{}\" r=\"{radius}\"><title>{}</title></circle>",
                series_class(si),
                num(*x),
                num(y_of(v)),
                esc(&tip)
            );
        }
        body.push_str("</g>");
    }

    let mut desc = format!(
        "Line chart of {} over {}, from {} to {}.",
        plural(chart.series.len() as u64, "series", "series"),
        plural(n as u64, "point", "points"),
        x_name(0),
        x_name(n - 1)
    );
    if !chart.unit.trim().is_empty() {
        w!(desc, " Values in {}.", chart.unit.trim());
    }
    let summaries: Vec<String> = chart
        .series
        .iter()
        .zip(&names)
        .map(|(s, name)| {
            let vals: Vec<f64> = s.values.iter().copied().filter(|v| v.is_finite()).collect();
            match vals.last() {
                None => format!("{name}: no values"),
                Some(&last) => format!(
                    "{name}: latest {}, lowest {}, highest {}",
                    with_unit(last, &chart.unit),
                    number(vals.iter().copied().fold(f64::INFINITY, f64::min)),
                    number(vals.iter().copied().fold(f64::NEG_INFINITY, f64::max))
                ),
            }
        })
        .collect();
    w!(desc, " {}.", list_words(&summaries));
    frame("line", &chart.title, &desc, [0.0, 0.0, WIDTH, height], &body)
}

// ---------------------------------------------------------------------------------------------
// Bar chart
// ---------------------------------------------------------------------------------------------

/// Draws horizontal stacked bars with their labels, value texts and optional row links.
pub fn bar_chart(chart: &BarChart) -> String {
    if !chart.bars.iter().any(|b| b.segments.iter().any(|v| v.is_finite())) {
        return no_data("bar", &chart.title);
    }
    let positive = |v: f64| if v.is_finite() && v > 0.0 { v } else { 0.0 };
    let totals: Vec<f64> = chart.bars.iter().map(|b| b.segments.iter().map(|&v| positive(v)).sum()).collect();
    let ticks = nice_ticks(0.0, totals.iter().copied().fold(0.0, f64::max));
    let nseg = chart.bars.iter().map(|b| b.segments.len()).max().unwrap_or(0).max(chart.segment_names.len());
    let seg_names: Vec<String> = (0..nseg)
        .map(|j| or_default(chart.segment_names.get(j).map_or("", String::as_str), || format!("Part {}", j + 1)))
        .collect();
    let labels: Vec<String> = chart.bars.iter().map(|b| truncate(b.label.trim(), 200.0, 12.0)).collect();
    let label_w = labels.iter().map(|l| text_width(l, 12.0)).fold(0.0, f64::max);
    let values: Vec<String> = chart.bars.iter().map(|b| truncate(b.value_text.trim(), 160.0, 12.0)).collect();
    let value_w = values.iter().map(|l| text_width(l, 12.0)).fold(0.0, f64::max);
    let left = (12.0 + label_w + 12.0).max(40.0);
    let right = WIDTH - 16.0 - if value_w > 0.0 { value_w + 8.0 } else { 0.0 };
    let right = right.max(left + 100.0);
    let x_of = |v: f64| left + ticks.frac(v) * (right - left);

    let mut body = String::new();
    let mut top = 12.0;
    if nseg > 1 {
        top += legend(&mut body, &seg_names, left, top, WIDTH - 16.0) + 6.0;
    }
    let row = 28.0;
    let bottom = top + row * chart.bars.len() as f64;
    for (t, label) in ticks.values.iter().zip(ticks.labels()) {
        let x = x_of(*t);
        let class = if *t == 0.0 { "axis" } else { "grid" };
        w!(
            body,
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
    if !chart.unit.trim().is_empty() {
        w!(
            body,
            "<text class=\"axis-label\" x=\"{}\" y=\"{}\" text-anchor=\"end\" dy=\"0.35em\">{}</text>",
            num(left - 14.0),
            num(bottom + 16.0),
            esc(&truncate(chart.unit.trim(), left - 22.0, 12.0))
        );
    }
    for (i, bar) in chart.bars.iter().enumerate() {
        let yc = top + row * i as f64 + row / 2.0;
        let mut g = String::from("<g class=\"bar-row\">");
        let label_title =
            if labels[i] == bar.label.trim() { String::new() } else { format!("<title>{}</title>", esc(&bar.label)) };
        w!(
            g,
            "<text class=\"bar-label\" x=\"{}\" y=\"{}\" text-anchor=\"end\" dy=\"0.35em\">{label_title}{}</text>",
            num(left - 10.0),
            num(yc),
            esc(&labels[i])
        );
        let mut acc = 0.0;
        for (j, &v) in bar.segments.iter().enumerate() {
            let v = positive(v);
            if v <= 0.0 {
                continue;
            }
            let (x0, x1) = (x_of(acc), x_of(acc + v));
            acc += v;
            let tip = if nseg > 1 {
                format!("{} — {}: {}", or_default(&bar.label, String::new), seg_names[j], with_unit(v, &chart.unit))
            } else {
                format!("{}: {}", or_default(&bar.label, String::new), with_unit(v, &chart.unit))
            };
            w!(
                g,
                "<rect class=\"bar {}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"18\"><title>{}</title></rect>",
                series_class(j),
                num(x0),
                num(yc - 9.0),
                num((x1 - x0).max(0.5)),
                esc(&tip)
            );
        }
        if !values[i].is_empty() {
            w!(
                g,
                "<text class=\"bar-value\" x=\"{}\" y=\"{}\" dy=\"0.35em\">{}</text>",
                num(x_of(totals[i]) + 6.0),
                num(yc),
                esc(&values[i])
            );
        }
        g.push_str("</g>");
        match bar.href.as_deref().and_then(safe_href) {
            Some(href) => w!(body, "<a class=\"bar-link\" href=\"{href}\">{g}</a>"),
            None => body.push_str(&g),
        }
    }

    let mut desc = format!("Horizontal bar chart of {}", plural(chart.bars.len() as u64, "bar", "bars"));
    if nseg > 1 {
        w!(desc, ", each split into {}", seg_names.join(", "));
    }
    if !chart.unit.trim().is_empty() {
        w!(desc, ", in {}", chart.unit.trim());
    }
    let items: Vec<String> = chart
        .bars
        .iter()
        .zip(&totals)
        .map(|(b, &t)| {
            let value = if b.value_text.trim().is_empty() {
                with_unit(t, &chart.unit)
            } else {
                b.value_text.trim().to_string()
            };
            format!("{}: {value}", or_default(&b.label, || "(unlabelled)".to_string()))
        })
        .collect();
    w!(desc, ". {}.", list_words(&items));
    frame("bar", &chart.title, &desc, [0.0, 0.0, WIDTH, bottom + 34.0], &body)
}

// ---------------------------------------------------------------------------------------------
// Column chart
// ---------------------------------------------------------------------------------------------

/// Draws vertical columns with a value axis.
pub fn column_chart(chart: &ColumnChart) -> String {
    let finite = chart.columns.iter().map(|c| c.1).filter(|v| v.is_finite());
    let (lo, hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if lo > hi {
        return no_data("column", &chart.title);
    }
    let n = chart.columns.len();
    let ticks = nice_ticks(lo, hi);
    let left = tick_margin(&ticks);
    let right = WIDTH - 16.0;
    let mut body = String::new();
    let top = 12.0 + unit_label(&mut body, &chart.unit, 12.0);
    let bottom = top + 220.0;
    y_grid(&mut body, &ticks, left, right, top, bottom);
    let y_of = |v: f64| bottom - ticks.frac(v) * (bottom - top);
    let band = (right - left) / n as f64;
    let col_w = (band * 0.8).min(80.0);
    let xs: Vec<f64> = (0..n).map(|i| left + band * (i as f64 + 0.5)).collect();
    let labels: Vec<String> = chart.columns.iter().map(|c| c.0.clone()).collect();
    x_labels(&mut body, &labels, &xs, bottom + 18.0, WIDTH);
    let y0 = y_of(0.0);
    let show_values =
        chart.columns.iter().all(|c| !c.1.is_finite() || text_width(&number(c.1), 11.0) + 4.0 <= band) && n <= 40;
    let name = |i: usize, l: &str| or_default(l, || format!("Column {}", i + 1));
    for (i, (label, v)) in chart.columns.iter().enumerate() {
        if !v.is_finite() {
            continue;
        }
        let y = y_of(*v);
        w!(
            body,
            "<rect class=\"column series-0\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"><title>{}</title></rect>",
            num(xs[i] - col_w / 2.0),
            num(y.min(y0)),
            num(col_w),
            num((y - y0).abs()),
            esc(&format!("{}: {}", name(i, label), with_unit(*v, &chart.unit)))
        );
        if show_values {
            let ty = if *v < 0.0 { y + 9.0 } else { y - 8.0 };
            w!(
                body,
                "<text class=\"column-value\" x=\"{}\" y=\"{}\" text-anchor=\"middle\" dy=\"0.35em\">{}</text>",
                num(xs[i]),
                num(ty),
                esc(&number(*v))
            );
        }
    }

    let mut desc = format!("Column chart of {}", plural(n as u64, "column", "columns"));
    if !chart.unit.trim().is_empty() {
        w!(desc, ", in {}", chart.unit.trim());
    }
    let mut best: Option<(usize, f64)> = None;
    for (i, c) in chart.columns.iter().enumerate() {
        if c.1.is_finite() && best.is_none_or(|(_, b)| c.1 > b) {
            best = Some((i, c.1));
        }
    }
    if let Some((i, v)) = best {
        w!(desc, ". Highest: {} ({})", name(i, &chart.columns[i].0), with_unit(v, &chart.unit));
    }
    let items: Vec<String> =
        chart.columns.iter().enumerate().map(|(i, c)| format!("{}: {}", name(i, &c.0), number(c.1))).collect();
    w!(desc, ". {}.", list_words(&items));
    frame("column", &chart.title, &desc, [0.0, 0.0, WIDTH, bottom + 36.0], &body)
}

// ---------------------------------------------------------------------------------------------
// Graph layout
// ---------------------------------------------------------------------------------------------

/// Geometry of a laid-out [`Graph`] in SVG user units (used by [`graph`] and by tests).
#[derive(Debug, Clone, Default)]
pub(crate) struct Layout {
    /// The drawn nodes: the first of each id, at most 60, in input order.
    pub(crate) nodes: Vec<LaidNode>,
    /// The drawn edges, in input order.
    pub(crate) edges: Vec<LaidEdge>,
    /// The drawing's box: left, top, width, height.
    pub(crate) view: [f64; 4],
    /// Distinct node ids left out past the cap.
    pub(crate) omitted_nodes: usize,
    /// Nodes whose id repeats an earlier one.
    pub(crate) duplicate_nodes: usize,
    /// Edges naming a node that is unknown or left out.
    pub(crate) ignored_edges: usize,
}

/// A placed node: its box, layer and text.
#[derive(Debug, Clone)]
pub(crate) struct LaidNode {
    /// Index into [`Graph::nodes`].
    pub(crate) index: usize,
    /// Layer (column), from 0 at the left.
    pub(crate) layer: usize,
    /// Left edge.
    pub(crate) x: f64,
    /// Top edge.
    pub(crate) y: f64,
    /// Box width.
    pub(crate) width: f64,
    /// Box height.
    pub(crate) height: f64,
    label: String,
    detail: Option<String>,
}

/// A routed edge: its path, stroke and label box.
#[derive(Debug, Clone)]
pub(crate) struct LaidEdge {
    /// Index into [`Graph::edges`].
    pub(crate) index: usize,
    /// Source, as an index into [`Layout::nodes`].
    pub(crate) from: usize,
    /// Target, as an index into [`Layout::nodes`].
    pub(crate) to: usize,
    /// Whether it closes a cycle (drawn right to left); self-loops count as back edges too.
    pub(crate) back: bool,
    /// SVG path data.
    pub(crate) path: String,
    /// Stroke width, 1–6.
    pub(crate) stroke: f64,
    arrow: usize,
    label: Option<LabelBox>,
}

/// An edge label's background box and text.
#[derive(Debug, Clone)]
struct LabelBox {
    x: f64,
    y: f64,
    w: f64,
    h: f64,
    text: String,
}

/// A vertex of the layered graph: a real node or a dummy on a long edge.
#[derive(Debug, Clone)]
struct Vert {
    layer: usize,
    w: f64,
    h: f64,
    real: bool,
    /// Extra room above the node for a self-loop and its label.
    room: f64,
}

/// An edge as a chain of vertices in layer order (for back edges: reversed).
#[derive(Debug, Clone)]
struct Chain {
    edge: usize,
    verts: Vec<usize>,
    back: bool,
    from: usize,
    to: usize,
}

type Pt = (f64, f64);

/// One cubic Bézier segment.
#[derive(Debug, Clone, Copy)]
struct Cubic {
    p0: Pt,
    c1: Pt,
    c2: Pt,
    p1: Pt,
}

impl Cubic {
    fn at(&self, t: f64) -> Pt {
        let u = 1.0 - t;
        let (a, b, c, d) = (u * u * u, 3.0 * u * u * t, 3.0 * u * t * t, t * t * t);
        (
            a * self.p0.0 + b * self.c1.0 + c * self.c2.0 + d * self.p1.0,
            a * self.p0.1 + b * self.c1.1 + c * self.c2.1 + d * self.p1.1,
        )
    }
}

/// A curve between two points with horizontal tangents at both ends; with `bulge`, it dips below both.
fn hop(p0: Pt, p1: Pt, bulge: bool) -> Vec<Cubic> {
    let horizontal = |a: Pt, b: Pt| {
        let mx = (a.0 + b.0) / 2.0;
        Cubic { p0: a, c1: (mx, a.1), c2: (mx, b.1), p1: b }
    };
    if bulge {
        let m = ((p0.0 + p1.0) / 2.0, p0.1.max(p1.1) + 18.0);
        vec![horizontal(p0, m), horizontal(m, p1)]
    } else {
        vec![horizontal(p0, p1)]
    }
}

/// The y of a hop (x-monotonic cubics) at x, by bisection.
fn y_at_x(curves: &[Cubic], x: f64) -> f64 {
    for c in curves {
        let (a, b) = (c.p0.0.min(c.p1.0), c.p0.0.max(c.p1.0));
        if x < a || x > b {
            continue;
        }
        let increasing = c.p1.0 >= c.p0.0;
        let (mut lo, mut hi) = (0.0, 1.0);
        for _ in 0..40 {
            let mid = (lo + hi) / 2.0;
            if (c.at(mid).0 < x) == increasing {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        return c.at((lo + hi) / 2.0).1;
    }
    curves.first().map_or(0.0, |c| c.at(0.5).1)
}

/// Arrowhead length and half-width for a stroke bucket.
fn arrow_size(bucket: usize) -> (f64, f64) {
    let b = bucket as f64;
    (7.0 + 1.3 * b, 3.5 + 0.9 * b)
}

/// Places items in order with minimum separations, as close as possible (weighted least squares)
/// to their desired positions: isotonic regression by pool-adjacent-violators.
fn pava_place(desired: &[f64], weights: &[f64], seps: &[f64]) -> Vec<f64> {
    let mut offsets = Vec::with_capacity(desired.len());
    let mut acc = 0.0;
    for s in seps {
        acc += s;
        offsets.push(acc);
    }
    let mut blocks: Vec<(f64, f64, usize)> = Vec::new();
    for ((d, w), o) in desired.iter().zip(weights).zip(&offsets) {
        blocks.push((*w, w * (d - o), 1));
        while let [.., a, b] = blocks[..] {
            if a.1 / a.0 > b.1 / b.0 {
                blocks.pop();
                if let Some(last) = blocks.last_mut() {
                    *last = (a.0 + b.0, a.1 + b.1, a.2 + b.2);
                }
            } else {
                break;
            }
        }
    }
    let mut out = Vec::with_capacity(desired.len());
    for (w, wt, len) in blocks {
        out.extend(std::iter::repeat_n(wt / w, len));
    }
    out.iter_mut().zip(&offsets).for_each(|(z, o)| *z += o);
    out
}

/// Edge crossings between adjacent layers (inversions counted with a Fenwick tree).
fn crossings(layers: &[Vec<usize>], down: &[Vec<usize>], pos: &[usize]) -> u64 {
    let mut total = 0u64;
    for pair in layers.windows(2) {
        let mut edges: Vec<(usize, usize)> =
            pair[0].iter().flat_map(|&p| down[p].iter().map(move |&q| (pos[p], pos[q]))).collect();
        edges.sort_unstable();
        let mut tree = vec![0u64; pair[1].len() + 1];
        for (seen, &(_, q)) in edges.iter().enumerate() {
            let mut le = 0;
            let mut i = q + 1;
            while i > 0 {
                le += tree.get(i).copied().unwrap_or(0);
                i &= i - 1;
            }
            total += (seen as u64).saturating_sub(le);
            let mut i = q + 1;
            while let Some(slot) = tree.get_mut(i) {
                *slot += 1;
                i += i & i.wrapping_neg();
            }
        }
    }
    total
}

/// Sorts a layer by the barycenter of each vertex's neighbours (vertices without any keep their place).
fn reorder(layer: &mut [usize], nbrs: &[Vec<usize>], pos: &mut [usize]) {
    let mut keyed: Vec<(f64, usize, usize)> = layer
        .iter()
        .map(|&v| {
            let ns = &nbrs[v];
            let key = if ns.is_empty() {
                pos[v] as f64
            } else {
                ns.iter().map(|&u| pos[u] as f64).sum::<f64>() / ns.len() as f64
            };
            (key, pos[v], v)
        })
        .collect();
    keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    for (i, (slot, (_, _, v))) in layer.iter_mut().zip(keyed).enumerate() {
        *slot = v;
        pos[v] = i;
    }
}

/// A node's display name: its label, or its id when the label is blank.
fn node_name(node: &Node) -> String {
    or_default(&node.label, || node.id.trim().to_string())
}

/// Lays out a graph: cycle breaking, longest-path layering, barycenter ordering, coordinates
/// and edge routing.
pub(crate) fn layout(g: &Graph) -> Layout {
    // Nodes: the first of each id, at most MAX_NODES.
    let mut seen: HashSet<&str> = HashSet::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut kept: Vec<usize> = Vec::new();
    let (mut omitted_nodes, mut duplicate_nodes) = (0, 0);
    for (i, node) in g.nodes.iter().enumerate() {
        if !seen.insert(node.id.as_str()) {
            duplicate_nodes += 1;
        } else if kept.len() < MAX_NODES {
            index.insert(node.id.as_str(), kept.len());
            kept.push(i);
        } else {
            omitted_nodes += 1;
        }
    }
    let n = kept.len();
    let node = |v: usize| &g.nodes[kept[v]];

    // Edges: between two kept nodes, self-loops apart.
    let mut real: Vec<(usize, usize, usize)> = Vec::new();
    let mut loops: Vec<(usize, usize)> = Vec::new();
    let mut ignored_edges = 0;
    for (ei, e) in g.edges.iter().enumerate() {
        match (index.get(e.from.as_str()), index.get(e.to.as_str())) {
            (Some(&a), Some(&b)) if a == b => loops.push((ei, a)),
            (Some(&a), Some(&b)) => real.push((ei, a, b)),
            _ => ignored_edges += 1,
        }
    }

    // Cycle breaking: DFS (start nodes, then sources, then the rest, each in input order);
    // an edge to a vertex on the DFS stack is a back edge, reversed for layering.
    let mut out: Vec<Vec<(usize, usize)>> = vec![Vec::new(); n];
    let mut indeg = vec![0usize; n];
    for (k, &(_, a, b)) in real.iter().enumerate() {
        out[a].push((k, b));
        indeg[b] += 1;
    }
    let is_start = |v: usize| node(v).state == NodeState::Start;
    let roots = (0..n)
        .filter(|&v| is_start(v))
        .chain((0..n).filter(|&v| !is_start(v) && indeg[v] == 0))
        .chain((0..n).filter(|&v| !is_start(v) && indeg[v] > 0));
    let mut state = vec![0u8; n];
    let mut back = vec![false; real.len()];
    for r in roots {
        if state[r] != 0 {
            continue;
        }
        state[r] = 1;
        let mut stack = vec![(r, 0usize)];
        while let Some(&(v, i)) = stack.last() {
            if let Some(&(k, t)) = out[v].get(i) {
                if let Some(top) = stack.last_mut() {
                    top.1 += 1;
                }
                match state[t] {
                    0 => {
                        state[t] = 1;
                        stack.push((t, 0));
                    }
                    1 => back[k] = true,
                    _ => {}
                }
            } else {
                state[v] = 2;
                stack.pop();
            }
        }
    }

    // Layering by longest path over the acyclic edges (Kahn's order).
    let mut succ: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut pred: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (k, &(_, a, b)) in real.iter().enumerate() {
        let (s, t) = if back[k] { (b, a) } else { (a, b) };
        succ[s].push(t);
        pred[t].push(s);
    }
    let mut din: Vec<usize> = pred.iter().map(Vec::len).collect();
    let mut queue: VecDeque<usize> = (0..n).filter(|&v| din[v] == 0).collect();
    let mut topo = Vec::with_capacity(n);
    let mut layer = vec![0usize; n];
    while let Some(v) = queue.pop_front() {
        topo.push(v);
        for &s in &succ[v] {
            layer[s] = layer[s].max(layer[v] + 1);
            din[s] = din[s].saturating_sub(1);
            if din[s] == 0 {
                queue.push_back(s);
            }
        }
    }
    // Sources other than start nodes move right, next to their first successor.
    for &v in &topo {
        if pred[v].is_empty()
            && !is_start(v)
            && let Some(m) = succ[v].iter().map(|&s| layer[s]).min()
        {
            layer[v] = layer[v].max(m.saturating_sub(1));
        }
    }
    // End nodes without successors go to the last layer.
    let max_layer = layer.iter().copied().max().unwrap_or(0);
    for v in 0..n {
        if succ[v].is_empty() && node(v).state == NodeState::End {
            layer[v] = max_layer;
        }
    }
    // Compact layer numbers.
    let mut used: Vec<usize> = layer.clone();
    used.sort_unstable();
    used.dedup();
    for l in &mut layer {
        *l = used.binary_search(l).unwrap_or(0);
    }
    let nl = used.len().max(1);

    // Node sizes and texts.
    let mut loop_count = vec![0usize; n];
    for &(_, v) in &loops {
        loop_count[v] += 1;
    }
    let texts: Vec<(String, Option<String>)> = (0..n)
        .map(|v| {
            let nd = node(v);
            let label = truncate(&node_name(nd), 180.0, 12.0);
            let detail =
                nd.detail.as_deref().map(str::trim).filter(|d| !d.is_empty()).map(|d| truncate(d, 180.0, 11.0));
            (label, detail)
        })
        .collect();
    let mut verts: Vec<Vert> = (0..n)
        .map(|v| {
            let (label, detail) = &texts[v];
            let tw = text_width(label, 12.0).max(detail.as_deref().map_or(0.0, |d| text_width(d, 11.0)));
            Vert {
                layer: layer[v],
                w: (tw + 24.0).max(56.0),
                h: if detail.is_some() { 46.0 } else { 32.0 },
                real: true,
                room: if loop_count[v] > 0 { 46.0 } else { 0.0 },
            }
        })
        .collect();

    // Chains with a dummy vertex in each layer a long edge crosses.
    let mut chains: Vec<Chain> = Vec::with_capacity(real.len());
    for (k, &(ei, a, b)) in real.iter().enumerate() {
        let (s, t) = if back[k] { (b, a) } else { (a, b) };
        let mut vs = vec![s];
        for l in verts[s].layer + 1..verts[t].layer {
            verts.push(Vert { layer: l, w: 0.0, h: 0.0, real: false, room: 0.0 });
            vs.push(verts.len() - 1);
        }
        vs.push(t);
        chains.push(Chain { edge: ei, verts: vs, back: back[k], from: a, to: b });
    }
    let nv = verts.len();
    let mut up: Vec<Vec<usize>> = vec![Vec::new(); nv];
    let mut down: Vec<Vec<usize>> = vec![Vec::new(); nv];
    for ch in &chains {
        for pair in ch.verts.windows(2) {
            if verts[pair[1]].layer == verts[pair[0]].layer + 1 {
                down[pair[0]].push(pair[1]);
                up[pair[1]].push(pair[0]);
            }
        }
    }

    // Ordering within layers: barycenter sweeps, keeping the order with the fewest crossings.
    let mut layers: Vec<Vec<usize>> = vec![Vec::new(); nl];
    for (v, vert) in verts.iter().enumerate() {
        if let Some(l) = layers.get_mut(vert.layer) {
            l.push(v);
        }
    }
    let mut pos = vec![0usize; nv];
    let set_pos = |layers: &[Vec<usize>], pos: &mut [usize]| {
        for l in layers {
            for (i, &v) in l.iter().enumerate() {
                pos[v] = i;
            }
        }
    };
    set_pos(&layers, &mut pos);
    let mut best = layers.clone();
    let mut best_crossings = crossings(&layers, &down, &pos);
    let rounds = if nv > 3000 { 1 } else { 6 };
    for _ in 0..rounds {
        if best_crossings == 0 {
            break;
        }
        for l in layers.iter_mut().skip(1) {
            reorder(l, &up, &mut pos);
        }
        for l in layers.iter_mut().rev().skip(1) {
            reorder(l, &down, &mut pos);
        }
        let c = crossings(&layers, &down, &pos);
        if c < best_crossings {
            best_crossings = c;
            best = layers.clone();
        }
    }
    let layers = best;
    set_pos(&layers, &mut pos);

    // Vertical positions: align each vertex with its neighbours, keeping order and spacing.
    let sep = |a: usize, b: usize| {
        let (va, vb) = (&verts[a], &verts[b]);
        let gap = match (va.real, vb.real) {
            (true, true) => 26.0,
            (false, false) => 10.0,
            _ => 16.0,
        };
        va.h / 2.0 + vb.h / 2.0 + gap + vb.room
    };
    let mut cy = vec![0.0f64; nv];
    for l in &layers {
        let mut y = 0.0;
        for (i, &v) in l.iter().enumerate() {
            if i > 0 {
                y += sep(l[i - 1], v);
            }
            cy[v] = y;
        }
        let mid = y / 2.0;
        for &v in l {
            cy[v] -= mid;
        }
    }
    let align = |l: &[usize], cy: &mut [f64], use_up: bool, use_down: bool| {
        let mut desired = Vec::with_capacity(l.len());
        let mut weights = Vec::with_capacity(l.len());
        let mut seps = Vec::with_capacity(l.len());
        for (i, &v) in l.iter().enumerate() {
            let mut nbrs: Vec<usize> = Vec::new();
            if use_up {
                nbrs.extend(&up[v]);
            }
            if use_down {
                nbrs.extend(&down[v]);
            }
            if nbrs.is_empty() {
                desired.push(cy[v]);
                weights.push(0.25);
            } else {
                desired.push(nbrs.iter().map(|&u| cy[u]).sum::<f64>() / nbrs.len() as f64);
                weights.push(if verts[v].real { 1.0 } else { 2.0 });
            }
            seps.push(if i == 0 { 0.0 } else { sep(l[i - 1], v) });
        }
        for (&v, y) in l.iter().zip(pava_place(&desired, &weights, &seps)) {
            cy[v] = y;
        }
    };
    for _ in 0..6 {
        for l in layers.iter().skip(1) {
            align(l, &mut cy, true, false);
        }
        for l in layers.iter().rev().skip(1) {
            align(l, &mut cy, false, true);
        }
    }
    for _ in 0..2 {
        for l in &layers {
            align(l, &mut cy, true, true);
        }
    }

    // Stroke widths from the weights (1–6 px; all equal: 1.5 px).
    let weight = |ei: usize| {
        let w = g.edges[ei].weight;
        if w.is_finite() && w > 0.0 { w } else { 0.0 }
    };
    let drawn = real.iter().map(|r| r.0).chain(loops.iter().map(|l| l.0));
    let (wmin, wmax) = drawn.fold((f64::INFINITY, 0.0f64), |(lo, hi), ei| (lo.min(weight(ei)), hi.max(weight(ei))));
    let stroke = |ei: usize| {
        if wmax <= 0.0 || wmax - wmin <= wmax * 1e-9 { 1.5 } else { 1.0 + 5.0 * weight(ei) / wmax }
    };
    let bucket = |s: f64| (s.round() as usize).clamp(1, 6);
    let label_text = |ei: usize| {
        g.edges[ei].label.as_deref().map(str::trim).filter(|t| !t.is_empty()).map(|t| truncate(t, 160.0, 11.0))
    };

    // Horizontal positions: columns as wide as their widest node, gaps wide enough for labels.
    let mut col_w = vec![16.0f64; nl];
    for vert in verts.iter().filter(|v| v.real) {
        if let Some(c) = col_w.get_mut(vert.layer) {
            *c = c.max(vert.w);
        }
    }
    let label_gap = |ch: &Chain| {
        let hops = ch.verts.len().saturating_sub(1).max(1);
        let mid = (hops - 1) / 2;
        let (first, last) = (verts[ch.verts[0]].layer, verts[ch.verts[ch.verts.len() - 1]].layer);
        if ch.back { last.checked_sub(1 + mid) } else { Some(first + mid) }
    };
    let mut gap_w = vec![64.0f64; nl];
    for ch in &chains {
        if let (Some(text), Some(gi)) = (label_text(ch.edge), label_gap(ch))
            && let Some(gw) = gap_w.get_mut(gi)
        {
            *gw = gw.max(text_width(&text, 11.0) + 10.0 + 48.0);
        }
    }
    let mut col_x = vec![0.0f64; nl];
    let mut x = 0.0;
    for l in 0..nl {
        col_x[l] = x;
        x += col_w[l] + gap_w[l];
    }
    let node_x = |v: usize| col_x[verts[v].layer] + (col_w[verts[v].layer] - verts[v].w) / 2.0;

    // Ports: edges spread over a node's right side (leaving rightwards) and left side.
    let mut port_right = vec![0.0f64; chains.len()];
    let mut port_left = vec![0.0f64; chains.len()];
    let mut right_side: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut left_side: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (ci, ch) in chains.iter().enumerate() {
        right_side[ch.verts[0]].push(ci);
        left_side[ch.verts[ch.verts.len() - 1]].push(ci);
    }
    let neighbour_y = |ci: usize, right: bool| {
        let vs = &chains[ci].verts;
        cy[vs[if right { 1 } else { vs.len() - 2 }]]
    };
    for v in 0..n {
        let top = cy[v] - verts[v].h / 2.0;
        let h = verts[v].h;
        for right in [true, false] {
            let side = if right { &mut right_side[v] } else { &mut left_side[v] };
            side.sort_by(|&a, &b| {
                neighbour_y(a, right)
                    .total_cmp(&neighbour_y(b, right))
                    .then(chains[a].back.cmp(&chains[b].back))
                    .then(a.cmp(&b))
            });
            let ports = if right { &mut port_right } else { &mut port_left };
            let k = side.len() as f64;
            for (i, &ci) in side.iter().enumerate() {
                ports[ci] = top + h * (i as f64 + 1.0) / (k + 1.0);
            }
        }
    }

    // Geometry and bounding box.
    let mut bbox = [f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY];
    let mut grow = |p: Pt| {
        bbox[0] = bbox[0].min(p.0);
        bbox[1] = bbox[1].min(p.1);
        bbox[2] = bbox[2].max(p.0);
        bbox[3] = bbox[3].max(p.1);
    };
    let nodes: Vec<LaidNode> = (0..n)
        .map(|v| {
            let vert = &verts[v];
            let (x, y) = (node_x(v), cy[v] - vert.h / 2.0);
            grow((x, y));
            grow((x + vert.w, y + vert.h));
            LaidNode {
                index: kept[v],
                layer: vert.layer,
                x,
                y,
                width: vert.w,
                height: vert.h,
                label: texts[v].0.clone(),
                detail: texts[v].1.clone(),
            }
        })
        .collect();
    let mut placed: Vec<[f64; 4]> = Vec::new();
    let mut edges: Vec<LaidEdge> = Vec::with_capacity(real.len() + loops.len());

    // Self-loops: a hump over the node's top, its label above.
    for &(ei, v) in &loops {
        let nd = &nodes[v];
        let s = stroke(ei);
        let (len, _) = arrow_size(bucket(s));
        let cx = nd.x + nd.width / 2.0;
        let (x1, x2, y) = (cx - 14.0, cx + 14.0, nd.y);
        let curve = Cubic { p0: (x1, y), c1: (x1, y - 34.0), c2: (x2, y - 34.0), p1: (x2, y - len) };
        grow(curve.c1);
        grow(curve.c2);
        let label = label_text(ei).map(|text| {
            let w = text_width(&text, 11.0) + 10.0;
            let b = LabelBox { x: cx - w / 2.0, y: y - 34.0 - 16.0, w, h: 16.0, text };
            placed.push([b.x, b.y, b.w, b.h]);
            grow((b.x, b.y));
            grow((b.x + b.w, b.y + b.h));
            b
        });
        let path = format!(
            "M{},{} C{},{} {},{} {},{}",
            num(curve.p0.0),
            num(curve.p0.1),
            num(curve.c1.0),
            num(curve.c1.1),
            num(curve.c2.0),
            num(curve.c2.1),
            num(curve.p1.0),
            num(curve.p1.1)
        );
        edges.push(LaidEdge { index: ei, from: v, to: v, back: true, path, stroke: s, arrow: bucket(s), label });
    }

    // Chains: cubic hops across gaps, straight runs through dummy columns.
    for (ci, ch) in chains.iter().enumerate() {
        let (first, last) = (ch.verts[0], ch.verts[ch.verts.len() - 1]);
        let inner = &ch.verts[1..ch.verts.len() - 1];
        let right_of = |v: usize| node_x(v) + verts[v].w;
        let (start, end, runs): (Pt, Pt, Vec<(Pt, Pt)>) = if ch.back {
            let runs = inner
                .iter()
                .rev()
                .map(|&d| {
                    let l = verts[d].layer;
                    ((col_x[l] + col_w[l], cy[d]), (col_x[l], cy[d]))
                })
                .collect();
            ((node_x(last), port_left[ci]), (right_of(first), port_right[ci]), runs)
        } else {
            let runs = inner
                .iter()
                .map(|&d| {
                    let l = verts[d].layer;
                    ((col_x[l], cy[d]), (col_x[l] + col_w[l], cy[d]))
                })
                .collect();
            ((right_of(first), port_right[ci]), (node_x(last), port_left[ci]), runs)
        };
        let s = stroke(ch.edge);
        let (len, _) = arrow_size(bucket(s));
        let mut hops: Vec<Vec<Cubic>> = Vec::with_capacity(runs.len() + 1);
        let mut d = format!("M{},{}", num(start.0), num(start.1));
        let mut cur = start;
        let push_hop = |d: &mut String, curves: &[Cubic]| {
            for c in curves {
                w!(
                    d,
                    " C{},{} {},{} {},{}",
                    num(c.c1.0),
                    num(c.c1.1),
                    num(c.c2.0),
                    num(c.c2.1),
                    num(c.p1.0),
                    num(c.p1.1)
                );
            }
        };
        for &(entry, exit) in &runs {
            let h = hop(cur, entry, false);
            push_hop(&mut d, &h);
            hops.push(h);
            w!(d, " L{},{}", num(exit.0), num(exit.1));
            cur = exit;
        }
        let dir = if end.0 >= cur.0 { 1.0 } else { -1.0 };
        let h = hop(cur, (end.0 - dir * len, end.1), ch.back && runs.is_empty());
        push_hop(&mut d, &h);
        hops.push(h);
        for c in hops.iter().flatten() {
            grow(c.p0);
            grow(c.c1);
            grow(c.c2);
            grow(c.p1);
        }

        // The label goes on the middle hop, centred in its gap, nudged to avoid other labels.
        let label = label_text(ch.edge).map(|text| {
            let w = text_width(&text, 11.0) + 10.0;
            let hi = (hops.len().saturating_sub(1)) / 2;
            let curves = hops.get(hi).map_or(&[][..], Vec::as_slice);
            let region = label_gap(ch)
                .filter(|&gi| gi + 1 < nl)
                .map(|gi| (col_x[gi] + col_w[gi], col_x[gi + 1]))
                .unwrap_or((f64::NAN, f64::NAN));
            let centre = (region.0 + region.1) / 2.0;
            let mut choice = None;
            let candidates = if centre.is_finite() { &[0.0, -10.0, 10.0][..] } else { &[][..] };
            'search: for &dy in candidates {
                for dx in [0.0, -10.0, 10.0, -20.0, 20.0, -30.0, 30.0] {
                    let x = centre + dx;
                    if x - w / 2.0 < region.0 + 18.0 || x + w / 2.0 > region.1 - 18.0 {
                        continue;
                    }
                    let b = [x - w / 2.0, y_at_x(curves, x) + dy - 8.0, w, 16.0];
                    let clear = placed.iter().all(|p| {
                        b[0] + b[2] + 2.0 <= p[0]
                            || p[0] + p[2] + 2.0 <= b[0]
                            || b[1] + b[3] + 2.0 <= p[1]
                            || p[1] + p[3] + 2.0 <= b[1]
                    });
                    if clear {
                        choice = Some(b);
                        break 'search;
                    }
                }
            }
            let b = choice.unwrap_or_else(|| {
                let (x, y) = if centre.is_finite() {
                    (centre, y_at_x(curves, centre))
                } else {
                    curves.first().map_or(cur, |c| c.at(0.5))
                };
                [x - w / 2.0, y - 8.0, w, 16.0]
            });
            placed.push(b);
            LabelBox { x: b[0], y: b[1], w: b[2], h: b[3], text }
        });
        if let Some(b) = &label {
            grow((b.x, b.y));
            grow((b.x + b.w, b.y + b.h));
        }
        edges.push(LaidEdge {
            index: ch.edge,
            from: ch.from,
            to: ch.to,
            back: ch.back,
            path: d,
            stroke: s,
            arrow: bucket(s),
            label,
        });
    }
    edges.sort_by_key(|e| e.index);

    let view = if bbox[0].is_finite() && bbox[2] >= bbox[0] {
        let (mut x0, y0) = (bbox[0] - 16.0, bbox[1] - 16.0);
        let (mut w, h) = (bbox[2] - bbox[0] + 32.0, bbox[3] - bbox[1] + 32.0);
        if w < WIDTH {
            x0 -= (WIDTH - w) / 2.0;
            w = WIDTH;
        }
        [x0, y0, w, h]
    } else {
        [0.0, 0.0, WIDTH, 120.0]
    };
    Layout { nodes, edges, view, omitted_nodes, duplicate_nodes, ignored_edges }
}

/// Draws a directed graph left to right in layers (see [`Graph`]).
pub fn graph(g: &Graph) -> String {
    let lay = layout(g);
    if lay.nodes.is_empty() {
        return no_data("graph", &g.title);
    }
    let mut body = String::from("<defs>");
    let mut buckets: Vec<usize> = lay.edges.iter().map(|e| e.arrow).collect();
    buckets.sort_unstable();
    buckets.dedup();
    for b in buckets {
        let (len, half) = arrow_size(b);
        w!(
            body,
            "<marker id=\"{ID}-arrow-{b}\" viewBox=\"0 0 10 10\" refX=\"0\" refY=\"5\" markerUnits=\"userSpaceOnUse\" \
             markerWidth=\"{}\" markerHeight=\"{}\" orient=\"auto\" preserveAspectRatio=\"none\">\
             <path class=\"edge-arrow\" d=\"M0,0 L10,5 L0,10 z\"/></marker>",
            num(len),
            num(half * 2.0)
        );
    }
    body.push_str("</defs>");
    let name = |v: usize| node_name(&g.nodes[lay.nodes[v].index]);
    let edge_title = |e: &LaidEdge| {
        let mut t = format!("{} → {}", truncate(&name(e.from), 1400.0, 12.0), truncate(&name(e.to), 1400.0, 12.0));
        if let Some(label) = g.edges[e.index].label.as_deref().map(str::trim).filter(|l| !l.is_empty()) {
            w!(t, ": {label}");
        }
        t
    };

    body.push_str("<g class=\"edges\">");
    for e in &lay.edges {
        let mut class = String::from("edge");
        if e.from == e.to {
            class.push_str(" edge-self");
        } else if e.back {
            class.push_str(" edge-back");
        }
        w!(
            body,
            "<g class=\"{class}\"><title>{}</title><path class=\"edge-hit\" fill=\"none\" d=\"{}\"/>\
             <path class=\"edge-line\" fill=\"none\" stroke-width=\"{}\" marker-end=\"url(#{ID}-arrow-{})\" d=\"{}\"/></g>",
            esc(&edge_title(e)),
            e.path,
            num(e.stroke),
            e.arrow,
            e.path
        );
    }
    body.push_str("</g><g class=\"edge-labels\">");
    for e in &lay.edges {
        if let Some(b) = &e.label {
            w!(
                body,
                "<g class=\"edge-label\"><title>{}</title><rect class=\"edge-label-bg\" x=\"{}\" y=\"{}\" width=\"{}\" \
                 height=\"{}\" rx=\"3\"/><text class=\"edge-label-text\" x=\"{}\" y=\"{}\" text-anchor=\"middle\" \
                 dy=\"0.35em\">{}</text></g>",
                esc(&edge_title(e)),
                num(b.x),
                num(b.y),
                num(b.w),
                num(b.h),
                num(b.x + b.w / 2.0),
                num(b.y + b.h / 2.0),
                esc(&b.text)
            );
        }
    }
    body.push_str("</g><g class=\"nodes\">");
    for nd in &lay.nodes {
        let src = &g.nodes[nd.index];
        let mut title = node_name(src);
        if let Some(detail) = src.detail.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
            w!(title, " — {detail}");
        }
        if src.state != NodeState::Plain {
            w!(title, " ({})", src.state.word());
        }
        let rx = if matches!(src.state, NodeState::Start | NodeState::End) { nd.height / 2.0 } else { 6.0 };
        let cx = nd.x + nd.width / 2.0;
        let mut el = format!(
            "<g class=\"node {}\"><title>{}</title><rect class=\"node-box\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"{}\"/>",
            src.state.class(),
            esc(&title),
            num(nd.x),
            num(nd.y),
            num(nd.width),
            num(nd.height),
            num(rx)
        );
        let label_y = if nd.detail.is_some() { nd.y + 16.0 } else { nd.y + nd.height / 2.0 };
        w!(
            el,
            "<text class=\"node-label\" x=\"{}\" y=\"{}\" text-anchor=\"middle\" dy=\"0.35em\">{}</text>",
            num(cx),
            num(label_y),
            esc(&nd.label)
        );
        if let Some(detail) = &nd.detail {
            w!(
                el,
                "<text class=\"node-detail\" x=\"{}\" y=\"{}\" text-anchor=\"middle\" dy=\"0.35em\">{}</text>",
                num(cx),
                num(nd.y + 32.0),
                esc(detail)
            );
        }
        el.push_str("</g>");
        match src.href.as_deref().and_then(safe_href) {
            Some(href) => w!(body, "<a class=\"node-link\" href=\"{href}\">{el}</a>"),
            None => body.push_str(&el),
        }
    }
    body.push_str("</g>");

    // The description: counts, states, then the nodes and edges in words.
    let layers = lay.nodes.iter().map(|nd| nd.layer + 1).max().unwrap_or(0);
    let backs = lay.edges.iter().filter(|e| e.back && e.from != e.to).count();
    let selfs = lay.edges.iter().filter(|e| e.from == e.to).count();
    let mut desc = format!(
        "Directed graph of {} and {}, drawn left to right in {}.",
        plural(lay.nodes.len() as u64, "node", "nodes"),
        plural(lay.edges.len() as u64, "edge", "edges"),
        plural(layers as u64, "layer", "layers")
    );
    if backs > 0 {
        w!(desc, " {} back against the flow (cycles).", plural(backs as u64, "edge leads", "edges lead"));
    }
    if selfs > 0 {
        w!(desc, " {} a node to itself.", plural(selfs as u64, "edge leads from", "edges lead from"));
    }
    let mut counts: Vec<(NodeState, usize)> = Vec::new();
    for nd in &lay.nodes {
        let s = g.nodes[nd.index].state;
        match counts.iter_mut().find(|(k, _)| *k == s) {
            Some((_, c)) => *c += 1,
            None => counts.push((s, 1)),
        }
    }
    let states: Vec<String> =
        counts.iter().filter(|(s, _)| *s != NodeState::Plain).map(|(s, c)| format!("{c} {}", s.word())).collect();
    if !states.is_empty() {
        w!(desc, " States: {}.", states.join(", "));
    }
    if lay.omitted_nodes > 0 {
        w!(
            desc,
            " Only the first {MAX_NODES} of {} nodes are shown; edges to the others are left out.",
            MAX_NODES + lay.omitted_nodes
        );
    }
    if lay.duplicate_nodes > 0 {
        w!(
            desc,
            " {} ignored.",
            plural(lay.duplicate_nodes as u64, "node with a repeated id was", "nodes with repeated ids were")
        );
    }
    let unknown = lay.ignored_edges;
    if unknown > 0 && lay.omitted_nodes == 0 {
        w!(
            desc,
            " {} not shown.",
            plural(unknown as u64, "edge naming an unknown node is", "edges naming unknown nodes are")
        );
    }
    let node_words: Vec<String> = lay
        .nodes
        .iter()
        .map(|nd| {
            let src = &g.nodes[nd.index];
            let mut s = node_name(src);
            if let Some(d) = src.detail.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
                w!(s, ", {d}");
            }
            if src.state != NodeState::Plain {
                w!(s, " ({})", src.state.word());
            }
            s
        })
        .collect();
    w!(desc, " Nodes: {}.", list_words(&node_words));
    if !lay.edges.is_empty() {
        let edge_words: Vec<String> = lay.edges.iter().map(edge_title).collect();
        w!(desc, " Edges: {}.", list_words(&edge_words));
    }
    frame("graph", &g.title, &desc, lay.view, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: &str) -> Node {
        Node { id: id.to_string(), label: id.to_string(), ..Node::default() }
    }

    fn edge(from: &str, to: &str) -> Edge {
        Edge { from: from.to_string(), to: to.to_string(), label: None, weight: 1.0 }
    }

    fn graph_of(nodes: &[&str], edges: &[(&str, &str)]) -> Graph {
        Graph {
            title: "Test".to_string(),
            nodes: nodes.iter().map(|id| node(id)).collect(),
            edges: edges.iter().map(|(a, b)| edge(a, b)).collect(),
        }
    }

    /// Tags balance, attributes are quoted, `&` only starts entities, and there is one root `<svg>`.
    fn assert_well_formed(svg: &str) {
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

    fn count(haystack: &str, needle: &str) -> usize {
        haystack.matches(needle).count()
    }

    #[test]
    fn nice_ticks_are_1_2_5_steps_from_zero() {
        assert_eq!(nice_ticks(0.0, 37.0).values, vec![0.0, 10.0, 20.0, 30.0, 40.0]);
        assert_eq!(nice_ticks(3.0, 37.0).values, vec![0.0, 10.0, 20.0, 30.0, 40.0]);
        assert_eq!(nice_ticks(0.0, 100.0).values, vec![0.0, 20.0, 40.0, 60.0, 80.0, 100.0]);
        assert_eq!(nice_ticks(0.0, 7.0).values, vec![0.0, 2.0, 4.0, 6.0, 8.0]);
        assert_eq!(nice_ticks(-3.0, 8.0).values, vec![-5.0, 0.0, 5.0, 10.0]);
        assert_eq!(nice_ticks(0.0, 0.0).values, vec![0.0, 1.0]);
        assert_eq!(nice_ticks(f64::NAN, f64::INFINITY).values, vec![0.0, 1.0]);
        let small = nice_ticks(0.0, 0.9);
        assert_eq!(small.labels(), vec!["0", "0.2", "0.4", "0.6", "0.8", "1.0"]);
        assert_eq!(nice_ticks(0.0, 0.23).labels(), vec!["0", "0.05", "0.10", "0.15", "0.20", "0.25"]);
        assert_eq!(nice_ticks(0.0, 42_000.0).labels(), vec!["0", "10k", "20k", "30k", "40k", "50k"]);
        assert_eq!(nice_ticks(0.0, 2.5e6).labels(), vec!["0", "0.5M", "1.0M", "1.5M", "2.0M", "2.5M"]);
        let huge = nice_ticks(-f64::MAX, f64::MAX);
        assert!(huge.values.iter().all(|v| v.is_finite()));
    }

    #[test]
    fn values_are_formatted_for_people() {
        assert_eq!(with_unit(41.0, " completed "), "41 completed");
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

        let two = LineChart {
            series: vec![
                Series { name: "A".into(), values: vec![1.0, 2.0] },
                Series { name: "B".into(), values: vec![3.0] },
            ],
            ..chart
        };
        let svg = line_chart(&two);
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
            unit: String::new(),
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
    fn diamond_is_layered_0_1_1_2() {
        let g = graph_of(&["a", "b", "c", "d"], &[("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")]);
        let lay = layout(&g);
        let layers: Vec<usize> = lay.nodes.iter().map(|n| n.layer).collect();
        assert_eq!(layers, vec![0, 1, 1, 2]);
        assert!(lay.edges.iter().all(|e| !e.back));
        // b and c share a column, one above the other; columns go left to right.
        let (a, b, c, d) = (&lay.nodes[0], &lay.nodes[1], &lay.nodes[2], &lay.nodes[3]);
        assert!((b.x + b.width / 2.0 - (c.x + c.width / 2.0)).abs() < 1e-9);
        assert!(a.x + a.width < b.x && b.x + b.width < d.x);
        assert!(b.y + b.height <= c.y || c.y + c.height <= b.y);
        // a and d sit centred between b and c.
        let mid = |n: &LaidNode| n.y + n.height / 2.0;
        assert!((mid(a) - (mid(b) + mid(c)) / 2.0).abs() < 1.0);
        assert!((mid(d) - mid(a)).abs() < 1.0);
    }

    #[test]
    fn arrows_end_at_the_node_border() {
        let g = graph_of(&["a", "b"], &[("a", "b")]);
        let lay = layout(&g);
        let path = &lay.edges[0].path;
        let end = path.rsplit(' ').next().unwrap_or("");
        let (x, y) = end.split_once(',').unwrap_or(("", ""));
        let (x, y): (f64, f64) = (x.parse().unwrap_or(f64::NAN), y.parse().unwrap_or(f64::NAN));
        let b = &lay.nodes[1];
        let (len, _) = arrow_size(lay.edges[0].arrow);
        assert!((x + len - b.x).abs() < 0.11, "{path} vs {b:?}");
        assert!((y - (b.y + b.height / 2.0)).abs() < 0.11);
        assert!(path.starts_with(&format!("M{},", num(lay.nodes[0].x + lay.nodes[0].width))));
    }

    #[test]
    fn cycles_and_self_loops_still_lay_out() {
        let g = graph_of(&["a", "b"], &[("a", "b"), ("b", "a"), ("b", "b")]);
        let lay = layout(&g);
        assert_eq!(lay.nodes.len(), 2);
        assert_eq!(lay.nodes.iter().map(|n| n.layer).collect::<Vec<_>>(), vec![0, 1]);
        assert_eq!(lay.edges.len(), 3);
        assert!(!lay.edges[0].back);
        assert!(lay.edges[1].back && lay.edges[1].from == 1 && lay.edges[1].to == 0);
        assert!(lay.edges[2].from == 1 && lay.edges[2].to == 1);
        // The back edge dips below the forward one.
        assert_ne!(lay.edges[0].path, lay.edges[1].path);
        let svg = graph(&g);
        assert_well_formed(&svg);
        assert_eq!(count(&svg, "class=\"edge edge-back\""), 1);
        assert_eq!(count(&svg, "class=\"edge edge-self\""), 1);
        assert!(svg.contains("1 edge leads back against the flow (cycles)."));

        let ring = graph_of(&["a", "b", "c"], &[("a", "b"), ("b", "c"), ("c", "a")]);
        let lay = layout(&ring);
        assert_eq!(lay.nodes.iter().map(|n| n.layer).collect::<Vec<_>>(), vec![0, 1, 2]);
        assert_eq!(lay.edges.iter().filter(|e| e.back).count(), 1);
    }

    #[test]
    fn nodes_in_a_layer_never_overlap() {
        let ids: Vec<String> = (0..30).map(|i| format!("n{i}")).collect();
        let mut edges = Vec::new();
        for i in 0..30usize {
            edges.push(Edge {
                from: ids[i].clone(),
                to: ids[(i * 7 + 3) % 30].clone(),
                label: Some(format!("{i} · 1 h")),
                weight: i as f64,
            });
            edges.push(Edge { from: ids[i].clone(), to: ids[(i + 1) % 30].clone(), label: None, weight: 1.0 });
            edges.push(Edge { from: ids[i].clone(), to: ids[i].clone(), label: Some("loop".into()), weight: 2.0 });
        }
        let g = Graph {
            title: "DFG".into(),
            nodes: ids.iter().map(|id| Node { detail: Some("12 cases".into()), ..node(id) }).collect(),
            edges,
        };
        let lay = layout(&g);
        assert_eq!(lay.nodes.len(), 30);
        for (i, a) in lay.nodes.iter().enumerate() {
            for b in &lay.nodes[i + 1..] {
                let apart_y = a.y + a.height <= b.y || b.y + b.height <= a.y;
                let apart_x = a.x + a.width <= b.x || b.x + b.width <= a.x;
                assert!(apart_x || apart_y, "{a:?} overlaps {b:?}");
                if a.layer == b.layer {
                    assert!(apart_y);
                }
            }
        }
        // Labels do not overlap nodes.
        for e in &lay.edges {
            if let Some(l) = &e.label {
                for n in &lay.nodes {
                    let apart = l.x + l.w <= n.x || n.x + n.width <= l.x || l.y + l.h <= n.y || n.y + n.height <= l.y;
                    assert!(apart, "label {l:?} over node {n:?}");
                }
            }
        }
        let svg = graph(&g);
        assert_well_formed(&svg);
        assert_eq!(svg, graph(&g));
    }

    #[test]
    fn barycenter_sweeps_remove_crossings() {
        let g = graph_of(&["a", "b", "c", "d"], &[("a", "d"), ("b", "c")]);
        let lay = layout(&g);
        let (a, b, c, d) = (&lay.nodes[0], &lay.nodes[1], &lay.nodes[2], &lay.nodes[3]);
        assert_eq!((a.layer, b.layer, c.layer, d.layer), (0, 0, 1, 1));
        assert!(a.y < b.y);
        assert!(d.y < c.y, "edges a→d and b→c should not cross");
    }

    #[test]
    fn unknown_edges_duplicates_and_the_node_cap() {
        let mut g = graph_of(&["a", "b", "a"], &[("a", "b"), ("a", "ghost"), ("ghost", "b")]);
        let lay = layout(&g);
        assert_eq!(lay.nodes.len(), 2);
        assert_eq!(lay.duplicate_nodes, 1);
        assert_eq!(lay.ignored_edges, 2);
        assert_eq!(lay.edges.len(), 1);
        let svg = graph(&g);
        assert!(svg.contains("2 edges naming unknown nodes are not shown."));
        assert!(svg.contains("1 node with a repeated id was ignored."));

        g.nodes = (0..75).map(|i| node(&format!("n{i}"))).collect();
        g.edges = (0..74).map(|i| edge(&format!("n{i}"), &format!("n{}", i + 1))).collect();
        let lay = layout(&g);
        assert_eq!(lay.nodes.len(), 60);
        assert_eq!(lay.omitted_nodes, 15);
        assert_eq!(lay.nodes.last().map(|n| n.layer), Some(59));
        assert_eq!(lay.edges.len(), 59);
        let svg = graph(&g);
        assert_well_formed(&svg);
        assert!(svg.contains("Only the first 60 of 75 nodes are shown"));
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
