//! `/metadata` and `$versions`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use super::fhir_response;
use super::request::base_url;
use crate::error::Error;
use crate::fhir::capability::{capability_statement, terminology_capabilities};
use crate::fhir::params::Params;
use crate::state::AppState;

pub async fn metadata(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, Error> {
    let params = Params::from_query(req.query_string())?;
    let base = base_url(&req);
    let body = match params.str("mode")? {
        None | Some("full") | Some("normative") => capability_statement(&base),
        Some("terminology") => terminology_capabilities(&base, &state.release().catalog),
        Some(other) => {
            return Err(Error::Invalid(format!(
                "Unknown metadata mode '{other}' (full, normative or terminology)"
            )))
        }
    };
    Ok(fhir_response(StatusCode::OK, &body))
}

pub async fn versions() -> Result<HttpResponse, Error> {
    Ok(fhir_response(
        StatusCode::OK,
        &json!({"resourceType": "Parameters", "parameter": [
            {"name": "version", "valueString": "4.0"},
            {"name": "default", "valueString": "4.0"}
        ]}),
    ))
}
