//! Terminology operations over HTTP: `$lookup`, `$validate-code`, `$expand`, `$subsumes`,
//! `$translate`, `$batch-validate-code`. Each handler reads parameters, calls `ops`, renders.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::http::header::{self, HeaderName};
use actix_web::http::StatusCode;
use actix_web::web::Bytes;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::fhir_response;
use super::request::{
    check_resource_size, languages, overlay, read_body_within, read_params, RequestHead,
};
use super::resources::{read, ResourceType};
use crate::answers::Question;
use crate::catalog::{Catalog, Scope};
use crate::error::{Error, Result};
use crate::fhir::now_instant;
use crate::fhir::params::{ParamValue, Params};
use crate::fhir::render::{
    lookup_doc, translate_json, validate_doc, validate_json, ExpansionDoc, Param,
};
use crate::load::{fhir_json::parse_resource, Resource};
use crate::model::{CodeSystem, ValueSet};
use crate::ops::expand::{expand, expand_kept, implicit_value_set, ExpandRequest};
use crate::ops::lookup::{lookup, LookupRequest};
use crate::ops::members::VersionRules;
use crate::ops::subsumes::subsumes;
use crate::ops::supplement;
use crate::ops::translate::{translate, TranslateRequest};
use crate::ops::validate::{validate, CodingInput, Options, Subject, Target, ValidateResult};
use crate::state::{AppState, Snapshot};

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
    let snapshot = state.snapshot();
    Ok(fhir_response(
        StatusCode::OK,
        &read(&snapshot.catalog, rt, &seg, summary)?,
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
/// kept per snapshot (`answers`), and a repeated question gets the kept bytes.
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
        let snapshot = state.snapshot();
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
        let key = match snapshot.answers.get(&question) {
            Ok(kept) => return Ok(fhir_bytes(StatusCode::OK, kept)),
            Err(key) => key,
        };
        let answer = if inline {
            let call = Call { rt, id, op };
            Some(run(&head, call, &body, &state, &snapshot, deadline)?)
        } else {
            expand_on_worker(&head, id, &body, &state, &snapshot)?
        };
        if let Some(answer) = answer {
            let answer = Bytes::from(answer);
            if let Some(key) = key {
                snapshot.answers.insert(key, answer.clone());
            }
            return Ok(fhir_bytes(StatusCode::OK, answer));
        }
    }
    let head = head.into_owned();
    let (id, op) = (id.map(str::to_string), op.to_string());
    let task = web::block(move || {
        let snapshot = state.snapshot();
        let call = Call {
            rt,
            id: id.as_deref(),
            op: &op,
        };
        run(&head, call, &body, &state, &snapshot, deadline)
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
    let snapshot = state.snapshot();
    if (rt, op) == (ResourceType::ValueSet, "expand") && body.len() <= INLINE_BODY {
        if let Some(answer) = expand_on_worker(head, id, body, state, &snapshot)? {
            return Ok(answer);
        }
    }
    let deadline = Instant::now() + Duration::from_millis(state.config.limits.request_timeout_ms);
    run(head, Call { rt, id, op }, body, state, &snapshot, deadline)
}

/// The `$expand` answer when only its page remains to be made (`ops::expand::expand_kept`);
/// `None` when the request brings resources of its own or more work is needed.
fn expand_on_worker(
    req: &RequestHead,
    id: Option<&str>,
    body: &[u8],
    state: &AppState,
    snapshot: &Snapshot,
) -> Result<Option<Vec<u8>>> {
    let params = read_params(req, body, state.config.limits.max_params)?;
    if params.has("useSupplement")
        || params
            .0
            .iter()
            .any(|(_, v)| matches!(v, ParamValue::Resource(_) | ParamValue::Parts(_)))
    {
        return Ok(None);
    }
    let ctx = Ctx {
        req,
        params: &params,
        scope: Scope {
            base: &snapshot.catalog,
            overlay: None,
            search: snapshot.search.as_deref(),
            deadline: None,
        },
        id,
        state,
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
    snapshot: &Snapshot,
    deadline: Instant,
) -> Result<Vec<u8>> {
    let params = read_params(req, body, state.config.limits.max_params)?;
    let mut extra = overlay(&params, &state.config.limits)?;
    let supplemented = {
        let ctx = Ctx {
            req,
            params: &params,
            scope: Scope {
                base: &snapshot.catalog,
                overlay: extra.as_ref(),
                search: snapshot.search.as_deref(),
                deadline: Some(deadline),
            },
            id,
            state,
        };
        ctx.supplemented_systems(rt, op)?
    };
    // The supplemented copies take the place of their base systems for this request.
    if !supplemented.is_empty() {
        let layer = extra.get_or_insert_with(Catalog::default);
        for cs in supplemented {
            layer.add_code_system(cs);
        }
    }
    let scope = Scope {
        base: &snapshot.catalog,
        overlay: extra.as_ref(),
        search: snapshot.search.as_deref(),
        deadline: Some(deadline),
    };
    let ctx = Ctx {
        req,
        params: &params,
        scope,
        id,
        state,
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
    req: &'a RequestHead<'a>,
    params: &'a Params,
    scope: Scope<'a>,
    id: Option<&'a str>,
    state: &'a AppState,
}

/// Repeated `system|version` canonical parameters.
fn canonical_list(p: &Params, name: &str) -> Result<Vec<(String, String)>> {
    p.all(name)
        .map(|v| match v {
            ParamValue::Primitive(s) => match s.split_once('|') {
                Some((system, version)) if !system.is_empty() && !version.is_empty() => {
                    Ok((system.to_string(), version.to_string()))
                }
                _ => Err(Error::Invalid(format!(
                    "Parameter '{name}' must be a canonical 'system|version', not '{s}'"
                ))),
            },
            _ => Err(Error::Invalid(format!(
                "Parameter '{name}' must be a canonical"
            ))),
        })
        .collect()
}

fn required<'a>(v: Option<&'a str>, name: &str) -> Result<&'a str> {
    v.ok_or_else(|| Error::Invalid(format!("Parameter '{name}' is required")))
}

impl<'a> Ctx<'a> {
    fn catalog(&self) -> &Catalog {
        self.scope.base
    }

    /// The code system URL named by the instance id, if any.
    fn instance_cs_url(&self) -> Result<Option<(String, Option<String>)>> {
        match self.id {
            None => Ok(None),
            Some(id) => {
                let cs = self.catalog().code_systems.by_id(id).ok_or_else(|| {
                    Error::NotFound(format!("Resource CodeSystem '{id}' not found"))
                })?;
                Ok(Some((cs.meta.url.clone(), cs.meta.version.clone())))
            }
        }
    }

    /// The code systems this request sees with supplements merged in: those it names
    /// (`useSupplement`), those its value set names (`valueset-supplement`), the language
    /// packs it brings as `tx-resource`s, and the stored language packs of a code system it
    /// brings. A named supplement that is unknown is an error.
    fn supplemented_systems(&self, rt: ResourceType, op: &str) -> Result<Vec<CodeSystem>> {
        let mut named: Vec<String> = self
            .params
            .all("useSupplement")
            .filter_map(|v| match v {
                ParamValue::Primitive(s) => Some(s.clone()),
                _ => None,
            })
            .collect();
        let mut value_set = None;
        if rt == ResourceType::ValueSet && matches!(op, "expand" | "validate-code") {
            // An unknown value set is reported by the operation itself.
            if let Ok(vs) = self.value_set() {
                named.extend(supplement::named_by_value_set(&vs));
                value_set = Some(vs);
            }
        }
        if named.is_empty() && self.scope.overlay.is_none() {
            return Ok(Vec::new());
        }
        let system = match rt {
            ResourceType::CodeSystem => self.requested_system()?,
            _ => None,
        };
        let systems: Vec<&str> = match (&value_set, &system) {
            (Some(vs), _) => supplement::included_systems(vs),
            (None, Some(s)) => vec![s.as_str()],
            (None, None) => Vec::new(),
        };
        let mut supplements = Vec::new();
        for c in &named {
            let sup = supplement::resolve(&self.scope, c)?;
            supplement::check_base(&sup, &systems)?;
            supplements.push(sup);
        }
        if let Some(layer) = self.scope.overlay {
            for cs in layer.code_systems.all() {
                // A language pack the request brings, and the language packs the server holds
                // for a base system the request brings (stored bases have theirs merged).
                let packs: Vec<&Arc<CodeSystem>> = if cs.is_lang_pack() {
                    vec![cs]
                } else if cs.supplements.is_none() {
                    self.scope
                        .base
                        .supplements_of(&cs.meta.url)
                        .iter()
                        .filter(|p| p.is_lang_pack())
                        .collect()
                } else {
                    Vec::new()
                };
                for pack in packs {
                    if !supplements.iter().any(|s| Arc::ptr_eq(s, pack)) {
                        supplements.push(pack.clone());
                    }
                }
            }
        }
        if supplements.is_empty() {
            return Ok(Vec::new());
        }
        Ok(supplement::supplemented(&self.scope, &supplements))
    }

    /// The code system a CodeSystem-level request is about (`system`, `url`, the coding's,
    /// or the instance's), as a canonical URL.
    fn requested_system(&self) -> Result<Option<String>> {
        let p = self.params;
        let named = match p.str("system")?.or(p.str("url")?) {
            Some(s) => Some(s.to_string()),
            None => match p.coding("coding")? {
                Some(c) => c.system,
                None => self.instance_cs_url()?.map(|i| i.0),
            },
        };
        Ok(named.and_then(|s| self.scope.canonical_url(&s)))
    }

    fn lookup(&self) -> Result<Vec<u8>> {
        let p = self.params;
        let coding = p.coding("coding")?;
        let instance = self.instance_cs_url()?;
        let system = p
            .str("system")?
            .map(str::to_string)
            .or_else(|| coding.as_ref().and_then(|c| c.system.clone()))
            .or_else(|| instance.as_ref().map(|i| i.0.clone()));
        let code = p
            .str("code")?
            .map(str::to_string)
            .or_else(|| coding.as_ref().and_then(|c| c.code.clone()));
        let version = p
            .str("version")?
            .map(str::to_string)
            .or_else(|| coding.as_ref().and_then(|c| c.version.clone()))
            .or_else(|| instance.as_ref().and_then(|i| i.1.clone()));
        let properties = p
            .all("property")
            .filter_map(|v| match v {
                ParamValue::Primitive(s) => Some(s.clone()),
                _ => None,
            })
            .collect();
        let r = LookupRequest {
            system: required(system.as_deref(), "system")?.to_string(),
            code: required(code.as_deref(), "code")?.to_string(),
            version,
            properties,
            languages: languages(self.req, p)?,
        };
        bytes_of(&lookup_doc(&lookup(&self.scope, &r)?))
    }

    fn options(&self) -> Result<Options> {
        let p = self.params;
        Ok(Options {
            languages: languages(self.req, p)?,
            lenient_display: p
                .bool("lenient-display-validation")?
                .unwrap_or(self.state.config.lenient_display),
            active_only: p.bool("activeOnly")?.unwrap_or(false),
            membership_only: p.bool("valueset-membership-only")?.unwrap_or(false),
            system_version: None,
            allow_abstract: p.bool("abstract")?.unwrap_or(true),
            infer_system: p.bool("inferSystem")?.unwrap_or(false),
            force_versions: canonical_list(p, "force-system-version")?,
            default_versions: canonical_list(p, "system-version")?,
            check_versions: canonical_list(p, "check-system-version")?,
        })
    }

    /// The thing to validate: `codeableConcept`, `coding`, or `code` (+ `system`, `display`).
    fn subject(&self, default_system: Option<&str>, version_param: &str) -> Result<Subject> {
        let p = self.params;
        if let Some((codings, text)) = p.codeable_concept("codeableConcept")? {
            return Ok(Subject::CodeableConcept(codings, text));
        }
        if let Some(mut c) = p.coding("coding")? {
            if c.display.is_none() {
                c.display = p.str("display")?.map(str::to_string);
            }
            return Ok(Subject::Coding(c));
        }
        let code = p.str("code")?.ok_or_else(|| {
            Error::Invalid("Unable to find code to validate (looked for coding | codeableConcept | code+system | code+inferSystem in parameters".into())
        })?;
        Ok(Subject::Code(CodingInput {
            system: p.str("system")?.or(default_system).map(str::to_string),
            version: p.str(version_param)?.map(str::to_string),
            code: Some(code.to_string()),
            display: p.str("display")?.map(str::to_string),
        }))
    }

    fn validate_cs(&self) -> Result<Vec<u8>> {
        let p = self.params;
        let instance = self.instance_cs_url()?;
        let url = p
            .str("url")?
            .or(p.str("system")?)
            .map(str::to_string)
            .or_else(|| instance.as_ref().map(|i| i.0.clone()));
        let version = p
            .str("version")?
            .map(str::to_string)
            .or_else(|| instance.as_ref().and_then(|i| i.1.clone()));
        let mut subject = self.subject(url.as_deref(), "version")?;
        if let Subject::Code(c) = &mut subject {
            c.system = url.clone().or(c.system.take());
        }
        let target = Target::CodeSystem {
            system: url.as_deref(),
            version: version.as_deref(),
        };
        bytes_of(&validate_doc(&validate(
            &self.scope,
            target,
            &subject,
            &self.options()?,
        )?))
    }

    /// The value set named by the request: instance id, `url` (+`valueSetVersion`), or an
    /// inline `valueSet`; `{cs}?fhir_vs` is the implicit value set of a code system.
    fn value_set(&self) -> Result<Arc<ValueSet>> {
        let p = self.params;
        if let Some(id) = self.id {
            return self
                .catalog()
                .value_sets
                .by_id(id)
                .cloned()
                .ok_or_else(|| Error::NotFound(format!("Resource ValueSet '{id}' not found")));
        }
        if let Some(r) = p.resource("valueSet")? {
            let max = self.state.config.limits.max_tx_resource_size;
            check_resource_size(r, max, "valueSet parameter")?;
            return match parse_resource(r)
                .map_err(|e| Error::Invalid(format!("Invalid valueSet: {e}")))?
            {
                Resource::ValueSet(vs) => Ok(Arc::new(vs)),
                _ => Err(Error::Invalid(
                    "Parameter 'valueSet' must be a ValueSet".into(),
                )),
            };
        }
        let url = p
            .str("url")?
            .or(p.str("context")?)
            .ok_or_else(|| Error::Invalid("Parameter 'url' or 'valueSet' is required".into()))?;
        let (url, mut version) = crate::model::split_canonical(url);
        if let Some(v) = p.str("valueSetVersion")? {
            version = Some(v);
        }
        if let Some(cs_url) = url.strip_suffix("?fhir_vs") {
            let cs = self
                .scope
                .code_system(cs_url, None)
                .ok_or_else(|| crate::ops::lookup::unknown_system(cs_url, None))?;
            return Ok(Arc::new(implicit_value_set(
                &cs.meta.url,
                cs.meta.version.as_deref(),
            )));
        }
        self.scope.value_set(url, version).ok_or_else(|| {
            if let Some(e) = self.scope.unreadable(url) {
                return e;
            }
            let shown = match version {
                Some(v) => format!("{url}|{v}"),
                None => url.to_string(),
            };
            Error::NotFound(format!(
                "A definition for the value Set '{shown}' could not be found"
            ))
        })
    }

    fn validate_vs(&self) -> Result<ValidateResult> {
        let vs = self.value_set()?;
        let subject = self.subject(None, "systemVersion")?;
        let subject = match subject {
            Subject::Code(mut c) if c.version.is_none() => {
                c.version = self.params.str("version")?.map(str::to_string);
                Subject::Code(c)
            }
            s => s,
        };
        validate(
            &self.scope,
            Target::ValueSet(&vs),
            &subject,
            &self.options()?,
        )
    }

    /// The expansion as JSON bytes; with `kept: Some(max_page)`, only when nothing but a page
    /// of at most `max_page` items is left to make (`None` otherwise).
    fn expand(&self, kept: Option<usize>) -> Result<Option<Vec<u8>>> {
        let vs = self.value_set()?;
        if kept.is_some() && !supplement::named_by_value_set(&vs).is_empty() {
            // Its supplements are merged by `run`.
            return Ok(None);
        }
        // The value set's own expansion parameters (`valueset-expansion-parameter`) are
        // defaults for those the request does not give.
        let defaults = expansion_parameter_defaults(&vs);
        let mut merged = self.params.clone();
        for (name, value) in defaults {
            let header_wins =
                name == "displayLanguage" && self.req.headers().contains_key("accept-language");
            if !merged.has(&name) && !header_wins {
                merged.0.push((name, ParamValue::Primitive(value)));
            }
        }
        let p = &merged;
        let max = self
            .req
            .headers()
            .get(TOO_COSTLY_THRESHOLD)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok())
            .map_or(self.state.config.max_expansion, |h| {
                h.min(self.state.config.max_expansion)
            });
        let filter = p.str("filter")?.filter(|f| !f.trim().is_empty());
        let max_filter = self.state.config.limits.max_filter;
        if let Some(f) = filter.filter(|f| f.chars().count() > max_filter) {
            return Err(Error::TooCostly(format!(
                "The filter is too long ({} characters, limit {max_filter})",
                f.chars().count()
            )));
        }
        let display_language = match p.str("displayLanguage")? {
            Some(l) => Some(l.to_string()),
            None => self
                .req
                .headers()
                .get(actix_web::http::header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
        };
        let include_definition = p.bool("includeDefinition")?.unwrap_or(false);
        let designation_languages: Vec<String> = p
            .all("designation")
            .filter_map(|v| match v {
                ParamValue::Primitive(s) => s.strip_prefix("urn:ietf:bcp:47|").map(str::to_string),
                _ => None,
            })
            .collect();
        let r = ExpandRequest {
            offset: p.usize("offset")?.unwrap_or(0),
            count: p.usize("count")?,
            active_only: p.bool("activeOnly")?.unwrap_or(false),
            include_designations: p.bool("includeDesignations")?.unwrap_or(false),
            languages: languages(self.req, p)?,
            filter: filter.map(str::to_string),
            max_size: max,
            exclude_nested: p.bool("excludeNested")?.unwrap_or(false),
            rules: VersionRules {
                force: canonical_list(p, "force-system-version")?,
                default: canonical_list(p, "system-version")?,
                check: canonical_list(p, "check-system-version")?,
            },
            designation_languages,
            designation_uses: p
                .all("designation")
                .filter_map(|v| match v {
                    ParamValue::Primitive(s) if !s.starts_with("urn:ietf:bcp:47|") => {
                        Some(s.clone())
                    }
                    _ => None,
                })
                .collect(),
            strict_languages: display_language
                .as_deref()
                .is_some_and(excludes_other_languages),
            properties: p
                .all("property")
                .filter_map(|v| match v {
                    ParamValue::Primitive(s) => Some(s.clone()),
                    _ => None,
                })
                .collect(),
        };
        let e = match kept {
            None => expand(&self.scope, &vs, &r)?,
            Some(max_page) => match expand_kept(&self.scope, &vs, &r, max_page)? {
                Some(e) => e,
                None => return Ok(None),
            },
        };
        let mut echoed = Vec::new();
        for name in [
            "filter",
            "count",
            "offset",
            "activeOnly",
            "includeDesignations",
            "includeDefinition",
            "excludeNested",
        ] {
            if let Some(ParamValue::Primitive(v)) = p.get(name) {
                echoed.push(match name {
                    "count" | "offset" => Param::json(
                        name,
                        "valueInteger",
                        v.parse::<u64>().map(|n| json!(n)).unwrap_or(json!(v)),
                    ),
                    "filter" => Param::str(name, "valueString", v),
                    _ => Param::bool(name, "valueBoolean", v == "true"),
                });
            }
        }
        if let Some(l) = &display_language {
            echoed.push(Param::str("displayLanguage", "valueCode", l));
        }
        for v in p.all("designation") {
            if let ParamValue::Primitive(v) = v {
                echoed.push(Param::str("designation", "valueString", v));
            }
        }
        for v in p.all("force-system-version") {
            if let ParamValue::Primitive(v) = v {
                echoed.push(Param::str("force-system-version", "valueUri", v));
            }
        }
        let timestamp = now_instant();
        bytes_of(&ExpansionDoc {
            vs: &vs,
            expansion: &e,
            parameters: echoed,
            timestamp: &timestamp,
            include_definition,
        })
        .map(Some)
    }

    fn subsumes(&self) -> Result<Value> {
        let p = self.params;
        let instance = self.instance_cs_url()?;
        let ca = p.coding("codingA")?;
        let cb = p.coding("codingB")?;
        let system = p
            .str("system")?
            .map(str::to_string)
            .or_else(|| ca.as_ref().and_then(|c| c.system.clone()))
            .or_else(|| instance.as_ref().map(|i| i.0.clone()));
        let a = p
            .str("codeA")?
            .map(str::to_string)
            .or_else(|| ca.as_ref().and_then(|c| c.code.clone()));
        let b = p
            .str("codeB")?
            .map(str::to_string)
            .or_else(|| cb.as_ref().and_then(|c| c.code.clone()));
        let version = p.str("version")?.map(str::to_string);
        let outcome = subsumes(
            &self.scope,
            required(system.as_deref(), "system")?,
            version.as_deref(),
            required(a.as_deref(), "codeA")?,
            required(b.as_deref(), "codeB")?,
        )?;
        Ok(json!({"resourceType": "Parameters", "parameter": [
            {"name": "outcome", "valueCode": outcome.as_str()}
        ]}))
    }

    fn translate(&self) -> Result<Value> {
        let p = self.params;
        let coding = p.coding("coding")?.or(p.coding("sourceCoding")?);
        let pick = |names: &[&str]| -> Result<Option<String>> {
            for n in names {
                if let Some(v) = p.str(n)? {
                    return Ok(Some(v.to_string()));
                }
            }
            Ok(None)
        };
        let map_url = match self.id {
            Some(id) => Some(
                self.catalog()
                    .concept_maps
                    .by_id(id)
                    .ok_or_else(|| {
                        Error::NotFound(format!("Resource ConceptMap '{id}' not found"))
                    })?
                    .meta
                    .url
                    .clone(),
            ),
            None => pick(&["url"])?,
        };
        // R5 names a reverse translation by giving `targetCode` instead of `sourceCode`.
        let target_code = pick(&["targetCode"])?;
        let reverse = p.bool("reverse")?.unwrap_or(false) || target_code.is_some();
        let source_code = pick(&["code", "sourceCode"])?
            .or(target_code)
            .or_else(|| coding.as_ref().and_then(|c| c.code.clone()));
        let (given_system, other_system) = if reverse && p.has("targetCode") {
            (
                pick(&["targetSystem", "targetsystem"])?,
                pick(&["sourceSystem", "system"])?,
            )
        } else {
            (
                pick(&["system", "sourceSystem"])?
                    .or_else(|| coding.as_ref().and_then(|c| c.system.clone())),
                pick(&["targetsystem", "targetSystem", "target"])?,
            )
        };
        let r = TranslateRequest {
            map_url,
            map_version: pick(&["conceptMapVersion"])?,
            source_system: required(given_system.as_deref(), "system")?.to_string(),
            source_code: required(source_code.as_deref(), "code")?.to_string(),
            target_system: other_system,
            reverse,
        };
        Ok(translate_json(&translate(&self.scope, &r)?))
    }

    fn batch_validate(&self) -> Result<Value> {
        let outer = self.params;
        let mut results = Vec::new();
        for v in outer.all("validation") {
            let inner = match v {
                ParamValue::Parts(inner) => inner.clone(),
                ParamValue::Resource(r) => {
                    Params::from_json_limited(r, self.state.config.limits.max_params)?
                }
                _ => {
                    return Err(Error::Invalid(
                        "Each 'validation' must be a Parameters resource".into(),
                    ))
                }
            };
            let mut merged = inner;
            for (name, value) in &outer.0 {
                if name != "validation" && !merged.has(name) {
                    merged.0.push((name.clone(), value.clone()));
                }
            }
            let ctx = Ctx {
                params: &merged,
                ..*self
            };
            let answer = match ctx.validate_vs() {
                Ok(v) => validate_json(&v),
                Err(e) => crate::fhir::outcome::error_json(&e),
            };
            results.push(json!({"name": "validation", "resource": answer}));
        }
        Ok(json!({"resourceType": "Parameters", "parameter": results}))
    }
}

const EXPANSION_PARAMETER: &str =
    "http://hl7.org/fhir/StructureDefinition/valueset-expansion-parameter";

/// `compose.extension` `valueset-expansion-parameter` entries: (name, value as text).
fn expansion_parameter_defaults(vs: &ValueSet) -> Vec<(String, String)> {
    let sub = |e: &Value, url: &str| -> Option<String> {
        let ext = e
            .get("extension")?
            .as_array()?
            .iter()
            .find(|x| x.get("url").and_then(Value::as_str) == Some(url))?;
        let obj = ext.as_object()?;
        obj.iter()
            .find(|(k, _)| k.starts_with("value"))
            .and_then(|(_, v)| match v {
                Value::String(s) => Some(s.clone()),
                Value::Bool(b) => Some(b.to_string()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
    };
    vs.compose
        .extensions
        .iter()
        .filter(|e| e.get("url").and_then(Value::as_str) == Some(EXPANSION_PARAMETER))
        .filter_map(|e| Some((sub(e, "name")?, sub(e, "value")?)))
        .collect()
}

/// `de, *; q=0`: every language not listed is unacceptable.
fn excludes_other_languages(header: &str) -> bool {
    header.split(',').any(|part| {
        let mut bits = part.split(';');
        bits.next().is_some_and(|t| t.trim() == "*")
            && bits.any(|b| {
                b.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q == 0.0)
            })
    })
}
