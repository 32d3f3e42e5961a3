//! One application layer under every interface: a business event is counted once on `/metrics`
//! whichever interface caused it — a sign-in over REST or the web UI; a process started and a task
//! completed over REST, the web UI or MCP — on SQLite and PostgreSQL.

use crate::support::{Browser, Server, call, register_and_sign_in};
use orgata_engine::testing::TestDatabase;
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

/// The value of the counter `orgata_<name>_total`.
async fn counter(c: &Client, s: &Server, name: &str) -> u64 {
    let text = c.get(format!("{}/metrics", s.base)).send().await.unwrap().text().await.unwrap();
    let prefix = format!("orgata_{name}_total ");
    let line = text.lines().find(|l| l.starts_with(&prefix)).unwrap_or_else(|| panic!("no {prefix}in:\n{text}"));
    line[prefix.len()..].parse().unwrap()
}

/// A REST call that must succeed: its body.
async fn rest(c: &Client, s: &Server, method: Method, path: &str, token: &str, body: Option<Value>) -> Value {
    let (status, _, body) = call(c, s, method, path, Some(token), &[], body).await;
    assert!(status.is_success(), "{path}: {status} {body}");
    body
}

async fn business_events_count_once(db: TestDatabase) {
    let server = Server::start(&db.url);
    let c = Client::new();
    let (team, token) = register_and_sign_in(&c, &server, "parity").await;
    assert_eq!(counter(&c, &server, "sign_ins").await, 1);

    // The web UI's sign-in counts as REST's does.
    let mut b = Browser::new(&server);
    let credentials =
        [("organisation", "parity"), ("email", "owner@parity.test"), ("password", "correct horse battery")];
    let page = b.post("/sign-in", &credentials).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(counter(&c, &server, "sign_ins").await, 2);

    // A playbook of one approval, started over REST and over the web UI.
    let definition = json!({"steps": [
        {"key": "approve", "name": "Approve", "kind": "approval", "assignee": {"role": "owner"}}
    ]});
    let body = json!({"name": "Purchase", "definition": definition});
    let playbook = rest(&c, &server, Method::POST, &format!("/v1/teams/{team}/playbooks"), &token, Some(body)).await;
    let playbook_id = playbook["playbook"]["id"].as_str().unwrap().to_string();
    let processes = format!("/v1/teams/{team}/processes");
    let started = rest(&c, &server, Method::POST, &processes, &token, Some(json!({"playbook_id": playbook_id}))).await;
    assert_eq!(counter(&c, &server, "processes_started").await, 1);
    let form = [("_playbook", playbook_id.as_str()), ("_title", "Started in the browser")];
    let page = b.post(&format!("/teams/{team}/processes/new"), &form).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(counter(&c, &server, "processes_started").await, 2);

    // Its task completed over REST, then the web UI's task completed in the browser.
    let task = &started["tasks"][0];
    let path = format!("/v1/tasks/{}/complete", task["id"].as_str().unwrap());
    let if_match = format!("\"{}\"", task["revision"]);
    let (status, _, done) = call(
        &c,
        &server,
        Method::POST,
        &path,
        Some(&token),
        &[("If-Match", if_match.as_str())],
        Some(json!({"decision": "approve"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(counter(&c, &server, "tasks_completed").await, 1);
    let open_tasks = format!("/v1/teams/{team}/tasks?status=open,assigned");
    let open = rest(&c, &server, Method::GET, &open_tasks, &token, None).await;
    let web_task = &open["items"][0];
    assert_eq!(open["items"].as_array().unwrap().len(), 1, "{open}");
    let revision = web_task["revision"].to_string();
    let form = [("_revision", revision.as_str()), ("_decision", "approve")];
    let page = b.post(&format!("/tasks/{}/complete", web_task["id"].as_str().unwrap()), &form).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(counter(&c, &server, "tasks_completed").await, 2);

    // Over MCP: a process started and its task completed by an agent.
    if let Some(python) = crate::mcp::python() {
        let key = crate::mcp::api_key(&c, &server, &team, &token, None).await;
        let create = json!({"tool": "create_process", "arguments": {"playbook_id": playbook_id}});
        let outcomes = crate::mcp::calls(&python, &server, &key, &[create]).await;
        assert_eq!(outcomes[0]["error"], false, "{}", outcomes[0]);
        assert_eq!(counter(&c, &server, "processes_started").await, 3);
        let task = &outcomes[0]["structured"]["tasks"][0];
        let complete = json!({"tool": "complete_task", "arguments": {"task_id": task["id"], "decision": "approve"}});
        let outcomes = crate::mcp::calls(&python, &server, &key, &[complete]).await;
        assert_eq!(outcomes[0]["error"], false, "{}", outcomes[0]);
        assert_eq!(counter(&c, &server, "tasks_completed").await, 3);
    }
    assert!(server.stop().success());
}

orgata_engine::on_both_databases!(business_events_count_once);
