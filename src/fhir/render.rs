//! Operation results rendered as FHIR R4 `Parameters` and `ValueSet` expansions.

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
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

/// A `Parameters` resource serialized straight to JSON bytes (`serde_json::to_vec`), without
/// building a `Value` tree first (one map and its keys per parameter: most of the cost of
/// rendering a `$validate-code` answer). `serde_json::to_value` gives the same JSON as a `Value`.
#[derive(Default)]
pub struct ParamsDoc<'a>(pub Vec<Param<'a>>);

/// One parameter: `name` and its value under the key that says its type (`valueCode`, …).
pub struct Param<'a> {
    pub name: &'a str,
    pub value: PValue<'a>,
}

pub enum PValue<'a> {
    /// A string-valued primitive under this key (`valueCode`, `valueUri`, …).
    Str(&'static str, &'a str),
    Bool(&'static str, bool),
    /// Any JSON under this key (numbers, Codings, CodeableConcepts).
    Json(&'static str, Value),
    Resource(Value),
    Parts(Vec<Param<'a>>),
}

impl<'a> Param<'a> {
    pub fn str(name: &'a str, key: &'static str, v: &'a str) -> Self {
        Param {
            name,
            value: PValue::Str(key, v),
        }
    }
    pub fn bool(name: &'a str, key: &'static str, v: bool) -> Self {
        Param {
            name,
            value: PValue::Bool(key, v),
        }
    }
    pub fn json(name: &'a str, key: &'static str, v: Value) -> Self {
        Param {
            name,
            value: PValue::Json(key, v),
        }
    }
}

impl<'a> ParamsDoc<'a> {
    fn push(&mut self, p: Param<'a>) {
        self.0.push(p);
    }
    fn opt_str(&mut self, name: &'a str, key: &'static str, v: Option<&'a str>) {
        if let Some(v) = v {
            self.push(Param::str(name, key, v));
        }
    }
}

impl Serialize for Param<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("name", self.name)?;
        match &self.value {
            PValue::Str(k, v) => m.serialize_entry(k, v)?,
            PValue::Bool(k, v) => m.serialize_entry(k, v)?,
            PValue::Json(k, v) => m.serialize_entry(k, v)?,
            PValue::Resource(r) => m.serialize_entry("resource", r)?,
            PValue::Parts(parts) => m.serialize_entry("part", parts)?,
        }
        m.end()
    }
}

impl Serialize for ParamsDoc<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("resourceType", "Parameters")?;
        m.serialize_entry("parameter", &self.0)?;
        m.end()
    }
}

/// The JSON of a document as a `Value` (for answers nested in others, e.g. batches).
pub fn to_value(doc: &impl Serialize) -> Value {
    serde_json::to_value(doc).unwrap_or(Value::Null)
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

/// Key of a property value of this FHIR type (`Code` → `valueCode`).
fn value_key(kind: &str) -> &'static str {
    match kind {
        "Code" => "valueCode",
        "Coding" => "valueCoding",
        "String" => "valueString",
        "Integer" => "valueInteger",
        "Boolean" => "valueBoolean",
        "DateTime" => "valueDateTime",
        "Decimal" => "valueDecimal",
        "Uri" => "valueUri",
        _ => "value",
    }
}

fn designation_params(d: &Designation) -> Vec<Param<'_>> {
    let mut parts = Vec::new();
    if let Some(l) = &d.language {
        parts.push(Param::str("language", "valueCode", l));
    }
    if let Some(u) = &d.use_ {
        parts.push(Param::json("use", "valueCoding", coding(u)));
    }
    parts.push(Param::str("value", "valueString", &d.value));
    parts
}

pub fn lookup_doc(r: &LookupResult) -> ParamsDoc<'_> {
    let mut b = ParamsDoc::default();
    b.push(Param::str("name", "valueString", &r.name));
    b.opt_str("version", "valueString", r.version.as_deref());
    b.opt_str("display", "valueString", r.display.as_deref());
    b.opt_str("definition", "valueString", r.definition.as_deref());
    b.push(Param::str("code", "valueCode", &r.code));
    b.push(Param::str("system", "valueUri", &r.system));
    if r.is_abstract {
        b.push(Param::bool("abstract", "valueBoolean", true));
    }
    for (d, source) in &r.designations {
        let mut parts = designation_params(d);
        if let Some(s) = source {
            // After `use`, before `value`.
            let at = parts.len() - 1;
            parts.insert(at, Param::str("source", "valueCanonical", s));
        }
        b.push(Param {
            name: "designation",
            value: PValue::Parts(parts),
        });
    }
    for s in &r.used_supplements {
        b.push(Param::str("used-supplement", "valueCanonical", s));
    }
    for p in &r.properties {
        let (kind, v) = property_value(&p.value);
        let mut parts = vec![
            Param::str("code", "valueCode", &p.code),
            Param::json("value", value_key(kind), v),
        ];
        if let Some(desc) = &p.description {
            parts.push(Param::str("description", "valueString", desc));
        }
        if let Some(d) = &p.code_display {
            parts.push(Param::str("code-display", "valueString", d));
        }
        b.push(Param {
            name: "property",
            value: PValue::Parts(parts),
        });
    }
    b
}

pub fn lookup_json(r: &LookupResult) -> Value {
    to_value(&lookup_doc(r))
}

pub fn validate_doc(r: &ValidateResult) -> ParamsDoc<'_> {
    let mut b = ParamsDoc::default();
    b.push(Param::bool("result", "valueBoolean", r.result));
    if let Some((codings, text)) = &r.codeable_concept {
        let mut cc = Map::new();
        cc.insert(
            "coding".into(),
            Value::Array(codings.iter().map(input_coding_json).collect()),
        );
        if let Some(t) = text {
            cc.insert("text".into(), json!(t));
        }
        b.push(Param::json(
            "codeableConcept",
            "valueCodeableConcept",
            Value::Object(cc),
        ));
    }
    b.opt_str("code", "valueCode", r.code.as_deref());
    b.opt_str("normalized-code", "valueCode", r.normalized_code.as_deref());
    b.opt_str("system", "valueUri", r.system.as_deref());
    b.opt_str("version", "valueString", r.version.as_deref());
    b.opt_str("display", "valueString", r.display.as_deref());
    if let Some(i) = r.inactive {
        b.push(Param::bool("inactive", "valueBoolean", i));
    }
    b.opt_str("status", "valueCode", r.status.as_deref());
    b.opt_str("message", "valueString", r.message.as_deref());
    for u in &r.unknown_systems {
        b.push(Param::str("x-unknown-system", "valueCanonical", u));
    }
    for u in &r.unknown_versions {
        b.push(Param::str(
            "x-caused-by-unknown-system",
            "valueCanonical",
            u,
        ));
    }
    if !r.issues.is_empty() {
        b.push(Param {
            name: "issues",
            value: PValue::Resource(outcome_json(&r.issues)),
        });
    }
    b
}

pub fn validate_json(r: &ValidateResult) -> Value {
    to_value(&validate_doc(r))
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

/// The value set with its expansion (definition elements kept; extensions, compose, text
/// and description dropped unless `includeDefinition`), serialized straight to JSON (see `ParamsDoc`). `parameters`: the
/// request parameters echoed, before those the expansion adds.
pub struct ExpansionDoc<'a> {
    pub vs: &'a ValueSet,
    pub expansion: &'a Expansion,
    pub parameters: Vec<Param<'a>>,
    pub timestamp: &'a str,
    /// `includeDefinition`: the value set's definition (`compose`) comes with the expansion.
    pub include_definition: bool,
}

impl Serialize for ExpansionDoc<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let vs = self.vs;
        let m = &vs.meta;
        let mut o = s.serialize_map(None)?;
        o.serialize_entry("resourceType", "ValueSet")?;
        if !m.id.is_empty() {
            o.serialize_entry("id", &m.id)?;
        }
        if let Some(l) = &m.language {
            o.serialize_entry("language", l)?;
        }
        if !vs.contained.is_empty() {
            o.serialize_entry("contained", &vs.contained)?;
        }
        // The value set's extensions are part of its definition (e.g. `valueset-supplement`).
        if self.include_definition && !m.extensions.is_empty() {
            o.serialize_entry("extension", &m.extensions)?;
        }
        if !m.url.is_empty() {
            o.serialize_entry("url", &m.url)?;
        }
        for (k, v) in [
            ("version", &m.version),
            ("name", &m.name),
            ("title", &m.title),
        ] {
            if let Some(v) = v {
                o.serialize_entry(k, v)?;
            }
        }
        o.serialize_entry("status", &m.status)?;
        if let Some(x) = m.experimental {
            o.serialize_entry("experimental", &x)?;
        }
        for (k, v) in [("date", &m.date), ("publisher", &m.publisher)] {
            if let Some(v) = v {
                o.serialize_entry(k, v)?;
            }
        }
        if self.include_definition {
            let compose = super::resources::compose_json(&vs.compose);
            if compose.as_object().is_some_and(|c| !c.is_empty()) {
                o.serialize_entry("compose", &compose)?;
            }
        }
        o.serialize_entry(
            "expansion",
            &ExpansionPart {
                doc: self,
                identifier: format!("urn:uuid:{}", pseudo_uuid(&m.url, self.timestamp)),
            },
        )?;
        o.end()
    }
}

/// `ValueSet.expansion` of an `ExpansionDoc`.
struct ExpansionPart<'d, 'a> {
    doc: &'d ExpansionDoc<'a>,
    identifier: String,
}

impl Serialize for ExpansionPart<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let e = self.doc.expansion;
        let mut o = s.serialize_map(None)?;
        let mut ext = unclosed_extensions(&e.trace.fragments, &e.trace.grammars);
        ext.extend(e.properties.iter().map(|(code, uri)| {
            let mut parts = vec![json!({"url": "code", "valueCode": code})];
            if let Some(uri) = uri {
                parts.push(json!({"url": "uri", "valueUri": uri}));
            }
            json!({"url": EXT_EXPANSION_PROPERTY, "extension": parts})
        }));
        if !ext.is_empty() {
            o.serialize_entry("extension", &ext)?;
        }
        o.serialize_entry("identifier", &self.identifier)?;
        o.serialize_entry("timestamp", self.doc.timestamp)?;
        o.serialize_entry("total", &e.total)?;
        if e.offset > 0 || e.count.is_some() {
            o.serialize_entry("offset", &e.offset)?;
        }
        let t = &e.trace;
        let added = e.used_systems.len()
            + t.fragments.len()
            + t.used_value_sets.len()
            + t.applied.len()
            + t.warnings.len()
            + usize::from(t.versions_matched);
        if !self.doc.parameters.is_empty() || added > 0 {
            o.serialize_entry("parameter", &ExpansionParams(self.doc))?;
        }
        if !e.items.is_empty() {
            o.serialize_entry("contains", &Contains(&e.items))?;
        }
        o.end()
    }
}

/// `expansion.parameter`: the echoed request parameters, then the code systems and value
/// sets used, the version parameters applied and the warnings.
struct ExpansionParams<'d, 'a>(&'d ExpansionDoc<'a>);

impl Serialize for ExpansionParams<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let e = self.0.expansion;
        let t = &e.trace;
        let mut seq = s.serialize_seq(None)?;
        for p in &self.0.parameters {
            seq.serialize_element(p)?;
        }
        for u in &e.used_systems {
            seq.serialize_element(&Param::str("used-codesystem", "valueUri", u))?;
        }
        for u in &t.fragments {
            seq.serialize_element(&Param::str("used-fragment", "valueUri", u))?;
        }
        for u in &t.used_value_sets {
            seq.serialize_element(&Param::str("used-valueset", "valueUri", u))?;
        }
        if t.versions_matched {
            seq.serialize_element(&Param::bool("versionsMatch", "valueBoolean", true))?;
        }
        for (name, v) in t.applied.iter().chain(t.warnings.iter()) {
            seq.serialize_element(&Param::str(name, "valueUri", v))?;
        }
        seq.end()
    }
}

pub fn expansion_json(
    vs: &ValueSet,
    e: &Expansion,
    parameters: Vec<Param<'_>>,
    timestamp: &str,
) -> Value {
    to_value(&ExpansionDoc {
        vs,
        expansion: e,
        parameters,
        timestamp,
        include_definition: false,
    })
}

const EXT_UNCLOSED: &str = "http://hl7.org/fhir/StructureDefinition/valueset-unclosed";
const EXT_UNCLOSED_REASON: &str =
    "http://hl7.org/fhir/StructureDefinition/valueset-unclosed-reason";

/// An expansion drawn from fragments of code systems may lack members: it says it is not
/// closed, and why.
/// An expansion drawn from a code system with a grammar (SNOMED CT's postcoordination) by
/// filter is not closed either; for the whole system, it says why.
fn unclosed_extensions(fragments: &[String], grammars: &[(String, bool)]) -> Vec<Value> {
    if fragments.is_empty() {
        if grammars.is_empty() {
            return Vec::new();
        }
        let mut ext = vec![json!({"url": EXT_UNCLOSED, "valueBoolean": true})];
        for (system, _) in grammars.iter().filter(|(_, whole)| *whole) {
            ext.push(json!({"url": EXT_UNCLOSED_REASON, "valueString": format!(
                "The code System '{system}' has a grammar and so has infinite members"
            )}));
        }
        return ext;
    }
    let systems: Vec<&str> = fragments
        .iter()
        .map(|f| crate::model::split_canonical(f).0)
        .collect();
    vec![
        json!({"url": EXT_UNCLOSED, "valueBoolean": true}),
        json!({"url": EXT_UNCLOSED_REASON, "valueString": format!(
            "This extension is based on a fragment of the code system {}",
            systems.join(", ")
        )}),
    ]
}

const EXT_EXPANSION_PROPERTY: &str =
    "http://hl7.org/fhir/5.0/StructureDefinition/extension-ValueSet.expansion.property";
const EXT_CONTAINS_PROPERTY: &str =
    "http://hl7.org/fhir/5.0/StructureDefinition/extension-ValueSet.expansion.contains.property";

/// `contains` (nested under an item for its children).
struct Contains<'a>(&'a [ExpansionItem]);

impl Serialize for Contains<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for it in self.0 {
            seq.serialize_element(&ContainsItem(it))?;
        }
        seq.end()
    }
}

struct ContainsItem<'a>(&'a ExpansionItem);

impl Serialize for ContainsItem<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let it = self.0;
        let mut c = s.serialize_map(None)?;
        if !it.extensions.is_empty() || !it.properties.is_empty() {
            let mut extensions: Vec<Value> = it.extensions.clone();
            for p in &it.properties {
                let (code, (kind, v)) = (&p.code, property_value(&p.value));
                let mut val = Map::new();
                val.insert("url".into(), json!("value"));
                val.insert(format!("value{kind}"), v);
                extensions.push(json!({"url": EXT_CONTAINS_PROPERTY, "extension": [
                    {"url": "code", "valueCode": code},
                    Value::Object(val)
                ]}));
            }
            c.serialize_entry("extension", &extensions)?;
        }
        c.serialize_entry("system", &it.system)?;
        if let Some(v) = &it.version {
            c.serialize_entry("version", v)?;
        }
        if it.is_abstract {
            c.serialize_entry("abstract", &true)?;
        }
        if it.inactive {
            c.serialize_entry("inactive", &true)?;
        }
        c.serialize_entry("code", &it.code)?;
        if let Some(d) = &it.display {
            c.serialize_entry("display", d)?;
        }
        if !it.designations.is_empty() {
            let designations: Vec<Value> = it
                .designations
                .iter()
                .map(|d| {
                    let mut m = Map::new();
                    if let Some(e) = &d.extensions {
                        m.insert("extension".into(), Value::Array(e.to_vec()));
                    }
                    if let Some(l) = &d.language {
                        m.insert("language".into(), json!(l));
                    }
                    if let Some(u) = &d.use_ {
                        m.insert("use".into(), coding(u));
                    }
                    m.insert("value".into(), json!(d.value));
                    Value::Object(m)
                })
                .collect();
            c.serialize_entry("designation", &designations)?;
        }
        if !it.children.is_empty() {
            c.serialize_entry("contains", &Contains(&it.children))?;
        }
        c.end()
    }
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
