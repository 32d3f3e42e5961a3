//! `GET /metrics`: Prometheus text exposition — requests and latency per route, the database
//! pool, and business counters.

use super::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Instant;

/// Upper bounds of the latency histogram's buckets, in seconds.
const BUCKETS: [f64; 11] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// Counters and histograms of this process.
#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Requests by (method, route, status).
    requests: BTreeMap<(String, String, u16), u64>,
    /// Latency by (method, route).
    latency: BTreeMap<(String, String), Histogram>,
    /// Business events by name.
    business: BTreeMap<&'static str, u64>,
}

#[derive(Default)]
struct Histogram {
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// The business events counted (`orgata_<name>_total`).
pub const BUSINESS_EVENTS: [&str; 4] = ["processes_started", "tasks_completed", "sign_ins", "playbook_versions"];

impl Metrics {
    fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let mut m = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        *m.requests.entry((method.to_string(), route.to_string(), status)).or_default() += 1;
        let h = m.latency.entry((method.to_string(), route.to_string())).or_default();
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                h.buckets[i] += 1;
            }
        }
        h.count += 1;
        h.sum += seconds;
    }

    /// Counts one business event (one of [`BUSINESS_EVENTS`]).
    pub fn count(&self, event: &'static str) {
        *self.inner.lock().unwrap_or_else(|e| e.into_inner()).business.entry(event).or_default() += 1;
    }

    fn render(&self, pool: orgata_engine::PoolStats) -> String {
        let m = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = String::new();
        out.push_str("# HELP orgata_http_requests_total HTTP requests by method, route and status.\n");
        out.push_str("# TYPE orgata_http_requests_total counter\n");
        for ((method, route, status), n) in &m.requests {
            let _ = writeln!(
                out,
                "orgata_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {n}"
            );
        }
        out.push_str("# HELP orgata_http_request_duration_seconds HTTP request latency by method and route.\n");
        out.push_str("# TYPE orgata_http_request_duration_seconds histogram\n");
        for ((method, route), h) in &m.latency {
            let labels = format!("method=\"{method}\",route=\"{route}\"");
            for (bound, n) in BUCKETS.iter().zip(h.buckets) {
                let _ = writeln!(out, "orgata_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {n}");
            }
            let _ = writeln!(out, "orgata_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}", h.count);
            let _ = writeln!(out, "orgata_http_request_duration_seconds_sum{{{labels}}} {}", h.sum);
            let _ = writeln!(out, "orgata_http_request_duration_seconds_count{{{labels}}} {}", h.count);
        }
        out.push_str("# HELP orgata_db_pool_connections Database connections of the read pool by state.\n");
        out.push_str("# TYPE orgata_db_pool_connections gauge\n");
        let _ = writeln!(out, "orgata_db_pool_connections{{state=\"idle\"}} {}", pool.idle);
        let _ = writeln!(
            out,
            "orgata_db_pool_connections{{state=\"in_use\"}} {}",
            pool.connections.saturating_sub(pool.idle)
        );
        out.push_str("# HELP orgata_db_pool_max_connections The most connections the read pool opens.\n");
        out.push_str("# TYPE orgata_db_pool_max_connections gauge\n");
        let _ = writeln!(out, "orgata_db_pool_max_connections {}", pool.max);
        for event in BUSINESS_EVENTS {
            let n = m.business.get(event).copied().unwrap_or(0);
            let _ = writeln!(out, "# TYPE orgata_{event}_total counter\norgata_{event}_total {n}");
        }
        out
    }
}

/// Middleware: counts and times every request under its route template (`/v1/tasks/{id}`, so
/// ids do not explode the label set; requests that match no route are not counted).
pub async fn track(State(s): State<AppState>, request: Request, next: Next) -> Response {
    let method = request.method().to_string();
    let route = request.extensions().get::<MatchedPath>().map_or("", |p| p.as_str()).to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    s.metrics.observe(&method, &route, response.status().as_u16(), started.elapsed().as_secs_f64());
    response
}

/// The exposition.
#[utoipa::path(get, path = "/metrics", responses((status = 200, description = "Prometheus text exposition", body = String, content_type = "text/plain")), security(()))]
pub async fn render(State(s): State<AppState>) -> Response {
    let body = s.metrics.render(s.engine.store().pool_stats());
    let mut response = body.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    response
}
