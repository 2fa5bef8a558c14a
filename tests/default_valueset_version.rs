//! `default-valueset-version` over HTTP (issue 30): the version of a value set referenced
//! without one, in `$expand` and `$validate-code`, as a query and as a `Parameters` body.

mod common;

use common::*;
use serde_json::{json, Value};

const CS: &str = "http://example.org/cs/letters";
const INNER: &str = "http://example.org/vs/letters";
const OUTER: &str = "http://example.org/vs/all-letters";

/// A code system of three letters; `INNER` in versions 1 (a, c) and 2 (b, c); `OUTER`
/// importing `INNER` without a version.
fn data() -> TempDir {
    let dir = TempDir::new("default-vs-version");
    let cs = json!({"resourceType": "CodeSystem", "id": "letters", "url": CS, "version": "1",
        "status": "active", "content": "complete",
        "concept": [{"code": "a", "display": "A"}, {"code": "b", "display": "B"},
            {"code": "c", "display": "C"}]});
    let inner = |version: &str, codes: &[&str]| {
        let concepts: Vec<Value> = codes.iter().map(|c| json!({"code": c})).collect();
        json!({"resourceType": "ValueSet", "id": format!("letters-{version}"), "url": INNER,
            "version": version, "status": "active",
            "compose": {"include": [{"system": CS, "concept": concepts}]}})
    };
    let outer = json!({"resourceType": "ValueSet", "id": "all-letters", "url": OUTER,
        "version": "1", "status": "active", "compose": {"include": [{"valueSet": [INNER]}]}});
    dir.write("cs.json", cs.to_string());
    dir.write("inner-1.json", inner("1", &["a", "c"]).to_string());
    dir.write("inner-2.json", inner("2", &["b", "c"]).to_string());
    dir.write("outer.json", outer.to_string());
    dir
}

/// The same request as a GET query and as a POSTed `Parameters`: both answers, which must
/// have the same status.
async fn both<S: App>(app: &S, op: &str, params: &[(&str, &str, &str)]) -> (u16, Value) {
    let query: Vec<String> = params
        .iter()
        .map(|(n, _, v)| format!("{n}={}", enc(v)))
        .collect();
    let (s1, by_get) = get_json(app, &format!("/fhir/ValueSet/${op}?{}", query.join("&"))).await;
    let parameter: Vec<Value> = params
        .iter()
        .map(|(n, t, v)| {
            let mut p = serde_json::Map::new();
            p.insert("name".into(), json!(n));
            p.insert(t.to_string(), json!(v));
            Value::Object(p)
        })
        .collect();
    let body = json!({"resourceType": "Parameters", "parameter": parameter});
    let (s2, by_post) = post_json(app, &format!("/fhir/ValueSet/${op}"), &body).await;
    assert_eq!(s1, s2, "{by_get}\n{by_post}");
    assert_eq!(
        param_value(&by_get, "result"),
        param_value(&by_post, "result")
    );
    (s1, by_post)
}

#[actix_web::test]
async fn a_default_value_set_version_pins_the_import_in_every_form() {
    let dir = data();
    let app = start(state_of(&dir.0)).await;
    let pin = |v: &'static str| ("default-valueset-version", "valueCanonical", v);
    let url = ("url", "valueUri", OUTER);

    // Without it the newest version is imported; with it, the version named.
    let (status, vs) = both(&app, "expand", &[url]).await;
    assert_eq!((status, codes(&vs)), (200, vec!["b".into(), "c".into()]));
    let one = "http://example.org/vs/letters|1";
    let (status, vs) = both(&app, "expand", &[url, pin(one)]).await;
    assert_eq!((status, codes(&vs)), (200, vec!["a".into(), "c".into()]));
    let echoed: Vec<&Value> = vs["expansion"]["parameter"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["name"] == "default-valueset-version")
        .collect();
    assert_eq!(echoed.len(), 1, "{vs}");
    assert_eq!(echoed[0]["valueUri"], one);

    let code = |c: &'static str| [("system", "valueUri", CS), ("code", "valueCode", c)];
    let ask = |c: &'static str, pinned: Option<&'static str>| {
        let mut p = vec![url];
        p.extend(code(c));
        p.extend(pinned.map(pin));
        p
    };
    let (_, p) = both(&app, "validate-code", &ask("a", None)).await;
    assert_eq!(param_value(&p, "result"), Some(&json!(false)), "{p}");
    let (_, p) = both(&app, "validate-code", &ask("a", Some(one))).await;
    assert_eq!(param_value(&p, "result"), Some(&json!(true)), "{p}");
    let (_, p) = both(&app, "validate-code", &ask("b", Some(one))).await;
    assert_eq!(param_value(&p, "result"), Some(&json!(false)), "{p}");

    // A version nobody has: $expand is not found, $validate-code says why it is not valid.
    let three = "http://example.org/vs/letters|3";
    let (status, outcome) = both(&app, "expand", &[url, pin(three)]).await;
    assert_eq!(status, 404, "{outcome}");
    assert_outcome(&outcome, "not-found");
    let (status, p) = both(&app, "validate-code", &ask("a", Some(three))).await;
    assert_eq!(status, 200);
    assert_eq!(param_value(&p, "result"), Some(&json!(false)), "{p}");
    let message = param_value(&p, "message")
        .and_then(Value::as_str)
        .unwrap_or("");
    assert!(
        message.contains(&format!("'{three}' could not be found")),
        "{p}"
    );

    // The url itself, named without a version, takes the default too.
    let (status, vs) = both(&app, "expand", &[("url", "valueUri", INNER), pin(one)]).await;
    assert_eq!((status, codes(&vs)), (200, vec!["a".into(), "c".into()]));
}
