//! CodeSystem supplements (`content = supplement`): designations and properties that another
//! resource adds to a base system's concepts. A supplement applies when the request names it
//! (`useSupplement`), when the value set names it (`valueset-supplement` extension), or,
//! for a language pack, whenever its base system is used.

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::model::{split_canonical, CodeSystem, ValueSet};
use crate::ops::Scope;
// Merging is pure model work (the catalog merges language packs on load); operations use it too.
pub use crate::model::supplement::{merge, supplements_system};

/// The extension by which a value set names the supplements its expansion uses.
pub const VALUESET_SUPPLEMENT: &str = "http://hl7.org/fhir/StructureDefinition/valueset-supplement";

/// The supplement canonicals a value set names (`valueset-supplement` extensions).
pub fn named_by_value_set(vs: &ValueSet) -> Vec<String> {
    vs.meta
        .extensions
        .iter()
        .filter(|e| e.get("url").and_then(|u| u.as_str()) == Some(VALUESET_SUPPLEMENT))
        .filter_map(|e| {
            e.get("valueCanonical")
                .or_else(|| e.get("valueUri"))
                .and_then(|v| v.as_str())
                .map(str::to_string)
        })
        .collect()
}

/// The supplement a canonical (`url` or `url|version`) names: an error when it is unknown
/// or names a code system that is not a supplement.
pub fn resolve(scope: &Scope, canonical: &str) -> Result<Arc<CodeSystem>> {
    let (url, version) = split_canonical(canonical);
    let cs = scope
        .code_system(url, version)
        .ok_or_else(|| Error::NotFound(format!("Required supplement not found: {canonical}")))?;
    if !cs.is_supplement() {
        return Err(Error::Invalid(format!(
            "The CodeSystem {} is not a supplement, so it cannot be used as one",
            cs.meta.versioned_url()
        )));
    }
    Ok(cs)
}

/// Refuses a named supplement of a system the request does not use: `systems` are the
/// code systems the request is about (none known: nothing to check).
pub fn check_base(sup: &CodeSystem, systems: &[&str]) -> Result<()> {
    let base = sup.supplements.as_deref().map(split_canonical).map(|b| b.0);
    match base {
        Some(b) if systems.is_empty() || systems.contains(&b) => Ok(()),
        _ => Err(Error::Invalid(format!(
            "The supplement {} supplements {}, not {}",
            sup.meta.versioned_url(),
            base.unwrap_or("no code system"),
            systems.join(", ")
        ))),
    }
}

/// The code systems a value set includes directly (imports are not followed).
pub fn included_systems(vs: &ValueSet) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for inc in &vs.compose.include {
        if let Some(s) = inc.system.as_deref() {
            if !out.contains(&s) {
                out.push(s);
            }
        }
    }
    out
}

/// The code systems a request sees with supplements merged in: the supplements it names
/// (`useSupplement`, canonicals in `named`), those its value set names
/// (`valueset-supplement`), the language packs it brings as `tx-resource`s, and the stored
/// language packs of a code system it brings. A named supplement that is unknown, or that
/// supplements none of the systems in play (`value_set`'s includes, else `system`), is an
/// error. Empty when nothing applies.
pub fn applicable(
    scope: &Scope,
    mut named: Vec<String>,
    value_set: Option<&ValueSet>,
    system: Option<&str>,
) -> Result<Vec<CodeSystem>> {
    if let Some(vs) = value_set {
        named.extend(named_by_value_set(vs));
    }
    if named.is_empty() && scope.overlay.is_none() {
        return Ok(Vec::new());
    }
    let systems: Vec<&str> = match (value_set, system) {
        (Some(vs), _) => included_systems(vs),
        (None, Some(s)) => vec![s],
        (None, None) => Vec::new(),
    };
    let mut supplements = Vec::new();
    for c in &named {
        let sup = resolve(scope, c)?;
        check_base(&sup, &systems)?;
        supplements.push(sup);
    }
    for pack in brought_language_packs(scope) {
        if !supplements.iter().any(|s| Arc::ptr_eq(s, &pack)) {
            supplements.push(pack);
        }
    }
    if supplements.is_empty() {
        return Ok(Vec::new());
    }
    Ok(supplemented(scope, &supplements))
}

/// The language packs a request brings as `tx-resource`s, and the stored language packs of
/// the base systems it brings (stored bases have theirs merged already).
fn brought_language_packs(scope: &Scope) -> Vec<Arc<CodeSystem>> {
    let Some(layer) = scope.overlay else {
        return Vec::new();
    };
    let mut packs = Vec::new();
    for cs in layer.code_systems.all() {
        if cs.is_lang_pack() {
            packs.push(cs.clone());
        } else if cs.supplements.is_none() {
            let stored = scope.base.supplements_of(&cs.meta.url);
            packs.extend(stored.iter().filter(|p| p.is_lang_pack()).cloned());
        }
    }
    packs
}

/// The base systems of `supplements` with them merged in, one copy per base version known
/// to the scope (or only the version a supplement names). Supplements of systems the scope
/// does not know change nothing.
pub fn supplemented(scope: &Scope, supplements: &[Arc<CodeSystem>]) -> Vec<CodeSystem> {
    let mut bases: Vec<Arc<CodeSystem>> = Vec::new();
    for sup in supplements {
        let Some(target) = &sup.supplements else {
            continue;
        };
        let (url, version) = split_canonical(target);
        for base in scope.code_system_versions(url) {
            let wanted = version.is_none_or(|v| base.meta.version.as_deref() == Some(v));
            let known = bases
                .iter()
                .any(|b| b.meta.versioned_url() == base.meta.versioned_url());
            if wanted && !known && !base.is_supplement() {
                bases.push(base);
            }
        }
    }
    bases
        .iter()
        .map(|base| {
            let own: Vec<&Arc<CodeSystem>> = supplements
                .iter()
                .filter(|s| supplements_system(s, base))
                .collect();
            merge(base, &own)
        })
        .collect()
}

/// The supplement that contributed designation `value` (in `language`) to `code`, for
/// `$lookup`'s `designation.source`.
pub fn designation_source<'a>(
    scope: &Scope,
    cs: &'a CodeSystem,
    code: &str,
    d: &crate::model::Designation,
) -> Option<&'a str> {
    cs.applied_supplements.iter().map(String::as_str).find(|s| {
        let (url, version) = split_canonical(s);
        scope.code_system(url, version).is_some_and(|sup| {
            sup.concept(code)
                .is_some_and(|c| c.designations.contains(d))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use crate::model::{Concept, ConceptProperty, Designation, PropertyValue, ResourceMeta};

    fn meta(url: &str, version: Option<&str>) -> ResourceMeta {
        ResourceMeta {
            id: "x".into(),
            url: url.into(),
            version: version.map(str::to_string),
            status: "active".into(),
            ..Default::default()
        }
    }

    fn base() -> CodeSystem {
        let c = |code: &str, display: &str| Concept {
            code: code.into(),
            display: Some(display.into()),
            ..Default::default()
        };
        CodeSystem::new(
            meta("http://example.org/sexe", Some("1")),
            vec![c("F", "Female"), c("M", "Male")],
        )
    }

    fn supplement(url: &str, of: &str, lang_pack: bool) -> CodeSystem {
        let mut m = meta(url, Some("1.0"));
        if lang_pack {
            m.extensions.push(serde_json::json!({
                "url": "http://hl7.org/fhir/StructureDefinition/codesystem-supplement-type",
                "valueCode": "lang-pack"
            }));
        }
        let mut cs = CodeSystem::new(
            m,
            vec![
                Concept {
                    code: "F".into(),
                    designations: vec![Designation {
                        language: Some("fr-FR".into()),
                        use_: None,
                        value: "Féminin".into(),
                        extensions: None,
                    }],
                    properties: vec![ConceptProperty {
                        code: "rang".into(),
                        value: PropertyValue::Integer(1),
                    }],
                    ..Default::default()
                },
                Concept {
                    code: "X".into(),
                    ..Default::default()
                },
            ],
        );
        cs.content = "supplement".into();
        cs.supplements = Some(of.into());
        cs
    }

    fn catalog(extra: Vec<CodeSystem>) -> Catalog {
        let mut cat = Catalog::default();
        cat.add_code_system(base());
        for cs in extra {
            cat.add_code_system(cs);
        }
        cat
    }

    #[test]
    fn merge_adds_designations_and_properties_of_known_concepts() {
        let cat = catalog(vec![supplement(
            "http://example.org/sexe-fr",
            "http://example.org/sexe",
            false,
        )]);
        let scope = Scope::new(&cat);
        let sup = resolve(&scope, "http://example.org/sexe-fr").unwrap();
        let merged = supplemented(&scope, &[sup]);
        assert_eq!(merged.len(), 1);
        let f = merged[0].concept("F").unwrap();
        assert_eq!(f.designations[0].value, "Féminin");
        assert_eq!(f.property("rang"), Some(&PropertyValue::Integer(1)));
        assert!(merged[0].concept("X").is_none());
        assert_eq!(
            merged[0].applied_supplements,
            vec!["http://example.org/sexe-fr|1.0".to_string()]
        );
        let d = &f.designations[0];
        assert_eq!(
            designation_source(&scope, &merged[0], "F", d),
            Some("http://example.org/sexe-fr|1.0")
        );
    }

    #[test]
    fn merging_again_changes_nothing() {
        let sup = Arc::new(supplement(
            "http://example.org/sexe-fr",
            "http://example.org/sexe",
            true,
        ));
        let once = merge(&base(), &[&sup]);
        let twice = merge(&once, &[&sup]);
        assert_eq!(once.concepts, twice.concepts);
        assert_eq!(once.concepts[0].properties.len(), 1);
    }

    #[test]
    fn a_supplement_of_another_version_changes_nothing() {
        let cat = catalog(vec![supplement(
            "http://example.org/sexe-fr",
            "http://example.org/sexe|2",
            false,
        )]);
        let scope = Scope::new(&cat);
        let sup = resolve(&scope, "http://example.org/sexe-fr|1.0").unwrap();
        assert!(supplemented(&scope, &[sup]).is_empty());
    }

    #[test]
    fn unknown_or_non_supplement_is_an_error() {
        let cat = catalog(Vec::new());
        let scope = Scope::new(&cat);
        let e = resolve(&scope, "http://example.org/nope").unwrap_err();
        assert_eq!(e.status(), 404);
        assert!(e.to_string().contains("http://example.org/nope"));
        assert_eq!(
            resolve(&scope, "http://example.org/sexe")
                .unwrap_err()
                .status(),
            400
        );
    }

    #[test]
    fn a_supplement_of_another_system_is_refused() {
        let sup = supplement("http://example.org/s", "http://example.org/sexe|1", false);
        assert!(check_base(&sup, &["http://example.org/sexe"]).is_ok());
        assert!(check_base(&sup, &[]).is_ok());
        let e = check_base(&sup, &["http://example.org/autre"]).unwrap_err();
        assert_eq!(e.status(), 400);
        assert!(check_base(&base(), &["http://example.org/sexe"]).is_err());
    }

    #[test]
    fn a_supplement_extension_replaces_the_base_one_of_the_same_url() {
        let label = |v: &str| serde_json::json!({"url": "http://hl7.org/fhir/StructureDefinition/codesystem-label", "valueString": v});
        let mut b = base();
        b.concepts[0].extensions.push(label("base"));
        b.index();
        let mut sup = supplement("http://example.org/s", "http://example.org/sexe", false);
        sup.concepts[0].extensions.push(label("sup"));
        let merged = merge(&b, &[&Arc::new(sup)]);
        assert_eq!(merged.concepts[0].extensions, vec![label("sup")]);
    }

    #[test]
    fn lang_packs_are_recognised() {
        assert!(supplement("u", "b", true).is_lang_pack());
        assert!(!supplement("u", "b", false).is_lang_pack());
        assert!(!base().is_lang_pack());
    }
}
