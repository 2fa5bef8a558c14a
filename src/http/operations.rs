//! Terminology operations over HTTP: `$lookup`, `$validate-code`, `$expand`, `$subsumes`,
//! `$translate`, `$batch-validate-code`. Each handler reads parameters, calls `ops`, renders.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::http::header::{self, HeaderName};
use actix_web::http::StatusCode;
use actix_web::web::Bytes;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::Value;

use super::fhir_response;
use super::request::{read_body_within, read_params, RequestHead};
use super::resources::{read, ResourceType};
use crate::answers::Question;
use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::fhir::now_instant;
use crate::fhir::params::Params;
use crate::fhir::render::{lookup_doc, translate_json, validate_doc, validate_json, ExpansionDoc};
use crate::fhir::request::batch::{batch_json, BatchValidateRequest};
use crate::fhir::request::expand::{may_use_kept, with_value_set_defaults, ExpandParameters};
use crate::fhir::request::resources::overlay;
use crate::fhir::request::subsumes::{subsumes_json, SubsumesRequest};
use crate::fhir::request::validate::ValidateCodeRequest;
use crate::fhir::request::{self, Context, Instance, ValueSetRef};
use crate::model::{CodeSystem, ValueSet};
use crate::ops::expand::{expand, expand_kept};
use crate::ops::lookup::{lookup, LookupRequest};
use crate::ops::subsumes::subsumes;
use crate::ops::supplement;
use crate::ops::translate::{translate, TranslateRequest};
use crate::ops::validate::{validate, Target, ValidateResult};
use crate::ops::Scope;
use crate::state::{AppState, Release};

type Path2 = web::Path<(String, String)>;
type Path3 = web::Path<(String, String, String)>;

/// `GET /fhir/{type}/{id}`: a read, or a type-level operation (`/ValueSet/$expand`).
pub async fn get_resource_or_op(
    req: HttpRequest,
    path: Path2,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let (rtype, seg) = path.into_inner();
    let rt = ResourceType::parse(&rtype)?;
    if let Some(op) = seg.strip_prefix('$') {
        return run_bounded(&req, rt, None, op, Vec::new(), state).await;
    }
    super::request::check_format(&req)?;
    let summary = Params::from_query_all(req.query_string())?
        .str("_summary")?
        .is_some_and(|s| s == "true");
    let release = state.release();
    Ok(fhir_response(
        StatusCode::OK,
        &read(&release.catalog, rt, &seg, summary)?,
    ))
}

/// `POST /fhir/{type}/$op`.
pub async fn post_op(
    req: HttpRequest,
    path: Path2,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let (rtype, seg) = path.into_inner();
    let rt = ResourceType::parse(&rtype)?;
    match seg.strip_prefix('$') {
        Some(op) => {
            let body = read_body_limited(payload, &state).await?;
            run_bounded(&req, rt, None, op, body, state).await
        }
        None => Err(Error::MethodNotAllowed(
            "This terminology server is read-only: create, update and delete are not supported"
                .into(),
        )),
    }
}

/// `GET|POST /fhir/{type}/{id}/$op`.
pub async fn instance_op(
    req: HttpRequest,
    path: Path3,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let (rtype, id, seg) = path.into_inner();
    let rt = ResourceType::parse(&rtype)?;
    let op = seg
        .strip_prefix('$')
        .ok_or_else(|| Error::NotFound(format!("No endpoint {}", req.path())))?;
    let body = read_body_limited(payload, &state).await?;
    run_bounded(&req, rt, Some(&id), op, body, state).await
}

/// The type-level operations, each on a static route of its own (`/CodeSystem/$validate-code`,
/// …), registered before the `/{rtype}/{id}` pattern: a static path is matched by comparing
/// strings, a pattern by a regex (a tenth of the CPU of a `$validate-code`). Same handling and
/// answers as through `/{rtype}/{id}`, which still serves them when written otherwise (`%24`).
pub fn type_level_routes(cfg: &mut web::ServiceConfig) {
    const OPS: [(ResourceType, &str, &str); 7] = [
        (ResourceType::CodeSystem, "CodeSystem", "lookup"),
        (ResourceType::CodeSystem, "CodeSystem", "validate-code"),
        (ResourceType::CodeSystem, "CodeSystem", "subsumes"),
        (ResourceType::ValueSet, "ValueSet", "validate-code"),
        (ResourceType::ValueSet, "ValueSet", "expand"),
        (ResourceType::ValueSet, "ValueSet", "batch-validate-code"),
        (ResourceType::ConceptMap, "ConceptMap", "translate"),
    ];
    for (rt, rtype, op) in OPS {
        let get = move |req: HttpRequest, state: web::Data<AppState>| async move {
            run_bounded(&req, rt, None, op, Vec::new(), state).await
        };
        let post = move |req: HttpRequest, payload: web::Payload, state: web::Data<AppState>| async move {
            let body = read_body_limited(payload, &state).await?;
            run_bounded(&req, rt, None, op, body, state).await
        };
        cfg.service(
            web::resource(format!("/{rtype}/${op}"))
                .route(web::get().to(get))
                .route(web::post().to(post))
                .route(web::put().to(super::read_only))
                .route(web::delete().to(super::read_only))
                .route(web::patch().to(super::read_only))
                .default_service(web::to(super::not_found)),
        );
    }
}

/// The body, within `--max-body` bytes and `--body-timeout-ms`.
async fn read_body_limited(payload: web::Payload, state: &AppState) -> Result<Vec<u8>> {
    let limits = &state.config.limits;
    read_body_within(
        payload,
        state.config.max_body,
        Duration::from_millis(limits.body_timeout_ms),
    )
    .await
}

/// The header by which HL7's suite lowers the expansion limit (it changes an answer).
const TOO_COSTLY_THRESHOLD: &str = "x-too-costly-threshold";

/// Largest body of an operation answered on the HTTP worker itself (see `runs_inline`).
const INLINE_BODY: usize = 8 * 1024;

/// Whether the operation is answered on the HTTP worker rather than off it: `$lookup`,
/// `$validate-code` and `$subsumes` are hash look-ups and short walks (a few µs, whatever the
/// size of the tables), and with a small body (at most `INLINE_BODY` bytes, so any inline
/// resource is small too) their cost stays bounded. Handing them to the blocking pool would
/// cost more than the work itself (two thread switches per request: under load, a 5 to 10
/// times lower throughput on two cores).
fn runs_inline(rt: ResourceType, op: &str, body: &[u8]) -> bool {
    let exact = matches!(
        (rt, op),
        (
            ResourceType::CodeSystem,
            "lookup" | "validate-code" | "subsumes"
        ) | (ResourceType::ValueSet, "validate-code")
    );
    exact && body.len() <= INLINE_BODY
}

/// Largest page of an `$expand` answered on the HTTP worker when everything else is known.
const INLINE_PAGE: usize = 1_000;

/// Runs the operation off the HTTP workers, within the time budget (`--request-timeout-ms`):
/// past it the answer is 503 `too-costly` and the result, when it comes, is dropped. Exact
/// look-ups with a small body are answered on the worker at once (`runs_inline`), and so is an
/// `$expand` whose work is already done but for its page (`expand_kept`); what these answer is
/// kept per release (`answers`), and a repeated question gets the kept bytes.
async fn run_bounded(
    req: &HttpRequest,
    rt: ResourceType,
    id: Option<&str>,
    op: &str,
    body: Vec<u8>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let head = RequestHead::of(req);
    let budget = Duration::from_millis(state.config.limits.request_timeout_ms);
    // The same budget bounds the work itself (`Scope::check_deadline` in the long loops), so
    // a request answered 503 does not keep computing on the blocking pool.
    let deadline = Instant::now() + budget;
    let inline = runs_inline(rt, op, &body);
    let expand_inline = (rt, op) == (ResourceType::ValueSet, "expand") && body.len() <= INLINE_BODY;
    if inline || expand_inline {
        let release = state.release();
        let header = |name| head.headers().get(name).map(|v| v.as_bytes());
        let question = Question {
            resource: super::resources::type_name(rt),
            operation: op,
            id,
            query: head.query_string(),
            body: &body,
            accept_language: header(header::ACCEPT_LANGUAGE),
            content_type: header(header::CONTENT_TYPE),
            too_costly_threshold: header(HeaderName::from_static(TOO_COSTLY_THRESHOLD)),
        };
        let key = match release.answers.get(&question) {
            Ok(kept) => return Ok(fhir_bytes(StatusCode::OK, kept)),
            Err(key) => key,
        };
        let answer = if inline {
            let call = Call { rt, id, op };
            Some(run(&head, call, &body, &state, &release, deadline)?)
        } else {
            expand_on_worker(&head, id, &body, &state, &release)?
        };
        if let Some(answer) = answer {
            let answer = Bytes::from(answer);
            if let Some(key) = key {
                release.answers.insert(key, answer.clone());
            }
            return Ok(fhir_bytes(StatusCode::OK, answer));
        }
    }
    let head = head.into_owned();
    let (id, op) = (id.map(str::to_string), op.to_string());
    let task = web::block(move || {
        let release = state.release();
        let call = Call {
            rt,
            id: id.as_deref(),
            op: &op,
        };
        run(&head, call, &body, &state, &release, deadline)
    });
    match actix_web::rt::time::timeout(budget, task).await {
        Ok(Ok(answer)) => Ok(fhir_bytes(StatusCode::OK, Bytes::from(answer?))),
        Ok(Err(e)) => Err(Error::Internal(format!("The operation failed: {e}"))),
        Err(_) => Err(Error::DeadlineExceeded(format!(
            "The operation did not complete within the time budget of {} ms",
            budget.as_millis()
        ))),
    }
}

/// An operation answered on the calling thread, as `run_bounded` answers it but without the
/// answer cache and the blocking pool: an `$expand` with a small body whose work is kept gets
/// its page on the spot, anything else is `run` within the configured time budget. The way
/// in for the `operations` fuzz target (`fuzz/`), which drives it with arbitrary requests.
#[doc(hidden)]
pub fn answer_in_place(
    state: &AppState,
    rtype: &str,
    id: Option<&str>,
    op: &str,
    head: &RequestHead,
    body: &[u8],
) -> Result<Vec<u8>> {
    let rt = ResourceType::parse(rtype)?;
    let release = state.release();
    if (rt, op) == (ResourceType::ValueSet, "expand") && body.len() <= INLINE_BODY {
        if let Some(answer) = expand_on_worker(head, id, body, state, &release)? {
            return Ok(answer);
        }
    }
    let deadline = Instant::now() + Duration::from_millis(state.config.limits.request_timeout_ms);
    run(head, Call { rt, id, op }, body, state, &release, deadline)
}

/// The `$expand` answer when only its page remains to be made (`ops::expand::expand_kept`);
/// `None` when the request brings resources of its own or more work is needed.
fn expand_on_worker(
    req: &RequestHead,
    id: Option<&str>,
    body: &[u8],
    state: &AppState,
    release: &Release,
) -> Result<Option<Vec<u8>>> {
    let params = read_params(req, body, state.config.limits.max_params)?;
    if !may_use_kept(&params) {
        return Ok(None);
    }
    let ctx = Ctx {
        params: &params,
        scope: Scope {
            base: &release.catalog,
            overlay: None,
            search: release.search.as_deref(),
            deadline: None,
            value_set_versions: &[],
            ecl_max_steps: state.config.limits.max_ecl_steps,
        },
        request: request_context(req, state, &release.catalog, id),
    };
    ctx.expand(Some(INLINE_PAGE))
}

/// A FHIR JSON response of bytes already rendered.
fn fhir_bytes(status: StatusCode, body: Bytes) -> HttpResponse {
    HttpResponse::build(status)
        .content_type(super::FHIR_JSON)
        .body(body)
}

/// JSON bytes of a document (`Serialize` cannot fail on these types but through a bug).
fn bytes_of(doc: &impl serde::Serialize) -> Result<Vec<u8>> {
    serde_json::to_vec(doc).map_err(|e| Error::Internal(format!("Rendering the answer: {e}")))
}

/// An operation as addressed: resource type, instance id if any, and name (without `$`).
#[derive(Clone, Copy)]
struct Call<'a> {
    rt: ResourceType,
    id: Option<&'a str>,
    op: &'a str,
}

fn run(
    req: &RequestHead,
    Call { rt, id, op }: Call,
    body: &[u8],
    state: &AppState,
    release: &Release,
    deadline: Instant,
) -> Result<Vec<u8>> {
    let params = read_params(req, body, state.config.limits.max_params)?;
    let mut extra = overlay(&params, &state.config.limits)?;
    let request = request_context(req, state, &release.catalog, id);
    let value_set_versions = request::canonical_list(&params, "default-valueset-version")?;
    // The release's catalog and index, with this request's own resources over them.
    fn scope<'a>(
        release: &'a Release,
        overlay: Option<&'a Catalog>,
        deadline: Instant,
        value_set_versions: &'a [(String, String)],
        ecl_max_steps: u64,
    ) -> Scope<'a> {
        Scope {
            base: &release.catalog,
            overlay,
            search: release.search.as_deref(),
            deadline: Some(deadline),
            value_set_versions,
            ecl_max_steps,
        }
    }
    let supplemented = Ctx {
        params: &params,
        scope: scope(
            release,
            extra.as_ref(),
            deadline,
            &value_set_versions,
            state.config.limits.max_ecl_steps,
        ),
        request,
    }
    .supplemented_systems(rt, op)?;
    // The supplemented copies take the place of their base systems for this request.
    if !supplemented.is_empty() {
        let layer = extra.get_or_insert_with(Catalog::default);
        for cs in supplemented {
            layer.add_code_system(cs);
        }
    }
    let ctx = Ctx {
        params: &params,
        scope: scope(
            release,
            extra.as_ref(),
            deadline,
            &value_set_versions,
            state.config.limits.max_ecl_steps,
        ),
        request,
    };
    match (rt, op) {
        (ResourceType::CodeSystem, "lookup") => ctx.lookup(),
        (ResourceType::CodeSystem, "validate-code") => ctx.validate_cs(),
        (ResourceType::CodeSystem, "subsumes") => bytes_of(&ctx.subsumes()?),
        (ResourceType::ValueSet, "validate-code") => bytes_of(&validate_doc(&ctx.validate_vs()?)),
        (ResourceType::ValueSet, "expand") => ctx
            .expand(None)?
            .ok_or_else(|| Error::Internal("The expansion was not made".into())),
        (ResourceType::ValueSet, "batch-validate-code") => bytes_of(&ctx.batch_validate()?),
        (ResourceType::ConceptMap, "translate") => bytes_of(&ctx.translate()?),
        _ => Err(Error::NotFound(format!(
            "Operation ${op} is not defined on this resource type"
        ))),
    }
}

#[derive(Clone, Copy)]
struct Ctx<'a> {
    params: &'a Params,
    scope: Scope<'a>,
    request: Context<'a>,
}

/// What the typed requests read besides the parameters: headers, configuration, instance.
fn request_context<'a>(
    head: &'a RequestHead,
    state: &'a AppState,
    catalog: &'a Catalog,
    id: Option<&'a str>,
) -> Context<'a> {
    let headers = head.headers();
    Context {
        accept_language: headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
        accept_language_sent: headers.contains_key(header::ACCEPT_LANGUAGE),
        too_costly_threshold: headers
            .get(TOO_COSTLY_THRESHOLD)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok()),
        config: &state.config,
        instance: Instance { id, catalog },
    }
}

impl Ctx<'_> {
    /// The code systems this request sees with supplements merged in
    /// (`ops::supplement::applicable`): the request's `useSupplement`s, and for a value set
    /// operation the value set's own.
    fn supplemented_systems(&self, rt: ResourceType, op: &str) -> Result<Vec<CodeSystem>> {
        let named = request::named_supplements(self.params);
        let value_set = if rt == ResourceType::ValueSet && matches!(op, "expand" | "validate-code")
        {
            // An unknown value set is reported by the operation itself.
            self.value_set().ok()
        } else {
            None
        };
        let system = match rt {
            ResourceType::CodeSystem => request::requested_system(self.params, &self.request)?
                .and_then(|s| self.scope.canonical_url(&s)),
            _ => None,
        };
        supplement::applicable(&self.scope, named, value_set.as_deref(), system.as_deref())
    }

    fn lookup(&self) -> Result<Vec<u8>> {
        let r = LookupRequest::from_params(self.params, &self.request)?;
        bytes_of(&lookup_doc(&lookup(&self.scope, &r)?))
    }

    fn validate_cs(&self) -> Result<Vec<u8>> {
        let r = ValidateCodeRequest::from_code_system_params(self.params, &self.request)?;
        let result = validate(&self.scope, r.code_system_target(), &r.subject, &r.options)?;
        bytes_of(&validate_doc(&result))
    }

    /// The value set named by the request (`ValueSetRef`).
    fn value_set(&self) -> Result<Arc<ValueSet>> {
        ValueSetRef::from_params(self.params, &self.request)?
            .resolve(&self.scope, &self.request.instance)
    }

    fn validate_vs(&self) -> Result<ValidateResult> {
        // The value set is found before the rest is read: an unknown one is the answer.
        let vs = self.value_set()?;
        let r = ValidateCodeRequest::from_value_set_params(self.params, &self.request)?;
        validate(&self.scope, Target::ValueSet(&vs), &r.subject, &r.options)
    }

    /// The expansion as JSON bytes; with `kept: Some(max_page)`, only when nothing but a page
    /// of at most `max_page` items is left to make (`None` otherwise).
    fn expand(&self, kept: Option<usize>) -> Result<Option<Vec<u8>>> {
        let vs = self.value_set()?;
        if kept.is_some() && !supplement::named_by_value_set(&vs).is_empty() {
            // Its supplements are merged by `run`.
            return Ok(None);
        }
        let p = with_value_set_defaults(self.params, &vs, &self.request);
        let asked = ExpandParameters::from_params(&p, &self.request)?;
        let e = match kept {
            None => expand(&self.scope, &vs, &asked.request)?,
            Some(max_page) => match expand_kept(&self.scope, &vs, &asked.request, max_page)? {
                Some(e) => e,
                None => return Ok(None),
            },
        };
        let timestamp = now_instant();
        bytes_of(&ExpansionDoc {
            vs: &vs,
            expansion: &e,
            parameters: asked.echoed(&p),
            timestamp: &timestamp,
            include_definition: asked.include_definition,
        })
        .map(Some)
    }

    fn subsumes(&self) -> Result<Value> {
        let r = SubsumesRequest::from_params(self.params, &self.request)?;
        let outcome = subsumes(
            &self.scope,
            &r.system,
            r.version.as_deref(),
            &r.code_a,
            &r.code_b,
        )?;
        Ok(subsumes_json(outcome))
    }

    fn translate(&self) -> Result<Value> {
        let r = TranslateRequest::from_params(self.params, &self.request)?;
        Ok(translate_json(&translate(&self.scope, &r)?))
    }

    /// Each validation answered on its own: an error is that validation's answer.
    fn batch_validate(&self) -> Result<Value> {
        let batch = BatchValidateRequest::from_params(self.params, &self.request)?;
        let answers = batch
            .validations
            .iter()
            .map(|params| {
                let ctx = Ctx { params, ..*self };
                match ctx.validate_vs() {
                    Ok(v) => validate_json(&v),
                    Err(e) => crate::fhir::outcome::error_json(&e),
                }
            })
            .collect();
        Ok(batch_json(answers))
    }
}
