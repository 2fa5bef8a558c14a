//! `$expand` behaviours of the HL7 terminology conformance suite, on small request-scoped
//! resources (`tx-resource` parameters) through the real HTTP app.

mod common;

use actix_web::{test, web};
use nosterm::state::AppState;
use serde_json::{json, Value};

const CS: &str = "http://example.org/cs/tree";
const VS: &str = "http://example.org/vs/tree";

fn state() -> web::Data<AppState> {
    let dir = std::env::temp_dir().join(format!("nosterm-expand-conf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    common::state_of(&dir)
}

macro_rules! app {
    () => {
        common::start(state()).await
    };
}

async fn expand<S: common::App>(
    app: &S,
    params: Vec<Value>,
    headers: &[(&str, &str)],
) -> (u16, Value) {
    let mut req = test::TestRequest::post()
        .uri("/fhir/ValueSet/$expand")
        .insert_header(("content-type", "application/fhir+json"));
    for (k, v) in headers {
        req = req.insert_header((*k, *v));
    }
    let body = json!({"resourceType": "Parameters", "parameter": params});
    common::call(app, req.set_payload(body.to_string()).to_request()).await
}

fn res(r: Value) -> Value {
    json!({"name": "tx-resource", "resource": r})
}

fn url(u: &str) -> Value {
    json!({"name": "url", "valueUri": u})
}

/// A two-version code system: `a` > `a1` > `a1x`, `b` (retired) ; 2.0.0 adds `c`.
fn tree_cs(version: &str) -> Value {
    let mut concepts = vec![
        json!({"code": "a", "display": "A", "designation": [{"language": "de", "value": "A-de"}],
               "concept": [{"code": "a1", "display": "A1",
                            "concept": [{"code": "a1x", "display": "A1x"}]}]}),
        json!({"code": "b", "display": "B", "property": [
            {"code": "status", "valueCode": "retired"},
            {"code": "not-selectable", "valueBoolean": true}]}),
    ];
    if version.starts_with('2') {
        concepts.push(json!({"code": "c", "display": "C"}));
    }
    json!({"resourceType": "CodeSystem", "url": CS, "version": version, "status": "active",
           "language": "en", "content": "complete",
           "property": [
               {"code": "status", "uri": "http://hl7.org/fhir/concept-properties#status", "type": "code"},
               {"code": "not-selectable", "uri": "http://hl7.org/fhir/concept-properties#notSelectable", "type": "boolean"}],
           "concept": concepts})
}

fn value_set(u: &str, include: Value) -> Value {
    json!({"resourceType": "ValueSet", "url": u, "version": "1.0.0", "name": "Tree",
           "status": "active", "experimental": false, "description": "not echoed",
           "compose": {"include": include}})
}

fn params_named<'a>(vs: &'a Value, name: &'a str) -> Vec<&'a Value> {
    vs["expansion"]["parameter"]
        .as_array()
        .map(|a| a.iter().filter(|p| p["name"] == name).collect())
        .unwrap_or_default()
}

fn codes(contains: &Value) -> Vec<String> {
    contains
        .as_array()
        .map(|a| {
            a.iter()
                .map(|c| c["code"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[actix_web::test]
async fn expansion_nests_by_hierarchy_and_echoes_definition() {
    let app = app!();
    let setup = || {
        vec![
            res(tree_cs("1.0.0")),
            res(value_set(VS, json!([{"system": CS}]))),
            url(VS),
        ]
    };
    let (status, vs) = expand(&app, setup(), &[]).await;
    assert_eq!(status, 200, "{vs}");
    assert_eq!(vs["name"], "Tree");
    assert_eq!(vs["experimental"], false);
    assert!(vs.get("description").is_none() && vs.get("compose").is_none());
    let e = &vs["expansion"];
    assert_eq!(e["total"], 4);
    assert_eq!(codes(&e["contains"]), ["a", "b"]);
    assert_eq!(codes(&e["contains"][0]["contains"]), ["a1"]);
    assert_eq!(codes(&e["contains"][0]["contains"][0]["contains"]), ["a1x"]);
    let b = &e["contains"][1];
    assert_eq!(b["abstract"], true, "notSelectable by property URI");
    assert_eq!(b["inactive"], true);
    assert!(
        b.get("version").is_none(),
        "one version only: no contains.version"
    );
    assert_eq!(b["extension"][0]["extension"][1]["valueCode"], "retired");
    assert_eq!(
        params_named(&vs, "used-codesystem")[0]["valueUri"],
        format!("{CS}|1.0.0")
    );

    let mut flat = setup();
    flat.push(json!({"name": "excludeNested", "valueBoolean": true}));
    let (_, vs) = expand(&app, flat, &[]).await;
    assert_eq!(codes(&vs["expansion"]["contains"]), ["a", "a1", "a1x", "b"]);
    assert_eq!(params_named(&vs, "excludeNested")[0]["valueBoolean"], true);
}

#[actix_web::test]
async fn version_parameters_choose_and_check_versions() {
    let app = app!();
    let base = || {
        vec![
            res(tree_cs("1.0.0")),
            res(tree_cs("2.0.0")),
            res(value_set(VS, json!([{"system": CS}]))),
            res(value_set(
                "http://example.org/vs/mixed",
                json!([{"system": CS, "version": "1.0.0", "concept": [{"code": "a"}]},
                       {"system": CS, "version": "2.0.0", "concept": [{"code": "c"}]}]),
            )),
            res(value_set(
                "http://example.org/vs/bad",
                json!([{"system": CS, "version": "1"}]),
            )),
        ]
    };
    // Newest by default.
    let mut p = base();
    p.push(url(VS));
    let (_, vs) = expand(&app, p, &[]).await;
    assert_eq!(vs["expansion"]["total"], 5);
    // system-version is a default, echoed when it decided.
    let mut p = base();
    p.extend([
        url(VS),
        json!({"name": "system-version", "valueCanonical": format!("{CS}|1.0.0")}),
    ]);
    let (_, vs) = expand(&app, p, &[]).await;
    assert_eq!(vs["expansion"]["total"], 4);
    assert_eq!(params_named(&vs, "system-version").len(), 1);
    // Mixed versions of one system: contains.version shown; includes pinning different
    // versions of one system are expanded newest version first.
    let mut p = base();
    p.push(url("http://example.org/vs/mixed"));
    let (_, vs) = expand(&app, p, &[]).await;
    assert_eq!(vs["expansion"]["contains"][0]["version"], "2.0.0");
    assert_eq!(vs["expansion"]["contains"][1]["version"], "1.0.0");
    assert_eq!(params_named(&vs, "used-codesystem").len(), 2);
    // force-system-version overrides the include's version and is echoed.
    let mut p = base();
    p.extend([
        url("http://example.org/vs/bad"),
        json!({"name": "force-system-version", "valueCanonical": format!("{CS}|1.x")}),
    ]);
    let (status, vs) = expand(&app, p, &[]).await;
    assert_eq!(status, 200, "{vs}");
    assert_eq!(
        params_named(&vs, "force-system-version")[0]["valueUri"],
        format!("{CS}|1.x")
    );
    // Unknown version: not-found, listing the known ones.
    let mut p = base();
    p.push(url("http://example.org/vs/bad"));
    let (status, oo) = expand(&app, p, &[]).await;
    assert_eq!(status, 404);
    let text = oo["issue"][0]["details"]["text"].as_str().unwrap();
    assert!(
        text.contains("version '1' could not be found") && text.contains("1.0.0 or 2.0.0"),
        "{text}"
    );
    // check-system-version refuses another version.
    let mut p = base();
    p.extend([
        url("http://example.org/vs/mixed"),
        json!({"name": "check-system-version", "valueCanonical": format!("{CS}|1.0.x")}),
    ]);
    let (status, oo) = expand(&app, p, &[]).await;
    assert!((400..500).contains(&status));
    assert_eq!(oo["issue"][0]["code"], "exception");
    assert_eq!(
        oo["issue"][0]["details"]["coding"][0]["code"],
        "version-error"
    );
}

#[actix_web::test]
async fn languages_choose_displays_and_designations() {
    let app = app!();
    let setup = |extra: Vec<Value>| {
        let mut p = vec![
            res(tree_cs("1.0.0")),
            res(value_set(VS, json!([{"system": CS}]))),
            url(VS),
            json!({"name": "includeDesignations", "valueBoolean": true}),
            json!({"name": "excludeNested", "valueBoolean": true}),
        ];
        p.extend(extra);
        p
    };
    let (_, vs) = expand(
        &app,
        setup(vec![json!({"name": "displayLanguage", "valueCode": "de"})]),
        &[],
    )
    .await;
    let a = &vs["expansion"]["contains"][0];
    assert_eq!(a["display"], "A-de");
    assert_eq!(a["designation"][0]["language"], "en");
    assert_eq!(a["designation"][0]["value"], "A");
    assert_eq!(a["designation"].as_array().unwrap().len(), 1);
    assert_eq!(params_named(&vs, "displayLanguage")[0]["valueCode"], "de");
    // No German display for a1: the code system's display, unless other languages are refused.
    assert_eq!(vs["expansion"]["contains"][1]["display"], "A1");
    let (_, vs) = expand(&app, setup(vec![]), &[("accept-language", "de, *; q=0")]).await;
    assert!(vs["expansion"]["contains"][1].get("display").is_none());
    assert_eq!(
        params_named(&vs, "displayLanguage")[0]["valueCode"],
        "de, *; q=0"
    );
    // designation parameters keep designations in those languages only.
    let (_, vs) = expand(
        &app,
        setup(vec![
            json!({"name": "designation", "valueString": "urn:ietf:bcp:47|es"}),
        ]),
        &[],
    )
    .await;
    assert!(vs["expansion"]["contains"][0].get("designation").is_none());
}

#[actix_web::test]
async fn status_warnings_imports_and_contained() {
    let app = app!();
    let mut cs = tree_cs("1.0.0");
    cs["status"] = json!("draft");
    cs["experimental"] = json!(true);
    let mut imported = value_set("http://example.org/vs/old", json!([{"system": CS}]));
    imported["extension"] = json!([{
        "url": "http://hl7.org/fhir/StructureDefinition/structuredefinition-standards-status",
        "valueCode": "withdrawn"}]);
    let outer = json!({"resourceType": "ValueSet", "status": "active",
        "contained": [{"resourceType": "ValueSet", "id": "few", "status": "active",
                       "compose": {"include": [{"system": CS, "concept": [{"code": "a"}, {"code": "b"}]}]}}],
        "compose": {"include": [{"valueSet": ["#few", "http://example.org/vs/old"]}]}});
    let (status, vs) = expand(
        &app,
        vec![
            res(cs),
            res(imported),
            json!({"name": "valueSet", "resource": outer}),
        ],
        &[],
    )
    .await;
    assert_eq!(status, 200, "{vs}");
    assert_eq!(
        codes(&vs["expansion"]["contains"]),
        ["a", "b"],
        "imports intersect, flat"
    );
    assert_eq!(vs["contained"][0]["id"], "few");
    let warn = |n: &str| params_named(&vs, n).first().map(|p| p["valueUri"].clone());
    assert_eq!(warn("warning-draft"), Some(json!(format!("{CS}|1.0.0"))));
    assert_eq!(
        warn("warning-experimental"),
        Some(json!(format!("{CS}|1.0.0")))
    );
    assert_eq!(
        warn("warning-withdrawn"),
        Some(json!("http://example.org/vs/old|1.0.0"))
    );
    assert_eq!(
        warn("used-valueset"),
        Some(json!("http://example.org/vs/old|1.0.0"))
    );
}

#[actix_web::test]
async fn circular_imports_and_inactive_and_defaults() {
    let app = app!();
    let one = value_set(
        "http://example.org/vs/one",
        json!([{"valueSet": ["http://example.org/vs/two"]}]),
    );
    let two = json!({"resourceType": "ValueSet", "url": "http://example.org/vs/two", "status": "active",
        "compose": {"include": [{"system": CS}], "exclude": [{"valueSet": ["http://example.org/vs/one"]}]}});
    let (status, oo) = expand(
        &app,
        vec![
            res(tree_cs("1.0.0")),
            res(one),
            res(two),
            url("http://example.org/vs/one"),
        ],
        &[],
    )
    .await;
    assert!((400..500).contains(&status), "{oo}");
    assert_eq!(oo["issue"][0]["details"]["coding"][0]["code"], "vs-invalid");
    assert!(oo["issue"][0]["details"]["text"]
        .as_str()
        .unwrap()
        .contains("http://example.org/vs/one"));

    // compose.inactive = false drops inactive codes; compose expansion parameters are defaults.
    let active = json!({"resourceType": "ValueSet", "url": VS, "status": "active",
        "compose": {"inactive": false,
            "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/valueset-expansion-parameter",
                "extension": [{"url": "name", "valueCode": "displayLanguage"}, {"url": "value", "valueCode": "de"}]}],
            "include": [{"system": CS}]}});
    let (_, vs) = expand(
        &app,
        vec![
            res(tree_cs("1.0.0")),
            res(active),
            url(VS),
            json!({"name": "excludeNested", "valueBoolean": true}),
        ],
        &[],
    )
    .await;
    assert_eq!(codes(&vs["expansion"]["contains"]), ["a", "a1", "a1x"]);
    assert_eq!(vs["expansion"]["contains"][0]["display"], "A-de");
    assert_eq!(params_named(&vs, "displayLanguage")[0]["valueCode"], "de");
}

/// An SMT-style TRE: NOS properties of several types, a definition, one retired concept.
fn smt_tre() -> Value {
    json!({"resourceType": "CodeSystem", "url": "https://smt.esante.gouv.fr/fhir/CodeSystem/tre-test",
           "version": "20240101", "status": "active", "content": "complete",
           "property": [
               {"code": "status", "uri": "http://hl7.org/fhir/concept-properties#status", "type": "code"},
               {"code": "niveau", "uri": "https://smt.esante.gouv.fr/fhir/prop#niveau", "type": "integer"},
               {"code": "rass", "type": "boolean"},
               {"code": "dateValid", "type": "dateTime"}],
           "concept": [
               {"code": "01", "display": "Premier", "definition": "Le premier concept",
                "property": [{"code": "status", "valueCode": "active"},
                             {"code": "niveau", "valueInteger": 1},
                             {"code": "rass", "valueBoolean": true},
                             {"code": "dateValid", "valueDateTime": "2024-01-01T00:00:00+01:00"}],
                "concept": [{"code": "011", "display": "Sous-concept",
                             "property": [{"code": "niveau", "valueInteger": 2}]}]},
               {"code": "02", "display": "Retiré",
                "property": [{"code": "status", "valueCode": "retired"}]}]})
}

/// `(code, value)` of the R5 `contains.property` extensions of one member.
fn member_properties(member: &Value) -> Vec<(String, Value)> {
    const EXT: &str =
        "http://hl7.org/fhir/5.0/StructureDefinition/extension-ValueSet.expansion.contains.property";
    member["extension"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|e| e["url"] == EXT)
                .map(|e| {
                    let parts = e["extension"].as_array().cloned().unwrap_or_default();
                    let code = parts
                        .iter()
                        .find(|p| p["url"] == "code")
                        .map(|p| p["valueCode"].as_str().unwrap_or("").to_string())
                        .unwrap_or_default();
                    let value = parts
                        .iter()
                        .find(|p| p["url"] == "value")
                        .cloned()
                        .unwrap_or(Value::Null);
                    (code, value)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// `(code, uri)` of the R5 `expansion.property` extensions.
fn declared_properties(vs: &Value) -> Vec<(String, Option<String>)> {
    const EXT: &str =
        "http://hl7.org/fhir/5.0/StructureDefinition/extension-ValueSet.expansion.property";
    vs["expansion"]["extension"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|e| e["url"] == EXT)
                .map(|e| {
                    let part = |name: &str, key: &str| {
                        e["extension"].as_array().and_then(|ps| {
                            ps.iter()
                                .find(|p| p["url"] == name)
                                .and_then(|p| p[key].as_str())
                                .map(str::to_string)
                        })
                    };
                    (
                        part("code", "valueCode").unwrap_or_default(),
                        part("uri", "valueUri"),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[actix_web::test]
async fn expansion_reports_the_properties_asked_for() {
    let app = app!();
    let tre_vs = "https://smt.esante.gouv.fr/fhir/ValueSet/jdv-test";
    let params = |extra: Vec<Value>| {
        let mut p = vec![
            res(smt_tre()),
            res(value_set(
                tre_vs,
                json!([{"system": "https://smt.esante.gouv.fr/fhir/CodeSystem/tre-test"}]),
            )),
            url(tre_vs),
        ];
        p.extend(extra);
        p
    };
    let (status, vs) = expand(
        &app,
        params(vec![
            json!({"name": "property", "valueString": "niveau"}),
            json!({"name": "property", "valueString": "status"}),
            json!({"name": "property", "valueString": "definition"}),
            json!({"name": "includeDefinition", "valueBoolean": true}),
        ]),
        &[],
    )
    .await;
    assert_eq!(status, 200, "{vs}");
    let first = &vs["expansion"]["contains"][0];
    assert_eq!(first["code"], "01");
    assert_eq!(
        member_properties(first),
        vec![
            (
                "niveau".to_string(),
                json!({"url": "value", "valueInteger": 1})
            ),
            (
                "status".to_string(),
                json!({"url": "value", "valueCode": "active"})
            ),
            (
                "definition".to_string(),
                json!({"url": "value", "valueString": "Le premier concept"})
            ),
        ]
    );
    // Nested: the child has only niveau; the retired concept its status.
    let child = &first["contains"][0];
    assert_eq!(
        member_properties(child),
        vec![(
            "niveau".to_string(),
            json!({"url": "value", "valueInteger": 2})
        )]
    );
    assert_eq!(
        member_properties(&vs["expansion"]["contains"][1]),
        vec![(
            "status".to_string(),
            json!({"url": "value", "valueCode": "retired"})
        )]
    );
    assert_eq!(
        declared_properties(&vs),
        vec![
            (
                "niveau".to_string(),
                Some("https://smt.esante.gouv.fr/fhir/prop#niveau".to_string())
            ),
            (
                "status".to_string(),
                Some("http://hl7.org/fhir/concept-properties#status".to_string())
            ),
            (
                "definition".to_string(),
                Some("http://hl7.org/fhir/concept-properties#definition".to_string())
            ),
        ]
    );
    // includeDefinition: echoed, and the value set definition comes with the expansion.
    assert_eq!(
        params_named(&vs, "includeDefinition")[0]["valueBoolean"],
        true
    );
    assert!(
        params_named(&vs, "property").is_empty(),
        "property is not echoed"
    );
    assert_eq!(
        vs["compose"]["include"][0]["system"],
        "https://smt.esante.gouv.fr/fhir/CodeSystem/tre-test"
    );

    // By URI, a property without URI, a boolean and a dateTime, flat; no definition asked.
    let (status, vs) = expand(
        &app,
        params(vec![
            json!({"name": "property", "valueString": "https://smt.esante.gouv.fr/fhir/prop#niveau"}),
            json!({"name": "property", "valueString": "rass"}),
            json!({"name": "property", "valueString": "dateValid"}),
            json!({"name": "excludeNested", "valueBoolean": true}),
        ]),
        &[],
    )
    .await;
    assert_eq!(status, 200, "{vs}");
    assert!(
        vs.get("compose").is_none(),
        "no includeDefinition, no compose"
    );
    assert_eq!(
        member_properties(&vs["expansion"]["contains"][0]),
        vec![
            (
                "niveau".to_string(),
                json!({"url": "value", "valueInteger": 1})
            ),
            (
                "rass".to_string(),
                json!({"url": "value", "valueBoolean": true})
            ),
            (
                "dateValid".to_string(),
                json!({"url": "value", "valueDateTime": "2024-01-01T00:00:00+01:00"})
            ),
        ]
    );
    assert!(declared_properties(&vs).contains(&("rass".to_string(), None)));
    // Not nested: the child is a top-level member with its own niveau.
    assert_eq!(
        member_properties(&vs["expansion"]["contains"][1]),
        vec![(
            "niveau".to_string(),
            json!({"url": "value", "valueInteger": 2})
        )]
    );
    // No property asked: only a non-active status is reported.
    let (_, vs) = expand(&app, params(vec![]), &[]).await;
    assert!(member_properties(&vs["expansion"]["contains"][0]).is_empty());
    assert_eq!(
        declared_properties(&vs),
        vec![(
            "status".to_string(),
            Some("http://hl7.org/fhir/concept-properties#status".to_string())
        )]
    );
}

#[actix_web::test]
async fn include_definition_must_be_a_boolean() {
    let app = app!();
    let (status, body) = expand(
        &app,
        vec![
            res(smt_tre()),
            url("https://smt.esante.gouv.fr/fhir/CodeSystem/tre-test?fhir_vs"),
            json!({"name": "includeDefinition", "valueString": "yes"}),
        ],
        &[],
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["resourceType"], "OperationOutcome");
}

/// A request's resources are read for what the request uses: a broken or unreadable
/// tx-resource the expansion does not touch costs nothing; the broken one, used, is refused
/// where it is broken; the unreadable one, looked up by the url it claims, is refused with why.
#[actix_web::test]
async fn tx_resources_fail_a_request_only_where_it_uses_them() {
    let app = app!();
    const BROKEN: &str = "http://example.org/vs/broken";
    const UNREADABLE: &str = "http://example.org/vs/unreadable";
    const IMPORTS: &str = "http://example.org/vs/imports-unreadable";
    let setup = |target: &str| {
        vec![
            res(tree_cs("1.0.0")),
            res(value_set(VS, json!([{"system": CS}]))),
            res(value_set(
                BROKEN,
                json!([{"system": CS, "filter": [{"property": "concept", "op": "descendent-of"}]}]),
            )),
            res(json!({"resourceType": "ValueSet", "url": UNREADABLE, "compose": {"include": 3}})),
            res(json!({"resourceType": "CodeSystem", "concept": "no url, never referred to"})),
            res(value_set(IMPORTS, json!([{"valueSet": [UNREADABLE]}]))),
            url(target),
        ]
    };
    let (status, vs) = expand(&app, setup(VS), &[]).await;
    assert_eq!(status, 200, "{vs}");
    assert_eq!(vs["expansion"]["total"], 4);

    let (status, oo) = expand(&app, setup(BROKEN), &[]).await;
    assert_eq!(status, 400, "{oo}");
    let issue = &oo["issue"][0];
    assert_eq!(issue["code"], "invalid");
    assert_eq!(issue["details"]["coding"][0]["code"], "vs-invalid");
    assert_eq!(
        issue["details"]["text"],
        format!("The system {CS} filter with property = concept, op = descendent-of has no value")
    );
    assert_eq!(
        issue["expression"][0],
        "ValueSet.compose.include[0].filter[0]"
    );

    for target in [UNREADABLE, IMPORTS] {
        let (status, oo) = expand(&app, setup(target), &[]).await;
        assert_eq!(status, 400, "{oo}");
        let text = oo["issue"][0]["details"]["text"].as_str().unwrap_or("");
        assert!(
            text.starts_with(&format!("Invalid tx-resource '{UNREADABLE}'")),
            "{text}"
        );
    }
}

/// An expansion drawn from a fragment of a code system says it may be incomplete.
#[actix_web::test]
async fn expansion_of_a_fragment_is_unclosed() {
    let app = app!();
    let mut fragment = tree_cs("1.0.0");
    fragment["content"] = json!("fragment");
    let (status, vs) = expand(
        &app,
        vec![
            res(fragment),
            res(value_set(VS, json!([{"system": CS}]))),
            url(VS),
        ],
        &[],
    )
    .await;
    assert_eq!(status, 200, "{vs}");
    let ext = &vs["expansion"]["extension"];
    assert_eq!(
        ext[0],
        json!({"url": "http://hl7.org/fhir/StructureDefinition/valueset-unclosed", "valueBoolean": true})
    );
    assert_eq!(
        ext[1]["valueString"],
        format!("This extension is based on a fragment of the code system {CS}")
    );
    assert_eq!(
        params_named(&vs, "used-fragment")[0]["valueUri"],
        format!("{CS}|1.0.0")
    );
}

/// Two releases of one system in one value set: each release's codes, nested under their
/// own release's parents; `versionsMatch` merges them, an exclude of the old release diffs.
#[actix_web::test]
async fn two_releases_of_one_system_in_one_value_set() {
    let app = app!();
    let both = json!([{"system": CS, "version": "1.0.0"}, {"system": CS, "version": "2.0.0"}]);
    let with = |vs: Value| vec![res(tree_cs("1.0.0")), res(tree_cs("2.0.0")), res(vs)];

    let mut p = with(value_set(VS, both.clone()));
    p.push(url(VS));
    let (status, vs) = expand(&app, p, &[]).await;
    assert_eq!(status, 200, "{vs}");
    assert_eq!(vs["expansion"]["total"], 9, "{vs}");
    let roots = &vs["expansion"]["contains"];
    assert_eq!(codes(roots), ["a", "b", "c", "a", "b"]);
    for (i, version) in [(0, "2.0.0"), (3, "1.0.0")] {
        assert_eq!(roots[i]["version"], version);
        assert_eq!(codes(&roots[i]["contains"]), ["a1"], "{version}: {vs}");
        assert_eq!(roots[i]["contains"][0]["version"], version);
    }
    assert_eq!(params_named(&vs, "used-codesystem").len(), 2);
    assert!(params_named(&vs, "versionsMatch").is_empty());

    let mut merged = value_set(VS, both);
    merged["compose"]["extension"] = json!([{
        "url": "http://hl7.org/fhir/StructureDefinition/valueset-expansion-parameter",
        "extension": [{"url": "name", "valueCode": "versionsMatch"},
                      {"url": "value", "valueString": "true"}]}]);
    let mut p = with(merged);
    p.extend([
        url(VS),
        json!({"name": "excludeNested", "valueBoolean": true}),
    ]);
    let (_, vs) = expand(&app, p, &[]).await;
    assert_eq!(vs["expansion"]["total"], 5, "{vs}");
    assert_eq!(params_named(&vs, "versionsMatch")[0]["valueBoolean"], true);

    let mut diff = value_set(VS, json!([{"system": CS, "version": "2.0.0"}]));
    diff["compose"]["exclude"] = json!([{"system": CS, "version": "1.0.0"}]);
    let mut p = with(diff);
    p.push(url(VS));
    let (_, vs) = expand(&app, p, &[]).await;
    assert_eq!(codes(&vs["expansion"]["contains"]), ["c"], "{vs}");
    assert_eq!(vs["expansion"]["contains"][0]["version"], "2.0.0");
    assert_eq!(params_named(&vs, "used-codesystem").len(), 2);
    assert_eq!(params_named(&vs, "versionsMatch")[0]["valueBoolean"], true);
}
