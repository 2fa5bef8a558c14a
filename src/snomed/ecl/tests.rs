//! Unit tests on a small hand-built graph.

use super::ast::*;
use super::graph::*;
use super::testgraph::{make_sctid, MemGraph};
use super::{evaluate, matches, parse, Budget, EvalError};

fn id(n: u64) -> u64 {
    make_sctid(n)
}

const FS: u64 = 363698007;
const AM: u64 = 116676008;

struct T {
    g: MemGraph,
}

fn n(x: &str) -> u64 {
    // Named concepts of the test graph.
    match x {
        "root" => ids::ROOT,
        "finding" => id(1001),
        "disease" => id(1002),
        "d1" => id(1003),
        "d2" => id(1004),
        "d3" => id(1005),
        "f1" => id(1006),
        "d4" => id(1007),
        "body" => id(1010),
        "liver" => id(1011),
        "lobe" => id(1012),
        "morph" => id(1020),
        "inflam" => id(1021),
        "fract" => id(1022),
        "attr" => id(1030),
        "fs_sub" => id(1031),
        "strength" => id(1032),
        "name" => id(1033),
        "flag" => id(1034),
        "prod" => id(1040),
        "p1" => id(1041),
        "p2" => id(1042),
        "old" => id(1050),
        "old2" => id(1051),
        "refset" => id(1060),
        "mod2" => id(1070),
        "meta" => id(1080),
        "fs" => FS,
        "am" => AM,
        "isa" => ids::IS_A,
        _ => panic!("unknown {}", x),
    }
}

fn desc(
    id_: u64,
    ty: u64,
    term: &str,
    lang: &str,
    active: bool,
    acc: Vec<(u64, Acceptability)>,
) -> Description {
    Description {
        id: id_,
        active,
        module: 900000000000207008,
        effective_time: 20200131,
        language: lang.into(),
        type_id: ty,
        term: term.into(),
        case_significance: 900000000000448009,
        acceptability: acc,
    }
}

fn graph() -> T {
    let mut g = MemGraph::new();
    g.add_concept(ids::ROOT, true, true);
    for (c, p) in [
        ("finding", "root"),
        ("disease", "finding"),
        ("d1", "disease"),
        ("d2", "disease"),
        ("d3", "d1"),
        ("d3", "d2"),
        ("f1", "finding"),
        ("d4", "disease"),
        ("body", "root"),
        ("liver", "body"),
        ("lobe", "liver"),
        ("morph", "root"),
        ("inflam", "morph"),
        ("fract", "morph"),
        ("attr", "root"),
        ("fs", "attr"),
        ("am", "attr"),
        ("fs_sub", "fs"),
        ("strength", "attr"),
        ("name", "attr"),
        ("flag", "attr"),
        ("isa", "attr"),
        ("prod", "root"),
        ("p1", "prod"),
        ("p2", "prod"),
        ("refset", "root"),
        ("mod2", "root"),
        ("meta", "root"),
    ] {
        g.is_a(n(c), n(p));
    }
    for m in [
        ids::FSN,
        ids::SYNONYM,
        ids::DEFINITION,
        ids::US_ENGLISH,
        ids::GB_ENGLISH,
        ids::PREFERRED,
        ids::ACCEPTABLE,
        ids::PRIMITIVE,
        ids::DEFINED,
        900000000000207008,
    ] {
        g.is_a(m, n("meta"));
    }
    g.add_concept(n("f1"), true, false); // defined
    g.add_concept(n("old"), false, true);
    g.add_concept(n("old2"), false, true);
    g.set_meta(n("f1"), n("mod2"), 20230131);
    // d1: group 1 {FS liver, AM inflam}
    g.rel(n("d1"), FS, 1, n("liver"));
    g.rel(n("d1"), AM, 1, n("inflam"));
    // d2: group 1 {FS liver, AM fract}, group 2 {FS lobe, AM inflam}
    g.rel(n("d2"), FS, 1, n("liver"));
    g.rel(n("d2"), AM, 1, n("fract"));
    g.rel(n("d2"), FS, 2, n("lobe"));
    g.rel(n("d2"), AM, 2, n("inflam"));
    // d3: ungrouped FS liver, group 1 {FS lobe}
    g.rel(n("d3"), FS, 0, n("liver"));
    g.rel(n("d3"), FS, 1, n("lobe"));
    // d4: FS_SUB lobe
    g.rel(n("d4"), n("fs_sub"), 1, n("lobe"));
    // products with concrete values
    g.concrete(
        n("p1"),
        n("strength"),
        1,
        Concrete::Number {
            text: "5".into(),
            number: 5.0,
            decimal: false,
        },
    );
    g.concrete(
        n("p2"),
        n("strength"),
        1,
        Concrete::Number {
            text: "10.5".into(),
            number: 10.5,
            decimal: true,
        },
    );
    g.concrete(n("p1"), n("name"), 0, Concrete::Text("abc".into()));
    g.concrete(n("p2"), n("flag"), 0, Concrete::Boolean(true));
    // descriptions
    let us = ids::US_ENGLISH;
    let gb = ids::GB_ENGLISH;
    g.desc(
        n("d1"),
        desc(
            101,
            ids::FSN,
            "Liver disease (disorder)",
            "en",
            true,
            vec![
                (us, Acceptability::Preferred),
                (gb, Acceptability::Preferred),
            ],
        ),
    );
    g.desc(
        n("d1"),
        desc(
            102,
            ids::SYNONYM,
            "Hepatopathy",
            "en",
            true,
            vec![
                (us, Acceptability::Acceptable),
                (gb, Acceptability::Preferred),
            ],
        ),
    );
    g.desc(
        n("d1"),
        desc(103, ids::SYNONYM, "Obsolete term", "en", false, vec![]),
    );
    g.desc(
        n("d2"),
        desc(
            104,
            ids::SYNONYM,
            "Heart attack",
            "en",
            true,
            vec![(us, Acceptability::Preferred)],
        ),
    );
    g.desc(
        n("d3"),
        desc(105, ids::SYNONYM, "Fracture du foie", "fr", true, vec![]),
    );
    g.desc(
        n("d4"),
        desc(
            106,
            ids::DEFINITION,
            "A disease of the liver lobe",
            "en",
            true,
            vec![],
        ),
    );
    // refsets
    g.simple_member(n("refset"), n("d1"), true);
    g.simple_member(n("refset"), n("d2"), false);
    g.simple_member(n("refset"), n("f1"), true);
    let f1 = g.concept(n("f1"));
    let d4 = g.concept(n("d4"));
    g.member(
        n("refset"),
        Member {
            active: true,
            module: n("mod2"),
            effective_time: 20240101,
            referenced: d4,
            referenced_id: n("d4"),
            fields: vec![
                ("targetComponentId".into(), FieldValue::Id(n("lobe"))),
                ("mapTarget".into(), FieldValue::Text("K70.1".into())),
            ],
        },
    );
    let _ = f1;
    for (src, refset) in [("old", ids::REPLACED_BY), ("old2", ids::SAME_AS)] {
        let s = g.concept(n(src));
        g.cid(refset);
        g.member(
            refset,
            Member {
                active: true,
                module: 900000000000207008,
                effective_time: 20200131,
                referenced: s,
                referenced_id: n(src),
                fields: vec![("targetComponentId".into(), FieldValue::Id(n("d1")))],
            },
        );
    }
    g.finish();
    T { g }
}

/// Replaces `{name}` by the SCTID of the named test concept.
fn ecl(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('{') {
        // `{{` and attribute groups stay as they are.
        let j = match rest[i + 1..].find('}') {
            Some(j) => i + 1 + j,
            None => break,
        };
        let name = &rest[i + 1..j];
        if !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            out.push_str(&rest[..i]);
            out.push_str(&n(name).to_string());
            rest = &rest[j + 1..];
        } else {
            out.push_str(&rest[..i + 1]);
            rest = &rest[i + 1..];
        }
    }
    out.push_str(rest);
    out
}

impl T {
    fn eval(&self, s: &str) -> Result<Vec<&'static str>, EvalError> {
        let text = ecl(s);
        let e = parse(&text).unwrap_or_else(|err| panic!("{}: {}", text, err));
        let set = evaluate(&self.g, &e, &mut Budget::unlimited())?;
        // Cross-check `matches` on every concept.
        for c in 0..self.g.concept_count() as Cid {
            let m = matches(&self.g, &e, c, &mut Budget::unlimited())?;
            assert_eq!(
                m,
                set.contains(c),
                "matches disagrees for {} on {}",
                self.g.sctid(c),
                text
            );
        }
        let mut names: Vec<&'static str> =
            set.iter().map(|c| self.name_of(self.g.sctid(c))).collect();
        names.sort();
        Ok(names)
    }

    fn name_of(&self, sctid: u64) -> &'static str {
        const ALL: [&str; 29] = [
            "root", "finding", "disease", "d1", "d2", "d3", "f1", "d4", "body", "liver", "lobe",
            "morph", "inflam", "fract", "attr", "fs_sub", "strength", "name", "flag", "prod", "p1",
            "p2", "old", "old2", "refset", "mod2", "fs", "am", "isa",
        ];
        for a in ALL {
            if n(a) == sctid {
                return a;
            }
        }
        if sctid == ids::REPLACED_BY {
            return "replaced_by";
        }
        if sctid == ids::SAME_AS {
            return "same_as";
        }
        Box::leak(sctid.to_string().into_boxed_str())
    }

    fn check(&self, s: &str, expected: &[&str]) {
        let mut exp: Vec<&str> = expected.to_vec();
        exp.sort();
        assert_eq!(self.eval(s).unwrap(), exp, "{}", ecl(s));
    }
}

#[test]
fn verhoeff() {
    use super::parse::{check_sctid, verhoeff_ok};
    for ok in [
        "138875005",
        "404684003",
        "64572001",
        "116680003",
        "900000000000207008",
        "2363",
    ] {
        assert!(verhoeff_ok(ok), "{}", ok);
    }
    assert!(!verhoeff_ok("64572002"));
    assert!(check_sctid("99999999").is_err());
    assert!(check_sctid("12345").is_err());
    assert!(check_sctid("0138875005").is_err());
}

#[test]
fn hierarchy_operators() {
    let t = graph();
    t.check("{d1}", &["d1"]);
    t.check("< {disease}", &["d1", "d2", "d3", "d4"]);
    t.check("<< {disease}", &["disease", "d1", "d2", "d3", "d4"]);
    t.check("<! {disease}", &["d1", "d2", "d4"]);
    t.check("<<! {disease}", &["disease", "d1", "d2", "d4"]);
    t.check("> {d3}", &["d1", "d2", "disease", "finding", "root"]);
    t.check(">> {d3}", &["d3", "d1", "d2", "disease", "finding", "root"]);
    t.check(">! {d3}", &["d1", "d2"]);
    t.check(">>! {d3}", &["d3", "d1", "d2"]);
    t.check("descendantOf {disease}", &["d1", "d2", "d3", "d4"]);
    t.check("DESCENDANTORSELFOF {lobe}", &["lobe"]);
    t.check("childOf {body}", &["liver"]);
    t.check("childOrSelfOf {body}", &["body", "liver"]);
    t.check("ancestorOf {lobe}", &["liver", "body", "root"]);
    t.check(
        "ancestorOrSelfOf {lobe}",
        &["lobe", "liver", "body", "root"],
    );
    t.check("parentOf {lobe}", &["liver"]);
    t.check("parentOrSelfOf {lobe}", &["lobe", "liver"]);
    t.check("!!> (<< {disease})", &["disease"]);
    t.check("!!< (<< {disease})", &["d3", "d4"]);
    t.check("!!> ({d1} OR {d3} OR {lobe})", &["d1", "lobe"]);
    t.check("< ({d1} OR {liver})", &["d3", "lobe"]);
    t.check("{d1} |Liver disease|", &["d1"]);
    // Inactive concepts have no hierarchy.
    t.check("<< {old}", &["old"]);
}

#[test]
fn wildcard_and_compound() {
    let t = graph();
    let all = t.eval("*").unwrap();
    assert!(all.contains(&"root") && all.contains(&"d1") && !all.contains(&"old"));
    t.check("ANY MINUS (<< {finding} OR << {body} OR << {morph} OR << {attr} OR << {prod} OR {refset} OR {mod2} OR << {meta})", &["root"]);
    t.check("<< {disease} AND << {d1}", &["d1", "d3"]);
    t.check("<< {disease} , << {d1}", &["d1", "d3"]);
    t.check("<< {disease} and << {d1} AND >> {d3}", &["d1", "d3"]);
    t.check("<< {d1} OR << {d2}", &["d1", "d2", "d3"]);
    t.check("<< {disease} MINUS << {d1}", &["disease", "d2", "d4"]);
    t.check("(<< {d1} OR << {d2}) AND < {disease}", &["d1", "d2", "d3"]);
    t.check(
        "(<< {disease} MINUS << {d1}) MINUS {d4}",
        &["disease", "d2"],
    );
    t.check(
        "<< {disease} minus ({d2} or {d4})",
        &["disease", "d1", "d3"],
    );
    t.check("/* comment */ << /* in */ {lobe} /* end */", &["lobe"]);
}

#[test]
fn member_of() {
    let t = graph();
    t.check("^ {refset}", &["d1", "f1", "d4"]);
    t.check("memberOf {refset}", &["d1", "f1", "d4"]);
    t.check("^ {d1}", &[]);
    t.check("<< ^ {refset}", &["d1", "f1", "d4", "d3"]);
    t.check("^ (<< {refset})", &["d1", "f1", "d4"]);
    t.check("^ [targetComponentId] {refset}", &["lobe"]);
    t.check(
        "^ [referencedComponentId, targetComponentId] {refset}",
        &["d1", "f1", "d4", "lobe"],
    );
    t.check("^ [*] {refset}", &["d1", "f1", "d4", "lobe"]);
    t.check("^ {refset} {{ M moduleId = {mod2} }}", &["d4"]);
    t.check("^ {refset} {{ M active = false }}", &["d2"]);
    t.check("^ {refset} {{ M active = * }}", &["d1", "d2", "f1", "d4"]);
    t.check("^ {refset} {{ M effectiveTime >= \"20240101\" }}", &["d4"]);
    t.check("^ {refset} {{ M mapTarget = \"K70.1\" }}", &["d4"]);
    t.check("^ {refset} {{ M mapTarget = wild:\"K70*\" }}", &["d4"]);
    t.check("^ {refset} {{ M targetComponentId = << {liver} }}", &["d4"]);
    t.check("^ {refset} {{ M referencedComponentId = {f1} }}", &["f1"]);
    t.check("^ * ", &["d1", "f1", "d4", "old", "old2"]);
}

#[test]
fn refinements() {
    let t = graph();
    t.check("< {disease} : {fs} = << {liver}", &["d1", "d2", "d3"]);
    t.check("< {disease} : {fs} = {lobe}", &["d2", "d3"]);
    t.check("< {disease} : << {fs} = {lobe}", &["d2", "d3", "d4"]);
    t.check("< {disease} : * = {lobe}", &["d2", "d3", "d4"]);
    t.check("< {disease} : {fs} != {liver}", &["d2", "d3"]);
    t.check("< {disease} : [1..1] {fs} = << {liver}", &["d1"]);
    t.check("< {disease} : [2..*] {fs} = << {liver}", &["d2", "d3"]);
    t.check("< {disease} : [0..0] {fs} = {lobe}", &["d1", "d4"]);
    t.check("< {disease} : [0..1] {am} = *", &["d1", "d3", "d4"]);
    t.check("< {disease} : {fs} = {lobe}, {am} = {fract}", &["d2"]);
    t.check("< {disease} : {fs} = {lobe} AND {am} = {fract}", &["d2"]);
    t.check(
        "< {disease} : {am} = {fract} OR {fs} = {lobe}",
        &["d2", "d3"],
    );
    // groups
    t.check("< {disease} : { {fs} = {lobe}, {am} = {fract} }", &[]);
    t.check("< {disease} : { {fs} = {liver}, {am} = {fract} }", &["d2"]);
    t.check(
        "< {disease} : { {fs} = << {liver}, {am} = {inflam} }",
        &["d1", "d2"],
    );
    t.check("< {disease} : [2..2] { {fs} = << {liver} }", &["d2"]);
    t.check("< {disease} : [1..1] { {fs} = << {liver} }", &["d1", "d3"]);
    t.check("< {disease} : [0..0] { {am} = * }", &["d3", "d4"]);
    t.check("< {disease} : { {fs} = {liver} }", &["d1", "d2"]);
    t.check(
        "< {disease} : { [1..1] {fs} = << {liver} }",
        &["d1", "d2", "d3"],
    );
    t.check(
        "< {disease} : { {fs} = {liver} } OR { {fs} = {lobe} }",
        &["d1", "d2", "d3"],
    );
    t.check(
        "< {disease} : ({fs} = {lobe} OR {am} = {inflam}), {fs} = {liver}",
        &["d1", "d2", "d3"],
    );
    t.check(
        "< {disease} : { {fs} = {lobe} OR {am} = {fract} }",
        &["d2", "d3"],
    );
    // reverse
    t.check("* : R {fs} = {d3}", &["liver", "lobe"]);
    t.check(
        "<< {body} : reverseOf {fs} = << {disease}",
        &["liver", "lobe"],
    );
    t.check("<< {body} : [2..*] R {fs} = *", &["liver", "lobe"]);
    t.check("<< {body} : [3..*] R {fs} = *", &["liver"]);
    // is-a as an attribute
    t.check("* : {isa} = {d1}", &["d3"]);
    // bracketed attribute names
    t.check("< {disease} : ({fs} OR {am}) = {fract}", &["d2"]);
    t.check("< {disease} : (<< {fs}) = {lobe}", &["d2", "d3", "d4"]);
    // nested value expressions with refinements
    t.check(
        "< {disease} : {fs} = (<< {body} : R {fs} = {d3})",
        &["d1", "d2", "d3"],
    );
}

#[test]
fn concrete_values() {
    let t = graph();
    t.check("< {prod} : {strength} = #5", &["p1"]);
    t.check("< {prod} : {strength} > #5", &["p2"]);
    t.check("< {prod} : {strength} >= #5", &["p1", "p2"]);
    t.check("< {prod} : {strength} < #10.5", &["p1"]);
    t.check("< {prod} : {strength} <= #10.5", &["p1", "p2"]);
    t.check("< {prod} : {strength} != #5", &["p2"]);
    t.check("< {prod} : {strength} > #-1", &["p1", "p2"]);
    t.check("< {prod} : {name} = \"abc\"", &["p1"]);
    t.check("< {prod} : {name} = (\"x\" \"abc\")", &["p1"]);
    t.check("< {prod} : {name} != \"abc\"", &[]);
    t.check("< {prod} : {flag} = true", &["p2"]);
    t.check("< {prod} : {flag} = FALSE", &[]);
    t.check("< {prod} : { {strength} > #1 }", &["p1", "p2"]);
}

#[test]
fn dotted() {
    let t = graph();
    t.check("<< {disease} . {fs}", &["liver", "lobe"]);
    t.check("{d1} . {am}", &["inflam"]);
    t.check("<< {disease} . << {fs}", &["liver", "lobe"]);
    t.check("{d3} . {isa}", &["d1", "d2"]);
    t.check("{d3} . {isa} . {am}", &["inflam", "fract"]);
}

#[test]
fn description_filters() {
    let t = graph();
    t.check("< {disease} {{ term = \"liver\" }}", &["d1", "d4"]);
    t.check("< {disease} {{ term = \"liv dis\" }}", &["d1", "d4"]);
    t.check("< {disease} {{ term = \"liv (disorder\" }}", &["d1"]);
    t.check("< {disease} {{ term = \"iver\" }}", &[]);
    t.check("< {disease} {{ term = match:\"HEART att\" }}", &["d2"]);
    t.check("< {disease} {{ term = wild:\"*attack\" }}", &["d2"]);
    t.check("< {disease} {{ term = wild:\"liver*\" }}", &["d1"]);
    t.check("< {disease} {{ term = wild:\"*lobe\" }}", &["d4"]);
    t.check(
        "< {disease} {{ term = (\"heart\" wild:\"hepato*\") }}",
        &["d1", "d2"],
    );
    // `!=`: some description does not match.
    t.check("< {disease} {{ term != \"liver\" }}", &["d1", "d2", "d3"]);
    t.check("< {disease} {{ D term = \"obsolete\" }}", &[]);
    t.check(
        "< {disease} {{ term = \"obsolete\", active = false }}",
        &["d1"],
    );
    t.check("< {disease} {{ term = \"obsolete\", active = 0 }}", &["d1"]);
    t.check("< {disease} {{ language = fr }}", &["d3"]);
    t.check("< {disease} {{ language = (fr de) }}", &["d3"]);
    t.check("< {disease} {{ type = fsn }}", &["d1"]);
    t.check("< {disease} {{ type = (def fsn) }}", &["d1", "d4"]);
    t.check("< {disease} {{ typeId = 900000000000550004 }}", &["d4"]);
    t.check(
        "< {disease} {{ typeId = (900000000000550004 900000000000003001) }}",
        &["d1", "d4"],
    );
    t.check("< {disease} {{ dialect = en-gb }}", &["d1"]);
    t.check("< {disease} {{ dialect = en-us (prefer) }}", &["d1", "d2"]);
    t.check("< {disease} {{ dialect = en-us (accept) }}", &["d1"]);
    t.check(
        "< {disease} {{ term = \"hepatopathy\", dialect = en-us (prefer) }}",
        &[],
    );
    t.check(
        "< {disease} {{ term = \"hepatopathy\" }} {{ dialect = en-us (prefer) }}",
        &["d1"],
    );
    t.check(
        "< {disease} {{ dialect = (en-gb en-us (accept)) }}",
        &["d1"],
    );
    t.check(
        "< {disease} {{ dialectId = 900000000000509007 (900000000000548007) }}",
        &["d1", "d2"],
    );
    t.check(
        "< {disease} {{ dialectId = (900000000000508004 900000000000509007) }}",
        &["d1", "d2"],
    );
    t.check(
        "< {disease} {{ moduleId = 900000000000207008 }}",
        &["d1", "d2", "d3", "d4"],
    );
    t.check(
        "< {disease} {{ effectiveTime > \"20200101\" }}",
        &["d1", "d2", "d3", "d4"],
    );
    t.check("< {disease} {{ effectiveTime < \"20200101\" }}", &[]);
}

#[test]
fn concept_filters() {
    let t = graph();
    t.check("< {finding} {{ C definitionStatus = defined }}", &["f1"]);
    t.check(
        "< {finding} {{ c definitionStatus = primitive }}",
        &["disease", "d1", "d2", "d3", "d4"],
    );
    t.check(
        "< {finding} {{ C definitionStatusId = 900000000000073002 }}",
        &["f1"],
    );
    t.check("< {finding} {{ C moduleId = {mod2} }}", &["f1"]);
    t.check(
        "< {finding} {{ C moduleId != {mod2}, definitionStatus = (primitive defined) }}",
        &["disease", "d1", "d2", "d3", "d4"],
    );
    t.check("< {finding} {{ C effectiveTime >= \"20230131\" }}", &["f1"]);
    t.check(
        "< {finding} {{ C effectiveTime = (\"20230131\" \"20200131\") }}",
        &["disease", "d1", "d2", "d3", "d4", "f1"],
    );
    t.check(
        "< {finding} {{ C active = true }}",
        &["disease", "d1", "d2", "d3", "d4", "f1"],
    );
    t.check("{old} {{ C active = false }}", &["old"]);
}

#[test]
fn history_supplements() {
    let t = graph();
    t.check("{d1} {{ +HISTORY }}", &["d1", "old", "old2"]);
    t.check("{d1} {{ +HISTORY-MIN }}", &["d1", "old2"]);
    t.check("{d1} {{ +history-mod }}", &["d1", "old", "old2"]);
    t.check("{d1} {{ +HISTORY-MAX }}", &["d1", "old", "old2"]);
    t.check(
        &format!("{{d1}} {{{{ +HISTORY ({}) }}}}", ids::REPLACED_BY),
        &["d1", "old"],
    );
    t.check(
        "<< {disease} {{ +HISTORY-MIN }}",
        &["disease", "d1", "d2", "d3", "d4", "old2"],
    );
}

#[test]
fn errors_unknown_and_unsupported() {
    let t = graph();
    let unknown = 404684003u64; // valid SCTID, not in the test graph
    for s in [
        format!("<< {}", unknown),
        format!("{} OR << {}", n("d1"), unknown),
        format!("<< {} : {} = << {}", n("disease"), FS, unknown),
        format!("<< {} {{{{ C moduleId = {} }}}}", n("disease"), unknown),
    ] {
        let e = parse(&s).unwrap();
        assert_eq!(
            evaluate(&t.g, &e, &mut Budget::unlimited()),
            Err(EvalError::UnknownConcept(unknown)),
            "{}",
            s
        );
        assert_eq!(
            matches(&t.g, &e, 0, &mut Budget::unlimited()),
            Err(EvalError::UnknownConcept(unknown)),
            "{}",
            s
        );
    }
    let e = parse("LOINC#1234-5 |Some test|").unwrap();
    assert!(matches!(
        evaluate(&t.g, &e, &mut Budget::unlimited()),
        Err(EvalError::Unsupported(_))
    ));
    let e = parse("<< \"http://loinc.org#1234-5\"").unwrap();
    assert!(matches!(
        evaluate(&t.g, &e, &mut Budget::unlimited()),
        Err(EvalError::Unsupported(_))
    ));
    let e = parse(&ecl("< {disease} {{ dialect = xx-yy }}")).unwrap();
    assert!(matches!(
        evaluate(&t.g, &e, &mut Budget::unlimited()),
        Err(EvalError::Invalid(_))
    ));
}

#[test]
fn budget() {
    let t = graph();
    let e = parse("<< 138875005").unwrap();
    assert_eq!(
        evaluate(&t.g, &e, &mut Budget::new(5, None)),
        Err(EvalError::TooCostly)
    );
    let past = std::time::Instant::now();
    std::thread::sleep(std::time::Duration::from_millis(2));
    let mut b = Budget::new(u64::MAX, Some(past));
    assert_eq!(b.charge(5000), Err(EvalError::TooCostly));
    assert!(evaluate(&t.g, &e, &mut Budget::new(10_000, None)).is_ok());
}

fn perr(s: &str) -> (usize, String) {
    match parse(s) {
        Ok(e) => panic!("{:?} parsed: {:?}", s, e),
        Err(e) => (e.position, e.to_string()),
    }
}

#[test]
fn syntax_errors_with_positions() {
    assert_eq!(
        perr("<< 10200004 <<"),
        (
            12,
            "Syntax error at character 12: expected end of expression, found '<<'".into()
        )
    );
    assert_eq!(perr("<< abc").0, 3);
    let (p, m) = perr("<< 128045006 OR << 10200004 AND << 64572001");
    assert_eq!(p, 28);
    assert!(m.contains("brackets"), "{}", m);
    assert_eq!(
        perr("<< 64572001 MINUS << 128045006 MINUS << 10200004").0,
        31
    );
    assert_eq!(perr("<< 64572001 AND << 128045006 OR << 10200004").0, 29);
    assert_eq!(perr("<< 64572001 , << 128045006 OR << 10200004").0, 27);
    assert!(perr("< 99999999").1.contains("check digit"));
    assert!(perr("< 12345").1.contains("6 to 18"));
    assert!(perr("< 1234567890123456789").1.contains("6 to 18"));
    assert_eq!(perr("< 0138875005").0, 2);
    assert_eq!(perr("").0, 0);
    assert_eq!(perr("   ").0, 3);
    assert_eq!(perr("(<< 138875005").0, 13);
    assert_eq!(perr("<< 138875005 |unterminated").0, 13);
    assert_eq!(perr("/* open").0, 0);
    // refinement operators need brackets too
    let (p, _) = perr("< 64572001 : 363698007 = * AND 116676008 = * OR 363698007 = *");
    assert_eq!(p, 45);
    assert!(perr("< 64572001 : 363698007 < << 10200004")
        .1
        .contains("'#'"));
    assert!(perr("< 64572001 : 363698007")
        .1
        .contains("comparison operator"));
    assert!(perr("< 64572001 : [3..1] 363698007 = *")
        .1
        .contains("greater"));
    assert!(perr("< 64572001 : { { 363698007 = * } }")
        .1
        .contains("nested"));
    assert!(perr("< 64572001 {{ foo = 1 }}")
        .1
        .contains("description filter"));
    assert!(perr("< 64572001 {{ M active = 1 }}")
        .1
        .contains("member-of"));
    assert!(perr("< 64572001 {{ term = \"x }}")
        .1
        .contains("unterminated"));
    assert!(perr("< 64572001 {{ effectiveTime = \"2020\" }}")
        .1
        .contains("YYYYMMDD"));
    assert!(perr("< 64572001 {{ +HISTORY }} {{ term = \"a\" }}")
        .1
        .contains("history"));
    assert!(perr("< 64572001 {{ id = 104 }}").1.contains("6 to 18"));
    assert!(perr("64572001 . 363698007 AND 64572001")
        .1
        .contains("end of expression"));
    // non-ASCII: positions count characters, not bytes
    assert_eq!(perr("64572001 |é| é").0, 13);
    // deep nesting is an error, not a stack overflow
    let deep = format!("{}64572001{}", "(".repeat(5000), ")".repeat(5000));
    assert!(perr(&deep).1.contains("too deeply"));
}

#[test]
fn parse_shapes() {
    let e = parse("<< 404684003 |Clinical finding| : { 363698007 |Finding site| = << 39057004, 116676008 = *  }").unwrap();
    match e {
        Expr::Refined {
            focus,
            refinement:
                Refinement::Group {
                    cardinality: None,
                    inner,
                },
        } => {
            assert_eq!(focus.op, Some(ConstraintOp::DescendantOrSelfOf));
            match &focus.focus {
                Focus::Concept(r) => {
                    assert_eq!(r.id, 404684003);
                    assert_eq!(r.term.as_deref(), Some("Clinical finding"));
                    assert_eq!(r.pos, 3);
                }
                f => panic!("{:?}", f),
            }
            assert!(matches!(*inner, Refinement::And(ref v) if v.len() == 2));
        }
        e => panic!("{:?}", e),
    }
    // Things that must parse.
    for s in [
        "*",
        "  <<  404684003  ",
        "<<404684003:363698007=<<39057004",
        "< 404684003 : R 363698007 = *",
        "< 404684003 : [0..*] 363698007 = *",
        "< 404684003 : [1 to many] 363698007 = *",
        "< 404684003 : [0..0] { 363698007 = * }",
        "^ [targetComponentId] 900000000000527005 {{ M referencedComponentId = 404684003 }}",
        "^[*]900000000000527005",
        "< 404684003 {{ term = \"heart\", language = en, type = syn, dialect = en-us (prefer accept) }}",
        "< 404684003 {{ D term = wild:\"hea*rt\" }} {{ C active = true }}",
        "< 404684003 {{ dialectId = (900000000000509007 (prefer) 900000000000508004) }}",
        "< 404684003 {{ typeId = << 900000000000446008 }}",
        "< 404684003 {{ moduleId = (900000000000207008 900000000000012004) }}",
        "< 404684003 {{ effectiveTime <= \"20200131\", active = 1, id = (101013 102018) }}",
        "< 404684003 {{ +HISTORY-MIN }}",
        "< 404684003 {{ +HISTORY_MAX }}",
        "< 404684003 {{ +HISTORY (<< 900000000000522004 MINUS 900000000000523009) }}",
        "<< 404684003 . 363698007 . << 116676008",
        "!!> (<< 404684003)",
        "!!< (<< 404684003)",
        "< 404684003 : 363698007 = (<< 39057004 OR << 123037004)",
        "< 373873005 : 1142135004 >= #1.5, 1142136003 = \"x\\\"y\", 1142139005 = TRUE",
        "< 404684003 : (363698007 = * OR 116676008 = *) AND 246075003 = *",
        "< 404684003 : ((363698007 = *))",
        "ANY : descendantOf 363698007 = ANY",
        "memberOf 900000000000527005",
        "a-b#x.y_z",
        "\"http://loinc.org#1234-5\" |x|",
        "404684003 |Clinical finding (finding)|",
        "404684003|x|AND 404684003|y|",
        "(404684003)",
        "<< (404684003 OR 138875005) : 363698007 = *",
    ] {
        if let Err(e) = parse(s) {
            panic!("{:?}: {}", s, e);
        }
    }
}

/// Deterministic xorshift generator.
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
    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[(self.next() % v.len() as u64) as usize]
    }
}

#[test]
fn never_panics_on_random_input() {
    let t = graph();
    let seeds = [
        "<< 404684003 : { 363698007 = << 39057004, 116676008 = * } {{ term = \"x\" }}",
        "^ [targetComponentId] 900000000000527005 {{ M active = 1 }} {{ +HISTORY-MIN }}",
        "(<< 64572001 OR < 10200004) MINUS ! !> 138875005 . 363698007",
        "< 373873005 : [1..3] R 1142135004 >= #-1.5, 1142136003 = (\"a\" \"b\")",
        "* {{ C definitionStatus = (primitive defined), moduleId = (900000000000207008) }}",
        "< 404684003 {{ dialect = (en-gb (prefer) en-us) (accept), typeId = << 900000000000446008 }}",
    ];
    let tokens = [
        "<",
        "<<",
        "<!",
        "<<!",
        ">",
        ">>",
        ">!",
        ">>!",
        "!!>",
        "!!<",
        "^",
        "*",
        "(",
        ")",
        "{",
        "}",
        "{{",
        "}}",
        "[",
        "]",
        ":",
        ",",
        ".",
        "..",
        "=",
        "!=",
        "<=",
        ">=",
        "#",
        "#1.5",
        "\"",
        "\"abc\"",
        "|",
        "|term|",
        "/*",
        "*/",
        " ",
        " AND ",
        " OR ",
        " MINUS ",
        "R ",
        "404684003",
        "138875005",
        "10200004",
        "123",
        "0",
        "term",
        "match:",
        "wild:",
        "+HISTORY",
        "-MIN",
        "M ",
        "C ",
        "D ",
        "é",
        "\\",
        "true",
        "en-us",
        "(prefer)",
        "\u{0}",
        "\u{10FFFF}",
    ];
    let mut r = Rng(0x9E3779B97F4A7C15);
    let mut parsed = 0;
    for i in 0..60_000 {
        let s: String = if i % 2 == 0 {
            let k = 1 + r.next() % 14;
            (0..k).map(|_| *r.pick(&tokens)).collect()
        } else {
            // mutate a seed: delete, insert or replace characters
            let mut chars: Vec<char> = r.pick(&seeds).chars().collect();
            for _ in 0..(1 + r.next() % 4) {
                let pos = (r.next() % (chars.len() as u64 + 1)) as usize;
                match r.next() % 3 {
                    0 if pos < chars.len() => {
                        chars.remove(pos);
                    }
                    1 => {
                        let tok = r.pick(&tokens);
                        for (j, c) in tok.chars().enumerate() {
                            chars.insert(pos + j, c);
                        }
                    }
                    _ if pos < chars.len() => {
                        chars[pos] =
                            *r.pick(&['(', ')', '{', '}', '"', '|', '<', '!', ' ', '1', 'x'])
                    }
                    _ => {}
                }
            }
            chars.into_iter().collect()
        };
        match parse(&s) {
            Ok(e) => {
                parsed += 1;
                let _ = evaluate(&t.g, &e, &mut Budget::new(100_000, None));
                let _ = matches(&t.g, &e, 1, &mut Budget::new(100_000, None));
            }
            Err(e) => {
                assert!(e.position <= s.chars().count(), "{:?}: {}", s, e);
                let _ = e.to_string();
            }
        }
    }
    assert!(parsed > 100, "only {} inputs parsed", parsed);
}

#[test]
fn parse_speed_10000() {
    let exprs = [
        "<< 404684003 |Clinical finding|",
        "< 64572001 : 363698007 = << 10200004",
        "< 64572001 : { 363698007 = << 10200004, 116676008 = 20946005 }",
        "(<< 10200004 OR << 128045006) AND << 64572001",
        "^ 900000000000526001",
        "<< 73211009 {{ term = \"diabetes\", dialect = en-us (prefer) }}",
        "< 373873005 : [1..*] 1142135004 >= #1.5",
        "<< 404684003 . 363698007",
        "< 64572001 : [1..1] 363698007 = << 10200004",
        "<< 64572001 MINUS << 128045006",
    ];
    let t0 = std::time::Instant::now();
    let mut ok = 0;
    for i in 0..10_000 {
        if parse(exprs[i % exprs.len()]).is_ok() {
            ok += 1;
        }
    }
    let el = t0.elapsed();
    assert_eq!(ok, 10_000);
    eprintln!(
        "parsed 10,000 typical expressions in {:?} ({:?} each)",
        el,
        el / 10_000
    );
}

#[test]
fn concept_set_ops() {
    use super::ConceptSet;
    let a = ConceptSet::from_cids(200, [1, 5, 64, 130]);
    let b = ConceptSet::from_cids(200, [5, 130, 199]);
    assert_eq!(a.len(), 4);
    assert!(a.contains(64) && !a.contains(63) && !a.contains(1000));
    assert_eq!(a.union(&b).to_vec(), vec![1, 5, 64, 130, 199]);
    assert_eq!(a.intersection(&b).to_vec(), vec![5, 130]);
    assert_eq!(a.difference(&b).to_vec(), vec![1, 64]);
    assert!(ConceptSet::new(10).is_empty());
}

/// Timing on a synthetic 370,000-concept graph (run with `--ignored --nocapture`, release).
#[test]
#[ignore]
fn perf_370k() {
    let n_concepts = 370_000u64;
    let mut g = MemGraph::new();
    let mut r = Rng(0xDEADBEEF12345);
    let sid = |i: u64| make_sctid(100_000 + i);
    let t0 = std::time::Instant::now();
    g.add_concept(ids::ROOT, true, true);
    g.add_concept(ids::IS_A, true, true);
    let ids_: Vec<u64> = (0..n_concepts).map(sid).collect();
    for i in 1..n_concepts {
        g.add_concept(ids_[i as usize], true, r.next().is_multiple_of(3));
    }
    g.is_a(ids_[1], ids::ROOT);
    g.is_a(ids::IS_A, ids::ROOT);
    for i in 2..n_concepts {
        // Preferential-ish attachment to earlier concepts: depth ~ log n.
        let p = 1 + r.next() % (i - 1);
        g.is_a(ids_[i as usize], ids_[p as usize]);
        if r.next().is_multiple_of(4) {
            let q = 1 + r.next() % (i - 1);
            if q != p {
                g.is_a(ids_[i as usize], ids_[q as usize]);
            }
        }
    }
    // 50 attribute types (concepts 1..=50), 3 relationships per concept on average.
    for i in 100..n_concepts {
        let k = r.next() % 6;
        for j in 0..k {
            let ty = 1 + r.next() % 50;
            let target = 100 + r.next() % (n_concepts - 100);
            g.rel(
                ids_[i as usize],
                ids_[ty as usize],
                (j / 2) as u16 + 1,
                ids_[target as usize],
            );
        }
    }
    g.finish();
    eprintln!(
        "built synthetic graph of {} concepts in {:?}",
        g.concept_count(),
        t0.elapsed()
    );
    // Find mid-level concepts (5k..40k descendants) for the focus and the value.
    let mut mids = Vec::new();
    for i in 2..400u64 {
        let e = parse(&format!("<< {}", ids_[i as usize])).unwrap();
        let k = evaluate(&g, &e, &mut Budget::unlimited()).unwrap().len();
        if (5_000..40_000).contains(&k) {
            mids.push((ids_[i as usize], k));
        }
        if mids.len() == 2 {
            break;
        }
    }
    assert!(mids.len() == 2, "{:?}", mids);
    let (x, kx) = mids[0];
    let (y, ky) = mids[1];
    eprintln!(
        "focus << {} has {} concepts, value << {} has {}",
        x, kx, y, ky
    );
    let mut small = ids_[0];
    for i in 400..5000u64 {
        let e = parse(&format!("<< {}", ids_[i as usize])).unwrap();
        let k = evaluate(&g, &e, &mut Budget::unlimited()).unwrap().len();
        if (300..3000).contains(&k) {
            small = ids_[i as usize];
            eprintln!("small value << {} has {}", small, k);
            break;
        }
    }
    let cases = [
        format!("< {} : {} = << {}", x, ids_[7], small),
        format!("* : {} = << {}", ids_[7], small),
        format!(
            "< {} : {} = << {}, {} = << {}",
            x, ids_[7], small, ids_[9], y
        ),
        format!("<< {}", x),
        format!("< {}", x),
        format!("<! {}", x),
        format!("> {}", x),
        format!("< {} : {} = << {}", x, ids_[7], y),
        format!("< {} : {{ {} = << {}, {} = * }}", x, ids_[7], y, ids_[8]),
        format!("< {} : [1..1] {} = << {}", x, ids_[7], y),
        format!("(<< {} OR << {}) MINUS << {}", x, y, ids_[300]),
        format!("<< {} . {}", x, ids_[7]),
        format!("* : {} = << {}", ids_[7], y),
    ];
    for c in &cases {
        let e = parse(c).unwrap();
        let mut times = Vec::new();
        let mut len = 0;
        for _ in 0..31 {
            let t = std::time::Instant::now();
            let s = evaluate(&g, &e, &mut Budget::unlimited()).unwrap();
            times.push(t.elapsed());
            len = s.len();
        }
        times.sort();
        // matches on one concept
        let probe = g.concept(ids_[369_999]).unwrap();
        let t = std::time::Instant::now();
        for _ in 0..1000 {
            let _ = matches(&g, &e, probe, &mut Budget::unlimited()).unwrap();
        }
        let per_match = t.elapsed() / 1000;
        eprintln!(
            "{:60} -> {:6} concepts, median {:?}, matches(one) {:?}",
            c, len, times[15], per_match
        );
    }
}
