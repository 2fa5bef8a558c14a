//! CIM-11 (ICD-11 MMS in French, 36,044 concepts) through the real HTTP app, in-process.
//!
//! **Skipped unless `CIM11_DIR` is set**: every test then prints a skip note and passes. The
//! data is not in the repository (WHO licence, see scripts/README-cim11.md); produce it with
//!
//! ```text
//! scripts/import-cim11 /tmp/cim11 && CIM11_DIR=/tmp/cim11 cargo test --test cim11
//! ```
//!
//! The folder is loaded with the shipped NOS (`data/`), as a deployment would serve them.

mod common;
use common::{call, codes, enc, get, param_value, post};

use std::path::PathBuf;
use std::sync::OnceLock;

use actix_web::web;
use nosterm::config::AppConfig;
use nosterm::state::AppState;
use serde_json::{json, Value};

const ICD: &str = "http://id.who.int/icd/release/11/mms";
/// Chapter 05 "Maladies endocriniennes, nutritionnelles ou métaboliques" (no code: entity id).
const CHAPTER_05: &str = "21500692";
/// Block "Diabète sucré" (no code: entity id), parent of 5A10, 5A11…
const BLOCK_DIABETES: &str = "465177735";
/// "Diabète sucré de type 2", a leaf category.
const T2D: &str = "5A11";
/// "Hypertension essentielle", in another chapter.
const HTA: &str = "BA00";

/// The state over `data/` + `$CIM11_DIR`, loaded once; `None` (skip) without `CIM11_DIR`.
fn state(test: &str) -> Option<web::Data<AppState>> {
    static STATE: OnceLock<Option<(web::Data<AppState>, PathBuf)>> = OnceLock::new();
    let s = STATE.get_or_init(|| {
        let dir = PathBuf::from(std::env::var_os("CIM11_DIR")?);
        // One folder holding both, by symbolic links (the loader follows them).
        let both = std::env::temp_dir().join(format!("nosterm-cim11-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&both);
        std::fs::create_dir_all(&both).expect("temporary folder");
        std::os::unix::fs::symlink(common::data_dir(), both.join("nos")).expect("symlink");
        std::os::unix::fs::symlink(&dir, both.join("cim11")).expect("symlink");
        match AppState::load(&both, AppConfig::default()) {
            Ok(s) => Some((web::Data::new(s), dir)),
            Err(errors) => panic!("NOS + CIM-11 from {} must load: {errors:?}", dir.display()),
        }
    });
    match s {
        Some((state, _)) => Some(state.clone()),
        None => {
            eprintln!("{test}: SKIPPED, CIM11_DIR is not set (scripts/import-cim11 DIR)");
            None
        }
    }
}

fn cim11_dir() -> Option<PathBuf> {
    std::env::var_os("CIM11_DIR").map(PathBuf::from)
}

macro_rules! app_or_skip {
    ($name:expr) => {
        match state($name) {
            Some(s) => common::start(s).await,
            None => return,
        }
    };
}

/// `property` parameters of a `$lookup` answer with this code: their values.
fn properties(p: &Value, code: &str) -> Vec<String> {
    p["parameter"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|x| x["name"] == "property")
        .filter(|x| x["part"][0]["valueCode"] == code)
        .filter_map(|x| x["part"][1]["valueCode"].as_str().map(str::to_string))
        .collect()
}

fn expand_filter_uri(text: &str, extra: &str) -> String {
    format!(
        "/fhir/ValueSet/$expand?url={}&filter={}&count=5{extra}",
        enc(&format!("{ICD}?fhir_vs")),
        enc(text)
    )
}

#[actix_web::test]
async fn cim11_skipped_without_cim11_dir_concept_by_code_with_parent_and_children() {
    let app = app_or_skip!("concept_by_code");
    let (s, p) = call(
        &app,
        get(&format!(
            "/fhir/CodeSystem/$lookup?system={}&code={T2D}",
            enc(ICD)
        )),
    )
    .await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(
        param_value(&p, "display"),
        Some(&json!("Diabète sucré de type 2"))
    );
    assert_eq!(param_value(&p, "version"), Some(&json!("2024-01")));
    assert_eq!(properties(&p, "parent"), [BLOCK_DIABETES]);
    let (s, p) = call(
        &app,
        get(&format!(
            "/fhir/CodeSystem/$lookup?system={}&code={BLOCK_DIABETES}&property=child",
            enc(ICD)
        )),
    )
    .await;
    assert_eq!(s, 200, "{p}");
    let children = properties(&p, "child");
    assert!(
        children.iter().any(|c| c == T2D) && children.iter().any(|c| c == "5A10"),
        "{children:?}"
    );
}

#[actix_web::test]
async fn cim11_skipped_without_cim11_dir_concept_by_french_and_english_label() {
    let app = app_or_skip!("concept_by_label");
    for text in [
        "diab type 2",
        "Diabète sucré de type 2",
        "type 2 diabetes mellitus",
    ] {
        let (s, e) = call(&app, get(&expand_filter_uri(text, ""))).await;
        assert_eq!(s, 200, "{e}");
        let found = codes(&e);
        assert!(found.iter().any(|c| c == T2D), "{text}: {found:?}");
    }
    // Clinician abbreviations (synonyms.txt) and a word no ICD-11 label has ("communautaire").
    for (text, want) in [
        ("HTA", "BA03"),
        ("IDM", "BA41"),
        ("BPCO", "CA22"),
        ("IRC", "GB61"),
        ("fract col femur", "NC72.2"),
        ("pneumo communautaire", "CA40"),
    ] {
        let (_, e) = call(&app, get(&expand_filter_uri(text, ""))).await;
        let found = codes(&e);
        assert!(found.iter().any(|c| c == want), "{text}: {found:?}");
    }
}

#[actix_web::test]
async fn cim11_skipped_without_cim11_dir_english_display() {
    let app = app_or_skip!("english_display");
    let (s, p) = call(
        &app,
        get(&format!(
            "/fhir/CodeSystem/$lookup?system={}&code={T2D}&displayLanguage=en",
            enc(ICD)
        )),
    )
    .await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(
        param_value(&p, "display"),
        Some(&json!("Type 2 diabetes mellitus"))
    );
    let (_, e) = call(
        &app,
        get(&expand_filter_uri("diab type 2", "&displayLanguage=en")),
    )
    .await;
    assert_eq!(e["expansion"]["contains"][0]["code"], T2D, "{e}");
    assert_eq!(
        e["expansion"]["contains"][0]["display"],
        "Type 2 diabetes mellitus"
    );
}

#[actix_web::test]
async fn cim11_skipped_without_cim11_dir_subsumes_chapter_block_and_leaf() {
    let app = app_or_skip!("subsumes");
    for (a, b, want) in [
        (CHAPTER_05, T2D, "subsumes"),
        (T2D, CHAPTER_05, "subsumed-by"),
        (BLOCK_DIABETES, T2D, "subsumes"),
        (T2D, T2D, "equivalent"),
        (CHAPTER_05, HTA, "not-subsumed"),
        (T2D, "5A10", "not-subsumed"),
    ] {
        let (s, p) = call(
            &app,
            get(&format!(
                "/fhir/CodeSystem/$subsumes?system={}&codeA={a}&codeB={b}",
                enc(ICD)
            )),
        )
        .await;
        assert_eq!(s, 200, "{p}");
        assert_eq!(param_value(&p, "outcome"), Some(&json!(want)), "{a} vs {b}");
    }
}

/// Concepts under (and including) `code` in the imported file, counted from its nesting.
fn subtree_size_in_file(code: &str) -> usize {
    fn find<'a>(concepts: &'a [Value], code: &str) -> Option<&'a Value> {
        concepts.iter().find_map(|c| {
            if c["code"] == code {
                Some(c)
            } else {
                find(c["concept"].as_array().map(Vec::as_slice)?, code)
            }
        })
    }
    fn size(c: &Value) -> usize {
        1 + c["concept"]
            .as_array()
            .map_or(0, |cs| cs.iter().map(size).sum())
    }
    let dir = cim11_dir().expect("CIM11_DIR");
    let text = std::fs::read_to_string(dir.join("CodeSystem-cim11-mms.json")).expect("import");
    let cs: Value = serde_json::from_str(&text).expect("JSON");
    size(find(cs["concept"].as_array().expect("concepts"), code).expect("code in file"))
}

fn value_set(include_filter: Value, exclude: Option<Value>) -> Value {
    let mut compose = json!({"include": [{"system": ICD, "filter": [include_filter]}]});
    if let Some(x) = exclude {
        compose["exclude"] = json!([{"system": ICD, "filter": [x]}]);
    }
    json!({"resourceType": "ValueSet", "url": "urn:test:cim11", "status": "active", "compose": compose})
}

#[actix_web::test]
async fn cim11_skipped_without_cim11_dir_is_a_expansion_size_of_a_block() {
    let app = app_or_skip!("is_a_expansion");
    let want = subtree_size_in_file(BLOCK_DIABETES);
    let vs = value_set(
        json!({"property": "concept", "op": "is-a", "value": BLOCK_DIABETES}),
        None,
    );
    let (s, e) = call(&app, post("/fhir/ValueSet/$expand", &json!({"resourceType": "Parameters", "parameter": [
            {"name": "valueSet", "resource": vs}, {"name": "excludeNested", "valueBoolean": true}]}))).await;
    assert_eq!(s, 200, "{e}");
    assert_eq!(e["expansion"]["total"], json!(want));
    assert_eq!(codes(&e).len(), want);
    // Nested by default: the block is the single root, its categories under it.
    let (_, nested) = call(&app, post("/fhir/ValueSet/$expand", &json!({"resourceType": "Parameters", "parameter": [{"name": "valueSet", "resource": vs}]}))).await;
    let roots = nested["expansion"]["contains"]
        .as_array()
        .expect("contains");
    assert_eq!(roots.len(), 1, "{nested}");
    assert_eq!(roots[0]["code"], BLOCK_DIABETES);
    assert_eq!(roots[0]["abstract"], true);
    // descendent-of leaves the block out; child-of keeps only the first level.
    let (_, d) = call(&app, post("/fhir/ValueSet/$expand", &json!({"resourceType": "Parameters", "parameter": [{"name": "valueSet", "resource": value_set(
            json!({"property": "concept", "op": "descendent-of", "value": BLOCK_DIABETES}), None)}]}))).await;
    assert_eq!(d["expansion"]["total"], json!(want - 1));
    // generalizes: the leaf and its ancestors up to the chapter.
    let (_, g) = call(
        &app,
        post(
            "/fhir/ValueSet/$expand",
            &json!({"resourceType": "Parameters", "parameter": [
            {"name": "valueSet", "resource": value_set(
                json!({"property": "concept", "op": "generalizes", "value": T2D}), None)},
            {"name": "excludeNested", "valueBoolean": true}]}),
        ),
    )
    .await;
    let mut up = codes(&g);
    up.sort();
    let mut expected = vec![T2D.to_string(), BLOCK_DIABETES.to_string()];
    expected.push(CHAPTER_05.to_string());
    expected.sort();
    assert!(
        expected.iter().all(|c| up.contains(c)),
        "{up:?} must contain {expected:?}"
    );
}

#[actix_web::test]
async fn cim11_skipped_without_cim11_dir_not_selectable_refused_when_abstract_excluded() {
    let app = app_or_skip!("not_selectable");
    let diabetes = value_set(
        json!({"property": "concept", "op": "is-a", "value": BLOCK_DIABETES}),
        None,
    );
    let validate = |code: &str, vs: &Value, abstract_ok: bool| {
        json!({"resourceType": "Parameters", "parameter": [
            {"name": "valueSet", "resource": vs},
            {"name": "system", "valueUri": ICD},
            {"name": "code", "valueCode": code},
            {"name": "abstract", "valueBoolean": abstract_ok}]})
    };
    let (s, p) = call(
        &app,
        post(
            "/fhir/ValueSet/$validate-code",
            &validate(BLOCK_DIABETES, &diabetes, false),
        ),
    )
    .await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(param_value(&p, "result"), Some(&json!(false)), "{p}");
    let (_, p) = call(
        &app,
        post(
            "/fhir/ValueSet/$validate-code",
            &validate(T2D, &diabetes, false),
        ),
    )
    .await;
    assert_eq!(param_value(&p, "result"), Some(&json!(true)), "{p}");
    // A value set that excludes the grouping concepts by their property.
    let coded_only = value_set(
        json!({"property": "concept", "op": "is-a", "value": BLOCK_DIABETES}),
        Some(json!({"property": "notSelectable", "op": "=", "value": "true"})),
    );
    let (_, p) = call(
        &app,
        post(
            "/fhir/ValueSet/$validate-code",
            &validate(BLOCK_DIABETES, &coded_only, true),
        ),
    )
    .await;
    assert_eq!(param_value(&p, "result"), Some(&json!(false)), "{p}");
    let (_, e) = call(&app, post("/fhir/ValueSet/$expand", &json!({"resourceType": "Parameters", "parameter": [{"name": "valueSet", "resource": coded_only}]}))).await;
    assert!(
        !codes(&e).iter().any(|c| c == BLOCK_DIABETES),
        "grouping concept excluded: {e}"
    );
}
