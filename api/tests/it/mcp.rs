//! The MCP server with a real MCP client: the official Python SDK (`mcp` from PyPI, installed by
//! `scripts/test`) drives `/mcp` on `orgata serve` (streamable HTTP) and `orgata mcp` (stdio) —
//! initialize, resources, every tool with valid and invalid arguments, prompts, a second team's
//! key and a key with `analytics.read` only (`tests/python/mcp_client.py`) — and what it read is
//! compared here with the REST API's answers for the same data.

use crate::support::{Server, call, register_and_sign_in};
use chrono::{Duration, SecondsFormat, Utc};
use orgata_engine::testing::{self, TestDatabase};
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The Python with the MCP SDK: `ORGATA_MCP_PYTHON` (set by `scripts/test`). Outside CI, without
/// it, the test is skipped with a message; under `CI=true` it fails.
pub(crate) fn python() -> Option<PathBuf> {
    match std::env::var("ORGATA_MCP_PYTHON") {
        Ok(path) if !path.is_empty() => Some(PathBuf::from(path)),
        _ if testing::in_ci() => panic!("CI=true but ORGATA_MCP_PYTHON is not set: the MCP client tests must not skip"),
        _ => {
            eprintln!("skipped: run through scripts/test (or set ORGATA_MCP_PYTHON) for the MCP client tests");
            None
        }
    }
}

/// A REST call that must succeed: its body.
async fn rest(c: &Client, s: &Server, method: Method, path: &str, token: &str, body: Option<Value>) -> Value {
    let (status, _, body) = call(c, s, method, path, Some(token), &[], body).await;
    assert!(status.is_success(), "{path}: {status} {body}");
    body
}

/// An API key for the signed-in user's team, with only `permissions` when given.
pub(crate) async fn api_key(c: &Client, s: &Server, team: &str, token: &str, permissions: Option<&[&str]>) -> String {
    let path = format!("/v1/teams/{team}/api-keys");
    let body = match permissions {
        Some(permissions) => json!({"name": "agent", "permissions": permissions}),
        None => json!({"name": "agent"}),
    };
    let key = rest(c, s, Method::POST, &path, token, Some(body)).await;
    key["secret"].as_str().unwrap().to_string()
}

async fn mcp_clients(db: TestDatabase) {
    let Some(python) = python() else { return };
    let server = Server::start(&db.url);
    let c = Client::new();
    let (team, token) = register_and_sign_in(&c, &server, "mcp-a").await;
    let (other_team, other_token) = register_and_sign_in(&c, &server, "mcp-b").await;
    let me = rest(&c, &server, Method::GET, "/v1/me", &token, None).await;
    let start = Utc::now();

    // A playbook (a form, then an approval) and two processes, one a step further.
    let form = json!({"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]});
    let definition = json!({"description": "Onboard a supplier", "steps": [
        {"key": "check", "name": "Check supplier", "kind": "form", "assignee": {"role": "owner"}, "form": form},
        {"key": "approve", "name": "Approve", "kind": "approval", "depends_on": ["check"], "assignee": {"role": "owner"}}
    ]});
    let path = format!("/v1/teams/{team}/playbooks");
    let playbook = rest(
        &c,
        &server,
        Method::POST,
        &path,
        &token,
        Some(json!({"name": "Supplier onboarding", "definition": definition})),
    )
    .await;
    let playbook_id = playbook["playbook"]["id"].as_str().unwrap().to_string();
    // A second playbook, for agents to edit.
    let notes = json!({"description": "Notes", "steps": [
        {"key": "note", "name": "Write a note", "kind": "form", "assignee": {"role": "owner"}}
    ]});
    let body = json!({"name": "Scratch pad", "definition": notes});
    let scratch = rest(&c, &server, Method::POST, &format!("/v1/teams/{team}/playbooks"), &token, Some(body)).await;
    let scratch_id = scratch["playbook"]["id"].as_str().unwrap().to_string();
    let path = format!("/v1/teams/{team}/processes");
    let mut processes = Vec::new();
    for title in ["Acme Ltd", "Globex"] {
        let body = json!({"playbook_id": playbook_id, "title": title});
        processes.push(rest(&c, &server, Method::POST, &path, &token, Some(body)).await);
    }
    let task = &processes[1]["tasks"][0];
    let path = format!("/v1/tasks/{}/complete", task["id"].as_str().unwrap());
    let if_match = format!("\"{}\"", task["revision"]);
    let headers = [("If-Match", if_match.as_str())];
    let (status, _, done) =
        call(&c, &server, Method::POST, &path, Some(&token), &headers, Some(json!({"output": {"ok": true}}))).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    let key = api_key(&c, &server, &team, &token, None).await;
    let other_key = api_key(&c, &server, &other_team, &other_token, None).await;
    let limited_key = api_key(&c, &server, &team, &token, Some(&["analytics.read"])).await;

    // The warehouse holds the setup once it holds its last event (batches arrive in commit order).
    let sql_path = format!("/v1/teams/{team}/sql");
    let completions = json!({"sql": "select count(*) as n from events where lifecycle = 'complete'"});
    for attempt in 0.. {
        let answer = rest(&c, &server, Method::POST, &sql_path, &token, Some(completions.clone())).await;
        if answer["rows"] == json!([{"n": 1}]) {
            break;
        }
        assert!(attempt < 300, "the warehouse did not catch up: {answer}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let time = |t: chrono::DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Micros, true);
    let (to, from, versus_from) = (time(Utc::now()), time(start - Duration::hours(1)), time(start - Duration::days(2)));

    // Without an API key `/mcp` answers 401 problems; an access token is not an API key; a host
    // not allowed is refused.
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    let accept = [("Accept", "application/json, text/event-stream")];
    for bearer in [None, Some(token.as_str()), Some("orgata_nope_nope")] {
        let (status, headers, problem) =
            call(&c, &server, Method::POST, "/mcp", bearer, &accept, Some(initialize.clone())).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{problem}");
        assert_eq!(headers["content-type"], "application/problem+json");
        assert_eq!(problem["type"], "https://orgata.dev/problems/unauthenticated", "{problem}");
    }
    let hosted = [accept[0], ("Host", "evil.example")];
    let (status, _, body) = call(&c, &server, Method::POST, "/mcp", Some(&key), &hosted, Some(initialize)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

    let sql = "select id, name from playbooks order by id";
    let ids = json!({
        "team": team, "other_team": other_team, "user": me["user"]["id"], "playbook": playbook_id,
        "process": processes[0]["instance"]["id"], "search": "supplier onboard", "sql": sql, "scratch": scratch_id,
        "to": to, "from": from, "versus_from": versus_from,
    });
    let env = json!({
        "ORGATA_DATABASE_URL": db.url, "ORGATA_DATA_DIR": server.data_dir(), "ORGATA_LOG": "warn",
        "ORGATA_CONFIG": "/dev/null",
    });
    for transport in ["http", "stdio"] {
        let config = json!({
            "transport": transport, "url": format!("{}/mcp", server.base), "orgata": env!("CARGO_BIN_EXE_orgata"),
            "env": env, "key": key, "other_key": other_key, "limited_key": limited_key, "ids": ids,
        });
        let out = run_client(&python, &config).await;

        // The same answers as REST, for the same data.
        let (cr, sr, tr) = (&c, &server, &token);
        let get = move |path: String| async move { rest(cr, sr, Method::GET, &path, tr, None).await };
        let members = json!({
            "team": get(format!("/v1/teams/{team}")).await,
            "members": get(format!("/v1/teams/{team}/members")).await,
        });
        assert_eq!(out["members"], members, "{transport}");
        let process = get(format!("/v1/processes/{}", ids["process"].as_str().unwrap())).await;
        assert_eq!(out["process"], process, "{transport}");
        assert_eq!(out["resources"]["process"], process, "{transport}");
        let detail = get(format!("/v1/playbooks/{playbook_id}")).await;
        assert_eq!(out["resources"]["playbook"], detail, "{transport}");
        assert_eq!(out["search"], json!({"playbooks": [detail]}), "{transport}");
        assert_eq!(out["search_none"], json!({"playbooks": []}), "{transport}");
        let library = out["resources"]["playbooks://library"]["playbooks"].as_array().unwrap();
        let listed: Vec<&Value> = library.iter().map(|p| &p["playbook"]["id"]).collect();
        assert_eq!(listed.len(), 2, "{transport}: {library:?}");
        assert!(listed.contains(&&json!(scratch_id)), "{transport}: {library:?}");
        assert_eq!(library.iter().find(|p| p["playbook"]["id"] == json!(playbook_id)), Some(&detail), "{transport}");
        assert_eq!(out["edited"], get(format!("/v1/playbooks/{scratch_id}")).await, "{transport}");
        let cancelled = get(format!("/v1/processes/{}", out["cancelled_id"].as_str().unwrap())).await;
        assert_eq!(cancelled["instance"]["status"], "cancelled", "{transport}");
        let audit = get(format!("/v1/audit?entity_id={}", out["cancelled_id"].as_str().unwrap())).await;
        let reasons: Vec<&Value> = audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == "instance.cancel")
            .map(|e| &e["detail"]["reason"])
            .collect();
        assert_eq!(reasons, [&json!("a duplicate")], "{transport}: {audit}");
        let comments = &get(format!("/v1/processes/{}", out["created_id"].as_str().unwrap())).await["comments"];
        let bodies: Vec<(&Value, bool)> =
            comments.as_array().unwrap().iter().map(|c| (&c["body"], c["edited_at"].is_string())).collect();
        assert_eq!(bodies, [(&json!("On it now"), true)], "{transport}: the edit stays, the deleted one is gone");
        assert_eq!(out["settings"], get("/v1/organisation/settings".to_string()).await, "{transport}");
        assert_eq!(out["settings"]["time_zone"], "UTC", "{transport}");
        let answer = rest(&c, &server, Method::POST, &sql_path, &token, Some(json!({"sql": sql}))).await;
        assert_eq!(out["sql"], answer, "{transport}");
        let analytics = format!("/v1/teams/{team}/analytics");
        assert_eq!(out["metrics"], get(format!("{analytics}/cases?to={to}")).await, "{transport}");
        assert_eq!(out["bottlenecks"], get(format!("{analytics}/bottlenecks?to={to}")).await, "{transport}");
        assert_eq!(out["anomalies"], get(format!("{analytics}/anomalies?to={to}")).await, "{transport}");
        assert_eq!(out["anomalies"]["report"], "anomalies");
        let compare =
            get(format!("{analytics}/compare?from={from}&to={to}&versus_from={versus_from}&versus_to={to}")).await;
        assert_eq!(out["compare"], compare, "{transport}");
        assert_eq!(out["compare"]["report"], "compare");
        let created = get(format!("/v1/processes/{}", out["created_id"].as_str().unwrap())).await;
        assert_eq!(out["completed"]["instance"], created["instance"], "{transport}");
        assert_eq!(out["tasks"], get(format!("/v1/teams/{team}/tasks")).await, "{transport}");
        let open = get(format!("/v1/teams/{team}/tasks?status=open,assigned&limit=50")).await;
        assert_eq!(out["open_tasks"], open, "{transport}");
        let team_doc = &out["resources"]["team://current"];
        assert_eq!(team_doc["team"], members["team"]);
        assert_eq!(team_doc["members"], members["members"]);
        assert_eq!(team_doc["your_role"], "owner");
        assert_eq!(out["resources"]["analytics://metrics"]["report"], "cases");
        assert_eq!(out["resources"]["analytics://bottlenecks"]["report"], "bottlenecks");
        let other_path = format!("/v1/teams/{other_team}/tasks");
        let other_tasks = rest(&c, &server, Method::GET, &other_path, &other_token, None).await;
        assert_eq!(out["other"]["tasks"], other_tasks, "{transport}");
    }

    // `orgata mcp` without a valid key: one line on stderr and a non-zero exit.
    for key in [None, Some("orgata_nope_nope")] {
        let mut command = Command::new(env!("CARGO_BIN_EXE_orgata"));
        command.arg("mcp").env("ORGATA_DATABASE_URL", &db.url).env("ORGATA_DATA_DIR", server.data_dir());
        command.env("ORGATA_LOG", "warn").env("ORGATA_CONFIG", "/dev/null").env_remove("ORGATA_API_KEY");
        if let Some(key) = key {
            command.env("ORGATA_API_KEY", key);
        }
        let output = command.stdin(Stdio::null()).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{stderr}");
        assert!(stderr.contains("ORGATA_API_KEY"), "{stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    }
    assert!(server.stop().success(), "a graceful stop with MCP sessions open");
}

/// Makes `calls` (each `{"tool", "arguments"}`) in one MCP session over HTTP with `key`, through
/// `tests/python/mcp_calls.py`: each call's outcome (`error`, `text`, `structured`).
pub(crate) async fn calls(python: &std::path::Path, server: &Server, key: &str, calls: &[Value]) -> Vec<Value> {
    let config = json!({"url": format!("{}/mcp", server.base), "key": key, "calls": calls});
    let outcomes = run_script(python, "mcp_calls.py", &config).await;
    assert_eq!(outcomes.as_array().map(Vec::len), Some(calls.len()), "{outcomes}");
    outcomes.as_array().cloned().unwrap_or_default()
}

/// Runs the Python client with `config`; what it printed, as JSON.
async fn run_client(python: &std::path::Path, config: &Value) -> Value {
    run_script(python, "mcp_client.py", config).await
}

/// Runs `tests/python/<script>` with `config` (written to a file, its one argument); what it
/// printed, as JSON.
async fn run_script(python: &std::path::Path, script: &str, config: &Value) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.json");
    std::fs::write(&path, config.to_string()).unwrap();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python").join(script);
    let python = python.to_path_buf();
    let output = tokio::task::spawn_blocking(move || Command::new(python).arg(script).arg(&path).output())
        .await
        .unwrap()
        .expect("run the MCP client");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the MCP client failed ({}):\n{stderr}\n{stdout}", config["transport"]);
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}\n{stderr}"))
}

orgata_engine::on_both_databases!(mcp_clients);
