//! The CI-SIS value sets in IHE SVS XML (data/svs): every member found again over FHIR
//! (`ValueSet/$validate-code`, value set and system by OID) and over IHE SVS (ITI-48), OID ↔
//! URL in operations, two versions of one JDV, membership without the code system, display
//! differences, SVS errors. The real app, in-process, on the shipped data.

mod common;
use common::{enc, param_value};

use std::collections::BTreeSet;
use std::fs;
use std::time::Instant;

use actix_web::{test, web};
use nosterm::load::svs::parse_svs;
use nosterm::state::AppState;
use serde_json::{json, Value};

const J07: &str =
    "https://mos.esante.gouv.fr/NOS/JDV_J07-XdsTypeCode-CISIS/FHIR/JDV-J07-XdsTypeCode-CISIS";
const J07_OID: &str = "1.2.250.1.213.1.1.5.471";
const A05: &str = "https://mos.esante.gouv.fr/NOS/TRE_A05-TypeDocComplementaire/FHIR/TRE-A05-TypeDocComplementaire";
const A05_OID: &str = "1.2.250.1.213.1.1.4.12";
const A04: &str = "https://mos.esante.gouv.fr/NOS/TRE_A04-Loinc/FHIR/TRE-A04-Loinc";
const LOINC_OID: &str = "2.16.840.1.113883.6.1";
const IMAGERIE_OID: &str = "1.2.250.1.213.1.1.5.687";
const SITE_OID_FILE: &str = "JDV_ImmunizationApproachSiteCode_CISIS.xml";

fn state() -> web::Data<AppState> {
    common::shipped_state()
}

macro_rules! app {
    () => {
        common::start(state()).await
    };
}

/// GET, returning (status, content type, body bytes).
async fn get_raw<S: common::App>(app: &S, uri: &str) -> (u16, String, Vec<u8>, Option<String>) {
    let resp = test::call_service(app, test::TestRequest::get().uri(uri).to_request()).await;
    let status = resp.status().as_u16();
    let header = |n: &str| {
        resp.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let ctype = header("content-type").unwrap_or_default();
    let svs_error = header("x-svs-error");
    let body = test::read_body(resp).await.to_vec();
    (status, ctype, body, svs_error)
}

async fn get<S: common::App>(app: &S, uri: &str) -> Value {
    let (_, _, body, _) = get_raw(app, uri).await;
    serde_json::from_slice(&body).expect("JSON body")
}

fn issues(p: &Value) -> Vec<Value> {
    p["parameter"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["name"] == "issues"))
        .and_then(|x| x["resource"]["issue"].as_array().cloned())
        .unwrap_or_default()
}

/// (code, codeSystem, displayName) of every Concept of an SVS document, as the loader reads
/// it (a member listed twice with two displayNames gives both).
fn triples(xml: &[u8], name: &str) -> (String, Option<String>, BTreeSet<(String, String, String)>) {
    let f = parse_svs(xml, name).unwrap_or_else(|e| panic!("{name}: {e:?}"));
    assert_eq!(f.value_sets.len(), 1, "{name}");
    let vs = &f.value_sets[0];
    let mut out = BTreeSet::new();
    for inc in &vs.compose.include {
        let system = inc.system.clone().unwrap_or_default();
        let oid = system
            .strip_prefix("urn:oid:")
            .unwrap_or(&system)
            .to_string();
        for c in &inc.concepts {
            let d = c.display.clone().unwrap_or_default();
            out.insert((c.code.clone(), oid.clone(), d));
            for extra in &c.designations {
                out.insert((c.code.clone(), oid.clone(), extra.value.clone()));
            }
        }
    }
    (vs.meta.oids[0].clone(), vs.meta.version.clone(), out)
}

/// Every shipped SVS file: ITI-48 gives back the same (code, codeSystem, displayName) set, and
/// `ValueSet/$validate-code` (value set by OID and version, system by OID, with the file's
/// displayName) finds every member.
#[actix_web::test]
async fn every_shipped_svs_member_is_found_by_fhir_and_by_iti48() {
    let app = app!();
    let dir = common::data_dir().join("svs");
    let mut files: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        .collect();
    files.sort();
    let (mut value_sets, mut retrieved, mut checked) = (0, 0, 0);
    let mut unknown_in_older_tre = Vec::new();
    let mut not_cs = Vec::new();
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let (oid, version, expected) = triples(&fs::read(path).unwrap(), &name);
        value_sets += 1;
        // ITI-48, pinned to the file's version (J07 & co. also exist in 2023).
        let mut uri = format!("/svs/RetrieveValueSet?id={oid}");
        if let Some(v) = &version {
            uri.push_str(&format!("&version={}", enc(v)));
        }
        let (status, ctype, body, _) = get_raw(&app, &uri).await;
        assert_eq!(status, 200, "{uri}: {}", String::from_utf8_lossy(&body));
        assert!(ctype.starts_with("text/xml"), "{ctype}");
        let (got_oid, got_version, got) = triples(&body, &uri);
        assert_eq!(got_oid, oid);
        assert_eq!(got_version, version, "{uri}");
        // SVS answers leave out a code that is not an HL7 V3 `cs` token (XML whitespace inside;
        // at the ends it is collapsed, and a no-break space, as in JDV_AdditionGrandeur's
        // "75540009\u{a0}", is not XML whitespace): the placeholder "code à fournir" of
        // JDV_TrousseCCU_CISIS, listed twice.
        let (svs_expected, left_out): (BTreeSet<_>, BTreeSet<_>) =
            expected.iter().cloned().partition(|(code, _, _)| {
                !code
                    .trim_matches([' ', '\t', '\n', '\r'])
                    .contains([' ', '\t', '\n', '\r'])
            });
        assert_eq!(got, svs_expected, "{name}: ITI-48 differs from the file");
        retrieved += got.len();
        not_cs.extend(
            left_out
                .into_iter()
                .map(|(c, s, _)| format!("{name}: {s}#{c}")),
        );

        for (code, system, display) in &expected {
            let mut uri = format!(
                "/fhir/ValueSet/$validate-code?url=urn:oid:{oid}&system=urn:oid:{system}&code={}&display={}",
                enc(code),
                enc(display)
            );
            if let Some(v) = &version {
                uri.push_str(&format!("&valueSetVersion={}", enc(v)));
            }
            let p = get(&app, &uri).await;
            checked += 1;
            if param_value(&p, "result") == Some(&json!(true)) {
                continue;
            }
            // A 2024 JDV member that the shipped (2023) TRE does not have: the code system,
            // loaded, says the code is unknown. Anything else is a failure.
            let unknown_code = issues(&p)
                .iter()
                .any(|i| i["details"]["coding"][0]["code"] == "invalid-code");
            assert!(unknown_code, "{uri}: {p}");
            unknown_in_older_tre.push(format!("{name}: {system}#{code}"));
        }
    }
    eprintln!(
        "SVS: {} files, {value_sets} value sets, {retrieved} concepts retrieved by ITI-48, {checked} members validated; {} unknown to the older loaded TRE: {:?}",
        files.len(),
        unknown_in_older_tre.len(),
        unknown_in_older_tre
    );
    assert_eq!(files.len(), 467);
    assert_eq!(value_sets, 467);
    // 12,492 members + the second displayName of the member JDV_TrousseCCU lists twice.
    assert_eq!(checked, 12_493);
    // The same, less the 2 displays of the placeholder whose code has a space (see above).
    assert_eq!(retrieved, 12_491);
    assert_eq!(
        not_cs,
        [
            "JDV_TrousseCCU_CISIS.xml: 1.2.250.1.213.2.3.5#code à fournir",
            "JDV_TrousseCCU_CISIS.xml: 1.2.250.1.213.2.3.5#code à fournir"
        ]
    );
    // Members of 2024 JDVs whose code system is shipped in an older version that lacks the
    // code (TRE_A05, TRE_R02, TRE_R38, … from 2023; TRE_A08 has only N, R, V): the code system
    // answers "unknown code" (FHIR: a complete code system is the authority on its codes).
    assert_eq!(unknown_in_older_tre.len(), 42, "{unknown_in_older_tre:?}");
}

#[actix_web::test]
async fn oids_and_urls_in_every_operation() {
    let app = app!();
    // Value set and system by OID (urn:oid: and bare): the answer names the canonical URL.
    for (url, system) in [
        (format!("urn:oid:{J07_OID}"), format!("urn:oid:{A05_OID}")),
        (J07_OID.to_string(), A05_OID.to_string()),
        (J07.to_string(), A05.to_string()),
    ] {
        let p = get(
            &app,
            &format!(
                "/fhir/ValueSet/$validate-code?url={}&system={}&code=ATTEST-RESID",
                enc(&url),
                enc(&system)
            ),
        )
        .await;
        assert_eq!(
            param_value(&p, "result"),
            Some(&json!(true)),
            "{url} {system}: {p}"
        );
        assert_eq!(param_value(&p, "system"), Some(&json!(A05)), "{p}");
    }
    // $lookup and CodeSystem/$validate-code by OID.
    let p = get(
        &app,
        &format!("/fhir/CodeSystem/$lookup?system={A05_OID}&code=ATTEST-RESID"),
    )
    .await;
    assert_eq!(
        param_value(&p, "display"),
        Some(&json!("Attestation de résidence")),
        "{p}"
    );
    let p = get(
        &app,
        &format!("/fhir/CodeSystem/$validate-code?url=urn:oid:{A05_OID}&code=ATTEST-RESID"),
    )
    .await;
    assert_eq!(param_value(&p, "result"), Some(&json!(true)), "{p}");
    // $expand by OID: members carry canonical URLs (LOINC → the NOS TRE_A04 declared in
    // catalog.csv; SNOMED CT → the registry's http://snomed.info/sct).
    let vs = get(
        &app,
        &format!("/fhir/ValueSet/$expand?url=urn:oid:{J07_OID}&filter=radiologie"),
    )
    .await;
    let contains = vs["expansion"]["contains"].as_array().unwrap();
    assert!(!contains.is_empty(), "{vs}");
    assert!(contains.iter().any(|c| c["system"] == A04), "{vs}");
    assert!(
        contains.iter().all(|c| c["system"]
            .as_str()
            .is_some_and(|s| s.starts_with("https://"))),
        "{vs}"
    );
    let site = fs::read(common::data_dir().join("svs").join(SITE_OID_FILE)).unwrap();
    let (site_oid, _, _) = triples(&site, SITE_OID_FILE);
    let vs = get(&app, &format!("/fhir/ValueSet/$expand?url={site_oid}")).await;
    let systems: BTreeSet<&str> = vs["expansion"]["contains"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["system"].as_str())
        .collect();
    assert!(systems.contains("http://snomed.info/sct"), "{systems:?}");
    // A system unknown everywhere: CodeSystem/$validate-code says so, not "invalid code".
    let p = get(
        &app,
        "/fhir/CodeSystem/$validate-code?url=urn:oid:1.2.250.1.213.2.11&code=x",
    )
    .await;
    assert_eq!(param_value(&p, "result"), Some(&json!(false)), "{p}");
    let text = param_value(&p, "message")
        .and_then(Value::as_str)
        .unwrap_or("");
    assert!(
        text.contains(
            "A definition for CodeSystem 'urn:oid:1.2.250.1.213.2.11' could not be found"
        ),
        "{p}"
    );
}

#[actix_web::test]
async fn two_versions_of_one_jdv() {
    let app = app!();
    let url = enc(J07);
    // Unpinned: the newest (2024, IHE SVS); 11526-1 is only in the 2023 version.
    let check = |v: Option<&str>, code: &str| {
        let mut uri = format!(
            "/fhir/ValueSet/$validate-code?url={url}&system={}&code={code}",
            enc(A04)
        );
        if let Some(v) = v {
            uri.push_str(&format!("&valueSetVersion={v}"));
        }
        uri
    };
    let p = get(&app, &check(None, "11526-1")).await;
    assert_eq!(param_value(&p, "result"), Some(&json!(false)), "{p}");
    let p = get(&app, &check(Some("0.1.0"), "11526-1")).await;
    assert_eq!(param_value(&p, "result"), Some(&json!(true)), "{p}");
    let p = get(&app, &check(Some("20240927120000"), "11526-1")).await;
    assert_eq!(param_value(&p, "result"), Some(&json!(false)), "{p}");
    // Both versions are listed under the one canonical URL; ITI-48 picks by version.
    let b = get(&app, &format!("/fhir/ValueSet?url={url}")).await;
    let versions = common::bundle_versions(&b);
    assert_eq!(versions, vec!["0.1.0", "20240927120000"]);
    let (s, _, body, _) = get_raw(&app, &format!("/svs/RetrieveValueSet?id={J07_OID}")).await;
    assert_eq!(s, 200);
    let (_, v, newest) = triples(&body, "iti48");
    assert_eq!(v.as_deref(), Some("20240927120000"));
    let (_, _, body, _) = get_raw(
        &app,
        &format!("/svs/RetrieveValueSet?id={J07_OID}&version=0.1.0"),
    )
    .await;
    let (_, v, old) = triples(&body, "iti48");
    assert_eq!(v.as_deref(), Some("0.1.0"));
    assert_eq!(old.len(), 93);
    assert!(old.iter().any(|(c, s, _)| c == "11526-1" && s == LOINC_OID));
    assert!(!newest.iter().any(|(c, _, _)| c == "11526-1"));
}

#[actix_web::test]
async fn membership_without_the_code_system() {
    let app = app!();
    // LOINC (TRE_A04 is declared, content not-present) and SNOMED CT (not loaded at all).
    let p = get(
        &app,
        &format!(
            "/fhir/ValueSet/$validate-code?url=urn:oid:{IMAGERIE_OID}&system=urn:oid:{LOINC_OID}&code=11525-3&display={}",
            enc("échographie pour la grossesse")
        ),
    )
    .await;
    assert_eq!(param_value(&p, "result"), Some(&json!(true)), "{p}");
    let notes = issues(&p)
        .iter()
        .filter(|i| i["severity"] == "information")
        .count();
    assert_eq!(notes, 1, "{p}");
    let text = issues(&p)[0]["details"]["text"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(text.contains("was decided by the value set"), "{text}");
    let site = fs::read(common::data_dir().join("svs").join(SITE_OID_FILE)).unwrap();
    let (site_oid, _, _) = triples(&site, SITE_OID_FILE);
    for (code, ok) in [("64262003", true), ("12345", false)] {
        let p = get(
            &app,
            &format!(
                "/fhir/ValueSet/$validate-code?url={site_oid}&system=http://snomed.info/sct&code={code}"
            ),
        )
        .await;
        assert_eq!(param_value(&p, "result"), Some(&json!(ok)), "{code}: {p}");
    }
}

/// A member written with whitespace at the ends of its code in the file ("FFC " in
/// JDV_CompletudeDispensation, "\tLA6114-8" in JDV_ScoreRankin) matches the code a CDA
/// document carries.
#[actix_web::test]
async fn codes_with_whitespace_at_their_ends_are_read_trimmed() {
    let app = app!();
    for (vs, system, code) in [
        ("1.2.250.1.213.1.1.5.765", "2.16.840.1.113883.5.4", "FFC"),
        (
            "1.2.250.1.213.1.1.5.176",
            "2.16.840.1.113883.6.1",
            "LA6114-8",
        ),
    ] {
        let p = get(
            &app,
            &format!("/fhir/ValueSet/$validate-code?url=urn:oid:{vs}&system=urn:oid:{system}&code={code}"),
        )
        .await;
        assert_eq!(param_value(&p, "result"), Some(&json!(true)), "{code}: {p}");
    }
}

/// Each kind of display difference, strict (error, result false) and lenient (warning,
/// result true), on a loaded code system (TRE_A05 via J07) and without one (LOINC via the
/// imaging JDV).
#[actix_web::test]
async fn display_differences_strict_and_lenient() {
    let app = app!();
    let cases = [
        (
            J07,
            A05,
            "ATTEST-RESID",
            "attestation de résidence",
            "differs only by case",
        ),
        (
            J07,
            A05,
            "ATTEST-RESID",
            "Attestation  de résidence ",
            "differs only by whitespace",
        ),
        (
            J07,
            A05,
            "ATTEST-HEBGT",
            "Attestation d\u{2019}hébergement",
            "differs only by apostrophe/quote characters",
        ),
        (
            J07,
            A05,
            "ATTEST-HEBGT",
            "ATTESTATION  D\u{2019}HÉBERGEMENT",
            "differs only by case, whitespace and apostrophe/quote characters",
        ),
        (
            "urn:oid:1.2.250.1.213.1.1.5.687",
            A04,
            "11525-3",
            "Échographie pour la grossesse",
            "differs only by case",
        ),
    ];
    for (vs, system, code, display, kind) in cases {
        let base = format!(
            "/fhir/ValueSet/$validate-code?url={}&system={}&code={code}&display={}",
            enc(vs),
            enc(system),
            enc(display)
        );
        let p = get(&app, &base).await;
        assert_eq!(
            param_value(&p, "result"),
            Some(&json!(false)),
            "{display}: {p}"
        );
        let shown = issues(&p);
        let issue = shown
            .iter()
            .find(|i| i["details"]["coding"][0]["code"] == "invalid-display")
            .unwrap_or_else(|| panic!("{p}"));
        assert_eq!(issue["severity"], "error");
        let text = issue["details"]["text"].as_str().unwrap();
        assert!(
            text.starts_with(&format!("Wrong Display Name '{display}'")),
            "{text}"
        );
        assert!(text.contains("Valid display is '"), "{text}");
        assert!(text.ends_with(kind), "{text}");
        let p = get(&app, &format!("{base}&lenient-display-validation=true")).await;
        assert_eq!(
            param_value(&p, "result"),
            Some(&json!(true)),
            "{display}: {p}"
        );
        let issue = issues(&p)
            .into_iter()
            .find(|i| i["details"]["coding"][0]["code"] == "invalid-display")
            .unwrap();
        assert_eq!(issue["severity"], "warning");
    }
    // A wrong display (not a typo) gets no "differs only" clause.
    let p = get(
        &app,
        &format!(
            "/fhir/ValueSet/$validate-code?url={}&system={}&code=ATTEST-RESID&display=Boulangerie",
            enc(J07),
            enc(A05)
        ),
    )
    .await;
    assert_eq!(param_value(&p, "result"), Some(&json!(false)));
    assert!(!p.to_string().contains("differs only"), "{p}");
}

#[actix_web::test]
async fn server_option_makes_display_checks_lenient() {
    let config = nosterm::config::AppConfig {
        lenient_display: true,
        ..Default::default()
    };
    let state = match AppState::load(&common::data_dir(), config) {
        Ok(s) => web::Data::new(s),
        Err(e) => panic!("{e:?}"),
    };
    let app = common::start(state).await;
    let base = format!(
        "/fhir/ValueSet/$validate-code?url={}&system={}&code=ATTEST-RESID&display={}",
        enc(J07),
        enc(A05),
        enc("attestation de résidence")
    );
    let p = get(&app, &base).await;
    assert_eq!(param_value(&p, "result"), Some(&json!(true)), "{p}");
    // A request can still ask for strict checks.
    let p = get(&app, &format!("{base}&lenient-display-validation=false")).await;
    assert_eq!(param_value(&p, "result"), Some(&json!(false)), "{p}");
}

/// ITI-48 / ITI-60 responses, checked by hand against the structure of SVS.xsd (no XSD
/// validator is available here): root element and namespace, one ValueSet with `id` (an OID)
/// and `displayName`, ConceptList with at least one Concept carrying code, codeSystem and
/// displayName; ITI-60 DescribedValueSet with ID, ConceptList first, then the metadata.
#[actix_web::test]
async fn svs_responses_have_the_standard_structure_and_errors() {
    let app = app!();
    let (s, ctype, body, _) = get_raw(&app, &format!("/svs/RetrieveValueSet?id={J07_OID}")).await;
    assert_eq!(s, 200);
    assert!(ctype.starts_with("text/xml"));
    let x = String::from_utf8(body).unwrap();
    assert!(x.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<RetrieveValueSetResponse xmlns=\"urn:ihe:iti:svs:2008\">"), "{x}");
    assert!(x.contains(&format!("<ValueSet id=\"{J07_OID}\" displayName=\"JDV_J07_XdsTypeCode_CISIS\" version=\"20240927120000\">")), "{}", &x[..400]);
    assert!(x.contains("<Concept code=\"ATTEST-RESID\" codeSystem=\"1.2.250.1.213.1.1.4.12\" displayName=\"Attestation de résidence\"/>"));
    assert_eq!(x.matches("<ValueSet ").count(), 1);
    assert_eq!(x.matches("<ConceptList").count(), 1);

    // A FHIR-born value set (J08, 2023 CSV only) is retrievable too.
    let (s, _, body, _) = get_raw(
        &app,
        "/svs/RetrieveValueSet?id=1.2.250.1.213.1.1.5.463&version=0.1.0",
    )
    .await;
    assert_eq!(s, 200, "{}", String::from_utf8_lossy(&body));
    let (_, _, j08) = triples(&body, "j08");
    assert_eq!(j08.len(), 6);

    // ITI-60.
    let (s, _, body, _) = get_raw(
        &app,
        "/svs/RetrieveMultipleValueSets?DisplayNameContains=XdsTypeCode",
    )
    .await;
    assert_eq!(s, 200);
    let x = String::from_utf8(body.clone()).unwrap();
    assert!(x.contains("<RetrieveMultipleValueSetsResponse xmlns=\"urn:ihe:iti:svs:2008\">"));
    assert_eq!(x.matches("<DescribedValueSet ").count(), 1, "{x}");
    let cl = x.find("<ConceptList").unwrap();
    assert!(cl < x.find("<SourceURI>").unwrap() && cl < x.find("<Type>Expanded</Type>").unwrap());
    let f = parse_svs(&body, "iti60").unwrap();
    assert_eq!(f.value_sets[0].meta.oids, vec![J07_OID]);
    let (_, _, body, _) = get_raw(
        &app,
        &format!("/svs/RetrieveMultipleValueSets?ID={J07_OID}"),
    )
    .await;
    assert_eq!(parse_svs(&body, "iti60").unwrap().value_sets.len(), 1);
    let (s, _, body, _) = get_raw(
        &app,
        "/svs/RetrieveMultipleValueSets?DisplayNameContains=nothing-like-this",
    )
    .await;
    assert_eq!(s, 200);
    assert!(!String::from_utf8(body)
        .unwrap()
        .contains("<DescribedValueSet"));

    // Errors: unknown value set (NAV), unknown version (VERUNK), malformed requests.
    for (uri, status, code) in [
        ("/svs/RetrieveValueSet?id=1.2.3.4.5", 404, "NAV"),
        (
            "/svs/RetrieveValueSet?id=1.2.250.1.213.1.1.5.471&version=1999",
            404,
            "VERUNK",
        ),
        ("/svs/RetrieveValueSet", 400, "INV"),
        ("/svs/RetrieveValueSet?id=JDV_J07", 400, "INV"),
        ("/svs/RetrieveValueSet?id=1.2&id=1.3", 400, "INV"),
        (
            "/svs/RetrieveMultipleValueSets?CreationDateAfter=2020-01-01",
            501,
            "INV",
        ),
    ] {
        let (s, ctype, body, header) = get_raw(&app, uri).await;
        let text = String::from_utf8(body).unwrap();
        assert_eq!(s, status, "{uri}: {text}");
        assert_eq!(header.as_deref(), Some(code), "{uri}");
        assert!(ctype.starts_with("text/plain"));
        assert!(text.starts_with(&format!("{code}: ")), "{text}");
    }
}

#[actix_web::test]
async fn expand_filter_on_the_largest_jdv_is_fast() {
    let app = app!();
    let uri = format!(
        "/fhir/ValueSet/$expand?url=urn:oid:{IMAGERIE_OID}&filter={}",
        enc("échographie grossesse")
    );
    let _ = get(&app, &uri).await; // warm-up
    let started = Instant::now();
    let vs = get(&app, &uri).await;
    let took = started.elapsed();
    let contains = vs["expansion"]["contains"]
        .as_array()
        .unwrap_or_else(|| panic!("{vs}"));
    assert!(contains.iter().any(|c| c["code"] == "11525-3"), "{vs}");
    assert!(contains.len() < 200, "{}", contains.len());
    let all = get(
        &app,
        &format!("/fhir/ValueSet/$expand?url=urn:oid:{IMAGERIE_OID}&count=0"),
    )
    .await;
    assert_eq!(all["expansion"]["total"], 6343);
    eprintln!(
        "$expand filter on 6,343 members: {} hits in {took:?}",
        contains.len()
    );
    assert!(took.as_millis() < 2000, "{took:?}");
}
