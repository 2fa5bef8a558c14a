//! Operation results rendered as FHIR R4 `Parameters` and `ValueSet` expansions.

use serde_json::{json, Map, Value};

use super::outcome::outcome_json;
use super::resources::{coding, property_value};
use crate::model::ValueSet;
use crate::model::{Coding, Designation};
use crate::ops::expand::{Expansion, ExpansionItem};
use crate::ops::lookup::LookupResult;
use crate::ops::translate::TranslateResult;
use crate::ops::validate::{CodingInput, ValidateResult};

/// Builds a `Parameters` resource.
#[derive(Default)]
pub struct ParametersBuilder(Vec<Value>);

impl ParametersBuilder {
    pub fn value(mut self, name: &str, kind: &str, v: Value) -> Self {
        let mut o = Map::new();
        o.insert("name".into(), json!(name));
        o.insert(format!("value{kind}"), v);
        self.0.push(Value::Object(o));
        self
    }
    pub fn opt_str(self, name: &str, kind: &str, v: Option<&str>) -> Self {
        match v {
            Some(v) => self.value(name, kind, json!(v)),
            None => self,
        }
    }
    pub fn resource(mut self, name: &str, r: Value) -> Self {
        self.0
            .push(object([("name", json!(name)), ("resource", r)]));
        self
    }
    pub fn parts(mut self, name: &str, parts: Vec<Value>) -> Self {
        self.0.push(object([
            ("name", json!(name)),
            ("part", Value::Array(parts)),
        ]));
        self
    }
    pub fn build(self) -> Value {
        object([
            ("resourceType", json!("Parameters")),
            ("parameter", Value::Array(self.0)),
        ])
    }
}

/// A JSON object of these members, in this order. (`json!` would copy any `Value` it is given
/// by serializing it again; this moves them.)
pub fn object<const N: usize>(members: [(&str, Value); N]) -> Value {
    Value::Object(
        members
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    )
}

fn part(name: &str, kind: &str, v: Value) -> Value {
    let mut o = Map::new();
    o.insert("name".into(), json!(name));
    o.insert(format!("value{kind}"), v);
    Value::Object(o)
}

fn input_coding_json(c: &CodingInput) -> Value {
    coding(&Coding {
        system: c.system.clone(),
        version: c.version.clone(),
        code: c.code.clone(),
        display: c.display.clone(),
    })
}

fn designation_parts(d: &Designation) -> Vec<Value> {
    let mut parts = Vec::new();
    if let Some(l) = &d.language {
        parts.push(part("language", "Code", json!(l)));
    }
    if let Some(u) = &d.use_ {
        parts.push(part("use", "Coding", coding(u)));
    }
    parts.push(part("value", "String", json!(d.value)));
    parts
}

pub fn lookup_json(r: &LookupResult) -> Value {
    let mut b = ParametersBuilder::default()
        .value("name", "String", json!(r.name))
        .opt_str("version", "String", r.version.as_deref())
        .opt_str("display", "String", r.display.as_deref())
        .opt_str("definition", "String", r.definition.as_deref())
        .value("code", "Code", json!(r.code))
        .value("system", "Uri", json!(r.system));
    if r.is_abstract {
        b = b.value("abstract", "Boolean", json!(true));
    }
    for d in &r.designations {
        b = b.parts("designation", designation_parts(d));
    }
    for p in &r.properties {
        let (kind, v) = property_value(&p.value);
        let mut parts = vec![part("code", "Code", json!(p.code)), part("value", kind, v)];
        if let Some(desc) = &p.description {
            parts.push(part("description", "String", json!(desc)));
        }
        b = b.parts("property", parts);
    }
    b.build()
}

pub fn validate_json(r: &ValidateResult) -> Value {
    let mut b = ParametersBuilder::default().value("result", "Boolean", json!(r.result));
    if let Some((codings, text)) = &r.codeable_concept {
        let mut cc = Map::new();
        cc.insert(
            "coding".into(),
            Value::Array(codings.iter().map(input_coding_json).collect()),
        );
        if let Some(t) = text {
            cc.insert("text".into(), json!(t));
        }
        b = b.value("codeableConcept", "CodeableConcept", Value::Object(cc));
    }
    b = b
        .opt_str("code", "Code", r.code.as_deref())
        .opt_str("system", "Uri", r.system.as_deref());
    b = b
        .opt_str("version", "String", r.version.as_deref())
        .opt_str("display", "String", r.display.as_deref());
    if let Some(i) = r.inactive {
        b = b.value("inactive", "Boolean", json!(i));
    }
    b = b.opt_str("status", "Code", r.status.as_deref());
    b = b.opt_str("message", "String", r.message.as_deref());
    for u in &r.unknown_systems {
        b = b.value("x-unknown-system", "Canonical", json!(u));
    }
    for u in &r.unknown_versions {
        b = b.value("x-caused-by-unknown-system", "Canonical", json!(u));
    }
    if !r.issues.is_empty() {
        b = b.resource("issues", outcome_json(&r.issues));
    }
    b.build()
}

pub fn translate_json(r: &TranslateResult) -> Value {
    let mut b = ParametersBuilder::default()
        .value("result", "Boolean", json!(r.result))
        .opt_str("message", "String", r.message.as_deref());
    for m in &r.matches {
        let mut concept = Map::new();
        concept.insert("system".into(), json!(m.system));
        concept.insert("code".into(), json!(m.code));
        if let Some(d) = &m.display {
            concept.insert("display".into(), json!(d));
        }
        let mut parts = vec![
            part("equivalence", "Code", json!(m.equivalence)),
            part("concept", "Coding", Value::Object(concept)),
            part("originMap", "Canonical", json!(m.source_map)),
        ];
        if let Some((system, code)) = &m.source {
            parts.push(part(
                "source",
                "Coding",
                json!({"system": system, "code": code}),
            ));
        }
        b = b.parts("match", parts);
    }
    b.build()
}

/// The value set with its expansion (definition elements kept; compose, text and
/// description dropped).
pub fn expansion_json(
    vs: &ValueSet,
    e: &Expansion,
    parameters: Vec<Value>,
    timestamp: &str,
) -> Value {
    let m = &vs.meta;
    let mut o = Map::new();
    o.insert("resourceType".into(), json!("ValueSet"));
    if !m.id.is_empty() {
        o.insert("id".into(), json!(m.id));
    }
    if let Some(l) = &m.language {
        o.insert("language".into(), json!(l));
    }
    if !vs.contained.is_empty() {
        o.insert("contained".into(), Value::Array(vs.contained.clone()));
    }
    if !m.url.is_empty() {
        o.insert("url".into(), json!(m.url));
    }
    for (k, v) in [
        ("version", &m.version),
        ("name", &m.name),
        ("title", &m.title),
    ] {
        if let Some(v) = v {
            o.insert(k.into(), json!(v));
        }
    }
    o.insert("status".into(), json!(m.status));
    if let Some(x) = m.experimental {
        o.insert("experimental".into(), json!(x));
    }
    for (k, v) in [("date", &m.date), ("publisher", &m.publisher)] {
        if let Some(v) = v {
            o.insert(k.into(), json!(v));
        }
    }
    let mut exp = Map::new();
    if !e.properties.is_empty() {
        exp.insert(
            "extension".into(),
            Value::Array(
                e.properties
                    .iter()
                    .map(|(code, uri)| {
                        json!({"url": EXT_EXPANSION_PROPERTY, "extension": [
                            {"url": "code", "valueCode": code},
                            {"url": "uri", "valueUri": uri}
                        ]})
                    })
                    .collect(),
            ),
        );
    }
    exp.insert(
        "identifier".into(),
        json!(format!("urn:uuid:{}", pseudo_uuid(&m.url, timestamp))),
    );
    exp.insert("timestamp".into(), json!(timestamp));
    exp.insert("total".into(), json!(e.total));
    if e.offset > 0 || e.count.is_some() {
        exp.insert("offset".into(), json!(e.offset));
    }
    let mut params = parameters;
    let t = &e.trace;
    for s in &e.used_systems {
        params.push(json!({"name": "used-codesystem", "valueUri": s}));
    }
    for s in &t.used_value_sets {
        params.push(json!({"name": "used-valueset", "valueUri": s}));
    }
    for (name, v) in t.applied.iter().chain(t.warnings.iter()) {
        params.push(json!({"name": name, "valueUri": v}));
    }
    if !params.is_empty() {
        exp.insert("parameter".into(), Value::Array(params));
    }
    let contains: Vec<Value> = e.items.iter().map(contains_json).collect();
    if !contains.is_empty() {
        exp.insert("contains".into(), Value::Array(contains));
    }
    o.insert("expansion".into(), Value::Object(exp));
    Value::Object(o)
}

const EXT_EXPANSION_PROPERTY: &str =
    "http://hl7.org/fhir/5.0/StructureDefinition/extension-ValueSet.expansion.property";
const EXT_CONTAINS_PROPERTY: &str =
    "http://hl7.org/fhir/5.0/StructureDefinition/extension-ValueSet.expansion.contains.property";

fn contains_json(it: &ExpansionItem) -> Value {
    let mut c = Map::new();
    let mut extensions: Vec<Value> = it.extensions.clone();
    for (code, value) in &it.properties {
        let (kind, v) = property_value(value);
        let mut val = Map::new();
        val.insert("url".into(), json!("value"));
        val.insert(format!("value{kind}"), v);
        extensions.push(json!({"url": EXT_CONTAINS_PROPERTY, "extension": [
            {"url": "code", "valueCode": code},
            Value::Object(val)
        ]}));
    }
    if !extensions.is_empty() {
        c.insert("extension".into(), Value::Array(extensions));
    }
    c.insert("system".into(), json!(it.system));
    if let Some(v) = &it.version {
        c.insert("version".into(), json!(v));
    }
    if it.is_abstract {
        c.insert("abstract".into(), json!(true));
    }
    if it.inactive {
        c.insert("inactive".into(), json!(true));
    }
    c.insert("code".into(), json!(it.code));
    if let Some(d) = &it.display {
        c.insert("display".into(), json!(d));
    }
    if !it.designations.is_empty() {
        c.insert(
            "designation".into(),
            Value::Array(
                it.designations
                    .iter()
                    .map(|d| {
                        let mut m = Map::new();
                        if let Some(l) = &d.language {
                            m.insert("language".into(), json!(l));
                        }
                        if let Some(u) = &d.use_ {
                            m.insert("use".into(), coding(u));
                        }
                        m.insert("value".into(), json!(d.value));
                        Value::Object(m)
                    })
                    .collect(),
            ),
        );
    }
    if !it.children.is_empty() {
        c.insert(
            "contains".into(),
            Value::Array(it.children.iter().map(contains_json).collect()),
        );
    }
    Value::Object(c)
}

/// A UUID-shaped identifier derived from its inputs (no randomness needed: expansions are
/// identified by what they expand and when).
fn pseudo_uuid(a: &str, b: &str) -> String {
    use std::hash::{Hash, Hasher};
    let mut h1 = std::collections::hash_map::DefaultHasher::new();
    a.hash(&mut h1);
    b.hash(&mut h1);
    let x = h1.finish();
    let mut h2 = std::collections::hash_map::DefaultHasher::new();
    x.hash(&mut h2);
    let y = h2.finish();
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        (x >> 32) as u32,
        (x >> 16) as u16,
        (x & 0xfff) as u16,
        (y >> 52) as u16 & 0xfff,
        y & 0xffff_ffff_ffff
    )
}
