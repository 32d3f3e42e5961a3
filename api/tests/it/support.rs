//! What the end-to-end tests share: a running server and one-call HTTP helpers.

use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// The built `orgata` binary with a data folder of its own and the given database (none: the
/// default), logging warnings only.
pub fn orgata_command(data_dir: &Path, database_url: Option<&str>) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_orgata"));
    command.env("ORGATA_DATA_DIR", data_dir).env_remove("ORGATA_DATABASE_URL").env("ORGATA_LOG", "warn");
    if let Some(url) = database_url {
        command.env("ORGATA_DATABASE_URL", url);
    }
    command
}

/// A running `orgata serve` and its base URL; stopped with SIGTERM on drop.
pub struct Server {
    child: Child,
    pub base: String,
    _data: tempfile::TempDir,
}

impl Server {
    pub fn start(database_url: &str) -> Server {
        let data = tempfile::tempdir().unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_orgata"))
            .arg("serve")
            .env("ORGATA_DATABASE_URL", database_url)
            .env("ORGATA_DATA_DIR", data.path())
            .env("ORGATA_LISTEN", "127.0.0.1:0")
            .env("ORGATA_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn orgata serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).expect("read the address");
        let base = line.trim().strip_prefix("Orgata is listening on ").expect("address line").to_string();
        Server { child, base, _data: data }
    }

    /// The server's data folder (its warehouse is `warehouse/` inside).
    pub fn data_dir(&self) -> &std::path::Path {
        self._data.path()
    }

    /// Sends SIGTERM and waits: a graceful stop exits 0.
    pub fn stop(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        self.child.wait().unwrap()
    }
}

impl Drop for Server {
    /// A failed test still takes its server down.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One API call: status, headers and JSON body (null when empty).
pub async fn call(
    client: &Client,
    server: &Server,
    method: Method,
    path: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let mut req = client.request(method, format!("{}{path}", server.base));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.expect("request");
    let status = res.status();
    let headers = res.headers().clone();
    let text = res.text().await.unwrap();
    let body = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
    (status, headers, body)
}

/// `POST /v1/teams/{team}/sql` with `body`: status and answer.
pub async fn sql(c: &Client, s: &Server, team: &str, token: &str, body: Value) -> (StatusCode, Value) {
    let (status, _, answer) =
        call(c, s, Method::POST, &format!("/v1/teams/{team}/sql"), Some(token), &[], Some(body)).await;
    (status, answer)
}

/// Registers organisation `slug` and signs its owner in: `(team id, access token)`.
pub async fn register_and_sign_in(c: &Client, s: &Server, slug: &str) -> (String, String) {
    let registration = json!({
        "organisation_name": slug, "organisation_slug": slug, "team_name": "Ops",
        "email": format!("owner@{slug}.test"), "display_name": "Owner", "password": "correct horse battery"
    });
    let (status, _, registered) = call(c, s, Method::POST, "/v1/auth/register", None, &[], Some(registration)).await;
    assert_eq!(status, StatusCode::CREATED, "{registered}");
    let login =
        json!({"organisation": slug, "email": format!("owner@{slug}.test"), "password": "correct horse battery"});
    let (_, _, session) = call(c, s, Method::POST, "/v1/auth/login", None, &[], Some(login)).await;
    (registered["team"]["id"].as_str().unwrap().to_string(), session["access_token"].as_str().unwrap().to_string())
}
