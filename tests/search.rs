//! Search-as-you-type (`ValueSet/$expand?filter=`) on the shipped NOS data, through the real
//! HTTP app, plus a relevance measurement against the plain matchers.

mod common;
use common::{call, codes, enc};

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use actix_web::{test, web};
use nosterm::catalog::Catalog;
use nosterm::config::AppConfig;
use nosterm::model::{CodeSystem, ResourceMeta, ValueSet};
use nosterm::ops::expand::{expand, fold, implicit_value_set, ExpandRequest};
use nosterm::ops::members::enumerate;
use nosterm::ops::Scope;
use nosterm::search::SearchIndex;
use nosterm::state::AppState;
use serde_json::{json, Value};

const R21: &str = "https://mos.esante.gouv.fr/NOS/TRE_R21-Fonction/FHIR/TRE-R21-Fonction";
const R02: &str =
    "https://mos.esante.gouv.fr/NOS/TRE_R02-SecteurActivite/FHIR/TRE-R02-SecteurActivite";
const J02: &str = "https://mos.esante.gouv.fr/NOS/JDV_J02-XdsHealthcareFacilityTypeCode-CISIS/FHIR/JDV-J02-XdsHealthcareFacilityTypeCode-CISIS";
const J07: &str =
    "https://mos.esante.gouv.fr/NOS/JDV_J07-XdsTypeCode-CISIS/FHIR/JDV-J07-XdsTypeCode-CISIS";
const J10: &str =
    "https://mos.esante.gouv.fr/NOS/JDV_J10-XdsFormatCode-CISIS/FHIR/JDV-J10-XdsFormatCode-CISIS";
const G15: &str =
    "https://mos.esante.gouv.fr/NOS/TRE_G15-ProfessionSante/FHIR/TRE-G15-ProfessionSante";
const R38: &str =
    "https://mos.esante.gouv.fr/NOS/TRE_R38-SpecialiteOrdinale/FHIR/TRE-R38-SpecialiteOrdinale";

/// Loaded (and indexed) once for every test of this file.
fn state() -> web::Data<AppState> {
    static STATE: OnceLock<web::Data<AppState>> = OnceLock::new();
    STATE
        .get_or_init(|| {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
            match AppState::load(&dir, AppConfig::default()) {
                Ok(s) => web::Data::new(s),
                Err(errors) => panic!("shipped data must load: {errors:?}"),
            }
        })
        .clone()
}

macro_rules! app {
    () => {
        common::start(state()).await
    };
}

fn fhir_vs(cs: &str) -> String {
    format!("{cs}?fhir_vs")
}

/// `$expand` of `url` with `filter` and extra query parameters; the expansion.
async fn expand_get<S: common::App>(app: &S, url: &str, filter: &str, extra: &str) -> Value {
    let uri = format!(
        "/fhir/ValueSet/$expand?url={}&filter={}{extra}",
        enc(url),
        enc(filter)
    );
    let (status, body) = call(app, test::TestRequest::get().uri(&uri).to_request()).await;
    assert_eq!(status, 200, "{uri}: {body}");
    body["expansion"].clone()
}

fn total(expansion: &Value) -> u64 {
    expansion["total"].as_u64().unwrap_or(u64::MAX)
}

#[actix_web::test]
async fn cr_op_puts_the_operative_report_first() {
    let app = app!();
    let e = expand_get(&app, J07, "cr op", "").await;
    assert_eq!(e["contains"][0]["code"], "34874-8", "{e}");
    assert_eq!(e["contains"][0]["display"], "CR opératoire");
    assert_eq!(
        e["contains"][0]["system"],
        "https://mos.esante.gouv.fr/NOS/TRE_A04-Loinc/FHIR/TRE-A04-Loinc"
    );
    assert_eq!(total(&e), codes(&e).len() as u64);
}

#[actix_web::test]
async fn kine_finds_the_physiotherapist_in_the_professions() {
    let app = app!();
    let e = expand_get(&app, &fhir_vs(G15), "kine", "").await;
    assert_eq!(codes(&e), ["70"], "{e}");
    assert_eq!(e["contains"][0]["display"], "Masseur-Kinésithérapeute");
    // Typed in full, with its accents, or as the discipline.
    for q in ["kinésithérapeute", "Masseur-Kiné", "kinesitherapie"] {
        let e = expand_get(&app, &fhir_vs(G15), q, "").await;
        assert_eq!(
            codes(&e).first().map(String::as_str),
            Some("70"),
            "{q}: {e}"
        );
    }
}

#[actix_web::test]
async fn ophtalmo_finds_ophthalmology() {
    let app = app!();
    let e = expand_get(&app, &fhir_vs(R38), "ophtalmo", "").await;
    assert_eq!(codes(&e), ["SM38"], "{e}");
    let e = expand_get(&app, &fhir_vs(R38), "ophtalmologue", "").await;
    assert_eq!(codes(&e), ["SM38"], "{e}");
}

#[actix_web::test]
async fn accents_and_case_do_not_matter() {
    let app = app!();
    for (url, plain, accented) in [
        (fhir_vs(R38), "pediatrie", "Pédiatrie"),
        (fhir_vs(R38), "geriatrie", "GÉRIATRIE"),
        (J07.to_string(), "echographie", "échographie"),
        (J07.to_string(), "cr anesthesie", "CR d'anesthésie"),
    ] {
        let a = expand_get(&app, &url, plain, "").await;
        let b = expand_get(&app, &url, accented, "").await;
        assert_eq!(codes(&a), codes(&b), "{plain} / {accented}");
    }
    let e = expand_get(&app, &fhir_vs(R38), "pediatrie", "").await;
    assert_eq!(codes(&e).first().map(String::as_str), Some("SM40"));
    let e = expand_get(&app, J07, "cr anesthesie", "").await;
    assert_eq!(
        codes(&e).first().map(String::as_str),
        Some("77436-4"),
        "{e}"
    );
}

#[actix_web::test]
async fn hyphens_and_apostrophes_split_words() {
    let app = app!();
    // "compte-rendu" finds "Compte-rendu …", "Compte rendu …" and the "CR …" labels.
    let e = expand_get(&app, J10, "compte-rendu", "").await;
    let found = codes(&e);
    for code in [
        "urn:asip:ci-sis:crrtn:2013",
        "urn:ihe:rad:CDA:ImagingReportStructuredHeadings:2013",
        "urn:asip:ci-sis:cr-anest:2020",
        "urn:ihe:eyecare:geneyeevalcn:2014",
    ] {
        assert!(found.iter().any(|c| c == code), "{code} in {found:?}");
    }
    let e = expand_get(&app, J07, "d'imagerie", "").await;
    assert!(codes(&e).contains(&"18748-4".to_string()), "{e}");
    let e = expand_get(&app, J07, "cr d'imagerie", "").await;
    assert_eq!(
        codes(&e).first().map(String::as_str),
        Some("18748-4"),
        "{e}"
    );
    let e = expand_get(&app, J07, "cr d’imagerie", "").await;
    assert_eq!(
        codes(&e).first().map(String::as_str),
        Some("18748-4"),
        "typographic apostrophe"
    );
}

#[actix_web::test]
async fn typos_are_found_by_the_fuzzy_fallback() {
    let app = app!();
    let e = expand_get(&app, J07, "cr operatoir", "").await;
    assert_eq!(
        codes(&e).first().map(String::as_str),
        Some("34874-8"),
        "{e}"
    );
    let e = expand_get(&app, J07, "cr opreatoire", "").await;
    assert_eq!(
        codes(&e).first().map(String::as_str),
        Some("34874-8"),
        "transposition: {e}"
    );
    let e = expand_get(&app, &fhir_vs(R38), "cardiolgie", "").await;
    assert_eq!(codes(&e).first().map(String::as_str), Some("SM04"), "{e}");
    let e = expand_get(&app, J07, "lettre de liason", "").await;
    assert_eq!(
        codes(&e).first().map(String::as_str),
        Some("11490-0"),
        "{e}"
    );
    // No typo tolerance on short words, and nothing invented for nonsense.
    let e = expand_get(&app, J07, "zzzzzz", "").await;
    assert_eq!(total(&e), 0);
}

#[actix_web::test]
async fn stop_words_do_not_kill_the_query() {
    let app = app!();
    let e = expand_get(&app, J07, "lettre de liaison sortie", "").await;
    assert_eq!(&codes(&e)[..2], ["11490-0", "83981-1"], "{e}");
    let e = expand_get(
        &app,
        J07,
        "lettre liaison a la sortie d un etablissement",
        "",
    )
    .await;
    assert_eq!(
        codes(&e).first().map(String::as_str),
        Some("11490-0"),
        "{e}"
    );
    // A stop word typed alone is a prefix like any other.
    let e = expand_get(&app, J07, "de", "").await;
    assert!(total(&e) > 0);
}

#[actix_web::test]
async fn words_in_any_order_and_codes_typed_as_queries() {
    let app = app!();
    let e = expand_get(&app, J07, "operatoire cr", "").await;
    assert_eq!(e["contains"][0]["code"], "34874-8", "{e}");
    let e = expand_get(&app, J07, "34874-8", "").await;
    assert_eq!(e["contains"][0]["code"], "34874-8", "{e}");
    let e = expand_get(&app, &fhir_vs(R21), "FON-29", "").await;
    assert_eq!(e["contains"][0]["code"], "FON-29", "{e}");
}

#[actix_web::test]
async fn empty_filter_is_no_filter_and_no_match_is_an_empty_expansion() {
    let app = app!();
    let all = expand_get(&app, J07, "", "&valueSetVersion=0.1.0").await;
    assert_eq!(total(&all), 93, "{all}");
    let none = expand_get(&app, J07, "zzqxw", "").await;
    assert_eq!(total(&none), 0, "{none}");
    assert!(none.get("contains").is_none(), "{none}");
}

#[actix_web::test]
async fn same_query_same_order() {
    let app = app!();
    for q in ["cr", "c", "lettre", "cr de"] {
        let a = expand_get(&app, J07, q, "").await;
        let b = expand_get(&app, J07, q, "").await;
        assert_eq!(a["contains"], b["contains"], "{q}");
        assert_eq!(total(&a), codes(&a).len() as u64, "{q}");
    }
}

#[actix_web::test]
async fn pages_cover_the_matches_exactly_once() {
    let app = app!();
    let all = expand_get(&app, J07, "cr", "").await;
    let expected = codes(&all);
    assert!(expected.len() > 20, "{}", expected.len());
    let mut paged = Vec::new();
    let mut offset = 0;
    loop {
        let page = expand_get(&app, J07, "cr", &format!("&count=7&offset={offset}")).await;
        assert_eq!(total(&page), expected.len() as u64);
        let got = codes(&page);
        if got.is_empty() {
            break;
        }
        assert!(got.len() <= 7);
        paged.extend(got);
        offset += 7;
    }
    assert_eq!(paged, expected);
}

#[actix_web::test]
async fn active_only_and_designations_apply_to_filtered_expansions() {
    let app = app!();
    // R38 has "Radio-pharmacie (SP)", retired, beside the active "Radio-…" specialties.
    let all = expand_get(&app, &fhir_vs(R38), "radio", "").await;
    let active = expand_get(&app, &fhir_vs(R38), "radio", "&activeOnly=true").await;
    assert!(codes(&all).contains(&"SP01".to_string()), "{all}");
    assert!(total(&active) < total(&all), "{all}");
    assert!(active["contains"]
        .as_array()
        .into_iter()
        .flatten()
        .all(|c| c["inactive"] != true));
    // Retired concepts come after the active ones.
    let flags: Vec<bool> = all["contains"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| c["inactive"] == true)
        .collect();
    let mut sorted = flags.clone();
    sorted.sort();
    assert_eq!(flags, sorted, "{all}");
    let e = expand_get(&app, &fhir_vs(G15), "kine", "&includeDesignations=true").await;
    assert!(
        e["contains"][0]["designation"]
            .as_array()
            .is_some_and(|d| !d.is_empty()),
        "{e}"
    );
}

#[actix_web::test]
async fn request_value_sets_still_use_the_plain_matcher() {
    let app = app!();
    let inline = json!({"resourceType":"ValueSet","url":"http://example.org/vs/professions","status":"active",
        "compose":{"include":[{"system": G15}]}});
    let req = test::TestRequest::post()
        .uri("/fhir/ValueSet/$expand")
        .insert_header(("content-type", "application/fhir+json"))
        .set_payload(
            json!({"resourceType":"Parameters","parameter":[
                {"name":"valueSet","resource": inline},
                {"name":"filter","valueString":"kiné"}]})
            .to_string(),
        )
        .to_request();
    let (status, body) = call(&app, req).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(codes(&body["expansion"]), ["70"]);
}

// ---------------------------------------------------------------------------------------------
// Relevance: recall@1 and @5 of nosterm against the plain matchers, on a hand-written query set.

struct Case {
    table: String,
    query: String,
    expected: String,
}

fn cases() -> Vec<Case> {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/search-queries.csv");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let mut f = l.splitn(3, ',');
            let mut next = || f.next().unwrap_or_default().trim().to_string();
            Case {
                table: next(),
                query: next(),
                expected: next(),
            }
        })
        .collect()
}

fn value_set(catalog: &Catalog, table: &str) -> ValueSet {
    let scope = Scope::new(catalog);
    let url = match table {
        "J02" => J02,
        "J07" => J07,
        "J10" => J10,
        "G15" => {
            return implicit_value_set(
                G15,
                scope
                    .code_system(G15, None)
                    .and_then(|c| c.meta.version.clone())
                    .as_deref(),
            )
        }
        "R21" | "R02" => {
            let url = if table == "R21" { R21 } else { R02 };
            return implicit_value_set(
                url,
                scope
                    .code_system(url, None)
                    .and_then(|c| c.meta.version.clone())
                    .as_deref(),
            );
        }
        "R38" => {
            return implicit_value_set(
                R38,
                scope
                    .code_system(R38, None)
                    .and_then(|c| c.meta.version.clone())
                    .as_deref(),
            )
        }
        other => panic!("unknown table {other} in the query set"),
    };
    // The 2023 JDVs the query set was written for (the 2024 IHE SVS versions are newer).
    match scope.value_set(url, Some("0.1.0")) {
        Some(vs) => (*vs).clone(),
        None => panic!("{url} is loaded"),
    }
}

/// Codes in result order, through `$expand` as the server runs it (`overlay` forces the plain
/// word-prefix matcher, as for a request's own resources).
fn ranked(
    catalog: &Catalog,
    search: Option<&SearchIndex>,
    overlay: Option<&Catalog>,
    vs: &ValueSet,
    query: &str,
) -> Vec<String> {
    let scope = Scope {
        base: catalog,
        overlay,
        search,
        deadline: None,
        value_set_versions: &[],
        ecl_max_steps: nosterm::ops::scope::DEFAULT_ECL_STEPS,
    };
    let req = ExpandRequest {
        filter: Some(query.to_string()),
        ..Default::default()
    };
    match expand(&scope, vs, &req) {
        Ok(e) => e.items.into_iter().map(|i| i.code).collect(),
        Err(e) => panic!("{query}: {e}"),
    }
}

/// The naive baseline: members whose display contains the query (case and accents ignored),
/// in value-set order.
fn substring(catalog: &Catalog, vs: &ValueSet, query: &str) -> Vec<String> {
    let needle = fold(query.trim());
    match enumerate(&Scope::new(catalog), vs, 0) {
        Ok(members) => members
            .into_iter()
            .filter(|m| {
                m.display
                    .as_deref()
                    .is_some_and(|d| fold(d).contains(&needle))
            })
            .map(|m| m.code)
            .collect(),
        Err(e) => panic!("{e}"),
    }
}

#[derive(Default)]
struct Recall {
    at1: usize,
    at5: usize,
    n: usize,
}

impl Recall {
    fn add(&mut self, results: &[String], expected: &str) -> bool {
        self.n += 1;
        let pos = results.iter().position(|c| c == expected);
        self.at1 += usize::from(pos == Some(0));
        self.at5 += usize::from(pos.is_some_and(|p| p < 5));
        pos == Some(0)
    }

    fn show(&self, name: &str) -> String {
        let pct = |k: usize| 100.0 * k as f64 / self.n.max(1) as f64;
        format!(
            "{name:<28} recall@1 {:>5.1}% ({}/{})  recall@5 {:>5.1}% ({}/{})",
            pct(self.at1),
            self.at1,
            self.n,
            pct(self.at5),
            self.at5,
            self.n
        )
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

#[actix_web::test]
async fn relevance_against_the_plain_matchers() {
    let state = state();
    let snapshot = state.release();
    let catalog = &snapshot.catalog;
    // Any request-scoped code system turns the index off: the plain matcher answers.
    let mut overlay = Catalog::default();
    overlay.add_code_system(CodeSystem::new(
        ResourceMeta {
            url: "http://example.org/unused".into(),
            ..Default::default()
        },
        Vec::new(),
    ));
    let cases = cases();
    assert!(cases.len() >= 30, "{} queries", cases.len());
    let (mut ours, mut prefix, mut naive) =
        (Recall::default(), Recall::default(), Recall::default());
    let mut misses = Vec::new();
    let mut timings = Vec::new();
    for c in &cases {
        let vs = value_set(catalog, &c.table);
        let members = enumerate(&Scope::new(catalog), &vs, 0).unwrap_or_default();
        assert!(
            members.iter().any(|m| m.code == c.expected),
            "fixture: {} is not in {}",
            c.expected,
            c.table
        );
        let start = Instant::now();
        let got = ranked(catalog, snapshot.search.as_deref(), None, &vs, &c.query);
        timings.push(start.elapsed());
        if !ours.add(&got, &c.expected) {
            misses.push(format!(
                "  {} {:?}: expected {}, got {:?}",
                c.table,
                c.query,
                c.expected,
                &got[..got.len().min(3)]
            ));
        }
        prefix.add(
            &ranked(
                catalog,
                snapshot.search.as_deref(),
                Some(&overlay),
                &vs,
                &c.query,
            ),
            &c.expected,
        );
        naive.add(&substring(catalog, &vs, &c.query), &c.expected);
    }
    println!(
        "relevance on {} queries (tests/fixtures/search-queries.csv):",
        cases.len()
    );
    println!("{}", ours.show("nosterm (tantivy + rerank)"));
    println!("{}", prefix.show("plain word-prefix matcher"));
    println!("{}", naive.show("plain substring matcher"));
    println!(
        "first-time $expand with filter (uncached, this build): median {:?}, max {:?}",
        median(timings.clone()),
        timings.iter().max().copied().unwrap_or_default()
    );
    if !misses.is_empty() {
        println!("not first:\n{}", misses.join("\n"));
    }
    assert!(ours.at1 * 100 >= ours.n * 85, "{}", ours.show("nosterm"));
    assert!(ours.at5 * 100 >= ours.n * 95, "{}", ours.show("nosterm"));
    assert!(ours.at1 > prefix.at1 && ours.at1 > naive.at1);
}

/// A catalog JDV including two releases of one TRE: a text filter finds the code in both.
#[actix_web::test]
async fn filtered_expansion_of_two_releases_lists_both() {
    const TRE: &str = "https://mos.esante.gouv.fr/NOS/TRE_R999-Essai/FHIR/TRE-R999-Essai";
    const JDV: &str = "https://mos.esante.gouv.fr/NOS/JDV_J999-Essai/FHIR/JDV-J999-Essai";
    let dir = std::env::temp_dir().join(format!("nosterm-two-releases-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    for (version, renamed) in [
        ("20240101120000", "Kinésithérapeute"),
        ("20250101120000", "Masseur-kinésithérapeute"),
    ] {
        let cs = serde_json::json!({"resourceType": "CodeSystem", "id": format!("TRE-R999-{version}"),
            "url": TRE, "version": version, "status": "active", "content": "complete",
            "concept": [{"code": "10", "display": renamed}, {"code": "20", "display": "Orthophoniste"}]});
        std::fs::write(
            dir.join(format!("CodeSystem-TRE-R999-{version}.json")),
            cs.to_string(),
        )
        .expect("write");
    }
    let jdv = serde_json::json!({"resourceType": "ValueSet", "id": "JDV-J999-Essai", "url": JDV,
        "status": "active", "compose": {"include": [
            {"system": TRE, "version": "20240101120000"}, {"system": TRE, "version": "20250101120000"}]}});
    std::fs::write(dir.join("ValueSet-JDV-J999-Essai.json"), jdv.to_string()).expect("write");
    let state = match AppState::load(&dir, AppConfig::default()) {
        Ok(s) => web::Data::new(s),
        Err(errors) => panic!("test data must load: {errors:?}"),
    };
    let app = common::start(state).await;
    let e = expand_get(&app, JDV, "kine", "").await;
    assert_eq!(codes(&e), ["10", "10"], "{e}");
    let versions: Vec<&str> = e["contains"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["version"].as_str())
        .collect();
    assert_eq!(versions.len(), 2, "{e}");
    assert_ne!(versions[0], versions[1]);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Five concepts of TRE_R02 hold "pharmacie", one inside the one-word compound
/// « Propharmacie »: the first page of five shows all five (it showed four). Acronyms of the
/// labels work on every table: "merm" (Manipulateur ERM), "cro" (CR opératoire).
#[actix_web::test]
async fn every_match_inside_compounds_and_acronyms_of_the_shipped_tables() {
    const R02: &str =
        "https://mos.esante.gouv.fr/NOS/TRE_R02-SecteurActivite/FHIR/TRE-R02-SecteurActivite";
    let app = app!();
    let e = expand_get(&app, &fhir_vs(R02), "pharmacie", "&count=5").await;
    let mut found = codes(&e);
    found.sort_unstable();
    assert_eq!(found, ["SA33", "SA35", "SA38", "SA39", "SA56"], "{e}");
    assert_eq!(total(&e), 5);
    let e = expand_get(&app, &fhir_vs(G15), "merm", "").await;
    assert_eq!(codes(&e).first().map(String::as_str), Some("98"), "{e}");
    let e = expand_get(&app, J07, "cro", "").await;
    assert_eq!(
        codes(&e).first().map(String::as_str),
        Some("34874-8"),
        "{e}"
    );
}
