//! IHE SVS XML (Sharing Value Sets, namespace `urn:ihe:iti:svs:2008`): the CI-SIS value sets
//! as the ANS publishes them for CDA validation.
//!
//! ```xml
//! <RetrieveValueSetResponse xmlns="urn:ihe:iti:svs:2008">
//!   <ValueSet id="1.2.250.1.213.1.1.5.471" displayName="JDV_J07_XdsTypeCode_CISIS.tabs"
//!             revisionDate="2024-09-27T12:00:00+01:00" dateMaj="20240927120000"
//!             urlFichier="https://mos.esante.gouv.fr/NOS/JDV_J07-XdsTypeCode-CISIS" …>
//!     <ConceptList>
//!       <Concept code="ATTEST-RESID" codeSystem="1.2.250.1.213.1.1.4.12" displayName="…"/>
//! ```
//! Both ITI-48 `RetrieveValueSetResponse` (one `ValueSet`) and ITI-60
//! `RetrieveMultipleValueSetsResponse` (`DescribedValueSet`s) are read. Each value set becomes
//! a FHIR ValueSet: id and identifier = its OID; canonical URL from `urlFichier` (the NOS
//! rule: `urlFichier/FHIR/` + last segment with its first `_` turned into `-`), else
//! `urn:oid:<id>`; version = `dateMaj`, else `revisionDate` as `yyyyMMddHHmmss`, else
//! `version`; members grouped by `codeSystem` as `compose.include`, system `urn:oid:<OID>`
//! (`load_dir` turns it into the canonical URL when the OID is known).
//!
//! Errors (the file is refused): not UTF-8, not well-formed, a value set without a valid `id`,
//! a member with an empty `code` or `codeSystem`, an empty file. Warnings (the file loads):
//! the same `(code, codeSystem)` listed twice (the first is kept; a different second
//! `displayName` is kept as an extra display, see [`SVS_DISPLAY_USE`]), a value set with no
//! member, an XML file that is not an SVS document (ignored).

use std::collections::HashMap;

use quick_xml::events::{BytesStart, Event};
use quick_xml::name::{Namespace, ResolveResult};
use quick_xml::NsReader;

use super::LoadError;
use crate::model::canonical::is_bare_oid;
use crate::model::{
    Coding, ConceptReference, ConceptSetComponent, Designation, Origin, ResourceMeta, ValueSet,
};

pub const SVS_NS: &str = "urn:ihe:iti:svs:2008";

/// The `use` of a designation holding another `displayName` an SVS file gives for a member
/// it lists twice; the SVS rendering lists it again, so a retrieval gives back the file.
pub const SVS_DISPLAY_USE: (&str, &str) = (SVS_NS, "displayName");

/// What one SVS file gives.
#[derive(Debug, Default)]
pub struct SvsFile {
    pub value_sets: Vec<ValueSet>,
    pub warnings: Vec<LoadError>,
}

/// Byte offset → 1-based (line, column in characters).
struct Lines<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Lines { text, starts }
    }

    fn at(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.starts.partition_point(|&s| s <= offset).max(1);
        let start = self.starts[line - 1];
        let column = self
            .text
            .get(start..offset)
            .map(|s| s.chars().count())
            .unwrap_or(0)
            + 1;
        (line, column)
    }
}

/// One value set being read.
struct Building {
    meta: ResourceMeta,
    /// `(codeSystem, codeSystemVersion)` → index in `includes`.
    groups: HashMap<(String, Option<String>), usize>,
    includes: Vec<ConceptSetComponent>,
    /// `(code, codeSystem)` → (line of the first listing, include index, concept index).
    seen: HashMap<(String, String), (usize, usize, usize)>,
    /// Number of `ConceptList`s read so far (the first gives displays, the next ones
    /// designations in their `xml:lang`).
    lists: usize,
    list_lang: Option<String>,
    members: usize,
    /// Text element being read inside an ITI-60 `DescribedValueSet` (`Purpose`, `Status`, …).
    text_element: Option<String>,
}

struct Parser<'a> {
    file: &'a str,
    lines: Lines<'a>,
    errors: Vec<LoadError>,
    out: SvsFile,
}

impl Parser<'_> {
    fn err(&mut self, offset: usize, message: impl Into<String>) {
        let (l, c) = self.lines.at(offset);
        self.errors
            .push(LoadError::new(self.file, Some(l), Some(c), message));
    }

    fn warn(&mut self, offset: usize, message: impl Into<String>) {
        let (l, c) = self.lines.at(offset);
        self.out
            .warnings
            .push(LoadError::new(self.file, Some(l), Some(c), message));
    }

    /// Offset of attribute `name` inside the element starting at `start` (for columns).
    fn attr_offset(&self, start: usize, end: usize, name: &str) -> usize {
        let raw = self.lines.text.get(start..end).unwrap_or("");
        let mut from = 0;
        while let Some(i) = raw[from..].find(name) {
            let at = from + i;
            let before_ok = raw[..at]
                .chars()
                .next_back()
                .is_some_and(char::is_whitespace);
            let after = raw[at + name.len()..].trim_start();
            if before_ok && after.starts_with('=') {
                return start + at;
            }
            from = at + name.len();
        }
        start
    }
}

/// Attributes of an element by local name, unescaped (bad ones reported).
fn attributes(p: &mut Parser, e: &BytesStart, start: usize) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for a in e.attributes() {
        match a {
            Ok(a) => {
                let key = String::from_utf8_lossy(a.key.as_ref()).into_owned();
                let key = match key.split_once(':') {
                    Some(("xml", local)) => format!("xml:{local}"),
                    Some((_, local)) => local.to_string(),
                    None => key,
                };
                match a.unescape_value() {
                    Ok(v) => {
                        out.insert(key, v.into_owned());
                    }
                    Err(err) => p.err(start, format!("attribute {key}: {err}")),
                }
            }
            Err(err) => p.err(start, format!("malformed attribute: {err}")),
        }
    }
    out
}

fn non_empty(v: Option<&String>) -> Option<String> {
    v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

/// `2024-09-27T12:00:00+01:00` or `2024-09-27` → `20240927120000` / `20240927`.
fn compact_date(iso: &str) -> Option<String> {
    let digits: String = iso.chars().take(19).filter(char::is_ascii_digit).collect();
    (digits.len() == 14 || digits.len() == 8).then_some(digits)
}

/// The NOS canonical of a `urlFichier`: `…/JDV_J07-XdsTypeCode-CISIS` →
/// `…/JDV_J07-XdsTypeCode-CISIS/FHIR/JDV-J07-XdsTypeCode-CISIS`.
pub fn canonical_from_url_fichier(url_fichier: &str) -> String {
    let base = url_fichier.trim().trim_end_matches('/');
    let seg = super::last_segment(base);
    let seg = seg.strip_suffix(".tabs").unwrap_or(seg);
    format!("{base}/FHIR/{}", seg.replacen('_', "-", 1))
}

fn start_value_set(p: &mut Parser, attrs: &HashMap<String, String>, start: usize) -> Building {
    let id = non_empty(attrs.get("id").or_else(|| attrs.get("ID")));
    let id = match id {
        Some(id) if is_bare_oid(&id) => id,
        Some(id) => {
            let at = p.attr_offset(start, start + 2000, "id");
            p.err(at, format!("value set id '{id}' is not an OID"));
            id
        }
        None => {
            p.err(start, "value set without an id (its OID)");
            String::new()
        }
    };
    let url = match non_empty(attrs.get("urlFichier")) {
        Some(u) => canonical_from_url_fichier(&u),
        None => format!("urn:oid:{id}"),
    };
    let revision = non_empty(attrs.get("revisionDate"));
    let date_maj = non_empty(attrs.get("dateMaj"));
    let version = date_maj
        .clone()
        .filter(|d| super::tabs::tabs_date(d).is_some())
        .or_else(|| revision.as_deref().and_then(compact_date))
        .or_else(|| non_empty(attrs.get("version")));
    let date = revision
        .filter(|r| super::is_date_or_datetime(r))
        .or_else(|| date_maj.as_deref().and_then(super::tabs::tabs_date));
    let retired = non_empty(attrs.get("dateFin")).is_some();
    let name = non_empty(attrs.get("displayName")).map(|n| {
        n.strip_suffix(".tabs")
            .map(str::to_string)
            .unwrap_or(n.clone())
    });
    let (line, _) = p.lines.at(start);
    let meta = ResourceMeta {
        id: id.clone(),
        url,
        version,
        name,
        status: if retired { "retired" } else { "active" }.to_string(),
        date,
        description: non_empty(attrs.get("description")),
        oids: if id.is_empty() { Vec::new() } else { vec![id] },
        origin: Origin {
            file: p.file.to_string(),
            line,
        },
        ..Default::default()
    };
    Building {
        meta,
        groups: HashMap::new(),
        includes: Vec::new(),
        seen: HashMap::new(),
        lists: 0,
        list_lang: None,
        members: 0,
        text_element: None,
    }
}

fn add_concept(
    p: &mut Parser,
    b: &mut Building,
    attrs: &HashMap<String, String>,
    start: usize,
    end: usize,
) {
    let raw_code = attrs.get("code").map(String::as_str).unwrap_or_default();
    // CDA codes are tokens (HL7 `cs`): "FFC " or "\tLA6114-8" in a file would never match
    // the code a document carries, so the ends are trimmed (no-break spaces too), loudly.
    let code = raw_code.trim().to_string();
    if code != raw_code && !code.is_empty() {
        let at = p.attr_offset(start, end, "code");
        p.warn(
            at,
            format!(
                "code {raw_code:?} in value set {} has whitespace at its ends: read as '{code}'",
                b.meta.oids.first().map(String::as_str).unwrap_or("?")
            ),
        );
    }
    let system = attrs
        .get("codeSystem")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    let display = attrs.get("displayName").cloned().filter(|d| !d.is_empty());
    let mut bad = false;
    for (name, value) in [("code", code.as_str()), ("codeSystem", system.as_str())] {
        if value.is_empty() {
            let at = p.attr_offset(start, end, name);
            let what = if attrs.contains_key(name) {
                "empty"
            } else {
                "missing"
            };
            p.err(
                at,
                format!(
                    "Concept with {what} {name} (displayName '{}') in value set {}",
                    display.as_deref().unwrap_or(""),
                    b.meta.oids.first().map(String::as_str).unwrap_or("?")
                ),
            );
            bad = true;
        }
    }
    if bad {
        return;
    }
    let (line, _) = p.lines.at(start);
    if b.lists > 1 {
        // A further ConceptList: the same members in another language.
        if let (Some(&(_, gi, ci)), Some(d)) =
            (b.seen.get(&(code.clone(), system.clone())), display)
        {
            b.includes[gi].concepts[ci].designations.push(Designation {
                language: b.list_lang.clone(),
                use_: None,
                value: d,
                extensions: None,
            });
        }
        return;
    }
    if let Some(&(first, gi, ci)) = b.seen.get(&(code.clone(), system.clone())) {
        let concept = &mut b.includes[gi].concepts[ci];
        let differs = display.is_some() && concept.display != display;
        let mut text = format!(
            "member {system}#{code} listed twice in value set {} (first at line {first})",
            b.meta.oids.first().map(String::as_str).unwrap_or("?")
        );
        if let (true, Some(d)) = (differs, display) {
            text.push_str(&format!(
                " with another displayName '{d}': both displays are accepted"
            ));
            concept.designations.push(Designation {
                language: None,
                use_: Some(std::sync::Arc::new(Coding::code(
                    SVS_DISPLAY_USE.0,
                    SVS_DISPLAY_USE.1,
                ))),
                value: d,
                extensions: None,
            });
        } else {
            text.push_str("; the duplicate is ignored");
        }
        p.warn(start, text);
        return;
    }
    let version = non_empty(attrs.get("codeSystemVersion"));
    let key = (system.clone(), version.clone());
    let gi = match b.groups.get(&key) {
        Some(&gi) => gi,
        None => {
            b.includes.push(ConceptSetComponent {
                system: Some(format!("urn:oid:{system}")),
                version,
                ..Default::default()
            });
            b.groups.insert(key, b.includes.len() - 1);
            b.includes.len() - 1
        }
    };
    b.includes[gi].concepts.push(ConceptReference {
        code,
        display,
        ..Default::default()
    });
    let ci = b.includes[gi].concepts.len() - 1;
    let code = b.includes[gi].concepts[ci].code.clone();
    b.seen.insert((code, system), (line, gi, ci));
    b.members += 1;
}

fn finish_value_set(p: &mut Parser, b: Building, start: usize) {
    if b.members == 0 {
        p.warn(
            start,
            format!(
                "value set {} has no member",
                b.meta.oids.first().map(String::as_str).unwrap_or("?")
            ),
        );
    }
    let mut vs = ValueSet {
        meta: b.meta,
        ..Default::default()
    };
    vs.compose.include = b.includes;
    p.out.value_sets.push(vs);
}

/// ITI-60 metadata elements inside `DescribedValueSet`.
fn apply_text(b: &mut Building, element: &str, text: &str) {
    let text = text.trim();
    if text.is_empty() {
        return;
    }
    match element {
        "Purpose" | "Definition" if b.meta.description.is_none() => {
            b.meta.description = Some(text.to_string())
        }
        "Source" => b.meta.publisher = Some(text.to_string()),
        "Status" => {
            b.meta.status = if text.eq_ignore_ascii_case("active") {
                "active"
            } else {
                "retired"
            }
            .to_string()
        }
        "RevisionDate" => {
            if super::is_date_or_datetime(text) {
                b.meta.date = Some(text.to_string());
            }
            if b.meta.version.is_none() {
                b.meta.version = compact_date(text);
            }
        }
        _ => {}
    }
}

/// The text of an SVS file: UTF-8 (a BOM skipped), not blank.
fn svs_text<'b>(bytes: &'b [u8], name: &str) -> Result<&'b str, Vec<LoadError>> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(vec![LoadError::new(
            name,
            None,
            None,
            format!(
                "empty file ({} bytes): not an SVS document, no value set",
                bytes.len()
            ),
        )]);
    }
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    std::str::from_utf8(body).map_err(|e| {
        let valid = &body[..e.valid_up_to()];
        let text = String::from_utf8_lossy(valid);
        let (l, c) = Lines::new(&text).at(text.len());
        vec![LoadError::new(
            name,
            Some(l),
            Some(c),
            "not UTF-8 (SVS files are read as UTF-8)",
        )]
    })
}

/// The value set being read: its builder, where it starts, and its element's depth.
type Open = Option<(Building, usize, usize)>;

/// Parses one SVS file (`name` is used in errors and origins).
pub fn parse_svs(bytes: &[u8], name: &str) -> Result<SvsFile, Vec<LoadError>> {
    let text = svs_text(bytes, name)?;
    let mut p = Parser {
        file: name,
        lines: Lines::new(text),
        errors: Vec::new(),
        out: SvsFile::default(),
    };
    let mut reader = NsReader::from_str(text);
    let svs = ResolveResult::Bound(Namespace(SVS_NS.as_bytes()));
    let mut depth = 0usize;
    let mut root_seen = false;
    let mut current: Open = None;
    loop {
        let start = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
        let (in_svs, event) = match reader.read_resolved_event() {
            Ok((ns, ev)) => (ns == svs, ev),
            Err(e) => {
                let at = usize::try_from(reader.error_position()).unwrap_or(start);
                p.err(at, format!("malformed XML: {e}"));
                break;
            }
        };
        let end = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
        let (e, empty) = match event {
            Event::Start(e) => (e, false),
            Event::Empty(e) => (e, true),
            Event::Text(t) => {
                if let Some((b, _, _)) = current.as_mut() {
                    if let Some(el) = b.text_element.clone() {
                        if let Ok(s) = t.unescape() {
                            apply_text(b, &el, &s);
                        }
                    }
                }
                continue;
            }
            Event::End(_) => {
                depth = depth.saturating_sub(1);
                close_element(&mut p, &mut current, depth);
                continue;
            }
            Event::Eof => break,
            _ => continue,
        };
        let local = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
        if !root_seen {
            root_seen = true;
            let known = in_svs
                && (local == "RetrieveValueSetResponse"
                    || local == "RetrieveMultipleValueSetsResponse");
            if !known {
                p.warn(
                    start,
                    format!(
                        "not an IHE SVS document (root element <{local}>, expected RetrieveValueSetResponse or RetrieveMultipleValueSetsResponse in namespace {SVS_NS}); file ignored"
                    ),
                );
                return Ok(p.out);
            }
        }
        let at = (start, end, depth);
        open_element(&mut p, &mut current, &e, local, (in_svs, empty), at);
        if !empty {
            depth += 1;
        }
    }
    if p.errors.is_empty() && p.out.value_sets.is_empty() {
        p.err(0, "SVS document without any ValueSet");
    }
    if p.errors.is_empty() {
        Ok(p.out)
    } else {
        Err(p.errors)
    }
}

/// An element starts (`local`, at bytes `start..end`, at `depth`): a value set opens, or
/// the one open gets a concept list, a concept, or a text element to read.
fn open_element(
    p: &mut Parser,
    current: &mut Open,
    e: &BytesStart,
    local: String,
    (in_svs, empty): (bool, bool),
    (start, end, depth): (usize, usize, usize),
) {
    if in_svs && (local == "ValueSet" || local == "DescribedValueSet") {
        if current.is_none() {
            let attrs = attributes(p, e, start);
            let b = start_value_set(p, &attrs, start);
            if empty {
                finish_value_set(p, b, start);
            } else {
                *current = Some((b, start, depth));
            }
        }
    } else if let Some((b, _, _)) = current.as_mut() {
        if in_svs && local == "ConceptList" {
            let attrs = attributes(p, e, start);
            b.lists += 1;
            b.list_lang = non_empty(attrs.get("xml:lang"));
            if b.lists == 1 {
                b.meta.language = b.list_lang.clone();
            }
        } else if in_svs && local == "Concept" {
            let attrs = attributes(p, e, start);
            add_concept(p, b, &attrs, start, end);
        } else if !empty {
            b.text_element = Some(local);
        }
    }
}

/// An element ends, `depth` now being its own: no text element is open any more, and the
/// value set ends with its own element.
fn close_element(p: &mut Parser, current: &mut Open, depth: usize) {
    if let Some((b, _, _)) = current.as_mut() {
        b.text_element = None;
    }
    if current.as_ref().is_some_and(|(_, _, d)| *d == depth) {
        if let Some((b, s, _)) = current.take() {
            finish_value_set(p, b, s);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<RetrieveValueSetResponse xmlns="urn:ihe:iti:svs:2008">
"#;

    fn doc(body: &str) -> String {
        format!("{HEAD}{body}\n</RetrieveValueSetResponse>\n")
    }

    #[test]
    fn reads_a_value_set_grouped_by_system() {
        let x = doc(
            r#"  <ValueSet id="1.2.3.4" displayName="JDV_X01_Essai_CISIS.tabs" version="test"
      revisionDate="2024-09-27T12:00:00+01:00" dateMaj="20240927120000"
      urlFichier="https://mos.esante.gouv.fr/NOS/JDV_X01-Essai-CISIS" description="Essai">
    <ConceptList>
      <Concept code="a" codeSystem="2.16.840.1.113883.6.1" displayName="A"/>
      <Concept code="b" codeSystem="1.2.250.1" displayName="B &amp; C"/>
      <Concept code="c" codeSystem="2.16.840.1.113883.6.1" displayName="C"/>
    </ConceptList>
  </ValueSet>"#,
        );
        let f = parse_svs(x.as_bytes(), "x.xml").unwrap();
        assert!(f.warnings.is_empty(), "{:?}", f.warnings);
        let vs = &f.value_sets[0];
        assert_eq!(
            vs.meta.url,
            "https://mos.esante.gouv.fr/NOS/JDV_X01-Essai-CISIS/FHIR/JDV-X01-Essai-CISIS"
        );
        assert_eq!(vs.meta.version.as_deref(), Some("20240927120000"));
        assert_eq!(vs.meta.date.as_deref(), Some("2024-09-27T12:00:00+01:00"));
        assert_eq!(vs.meta.name.as_deref(), Some("JDV_X01_Essai_CISIS"));
        assert_eq!(vs.meta.oids, vec!["1.2.3.4"]);
        assert_eq!(vs.meta.origin.line, 3);
        assert_eq!(vs.compose.include.len(), 2);
        assert_eq!(
            vs.compose.include[0].system.as_deref(),
            Some("urn:oid:2.16.840.1.113883.6.1")
        );
        assert_eq!(vs.compose.include[0].concepts.len(), 2);
        assert_eq!(
            vs.compose.include[1].concepts[0].display.as_deref(),
            Some("B & C")
        );
    }

    #[test]
    fn without_url_fichier_the_url_is_the_oid_and_version_the_revision_date() {
        let x = doc(
            r#"<ValueSet id="1.2.3.5" displayName="JDV_Y" version="test" revisionDate="2024-09-18T00:00:00+01:00">
<ConceptList><Concept code="a" codeSystem="1.2" displayName="A"/></ConceptList></ValueSet>"#,
        );
        let f = parse_svs(x.as_bytes(), "y.xml").unwrap();
        assert_eq!(f.value_sets[0].meta.url, "urn:oid:1.2.3.5");
        assert_eq!(
            f.value_sets[0].meta.version.as_deref(),
            Some("20240918000000")
        );
    }

    #[test]
    fn empty_members_and_files_are_errors() {
        let e = parse_svs(b"", "e.xml").unwrap_err();
        assert_eq!(
            e[0].to_string(),
            "e.xml: empty file (0 bytes): not an SVS document, no value set"
        );
        let x = doc(r#"<ValueSet id="1.2.3.6" displayName="Z">
<ConceptList>
<Concept code="" codeSystem="" displayName="à compléter"/>
</ConceptList></ValueSet>"#);
        let e = parse_svs(x.as_bytes(), "z.xml").unwrap_err();
        assert_eq!(e.len(), 2);
        assert_eq!(
            e[0].to_string(),
            "z.xml:5:10: Concept with empty code (displayName 'à compléter') in value set 1.2.3.6"
        );
        assert!(e[1]
            .to_string()
            .starts_with("z.xml:5:18: Concept with empty codeSystem"));
    }

    #[test]
    fn duplicates_are_warnings_and_keep_both_displays() {
        let x = doc(r#"<ValueSet id="1.2.3.7" displayName="D">
<ConceptList>
<Concept code="x" codeSystem="1.2" displayName="One"/>
<Concept code="x" codeSystem="1.2" displayName="Two"/>
<Concept code="x" codeSystem="1.2" displayName="One"/>
</ConceptList></ValueSet>"#);
        let f = parse_svs(x.as_bytes(), "d.xml").unwrap();
        assert_eq!(f.warnings.len(), 2);
        assert_eq!(
            f.warnings[0].to_string(),
            "d.xml:6:1: member 1.2#x listed twice in value set 1.2.3.7 (first at line 5) with another displayName 'Two': both displays are accepted"
        );
        let c = &f.value_sets[0].compose.include[0].concepts;
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].designations[0].value, "Two");
    }

    #[test]
    fn malformed_and_foreign_xml() {
        let e = parse_svs(doc("<ValueSet id=\"1.2\">").as_bytes(), "m.xml").unwrap_err();
        assert!(e[0].to_string().starts_with("m.xml:"), "{}", e[0]);
        assert!(e[0].message.contains("malformed XML"), "{}", e[0]);
        let f = parse_svs(b"<project><x/></project>", "pom.xml").unwrap();
        assert!(f.value_sets.is_empty());
        assert!(f.warnings[0].message.contains("not an IHE SVS document"));
        let e = parse_svs(
            doc("<ValueSet id=\"abc\" displayName=\"q\"><ConceptList><Concept code=\"a\" codeSystem=\"1.2\"/></ConceptList></ValueSet>").as_bytes(),
            "q.xml",
        )
        .unwrap_err();
        assert_eq!(e[0].message, "value set id 'abc' is not an OID");
    }

    #[test]
    fn multiple_value_sets_response() {
        let x = r#"<RetrieveMultipleValueSetsResponse xmlns="urn:ihe:iti:svs:2008">
<DescribedValueSet ID="1.2.3.8" displayName="A" version="2">
<Source>ANS</Source><Purpose>Pour tester</Purpose><Status>Active</Status>
<ConceptList xml:lang="fr-FR"><Concept code="a" codeSystem="1.2" displayName="Un"/></ConceptList>
<ConceptList xml:lang="en-US"><Concept code="a" codeSystem="1.2" displayName="One"/></ConceptList>
</DescribedValueSet>
<DescribedValueSet ID="1.2.3.9" displayName="B"><ConceptList><Concept code="b" codeSystem="1.2" displayName="B"/></ConceptList></DescribedValueSet>
</RetrieveMultipleValueSetsResponse>"#;
        let f = parse_svs(x.as_bytes(), "m.xml").unwrap();
        assert_eq!(f.value_sets.len(), 2);
        let a = &f.value_sets[0];
        assert_eq!(a.meta.publisher.as_deref(), Some("ANS"));
        assert_eq!(a.meta.description.as_deref(), Some("Pour tester"));
        assert_eq!(a.meta.version.as_deref(), Some("2"));
        assert_eq!(a.meta.language.as_deref(), Some("fr-FR"));
        let c = &a.compose.include[0].concepts[0];
        assert_eq!(c.designations[0].value, "One");
        assert_eq!(c.designations[0].language.as_deref(), Some("en-US"));
    }
}
