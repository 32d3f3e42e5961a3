//! What the end-to-end tests share: a running server and one-call HTTP helpers.

use reqwest::{Client, Method, StatusCode, header};
use serde_json::{Value, json};
use std::collections::BTreeMap;
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
        req = with_json(req, &b);
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

/// A cookie-keeping client that does not follow redirects.
pub struct Browser {
    client: Client,
    base: String,
    pub jar: BTreeMap<String, String>,
}

/// A response: status, where it redirects, and its body.
pub struct Page {
    pub status: StatusCode,
    pub location: String,
    pub body: String,
}

impl Browser {
    pub fn new(server: &Server) -> Browser {
        let client = Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Browser { client, base: server.base.clone(), jar: BTreeMap::new() }
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> Page {
        let cookies: Vec<String> = self.jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let response = request.header(header::COOKIE, cookies.join("; ")).send().await.unwrap();
        for set in response.headers().get_all(header::SET_COOKIE) {
            let text = set.to_str().unwrap();
            let (pair, attributes) = text.split_once(';').unwrap_or((text, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if attributes.contains("Max-Age=0") {
                self.jar.remove(name);
            } else {
                self.jar.insert(name.to_string(), value.to_string());
            }
        }
        let status = response.status();
        let location =
            response.headers().get(header::LOCATION).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
        Page { status, location, body: response.text().await.unwrap() }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let request = self.client.get(format!("{}{path}", self.base)).header(header::ACCEPT, "text/html");
        self.send(request).await
    }

    /// A form posted from one of our pages (or from `origin`).
    pub async fn post_from(&mut self, origin: &str, path: &str, form: &[(&str, &str)]) -> Page {
        let request = self.client.post(format!("{}{path}", self.base)).header(header::ORIGIN, origin).form(form);
        self.send(request).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let origin = self.base.clone();
        self.post_from(&origin, path, form).await
    }
}

/// The request with `body` as its JSON content (reqwest's `json` feature is left off: the tests
/// share the binary's reqwest features, so `cargo test` rebuilds nothing `cargo build` built).
pub fn with_json(req: reqwest::RequestBuilder, body: &Value) -> reqwest::RequestBuilder {
    req.header(header::CONTENT_TYPE, "application/json").body(body.to_string())
}

/// The response's body parsed as JSON.
pub async fn json_body(res: reqwest::Response) -> Value {
    let bytes = res.bytes().await.expect("response body");
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&bytes)))
}
