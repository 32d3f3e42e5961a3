use crate::support::orgata_command;
use std::path::Path;
use std::process::Output;

/// Runs the built `orgata` binary with a data folder of its own and the given database.
fn orgata(data_dir: &Path, database_url: Option<&str>, args: &[&str]) -> Output {
    orgata_command(data_dir, database_url).args(args).output().expect("run orgata")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn demo_is_created_once(database_url: Option<&str>) {
    let dir = tempfile::tempdir().unwrap();
    let first = orgata(dir.path(), database_url, &["demo", "--days", "5", "--per-day", "6"]);
    assert!(first.status.success(), "{}", stderr(&first));
    let out = stdout(&first);
    assert!(out.contains("Created the demo organisation `acme`"), "{out}");
    assert!(out.contains("admin@acme.example"), "{out}");
    let creds_path = dir.path().join("demo-credentials.json");
    let creds: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&creds_path).unwrap()).unwrap();
    let admin = creds["users"].as_array().unwrap().iter().find(|u| u["email"] == "admin@acme.example").expect("admin");
    let key = creds["api_key"]["secret"].as_str().expect("API key saved");
    assert!(key.starts_with("orgata_") && out.contains(key), "{out}");
    assert_eq!(creds["api_key"]["team"], "Operations");
    assert_eq!(admin["password"].as_str().unwrap().len(), 16);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&creds_path).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let summary = out.lines().nth(1).unwrap().to_string();

    let second = orgata(dir.path(), database_url, &["demo", "--days", "5", "--per-day", "6"]);
    assert!(second.status.success(), "{}", stderr(&second));
    let again = stdout(&second);
    assert!(again.contains("already exists; nothing was changed"), "{again}");
    assert_eq!(again.lines().nth(1).unwrap(), summary, "same counts: nothing duplicated");
    assert!(again.contains(admin["password"].as_str().unwrap()), "credentials are shown again from the saved file");

    // The change log starts with the organisation, as JSON lines.
    let changes = orgata(dir.path(), database_url, &["changes", "--limit", "3"]);
    assert!(changes.status.success(), "{}", stderr(&changes));
    let lines: Vec<serde_json::Value> = stdout(&changes).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 3);
    assert_eq!((lines[0]["entity"].as_str(), lines[0]["op"].as_str()), (Some("organisation"), Some("insert")));
    assert_eq!(lines[0]["data"]["slug"], "acme");
    let next = format!("orgata changes --after {}:{}", lines[2]["position"]["xid"], lines[2]["position"]["seq"]);
    assert_eq!(stderr(&changes), format!("3 events from the start of the log, oldest first; the next ones: {next}\n"));

    // The audit trail of the whole history verifies.
    let verify = orgata(dir.path(), database_url, &["audit", "verify", "--org", "acme"]);
    assert!(verify.status.success(), "{}", stderr(&verify));
    assert!(stdout(&verify).ends_with("entries, every link intact\n"), "{}", stdout(&verify));
    let unknown = orgata(dir.path(), database_url, &["audit", "verify", "--org", "nope"]);
    assert_eq!((unknown.status.code(), stderr(&unknown).trim()), (Some(1), "error: no organisation `nope`"));
}

#[tokio::test]
async fn audit_verify_points_at_an_altered_row() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let demo = tokio::task::spawn_blocking(move || orgata(&path, None, &["demo", "--days", "2", "--per-day", "3"]));
    assert!(demo.await.unwrap().status.success());
    let url = format!("sqlite://{}/orgata.db", dir.path().display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let id: i64 = sqlx::query_scalar("SELECT id FROM audit_log WHERE seq = 7").fetch_one(&pool).await.unwrap();
    // The trail is append-only; an attacker with the file drops the guard first.
    sqlx::query("DROP TRIGGER audit_log_no_update").execute(&pool).await.unwrap();
    sqlx::query("UPDATE audit_log SET action = 'nothing.happened' WHERE id = $1")
        .bind(id)
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let path = dir.path().to_path_buf();
    let verify = tokio::task::spawn_blocking(move || orgata(&path, None, &["audit", "verify", "--org", "acme"]));
    let verify = verify.await.unwrap();
    assert_eq!(verify.status.code(), Some(1));
    assert_eq!(
        stderr(&verify).trim(),
        format!(
            "error: audit trail of `acme` is broken: row {id} (entry 7 of chain 0) was altered: its content no longer matches its hash"
        )
    );
}

#[test]
fn demo_on_sqlite() {
    demo_is_created_once(None);
}

#[tokio::test]
async fn demo_on_postgres() {
    if let Some(db) = orgata_engine::testing::postgres().await {
        tokio::task::spawn_blocking(move || demo_is_created_once(Some(&db.url))).await.unwrap();
    }
}

#[test]
fn bad_input_gets_one_line_and_a_failure_code() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&[&str], Option<&str>, &str); 3] = [
        (&["changes", "--after", "nope"], None, "expected XID:SEQ"),
        (
            &["migrate"],
            Some("mysql://localhost/x"),
            "error: configuration error: database URL `mysql://localhost/x` is neither",
        ),
        (&["demo", "--per-day=-3"], None, "--per-day must be a number of at least 0"),
    ];
    for (args, url, expected) in cases {
        let o = orgata(dir.path(), url, args);
        assert!(!o.status.success(), "{args:?} should fail");
        let err = stderr(&o);
        assert!(err.contains(expected), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    // The version names the commit it was built from.
    let version = stdout(&orgata(dir.path(), None, &["--version"]));
    let commit = std::process::Command::new("git").args(["rev-parse", "--short=12", "HEAD"]).output().unwrap();
    let commit = String::from_utf8_lossy(&commit.stdout).trim().to_string();
    assert_eq!(version, format!("orgata {} (commit {commit})\n", env!("CARGO_PKG_VERSION")));
    let o = orgata(dir.path(), None, &["migrate"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), format!("database sqlite://{}/orgata.db is up to date", dir.path().display()));
}

/// The warehouse from the command line: the demo's history is queryable at once, bad SQL and bad
/// logs get one line and a failure code, an import lands next to the demo's events, and the
/// warehouse verifies, optimizes and reports its state.
#[test]
fn warehouse_commands_on_the_demo() {
    let dir = tempfile::tempdir().unwrap();
    let demo = orgata(dir.path(), None, &["demo", "--days", "5", "--per-day", "6"]);
    assert!(demo.status.success(), "{}", stderr(&demo));
    let out = stdout(&demo);
    assert!(out.contains("warehouse at position 0:"), "{out}");
    let instances: u64 = out
        .split(" process instances")
        .next()
        .and_then(|head| head.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("instance count in {out}"));
    let sql = |query: &str, extra: &[&str]| {
        let mut args = vec!["sql", query];
        args.extend_from_slice(extra);
        orgata(dir.path(), None, &args)
    };
    let counted = sql("select count(*) as n from instances", &["--format", "csv"]);
    assert_eq!(stdout(&counted), format!("n\n{instances}\n"));
    let on_duckdb = sql("select count(*) as n from instances", &["--format", "csv", "--engine", "duckdb"]);
    assert_eq!(stdout(&on_duckdb), format!("n\n{instances}\n"));
    let table = sql("select name from teams where name = 'Operations'", &[]);
    assert_eq!(
        stdout(&table),
        "+------------+\n| name       |\n+------------+\n| Operations |\n+------------+\n1 row\n"
    );

    let refused = sql("drop table events", &[]);
    assert!(!refused.status.success());
    let message = stderr(&refused);
    assert_eq!(message.lines().count(), 1, "{message}");
    assert!(message.starts_with("error: only a single read-only query is allowed: "), "{message}");
    // Statements from a pipe, as at a terminal: each ends with a line ending in `;`, the last
    // may go without; the first error ends the run.
    let piped = |input: &str| {
        let mut child = orgata_command(dir.path(), None)
            .args(["sql", "--format", "csv"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run orgata");
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), input.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    };
    let several = piped("select 1 as a;\nselect 2\n  as b;\n\nselect 3 as c\n");
    assert!(several.status.success(), "{}", stderr(&several));
    assert_eq!(stdout(&several), "a\n1\nb\n2\nc\n3\n");
    let failing = piped("select 1 as a;\nselect nothing from nowhere;\nselect 3 as c;\n");
    assert!(!failing.status.success());
    assert_eq!(stdout(&failing), "a\n1\n");
    assert_eq!(stderr(&failing).lines().count(), 1, "{}", stderr(&failing));
    let no_file = sql("select 1", &["--format", "parquet"]);
    assert_eq!(stderr(&no_file), "error: --format parquet needs --output FILE\n");

    let team = stdout(&sql("select id from teams where name = 'Operations'", &["--format", "csv"]));
    let team = team.lines().nth(1).expect("the team id").to_string();
    let log = dir.path().join("orders.csv");
    std::fs::write(&log, "case_id,activity,timestamp\no1,pack,2024-01-01T10:00:00Z\no1,ship,2024-01-02T10:00:00Z\n")
        .unwrap();
    let imported = orgata(dir.path(), None, &["import", log.to_str().unwrap(), "--team", &team]);
    assert!(imported.status.success(), "{}", stderr(&imported));
    assert!(stdout(&imported).starts_with("imported 2 events of 1 cases from "), "{}", stdout(&imported));
    let sources =
        sql("select source, count(*) as n from events where source <> 'orgata' group by source", &["--format", "json"]);
    assert_eq!(stdout(&sources), "[{\"source\":\"orders.csv\",\"n\":2}]\n");
    std::fs::write(&log, "case_id,activity,timestamp\no1,pack,2024-01-01T10:00:00Z\no1,ship,soon\n").unwrap();
    let bad = orgata(dir.path(), None, &["import", log.to_str().unwrap(), "--team", &team]);
    assert!(!bad.status.success());
    assert_eq!(
        stderr(&bad),
        format!(
            "error: {}: row 3: column `timestamp`: cannot read `soon` as a time (expected ISO 8601, like 2024-03-01T09:30:00+01:00)\n",
            log.display()
        )
    );
    let unknown = orgata(dir.path(), None, &["import", log.to_str().unwrap(), "--team", "team_nobody"]);
    assert!(stderr(&unknown).starts_with("error: no team `team_nobody` in the warehouse"), "{}", stderr(&unknown));

    let verified = orgata(dir.path(), None, &["warehouse", "verify"]);
    assert!(verified.status.success(), "{}", stderr(&verified));
    assert!(
        stdout(&verified).contains("the warehouse equals the change log up to position 0:"),
        "{}",
        stdout(&verified)
    );
    let optimized = orgata(dir.path(), None, &["warehouse", "optimize", "--retention-hours", "0"]);
    assert!(optimized.status.success(), "{}", stderr(&optimized));
    assert_eq!(stdout(&optimized).lines().count(), 9, "{}", stdout(&optimized));
    let status = orgata(dir.path(), None, &["warehouse", "status"]);
    assert!(stdout(&status).contains("change archive: "), "{}", stdout(&status));
    // Still the same answer after compaction.
    assert_eq!(stdout(&sql("select count(*) as n from instances", &["--format", "csv"])), format!("n\n{instances}\n"));

    // A rebuild from the change archive recreates the engine's data and keeps the imported log.
    let rebuilt = orgata(dir.path(), None, &["warehouse", "rebuild"]);
    assert!(rebuilt.status.success(), "{}", stderr(&rebuilt));
    assert!(stdout(&rebuilt).starts_with("rebuilt the warehouse: "), "{}", stdout(&rebuilt));
    assert_eq!(stdout(&sql("select count(*) as n from instances", &["--format", "csv"])), format!("n\n{instances}\n"));
    let sources =
        sql("select source, count(*) as n from events where source <> 'orgata' group by source", &["--format", "json"]);
    assert_eq!(stdout(&sources), "[{\"source\":\"orders.csv\",\"n\":2}]\n");
    let verified = orgata(dir.path(), None, &["warehouse", "verify"]);
    assert!(verified.status.success(), "{}", stderr(&verified));

    // The analytics over the demo's history count the cases with completed work.
    let completed =
        "select count(distinct case_id) as n from events where source = 'orgata' and lifecycle = 'complete'";
    let completed = stdout(&sql(completed, &["--format", "csv"]));
    let report = orgata(dir.path(), None, &["report", "cases", "--format", "json"]);
    assert!(report.status.success(), "{}", stderr(&report));
    let report: serde_json::Value = serde_json::from_slice(&report.stdout).unwrap();
    assert_eq!(format!("n\n{}\n", report["statistics"]["cases"]), completed);
    // The bottleneck report over the same cases, explained in sentences.
    let json = orgata(dir.path(), None, &["report", "bottlenecks", "--format", "json"]);
    assert!(json.status.success(), "{}", stderr(&json));
    let bottlenecks: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(format!("n\n{}\n", bottlenecks["cases"]), completed);
    let first = bottlenecks["findings"][0].as_str().unwrap();
    assert!(first.starts_with(&format!("{} cases took ", bottlenecks["cases"])), "{first}");
    let text = stdout(&orgata(dir.path(), None, &["report", "bottlenecks"]));
    assert!(text.contains(first), "{text}");
    // Every step SLA of the demo's tasks is accounted for.
    let due = "select count(*) as n from tasks where due_at is not null and status not in ('cancelled', 'skipped')";
    let due = stdout(&sql(due, &["--format", "csv"]));
    let json = orgata(dir.path(), None, &["report", "sla", "--format", "json"]);
    assert!(json.status.success(), "{}", stderr(&json));
    let sla: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let tasks: u64 = sla["steps"].as_array().unwrap().iter().map(|s| s["tasks"].as_u64().unwrap()).sum();
    assert_eq!(format!("n\n{tasks}\n"), due);
    // The variants are of ended processes; with the running ones they are every case.
    let json = orgata(dir.path(), None, &["report", "variants", "--format", "json"]);
    let found: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let (ended, running) = (found["cases"].as_u64().unwrap(), found["running_cases"].as_u64().unwrap());
    assert_eq!(Some(ended + running), report["statistics"]["cases"].as_u64());
    assert!(running > 0, "the demo has running processes");
    let variants = orgata(dir.path(), None, &["report", "variants"]);
    let variants = stdout(&variants);
    assert!(variants.starts_with(&format!("{ended} cases follow ")), "{variants}");
    let noun = if running == 1 { "process" } else { "processes" };
    assert!(variants.contains(&format!(" ({running} running {noun} left out)\n")), "{variants}");
    assert!(variants.contains("#  cases  share     mean   median  activities\n"), "{variants}");
}

/// `orgata report` straight on a log file: the reference figures of the textbook log, as JSON and
/// as text; bad input gets one line and a failure code.
#[test]
fn report_on_a_log_file() {
    let dir = tempfile::tempdir().unwrap();
    let log = orgata_engine::testing::shared_eventlogs().join("running-example.xes");
    let log = log.to_str().unwrap();
    let json = orgata(dir.path(), None, &["report", "cases", "--log", log, "--format", "json"]);
    assert!(json.status.success(), "{}", stderr(&json));
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let statistics = &report["statistics"];
    assert_eq!((statistics["cases"].as_u64(), statistics["events"].as_u64()), (Some(6), Some(42)));
    let figures = [("mean", 966890.0), ("median", 815940.0), ("min", 520920.0), ("max", 1576440.0)];
    for (name, value) in figures {
        assert_eq!(statistics["duration_s"][name].as_f64(), Some(value), "{name}");
    }
    assert_eq!(report["arrival_average_s"].as_f64(), Some(123840.0));
    let text = orgata(dir.path(), None, &["report", "cases", "--log", log]);
    assert_eq!(
        stdout(&text),
        "6 cases, 42 events; a new case every 1d 10h on average\n\
         case duration: mean 11d 04h, median 9d 10h, p90 17d 01h, p95 17d 15h, min 6d 00h, max 18d 05h\n"
    );

    // Quiet by default: the report on stdout, no library's log lines on stderr; with -v, Orgata's
    // own events only.
    let run = |extra: &[&str]| {
        let args = [extra, &["report", "bottlenecks", "--log", log]].concat();
        orgata_command(dir.path(), None).env_remove("ORGATA_LOG").args(args).output().expect("run orgata")
    };
    let quiet = run(&[]);
    assert!(quiet.status.success() && !quiet.stdout.is_empty(), "{}", stderr(&quiet));
    assert_eq!(stderr(&quiet), "");
    let verbose = stderr(&run(&["-v"]));
    let foreign: Vec<&str> = verbose.lines().filter(|l| !l.contains(" orgata")).collect();
    assert!(foreign.is_empty(), "{verbose}");

    // The bottleneck report: the cases' cycle times add up to six times the mean case duration.
    let json = orgata(dir.path(), None, &["report", "bottlenecks", "--log", log, "--format", "json"]);
    assert!(json.status.success(), "{}", stderr(&json));
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!((report["cases"].as_u64(), report["cycle_time_total_s"].as_f64()), (Some(6), Some(5_801_340.0)));
    assert_eq!(report["findings"][0], "6 cases took 11d 04h on average.");

    // The cases started in 2010 against those started later.
    let compare = ["report", "compare", "--log", log, "--cases-started", "--to", "2011-01-01"];
    let json = orgata(dir.path(), None, &[&compare[..], &["--versus-from", "2011-01-01", "--format", "json"]].concat());
    assert!(json.status.success(), "{}", stderr(&json));
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let mean = &report["metrics"][2];
    assert_eq!(mean["metric"], "case_duration_mean_s");
    assert_eq!((mean["base"].as_f64(), mean["other"].as_f64()), (Some(2_851_680.0 / 3.0), Some(2_949_660.0 / 3.0)));
    let text = orgata(dir.path(), None, &[&compare[..], &["--versus-from", "2011-01-01"]].concat());
    assert!(stdout(&text).starts_with("2011-01-01 – … against … – 2011-01-01\n"), "{}", stdout(&text));

    // Who did the work: Sara completed 12 of the 42 items; 32 handovers between people.
    let json = orgata(dir.path(), None, &["report", "resources", "--log", log, "--format", "json"]);
    assert!(json.status.success(), "{}", stderr(&json));
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!((report["items"].as_u64(), &report["resources"][0]["resource"]), (Some(42), &serde_json::json!("Sara")));
    assert_eq!(report["resources"][0]["items"].as_u64(), Some(12));
    let handovers: u64 = report["handovers"].as_array().unwrap().iter().map(|h| h["count"].as_u64().unwrap()).sum();
    assert_eq!(handovers, 32);

    // Five of the six cases took longer than a week.
    let sla = orgata(dir.path(), None, &["report", "sla", "--log", log, "--case-target", "7d", "--format", "json"]);
    assert!(sla.status.success(), "{}", stderr(&sla));
    let report: serde_json::Value = serde_json::from_slice(&sla.stdout).unwrap();
    assert_eq!((report["cases"]["cases"].as_u64(), report["cases"]["breaches"].as_u64()), (Some(6), Some(5)));
    let text = orgata(dir.path(), None, &["report", "sla", "--log", log, "--case-target", "7d"]);
    assert!(stdout(&text).contains("5 of 6 cases"), "{}", stdout(&text));

    for (args, message) in [
        (vec!["report", "forecast"], "error: invalid value 'forecast' for '<REPORT>'"),
        (
            vec!["report", "cases", "--versus-version", "v2"],
            "error: the --versus-… options are for `orgata report compare`",
        ),
        (vec!["report", "compare"], "error: invalid filter: compare needs a second side"),
        (vec!["report", "sla", "--case-target", "soon"], "error: invalid value 'soon' for '--case-target <DURATION>'"),
        (vec!["report", "cases", "--case-target", "1d"], "error: --case-target is for `orgata report sla`"),
        (vec!["report", "resources", "--log", log, "--hours-per-week", "0"], "error: invalid filter: "),
        (vec!["report", "cases", "--log", "/nowhere/log.xes"], "error: /nowhere/log.xes: No such file"),
        (vec!["report", "cases", "--source", "a'b"], "error: invalid filter: "),
        (vec!["report", "cases", "--from", "soon"], "error: invalid value 'soon' for '--from <FROM>'"),
    ] {
        let out = orgata(dir.path(), None, &args);
        assert!(!out.status.success(), "{args:?}");
        assert!(stderr(&out).starts_with(message), "{args:?}: {}", stderr(&out));
    }
}
