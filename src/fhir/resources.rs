//! The model rendered back as FHIR R4 JSON resources, keys in FHIR element order, empty
//! elements omitted. `load::fhir_json::parse_resource` reads these back to the same model
//! (origin aside, and a parent stated by nesting or by a `parent` property alike): see
//! `round_trip_mismatch`, which the loader tests apply to every shipped table and the fuzz
//! targets to whatever a loader accepts.

use serde_json::{json, Map, Value};

use crate::load::fhir_json::{parse_resource, FILTER_OP_EXTENSION};
use crate::load::Resource;
use crate::model::{
    CodeSystem, Coding, Concept, ConceptMap, ConceptReference, ConceptSetComponent, Designation,
    MapGroup, MapTarget, PropertyValue, ResourceMeta, ValueSet,
};

/// Filter operators of R4 `FilterOperator`; others (R5 additions) go in the `_op` extension.
const R4_FILTER_OPS: &[&str] = &[
    "=",
    "is-a",
    "descendent-of",
    "is-not-a",
    "regex",
    "in",
    "not-in",
    "generalizes",
    "exists",
];

/// An object builder that skips empty values, so optional elements simply disappear.
#[derive(Default)]
struct Obj(Map<String, Value>);

impl Obj {
    fn put(mut self, key: &str, v: Value) -> Self {
        let empty = match &v {
            Value::Null => true,
            Value::String(s) => s.is_empty(),
            Value::Array(a) => a.is_empty(),
            Value::Object(o) => o.is_empty(),
            _ => false,
        };
        if !empty {
            self.0.insert(key.to_string(), v);
        }
        self
    }

    fn str(self, key: &str, v: Option<&str>) -> Self {
        match v {
            Some(s) => self.put(key, Value::String(s.to_string())),
            None => self,
        }
    }

    fn bool(self, key: &str, v: Option<bool>) -> Self {
        match v {
            Some(b) => self.put(key, Value::Bool(b)),
            None => self,
        }
    }

    fn done(self) -> Value {
        Value::Object(self.0)
    }
}

/// `resourceType`, `id` … `description`: the elements every canonical resource starts with,
/// in R4 order. The caller gives `identifier` (its cardinality differs by type) and
/// `contained` (only value sets keep theirs: `#id` imports name them).
fn head(rt: &str, m: &ResourceMeta, contained: &[Value], identifier: Value) -> Obj {
    Obj::default()
        .put("resourceType", json!(rt))
        .str("id", Some(&m.id))
        .str("language", m.language.as_deref())
        .put("contained", Value::Array(contained.to_vec()))
        .put("extension", Value::Array(m.extensions.clone()))
        .str("url", Some(&m.url))
        .put("identifier", identifier)
        .str("version", m.version.as_deref())
        .str("name", m.name.as_deref())
        .str("title", m.title.as_deref())
        .str("status", Some(&m.status))
        .bool("experimental", m.experimental)
        .str("date", m.date.as_deref())
        .str("publisher", m.publisher.as_deref())
        .str("description", m.description.as_deref())
}

fn oid_identifier(oid: &str) -> Value {
    json!({"system": "urn:ietf:rfc:3986", "value": format!("urn:oid:{oid}")})
}

fn identifiers(m: &ResourceMeta) -> Value {
    Value::Array(m.oids.iter().map(|o| oid_identifier(o)).collect())
}

/// A CodeSystem; `include_concepts` false gives the summary form (no `concept`).
pub fn code_system_json(cs: &CodeSystem, include_concepts: bool) -> Value {
    let concepts = if include_concepts {
        concepts_json(cs)
    } else {
        Vec::new()
    };
    head("CodeSystem", &cs.meta, &[], identifiers(&cs.meta))
        .bool("caseSensitive", cs.case_sensitive)
        .str("valueSet", cs.value_set.as_deref())
        .str("hierarchyMeaning", cs.hierarchy_meaning.as_deref())
        .str("content", Some(&cs.content))
        .str("supplements", cs.supplements.as_deref())
        .put(
            "property",
            Value::Array(cs.property_defs.iter().map(property_def).collect()),
        )
        .put("concept", Value::Array(concepts))
        .done()
}

fn property_def(p: &crate::model::PropertyDef) -> Value {
    Obj::default()
        .str("code", Some(&p.code))
        .str("uri", p.uri.as_deref())
        .str("description", p.description.as_deref())
        .str("type", Some(&p.type_))
        .done()
}

/// Deepest concept nesting in a rendered CodeSystem: JSON readers limit depth (serde_json at
/// 128 levels, two a concept), and each level is a recursion when reading and dropping.
const MAX_NESTING: usize = 32;

/// Concepts nested by hierarchy, in their order: read depth first, the JSON lists them as
/// `concepts` does. A concept nests under its first parent when that parent is still open
/// (every concept since it is one of its descendants); otherwise it stays at the top level
/// and `parent` properties state its parents. FHIR nesting allows one parent: the others are
/// `parent` properties too. Past `MAX_NESTING` levels a concept stays at the top level as well.
fn concepts_json(cs: &CodeSystem) -> Vec<Value> {
    /// A concept whose children are still being rendered, and whether it is nested.
    struct Open {
        index: usize,
        nested: bool,
        children: Vec<Value>,
    }
    fn close_to(depth: usize, open: &mut Vec<Open>, out: &mut Vec<Value>, cs: &CodeSystem) {
        while open.len() > depth {
            let Some(o) = open.pop() else { break };
            let v = concept_json(&cs.concepts[o.index], o.nested, o.children);
            match open.last_mut() {
                Some(parent) => parent.children.push(v),
                None => out.push(v),
            }
        }
    }
    let mut open: Vec<Open> = Vec::new();
    let mut out = Vec::new();
    for (i, c) in cs.concepts.iter().enumerate() {
        let parent_depth = c
            .parents
            .first()
            .and_then(|p| cs.index_of(p))
            .and_then(|p| open.iter().rposition(|o| o.index == p))
            .filter(|&d| d + 1 < MAX_NESTING);
        close_to(parent_depth.map_or(0, |d| d + 1), &mut open, &mut out, cs);
        open.push(Open {
            index: i,
            nested: parent_depth.is_some(),
            children: Vec::new(),
        });
    }
    close_to(0, &mut open, &mut out, cs);
    out
}

/// One concept; `nested` when its first parent is the concept it is nested in.
fn concept_json(c: &Concept, nested: bool, children: Vec<Value>) -> Value {
    let mut properties: Vec<Value> = c
        .properties
        .iter()
        .map(|p| {
            let (kind, v) = property_value(&p.value);
            Obj::default()
                .str("code", Some(&p.code))
                .put(&format!("value{kind}"), v)
                .done()
        })
        .collect();
    // Parents beyond the nesting one that no `parent` property states yet.
    for p in c.parents.iter().skip(usize::from(nested)) {
        let stated = c
            .properties
            .iter()
            .any(|x| &*x.code == "parent" && matches!(&x.value, PropertyValue::Code(v) if v == p));
        if !stated {
            properties.push(json!({"code": "parent", "valueCode": p}));
        }
    }
    Obj::default()
        .put("extension", Value::Array(c.extensions.clone()))
        .str("code", Some(&c.code))
        .str("display", c.display.as_deref())
        .str("definition", c.definition.as_deref())
        .put(
            "designation",
            Value::Array(c.designations.iter().map(designation).collect()),
        )
        .put("property", Value::Array(properties))
        .put("concept", Value::Array(children))
        .done()
}

/// A property value as `(type suffix, JSON value)`, e.g. `("Code", "x")` for `valueCode`.
pub fn property_value(v: &PropertyValue) -> (&'static str, Value) {
    match v {
        PropertyValue::Code(s) => ("Code", json!(s)),
        PropertyValue::Coding(c) => ("Coding", coding(c)),
        PropertyValue::String(s) => ("String", json!(s)),
        PropertyValue::Integer(i) => ("Integer", json!(i)),
        PropertyValue::Boolean(b) => ("Boolean", json!(b)),
        PropertyValue::DateTime(s) => ("DateTime", json!(s)),
        // A JSON number with the literal's value; kept as a string if it is not a number.
        PropertyValue::Decimal(s) => (
            "Decimal",
            serde_json::from_str::<serde_json::Number>(s)
                .map(Value::Number)
                .unwrap_or_else(|_| json!(s)),
        ),
    }
}

/// A Coding as FHIR JSON.
pub fn coding(c: &Coding) -> Value {
    Obj::default()
        .str("system", c.system.as_deref())
        .str("version", c.version.as_deref())
        .str("code", c.code.as_deref())
        .str("display", c.display.as_deref())
        .done()
}

fn designation(d: &Designation) -> Value {
    Obj::default()
        .put(
            "extension",
            d.extensions
                .as_deref()
                .map(|e| Value::Array(e.clone()))
                .unwrap_or(Value::Null),
        )
        .str("language", d.language.as_deref())
        .put("use", d.use_.as_deref().map(coding).unwrap_or(Value::Null))
        .str("value", Some(&d.value))
        .done()
}

/// A ValueSet with its compose and, when it has one, its stored expansion.
pub fn value_set_json(vs: &ValueSet) -> Value {
    head("ValueSet", &vs.meta, &vs.contained, identifiers(&vs.meta))
        .bool("immutable", vs.immutable)
        .put("compose", compose_json(&vs.compose))
        .put("expansion", vs.expansion.clone().unwrap_or(Value::Null))
        .done()
}

/// `ValueSet.compose` (`Null` when empty).
pub fn compose_json(c: &crate::model::Compose) -> Value {
    Obj::default()
        .put("extension", Value::Array(c.extensions.clone()))
        .str("lockedDate", c.locked_date.as_deref())
        .bool("inactive", c.inactive)
        .put(
            "include",
            Value::Array(c.include.iter().map(concept_set).collect()),
        )
        .put(
            "exclude",
            Value::Array(c.exclude.iter().map(concept_set).collect()),
        )
        .done()
}

fn concept_set(i: &ConceptSetComponent) -> Value {
    Obj::default()
        .str("system", i.system.as_deref())
        .str("version", i.version.as_deref())
        .put(
            "concept",
            Value::Array(i.concepts.iter().map(concept_reference).collect()),
        )
        .put(
            "filter",
            Value::Array(i.filters.iter().map(filter).collect()),
        )
        .put("valueSet", json!(i.value_sets))
        .done()
}

fn concept_reference(c: &ConceptReference) -> Value {
    Obj::default()
        .put("extension", Value::Array(c.extensions.clone()))
        .str("code", Some(&c.code))
        .str("display", c.display.as_deref())
        .put(
            "designation",
            Value::Array(c.designations.iter().map(designation).collect()),
        )
        .done()
}

fn filter(f: &crate::model::Filter) -> Value {
    let o = Obj::default().str("property", Some(&f.property));
    let o = if R4_FILTER_OPS.contains(&f.op.as_str()) {
        o.str("op", Some(&f.op))
    } else {
        // R4 cannot name this operator: state it the way R4 servers read R5 operators.
        o.put(
            "_op",
            json!({"extension": [{"url": FILTER_OP_EXTENSION, "valueCode": f.op}]}),
        )
    };
    o.str("value", f.value.as_deref()).done()
}

/// A ConceptMap. R4 allows one identifier here: the first OID.
pub fn concept_map_json(cm: &ConceptMap) -> Value {
    let identifier = cm
        .meta
        .oids
        .first()
        .map(|o| oid_identifier(o))
        .unwrap_or(Value::Null);
    head("ConceptMap", &cm.meta, &[], identifier)
        .str("sourceCanonical", cm.source_scope.as_deref())
        .str("targetCanonical", cm.target_scope.as_deref())
        .put(
            "group",
            Value::Array(cm.groups.iter().map(map_group).collect()),
        )
        .done()
}

fn map_group(g: &MapGroup) -> Value {
    let elements: Vec<Value> = g
        .elements
        .iter()
        .map(|e| {
            Obj::default()
                .str("code", Some(&e.code))
                .str("display", e.display.as_deref())
                .put(
                    "target",
                    Value::Array(e.targets.iter().map(map_target).collect()),
                )
                .done()
        })
        .collect();
    Obj::default()
        .str("source", g.source.as_deref())
        .str("sourceVersion", g.source_version.as_deref())
        .str("target", g.target.as_deref())
        .str("targetVersion", g.target_version.as_deref())
        .put("element", Value::Array(elements))
        .done()
}

fn map_target(t: &MapTarget) -> Value {
    Obj::default()
        .str("code", t.code.as_deref())
        .str("display", t.display.as_deref())
        .str("equivalence", Some(&t.equivalence))
        .str("comment", t.comment.as_deref())
        .done()
}

/// A loaded resource as FHIR JSON (`None` for an OID alias, which has no resource of its own).
pub fn resource_json(r: &Resource) -> Option<Value> {
    match r {
        Resource::CodeSystem(cs) => Some(code_system_json(cs, true)),
        Resource::ValueSet(vs) => Some(value_set_json(vs)),
        Resource::ConceptMap(cm) => Some(concept_map_json(cm)),
        Resource::Alias { .. } => None,
    }
}

/// A copy without the `parent` properties that `parents` holds too: stated either way, a
/// parent is the same fact (a read nests a concept under its parent where it can, and states
/// the others as `parent` properties).
fn without_parent_properties(cs: &CodeSystem) -> CodeSystem {
    let mut cs = cs.clone();
    for c in &mut cs.concepts {
        let parents = &c.parents;
        c.properties.retain(|p| {
            !(&*p.code == "parent"
                && matches!(&p.value, PropertyValue::Code(v) if parents.contains(v)))
        });
    }
    cs
}

/// Why `r`, rendered as FHIR JSON and read back, is not the same resource (where it was read
/// aside), or `None` when it is. What a read returns must load to what was served: the loader
/// tests check it on the shipped tables, the fuzz targets on whatever a loader accepts.
pub fn round_trip_mismatch(r: &Resource) -> Option<String> {
    let json = resource_json(r)?;
    // Through the text a client gets, so that what only text limits (nesting depth) counts.
    let text = match serde_json::to_vec(&json) {
        Ok(text) => text,
        Err(e) => return Some(format!("the rendered JSON does not serialise: {e}")),
    };
    let reread = serde_json::from_slice::<Value>(&text).map_err(|e| e.to_string());
    let mut back = match reread.and_then(|v| parse_resource(&v)) {
        Ok(back) => back,
        Err(e) => {
            return Some(format!(
                "the rendered JSON does not load: {e}\n{}",
                excerpt(&json)
            ))
        }
    };
    if let (Some(m), Some(original)) = (back.meta_mut(), r.meta()) {
        m.origin = original.origin.clone();
    }
    let same = match (&back, r) {
        (Resource::CodeSystem(a), Resource::CodeSystem(b)) => {
            a == b || without_parent_properties(a) == without_parent_properties(b)
        }
        (Resource::ValueSet(a), Resource::ValueSet(b)) => a == b,
        (Resource::ConceptMap(a), Resource::ConceptMap(b)) => a == b,
        _ => false,
    };
    (!same).then(|| {
        let (loaded, read) = (format!("{r:?}"), format!("{back:?}"));
        // Where the two first differ, with some context: the whole resource can be large.
        let at = loaded
            .char_indices()
            .zip(read.chars())
            .find(|((_, a), b)| a != b)
            .map_or(loaded.len().min(read.len()), |((i, _), _)| i);
        let from = at.saturating_sub(200);
        let around = |s: &str| {
            let start = s.floor_char_boundary(from);
            let end = s.ceil_char_boundary((at + 200).min(s.len()));
            s[start..end].to_string()
        };
        format!(
            "differs at byte {at}:\nloaded    …{}…\nread back …{}…\nrendered {}",
            around(&loaded),
            around(&read),
            excerpt(&json)
        )
    })
}

/// The start of a rendered resource, for a message.
fn excerpt(json: &Value) -> String {
    let text = format!("{json:#}");
    match text.char_indices().nth(2_000) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::fhir_json::parse_resource;
    use crate::load::Resource;
    use crate::model::ConceptProperty;

    fn concept(code: &str, parents: &[&str]) -> Concept {
        Concept {
            code: code.into(),
            display: Some(code.to_uppercase()),
            parents: parents.iter().map(|p| p.to_string()).collect(),
            ..Default::default()
        }
    }

    fn meta() -> ResourceMeta {
        ResourceMeta {
            id: "x".into(),
            url: "http://x".into(),
            status: "active".into(),
            oids: vec!["1.2.3".into()],
            ..Default::default()
        }
    }

    #[test]
    fn element_order_and_identifier() {
        let cs = CodeSystem::new(meta(), vec![concept("a", &[])]);
        let v = code_system_json(&cs, true);
        let keys: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
        assert_eq!(
            keys,
            [
                "resourceType",
                "id",
                "url",
                "identifier",
                "status",
                "content",
                "concept"
            ]
        );
        assert_eq!(v["identifier"][0]["value"], "urn:oid:1.2.3");
        assert!(code_system_json(&cs, false).get("concept").is_none());
    }

    #[test]
    fn hierarchy_nests_and_round_trips() {
        let mut b = concept("b", &["a"]);
        b.properties.push(ConceptProperty {
            code: "dateFin".into(),
            value: PropertyValue::DateTime("2020-01-01".into()),
        });
        let mut cs = CodeSystem::new(
            meta(),
            vec![
                concept("a", &[]),
                b,
                concept("c", &["b", "a"]),
                concept("d", &[]),
            ],
        );
        cs.hierarchy_meaning = Some("is-a".into());
        let v = code_system_json(&cs, true);
        assert_eq!(v["concept"][0]["concept"][0]["concept"][0]["code"], "c");
        assert_eq!(
            v["concept"][0]["concept"][0]["concept"][0]["property"][0]["valueCode"],
            "a"
        );
        assert_eq!(v["concept"][1]["code"], "d");
        let Ok(Resource::CodeSystem(back)) = parse_resource(&v) else {
            panic!()
        };
        // The extra parent comes back as a property, the rest is identical.
        assert_eq!(back.concepts[2].parents, cs.concepts[2].parents);
        assert_eq!(back.concepts[..2], cs.concepts[..2]);
        assert_eq!(back.concepts[3], cs.concepts[3]);
    }

    #[test]
    fn cycles_lose_no_concept() {
        let cs = CodeSystem::new(meta(), vec![concept("a", &["b"]), concept("b", &["a"])]);
        let v = code_system_json(&cs, true);
        let s = v.to_string();
        assert!(s.contains("\"code\":\"a\"") && s.contains("\"code\":\"b\""));
    }

    #[test]
    fn value_set_and_concept_map_round_trip() {
        let v = json!({
            "resourceType": "ValueSet", "id": "v", "url": "http://v", "version": "1", "status": "draft",
            "immutable": true,
            "compose": {"inactive": false, "include": [
                {"system": "http://s", "concept": [{"code": "a", "display": "A", "designation": [{"language": "fr", "use": {"system": "http://u", "code": "x"}, "value": "Ah"}]}]},
                {"system": "http://s", "filter": [{"property": "concept", "op": "is-a", "value": "a"}, {"property": "concept", "_op": {"extension": [{"url": FILTER_OP_EXTENSION, "valueCode": "child-of"}]}, "value": "a"}]},
                {"valueSet": ["http://other"]}
            ], "exclude": [{"system": "http://s", "concept": [{"code": "b"}]}]}
        });
        let Ok(Resource::ValueSet(vs)) = parse_resource(&v) else {
            panic!()
        };
        assert_eq!(value_set_json(&vs), v);

        let m = json!({
            "resourceType": "ConceptMap", "id": "m", "url": "http://m", "identifier": {"system": "urn:ietf:rfc:3986", "value": "urn:oid:1.2"},
            "status": "active", "sourceCanonical": "http://vs1", "targetCanonical": "http://vs2",
            "group": [{"source": "s", "target": "t", "element": [{"code": "a", "target": [{"code": "x", "equivalence": "wider", "comment": "c"}]}]}]
        });
        let Ok(Resource::ConceptMap(cm)) = parse_resource(&m) else {
            panic!()
        };
        assert_eq!(concept_map_json(&cm), m);
    }
}
