//! Line, bar and column charts.

use super::*;
use orgata_reports::text::{number, plural};
use std::fmt::Write as _;

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
