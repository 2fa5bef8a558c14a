//! Operations routes, outside `/fhir`: `/health/live`, `/health/ready`, and, only when an
//! admin token is configured, `/admin/reload` and `/admin/status` (Bearer token).

use std::path::PathBuf;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::request::read_body;
use crate::error::{Error, Result};
use crate::reload::{reload, SaveSnapshot, Status};
use crate::state::AppState;

fn json_response(status: StatusCode, body: &impl serde::Serialize) -> Result<HttpResponse> {
    let text = serde_json::to_string(body)
        .map_err(|e| Error::Internal(format!("Rendering the answer: {e}")))?;
    Ok(HttpResponse::build(status)
        .content_type("application/json")
        .body(text))
}

/// `GET /health/live`: the process answers.
pub async fn live() -> Result<HttpResponse> {
    json_response(StatusCode::OK, &json!({"status": "live"}))
}

/// `GET /health/ready`: 200 with the data release once the first load is complete, 503 before.
pub async fn ready(state: web::Data<AppState>) -> Result<HttpResponse> {
    let release = state.release();
    if release.info.is_none() {
        return Err(Error::Unavailable(
            "the first data load is not complete".into(),
        ));
    }
    let s = Status::of(&release);
    json_response(
        StatusCode::OK,
        &json!({
            "status": "ready",
            "generation": s.generation,
            "loaded_at": s.loaded_at,
            "newest_resource_date": s.newest_resource_date,
            "tables": s.tables,
            "concepts": s.concepts,
        }),
    )
}

/// Compares in time independent of where the inputs differ (the length still shows): every
/// byte of the expected token is read, and `black_box` keeps the optimiser from stopping at
/// the first difference.
fn same_secret(given: &[u8], expected: &[u8]) -> bool {
    let mut diff = given.len() ^ expected.len();
    for (i, e) in expected.iter().enumerate() {
        let g = given.get(i).copied().unwrap_or(0);
        diff = std::hint::black_box(diff | usize::from(g ^ e));
    }
    diff == 0
}

/// The request must carry `Authorization: Bearer <the configured token>`.
fn authorize(req: &HttpRequest, state: &AppState) -> Result<()> {
    let Some(token) = &state.config.admin_token else {
        return Err(Error::NotFound("admin routes are disabled".into()));
    };
    let given = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    match given {
        Some(g) if same_secret(g.as_bytes(), token.expose().as_bytes()) => Ok(()),
        Some(_) => Err(Error::Unauthorized("invalid admin token".into())),
        None => Err(Error::Unauthorized(
            "admin routes need Authorization: Bearer <token>".into(),
        )),
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ReloadBody {
    data: Option<PathBuf>,
}

/// `POST /admin/reload` (optional JSON body `{"data": "folder"}`): loads the release aside and
/// swaps it in; 422 with every load error when it is refused (the old data stays).
pub async fn reload_route(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    authorize(&req, &state)?;
    let body = read_body(payload, 64 * 1024).await?;
    let body: ReloadBody = if body.iter().all(u8::is_ascii_whitespace) {
        ReloadBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            Error::Invalid(format!(
                "reload body: expected {{\"data\": \"folder\"}}: {e}"
            ))
        })?
    };
    let st = state.clone();
    let report = web::block(move || reload(&st, body.data.as_deref(), SaveSnapshot::InBackground))
        .await
        .map_err(|e| Error::Internal(format!("reload task failed: {e}")))??;
    json_response(StatusCode::OK, &report)
}

/// `GET /admin/status`: the current release, with what changed at the last reload.
pub async fn status(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse> {
    authorize(&req, &state)?;
    let release = state.release();
    let changes = release.info.as_ref().map(|r| &r.changes);
    json_response(
        StatusCode::OK,
        &json!({"status": Status::of(&release), "changes": changes}),
    )
}

/// Health routes always; admin routes only when a token is configured.
pub fn configure(cfg: &mut web::ServiceConfig, admin: bool) {
    cfg.route("/health/live", web::get().to(live))
        .route("/health/ready", web::get().to(ready));
    if admin {
        cfg.route("/admin/reload", web::post().to(reload_route))
            .route("/admin/status", web::get().to(status));
    }
}

#[cfg(test)]
mod tests {
    use super::same_secret;

    #[test]
    fn secrets() {
        assert!(same_secret(b"abc", b"abc"));
        assert!(!same_secret(b"abd", b"abc"));
        assert!(!same_secret(b"ab", b"abc"));
        assert!(!same_secret(b"abcd", b"abc"));
        assert!(!same_secret(b"", b"abc"));
    }
}
