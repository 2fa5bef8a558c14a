//! OperationOutcome: errors and validation issues on the wire.

use serde_json::{json, Map, Value};

use super::render::object;
use crate::error::Error;
use crate::ops::Issue;

const TX_ISSUE_TYPE: &str = "http://hl7.org/fhir/tools/CodeSystem/tx-issue-type";
const MESSAGE_ID: &str = "http://hl7.org/fhir/StructureDefinition/operationoutcome-message-id";

pub fn issue_json(issue: &Issue) -> Value {
    let mut o = Map::new();
    if let Some(id) = issue.reference_id() {
        o.insert(
            "extension".into(),
            json!([{"url": MESSAGE_ID, "valueString": id}]),
        );
    }
    o.insert("severity".into(), json!(issue.severity.as_str()));
    o.insert("code".into(), json!(issue.code));
    let mut details = Map::new();
    if let Some(t) = issue.tx_type {
        details.insert(
            "coding".into(),
            json!([{"system": TX_ISSUE_TYPE, "code": t}]),
        );
    }
    details.insert("text".into(), json!(issue.text));
    o.insert("details".into(), Value::Object(details));
    if let Some(e) = &issue.expression {
        located(&mut o, e);
    }
    Value::Object(o)
}

/// An issue about one element names it as `expression` (FHIRPath) and, for R4 clients that
/// still read only `location` (deprecated since, but the element R4 validators look at), as
/// `location` too: one rule for every issue.
fn located(issue: &mut Map<String, Value>, expression: &str) {
    issue.insert("location".into(), json!([expression]));
    issue.insert("expression".into(), json!([expression]));
}

pub fn outcome_json(issues: &[Issue]) -> Value {
    object([
        ("resourceType", json!("OperationOutcome")),
        ("issue", issues.iter().map(issue_json).collect()),
    ])
}

/// The OperationOutcome for a request error.
pub fn error_json(err: &Error) -> Value {
    let mut details = Map::new();
    if let Some(t) = err.tx_issue_type() {
        details.insert(
            "coding".into(),
            json!([{"system": TX_ISSUE_TYPE, "code": t}]),
        );
    }
    details.insert("text".into(), json!(err.to_string()));
    let mut issue = Map::new();
    if let Some(id) = err.message_id() {
        issue.insert(
            "extension".into(),
            json!([{"url": MESSAGE_ID, "valueString": id}]),
        );
    }
    issue.insert("severity".into(), json!("error"));
    issue.insert("code".into(), json!(err.issue_code()));
    issue.insert("details".into(), Value::Object(details));
    if let Some(e) = err.expression() {
        located(&mut issue, e);
    }
    let mut issues = vec![Value::Object(issue)];
    // A refused release: one more issue per load error, located by file and line.
    if let Error::ReleaseRefused(errors) = err {
        issues.extend(errors.iter().map(|e| {
            json!({
                "severity": "error",
                "code": err.issue_code(),
                "details": {"text": e.to_string()},
                "location": [e.file],
            })
        }));
    }
    object([
        ("resourceType", json!("OperationOutcome")),
        ("issue", Value::Array(issues)),
    ])
}
