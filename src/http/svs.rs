//! IHE SVS over HTTP (outside `/fhir`): ITI-48 `GET /svs/RetrieveValueSet?id=OID[&version=]
//! [&lang=]` and ITI-60 `GET /svs/RetrieveMultipleValueSets?ID=…&DisplayNameContains=…`.
//! Thin: parse the query, call `crate::svs`, answer its XML. Errors are plain text with the
//! HTTP status of the domain error and the SVS error code (`NAV` unknown value set, `VERUNK`
//! unknown version, `INV` bad request) first and in the `X-SVS-Error` header.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::error::Error;
use crate::ops::Scope;
use crate::state::AppState;
use crate::svs::{self, Criteria};

const SVS_XML: &str = "text/xml; charset=utf-8";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/svs")
            .route("/RetrieveValueSet", web::get().to(retrieve_value_set))
            .route(
                "/RetrieveMultipleValueSets",
                web::get().to(retrieve_multiple),
            ),
    );
}

/// Query parameters, names compared case-insensitively (the profile spells `id` for ITI-48,
/// `ID` for ITI-60); a repeated parameter is an error.
fn query(req: &HttpRequest) -> Result<Vec<(String, String)>, Error> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(req.query_string())
        .map_err(|e| Error::Invalid(format!("Malformed query string: {e}")))?;
    let mut seen = std::collections::HashSet::new();
    for (k, _) in &pairs {
        if !seen.insert(k.to_ascii_lowercase()) {
            return Err(Error::Invalid(format!("Parameter '{k}' is repeated")));
        }
    }
    Ok(pairs)
}

fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

fn xml(body: String) -> HttpResponse {
    HttpResponse::Ok().content_type(SVS_XML).body(body)
}

fn error(e: &Error) -> HttpResponse {
    let code = svs::error_code(e);
    HttpResponse::build(StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST))
        .content_type("text/plain; charset=utf-8")
        .insert_header(("X-SVS-Error", code))
        .body(format!("{code}: {e}\n"))
}

fn not_ready() -> HttpResponse {
    HttpResponse::ServiceUnavailable()
        .content_type("text/plain; charset=utf-8")
        .body("The terminology data is still loading; retry shortly\n")
}

async fn retrieve_value_set(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if !state.is_ready() {
        return not_ready();
    }
    let run = || -> Result<String, Error> {
        let q = query(&req)?;
        let id = param(&q, "id").ok_or_else(|| {
            Error::Invalid("The parameter 'id' (value set OID) is required".into())
        })?;
        let release = state.release();
        let scope = Scope::new(&release.catalog);
        let vs = svs::retrieve(&scope, id, param(&q, "version"), param(&q, "lang"))?;
        Ok(svs::render_retrieve(&vs))
    };
    match run() {
        Ok(body) => xml(body),
        Err(e) => error(&e),
    }
}

async fn retrieve_multiple(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if !state.is_ready() {
        return not_ready();
    }
    let run = || -> Result<String, Error> {
        let q = query(&req)?;
        const KNOWN: &[&str] = &[
            "ID",
            "DisplayNameContains",
            "SourceContains",
            "PurposeContains",
            "DefinitionContains",
            "GroupContains",
            "GroupOID",
            "RevisionDateAfter",
            "RevisionDateBefore",
            "lang",
        ];
        if let Some((k, _)) = q
            .iter()
            .find(|(k, _)| !KNOWN.iter().any(|n| n.eq_ignore_ascii_case(k)))
        {
            return Err(Error::NotSupported(format!(
                "Parameter '{k}' is not supported (supported: {})",
                KNOWN.join(", ")
            )));
        }
        let c = Criteria {
            id: param(&q, "ID").map(str::to_string),
            display_name_contains: param(&q, "DisplayNameContains").map(str::to_string),
            source_contains: param(&q, "SourceContains").map(str::to_string),
            purpose_contains: param(&q, "PurposeContains").map(str::to_string),
            definition_contains: param(&q, "DefinitionContains").map(str::to_string),
            group: param(&q, "GroupContains").is_some() || param(&q, "GroupOID").is_some(),
            revision_date_after: param(&q, "RevisionDateAfter").map(str::to_string),
            revision_date_before: param(&q, "RevisionDateBefore").map(str::to_string),
        };
        let release = state.release();
        let scope = Scope::new(&release.catalog);
        let sets = svs::search(&scope, &c, param(&q, "lang"))?;
        Ok(svs::render_multiple(&sets))
    };
    match run() {
        Ok(body) => xml(body),
        Err(e) => error(&e),
    }
}
