//! Unit tests on a small in-memory graph.

use super::super::graph::*;
use super::*;
use std::collections::HashMap;

#[derive(Default)]
pub(crate) struct MemGraph {
    ids: Vec<u64>,
    index: HashMap<u64, Cid>,
    active: Vec<bool>,
    primitive: Vec<bool>,
    parents: Vec<Vec<Cid>>,
    children: Vec<Vec<Cid>>,
    rels: Vec<Vec<Relationship>>,
    terms: Vec<String>,
}

impl MemGraph {
    fn add(&mut self, id: u64, term: &str, primitive: bool, parents: &[u64]) -> Cid {
        let c = self.ids.len() as Cid;
        self.ids.push(id);
        self.index.insert(id, c);
        self.active.push(true);
        self.primitive.push(primitive);
        self.parents.push(Vec::new());
        self.children.push(Vec::new());
        self.rels.push(Vec::new());
        self.terms.push(term.to_string());
        for &p in parents {
            let pc = self.index[&p];
            self.parents[c as usize].push(pc);
            self.children[pc as usize].push(c);
        }
        c
    }
    fn rel(&mut self, src: u64, group: u16, ty: u64, target: u64) {
        let (s, t, d) = (self.index[&src], self.index[&ty], self.index[&target]);
        self.rels[s as usize].push(Relationship {
            type_id: t,
            group,
            target: Target::Concept(d),
        });
    }
    fn term(&self, c: Cid) -> String {
        self.terms[c as usize].clone()
    }
    fn cid(&self, id: u64) -> Cid {
        self.index[&id]
    }

    pub(crate) fn sample() -> MemGraph {
        let mut g = MemGraph::default();
        g.add(138875005, "SNOMED CT Concept", true, &[]);
        g.add(404684003, "Clinical finding", true, &[138875005]);
        g.add(64572001, "Disease", true, &[404684003]);
        g.add(123037004, "Body structure", true, &[138875005]);
        g.add(10200004, "Liver structure", true, &[123037004]);
        g.add(181268008, "Entire liver", true, &[10200004]);
        g.add(85562004, "Hand structure", true, &[123037004]);
        g.add(
            49755003,
            "Morphologically abnormal structure",
            true,
            &[123037004],
        );
        g.add(23583003, "Inflammation", true, &[49755003]);
        g.add(20946005, "Fracture, closed", true, &[49755003]);
        g.add(410662002, "Concept model attribute", true, &[138875005]);
        g.add(363698007, "Finding site", true, &[410662002]);
        g.add(116676008, "Associated morphology", true, &[410662002]);
        g.add(272741003, "Laterality", true, &[410662002]);
        g.add(
            1142135004,
            "Has presentation strength numerator value",
            true,
            &[410662002],
        );
        g.add(106237007, "Linkage concept", true, &[138875005]);
        g.add(246061005, "Relationship linkage", true, &[106237007]);
        g.add(24028007, "Right", true, &[138875005]);
        g.add(
            128241005,
            "Inflammatory disease of liver",
            false,
            &[64572001],
        );
        g.rel(128241005, 1, 116676008, 23583003);
        g.rel(128241005, 1, 363698007, 10200004);
        g.add(
            197271008,
            "Inflammation of entire liver",
            false,
            &[128241005],
        );
        g.rel(197271008, 1, 116676008, 23583003);
        g.rel(197271008, 1, 363698007, 181268008);
        g.add(367430006, "Repair of tendon of hand", true, &[138875005]);
        let old = g.add(1234567009, "Old concept", true, &[]);
        g.active[old as usize] = false;
        g
    }
}

impl Graph for MemGraph {
    fn concept_count(&self) -> usize {
        self.ids.len()
    }
    fn concept(&self, sctid: u64) -> Option<Cid> {
        self.index.get(&sctid).copied()
    }
    fn sctid(&self, c: Cid) -> u64 {
        self.ids[c as usize]
    }
    fn is_active(&self, c: Cid) -> bool {
        self.active[c as usize]
    }
    fn module(&self, _: Cid) -> u64 {
        900000000000207008
    }
    fn effective_time(&self, _: Cid) -> u32 {
        20250909
    }
    fn is_primitive(&self, c: Cid) -> bool {
        self.primitive[c as usize]
    }
    fn parents(&self, c: Cid) -> &[Cid] {
        &self.parents[c as usize]
    }
    fn children(&self, c: Cid) -> &[Cid] {
        &self.children[c as usize]
    }
    fn relationships(&self, c: Cid) -> &[Relationship] {
        &self.rels[c as usize]
    }
    fn inbound(&self, _: Cid) -> &[Inbound] {
        &[]
    }
    fn descriptions(&self, _: Cid) -> &[Description] {
        &[]
    }
    fn refsets(&self) -> &[Cid] {
        &[]
    }
    fn members(&self, _: Cid) -> Option<&[Member]> {
        None
    }
    fn associations_into(&self, _: Cid) -> &[(Cid, Cid)] {
        &[]
    }
}

fn p(s: &str) -> Expression {
    parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn err(s: &str) -> ParseError {
    match parse(s) {
        Ok(e) => panic!("{s} parsed as {e}"),
        Err(e) => e,
    }
}

// ---------- SCTID ----------

#[test]
fn verhoeff() {
    for ok in [
        "24028007",
        "367430006",
        "272741003",
        "128241005",
        "138875005",
        "900000000000509007",
    ] {
        assert!(sctid::verhoeff_valid(ok), "{ok}");
        assert!(sctid::is_valid_concept_id(ok), "{ok}");
        let (body, check) = ok.split_at(ok.len() - 1);
        assert_eq!(
            sctid::verhoeff_check_digit(body),
            Some(check.as_bytes()[0] - b'0')
        );
    }
    assert!(!sctid::verhoeff_valid("240280071"));
    assert!(!sctid::verhoeff_valid("24028008"));
    assert!(!sctid::verhoeff_valid(""));
    assert!(!sctid::verhoeff_valid("12a4"));
    assert_eq!(
        sctid::partition("900000000000509007"),
        sctid::Partition::Concept
    );
    assert_eq!(sctid::partition("100000011"), sctid::Partition::Description);
    assert!(sctid::concept_id_problem("012345").is_some());
    assert!(sctid::concept_id_problem("12345").is_some());
}

// ---------- parsing ----------

#[test]
fn parse_simple_and_refined() {
    let e = p("128241005:{363698007=181268008}");
    assert_eq!(e.status, None);
    assert_eq!(e.focus_concepts().collect::<Vec<_>>(), vec![128241005]);
    assert!(e.body.ungrouped.is_empty());
    assert_eq!(e.body.groups.len(), 1);
    assert_eq!(e.to_string(), "128241005:{363698007=181268008}");
    let attrs: Vec<(u16, u64)> = e.attributes().map(|(g, a)| (g, a.name.id)).collect();
    assert_eq!(attrs, vec![(1, 363698007)]);
    assert_eq!(p("  24028007  ").single_concept(), Some(24028007));
}

#[test]
fn parse_terms_and_spaces() {
    let e = p("64572001 |Disease| : { 363698007 |Finding site| = 10200004 |Liver structure|, 116676008 |Associated morphology| = 20946005 |Fracture, closed| }");
    assert_eq!(e.body.focus[0].term.as_deref(), Some("Disease"));
    assert_eq!(e.body.groups[0].len(), 2);
    match &e.body.groups[0][1].value {
        AttributeValue::Concept(c) => assert_eq!(c.term.as_deref(), Some("Fracture, closed")),
        v => panic!("{v:?}"),
    }
    assert_eq!(
        e.to_string(),
        "64572001:{363698007=10200004,116676008=20946005}"
    );
    let e = p("10200004 |Liver structure| : 272741003 |Laterality| = 24028007 |Right|");
    assert_eq!(e.body.ungrouped.len(), 1);
    assert_eq!(e.to_string(), "10200004:272741003=24028007");
    // Terms with inner spaces and odd characters are trimmed, not interpreted.
    let e = p("64572001|  Disease (disorder) : {x} = y  |");
    assert_eq!(
        e.body.focus[0].term.as_deref(),
        Some("Disease (disorder) : {x} = y")
    );
}

#[test]
fn parse_full_grammar() {
    let e = p("=== 421720008 |Spray dose form| + 7946007 |Drug suspension| : 272741003 = 24028007, 363698007 = 10200004 , {363698007=10200004, 116676008=23583003} {272741003=24028007}, {272741003=24028007}");
    assert_eq!(e.status, Some(DefinitionStatus::EquivalentTo));
    assert_eq!(e.body.focus.len(), 2);
    assert_eq!(e.body.ungrouped.len(), 2);
    assert_eq!(e.body.groups.len(), 3);
    let groups: Vec<u16> = e.attributes().map(|(g, _)| g).collect();
    assert_eq!(groups, vec![0, 0, 1, 1, 2, 3]);
    assert_eq!(
        e.to_string(),
        "===421720008+7946007:272741003=24028007,363698007=10200004,{363698007=10200004,116676008=23583003},{272741003=24028007},{272741003=24028007}"
    );
    let e = p("<<< 397956004 : 363704007 = (24136001 : 272741003 = 7771000)");
    assert_eq!(e.status, Some(DefinitionStatus::SubtypeOf));
    match &e.attributes().next().unwrap().1.value {
        AttributeValue::Expression(s) => {
            assert_eq!(s.focus[0].id, 24136001);
            assert_eq!(s.ungrouped.len(), 1);
        }
        v => panic!("{v:?}"),
    }
    assert_eq!(
        e.to_string(),
        "<<<397956004:363704007=(24136001:272741003=7771000)"
    );
    // Concrete values.
    let e = p(
        r#"322236009 : 999000011000000103 = "a \"q\" \\ b", 999000021000000109 = TRUE, 999000031000000106 = false, { 1142135004 = #250, 1142136003 = #-1.50 }"#,
    );
    let vals: Vec<&AttributeValue> = e.attributes().map(|(_, a)| &a.value).collect();
    assert_eq!(
        vals[3],
        &AttributeValue::Concrete(Concrete::Number {
            text: "250".into(),
            number: 250.0,
            decimal: false
        })
    );
    assert_eq!(
        vals[4],
        &AttributeValue::Concrete(Concrete::Number {
            text: "-1.50".into(),
            number: -1.5,
            decimal: true
        })
    );
    assert_eq!(
        vals[0],
        &AttributeValue::Concrete(Concrete::Text("a \"q\" \\ b".into()))
    );
    assert_eq!(vals[1], &AttributeValue::Concrete(Concrete::Boolean(true)));
    assert_eq!(vals[2], &AttributeValue::Concrete(Concrete::Boolean(false)));
    // Ungrouped attributes come before the groups.
    assert_eq!(
        err("64572001:{363698007=10200004},272741003=24028007").position,
        30
    );
    let again = p(&e.to_string());
    assert_eq!(again, {
        let mut x = e.clone();
        strip_terms(&mut x.body);
        x
    });
    // Comments are whitespace.
    let e = p("/* a */ 64572001 /*b*/ : /* c */ 363698007 = 10200004 /* end */");
    assert_eq!(e.to_string(), "64572001:363698007=10200004");
}

fn strip_terms(s: &mut SubExpression) {
    for f in &mut s.focus {
        f.term = None;
    }
    for a in s.ungrouped.iter_mut().chain(s.groups.iter_mut().flatten()) {
        a.name.term = None;
        match &mut a.value {
            AttributeValue::Concept(c) => c.term = None,
            AttributeValue::Expression(e) => strip_terms(e),
            _ => {}
        }
    }
}

#[test]
fn parse_errors_have_positions() {
    let cases: &[(&str, usize)] = &[
        ("", 0),
        ("   ", 3),
        ("12345", 0),
        ("0123456", 0),
        ("1234567890123456789", 0),
        ("128241005:", 10),
        ("128241005:{363698007=}", 21),
        ("128241005:{363698007=181268008", 30),
        ("128241005:{363698007 181268008}", 21),
        ("128241005 128241005", 10),
        ("128241005 |Disease", 10),
        ("128241005 || ", 10),
        ("128241005:363698007=181268008,", 30),
        ("128241005:{363698007=181268008},", 32),
        ("128241005:363698007=#", 21),
        ("128241005:363698007=#01", 21),
        ("128241005:363698007=#1.", 23),
        ("128241005:363698007=\"abc", 20),
        ("128241005:363698007=\"a\\b\"", 22),
        ("128241005:363698007=truex", 20),
        ("128241005:363698007=(181268008", 30),
        ("128241005 + ", 12),
        ("=== ", 4),
        ("128241005 /* x", 10),
        ("128241005:{}", 11),
        ("128241005:{363698007=181268008,{363698007=181268008}}", 31),
        ("Ä128241005", 0),
        ("128241005:363698007=181268008 Ä", 30),
    ];
    for &(s, pos) in cases {
        let e = err(s);
        assert_eq!(e.position, pos, "{s}: {e}");
        assert!(e.to_string().contains(&format!("position {pos}")), "{e}");
    }
    // Strict parsing checks the check digit and the partition.
    assert!(parse("367430006:{272741003=240280071}").is_ok());
    let e = parse_strict("367430006:{272741003=240280071}").unwrap_err();
    assert_eq!(e.position, 21);
    assert!(e.message.contains("check digit"), "{e}");
    assert!(parse_strict("128241005:{363698007=181268008}").is_ok());
    assert!(parse_strict("100000011").is_err()); // a description id
}

#[test]
fn nesting_limit() {
    let mut s = String::from("128241005");
    for _ in 0..100 {
        s = format!("128241005:363698007=({s})");
    }
    let e = err(&s);
    assert!(e.message.contains("nested"), "{e}");
    let mut s = String::from("128241005");
    for _ in 0..10 {
        s = format!("128241005:363698007=({s})");
    }
    assert!(parse(&s).is_ok());
}

#[test]
fn is_expression_cheap() {
    assert!(!is_expression("128241005"));
    assert!(!is_expression(" 128241005 "));
    assert!(!is_expression("abc"));
    for s in [
        "128241005:{363698007=181268008}",
        "1+2",
        "128241005 |x|",
        "=== 1",
        "<<< 12",
        "a=b",
    ] {
        assert!(is_expression(s), "{s}");
    }
}

// ---------- validation ----------

#[test]
fn validation_messages() {
    let g = MemGraph::sample();
    let v = |s: &str| validate(&g, &p(s)).map_err(|e| e.to_string());
    assert_eq!(
        v("367430006:{272741003=240280071}"),
        Err("Concept 240280071 not found".into())
    );
    assert_eq!(
        v("367430006:{24028007=272741003}"),
        Err("Concept 24028007 is not valid in this context (must be a descendent of one of 410662002,106237007)".into())
    );
    assert_eq!(v("128241005:{363698007=181268008}"), Ok(()));
    assert_eq!(v("367430006:{272741003=24028007}"), Ok(()));
    assert_eq!(v("367430006:246061005=24028007"), Ok(())); // a linkage concept
    assert_eq!(
        v("1234567009"),
        Err("Concept 1234567009 is inactive".into())
    );
    assert_eq!(
        v("64572001:363698007=(10200004:272741003=1234567009)"),
        Err("Concept 1234567009 is inactive".into())
    );
    assert_eq!(
        v("64572001:363698007=(10200004:10200004=24028007)"),
        Err(ValidationError::NotAnAttribute(10200004).to_string())
    );
    assert_eq!(v("64572001:1142135004=#5"), Ok(()));
    assert_eq!(
        v("999999999:1142135004=#5"),
        Err("Concept 999999999 not found".into())
    );
}

// ---------- rendering ----------

#[test]
fn rendering() {
    let g = MemGraph::sample();
    let t = |c: Cid| g.term(c);
    assert_eq!(
        render(&g, &p("128241005:{363698007=181268008}"), &t),
        "128241005|Inflammatory disease of liver|:{363698007|Finding site|=181268008|Entire liver|}"
    );
    assert_eq!(
        render(&g, &p("367430006:{272741003=24028007}"), &t),
        "367430006|Repair of tendon of hand|:{272741003|Laterality|=24028007|Right|}"
    );
    assert_eq!(
        render(
            &g,
            &p("10200004 |Liver structure| : 272741003 |Laterality| = 24028007 |Right|"),
            &t
        ),
        "10200004|Liver structure|:272741003|Laterality|=24028007|Right|"
    );
    assert_eq!(
        render(&g, &p("64572001 |Disease| : { 363698007 |Finding site| = 10200004 |Liver structure|, 116676008 |Associated morphology| = 20946005 |Fracture, closed| }"), &t),
        "64572001|Disease|:{363698007|Finding site|=10200004|Liver structure|,116676008|Associated morphology|=20946005|Fracture, closed|}"
    );
    // Terms come from the caller, not from the text; unknown concepts keep the written one.
    assert_eq!(
        render(&g, &p("64572001|Illness|+999999999|Unknown thing|:272741003=24028007,{1142135004=#1.50},{363698007=(10200004:272741003=24028007)}"), &t),
        "64572001|Disease|+999999999|Unknown thing|:272741003|Laterality|=24028007|Right|,{1142135004|Has presentation strength numerator value|=#1.50},{363698007|Finding site|=(10200004|Liver structure|:272741003|Laterality|=24028007|Right|)}"
    );
    // Canonical form: sorted, no terms.
    let a =
        p("64572001 |Disease| : {116676008=20946005, 363698007=10200004}, {272741003=24028007}");
    let b = p("===64572001:{272741003=24028007},{363698007=10200004,116676008=20946005},{272741003=24028007}");
    assert_eq!(a.canonical(), b.canonical());
    assert_eq!(
        a.canonical(),
        "64572001:{116676008=20946005,363698007=10200004},{272741003=24028007}"
    );
    assert_ne!(p("<<<64572001").canonical(), p("64572001").canonical());
}

// ---------- normal form & subsumption ----------

#[test]
fn normal_forms() {
    let g = MemGraph::sample();
    let t = |c: Cid| g.term(c);
    let nf = |s: &str| normal_form_terse(&g, &p(s));
    assert_eq!(
        nf("128241005"),
        "64572001:{116676008=23583003,363698007=10200004}"
    );
    assert_eq!(nf("64572001"), "64572001");
    // A refinement of a defining group is merged into it.
    assert_eq!(
        nf("128241005:{363698007=181268008}"),
        "64572001:{116676008=23583003,363698007=181268008}"
    );
    assert_eq!(
        nf("128241005:363698007=181268008"),
        "64572001:{116676008=23583003,363698007=181268008}"
    );
    assert_eq!(nf("197271008"), nf("128241005:{363698007=181268008}"));
    // A less specific refinement adds nothing.
    assert_eq!(nf("197271008:{363698007=10200004}"), nf("197271008"));
    // A group with an unrelated attribute value of the same type becomes a new group.
    assert_eq!(
        nf("128241005:{363698007=85562004}"),
        "64572001:{116676008=23583003,363698007=10200004},{363698007=85562004}"
    );
    // Redundant groups and attributes go.
    assert_eq!(
        nf("64572001:363698007=10200004,{363698007=10200004},{363698007=181268008,116676008=23583003}"),
        "64572001:{116676008=23583003,363698007=181268008}"
    );
    assert_eq!(
        nf("64572001+128241005"),
        "64572001:{116676008=23583003,363698007=10200004}"
    );
    assert_eq!(
        nf("10200004:272741003=24028007"),
        "10200004:272741003=24028007"
    );
    assert_eq!(
        render_normal_form(&g, &p("128241005:{363698007=181268008}"), &t),
        "64572001|Disease|:{116676008|Associated morphology|=23583003|Inflammation|,363698007|Finding site|=181268008|Entire liver|}"
    );
    // Nested expressions are normalised too.
    assert_eq!(
        nf("64572001:246061005=(128241005)"),
        "64572001:246061005=(64572001:{116676008=23583003,363698007=10200004})"
    );
}

#[test]
fn subsumption() {
    let g = MemGraph::sample();
    let s = |a: &str, b: &str| subsumes(&g, &p(a), &p(b));
    assert!(s("128241005", "197271008"));
    assert!(!s("197271008", "128241005"));
    assert!(s("128241005", "128241005:{363698007=181268008}"));
    assert!(s("197271008", "128241005:{363698007=181268008}"));
    assert!(s("128241005:{363698007=181268008}", "197271008"));
    assert!(s("64572001", "128241005:{363698007=181268008}"));
    assert!(s("404684003", "197271008:{363698007=10200004}"));
    assert!(s(
        "64572001:{116676008=23583003,363698007=181268008}",
        "197271008"
    ));
    assert!(!s("64572001:{116676008=20946005}", "197271008"));
    assert!(s(
        "128241005",
        "64572001:{363698007=181268008,116676008=23583003}"
    ));
    // Attributes in separate groups do not make up one group.
    assert!(!s(
        "128241005",
        "64572001:{363698007=181268008},{116676008=23583003}"
    ));
    // Ungrouped attributes match in any group.
    assert!(s("64572001:363698007=10200004", "197271008"));
    assert!(!s("64572001:363698007=85562004", "197271008"));
    assert!(s(
        "64572001:{363698007=10200004}",
        "64572001:363698007=181268008"
    ));
    assert!(!s(
        "64572001:{363698007=10200004}",
        "64572001:363698007=85562004"
    ));
    // Focus concepts.
    assert!(!s("123037004", "197271008"));
    assert!(s("10200004", "10200004:272741003=24028007"));
    assert!(s("123037004", "10200004:272741003=24028007"));
    assert!(!s("10200004:272741003=24028007", "10200004"));
    assert!(!s("85562004", "10200004:272741003=24028007"));
    // Nested values and concrete values.
    assert!(s(
        "64572001:246061005=(10200004)",
        "64572001:246061005=(181268008:272741003=24028007)"
    ));
    assert!(s(
        "64572001:246061005=10200004",
        "64572001:246061005=(181268008:272741003=24028007)"
    ));
    assert!(!s(
        "64572001:246061005=(181268008:272741003=24028007)",
        "64572001:246061005=181268008"
    ));
    assert!(s(
        "64572001:246061005=(128241005)",
        "64572001:246061005=197271008"
    ));
    assert!(s("64572001:1142135004=#1.5", "64572001:1142135004=#1.50"));
    assert!(!s("64572001:1142135004=#1.5", "64572001:1142135004=#2"));
    assert!(!s("64572001:1142135004=#1", "64572001:1142135004=\"1\""));
    // Attribute type hierarchy: a more specific type matches a general one.
    assert!(s(
        "64572001:410662002=10200004",
        "64572001:363698007=181268008"
    ));
    assert!(!s(
        "64572001:363698007=10200004",
        "64572001:410662002=181268008"
    ));
    // Unknown concepts only equal themselves.
    assert!(s("999999999", "999999999:363698007=10200004"));
    assert!(!s("999999999", "64572001"));
    // Helpers.
    assert!(expression_is_a_concept(
        &g,
        &p("197271008:{363698007=10200004}"),
        g.cid(128241005)
    ));
    assert!(!expression_is_a_concept(
        &g,
        &p("85562004:272741003=24028007"),
        g.cid(10200004)
    ));
    assert!(is_a(&g, g.cid(181268008), g.cid(123037004)));
    assert!(!is_a(&g, g.cid(123037004), g.cid(181268008)));
}

// ---------- robustness ----------

/// A deterministic xorshift generator (no crates).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

#[test]
fn random_mutations_never_panic() {
    let g = MemGraph::sample();
    let seeds = [
        "128241005:{363698007=181268008}",
        "64572001 |Disease| : { 363698007 |Finding site| = 10200004 |Liver structure|, 116676008 |Associated morphology| = 20946005 |Fracture, closed| }",
        "=== 64572001 + 128241005 : 272741003 = 24028007, {363698007 = (10200004 : 272741003 = 24028007)}",
        "<<< 64572001:1142135004=#-1.50,{246061005=\"a\\\"b\",246061005=true}",
        "/* c */ 197271008 : 246061005 = (128241005 : 246061005 = (10200004))",
    ];
    let alphabet: Vec<char> = "0123456789 :+|{}=(),#\"\\.-/*<tTfFÄ\n".chars().collect();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut parsed = 0;
    for _ in 0..20_000 {
        let mut s: Vec<char> = seeds[rng.below(seeds.len())].chars().collect();
        for _ in 0..1 + rng.below(4) {
            let i = rng.below(s.len() + 1);
            match rng.below(4) {
                0 if i < s.len() => {
                    s.remove(i);
                }
                1 => s.insert(i, alphabet[rng.below(alphabet.len())]),
                2 if i < s.len() => s[i] = alphabet[rng.below(alphabet.len())],
                _ => {
                    // Splice a chunk of another seed.
                    let other: Vec<char> = seeds[rng.below(seeds.len())].chars().collect();
                    let a = rng.below(other.len());
                    let b = (a + rng.below(20)).min(other.len());
                    for (k, c) in other[a..b].iter().enumerate() {
                        s.insert((i + k).min(s.len()), *c);
                    }
                }
            }
        }
        let text: String = s.into_iter().collect();
        let _ = is_expression(&text);
        let _ = parse_strict(&text);
        match parse(&text) {
            Err(e) => assert!(e.position <= text.chars().count(), "{text}: {e}"),
            Ok(e) => {
                parsed += 1;
                // The compact form parses back to the same expression (without terms).
                let printed = e.to_string();
                let again =
                    parse(&printed).unwrap_or_else(|err| panic!("{text} → {printed}: {err}"));
                assert_eq!(again.to_string(), printed);
                assert_eq!(
                    parse(&e.canonical()).map(|x| x.canonical()),
                    Ok(e.canonical())
                );
                let _ = validate(&g, &e);
                let _ = render(&g, &e, &|c| g.term(c));
                let nf = normal_form(&g, &e);
                assert_eq!(
                    parse(&nf.to_string()).map(|x| x.to_string()),
                    Ok(nf.to_string())
                );
                assert!(subsumes(&g, &e, &e), "{text}");
                let _ = subsumes(&g, &p("128241005"), &e);
            }
        }
    }
    assert!(parsed > 1000, "only {parsed} mutants parsed");
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(12345);
    for _ in 0..20_000 {
        let n = rng.below(40);
        let bytes: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
        let text = String::from_utf8_lossy(&bytes);
        let _ = parse(&text);
        let _ = parse_strict(&text);
    }
}
