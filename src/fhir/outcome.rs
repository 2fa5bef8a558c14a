//! OperationOutcome: errors and validation issues on the wire.

use serde_json::{json, Map, Value};

use crate::error::Error;
use crate::ops::Issue;

const TX_ISSUE_TYPE: &str = "http://hl7.org/fhir/tools/CodeSystem/tx-issue-type";
const MESSAGE_ID: &str = "http://hl7.org/fhir/StructureDefinition/operationoutcome-message-id";

pub fn issue_json(issue: &Issue) -> Value {
    let mut o = Map::new();
    if let Some(id) = issue.message_id {
        o.insert("extension".into(), json!([{"url": MESSAGE_ID, "valueString": id}]));
    }
    o.insert("severity".into(), json!(issue.severity.as_str()));
    o.insert("code".into(), json!(issue.code));
    let mut details = Map::new();
    if let Some(t) = issue.tx_type {
        details.insert("coding".into(), json!([{"system": TX_ISSUE_TYPE, "code": t}]));
    }
    details.insert("text".into(), json!(issue.text));
    o.insert("details".into(), Value::Object(details));
    if let Some(e) = &issue.expression {
        o.insert("location".into(), json!([e]));
        o.insert("expression".into(), json!([e]));
    }
    Value::Object(o)
}

pub fn outcome_json(issues: &[Issue]) -> Value {
    json!({
        "resourceType": "OperationOutcome",
        "issue": issues.iter().map(issue_json).collect::<Vec<_>>()
    })
}

/// The OperationOutcome for a request error.
pub fn error_json(err: &Error) -> Value {
    let mut details = Map::new();
    if let Some(t) = err.tx_issue_type() {
        details.insert("coding".into(), json!([{"system": TX_ISSUE_TYPE, "code": t}]));
    }
    details.insert("text".into(), json!(err.to_string()));
    let mut issue = Map::new();
    if let Error::NotFound(m) = err {
        if m.starts_with("Unable to resolve value set") {
            issue.insert(
                "extension".into(),
                json!([{"url": MESSAGE_ID, "valueString": "Unable_to_resolve_value_Set_"}]),
            );
        }
    }
    issue.insert("severity".into(), json!("error"));
    issue.insert("code".into(), json!(err.issue_code()));
    issue.insert("details".into(), Value::Object(details));
    json!({"resourceType": "OperationOutcome", "issue": [Value::Object(issue)]})
}
