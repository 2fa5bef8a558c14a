//! What changed from one release to the next: tables added and removed, and per table the
//! concepts added, retired (or removed) and relabelled. Compares what each catalog answers to
//! unpinned requests (its current release), never the versions carried over from before.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::{Canonical, Catalog, Registry};
use crate::model::{CodeSystem, ConceptMap, ValueSet};

/// A table, as named in a change summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableRef {
    /// `CodeSystem`, `ValueSet` or `ConceptMap`.
    pub kind: &'static str,
    pub url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// A code whose label changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Relabel {
    pub code: String,
    pub old: String,
    pub new: String,
}

/// The changes within one table present in both releases. Codes are listed, sorted.
/// For a value set, members are `system|code`; for a concept map, `source -> target`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TableChange {
    pub kind: &'static str,
    pub url: String,
    pub old_version: Option<String>,
    pub new_version: Option<String>,
    /// New codes (or members, mappings).
    pub added: Vec<String>,
    /// Codes still present but inactive now, active before.
    pub retired: Vec<String>,
    /// Codes (members, mappings) gone from the table.
    pub removed: Vec<String>,
    /// Codes inactive before, active now.
    pub reactivated: Vec<String>,
    pub relabelled: Vec<Relabel>,
}

impl TableChange {
    fn is_empty(&self) -> bool {
        self.old_version == self.new_version
            && self.added.is_empty()
            && self.retired.is_empty()
            && self.removed.is_empty()
            && self.reactivated.is_empty()
            && self.relabelled.is_empty()
    }
}

/// Everything that changed between two catalogs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ChangeSummary {
    pub tables_added: Vec<TableRef>,
    pub tables_removed: Vec<TableRef>,
    pub tables_changed: Vec<TableChange>,
    /// Tables present in both releases with nothing changed.
    pub tables_unchanged: usize,
}

impl ChangeSummary {
    pub fn is_empty(&self) -> bool {
        self.tables_added.is_empty()
            && self.tables_removed.is_empty()
            && self.tables_changed.is_empty()
    }
}

/// One entry of a table, keyed by code: its label and whether it is active.
#[derive(PartialEq, Eq)]
struct Item {
    label: String,
    active: bool,
}

type Items = BTreeMap<String, Item>;

fn cs_items(cs: &CodeSystem) -> Items {
    cs.concepts
        .iter()
        .map(|c| {
            let item = Item {
                label: c.display.clone().unwrap_or_default(),
                active: !c.is_inactive(),
            };
            (c.code.clone(), item)
        })
        .collect()
}

fn vs_items(vs: &ValueSet) -> Items {
    let mut out = Items::new();
    for inc in &vs.compose.include {
        let system = inc.system.as_deref().unwrap_or("");
        for c in &inc.concepts {
            let item = Item {
                label: c.display.clone().unwrap_or_default(),
                active: true,
            };
            out.insert(format!("{system}|{}", c.code), item);
        }
    }
    out
}

fn cm_items(cm: &ConceptMap) -> Items {
    let mut out = Items::new();
    for g in &cm.groups {
        for e in &g.elements {
            for t in &e.targets {
                let key = format!(
                    "{}|{} -> {}|{}",
                    g.source.as_deref().unwrap_or(""),
                    e.code,
                    g.target.as_deref().unwrap_or(""),
                    t.code.as_deref().unwrap_or("")
                );
                let item = Item {
                    label: t.equivalence.clone(),
                    active: true,
                };
                out.insert(key, item);
            }
        }
    }
    out
}

fn compare_items(change: &mut TableChange, old: &Items, new: &Items) {
    for (code, n) in new {
        match old.get(code) {
            None => change.added.push(code.clone()),
            Some(o) => {
                if o.active && !n.active {
                    change.retired.push(code.clone());
                } else if !o.active && n.active {
                    change.reactivated.push(code.clone());
                }
                if o.label != n.label {
                    change.relabelled.push(Relabel {
                        code: code.clone(),
                        old: o.label.clone(),
                        new: n.label.clone(),
                    });
                }
            }
        }
    }
    change.removed = old
        .keys()
        .filter(|c| !new.contains_key(*c))
        .cloned()
        .collect();
}

/// Compares the current tables of one kind.
fn compare_kind<T: Canonical>(
    kind: &'static str,
    old: &Registry<T>,
    new: &Registry<T>,
    items: fn(&T) -> Items,
    out: &mut ChangeSummary,
) {
    let old_urls: BTreeSet<&str> = old.current().map(|r| r.meta().url.as_str()).collect();
    let new_urls: BTreeSet<&str> = new.current().map(|r| r.meta().url.as_str()).collect();
    let table = |r: &T| TableRef {
        kind,
        url: r.meta().url.clone(),
        version: r.meta().version.clone(),
    };
    for url in new_urls.difference(&old_urls) {
        if let Some(r) = new.get(url, None) {
            out.tables_added.push(table(r));
        }
    }
    for url in old_urls.difference(&new_urls) {
        if let Some(r) = old.get(url, None) {
            out.tables_removed.push(table(r));
        }
    }
    for url in old_urls.intersection(&new_urls) {
        let (Some(o), Some(n)) = (old.get(url, None), new.get(url, None)) else {
            continue;
        };
        let mut change = TableChange {
            kind,
            url: url.to_string(),
            old_version: o.meta().version.clone(),
            new_version: n.meta().version.clone(),
            ..Default::default()
        };
        // Same allocation: the very same resource (carried over), nothing to compare.
        if !std::sync::Arc::ptr_eq(o, n) {
            compare_items(&mut change, &items(o), &items(n));
        }
        if change.is_empty() {
            out.tables_unchanged += 1;
        } else {
            out.tables_changed.push(change);
        }
    }
}

/// What changed in one table between two of its versions (any two, not only the current).
fn version_change<T: Canonical>(
    kind: &'static str,
    old: &T,
    new: &T,
    items: fn(&T) -> Items,
) -> TableChange {
    let mut change = TableChange {
        kind,
        url: new.meta().url.clone(),
        old_version: old.meta().version.clone(),
        new_version: new.meta().version.clone(),
        ..Default::default()
    };
    compare_items(&mut change, &items(old), &items(new));
    change
}

/// What changed in a code system from version `old` to version `new`.
pub fn code_system_change(old: &CodeSystem, new: &CodeSystem) -> TableChange {
    version_change("CodeSystem", old, new, cs_items)
}

/// What changed in a value set's enumerated members from version `old` to version `new`.
pub fn value_set_change(old: &ValueSet, new: &ValueSet) -> TableChange {
    version_change("ValueSet", old, new, vs_items)
}

/// What changed in a concept map's mappings from version `old` to version `new`.
pub fn concept_map_change(old: &ConceptMap, new: &ConceptMap) -> TableChange {
    version_change("ConceptMap", old, new, cm_items)
}

/// The changes from `old` to `new`.
pub fn diff(old: &Catalog, new: &Catalog) -> ChangeSummary {
    let mut out = ChangeSummary::default();
    compare_kind(
        "CodeSystem",
        &old.code_systems,
        &new.code_systems,
        cs_items,
        &mut out,
    );
    compare_kind(
        "ValueSet",
        &old.value_sets,
        &new.value_sets,
        vs_items,
        &mut out,
    );
    compare_kind(
        "ConceptMap",
        &old.concept_maps,
        &new.concept_maps,
        cm_items,
        &mut out,
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Concept, ConceptProperty, PropertyValue, ResourceMeta};

    fn cs(url: &str, version: &str, concepts: &[(&str, &str, bool)]) -> CodeSystem {
        let meta = ResourceMeta {
            url: url.into(),
            version: Some(version.into()),
            status: "active".into(),
            ..Default::default()
        };
        let concepts = concepts
            .iter()
            .map(|(code, display, retired)| Concept {
                code: (*code).into(),
                display: Some((*display).into()),
                properties: if *retired {
                    vec![ConceptProperty {
                        code: "dateFin".into(),
                        value: PropertyValue::DateTime("2025-01-01".into()),
                    }]
                } else {
                    Vec::new()
                },
                ..Default::default()
            })
            .collect();
        CodeSystem::new(meta, concepts)
    }

    #[test]
    fn tables_and_concepts() {
        let mut old = Catalog::default();
        old.add_code_system(cs(
            "http://t/a",
            "1",
            &[
                ("1", "Un", false),
                ("2", "Deux", false),
                ("3", "Trois", false),
            ],
        ));
        old.add_code_system(cs("http://t/gone", "1", &[("x", "X", false)]));
        let mut new = Catalog::default();
        new.add_code_system(cs(
            "http://t/a",
            "2",
            &[
                ("1", "Un", false),
                ("2", "Deux bis", true),
                ("4", "Quatre", false),
            ],
        ));
        new.add_code_system(cs("http://t/new", "1", &[("y", "Y", false)]));
        let d = diff(&old, &new);
        assert_eq!(d.tables_added.len(), 1);
        assert_eq!(d.tables_added[0].url, "http://t/new");
        assert_eq!(d.tables_removed[0].url, "http://t/gone");
        let c = &d.tables_changed[0];
        assert_eq!(c.added, vec!["4"]);
        assert_eq!(c.retired, vec!["2"]);
        assert_eq!(c.removed, vec!["3"]);
        assert_eq!(c.relabelled[0].new, "Deux bis");
        assert_eq!(c.new_version.as_deref(), Some("2"));
        assert!(diff(&new, &new).is_empty());
    }
}
