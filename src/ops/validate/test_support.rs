//! Small catalogs and a step runner for the unit tests of the validation steps.

use serde_json::{json, Value};

use super::{CodingCheck, CodingInput, InputForm, Options, Step, Target};
use crate::catalog::Catalog;
use crate::load::{fhir_json::parse_resource, Resource};
use crate::model::ValueSet;
use crate::ops::Scope;

pub const CS: &str = "http://example.org/cs/steps";
pub const VS: &str = "http://example.org/vs/steps";
pub const OID: &str = "1.2.250.1.999.1";

/// A code system (versions 1 and 2, OID `OID`): `a` "Alpha" (with a French designation),
/// `abs` notSelectable, `old` retired, `dep` deprecated; version 2 adds `b`.
pub fn code_system(version: &str) -> Value {
    let mut concepts = vec![
        json!({"code": "a", "display": "Alpha",
               "designation": [{"language": "fr", "value": "Alpha fr"}]}),
        json!({"code": "abs", "display": "Abstract",
               "property": [{"code": "notSelectable", "valueBoolean": true}]}),
        json!({"code": "old", "display": "Old",
               "property": [{"code": "status", "valueCode": "retired"}]}),
        json!({"code": "dep", "display": "Deprecated",
               "property": [{"code": "status", "valueCode": "deprecated"}]}),
    ];
    if version == "2" {
        concepts.push(json!({"code": "b", "display": "Beta"}));
    }
    json!({"resourceType": "CodeSystem", "url": CS, "version": version, "status": "active",
           "identifier": [{"system": "urn:ietf:rfc:3986", "value": format!("urn:oid:{OID}")}],
           "content": "complete", "concept": concepts})
}

/// A value set over `CS` with this compose.
pub fn value_set(compose: Value) -> Value {
    json!({"resourceType": "ValueSet", "url": VS, "version": "1", "status": "active",
           "compose": compose})
}

pub fn catalog(resources: &[Value]) -> Catalog {
    let mut cat = Catalog::default();
    for r in resources {
        match parse_resource(r) {
            Ok(Resource::CodeSystem(cs)) => cat.add_code_system(cs),
            Ok(Resource::ValueSet(vs)) => cat.add_value_set(vs),
            other => panic!("test resource not read: {other:?}"),
        }
    }
    cat
}

/// Both versions of `CS`, and a value set taking all of it.
pub fn standard_catalog() -> Catalog {
    catalog(&[
        code_system("1"),
        code_system("2"),
        value_set(json!({"include": [{"system": CS}]})),
    ])
}

pub fn read_value_set(v: Value) -> ValueSet {
    match parse_resource(&v) {
        Ok(Resource::ValueSet(vs)) => vs,
        other => panic!("value set not read: {other:?}"),
    }
}

pub fn input(system: Option<&str>, code: &str, display: Option<&str>) -> CodingInput {
    CodingInput {
        system: system.map(str::to_string),
        code: Some(code.to_string()),
        display: display.map(str::to_string),
        ..Default::default()
    }
}

/// Options as a plain request gives them (abstract codes allowed).
pub fn options() -> Options {
    Options {
        allow_abstract: true,
        ..Default::default()
    }
}

/// Runs `f` on a step for `input` as a `coding` parameter, with a fresh outcome.
pub fn with_step<R>(
    scope: &Scope,
    target: Target,
    input: &CodingInput,
    opts: &Options,
    f: impl FnOnce(&Step, &mut CodingCheck) -> R,
) -> (R, CodingCheck) {
    let mut out = CodingCheck::new(input);
    let step = Step {
        scope,
        target,
        input,
        code: input.code.as_deref().unwrap_or_default(),
        form: InputForm::Coding,
        opts,
    };
    let r = f(&step, &mut out);
    (r, out)
}

/// The message ids (else tx issue types) of an outcome's issues, in order.
pub fn ids(out: &CodingCheck) -> Vec<&'static str> {
    out.issues
        .iter()
        .map(|i| i.message_id.or(i.tx_type).unwrap_or_default())
        .collect()
}
