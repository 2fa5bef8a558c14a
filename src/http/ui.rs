//! The browser UI (`/`, `/demo`, `/ui/*`): static assets embedded in the binary, and a few
//! small JSON helpers under `/ui/api/` for what the FHIR API cannot answer in one request
//! (search across every table, the value sets containing a concept, the diff of two versions).
//! Everything else the pages show comes from `/fhir`.

use std::sync::Arc;

use actix_web::http::header::{CacheControl, CacheDirective, ContentType};
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::catalog::diff::{code_system_change, concept_map_change, value_set_change, TableChange};
use crate::catalog::{Canonical, Catalog};
use crate::error::{Error, Result};
use crate::model::ResourceMeta;
use crate::ops::expand::fold;
use crate::ops::members::contains;
use crate::ops::Scope;
use crate::state::{AppState, Release};

/// One embedded file: path under `/ui/`, content type, bytes.
struct Asset {
    name: &'static str,
    mime: &'static str,
    body: &'static str,
}

const ASSETS: &[Asset] = &[
    Asset {
        name: "app.js",
        mime: "text/javascript; charset=utf-8",
        body: include_str!("../../assets/ui/app.js"),
    },
    Asset {
        name: "app.css",
        mime: "text/css; charset=utf-8",
        body: include_str!("../../assets/ui/app.css"),
    },
    Asset {
        name: "nos-autocomplete.js",
        mime: "text/javascript; charset=utf-8",
        body: include_str!("../../assets/ui/nos-autocomplete.js"),
    },
];

const INDEX_HTML: &str = include_str!("../../assets/ui/index.html");
const DEMO_HTML: &str = include_str!("../../assets/ui/demo.html");

fn html(body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::html())
        .insert_header(CacheControl(vec![CacheDirective::NoCache]))
        .body(body)
}

async fn index() -> HttpResponse {
    html(INDEX_HTML)
}

async fn demo() -> HttpResponse {
    html(DEMO_HTML)
}

async fn asset(name: web::Path<String>) -> Result<HttpResponse> {
    let a = ASSETS
        .iter()
        .find(|a| a.name == name.as_str())
        .ok_or_else(|| Error::NotFound(format!("No UI asset '{name}'")))?;
    Ok(HttpResponse::Ok()
        .content_type(a.mime)
        .insert_header(CacheControl(vec![
            CacheDirective::Public,
            CacheDirective::MaxAge(300),
        ]))
        .body(a.body))
}

fn json_ok(body: &impl Serialize) -> Result<HttpResponse> {
    let text = serde_json::to_string(body)
        .map_err(|e| Error::Internal(format!("Rendering the answer: {e}")))?;
    Ok(HttpResponse::build(StatusCode::OK)
        .content_type("application/json; charset=utf-8")
        .body(text))
}

fn ready_release(state: &AppState) -> Result<Arc<Release>> {
    if !state.is_ready() {
        return Err(Error::Unavailable(
            "The terminology data is still loading; retry shortly".into(),
        ));
    }
    Ok(state.release())
}

/// A table (one version of a CodeSystem, ValueSet or ConceptMap), as the UI lists it.
#[derive(Serialize)]
struct TableInfo<'a> {
    kind: &'static str,
    id: &'a str,
    url: &'a str,
    version: Option<&'a str>,
    name: Option<&'a str>,
    title: Option<&'a str>,
    description: Option<&'a str>,
    status: &'a str,
    date: Option<&'a str>,
    oids: &'a [String],
    /// Concepts (code systems), enumerated members (value sets), mappings (concept maps).
    count: usize,
}

fn table_info<'a>(kind: &'static str, m: &'a ResourceMeta, count: usize) -> TableInfo<'a> {
    TableInfo {
        kind,
        id: &m.id,
        url: &m.url,
        version: m.version.as_deref(),
        name: m.name.as_deref(),
        title: m.title.as_deref(),
        description: m.description.as_deref(),
        status: &m.status,
        date: m.date.as_deref(),
        oids: &m.oids,
        count,
    }
}

/// The current version of every table.
fn current_tables(c: &Catalog) -> Vec<TableInfo<'_>> {
    let mut out: Vec<TableInfo> = Vec::new();
    out.extend(
        c.code_systems
            .current()
            .map(|cs| table_info("CodeSystem", cs.meta(), cs.concepts.len())),
    );
    out.extend(
        c.value_sets
            .current()
            .map(|vs| table_info("ValueSet", vs.meta(), vs.enumerated_len())),
    );
    out.extend(c.concept_maps.current().map(|cm| {
        let n = cm
            .groups
            .iter()
            .flat_map(|g| &g.elements)
            .map(|e| e.targets.len())
            .sum();
        table_info("ConceptMap", cm.meta(), n)
    }));
    out
}

/// Whether every word of `q` (folded) is found in one of the table's names or OIDs.
fn table_matches(t: &TableInfo, words: &[String]) -> bool {
    let hay = fold(&format!(
        "{} {} {} {} {} {}",
        t.id,
        t.url,
        t.name.unwrap_or(""),
        t.title.unwrap_or(""),
        t.description.unwrap_or(""),
        t.oids.join(" ")
    ));
    words.iter().all(|w| hay.contains(w.as_str()))
}

#[derive(Deserialize)]
struct SearchQuery {
    q: String,
    limit: Option<usize>,
}

/// `GET /ui/api/search?q=`: tables whose name, title, URL or OID match, and concepts of any
/// table whose code or label match (the search index, across tables).
async fn search(
    query: web::Query<SearchQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let release = ready_release(&state)?;
    let q = query.q.trim().to_string();
    let limit = query.limit.unwrap_or(30).clamp(1, 200);
    let body = web::block(move || -> Result<serde_json::Value> {
        let c = &release.catalog;
        let words: Vec<String> = fold(&q).split_whitespace().map(str::to_string).collect();
        let tables: Vec<TableInfo> = if words.is_empty() {
            Vec::new()
        } else {
            current_tables(c)
                .into_iter()
                .filter(|t| table_matches(t, &words))
                .take(limit)
                .collect()
        };
        let mut concepts = Vec::new();
        if let (Some(ix), false) = (release.search.as_deref(), words.is_empty()) {
            for e in ix.search_all(&q, limit).map_err(|e| {
                Error::SearchIndex(format!("The search index could not answer: {e}"))
            })? {
                let table = c.code_systems.get(&e.system, None).map(|cs| cs.meta());
                concepts.push(json!({
                    "system": e.system,
                    "code": e.code(),
                    "display": e.display(),
                    "inactive": e.inactive,
                    "table": table.map(|m| m.name.as_deref().unwrap_or(&m.id)),
                    "table_id": table.map(|m| &m.id),
                }));
            }
        }
        Ok(json!({"tables": tables, "concepts": concepts}))
    })
    .await
    .map_err(|e| Error::Internal(format!("The search task failed: {e}")))??;
    json_ok(&body)
}

/// `GET /ui/api/tables`: the current version of every table.
async fn tables(state: web::Data<AppState>) -> Result<HttpResponse> {
    let release = ready_release(&state)?;
    json_ok(&current_tables(&release.catalog))
}

#[derive(Deserialize)]
struct TableQuery {
    kind: String,
    url: String,
}

/// `GET /ui/api/versions?kind=&url=`: every loaded version of one table, oldest first.
async fn versions(
    query: web::Query<TableQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let release = ready_release(&state)?;
    let c = &release.catalog;
    let url = c.canonical_url(&query.url).unwrap_or(&query.url);
    let list: Vec<TableInfo> = match query.kind.as_str() {
        "CodeSystem" => c
            .code_systems
            .versions(url)
            .iter()
            .map(|r| table_info("CodeSystem", r.meta(), r.concepts.len()))
            .collect(),
        "ValueSet" => c
            .value_sets
            .versions(url)
            .iter()
            .map(|r| table_info("ValueSet", r.meta(), r.enumerated_len()))
            .collect(),
        "ConceptMap" => c
            .concept_maps
            .versions(url)
            .iter()
            .map(|r| table_info("ConceptMap", r.meta(), r.groups.len()))
            .collect(),
        other => return Err(Error::Invalid(format!("Unknown table kind '{other}'"))),
    };
    json_ok(&list)
}

#[derive(Deserialize)]
struct ConceptQuery {
    system: String,
    code: String,
}

/// `GET /ui/api/concept?system=&code=`: the value sets (current versions) containing the
/// concept.
async fn concept(
    query: web::Query<ConceptQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let release = ready_release(&state)?;
    let q = query.into_inner();
    let body = web::block(move || -> serde_json::Value {
        let c = &release.catalog;
        let scope = Scope {
            base: c,
            overlay: None,
            search: release.search.as_deref(),
            deadline: None,
            value_set_versions: &[],
            ecl_max_steps: crate::ops::scope::DEFAULT_ECL_STEPS,
        };
        let system = c.canonical_url(&q.system).unwrap_or(&q.system).to_string();
        let value_sets: Vec<TableInfo> = c
            .value_sets
            .current()
            .filter(|vs| matches!(contains(&scope, vs, &system, &q.code, 0), Ok(Some(_))))
            .map(|vs| table_info("ValueSet", vs.meta(), vs.enumerated_len()))
            .collect();
        json!({"system": system, "code": q.code, "value_sets": value_sets})
    })
    .await
    .map_err(|e| Error::Internal(format!("The look-up task failed: {e}")))?;
    json_ok(&body)
}

#[derive(Deserialize)]
struct DiffQuery {
    kind: String,
    url: String,
    from: String,
    to: String,
}

/// `GET /ui/api/diff?kind=&url=&from=&to=`: what changed in one table between two loaded
/// versions.
async fn diff(query: web::Query<DiffQuery>, state: web::Data<AppState>) -> Result<HttpResponse> {
    let release = ready_release(&state)?;
    let c = &release.catalog;
    let q = &*query;
    let missing = |v: &str| Error::NotFound(format!("No version '{v}' of '{}'", q.url));
    let change: TableChange = match q.kind.as_str() {
        "CodeSystem" => {
            let a = c.code_systems.get(&q.url, Some(&q.from));
            let b = c.code_systems.get(&q.url, Some(&q.to));
            code_system_change(
                a.ok_or_else(|| missing(&q.from))?.as_ref(),
                b.ok_or_else(|| missing(&q.to))?.as_ref(),
            )
        }
        "ValueSet" => {
            let a = c.value_sets.get(&q.url, Some(&q.from));
            let b = c.value_sets.get(&q.url, Some(&q.to));
            value_set_change(
                a.ok_or_else(|| missing(&q.from))?.as_ref(),
                b.ok_or_else(|| missing(&q.to))?.as_ref(),
            )
        }
        "ConceptMap" => {
            let a = c.concept_maps.get(&q.url, Some(&q.from));
            let b = c.concept_maps.get(&q.url, Some(&q.to));
            concept_map_change(
                a.ok_or_else(|| missing(&q.from))?.as_ref(),
                b.ok_or_else(|| missing(&q.to))?.as_ref(),
            )
        }
        other => return Err(Error::Invalid(format!("Unknown table kind '{other}'"))),
    };
    json_ok(&change)
}

/// `/`, `/demo`, `/ui/{asset}` and `/ui/api/*`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(index))
        .route("/index.html", web::get().to(index))
        .route("/demo", web::get().to(demo))
        .route("/ui/api/search", web::get().to(search))
        .route("/ui/api/tables", web::get().to(tables))
        .route("/ui/api/versions", web::get().to(versions))
        .route("/ui/api/concept", web::get().to(concept))
        .route("/ui/api/diff", web::get().to(diff))
        .route("/ui/{name}", web::get().to(asset));
}
