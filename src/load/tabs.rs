//! ANS `.tabs` files: the NOS's own export, `;`-separated despite the name, no quoting.
//!
//! ```text
//! <OID>;<Type fichier>;<Nom fichier>;<Description>;<URL fichier>;<Date valid>;<Date fin>;<Date MàJ>
//! 1.2.250.1.213.2.28;TRE;TRE_R38-SpecialiteOrdinale.tabs;Spécialité ordinale;https://…/TRE_R38-SpecialiteOrdinale;20151228000000;;20220826120000
//! <OID>;<Code>;<Libellé adapté>;<Libellé court>;<Libellé long>;<Date valid>;<Date fin>;<Date MàJ>
//! 1.2.250.1.213.2.28;SCD01;Orthopédie dento-faciale (SCD);Orthopédie dento-faciale;…;20070726000000;;20160901000000
//! ```
//! A JDV has the concept header `<OID>;<Code>;<Libellé>` and rows `OID of the TRE;code;label`.
//! Older files are ISO-8859-1, newer ones UTF-8: the encoding is detected per file. Header
//! spellings vary between generators (`<Libellé>`/`<Libellé adapté>`, `<Date MAJ>`/`<Date
//! MàJ>`, trailing spaces); all are accepted.

use std::collections::HashMap;

use serde_json::json;

use super::{days_in_month, LoadError, Resource};
use crate::model::{
    CodeSystem, Coding, Concept, ConceptProperty, ConceptReference, ConceptSetComponent,
    Designation, Origin, PropertyValue, ResourceMeta, ValueSet,
};

/// Accepted spellings of each metadata header field (compared after trimming).
const META_HEADER: &[&[&str]] = &[
    &["<OID>"],
    &["<Type fichier>"],
    &["<Nom fichier>"],
    &["<Description>"],
    &["<URL fichier>"],
    &["<Date valid>"],
    &["<Date fin>"],
    &["<Date MàJ>", "<Date MAJ>"],
];
const TRE_HEADER: &[&[&str]] = &[
    &["<OID>", "<system>"],
    &["<Code>"],
    &["<Libellé adapté>", "<Libellé>"],
    &["<Libellé court>"],
    &["<Libellé long>"],
    &["<Date valid>"],
    &["<Date fin>"],
    &["<Date MàJ>", "<Date MAJ>"],
];
const JDV_HEADER: &[&[&str]] = &[
    &["<OID>", "<system>"],
    &["<Code>"],
    &["<Libellé>", "<Libellé adapté>"],
];

/// Decodes a `.tabs` file: UTF-8 (BOM stripped) when valid, else ISO-8859-1, where every
/// byte is the code point of the same value (`EF BB BF` there is text, `ï»¿`, not a BOM).
pub fn decode(bytes: &[u8]) -> String {
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(body) {
        Ok(s) => s.to_string(),
        Err(_) => bytes.iter().map(|&b| char::from(b)).collect(),
    }
}

/// Parses one `.tabs` file (`file` names it in errors and in the resource's origin).
pub fn parse_tabs(bytes: &[u8], file: &str) -> Result<Resource, Vec<LoadError>> {
    let text = decode(bytes);
    let bad = control_characters(&text, file);
    if !bad.is_empty() {
        return Err(bad);
    }
    let lines = split_lines(&text);
    let mut p = Parser {
        file,
        errors: Vec::new(),
    };
    let [meta_header, meta_row, concept_header] = match lines.get(..3) {
        Some([a, b, c]) => [a, b, c],
        _ => {
            let line = lines.len() + 1;
            return Err(vec![p.at(
                line,
                None,
                "expected a metadata header, a metadata row and a concept header",
            )]);
        }
    };
    p.check_header(meta_header, META_HEADER);
    let Some(meta) = p.table_meta(meta_row) else {
        return Err(p.errors);
    };
    let rows = &lines[3..];
    let resource = match meta.kind.as_str() {
        "TRE" => {
            p.check_header(concept_header, TRE_HEADER);
            Resource::CodeSystem(p.code_system(&meta, rows))
        }
        _ => {
            p.check_header(concept_header, JDV_HEADER);
            Resource::ValueSet(p.value_set(&meta, rows))
        }
    };
    if p.errors.is_empty() {
        Ok(resource)
    } else {
        Err(p.errors)
    }
}

/// Control characters (tab and line ends aside) are never NOS text: read as ISO-8859-1 they
/// are bytes of another encoding (Windows-1252 `’` is 0x92) or a corrupted file. One error per
/// line, at its first such character (1-based character column).
fn control_characters(text: &str, file: &str) -> Vec<LoadError> {
    text.split('\n')
        .enumerate()
        .filter_map(|(i, line)| {
            let line = line.strip_suffix('\r').unwrap_or(line);
            let (col, c) = line
                .chars()
                .enumerate()
                .find(|(_, c)| c.is_control() && *c != '\t')?;
            Some(LoadError::new(
                file,
                Some(i + 1),
                Some(col + 1),
                format!(
                    "control character U+{:04X} is not text (a file in another encoding than UTF-8 or ISO-8859-1, or corrupted)",
                    u32::from(c)
                ),
            ))
        })
        .collect()
}

/// Non-blank lines with their 1-based numbers; a final CR (CRLF files) is dropped.
fn split_lines(text: &str) -> Vec<(usize, &str)> {
    text.split('\n')
        .enumerate()
        .map(|(i, l)| (i + 1, l.strip_suffix('\r').unwrap_or(l)))
        .filter(|(_, l)| !l.trim().is_empty())
        .collect()
}

/// The metadata row, checked and converted.
struct TableMeta {
    line: usize,
    oid: String,
    kind: String,
    meta: ResourceMeta,
}

struct Parser<'a> {
    file: &'a str,
    errors: Vec<LoadError>,
}

impl Parser<'_> {
    fn at(&self, line: usize, column: Option<usize>, msg: impl Into<String>) -> LoadError {
        LoadError::new(self.file, Some(line), column, msg)
    }

    fn push(&mut self, line: usize, column: usize, msg: impl Into<String>) {
        let e = self.at(line, Some(column), msg);
        self.errors.push(e);
    }

    /// Splits a row and checks its field count; `None` (error recorded) if it is wrong.
    fn fields<'l>(
        &mut self,
        (line, text): (usize, &'l str),
        expected: usize,
    ) -> Option<Vec<&'l str>> {
        let fields: Vec<&str> = text.split(';').collect();
        if fields.len() == expected {
            return Some(fields);
        }
        let column = fields.len().min(expected) + 1;
        self.push(
            line,
            column,
            format!(
                "expected {expected} fields separated by ';', found {}",
                fields.len()
            ),
        );
        None
    }

    fn check_header(&mut self, &(line, text): &(usize, &str), expected: &[&[&str]]) {
        let Some(fields) = self.fields((line, text), expected.len()) else {
            return;
        };
        for (i, (got, spellings)) in fields.iter().zip(expected).enumerate() {
            if !spellings.contains(&got.trim()) {
                self.push(
                    line,
                    i + 1,
                    format!("expected header {}, found '{got}'", spellings.join(" or ")),
                );
            }
        }
    }

    fn table_meta(&mut self, &(line, text): &(usize, &str)) -> Option<TableMeta> {
        let f = self.fields((line, text), META_HEADER.len())?;
        let before = self.errors.len();
        let kind = f[1].trim();
        if kind != "TRE" && kind != "JDV" {
            self.push(
                line,
                2,
                format!("unknown Type fichier '{kind}' (expected TRE or JDV)"),
            );
        }
        let url_fichier = f[4].trim().trim_end_matches('/');
        if url_fichier.is_empty() {
            self.push(line, 5, "empty URL fichier");
        }
        let start = self.date(line, 6, f[5]);
        let end = self.date(line, 7, f[6]);
        let date = self.date(line, 8, f[7]);
        if self.errors.len() != before {
            return None;
        }
        let seg = super::last_segment(url_fichier);
        // The NOS canonical: `URL fichier` + `/FHIR/` + the segment with its first `_` → `-`.
        // JDV_J246's `URL fichier` ends in `.tabs`, kept in the URL but not in the id
        // (published canonical: `…/JDV_J246-Titre-CISIS.tabs/FHIR/JDV-J246-Titre-CISIS`).
        let seg = seg.strip_suffix(".tabs").unwrap_or(seg);
        let id = seg.replacen('_', "-", 1);
        let meta = ResourceMeta {
            url: format!("{url_fichier}/FHIR/{id}"),
            id,
            name: Some(f[2].trim().trim_end_matches(".tabs").to_string()).filter(|n| !n.is_empty()),
            status: if end.is_some() { "retired" } else { "active" }.to_string(),
            date,
            publisher: Some("ANS".to_string()),
            description: Some(f[3].to_string()).filter(|d| !d.is_empty()),
            oids: Some(f[0].trim().to_string())
                .filter(|o| !o.is_empty())
                .into_iter()
                .collect(),
            extensions: effective_period(start.as_deref(), end.as_deref()),
            origin: Origin {
                file: self.file.to_string(),
                line: 1,
            },
            ..Default::default()
        };
        Some(TableMeta {
            line,
            oid: f[0].trim().to_string(),
            kind: kind.to_string(),
            meta,
        })
    }

    /// A `.tabs` date cell (empty, or `YYYYMMDDhhmmss` / `YYYYMMDD`) as FHIR, or an error.
    fn date(&mut self, line: usize, column: usize, raw: &str) -> Option<String> {
        let raw = raw.trim();
        if raw.is_empty() {
            return None;
        }
        let converted = tabs_date(raw);
        if converted.is_none() {
            self.push(
                line,
                column,
                format!("bad date '{raw}' (expected YYYYMMDDhhmmss)"),
            );
        }
        converted
    }

    /// Checks the first field of a concept row against the table OID.
    fn check_row_oid(&mut self, line: usize, got: &str, table: &TableMeta) {
        if got.trim() != table.oid {
            self.push(
                line,
                1,
                format!(
                    "OID '{got}' differs from the table OID '{}' (line {})",
                    table.oid, table.line
                ),
            );
        }
    }

    /// The code field: required, without surrounding spaces (FHIR `code` forbids them).
    fn code<'l>(&mut self, line: usize, raw: &'l str) -> Option<&'l str> {
        if raw.is_empty() {
            self.push(line, 2, "empty code");
            return None;
        }
        if raw.trim() != raw {
            self.push(
                line,
                2,
                format!("code '{raw}' has leading or trailing spaces"),
            );
            return None;
        }
        Some(raw)
    }

    fn code_system(&mut self, table: &TableMeta, rows: &[(usize, &str)]) -> CodeSystem {
        let mut seen = HashMap::new();
        let mut concepts = Vec::with_capacity(rows.len());
        for &(line, text) in rows {
            let Some(f) = self.fields((line, text), TRE_HEADER.len()) else {
                continue;
            };
            self.check_row_oid(line, f[0], table);
            let Some(code) = self.code(line, f[1]) else {
                continue;
            };
            if let Some(first) = seen.get(code) {
                self.push(
                    line,
                    2,
                    format!("duplicate code '{code}' (first at line {first})"),
                );
                continue;
            }
            seen.insert(code, line);
            let mut properties = Vec::new();
            for (i, prop) in [(5, "dateValid"), (6, "dateFin"), (7, "dateMaj")] {
                if let Some(v) = self.date(line, i + 1, f[i]) {
                    properties.push(ConceptProperty {
                        code: prop.into(),
                        value: PropertyValue::DateTime(v),
                    });
                }
            }
            concepts.push(Concept {
                code: code.to_string(),
                display: Some(f[2].to_string()).filter(|d| !d.is_empty()),
                // Libellé court → LibelleCourt, Libellé long → LibelleAdapte, as in the FHIR export.
                designations: [("LibelleCourt", f[3]), ("LibelleAdapte", f[4])]
                    .into_iter()
                    .filter(|(_, v)| !v.is_empty())
                    .map(|(u, v)| designation(u, v))
                    .collect(),
                properties,
                ..Default::default()
            });
        }
        CodeSystem::new(table.meta.clone(), concepts)
    }

    fn value_set(&mut self, table: &TableMeta, rows: &[(usize, &str)]) -> ValueSet {
        let mut vs = ValueSet {
            meta: table.meta.clone(),
            ..Default::default()
        };
        let mut seen: HashMap<(String, String), usize> = HashMap::new();
        for &(line, text) in rows {
            let Some(f) = self.fields((line, text), JDV_HEADER.len()) else {
                continue;
            };
            let oid = f[0].trim();
            if oid.is_empty() {
                self.push(line, 1, "empty OID");
                continue;
            }
            let Some(code) = self.code(line, f[1]) else {
                continue;
            };
            if let Some(first) = seen.insert((oid.to_string(), code.to_string()), line) {
                self.push(
                    line,
                    2,
                    format!("duplicate member {oid}|{code} (first at line {first})"),
                );
                continue;
            }
            // The first field is the OID of the member's TRE: the include names it as urn:oid.
            let system = format!("urn:oid:{oid}");
            let include = match vs
                .compose
                .include
                .iter()
                .position(|c| c.system.as_deref() == Some(system.as_str()))
            {
                Some(i) => &mut vs.compose.include[i],
                None => {
                    vs.compose.include.push(ConceptSetComponent {
                        system: Some(system),
                        ..Default::default()
                    });
                    let last = vs.compose.include.len() - 1;
                    &mut vs.compose.include[last]
                }
            };
            include.concepts.push(ConceptReference {
                code: code.to_string(),
                display: Some(f[2].to_string()).filter(|d| !d.is_empty()),
                ..Default::default()
            });
        }
        vs
    }
}

fn designation(use_code: &str, value: &str) -> Designation {
    Designation {
        language: None,
        use_: Some(std::sync::Arc::new(Coding {
            code: Some(use_code.to_string()),
            ..Default::default()
        })),
        value: value.to_string(),
        extensions: None,
    }
}

/// The table's validity period as the HL7 `resource-effectivePeriod` extension, so a `read`
/// shows it like the NOS FHIR export does.
fn effective_period(start: Option<&str>, end: Option<&str>) -> Vec<serde_json::Value> {
    if start.is_none() && end.is_none() {
        return Vec::new();
    }
    let mut period = serde_json::Map::new();
    if let Some(s) = start {
        period.insert("start".into(), json!(s));
    }
    if let Some(e) = end {
        period.insert("end".into(), json!(e));
    }
    vec![json!({
        "url": "http://hl7.org/fhir/StructureDefinition/resource-effectivePeriod",
        "valuePeriod": period,
    })]
}

/// `20160519000000` → `2016-05-19T00:00:00+01:00`; `20160519` → `2016-05-19`.
///
/// The `.tabs` dates carry no zone. The NOS publish every date of their FHIR export at
/// `+01:00` (Paris winter time, even for summer dates), so the same offset makes the two
/// formats give identical values.
pub fn tabs_date(raw: &str) -> Option<String> {
    if !raw.bytes().all(|b| b.is_ascii_digit()) || (raw.len() != 14 && raw.len() != 8) {
        return None;
    }
    let num = |r: std::ops::Range<usize>| raw[r].parse::<u32>().ok();
    let (year, month, day) = (num(0..4)?, num(4..6)?, num(6..8)?);
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    let date = format!("{}-{}-{}", &raw[0..4], &raw[4..6], &raw[6..8]);
    if raw.len() == 8 {
        return Some(date);
    }
    let (h, m, s) = (num(8..10)?, num(10..12)?, num(12..14)?);
    if h > 23 || m > 59 || s > 60 {
        return None;
    }
    Some(format!(
        "{date}T{}:{}:{}+01:00",
        &raw[8..10],
        &raw[10..12],
        &raw[12..14]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRE: &str = "<OID>;<Type fichier>;<Nom fichier>;<Description>;<URL fichier>;<Date valid>;<Date fin>;<Date MàJ>\n\
1.2.3;TRE;TRE_X01-Essai.tabs;Essai;https://mos.esante.gouv.fr/NOS/TRE_X01-Essai;20160519000000;;20200424120000\n\
<OID>;<Code>;<Libellé adapté>;<Libellé court>;<Libellé long>;<Date valid>;<Date fin>;<Date MàJ> \n\
1.2.3;A;Très bien;TB;;20160519000000;;20160519000000\n\
1.2.3;B;Bien;B;Bien long;20160519000000;20200101000000;20200101000000\n";

    fn latin1(s: &str) -> Vec<u8> {
        s.chars()
            .map(|c| u8::try_from(u32::from(c)).unwrap())
            .collect()
    }

    #[test]
    fn dates_convert_to_fhir() {
        assert_eq!(
            tabs_date("20160519000000").as_deref(),
            Some("2016-05-19T00:00:00+01:00")
        );
        assert_eq!(tabs_date("20160519").as_deref(), Some("2016-05-19"));
        assert_eq!(tabs_date("20160230000000"), None);
        assert_eq!(tabs_date("2016051900000"), None);
        assert_eq!(tabs_date("20160519250000"), None);
        assert_eq!(tabs_date("2016-05-19"), None);
    }

    #[test]
    fn control_bytes_are_refused_where_they_are() {
        let mut bytes = latin1(TRE);
        let at = bytes.iter().position(|&b| b == b'\n').unwrap_or(0) + 3;
        bytes.insert(at, 0x81);
        let errors = parse_tabs(&bytes, "a.tabs").unwrap_err();
        assert_eq!(errors.len(), 1);
        assert!(errors[0]
            .to_string()
            .starts_with("a.tabs:2:3: control character U+0081"));
    }

    #[test]
    fn decodes_utf8_bom_and_latin1() {
        assert_eq!(decode("\u{feff}é".as_bytes()), "é");
        assert_eq!(decode(&[0x4d, 0xe0, 0x4a]), "MàJ");
    }

    #[test]
    fn tre_in_both_encodings() {
        let a = parse_tabs(TRE.as_bytes(), "a.tabs").unwrap();
        let b = parse_tabs(&latin1(TRE), "a.tabs").unwrap();
        let (Resource::CodeSystem(a), Resource::CodeSystem(b)) = (a, b) else {
            panic!()
        };
        assert_eq!(a, b);
        assert_eq!(
            a.meta.url,
            "https://mos.esante.gouv.fr/NOS/TRE_X01-Essai/FHIR/TRE-X01-Essai"
        );
        assert_eq!(a.meta.id, "TRE-X01-Essai");
        assert_eq!(a.meta.name.as_deref(), Some("TRE_X01-Essai"));
        assert_eq!(a.meta.date.as_deref(), Some("2020-04-24T12:00:00+01:00"));
        assert_eq!(a.meta.oids, vec!["1.2.3"]);
        assert_eq!(a.concepts[0].display.as_deref(), Some("Très bien"));
        assert_eq!(a.concepts[0].designations.len(), 1);
        assert!(!a.concepts[0].is_inactive());
        assert!(a.concepts[1].is_inactive());
        assert_eq!(a.concepts[1].designations[1].value, "Bien long");
    }

    #[test]
    fn older_header_spellings_and_crlf() {
        let text = TRE
            .replace("<Libellé adapté>", "<Libellé>")
            .replace("<Date MàJ>", "<Date MAJ>")
            .replace('\n', "\r\n");
        assert!(parse_tabs(text.as_bytes(), "a.tabs").is_ok());
    }

    #[test]
    fn jdv_members_name_their_tre_by_oid() {
        let text = "<OID>;<Type fichier>;<Nom fichier>;<Description>;<URL fichier>;<Date valid>;<Date fin>;<Date MàJ>\n\
1.9;JDV;JDV_J99-Essai.tabs;Essai;https://x/NOS/JDV_J99-Essai;20101116000000;;20200424120000\n\
<OID>;<Code>;<Libellé>\n1.2.3;A;Un\n1.2.4;B;Deux\n1.2.3;C;Trois\n";
        let Resource::ValueSet(vs) = parse_tabs(text.as_bytes(), "j.tabs").unwrap() else {
            panic!()
        };
        assert_eq!(
            vs.meta.url,
            "https://x/NOS/JDV_J99-Essai/FHIR/JDV-J99-Essai"
        );
        assert_eq!(vs.compose.include.len(), 2);
        assert_eq!(
            vs.compose.include[0].system.as_deref(),
            Some("urn:oid:1.2.3")
        );
        assert_eq!(vs.enumerated_len(), 3);

        let j246 = text.replace(
            "https://x/NOS/JDV_J99-Essai;",
            "https://x/NOS/JDV_J99-Essai.tabs;",
        );
        let Resource::ValueSet(vs) = parse_tabs(j246.as_bytes(), "j.tabs").unwrap() else {
            panic!()
        };
        assert_eq!(
            vs.meta.url,
            "https://x/NOS/JDV_J99-Essai.tabs/FHIR/JDV-J99-Essai"
        );
        assert_eq!(vs.meta.id, "JDV-J99-Essai");
    }

    #[test]
    fn errors_are_located() {
        let text = TRE.replace("TRE;TRE_X01", "ASS;TRE_X01");
        let e = parse_tabs(text.as_bytes(), "a.tabs").unwrap_err();
        assert_eq!(
            e[0].to_string(),
            "a.tabs:2:2: unknown Type fichier 'ASS' (expected TRE or JDV)"
        );

        let text = format!("{TRE}1.2.3;A;Dup;;;;;\n1.2.3;C;x;;;2016;;\n1.2.3;D\n");
        let e: Vec<String> = parse_tabs(text.as_bytes(), "a.tabs")
            .unwrap_err()
            .iter()
            .map(|e| e.to_string())
            .collect();
        assert_eq!(
            e,
            [
                "a.tabs:6:2: duplicate code 'A' (first at line 4)",
                "a.tabs:7:6: bad date '2016' (expected YYYYMMDDhhmmss)",
                "a.tabs:8:3: expected 8 fields separated by ';', found 2",
            ]
        );

        let e = parse_tabs(b"<OID>\n", "a.tabs").unwrap_err();
        assert_eq!(e[0].line, Some(2));
    }
}
