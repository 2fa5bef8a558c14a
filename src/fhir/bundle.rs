//! searchset Bundles.

use serde_json::{json, Value};

pub fn searchset(base: &str, self_link: &str, total: usize, resources: Vec<Value>) -> Value {
    let entries: Vec<Value> = resources
        .into_iter()
        .map(|r| {
            let rt = r.get("resourceType").and_then(Value::as_str).unwrap_or("");
            let id = r.get("id").and_then(Value::as_str).unwrap_or("");
            json!({"fullUrl": format!("{base}/{rt}/{id}"), "resource": r, "search": {"mode": "match"}})
        })
        .collect();
    json!({
        "resourceType": "Bundle",
        "type": "searchset",
        "total": total,
        "link": [{"relation": "self", "url": self_link}],
        "entry": entries
    })
}
