//! Observability: a middleware giving each request an id (`X-Request-Id` taken from the
//! request when it is sane, else made; always returned) and a tracing span carrying it, and
//! counting it in the metrics registry; and `GET /metrics` in Prometheus text format.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse};
use tracing::Instrument;

use crate::metrics::{operation_of, METRICS};
use crate::reload::Status;
use crate::state::AppState;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// A process-unique id: start time and pid (hex), then a counter.
fn make_id() -> String {
    static PREFIX: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        let t = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0);
        format!("{:x}{:x}", t & 0x00ff_ffff_ffff, std::process::id())
    });
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!("{}-{}", *PREFIX, NEXT.fetch_add(1, Ordering::Relaxed))
}

/// The caller's id when it is 1 to 128 visible ASCII characters.
fn given_id(req: &ServiceRequest) -> Option<String> {
    let v = req.headers().get(&REQUEST_ID)?.to_str().ok()?.trim();
    let ok = !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic());
    ok.then(|| v.to_string())
}

/// Request id, span, access log line (at `info`) and metrics for every request.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let started = Instant::now();
    let id = given_id(&req).unwrap_or_else(make_id);
    let operation = operation_of(req.method().as_str(), req.path());
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %req.method(),
        path = %req.path(),
        operation,
    );
    let result = next.call(req).instrument(span.clone()).await;
    let took = started.elapsed();
    match result {
        Ok(mut res) => {
            let status = res.status().as_u16();
            METRICS.observe(operation, status, took);
            span.in_scope(|| tracing::info!(status, micros = took.as_micros() as u64, "answered"));
            if let Ok(v) = HeaderValue::from_str(&id) {
                res.headers_mut().insert(REQUEST_ID, v);
            }
            Ok(res.map_into_boxed_body())
        }
        Err(e) => {
            let status = e.as_response_error().status_code().as_u16();
            METRICS.observe(operation, status, took);
            span.in_scope(|| tracing::warn!(status, error = %e, "failed"));
            Err(e)
        }
    }
}

/// `GET /metrics`: Prometheus text format 0.0.4.
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let mut out = String::with_capacity(16 * 1024);
    METRICS.render_requests(&mut out);
    METRICS.render_reloads(&mut out);
    let release = state.release();
    let ready = release.info.is_some();
    let s = Status::of(&release);
    let c = &release.catalog;
    let gauge = |out: &mut String, name: &str, help: &str, value: String| {
        let _ = write!(
            out,
            "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}\n"
        );
    };
    gauge(
        &mut out,
        "nosterm_ready",
        "1 once the first data load is complete.",
        u8::from(ready).to_string(),
    );
    gauge(
        &mut out,
        "nosterm_snapshot_generation",
        "Generation of the snapshot being served (1 = first load; +1 per reload).",
        s.generation.to_string(),
    );
    gauge(
        &mut out,
        "nosterm_snapshot_load_seconds",
        "Time to read, check and build the catalog of the snapshot served.",
        (s.load_ms as f64 / 1000.0).to_string(),
    );
    gauge(
        &mut out,
        "nosterm_snapshot_index_seconds",
        "Time to open or build the search index of the snapshot served.",
        (s.index_ms as f64 / 1000.0).to_string(),
    );
    let info = release.info.as_deref();
    gauge(
        &mut out,
        "nosterm_release_loaded_timestamp_seconds",
        "When the release served was loaded (unix time; 0 before the first load).",
        info.map_or(0, |r| r.loaded_at_unix).to_string(),
    );
    // Absent rather than 0 when no resource states a date: an alert on age then stays silent
    // instead of firing on 1970 (alert on `absent()` for that case).
    if let Some(newest) = info.and_then(|r| r.newest_resource.as_ref()) {
        gauge(
            &mut out,
            "nosterm_release_newest_resource_timestamp_seconds",
            "Newest `date` among the served release's CodeSystem, ValueSet and ConceptMap resources (unix time): how recent the data is.",
            newest.unix.to_string(),
        );
    }
    out.push_str("# HELP nosterm_tables Tables served, current versions, by kind.\n# TYPE nosterm_tables gauge\n");
    for (kind, n) in [
        ("CodeSystem", c.code_systems.current().count()),
        ("ValueSet", c.value_sets.current().count()),
        ("ConceptMap", c.concept_maps.current().count()),
    ] {
        let _ = writeln!(out, "nosterm_tables{{kind=\"{kind}\"}} {n}");
    }
    gauge(
        &mut out,
        "nosterm_concepts",
        "Concepts of the current code system versions.",
        s.concepts.to_string(),
    );
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(out)
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/metrics", web::get().to(metrics));
}
