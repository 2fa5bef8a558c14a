//! SNOMED CT (issue 31) on HL7's test subset (vendor/tx-ecosystem/tx-source/snomed, RF2): the
//! edition loaded from the data folder as `serve` loads it, then the operations over HTTP.
//! Expected sets are computed from the release files themselves where a count is asserted.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use actix_web::web;
use common::*;
use nosterm::config::AppConfig;
use nosterm::reload::{reload, SaveSnapshot};
use nosterm::state::AppState;
use serde_json::{json, Value};

const SCT: &str = "http://snomed.info/sct";
const XSCT: &str = "http://snomed.info/xsct/31000003106/version/20250909";

fn subset() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("vendor/tx-ecosystem/tx-source/snomed")
}

/// A server state over `dir` as `serve` loads it, the subset's module marked unpublished.
fn served_with(dir: &Path, config: AppConfig) -> web::Data<AppState> {
    let state = AppState::empty(AppConfig {
        data: Some(dir.to_path_buf()),
        sct_unpublished: vec![31000003106],
        ..config
    });
    if let Err(e) = reload(&state, None, SaveSnapshot::InBackground) {
        panic!("{} must load: {e:?}", dir.display());
    }
    web::Data::new(state)
}

fn served(dir: &Path) -> web::Data<AppState> {
    served_with(dir, AppConfig::default())
}

/// The is-a children of every concept, read from the relationship file: active, inferred,
/// type 116680003.
fn is_a_children() -> HashMap<String, Vec<String>> {
    let text = std::fs::read_to_string(
        subset().join("Terminology/sct2_Relationship_Snapshot_INT_20250909.txt"),
    )
    .expect("relationships");
    let mut children: HashMap<String, Vec<String>> = HashMap::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        if f[2] == "1" && f[7] == "116680003" && f[8] == "900000000000011006" {
            children
                .entry(f[5].to_string())
                .or_default()
                .push(f[4].to_string());
        }
    }
    children
}

fn descendants_or_self(code: &str) -> BTreeSet<String> {
    let children = is_a_children();
    let mut out = BTreeSet::new();
    let mut stack = vec![code.to_string()];
    while let Some(c) = stack.pop() {
        if out.insert(c.clone()) {
            stack.extend(children.get(&c).cloned().unwrap_or_default());
        }
    }
    out
}

fn ecl_value_set(ecl: &str) -> Value {
    json!({"resourceType": "ValueSet", "url": "http://example.org/ecl", "status": "active",
        "compose": {"include": [{"system": SCT,
            "filter": [{"property": "constraint", "op": "=", "value": ecl}]}]}})
}

async fn expand_ecl<S: App>(app: &S, ecl: &str) -> (u16, Value) {
    post_json(
        app,
        "/fhir/ValueSet/$expand",
        &json!({"resourceType": "Parameters", "parameter": [
            {"name": "valueSet", "resource": ecl_value_set(ecl)},
            {"name": "count", "valueInteger": 5000}]}),
    )
    .await
}

fn issue_text(outcome: &Value) -> String {
    outcome["issue"][0]["details"]["text"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[actix_web::test]
async fn the_edition_is_named_from_its_release_and_the_operator_setting() {
    let app = start(served(&subset())).await;
    let (status, p) = get_fhir(
        &app,
        &format!("/fhir/CodeSystem/$lookup?system={SCT}&code=367430006"),
    )
    .await;
    assert_eq!(status, 200, "{p}");
    assert_eq!(param_value(&p, "version"), Some(&json!(XSCT)));

    // Not marked unpublished: the same release is an `sct` edition.
    let state = AppState::empty(AppConfig {
        data: Some(subset()),
        ..AppConfig::default()
    });
    reload(&state, None, SaveSnapshot::InBackground).expect("loads");
    let app = start(web::Data::new(state)).await;
    let (_, p) = get_fhir(
        &app,
        &format!("/fhir/CodeSystem/$lookup?system={SCT}&code=367430006"),
    )
    .await;
    assert_eq!(
        param_value(&p, "version"),
        Some(&json!(
            "http://snomed.info/sct/31000003106/version/20250909"
        ))
    );
}

#[actix_web::test]
async fn lookup_gives_display_designations_hierarchy_and_attributes() {
    let app = start(served(&subset())).await;
    let (status, p) = get_fhir(
        &app,
        &format!("/fhir/CodeSystem/$lookup?system={SCT}&code=367430006"),
    )
    .await;
    assert_eq!(status, 200, "{p}");
    assert_eq!(
        param_value(&p, "display"),
        Some(&json!("Repair of tendon of hand"))
    );
    let props: Vec<&Value> = p["parameter"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["name"] == "property")
        .collect();
    let of = |code: &str| -> Vec<&Value> {
        props
            .iter()
            .copied()
            .filter(|x| x["part"][0]["valueCode"] == code)
            .collect()
    };
    let children = is_a_children();
    assert_eq!(of("child").len(), children["367430006"].len());
    assert_eq!(of("parent").len(), 3);
    // An attribute: its type's display and its value's.
    let method = of("260686004");
    assert_eq!(method.len(), 1);
    let parts = method[0]["part"].as_array().unwrap();
    assert!(parts.contains(&json!({"name": "code-display", "valueString": "Method"})));
    assert!(parts.contains(&json!({"name": "value", "valueCode": "257903006"})));
    // normalForm only when asked.
    assert!(of("normalForm").is_empty());
    let (_, p) = get_fhir(
        &app,
        &format!("/fhir/CodeSystem/$lookup?system={SCT}&code=367430006&property=normalFormTerse"),
    )
    .await;
    let nf = p["parameter"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == "property" && x["part"][0]["valueCode"] == "normalFormTerse")
        .expect("normalFormTerse");
    let text = nf["part"][1]["valueString"].as_str().unwrap();
    assert!(text.contains("260686004=257903006"), "{text}");
}

#[actix_web::test]
async fn validate_code_knows_displays_inactive_descriptions_and_expressions() {
    let app = start(served(&subset())).await;
    let validate = |code: &str, display: Option<&str>| {
        let mut params = vec![
            json!({"name": "url", "valueUri": SCT}),
            json!({"name": "code", "valueCode": code}),
        ];
        if let Some(d) = display {
            params.push(json!({"name": "display", "valueString": d}));
        }
        json!({"resourceType": "Parameters", "parameter": params})
    };
    // Any active description is a right display.
    let (_, p) = post_json(
        &app,
        "/fhir/CodeSystem/$validate-code",
        &validate("42463004", Some("Opisthorchis species")),
    )
    .await;
    assert_eq!(param_value(&p, "result"), Some(&json!(true)), "{p}");
    // An inactive one is still accepted, with a warning.
    let (_, p) = post_json(
        &app,
        "/fhir/CodeSystem/$validate-code",
        &validate("42463004", Some("Genus: Opisthorchis")),
    )
    .await;
    assert_eq!(param_value(&p, "result"), Some(&json!(true)), "{p}");
    assert!(p.to_string().contains("(status = inactive)"), "{p}");
    // A wrong one is an error.
    let (_, p) = post_json(
        &app,
        "/fhir/CodeSystem/$validate-code",
        &validate("42463004", Some("Liver")),
    )
    .await;
    assert_eq!(param_value(&p, "result"), Some(&json!(false)), "{p}");

    // A postcoordinated expression: valid, displayed with its concepts' terms.
    let (_, p) = post_json(
        &app,
        "/fhir/CodeSystem/$validate-code",
        &validate("128241005:{363698007=181268008}", None),
    )
    .await;
    assert_eq!(param_value(&p, "result"), Some(&json!(true)), "{p}");
    assert_eq!(
        param_value(&p, "display"),
        Some(&json!("128241005|Inflammatory disease of liver|:{363698007|Finding site|=181268008|Entire liver|}"))
    );
    // An unknown concept in it, a concept that is no attribute: invalid, saying why.
    let (_, p) = post_json(
        &app,
        "/fhir/CodeSystem/$validate-code",
        &validate("367430006:{272741003=240280071}", None),
    )
    .await;
    assert_eq!(param_value(&p, "result"), Some(&json!(false)));
    assert!(p.to_string().contains("Concept 240280071 not found"), "{p}");
    let (_, p) = post_json(
        &app,
        "/fhir/CodeSystem/$validate-code",
        &validate("367430006:{24028007=272741003}", None),
    )
    .await;
    assert!(
        p.to_string()
            .contains("Concept 24028007 is not valid in this context"),
        "{p}"
    );
    // Malformed: invalid, the position named.
    let (_, p) = post_json(
        &app,
        "/fhir/CodeSystem/$validate-code",
        &validate("367430006:{272741003=}", None),
    )
    .await;
    assert_eq!(param_value(&p, "result"), Some(&json!(false)));
    assert!(p.to_string().contains("position"), "{p}");
}

#[actix_web::test]
async fn subsumes_reads_the_hierarchy_and_expressions() {
    let app = start(served(&subset())).await;
    let subsumes = |a: &str, b: &str| {
        format!(
            "/fhir/CodeSystem/$subsumes?system={SCT}&codeA={}&codeB={}",
            enc(a),
            enc(b)
        )
    };
    let (_, p) = get_fhir(&app, &subsumes("128241005", "197271008")).await;
    assert_eq!(param_value(&p, "outcome"), Some(&json!("subsumes")), "{p}");
    let (_, p) = get_fhir(&app, &subsumes("197271008", "128241005")).await;
    assert_eq!(
        param_value(&p, "outcome"),
        Some(&json!("subsumed-by")),
        "{p}"
    );
    let (_, p) = get_fhir(
        &app,
        &subsumes("128241005", "128241005:{363698007=181268008}"),
    )
    .await;
    assert_eq!(param_value(&p, "outcome"), Some(&json!("subsumes")), "{p}");
    let (_, p) = get_fhir(&app, &subsumes("367430006", "128241005")).await;
    assert_eq!(
        param_value(&p, "outcome"),
        Some(&json!("not-subsumed")),
        "{p}"
    );
}

#[actix_web::test]
async fn ecl_expansions_match_the_release_files() {
    let app = start(served(&subset())).await;
    let expected = descendants_or_self("10200004");
    let (status, vs) = expand_ecl(&app, "<< 10200004 |Liver structure|").await;
    assert_eq!(status, 200, "{vs}");
    let got: BTreeSet<String> = codes(&vs).into_iter().collect();
    assert_eq!(got, expected);
    // `<` leaves the focus out, MINUS removes a subtree.
    let (_, vs) = expand_ecl(&app, "< 10200004").await;
    assert_eq!(codes(&vs).len(), expected.len() - 1);
    let (_, vs) = expand_ecl(&app, "<< 10200004 MINUS << 181268008").await;
    let minus: BTreeSet<String> = expected
        .difference(&descendants_or_self("181268008"))
        .cloned()
        .collect();
    assert_eq!(codes(&vs).into_iter().collect::<BTreeSet<_>>(), minus);
    // The same through the implicit value set.
    let (status, vs) = get_fhir(
        &app,
        &format!(
            "/fhir/ValueSet/$expand?url={}&count=5000",
            enc(&format!("{SCT}?fhir_vs=isa/10200004"))
        ),
    )
    .await;
    assert_eq!(status, 200, "{vs}");
    assert_eq!(codes(&vs).into_iter().collect::<BTreeSet<_>>(), expected);
    let (status, vs) = get_fhir(
        &app,
        &format!(
            "/fhir/ValueSet/$expand?url={}&count=5000",
            enc(&format!("{SCT}?fhir_vs=ecl/{}", enc("< 10200004")))
        ),
    )
    .await;
    assert_eq!(status, 200, "{vs}");
    assert_eq!(codes(&vs).len(), expected.len() - 1);
}

#[actix_web::test]
async fn bad_ecl_is_a_400_naming_the_expression_and_the_position() {
    let app = start(served(&subset())).await;
    for (ecl, words) in [
        ("<< 10200004 <<", "character"),
        ("<< abc", "character"),
        ("<< 128045006 OR << 10200004 AND << 64572001", "character"),
        ("< 64572001 : 363698007 = ", "character"),
    ] {
        let (status, oo) = expand_ecl(&app, ecl).await;
        assert_eq!(status, 400, "{ecl}: {oo}");
        let text = issue_text(&oo);
        assert!(text.contains(ecl) && text.contains(words), "{ecl}: {text}");
        assert_eq!(
            oo["issue"][0]["extension"][0]["valueString"],
            json!("INVALID_ECL")
        );
    }
    // A well-formed id the edition does not have.
    let (status, oo) = expand_ecl(&app, "<< 1234567001").await;
    assert_eq!(status, 400, "{oo}");
    assert!(issue_text(&oo).contains("1234567001"), "{oo}");
    // A refset that is no refset: an empty set, not an error.
    let (status, vs) = expand_ecl(&app, "^ 10200004").await;
    assert_eq!(status, 200, "{vs}");
    assert_eq!(vs["expansion"]["total"], json!(0));
}

#[actix_web::test]
async fn an_ecl_past_the_cost_bound_is_too_costly() {
    let mut config = AppConfig::default();
    config.limits.max_ecl_steps = 100;
    let app = start(served_with(&subset(), config)).await;
    let (status, oo) = expand_ecl(&app, "<< 138875005 : 363698007 = << 10200004").await;
    assert_eq!(status, 422, "{oo}");
    assert_eq!(oo["issue"][0]["code"], json!("too-costly"));
}

#[actix_web::test]
async fn a_corrupt_release_is_refused_and_the_previous_one_serves() {
    let dir = TempDir::new("sct-corrupt");
    copy_tree(&subset(), &dir.path("snomed"));
    let state = served(&dir.path(""));
    let app = start(state.clone()).await;
    let lookup = format!("/fhir/CodeSystem/$lookup?system={SCT}&code=367430006");
    assert_eq!(get_fhir(&app, &lookup).await.0, 200);

    // A relationship whose destination is no concept of the release.
    let file = dir.path("snomed/Terminology/sct2_Relationship_Snapshot_INT_20250909.txt");
    edit_line(&file, 3, |l| {
        let mut f: Vec<&str> = l.split('\t').collect();
        f[5] = "999999999999";
        f.join("\t")
    });
    let err = reload(&state, None, SaveSnapshot::InBackground).expect_err("refused");
    let text = format!("{err:?}");
    assert!(
        text.contains("sct2_Relationship_Snapshot_INT_20250909.txt")
            && text.contains("999999999999"),
        "{text}"
    );
    assert_eq!(get_fhir(&app, &lookup).await.0, 200);

    // A malformed line: file, line and column.
    edit_line(&file, 3, |l| l.replace("999999999999", "12x"));
    let err = reload(&state, None, SaveSnapshot::InBackground).expect_err("refused");
    let text = format!("{err:?}");
    assert!(
        text.contains("line: Some(3)") && text.contains("column: Some(6)"),
        "{text}"
    );
    assert_eq!(get_fhir(&app, &lookup).await.0, 200);

    // A missing file.
    std::fs::remove_file(&file).expect("removed");
    let err = reload(&state, None, SaveSnapshot::InBackground).expect_err("refused");
    assert!(
        format!("{err:?}").contains("sct2_Relationship_Snapshot"),
        "{err:?}"
    );
    assert_eq!(get_fhir(&app, &lookup).await.0, 200);
}

/// A French language refset beside the English ones: `displayLanguage` (and `Accept-Language`)
/// choose its preferred terms, its descriptions are valid displays, the English stay default.
#[actix_web::test]
async fn a_french_language_refset_gives_french_displays() {
    let dir = TempDir::new("sct-fr");
    copy_tree(&subset(), &dir.path("snomed"));
    let header = "id\teffectiveTime\tactive\tmoduleId\tconceptId\tlanguageCode\ttypeId\tterm\tcaseSignificanceId\n";
    dir.write(
        "snomed/Terminology/sct2_Description_Snapshot-fr_INT_20250909.txt",
        format!(
            "{header}\
             100011999999119\t20250909\t1\t31000003106\t367430006\tfr\t900000000000013009\tRéparation d'un tendon de la main\t900000000000448009\n\
             100021999999113\t20250909\t1\t31000003106\t367430006\tfr\t900000000000013009\tTénoplastie de la main\t900000000000448009\n"
        ),
    );
    dir.write(
        "snomed/Refset/Language/der2_cRefset_LanguageSnapshot-fr_INT_20250909.txt",
        "id\teffectiveTime\tactive\tmoduleId\trefsetId\treferencedComponentId\tacceptabilityId\n\
         7b7f5a3e-0000-4000-8000-000000000001\t20250909\t1\t31000003106\t11999999107\t100021999999113\t900000000000549004\n\
         7b7f5a3e-0000-4000-8000-000000000002\t20250909\t1\t31000003106\t11999999107\t100011999999119\t900000000000548007\n",
    );
    let app = start(served(&dir.path(""))).await;
    let lookup = |lang: &str| {
        format!("/fhir/CodeSystem/$lookup?system={SCT}&code=367430006&displayLanguage={lang}")
    };
    let (_, p) = get_fhir(&app, &lookup("fr-FR")).await;
    assert_eq!(
        param_value(&p, "display"),
        Some(&json!("Réparation d'un tendon de la main")),
        "{p}"
    );
    let (_, p) = get_fhir(&app, &lookup("en")).await;
    assert_eq!(
        param_value(&p, "display"),
        Some(&json!("Repair of tendon of hand"))
    );
    // In an expansion.
    let (_, vs) = get_fhir(
        &app,
        &format!(
            "/fhir/ValueSet/$expand?url={}&displayLanguage=fr",
            enc(&format!("{SCT}?fhir_vs=isa/367430006"))
        ),
    )
    .await;
    let shown = vs["expansion"]["contains"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == "367430006")
        .map(|c| c["display"].clone());
    assert_eq!(
        shown,
        Some(json!("Réparation d'un tendon de la main")),
        "{vs}"
    );
    // An acceptable French synonym is a valid display.
    let (_, p) = post_json(
        &app,
        "/fhir/CodeSystem/$validate-code",
        &json!({"resourceType": "Parameters", "parameter": [
            {"name": "url", "valueUri": SCT},
            {"name": "code", "valueCode": "367430006"},
            {"name": "display", "valueString": "Ténoplastie de la main"},
            {"name": "displayLanguage", "valueCode": "fr"}]}),
    )
    .await;
    assert_eq!(param_value(&p, "result"), Some(&json!(true)), "{p}");
}

/// With an index folder, the editions are kept beside the snapshot; a restart reads them from
/// there and answers the same.
#[actix_web::test]
async fn a_restart_reads_the_editions_kept_beside_the_snapshot() {
    let index = TempDir::new("sct-index");
    let config = || AppConfig {
        index: Some(index.path("")),
        ..AppConfig::default()
    };
    let lookup = format!("/fhir/CodeSystem/$lookup?system={SCT}&code=367430006");
    let app = start(served_with(&subset(), config())).await;
    let (_, first) = get_fhir(&app, &lookup).await;
    let kept: Vec<String> = std::fs::read_dir(index.path(""))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("editions-"))
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    // Give the snapshot file its time (it is written in the background), then restart.
    for _ in 0..100 {
        let snapshot = std::fs::read_dir(index.path(""))
            .unwrap()
            .flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with("catalog-"));
        if snapshot {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let app = start(served_with(&subset(), config())).await;
    let (status, again) = get_fhir(&app, &lookup).await;
    assert_eq!(status, 200);
    assert_eq!(again, first);
}
