//! Operation parameters as they arrive: a FHIR `Parameters` body (POST) or a query string
//! (GET), read into one list of named values.

use serde_json::Value;

use crate::error::{Error, Result};
use crate::ops::validate::CodingInput;

/// One parameter value.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamValue {
    /// Any primitive, as text (`valueString`, `valueCode`, `valueUri`, `valueBoolean`, …).
    Primitive(String),
    Coding(CodingInput),
    /// Codings and text.
    CodeableConcept(Vec<CodingInput>, Option<String>),
    /// An inline resource (`resource`), e.g. `valueSet` or `tx-resource`.
    Resource(Value),
    /// Nested parameters (`part`).
    Parts(Params),
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params(pub Vec<(String, ParamValue)>);

/// Default upper bound on the number of parameters in one request (`--max-params` sets the
/// one the HTTP layer enforces).
pub const MAX_PARAMS: usize = 1_000;

fn too_many(n: usize, max: usize) -> Error {
    Error::TooCostly(format!("Too many parameters ({n}, limit {max})"))
}

fn coding_from(v: &Value) -> CodingInput {
    let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    CodingInput {
        system: s("system"),
        version: s("version"),
        code: s("code"),
        display: s("display"),
    }
}

impl Params {
    /// Reads a FHIR `Parameters` resource.
    pub fn from_json(body: &Value) -> Result<Params> {
        Self::from_json_limited(body, MAX_PARAMS)
    }

    /// Reads a FHIR `Parameters` resource of at most `max` parameters, nested parts included.
    pub fn from_json_limited(body: &Value, max: usize) -> Result<Params> {
        if body.get("resourceType").and_then(Value::as_str) != Some("Parameters") {
            return Err(Error::Invalid(
                "The request body must be a FHIR Parameters resource".into(),
            ));
        }
        let params = Self::from_parameter_array(body.get("parameter"), max)?;
        match params.count() {
            n if n > max => Err(too_many(n, max)),
            _ => Ok(params),
        }
    }

    /// Number of parameters, nested `part`s included.
    pub fn count(&self) -> usize {
        self.0
            .iter()
            .map(|(_, v)| match v {
                ParamValue::Parts(p) => 1 + p.count(),
                _ => 1,
            })
            .sum()
    }

    fn from_parameter_array(arr: Option<&Value>, max: usize) -> Result<Params> {
        let Some(arr) = arr else {
            return Ok(Params::default());
        };
        let arr = arr
            .as_array()
            .ok_or_else(|| Error::Invalid("Parameters.parameter must be an array".into()))?;
        if arr.len() > max {
            return Err(too_many(arr.len(), max));
        }
        let mut out = Vec::with_capacity(arr.len());
        for p in arr {
            let name = p
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| Error::Invalid("A parameter has no name".into()))?
                .to_string();
            out.push((name, Self::value_of(p, max)?));
        }
        Ok(Params(out))
    }

    fn value_of(p: &Value, max: usize) -> Result<ParamValue> {
        if let Some(r) = p.get("resource") {
            return Ok(ParamValue::Resource(r.clone()));
        }
        if let Some(parts) = p.get("part") {
            return Ok(ParamValue::Parts(Self::from_parameter_array(
                Some(parts),
                max,
            )?));
        }
        let Some(obj) = p.as_object() else {
            return Err(Error::Invalid("A parameter must be an object".into()));
        };
        for (k, v) in obj {
            let Some(kind) = k.strip_prefix("value") else {
                continue;
            };
            if matches!(kind, "Coding" | "CodeableConcept") && !v.is_object() {
                return Err(Error::Invalid(format!(
                    "Parameter '{}': value{kind} must be an object",
                    p.get("name").and_then(Value::as_str).unwrap_or("")
                )));
            }
            return Ok(match kind {
                "Coding" => ParamValue::Coding(coding_from(v)),
                "CodeableConcept" => ParamValue::CodeableConcept(
                    v.get("coding")
                        .and_then(Value::as_array)
                        .map(|a| a.iter().map(coding_from).collect())
                        .unwrap_or_default(),
                    v.get("text").and_then(Value::as_str).map(str::to_string),
                ),
                _ => match v {
                    Value::String(s) => ParamValue::Primitive(s.clone()),
                    Value::Bool(b) => ParamValue::Primitive(b.to_string()),
                    Value::Number(n) => ParamValue::Primitive(n.to_string()),
                    _ => {
                        return Err(Error::Invalid(format!(
                            "Parameter value{kind} is not supported here"
                        )))
                    }
                },
            });
        }
        Err(Error::Invalid(format!(
            "Parameter '{}' has no value",
            p.get("name").and_then(Value::as_str).unwrap_or("")
        )))
    }

    /// Reads a `Parameters` body of primitive parameters (`{"name": …, "valueX": "…"}`, string
    /// or boolean values) and plain `valueCoding`s (string `system`/`version`/`code`/`display`,
    /// `userSelected`) without building a JSON tree; `None` for any other shape (resources,
    /// parts, codeable concepts, numbers, other members, more than `max` parameters), which
    /// `from_json_limited` then reads (and reports errors of) as before.
    pub fn from_simple_json(body: &[u8], max: usize) -> Option<Params> {
        let doc: simple::Body = serde_json::from_slice(body).ok()?;
        if doc.resource_type.as_deref() != Some("Parameters") || doc.parameter.len() > max {
            return None;
        }
        Some(Params(
            doc.parameter
                .into_iter()
                .map(|p| {
                    let value = match p.value {
                        simple::Value::Text(t) => ParamValue::Primitive(t),
                        simple::Value::Coding(c) => ParamValue::Coding(CodingInput {
                            system: c.system,
                            version: c.version,
                            code: c.code,
                            display: c.display,
                        }),
                    };
                    (p.name, value)
                })
                .collect(),
        ))
    }

    /// Reads a query string (`a=1&b=2`); every value is a primitive.
    pub fn from_query(query: &str) -> Result<Params> {
        Self::from_query_limited(query, MAX_PARAMS)
    }

    /// Reads a query string of at most `max` parameters (counted before decoding).
    pub fn from_query_limited(query: &str, max: usize) -> Result<Params> {
        let n = query.split('&').filter(|p| !p.is_empty()).count();
        if n > max {
            return Err(too_many(n, max));
        }
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
            .map_err(|e| Error::Invalid(format!("Malformed query string: {e}")))?;
        Ok(Params(
            pairs
                .into_iter()
                .filter(|(k, _)| !k.starts_with('_'))
                .map(|(k, v)| (k, ParamValue::Primitive(v)))
                .collect(),
        ))
    }

    /// Reads a query string keeping `_`-prefixed control parameters (`_format`, `_count`).
    pub fn from_query_all(query: &str) -> Result<Params> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
            .map_err(|e| Error::Invalid(format!("Malformed query string: {e}")))?;
        Ok(Params(
            pairs
                .into_iter()
                .map(|(k, v)| (k, ParamValue::Primitive(v)))
                .collect(),
        ))
    }

    pub fn merge(&mut self, other: Params) {
        self.0.extend(other.0);
    }

    pub fn get(&self, name: &str) -> Option<&ParamValue> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a ParamValue> + 'a {
        self.0
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v)
    }

    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// A primitive parameter as text.
    pub fn str(&self, name: &str) -> Result<Option<&str>> {
        match self.get(name) {
            None => Ok(None),
            Some(ParamValue::Primitive(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(Error::Invalid(format!(
                "Parameter '{name}' must be a primitive value"
            ))),
        }
    }

    pub fn bool(&self, name: &str) -> Result<Option<bool>> {
        match self.str(name)? {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(other) => Err(Error::Invalid(format!(
                "Parameter '{name}' must be true or false, not '{other}'"
            ))),
        }
    }

    pub fn usize(&self, name: &str) -> Result<Option<usize>> {
        match self.str(name)? {
            None => Ok(None),
            Some(s) => s.parse::<usize>().map(Some).map_err(|_| {
                Error::Invalid(format!(
                    "Parameter '{name}' must be a non-negative integer, not '{s}'"
                ))
            }),
        }
    }

    pub fn coding(&self, name: &str) -> Result<Option<CodingInput>> {
        match self.get(name) {
            None => Ok(None),
            Some(ParamValue::Coding(c)) => Ok(Some(c.clone())),
            Some(_) => Err(Error::Invalid(format!(
                "Parameter '{name}' must be a Coding"
            ))),
        }
    }

    pub fn codeable_concept(
        &self,
        name: &str,
    ) -> Result<Option<(Vec<CodingInput>, Option<String>)>> {
        match self.get(name) {
            None => Ok(None),
            Some(ParamValue::CodeableConcept(c, t)) => Ok(Some((c.clone(), t.clone()))),
            Some(_) => Err(Error::Invalid(format!(
                "Parameter '{name}' must be a CodeableConcept"
            ))),
        }
    }

    pub fn resource(&self, name: &str) -> Result<Option<&Value>> {
        match self.get(name) {
            None => Ok(None),
            Some(ParamValue::Resource(r)) => Ok(Some(r)),
            Some(_) => Err(Error::Invalid(format!(
                "Parameter '{name}' must be a resource"
            ))),
        }
    }
}

/// The shape `Params::from_simple_json` reads; anything else fails to deserialize.
mod simple {
    use std::borrow::Cow;
    use std::fmt;

    use serde::de::{Deserializer, Error, MapAccess, Visitor};
    use serde::Deserialize;

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Body {
        #[serde(rename = "resourceType")]
        pub resource_type: Option<String>,
        #[serde(default)]
        pub parameter: Vec<Param>,
    }

    /// `{"name": "…", "value<Type>": "…" | true | false}` or `{"name": "…", "valueCoding":
    /// {…}}`, members in any order.
    pub struct Param {
        pub name: String,
        pub value: Value,
    }

    pub enum Value {
        Text(String),
        Coding(Coding),
    }

    /// A `Coding` with only the members the JSON-tree reader looks at (it ignores the others:
    /// with any other member, or a non-string one, the body takes the tree path).
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Coding {
        pub system: Option<String>,
        pub version: Option<String>,
        pub code: Option<String>,
        pub display: Option<String>,
        #[serde(rename = "userSelected")]
        #[allow(dead_code)] // accepted, not used (as on the tree path)
        pub user_selected: Option<bool>,
    }

    impl<'de> Deserialize<'de> for Param {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_map(ParamVisitor)
        }
    }

    struct ParamVisitor;

    /// A string or a boolean, as text.
    struct Primitive(String);

    impl<'de> Deserialize<'de> for Primitive {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl Visitor<'_> for V {
                type Value = Primitive;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("a string or a boolean")
                }
                fn visit_str<E: Error>(self, v: &str) -> Result<Primitive, E> {
                    Ok(Primitive(v.to_string()))
                }
                fn visit_string<E: Error>(self, v: String) -> Result<Primitive, E> {
                    Ok(Primitive(v))
                }
                fn visit_bool<E: Error>(self, v: bool) -> Result<Primitive, E> {
                    Ok(Primitive(v.to_string()))
                }
            }
            d.deserialize_any(V)
        }
    }

    impl<'de> Visitor<'de> for ParamVisitor {
        type Value = Param;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a parameter with a name and a primitive value")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Param, A::Error> {
            let (mut name, mut value) = (None, None);
            while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                if key == "name" && name.is_none() {
                    name = Some(map.next_value::<String>()?);
                } else if key == "valueCoding" && value.is_none() {
                    value = Some(Value::Coding(map.next_value::<Coding>()?));
                } else if key.starts_with("value")
                    && key != "valueCodeableConcept"
                    && value.is_none()
                {
                    value = Some(Value::Text(map.next_value::<Primitive>()?.0));
                } else {
                    return Err(A::Error::custom("not a simple parameter"));
                }
            }
            match (name, value) {
                (Some(name), Some(value)) => Ok(Param { name, value }),
                _ => Err(A::Error::custom("not a simple parameter")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Found by the `request` fuzz target: the fast path read `valueCodeableConcept: true`
    /// as the text "true", the general reader as an empty CodeableConcept. It is neither.
    #[test]
    fn a_coding_or_codeable_concept_must_be_an_object() {
        for kind in ["valueCodeableConcept", "valueCoding"] {
            let body = json!({"resourceType": "Parameters", "parameter": [
                {"name": "coding", kind: true}]});
            let bytes = body.to_string();
            assert!(
                Params::from_simple_json(bytes.as_bytes(), 10).is_none(),
                "{kind}"
            );
            match Params::from_json(&body) {
                Err(Error::Invalid(m)) => assert!(m.contains("must be an object"), "{m}"),
                other => panic!("{kind}: {other:?}"),
            }
        }
    }

    #[test]
    fn reads_parameters_body() {
        let p = Params::from_json(&json!({"resourceType":"Parameters","parameter":[
            {"name":"code","valueCode":"N"},
            {"name":"coding","valueCoding":{"system":"s","code":"c"}},
            {"name":"activeOnly","valueBoolean":true}]}))
        .unwrap();
        assert_eq!(p.str("code").unwrap(), Some("N"));
        assert_eq!(p.bool("activeOnly").unwrap(), Some(true));
        assert_eq!(
            p.coding("coding").unwrap().unwrap().code.as_deref(),
            Some("c")
        );
    }

    #[test]
    fn reads_query_and_rejects_bad_booleans() {
        let p = Params::from_query("code=N&system=urn%3Aoid%3A1.2&activeOnly=yes").unwrap();
        assert_eq!(p.str("system").unwrap(), Some("urn:oid:1.2"));
        assert!(p.bool("activeOnly").is_err());
    }

    #[test]
    fn simple_bodies_read_as_the_json_tree_does() {
        let bodies = [
            r#"{"resourceType":"Parameters","parameter":[{"name":"url","valueUri":"http://x"},{"valueCode":"a\"b","name":"code"},{"name":"activeOnly","valueBoolean":true}]}"#,
            r#"{"resourceType":"Parameters"}"#,
            r#"{"resourceType":"Parameters","parameter":[]}"#,
            r#"{"resourceType":"Parameters","parameter":[{"name":"url","valueUri":"u"},{"name":"coding","valueCoding":{"system":"s","code":"c","display":"d","version":"1","userSelected":true}}]}"#,
            r#"{"resourceType":"Parameters","parameter":[{"valueCoding":{"code":"a"},"name":"c"}]}"#,
        ];
        for b in bodies {
            let tree: Value = serde_json::from_str(b).unwrap();
            assert_eq!(
                Params::from_simple_json(b.as_bytes(), MAX_PARAMS),
                Some(Params::from_json(&tree).unwrap()),
                "{b}"
            );
        }
        // Other shapes are left to the JSON tree (and its error messages).
        for b in [
            r#"{"resourceType":"Patient","parameter":[]}"#,
            r#"{"resourceType":"Parameters","id":"x","parameter":[]}"#,
            r#"{"resourceType":"Parameters","parameter":[{"name":"n","valueInteger":3}]}"#,
            r#"{"resourceType":"Parameters","parameter":[{"name":"c","valueCoding":{"code":"a","extension":[]}}]}"#,
            r#"{"resourceType":"Parameters","parameter":[{"name":"c","valueCoding":{"code":3}}]}"#,
            r#"{"resourceType":"Parameters","parameter":[{"name":"c","valueCodeableConcept":{"coding":[]}}]}"#,
            r#"{"resourceType":"Parameters","parameter":[{"name":"r","resource":{}}]}"#,
            r#"{"resourceType":"Parameters","parameter":[{"name":"p","part":[]}]}"#,
            r#"{"resourceType":"Parameters","parameter":[{"valueCode":"a"}]}"#,
            r#"{"resourceType":"Parameters","parameter":[{"name":"a","valueCode":"a","valueString":"b"}]}"#,
            r#"{"resourceType":"Parameters","parameter":[{"name":"a"}]}"#,
            r#"{"resourceType":"Parameters","parameter":{}}"#,
            r#"not json"#,
        ] {
            assert_eq!(
                Params::from_simple_json(b.as_bytes(), MAX_PARAMS),
                None,
                "{b}"
            );
        }
        let many = r#"{"resourceType":"Parameters","parameter":[{"name":"a","valueCode":"1"},{"name":"b","valueCode":"2"}]}"#;
        assert_eq!(Params::from_simple_json(many.as_bytes(), 1), None);
    }

    #[test]
    fn refuses_non_parameters_body() {
        assert!(Params::from_json(&json!({"resourceType":"Patient"})).is_err());
    }
}
