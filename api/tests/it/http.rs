//! `orgata serve` end to end: the real binary on a real database, driven over HTTP.

use crate::support::{Server, call, json_body, register_and_sign_in};
use orgata_engine::testing::TestDatabase;
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

/// Sends request headers declaring a 2 MiB JSON body (and only a little of it); returns the
/// response's status line. (A client still sending a body the server refused would see its
/// connection closed, so the test does not send it all.)
async fn declare_huge_body(base: &str, path: &str, token: &str) -> String {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
    let addr = base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{{\"input\": \"",
        2 * 1024 * 1024
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut line = String::new();
    tokio::io::BufReader::new(stream).read_line(&mut line).await.unwrap();
    line.trim().to_string()
}

/// Reads the first `n` events of a team's stream from after `last_event_id`: `(id, kind)` each.
async fn read_events(base: &str, team: &str, token: &str, last_event_id: &str, n: usize) -> Vec<(String, String)> {
    use futures::StreamExt;
    let res = Client::new()
        .get(format!("{base}/v1/teams/{team}/events"))
        .bearer_auth(token)
        .header("last-event-id", last_event_id)
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    let mut body = res.bytes_stream();
    let (mut text, mut events) = (String::new(), Vec::new());
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    while events.len() < n {
        let chunk = tokio::time::timeout_at(deadline, body.next()).await.expect("events in time").unwrap().unwrap();
        text.push_str(std::str::from_utf8(&chunk).unwrap());
        while let Some(end) = text.find("\n\n") {
            let block: String = text.drain(..end + 2).collect();
            let field = |name: &str| block.lines().find_map(|l| l.strip_prefix(name)).map(str::to_string);
            if let (Some(id), Some(kind)) = (field("id: "), field("event: ")) {
                events.push((id, kind));
            }
        }
    }
    events.truncate(n);
    events
}

fn problem_type(body: &Value) -> &str {
    body["type"].as_str().unwrap_or_default().trim_start_matches("https://orgata.dev/problems/")
}

async fn rest_api_end_to_end(db: TestDatabase) {
    let url = db.url.clone();
    let server = tokio::task::spawn_blocking(move || Server::start(&url)).await.unwrap();
    let c = Client::new();
    let s = &server;

    let (status, headers, body) = call(&c, s, Method::GET, "/healthz", None, &[], None).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"status": "ok"})));
    assert!(headers.contains_key("x-request-id"));
    let (status, _, body) = call(&c, s, Method::GET, "/readyz", None, &[], None).await;
    assert_eq!((status, body["database"].as_str()), (StatusCode::OK, Some("ok")));

    // Register, then sign in.
    let registration = json!({
        "organisation_name": "Acme", "organisation_slug": "acme", "team_name": "Ops",
        "email": "ana@acme.test", "display_name": "Ana", "password": "correct horse battery"
    });
    let (status, _, registered) =
        call(&c, s, Method::POST, "/v1/auth/register", None, &[], Some(registration.clone())).await;
    assert_eq!(status, StatusCode::CREATED, "{registered}");
    let team = registered["team"]["id"].as_str().unwrap().to_string();
    let (status, _, body) = call(&c, s, Method::POST, "/v1/auth/register", None, &[], Some(registration)).await;
    assert_eq!((status, problem_type(&body)), (StatusCode::CONFLICT, "already-exists"));

    let wrong = json!({"organisation": "acme", "email": "ana@acme.test", "password": "nope nope nope"});
    let (status, headers, body) = call(&c, s, Method::POST, "/v1/auth/login", None, &[], Some(wrong)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(headers["content-type"], "application/problem+json");
    assert_eq!(headers["www-authenticate"], "Bearer");
    assert_eq!(body["detail"], "not authenticated: wrong organisation, email or password");
    let login = json!({"organisation": "acme", "email": "ana@acme.test", "password": "correct horse battery"});
    let (status, _, session) = call(&c, s, Method::POST, "/v1/auth/login", None, &[], Some(login)).await;
    assert_eq!((status, session["status"].as_str()), (StatusCode::OK, Some("signed_in")), "{session}");
    let token = session["access_token"].as_str().unwrap().to_string();
    let t = Some(token.as_str());

    let (status, _, me) = call(&c, s, Method::GET, "/v1/me", t, &[], None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["teams"][&team]["role"], "owner");
    let (status, _, body) = call(&c, s, Method::GET, "/v1/me", None, &[], None).await;
    assert_eq!((status, problem_type(&body)), (StatusCode::UNAUTHORIZED, "unauthenticated"));

    // Playbooks: invalid definitions are explained; updates need the ETag they read.
    let bad = json!({"name": "Broken", "definition": {"steps": [{"key": "a", "name": "A", "kind": "task", "depends_on": ["zz"]}]}});
    let path = format!("/v1/teams/{team}/playbooks");
    let (status, _, body) = call(&c, s, Method::POST, &path, t, &[], Some(bad)).await;
    assert_eq!((status, problem_type(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid-definition"), "{body}");
    let steps = json!({"steps": [
        {"key": "review", "name": "Review", "kind": "task", "assignee": {"role": "owner"}},
        {"key": "approve", "name": "Approve", "kind": "approval", "depends_on": ["review"], "assignee": {"role": "owner"}}
    ]});
    let (status, headers, created) =
        call(&c, s, Method::POST, &path, t, &[], Some(json!({"name": "Review", "definition": steps}))).await;
    assert_eq!((status, headers["etag"].to_str().unwrap()), (StatusCode::CREATED, "\"1\""), "{created}");
    let playbook = created["playbook"]["id"].as_str().unwrap().to_string();
    let pb_path = format!("/v1/playbooks/{playbook}");
    let mut changed = steps.clone();
    changed["steps"][0]["sla"] = json!("4h");
    let update = json!({"definition": changed, "message": "review within 4 hours"});
    let (status, _, body) = call(&c, s, Method::PUT, &pb_path, t, &[], Some(update.clone())).await;
    assert_eq!((status, problem_type(&body)), (StatusCode::PRECONDITION_REQUIRED, "precondition-required"));
    let (status, _, body) = call(&c, s, Method::PUT, &pb_path, t, &[("if-match", "\"7\"")], Some(update.clone())).await;
    assert_eq!((status, problem_type(&body)), (StatusCode::PRECONDITION_FAILED, "precondition-failed"));
    let (status, headers, body) = call(&c, s, Method::PUT, &pb_path, t, &[("if-match", "\"1\"")], Some(update)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(headers["etag"].to_str().unwrap(), "\"2\"");

    // Processes and tasks.
    let start = json!({"playbook_id": playbook, "title": "First", "input": {"amount": 3}});
    let (status, _, process) =
        call(&c, s, Method::POST, &format!("/v1/teams/{team}/processes"), t, &[], Some(start)).await;
    assert_eq!(status, StatusCode::CREATED, "{process}");
    let task = process["tasks"][0]["id"].as_str().unwrap().to_string();
    let (status, _, page) =
        call(&c, s, Method::GET, &format!("/v1/teams/{team}/tasks?status=open&limit=1"), t, &[], None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["items"][0]["id"], task.as_str());
    let cursor = page["next_cursor"].as_str().expect("a full page has a next cursor").to_string();
    let (_, _, next) =
        call(&c, s, Method::GET, &format!("/v1/teams/{team}/tasks?status=open&limit=1&cursor={cursor}"), t, &[], None)
            .await;
    assert_eq!((next["items"].as_array().unwrap().len(), &next["next_cursor"]), (0, &Value::Null));
    let (status, _, body) =
        call(&c, s, Method::GET, &format!("/v1/teams/{team}/tasks?status=sleeping"), t, &[], None).await;
    assert_eq!((status, problem_type(&body)), (StatusCode::BAD_REQUEST, "bad-request"));

    let task_path = format!("/v1/tasks/{task}");
    let (_, headers, _) = call(&c, s, Method::GET, &task_path, t, &[], None).await;
    let etag = headers["etag"].to_str().unwrap().to_string();
    let claim = json!({"action": "claim"});
    let (status, headers, _) = call(&c, s, Method::PATCH, &task_path, t, &[("if-match", &etag)], Some(claim)).await;
    assert_eq!(status, StatusCode::OK);
    let claimed = headers["etag"].to_str().unwrap().to_string();
    let complete = format!("{task_path}/complete");
    let (status, _, _) = call(&c, s, Method::POST, &complete, t, &[("if-match", &etag)], Some(json!({}))).await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED, "the ETag from before the claim is stale");
    let (status, _, done) = call(&c, s, Method::POST, &complete, t, &[("if-match", &claimed)], Some(json!({}))).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["created"][0]["step_key"], "approve");
    // `If-Match: *` asks for no particular version (RFC 9110): the approval is claimed whatever it is.
    let approve = done["created"][0]["id"].as_str().unwrap().to_string();
    let (status, _, claimed) = call(
        &c,
        s,
        Method::PATCH,
        &format!("/v1/tasks/{approve}"),
        t,
        &[("if-match", "*")],
        Some(json!({"action": "claim"})),
    )
    .await;
    assert_eq!((status, &claimed["status"]), (StatusCode::OK, &json!("assigned")), "{claimed}");
    let (status, _, body) = call(&c, s, Method::POST, &complete, t, &[("if-match", "\"9\"")], Some(json!({}))).await;
    assert_eq!((status, problem_type(&body)), (StatusCode::PRECONDITION_FAILED, "precondition-failed"));

    // The team's event stream, from the beginning of the log, then resumed from an event's id.
    let events = read_events(&s.base, &team, &token, "0:0", 6).await;
    let kinds: Vec<&str> = events.iter().map(|(_, k)| k.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "member.added",
            "playbook.created",
            "playbook.version_created",
            "playbook.version_created",
            "instance.started",
            "task.created"
        ]
    );
    let resumed = read_events(&s.base, &team, &token, &events[4].0, 4).await;
    let kinds: Vec<&str> = resumed.iter().map(|(_, k)| k.as_str()).collect();
    assert_eq!(kinds, ["task.created", "task.assigned", "task.completed", "task.created"]);
    let res = c
        .get(format!("{}/v1/teams/{team}/events", s.base))
        .bearer_auth(&token)
        .header("last-event-id", "x")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = json_body(res).await;
    assert_eq!(body["errors"][0]["field"], "Last-Event-ID");

    // Bad input: malformed JSON, a missing id, an oversized body.
    let res = c
        .post(format!("{}/v1/teams/{team}/processes", s.base))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    // JSON of the wrong shape: 422 naming the offending field by its path.
    let wrong_shape = json!({"playbook_id": playbook, "title": ["not", "a", "string"]});
    let (status, _, body) =
        call(&c, s, Method::POST, &format!("/v1/teams/{team}/processes"), t, &[], Some(wrong_shape)).await;
    assert_eq!(
        (status, problem_type(&body), &body["errors"][0]["field"]),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation", &json!("title")),
        "{body}"
    );
    let bad_step = json!({"definition": {"steps": [{"key": "a", "name": "A", "kind": "dance"}]}});
    let (status, _, body) = call(&c, s, Method::POST, "/v1/playbooks/validate", t, &[], Some(bad_step)).await;
    assert_eq!((status, problem_type(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid-definition"));
    assert!(body["detail"].as_str().unwrap().contains("at steps[0].kind: unknown variant `dance`"), "{body}");
    // Pages: `limit` out of range is malformed; a cursor this API never returned is refused by name.
    let (status, _, _) = call(&c, s, Method::GET, &format!("/v1/teams/{team}/tasks?limit=0"), t, &[], None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _, body) = call(&c, s, Method::GET, &format!("/v1/teams/{team}/tasks?cursor=AA"), t, &[], None).await;
    assert_eq!((status, &body["errors"][0]["field"]), (StatusCode::UNPROCESSABLE_ENTITY, &json!("cursor")), "{body}");
    // Text holding NUL (which PostgreSQL cannot store) is refused by field, never a server error.
    let nul = json!({"name": "a\u{0}b"});
    let (status, _, body) = call(&c, s, Method::PATCH, &format!("/v1/teams/{team}"), t, &[], Some(nul)).await;
    assert_eq!((status, &body["errors"][0]["field"]), (StatusCode::UNPROCESSABLE_ENTITY, &json!("name")), "{body}");
    for path in ["/v1/tasks/a%00b".to_string(), format!("/v1/teams/{team}/tasks?assignee=a%00")] {
        let (status, _, body) = call(&c, s, Method::GET, &path, t, &[], None).await;
        assert!(matches!(status.as_u16(), 200 | 404 | 422), "{path}: {status} {body}");
    }
    // Unknown paths and methods are problems too.
    let (status, _, body) = call(&c, s, Method::GET, "/v2/anything", t, &[], None).await;
    assert_eq!((status, problem_type(&body)), (StatusCode::NOT_FOUND, "not-found"));
    let (status, headers, body) = call(&c, s, Method::DELETE, "/healthz", None, &[], None).await;
    assert_eq!(
        (status, problem_type(&body), headers["allow"].to_str().unwrap()),
        (StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed", "GET,HEAD")
    );
    let (status, _, body) =
        call(&c, s, Method::GET, "/v1/tasks/0190f0f0-0000-7000-8000-000000000000", t, &[], None).await;
    assert_eq!((status, problem_type(&body)), (StatusCode::NOT_FOUND, "not-found"));
    // Over the server's body limit: refused on its declared length, before it is read.
    let status_line = declare_huge_body(&s.base, &format!("/v1/teams/{team}/processes"), &token).await;
    assert_eq!(status_line, "HTTP/1.1 413 Payload Too Large");
    let large = json!({"playbook_id": playbook, "input": {"blob": "x".repeat(300 * 1024)}});
    let (status, _, body) =
        call(&c, s, Method::POST, &format!("/v1/teams/{team}/processes"), t, &[], Some(large)).await;
    assert_eq!((status, problem_type(&body)), (StatusCode::PAYLOAD_TOO_LARGE, "too-large"));

    // An API key acts within its permissions.
    let key_body = json!({"name": "agent", "permissions": ["analytics.read"]});
    let (status, _, key) =
        call(&c, s, Method::POST, &format!("/v1/teams/{team}/api-keys"), t, &[], Some(key_body)).await;
    assert_eq!(status, StatusCode::CREATED);
    let secret = key["secret"].as_str().unwrap();
    let (_, _, me) = call(&c, s, Method::GET, "/v1/me", Some(secret), &[], None).await;
    assert_eq!(me["api_key_id"], key["key"]["id"]);
    let start = json!({"playbook_id": playbook});
    let (status, _, body) =
        call(&c, s, Method::POST, &format!("/v1/teams/{team}/processes"), Some(secret), &[], Some(start)).await;
    assert_eq!((status, problem_type(&body)), (StatusCode::FORBIDDEN, "forbidden"));

    // The audit trail, filtered.
    let (status, _, audit) = call(&c, s, Method::GET, "/v1/audit?action=task.complete", t, &[], None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(audit["items"].as_array().unwrap().len(), 1);
    assert_eq!(audit["items"][0]["entity_id"], task.as_str());
    let (_, _, verified) = call(&c, s, Method::GET, "/v1/audit/verify", t, &[], None).await;
    assert_eq!(verified["broken"], Value::Null);

    // The OpenAPI 3.1 document: every operation it lists is served (not the router's "no
    // resource" 404 or its 405), and every error it promises is a problem document.
    let (status, _, doc) = call(&c, s, Method::GET, "/openapi.json", None, &[], None).await;
    assert_eq!((status, doc["openapi"].as_str()), (StatusCode::OK, Some("3.1.0")));
    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let concrete = path
            .replace("{team}", &team)
            .replace("{id}", "x")
            .replace("{user}", "x")
            .replace("{name}", "x")
            .replace("{subject}", "x");
        for method in item.as_object().unwrap().keys() {
            operations += 1;
            if path.starts_with("/v1/") {
                let default = &item[method]["responses"]["default"]["content"]["application/problem+json"];
                assert_eq!(default["schema"]["$ref"], "#/components/schemas/Problem", "{method} {path}");
            }
            if path == "/v1/teams/{team}/events" {
                continue; // a stream: exercised above
            }
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let res = c.request(m, format!("{}{concrete}", s.base)).send().await.unwrap();
            let code = res.status();
            let kind = res.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
            let body = res.text().await.unwrap();
            assert!(code != StatusCode::METHOD_NOT_ALLOWED, "{method} {path}: 405");
            assert!(!body.contains("no resource at"), "{method} {path}: no route");
            assert!(code.is_success() || kind == "application/problem+json", "{method} {path}: {code} {kind}");
        }
    }
    assert_eq!(operations, 69);
    // Its interactive documentation, served whole by the binary (nothing fetched from elsewhere).
    let page = c.get(format!("{}/docs", s.base)).send().await.unwrap();
    assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
    let html = page.text().await.unwrap();
    for asset in ["docs/swagger-ui.css", "docs/swagger-ui-bundle.js", "docs/init.js"] {
        assert!(html.contains(&format!("\"{asset}\"")), "{asset}");
        let res = c.get(format!("{}/{asset}", s.base)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{asset}");
        assert!(res.bytes().await.unwrap().len() > 400, "{asset}");
    }
    assert!(!html.contains("http://") && !html.contains("https://"), "no external references");

    // Metrics: per-route counts and latencies, the pool, business counters.
    let metrics = c.get(format!("{}/metrics", s.base)).send().await.unwrap();
    assert_eq!(metrics.headers()["content-type"], "text/plain; version=0.0.4; charset=utf-8");
    let metrics = metrics.text().await.unwrap();
    for line in [
        "orgata_http_requests_total{method=\"POST\",route=\"/v1/tasks/{id}/complete\",status=\"200\"} 1",
        "orgata_http_requests_total{method=\"POST\",route=\"/v1/tasks/{id}/complete\",status=\"412\"} 2",
        "orgata_http_request_duration_seconds_count{method=\"GET\",route=\"/healthz\"} 2",
        "orgata_processes_started_total 1",
        "orgata_tasks_completed_total 1",
        "orgata_sign_ins_total 1",
        "orgata_playbook_versions_total 1",
    ] {
        assert!(metrics.lines().any(|l| l == line), "missing `{line}` in:\n{metrics}");
    }
    assert!(metrics.contains("orgata_db_pool_max_connections "), "{metrics}");

    // Idempotency-Key: a retried start returns the first response and starts nothing twice.
    let processes = format!("/v1/teams/{team}/processes");
    let once = json!({"playbook_id": playbook, "title": "Once", "input": {}});
    let key = [("idempotency-key", "start-once-1")];
    let (first_status, first_headers, first) = call(&c, s, Method::POST, &processes, t, &key, Some(once.clone())).await;
    let (again_status, again_headers, again) = call(&c, s, Method::POST, &processes, t, &key, Some(once)).await;
    assert_eq!((first_status, again_status), (StatusCode::CREATED, StatusCode::CREATED));
    assert_eq!(first, again);
    assert!(first_headers.get("idempotent-replayed").is_none());
    assert_eq!(again_headers["idempotent-replayed"], "true");
    assert_eq!(first_headers["etag"], again_headers["etag"]);
    let other = json!({"playbook_id": playbook, "title": "Other"});
    let (status, _, body) = call(&c, s, Method::POST, &processes, t, &key, Some(other)).await;
    assert_eq!((status, &body["errors"][0]["field"]), (StatusCode::UNPROCESSABLE_ENTITY, &json!("Idempotency-Key")));
    let (_, _, listed) = call(&c, s, Method::GET, &processes, t, &[], None).await;
    let titled_once = listed["items"].as_array().unwrap().iter().filter(|p| p["title"] == "Once").count();
    assert_eq!(titled_once, 1);
    // A refused request is remembered too: the retry gets the same refusal.
    let refused = json!({"playbook_id": "0190f0f0-0000-7000-8000-000000000000"});
    let key = [("idempotency-key", "start-missing")];
    let (a, _, first) = call(&c, s, Method::POST, &processes, t, &key, Some(refused.clone())).await;
    let (b, headers, again) = call(&c, s, Method::POST, &processes, t, &key, Some(refused)).await;
    assert_eq!((a, b, first == again), (StatusCode::NOT_FOUND, StatusCode::NOT_FOUND, true));
    assert_eq!(headers["content-type"], "application/problem+json");

    let (status, _, _) = call(&c, s, Method::POST, "/v1/auth/logout", t, &[], None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _, body) = call(&c, s, Method::GET, "/v1/me", t, &[], None).await;
    assert_eq!(
        (status, body["detail"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("not authenticated: session revoked"))
    );

    let exit = tokio::task::spawn_blocking(move || server.stop()).await.unwrap();
    assert!(exit.success(), "graceful shutdown exits 0: {exit:?}");
    drop(db);
}

async fn people_roles_and_second_factor(db: TestDatabase) {
    let url = db.url.clone();
    let server = tokio::task::spawn_blocking(move || Server::start(&url)).await.unwrap();
    let (c, s) = (Client::new(), &server);
    let (team, token) = register_and_sign_in(&c, s, "acme").await;
    let t = Some(token.as_str());

    // People, custom roles, members.
    let (status, _, role) = call(
        &c,
        s,
        Method::POST,
        "/v1/roles",
        t,
        &[],
        Some(json!({"name": "legal", "permissions": ["task.complete"]})),
    )
    .await;
    assert_eq!((status, &role["permissions"]), (StatusCode::CREATED, &json!(["task.complete"])));
    let (status, _, _) = call(
        &c,
        s,
        Method::PUT,
        "/v1/roles/legal",
        t,
        &[],
        Some(json!({"permissions": ["task.complete", "analytics.read"]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, _, roles) = call(&c, s, Method::GET, "/v1/roles", t, &[], None).await;
    assert_eq!(roles.as_array().unwrap().len(), 5);
    let new_user = json!({"email": "lea@acme.test", "display_name": "Lea", "password": "another long password"});
    let (status, _, lea) = call(&c, s, Method::POST, "/v1/users", t, &[], Some(new_user)).await;
    assert_eq!((status, &lea["org_role"]), (StatusCode::CREATED, &json!("member")));
    let lea_id = lea["id"].as_str().unwrap();
    let (_, _, users) = call(&c, s, Method::GET, "/v1/users", t, &[], None).await;
    assert_eq!(users.as_array().unwrap().len(), 2);
    let (status, _, admin) =
        call(&c, s, Method::PUT, &format!("/v1/users/{lea_id}/org-role"), t, &[], Some(json!({"org_role": "admin"})))
            .await;
    assert_eq!((status, &admin["org_role"]), (StatusCode::OK, &json!("admin")));
    let members = format!("/v1/teams/{team}/members");
    let (status, _, _) =
        call(&c, s, Method::POST, &members, t, &[], Some(json!({"user_id": lea_id, "role": "legal"}))).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _, body) =
        call(&c, s, Method::POST, &members, t, &[], Some(json!({"user_id": lea_id, "role": "legal"}))).await;
    assert_eq!((status, problem_type(&body)), (StatusCode::CONFLICT, "already-exists"));
    let (status, _, changed) =
        call(&c, s, Method::PATCH, &format!("{members}/{lea_id}"), t, &[], Some(json!({"role": "viewer"}))).await;
    assert_eq!((status, &changed["role"]), (StatusCode::OK, &json!("viewer")));
    let (status, _, body) = call(&c, s, Method::DELETE, "/v1/roles/ghost", t, &[], None).await;
    assert_eq!((status, problem_type(&body)), (StatusCode::NOT_FOUND, "not-found"));
    let (status, _, _) = call(&c, s, Method::DELETE, "/v1/roles/legal", t, &[], None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, _, listed) = call(&c, s, Method::GET, &members, t, &[], None).await;
    assert_eq!(listed.as_array().unwrap().len(), 2);
    let (status, _, _) = call(&c, s, Method::DELETE, &format!("{members}/{lea_id}"), t, &[], None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _, renamed) =
        call(&c, s, Method::PATCH, &format!("/v1/teams/{team}"), t, &[], Some(json!({"name": "Operations"}))).await;
    assert_eq!((status, &renamed["name"]), (StatusCode::OK, &json!("Operations")));
    let (_, _, teams) = call(&c, s, Method::GET, "/v1/teams", t, &[], None).await;
    assert_eq!(teams[0]["name"], "Operations");
    // A second team, made by the organisation's owner; a blank name is refused.
    let (status, _, finance) = call(&c, s, Method::POST, "/v1/teams", t, &[], Some(json!({"name": " Finance "}))).await;
    assert_eq!((status, &finance["name"]), (StatusCode::CREATED, &json!("Finance")), "{finance}");
    let (status, _, body) = call(&c, s, Method::POST, "/v1/teams", t, &[], Some(json!({"name": "  "}))).await;
    assert_eq!((status, &body["errors"][0]["field"]), (StatusCode::UNPROCESSABLE_ENTITY, &json!("name")), "{body}");
    // An empty team is deleted; a person leaves the organisation and cannot sign in any more.
    let finance_path = format!("/v1/teams/{}", finance["id"].as_str().unwrap());
    let (status, _, _) = call(&c, s, Method::DELETE, &finance_path, t, &[], None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _, _) = call(&c, s, Method::GET, &finance_path, t, &[], None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // (A failed sign-in would count against this client address, which the throttling below
    // measures: the engine's tests try the removed person's password.)
    let lea_login = json!({"organisation": "acme", "email": "lea@acme.test", "password": "another long password"});
    let (status, _, lea_session) = call(&c, s, Method::POST, "/v1/auth/login", None, &[], Some(lea_login)).await;
    assert_eq!(status, StatusCode::OK);
    let lea_token = lea_session["access_token"].as_str().unwrap();
    let (status, _, removed) = call(&c, s, Method::DELETE, &format!("/v1/users/{lea_id}"), t, &[], None).await;
    assert_eq!((status, removed["deactivated_at"].is_string()), (StatusCode::OK, true), "{removed}");
    let (status, _, _) = call(&c, s, Method::GET, "/v1/me", Some(lea_token), &[], None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (_, _, users) = call(&c, s, Method::GET, "/v1/users", t, &[], None).await;
    assert_eq!(users.as_array().unwrap().iter().filter(|u| u["deactivated_at"].is_null()).count(), 1);

    // Playbook versions, validation, comments, cancelling.
    let steps = json!({"steps": [{"key": "a", "name": "A", "kind": "task", "assignee": {"role": "owner"}},
        {"key": "b", "name": "B", "kind": "task", "depends_on": ["a"], "assignee": {"role": "owner"}}]});
    let (status, _, body) =
        call(&c, s, Method::POST, "/v1/playbooks/validate", t, &[], Some(json!({"definition": steps}))).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"valid": true, "steps": 2})));
    let (_, _, created) = call(
        &c,
        s,
        Method::POST,
        &format!("/v1/teams/{team}/playbooks"),
        t,
        &[],
        Some(json!({"name": "Two", "definition": steps})),
    )
    .await;
    let playbook = created["playbook"]["id"].as_str().unwrap().to_string();
    let (_, _, versions) = call(&c, s, Method::GET, &format!("/v1/playbooks/{playbook}/versions"), t, &[], None).await;
    let version = versions[0]["id"].as_str().unwrap();
    let (status, _, one) = call(&c, s, Method::GET, &format!("/v1/versions/{version}"), t, &[], None).await;
    assert_eq!((status, &one["number"]), (StatusCode::OK, &json!(1)));
    let (_, _, listed) = call(&c, s, Method::GET, &format!("/v1/teams/{team}/playbooks"), t, &[], None).await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let (_, _, process) = call(
        &c,
        s,
        Method::POST,
        &format!("/v1/teams/{team}/processes"),
        t,
        &[],
        Some(json!({"playbook_id": playbook})),
    )
    .await;
    let process_id = process["instance"]["id"].as_str().unwrap().to_string();
    let task_id = process["tasks"][0]["id"].as_str().unwrap().to_string();
    let (status, _, comment) = call(
        &c,
        s,
        Method::POST,
        &format!("/v1/processes/{process_id}/comments"),
        t,
        &[],
        Some(json!({"body": "On it", "task_id": task_id})),
    )
    .await;
    assert_eq!((status, &comment["body"]), (StatusCode::CREATED, &json!("On it")));
    // Its author edits a comment, then deletes it.
    let typo = call(
        &c,
        s,
        Method::POST,
        &format!("/v1/processes/{process_id}/comments"),
        t,
        &[],
        Some(json!({"body": "Oops"})),
    )
    .await
    .2;
    let typo_path = format!("/v1/comments/{}", typo["id"].as_str().unwrap());
    let (status, _, edited) =
        call(&c, s, Method::PATCH, &typo_path, t, &[], Some(json!({"body": " Oops, fixed "}))).await;
    assert_eq!(
        (status, &edited["body"], edited["edited_at"].is_string()),
        (StatusCode::OK, &json!("Oops, fixed"), true)
    );
    let (status, _, body) = call(&c, s, Method::PATCH, &typo_path, t, &[], Some(json!({"body": "  "}))).await;
    assert_eq!((status, &body["errors"][0]["field"]), (StatusCode::UNPROCESSABLE_ENTITY, &json!("body")), "{body}");
    let (status, _, _) = call(&c, s, Method::DELETE, &typo_path, t, &[], None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _, body) = call(&c, s, Method::DELETE, &typo_path, t, &[], None).await;
    assert_eq!((status, problem_type(&body)), (StatusCode::NOT_FOUND, "not-found"));
    let (_, headers, detail) = call(&c, s, Method::GET, &format!("/v1/processes/{process_id}"), t, &[], None).await;
    assert_eq!(detail["comments"].as_array().unwrap().len(), 1);

    // A playbook processes ran on is archived, not deleted; archived, it starts nothing.
    let pb_path = format!("/v1/playbooks/{playbook}");
    let (status, _, archived) = call(&c, s, Method::POST, &format!("{pb_path}/archive"), t, &[], None).await;
    assert_eq!((status, archived["archived_at"].is_string()), (StatusCode::OK, true), "{archived}");
    let start = Some(json!({"playbook_id": playbook}));
    let (status, _, body) =
        call(&c, s, Method::POST, &format!("/v1/teams/{team}/processes"), t, &[], start.clone()).await;
    assert_eq!((status, problem_type(&body)), (StatusCode::CONFLICT, "invalid-transition"), "{body}");
    assert_eq!(body["detail"], format!("cannot start a process of playbook `{playbook}`: it is archived"));
    let (status, _, body) = call(&c, s, Method::DELETE, &pb_path, t, &[], None).await;
    assert_eq!((status, problem_type(&body)), (StatusCode::CONFLICT, "invalid-transition"), "{body}");
    let (status, _, restored) = call(&c, s, Method::POST, &format!("{pb_path}/restore"), t, &[], None).await;
    assert_eq!((status, &restored["archived_at"]), (StatusCode::OK, &Value::Null));
    let (status, _, unused) = call(
        &c,
        s,
        Method::POST,
        &format!("/v1/teams/{team}/playbooks"),
        t,
        &[],
        Some(json!({"name": "Unused", "definition": steps})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let unused_path = format!("/v1/playbooks/{}", unused["playbook"]["id"].as_str().unwrap());
    let (status, _, _) = call(&c, s, Method::DELETE, &unused_path, t, &[], None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _, _) = call(&c, s, Method::GET, &unused_path, t, &[], None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The organisation's settings: defaults, refusals by field, a change.
    let (status, _, settings) = call(&c, s, Method::GET, "/v1/organisation/settings", t, &[], None).await;
    assert_eq!(
        (status, &settings["time_zone"], &settings["week_start"]),
        (StatusCode::OK, &json!("UTC"), &json!("monday"))
    );
    let (status, _, body) =
        call(&c, s, Method::PUT, "/v1/organisation/settings", t, &[], Some(json!({"time_zone": "Nowhere/Land"}))).await;
    assert_eq!(
        (status, &body["errors"][0]["field"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!("time_zone")),
        "{body}"
    );
    let lisbon = json!({"time_zone": "Europe/Lisbon", "working_days": ["tuesday", "monday"], "workday_start": "08:00"});
    let (status, _, saved) = call(&c, s, Method::PUT, "/v1/organisation/settings", t, &[], Some(lisbon)).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(
        saved,
        json!({"time_zone": "Europe/Lisbon", "working_days": ["monday", "tuesday"], "workday_start": "08:00", "workday_end": "17:00", "week_start": "monday"})
    );
    assert_eq!(call(&c, s, Method::GET, "/v1/organisation/settings", t, &[], None).await.2, saved);
    let etag = headers["etag"].to_str().unwrap().to_string();
    let running = format!("/v1/teams/{team}/processes?status=running&assignee=me");
    let (status, _, page) = call(&c, s, Method::GET, &running, t, &[], None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page["items"].as_array().is_some(), "{page}");
    let (_, task_headers, _) = call(&c, s, Method::GET, &format!("/v1/tasks/{task_id}"), t, &[], None).await;
    let task_etag = task_headers["etag"].to_str().unwrap().to_string();
    let (status, _, outcome) =
        call(&c, s, Method::POST, &format!("/v1/tasks/{task_id}/cancel"), t, &[("if-match", &task_etag)], None).await;
    assert_eq!((status, &outcome["task"]["status"]), (StatusCode::OK, &json!("cancelled")), "{outcome}");
    let (status, _, _) = call(
        &c,
        s,
        Method::POST,
        &format!("/v1/processes/{process_id}/cancel"),
        t,
        &[("if-match", &etag)],
        Some(json!({"reason": "test"})),
    )
    .await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED, "the task's cancellation moved the process on");

    // API keys: list and revoke.
    let (_, _, key) =
        call(&c, s, Method::POST, &format!("/v1/teams/{team}/api-keys"), t, &[], Some(json!({"name": "ci"}))).await;
    let (_, _, keys) = call(&c, s, Method::GET, &format!("/v1/teams/{team}/api-keys"), t, &[], None).await;
    assert_eq!(keys.as_array().unwrap().len(), 1);
    assert!(keys[0].get("secret").is_none() && keys[0].get("secret_hash").is_none());
    let (status, _, revoked) =
        call(&c, s, Method::DELETE, &format!("/v1/api-keys/{}", key["key"]["id"].as_str().unwrap()), t, &[], None)
            .await;
    assert_eq!(status, StatusCode::OK);
    assert!(revoked["revoked_at"].is_string());
    let (status, _, _) = call(&c, s, Method::GET, "/v1/me", Some(key["secret"].as_str().unwrap()), &[], None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // TOTP over HTTP: enrol, confirm, sign in in two steps, disable.
    let (_, _, enrolment) = call(&c, s, Method::POST, "/v1/me/totp", t, &[], None).await;
    let secret = enrolment["secret"].as_str().unwrap().to_string();
    let now = || chrono::Utc::now().timestamp();
    let code = orgata_engine::identity::totp::code_at(&secret, now()).unwrap();
    let (status, _, codes) =
        call(&c, s, Method::POST, "/v1/me/totp/confirm", t, &[], Some(json!({"code": code}))).await;
    assert_eq!((status, codes["recovery_codes"].as_array().unwrap().len()), (StatusCode::OK, 10));
    let login = json!({"organisation": "acme", "email": "owner@acme.test", "password": "correct horse battery"});
    let (_, _, first) = call(&c, s, Method::POST, "/v1/auth/login", None, &[], Some(login)).await;
    assert_eq!(first["status"], "second_factor_required");
    let recovery = codes["recovery_codes"][0].as_str().unwrap();
    let challenge = json!({"challenge": first["challenge"], "code": recovery});
    let (status, _, session) =
        call(&c, s, Method::POST, "/v1/auth/login/second-factor", None, &[], Some(challenge)).await;
    assert_eq!(status, StatusCode::OK, "{session}");
    let (status, _, renewed) = call(
        &c,
        s,
        Method::POST,
        "/v1/auth/refresh",
        None,
        &[],
        Some(json!({"refresh_token": session["refresh_token"]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let fresh = renewed["access_token"].as_str().unwrap();
    let (status, _, _) = call(
        &c,
        s,
        Method::DELETE,
        "/v1/me/totp",
        Some(fresh),
        &[],
        Some(json!({"password": "correct horse battery"})),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let change = json!({"current_password": "correct horse battery", "new_password": "a brand new password"});
    let (status, _, _) = call(&c, s, Method::POST, "/v1/me/password", Some(fresh), &[], Some(change)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    // Throttling: after three failures the next attempt within a second is 429 with Retry-After.
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let wrong = json!({"organisation": "acme", "email": "lea@acme.test", "password": "wrong wrong wrong"});
        let (status, headers, body) = call(&c, s, Method::POST, "/v1/auth/login", None, &[], Some(wrong)).await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!((headers["retry-after"].to_str().unwrap(), problem_type(&body)), ("1", "throttled"));
        }
        statuses.push(status.as_u16());
    }
    assert_eq!(statuses, [401, 401, 401, 429]);
    // The password change ended every session; signed in again, the owner sees no lock yet.
    let (status, _, _) = call(&c, s, Method::GET, "/v1/login-locks", Some(fresh), &[], None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // This client address failed too: it also waits its second before any account signs in.
    let login = json!({"organisation": "acme", "email": "owner@acme.test", "password": "a brand new password"});
    let (status, _, _) = call(&c, s, Method::POST, "/v1/auth/login", None, &[], Some(login.clone())).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (_, _, session) = call(&c, s, Method::POST, "/v1/auth/login", None, &[], Some(login)).await;
    let again = session["access_token"].as_str().unwrap();
    let (status, _, locks) = call(&c, s, Method::GET, "/v1/login-locks", Some(again), &[], None).await;
    assert_eq!((status, locks), (StatusCode::OK, json!([])));
    drop(server);
    drop(db);
}

orgata_engine::on_both_databases!(rest_api_end_to_end, people_roles_and_second_factor);
