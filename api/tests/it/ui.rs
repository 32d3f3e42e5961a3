//! The web UI in a real browser: Playwright (`playwright-core` from npm) drives Debian's headless
//! Chromium through `tests/browser/ui.test.mjs` against `orgata serve` on a short demo history —
//! sign in, complete a task through its form (with a server-side validation error first), start
//! a process, hit a validation error in the playbook editor, run SQL (and a failing query), and
//! watch the dashboard update live while another session completes a task. Screenshots of each
//! main page land in `ui-screenshots/<database>/` at the repository's root.

use crate::support::Server;
use orgata_engine::testing::{self, TestDatabase};
use std::path::PathBuf;
use std::process::Command;

/// Node's module folder with `playwright-core` and the Chromium binary: `ORGATA_PLAYWRIGHT` and
/// `ORGATA_CHROMIUM` (set by `scripts/test`). Outside CI, without them, the test is skipped with
/// a message; under `CI=true` it fails.
fn browser_tools() -> Option<(String, String)> {
    let modules = std::env::var("ORGATA_PLAYWRIGHT").ok().filter(|v| !v.is_empty());
    let chromium = std::env::var("ORGATA_CHROMIUM").ok().filter(|v| !v.is_empty());
    match (modules, chromium) {
        (Some(m), Some(c)) => Some((m, c)),
        _ if testing::in_ci() => {
            panic!("CI=true but ORGATA_PLAYWRIGHT or ORGATA_CHROMIUM is not set: the browser tests must not skip")
        }
        _ => {
            eprintln!(
                "skipped: run through scripts/test (or set ORGATA_PLAYWRIGHT and ORGATA_CHROMIUM) for the browser tests"
            );
            None
        }
    }
}

async fn web_ui_in_a_browser(db: TestDatabase) {
    let Some((modules, chromium)) = browser_tools() else { return };
    let demo_dir = tempfile::tempdir().unwrap();
    let url = db.url.clone();
    let dir = demo_dir.path().to_path_buf();
    let demo = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_orgata"))
            .args(["demo", "--days", "21", "--per-day", "8"])
            .env("ORGATA_DATABASE_URL", &url)
            .env("ORGATA_DATA_DIR", &dir)
            .env("ORGATA_LOG", "warn")
            .output()
    })
    .await
    .unwrap()
    .expect("run orgata demo");
    assert!(demo.status.success(), "{}", String::from_utf8_lossy(&demo.stderr));
    let credentials: serde_json::Value =
        serde_json::from_slice(&std::fs::read(demo_dir.path().join("demo-credentials.json")).unwrap()).unwrap();
    let admin = credentials["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "admin@acme.example")
        .expect("the demo's administrator")
        .clone();
    let server = Server::start(&db.url);
    let kind = if db.url.starts_with("postgres") { "postgres" } else { "sqlite" };
    let screenshots = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../ui-screenshots")).join(kind);
    std::fs::create_dir_all(&screenshots).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/browser/ui.test.mjs");
    let base = server.base.clone();
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .args(["--test", "--test-reporter=spec", script])
            .env("ORGATA_PLAYWRIGHT", &modules)
            .env("ORGATA_CHROMIUM", &chromium)
            .env("ORGATA_URL", &base)
            .env("ORGATA_EMAIL", admin["email"].as_str().unwrap())
            .env("ORGATA_PASSWORD", admin["password"].as_str().unwrap())
            .env("ORGATA_NAME", admin["display_name"].as_str().unwrap())
            .env("ORGATA_SCREENSHOTS", &screenshots)
            .output()
    })
    .await
    .unwrap()
    .expect("run node");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the browser tests failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("ℹ fail 0") && !stdout.contains("ℹ pass 0"), "{stdout}");
    assert!(server.stop().success(), "a graceful stop with a live dashboard open");
}

orgata_engine::on_both_databases!(web_ui_in_a_browser);
