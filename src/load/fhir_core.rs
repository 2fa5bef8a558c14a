//! FHIR R4 (4.0.1) core terminology, built into the binary: every CodeSystem and ValueSet of
//! the R4 definitions (FHIR's own systems, the v2 tables and v3 code systems the spec
//! publishes). It is a base layer: the data folder sits on top and wins wherever both name
//! the same thing (`layer_under`). The bundle is made by `scripts/import-fhir-core` from a
//! pinned npm package; `vendor/fhir-r4-core/README.md` says which and under what licences.

use std::collections::HashSet;

use super::{fhir_json, Collected, Dataset, LoadError};

/// The bundle, as `scripts/import-fhir-core` wrote it (one entry a line).
pub const BUNDLE: &[u8] = include_bytes!("../../vendor/fhir-r4-core/fhir-r4-core.json");

/// The name its resources' origins and load messages carry: not a path a data folder's file
/// can have (origins there are relative paths), so that the layer is told apart by it.
pub const FILE: &str = "<built-in>/fhir-r4-core.json";

/// The core layer on its own, checked as a data folder is (duplicates, definitions).
///
/// Its `content = not-present` code systems (SNOMED CT's, among others) are left out: they
/// define no concept, and would make the server claim a system it cannot check, where an
/// unknown one lets an enumerated value set decide membership on its own word.
pub fn dataset() -> Result<Dataset, Vec<LoadError>> {
    let resources = fhir_json::parse_file(BUNDLE, FILE)?;
    let acc = Collected {
        resources,
        ..Collected::default()
    };
    let mut data = acc.finish()?;
    data.code_systems.retain(|cs| cs.content != "not-present");
    Ok(data)
}

/// `top` over `base`: `base`'s resources are added under `top`'s, except where `top` already
/// says the same thing. A canonical URL that `top` defines (any version) keeps only `top`'s
/// versions; an OID that `top` gives to a resource or alias stays `top`'s, the `base` resource
/// keeping its URL but losing that identifier. So the NOS table of an HL7 OID (TRE_A08 for
/// `2.16.840.1.113883.5.25`) answers for the OID, and the HL7 system still answers for its URL.
pub fn layer_under(mut top: Dataset, base: Dataset) -> Dataset {
    let metas: Vec<&crate::model::ResourceMeta> = top
        .code_systems
        .iter()
        .map(|r| &r.meta)
        .chain(top.value_sets.iter().map(|r| &r.meta))
        .chain(top.concept_maps.iter().map(|r| &r.meta))
        .collect();
    let urls: HashSet<String> = metas.iter().map(|m| m.url.clone()).collect();
    let oids: HashSet<String> = metas
        .iter()
        .flat_map(|m| m.oids.iter().cloned())
        .chain(top.aliases.iter().map(|(oid, _)| oid.clone()))
        .collect();
    let kept = |meta: &mut crate::model::ResourceMeta| {
        meta.oids.retain(|o| !oids.contains(o));
        !urls.contains(&meta.url)
    };
    let mut code_systems = base.code_systems;
    code_systems.retain_mut(|r| kept(&mut r.meta));
    let mut value_sets = base.value_sets;
    value_sets.retain_mut(|r| kept(&mut r.meta));
    let mut concept_maps = base.concept_maps;
    concept_maps.retain_mut(|r| kept(&mut r.meta));
    // The top's resources first: where two share a logical id, the catalog's `read` keeps
    // the first one.
    top.code_systems.extend(code_systems);
    top.value_sets.extend(value_sets);
    top.concept_maps.extend(concept_maps);
    top.aliases.extend(
        base.aliases
            .into_iter()
            .filter(|(oid, url)| !oids.contains(oid) && !urls.contains(url)),
    );
    top.warnings.extend(base.warnings);
    top
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::fhir_json::parse_resource;
    use crate::load::Resource;
    use serde_json::json;

    /// The built-in bundle loads without error, and holds what R4 publishes: FHIR's own
    /// systems, the v3 and v2 tables, value sets that import others or filter a system.
    #[test]
    fn the_core_layer_loads_whole() {
        let core = dataset().expect("the built-in FHIR R4 core loads");
        assert!(
            core.code_systems.len() > 1000,
            "{}",
            core.code_systems.len()
        );
        assert!(core.value_sets.len() > 1300, "{}", core.value_sets.len());
        let has_cs = |url: &str| core.code_systems.iter().any(|c| c.meta.url == url);
        let has_vs = |url: &str| core.value_sets.iter().any(|v| v.meta.url == url);
        // A stub that defines no concept is not served as if the system were known.
        assert!(!has_cs("http://snomed.info/sct"));
        assert!(has_cs("http://hl7.org/fhir/observation-status"));
        assert!(has_cs("http://terminology.hl7.org/CodeSystem/v3-ActCode"));
        assert!(has_cs("http://terminology.hl7.org/CodeSystem/v2-0203"));
        assert!(has_cs(
            "http://terminology.hl7.org/CodeSystem/condition-clinical"
        ));
        assert!(has_vs("http://hl7.org/fhir/ValueSet/observation-status"));
        assert!(core.value_sets.iter().any(|v| v
            .compose
            .include
            .iter()
            .any(|c| !c.value_sets.is_empty())));
        assert!(core.value_sets.iter().any(|v| v
            .compose
            .include
            .iter()
            .any(|c| !c.filters.is_empty())));
    }

    fn code_system(url: &str, oid: &str, display: &str) -> crate::model::CodeSystem {
        let r = json!({"resourceType": "CodeSystem", "url": url, "status": "active",
            "content": "complete",
            "identifier": [{"system": "urn:ietf:rfc:3986", "value": format!("urn:oid:{oid}")}],
            "concept": [{"code": "a", "display": display}]});
        match parse_resource(&r) {
            Ok(Resource::CodeSystem(cs)) => cs,
            other => panic!("{other:?}"),
        }
    }

    /// On a clash the top layer wins: its URL keeps only its own resource, its OID stays its
    /// own (the base resource keeps its URL without the OID), and the rest of the base comes
    /// in whole.
    #[test]
    fn the_top_layer_wins_urls_and_oids() {
        let top = Dataset {
            code_systems: vec![
                code_system("http://nos/a08", "2.16.840.1.113883.5.25", "NOS"),
                code_system("http://same", "1.2.3", "NOS same"),
            ],
            aliases: vec![("9.9.9".into(), "http://nos/a08".into())],
            ..Dataset::default()
        };
        let base = Dataset {
            code_systems: vec![
                code_system("http://hl7/conf", "2.16.840.1.113883.5.25", "HL7"),
                code_system("http://same", "7.7.7", "HL7 same"),
                code_system("http://hl7/other", "9.9.9", "HL7 other"),
                code_system("http://hl7/free", "4.4.4", "HL7 free"),
            ],
            aliases: vec![
                ("2.16.840.1.113883.5.25".into(), "http://hl7/conf".into()),
                ("5.5.5".into(), "http://hl7/free".into()),
            ],
            ..Dataset::default()
        };
        let merged = layer_under(top, base);
        let find = |url: &str| {
            merged
                .code_systems
                .iter()
                .filter(|c| c.meta.url == url)
                .collect::<Vec<_>>()
        };
        assert_eq!(find("http://same").len(), 1);
        assert_eq!(
            find("http://same")[0].concepts[0].display.as_deref(),
            Some("NOS same")
        );
        assert!(find("http://hl7/conf")[0].meta.oids.is_empty());
        assert!(find("http://hl7/other")[0].meta.oids.is_empty());
        assert_eq!(find("http://hl7/free")[0].meta.oids, vec!["4.4.4"]);
        assert_eq!(
            find("http://nos/a08")[0].meta.oids,
            vec!["2.16.840.1.113883.5.25"]
        );
        assert_eq!(
            merged.aliases,
            vec![
                ("9.9.9".to_string(), "http://nos/a08".to_string()),
                ("5.5.5".to_string(), "http://hl7/free".to_string())
            ]
        );
    }
}
