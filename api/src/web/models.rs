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
        // One section per subject: the team's model of every process first, then each playbook's.
        let mut subjects: Vec<(Option<&String>, Vec<&ModelCard>)> = Vec::new();
        for card in cards.iter().filter(|c| c.source == ENGINE_SOURCE) {
            match subjects.iter_mut().find(|(p, _)| *p == card.playbook_id.as_ref()) {
                Some((_, versions)) => versions.push(card),
                None => subjects.push((card.playbook_id.as_ref(), vec![card])),
            }
        }
        subjects.sort_by_key(|(p, _)| (p.is_some(), p.and_then(|id| names.get(id)).cloned()));
        let sections: Vec<Value> = subjects
            .iter()
            .map(|(playbook, versions)| {
                let title = match playbook {
                    None => "All the team's processes".to_string(),
                    Some(id) => names.get(*id).cloned().unwrap_or_else(|| format!("Playbook {id}")),
                };
                json!({
                    "title": title, "playbook_id": playbook,
                    "chart": (versions.len() > 1).then(|| accuracy_chart(&title, versions)),
                    "models": versions.iter().map(|c| row(c)).collect::<Vec<_>>(),
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
        "remaining": duration(r.mae_s), "baseline": duration(r.by_last_activity_mae_s.min(r.by_prefix_length_mae_s)),
        "improvement": percent(r.improvement), "better": r.improvement > 0.0, "coverage": percent(r.interval_coverage),
        "next": percent(e.next_activity.accuracy), "next_baseline": percent(e.next_activity.baseline_accuracy),
        "risk_auc": e.risk.as_ref().and_then(|r| r.auc).map(|a| format!("{a:.2}")),
        "target": c.case_target_s.map(duration), "test_cases": e.test_cases,
    })
}

/// The remaining time's error of each version against its better baseline's, oldest first:
/// whether the models improve as the history grows.
fn accuracy_chart(title: &str, versions: &[&ModelCard]) -> String {
    let oldest_first: Vec<&&ModelCard> = versions.iter().rev().collect();
    let remaining = |c: &ModelCard| c.evaluation.remaining_time.clone();
    svg::line_chart(&svg::LineChart {
        title: format!("{title}: the remaining time's error of each model version against the baseline's"),
        x_labels: oldest_first.iter().map(|c| format!("v{} · {}", c.version, c.trained_at.format("%-d %b"))).collect(),
        series: vec![
            svg::Series { name: "Model".into(), values: oldest_first.iter().map(|c| remaining(c).mae_s).collect() },
            svg::Series {
                name: "Baseline".into(),
                values: oldest_first
                    .iter()
                    .map(|c| {
                        let r = remaining(c);
                        r.by_last_activity_mae_s.min(r.by_prefix_length_mae_s)
                    })
                    .collect(),
            },
        ],
        unit: svg::Unit::Duration,
        partial: Vec::new(),
    })
}
