//! The model trainer as `orgata serve` runs it: a background task that keeps each team's model of
//! its processes, and each playbook's own (once it has enough finished processes), fresh —
//! trained when there is none (or its files cannot be read), and again once the newest is a day
//! old, a newer playbook version has finished processes, or a quarter more processes finished,
//! keeping its case target (by default: longer than 80 % of the finished cases took). Training runs
//! on blocking threads; no request ever waits for it. Too little history is no error: the subject
//! is looked at again later. Two servers on one warehouse never write the same version (the
//! registry's versions are claimed by conditional writes).

use chrono::{DateTime, Utc};
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

/// A model is trained again once there are this share more finished processes than it learnt from.
pub const RETRAIN_GROWTH: f64 = 0.25;

/// Trains the models that are due, team by team: the team's of all its processes, and each
/// playbook's own once it has enough finished processes.
async fn train_due(warehouse: &Warehouse) -> Result<(), ReportError> {
    for team in orgata_reports::engine_teams(warehouse).await? {
        let playbooks = orgata_reports::engine_playbooks(warehouse, &team).await?;
        let all = playbooks.iter().map(|p| p.finished).sum::<u64>();
        let mut subjects = vec![(None, all, None)];
        subjects.extend(
            playbooks
                .iter()
                .filter(|p| p.finished >= orgata_reports::MIN_TRAINING_CASES as u64)
                .map(|p| (Some(p.playbook_id.as_str()), p.finished, p.newest_version)),
        );
        for (playbook_id, finished, newest_version) in subjects {
            let subject = Subject { team: &team, source: ENGINE_SOURCE, playbook_id };
            train_if_due(warehouse, &subject, finished, newest_version).await?;
        }
    }
    Ok(())
}

/// Trains `subject`'s model if [`due`].
async fn train_if_due(
    warehouse: &Warehouse,
    subject: &Subject<'_>,
    finished: u64,
    newest_version: Option<i64>,
) -> Result<(), ReportError> {
    let (team, playbook) = (subject.team, subject.playbook_id.unwrap_or("(all)"));
    // A new model keeps the target of the one it replaces: one given, or the same quantile.
    let typical = TrainingOptions { target_quantile: Some(TYPICAL_TARGET), ..TrainingOptions::default() };
    let (why, options) = match orgata_reports::newest_readable(warehouse, subject).await {
        Ok(Some(card)) => {
            let options = match (card.case_target_quantile, card.case_target_s) {
                (None, Some(target)) => TrainingOptions { case_target_s: Some(target), ..TrainingOptions::default() },
                (quantile, _) => TrainingOptions { target_quantile: quantile.or(Some(TYPICAL_TARGET)), ..typical },
            };
            let learnt = Learnt { trained_at: card.trained_at, cases: card.cases, version: card.playbook_version };
            (due(&learnt, finished, newest_version, chrono::Utc::now()), options)
        }
        Ok(None) => (Some("no model yet".to_string()), typical),
        Err(ReportError::ModelUnreadable(why)) => {
            tracing::warn!(team, playbook, %why, "the model cannot be read; training a new one");
            (Some("the model could not be read".to_string()), typical)
        }
        Err(e) => return Err(e),
    };
    let Some(why) = why else { return Ok(()) };
    match orgata_reports::train(warehouse, subject, options).await {
        Ok(card) => tracing::info!(team, playbook, version = card.version, cases = card.cases, why, "trained a model"),
        Err(ReportError::NotEnoughHistory(not)) => tracing::debug!(team, playbook, why = %not, "not training yet"),
        Err(e) => tracing::warn!(team, playbook, error = %e, "training a model failed"),
    }
    Ok(())
}

/// What the newest model learnt from (its card's).
struct Learnt {
    trained_at: DateTime<Utc>,
    cases: u64,
    /// The newest playbook version among its processes (a playbook's model).
    version: Option<i64>,
}

/// Why a model should be trained again now, if it should: it is a day old, a newer version of its
/// playbook has finished processes, or a quarter more processes have finished than it learnt from.
fn due(card: &Learnt, finished: u64, newest_version: Option<i64>, now: DateTime<Utc>) -> Option<String> {
    if now - card.trained_at >= RETRAIN_AFTER {
        return Some("a day old".into());
    }
    if let (Some(newest), Some(learnt)) = (newest_version, card.version)
        && newest > learnt
    {
        return Some(format!("version {newest} of the playbook has finished processes (learnt up to {learnt})"));
    }
    if finished as f64 >= card.cases as f64 * (1.0 + RETRAIN_GROWTH) {
        return Some(format!("{finished} finished processes against the {} learnt from", card.cases));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_model_is_due_when_old_outgrown_or_behind_its_playbook() {
        let now = DateTime::parse_from_rfc3339("2026-12-06T12:00:00Z").unwrap().with_timezone(&Utc);
        let hours_ago = |h: i64| now - chrono::TimeDelta::hours(h);
        let learnt = Learnt { trained_at: hours_ago(2), cases: 200, version: Some(3) };
        assert_eq!(due(&learnt, 249, Some(3), now), None);
        assert_eq!(
            due(&learnt, 250, Some(3), now).as_deref(),
            Some("250 finished processes against the 200 learnt from")
        );
        assert_eq!(
            due(&learnt, 210, Some(4), now).as_deref(),
            Some("version 4 of the playbook has finished processes (learnt up to 3)")
        );
        let old = Learnt { trained_at: hours_ago(24), ..learnt };
        assert_eq!(due(&old, 200, Some(3), now).as_deref(), Some("a day old"));
        // The team's model of every playbook has no version to fall behind.
        let team = Learnt { trained_at: hours_ago(1), cases: 200, version: None };
        assert_eq!(due(&team, 200, Some(9), now), None);
    }
}
