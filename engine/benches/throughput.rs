//! Engine throughput: instances started and run to completion (three sequential tasks each),
//! in-process, with N concurrent workers; reports instances/s and task-completion latency.
//!
//! ```text
//! cargo bench -p orgata-engine --bench throughput -- --backend sqlite --workers 1 --instances 3000
//! ORGATA_BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1/orgata_bench \
//!   cargo bench -p orgata-engine --bench throughput -- --backend postgres --workers 32 --instances 5000
//! ```

use orgata_engine::*;
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

struct Args {
    backend: String,
    workers: usize,
    instances: usize,
}

/// The allocator of the `orgata` binary, so the numbers are the product's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn parse_args() -> Args {
    let mut args = Args { backend: "sqlite".into(), workers: 1, instances: 2_000 };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--backend" => args.backend = it.next().unwrap_or(args.backend),
            "--workers" => args.workers = it.next().and_then(|v| v.parse().ok()).unwrap_or(args.workers),
            "--instances" => args.instances = it.next().and_then(|v| v.parse().ok()).unwrap_or(args.instances),
            _ => {} // `cargo bench` adds `--bench`
        }
    }
    args
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = parse_args();
    let dir = tempfile::tempdir().map_err(|e| EngineError::Config(e.to_string()))?;
    let url = match args.backend.as_str() {
        "postgres" => std::env::var("ORGATA_BENCH_POSTGRES_URL")
            .map_err(|_| EngineError::Config("set ORGATA_BENCH_POSTGRES_URL to an empty database".into()))?,
        _ => format!("sqlite://{}/bench.db", dir.path().display()),
    };
    let store = connect(&url).await?;
    let engine = Arc::new(Engine::new(store, Arc::new(SystemClock)));
    let slug = format!("bench-{}", uuid::Uuid::now_v7().simple());
    let registered = engine
        .register(Registration {
            organisation_name: "Bench".into(),
            organisation_slug: slug.clone(),
            team_name: "Bench".into(),
            email: format!("u@{slug}.test"),
            display_name: "Bench".into(),
            password: "bench password".into(),
        })
        .await?;
    let (user, team) = (registered.user, registered.team);
    let scope = engine.trusted_scope(&user.id).await?;
    let definition = json!({ "steps": [
        {"key": "one", "name": "One", "kind": "task", "assignee": {"user": user.id}},
        {"key": "two", "name": "Two", "kind": "task", "depends_on": ["one"], "assignee": {"user": user.id}},
        {"key": "three", "name": "Three", "kind": "task", "depends_on": ["two"], "assignee": {"user": user.id}}
    ]});
    let playbook = engine.create_playbook(&scope, &team.id, "Three steps", definition, "").await?.playbook.id;

    let remaining = Arc::new(AtomicUsize::new(args.instances));
    let started = Instant::now();
    let workers: Vec<_> = (0..args.workers)
        .map(|_| {
            let (engine, scope, playbook, remaining) =
                (engine.clone(), scope.clone(), playbook.clone(), remaining.clone());
            tokio::spawn(async move {
                let (mut latencies, mut starts) = (Vec::new(), Vec::new());
                while remaining.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok() {
                    let req =
                        StartInstance { playbook_id: playbook.clone(), branch: None, title: None, input: json!({}) };
                    let t = Instant::now();
                    let mut next = engine.start_instance(&scope, req).await?.tasks;
                    starts.push(t.elapsed());
                    while let Some(task) = next.pop() {
                        let t = Instant::now();
                        next = engine.complete_task(&scope, &task.id, CompleteTask::default()).await?.created;
                        latencies.push(t.elapsed());
                    }
                }
                Ok::<_, EngineError>((latencies, starts))
            })
        })
        .collect();
    let (mut latencies, mut starts) = (Vec::new(), Vec::new());
    for w in workers {
        let (l, s) = w.await.map_err(|e| EngineError::Config(e.to_string()))??;
        latencies.extend(l);
        starts.extend(s);
    }
    let elapsed = started.elapsed();
    latencies.sort();
    starts.sort();
    println!(
        "backend={} workers={} instances={} elapsed={:.2}s throughput={:.0} instances/s completions={} p50={:.2}ms p99={:.2}ms start_p50={:.2}ms start_p99={:.2}ms",
        args.backend,
        args.workers,
        args.instances,
        elapsed.as_secs_f64(),
        args.instances as f64 / elapsed.as_secs_f64(),
        latencies.len(),
        percentile(&latencies, 0.50).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        percentile(&starts, 0.50).as_secs_f64() * 1e3,
        percentile(&starts, 0.99).as_secs_f64() * 1e3,
    );
    Ok(())
}
