//! Reading a request: parameters from query and body, format, languages, tx-resources.

use actix_web::http::header;
use actix_web::HttpRequest;
use serde_json::Value;

use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::fhir::params::{ParamValue, Params};
use crate::load::{fhir_json::parse_resource, Resource};
use crate::ops::display::Languages;

/// Upper bound on inline resources (`tx-resource`) in one request.
pub const MAX_TX_RESOURCES: usize = 200;

/// Reads the body up to `max` bytes; beyond, the request is refused (413) without reading on.
pub async fn read_body(mut payload: actix_web::web::Payload, max: usize) -> Result<Vec<u8>> {
    use futures_util::StreamExt;
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|e| Error::Invalid(format!("Error reading the request body: {e}")))?;
        if body.len() + chunk.len() > max {
            return Err(Error::PayloadTooLarge(format!(
                "The request body is larger than the limit of {max} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// `http://host/fhir`, as the client addressed us.
pub fn base_url(req: &HttpRequest) -> String {
    let info = req.connection_info();
    format!("{}://{}/fhir", info.scheme(), info.host())
}

/// `_format` must be JSON if given.
pub fn check_format(req: &HttpRequest) -> Result<()> {
    let query = Params::from_query_all(req.query_string())?;
    if let Some(f) = query.str("_format")? {
        let f = f.to_ascii_lowercase();
        if !(f == "json" || f.contains("json")) {
            return Err(Error::NotSupported(format!(
                "Only JSON is supported (_format={f})"
            )));
        }
    }
    Ok(())
}

/// Parameters from the query string, and from a POSTed Parameters (or form) body.
pub fn read_params(req: &HttpRequest, body: &[u8]) -> Result<Params> {
    check_format(req)?;
    let mut params = Params::from_query(req.query_string())?;
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(params);
    }
    let ctype = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if ctype.starts_with("application/x-www-form-urlencoded") {
        let text = std::str::from_utf8(body)
            .map_err(|_| Error::Invalid("The form body is not UTF-8".into()))?;
        params.merge(Params::from_query(text)?);
        return Ok(params);
    }
    if ctype.contains("xml") {
        return Err(Error::NotSupported(
            "Only JSON request bodies are supported".into(),
        ));
    }
    let json: Value = serde_json::from_slice(body)
        .map_err(|e| Error::Invalid(format!("The request body is not valid JSON: {e}")))?;
    params.merge(Params::from_json(&json)?);
    Ok(params)
}

/// Language preferences: `displayLanguage` wins over `Accept-Language`.
pub fn languages(req: &HttpRequest, params: &Params) -> Result<Languages> {
    if let Some(l) = params.str("displayLanguage")? {
        return Ok(Languages::parse(l));
    }
    Ok(req
        .headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .map(Languages::parse)
        .unwrap_or_default())
}

/// The request's own resources (`tx-resource`), as an overlay catalog.
pub fn overlay(params: &Params) -> Result<Option<Catalog>> {
    let resources: Vec<&Value> = params
        .all("tx-resource")
        .filter_map(|v| match v {
            ParamValue::Resource(r) => Some(r),
            _ => None,
        })
        .collect();
    if resources.is_empty() {
        return Ok(None);
    }
    if resources.len() > MAX_TX_RESOURCES {
        return Err(Error::TooCostly(format!(
            "Too many tx-resource parameters ({}, limit {MAX_TX_RESOURCES})",
            resources.len()
        )));
    }
    let mut cat = Catalog::default();
    for r in resources {
        match parse_resource(r).map_err(|e| Error::Invalid(format!("Invalid tx-resource: {e}")))? {
            Resource::CodeSystem(cs) => cat.add_code_system(cs),
            Resource::ValueSet(vs) => cat.add_value_set(vs),
            Resource::ConceptMap(cm) => cat.add_concept_map(cm),
            Resource::Alias { .. } => {}
        }
    }
    Ok(Some(cat))
}
