//! The hot paths of a terminology server, on the shipped data: exact `$validate-code`
//! (CodeSystem and ValueSet, by canonical URL and by OID), `$lookup`, `$expand` with a text
//! filter, and loading the data. Two levels:
//!
//! - `ops`: the pure operations (`nosterm::ops`) over a snapshot, as a handler calls them;
//! - `http`: the same requests through the real actix-web app, in-process (parameter parsing,
//!   routing, JSON rendering included; no sockets).
//!
//! `cargo bench --bench hot_paths` (all), `cargo bench --bench hot_paths -- ops/` (a group).
//! `NOSTERM_BENCH_DATA=DIR` runs the same benches over another data folder (e.g. the
//! synthetic table of `scripts/gen-synthetic`); the requests then come from that folder's
//! first TRE and first JDV.

use std::hint::black_box;
use std::path::{Path, PathBuf};

use actix_web::{test, web};
use criterion::{criterion_group, criterion_main, Criterion};
use nosterm::catalog::Catalog;
use nosterm::config::AppConfig;
use nosterm::load::load_dir;
use nosterm::ops::expand::{expand, ExpandRequest};
use nosterm::ops::lookup::{lookup, LookupRequest};
use nosterm::ops::validate::{validate, CodingInput, Options, Subject, Target};
use nosterm::ops::Scope;
use nosterm::state::AppState;

/// What the benches ask about: a code system with one of its codes, a value set with one of
/// its members, and a prefix to filter the value set with.
struct Cases {
    cs_url: String,
    cs_oid: String,
    code: String,
    display: String,
    vs_url: String,
    vs_oid: String,
    member_system: String,
    member_code: String,
    filter_vs: String,
    filter: String,
    /// A large catalog value set (enumerated members) and a prefix, when there is one.
    big_vs: Option<(String, String, String)>,
}

fn data_dir() -> PathBuf {
    std::env::var_os("NOSTERM_BENCH_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("data"))
}

fn shipped_cases() -> Cases {
    const R21: &str = "https://mos.esante.gouv.fr/NOS/TRE_R21-Fonction/FHIR/TRE-R21-Fonction";
    const J07: &str =
        "https://mos.esante.gouv.fr/NOS/JDV_J07-XdsTypeCode-CISIS/FHIR/JDV-J07-XdsTypeCode-CISIS";
    const A05: &str = "https://mos.esante.gouv.fr/NOS/TRE_A05-TypeDocComplementaire/FHIR/TRE-A05-TypeDocComplementaire";
    Cases {
        cs_url: R21.into(),
        cs_oid: "urn:oid:1.2.250.1.213.1.6.1.17".into(),
        code: "FON-03".into(),
        display: "Titulaire d'officine".into(),
        vs_url: J07.into(),
        vs_oid: "urn:oid:1.2.250.1.213.1.1.5.471".into(),
        member_system: A05.into(),
        member_code: "ATTEST-RESID".into(),
        filter_vs: J07.into(),
        filter: "cr op".into(),
        // JDV_CodesDocumentImagerie_CISIS: 6,343 LOINC members, the last one asked for.
        big_vs: Some((
            "urn:oid:1.2.250.1.213.1.1.5.687".into(),
            "99827-8".into(),
            "echo".into(),
        )),
    }
}

/// Cases from a folder in the CSV layout: its first TRE with content, and its first JDV.
fn cases_from(dir: &Path, catalog: &Catalog) -> Cases {
    let mut rows = match csv::Reader::from_path(dir.join("catalog.csv")) {
        Ok(r) => r,
        Err(e) => panic!("{}: {e}", dir.join("catalog.csv").display()),
    };
    let records: Vec<csv::StringRecord> = rows.records().filter_map(|r| r.ok()).collect();
    let pick = |kind: &str| {
        records
            .iter()
            .find(|r| &r[1] == kind && &r[9] != "0")
            .unwrap_or_else(|| panic!("no {kind} in catalog.csv"))
    };
    let (tre, jdv) = (pick("TRE"), pick("JDV"));
    let cs = Scope::new(catalog)
        .code_system(&tre[2], None)
        .expect("the TRE is loaded");
    let concept = &cs.concepts[cs.concepts.len() / 2];
    let vs = Scope::new(catalog)
        .value_set(&jdv[2], None)
        .expect("the JDV is loaded");
    let include = &vs.compose.include[0];
    let member = &include.concepts[include.concepts.len() / 2];
    let word: String = concept
        .display
        .as_deref()
        .unwrap_or("a")
        .chars()
        .take(4)
        .collect();
    Cases {
        cs_url: tre[2].to_string(),
        cs_oid: format!("urn:oid:{}", &tre[3]),
        code: concept.code.clone(),
        display: concept.display.clone().unwrap_or_default(),
        vs_url: jdv[2].to_string(),
        vs_oid: format!("urn:oid:{}", &jdv[3]),
        member_system: include.system.clone().unwrap_or_default(),
        member_code: member.code.clone(),
        filter_vs: jdv[2].to_string(),
        filter: word,
        big_vs: None,
    }
}

/// What the HTTP handler passes by default.
fn options() -> Options {
    Options {
        allow_abstract: true,
        ..Default::default()
    }
}

fn code(system: &str, code: &str, display: Option<&str>) -> Subject {
    Subject::Code(CodingInput {
        system: Some(system.into()),
        code: Some(code.into()),
        display: display.map(str::to_string),
        version: None,
    })
}

fn load_state(dir: &Path) -> AppState {
    match AppState::load(dir, AppConfig::default()) {
        Ok(s) => s,
        Err(errors) => panic!("{} must load: {errors:?}", dir.display()),
    }
}

fn bench_ops(c: &mut Criterion, state: &AppState, k: &Cases) {
    let snapshot = state.release();
    let scope = Scope {
        search: snapshot.search.as_deref(),
        ..Scope::new(&snapshot.catalog)
    };
    let opts = options();
    let mut g = c.benchmark_group("ops");
    for (name, system) in [("url", &k.cs_url), ("oid", &k.cs_oid)] {
        let subject = code(system, &k.code, None);
        let target = Target::CodeSystem {
            system: Some(system),
            version: None,
        };
        g.bench_function(format!("cs_validate_{name}"), |b| {
            b.iter(|| validate(&scope, target, black_box(&subject), &opts))
        });
    }
    let subject = code(&k.cs_url, &k.code, Some(&k.display));
    let target = Target::CodeSystem {
        system: Some(&k.cs_url),
        version: None,
    };
    g.bench_function("cs_validate_url_display", |b| {
        b.iter(|| validate(&scope, target, black_box(&subject), &opts))
    });
    for (name, vs_ref) in [("url", &k.vs_url), ("oid", &k.vs_oid)] {
        let subject = code(&k.member_system, &k.member_code, None);
        g.bench_function(format!("vs_validate_{name}"), |b| {
            b.iter(|| {
                let vs = scope.value_set(black_box(vs_ref), None).expect("loaded");
                validate(&scope, Target::ValueSet(&vs), &subject, &opts)
            })
        });
    }
    if let Some((vs_ref, member, _)) = &k.big_vs {
        let vs = scope.value_set(vs_ref, None).expect("loaded");
        let system = vs.compose.include[0].system.clone().unwrap_or_default();
        let subject = code(&system, member, None);
        g.bench_function("vs_validate_big_jdv_last_member", |b| {
            b.iter(|| validate(&scope, Target::ValueSet(&vs), black_box(&subject), &opts))
        });
    }
    let req = LookupRequest {
        system: k.cs_url.clone(),
        code: k.code.clone(),
        ..Default::default()
    };
    g.bench_function("lookup", |b| b.iter(|| lookup(&scope, black_box(&req))));
    let vs = scope.value_set(&k.filter_vs, None).expect("loaded");
    let req = ExpandRequest {
        filter: Some(k.filter.clone()),
        count: Some(10),
        ..Default::default()
    };
    g.bench_function("expand_filter", |b| {
        b.iter(|| expand(&scope, black_box(&vs), &req))
    });
    if let Some((vs_ref, _, filter)) = &k.big_vs {
        let vs = scope.value_set(vs_ref, None).expect("loaded");
        let req = ExpandRequest {
            filter: Some(filter.clone()),
            count: Some(10),
            ..Default::default()
        };
        g.bench_function("expand_filter_big_jdv", |b| {
            b.iter(|| expand(&scope, black_box(&vs), &req))
        });
    }
    g.finish();
}

fn query(pairs: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(pairs).expect("plain strings")
}

fn bench_http(c: &mut Criterion, state: AppState, k: &Cases) {
    let rt = actix_web::rt::System::new();
    let app = rt.block_on(test::init_service(nosterm::create_app(web::Data::new(
        state,
    ))));
    let gets = [
        (
            "cs_validate_url",
            format!(
                "/fhir/CodeSystem/$validate-code?{}",
                query(&[("url", &k.cs_url), ("code", &k.code)])
            ),
        ),
        (
            "cs_validate_oid",
            format!(
                "/fhir/CodeSystem/$validate-code?{}",
                query(&[("url", &k.cs_oid), ("code", &k.code)])
            ),
        ),
        (
            "vs_validate_url",
            format!(
                "/fhir/ValueSet/$validate-code?{}",
                query(&[
                    ("url", &k.vs_url),
                    ("system", &k.member_system),
                    ("code", &k.member_code)
                ])
            ),
        ),
        (
            "lookup",
            format!(
                "/fhir/CodeSystem/$lookup?{}",
                query(&[("system", &k.cs_url), ("code", &k.code)])
            ),
        ),
        (
            "expand_filter",
            format!(
                "/fhir/ValueSet/$expand?{}",
                query(&[
                    ("url", &k.filter_vs),
                    ("filter", &k.filter),
                    ("count", "10")
                ])
            ),
        ),
    ];
    let mut g = c.benchmark_group("http");
    for (name, uri) in &gets {
        g.bench_function(*name, |b| {
            b.iter(|| {
                let req = test::TestRequest::get().uri(uri).to_request();
                let resp = rt.block_on(test::call_service(&app, req));
                assert!(resp.status().is_success(), "{uri}: {}", resp.status());
                rt.block_on(test::read_body(resp))
            })
        });
    }
    let body = serde_json::json!({"resourceType": "Parameters", "parameter": [
        {"name": "url", "valueUri": k.vs_oid},
        {"name": "coding", "valueCoding": {"system": k.member_system, "code": k.member_code}},
    ]})
    .to_string();
    g.bench_function("vs_validate_oid_post", |b| {
        b.iter(|| {
            let req = test::TestRequest::post()
                .uri("/fhir/ValueSet/$validate-code")
                .insert_header(("content-type", "application/fhir+json"))
                .set_payload(body.clone())
                .to_request();
            let resp = rt.block_on(test::call_service(&app, req));
            assert!(resp.status().is_success());
            rt.block_on(test::read_body(resp))
        })
    });
    g.finish();
}

fn bench_load(c: &mut Criterion, dir: &Path) {
    let mut g = c.benchmark_group("load");
    g.sample_size(10);
    g.bench_function("load_dir + Catalog::from_dataset", |b| {
        b.iter(|| match load_dir(black_box(dir)) {
            Ok(data) => Catalog::from_dataset(data),
            Err(e) => panic!("{e:?}"),
        })
    });
    g.finish();
}

fn bench(c: &mut Criterion) {
    let dir = data_dir();
    let state = load_state(&dir);
    let cases = if std::env::var_os("NOSTERM_BENCH_DATA").is_some() {
        cases_from(&dir, &state.release().catalog)
    } else {
        shipped_cases()
    };
    bench_ops(c, &state, &cases);
    bench_http(c, state, &cases);
    bench_load(c, &dir);
}

criterion_group!(benches, bench);
criterion_main!(benches);
