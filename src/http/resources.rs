//! Read and search of CodeSystem, ValueSet and ConceptMap.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::Value;

use super::fhir_response;
use super::request::{base_url, check_format};
use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::fhir::bundle::searchset;
use crate::fhir::params::Params;
use crate::fhir::resources::{code_system_json, concept_map_json, value_set_json};
use crate::model::{oid_of, ResourceMeta};
use crate::state::AppState;

/// Supported resource types.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum ResourceType {
    CodeSystem,
    ValueSet,
    ConceptMap,
}

impl ResourceType {
    pub fn parse(s: &str) -> Result<ResourceType> {
        match s {
            "CodeSystem" => Ok(ResourceType::CodeSystem),
            "ValueSet" => Ok(ResourceType::ValueSet),
            "ConceptMap" => Ok(ResourceType::ConceptMap),
            other => Err(Error::NotFound(format!(
                "Resource type '{other}' is not served here (CodeSystem, ValueSet, ConceptMap)"
            ))),
        }
    }
}

/// `GET /fhir/{type}/{id}`.
pub fn read(catalog: &Catalog, rtype: ResourceType, id: &str, summary: bool) -> Result<Value> {
    let found = match rtype {
        ResourceType::CodeSystem => catalog
            .code_systems
            .by_id(id)
            .map(|cs| code_system_json(cs, !summary)),
        ResourceType::ValueSet => catalog.value_sets.by_id(id).map(|vs| value_set_json(vs)),
        ResourceType::ConceptMap => catalog
            .concept_maps
            .by_id(id)
            .map(|cm| concept_map_json(cm)),
    };
    found.ok_or_else(|| Error::NotFound(format!("Resource {} '{id}' not found", type_name(rtype))))
}

pub fn type_name(t: ResourceType) -> &'static str {
    match t {
        ResourceType::CodeSystem => "CodeSystem",
        ResourceType::ValueSet => "ValueSet",
        ResourceType::ConceptMap => "ConceptMap",
    }
}

/// Search criteria shared by the three resource types.
struct Criteria {
    url: Option<String>,
    version: Option<String>,
    identifier: Option<String>,
    name: Option<String>,
    title: Option<String>,
    status: Option<String>,
}

impl Criteria {
    fn from(params: &Params) -> Result<Criteria> {
        let known = [
            "url",
            "version",
            "identifier",
            "name",
            "title",
            "status",
            "_summary",
            "_count",
            "_format",
            "_elements",
        ];
        if let Some((name, _)) = params.0.iter().find(|(n, _)| !known.contains(&n.as_str())) {
            return Err(Error::Invalid(format!("Unknown search parameter '{name}'")));
        }
        let s = |n: &str| params.str(n).map(|v| v.map(str::to_string));
        Ok(Criteria {
            url: s("url")?,
            version: s("version")?,
            identifier: s("identifier")?,
            name: s("name")?,
            title: s("title")?,
            status: s("status")?,
        })
    }

    fn matches(&self, m: &ResourceMeta) -> bool {
        let starts = |hay: &Option<String>, q: &Option<String>| match q {
            None => true,
            Some(q) => hay
                .as_deref()
                .is_some_and(|h| fold(h).starts_with(&fold(q)) || fold(h).contains(&fold(q))),
        };
        if let Some(u) = &self.url {
            let (u, v) = crate::model::split_canonical(u);
            if m.url != u || v.is_some_and(|v| m.version.as_deref() != Some(v)) {
                return false;
            }
        }
        if let Some(v) = &self.version {
            if m.version.as_deref() != Some(v.as_str()) {
                return false;
            }
        }
        if let Some(id) = &self.identifier {
            // token: [system|]value; the OID as urn:oid:X or bare X.
            let value = id.rsplit('|').next().unwrap_or(id);
            let wanted = oid_of(value).unwrap_or(value);
            if !m.oids.iter().any(|o| o == wanted) {
                return false;
            }
        }
        if let Some(s) = &self.status {
            if &m.status != s {
                return false;
            }
        }
        starts(&m.name, &self.name)
            && starts(&m.title.clone().or(m.description.clone()), &self.title)
    }
}

fn fold(s: &str) -> String {
    crate::ops::expand::fold(s)
}

/// `_elements`: only the listed top-level elements (and `resourceType`, `id`), the resource
/// tagged SUBSETTED as FHIR asks of a partial resource.
fn keep_elements(resource: &mut Value, keep: &[&str]) {
    if let Value::Object(o) = resource {
        o.retain(|k, _| k == "resourceType" || k == "id" || keep.contains(&k.as_str()));
        let meta = o
            .entry("meta")
            .or_insert_with(|| Value::Object(Default::default()));
        if let Value::Object(meta) = meta {
            let tags = meta
                .entry("tag")
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(tags) = tags {
                tags.push(serde_json::json!({
                    "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
                    "code": "SUBSETTED"
                }));
            }
        }
    }
}

/// `GET /fhir/{type}?…`
pub async fn search(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    check_format(&req)?;
    let rtype = ResourceType::parse(&path)?;
    let params = Params::from_query_all(req.query_string())?;
    let criteria = Criteria::from(&params)?;
    let summary = params.str("_summary")?;
    let count = params.usize("_count")?.unwrap_or(100).min(1000);
    let release = state.release();
    let cat = &release.catalog;
    let metas: Vec<(&ResourceMeta, Value)> = match rtype {
        ResourceType::CodeSystem => cat
            .code_systems
            .all()
            .iter()
            .filter(|c| criteria.matches(&c.meta))
            .map(|c| (&c.meta, Value::Null))
            .collect(),
        ResourceType::ValueSet => cat
            .value_sets
            .all()
            .iter()
            .filter(|c| criteria.matches(&c.meta))
            .map(|c| (&c.meta, Value::Null))
            .collect(),
        ResourceType::ConceptMap => cat
            .concept_maps
            .all()
            .iter()
            .filter(|c| criteria.matches(&c.meta))
            .map(|c| (&c.meta, Value::Null))
            .collect(),
    };
    let total = metas.len();
    let base = base_url(&req);
    let self_link = format!("{base}/{}?{}", type_name(rtype), req.query_string());
    if summary == Some("count") {
        return Ok(fhir_response(
            StatusCode::OK,
            &searchset(&base, &self_link, total, vec![]),
        ));
    }
    let elements: Option<Vec<&str>> = params.str("_elements")?.map(|e| {
        e.split(',')
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .collect()
    });
    // A code system's concepts are rendered only when asked for: `_elements` without
    // `concept` must not build (then drop) the JSON of a million-concept table.
    let with_content = !matches!(summary, Some("true") | Some("data") if rtype == ResourceType::CodeSystem)
        && summary != Some("true")
        && elements.as_ref().is_none_or(|e| e.contains(&"concept"));
    let resources = metas
        .into_iter()
        .take(count)
        .map(|(m, _)| {
            let mut r = read(cat, rtype, &m.id, !with_content)?;
            if let Some(keep) = &elements {
                keep_elements(&mut r, keep);
            }
            Ok(r)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(fhir_response(
        StatusCode::OK,
        &searchset(&base, &self_link, total, resources),
    ))
}
