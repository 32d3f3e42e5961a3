//! Line, bar and column charts.

use super::*;
use orgata_reports::text::plural;
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
    pub unit: Unit,
    /// Per x position, whether it is a partial period (shaded and said so); empty for none.
    pub partial: Vec<bool>,
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
    pub unit: Unit,
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

/// Horizontal box plots: how a set of values (e.g. case durations) is distributed, one row each.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BoxPlot {
    /// Title, for screen readers (the page shows its own heading).
    pub title: String,
    /// The distributions, top to bottom.
    pub rows: Vec<Distribution>,
    /// Unit of the values (durations: [`Unit::Duration`]).
    pub unit: Unit,
}

/// One row of a [`BoxPlot`]: the five-number summary, the mean and further marked quantiles.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Distribution {
    /// Label left of the row.
    pub label: String,
    pub min: f64,
    /// The first quartile (the box's left edge).
    pub p25: f64,
    pub median: f64,
    /// The third quartile (the box's right edge).
    pub p75: f64,
    pub max: f64,
    pub mean: f64,
    /// Further values marked on the row with their names, e.g. `("90th percentile", …)`.
    pub marks: Vec<(String, f64)>,
}

/// Vertical columns (e.g. counts per category).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ColumnChart {
    /// Title, for screen readers (the page shows its own heading).
    pub title: String,
    /// Label and value of each column, left to right.
    pub columns: Vec<(String, f64)>,
    /// Unit of the values (shown on the y axis and in tooltips).
    pub unit: Unit,
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
    let ticks = chart.unit.ticks(lo, hi);
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
    top += unit_label(&mut body, chart.unit.name(), top);
    let bottom = top + 220.0;
    let height = bottom + 36.0;
    y_grid(&mut body, &ticks, left, right, top, bottom);
    let xs: Vec<f64> = (0..n)
        .map(|i| if n == 1 { (left + right) / 2.0 } else { left + (right - left) * i as f64 / (n - 1) as f64 })
        .collect();
    let y_of = |v: f64| bottom - ticks.frac(v) * (bottom - top);
    let labels: Vec<String> = (0..n).map(|i| chart.x_labels.get(i).cloned().unwrap_or_default()).collect();
    x_labels(&mut body, &labels, &xs, bottom + 18.0, WIDTH);
    let partial: Vec<usize> = (0..n).filter(|&i| chart.partial.get(i).copied().unwrap_or(false)).collect();
    let slot = if n == 1 { right - left } else { (right - left) / (n - 1) as f64 };
    for &i in &partial {
        let (x0, x1) = ((xs[i] - slot / 2.0).max(left), (xs[i] + slot / 2.0).min(right));
        w!(
            body,
            "<rect class=\"partial-band\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"><title>{}</title></rect>",
            num(x0),
            num(top),
            num((x1 - x0).max(1.0)),
            num(bottom - top),
            esc(&format!("{}: a partial period, not comparable with whole ones", x_name(i)))
        );
        if x1 - x0 >= text_width("partial", 11.0) + 4.0 {
            w!(
                body,
                "<text class=\"partial-label\" x=\"{}\" y=\"{}\" text-anchor=\"middle\" dy=\"0.35em\">partial</text>",
                num((x0 + x1) / 2.0),
                num(top + 8.0)
            );
        }
    }

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
                format!("{} — {}: {}", names[si], x_name(i), chart.unit.value(v))
            } else {
                format!("{}: {}", x_name(i), chart.unit.value(v))
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
    if !chart.unit.name().is_empty() {
        w!(desc, " Values in {}.", chart.unit.name());
    }
    if !partial.is_empty() {
        let names: Vec<String> = partial.iter().map(|&i| x_name(i)).collect();
        w!(desc, " Partial periods: {}.", list_words(&names));
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
                    chart.unit.value(last),
                    chart.unit.plain(vals.iter().copied().fold(f64::INFINITY, f64::min)),
                    chart.unit.plain(vals.iter().copied().fold(f64::NEG_INFINITY, f64::max))
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
    let ticks = chart.unit.ticks(0.0, totals.iter().copied().fold(0.0, f64::max));
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
    x_grid(&mut body, &ticks, &x_of, top, bottom);
    if !chart.unit.name().is_empty() {
        w!(
            body,
            "<text class=\"axis-label\" x=\"{}\" y=\"{}\" text-anchor=\"end\" dy=\"0.35em\">{}</text>",
            num(left - 14.0),
            num(bottom + 16.0),
            esc(&truncate(chart.unit.name(), left - 22.0, 12.0))
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
                format!("{} — {}: {}", or_default(&bar.label, String::new), seg_names[j], chart.unit.value(v))
            } else {
                format!("{}: {}", or_default(&bar.label, String::new), chart.unit.value(v))
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
    if !chart.unit.name().is_empty() {
        w!(desc, ", in {}", chart.unit.name());
    }
    let items: Vec<String> = chart
        .bars
        .iter()
        .zip(&totals)
        .map(|(b, &t)| {
            let value =
                if b.value_text.trim().is_empty() { chart.unit.value(t) } else { b.value_text.trim().to_string() };
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
    let ticks = chart.unit.ticks(lo, hi);
    let left = tick_margin(&ticks);
    let right = WIDTH - 16.0;
    let mut body = String::new();
    let top = 12.0 + unit_label(&mut body, chart.unit.name(), 12.0);
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
        chart.columns.iter().all(|c| !c.1.is_finite() || text_width(&chart.unit.plain(c.1), 11.0) + 4.0 <= band)
            && n <= 40;
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
            esc(&format!("{}: {}", name(i, label), chart.unit.value(*v)))
        );
        if show_values {
            let ty = if *v < 0.0 { y + 9.0 } else { y - 8.0 };
            w!(
                body,
                "<text class=\"column-value\" x=\"{}\" y=\"{}\" text-anchor=\"middle\" dy=\"0.35em\">{}</text>",
                num(xs[i]),
                num(ty),
                esc(&chart.unit.plain(*v))
            );
        }
    }

    let mut desc = format!("Column chart of {}", plural(n as u64, "column", "columns"));
    if !chart.unit.name().is_empty() {
        w!(desc, ", in {}", chart.unit.name());
    }
    let mut best: Option<(usize, f64)> = None;
    for (i, c) in chart.columns.iter().enumerate() {
        if c.1.is_finite() && best.is_none_or(|(_, b)| c.1 > b) {
            best = Some((i, c.1));
        }
    }
    if let Some((i, v)) = best {
        w!(desc, ". Highest: {} ({})", name(i, &chart.columns[i].0), chart.unit.value(v));
    }
    let items: Vec<String> = chart
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{}: {}", name(i, &c.0), chart.unit.plain(c.1)))
        .collect();
    w!(desc, ". {}.", list_words(&items));
    frame("column", &chart.title, &desc, [0.0, 0.0, WIDTH, bottom + 36.0], &body)
}

// ---------------------------------------------------------------------------------------------
// Box plot
// ---------------------------------------------------------------------------------------------

/// Draws one horizontal box plot per row on a shared value axis: whiskers from the minimum to
/// the maximum, a box over the middle half (first to third quartile), a bar at the median, a dot
/// at the mean and a dashed tick per mark, each with its tooltip; under each row the figures in
/// words.
pub fn box_plot(chart: &BoxPlot) -> String {
    let figures = |d: &Distribution| [d.min, d.p25, d.median, d.p75, d.max, d.mean];
    let rows: Vec<&Distribution> = chart.rows.iter().filter(|d| figures(d).iter().all(|v| v.is_finite())).collect();
    if rows.is_empty() {
        return no_data("box", &chart.title);
    }
    let lo = rows.iter().map(|d| d.min).fold(f64::INFINITY, f64::min);
    let hi = rows.iter().flat_map(|d| [d.max].into_iter().chain(d.marks.iter().map(|m| m.1))).fold(lo, f64::max);
    let ticks = chart.unit.ticks(lo, hi);
    let labels: Vec<String> = rows.iter().map(|d| truncate(d.label.trim(), 160.0, 12.0)).collect();
    let label_w = labels.iter().map(|l| text_width(l, 12.0)).fold(0.0, f64::max);
    let left = if label_w > 0.0 { 12.0 + label_w + 12.0 } else { 16.0 }.max(16.0);
    let right = (WIDTH - 24.0).max(left + 100.0);
    let x_of = |v: f64| left + ticks.frac(v) * (right - left);
    let (top, row) = (12.0, 78.0);
    let bottom = top + row * rows.len() as f64;
    let mut body = String::new();
    x_grid(&mut body, &ticks, &x_of, top, bottom);
    let unit = &chart.unit;
    let mut items = Vec::new();
    for (i, d) in rows.iter().enumerate() {
        let yc = top + row * i as f64 + 20.0;
        let name = or_default(&d.label, || format!("Row {}", i + 1));
        let tip = |what: &str, v: f64| esc(&format!("{name} — {what}: {}", unit.value(v)));
        let mut g = String::from("<g class=\"box-row\">");
        if !labels[i].is_empty() {
            w!(
                g,
                "<text class=\"bar-label\" x=\"{}\" y=\"{}\" text-anchor=\"end\" dy=\"0.35em\">{}</text>",
                num(left - 10.0),
                num(yc),
                esc(&labels[i])
            );
        }
        for (from, to) in [(d.min, d.p25), (d.p75, d.max)] {
            w!(
                g,
                "<line class=\"whisker\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/>",
                num(x_of(from)),
                num(yc),
                num(x_of(to)),
                num(yc)
            );
        }
        for (what, v) in [("shortest", d.min), ("longest", d.max)] {
            let x = num(x_of(v));
            w!(
                g,
                "<line class=\"whisker-cap\" x1=\"{x}\" y1=\"{}\" x2=\"{x}\" y2=\"{}\"><title>{}</title></line>",
                num(yc - 8.0),
                num(yc + 8.0),
                tip(what, v)
            );
        }
        let middle = format!("{name} — the middle half: {} to {}", unit.value(d.p25), unit.value(d.p75));
        w!(
            g,
            "<rect class=\"box series-0\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"24\"><title>{}</title></rect>",
            num(x_of(d.p25)),
            num(yc - 12.0),
            num((x_of(d.p75) - x_of(d.p25)).max(1.0)),
            esc(&middle)
        );
        for (mark, v) in &d.marks {
            let x = num(x_of(*v));
            w!(
                g,
                "<line class=\"mark\" x1=\"{x}\" y1=\"{}\" x2=\"{x}\" y2=\"{}\"><title>{}</title></line>",
                num(yc - 14.0),
                num(yc + 14.0),
                tip(mark, *v)
            );
        }
        let x = num(x_of(d.median));
        w!(
            g,
            "<line class=\"median\" x1=\"{x}\" y1=\"{}\" x2=\"{x}\" y2=\"{}\"><title>{}</title></line>",
            num(yc - 12.0),
            num(yc + 12.0),
            tip("median", d.median)
        );
        w!(
            g,
            "<circle class=\"mean\" cx=\"{}\" cy=\"{}\" r=\"4.5\"><title>{}</title></circle>",
            num(x_of(d.mean)),
            num(yc),
            tip("mean", d.mean)
        );
        let middle_half = format!("middle half {} to {}", unit.value(d.p25), unit.value(d.p75));
        let mut first =
            vec![format!("median {}", unit.value(d.median)), format!("mean {}", unit.value(d.mean)), middle_half];
        let mut second = vec![format!("shortest {}", unit.value(d.min))];
        second.extend(d.marks.iter().map(|(mark, v)| format!("{mark} {}", unit.value(*v))));
        second.push(format!("longest {}", unit.value(d.max)));
        for (k, line) in [first.join(" · "), second.join(" · ")].iter().enumerate() {
            w!(
                g,
                "<text class=\"box-figures\" x=\"{}\" y=\"{}\" dy=\"0.35em\">{}</text>",
                num(left),
                num(yc + 24.0 + 14.0 * k as f64),
                esc(&truncate(line, WIDTH - left - 8.0, 11.0))
            );
        }
        first.append(&mut second);
        let line = first.join(" · ");
        g.push_str("</g>");
        body.push_str(&g);
        items.push(format!("{name}: {line}"));
    }
    let mut desc = format!("Box plot of {}", plural(rows.len() as u64, "distribution", "distributions"));
    if !unit.name().is_empty() {
        w!(desc, ", in {}", unit.name());
    }
    w!(desc, ". {}.", list_words(&items));
    frame("box", &chart.title, &desc, [0.0, 0.0, WIDTH, bottom + 34.0], &body)
}
