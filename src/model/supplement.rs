//! Merging a CodeSystem supplement into its base: pure model work, used by the catalog
//! (language packs apply on load) and by operations (supplements a request names).

use std::sync::Arc;

use crate::model::{split_canonical, CodeSystem};

/// Whether `sup` supplements this version of `base`.
pub fn supplements_system(sup: &CodeSystem, base: &CodeSystem) -> bool {
    let Some(target) = &sup.supplements else {
        return false;
    };
    let (url, version) = split_canonical(target);
    url == base.meta.url && version.is_none_or(|v| base.meta.version.as_deref() == Some(v))
}

/// A copy of `base` with the designations, properties and extensions of `supplements` added
/// to its concepts (concepts a supplement names but the base lacks are ignored).
pub fn merge(base: &CodeSystem, supplements: &[&Arc<CodeSystem>]) -> CodeSystem {
    let mut out = base.clone();
    for sup in supplements {
        for def in &sup.property_defs {
            if !out.property_defs.iter().any(|d| d.code == def.code) {
                out.property_defs.push(def.clone());
            }
        }
        for sc in &sup.concepts {
            let Some(i) = out.index_of(&sc.code) else {
                continue;
            };
            let c = &mut out.concepts[i];
            for d in &sc.designations {
                if !c.designations.contains(d) {
                    c.designations.push(d.clone());
                }
            }
            // Idempotent: a catalog snapshot keeps language packs merged, and merges them
            // again when read back.
            for p in &sc.properties {
                if !c.properties.contains(p) {
                    c.properties.push(p.clone());
                }
            }
            // A supplement's extension replaces the base's of the same kind (a label, a
            // rendering style).
            for e in &sc.extensions {
                if let Some(url) = e.get("url") {
                    c.extensions.retain(|b| b.get("url") != Some(url));
                }
                if !c.extensions.contains(e) {
                    c.extensions.push(e.clone());
                }
            }
        }
        let canonical = sup.meta.versioned_url();
        if !out.applied_supplements.contains(&canonical) {
            out.applied_supplements.push(canonical);
        }
    }
    out.index();
    out
}
