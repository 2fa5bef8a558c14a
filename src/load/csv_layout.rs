//! The CSV layout: a folder with `catalog.csv` (one row per table) and one UTF-8 CSV per
//! table, named from the table's canonical URL (`CodeSystem-{seg}.csv`, `ValueSet-{seg}.csv`,
//! `{seg}.csv` for an ASS). Columns are described in `data/README.md`; they are matched by
//! name, so their order is free, but an unknown column is refused (it is most likely a typo
//! of an optional one).

use std::collections::{HashMap, HashSet};
use std::path::Path;

use super::{is_date_or_datetime, last_segment, LoadError, Resource};
use crate::model::codesystem::CodeTable;
use crate::model::{
    CodeSystem, Coding, Concept, ConceptMap, ConceptProperty, ConceptReference,
    ConceptSetComponent, Designation, Interner, MapElement, MapGroup, MapTarget, Origin,
    PropertyValue, ResourceMeta, ValueSet,
};

/// The first row of a JDV naming a given system, for the dataset-wide check that the system
/// is known (done in `load_dir`, once every file is read).
#[derive(Debug, Clone)]
pub struct JdvSystemRef {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub system: String,
    /// The JDV's catalog name.
    pub jdv: String,
    /// How many rows of the JDV use this system.
    pub rows: usize,
}

/// What one catalog folder gave: resources, errors, and facts for the dataset-wide checks.
#[derive(Debug, Default)]
pub struct FolderLoad {
    pub resources: Vec<Resource>,
    pub errors: Vec<LoadError>,
    /// URL and `urn:oid:` of every TRE row of the catalog.
    pub declared_systems: Vec<String>,
    pub jdv_refs: Vec<JdvSystemRef>,
}

const CATALOG_COLUMNS: &[&str] = &[
    "name", "kind", "url", "oid", "version", "status", "date", "title", "file", "rows",
];
const TRE_COLUMNS: &[&str] = &[
    "code",
    "display",
    "parent",
    "status",
    "valid_from",
    "valid_to",
    "updated_at",
    "libelle_court",
    "libelle_adapte",
];
const TRE_OPTIONAL: &[&str] = &["description_metier"];
const JDV_COLUMNS: &[&str] = &["system", "code", "display"];
const ASS_COLUMNS: &[&str] = &[
    "source_system",
    "source_code",
    "target_system",
    "target_code",
    "relationship",
];
/// R4 `ConceptMap.group.element.target.equivalence`.
pub const R4_EQUIVALENCES: &[&str] = &[
    "relatedto",
    "equivalent",
    "equal",
    "wider",
    "subsumes",
    "narrower",
    "specializes",
    "inexact",
    "unmatched",
    "disjoint",
];
const PUBLICATION_STATUS: &[&str] = &["draft", "active", "retired", "unknown"];

/// Loads the catalog of `folder` and every table it lists. `rel` is the folder's path
/// relative to the data root (`""` or `"csv/"`), used to name files in errors.
pub fn load_folder(folder: &Path, rel: &str) -> FolderLoad {
    load_from(
        &|name| {
            let path = folder.join(name);
            path.is_file().then(|| std::fs::read(path))
        },
        rel,
    )
}

/// The CSV layout from files in memory (`catalog.csv` and the tables, by file name): the
/// same checks as `load_folder`, without the file system (fuzzing, tests).
pub fn load_files(files: &HashMap<String, Vec<u8>>, rel: &str) -> FolderLoad {
    load_from(&|name| files.get(name).map(|b| Ok(b.clone())), rel)
}

/// A folder's files by name: `None` when there is no such file.
type Source<'a> = dyn Fn(&str) -> Option<std::io::Result<Vec<u8>>> + 'a;

fn load_from(source: &Source, rel: &str) -> FolderLoad {
    let mut out = FolderLoad::default();
    let catalog_name = format!("{rel}catalog.csv");
    let catalog = source("catalog.csv").unwrap_or_else(|| {
        Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "no such file",
        ))
    });
    let rows = match read_table(catalog, &catalog_name, CATALOG_COLUMNS, &[]) {
        Ok(t) => parse_catalog(&t, &mut out.errors),
        Err(es) => {
            out.errors.extend(es);
            return out;
        }
    };
    for row in &rows {
        if row.kind == Kind::Tre {
            out.declared_systems.push(row.url.clone());
            if !row.oid.is_empty() {
                out.declared_systems.push(format!("urn:oid:{}", row.oid));
            }
        }
    }
    for row in &rows {
        load_catalog_row(source, rel, &catalog_name, row, &mut out);
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Tre,
    Jdv,
    Ass,
}

/// One validated row of `catalog.csv`.
#[derive(Debug)]
struct CatalogRow {
    line: usize,
    name: String,
    kind: Kind,
    url: String,
    oid: String,
    version: String,
    status: String,
    date: String,
    title: String,
    file: String,
    rows: usize,
}

impl CatalogRow {
    fn meta(&self, origin: Origin) -> ResourceMeta {
        ResourceMeta {
            id: last_segment(&self.url).to_string(),
            url: self.url.clone(),
            version: non_empty(&self.version),
            name: non_empty(&self.name),
            status: self.status.clone(),
            date: non_empty(&self.date),
            publisher: Some("ANS".to_string()),
            description: non_empty(&self.title),
            oids: non_empty(&self.oid).into_iter().collect(),
            origin,
            ..Default::default()
        }
    }

    /// The table's CSV file name, derived from the last segment of its canonical URL.
    fn csv_name(&self) -> String {
        let seg = last_segment(&self.url);
        match self.kind {
            Kind::Tre => format!("CodeSystem-{seg}.csv"),
            Kind::Jdv => format!("ValueSet-{seg}.csv"),
            Kind::Ass => format!("{seg}.csv"),
        }
    }

    /// A TRE the data names but does not ship (`file` empty, `rows` 0).
    fn is_not_present(&self) -> bool {
        self.file.is_empty() && self.rows == 0
    }
}

fn non_empty(s: &str) -> Option<String> {
    if s.is_empty() {
        None
    } else {
        Some(s.to_string())
    }
}

fn parse_catalog(t: &Table, errors: &mut Vec<LoadError>) -> Vec<CatalogRow> {
    let mut rows = Vec::new();
    for r in &t.rows {
        let mut bad = |col: &str, msg: String| errors.push(t.err(r, col, msg));
        let kind = match t.get(r, "kind") {
            "TRE" => Some(Kind::Tre),
            "JDV" => Some(Kind::Jdv),
            "ASS" => Some(Kind::Ass),
            other => {
                bad(
                    "kind",
                    format!("unknown kind '{other}' (expected TRE, JDV or ASS)"),
                );
                None
            }
        };
        let url = t.get(r, "url");
        if url.is_empty() {
            bad("url", "empty url".into());
        }
        let status = t.get(r, "status");
        if !PUBLICATION_STATUS.contains(&status) {
            bad(
                "status",
                format!("bad status '{status}' (expected draft, active, retired or unknown)"),
            );
        }
        let date = t.get(r, "date");
        if !date.is_empty() && !is_date_or_datetime(date) {
            bad("date", bad_date_message(date, "date"));
        }
        let count = t.get(r, "rows").parse::<usize>();
        if count.is_err() {
            bad(
                "rows",
                format!("bad rows '{}' (expected a number)", t.get(r, "rows")),
            );
        }
        let (Some(kind), Ok(count)) = (kind, count) else {
            continue;
        };
        if url.is_empty() || !PUBLICATION_STATUS.contains(&status) {
            continue;
        }
        rows.push(CatalogRow {
            line: r.line,
            name: t.get(r, "name").to_string(),
            kind,
            url: url.to_string(),
            oid: t.get(r, "oid").to_string(),
            version: t.get(r, "version").to_string(),
            status: status.to_string(),
            date: date.to_string(),
            title: t.get(r, "title").to_string(),
            file: t.get(r, "file").to_string(),
            rows: count,
        });
    }
    rows
}

fn bad_date_message(value: &str, column: &str) -> String {
    format!("bad date '{value}' in column {column} (expected YYYY-MM-DD or a dateTime with seconds and zone, e.g. 2016-05-19T00:00:00+01:00)")
}

/// Column (1-based) of a catalog field, for errors located on the catalog line.
fn catalog_column(name: &str) -> Option<usize> {
    CATALOG_COLUMNS
        .iter()
        .position(|c| *c == name)
        .map(|i| i + 1)
}

fn load_catalog_row(
    source: &Source,
    rel: &str,
    catalog: &str,
    row: &CatalogRow,
    out: &mut FolderLoad,
) {
    let at =
        |col: &str, msg: String| LoadError::new(catalog, Some(row.line), catalog_column(col), msg);
    if row.is_not_present() {
        if row.kind == Kind::Tre {
            out.resources.push(not_present(row, catalog));
        } else {
            out.errors.push(at(
                "file",
                "only a TRE can be declared not-present (empty file and rows 0)".into(),
            ));
        }
        return;
    }
    let csv_name = row.csv_name();
    let Some(bytes) = source(&csv_name) else {
        out.errors.push(at(
            "url",
            format!(
                "no file {csv_name} for {} (named after the url's last segment)",
                row.name
            ),
        ));
        return;
    };
    let file = format!("{rel}{csv_name}");
    let (columns, optional) = match row.kind {
        Kind::Tre => (TRE_COLUMNS, TRE_OPTIONAL),
        Kind::Jdv => (JDV_COLUMNS, &[][..]),
        Kind::Ass => (ASS_COLUMNS, &[][..]),
    };
    let mut table = match read_table(bytes, &file, columns, optional) {
        Ok(t) => t,
        Err(es) => {
            out.errors.extend(es);
            return;
        }
    };
    crate::probe::stage(&format!("csv table {file}"));
    if table.rows.len() != row.rows {
        out.errors.push(at(
            "rows",
            format!(
                "{file} has {} rows, catalog says {}",
                table.rows.len(),
                row.rows
            ),
        ));
    }
    let origin = Origin {
        file: file.clone(),
        line: 1,
    };
    let before = out.errors.len();
    let resource = match row.kind {
        Kind::Tre => Resource::CodeSystem(tre(&mut table, row.meta(origin), &mut out.errors)),
        Kind::Jdv => {
            let (vs, refs) = jdv(&table, row, origin, &mut out.errors);
            out.jdv_refs.extend(refs);
            Resource::ValueSet(vs)
        }
        Kind::Ass => Resource::ConceptMap(ass(&table, row.meta(origin), &mut out.errors)),
    };
    crate::probe::stage(&format!("csv resource {file}"));
    if out.errors.len() == before {
        out.resources.push(resource);
    }
}

/// A TRE declared in the catalog but not shipped: known by URL and OID, no concepts.
fn not_present(row: &CatalogRow, catalog: &str) -> Resource {
    let origin = Origin {
        file: catalog.to_string(),
        line: row.line,
    };
    let mut cs = CodeSystem::new(row.meta(origin), Vec::new());
    cs.content = "not-present".to_string();
    Resource::CodeSystem(cs)
}

/// Builds the CodeSystem of a TRE table; the concepts are exactly those the NOS FHIR JSON
/// export carries (designations and properties in the same order, only when non-empty).
/// The rows are taken out of `t` and each dropped once its concept is made: the table and
/// the concepts are not held whole at once (for a million rows, 0.3 GB less at the peak).
fn tre(t: &mut Table, meta: ResourceMeta, errors: &mut Vec<LoadError>) -> CodeSystem {
    let rows = std::mem::take(&mut t.rows);
    let t = &*t;
    let mut concepts: Vec<Concept> = Vec::with_capacity(rows.len());
    // The line of each concept, and its code → index (compared against the concepts' own
    // codes, so the rows can go).
    let mut lines: Vec<usize> = Vec::with_capacity(rows.len());
    let mut codes = CodeTable::with_capacity(rows.len());
    let mut shared = Interner::default();
    for r in rows {
        let Some(code) = checked_code(t, &r, "code", errors) else {
            continue;
        };
        let parent = t.get(&r, "parent");
        let concept = Concept {
            code: code.to_string(),
            display: non_empty(t.get(&r, "display")),
            designations: Vec::new(),
            properties: Vec::new(),
            parents: non_empty(parent).into_iter().collect(),
            ..Default::default()
        };
        concepts.push(concept);
        if let Some(first) = codes.insert(&concepts, concepts.len() - 1) {
            concepts.pop();
            errors.push(t.err(
                &r,
                "code",
                format!(
                    "duplicate code '{code}' (first at line {})",
                    lines[first as usize]
                ),
            ));
            continue;
        }
        lines.push(r.line);
        if parent == code {
            errors.push(t.err(&r, "parent", format!("concept '{code}' is its own parent")));
        }
        let properties = tre_properties(t, &r, &mut shared, errors);
        check_tre_status(t, &r, errors);
        let designations = tre_designations(t, &r, &mut shared);
        if let Some(c) = concepts.last_mut() {
            c.properties = properties;
            c.designations = designations;
        }
    }
    for (c, line) in concepts.iter().zip(&lines) {
        for parent in &c.parents {
            if *parent != c.code && codes.get(&concepts, parent).is_none() {
                errors.push(t.err_at(
                    *line,
                    "parent",
                    format!("parent code '{parent}' is not in this table"),
                ));
            }
        }
    }
    CodeSystem::new(meta, concepts)
}

/// The code cell: required, and without surrounding spaces (FHIR `code` forbids them).
fn checked_code<'t>(
    t: &'t Table,
    r: &'t Row,
    col: &str,
    errors: &mut Vec<LoadError>,
) -> Option<&'t str> {
    let code = t.get(r, col);
    if code.is_empty() {
        errors.push(t.err(r, col, format!("empty {col}")));
        return None;
    }
    if code.trim() != code {
        errors.push(t.err(
            r,
            col,
            format!("{col} '{code}' has leading or trailing spaces"),
        ));
        return None;
    }
    Some(code)
}

/// NOS designation uses, in the order the FHIR export lists them.
const DESIGNATION_COLUMNS: &[(&str, &str)] = &[
    ("libelle_court", "LibelleCourt"),
    ("libelle_adapte", "LibelleAdapte"),
    ("description_metier", "DescriptionMetier"),
];

fn tre_designations(t: &Table, r: &Row, shared: &mut Interner) -> Vec<Designation> {
    DESIGNATION_COLUMNS
        .iter()
        .filter(|(col, _)| t.has(col))
        .filter_map(|(col, use_code)| {
            non_empty(t.get(r, col)).map(|value| Designation {
                language: None,
                use_: Some(shared.coding(Coding {
                    code: Some(use_code.to_string()),
                    ..Default::default()
                })),
                value,
                extensions: None,
            })
        })
        .collect()
}

/// NOS concept properties, in the order the FHIR export lists them.
const DATE_COLUMNS: &[(&str, &str)] = &[
    ("valid_from", "dateValid"),
    ("valid_to", "dateFin"),
    ("updated_at", "dateMaj"),
];

fn tre_properties(
    t: &Table,
    r: &Row,
    shared: &mut Interner,
    errors: &mut Vec<LoadError>,
) -> Vec<ConceptProperty> {
    let mut props = Vec::new();
    for (col, prop) in DATE_COLUMNS {
        let v = t.get(r, col);
        if v.is_empty() {
            continue;
        }
        if !is_date_or_datetime(v) {
            errors.push(t.err(r, col, bad_date_message(v, col)));
            continue;
        }
        props.push(ConceptProperty {
            code: shared.name(prop),
            value: PropertyValue::DateTime(v.to_string()),
        });
    }
    props
}

/// `status` is redundant with `valid_to` in the NOS (retired = has an end date); a row where
/// they disagree is a mistake, not a choice.
fn check_tre_status(t: &Table, r: &Row, errors: &mut Vec<LoadError>) {
    let ended = !t.get(r, "valid_to").is_empty();
    match t.get(r, "status") {
        "active" if ended => errors.push(t.err(
            r,
            "status",
            "status active but valid_to is set (a concept with an end date is retired)".into(),
        )),
        "retired" if !ended => errors.push(t.err(
            r,
            "status",
            "status retired but valid_to is empty (a retired concept needs its end date)".into(),
        )),
        "active" | "retired" => {}
        other => errors.push(t.err(
            r,
            "status",
            format!("bad status '{other}' (expected active or retired)"),
        )),
    }
}

/// Builds the ValueSet of a JDV: one include per system, in order of first appearance.
fn jdv(
    t: &Table,
    row: &CatalogRow,
    origin: Origin,
    errors: &mut Vec<LoadError>,
) -> (ValueSet, Vec<JdvSystemRef>) {
    let mut vs = ValueSet {
        meta: row.meta(origin),
        ..Default::default()
    };
    let mut refs: Vec<JdvSystemRef> = Vec::new();
    let mut seen: HashMap<(&str, &str), usize> = HashMap::new();
    for r in &t.rows {
        let system = t.get(r, "system");
        if system.is_empty() {
            errors.push(t.err(r, "system", "empty system".into()));
            continue;
        }
        let Some(code) = checked_code(t, r, "code", errors) else {
            continue;
        };
        if let Some(first) = seen.insert((system, code), r.line) {
            errors.push(t.err(
                r,
                "code",
                format!("duplicate member {system}|{code} (first at line {first})"),
            ));
            continue;
        }
        let i = match vs
            .compose
            .include
            .iter()
            .position(|c| c.system.as_deref() == Some(system))
        {
            Some(i) => {
                refs[i].rows += 1;
                i
            }
            None => {
                vs.compose.include.push(ConceptSetComponent {
                    system: Some(system.to_string()),
                    ..Default::default()
                });
                refs.push(JdvSystemRef {
                    file: t.file.clone(),
                    line: r.line,
                    column: t.column("system"),
                    system: system.to_string(),
                    jdv: row.name.clone(),
                    rows: 1,
                });
                vs.compose.include.len() - 1
            }
        };
        vs.compose.include[i].concepts.push(ConceptReference {
            code: code.to_string(),
            display: non_empty(t.get(r, "display")),
            ..Default::default()
        });
    }
    (vs, refs)
}

/// Builds the ConceptMap of an ASS: one group per (source, target) system pair, elements per
/// source code, both in order of first appearance.
fn ass(t: &Table, meta: ResourceMeta, errors: &mut Vec<LoadError>) -> ConceptMap {
    let mut cm = ConceptMap {
        meta,
        ..Default::default()
    };
    let mut seen: HashMap<[&str; 4], usize> = HashMap::new();
    // (source system, target system) → group index; (group, source code) → element index.
    let mut groups: HashMap<(&str, &str), usize> = HashMap::new();
    let mut elements: HashMap<(usize, &str), usize> = HashMap::new();
    for r in &t.rows {
        let Some(m) = ass_row(t, r, errors) else {
            continue;
        };
        let key = [
            m.source_system,
            m.source_code,
            m.target_system,
            m.target_code,
        ];
        if let Some(first) = seen.insert(key, r.line) {
            errors.push(t.err(
                r,
                "source_code",
                format!("duplicate mapping (first at line {first})"),
            ));
            continue;
        }
        let g = *groups
            .entry((m.source_system, m.target_system))
            .or_insert_with(|| {
                cm.groups.push(MapGroup {
                    source: Some(m.source_system.to_string()),
                    target: Some(m.target_system.to_string()),
                    ..Default::default()
                });
                cm.groups.len() - 1
            });
        let group = &mut cm.groups[g];
        let e = *elements.entry((g, m.source_code)).or_insert_with(|| {
            group.elements.push(MapElement {
                code: m.source_code.to_string(),
                ..Default::default()
            });
            group.elements.len() - 1
        });
        group.elements[e].targets.push(MapTarget {
            code: non_empty(m.target_code),
            equivalence: m.relationship.to_string(),
            ..Default::default()
        });
    }
    cm
}

struct AssRow<'a> {
    source_system: &'a str,
    source_code: &'a str,
    target_system: &'a str,
    target_code: &'a str,
    relationship: &'a str,
}

fn ass_row<'t>(t: &'t Table, r: &'t Row, errors: &mut Vec<LoadError>) -> Option<AssRow<'t>> {
    let before = errors.len();
    for col in ["source_system", "target_system"] {
        if t.get(r, col).is_empty() {
            errors.push(t.err(r, col, format!("empty {col}")));
        }
    }
    let source_code = checked_code(t, r, "source_code", errors);
    let relationship = t.get(r, "relationship");
    if !R4_EQUIVALENCES.contains(&relationship) {
        errors.push(t.err(
            r,
            "relationship",
            format!(
                "invalid relationship '{relationship}' (expected an R4 equivalence: {})",
                R4_EQUIVALENCES.join(", ")
            ),
        ));
    }
    let target_code = t.get(r, "target_code");
    // Only "unmatched" may lack a target code (R4 rule cmd-1).
    if target_code.is_empty() && relationship != "unmatched" {
        errors.push(t.err(
            r,
            "target_code",
            "empty target_code (only allowed when unmatched)".into(),
        ));
    }
    if errors.len() != before {
        return None;
    }
    Some(AssRow {
        source_system: t.get(r, "source_system"),
        source_code: source_code?,
        target_system: t.get(r, "target_system"),
        target_code,
        relationship,
    })
}

// ---------------------------------------------------------------------------------------
// Reading a CSV file into rows located by line, with columns matched by name.

struct Row {
    /// 1-based line where the record starts (line 1 is the header).
    line: usize,
    /// The cells end to end, with where each ends: two exact allocations a row, so a
    /// million-row table costs about its size on disk, not three times it.
    text: Box<str>,
    ends: Box<[u32]>,
}

impl Row {
    fn new(line: usize, rec: &csv::StringRecord) -> Row {
        let mut text = String::with_capacity(rec.as_slice().len());
        let mut ends = Vec::with_capacity(rec.len());
        for f in rec {
            text.push_str(f);
            ends.push(text.len() as u32);
        }
        Row {
            line,
            text: text.into_boxed_str(),
            ends: ends.into_boxed_slice(),
        }
    }

    fn field(&self, i: usize) -> Option<&str> {
        let end = *self.ends.get(i)? as usize;
        let start = match i {
            0 => 0,
            _ => self.ends[i - 1] as usize,
        };
        self.text.get(start..end)
    }
}

struct Table {
    file: String,
    /// Column name → index in `fields`.
    columns: HashMap<String, usize>,
    rows: Vec<Row>,
}

impl Table {
    fn has(&self, col: &str) -> bool {
        self.columns.contains_key(col)
    }

    /// The cell, or "" for an optional column that is absent.
    fn get<'a>(&'a self, r: &'a Row, col: &str) -> &'a str {
        self.columns
            .get(col)
            .and_then(|&i| r.field(i))
            .unwrap_or("")
    }

    /// 1-based column of a required column (always present once the header is checked).
    fn column(&self, col: &str) -> usize {
        self.columns.get(col).map_or(0, |i| i + 1)
    }

    fn err(&self, r: &Row, col: &str, message: String) -> LoadError {
        self.err_at(r.line, col, message)
    }

    fn err_at(&self, line: usize, col: &str, message: String) -> LoadError {
        LoadError::new(
            self.file.clone(),
            Some(line),
            self.columns.get(col).map(|i| i + 1),
            message,
        )
    }
}

/// Reads a UTF-8 CSV (BOM allowed) whose header must hold `required` columns and may hold
/// `optional` ones; every record must have as many fields as the header.
fn read_table(
    bytes: std::io::Result<Vec<u8>>,
    file: &str,
    required: &[&str],
    optional: &[&str],
) -> Result<Table, Vec<LoadError>> {
    let bytes = bytes.map_err(|e| {
        vec![LoadError::new(
            file,
            None,
            None,
            format!("cannot read: {e}"),
        )]
    })?;
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(body);
    let mut lines = LineCounter::new(body);
    let mut records = reader.records();
    let header = match records.next() {
        Some(Ok(h)) => h,
        Some(Err(e)) => return Err(vec![csv_error(file, &e, &mut lines)]),
        None => {
            return Err(vec![LoadError::new(
                file,
                Some(1),
                None,
                "empty file: expected a header line",
            )])
        }
    };
    let header: Vec<String> = header.iter().map(str::to_string).collect();
    let columns = resolve_columns(file, &header, required, optional)?;
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    for rec in records {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                // The reader cannot be trusted past a broken record; report and stop.
                errors.push(csv_error(file, &e, &mut lines));
                break;
            }
        };
        let line = rec.position().map_or(0, |p| lines.line_at(p.byte()));
        if rec.len() != header.len() {
            errors.push(LoadError::new(
                file,
                Some(line),
                Some(rec.len().min(header.len()) + 1),
                format!("expected {} fields, found {}", header.len(), rec.len()),
            ));
            continue;
        }
        rows.push(Row::new(line, &rec));
    }
    if errors.is_empty() {
        Ok(Table {
            file: file.to_string(),
            columns,
            rows,
        })
    } else {
        Err(errors)
    }
}

fn resolve_columns(
    file: &str,
    header: &[String],
    required: &[&str],
    optional: &[&str],
) -> Result<HashMap<String, usize>, Vec<LoadError>> {
    let mut errors = Vec::new();
    let mut columns = HashMap::new();
    let mut seen = HashSet::new();
    for (i, name) in header.iter().enumerate() {
        if !required.contains(&name.as_str()) && !optional.contains(&name.as_str()) {
            errors.push(LoadError::new(
                file,
                Some(1),
                Some(i + 1),
                format!("unknown column '{name}'"),
            ));
        } else if !seen.insert(name.as_str()) {
            errors.push(LoadError::new(
                file,
                Some(1),
                Some(i + 1),
                format!("column '{name}' appears twice"),
            ));
        } else {
            columns.insert(name.clone(), i);
        }
    }
    for name in required {
        if !columns.contains_key(*name) {
            errors.push(LoadError::new(
                file,
                Some(1),
                None,
                format!("missing column '{name}' in header '{}'", header.join(",")),
            ));
        }
    }
    if errors.is_empty() {
        Ok(columns)
    } else {
        Err(errors)
    }
}

fn csv_error(file: &str, e: &csv::Error, lines: &mut LineCounter) -> LoadError {
    let line = e.position().map(|p| lines.line_at(p.byte()));
    match e.kind() {
        csv::ErrorKind::Utf8 { err, .. } => LoadError::new(
            file,
            line,
            Some(err.field() + 1),
            "invalid UTF-8 (CSV files must be UTF-8)",
        ),
        _ => LoadError::new(file, line, None, e.to_string()),
    }
}

/// Line numbers from byte offsets. The csv crate's own `Position::line` is one short after a
/// CRLF (it counts the `\n` only when the next record starts), and the NOS CSVs are CRLF.
struct LineCounter<'a> {
    text: &'a [u8],
    offset: usize,
    line: usize,
}

impl<'a> LineCounter<'a> {
    fn new(text: &'a [u8]) -> Self {
        LineCounter {
            text,
            offset: 0,
            line: 1,
        }
    }

    /// 1-based line of the record starting at `byte` (offsets must not decrease). A record
    /// position may point at the end of the previous line: line breaks there are skipped.
    fn line_at(&mut self, byte: u64) -> usize {
        let mut target = usize::try_from(byte)
            .unwrap_or(usize::MAX)
            .min(self.text.len());
        while target < self.text.len() && matches!(self.text[target], b'\r' | b'\n') {
            target += 1;
        }
        if target >= self.offset {
            self.line += self.text[self.offset..target]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            self.offset = target;
        }
        self.line
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::path::PathBuf;

    /// A fresh folder under the system temp dir, removed when dropped.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(tag: &str) -> Self {
            let p = std::env::temp_dir().join(format!("nosterm-csv-{tag}-{}", std::process::id()));
            let _ = fs::remove_dir_all(&p);
            fs::create_dir_all(&p).unwrap();
            TempDir(p)
        }
        fn write(&self, name: &str, text: &str) {
            fs::write(self.0.join(name), text).unwrap();
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    const CAT_HEAD: &str = "name,kind,url,oid,version,status,date,title,file,rows\n";
    const TRE_HEAD: &str =
        "code,display,parent,status,valid_from,valid_to,updated_at,libelle_court,libelle_adapte\n";

    fn catalog_row(name: &str, kind: &str, seg: &str, rows: usize) -> String {
        format!("{name},{kind},http://x/{seg},1.2.3,1,active,2020-01-01,T,,{rows}\n")
    }

    fn messages(out: &FolderLoad) -> Vec<String> {
        out.errors.iter().map(|e| e.to_string()).collect()
    }

    #[test]
    fn tre_row_becomes_concept() {
        let d = TempDir::new("tre");
        d.write(
            "catalog.csv",
            &format!("{CAT_HEAD}{}", catalog_row("T", "TRE", "T-1", 2)),
        );
        d.write(
            "CodeSystem-T-1.csv",
            &format!("{TRE_HEAD}a,A,,active,2016-05-19T00:00:00+01:00,,2016-05-19,Ac,\nb,B,a,retired,,2020-01-01,,,Bb\n"),
        );
        let out = load_folder(&d.0, "sub/");
        assert!(out.errors.is_empty(), "{:?}", messages(&out));
        let Resource::CodeSystem(cs) = &out.resources[0] else {
            panic!()
        };
        assert_eq!(cs.meta.id, "T-1");
        assert_eq!(cs.meta.oids, vec!["1.2.3"]);
        assert_eq!(cs.meta.origin.file, "sub/CodeSystem-T-1.csv");
        let a = &cs.concepts[0];
        assert_eq!(a.designations.len(), 1);
        assert_eq!(
            a.designations[0].use_.as_ref().unwrap().code.as_deref(),
            Some("LibelleCourt")
        );
        assert_eq!(
            a.properties.iter().map(|p| &*p.code).collect::<Vec<_>>(),
            ["dateValid", "dateMaj"]
        );
        let b = &cs.concepts[1];
        assert!(b.is_inactive());
        assert_eq!(b.parents, vec!["a"]);
        assert_eq!(
            b.designations[0].use_.as_ref().unwrap().code.as_deref(),
            Some("LibelleAdapte")
        );
        assert_eq!(out.declared_systems, vec!["http://x/T-1", "urn:oid:1.2.3"]);
    }

    #[test]
    fn row_errors_are_located() {
        let d = TempDir::new("rowerr");
        d.write(
            "catalog.csv",
            &format!("{CAT_HEAD}{}", catalog_row("T", "TRE", "T", 7)),
        );
        d.write(
            "CodeSystem-T.csv",
            &format!(
                "{TRE_HEAD}a,A,,active,,,,,\na,A2,,active,,,,,\n,E,,active,,,,,\nc,C,zz,retired,,,,,\nd,D,,active,2020-02-30,,,,\ne,E,e,active,,,,,\nf,F,a,active,,,,,\n"
            ),
        );
        let out = load_folder(&d.0, "");
        assert_eq!(
            messages(&out),
            [
                "CodeSystem-T.csv:3:1: duplicate code 'a' (first at line 2)",
                "CodeSystem-T.csv:4:1: empty code",
                "CodeSystem-T.csv:5:4: status retired but valid_to is empty (a retired concept needs its end date)",
                "CodeSystem-T.csv:6:5: bad date '2020-02-30' in column valid_from (expected YYYY-MM-DD or a dateTime with seconds and zone, e.g. 2016-05-19T00:00:00+01:00)",
                "CodeSystem-T.csv:7:3: concept 'e' is its own parent",
                "CodeSystem-T.csv:5:3: parent code 'zz' is not in this table",
            ]
        );
        assert!(out.resources.is_empty());
    }

    #[test]
    fn crlf_and_blank_lines_keep_exact_line_numbers() {
        let d = TempDir::new("crlf");
        d.write(
            "catalog.csv",
            &format!("{CAT_HEAD}{}", catalog_row("T", "TRE", "T", 2)).replace('\n', "\r\n"),
        );
        d.write(
            "CodeSystem-T.csv",
            &format!("{TRE_HEAD}\"a\",\"A\nsur deux lignes\",,active,,,,,\n\na,A,,active,,,,,\n")
                .replace('\n', "\r\n"),
        );
        let out = load_folder(&d.0, "");
        assert_eq!(
            messages(&out),
            ["CodeSystem-T.csv:5:1: duplicate code 'a' (first at line 2)"]
        );
    }

    #[test]
    fn catalog_errors_are_located() {
        let d = TempDir::new("caterr");
        d.write(
            "catalog.csv",
            &format!(
                "{CAT_HEAD}{}{}{}",
                catalog_row("A", "XYZ", "A", 1),
                catalog_row("B", "JDV", "B", 1),
                catalog_row("C", "JDV", "C", 0)
            ),
        );
        d.write("ValueSet-B.csv", "system,code\nhttp://s,1\n");
        let out = load_folder(&d.0, "");
        assert_eq!(
            messages(&out),
            [
                "catalog.csv:2:2: unknown kind 'XYZ' (expected TRE, JDV or ASS)",
                "ValueSet-B.csv:1: missing column 'display' in header 'system,code'",
                "catalog.csv:4:9: only a TRE can be declared not-present (empty file and rows 0)",
            ]
        );
    }

    #[test]
    fn missing_csv_and_row_count() {
        let d = TempDir::new("count");
        d.write(
            "catalog.csv",
            &format!(
                "{CAT_HEAD}{}{}",
                catalog_row("A", "TRE", "A", 1),
                catalog_row("B", "JDV", "B", 3)
            ),
        );
        d.write("ValueSet-B.csv", "system,code,display\nhttp://s,1,Un\n");
        let out = load_folder(&d.0, "");
        assert_eq!(
            messages(&out),
            [
                "catalog.csv:2:3: no file CodeSystem-A.csv for A (named after the url's last segment)",
                "catalog.csv:3:10: ValueSet-B.csv has 1 rows, catalog says 3",
            ]
        );
    }

    #[test]
    fn jdv_groups_by_system_and_ass_by_pair() {
        let d = TempDir::new("jdvass");
        d.write(
            "catalog.csv",
            &format!(
                "{CAT_HEAD}{}{}",
                catalog_row("J", "JDV", "J", 3),
                catalog_row("X", "ASS", "X", 3)
            ),
        );
        d.write(
            "ValueSet-J.csv",
            "system,code,display\nhttp://s,1,Un\nhttp://t,2,\nhttp://s,3,Trois\n",
        );
        d.write(
            "X.csv",
            "source_system,source_code,target_system,target_code,relationship\ns,1,t,a,equivalent\ns,1,t,b,wider\nu,2,t,a,equivalent\n",
        );
        let out = load_folder(&d.0, "");
        assert!(out.errors.is_empty(), "{:?}", messages(&out));
        let Resource::ValueSet(vs) = &out.resources[0] else {
            panic!()
        };
        assert_eq!(vs.compose.include.len(), 2);
        assert_eq!(vs.compose.include[0].concepts.len(), 2);
        assert_eq!(vs.compose.include[1].concepts[0].display, None);
        assert_eq!(out.jdv_refs.len(), 2);
        assert_eq!((out.jdv_refs[0].line, out.jdv_refs[0].rows), (2, 2));
        let Resource::ConceptMap(cm) = &out.resources[1] else {
            panic!()
        };
        assert_eq!(cm.groups.len(), 2);
        assert_eq!(cm.groups[0].elements.len(), 1);
        assert_eq!(cm.groups[0].elements[0].targets.len(), 2);
        assert_eq!(cm.groups[0].elements[0].targets[1].equivalence, "wider");
    }

    #[test]
    fn bad_relationship_is_refused() {
        let d = TempDir::new("rel");
        d.write(
            "catalog.csv",
            &format!("{CAT_HEAD}{}", catalog_row("X", "ASS", "X", 1)),
        );
        d.write(
            "X.csv",
            "source_system,source_code,target_system,target_code,relationship\ns,1,t,a,source-is-narrower-than-target\n",
        );
        let out = load_folder(&d.0, "");
        assert!(messages(&out)[0]
            .starts_with("X.csv:2:5: invalid relationship 'source-is-narrower-than-target'"));
    }

    #[test]
    fn not_present_row() {
        let d = TempDir::new("np");
        d.write(
            "catalog.csv",
            &format!("{CAT_HEAD}{}", catalog_row("L", "TRE", "L", 0)),
        );
        let out = load_folder(&d.0, "");
        assert!(out.errors.is_empty());
        let Resource::CodeSystem(cs) = &out.resources[0] else {
            panic!()
        };
        assert_eq!(cs.content, "not-present");
        assert_eq!(cs.meta.description.as_deref(), Some("T"));
        assert_eq!(
            cs.meta.origin,
            Origin {
                file: "catalog.csv".into(),
                line: 2
            }
        );
    }
}
