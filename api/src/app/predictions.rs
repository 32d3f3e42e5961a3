//! Predictions: a team's models in the warehouse's registry, training them, and the forecasts
//! of its running processes — each by its playbook's own model where there is one, the others by
//! the team's model of every process run in Orgata. Reading needs `analytics.read` in the team;
//! training needs `team.manage`.

use super::analytics::team_scope;
use super::{App, AppError, AppResult};
use orgata_engine::{InstanceId, InstanceStatus, Permission, PlaybookId, Scope, TeamId};
use orgata_reports::{CasePrediction, ModelCard, Predictions, ReportError, Subject, TrainingOptions};
use orgata_warehouse::tables::ENGINE_SOURCE;

/// The subject of a team's model of its own processes (one playbook's, if given).
fn engine_subject<'a>(team: &'a TeamId, playbook: Option<&'a PlaybookId>) -> Subject<'a> {
    Subject { team: team.as_str(), source: ENGINE_SOURCE, playbook_id: playbook.map(PlaybookId::as_str) }
}

/// No model yet, in words: how to get one.
fn no_model(team: &TeamId) -> AppError {
    AppError::new(
        axum::http::StatusCode::NOT_FOUND,
        "no-model",
        format!(
            "team {team} has no prediction model yet: `orgata model train --team {team}` learns one from its finished \
             processes (serve retrains daily)"
        ),
    )
}

impl App {
    /// The team's models, every version, the newest of each subject first.
    pub async fn team_models(&self, scope: &Scope, team: &TeamId) -> AppResult<Vec<ModelCard>> {
        team_scope(scope, team, Permission::AnalyticsRead)?;
        Ok(orgata_reports::models(&self.warehouse, team.as_str()).await?)
    }

    /// Learns the team's model of its processes (one playbook's, if given: it must be the
    /// team's) from every finished one and stores it as the next version.
    pub async fn train_team_model(
        &self,
        scope: &Scope,
        team: &TeamId,
        playbook: Option<&PlaybookId>,
        options: TrainingOptions,
    ) -> AppResult<ModelCard> {
        team_scope(scope, team, Permission::TeamManage)?;
        if let Some(id) = playbook {
            let found = self.engine.playbook(scope, id).await?.playbook;
            if found.team_id != *team {
                return Err(orgata_engine::EngineError::not_found("playbook", id).into());
            }
        }
        Ok(orgata_reports::train(&self.warehouse, &engine_subject(team, playbook), options).await?)
    }

    /// The forecasts of the team's running processes (only those at risk of exceeding the
    /// model's case target, if asked), by its newest model.
    pub async fn team_predictions(&self, scope: &Scope, team: &TeamId, at_risk: bool) -> AppResult<Predictions> {
        team_scope(scope, team, Permission::AnalyticsRead)?;
        let now = chrono::Utc::now();
        orgata_reports::team_predictions(&self.warehouse, team.as_str(), at_risk, now)
            .await?
            .ok_or_else(|| no_model(team))
    }

    /// The forecast of one running process: unknown or unseen processes are not found, an
    /// ended one has nothing left to forecast.
    pub async fn process_prediction(&self, scope: &Scope, id: &InstanceId) -> AppResult<(ModelCard, CasePrediction)> {
        let instance = self.engine.instance(scope, id).await?.instance;
        team_scope(scope, &instance.team_id, Permission::AnalyticsRead)?;
        if instance.status != InstanceStatus::Running {
            return Err(AppError::new(
                axum::http::StatusCode::CONFLICT,
                "not-running",
                format!("process {id} has ended ({}): there is nothing left to forecast", instance.status),
            ));
        }
        let team = &instance.team_id;
        let only = |case: &str| case == id.as_str();
        let now = chrono::Utc::now();
        // Its playbook's own model where there is a readable one, else the team's.
        let own = engine_subject(team, Some(&instance.playbook_id));
        let predictions = match orgata_reports::predictions(&self.warehouse, &own, &only, now).await {
            Ok(Some(found)) if !found.cases.is_empty() => found,
            Ok(_) | Err(ReportError::ModelUnreadable(_)) => {
                orgata_reports::predictions(&self.warehouse, &engine_subject(team, None), &only, now)
                    .await?
                    .ok_or_else(|| no_model(team))?
            }
            Err(e) => return Err(e.into()),
        };
        let case = predictions.cases.into_iter().next().ok_or_else(|| {
            AppError::new(
                axum::http::StatusCode::CONFLICT,
                "not-in-warehouse",
                format!("process {id} has no events in the warehouse yet; they arrive within seconds"),
            )
        })?;
        Ok((predictions.model, case))
    }
}
