//! The model trainer as `orgata serve` runs it: a background task that keeps each team's model of
//! its processes fresh — trained when the team has none (or its files cannot be read), and again
//! once the newest is a day old, keeping its case target (by default: longer than 80 % of the
//! finished cases took). Training runs on a blocking thread; no
//! request ever waits for it. Too little history is no error: the team is looked at again later.

use orgata_reports::{ReportError, Subject, TYPICAL_TARGET, TrainingOptions};
use orgata_warehouse::Warehouse;
use orgata_warehouse::tables::ENGINE_SOURCE;
use std::time::Duration;
use tokio::sync::watch;

/// The first look, once the streamer has had time to catch up.
pub const FIRST_CHECK: Duration = Duration::from_secs(30);
/// How often the teams are looked at.
pub const CHECK_EVERY: Duration = Duration::from_secs(600);
/// A model this old is trained again.
pub const RETRAIN_AFTER: chrono::TimeDelta = chrono::TimeDelta::hours(24);

/// Runs until `stop` turns true.
pub async fn run(warehouse: Warehouse, mut stop: watch::Receiver<bool>) {
    let mut wait = FIRST_CHECK;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => return,
        }
        wait = CHECK_EVERY;
        if let Err(e) = train_due(&warehouse).await {
            tracing::warn!(error = %e, "the model trainer could not look at the teams");
        }
    }
}

/// Trains the models that are due, team by team.
async fn train_due(warehouse: &Warehouse) -> Result<(), ReportError> {
    for team in orgata_reports::engine_teams(warehouse).await? {
        let subject = Subject { team: &team, source: ENGINE_SOURCE, playbook_id: None };
        // A new model keeps the target of the one it replaces: one given, or the same quantile.
        let typical = TrainingOptions { target_quantile: Some(TYPICAL_TARGET), ..TrainingOptions::default() };
        let (due, options) = match orgata_reports::newest_readable(warehouse, &subject).await {
            Ok(Some(card)) => {
                let options = match (card.case_target_quantile, card.case_target_s) {
                    (None, Some(target)) => {
                        TrainingOptions { case_target_s: Some(target), ..TrainingOptions::default() }
                    }
                    (quantile, _) => TrainingOptions { target_quantile: quantile.or(Some(TYPICAL_TARGET)), ..typical },
                };
                (chrono::Utc::now() - card.trained_at >= RETRAIN_AFTER, options)
            }
            Ok(None) => (true, typical),
            Err(ReportError::ModelUnreadable(why)) => {
                tracing::warn!(%team, %why, "the team's model cannot be read; training a new one");
                (true, typical)
            }
            Err(e) => return Err(e),
        };
        if !due {
            continue;
        }
        match orgata_reports::train(warehouse, &subject, options).await {
            Ok(card) => tracing::info!(%team, version = card.version, cases = card.cases, "trained the team's model"),
            Err(ReportError::NotEnoughHistory(why)) => tracing::debug!(%team, %why, "not training yet"),
            Err(e) => tracing::warn!(%team, error = %e, "training the team's model failed"),
        }
    }
    Ok(())
}
