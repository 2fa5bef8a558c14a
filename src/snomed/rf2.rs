//! Reading an RF2 snapshot release folder (a folder holding `Terminology/sct2_Concept_Snapshot*.txt`)
//! into rows, with `file:line:column` errors. Building an edition from rows is `edition.rs`.
//!
//! Every file of the release is tab-separated UTF-8 with a header line. Reference sets are
//! read generically: the first six columns are every refset's, the rest are named by the
//! header and typed by the pattern in the file name (`der2_cRefset_…`: `c` component id,
//! `i` integer, `s` string).

use std::fs;
use std::path::{Path, PathBuf};

use super::graph::{Concrete, FieldValue};

/// A problem in a release file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rf2Error {
    pub file: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

impl Rf2Error {
    fn at(file: &str, line: usize, column: usize, message: impl Into<String>) -> Self {
        Rf2Error {
            file: file.to_string(),
            line: Some(line),
            column: Some(column),
            message: message.into(),
        }
    }
    pub(crate) fn file(file: &str, message: impl Into<String>) -> Self {
        Rf2Error {
            file: file.to_string(),
            line: None,
            column: None,
            message: message.into(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ConceptRow {
    pub id: u64,
    pub effective_time: u32,
    pub active: bool,
    pub module: u64,
    pub primitive: bool,
}

#[derive(Debug, Clone)]
pub struct DescriptionRow {
    pub id: u64,
    pub effective_time: u32,
    pub active: bool,
    pub module: u64,
    pub concept: u64,
    pub language: Box<str>,
    pub type_id: u64,
    pub term: Box<str>,
    pub case_significance: u64,
}

#[derive(Debug, Clone)]
pub enum RowTarget {
    Concept(u64),
    Concrete(Concrete),
}

#[derive(Debug, Clone)]
pub struct RelationshipRow {
    pub id: u64,
    pub effective_time: u32,
    pub active: bool,
    pub module: u64,
    pub source: u64,
    pub target: RowTarget,
    pub group: u16,
    pub type_id: u64,
    pub inferred: bool,
    /// Where it was read, for a dangling-id error.
    pub origin: (u32, u32),
}

#[derive(Debug, Clone)]
pub struct RefsetRow {
    pub effective_time: u32,
    pub active: bool,
    pub module: u64,
    pub refset: u64,
    pub referenced: u64,
    pub fields: Vec<(Box<str>, FieldValue)>,
}

/// Everything read from one release folder.
#[derive(Debug, Default)]
pub struct Release {
    /// The folder, relative to the data folder (for messages and origins).
    pub name: String,
    pub concepts: Vec<ConceptRow>,
    pub descriptions: Vec<DescriptionRow>,
    pub relationships: Vec<RelationshipRow>,
    /// Language refset rows: (refset, description id, preferred?), active only.
    pub language: Vec<(u64, u64, bool, u32)>,
    /// Language refsets and the language their file names (`…Snapshot-fr_…`).
    pub language_files: Vec<(u64, String)>,
    /// Every other refset row (language and OWL refsets excepted).
    pub refsets: Vec<RefsetRow>,
    /// Names of the files read, for their origin paths (`files[i]`).
    pub files: Vec<String>,
}

/// True when `dir` holds an RF2 snapshot (its `Terminology/sct2_Concept_Snapshot*.txt`).
pub fn is_release(dir: &Path) -> bool {
    find(&dir.join("Terminology"), "sct2_Concept_Snapshot").is_some()
}

fn find(dir: &Path, prefix: &str) -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix) && n.ends_with(".txt"))
        })
        .collect();
    found.sort();
    found.into_iter().next()
}

/// Every `.txt` file under `dir`, sorted, as (relative name, path).
fn files_under(dir: &Path, rel: &str, out: &mut Vec<(String, PathBuf)>) {
    let Ok(rd) = fs::read_dir(dir) else { return };
    let mut entries: Vec<_> = rd.filter_map(|e| e.ok()).map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.starts_with('.') {
            continue;
        }
        let child = format!("{rel}{name}");
        if p.is_dir() {
            files_under(&p, &format!("{child}/"), out);
        } else if name.ends_with(".txt") {
            out.push((child, p));
        }
    }
}

/// Reads the release folder `dir`, named `rel` (ending in `/` or empty) in messages.
pub fn read_release(dir: &Path, rel: &str) -> Result<Release, Vec<Rf2Error>> {
    let mut release = Release {
        name: rel.trim_end_matches('/').to_string(),
        ..Release::default()
    };
    let mut errors = Vec::new();
    let mut files = Vec::new();
    files_under(dir, rel, &mut files);
    let mut seen = (false, false, false);
    for (name, path) in &files {
        let base = name.rsplit('/').next().unwrap_or(name);
        let kind = if base.starts_with("sct2_Concept_Snapshot") {
            seen.0 = true;
            Kind::Concept
        } else if base.starts_with("sct2_Description_Snapshot")
            || base.starts_with("sct2_TextDefinition_Snapshot")
        {
            seen.1 |= base.starts_with("sct2_Description_");
            Kind::Description
        } else if base.starts_with("sct2_RelationshipConcreteValues_Snapshot") {
            Kind::Concrete
        } else if base.starts_with("sct2_Relationship_Snapshot") {
            seen.2 = true;
            Kind::Relationship
        } else if base.starts_with("der2_") && base.contains("Snapshot") {
            if base.contains("OWLExpression") || base.contains("sRefset_OWL") {
                // The OWL axioms restate the stated form; serving uses the inferred one.
                continue;
            }
            Kind::Refset(pattern_of(base))
        } else {
            continue;
        };
        let text = match fs::read(path) {
            Ok(b) => match String::from_utf8(b) {
                Ok(s) => s,
                Err(e) => {
                    errors.push(Rf2Error::file(name, format!("not UTF-8: {e}")));
                    continue;
                }
            },
            Err(e) => {
                errors.push(Rf2Error::file(name, format!("cannot read: {e}")));
                continue;
            }
        };
        let file_index = release.files.len() as u32;
        release.files.push(name.clone());
        read_file(
            &text,
            name,
            base,
            kind,
            file_index,
            &mut release,
            &mut errors,
        );
    }
    let root = if rel.is_empty() { "" } else { rel };
    if !seen.0 {
        errors.push(Rf2Error::file(
            &format!("{root}Terminology/sct2_Concept_Snapshot*.txt"),
            "missing: an RF2 snapshot needs its concept file",
        ));
    }
    if !seen.1 {
        errors.push(Rf2Error::file(
            &format!("{root}Terminology/sct2_Description_Snapshot*.txt"),
            "missing: an RF2 snapshot needs its description file",
        ));
    }
    if !seen.2 {
        errors.push(Rf2Error::file(
            &format!("{root}Terminology/sct2_Relationship_Snapshot*.txt"),
            "missing: an RF2 snapshot needs its relationship file",
        ));
    }
    if errors.is_empty() {
        Ok(release)
    } else {
        Err(errors)
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Concept,
    Description,
    Relationship,
    Concrete,
    /// The additional fields' types, from the file name (`c`, `i`, `s` letters).
    Refset(Pattern),
}

#[derive(Clone, Copy)]
struct Pattern {
    letters: [u8; 8],
    len: usize,
}

/// `der2_cissccRefset_…` → `ciss cc`; `der2_Refset_…` → none.
fn pattern_of(base: &str) -> Pattern {
    let mut p = Pattern {
        letters: [0; 8],
        len: 0,
    };
    let rest = &base["der2_".len()..];
    if let Some(end) = rest.find("Refset") {
        for b in rest[..end].bytes().take(8) {
            p.letters[p.len] = b;
            p.len += 1;
        }
    }
    p
}

const HEADERS: [(&str, &[&str]); 4] = [
    (
        "concept",
        &[
            "id",
            "effectiveTime",
            "active",
            "moduleId",
            "definitionStatusId",
        ],
    ),
    (
        "description",
        &[
            "id",
            "effectiveTime",
            "active",
            "moduleId",
            "conceptId",
            "languageCode",
            "typeId",
            "term",
            "caseSignificanceId",
        ],
    ),
    (
        "relationship",
        &[
            "id",
            "effectiveTime",
            "active",
            "moduleId",
            "sourceId",
            "destinationId",
            "relationshipGroup",
            "typeId",
            "characteristicTypeId",
            "modifierId",
        ],
    ),
    (
        "concrete",
        &[
            "id",
            "effectiveTime",
            "active",
            "moduleId",
            "sourceId",
            "value",
            "relationshipGroup",
            "typeId",
            "characteristicTypeId",
            "modifierId",
        ],
    ),
];

const REFSET_COLUMNS: [&str; 6] = [
    "id",
    "effectiveTime",
    "active",
    "moduleId",
    "refsetId",
    "referencedComponentId",
];

const INFERRED: u64 = 900000000000011006;
const PRIMITIVE: u64 = super::graph::ids::PRIMITIVE;
const PREFERRED: u64 = super::graph::ids::PREFERRED;
const ACCEPTABLE: u64 = super::graph::ids::ACCEPTABLE;

/// One line's fields, with the helpers that read them or say where they are wrong.
struct Line<'t> {
    file: &'t str,
    number: usize,
    fields: Vec<&'t str>,
}

impl<'t> Line<'t> {
    fn id(&self, i: usize) -> Result<u64, Rf2Error> {
        let s = self.fields[i];
        if s.is_empty() || s.len() > 18 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(self.bad(i, format!("'{s}' is not an SCTID")));
        }
        s.parse()
            .map_err(|_| self.bad(i, format!("'{s}' is not an SCTID")))
    }
    fn date(&self, i: usize) -> Result<u32, Rf2Error> {
        let s = self.fields[i];
        let ok = s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit());
        match (ok, s.parse::<u32>()) {
            (true, Ok(d)) => Ok(d),
            _ => Err(self.bad(i, format!("'{s}' is not a date (YYYYMMDD)"))),
        }
    }
    fn flag(&self, i: usize) -> Result<bool, Rf2Error> {
        match self.fields[i] {
            "1" => Ok(true),
            "0" => Ok(false),
            s => Err(self.bad(i, format!("'{s}' is not 0 or 1"))),
        }
    }
    fn int(&self, i: usize) -> Result<i64, Rf2Error> {
        let s = self.fields[i];
        s.parse()
            .map_err(|_| self.bad(i, format!("'{s}' is not an integer")))
    }
    /// Column numbers are 1-based, counted in fields.
    fn bad(&self, i: usize, message: String) -> Rf2Error {
        Rf2Error::at(self.file, self.number, i + 1, message)
    }
}

fn read_file(
    text: &str,
    name: &str,
    base: &str,
    kind: Kind,
    file_index: u32,
    out: &mut Release,
    errors: &mut Vec<Rf2Error>,
) {
    let mut lines = text.split('\n').enumerate();
    let Some((_, header)) = lines.next() else {
        errors.push(Rf2Error::file(
            name,
            "empty file: an RF2 file starts with its header",
        ));
        return;
    };
    let header: Vec<&str> = header.trim_end_matches('\r').split('\t').collect();
    let expected: Vec<&str> = match kind {
        Kind::Concept => HEADERS[0].1.to_vec(),
        Kind::Description => HEADERS[1].1.to_vec(),
        Kind::Relationship => HEADERS[2].1.to_vec(),
        Kind::Concrete => HEADERS[3].1.to_vec(),
        Kind::Refset(p) => {
            if header.len() != 6 + p.len || header[..6] != REFSET_COLUMNS {
                errors.push(Rf2Error::at(
                    name,
                    1,
                    1,
                    format!(
                        "header: expected {} then {} field(s) named by the pattern of the file name",
                        REFSET_COLUMNS.join(", "),
                        p.len
                    ),
                ));
                return;
            }
            header.clone()
        }
    };
    if header != expected {
        let col = header
            .iter()
            .zip(&expected)
            .position(|(a, b)| a != b)
            .unwrap_or(header.len().min(expected.len()));
        errors.push(Rf2Error::at(
            name,
            1,
            col + 1,
            format!("header: expected the columns {}", expected.join(", ")),
        ));
        return;
    }
    let language_refset = base.starts_with("der2_cRefset_Language");
    let field_names: Vec<Box<str>> = header.iter().skip(6).map(|h| Box::from(*h)).collect();
    let file_language = base
        .split("Snapshot-")
        .nth(1)
        .and_then(|s| s.split('_').next())
        .map(str::to_string);
    for (i, raw) in lines {
        let raw = raw.trim_end_matches('\r');
        if raw.is_empty() {
            continue;
        }
        let line = Line {
            file: name,
            number: i + 1,
            fields: raw.split('\t').collect(),
        };
        if line.fields.len() != expected.len() {
            errors.push(Rf2Error::at(
                name,
                i + 1,
                line.fields.len().min(expected.len()) + 1,
                format!(
                    "expected {} tab-separated fields, found {}",
                    expected.len(),
                    line.fields.len()
                ),
            ));
        } else if let Err(e) =
            read_line(&line, kind, language_refset, &field_names, file_index, out)
        {
            errors.push(e);
        } else if language_refset {
            if let Some(lang) = &file_language {
                if let Some(&(refset, ..)) = out.language.last() {
                    if !out.language_files.iter().any(|(r, _)| *r == refset) {
                        out.language_files.push((refset, lang.clone()));
                    }
                }
            }
        }
        if errors.len() >= 100 {
            errors.push(Rf2Error::file(name, "too many errors; stopped reading"));
            return;
        }
    }
}

fn read_line(
    line: &Line,
    kind: Kind,
    language_refset: bool,
    field_names: &[Box<str>],
    file_index: u32,
    out: &mut Release,
) -> Result<(), Rf2Error> {
    match kind {
        Kind::Concept => out.concepts.push(ConceptRow {
            id: line.id(0)?,
            effective_time: line.date(1)?,
            active: line.flag(2)?,
            module: line.id(3)?,
            primitive: line.id(4)? == PRIMITIVE,
        }),
        Kind::Description => {
            let language = line.fields[5];
            if language.is_empty()
                || !language
                    .bytes()
                    .all(|b| b.is_ascii_alphabetic() || b == b'-')
            {
                return Err(line.bad(5, format!("'{language}' is not a language code")));
            }
            out.descriptions.push(DescriptionRow {
                id: line.id(0)?,
                effective_time: line.date(1)?,
                active: line.flag(2)?,
                module: line.id(3)?,
                concept: line.id(4)?,
                language: language.into(),
                type_id: line.id(6)?,
                term: line.fields[7].into(),
                case_significance: line.id(8)?,
            })
        }
        Kind::Relationship | Kind::Concrete => {
            let target = if matches!(kind, Kind::Relationship) {
                RowTarget::Concept(line.id(5)?)
            } else {
                RowTarget::Concrete(parse_concrete(line.fields[5]).map_err(|m| line.bad(5, m))?)
            };
            let group = line.int(6)?;
            let group = u16::try_from(group)
                .map_err(|_| line.bad(6, format!("'{group}' is not a relationship group")))?;
            out.relationships.push(RelationshipRow {
                id: line.id(0)?,
                effective_time: line.date(1)?,
                active: line.flag(2)?,
                module: line.id(3)?,
                source: line.id(4)?,
                target,
                group,
                type_id: line.id(7)?,
                inferred: line.id(8)? == INFERRED,
                origin: (file_index, line.number as u32),
            })
        }
        Kind::Refset(p) => {
            let effective_time = line.date(1)?;
            let active = line.flag(2)?;
            let module = line.id(3)?;
            let refset = line.id(4)?;
            let referenced = line.id(5)?;
            if language_refset {
                let acceptability = line.id(6)?;
                if acceptability != PREFERRED && acceptability != ACCEPTABLE {
                    return Err(line.bad(6, format!("'{acceptability}' is not an acceptability")));
                }
                if active {
                    out.language.push((
                        refset,
                        referenced,
                        acceptability == PREFERRED,
                        effective_time,
                    ));
                }
                return Ok(());
            }
            let mut fields = Vec::with_capacity(p.len);
            for (k, (letter, name)) in p.letters[..p.len].iter().zip(field_names).enumerate() {
                let col = 6 + k;
                let value = match letter {
                    b'c' => FieldValue::Id(line.id(col)?),
                    b'i' => FieldValue::Integer(line.int(col)?),
                    _ => FieldValue::Text(line.fields[col].into()),
                };
                fields.push((name.clone(), value));
            }
            out.refsets.push(RefsetRow {
                effective_time,
                active,
                module,
                refset,
                referenced,
                fields,
            })
        }
    }
    Ok(())
}

/// `#12`, `#-1.5` (numbers), `"text"` (strings), `true`/`false`.
pub fn parse_concrete(s: &str) -> Result<Concrete, String> {
    if let Some(n) = s.strip_prefix('#') {
        let number: f64 = n
            .parse()
            .map_err(|_| format!("'{s}' is not a concrete number"))?;
        if !number.is_finite() || n.contains(['e', 'E']) || n.is_empty() {
            return Err(format!("'{s}' is not a concrete number"));
        }
        return Ok(Concrete::Number {
            text: n.into(),
            number,
            decimal: n.contains('.'),
        });
    }
    if s.len() >= 2 && s.starts_with('"') && s.ends_with('"') {
        return Ok(Concrete::Text(s[1..s.len() - 1].into()));
    }
    match s {
        "true" => Ok(Concrete::Boolean(true)),
        "false" => Ok(Concrete::Boolean(false)),
        _ => Err(format!(
            "'{s}' is not a concrete value (#number, \"string\", true or false)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_come_from_file_names() {
        let p = pattern_of("der2_cissccRefset_MRCMAttributeDomainSnapshot_INT_20250909.txt");
        assert_eq!(&p.letters[..p.len], b"cisscc");
        let p = pattern_of("der2_Refset_SimpleSnapshot_INT_20250909.txt");
        assert_eq!(p.len, 0);
    }

    #[test]
    fn concrete_values_are_read_as_rf2_writes_them() {
        assert!(
            matches!(parse_concrete("#12"), Ok(Concrete::Number { number, decimal: false, .. }) if number == 12.0)
        );
        assert!(matches!(
            parse_concrete("#0.5"),
            Ok(Concrete::Number { decimal: true, .. })
        ));
        assert_eq!(parse_concrete("\"x y\""), Ok(Concrete::Text("x y".into())));
        assert_eq!(parse_concrete("true"), Ok(Concrete::Boolean(true)));
        assert!(parse_concrete("#").is_err());
        assert!(parse_concrete("#1e9").is_err());
        assert!(parse_concrete("12").is_err());
    }
}
