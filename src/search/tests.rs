//! Index-level tests on a small hand-made catalog.

use std::sync::Arc;

use super::*;
use crate::model::{
    CodeSystem, Coding, Compose, Concept, ConceptProperty, ConceptReference, ConceptSetComponent,
    Designation, PropertyValue, ResourceMeta, ValueSet,
};
use crate::ops::members::ExpansionMembers;

const CS: &str = "http://example.org/cs";
const VS: &str = "http://example.org/vs";

fn concept(code: &str, display: &str) -> Concept {
    Concept {
        code: code.into(),
        display: Some(display.into()),
        ..Default::default()
    }
}

fn designation(use_code: &str, value: &str) -> Designation {
    Designation {
        language: Some("fr-FR".into()),
        use_: Some(std::sync::Arc::new(Coding {
            code: Some(use_code.into()),
            ..Default::default()
        })),
        value: value.into(),
        extensions: None,
    }
}

fn catalog(extra: &str) -> Catalog {
    let mut kine = concept("70", "Masseur-Kinésithérapeute");
    kine.designations.push(designation("LibelleCourt", "MK"));
    kine.designations.push(designation(
        "DescriptionMetier",
        "Rééducation fonctionnelle",
    ));
    let mut retired = concept("R", "Radiologie");
    retired.properties.push(ConceptProperty {
        code: "dateFin".into(),
        value: PropertyValue::DateTime("2020-01-01T00:00:00+01:00".into()),
    });
    let concepts = vec![
        concept("E1", "Échographie cardiaque"),
        concept("E2", "Compte-rendu d'imagerie médicale"),
        kine,
        concept("SM38", "Ophtalmologie (SM)"),
        concept("SM04", "Cardiologie et Maladies vasculaires (SM)"),
        concept("SM11", "Chirurgie thoracique et cardio-vasculaire (SM)"),
        retired,
        concept("R2", "Radiologie interventionnelle"),
        concept(
            "L1",
            "Lettre de liaison à la sortie d'un établissement de soins",
        ),
        concept("OP", "CR opératoire"),
        concept("X", extra),
    ];
    let mut cat = Catalog::default();
    cat.add_code_system(CodeSystem::new(
        ResourceMeta {
            url: CS.into(),
            version: Some("1".into()),
            name: Some("TRE_X99-Exemple".into()),
            oids: vec!["1.2.3.4".into()],
            ..Default::default()
        },
        concepts,
    ));
    let reference = |code: &str, display: Option<&str>| ConceptReference {
        code: code.into(),
        display: display.map(str::to_string),
        ..Default::default()
    };
    cat.add_value_set(ValueSet {
        meta: ResourceMeta {
            url: VS.into(),
            version: Some("2".into()),
            ..Default::default()
        },
        compose: Compose {
            include: vec![ConceptSetComponent {
                system: Some(CS.into()),
                concepts: vec![
                    reference("OP", None),
                    reference("E2", Some("CR d'imagerie")),
                    reference("70", None),
                ],
                ..Default::default()
            }],
            ..Default::default()
        },
        ..Default::default()
    });
    cat
}

fn cs() -> ScopeKey {
    ScopeKey::code_system(CS, Some("1"))
}

fn codes(ix: &SearchIndex, scope: &ScopeKey, text: &str, active_only: bool) -> Vec<String> {
    let ranked = ix
        .search(scope, text, SearchOptions { active_only })
        .ok()
        .flatten()
        .unwrap_or_default();
    ranked
        .entries
        .iter()
        .filter_map(|&p| ix.entry(p))
        .map(|e| e.code().to_string())
        .collect()
}

fn index() -> SearchIndex {
    match SearchIndex::build_in_ram(&catalog("Autre"), &ExpansionMembers) {
        Ok(ix) => ix,
        Err(e) => panic!("index builds: {e}"),
    }
}

#[test]
fn every_concept_and_member_is_indexed() {
    let ix = index();
    assert_eq!(ix.len(), 11 + 3);
    assert!(ix.has_scope(&cs()));
    assert!(ix.has_scope(&ScopeKey::value_set(VS, Some("2"))));
    assert!(!ix.has_scope(&ScopeKey::value_set(VS, None)));
}

#[test]
fn accents_do_not_matter() {
    let ix = index();
    assert_eq!(codes(&ix, &cs(), "echographie", false), ["E1"]);
    assert_eq!(codes(&ix, &cs(), "ÉCHOGRAPHIE", false), ["E1"]);
    assert_eq!(codes(&ix, &cs(), "echo card", false), ["E1"]);
}

#[test]
fn hyphens_apostrophes_and_abbreviations() {
    let ix = index();
    assert_eq!(codes(&ix, &cs(), "compte-rendu", false)[0], "E2");
    // "imagerie" is on two lines of `synonyms.txt` (with "irm | scanner" and with "radio |
    // radiologie"): both meanings count, after the word as typed.
    assert_eq!(codes(&ix, &cs(), "d'imagerie", false), ["E2", "R2", "R"]);
    // "compte rendu" also finds the labels written "CR".
    assert_eq!(codes(&ix, &cs(), "compte rendu operatoire", false), ["OP"]);
    assert_eq!(codes(&ix, &cs(), "cr op", false), ["OP"]);
    assert_eq!(codes(&ix, &cs(), "kine", false), ["70"]);
    assert_eq!(codes(&ix, &cs(), "kinesitherapie", false), ["70"]);
}

#[test]
fn stop_words_do_not_kill_the_query() {
    let ix = index();
    assert_eq!(codes(&ix, &cs(), "lettre de liaison sortie", false), ["L1"]);
    assert_eq!(
        codes(&ix, &cs(), "lettre liaison a la sortie", false),
        ["L1"]
    );
    assert!(!codes(&ix, &cs(), "de", false).is_empty());
}

#[test]
fn typos_are_a_fallback() {
    let ix = index();
    let r = ix.search(&cs(), "cardiolgie", SearchOptions::default());
    let r = r.ok().flatten().unwrap_or_default();
    assert!(r.fuzzy);
    let found: Vec<&str> = r
        .entries
        .iter()
        .filter_map(|&p| ix.entry(p))
        .map(|e| e.code())
        .collect();
    assert_eq!(found.first(), Some(&"SM04"));
    // Exact prefixes win: no fuzzy noise when something matches as typed.
    let r = ix
        .search(&cs(), "cardio", SearchOptions::default())
        .ok()
        .flatten()
        .unwrap_or_default();
    assert!(!r.fuzzy);
    assert_eq!(codes(&ix, &cs(), "cardio", false), ["SM04", "SM11"]);
    // Short words get no typo tolerance.
    assert!(codes(&ix, &cs(), "kone", false).is_empty());
}

#[test]
fn codes_match_exactly_and_first() {
    let ix = index();
    assert_eq!(codes(&ix, &cs(), "sm38", false), ["SM38"]);
    // "SM" is also a word of these displays: the shortest display comes first.
    assert_eq!(codes(&ix, &cs(), "SM", false), ["SM38", "SM04", "SM11"]);
}

#[test]
fn retired_last_or_excluded() {
    let ix = index();
    assert_eq!(codes(&ix, &cs(), "radiologie interv", false), ["R2"]);
    assert_eq!(codes(&ix, &cs(), "radiologie", false), ["R2", "R", "E2"]);
    // "radio" is also an abbreviation of "imagerie" (a derived match, after the typed ones).
    assert_eq!(codes(&ix, &cs(), "radio", false), ["R2", "R", "E2"]);
    assert_eq!(codes(&ix, &cs(), "radiologie", true), ["R2", "E2"]);
}

#[test]
fn value_set_labels_are_searched() {
    let ix = index();
    let vs = ScopeKey::value_set(VS, Some("2"));
    // Same length ("CR d'imagerie", "CR opératoire"): by code.
    assert_eq!(codes(&ix, &vs, "cr", false), ["E2", "OP"]);
    // The code system's own label is still found, as a designation.
    assert_eq!(
        codes(&ix, &vs, "compte-rendu d'imagerie medicale", false),
        ["E2"]
    );
    // Designations and, with a lower weight, descriptions.
    assert_eq!(codes(&ix, &vs, "mk", false), ["70"]);
    assert_eq!(codes(&ix, &vs, "reeducation", false), ["70"]);
}

#[test]
fn results_are_cached_and_deterministic() {
    let ix = index();
    let a = ix
        .search(&cs(), "Cardio", SearchOptions::default())
        .ok()
        .flatten();
    let b = ix
        .search(&cs(), "cardio", SearchOptions::default())
        .ok()
        .flatten();
    match (a, b) {
        (Some(a), Some(b)) => assert!(Arc::ptr_eq(&a, &b)),
        other => panic!("both searches answer: {other:?}"),
    }
    let other = index();
    assert_eq!(
        codes(&ix, &cs(), "c", false),
        codes(&other, &cs(), "c", false)
    );
    assert_eq!(ix.fingerprint(), other.fingerprint());
}

#[test]
fn odd_input_is_harmless() {
    let ix = index();
    for text in ["", "   ", "'''", "-", "((", "*", "a:b", "\u{0}", "é"] {
        assert!(
            ix.search(&cs(), text, SearchOptions::default()).is_ok(),
            "{text:?}"
        );
    }
    assert!(matches!(
        ix.search(
            &ScopeKey::value_set("nope", None),
            "x",
            SearchOptions::default()
        ),
        Ok(None)
    ));
}

#[test]
fn search_across_tables_uses_table_names() {
    let ix = index();
    let hits = ix.search_all("x99 ophtalmo", 10).unwrap_or_default();
    let found: Vec<&str> = hits.iter().map(|e| e.code()).collect();
    assert_eq!(found, ["SM38"]);
    let hits = ix.search_all("kine", 10).unwrap_or_default();
    assert_eq!(hits.len(), 1, "one hit per (system, code), not per scope");
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("nosterm-search-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn on_disk_index_is_reused_then_rebuilt_when_stale() {
    let dir = temp_dir("store");
    let first = SearchIndex::open_or_build(&dir, &catalog("Autre"), &ExpansionMembers);
    let (ix, how) = match first {
        Ok(x) => x,
        Err(e) => panic!("build: {e}"),
    };
    assert_eq!(how, Provenance::Built);
    let fp = ix.fingerprint();
    drop(ix);
    let recorded = std::fs::read_to_string(dir.join(on_disk::FINGERPRINT_FILE)).unwrap_or_default();
    assert_eq!(recorded.trim(), format!("{fp:016x}"));

    let again = SearchIndex::open_or_build(&dir, &catalog("Autre"), &ExpansionMembers);
    let (ix, how) = match again {
        Ok(x) => x,
        Err(e) => panic!("reopen: {e}"),
    };
    assert_eq!(how, Provenance::Opened);
    assert_eq!(codes(&ix, &cs(), "ophtalmo", false), ["SM38"]);
    drop(ix);

    let changed = SearchIndex::open_or_build(&dir, &catalog("Pneumologie"), &ExpansionMembers);
    let (ix, how) = match changed {
        Ok(x) => x,
        Err(e) => panic!("rebuild: {e}"),
    };
    assert_eq!(how, Provenance::Rebuilt);
    assert_ne!(ix.fingerprint(), fp);
    assert_eq!(codes(&ix, &cs(), "pneumo", false), ["X"]);
    let folders: Vec<String> = std::fs::read_dir(&dir)
        .map(|l| {
            l.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        folders.iter().filter(|f| f.starts_with("index-")).count(),
        1,
        "{folders:?}"
    );
    drop(ix);

    // A damaged index is rebuilt rather than trusted.
    let _ = std::fs::write(
        dir.join(format!("index-{:016x}", ix_fp(&dir)))
            .join("meta.json"),
        "garbage",
    );
    let damaged = SearchIndex::open_or_build(&dir, &catalog("Pneumologie"), &ExpansionMembers);
    assert!(matches!(damaged, Ok((_, Provenance::Rebuilt))));
    let _ = std::fs::remove_dir_all(&dir);
}

fn ix_fp(dir: &std::path::Path) -> u64 {
    std::fs::read_to_string(dir.join(on_disk::FINGERPRINT_FILE))
        .ok()
        .and_then(|s| u64::from_str_radix(s.trim(), 16).ok())
        .unwrap_or_default()
}

/// A code system with a hierarchy, grouping concepts and designations, for acronyms and the
/// hierarchy-aware ranking.
fn clinical_index() -> (SearchIndex, ScopeKey) {
    let child = |code: &str, display: &str, parent: &str| Concept {
        parents: vec![parent.into()],
        ..concept(code, display)
    };
    let mut block = concept("100", "Maladies cérébrovasculaires");
    block.properties.push(ConceptProperty {
        code: "notSelectable".into(),
        value: PropertyValue::Boolean(true),
    });
    let mut short = child("8B11", "Infarctus cérébral", "100");
    // Designations feed the acronyms too.
    short.designations.push(designation(
        "LibelleAdapte",
        "Accident vasculaire cérébral ischémique",
    ));
    let concepts = vec![
        block,
        child("8B10", "Accident ischémique transitoire", "100"),
        child(
            "8B10.0",
            "Accident ischémique transitoire carotidien",
            "8B10",
        ),
        short,
        concept("1A9Y", "Autres infections transmissibles par voie sexuelle"),
        concept("9", "Hémorragie sous-arachnoïdienne"),
        concept("10", "Pneumopathie due au virus de la grippe"),
        concept("11", "Pneumopathie bactérienne"),
        concept("12", "Vaisseaux atteints"),
    ];
    let mut cat = Catalog::default();
    let url = "http://example.org/clinical";
    cat.add_code_system(CodeSystem::new(
        ResourceMeta {
            url: url.into(),
            ..Default::default()
        },
        concepts,
    ));
    match SearchIndex::build_in_ram(&cat, &ExpansionMembers) {
        Ok(ix) => (ix, ScopeKey::code_system(url, None)),
        Err(e) => panic!("index builds: {e}"),
    }
}

#[test]
fn acronyms_of_labels_and_designations_are_searchable() {
    let (ix, cs) = clinical_index();
    // The whole label first, its descendant next, a part of another label last.
    assert_eq!(codes(&ix, &cs, "HSA", false), ["9"]);
    let ait = codes(&ix, &cs, "ait", false);
    assert_eq!(ait[..2], ["8B10", "8B10.0"], "{ait:?}");
    assert_eq!(codes(&ix, &cs, "avci", false), ["8B11"]);
    assert_eq!(codes(&ix, &cs, "pneumopathie vg", false), ["10"]);
    // A real word of a display wins over acronyms ("va": "vasculaire ... atteint"...).
    assert_eq!(
        codes(&ix, &cs, "va", false).first().map(String::as_str),
        Some("12")
    );
}

#[test]
fn a_concept_before_its_descendants_and_groupings_last() {
    let (ix, cs) = clinical_index();
    assert_eq!(
        codes(&ix, &cs, "accident isch", false),
        ["8B10", "8B10.0", "8B11"]
    );
    let cerebral = codes(&ix, &cs, "cerebro", false);
    assert_eq!(
        cerebral,
        ["100"],
        "only a grouping matches: it is still found"
    );
    let mut both = codes(&ix, &cs, "c", false);
    both.retain(|c| c == "100" || c == "8B11");
    assert_eq!(both, ["8B11", "100"]);
}

#[test]
fn designations_of_supplements_are_searchable_and_give_acronyms() {
    let url = "http://example.org/base";
    let mut cat = Catalog::default();
    cat.add_code_system(CodeSystem::new(
        ResourceMeta {
            url: url.into(),
            ..Default::default()
        },
        vec![concept("A", "Infarctus du myocarde"), concept("B", "Angor")],
    ));
    let mut labelled = concept("A", "Crise cardiaque");
    labelled
        .designations
        .push(designation("synonyme", "Syndrome coronarien aigu"));
    let mut sup = CodeSystem::new(
        ResourceMeta {
            url: "http://example.org/sup".into(),
            ..Default::default()
        },
        vec![labelled],
    );
    sup.content = "supplement".into();
    sup.supplements = Some(url.into());
    cat.add_code_system(sup);
    let ix = match SearchIndex::build_in_ram(&cat, &ExpansionMembers) {
        Ok(ix) => ix,
        Err(e) => panic!("index builds: {e}"),
    };
    let cs = ScopeKey::code_system(url, None);
    assert_eq!(codes(&ix, &cs, "crise card", false), ["A"]);
    assert_eq!(codes(&ix, &cs, "SCA", false), ["A"]);
    assert!(!ix.has_scope(&ScopeKey::code_system("http://example.org/sup", None)));
}

/// Acronyms many labels share, a hierarchy whose parent says less than its children, glued
/// prefixes and respellings: the mechanisms of issue 21's second pass.
fn readings_index() -> (SearchIndex, ScopeKey) {
    let child = |code: &str, display: &str, parent: &str| Concept {
        parents: vec![parent.into()],
        ..concept(code, display)
    };
    let concepts = vec![
        concept("XE2", "Civil"),
        concept("LA88", "Communication interventriculaire"),
        concept("LA89", "Défaut septal (CIV), autre"),
        // "ventriculaire" alone, which lets "interventriculaire" be cut after "inter".
        concept("BC70", "Tachycardie ventriculaire"),
        concept("FA1", "Fausse alarme"),
        concept("FA2", "Fibrome annulaire"),
        concept("BC81", "Fibrillation auriculaire"),
        child("BC81.0", "Fibrillation auriculaire paroxystique", "BC81"),
        child("BC81.1", "Fibrillation auriculaire persistante", "BC81"),
        concept("NA07", "Commotion"),
        child(
            "NA07.0",
            "Commotion cérébrale avec perte de conscience",
            "NA07",
        ),
        child(
            "NA07.1",
            "Commotion cérébrale sans perte de conscience",
            "NA07",
        ),
        concept("NA08", "Contusion cérébrale"),
        concept("8B01", "Hémorragie sousarachnoïdienne"),
        concept("8D0", "Arachnoïdite"),
        concept("GB51", "Pyélonéphrite aiguë"),
        concept("FB83", "Ostéopétrose"),
        concept("FB84", "Ostéoporose"),
        concept("5A00", "Hypothyroïdie"),
        concept("QD85", "Burnout"),
        Concept {
            designations: vec![designation("display", "Outcome of burn")],
            ..concept("QD86", "Résultat de brûlure")
        },
    ];
    let mut cat = Catalog::default();
    let url = "http://example.org/readings";
    cat.add_code_system(CodeSystem::new(
        ResourceMeta {
            url: url.into(),
            ..Default::default()
        },
        concepts,
    ));
    match SearchIndex::build_in_ram(&cat, &ExpansionMembers) {
        Ok(ix) => (ix, ScopeKey::code_system(url, None)),
        Err(e) => panic!("index builds: {e}"),
    }
}

#[test]
fn a_word_typed_in_capitals_is_read_first_as_an_acronym() {
    let (ix, cs) = readings_index();
    // The acronym of a label, then the acronym written in a label, then the word.
    assert_eq!(codes(&ix, &cs, "CIV", false), ["LA88", "LA89", "XE2"]);
    // In lower case the real word wins; in a text all in capitals (caps lock) too.
    assert_eq!(codes(&ix, &cs, "civ", false), ["XE2", "LA89", "LA88"]);
    // (No label has "foo": the fallback that allows one missing word answers.)
    assert_eq!(codes(&ix, &cs, "CIV FOO", false), ["XE2", "LA89", "LA88"]);
    // The two spellings are two cache entries.
    assert_ne!(codes(&ix, &cs, "CIV", false), codes(&ix, &cs, "civ", false));
}

#[test]
fn the_acronym_reading_the_data_is_built_around_comes_first() {
    let (ix, cs) = readings_index();
    // Three whole labels read "fa"; « Fibrillation auriculaire » opens three labels, the
    // others one. Labels of which "fa" is a part follow.
    let fa = codes(&ix, &cs, "FA", false);
    assert_eq!(fa, ["BC81", "FA1", "FA2", "BC81.1", "BC81.0"]);
}

#[test]
fn a_parent_that_answers_part_of_the_query_comes_before_its_children() {
    let (ix, cs) = readings_index();
    // « Commotion » lacks "cérébrale" but both of its children have it.
    assert_eq!(
        codes(&ix, &cs, "commotion cerebrale", false),
        ["NA07", "NA07.0", "NA07.1"]
    );
    // A parent is not brought in for one child, nor when it answers nothing.
    assert_eq!(codes(&ix, &cs, "cerebrale avec", false), ["NA07.0"]);
    assert_eq!(
        codes(&ix, &cs, "perte conscience", false),
        ["NA07.0", "NA07.1"]
    );
}

#[test]
fn glued_prefixes_and_respellings() {
    let (ix, cs) = readings_index();
    assert_eq!(codes(&ix, &cs, "HSA", false), ["8B01"]);
    assert_eq!(codes(&ix, &cs, "sous arachnoidienne", false), ["8B01"]);
    assert_eq!(codes(&ix, &cs, "pyelonefrite", false), ["GB51"]);
}

#[test]
fn long_words_forgive_two_typos_and_fewer_typos_rank_first() {
    let (ix, cs) = readings_index();
    // "hypotiroidie": a missing h and i for y, two edits in a word of 12 letters.
    assert_eq!(codes(&ix, &cs, "hypotiroidie", false), ["5A00"]);
    // One edit from « Ostéoporose », two from « Ostéopétrose »: both found, in that order.
    assert_eq!(codes(&ix, &cs, "osteoporrose", false), ["FB84", "FB83"]);
    // Short words keep one edit at most.
    assert!(codes(&ix, &cs, "comotoin", false).is_empty());
}

#[test]
fn two_typed_words_find_the_word_that_joins_them() {
    let (ix, cs) = readings_index();
    // « Burnout » in a display before the two words in a designation.
    assert_eq!(codes(&ix, &cs, "burn out", false), ["QD85", "QD86"]);
    // Each word alone still finds what it begins.
    assert_eq!(codes(&ix, &cs, "burn", false), ["QD85", "QD86"]);
    assert_eq!(codes(&ix, &cs, "out", false), ["QD86"]);
}

fn variants_index() -> (SearchIndex, ScopeKey) {
    let concepts = vec![
        concept("DB90", "Abcès du foie"),
        concept("DB91", "Abcès hépatique amibien"),
        concept("CA40", "Tuberculose du poumon"),
        concept("6A60", "Trouble bipolaire de type I"),
        concept("6A61", "Trouble bipolaire de type II"),
        concept("3B10", "Carence en facteur VIII"),
        concept("XM1", "Facteur VII"),
        concept("F8R", "Facteur 8 recombinant"),
        concept("TLM1", "Acte de télémédecine"),
        concept("TC", "Téléconsultation médicale"),
    ];
    let mut cat = Catalog::default();
    let url = "http://example.org/variants";
    cat.add_code_system(CodeSystem::new(
        ResourceMeta {
            url: url.into(),
            ..Default::default()
        },
        concepts,
    ));
    match SearchIndex::build_in_ram(&cat, &ExpansionMembers) {
        Ok(ix) => (ix, ScopeKey::code_system(url, None)),
        Err(e) => panic!("index builds: {e}"),
    }
}

#[test]
fn a_body_part_and_its_learned_adjective_find_each_other() {
    let (ix, cs) = variants_index();
    // The word as typed first, the other root after it.
    assert_eq!(codes(&ix, &cs, "abces hepatique", false), ["DB91", "DB90"]);
    assert_eq!(codes(&ix, &cs, "abces du foie", false), ["DB90", "DB91"]);
    assert_eq!(codes(&ix, &cs, "tuberculose pulmonaire", false), ["CA40"]);
    // Only whole words: "pulmon", being typed, is not yet "pulmonaire".
    assert!(codes(&ix, &cs, "pulmon", false).is_empty());
}

#[test]
fn numbers_match_in_arabic_and_roman_figures() {
    let (ix, cs) = variants_index();
    assert_eq!(codes(&ix, &cs, "bipolaire type 2", false), ["6A61"]);
    assert_eq!(codes(&ix, &cs, "bipolaire 1", false), ["6A60"]);
    // "viii" is not "vii", though the stemmer cuts both to one stem; figures as typed first.
    assert_eq!(codes(&ix, &cs, "facteur 8", false), ["F8R", "3B10"]);
    assert_eq!(codes(&ix, &cs, "facteur VIII", false), ["3B10", "F8R"]);
    assert_eq!(codes(&ix, &cs, "facteur 7", false), ["XM1"]);
}

#[test]
fn a_word_written_as_a_contraction_is_found_once_nothing_else_is() {
    let (ix, cs) = variants_index();
    // t…l…m in one word: « télémédecine », not « Téléconsultation médicale ».
    assert_eq!(codes(&ix, &cs, "tlm", false), ["TLM1"]);
    assert_eq!(codes(&ix, &cs, "tbc pulmonaire", false), ["CA40"]);
    assert_eq!(codes(&ix, &cs, "tc", false), ["TC"]);
    // Only when the words as typed find nothing: "fct" would be « Facteur » contracted, but
    // "act" begins « Acte », and the strict stage answers.
    assert_eq!(codes(&ix, &cs, "fct", false), ["XM1", "F8R", "3B10"]);
    assert_eq!(codes(&ix, &cs, "act", false), ["TLM1"]);
}

#[test]
fn a_final_period_is_not_part_of_a_code() {
    // "Dr." for the code "DR": the period of an abbreviation.
    let (ix, cs) = variants_index();
    assert_eq!(codes(&ix, &cs, "F8R.", false), ["F8R"]);
    assert_eq!(codes(&ix, &cs, "f8r", false), ["F8R"]);
}

#[test]
fn a_comma_ends_an_acronym_and_what_follows_it_qualifies_the_label() {
    let concepts = vec![
        concept("XA", "Canal hépatique commun"),
        concept("XD", "Cuves d'hémodialyse, collecte"),
        concept("XH4", "Carcinome hépatocellulaire, SAI"),
        concept("XH0", "Carcinome hépatocellulaire pléomorphe"),
        concept("XH5", "Carcinome hépatocellulaire squirrheux"),
        concept("Z", "Membrane cellulaire"),
        concept("2A20", "Leucémie myéloïde chronique, BCR-ABL1 positif"),
        concept("2A21", "Leucémie myéloïde chronique atypique"),
        concept("2A40", "Leucémie myélomonocytaire chronique"),
        concept("NA23", "Luxations multiples du cou"),
        concept("NA82.3Z", "Fracture de côte, sans précision"),
        concept("NA82.3", "Fracture de côte"),
        concept("NA82.4", "Fracture de côte multiple"),
    ];
    let mut cat = Catalog::default();
    let url = "http://example.org/qualifiers";
    cat.add_code_system(CodeSystem::new(
        ResourceMeta {
            url: url.into(),
            ..Default::default()
        },
        concepts,
    ));
    let ix = match SearchIndex::build_in_ram(&cat, &ExpansionMembers) {
        Ok(ix) => ix,
        Err(e) => panic!("index builds: {e}"),
    };
    let cs = ScopeKey::code_system(url, None);
    // « hépatocellulaire » is cut before « cellulaire »; the words after the comma are a
    // qualifier, so « Carcinome hépatocellulaire, SAI » says as much as « Canal hépatique
    // commun » and the reading that opens more labels wins. No run crosses the comma (XD).
    assert_eq!(codes(&ix, &cs, "CHC", false), ["XH4", "XA", "XH0", "XH5"]);
    assert_eq!(codes(&ix, &cs, "LMC", false)[0], "2A20");
    // For words, every word of the label counts.
    assert_eq!(
        codes(&ix, &cs, "fracture cote", false),
        ["NA82.3", "NA82.4", "NA82.3Z"]
    );
}

#[test]
fn typed_words_find_the_acronym_a_label_writes_for_them() {
    let concepts = vec![
        concept("SA15", "PMI et Planification familiale"),
        concept("SA16", "Centre de protection maternelle et infantile"),
        concept("SA20", "Protection de l'enfance"),
        concept("SA30", "Prise en charge médicale"),
        concept("SA40", "HAD pédiatrique"),
        concept("BC81", "Fibrillation auriculaire"),
        concept("XF", "FAV"),
    ];
    let mut cat = Catalog::default();
    let url = "http://example.org/spelled";
    cat.add_code_system(CodeSystem::new(
        ResourceMeta {
            url: url.into(),
            ..Default::default()
        },
        concepts,
    ));
    let ix = match SearchIndex::build_in_ram(&cat, &ExpansionMembers) {
        Ok(ix) => ix,
        Err(e) => panic!("index builds: {e}"),
    };
    let cs = ScopeKey::code_system(url, None);
    // The words themselves first, then the label that writes their acronym.
    assert_eq!(
        codes(&ix, &cs, "protection maternelle", false),
        ["SA16", "SA15"]
    );
    assert_eq!(
        codes(&ix, &cs, "protection maternelle infantile", false),
        ["SA16", "SA15"]
    );
    // With the small words of the typed text: « HAD ».
    assert_eq!(
        codes(&ix, &cs, "hospitalisation a domicile", false),
        ["SA40"]
    );
    // Initials that no capitals word spells, or one word: nothing spelled.
    assert_eq!(codes(&ix, &cs, "protection enfance", false), ["SA20"]);
    assert!(codes(&ix, &cs, "prise", false) == ["SA30"]);
    // Spelled acronyms do not stop the typo stage: « FAV » alone would have answered.
    assert_eq!(
        codes(&ix, &cs, "fibrilation auriculaire", false),
        ["BC81", "XF"]
    );
    // « Prise en charge médicale » is not written in capitals: "pcm" finds it as initials,
    // but typed words never find it through them.
    assert!(codes(&ix, &cs, "prevention cardio medicale", false).is_empty());
}

#[test]
fn an_abbreviation_typed_in_capitals_reads_its_written_meaning_first() {
    let concepts = vec![
        concept("S1", "Septicémie"),
        concept("S2", "Syndrome d'épuisement professionnel"),
        concept("S3", "Sclérose en plaques"),
        concept("I1", "Iodure de méthyle"),
        concept("I2", "Infarctus aigu du myocarde"),
    ];
    let mut cat = Catalog::default();
    let url = "http://example.org/abbreviations";
    cat.add_code_system(CodeSystem::new(
        ResourceMeta {
            url: url.into(),
            ..Default::default()
        },
        concepts,
    ));
    let ix = match SearchIndex::build_in_ram(&cat, &ExpansionMembers) {
        Ok(ix) => ix,
        Err(e) => panic!("index builds: {e}"),
    };
    let cs = ScopeKey::code_system(url, None);
    // `synonyms.txt` says "sep | sclerose plaques": in capitals, that meaning is the reading
    // as typed, before initials that happen to spell it, before the word "sep…".
    assert_eq!(codes(&ix, &cs, "SEP", false), ["S3", "S2", "S1"]);
    // In lower case the word as typed still comes first.
    assert_eq!(codes(&ix, &cs, "sep", false), ["S1", "S3", "S2"]);
    // "idm | infarctus myocarde": the written meaning before « Iodure de méthyle ».
    assert_eq!(codes(&ix, &cs, "IDM", false), ["I2", "I1"]);
}

#[test]
fn everyday_words_of_the_lexicon_find_the_terminology_words() {
    let concepts = vec![
        concept("EH90", "Ulcère de pression"),
        concept("2C82", "Tumeurs malignes de la prostate"),
        concept("GA90", "Hyperplasie de la prostate"),
        concept("JA00.0", "Avortement spontané"),
        concept("XE2K0", "Fausse alarme"),
    ];
    let mut cat = Catalog::default();
    let url = "http://example.org/lexicon";
    cat.add_code_system(CodeSystem::new(
        ResourceMeta {
            url: url.into(),
            ..Default::default()
        },
        concepts,
    ));
    let ix = match SearchIndex::build_in_ram(&cat, &ExpansionMembers) {
        Ok(ix) => ix,
        Err(e) => panic!("index builds: {e}"),
    };
    let cs = ScopeKey::code_system(url, None);
    // `lexicon.txt`: "escarre | ulcere pression", "cancer | tumeur maligne",
    // "fausse couche | avortement spontane", "hbp | hyperplasie prostate".
    assert_eq!(codes(&ix, &cs, "escarre", false), ["EH90"]);
    assert_eq!(codes(&ix, &cs, "cancer prostate", false), ["2C82"]);
    assert_eq!(codes(&ix, &cs, "fausse couche", false), ["JA00.0"]);
    assert_eq!(codes(&ix, &cs, "HBP", false), ["GA90"]);
    // A word as typed still comes first: "fausse" alone is « Fausse alarme ».
    assert_eq!(codes(&ix, &cs, "fausse", false), ["XE2K0"]);
}

#[test]
fn a_body_part_and_another_word_find_the_learned_compound() {
    let concepts = vec![
        concept("DC11", "Cholélithiase"),
        concept("GB70", "Néphrolithiase"),
        concept("BC43", "Cardiomyopathie dilatée"),
        concept("BC44", "Myopathie au cours d'une maladie cardiaque"),
        concept("DC12", "Papillomatose biliaire"),
    ];
    let mut cat = Catalog::default();
    let url = "http://example.org/compounds";
    cat.add_code_system(CodeSystem::new(
        ResourceMeta {
            url: url.into(),
            ..Default::default()
        },
        concepts,
    ));
    let ix = match SearchIndex::build_in_ram(&cat, &ExpansionMembers) {
        Ok(ix) => ix,
        Err(e) => panic!("index builds: {e}"),
    };
    let cs = ScopeKey::code_system(url, None);
    // `combining.txt`: bile → « cholé… », rein → « néphro… », cœur → « cardio… »; either order.
    assert_eq!(codes(&ix, &cs, "lithiase biliaire", false), ["DC11"]);
    assert_eq!(codes(&ix, &cs, "lithiases biliaires", false), ["DC11"]);
    assert_eq!(codes(&ix, &cs, "rein lithiase", false), ["GB70"]);
    // The words as typed first, the compound after.
    assert_eq!(
        codes(&ix, &cs, "myopathie cardiaque", false),
        ["BC44", "BC43"]
    );
}
