//! The SNOMED CT logic on a real edition (HL7's subset, loaded by the RF2 loader): normal
//! forms, subsumption, the ECL evaluator against the hierarchy read back from the files, and
//! every concept id as the expression parser reads it.

use std::path::Path;

use nosterm::load::{load_editions, LoadOptions};
use nosterm::snomed::ecl;
use nosterm::snomed::expression::{
    is_expression, normal_form, normal_form_terse, parse, parse_strict, render_normal_form,
    subsumes, Expression,
};
use nosterm::snomed::graph::{Cid, Graph};
use nosterm::snomed::Edition;

fn edition() -> std::sync::Arc<Edition> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("vendor/tx-ecosystem/tx-source/snomed");
    let mut eds = load_editions(&dir, &LoadOptions::default()).expect("the subset loads");
    assert_eq!(eds.len(), 1);
    eds.remove(0)
}

fn p(s: &str) -> Expression {
    parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

#[test]
fn normal_forms_are_equivalent_idempotent_and_below_their_parents() {
    let g = edition();
    let g = g.as_ref();
    let e = p("128241005:{363698007=181268008}");
    let nf = normal_form(g, &e);
    // 128241005 is fully defined: its focus becomes its proximal primitive supertype(s).
    assert!(!nf.focus_concepts().any(|f| f == 128241005), "{nf}");
    let terse = normal_form_terse(g, &e);
    assert!(terse.contains("363698007=181268008"), "{terse}");
    assert!(!terse.contains("363698007=10200004"), "{terse}");
    let full = render_normal_form(g, &e, &|c| g.display(c).unwrap_or_default().to_string());
    assert!(
        full.contains("|Finding site|=181268008|Entire liver|"),
        "{full}"
    );
    assert!(subsumes(g, &nf, &e) && subsumes(g, &e, &nf));
    let mut checked = 0;
    for c in 0..g.concept_count() as Cid {
        if !g.is_active(c) {
            continue;
        }
        let e = Expression::concept(g.sctid(c));
        let nf = normal_form(g, &e);
        assert_eq!(
            parse(&nf.to_string()).map(|x| x.to_string()),
            Ok(nf.to_string())
        );
        assert!(subsumes(g, &nf, &e), "{nf} vs {e}");
        assert_eq!(normal_form(g, &nf).to_string(), nf.to_string(), "{e}");
        for &parent in g.parents(c) {
            let parent = Expression::concept(g.sctid(parent));
            assert!(subsumes(g, &parent, &e));
            assert!(
                subsumes(g, &normal_form(g, &parent), &nf),
                "{parent} of {e}"
            );
        }
        checked += 1;
    }
    assert!(checked > 1000, "{checked}");
}

#[test]
fn every_concept_id_parses_strictly_and_is_no_expression() {
    let g = edition();
    for c in 0..g.concept_count() as Cid {
        let id = g.sctid(c).to_string();
        assert!(parse_strict(&id).is_ok(), "{id}");
        assert!(!is_expression(&id));
    }
}

/// `evaluate` and `matches` agree, and `<<`/`<`/`>>`/`<!` are the closure of the parents the
/// edition read, on every concept that has children.
#[test]
fn ecl_hierarchy_operators_agree_with_the_graph_and_with_matches() {
    let g = edition();
    let g = g.as_ref();
    let mut budget = ecl::Budget::unlimited();
    let mut checked = 0;
    for c in (0..g.concept_count() as Cid).filter(|&c| !g.children(c).is_empty()) {
        let id = g.sctid(c);
        let below = g.descendants_or_self(c);
        let set = ecl::evaluate(g, &ecl::parse(&format!("<< {id}")).unwrap(), &mut budget).unwrap();
        assert_eq!(set.to_vec(), below, "<< {id}");
        let strict =
            ecl::evaluate(g, &ecl::parse(&format!("< {id}")).unwrap(), &mut budget).unwrap();
        assert_eq!(strict.len(), below.len() - 1);
        let kids =
            ecl::evaluate(g, &ecl::parse(&format!("<! {id}")).unwrap(), &mut budget).unwrap();
        let mut direct = g.children(c).to_vec();
        direct.sort_unstable();
        direct.dedup();
        assert_eq!(kids.to_vec(), direct);
        let up = ecl::parse(&format!(">> {id}")).unwrap();
        for &d in below.iter().take(20) {
            assert!(
                ecl::matches(g, &ecl::parse(&format!("<< {id}")).unwrap(), d, &mut budget).unwrap()
            );
            assert!(g.is_a(d, c));
            let ancestors = ecl::evaluate(
                g,
                &ecl::parse(&format!(">> {}", g.sctid(d))).unwrap(),
                &mut budget,
            )
            .unwrap();
            assert!(ancestors.contains(c), ">> {} lacks {id}", g.sctid(d));
        }
        assert!(ecl::matches(g, &up, c, &mut budget).unwrap());
        checked += 1;
    }
    assert!(checked > 100, "{checked}");
}

/// An expression matches an ECL constraint as its normal form does: refined below a concept
/// it is in `<<` of that concept, and its attributes count in refinements.
#[test]
fn expressions_match_ecl_through_their_normal_form() {
    let g = edition();
    let g = g.as_ref();
    let mut budget = ecl::Budget::unlimited();
    let m = |constraint: &str, expr: &str, budget: &mut ecl::Budget| {
        ecl::matches_expression(g, &ecl::parse(constraint).unwrap(), &p(expr), budget).unwrap()
    };
    let e = "64572001 |Disease| : 363698007 |Finding site| = 10200004 |Liver structure|";
    assert!(m("<< 64572001", e, &mut budget));
    assert!(m("< 64572001", e, &mut budget));
    assert!(!m("64572001", e, &mut budget));
    assert!(m("< 64572001 : 363698007 = << 10200004", e, &mut budget));
    assert!(!m("< 64572001 : 363698007 = << 85562004", e, &mut budget));
    assert!(m("< 64572001 : [0..0] 116676008 = *", e, &mut budget));
    assert!(!m("< 64572001 : [2..*] 363698007 = *", e, &mut budget));
    assert!(!m("^ 900000000000526001", e, &mut budget));
    assert!(m("<< 64572001 OR << 71388002", e, &mut budget));
    assert!(!m("<< 64572001 MINUS << 64572001", e, &mut budget));
}

/// What a restart reads instead of the RF2 files: the same edition, every concept, row and
/// refset; a truncated or altered file is an error, never a panic.
#[test]
fn an_edition_survives_its_codec_and_a_corrupt_file_is_an_error() {
    use nosterm::snomed::codec::{decode, encode};
    let e = edition();
    let bytes = encode(&e);
    let back = decode(&bytes).expect("decodes");
    assert_eq!(back.uri(), e.uri());
    assert_eq!(back.name, e.name);
    assert_eq!(back.language_refsets, e.language_refsets);
    assert_eq!(back.concept_count(), e.concept_count());
    for c in 0..e.concept_count() as Cid {
        assert_eq!(back.sctid(c), e.sctid(c));
        assert_eq!(back.is_active(c), e.is_active(c));
        assert_eq!(back.is_primitive(c), e.is_primitive(c));
        assert_eq!(back.parents(c), e.parents(c));
        assert_eq!(back.children(c), e.children(c));
        assert_eq!(back.relationships(c), e.relationships(c));
        assert_eq!(back.inbound(c), e.inbound(c));
        assert_eq!(back.descriptions(c), e.descriptions(c));
        assert_eq!(back.associations_into(c), e.associations_into(c));
        assert_eq!(back.associations_from(c), e.associations_from(c));
    }
    assert_eq!(back.refsets(), e.refsets());
    for &r in e.refsets() {
        assert_eq!(back.members(r), e.members(r));
    }
    assert_eq!(encode(&back), bytes);
    // Truncated anywhere, or a byte changed: an error or another edition, never a panic.
    for cut in (0..bytes.len()).step_by(bytes.len() / 97 + 1) {
        assert!(decode(&bytes[..cut]).is_err(), "truncated at {cut}");
    }
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..300 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let mut bad = bytes.clone();
        let i = (x % bad.len() as u64) as usize;
        bad[i] ^= (x >> 40) as u8 | 1;
        let _ = decode(&bad);
    }
}
