//! Analysts' SQL is a sandbox through every interface (issue 21): the attack corpus of
//! `orgata_warehouse::testing` (every kind of probe on every table, the per-column predicates on
//! each table's first text column; the warehouse's tests run them on every column) on both
//! engines, sent by one organisation's owner through REST, the web console, `orgata sql --team`
//! and MCP's `run_sql`, while a second organisation's data sits in the same warehouse. No answer may hold any of the other organisation's values, the server
//! must answer every probe and stay up, and `orgata warehouse verify` must still pass.

use crate::support::{Server, call, orgata_command, register_and_sign_in, sql};
use orgata_engine::testing::TestDatabase;
use orgata_warehouse::testing::cross_section;
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};
use std::io::Write;
use std::process::Stdio;
use std::time::{Duration, Instant};

const ENGINES: [&str; 2] = ["datafusion", "duckdb"];

/// Runs an `orgata` command against the server's data folder: (exit code, stdout and stderr).
fn orgata(server: &Server, db_url: &str, args: &[&str], stdin: &str) -> (Option<i32>, String) {
    let mut child = orgata_command(server.data_dir(), Some(db_url))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.code(), text)
}

/// The other organisation's process data: a playbook, a started process and its task, all named
/// with the mark.
async fn foreign_process(c: &Client, server: &Server, team: &str, token: &str) {
    let definition = json!({"description": "zq secret", "steps": [
        {"key": "zq-step", "name": "zq confidential step", "kind": "task", "assignee": {"role": "owner"}}
    ]});
    let path = format!("/v1/teams/{team}/playbooks");
    let body = json!({"name": "zq secret playbook", "definition": definition, "message": "zq first"});
    let (status, _, playbook) = call(c, server, Method::POST, &path, Some(token), &[], Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{playbook}");
    let path = format!("/v1/teams/{team}/processes");
    let body = json!({"playbook_id": playbook["playbook"]["id"], "title": "zq merger with initech", "input": {}});
    let (status, _, started) = call(c, server, Method::POST, &path, Some(token), &[], Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{started}");
}

/// Waits until `sql` answers `expected` rows for the team (the change stream caught up).
async fn streamed(c: &Client, server: &Server, team: &str, token: &str, query: &str, expected: Value) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, answer) = sql(c, server, team, token, json!({"sql": query})).await;
        if answer["rows"] == expected {
            return;
        }
        assert!(Instant::now() < deadline, "not streamed: {query}: {answer}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn the_attack_corpus_through_every_interface(db: TestDatabase) {
    let url = db.url.clone();
    let server = tokio::task::spawn_blocking(move || Server::start(&url)).await.unwrap();
    let c = Client::new();
    let (team, token) = register_and_sign_in(&c, &server, "acme").await;
    let (other_team, other_token) = register_and_sign_in(&c, &server, "zqglobex").await;
    foreign_process(&c, &server, &other_team, &other_token).await;
    let tasks = "SELECT name FROM tasks";
    streamed(&c, &server, &other_team, &other_token, tasks, json!([{"name": "zq confidential step"}])).await;
    let (_, _, me) = call(&c, &server, Method::GET, "/v1/me", Some(&other_token), &[], None).await;
    // Everything that names the other organisation: the mark, and its ids.
    let mut foreign = vec!["zq".to_string(), other_team.clone()];
    foreign.extend(["id", "org_id"].map(|k| me["user"][k].as_str().unwrap().to_string()));
    let leaks = |interface: &str, sql: &str, text: &str| {
        let lower = text.to_lowercase();
        let shown: String = sql.chars().take(120).collect();
        for value in &foreign {
            assert!(!lower.contains(&value.to_lowercase()), "{interface} leaks {value}: {shown}\n{text}");
        }
        assert!(!text.contains("\"injected\""), "{interface} ran a second statement: {shown}\n{text}");
    };
    // An API key of the first team, for MCP; a web session is the access token's cookie.
    let path = format!("/v1/teams/{team}/api-keys");
    let (_, _, key) = call(&c, &server, Method::POST, &path, Some(&token), &[], Some(json!({"name": "agent"}))).await;
    let key = key["secret"].as_str().unwrap().to_string();
    let cookie = format!("orgata_access={token}");

    let corpus = cross_section();
    let mut mcp_probes = Vec::new();
    for probe in &corpus {
        for engine in ENGINES {
            let body = json!({"sql": probe.sql, "engine": engine});
            let (status, answer) = sql(&c, &server, &team, &token, body).await;
            assert!(status == StatusCode::OK || status.is_client_error(), "REST {status}: {answer}");
            leaks("REST", &probe.sql, &answer.to_string());

            let form = [("sql", probe.sql.as_str()), ("engine", engine)];
            let page = c
                .post(format!("{}/teams/{team}/sql", server.base))
                .header("cookie", &cookie)
                .header("origin", &server.base)
                .form(&form)
                .send()
                .await
                .unwrap();
            let status = page.status();
            let page = page.text().await.unwrap();
            assert!(status == StatusCode::OK || status.is_client_error(), "web console {status}: {page}");
            leaks("the web console", &probe.sql, &page);

            let (code, output) = orgata(&server, &db.url, &["sql", "--team", &team, "--engine", engine], &probe.sql);
            assert!(code.is_some(), "the CLI was killed by a signal: {output}");
            leaks("the CLI", &probe.sql, &output);
            mcp_probes.push(json!({"tool": "run_sql", "arguments": {"sql": probe.sql, "engine": engine}}));
        }
    }

    match crate::mcp::python() {
        Some(python) => {
            let outcomes = crate::mcp::calls(&python, &server, &key, &mcp_probes).await;
            assert_eq!(outcomes.len(), mcp_probes.len());
            for (probe, outcome) in mcp_probes.iter().zip(&outcomes) {
                leaks("MCP", probe["arguments"]["sql"].as_str().unwrap(), &outcome.to_string());
            }
        }
        None => eprintln!("skipped the MCP part: no MCP client"),
    }

    // The console's GET (a shared link) runs through the same bounds.
    let deep = format!("SELECT 1 AS a WHERE {}", vec!["1=1"; 2_000].join(" OR "));
    let page = c
        .get(format!("{}/teams/{team}/sql", server.base))
        .query(&[("sql", deep.as_str()), ("engine", "datafusion")])
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = page.text().await.unwrap();
    assert!(page.contains("the query nests expressions or subqueries more than 1000 levels deep"), "{page}");

    // The server is up and answers; the warehouse is whole.
    let (status, answer) = sql(&c, &server, &team, &token, json!({"sql": "SELECT count(*) AS n FROM teams"})).await;
    assert_eq!((status, &answer["rows"]), (StatusCode::OK, &json!([{"n": 1}])));
    let (code, output) = orgata(&server, &db.url, &["warehouse", "verify"], "");
    assert_eq!(code, Some(0), "{output}");
}

orgata_engine::on_both_databases!(the_attack_corpus_through_every_interface);
