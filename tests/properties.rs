//! Property tests (proptest) for the pieces with rules: canonical URL / OID naming, version
//! ordering, display normalisation, and `$expand` paging.

use std::cmp::Ordering;

use nosterm::catalog::version::{compare, matches};
use nosterm::catalog::Catalog;
use nosterm::model::canonical::is_bare_oid;
use nosterm::model::{oid_of, split_canonical, CodeSystem, Concept, ResourceMeta, SystemKey};
use nosterm::ops::display::{normalise, typographic_difference};
use nosterm::ops::expand::{expand, implicit_value_set, ExpandRequest, ExpansionItem};
use nosterm::ops::Scope;
use proptest::prelude::*;

/// A dotted-decimal OID of 2 to 12 arcs.
fn oid() -> impl Strategy<Value = String> {
    prop::collection::vec(0u64..100_000, 2..12).prop_map(|arcs| {
        arcs.iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(".")
    })
}

/// A canonical URL (no `|`).
fn url() -> impl Strategy<Value = String> {
    "https?://[a-z]{1,8}\\.[a-z]{2,3}(/[A-Za-z0-9_.-]{1,12}){0,4}"
}

/// Versions as published: numbers, text and wildcards between `.`, `-`, `+`.
fn version() -> impl Strategy<Value = String> {
    "([0-9]{1,3}|[a-z]{1,3}|0[0-9]|99999999999999999999)([.+-]([0-9]{1,3}|[a-z]{1,3}|0[0-9])){0,3}"
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn oid_names_round_trip(o in oid()) {
        prop_assert!(is_bare_oid(&o));
        let urn = format!("urn:oid:{o}");
        prop_assert_eq!(oid_of(&o), Some(o.as_str()));
        prop_assert_eq!(oid_of(&urn), Some(o.as_str()));
        prop_assert_eq!(SystemKey::parse(&o), SystemKey::Oid(o.clone()));
        prop_assert_eq!(SystemKey::parse(&urn), SystemKey::Oid(o.clone()));
    }

    #[test]
    fn urls_are_urls_and_canonicals_split(u in url(), v in version()) {
        prop_assert_eq!(oid_of(&u), None);
        prop_assert_eq!(SystemKey::parse(&u), SystemKey::Url(u.clone()));
        let canonical = format!("{u}|{v}");
        prop_assert_eq!(split_canonical(&canonical), (u.as_str(), Some(v.as_str())));
        prop_assert_eq!(split_canonical(&u), (u.as_str(), None));
        let bare = format!("{u}|");
        prop_assert_eq!(split_canonical(&bare), (u.as_str(), None));
    }

    /// A code system is found again by its URL, `urn:oid:` and bare OID, each giving the same
    /// resource.
    #[test]
    fn catalog_finds_a_system_by_every_name(u in url(), o in oid(), v in version()) {
        let mut cat = Catalog::default();
        cat.add_code_system(CodeSystem::new(
            ResourceMeta {
                id: "cs".into(),
                url: u.clone(),
                version: Some(v.clone()),
                status: "active".into(),
                oids: vec![o.clone()],
                ..Default::default()
            },
            vec![],
        ));
        let scope = Scope::new(&cat);
        for name in [u.clone(), format!("urn:oid:{o}"), o.clone()] {
            let found = scope.code_system(&name, None);
            prop_assert!(found.is_some(), "{name}");
            prop_assert_eq!(&found.as_ref().unwrap().meta.url, &u);
            prop_assert!(scope.code_system(&name, Some(&v)).is_some(), "{name}|{v}");
        }
    }

    #[test]
    fn version_order_is_total(a in version(), b in version(), c in version()) {
        // Antisymmetric, and Equal only for the same text.
        prop_assert_eq!(compare(&a, &b), compare(&b, &a).reverse());
        prop_assert_eq!(compare(&a, &b) == Ordering::Equal, a == b);
        prop_assert_eq!(compare(&a, &a), Ordering::Equal);
        // Transitive.
        if compare(&a, &b) != Ordering::Greater && compare(&b, &c) != Ordering::Greater {
            prop_assert_ne!(compare(&a, &c), Ordering::Greater, "{} {} {}", a, b, c);
        }
        // Sorting gives the same order whatever the input order.
        let mut x = vec![a.clone(), b.clone(), c.clone()];
        let mut y = vec![c.clone(), a.clone(), b.clone()];
        x.sort_by(|p, q| compare(p, q));
        y.sort_by(|p, q| compare(p, q));
        prop_assert_eq!(x, y);
    }

    /// `matches` agrees with the order: a version without wildcards selects only itself (the
    /// one version `compare` calls Equal), and a pattern made by replacing segments of a
    /// version with `x` selects that version.
    #[test]
    fn version_matching_agrees_with_order(
        a in "[0-9]{1,3}(\\.[0-9]{1,3}){0,3}",
        b in "[0-9]{1,3}(\\.[0-9]{1,3}){0,3}",
        mask in prop::collection::vec(any::<bool>(), 4),
    ) {
        prop_assert!(matches(&a, &a));
        prop_assert_eq!(matches(&a, &b), compare(&a, &b) == Ordering::Equal);
        let pattern: Vec<&str> = a
            .split('.')
            .zip(mask.iter().cycle())
            .map(|(s, m)| if *m { "x" } else { s })
            .collect();
        prop_assert!(matches(&pattern.join("."), &a), "{} {}", pattern.join("."), a);
    }

    #[test]
    fn normalise_is_idempotent_and_ignores_typography(
        words in prop::collection::vec("[A-Za-zÀ-ÿ'’`0-9]{1,8}", 1..6),
        seps in prop::collection::vec("[ \t\n\u{a0}]{1,3}", 6),
        pad in "[ \t]{0,2}",
    ) {
        let plain = words.join(" ");
        let spaced: String = words
            .iter()
            .zip(seps.iter())
            .map(|(w, s)| format!("{w}{s}"))
            .collect();
        let once = normalise(&plain);
        prop_assert_eq!(normalise(&once), once.clone());
        prop_assert_eq!(normalise(&format!("{pad}{spaced}{pad}")), once.clone());
        prop_assert_eq!(normalise(&upper_case(&plain)), once.clone());
        prop_assert_eq!(normalise(&plain.replace(['’', '`'], "'")), once.clone());
    }

    /// `typographic_difference` is symmetric, and the difference it reports explains it:
    /// upper-casing is a case difference, re-spacing a whitespace one.
    #[test]
    fn typographic_differences(
        words in prop::collection::vec("[a-zéèàç]{1,8}", 1..5),
        upper in any::<bool>(),
        respace in any::<bool>(),
    ) {
        let expected = words.join(" ");
        let mut given = if upper { expected.to_uppercase() } else { expected.clone() };
        if respace {
            given = format!(" {}  ", given.replace(' ', "\t "));
        }
        let d = typographic_difference(&given, &expected);
        prop_assert_eq!(d, typographic_difference(&expected, &given));
        if given == expected {
            prop_assert!(d.is_none());
        } else {
            let d = d.expect("a typographic difference");
            prop_assert!(!d.quotes);
            prop_assert!(d.case || d.whitespace);
            prop_assert!(!d.case || upper);
            prop_assert!(!d.whitespace || respace);
            prop_assert_eq!(normalise(&given), normalise(&expected));
        }
        let other = format!("{expected}x");
        prop_assert!(typographic_difference(&expected, &other).is_none());
    }

    /// Every member appears exactly once across the pages of `$expand`, whatever the page size
    /// and the starting offset, and in the same order as the unpaged expansion.
    #[test]
    fn paging_lists_every_member_once(
        parents in prop::collection::vec(prop::option::of(0usize..1000), 0..80),
        count in 1usize..30,
        start in 0usize..5,
    ) {
        let concepts: Vec<Concept> = parents
            .iter()
            .enumerate()
            .map(|(i, p)| Concept {
                code: format!("c{i}"),
                display: Some(format!("Concept {i}")),
                // A parent among the earlier concepts, or none: a forest.
                parents: p.filter(|_| i > 0).map(|p| format!("c{}", p % i)).into_iter().collect(),
                ..Default::default()
            })
            .collect();
        let n = concepts.len();
        let mut cat = Catalog::default();
        cat.add_code_system(CodeSystem::new(
            ResourceMeta {
                id: "cs".into(),
                url: "http://example.org/cs".into(),
                status: "active".into(),
                ..Default::default()
            },
            concepts,
        ));
        let scope = Scope::new(&cat);
        let vs = implicit_value_set("http://example.org/cs", None);
        let all = expand(&scope, &vs, &ExpandRequest::default()).expect("expand");
        prop_assert_eq!(all.total, n);
        let mut nested = codes(&all.items);
        prop_assert_eq!(nested.len(), n);
        // Pages are flat, in the order of the flat expansion.
        let flat = ExpandRequest { exclude_nested: true, ..Default::default() };
        let whole = codes(&expand(&scope, &vs, &flat).expect("expand").items);
        let mut seen = Vec::new();
        let mut offset = start.min(n);
        seen.extend(whole[..offset].iter().cloned());
        while offset < n {
            let page = expand(
                &scope,
                &vs,
                &ExpandRequest { offset, count: Some(count), ..Default::default() },
            )
            .expect("page");
            prop_assert_eq!(page.total, n);
            let got = codes(&page.items);
            prop_assert!(!got.is_empty() && got.len() <= count, "{} at {}", got.len(), offset);
            offset += got.len();
            seen.extend(got);
        }
        prop_assert_eq!(&seen, &whole);
        // The same members as the nested expansion, each once.
        seen.sort();
        seen.dedup();
        nested.sort();
        prop_assert_eq!(seen, nested);
    }
}

/// Upper case, letter by letter where that round-trips (not `ß` → `SS`).
fn upper_case(s: &str) -> String {
    s.chars()
        .map(|c| {
            let mut up = c.to_uppercase();
            match (up.next(), up.next()) {
                (Some(u), None) if u.to_lowercase().eq(c.to_lowercase()) => u,
                _ => c,
            }
        })
        .collect()
}

/// Codes of an expansion, nested members included, in document order.
fn codes(items: &[ExpansionItem]) -> Vec<String> {
    let mut out = Vec::new();
    for it in items {
        out.push(it.code.clone());
        out.extend(codes(&it.children));
    }
    out
}
