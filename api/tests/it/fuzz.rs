//! Property-based fuzzing of the REST API: schemathesis generates requests from the server's own
//! `/openapi.json` (valid and invalid ones, then stateful sequences) and checks every response —
//! no 5xx, and every status, content type, header and body as the document declares them.

use crate::support::{Server, call, register_and_sign_in};
use orgata_engine::testing::{self, TestDatabase};
use reqwest::{Client, Method, StatusCode};
use serde_json::json;
use std::path::PathBuf;
use std::process::Command;

/// The schemathesis command: `ORGATA_SCHEMATHESIS` (set by `scripts/test`, which installs it), or
/// `st` on the PATH. Outside CI, without it, the test is skipped with a message.
fn schemathesis() -> Option<PathBuf> {
    if let Ok(path) = std::env::var("ORGATA_SCHEMATHESIS") {
        return Some(PathBuf::from(path));
    }
    let on_path = Command::new("st").arg("--version").output().is_ok_and(|o| o.status.success());
    match on_path {
        true => Some(PathBuf::from("st")),
        false if testing::in_ci() => panic!("CI=true but schemathesis is missing: run the tests with scripts/test"),
        false => {
            eprintln!("skipped: install schemathesis (`pip install schemathesis`) or run scripts/test");
            None
        }
    }
}

async fn fuzz(db: TestDatabase) {
    let Some(st) = schemathesis() else { return };
    let server = Server::start(&db.url);
    let c = Client::new();
    let (team, token) = register_and_sign_in(&c, &server, "fuzz").await;
    // Real records for the operations on one playbook, version, process or task to work on
    // (the config pins their ids), so requests get past "not found" into the handlers' work.
    let form = json!({"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]});
    let definition = json!({"steps": [
        {"key": "check", "name": "Check", "kind": "form", "assignee": {"role": "owner"}, "form": form, "sla": "1d"},
        {"key": "approve", "name": "Approve", "kind": "approval", "depends_on": ["check"], "assignee": {"role": "owner"}}
    ]});
    let new_playbook = json!({"name": "Fuzzed", "definition": definition});
    let path = format!("/v1/teams/{team}/playbooks");
    let (status, _, playbook) = call(&c, &server, Method::POST, &path, Some(&token), &[], Some(new_playbook)).await;
    assert_eq!(status, StatusCode::CREATED, "{playbook}");
    let start = json!({"playbook_id": playbook["playbook"]["id"], "title": "Fuzzed"});
    let path = format!("/v1/teams/{team}/processes");
    let (status, _, process) = call(&c, &server, Method::POST, &path, Some(&token), &[], Some(start)).await;
    assert_eq!(status, StatusCode::CREATED, "{process}");
    let id = |v: &serde_json::Value| v.as_str().expect("an id").to_string();
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/schemathesis.toml");
    let reports = tempfile::tempdir().unwrap();
    let base = server.base.clone();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(st)
            .args(["--config-file", config, "run", &format!("{base}/openapi.json")])
            .args(["--checks", "all", "--seed", "20261126", "--max-failures", "20", "--workers", "2"])
            .arg("--report-dir")
            .arg(reports.path())
            .current_dir(reports.path()) // its cache of crashes stays out of the repository
            .env("ORGATA_FUZZ_TOKEN", token)
            .env("ORGATA_FUZZ_TEAM", team)
            .env("ORGATA_FUZZ_PLAYBOOK", id(&playbook["playbook"]["id"]))
            .env("ORGATA_FUZZ_VERSION", id(&playbook["head"]["id"]))
            .env("ORGATA_FUZZ_PROCESS", id(&process["instance"]["id"]))
            .env("ORGATA_FUZZ_TASK", id(&process["tasks"][0]["id"]))
            .env("NO_COLOR", "1")
            .output()
            .expect("run schemathesis")
    })
    .await
    .unwrap();
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "schemathesis found failures:\n{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(report.contains("✅ Stateful"), "every phase ran and passed:\n{report}");
    drop(server);
    drop(db);
}

orgata_engine::on_both_databases!(fuzz);
