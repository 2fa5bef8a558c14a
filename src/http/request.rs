//! Reading a request: parameters from query and body, format, languages, tx-resources.

use std::borrow::Cow;
use std::time::Duration;

use actix_web::http::header::{self, HeaderMap};
use actix_web::HttpRequest;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::fhir::params::Params;

/// What operations read of a request (query and headers): borrowed from the request when the
/// work runs on the HTTP worker, owned (`into_owned`) when it runs off it (`web::block`).
#[derive(Debug, Clone)]
pub struct RequestHead<'r> {
    query: Cow<'r, str>,
    headers: Cow<'r, HeaderMap>,
}

impl<'r> RequestHead<'r> {
    pub fn of(req: &'r HttpRequest) -> Self {
        RequestHead {
            query: Cow::Borrowed(req.query_string()),
            headers: Cow::Borrowed(req.headers()),
        }
    }

    /// A head from its parts, without an actix request (the `operations` fuzz target).
    pub fn from_parts(query: &'r str, headers: HeaderMap) -> Self {
        RequestHead {
            query: Cow::Borrowed(query),
            headers: Cow::Owned(headers),
        }
    }

    pub fn into_owned(self) -> RequestHead<'static> {
        RequestHead {
            query: Cow::Owned(self.query.into_owned()),
            headers: Cow::Owned(self.headers.into_owned()),
        }
    }

    pub fn query_string(&self) -> &str {
        &self.query
    }

    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }
}

/// `read_body`, bounded in time: a client that has not sent its whole body within `timeout`
/// gets 408 (the connection is not held open by a slow sender).
pub async fn read_body_within(
    payload: actix_web::web::Payload,
    max: usize,
    timeout: Duration,
) -> Result<Vec<u8>> {
    actix_web::rt::time::timeout(timeout, read_body(payload, max))
        .await
        .unwrap_or_else(|_| {
            Err(Error::ClientTimeout(format!(
                "The request body was not received within {} ms",
                timeout.as_millis()
            )))
        })
}

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
    check_format_of(req.query_string())
}

fn check_format_of(query: &str) -> Result<()> {
    // Most requests have no `_format` (nor `%5Fformat`): no need to decode the query for it.
    if !query.contains("format") {
        return Ok(());
    }
    let query = Params::from_query_all(query)?;
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

/// Parameters from the query string, and from a POSTed Parameters (or form) body, at most
/// `max_params` in all (nested parts included).
pub fn read_params(req: &RequestHead, body: &[u8], max_params: usize) -> Result<Params> {
    let params = read_params_unbounded(req, body, max_params)?;
    match params.count() {
        n if n > max_params => Err(Error::TooCostly(format!(
            "Too many parameters ({n}, limit {max_params})"
        ))),
        _ => Ok(params),
    }
}

fn read_params_unbounded(req: &RequestHead, body: &[u8], max: usize) -> Result<Params> {
    check_format_of(req.query_string())?;
    let mut params = Params::from_query_limited(req.query_string(), max)?;
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
        params.merge(Params::from_query_limited(text, max)?);
        return Ok(params);
    }
    if ctype.contains("xml") {
        return Err(Error::NotSupported(
            "Only JSON request bodies are supported".into(),
        ));
    }
    // Most bodies are a few primitive parameters: read without a JSON tree when they are.
    if let Some(simple) = Params::from_simple_json(body, max) {
        params.merge(simple);
        return Ok(params);
    }
    let json: Value = serde_json::from_slice(body)
        .map_err(|e| Error::Invalid(format!("The request body is not valid JSON: {e}")))?;
    params.merge(Params::from_json_limited(&json, max)?);
    Ok(params)
}
