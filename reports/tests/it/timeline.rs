//! Throughput and work in progress per day and per week, computed by hand.

use crate::common::{far_future, import_csv, outlined, warehouse};
use orgata_reports::{Filter, Period, PeriodCounts, TimeScope, timeline};
use orgata_warehouse::TeamScope;

/// P: Mon 1 Jan 10:00 – Wed 3 Jan 09:00. Q: one event at midnight, Tue 2 Jan 00:00. R: Tue 2 Jan
/// 15:00 – Fri 5 Jan 00:00 (ends at midnight). T: Fri 5 Jan 12:00 – Tue 9 Jan 12:00 (across a week
/// boundary). S: Mon 8 Jan 10:00 – 11:00.
const LOG: &str = "\
case,activity,timestamp
P,a,2024-01-01T10:00:00Z
P,b,2024-01-03T09:00:00Z
Q,a,2024-01-02T00:00:00Z
R,a,2024-01-02T15:00:00Z
R,b,2024-01-05T00:00:00Z
T,a,2024-01-05T12:00:00Z
T,b,2024-01-09T12:00:00Z
S,a,2024-01-08T10:00:00Z
S,b,2024-01-08T11:00:00Z
";

fn counts(start: &str, started: u64, completed: u64, open_at_end: u64) -> PeriodCounts {
    PeriodCounts { start: start.parse().unwrap(), started, completed, open_at_end, partial: false }
}

#[tokio::test]
async fn cases_per_day_and_week_started_completed_and_open() {
    let (_dir, warehouse) = warehouse();
    import_csv(&warehouse, "team-a", "spans", LOG).await;
    let (scope, filter) = (TeamScope::Teams(vec!["team-a".into()]), Filter::source("spans").unwrap());

    // Open at a day's end (midnight) when started at or before it and completed after it: Q,
    // at midnight exactly, never is; R, completed at midnight exactly, is not open then.
    let days = timeline(&outlined(&warehouse, &scope, &filter).await, Period::Day, None, far_future()).await.unwrap();
    assert_eq!(days.period, Period::Day);
    assert_eq!(
        days.periods,
        [
            counts("2024-01-01T00:00:00Z", 1, 0, 1),
            counts("2024-01-02T00:00:00Z", 2, 1, 2),
            counts("2024-01-03T00:00:00Z", 0, 1, 1),
            counts("2024-01-04T00:00:00Z", 0, 0, 0),
            counts("2024-01-05T00:00:00Z", 1, 1, 1),
            counts("2024-01-06T00:00:00Z", 0, 0, 1),
            counts("2024-01-07T00:00:00Z", 0, 0, 1),
            counts("2024-01-08T00:00:00Z", 1, 1, 1),
            counts("2024-01-09T00:00:00Z", 0, 1, 0),
        ]
    );

    // Weeks start on Monday: 1 Jan 2024 is one.
    let weeks = timeline(&outlined(&warehouse, &scope, &filter).await, Period::Week, None, far_future()).await.unwrap();
    assert_eq!(weeks.periods, [counts("2024-01-01T00:00:00Z", 4, 3, 1), counts("2024-01-08T00:00:00Z", 1, 2, 0)]);

    // Nothing selected, no periods.
    let none = timeline(
        &outlined(&warehouse, &scope, &Filter::source("missing").unwrap()).await,
        Period::Week,
        None,
        far_future(),
    )
    .await
    .unwrap();
    assert!(none.periods.is_empty());
}

#[tokio::test]
async fn periods_counted_back_from_an_instant_and_partial_ones_marked() {
    let (_dir, warehouse) = warehouse();
    import_csv(&warehouse, "team-a", "spans", LOG).await;
    let (scope, filter) = (TeamScope::Teams(vec!["team-a".into()]), Filter::source("spans").unwrap());
    let at = |text: &str| -> chrono::DateTime<chrono::Utc> { text.parse().unwrap() };

    // Weeks ending on Tue 9 Jan 18:00, "now": the 7 days from Tue 26 Dec 18:00 hold the starts
    // of P, Q and R and Q's end; the last 7 days T's and S's starts and every other end. None is
    // partial.
    let now = at("2024-01-09T18:00:00Z");
    let events = outlined(&warehouse, &scope, &filter).await;
    let weeks = timeline(&events, Period::Week, Some(now), now).await.unwrap();
    assert_eq!(
        weeks.periods,
        [
            counts("2023-12-26T18:00:00Z", 3, 1, 2),
            PeriodCounts {
                start: at("2024-01-02T18:00:00Z"),
                started: 2,
                completed: 4,
                open_at_end: 0,
                partial: false
            },
        ]
    );

    // The period holding an instant: its start inclusive, its end exclusive.
    let holding = |t: &str| weeks.period_at(at(t)).map(|p| p.start);
    assert_eq!(holding("2024-01-05T00:00:00Z"), Some(at("2024-01-02T18:00:00Z")));
    assert_eq!(holding("2024-01-02T18:00:00Z"), Some(at("2024-01-02T18:00:00Z")));
    assert_eq!((holding("2024-01-09T18:00:00Z"), holding("2023-12-26T17:59:59Z")), (None, None));

    // Calendar weeks seen on Tue 9 Jan 18:00: the week of 8 January is still running.
    let weeks = timeline(&events, Period::Week, None, now).await.unwrap();
    assert_eq!(weeks.periods.iter().map(|p| p.partial).collect::<Vec<_>>(), [false, true]);

    // Events from Wed 3 Jan on: the range cuts the first week, not the second.
    let cut =
        Filter::source("spans").unwrap().between(Some(at("2024-01-03T00:00:00Z")), None, TimeScope::Events).unwrap();
    let weeks = timeline(&outlined(&warehouse, &scope, &cut).await, Period::Week, None, far_future()).await.unwrap();
    assert_eq!(
        weeks.periods.iter().map(|p| (p.start, p.partial)).collect::<Vec<_>>(),
        [(at("2024-01-01T00:00:00Z"), true), (at("2024-01-08T00:00:00Z"), false)]
    );
}
