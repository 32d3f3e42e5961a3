//! The warehouse through `orgata serve` and the CLI: the server streams what the engine commits,
//! the SQL endpoint answers over the team's rows only, refuses anything but a query, and reports
//! freshness on /metrics; `orgata sql` and `orgata import` work on the same warehouse.

use crate::support::{Server, call, json_body, register_and_sign_in, sql, with_json};
use orgata_engine::testing::TestDatabase;
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

fn problem(body: &Value) -> &str {
    body["type"].as_str().unwrap_or_default().trim_start_matches("https://orgata.dev/problems/")
}

async fn sql_over_the_streamed_warehouse(db: TestDatabase) {
    let url = db.url.clone();
    let server = tokio::task::spawn_blocking(move || Server::start(&url)).await.unwrap();
    let c = Client::new();
    let (team, token) = register_and_sign_in(&c, &server, "acme").await;
    let (other_team, other_token) = register_and_sign_in(&c, &server, "globex").await;

    // The registration streams in within seconds: the team and its owner are queryable.
    let deadline = Instant::now() + Duration::from_secs(20);
    let query = json!({"sql": "SELECT t.name, u.email, m.role FROM teams t JOIN memberships m ON m.team_id = t.id JOIN users u ON u.id = m.user_id"});
    let answer = loop {
        let (status, answer) = sql(&c, &server, &team, &token, query.clone()).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        if answer["row_count"] == 1 || Instant::now() > deadline {
            break answer;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(answer["rows"], json!([{"name": "Ops", "email": "owner@acme.test", "role": "owner"}]));
    assert_eq!(answer["columns"][0], json!({"name": "name", "type": "Utf8"}));
    assert_eq!(answer["truncated"], false);
    // DuckDB answers the same over the same snapshot.
    let mut on_duckdb = query.clone();
    on_duckdb["engine"] = json!("duckdb");
    let (status, duck) = sql(&c, &server, &team, &token, on_duckdb).await;
    assert_eq!((status, &duck["rows"]), (StatusCode::OK, &answer["rows"]), "{duck}");
    let (status, duck) = sql(&c, &server, &team, &token, json!({"sql": "SELECT 1", "engine": "sqlite"})).await;
    assert_eq!((status, duck["errors"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("/engine")));

    // An event log imported over HTTP lands next to the team's own events.
    let log = "<?xml version='1.0' encoding='UTF-8'?>\n<log>\n\
        <trace><string key=\"concept:name\" value=\"c1\"/>\n\
        <event><string key=\"concept:name\" value=\"open\"/><date key=\"time:timestamp\" value=\"2024-01-01T09:00:00Z\"/></event>\n\
        <event><string key=\"concept:name\" value=\"close\"/><date key=\"time:timestamp\" value=\"2024-01-01T10:00:00Z\"/></event>\n\
        </trace>\n<trace><string key=\"concept:name\" value=\"c2\"/>\n\
        <event><string key=\"concept:name\" value=\"open\"/><date key=\"time:timestamp\" value=\"2024-01-02T09:00:00Z\"/></event>\n\
        </trace>\n</log>\n";
    let upload = |team: &str, token: &str, query: &str, body: &str| {
        c.post(format!("{}/v1/teams/{team}/imports?{query}", server.base))
            .bearer_auth(token)
            .header("content-type", "application/octet-stream")
            .body(body.to_string())
            .send()
    };
    let res = upload(&team, &token, "source=tiny.xes&format=xes", log).await.unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let report = json_body(res).await;
    assert_eq!(report, json!({"team_id": team, "source": "tiny.xes", "events": 3, "cases": 2}));
    let (_, answer) = sql(
        &c,
        &server,
        &team,
        &token,
        json!({"sql": "SELECT source, count(*) AS n FROM events GROUP BY source ORDER BY source"}),
    )
    .await;
    assert_eq!(answer["rows"], json!([{"source": "tiny.xes", "n": 3}]));
    let res = upload(&team, &token, "source=tiny.xes&format=xes", &log[..150]).await.unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = json_body(res).await;
    assert_eq!(problem(&body), "invalid-log");
    let detail = body["detail"].as_str().unwrap();
    assert!(detail.starts_with("line 4: malformed XES"), "{body}");
    let res = upload(&other_team, &token, "source=tiny.xes&format=xes", log).await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    // CSV with its columns named in the query.
    let csv = "Order;Step;Phase;Done\no1;pack;start;2024-01-01T09:00:00Z\no1;pack;complete;2024-01-01T10:00:00Z\n"
        .replace(';', ",");
    let mapping = "source=orders&format=csv&case_column=Order&activity_column=Step&timestamp_column=Done\
                   &lifecycle_column=Phase";
    let res = upload(&team, &token, mapping, &csv).await.unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let (_, answer) = sql(
        &c,
        &server,
        &team,
        &token,
        json!({"sql": "SELECT case_id, activity, lifecycle FROM events WHERE source = 'orders' ORDER BY ordinal"}),
    )
    .await;
    let expected = json!([
        {"case_id": "o1", "activity": "pack", "lifecycle": "start"},
        {"case_id": "o1", "activity": "pack", "lifecycle": "complete"}
    ]);
    assert_eq!(answer["rows"], expected);

    // Process analytics over the imported log — the functions `orgata report` runs.
    let analytics = |team: &str, token: &str, report_and_query: &str| {
        let path = format!("/v1/teams/{team}/analytics/{report_and_query}");
        let (c, server, token) = (c.clone(), &server, token.to_string());
        async move {
            let (status, _, body) = call(&c, server, Method::GET, &path, Some(&token), &[], None).await;
            (status, body)
        }
    };
    let (status, mut cases) = analytics(&team, &token, "cases?source=tiny.xes").await;
    assert_eq!(status, StatusCode::OK, "{cases}");
    // Every report says what it counted.
    let selection = cases.as_object_mut().unwrap().remove("selection");
    let counted = json!({"selected_events": 3, "counted_events": 3, "rule": "every",
        "transitions": [{"transition": "complete", "events": 3}], "emptied_by": null, "summary": "Counted all 3 events."});
    assert_eq!(selection, Some(counted));
    let duration = json!({"mean": 1800.0, "median": 1800.0, "p25": 900.0, "p75": 2700.0, "p90": 3240.0, "p95": 3420.0,
        "min": 0.0, "max": 3600.0});
    let expected = json!({"report": "cases", "statistics": {"cases": 2, "events": 3, "duration_s": duration},
        "arrival_average_s": 86400.0});
    assert_eq!(cases, expected);
    let (_, mut dfg) = analytics(&team, &token, "dfg?source=tiny.xes").await;
    dfg.as_object_mut().unwrap().remove("selection");
    let edge = json!({"from": "open", "to": "close", "frequency": 1, "mean_s": 3600.0, "median_s": 3600.0,
        "min_s": 3600.0, "max_s": 3600.0});
    let expected = json!({"report": "dfg", "edges": [edge], "start_activities": {"open": 2},
        "end_activities": {"close": 1, "open": 1}});
    assert_eq!(dfg, expected);
    let (_, bottlenecks) = analytics(&team, &token, "bottlenecks?source=tiny.xes").await;
    assert_eq!((bottlenecks["cases"].as_u64(), bottlenecks["cycle_time_total_s"].as_f64()), (Some(2), Some(3600.0)));
    let (_, later) = analytics(&team, &token, "cases?source=tiny.xes&from=2024-01-02T00:00:00Z").await;
    assert_eq!(later["statistics"]["cases"], 1, "{later}");
    // A day against the next: the same figures as the cases report of each day.
    let compare = "compare?source=tiny.xes&to=2024-01-02T00:00:00Z&versus_from=2024-01-02T00:00:00Z";
    let (status, compared) = analytics(&team, &token, compare).await;
    assert_eq!(status, StatusCode::OK, "{compared}");
    assert_eq!((&compared["base"], &compared["other"]), (&json!("… – 2024-01-02"), &json!("2024-01-02 – …")));
    let mean = json!({"metric": "case_duration_mean_s", "name": "mean case duration", "unit": "seconds",
        "base": 3600.0, "other": 0.0, "change": -3600.0, "relative": -1.0});
    assert_eq!(compared["metrics"][2], mean);
    // Days counted back from noon on the 3rd: each period runs from noon to noon, the last ends
    // there, and none is partial (the log's cases are over).
    let (status, days) =
        analytics(&team, &token, "timeline?source=tiny.xes&period=day&periods_end=2024-01-03T12:00:00Z").await;
    assert_eq!(status, StatusCode::OK, "{days}");
    let periods = days["periods"].as_array().unwrap();
    assert!(!periods.is_empty(), "{days}");
    for p in periods {
        assert!(p["start"].as_str().unwrap().ends_with("T12:00:00Z") && p["partial"] == false, "{days}");
    }
    // The log names no resources: three items, none assigned.
    let (status, resources) = analytics(&team, &token, "resources?source=tiny.xes&hours_per_week=20").await;
    assert_eq!(status, StatusCode::OK, "{resources}");
    let figures = (&resources["items"], &resources["unassigned_items"], &resources["hours_per_week"]);
    assert_eq!(figures, (&json!(3), &json!(3), &json!(20.0)));
    // Cases over a 30-minute target: the one that took an hour, by 30 minutes.
    let (status, sla) = analytics(&team, &token, "sla?source=tiny.xes&case_target=30m").await;
    assert_eq!(status, StatusCode::OK, "{sla}");
    let cases = json!({"target_s": 1800.0, "cases": 2, "breaches": 1, "breach_rate": 0.5, "excess_mean_s": 1800.0,
        "excess_max_s": 1800.0, "open": null});
    assert_eq!((&sla["steps"], &sla["cases"]), (&json!([]), &cases));
    // Two cases are too few to call either unusual; their one pair of activities is profiled.
    let (status, anomalies) = analytics(&team, &token, "anomalies?source=tiny.xes&zeta=2").await;
    assert_eq!(status, StatusCode::OK, "{anomalies}");
    assert_eq!(
        anomalies["findings"],
        json!(["Only 2 cases have finished: at least 20 are needed to tell an unusual case from the usual."])
    );
    let pair = json!({"from": "open", "to": "close", "observations": 1, "mean_s": 3600.0, "stdev_s": 0.0});
    assert_eq!(anomalies["temporal_profile"]["pairs"], json!([pair]));
    assert_eq!((&anomalies["temporal_profile"]["zeta"], &anomalies["outlying_cases"]), (&json!(2.0), &json!(0)));
    // No process has run here: no model, and too little history to learn one.
    let models = format!("/v1/teams/{team}/models");
    let (status, _, listed) = call(&c, &server, Method::GET, &models, Some(&token), &[], None).await;
    assert_eq!((status, listed), (StatusCode::OK, json!([])));
    let predictions = format!("/v1/teams/{team}/predictions");
    let (status, _, body) = call(&c, &server, Method::GET, &predictions, Some(&token), &[], None).await;
    assert_eq!((status, problem(&body)), (StatusCode::NOT_FOUND, "no-model"), "{body}");
    let (status, _, body) = call(&c, &server, Method::POST, &models, Some(&token), &[], Some(json!({}))).await;
    assert_eq!((status, problem(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "not-enough-history"), "{body}");
    let wrong = json!({"case_target_quantile": 2});
    let (status, _, body) = call(&c, &server, Method::POST, &models, Some(&token), &[], Some(wrong)).await;
    assert_eq!((status, problem(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "validation"), "{body}");
    let (status, body) = analytics(&team, &token, &format!("compare?source=tiny.xes&versus_team={other_team}")).await;
    assert_eq!((status, problem(&body)), (StatusCode::NOT_FOUND, "not-found"), "no access to the other team");
    let (_, mut own) = analytics(&team, &token, "cases").await;
    let selection = own.as_object_mut().unwrap().remove("selection").unwrap();
    let expected = json!({"report": "cases", "statistics": {"cases": 0, "events": 0, "duration_s": null},
        "arrival_average_s": null});
    assert_eq!(own, expected, "no process has run in Orgata yet");
    let sources = json!([{"source": "tiny.xes", "events": 3}, {"source": "orders", "events": 2}]);
    let emptied = json!({"filter": "source", "source": "orgata", "sources": sources});
    assert_eq!(selection["emptied_by"], emptied);
    assert_eq!(
        selection["summary"],
        "No events: the source `orgata` has none here. The events here come from `tiny.xes` (3), `orders` (2); \
         choose one with the source filter."
    );
    for (query, status, kind) in [
        ("forecast", StatusCode::NOT_FOUND, "not-found"),
        ("cases?source=a'b", StatusCode::UNPROCESSABLE_ENTITY, "invalid-filter"),
        ("cases?period=month", StatusCode::UNPROCESSABLE_ENTITY, "validation"),
        ("cases?from=yesterday", StatusCode::BAD_REQUEST, "bad-request"),
        ("compare?source=tiny.xes", StatusCode::UNPROCESSABLE_ENTITY, "invalid-filter"),
        ("cases?versus_source=x", StatusCode::UNPROCESSABLE_ENTITY, "validation"),
        ("cases?case_target=1h", StatusCode::UNPROCESSABLE_ENTITY, "validation"),
        ("sla?case_target=soon", StatusCode::UNPROCESSABLE_ENTITY, "validation"),
        ("cases?periods_end=2024-01-03T12:00:00Z", StatusCode::UNPROCESSABLE_ENTITY, "validation"),
        ("timeline?periods_end=soon", StatusCode::BAD_REQUEST, "bad-request"),
        ("resources?source=tiny.xes&hours_per_week=200", StatusCode::UNPROCESSABLE_ENTITY, "invalid-filter"),
        ("anomalies?source=tiny.xes&zeta=-1", StatusCode::UNPROCESSABLE_ENTITY, "invalid-filter"),
        ("anomalies?zeta=many", StatusCode::BAD_REQUEST, "bad-request"),
        ("cases?zeta=3", StatusCode::UNPROCESSABLE_ENTITY, "validation"),
    ] {
        let (got, body) = analytics(&team, &token, query).await;
        assert_eq!((got, problem(&body)), (status, kind), "{query}: {body}");
    }
    let (status, _) = analytics(&other_team, &token, "cases?source=tiny.xes").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another team's analytics are not found");

    // Each team sees its own rows only, whatever the SQL; another team's id is not found.
    let all = json!({"sql": "SELECT count(*) AS n FROM users WHERE email LIKE '%globex%' OR true"});
    let (_, answer) = sql(&c, &server, &team, &token, all.clone()).await;
    assert_eq!(answer["rows"], json!([{"n": 1}]));
    let (status, answer) = sql(&c, &server, &other_team, &token, all).await;
    assert_eq!((status, problem(&answer)), (StatusCode::NOT_FOUND, "not-found"));
    let (status, _) = sql(&c, &server, &other_team, &other_token, json!({"sql": "SELECT 1"})).await;
    assert_eq!(status, StatusCode::OK);

    // Anything but one read-only query is refused, in words.
    for (statement, kind) in [
        ("DROP TABLE events", "not-read-only"),
        ("INSERT INTO events SELECT * FROM events", "not-read-only"),
        ("SELECT * FROM raw_events", "invalid-query"),
        ("SELEC 1", "invalid-query"),
    ] {
        let (status, answer) = sql(&c, &server, &team, &token, json!({"sql": statement})).await;
        assert_eq!((status, problem(&answer)), (StatusCode::UNPROCESSABLE_ENTITY, kind), "{statement}: {answer}");
        assert!(!answer["detail"].as_str().unwrap().is_empty());
    }
    let (status, answer) = sql(&c, &server, &team, &token, json!({"sql": "SELECT 1", "max_rows": 0})).await;
    assert_eq!((status, answer["errors"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("/max_rows")));
    let (status, answer) = sql(&c, &server, &team, &token, json!({"sql": " "})).await;
    assert_eq!((status, answer["errors"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("/sql")));

    // Row limits, and CSV on request.
    let series = json!({"sql": "SELECT value FROM generate_series(1, 5) ORDER BY value", "max_rows": 3});
    let (_, answer) = sql(&c, &server, &team, &token, series.clone()).await;
    assert_eq!((answer["row_count"].clone(), answer["truncated"].clone()), (json!(3), json!(true)));
    let csv = with_json(c.post(format!("{}/v1/teams/{team}/sql", server.base)), &series)
        .bearer_auth(&token)
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    assert_eq!(csv.text().await.unwrap(), "value\n1\n2\n3\n");

    // Freshness is measured.
    let metrics = c.get(format!("{}/metrics", server.base)).send().await.unwrap().text().await.unwrap();
    let series = |name: &str| {
        let prefix = format!("{name} ");
        metrics.lines().find_map(|l| l.strip_prefix(prefix.as_str())).map(|n| n.parse::<u64>().unwrap())
    };
    let (count, changes) =
        (series("orgata_warehouse_freshness_seconds_count"), series("orgata_warehouse_changes_total"));
    assert!(count.is_some_and(|n| n >= 1), "{metrics}");
    assert_eq!(count, changes, "one freshness observation per change event: {metrics}");
    assert!(server.stop().success(), "a graceful stop gives the streamer lease up and exits 0");
}

orgata_engine::on_both_databases!(sql_over_the_streamed_warehouse);
