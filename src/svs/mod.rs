//! IHE SVS (Sharing Value Sets) wire format: ITI-48 `RetrieveValueSetResponse` and ITI-60
//! `RetrieveMultipleValueSetsResponse` (namespace `urn:ihe:iti:svs:2008`), for every value set
//! the catalog holds that has an OID (FHIR-born or SVS-born).
//!
//! `retrieve` and `search` select and expand (through `ops::members::enumerate`, as `$expand`
//! does); `render_*` write the XML. Nothing here knows about HTTP.

use std::fmt::Write;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::load::svs::{SVS_DISPLAY_USE, SVS_NS};
use crate::model::{oid_of, ValueSet};
use crate::ops::display::language_matches;
use crate::ops::members::{enumerate, Member};
use crate::ops::Scope;

/// One concept of an expanded value set, as SVS shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SvsConcept {
    pub code: String,
    /// OID of the code system (the canonical URL when no OID is known for it).
    pub code_system: String,
    pub code_system_version: Option<String>,
    pub display_name: String,
}

/// An expanded value set with the metadata ITI-48/ITI-60 show.
#[derive(Debug, Clone)]
pub struct SvsValueSet {
    pub id: String,
    pub display_name: String,
    pub version: Option<String>,
    pub lang: Option<String>,
    pub concepts: Vec<SvsConcept>,
    pub source: Option<String>,
    pub source_uri: String,
    pub purpose: Option<String>,
    pub status: String,
    pub revision_date: Option<String>,
}

/// ITI-60 selection criteria (those this repository can match; others are refused).
#[derive(Debug, Clone, Default)]
pub struct Criteria {
    pub id: Option<String>,
    pub display_name_contains: Option<String>,
    pub source_contains: Option<String>,
    pub purpose_contains: Option<String>,
    pub definition_contains: Option<String>,
    /// This repository defines no groups: any group criterion matches nothing.
    pub group: bool,
    pub revision_date_after: Option<String>,
    pub revision_date_before: Option<String>,
}

/// The SVS error code of a retrieval error: `NAV` (unknown value set), `VERUNK` (unknown
/// version), or `INV` for a malformed request.
pub fn error_code(e: &Error) -> &'static str {
    match e {
        Error::NotFound(m) if m.starts_with("Unknown version") => "VERUNK",
        Error::NotFound(_) => "NAV",
        _ => "INV",
    }
}

/// Whether SVS serves `vs`: the value sets of the data folder (the NOS, the CI-SIS JDVs), not
/// those of the built-in FHIR R4 core layer. Those are named by URL, and many cannot be given
/// in SVS at all: their code systems have no OID (`Concept/@codeSystem` must be one) or no
/// content here (SNOMED CT, LOINC); FHIR's `$expand` serves them.
fn served_by_svs(vs: &ValueSet) -> bool {
    vs.meta.origin.file != crate::load::fhir_core::FILE
}

fn oid_of_value_set(vs: &ValueSet) -> Option<&str> {
    vs.meta
        .oids
        .iter()
        .map(String::as_str)
        .find(|o| crate::model::canonical::is_bare_oid(o))
        .or_else(|| oid_of(&vs.meta.url))
}

/// ITI-48: the value set with OID `id` (newest version unless `version` is given), its
/// displays in `lang` when it has them.
pub fn retrieve(
    scope: &Scope,
    id: &str,
    version: Option<&str>,
    lang: Option<&str>,
) -> Result<SvsValueSet> {
    let id = id.trim();
    let id = id.strip_prefix("urn:oid:").unwrap_or(id);
    if !crate::model::canonical::is_bare_oid(id) {
        return Err(Error::Invalid(format!(
            "The value set id must be an OID, not '{id}'"
        )));
    }
    let urn = format!("urn:oid:{id}");
    let Some(newest) = scope.value_set(&urn, None).filter(|vs| served_by_svs(vs)) else {
        return Err(Error::NotFound(format!("Unknown value set '{id}'")));
    };
    let vs = match version {
        None => newest,
        Some(v) => scope.value_set(&urn, Some(v)).ok_or_else(|| {
            let known: Vec<String> = scope
                .base
                .value_sets
                .versions(&newest.meta.url)
                .iter()
                .filter_map(|v| v.meta.version.clone())
                .collect();
            Error::NotFound(format!(
                "Unknown version '{v}' of value set '{id}' (known: {})",
                known.join(", ")
            ))
        })?,
    };
    expand(scope, &vs, id, lang)
}

/// ITI-60: the newest version of every value set with an OID that matches `c`.
pub fn search(scope: &Scope, c: &Criteria, lang: Option<&str>) -> Result<Vec<SvsValueSet>> {
    if c.group {
        return Ok(Vec::new());
    }
    let contains = |hay: Option<&str>, needle: &Option<String>| match needle {
        None => true,
        Some(n) => hay.is_some_and(|h| h.to_lowercase().contains(&n.to_lowercase())),
    };
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for vs in scope.base.value_sets.all() {
        let Some(oid) = oid_of_value_set(vs).filter(|_| served_by_svs(vs)) else {
            continue;
        };
        if c.id
            .as_deref()
            .is_some_and(|i| i.strip_prefix("urn:oid:").unwrap_or(i) != oid)
        {
            continue;
        }
        // The newest version of each value set, once.
        let Some(newest) = scope.value_set(&vs.meta.url, None) else {
            continue;
        };
        if !Arc::ptr_eq(&newest, vs) || !seen.insert(vs.meta.url.clone()) {
            continue;
        }
        let name = display_name(vs);
        let date = vs.meta.date.as_deref().map(revision_day);
        if !contains(Some(&name), &c.display_name_contains)
            || !contains(vs.meta.publisher.as_deref(), &c.source_contains)
            || !contains(vs.meta.description.as_deref(), &c.purpose_contains)
            || !contains(vs.meta.description.as_deref(), &c.definition_contains)
            || c.revision_date_after
                .as_deref()
                .is_some_and(|a| date.is_none_or(|d| d < a))
            || c.revision_date_before
                .as_deref()
                .is_some_and(|b| date.is_none_or(|d| d > b))
        {
            continue;
        }
        out.push(expand(scope, vs, oid, lang)?);
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

/// The day of a FHIR `date` (`2016-05-19T00:00:00+01:00` → `2016-05-19`), as SVS compares
/// and shows it. Loaders accept only FHIR dates, all ASCII; anything else is kept whole
/// rather than cut inside a character.
fn revision_day(date: &str) -> &str {
    date.get(..10).unwrap_or(date)
}

fn display_name(vs: &ValueSet) -> String {
    vs.meta
        .name
        .clone()
        .or_else(|| vs.meta.title.clone())
        .unwrap_or_else(|| vs.meta.id.clone())
}

/// The members to show: a value set that only enumerates codes (every JDV) is shown as it
/// lists them, even codes its code system, loaded in another version, lacks (SVS publishes
/// the list itself); any other value set is expanded as `$expand` does.
fn members(scope: &Scope, vs: &ValueSet) -> Result<Vec<Member>> {
    let c = &vs.compose;
    let enumerated = !c.include.is_empty()
        && c.exclude.is_empty()
        && c.include.iter().all(|i| {
            i.system.is_some()
                && !i.concepts.is_empty()
                && i.filters.is_empty()
                && i.value_sets.is_empty()
        });
    if !enumerated {
        return enumerate(scope, vs, 0);
    }
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for inc in &c.include {
        let system = inc.system.clone().unwrap_or_default();
        let url = scope
            .canonical_url(&system)
            .unwrap_or_else(|| system.clone());
        let cs = scope.code_system(&url, inc.version.as_deref());
        for r in &inc.concepts {
            if !seen.insert((url.clone(), r.code.clone())) {
                continue;
            }
            let display = r.display.clone().or_else(|| {
                cs.as_ref()
                    .and_then(|cs| cs.concept(&r.code))
                    .and_then(|c| c.display.clone())
            });
            out.push(Member {
                system: url.clone(),
                version: inc.version.clone(),
                code: r.code.clone(),
                display,
                designations: r.designations.clone(),
                inactive: false,
                is_abstract: false,
                source: None,
                sct: None,
                extensions: Vec::new(),
                selection: Default::default(),
            });
        }
    }
    Ok(out)
}

fn expand(scope: &Scope, vs: &ValueSet, id: &str, lang: Option<&str>) -> Result<SvsValueSet> {
    let members = members(scope, vs)?;
    let mut concepts = Vec::with_capacity(members.len());
    let mut lang_used = None;
    for m in members.into_iter().filter(|m| is_cd_code(&m.code)) {
        let code_system = scope
            .base
            .oid_for_url(&m.system)
            .or_else(|| scope.overlay.and_then(|o| o.oid_for_url(&m.system)))
            .map(str::to_string)
            .unwrap_or_else(|| m.system.clone());
        let localised = lang.and_then(|l| {
            m.designations.iter().find(|d| {
                d.language
                    .as_deref()
                    .is_some_and(|dl| language_matches(l, dl))
            })
        });
        if localised.is_some() {
            lang_used = lang.map(str::to_string);
        }
        let display = localised
            .map(|d| d.value.clone())
            .or(m.display.clone())
            .unwrap_or_default();
        concepts.push(SvsConcept {
            code: m.code.clone(),
            code_system: code_system.clone(),
            code_system_version: None,
            display_name: display,
        });
        // Other displayNames the SVS source gave for the same member.
        for d in m.designations.iter().filter(|d| {
            d.use_.as_ref().is_some_and(|u| {
                u.system.as_deref() == Some(SVS_DISPLAY_USE.0)
                    && u.code.as_deref() == Some(SVS_DISPLAY_USE.1)
            })
        }) {
            concepts.push(SvsConcept {
                code: m.code.clone(),
                code_system: code_system.clone(),
                code_system_version: None,
                display_name: d.value.clone(),
            });
        }
    }
    Ok(SvsValueSet {
        id: id.to_string(),
        display_name: display_name(vs),
        version: vs.meta.version.clone(),
        lang: lang_used.or_else(|| vs.meta.language.clone()),
        concepts,
        source: vs.meta.publisher.clone(),
        source_uri: vs.meta.url.clone(),
        purpose: vs.meta.description.clone(),
        status: if vs.meta.status == "retired" {
            "Inactive"
        } else {
            "Active"
        }
        .to_string(),
        revision_date: vs.meta.date.as_deref().map(|d| revision_day(d).to_string()),
    })
}

/// Whether `code` can be an SVS `Concept/@code`: the HL7 V3 type `cs`, an `xs:token` (leading
/// and trailing XML whitespace collapsed away) with the pattern `[^\s]+`. A member whose code
/// has whitespace inside (the placeholder "code à fournir" in JDV_TrousseCCU_CISIS, a legal
/// FHIR code) would make the whole answer schema-invalid and can never match a CDA code, so
/// SVS answers leave it out; FHIR operations still show it.
fn is_cd_code(code: &str) -> bool {
    const XML_WS: [char; 4] = [' ', '\t', '\n', '\r'];
    let token = code.trim_matches(XML_WS);
    !token.is_empty() && !token.contains(XML_WS)
}

/// XML-escapes attribute and text content.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c => out.push(c),
        }
    }
    out
}

fn concept_list(out: &mut String, vs: &SvsValueSet, indent: &str) {
    match &vs.lang {
        Some(l) => {
            let _ = writeln!(out, "{indent}<ConceptList xml:lang=\"{}\">", esc(l));
        }
        None => {
            let _ = writeln!(out, "{indent}<ConceptList>");
        }
    }
    for c in &vs.concepts {
        let _ = write!(
            out,
            "{indent}  <Concept code=\"{}\" codeSystem=\"{}\"",
            esc(&c.code),
            esc(&c.code_system)
        );
        if let Some(v) = &c.code_system_version {
            let _ = write!(out, " codeSystemVersion=\"{}\"", esc(v));
        }
        let _ = writeln!(out, " displayName=\"{}\"/>", esc(&c.display_name));
    }
    let _ = writeln!(out, "{indent}</ConceptList>");
}

fn value_set_attrs(vs: &SvsValueSet, id_attr: &str) -> String {
    let mut s = format!(
        "{id_attr}=\"{}\" displayName=\"{}\"",
        esc(&vs.id),
        esc(&vs.display_name)
    );
    if let Some(v) = &vs.version {
        let _ = write!(s, " version=\"{}\"", esc(v));
    }
    s
}

/// ITI-48 response.
pub fn render_retrieve(vs: &SvsValueSet) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(out, "<RetrieveValueSetResponse xmlns=\"{SVS_NS}\">");
    let _ = writeln!(out, "  <ValueSet {}>", value_set_attrs(vs, "id"));
    concept_list(&mut out, vs, "    ");
    out.push_str("  </ValueSet>\n</RetrieveValueSetResponse>\n");
    out
}

/// ITI-60 response.
pub fn render_multiple(sets: &[SvsValueSet]) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<RetrieveMultipleValueSetsResponse xmlns=\"{SVS_NS}\">"
    );
    for vs in sets {
        let _ = writeln!(out, "  <DescribedValueSet {}>", value_set_attrs(vs, "ID"));
        concept_list(&mut out, vs, "    ");
        let mut el = |name: &str, value: Option<&str>| {
            if let Some(v) = value {
                let _ = writeln!(out, "    <{name}>{}</{name}>", esc(v));
            }
        };
        el("Source", vs.source.as_deref());
        el("SourceURI", Some(&vs.source_uri));
        el("Purpose", vs.purpose.as_deref());
        el("Type", Some("Expanded"));
        el("Status", Some(&vs.status));
        el("RevisionDate", vs.revision_date.as_deref());
        out.push_str("  </DescribedValueSet>\n");
    }
    out.push_str("</RetrieveMultipleValueSetsResponse>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn svs_codes_are_cs_tokens() {
        assert!(is_cd_code("G15_10/SM26"));
        assert!(is_cd_code("urn:oid:1.2.3"));
        assert!(!is_cd_code("code à fournir"));
        assert!(!is_cd_code(""));
        assert!(!is_cd_code("a\tb"));
        assert!(!is_cd_code(" \t"));
        // Collapsed by xs:token, as in JDV_CompletudeDispensation ("FFC ") and
        // JDV_ScoreRankin ("\tLA6114-8"): valid.
        assert!(is_cd_code("FFC "));
        assert!(is_cd_code("\tLA6114-8"));
    }

    #[test]
    fn revision_day_never_cuts_a_character() {
        assert_eq!(revision_day("2016-05-19T00:00:00+01:00"), "2016-05-19");
        assert_eq!(revision_day("2016-05"), "2016-05");
        assert_eq!(revision_day("2016-05-1é"), "2016-05-1é");
    }

    #[test]
    fn escapes_and_renders() {
        let vs = SvsValueSet {
            id: "1.2.3".into(),
            display_name: "A & B".into(),
            version: Some("1".into()),
            lang: Some("fr-FR".into()),
            concepts: vec![SvsConcept {
                code: "x".into(),
                code_system: "1.2".into(),
                code_system_version: None,
                display_name: "d'\"<".into(),
            }],
            source: None,
            source_uri: "urn:oid:1.2.3".into(),
            purpose: None,
            status: "Active".into(),
            revision_date: None,
        };
        let x = render_retrieve(&vs);
        assert!(x.contains("<ValueSet id=\"1.2.3\" displayName=\"A &amp; B\" version=\"1\">"));
        assert!(x.contains("<ConceptList xml:lang=\"fr-FR\">"));
        assert!(x.contains(
            "<Concept code=\"x\" codeSystem=\"1.2\" displayName=\"d&apos;&quot;&lt;\"/>"
        ));
        let m = render_multiple(&[vs]);
        assert!(m.contains("<DescribedValueSet ID=\"1.2.3\""));
        assert!(m.contains("<Type>Expanded</Type>"));
    }
}
