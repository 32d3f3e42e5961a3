//! The team's prediction models: every version in the registry with its accuracy against the
//! baselines — what a manager reads to know how far to trust a forecast, and whether it improves.

use super::WebState;
use super::render::{PageResult, page};
use super::session::Viewer;
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use orgata_engine::{Permission, TeamId};
use orgata_reports::text::{duration, percent};
use serde_json::{Value, json};

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
        let rows: Vec<Value> = cards
            .iter()
            .map(|c| {
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
            })
            .collect();
        context["models"] = json!(rows);
    }
    page(&viewer, Some(&t), "analytics", "models.html", context)
}
