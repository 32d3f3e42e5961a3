//! The process's counters and histograms — requests and latency per route, warehouse streaming,
//! business events — and their Prometheus text exposition (`GET /metrics`). Business events are
//! counted by this layer's operations only, so an event counts once whichever interface caused it.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

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
    /// Warehouse streaming: commit-to-queryable lag of every change event.
    freshness: Histogram,
    ingest_changes: u64,
    ingest_batches: u64,
    ingest_errors: u64,
    /// When the last batch became queryable (Unix seconds).
    ingest_last_commit: f64,
}

#[derive(Default)]
struct Histogram {
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn add(&mut self, bounds: &[f64; BUCKETS.len()], value: f64) {
        for (i, bound) in bounds.iter().enumerate() {
            if value <= *bound {
                self.buckets[i] += 1;
            }
        }
        self.count += 1;
        self.sum += value;
    }

    /// Writes the histogram's series `name{labels,le=…}`, `_sum` and `_count`.
    fn render(&self, out: &mut String, name: &str, labels: &str, bounds: &[f64; BUCKETS.len()]) {
        let sep = if labels.is_empty() { "" } else { "," };
        for (bound, n) in bounds.iter().zip(self.buckets) {
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {n}");
        }
        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}", self.count);
        let braces = if labels.is_empty() { String::new() } else { format!("{{{labels}}}") };
        let _ = writeln!(out, "{name}_sum{braces} {}", self.sum);
        let _ = writeln!(out, "{name}_count{braces} {}", self.count);
    }
}

/// Upper bounds of the freshness histogram's buckets, in seconds.
const FRESHNESS_BUCKETS: [f64; 11] = [0.1, 0.25, 0.5, 1.0, 1.5, 2.0, 5.0, 10.0, 60.0, 300.0, 3600.0];

/// The business events counted (`orgata_<name>_total`).
pub const BUSINESS_EVENTS: [&str; 4] = ["processes_started", "tasks_completed", "sign_ins", "playbook_versions"];

impl Metrics {
    /// Records an HTTP request: its method, route template, status and latency.
    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let mut m = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        *m.requests.entry((method.to_string(), route.to_string(), status)).or_default() += 1;
        m.latency.entry((method.to_string(), route.to_string())).or_default().add(&BUCKETS, seconds);
    }

    /// Records a batch the warehouse streamer committed.
    pub fn observe_ingest(&self, committed: &orgata_ingest::sink::Committed) {
        let mut m = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        for lag in committed.lags() {
            let seconds = lag.num_microseconds().unwrap_or(i64::MAX) as f64 / 1e6;
            m.freshness.add(&FRESHNESS_BUCKETS, seconds.max(0.0));
        }
        m.ingest_changes += committed.changes as u64;
        m.ingest_batches += 1;
        m.ingest_last_commit = committed.committed_at.timestamp_micros() as f64 / 1e6;
    }

    /// Counts a failed streaming attempt.
    pub fn count_ingest_error(&self) {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).ingest_errors += 1;
    }

    /// Counts one business event (one of [`BUSINESS_EVENTS`]): only this layer's operations do.
    pub(super) fn count(&self, event: &'static str) {
        *self.inner.lock().unwrap_or_else(|e| e.into_inner()).business.entry(event).or_default() += 1;
    }

    /// The Prometheus text exposition, with the database pool's state.
    pub fn exposition(&self, pool: orgata_engine::PoolStats) -> String {
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
            h.render(&mut out, "orgata_http_request_duration_seconds", &labels, &BUCKETS);
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
        out.push_str(
            "# HELP orgata_warehouse_freshness_seconds From an engine commit to its rows being queryable in the \
             warehouse (per batch, its oldest change).\n",
        );
        out.push_str("# TYPE orgata_warehouse_freshness_seconds histogram\n");
        m.freshness.render(&mut out, "orgata_warehouse_freshness_seconds", "", &FRESHNESS_BUCKETS);
        for (name, help, value) in [
            ("orgata_warehouse_changes_total", "Change events committed to the warehouse.", m.ingest_changes),
            ("orgata_warehouse_batches_total", "Batches committed to the warehouse.", m.ingest_batches),
            ("orgata_warehouse_stream_errors_total", "Failed streaming attempts (retried).", m.ingest_errors),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}");
        }
        let _ = writeln!(
            out,
            "# HELP orgata_warehouse_last_commit_timestamp_seconds When the last batch became queryable.\n\
             # TYPE orgata_warehouse_last_commit_timestamp_seconds gauge\norgata_warehouse_last_commit_timestamp_seconds {}",
            m.ingest_last_commit
        );
        for event in BUSINESS_EVENTS {
            let n = m.business.get(event).copied().unwrap_or(0);
            let _ = writeln!(out, "# TYPE orgata_{event}_total counter\norgata_{event}_total {n}");
        }
        out
    }
}
