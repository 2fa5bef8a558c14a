//! Search-as-you-type latency on the shipped data: the tantivy + Rust two-stage search
//! (uncached), `$expand` with a filter as the server runs it (cached, and the plain matcher
//! for comparison), and building the index.
//!
//! `cargo bench --bench search`

use std::hint::black_box;
use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion};
use nosterm::catalog::Catalog;
use nosterm::config::AppConfig;
use nosterm::model::{CodeSystem, ResourceMeta, ValueSet};
use nosterm::ops::expand::{expand, implicit_value_set, ExpandRequest};
use nosterm::ops::members::ExpansionMembers;
use nosterm::ops::Scope;
use nosterm::search::{ScopeKey, SearchIndex, SearchOptions};
use nosterm::state::AppState;

const J07: &str =
    "https://mos.esante.gouv.fr/NOS/JDV_J07-XdsTypeCode-CISIS/FHIR/JDV-J07-XdsTypeCode-CISIS";
const G15: &str =
    "https://mos.esante.gouv.fr/NOS/TRE_G15-ProfessionSante/FHIR/TRE-G15-ProfessionSante";
const R38: &str =
    "https://mos.esante.gouv.fr/NOS/TRE_R38-SpecialiteOrdinale/FHIR/TRE-R38-SpecialiteOrdinale";

fn state() -> AppState {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
    match AppState::load(&dir, AppConfig::default()) {
        Ok(s) => s,
        Err(errors) => panic!("shipped data must load: {errors:?}"),
    }
}

fn cs_key(catalog: &Catalog, url: &str) -> ScopeKey {
    let version = Scope::new(catalog)
        .code_system(url, None)
        .and_then(|c| c.meta.version.clone());
    ScopeKey::code_system(url, version.as_deref())
}

fn j07(catalog: &Catalog) -> ValueSet {
    match Scope::new(catalog).value_set(J07, None) {
        Some(vs) => (*vs).clone(),
        None => panic!("J07 is loaded"),
    }
}

fn bench(c: &mut Criterion) {
    let state = state();
    let snapshot = state.release();
    let catalog = &snapshot.catalog;
    let Some(index) = snapshot.search.clone() else {
        panic!("the shipped data is indexed");
    };
    let j07_vs = j07(catalog);
    let j07_key = ScopeKey::value_set(J07, j07_vs.meta.version.as_deref());
    let cases = [
        ("J07 cr op", j07_key.clone(), "cr op"),
        (
            "J07 lettre de liaison sortie",
            j07_key.clone(),
            "lettre de liaison sortie",
        ),
        ("J07 c (broad)", j07_key, "c"),
        ("G15 kine", cs_key(catalog, G15), "kine"),
        ("R38 cardiolgie (fuzzy)", cs_key(catalog, R38), "cardiolgie"),
    ];
    let mut g = c.benchmark_group("search_uncached");
    for (name, key, text) in &cases {
        g.bench_function(*name, |b| {
            b.iter(|| {
                index.search_uncached(black_box(key), black_box(text), SearchOptions::default())
            })
        });
    }
    g.finish();

    let mut overlay = Catalog::default();
    overlay.add_code_system(CodeSystem::new(
        ResourceMeta {
            url: "http://example.org/unused".into(),
            ..Default::default()
        },
        Vec::new(),
    ));
    let r38_vs = implicit_value_set(R38, None);
    let mut g = c.benchmark_group("expand_filter");
    for (name, vs, text) in [
        ("J07 cr op", &j07_vs, "cr op"),
        ("R38 ophtalmo", &r38_vs, "ophtalmo"),
    ] {
        let req = ExpandRequest {
            filter: Some(text.to_string()),
            count: Some(10),
            ..Default::default()
        };
        g.bench_function(format!("{name} index (cached)"), |b| {
            let indexed = Scope {
                search: Some(&index),
                ..Scope::new(catalog)
            };
            b.iter(|| expand(&indexed, black_box(vs), &req))
        });
        let plain = Scope {
            base: catalog,
            overlay: Some(&overlay),
            search: Some(&index),
            ..Scope::new(catalog)
        };
        g.bench_function(format!("{name} plain matcher"), |b| {
            b.iter(|| expand(&plain, black_box(vs), &req))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("index");
    g.sample_size(10);
    g.bench_function("build_in_ram (shipped data)", |b| {
        b.iter(|| SearchIndex::build_in_ram(black_box(catalog), &ExpansionMembers))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
