//! Cases over time: how many start and complete per day or week (throughput), and how many are
//! open at the end of each (work in progress).

use crate::{Events, ReportError};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// The length of a timeline's periods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Period {
    /// UTC days.
    Day,
    /// ISO weeks: Monday 00:00 UTC to the next Monday.
    Week,
}

const DAY_MICROS: i64 = 86_400_000_000;

impl Period {
    fn micros(self) -> i64 {
        match self {
            Period::Day => DAY_MICROS,
            Period::Week => 7 * DAY_MICROS,
        }
    }

    /// A period boundary: the epoch for days, Monday 1970-01-05 for weeks.
    fn origin(self) -> i64 {
        match self {
            Period::Day => 0,
            Period::Week => 4 * DAY_MICROS,
        }
    }
}

/// Cases per period, from the period of the first event to that of the last (for the engine's
/// processes, to the period holding now).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Timeline {
    pub period: Period,
    /// Every period in the range, in time order, including those where nothing happened.
    pub periods: Vec<PeriodCounts>,
}

/// What happened to cases in one period.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PeriodCounts {
    /// When the period starts.
    pub start: DateTime<Utc>,
    /// Cases whose first event falls in the period.
    pub started: u64,
    /// Cases whose last event falls in the period (throughput). For the engine's events, cases
    /// whose instance is still running are not completed.
    pub completed: u64,
    /// Cases open at the period's end (work in progress): started at or before it and completed
    /// after it, or not completed.
    pub open_at_end: u64,
    /// Whether only part of the period is covered — it ends after now, or the filter's time
    /// range cuts it — so its counts are not comparable with those of whole periods.
    pub partial: bool,
}

/// Throughput and work in progress per period: calendar periods (UTC days, or weeks from Monday)
/// or, with `ending`, periods of the same length counted back from that instant (the last one
/// ends there: "the last 7 days", "the 7 days before", …). Periods that end after `now` or that
/// the filter's time range cuts are marked partial.
///
/// SQL: each case's first and last time (for the engine's events, a running instance — in
/// `instances` — has no end), put into periods by integer division, and counted per period in
/// one aggregation: cases started, cases ending, cases completed, and the change in open cases
/// (+1 at the first period whose end a case is open at, −1 at the first whose end it is not).
/// The periods between (from the first start to the last event) and the running sum of open
/// cases are filled in here, over periods only. (One query, each case aggregated once:
/// DataFusion plans a CTE once per reference, so several references would group the events
/// again for each.)
pub async fn timeline(
    events: &Events<'_>,
    period: Period,
    ending: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<Timeline, ReportError> {
    let length = period.micros();
    let origin = ending.map_or(period.origin(), |end| end.timestamp_micros().rem_euclid(length));
    // The period of the instant `x` microseconds after the origin (floor division).
    let bin = |x: &str| format!("(CASE WHEN {x} >= 0 THEN ({x}) / {length} ELSE -((-({x}) - 1) / {length}) - 1 END)");
    let (instances, running) = if events.filter().is_engine() {
        ("LEFT JOIN instances i ON i.team_id = c.team_id AND i.id = c.case_id", "coalesce(i.status = 'running', false)")
    } else {
        ("", "false")
    };
    let sql = format!(
        "{ev},
        cases AS (SELECT {case}, min(t) AS first_t, max(t) AS last_t FROM ev GROUP BY {case}),
        ends AS (
            SELECT c.first_t - {origin} AS first_t, c.last_t - {origin} AS last_t,
                CASE WHEN {running} THEN NULL ELSE c.last_t - {origin} END AS end_t
            FROM cases c {instances}
        ),
        bins AS (
            SELECT {first_bin} AS first_bin, {last_bin} AS last_bin, {end_bin} AS end_bin,
                {open_bin} AS open_bin, {close_bin} AS close_bin
            FROM ends
        ),
        marks AS (
            SELECT kind, CASE kind WHEN 1 THEN first_bin WHEN 2 THEN last_bin WHEN 3 THEN end_bin
                WHEN 4 THEN open_bin ELSE close_bin END AS p
            FROM bins CROSS JOIN (VALUES (1), (2), (3), (4), (5)) AS kinds(kind)
        )
        SELECT p AS period, sum(CASE WHEN kind = 1 THEN 1 ELSE 0 END) AS started,
            sum(CASE WHEN kind = 2 THEN 1 ELSE 0 END) AS last,
            sum(CASE WHEN kind = 3 THEN 1 ELSE 0 END) AS completed,
            sum(CASE kind WHEN 4 THEN 1 WHEN 5 THEN -1 ELSE 0 END) AS opened
        FROM marks WHERE p IS NOT NULL GROUP BY p ORDER BY p",
        ev = events.cte(),
        case = events.case_key(),
        first_bin = bin("first_t"),
        last_bin = bin("last_t"),
        end_bin = bin("end_t"),
        // Open at the end `E` of period `p` when first ≤ E < end: from the period of `first - 1µs`
        // until (excluding) that of `end - 1µs`.
        open_bin = bin("first_t - 1"),
        close_bin = bin("end_t - 1"),
    );
    let rows = events.run(&sql).await?;
    let marks = PeriodMarks {
        periods: rows.i64s("period")?.into_iter().map(|p| p.unwrap_or_default()).collect(),
        started: rows.counts("started")?,
        last: rows.counts("last")?,
        completed: rows.counts("completed")?,
        opened: rows.i64s("opened")?.into_iter().map(|d| d.unwrap_or_default()).collect(),
    };
    let (from, to, _) = events.filter().time_range();
    // The engine's processes are live: their timeline runs on to the period holding now (or, for
    // periods counted back from an instant, to the one ending there) where the range does not end
    // before, so a quiet today shows as today, partial, not as nothing.
    let live = events.filter().is_engine() && to.is_none_or(|to| to > now);
    let last_instant = ending.map_or(now.timestamp_micros(), |end| end.timestamp_micros() - 1);
    let now_bin = (last_instant - origin).div_euclid(length);
    let periods = marks
        .counts(live.then_some(now_bin))?
        .into_iter()
        .map(|(bin, started, completed, open_at_end)| {
            let start_micros = bin.checked_mul(length).and_then(|m| m.checked_add(origin));
            let start = start_micros
                .and_then(DateTime::from_timestamp_micros)
                .ok_or_else(|| ReportError::Shape(format!("period {bin} is out of range")))?;
            // A period ending beyond the last representable time has surely not ended.
            let end = start_micros.and_then(|s| s.checked_add(length)).and_then(DateTime::from_timestamp_micros);
            let partial = end.is_none_or(|end| end > now || to.is_some_and(|to| to < end))
                || from.is_some_and(|from| from > start);
            Ok(PeriodCounts { start, started, completed, open_at_end, partial })
        })
        .collect::<Result<Vec<_>, ReportError>>()?;
    Ok(Timeline { period, periods })
}

impl Timeline {
    /// The period holding the instant `t`, if the timeline has one.
    pub fn period_at(&self, t: DateTime<Utc>) -> Option<&PeriodCounts> {
        let length = chrono::Duration::microseconds(self.period.micros());
        self.periods.iter().find(|p| p.start <= t && p.start.checked_add_signed(length).is_none_or(|end| t < end))
    }
}

/// The most periods a timeline has (about 270 years of days).
const MAX_PERIODS: i64 = 100_000;

/// Per period (in order) that any case marks: the cases that start in it, that have their last
/// event in it, that complete in it, and the change in open cases at its end.
struct PeriodMarks {
    periods: Vec<i64>,
    started: Vec<u64>,
    last: Vec<u64>,
    completed: Vec<u64>,
    opened: Vec<i64>,
}

impl PeriodMarks {
    /// Every period from the first case's start to the last case's last event (or to `until`,
    /// when later), with the cases started, completed and open at its end (a running sum of the
    /// changes up to it).
    fn counts(&self, until: Option<i64>) -> Result<Vec<(i64, u64, u64, u64)>, ReportError> {
        let first = self.periods.iter().zip(&self.started).find(|(_, n)| **n > 0).map(|(p, _)| *p);
        let last = self.periods.iter().zip(&self.last).rev().find(|(_, n)| **n > 0).map(|(p, _)| *p);
        let last = last.map(|last| until.map_or(last, |until| last.max(until)));
        let (Some(first), Some(last)) = (first, last) else {
            return Ok(Vec::new());
        };
        if last - first >= MAX_PERIODS {
            return Err(ReportError::InvalidFilter(format!(
                "the events span more than {MAX_PERIODS} periods; choose a longer period or a time range"
            )));
        }
        let mut counts = Vec::with_capacity((last - first + 1) as usize);
        let (mut open, mut i) = (0i64, 0);
        for period in first..=last {
            let (mut started, mut completed) = (0, 0);
            while i < self.periods.len() && self.periods[i] <= period {
                open += self.opened[i];
                if self.periods[i] == period {
                    (started, completed) = (self.started[i], self.completed[i]);
                }
                i += 1;
            }
            let open_at_end = u64::try_from(open).map_err(|_| ReportError::Shape("fewer than no open cases".into()))?;
            counts.push((period, started, completed, open_at_end));
        }
        Ok(counts)
    }
}

impl std::str::FromStr for Period {
    type Err = ReportError;

    /// `day` or `week`.
    fn from_str(name: &str) -> Result<Period, ReportError> {
        match name {
            "day" => Ok(Period::Day),
            "week" => Ok(Period::Week),
            other => Err(ReportError::InvalidFilter(format!("no period `{other}`: use day or week"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_between_are_filled_and_open_cases_run_on() {
        // Case A: starts in period 2, last event and completion in 4 (open at the ends of 2 and 3).
        // Case B: starts at the very start of period 3 (open from the end of 2), still running.
        let marks = PeriodMarks {
            periods: vec![1, 2, 3, 4],
            started: vec![0, 1, 1, 0],
            last: vec![0, 0, 1, 1],
            completed: vec![0, 0, 0, 1],
            opened: vec![0, 2, 0, -1],
        };
        assert_eq!(marks.counts(None).unwrap(), [(2, 1, 0, 2), (3, 1, 0, 2), (4, 0, 1, 1)]);
        // Run on to period 6 (now): B is still open there.
        assert_eq!(marks.counts(Some(6)).unwrap()[3..], [(5, 0, 0, 1), (6, 0, 0, 1)]);
        assert_eq!(marks.counts(Some(3)).unwrap().len(), 3, "never cut short");
        let none = PeriodMarks { periods: vec![], started: vec![], last: vec![], completed: vec![], opened: vec![] };
        assert!(none.counts(None).unwrap().is_empty());
        let endless = PeriodMarks {
            periods: vec![0, MAX_PERIODS],
            started: vec![1, 0],
            last: vec![0, 1],
            completed: vec![0, 1],
            opened: vec![1, -1],
        };
        assert!(
            matches!(endless.counts(None), Err(ReportError::InvalidFilter(m)) if m.contains("more than 100000 periods"))
        );
    }
}
