//! The team's prediction models, the team's of every process and each playbook's own: every
//! version in the registry with its accuracy against the baselines, and a chart of the error over
//! the versions — what a manager reads to know how far to trust a forecast, and whether it
//! improves.

use super::render::{PageResult, page};
use super::session::Viewer;
use super::{WebState, svg};
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use orgata_engine::{Permission, TeamId};
use orgata_reports::ModelCard;
use orgata_reports::text::{duration, percent};
use orgata_warehouse::tables::ENGINE_SOURCE;
use serde_json::{Value, json};
use std::collections::HashMap;

pub fn routes() -> Router<WebState> {
    Router::new().route("/teams/{team}/models", get(models))
}

async fn models(State(s): State<WebState>, viewer: Viewer, Path(team): Path<TeamId>) -> PageResult {
    let t = viewer.team(&team)?.clone();
    let mut context = json!({});
    if !viewer.scope.can(&team, Permission::AnalyticsRead) {
        context["unavailable"] = json!("Your role in this team does not include analytics.");
    } else {
        let cards = s.app.team_models(&viewer.scope, &team).await?;
        let names: HashMap<String, String> = s
            .app
            .engine
            .playbooks(&viewer.scope, Some(&team))
            .await?
            .into_iter()
            .map(|p| (p.id.to_string(), p.name))
            .collect();
        // One section per subject (the cards come grouped by source and playbook, the newest
        // first): the team's model of every process first, then each playbook's, then imports'.
        let mut subjects: Vec<&[ModelCard]> =
            cards.chunk_by(|a, b| (&a.source, &a.playbook_id) == (&b.source, &b.playbook_id)).collect();
        let title = |c: &ModelCard| match (&c.playbook_id, c.source == ENGINE_SOURCE) {
            (None, true) => "All the team's processes".to_string(),
            (None, false) => format!("Imported log “{}”", c.source),
            (Some(id), _) => names.get(id).cloned().unwrap_or_else(|| format!("Playbook {id}")),
        };
        subjects.sort_by_key(|versions| {
            let c = &versions[0];
            (c.source != ENGINE_SOURCE, c.playbook_id.is_some(), title(c))
        });
        let sections: Vec<Value> = subjects
            .iter()
            .map(|versions| {
                let title = title(&versions[0]);
                json!({
                    "title": title, "playbook_id": versions[0].playbook_id,
                    "chart": (versions.len() > 1).then(|| accuracy_chart(&title, versions)),
                    "models": versions.iter().map(row).collect::<Vec<_>>(),
                })
            })
            .collect();
        context["subjects"] = json!(sections);
        context["has_models"] = json!(!sections.is_empty());
    }
    page(&viewer, Some(&t), "analytics", "models.html", context)
}

/// One version's figures as the table shows them.
fn row(c: &ModelCard) -> Value {
    let e = &c.evaluation;
    let r = &e.remaining_time;
    json!({
        "version": c.version, "trained_at": c.trained_at.format("%Y-%m-%d %H:%M").to_string(),
        "cases": c.cases, "from": c.window_from.format("%Y-%m-%d").to_string(),
        "to": c.window_to.format("%Y-%m-%d").to_string(),
        "remaining": duration(r.mae_s), "baseline": duration(r.baseline_mae_s()),
        "improvement": percent(r.improvement), "better": r.improvement > 0.0, "coverage": percent(r.interval_coverage),
        "next": percent(e.next_activity.accuracy), "next_baseline": percent(e.next_activity.baseline_accuracy),
        "risk_auc": e.risk.as_ref().and_then(|r| r.auc).map(|a| format!("{a:.2}")),
        "target": c.case_target_s.map(duration), "test_cases": e.test_cases,
    })
}

/// The remaining time's error of each version against its better baseline's, oldest first:
/// whether the models improve as the history grows.
fn accuracy_chart(title: &str, versions: &[ModelCard]) -> String {
    let oldest_first: Vec<&ModelCard> = versions.iter().rev().collect();
    let series = |name: &str, value: fn(&orgata_reports::RemainingScore) -> f64| svg::Series {
        name: name.into(),
        values: oldest_first.iter().map(|c| value(&c.evaluation.remaining_time)).collect(),
    };
    svg::line_chart(&svg::LineChart {
        title: format!("{title}: the remaining time's error of each model version against the baseline's"),
        x_labels: oldest_first.iter().map(|c| format!("v{} · {}", c.version, c.trained_at.format("%-d %b"))).collect(),
        series: vec![series("Model", |r| r.mae_s), series("Baseline", |r| r.baseline_mae_s())],
        unit: svg::Unit::Duration,
        partial: Vec::new(),
    })
}
