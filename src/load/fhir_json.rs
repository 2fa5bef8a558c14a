//! FHIR R4 JSON: CodeSystem, ValueSet, ConceptMap and NamingSystem, alone or in a Bundle.
//!
//! `parse_resource` is also used at request time (`tx-resource`, inline `valueSet`), so it
//! never panics, returns messages that name the element at fault
//! (`CodeSystem.concept[3]: missing 'code'`), and reads R5 forms of the elements the model
//! holds (ConceptMap `relationship`, `sourceScope[x]`; the R5 filter `op` extension).

use std::collections::HashMap;
use std::fmt;

use serde_json::{Map, Value};

use super::{LoadError, Resource};
use crate::model::{
    CodeSystem, Coding, Compose, Concept, ConceptMap, ConceptProperty, ConceptReference,
    ConceptSetComponent, Designation, Filter, MapElement, MapGroup, MapTarget, Origin, PropertyDef,
    PropertyValue, ResourceMeta, ValueSet,
};

type Obj = Map<String, Value>;

/// Where an element is (`CodeSystem.concept[3].designation[0]`), formatted only when an error
/// names it: parsing a large resource builds no path strings.
#[derive(Clone, Copy)]
struct Path<'a> {
    parent: Option<&'a Path<'a>>,
    name: &'a str,
    index: Option<usize>,
}

impl<'a> Path<'a> {
    fn root(name: &'a str) -> Self {
        Path {
            parent: None,
            name,
            index: None,
        }
    }

    fn field(&'a self, name: &'a str) -> Path<'a> {
        Path {
            parent: Some(self),
            name,
            index: None,
        }
    }

    fn at(&'a self, name: &'a str, index: usize) -> Path<'a> {
        Path {
            parent: Some(self),
            name,
            index: Some(index),
        }
    }
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = self.parent {
            write!(f, "{p}.")?;
        }
        f.write_str(self.name)?;
        if let Some(i) = self.index {
            write!(f, "[{i}]")?;
        }
        Ok(())
    }
}

/// The R5 `op` of a filter carried in R4 as an extension on `_op` (for R5-only operators).
pub const FILTER_OP_EXTENSION: &str =
    "http://hl7.org/fhir/5.0/StructureDefinition/extension-ValueSet.compose.include.filter.op";

const PUBLICATION_STATUS: &[&str] = &["draft", "active", "retired", "unknown"];
const CONTENT_MODES: &[&str] = &[
    "not-present",
    "example",
    "fragment",
    "complete",
    "supplement",
];
const PROPERTY_TYPES: &[&str] = &[
    "code", "Coding", "string", "integer", "boolean", "dateTime", "decimal",
];

/// Whether files of this `resourceType` are read (others are skipped silently).
pub fn is_supported_type(resource_type: &str) -> bool {
    matches!(
        resource_type,
        "CodeSystem" | "ValueSet" | "ConceptMap" | "NamingSystem"
    )
}

/// Parses one resource. A NamingSystem gives its first OID alias (use `parse_resources` for
/// all of them); a Bundle is refused (use `parse_resources`).
pub fn parse_resource(v: &Value) -> Result<Resource, String> {
    let o = v.as_object().ok_or("expected a JSON object")?;
    match resource_type(o)? {
        "CodeSystem" => code_system(o).map(Resource::CodeSystem),
        "ValueSet" => value_set(o).map(Resource::ValueSet),
        "ConceptMap" => concept_map(o).map(Resource::ConceptMap),
        "NamingSystem" => naming_system(o)?
            .into_iter()
            .next()
            .ok_or_else(|| "NamingSystem has no uniqueId of type oid".to_string()),
        other => Err(format!(
            "unsupported resourceType '{other}' (expected CodeSystem, ValueSet, ConceptMap or NamingSystem)"
        )),
    }
}

/// Parses a resource or a Bundle into every resource it holds: all OID aliases of a
/// NamingSystem, every supported entry of a Bundle. Unsupported resource types are skipped.
pub fn parse_resources(v: &Value) -> Result<Vec<Resource>, String> {
    let o = v.as_object().ok_or("expected a JSON object")?;
    match resource_type(o)? {
        "Bundle" => {
            let mut out = Vec::new();
            for (i, entry) in bundle_entries(o)?.iter().enumerate() {
                if let Some(r) = entry_resource(entry) {
                    out.extend(parse_supported(r).map_err(|e| format!("Bundle.entry[{i}]: {e}"))?);
                }
            }
            Ok(out)
        }
        _ => parse_supported(v),
    }
}

/// `parse_supported` for the server's own data, which is held to FHIR's required elements
/// even where a request's resource is not (a filter without value is refused at load, not
/// when some request uses it).
fn parse_stored(v: &Value) -> Result<Vec<Resource>, String> {
    let rs = parse_supported(v)?;
    for r in &rs {
        if let Resource::ValueSet(vs) = r {
            if let Some((path, _, _)) = vs.filter_without_value() {
                return Err(format!("{path}: missing 'value'"));
            }
        }
    }
    Ok(rs)
}

/// One resource (not a Bundle) into zero or more resources: nothing for unsupported types.
fn parse_supported(v: &Value) -> Result<Vec<Resource>, String> {
    let Some(o) = v.as_object() else {
        return Ok(Vec::new());
    };
    match resource_type(o) {
        Ok("NamingSystem") => naming_system(o),
        Ok(t) if is_supported_type(t) => parse_resource(v).map(|r| vec![r]),
        _ => Ok(Vec::new()),
    }
}

/// Reads a `.json` file. JSON that is not a FHIR resource of a supported type (a
/// `package.json`, a Patient) gives no resource and no error; broken JSON is located by
/// serde's line and column; an invalid resource is located at the line where it starts.
pub fn parse_file(bytes: &[u8], file: &str) -> Result<Vec<Resource>, Vec<LoadError>> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let line = line_at(bytes, e.valid_up_to());
        vec![LoadError::new(
            file,
            Some(line),
            None,
            "invalid UTF-8 (JSON must be UTF-8)",
        )]
    })?;
    let value: Value = serde_json::from_str(text).map_err(|e| vec![json_syntax_error(file, &e)])?;
    let Some(o) = value.as_object() else {
        return Ok(Vec::new());
    };
    let start = first_line(text);
    let at = |line: usize, msg: String| LoadError::new(file, Some(line), None, msg);
    let origin = |line: usize| Origin {
        file: file.to_string(),
        line,
    };
    if resource_type(o) != Ok("Bundle") {
        let mut rs = parse_stored(&value).map_err(|e| vec![at(start, e)])?;
        rs.iter_mut().for_each(|r| r.set_origin(origin(start)));
        return Ok(rs);
    }
    let entries = bundle_entries(o).map_err(|e| vec![at(start, e)])?;
    let lines = bundle_entry_lines(text);
    // Entry lines come from a scan of the text; if it disagrees with serde, use the Bundle's.
    let line_of = |i: usize| {
        if lines.len() == entries.len() {
            lines[i]
        } else {
            start
        }
    };
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let Some(r) = entry_resource(entry) else {
            continue;
        };
        match parse_stored(r) {
            Ok(rs) => out.extend(rs.into_iter().map(|mut r| {
                r.set_origin(origin(line_of(i)));
                r
            })),
            Err(e) => errors.push(at(line_of(i), format!("Bundle.entry[{i}]: {e}"))),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

fn json_syntax_error(file: &str, e: &serde_json::Error) -> LoadError {
    // serde's message ends with " at line L column C", which the location already says.
    let mut msg = e.to_string();
    if let Some(i) = msg.rfind(" at line ") {
        msg.truncate(i);
    }
    LoadError::new(
        file,
        Some(e.line()),
        Some(e.column()),
        format!("invalid JSON: {msg}"),
    )
}

/// 1-based line of byte `offset`.
fn line_at(bytes: &[u8], offset: usize) -> usize {
    1 + bytes[..offset.min(bytes.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}

/// Line of the first non-blank character (where the top-level resource starts).
fn first_line(text: &str) -> usize {
    let offset = text.len() - text.trim_start().len();
    line_at(text.as_bytes(), offset)
}

/// Lines where the elements of the top-level `"entry"` array start, from a scan of the
/// (already valid) JSON text: serde_json keeps no positions in a `Value`.
fn bundle_entry_lines(text: &str) -> Vec<usize> {
    let b = text.as_bytes();
    let (mut line, mut depth, mut i) = (1, 0usize, 0);
    let mut last_key: &str = "";
    let mut in_entry = false;
    let mut out = Vec::new();
    while i < b.len() {
        match b[i] {
            b'\n' => line += 1,
            b'"' => {
                let start = i + 1;
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                if depth == 1 {
                    last_key = text.get(start..i).unwrap_or("");
                }
            }
            c @ (b'{' | b'[') => {
                if in_entry && depth == 2 {
                    out.push(line);
                }
                if depth == 1 && c == b'[' && last_key == "entry" {
                    in_entry = true;
                }
                depth += 1;
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                if depth == 1 {
                    in_entry = false;
                }
            }
            _ => {}
        }
        i += 1;
    }
    out
}

fn bundle_entries(o: &Obj) -> Result<&[Value], String> {
    array(o, "entry", &Path::root("Bundle"))
}

fn entry_resource(entry: &Value) -> Option<&Value> {
    entry.as_object().and_then(|e| e.get("resource"))
}

fn resource_type(o: &Obj) -> Result<&str, String> {
    match o.get("resourceType") {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err("resourceType: expected a string".into()),
        None => Err("missing resourceType".into()),
    }
}

// ---------------------------------------------------------------------------------------
// Typed access with messages naming the element.

/// `None` when absent or null; FHIR forbids empty strings, so `""` counts as absent too.
fn opt_str(o: &Obj, key: &str, path: &Path) -> Result<Option<String>, String> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("{path}.{key}: expected a string")),
    }
}

/// A `date` (or `dateTime` when `time`), refused when it is not one: a malformed date would
/// otherwise be served, compared and cut as if it were.
fn opt_date(o: &Obj, key: &str, path: &Path, time: bool) -> Result<Option<String>, String> {
    let value = opt_str(o, key, path)?;
    match value {
        Some(v) if !super::is_fhir_date(&v, time) => Err(format!(
            "{path}.{key}: '{v}' is not a FHIR {} (YYYY, YYYY-MM, YYYY-MM-DD{})",
            if time { "dateTime" } else { "date" },
            if time {
                " or YYYY-MM-DDThh:mm:ss+zz:zz"
            } else {
                ""
            }
        )),
        value => Ok(value),
    }
}

fn req_str(o: &Obj, key: &str, path: &Path) -> Result<String, String> {
    opt_str(o, key, path)?.ok_or_else(|| format!("{path}: missing '{key}'"))
}

fn opt_bool(o: &Obj, key: &str, path: &Path) -> Result<Option<bool>, String> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(format!("{path}.{key}: expected true or false")),
    }
}

fn array<'a>(o: &'a Obj, key: &str, path: &Path) -> Result<&'a [Value], String> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(a)) => Ok(a),
        Some(_) => Err(format!("{path}.{key}: expected an array")),
    }
}

fn object<'a>(v: &'a Value, path: &Path) -> Result<&'a Obj, String> {
    v.as_object()
        .ok_or_else(|| format!("{path}: expected an object"))
}

/// The elements of `key` as objects, each with its path (`CodeSystem.concept[3]`).
fn objects<'a>(
    o: &'a Obj,
    key: &'a str,
    path: &'a Path<'a>,
) -> Result<Vec<(&'a Obj, Path<'a>)>, String> {
    array(o, key, path)?
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let p = path.at(key, i);
            object(v, &p).map(|o| (o, p))
        })
        .collect()
}

fn strings(o: &Obj, key: &str, path: &Path) -> Result<Vec<String>, String> {
    array(o, key, path)?
        .iter()
        .enumerate()
        .map(|(i, v)| match v {
            Value::String(s) => Ok(s.clone()),
            _ => Err(format!("{path}.{key}[{i}]: expected a string")),
        })
        .collect()
}

fn one_of(value: String, allowed: &[&str], what: &Path) -> Result<String, String> {
    if allowed.contains(&value.as_str()) {
        Ok(value)
    } else {
        Err(format!(
            "{what}: '{value}' is not one of {}",
            allowed.join(", ")
        ))
    }
}

// ---------------------------------------------------------------------------------------
// Shared metadata.

fn meta(o: &Obj, rt: &Path) -> Result<ResourceMeta, String> {
    let url = opt_str(o, "url", rt)?.unwrap_or_default();
    let status = match opt_str(o, "status", rt)? {
        Some(s) => one_of(s, PUBLICATION_STATUS, &rt.field("status"))?,
        // Required by FHIR, but a request-time resource without it is still usable.
        None => "unknown".to_string(),
    };
    let id = match opt_str(o, "id", rt)? {
        Some(id) => id,
        None => id_from_url(&url),
    };
    Ok(ResourceMeta {
        id,
        version: opt_str(o, "version", rt)?,
        name: opt_str(o, "name", rt)?,
        title: opt_str(o, "title", rt)?,
        status,
        experimental: opt_bool(o, "experimental", rt)?,
        date: opt_date(o, "date", rt, true)?,
        publisher: opt_str(o, "publisher", rt)?,
        description: opt_str(o, "description", rt)?,
        oids: oids(o, rt)?,
        language: opt_str(o, "language", rt)?,
        extensions: array(o, "extension", rt)?.to_vec(),
        url,
        origin: Origin::default(),
    })
}

/// A logical id for a resource that has none: the URL's last segment, restricted to the
/// characters FHIR allows in an id (`[A-Za-z0-9-.]{1,64}`).
fn id_from_url(url: &str) -> String {
    crate::model::fhir_id(super::last_segment(url))
}

/// OIDs from `identifier` values `urn:oid:X` (an array in R4 CodeSystem/ValueSet, a single
/// object in R4 ConceptMap: both are read).
fn oids(o: &Obj, rt: &Path) -> Result<Vec<String>, String> {
    let ids: Vec<&Value> = match o.get("identifier") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a.iter().collect(),
        Some(v @ Value::Object(_)) => vec![v],
        Some(_) => return Err(format!("{rt}.identifier: expected an array")),
    };
    let mut out: Vec<String> = Vec::new();
    for (i, v) in ids.into_iter().enumerate() {
        let path = rt.at("identifier", i);
        let value = opt_str(object(v, &path)?, "value", &path)?;
        if let Some(oid) = value.as_deref().and_then(|v| v.strip_prefix("urn:oid:")) {
            if !oid.is_empty() && !out.iter().any(|x| x == oid) {
                out.push(oid.to_string());
            }
        }
    }
    Ok(out)
}

fn coding(o: &Obj, path: &Path) -> Result<Coding, String> {
    Ok(Coding {
        system: opt_str(o, "system", path)?,
        version: opt_str(o, "version", path)?,
        code: opt_str(o, "code", path)?,
        display: opt_str(o, "display", path)?,
    })
}

/// A Coding, or `None` when it says nothing (`{}`, empty strings): an element without
/// content is absent in FHIR JSON, and a read renders none.
fn opt_coding(o: &Obj, path: &Path) -> Result<Option<Coding>, String> {
    let c = coding(o, path)?;
    let empty =
        c.system.is_none() && c.version.is_none() && c.code.is_none() && c.display.is_none();
    Ok((!empty).then_some(c))
}

fn designations(o: &Obj, path: &Path) -> Result<Vec<Designation>, String> {
    objects(o, "designation", path)?
        .into_iter()
        .map(|(d, p)| {
            let use_ = match d.get("use") {
                None | Some(Value::Null) => None,
                Some(u) => {
                    let up = p.field("use");
                    opt_coding(object(u, &up)?, &up)?.map(std::sync::Arc::new)
                }
            };
            let extensions = array(d, "extension", &p)?;
            Ok(Designation {
                language: opt_str(d, "language", &p)?,
                use_,
                value: req_str(d, "value", &p)?,
                extensions: (!extensions.is_empty()).then(|| Box::new(extensions.to_vec())),
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// CodeSystem.

fn code_system(o: &Obj) -> Result<CodeSystem, String> {
    let rt = &Path::root("CodeSystem");
    let meta = meta(o, rt)?;
    if meta.url.is_empty() {
        return Err("CodeSystem: missing 'url'".into());
    }
    let content = match opt_str(o, "content", rt)? {
        Some(c) => one_of(c, CONTENT_MODES, &rt.field("content"))?,
        None => "complete".to_string(),
    };
    let mut concepts = Vec::new();
    let mut seen = HashMap::new();
    flatten(o, None, rt, &mut concepts, &mut seen)?;
    apply_child_properties(&mut concepts, &seen);
    let mut cs = CodeSystem::new(meta, concepts);
    cs.content = content;
    cs.case_sensitive = opt_bool(o, "caseSensitive", rt)?;
    cs.hierarchy_meaning = opt_str(o, "hierarchyMeaning", rt)?;
    cs.value_set = opt_str(o, "valueSet", rt)?;
    cs.supplements = opt_str(o, "supplements", rt)?;
    cs.property_defs = property_defs(o, rt)?;
    Ok(cs)
}

fn property_defs(o: &Obj, rt: &Path) -> Result<Vec<PropertyDef>, String> {
    objects(o, "property", rt)?
        .into_iter()
        .map(|(p, path)| {
            Ok(PropertyDef {
                code: req_str(p, "code", &path)?,
                uri: opt_str(p, "uri", &path)?,
                description: opt_str(p, "description", &path)?,
                type_: one_of(
                    req_str(p, "type", &path)?,
                    PROPERTY_TYPES,
                    &path.field("type"),
                )?,
            })
        })
        .collect()
}

/// Appends the concepts of `o.concept` depth first (a parent before its children, as
/// published); nesting becomes `parents`. `seen` maps each code to its index in `out`.
fn flatten(
    o: &Obj,
    parent: Option<&str>,
    path: &Path,
    out: &mut Vec<Concept>,
    seen: &mut HashMap<String, usize>,
) -> Result<(), String> {
    for (c, p) in objects(o, "concept", path)? {
        let concept = concept(c, parent, &p)?;
        if let Some(&first) = seen.get(&concept.code) {
            return Err(format!(
                "{p}: duplicate code '{}' (already defined by concept number {})",
                concept.code,
                first + 1
            ));
        }
        let code = concept.code.clone();
        seen.insert(code.clone(), out.len());
        out.push(concept);
        flatten(c, Some(&code), &p, out, seen)?;
    }
    Ok(())
}

fn concept(c: &Obj, parent: Option<&str>, path: &Path) -> Result<Concept, String> {
    let code = req_str(c, "code", path)?;
    let properties = objects(c, "property", path)?
        .into_iter()
        .map(|(p, pp)| {
            Ok(ConceptProperty {
                code: req_str(p, "code", &pp)?.into(),
                value: property_value(p, &pp)?,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    // Parents: the enclosing concept, then `parent` properties (kept in `properties` too).
    let mut parents: Vec<String> = parent.map(str::to_string).into_iter().collect();
    for p in &properties {
        if let ("parent", PropertyValue::Code(v)) = (&*p.code, &p.value) {
            if !parents.contains(v) {
                parents.push(v.clone());
            }
        }
    }
    Ok(Concept {
        display: opt_str(c, "display", path)?,
        definition: opt_str(c, "definition", path)?,
        designations: designations(c, path)?,
        properties,
        parents,
        extensions: array(c, "extension", path)?.to_vec(),
        code,
    })
}

/// A `child` property on X naming Y makes X a parent of Y.
fn apply_child_properties(concepts: &mut [Concept], index: &HashMap<String, usize>) {
    let mut links = Vec::new();
    for c in concepts.iter() {
        for p in &c.properties {
            if let ("child", PropertyValue::Code(child)) = (&*p.code, &p.value) {
                if let Some(&i) = index.get(child) {
                    links.push((i, c.code.clone()));
                }
            }
        }
    }
    for (i, parent) in links {
        if !concepts[i].parents.contains(&parent) {
            concepts[i].parents.push(parent);
        }
    }
}

fn property_value(p: &Obj, path: &Path) -> Result<PropertyValue, String> {
    for (key, v) in p {
        let Some(kind) = key.strip_prefix("value") else {
            continue;
        };
        let vpath = path.field(key);
        // An empty string is no value (FHIR JSON has no empty primitives; a read omits it).
        let text = || match v {
            Value::String(s) if s.is_empty() => Err(format!("{vpath}: empty value")),
            Value::String(s) => Ok(s.clone()),
            _ => Err(format!("{vpath}: expected a string")),
        };
        return match kind {
            "Code" => text().map(PropertyValue::Code),
            "String" => text().map(PropertyValue::String),
            "DateTime" => text().map(PropertyValue::DateTime),
            "Coding" => opt_coding(object(v, &vpath)?, &vpath)?
                .map(|c| PropertyValue::Coding(Box::new(c)))
                .ok_or_else(|| format!("{vpath}: empty Coding")),
            "Integer" => v
                .as_i64()
                .map(PropertyValue::Integer)
                .ok_or_else(|| format!("{vpath}: expected an integer")),
            "Boolean" => v
                .as_bool()
                .map(PropertyValue::Boolean)
                .ok_or_else(|| format!("{vpath}: expected true or false")),
            // Without serde_json's arbitrary_precision the literal is already parsed; this is
            // the closest text to it.
            "Decimal" => match v {
                Value::Number(n) => Ok(PropertyValue::Decimal(n.to_string())),
                _ => Err(format!("{vpath}: expected a number")),
            },
            _ => Err(format!("{vpath}: unsupported property type")),
        };
    }
    Err(format!("{path}: missing value[x]"))
}

// ---------------------------------------------------------------------------------------
// ValueSet.

fn value_set(o: &Obj) -> Result<ValueSet, String> {
    let rt = &Path::root("ValueSet");
    let compose = match o.get("compose") {
        None | Some(Value::Null) => Compose::default(),
        Some(c) => {
            let path = rt.field("compose");
            compose(object(c, &path)?, &path)?
        }
    };
    Ok(ValueSet {
        meta: meta(o, rt)?,
        immutable: opt_bool(o, "immutable", rt)?,
        compose,
        expansion: stored_expansion(o, rt)?,
        contained: array(o, "contained", rt)?.to_vec(),
    })
}

/// `ValueSet.expansion`, kept as JSON: an object, or nothing when absent or empty (an
/// element without content is absent in FHIR JSON, and a read renders none).
fn stored_expansion(o: &Obj, rt: &Path) -> Result<Option<Value>, String> {
    match o.get("expansion") {
        None | Some(Value::Null) => Ok(None),
        Some(e) => {
            let e = object(e, &rt.field("expansion"))?;
            Ok((!e.is_empty()).then(|| Value::Object(e.clone())))
        }
    }
}

fn compose(c: &Obj, path: &Path) -> Result<Compose, String> {
    let components = |key: &str| -> Result<Vec<ConceptSetComponent>, String> {
        objects(c, key, path)?
            .into_iter()
            .map(|(i, p)| concept_set(i, &p))
            .collect()
    };
    Ok(Compose {
        locked_date: opt_date(c, "lockedDate", path, false)?,
        inactive: opt_bool(c, "inactive", path)?,
        include: components("include")?,
        exclude: components("exclude")?,
        extensions: array(c, "extension", path)?.to_vec(),
    })
}

fn concept_set(i: &Obj, path: &Path) -> Result<ConceptSetComponent, String> {
    let concepts = objects(i, "concept", path)?
        .into_iter()
        .map(|(c, p)| {
            Ok(ConceptReference {
                code: req_str(c, "code", &p)?,
                display: opt_str(c, "display", &p)?,
                designations: designations(c, &p)?,
                extensions: array(c, "extension", &p)?.to_vec(),
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let filters = objects(i, "filter", path)?
        .into_iter()
        .map(|(f, p)| {
            Ok(Filter {
                property: req_str(f, "property", &p)?,
                op: filter_op(f, &p)?,
                value: opt_str(f, "value", &p)?,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(ConceptSetComponent {
        system: opt_str(i, "system", path)?,
        version: opt_str(i, "version", path)?,
        concepts,
        filters,
        value_sets: strings(i, "valueSet", path)?,
        ..Default::default()
    })
}

/// `op`, or for an R5-only operator in R4, the `valueCode` of the extension on `_op`.
fn filter_op(f: &Obj, path: &Path) -> Result<String, String> {
    if let Some(op) = opt_str(f, "op", path)? {
        return Ok(op);
    }
    if let Some(ext) = f.get("_op").and_then(Value::as_object) {
        for (e, p) in objects(ext, "extension", &path.field("_op"))? {
            if e.get("url").and_then(Value::as_str) == Some(FILTER_OP_EXTENSION) {
                if let Some(code) = opt_str(e, "valueCode", &p)? {
                    return Ok(code);
                }
            }
        }
    }
    Err(format!("{path}: missing 'op'"))
}

// ---------------------------------------------------------------------------------------
// ConceptMap.

fn concept_map(o: &Obj) -> Result<ConceptMap, String> {
    let rt = &Path::root("ConceptMap");
    let scope = |names: [&str; 4]| -> Result<Option<String>, String> {
        for n in names {
            if let Some(s) = opt_str(o, n, rt)? {
                return Ok(Some(s));
            }
        }
        Ok(None)
    };
    Ok(ConceptMap {
        meta: meta(o, rt)?,
        source_scope: scope([
            "sourceUri",
            "sourceCanonical",
            "sourceScopeUri",
            "sourceScopeCanonical",
        ])?,
        target_scope: scope([
            "targetUri",
            "targetCanonical",
            "targetScopeUri",
            "targetScopeCanonical",
        ])?,
        groups: objects(o, "group", rt)?
            .into_iter()
            .map(|(g, p)| map_group(g, &p))
            .collect::<Result<_, _>>()?,
    })
}

fn map_group(g: &Obj, path: &Path) -> Result<MapGroup, String> {
    Ok(MapGroup {
        source: opt_str(g, "source", path)?,
        source_version: opt_str(g, "sourceVersion", path)?,
        target: opt_str(g, "target", path)?,
        target_version: opt_str(g, "targetVersion", path)?,
        elements: objects(g, "element", path)?
            .into_iter()
            .map(|(e, p)| map_element(e, &p))
            .collect::<Result<_, _>>()?,
    })
}

fn map_element(e: &Obj, path: &Path) -> Result<MapElement, String> {
    let mut targets = objects(e, "target", path)?
        .into_iter()
        .map(|(t, p)| {
            Ok(MapTarget {
                code: opt_str(t, "code", &p)?,
                display: opt_str(t, "display", &p)?,
                equivalence: equivalence(t, &p)?,
                comment: opt_str(t, "comment", &p)?,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    // R5 `noMap: true` is R4's target without code and equivalence `unmatched`.
    if targets.is_empty() && opt_bool(e, "noMap", path)? == Some(true) {
        targets.push(MapTarget {
            equivalence: "unmatched".into(),
            ..Default::default()
        });
    }
    Ok(MapElement {
        code: req_str(e, "code", path)?,
        display: opt_str(e, "display", path)?,
        targets,
    })
}

/// R4 `equivalence`, or R5 `relationship` mapped to its R4 counterpart.
fn equivalence(t: &Obj, path: &Path) -> Result<String, String> {
    if let Some(eq) = opt_str(t, "equivalence", path)? {
        return one_of(
            eq,
            super::csv_layout::R4_EQUIVALENCES,
            &path.field("equivalence"),
        );
    }
    let Some(rel) = opt_str(t, "relationship", path)? else {
        return Err(format!("{path}: missing 'equivalence'"));
    };
    let r4 = match rel.as_str() {
        "equivalent" => "equivalent",
        "related-to" => "relatedto",
        "source-is-narrower-than-target" => "wider",
        "source-is-broader-than-target" => "narrower",
        "not-related-to" => "disjoint",
        other => {
            return Err(format!(
                "{path}.relationship: '{other}' is not one of related-to, equivalent, source-is-narrower-than-target, source-is-broader-than-target, not-related-to"
            ))
        }
    };
    Ok(r4.to_string())
}

// ---------------------------------------------------------------------------------------
// NamingSystem.

/// One alias per `uniqueId` of type oid, naming the system's URI: a `uniqueId` of type uri
/// (the preferred one first) or, in R5, `url`.
fn naming_system(o: &Obj) -> Result<Vec<Resource>, String> {
    let rt = &Path::root("NamingSystem");
    let mut oids = Vec::new();
    let mut uris = Vec::new();
    for (u, p) in objects(o, "uniqueId", rt)? {
        let kind = req_str(u, "type", &p)?;
        let value = req_str(u, "value", &p)?;
        match kind.as_str() {
            "oid" => oids.push(value.strip_prefix("urn:oid:").unwrap_or(&value).to_string()),
            "uri" => uris.push((opt_bool(u, "preferred", &p)? != Some(true), value)),
            _ => {}
        }
    }
    if oids.is_empty() {
        return Ok(Vec::new());
    }
    uris.sort_by_key(|(not_preferred, _)| *not_preferred);
    let url = match uris.into_iter().next() {
        Some((_, u)) => u,
        None => opt_str(o, "url", rt)?
            .ok_or("NamingSystem: an oid uniqueId needs a uri uniqueId (or url) to name")?,
    };
    Ok(oids
        .into_iter()
        .map(|oid| Resource::Alias {
            oid,
            url: url.clone(),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cs(v: Value) -> CodeSystem {
        match parse_resource(&v) {
            Ok(Resource::CodeSystem(cs)) => cs,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn nested_concepts_are_flattened() {
        let c = cs(json!({
            "resourceType": "CodeSystem", "url": "http://x", "status": "active", "content": "complete",
            "identifier": [{"system": "urn:ietf:rfc:3986", "value": "urn:oid:1.2.3"}, {"value": "urn:oid:URN"}],
            "concept": [
                {"code": "a", "concept": [{"code": "b", "concept": [{"code": "c"}]}]},
                {"code": "d", "property": [{"code": "parent", "valueCode": "a"}, {"code": "child", "valueCode": "e"}]},
                {"code": "e", "property": [{"code": "w", "valueDecimal": 1.5}, {"code": "i", "valueInteger": 3}]}
            ]
        }));
        assert_eq!(c.meta.id, "x");
        assert_eq!(c.meta.oids, vec!["1.2.3", "URN"]);
        let codes: Vec<_> = c.concepts.iter().map(|c| c.code.as_str()).collect();
        assert_eq!(codes, ["a", "b", "c", "d", "e"]);
        assert_eq!(c.concepts[2].parents, vec!["b"]);
        assert_eq!(c.concepts[3].parents, vec!["a"]);
        assert_eq!(c.concepts[3].properties.len(), 2);
        assert_eq!(c.concepts[4].parents, vec!["d"]);
        assert_eq!(
            c.concepts[4].properties[0].value,
            PropertyValue::Decimal("1.5".into())
        );
        assert!(c.subsumes("a", "c"));
    }

    #[test]
    fn messages_name_the_element() {
        let err = |v: Value| parse_resource(&v).unwrap_err();
        assert_eq!(err(json!([])), "expected a JSON object");
        assert_eq!(
            err(json!({"resourceType": "CodeSystem", "status": "active"})),
            "CodeSystem: missing 'url'"
        );
        assert_eq!(
            err(
                json!({"resourceType": "CodeSystem", "url": "u", "concept": [{"code": "a"}, {"display": "x"}]})
            ),
            "CodeSystem.concept[1]: missing 'code'"
        );
        assert_eq!(
            err(json!({"resourceType": "CodeSystem", "url": "u", "concept": [{"code": "a", "concept": [{"code": "a"}]}]})),
            "CodeSystem.concept[0].concept[0]: duplicate code 'a' (already defined by concept number 1)"
        );
        assert_eq!(
            err(json!({"resourceType": "CodeSystem", "url": "u", "status": "final"})),
            "CodeSystem.status: 'final' is not one of draft, active, retired, unknown"
        );
        assert_eq!(
            err(
                json!({"resourceType": "CodeSystem", "url": "u", "concept": [{"code": "a", "property": [{"code": "p"}]}]})
            ),
            "CodeSystem.concept[0].property[0]: missing value[x]"
        );
        assert_eq!(
            err(
                json!({"resourceType": "ValueSet", "compose": {"include": [{"filter": [{"property": "p", "value": "v"}]}]}})
            ),
            "ValueSet.compose.include[0].filter[0]: missing 'op'"
        );
        assert_eq!(
            err(json!({"resourceType": "Patient"})).split(" (").next(),
            Some("unsupported resourceType 'Patient'")
        );
        assert_eq!(
            err(json!({"resourceType": "ValueSet", "version": 2})),
            "ValueSet.version: expected a string"
        );
    }

    #[test]
    fn value_set_with_r5_filter_op_extension() {
        let v = json!({
            "resourceType": "ValueSet", "status": "active",
            "compose": {"include": [{"system": "http://s", "filter": [
                {"property": "concept", "_op": {"extension": [{"url": FILTER_OP_EXTENSION, "valueCode": "child-of"}]}, "value": "a"}
            ]}]}
        });
        let Ok(Resource::ValueSet(vs)) = parse_resource(&v) else {
            panic!()
        };
        assert_eq!(vs.meta.url, "");
        assert_eq!(vs.compose.include[0].filters[0].op, "child-of");
    }

    #[test]
    fn concept_map_r5_relationships() {
        let v = json!({
            "resourceType": "ConceptMap", "url": "http://m", "status": "draft",
            "identifier": {"value": "urn:oid:1.2"},
            "sourceScopeUri": "http://vs1",
            "group": [{"source": "s", "target": "t", "element": [
                {"code": "a", "target": [{"code": "x", "relationship": "source-is-narrower-than-target"}]},
                {"code": "b", "noMap": true}
            ]}]
        });
        let Ok(Resource::ConceptMap(cm)) = parse_resource(&v) else {
            panic!()
        };
        assert_eq!(cm.meta.oids, vec!["1.2"]);
        assert_eq!(cm.source_scope.as_deref(), Some("http://vs1"));
        assert_eq!(cm.groups[0].elements[0].targets[0].equivalence, "wider");
        assert_eq!(cm.groups[0].elements[1].targets[0].equivalence, "unmatched");
    }

    #[test]
    fn naming_system_gives_aliases() {
        let v = json!({"resourceType": "NamingSystem", "uniqueId": [
            {"type": "oid", "value": "1.2.3"}, {"type": "uri", "value": "http://a"},
            {"type": "uri", "value": "http://b", "preferred": true}, {"type": "oid", "value": "urn:oid:4.5"}
        ]});
        let rs = parse_resources(&v).unwrap();
        assert_eq!(rs.len(), 2);
        let Resource::Alias { oid, url } = &rs[1] else {
            panic!()
        };
        assert_eq!((oid.as_str(), url.as_str()), ("4.5", "http://b"));
    }

    /// A filter without value: kept from a request (refused when used), refused from a file.
    #[test]
    fn filter_without_value_is_read_from_requests_only() {
        let v = json!({"resourceType": "ValueSet", "url": "http://vs", "status": "active",
            "compose": {"include": [{"system": "http://s", "filter": [
                {"property": "concept", "op": "is-a", "value": "a"},
                {"property": "concept", "op": "is-a"}]}]}});
        let Ok(Resource::ValueSet(vs)) = parse_resource(&v) else {
            panic!("a request's value set is read");
        };
        assert_eq!(vs.compose.include[0].filters[1].value, None);
        let Err(errors) = parse_file(v.to_string().as_bytes(), "vs.json") else {
            panic!("a stored value set is refused");
        };
        assert!(
            errors[0]
                .to_string()
                .ends_with("ValueSet.compose.include[0].filter[1]: missing 'value'"),
            "{}",
            errors[0]
        );
    }

    #[test]
    fn files_locate_errors() {
        let e = parse_file(
            b"{\n  \"resourceType\": \"CodeSystem\",\n  \"url\" \"x\"\n}",
            "a.json",
        )
        .unwrap_err();
        assert_eq!(e[0].to_string(), "a.json:3:9: invalid JSON: expected `:`");
        assert!(parse_file(b"{\"name\": \"pkg\"}", "package.json")
            .unwrap()
            .is_empty());
        let bundle = b"{\"resourceType\": \"Bundle\", \"entry\": [\n  {\"resource\": {\"resourceType\": \"Patient\"}},\n  {\"resource\": {\"resourceType\": \"CodeSystem\", \"url\": \"u\", \"status\": \"active\", \"concept\": [{\"code\": \"a\"}]}},\n  {\"resource\": {\"resourceType\": \"CodeSystem\", \"status\": \"active\"}}\n]}";
        let e = parse_file(bundle, "b.json").unwrap_err();
        assert_eq!(
            e[0].to_string(),
            "b.json:4: Bundle.entry[2]: CodeSystem: missing 'url'"
        );
        let ok = b"{\"resourceType\": \"Bundle\", \"entry\": [\n  {\"resource\": {\"resourceType\": \"Patient\"}},\n  {\"resource\": {\"resourceType\": \"CodeSystem\", \"url\": \"u\", \"status\": \"active\"}}\n]}";
        let rs = parse_file(ok, "b.json").unwrap();
        assert_eq!(rs.len(), 1);
        assert_eq!(
            rs[0].meta().unwrap().origin,
            Origin {
                file: "b.json".into(),
                line: 3
            }
        );
    }
}
