//! Process-wide counters for `GET /metrics` (Prometheus text format): requests and latency
//! histograms per operation and status, search cache hits and misses. A small hand-written
//! registry of atomics; the snapshot gauges (generation, load time, tables, concepts) are read
//! from the current snapshot when scraped.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, RwLock};
use std::time::Duration;

/// Upper bounds of the latency buckets, in seconds.
pub const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// One latency histogram (cumulative when rendered).
#[derive(Default)]
pub struct Histogram {
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_ns: AtomicU64,
}

impl Histogram {
    pub fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|b| secs <= *b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        self.sum_ns.fetch_add(ns, Ordering::Relaxed);
    }

    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }
}

type Key = (&'static str, u16);

/// Requests by (operation, status).
#[derive(Default)]
pub struct Metrics {
    requests: RwLock<BTreeMap<Key, Arc<Histogram>>>,
    pub search_cache_hits: AtomicU64,
    pub search_cache_misses: AtomicU64,
    /// Reloads refused (the previous release kept being served).
    reload_failures: AtomicU64,
    /// When the last refused reload happened (seconds since 1970; 0 = never).
    reload_last_failure_unix: AtomicU64,
}

/// The process-wide registry.
pub static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::default);

impl Metrics {
    /// Records one answered request.
    pub fn observe(&self, operation: &'static str, status: u16, took: Duration) {
        let key = (operation, status);
        let found = self.requests.read().ok().and_then(|m| m.get(&key).cloned());
        let h = match found {
            Some(h) => h,
            None => match self.requests.write() {
                Ok(mut m) => m.entry(key).or_default().clone(),
                Err(_) => return,
            },
        };
        h.observe(took);
    }

    /// Requests counted so far for `operation` (any status).
    pub fn requests(&self, operation: &str) -> u64 {
        self.requests
            .read()
            .map(|m| {
                m.iter()
                    .filter(|((op, _), _)| *op == operation)
                    .map(|(_, h)| h.count())
                    .sum()
            })
            .unwrap_or(0)
    }

    /// Records a refused reload, `at` seconds since 1970.
    pub fn reload_refused(&self, at: u64) {
        self.reload_failures.fetch_add(1, Ordering::Relaxed);
        self.reload_last_failure_unix
            .fetch_max(at, Ordering::Relaxed);
    }

    /// Refused reloads counted so far.
    pub fn reload_failures(&self) -> u64 {
        self.reload_failures.load(Ordering::Relaxed)
    }

    /// The refused-reload counter and the time of the last one, in Prometheus text format.
    pub fn render_reloads(&self, out: &mut String) {
        out.push_str("# HELP nosterm_reload_failures_total Reloads refused (bad release, unreadable folder, index error); the previous release kept being served.\n");
        out.push_str("# TYPE nosterm_reload_failures_total counter\n");
        let _ = writeln!(
            out,
            "nosterm_reload_failures_total {}",
            self.reload_failures()
        );
        out.push_str("# HELP nosterm_reload_last_failure_timestamp_seconds When the last reload was refused (unix time; 0 = none since start).\n");
        out.push_str("# TYPE nosterm_reload_last_failure_timestamp_seconds gauge\n");
        let _ = writeln!(
            out,
            "nosterm_reload_last_failure_timestamp_seconds {}",
            self.reload_last_failure_unix.load(Ordering::Relaxed)
        );
    }

    /// The request counters and histograms, in Prometheus text format.
    pub fn render_requests(&self, out: &mut String) {
        let Ok(map) = self.requests.read() else {
            return;
        };
        out.push_str(
            "# HELP nosterm_http_requests_total HTTP requests answered, by operation and status.\n",
        );
        out.push_str("# TYPE nosterm_http_requests_total counter\n");
        for ((op, status), h) in map.iter() {
            let _ = writeln!(
                out,
                "nosterm_http_requests_total{{operation=\"{op}\",status=\"{status}\"}} {}",
                h.count()
            );
        }
        out.push_str("# HELP nosterm_http_request_duration_seconds Time from request head to response, by operation and status.\n");
        out.push_str("# TYPE nosterm_http_request_duration_seconds histogram\n");
        for ((op, status), h) in map.iter() {
            let labels = format!("operation=\"{op}\",status=\"{status}\"");
            let mut cumulative = 0;
            for (i, le) in BUCKETS.iter().enumerate() {
                cumulative += h.buckets[i].load(Ordering::Relaxed);
                let _ = writeln!(
                    out,
                    "nosterm_http_request_duration_seconds_bucket{{{labels},le=\"{le}\"}} {cumulative}"
                );
            }
            let count = h.count();
            let _ = writeln!(
                out,
                "nosterm_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {count}"
            );
            let sum = h.sum_ns.load(Ordering::Relaxed) as f64 / 1e9;
            let _ = writeln!(
                out,
                "nosterm_http_request_duration_seconds_sum{{{labels}}} {sum}"
            );
            let _ = writeln!(
                out,
                "nosterm_http_request_duration_seconds_count{{{labels}}} {count}"
            );
        }
        let hits = self.search_cache_hits.load(Ordering::Relaxed);
        let misses = self.search_cache_misses.load(Ordering::Relaxed);
        out.push_str("# HELP nosterm_search_cache_hits_total Text searches answered from a cache (search results, or the members they select).\n");
        out.push_str("# TYPE nosterm_search_cache_hits_total counter\n");
        let _ = writeln!(out, "nosterm_search_cache_hits_total {hits}");
        out.push_str("# HELP nosterm_search_cache_misses_total Text searches run on the index (not cached).\n");
        out.push_str("# TYPE nosterm_search_cache_misses_total counter\n");
        let _ = writeln!(out, "nosterm_search_cache_misses_total {misses}");
    }
}

/// The operation a request path names, from a fixed set (bounded label values).
pub fn operation_of(method: &str, path: &str) -> &'static str {
    const TYPES: [&str; 3] = ["CodeSystem", "ValueSet", "ConceptMap"];
    const OPS: [(&str, &str, &str); 9] = [
        ("CodeSystem", "$lookup", "CodeSystem/$lookup"),
        ("CodeSystem", "$validate-code", "CodeSystem/$validate-code"),
        ("CodeSystem", "$subsumes", "CodeSystem/$subsumes"),
        ("ValueSet", "$validate-code", "ValueSet/$validate-code"),
        ("ValueSet", "$expand", "ValueSet/$expand"),
        (
            "ValueSet",
            "$batch-validate-code",
            "ValueSet/$batch-validate-code",
        ),
        ("ConceptMap", "$translate", "ConceptMap/$translate"),
        ("CodeSystem", "", "CodeSystem/read"),
        ("ValueSet", "", "ValueSet/read"),
    ];
    let seg: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match seg.as_slice() {
        [] => "ui",
        ["fhir", "metadata"] => "metadata",
        ["fhir", "$versions"] => "$versions",
        ["fhir", t] if TYPES.contains(t) => match *t {
            "CodeSystem" => "CodeSystem/search",
            "ValueSet" => "ValueSet/search",
            _ => "ConceptMap/search",
        },
        ["fhir", t, x] | ["fhir", t, _, x] if x.starts_with('$') => OPS
            .iter()
            .find(|(rt, op, _)| rt == t && op == x)
            .map_or("fhir/other", |(_, _, name)| name),
        ["fhir", "ConceptMap", _] => "ConceptMap/read",
        ["fhir", t, _] => OPS
            .iter()
            .find(|(rt, op, _)| rt == t && op.is_empty())
            .map_or("fhir/other", |(_, _, name)| name),
        ["fhir", ..] => "fhir/other",
        ["health", "live"] => "health/live",
        ["health", "ready"] => "health/ready",
        ["admin", "reload"] if method == "POST" => "admin/reload",
        ["admin", ..] => "admin/other",
        ["svs", ..] => "svs",
        ["metrics"] => "metrics",
        ["ui", "api", ..] => "ui/api",
        ["ui", ..] | ["demo"] | ["index.html"] => "ui",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations() {
        assert_eq!(
            operation_of("GET", "/fhir/ValueSet/$expand"),
            "ValueSet/$expand"
        );
        assert_eq!(
            operation_of("POST", "/fhir/ValueSet/x/$validate-code"),
            "ValueSet/$validate-code"
        );
        assert_eq!(operation_of("GET", "/fhir/CodeSystem"), "CodeSystem/search");
        assert_eq!(operation_of("GET", "/fhir/CodeSystem/x"), "CodeSystem/read");
        assert_eq!(operation_of("GET", "/fhir/Patient/x"), "fhir/other");
        assert_eq!(operation_of("GET", "/fhir/ValueSet/$nope"), "fhir/other");
        assert_eq!(operation_of("GET", "/health/ready"), "health/ready");
        assert_eq!(operation_of("GET", "/"), "ui");
        assert_eq!(operation_of("GET", "/wp-admin"), "other");
    }

    #[test]
    fn histogram_is_cumulative() {
        let m = Metrics::default();
        m.observe("metadata", 200, Duration::from_micros(300));
        m.observe("metadata", 200, Duration::from_millis(30));
        m.observe("metadata", 404, Duration::from_secs(20));
        let mut out = String::new();
        m.render_requests(&mut out);
        assert!(
            out.contains("nosterm_http_requests_total{operation=\"metadata\",status=\"200\"} 2")
        );
        assert!(out.contains(
            "nosterm_http_request_duration_seconds_bucket{operation=\"metadata\",status=\"200\",le=\"0.0005\"} 1"
        ));
        assert!(out.contains(
            "nosterm_http_request_duration_seconds_bucket{operation=\"metadata\",status=\"200\",le=\"0.05\"} 2"
        ));
        assert!(out.contains(
            "nosterm_http_request_duration_seconds_bucket{operation=\"metadata\",status=\"404\",le=\"10\"} 0"
        ));
        assert!(out.contains(
            "nosterm_http_request_duration_seconds_count{operation=\"metadata\",status=\"404\"} 1"
        ));
        assert_eq!(m.requests("metadata"), 3);
    }

    #[test]
    fn refused_reloads_are_counted_with_the_last_time() {
        let m = Metrics::default();
        let mut out = String::new();
        m.render_reloads(&mut out);
        assert!(out.contains("nosterm_reload_failures_total 0\n"));
        assert!(out.contains("nosterm_reload_last_failure_timestamp_seconds 0\n"));
        m.reload_refused(1_700_000_100);
        m.reload_refused(1_700_000_000);
        let mut out = String::new();
        m.render_reloads(&mut out);
        assert!(out.contains("# TYPE nosterm_reload_failures_total counter\n"));
        assert!(out.contains("nosterm_reload_failures_total 2\n"));
        assert!(out.contains("nosterm_reload_last_failure_timestamp_seconds 1700000100\n"));
    }
}
