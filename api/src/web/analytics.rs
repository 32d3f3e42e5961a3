//! Analytics: case durations and throughput, variants, the directly-follows graph, the
//! bottleneck report and period comparison — drawn as SVG charts and graphs from the same
//! reports REST, the CLI and MCP give (`App::team_report`).

use super::WebState;
use super::render::{PageError, PageResult, page, value};
use super::session::Viewer;
use super::svg;
use crate::app::AppError;
use arrow::array::{ArrayRef, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use orgata_engine::{InstanceId, Permission, TeamId};
use orgata_reports::text::{self, duration};
use orgata_reports::{Filter, Period, Report, ReportKind, ReportOptions, ReportOutput, Unit, Versus};
use orgata_warehouse::{OutputFormat, QueryResult, WarehouseError};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

/// The most directly-follows edges drawn (the most frequent); the rest are listed as left out.
const GRAPH_EDGES: usize = 40;
/// Variants drawn and listed at first.
const VARIANTS: usize = 15;
/// Variants listed at most, the rest behind "more" (the REST report and the CLI have them all).
const VARIANTS_LISTED: usize = 500;
/// Pairs of the temporal profile listed (the most observed).
const PROFILE_PAIRS: usize = 50;

pub fn routes() -> Router<WebState> {
    Router::new().route("/teams/{team}/analytics", get(analytics)).route("/teams/{team}/analytics.csv", get(download))
}

/// The page's filters, as the form sends them (dates as `YYYY-MM-DD`).
#[derive(Deserialize, Default, Clone)]
struct AnalyticsQuery {
    tab: Option<String>,
    source: Option<String>,
    playbook: Option<String>,
    from: Option<String>,
    to: Option<String>,
    period: Option<String>,
    versus_from: Option<String>,
    versus_to: Option<String>,
    /// `1`: the report section alone, waiting for it (what a page showing "computing" fetches).
    fragment: Option<String>,
}

/// A date field: empty is none, anything else must be a date.
/// Dates outside years 1 to 9999 are refused, so that the day after one, and a period as long
/// before one, are still times.
fn date(field: &str, text: &Option<String>) -> Result<Option<DateTime<Utc>>, AppError> {
    match text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(t) => NaiveDate::parse_from_str(t, "%Y-%m-%d")
            .ok()
            .filter(|d| (1..=9999).contains(&d.year()))
            .map(|d| Some(d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()))
            .ok_or_else(|| AppError::invalid_field(field, format!("`{t}` is not a date like 2024-03-01"))),
    }
}

/// What a tab computes: the page's filters, checked and owned (the figure cache's key).
#[derive(Clone, Debug)]
struct Request {
    tab: String,
    source: Option<String>,
    playbook: Option<String>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    period: Period,
    /// compare: the other period.
    versus: Option<(DateTime<Utc>, DateTime<Utc>)>,
}

impl Request {
    /// The events the tab's reports cover and what they take besides.
    fn inputs(&self) -> Result<(Filter, ReportOptions), AppError> {
        let filter = orgata_reports::filter_of(
            self.source.as_deref(),
            self.playbook.as_deref(),
            None,
            self.from,
            self.to,
            false,
        )?;
        let mut options = ReportOptions { period: self.period, ..Default::default() };
        if let Some((from, to)) = self.versus {
            options.versus = Versus { from: Some(from), to: Some(to), ..Default::default() };
        }
        Ok((filter, options))
    }
}

/// What the page's filters ask for, checked: a date that is no date is a problem in words (and
/// left out); the compare tab's periods default to the last 30 days against the 30 before.
fn request_of(q: &AnalyticsQuery, problems: &mut Vec<String>) -> Request {
    let tab = q.tab.clone().filter(|t| !t.is_empty()).unwrap_or_else(|| "overview".into());
    let mut checked = |field: &str, text: &Option<String>| {
        date(field, text).unwrap_or_else(|e| {
            problems.push(e.errors.into_iter().next().map_or(e.detail, |problem| problem.message));
            None
        })
    };
    let (from, to) = (checked("from", &q.from), checked("to", &q.to).map(|t| t + Duration::days(1)));
    let (versus_from, versus_to) =
        (checked("versus_from", &q.versus_from), checked("versus_to", &q.versus_to).map(|t| t + Duration::days(1)));
    let period = if q.period.as_deref() == Some("day") { Period::Day } else { Period::Week };
    let mut request = Request {
        tab: tab.clone(),
        source: q.source.clone().filter(|x| !x.trim().is_empty()),
        playbook: q.playbook.clone().filter(|x| !x.is_empty()),
        from,
        to,
        period,
        versus: None,
    };
    if tab == "compare" {
        // By default the last 30 days (to the end of today, so the figures' key holds all day)
        // against the 30 days before.
        let tomorrow = (Utc::now() + Duration::days(1)).date_naive().and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
        let (base_from, base_to) = (from.unwrap_or(tomorrow - Duration::days(30)), to.unwrap_or(tomorrow));
        let versus_from = versus_from.unwrap_or(base_from - (base_to - base_from));
        let versus_to = versus_to.unwrap_or(base_from);
        (request.from, request.to, request.versus) = (Some(base_from), Some(base_to), Some((versus_from, versus_to)));
    }
    request
}

async fn analytics(
    State(s): State<WebState>,
    viewer: Viewer,
    Path(team): Path<TeamId>,
    Query(q): Query<AnalyticsQuery>,
) -> PageResult {
    let t = viewer.team(&team)?.clone();
    let fragment = q.fragment.as_deref() == Some("1");
    let playbooks = s.app.engine.playbooks(&viewer.scope, Some(&team)).await?;
    let mut problems = Vec::new();
    let request = request_of(&q, &mut problems);
    let (tab, period) = (request.tab.clone(), request.period);
    let day = |d: Option<DateTime<Utc>>, end: bool| {
        d.map(|d| if end { d - Duration::seconds(1) } else { d }.format("%Y-%m-%d").to_string()).unwrap_or_default()
    };
    let mut context = json!({
        "tab": tab, "playbooks": value(&playbooks),
        "filter": {
            "source": request.source.clone().unwrap_or_default(), "playbook": request.playbook.clone().unwrap_or_default(),
            "from": day(request.from, false), "to": day(request.to, true),
            "period": if period == Period::Day { "day" } else { "week" },
            "versus_from": day(request.versus.map(|v| v.0), false), "versus_to": day(request.versus.map(|v| v.1), true),
        },
    });
    if problems.is_empty() {
        if viewer.scope.can(&team, Permission::AnalyticsRead) {
            let key = format!("analytics/{team}/{request:?}");
            let (state, scope, team) = (s.clone(), viewer.scope.clone(), team.clone());
            let compute = move || async move { compute(&state, &scope, &team, &request).await };
            let outcome =
                if fragment { Some(s.figures.get(key, compute).await) } else { s.figures.peek(key, compute).await };
            match outcome {
                Some(report) => match report.get("error").and_then(Value::as_str) {
                    Some(error) => problems.push(format!("The report could not be computed: {error}")),
                    None => context["report"] = report,
                },
                None => {
                    context["pending"] = json!(true);
                    context["fragment"] = json!(format!("{}&fragment=1", page_url(&t.id, &q, "analytics")));
                }
            }
        } else {
            problems.push("Your role in this team does not include analytics.".into());
        }
    }
    context["problems"] = json!(problems);
    context["csv"] = json!(page_url(&t.id, &q, "analytics.csv"));
    if fragment {
        context["team"] = json!({ "id": t.id, "name": t.name });
        context["fragment_mode"] = json!(true);
        return Ok(Html(super::render::render("analytics_report.html", &context)?).into_response());
    }
    page(&viewer, Some(&t), "analytics", "analytics.html", context)
}

/// The address of the page (`analytics`), or of its table as CSV (`analytics.csv`), with its
/// filters.
fn page_url(team: &TeamId, q: &AnalyticsQuery, path: &str) -> String {
    let pairs = [
        ("tab", &q.tab),
        ("source", &q.source),
        ("playbook", &q.playbook),
        ("from", &q.from),
        ("to", &q.to),
        ("period", &q.period),
        ("versus_from", &q.versus_from),
        ("versus_to", &q.versus_to),
    ];
    let query: Vec<String> = pairs
        .iter()
        .filter_map(|(k, v)| v.as_deref().map(|v| format!("{k}={}", super::session::url_encode(v))))
        .collect();
    format!("/teams/{team}/{path}?{}", query.join("&"))
}

/// The table of a tab as a CSV file, with its figures as numbers (durations in seconds, shares
/// from 0 to 1): the same report the page draws, for a spreadsheet.
async fn download(
    State(s): State<WebState>,
    viewer: Viewer,
    Path(team): Path<TeamId>,
    Query(q): Query<AnalyticsQuery>,
) -> Result<Response, PageError> {
    viewer.team(&team)?;
    let mut problems = Vec::new();
    let r = request_of(&q, &mut problems);
    if let Some(problem) = problems.into_iter().next() {
        return Err(AppError::bad_request(problem).into());
    }
    let (filter, options) = r.inputs()?;
    let kind = match r.tab.as_str() {
        "variants" => ReportKind::Variants,
        "dfg" => ReportKind::Dfg,
        "bottlenecks" => ReportKind::Bottlenecks,
        "compare" => ReportKind::Compare,
        "anomalies" => ReportKind::Anomalies,
        _ => ReportKind::Timeline,
    };
    let report = s.app.team_report(&viewer.scope, &team, kind, &filter, &options).await?.report;
    let (headers, rows) = table(&report);
    let body = csv(&headers, &rows)?;
    let disposition = format!("attachment; filename=\"orgata-{}.csv\"", kind.as_str());
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8")),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&disposition).unwrap_or(HeaderValue::from_static("attachment")),
            ),
        ],
        body,
    )
        .into_response())
}

/// A report's table: its column names and rows, figures as plain numbers.
fn table(report: &Report) -> (Vec<&'static str>, Vec<Vec<String>>) {
    let n = |v: f64| v.to_string();
    let maybe = |v: Option<f64>| v.map(n).unwrap_or_default();
    match report {
        Report::Variants(v) => (
            vec!["rank", "path", "steps", "cases", "share", "median_duration_s", "mean_duration_s"],
            v.variants
                .iter()
                .enumerate()
                .map(|(i, x)| {
                    vec![
                        (i + 1).to_string(),
                        x.activities.join(" → "),
                        x.activities.len().to_string(),
                        x.frequency.to_string(),
                        n(x.share),
                        n(x.median_duration_s),
                        n(x.mean_duration_s),
                    ]
                })
                .collect(),
        ),
        Report::Dfg(g) => (
            vec!["from", "to", "frequency", "mean_s", "median_s", "max_s"],
            g.edges
                .iter()
                .map(|e| {
                    vec![e.from.clone(), e.to.clone(), e.frequency.to_string(), n(e.mean_s), n(e.median_s), n(e.max_s)]
                })
                .collect(),
        ),
        Report::Bottlenecks(b) => (
            vec!["activity", "follow_up", "share", "waiting_share", "total_s", "occurrences", "rework_cases", "queue"],
            b.activities
                .iter()
                .map(|a| {
                    vec![
                        a.times.activity.clone(),
                        a.follow_up.to_string(),
                        n(a.share),
                        maybe(a.waiting_share),
                        n(a.times.total_s),
                        a.times.occurrences.to_string(),
                        a.times.rework_cases.to_string(),
                        a.queue.trend.as_ref().map(|t| format!("{:?}", t.direction).to_lowercase()).unwrap_or_default(),
                    ]
                })
                .collect(),
        ),
        Report::Compare(c) => (
            vec!["figure", "unit", "base", "other", "change", "relative_change"],
            c.metrics
                .iter()
                .map(|m| {
                    let v = &m.values;
                    let unit = format!("{:?}", m.unit).to_lowercase();
                    vec![m.name.clone(), unit, maybe(v.base), maybe(v.other), maybe(v.change), maybe(v.relative)]
                })
                .collect(),
        ),
        Report::Timeline(t) => (
            vec!["period_start", "started", "completed", "open_at_end", "partial"],
            t.periods
                .iter()
                .map(|p| {
                    vec![
                        p.start.to_rfc3339(),
                        p.started.to_string(),
                        p.completed.to_string(),
                        p.open_at_end.to_string(),
                        p.partial.to_string(),
                    ]
                })
                .collect(),
        ),
        Report::Anomalies(a) => (
            vec!["case", "started", "running", "duration_s", "repeats", "unusual", "finding"],
            a.outliers
                .iter()
                .map(|o| {
                    let kinds: Vec<&str> = o.kinds.iter().map(|k| k.as_str()).collect();
                    vec![
                        o.case_id.clone(),
                        o.started.to_rfc3339(),
                        o.running.to_string(),
                        n(o.duration_s),
                        o.repeats.to_string(),
                        kinds.join(" "),
                        o.finding.clone(),
                    ]
                })
                .collect(),
        ),
        _ => (Vec::new(), Vec::new()),
    }
}

/// A table as CSV, written as the SQL console's answers are (`QueryResult::write`: quoted where a
/// cell holds a comma, quote or line break). A cell a spreadsheet would run as a formula (`=`,
/// `+`, `@`, or `-` before anything but a number) is prefixed with `'`: activity names come from
/// imported files.
fn csv(headers: &[&str], rows: &[Vec<String>]) -> Result<Vec<u8>, AppError> {
    let inert = |cell: &str| {
        let formula = cell.starts_with(['=', '+', '@']) || (cell.starts_with('-') && cell.parse::<f64>().is_err());
        if formula { format!("'{cell}") } else { cell.to_string() }
    };
    let schema =
        Arc::new(Schema::new(headers.iter().map(|h| Field::new(*h, DataType::Utf8, false)).collect::<Vec<_>>()));
    let columns: Vec<ArrayRef> = (0..headers.len())
        .map(|c| {
            let cells = rows.iter().map(|row| inert(row.get(c).map_or("", String::as_str)));
            Arc::new(StringArray::from_iter_values(cells)) as ArrayRef
        })
        .collect();
    let batch = RecordBatch::try_new(schema.clone(), columns)
        .map_err(|e| AppError::from(WarehouseError::Failed(e.to_string())))?;
    let answer = QueryResult { schema, rows: rows.len(), batches: vec![batch], truncated: false, spilled_bytes: 0 };
    let mut body = Vec::new();
    answer.write(OutputFormat::Csv, &mut body)?;
    Ok(body)
}

/// The tab's report, drawn; or `{"error": …}` in words.
async fn compute(s: &WebState, scope: &orgata_engine::Scope, team: &TeamId, r: &Request) -> Value {
    let outcome: Result<Value, AppError> = async {
        let (filter, options) = r.inputs()?;
        let run = |kind: ReportKind| s.app.team_report(scope, team, kind, &filter, &options);
        Ok(match r.tab.as_str() {
            "anomalies" => {
                let output = run(ReportKind::Anomalies).await?;
                let titles =
                    if filter.is_engine() { case_titles(s, scope, &output.report).await? } else { HashMap::new() };
                drawn(output, |report| anomalies(report, &titles))
            }
            "variants" => drawn(run(ReportKind::Variants).await?, variants),
            "dfg" => drawn(run(ReportKind::Dfg).await?, dfg),
            "bottlenecks" => drawn(run(ReportKind::Bottlenecks).await?, bottlenecks),
            "compare" => drawn(run(ReportKind::Compare).await?, compare),
            _ => {
                let (cases, timeline) = tokio::join!(run(ReportKind::Cases), run(ReportKind::Timeline));
                let timeline = timeline?.report;
                drawn(cases?, |cases| overview(cases, timeline))
            }
        })
    }
    .await;
    outcome.unwrap_or_else(|e| json!({ "error": e.detail }))
}

/// A report drawn by `draw`, with what it counted in words (`selection`, when a reader should be
/// told) and whether there is nothing to draw (`emptied`: the template then shows only why).
fn drawn(output: ReportOutput, draw: impl FnOnce(Report) -> Value) -> Value {
    let emptied = output.is_empty();
    let selection = output.selection.is_notable().then(|| output.selection.summary.clone());
    let mut drawing = draw(output.report);
    if let Value::Object(fields) = &mut drawing {
        fields.insert("selection".into(), json!(selection));
        fields.insert("emptied".into(), json!(emptied));
    }
    drawing
}

/// Case counts and durations, with a chart of the duration profile and one of throughput.
fn overview(cases: Report, timeline: Report) -> Value {
    let (Report::Cases(c), Report::Timeline(t)) = (cases, timeline) else { return Value::Null };
    let profile = c.statistics.duration_s.map(|d| {
        svg::box_plot(&svg::BoxPlot {
            title: "How long cases took: the shortest, the middle half, the median, the mean, 90% and the longest"
                .into(),
            rows: vec![svg::Distribution {
                label: String::new(),
                min: d.min,
                p25: d.p25,
                median: d.median,
                p75: d.p75,
                max: d.max,
                mean: d.mean,
                marks: vec![("90% within".into(), d.p90)],
            }],
            unit: svg::Unit::Duration,
        })
    });
    let labels: Vec<String> = t.periods.iter().map(|p| p.start.format("%-d %b").to_string()).collect();
    let throughput = svg::line_chart(&svg::LineChart {
        title: format!(
            "Cases started, completed and in progress per {}",
            if t.period == Period::Day { "day" } else { "week" }
        ),
        x_labels: labels,
        series: vec![
            svg::Series { name: "Started".into(), values: t.periods.iter().map(|p| p.started as f64).collect() },
            svg::Series { name: "Completed".into(), values: t.periods.iter().map(|p| p.completed as f64).collect() },
            svg::Series {
                name: "In progress".into(),
                values: t.periods.iter().map(|p| p.open_at_end as f64).collect(),
            },
        ],
        unit: "cases".into(),
        partial: t.periods.iter().map(|p| p.partial).collect(),
    });
    json!({
        "statistics": value(&c.statistics), "arrival": c.arrival_average_s.map(duration),
        "durations": c.statistics.duration_s.map(|d| json!({
            "mean": duration(d.mean), "median": duration(d.median), "p90": duration(d.p90),
            "p95": duration(d.p95), "max": duration(d.max),
        })),
        "profile": profile, "throughput": throughput,
    })
}

/// The titles of the engine's processes an anomalies report lists, by id (those the viewer sees).
async fn case_titles(
    s: &WebState,
    scope: &orgata_engine::Scope,
    report: &Report,
) -> Result<HashMap<String, String>, AppError> {
    let Report::Anomalies(a) = report else { return Ok(HashMap::new()) };
    let ids = a.outliers.iter().map(|o| InstanceId::from(o.case_id.as_str()));
    let titles = super::view::process_titles(s, scope, ids).await.map_err(|e| match e {
        super::render::PageError::Api(e) => e,
        super::render::PageError::Template(e) => AppError::from(WarehouseError::Failed(e)),
    })?;
    Ok(titles.into_iter().map(|(id, title)| (id.to_string(), title)).collect())
}

/// Unusual cases and slower steps: the findings, a chart of the cases by what is unusual, the
/// cases (engine processes by title, with a link), the steps, and the temporal profile.
fn anomalies(report: Report, titles: &HashMap<String, String>) -> Value {
    let Report::Anomalies(a) = report else { return Value::Null };
    let counts = [
        ("Timing between two steps", a.counts.timing),
        ("Duration", a.counts.duration),
        ("Rework", a.counts.rework),
        ("A path no other case took", a.counts.new_path),
    ];
    let chart = (a.outlying_cases > 0).then(|| {
        svg::bar_chart(&svg::BarChart {
            title: "Unusual cases by what is unusual about them (a case may count more than once)".into(),
            segment_names: vec!["Cases".into()],
            bars: counts
                .iter()
                .map(|(label, n)| svg::Bar {
                    label: label.to_string(),
                    segments: vec![*n as f64],
                    value_text: n.to_string(),
                    href: None,
                })
                .collect(),
            unit: "cases".into(),
        })
    });
    let cases: Vec<Value> = a
        .outliers
        .iter()
        .map(|o| {
            let title = titles.get(&o.case_id);
            json!({
                "id": o.case_id, "title": title, "link": title.map(|_| format!("/processes/{}", o.case_id)),
                "started": o.started.format("%Y-%m-%d").to_string(), "duration": duration(o.duration_s),
                "running": o.running, "kinds": o.kinds.iter().map(|k| k.as_str().replace('_', " ")).collect::<Vec<_>>(), "finding": o.finding,
            })
        })
        .collect();
    let mut pairs = a.temporal_profile.pairs.clone();
    pairs.sort_by(|x, y| y.observations.cmp(&x.observations).then_with(|| (&x.from, &x.to).cmp(&(&y.from, &y.to))));
    let pairs: Vec<Value> = pairs
        .iter()
        .take(PROFILE_PAIRS)
        .map(|p| {
            json!({ "from": p.from, "to": p.to, "observations": p.observations, "mean": duration(p.mean_s),
                    "stdev": duration(p.stdev_s) })
        })
        .collect();
    json!({
        "findings": a.findings, "chart": chart, "cases": cases, "outlying": a.outlying_cases,
        "total": a.temporal_profile.cases, "finished": a.finished_cases, "zeta": a.temporal_profile.zeta,
        "steps": a.slower_steps.iter().map(|x| json!({ "activity": x.activity, "finding": x.finding })).collect::<Vec<_>>(),
        "pairs": pairs, "pair_count": a.temporal_profile.pairs.len(),
        "recent_from": a.recent_from.map(|t| t.format("%Y-%m-%d").to_string()),
        "recent_to": a.recent_to.map(|t| t.format("%Y-%m-%d").to_string()),
    })
}

fn variants(report: Report) -> Value {
    let Report::Variants(v) = report else { return Value::Null };
    let shown = &v.variants[..v.variants.len().min(VARIANTS)];
    let chart = svg::bar_chart(&svg::BarChart {
        title: format!("The {} most frequent variants by number of cases", shown.len()),
        segment_names: vec!["Cases".into()],
        bars: shown
            .iter()
            .enumerate()
            .map(|(i, x)| svg::Bar {
                label: format!("#{} · {}", i + 1, text::plural(x.activities.len() as u64, "step", "steps")),
                segments: vec![x.frequency as f64],
                value_text: format!("{} ({})", x.frequency, text::whole_percent(x.share)),
                href: None,
            })
            .collect(),
        unit: "cases".into(),
    });
    let row = |x: &orgata_reports::Variant| {
        json!({ "path": x.activities.join(" → "), "frequency": x.frequency, "share": x.share,
                "mean": duration(x.mean_duration_s), "median": duration(x.median_duration_s) })
    };
    let listed = v.variants.len().min(VARIANTS_LISTED);
    json!({
        "cases": v.cases, "running": v.running_cases, "count": v.variants.len(), "chart": chart,
        "rows": shown.iter().map(row).collect::<Vec<_>>(),
        "more": v.variants[shown.len()..listed].iter().map(row).collect::<Vec<_>>(),
        "unlisted": v.variants.len() - listed,
    })
}

fn dfg(report: Report) -> Value {
    let Report::Dfg(g) = report else { return Value::Null };
    let mut edges = g.edges.clone();
    edges.sort_by(|a, b| b.frequency.cmp(&a.frequency).then_with(|| a.from.cmp(&b.from)));
    let left_out = edges.len().saturating_sub(GRAPH_EDGES);
    edges.truncate(GRAPH_EDGES);
    let mut activities: Vec<String> = edges.iter().flat_map(|e| [e.from.clone(), e.to.clone()]).collect();
    activities.extend(g.start_activities.keys().cloned());
    activities.extend(g.end_activities.keys().cloned());
    activities.sort();
    activities.dedup();
    let mut nodes = vec![svg::Node {
        id: "\u{1}start".into(),
        label: "Start".into(),
        detail: None,
        state: svg::NodeState::Start,
        href: None,
    }];
    nodes.extend(activities.iter().map(|a| svg::Node {
        id: a.clone(),
        label: a.clone(),
        detail: None,
        state: svg::NodeState::Plain,
        href: None,
    }));
    nodes.push(svg::Node {
        id: "\u{1}end".into(),
        label: "End".into(),
        detail: None,
        state: svg::NodeState::End,
        href: None,
    });
    let mut lines: Vec<svg::Edge> = g
        .start_activities
        .iter()
        .map(|(a, n)| svg::Edge {
            from: "\u{1}start".into(),
            to: a.clone(),
            label: Some(n.to_string()),
            weight: *n as f64,
        })
        .collect();
    lines.extend(edges.iter().map(|e| svg::Edge {
        from: e.from.clone(),
        to: e.to.clone(),
        label: Some(format!("{} · {}", e.frequency, text::gap(e.mean_s))),
        weight: e.frequency as f64,
    }));
    lines.extend(g.end_activities.iter().map(|(a, n)| svg::Edge {
        from: a.clone(),
        to: "\u{1}end".into(),
        label: Some(n.to_string()),
        weight: *n as f64,
    }));
    let drawing = svg::graph(&svg::Graph {
        title: "Directly-follows graph: how often each activity follows another, and the mean time between".into(),
        nodes,
        edges: lines,
    });
    let rows: Vec<Value> = edges
        .iter()
        .map(|e| {
            json!({ "from": e.from, "to": e.to, "frequency": e.frequency, "mean": text::gap(e.mean_s),
                    "median": text::gap(e.median_s), "max": text::gap(e.max_s) })
        })
        .collect();
    json!({ "graph": drawing, "left_out": left_out, "rows": rows,
            "starts": value(&g.start_activities), "ends": value(&g.end_activities) })
}

fn bottlenecks(report: Report) -> Value {
    let Report::Bottlenecks(b) = report else { return Value::Null };
    let seconds = |s: Option<&orgata_reports::TimeSummary>| s.map_or(0.0, |t| t.total_s);
    let chart = svg::bar_chart(&svg::BarChart {
        title: "Where cycle time goes: total time per activity, waiting and working".into(),
        segment_names: if b.split {
            vec!["Waiting".into(), "Working".into(), "Not split".into()]
        } else {
            vec!["Elapsed".into()]
        },
        bars: b
            .activities
            .iter()
            .map(|a| {
                let t = &a.times;
                let segments = if b.split {
                    vec![seconds(t.waiting.as_ref()), seconds(t.processing.as_ref()), seconds(t.elapsed.as_ref())]
                } else {
                    vec![t.total_s]
                };
                svg::Bar {
                    label: if a.follow_up { format!("{} (follow-up)", t.activity) } else { t.activity.clone() },
                    segments,
                    value_text: format!("{} of cycle time", text::whole_percent(a.share)),
                    href: None,
                }
            })
            .collect(),
        unit: svg::Unit::Duration,
    });
    let transitions: Vec<Value> = b
        .transitions
        .iter()
        .map(|x| json!({ "from": x.times.from, "to": x.times.to, "share": x.share, "mean": text::gap(x.times.mean_s), "frequency": x.times.frequency, "sentence": x.sentence }))
        .collect();
    let activities: Vec<Value> = b
        .activities
        .iter()
        .map(|a| json!({ "activity": a.times.activity, "share": a.share, "waiting_share": a.waiting_share, "sentence": a.sentence, "follow_up": a.follow_up, "queue": a.queue.trend.as_ref().map(|q| format!("{:?}", q.direction).to_lowercase()) }))
        .collect();
    json!({
        "cases": b.cases, "mean": b.cycle_time_mean_s.map(duration), "headline": b.headline,
        "findings": b.findings.iter().filter(|f| Some(*f) != b.headline.as_ref()).collect::<Vec<_>>(),
        "chart": chart, "activities": activities, "transitions": transitions,
    })
}

fn compare(report: Report) -> Value {
    let Report::Compare(c) = report else { return Value::Null };
    let metrics: Vec<Value> = c
        .metrics
        .iter()
        .map(|m| {
            let show = |v: Option<f64>| match (v, m.unit) {
                (None, _) => "—".to_string(),
                (Some(x), Unit::Seconds) => text::duration(x),
                (Some(x), Unit::Share) => text::percent(x),
                (Some(x), Unit::Number) => text::number(x),
            };
            json!({ "name": m.name, "base": show(m.values.base), "other": show(m.values.other),
                    "relative": m.values.relative, "change": m.values.change })
        })
        .collect();
    json!({ "base": c.base, "other": c.other, "metrics": metrics, "findings": c.findings })
}

#[cfg(test)]
mod tests {
    use super::{csv, date};

    #[test]
    fn dates_far_outside_any_log_are_refused_in_words() {
        assert!(date("to", &Some("2024-03-01".into())).unwrap().is_some());
        for far in ["262143-12-31", "-200000-01-01", "0000-01-01", "10000-01-01"] {
            let problem = date("to", &Some(far.into())).unwrap_err();
            assert_eq!(problem.errors[0].message, format!("`{far}` is not a date like 2024-03-01"));
        }
    }

    #[test]
    fn csv_cells_are_quoted_where_they_must_be_and_never_run_as_formulas() {
        let line = |cells: &[&str]| {
            let csv = csv(&["a", "b", "c", "d"][..cells.len()], &[cells.iter().map(|c| c.to_string()).collect()]);
            String::from_utf8(csv.unwrap()).unwrap().split_once('\n').unwrap().1.to_string()
        };
        assert_eq!(line(&["a", "b c", "-1.5", "0.25"]), "a,b c,-1.5,0.25\n");
        assert_eq!(line(&["say \"hi\"", "x,y", "two\nlines"]), "\"say \"\"hi\"\"\",\"x,y\",\"two\nlines\"\n");
        assert_eq!(line(&["=1+1", "+a", "@b", "-c"]), "'=1+1,'+a,'@b,'-c\n");
    }
}
