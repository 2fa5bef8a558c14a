//! Loading: every supported file under a data folder becomes domain resources, or a list of
//! precise errors (`file:line[:column]: message`). Nothing here knows about HTTP.
//!
//! Formats, one module each:
//! - `csv_layout`: `catalog.csv` + one CSV per table (TRE, JDV, ASS)
//! - `tabs`: ANS `.tabs` files (`;`-separated, UTF-8 or ISO-8859-1)
//! - `fhir_json`: FHIR R4 JSON resources and Bundles (also used for `tx-resource`)
//! - `svs`: IHE SVS XML value sets (the CI-SIS JDVs as CDA validators use them)
//! - `oid_registry`: `oid-registry.csv`, canonical URLs of external systems known by OID

pub mod csv_layout;
pub mod fhir_core;
pub mod fhir_json;
pub mod oid_registry;
pub mod svs;
pub mod tabs;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::fs;
use std::path::Path;
use std::sync::Arc;

use crate::snomed::rf2::Release;
use crate::snomed::Edition;

use crate::model::{CodeSystem, ConceptMap, Origin, ResourceMeta, ValueSet};

/// One problem found while loading, located as precisely as the format allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    pub file: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

impl LoadError {
    pub fn new(
        file: impl Into<String>,
        line: Option<usize>,
        column: Option<usize>,
        message: impl Into<String>,
    ) -> Self {
        LoadError {
            file: file.into(),
            line,
            column,
            message: message.into(),
        }
    }
}

impl fmt::Display for LoadError {
    /// `file:line[:column]: message`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
            if let Some(c) = self.column {
                write!(f, ":{c}")?;
            }
        }
        write!(f, ": {}", self.message)
    }
}

/// A resource read from a file.
#[derive(Debug, Clone)]
pub enum Resource {
    CodeSystem(CodeSystem),
    ValueSet(ValueSet),
    ConceptMap(ConceptMap),
    /// A NamingSystem (or any other source) stating that `oid` names the resource `url`.
    Alias {
        oid: String,
        url: String,
    },
}

impl Resource {
    /// The FHIR resource type, for messages (`NamingSystem` for aliases).
    pub fn type_name(&self) -> &'static str {
        match self {
            Resource::CodeSystem(_) => "CodeSystem",
            Resource::ValueSet(_) => "ValueSet",
            Resource::ConceptMap(_) => "ConceptMap",
            Resource::Alias { .. } => "NamingSystem",
        }
    }

    /// The shared metadata (`None` for aliases, which have none).
    pub fn meta(&self) -> Option<&ResourceMeta> {
        match self {
            Resource::CodeSystem(r) => Some(&r.meta),
            Resource::ValueSet(r) => Some(&r.meta),
            Resource::ConceptMap(r) => Some(&r.meta),
            Resource::Alias { .. } => None,
        }
    }

    /// The shared metadata, to change (aliases have none).
    pub fn meta_mut(&mut self) -> Option<&mut ResourceMeta> {
        match self {
            Resource::CodeSystem(r) => Some(&mut r.meta),
            Resource::ValueSet(r) => Some(&mut r.meta),
            Resource::ConceptMap(r) => Some(&mut r.meta),
            Resource::Alias { .. } => None,
        }
    }

    /// Records where the resource was read (aliases carry no origin).
    pub fn set_origin(&mut self, origin: Origin) {
        if let Some(m) = self.meta_mut() {
            m.origin = origin;
        }
    }
}

/// Whether two resources say the same thing: everything is compared except what depends on
/// the file it came from (`meta.origin`, `meta.id`) and the uninterpreted `meta.extensions`
/// (the NOS JSON carries an effective-period extension the CSV layout cannot express).
pub fn same_content(a: &Resource, b: &Resource) -> bool {
    match (normalized(a), normalized(b)) {
        (Resource::CodeSystem(x), Resource::CodeSystem(y)) => x == y,
        (Resource::ValueSet(x), Resource::ValueSet(y)) => x == y,
        (Resource::ConceptMap(x), Resource::ConceptMap(y)) => x == y,
        (Resource::Alias { oid: o1, url: u1 }, Resource::Alias { oid: o2, url: u2 }) => {
            o1 == o2 && u1 == u2
        }
        _ => false,
    }
}

/// A copy without the fields `same_content` ignores. Cloning is fine: it only happens for
/// resources defined twice, which is rare.
fn normalized(r: &Resource) -> Resource {
    let mut r = r.clone();
    if let Some(m) = r.meta_mut() {
        m.origin = Origin::default();
        m.id.clear();
        m.extensions.clear();
    }
    r
}

/// Everything loaded from a data folder.
#[derive(Debug, Clone, Default)]
pub struct Dataset {
    pub code_systems: Vec<CodeSystem>,
    pub value_sets: Vec<ValueSet>,
    pub concept_maps: Vec<ConceptMap>,
    /// (oid, url) pairs from NamingSystem resources and OID registries.
    pub aliases: Vec<(String, String)>,
    /// Problems that do not stop the load (e.g. a member listed twice in an SVS file),
    /// `file:line[:column]: message` like errors.
    pub warnings: Vec<LoadError>,
    /// SNOMED CT editions built from the RF2 releases of the folder.
    pub editions: Vec<Arc<Edition>>,
}

/// How a data folder is read beyond its files.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// SNOMED CT modules whose releases an operator marked unpublished: their editions are
    /// named `http://snomed.info/xsct/…`.
    pub sct_unpublished: Vec<u64>,
}

impl Dataset {
    pub fn concept_count(&self) -> usize {
        self.code_systems.iter().map(|c| c.concepts.len()).sum()
    }
}

/// Loads every supported file under `dir`, recursively. All errors are collected; if there
/// is any, nothing is returned (a load is accepted or refused as a whole).
///
/// `dir` may also be a single file, loaded alone. File names in errors and origins are
/// relative to `dir`, with `/` separators.
pub fn load_dir(dir: &Path) -> Result<Dataset, Vec<LoadError>> {
    load_dir_with(dir, &LoadOptions::default())
}

/// `load_dir` with options.
pub fn load_dir_with(dir: &Path, options: &LoadOptions) -> Result<Dataset, Vec<LoadError>> {
    let mut acc = Collected {
        options: options.clone(),
        ..Collected::default()
    };
    let meta = fs::metadata(dir).map_err(|e| {
        vec![LoadError::new(
            dir.display().to_string(),
            None,
            None,
            format!("cannot read: {e}"),
        )]
    })?;
    if meta.is_dir() {
        walk(dir, "", 0, &mut acc);
    } else {
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| dir.display().to_string());
        load_file(dir, &name, &mut acc);
    }
    acc.finish()
}

/// What the walk gathered, before the dataset-wide checks.
#[derive(Default)]
struct Collected {
    resources: Vec<Resource>,
    errors: Vec<LoadError>,
    /// System URLs/`urn:oid:`s declared by catalogs, known even if their table failed.
    declared_systems: HashSet<String>,
    jdv_refs: Vec<csv_layout::JdvSystemRef>,
    warnings: Vec<LoadError>,
    /// RF2 release folders read, built into editions at the end.
    releases: Vec<Release>,
    options: LoadOptions,
}

/// The SNOMED CT editions of every RF2 release under `dir` (nothing else is read): what a
/// release read from its snapshot file adds (the snapshot file keeps no edition).
pub fn load_editions(
    dir: &Path,
    options: &LoadOptions,
) -> Result<Vec<Arc<Edition>>, Vec<LoadError>> {
    let mut releases = Vec::new();
    let mut errors = Vec::new();
    find_releases(dir, "", 0, &mut releases, &mut errors);
    if !errors.is_empty() {
        return Err(errors);
    }
    build_editions(&releases, options)
}

fn find_releases(
    dir: &Path,
    rel: &str,
    depth: usize,
    releases: &mut Vec<Release>,
    errors: &mut Vec<LoadError>,
) {
    if depth > MAX_DEPTH {
        return;
    }
    if crate::snomed::rf2::is_release(dir) {
        match crate::snomed::rf2::read_release(dir, rel) {
            Ok(r) => releases.push(r),
            Err(es) => errors.extend(es.into_iter().map(rf2_error)),
        }
        return;
    }
    let Ok(rd) = fs::read_dir(dir) else { return };
    let mut entries: Vec<(String, std::path::PathBuf)> = rd
        .filter_map(|e| e.ok())
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
        .filter(|(name, p)| !name.starts_with('.') && p.is_dir())
        .collect();
    entries.sort();
    for (name, path) in entries {
        find_releases(&path, &format!("{rel}{name}/"), depth + 1, releases, errors);
    }
}

fn build_editions(
    releases: &[Release],
    options: &LoadOptions,
) -> Result<Vec<Arc<Edition>>, Vec<LoadError>> {
    Edition::build_all(releases, &options.sct_unpublished)
        .map(|eds| eds.into_iter().map(Arc::new).collect())
        .map_err(|es| es.into_iter().map(rf2_error).collect())
}

fn rf2_error(e: crate::snomed::rf2::Rf2Error) -> LoadError {
    LoadError::new(e.file, e.line, e.column, e.message)
}

/// Deep enough for any sane data tree, and a stop for symlink loops.
const MAX_DEPTH: usize = 32;

fn walk(dir: &Path, rel: &str, depth: usize, acc: &mut Collected) {
    if depth > MAX_DEPTH {
        acc.errors.push(LoadError::new(
            rel,
            None,
            None,
            "folder nesting too deep (symlink loop?)",
        ));
        return;
    }
    let mut entries: Vec<(String, std::path::PathBuf)> = match fs::read_dir(dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok())
            .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
            // Hidden entries (.git, editor files) are never data.
            .filter(|(name, _)| !name.starts_with('.'))
            .collect(),
        Err(e) => {
            acc.errors.push(LoadError::new(
                display_rel(rel, dir),
                None,
                None,
                format!("cannot read folder: {e}"),
            ));
            return;
        }
    };
    entries.sort();
    // An RF2 release folder is one SNOMED CT release: read whole, nothing in it is NOS data.
    if crate::snomed::rf2::is_release(dir) {
        match crate::snomed::rf2::read_release(dir, rel) {
            Ok(r) => acc.releases.push(r),
            Err(es) => acc.errors.extend(es.into_iter().map(rf2_error)),
        }
        return;
    }
    if entries
        .iter()
        .any(|(n, p)| n == "catalog.csv" && p.is_file())
    {
        let out = csv_layout::load_folder(dir, rel);
        acc.resources.extend(out.resources);
        acc.errors.extend(out.errors);
        acc.declared_systems.extend(out.declared_systems);
        acc.jdv_refs.extend(out.jdv_refs);
    }
    for (name, path) in entries {
        let child = format!("{rel}{name}");
        // `metadata` follows symlinks, so a linked folder or file is loaded like a real one.
        match fs::metadata(&path) {
            Ok(m) if m.is_dir() => walk(&path, &format!("{child}/"), depth + 1, acc),
            Ok(_) => load_file(&path, &child, acc),
            Err(e) => acc.errors.push(LoadError::new(
                child,
                None,
                None,
                format!("cannot read: {e}"),
            )),
        }
    }
}

fn display_rel(rel: &str, dir: &Path) -> String {
    if rel.is_empty() {
        dir.display().to_string()
    } else {
        rel.trim_end_matches('/').to_string()
    }
}

/// Loads one file by extension; CSV files are handled per folder (see `walk`).
fn load_file(path: &Path, name: &str, acc: &mut Collected) {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let registry = ext == "csv" && oid_registry::is_registry(&file_name);
    if ext != "tabs" && ext != "json" && ext != "xml" && !registry {
        return;
    }
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            acc.errors.push(LoadError::new(
                name,
                None,
                None,
                format!("cannot read: {e}"),
            ));
            return;
        }
    };
    let result = if registry {
        oid_registry::parse_registry(&bytes, name)
    } else if ext == "xml" {
        svs::parse_svs(&bytes, name).map(|f| {
            acc.warnings.extend(f.warnings);
            f.value_sets.into_iter().map(Resource::ValueSet).collect()
        })
    } else if ext == "tabs" {
        tabs::parse_tabs(&bytes, name).map(|r| vec![r])
    } else {
        fhir_json::parse_file(&bytes, name)
    };
    match result {
        Ok(rs) => acc.resources.extend(rs),
        Err(es) => acc.errors.extend(es),
    }
}

impl Collected {
    /// Dataset-wide checks (duplicates, JDV systems), then all-or-nothing.
    fn finish(mut self) -> Result<Dataset, Vec<LoadError>> {
        let mut resources = std::mem::take(&mut self.resources);
        self.warnings.extend(adopt_canonical_urls(&mut resources));
        let (mut data, dup_errors) = dedup(resources);
        self.errors.extend(dup_errors);
        self.warnings.extend(resolve_svs_systems(&mut data));
        self.errors.extend(check_jdv_systems(
            &data,
            &self.declared_systems,
            &self.jdv_refs,
        ));
        if self.errors.is_empty() {
            match build_editions(&self.releases, &self.options) {
                Ok(eds) => data.editions = eds,
                Err(es) => return Err(es),
            }
        }
        if self.errors.is_empty() {
            data.warnings = self.warnings;
            Ok(data)
        } else {
            Err(self.errors)
        }
    }
}

/// Whether a resource was read from an IHE SVS file.
fn is_svs_born(meta: &ResourceMeta) -> bool {
    meta.origin.file.to_ascii_lowercase().ends_with(".xml")
}

/// An SVS value set takes the canonical URL of the FHIR-born value set with the same OID
/// (its `urlFichier` may not give it: JDV_J246's published URL keeps a `.tabs`), so the two
/// are versions of one value set. Each such change is a warning naming both places.
fn adopt_canonical_urls(resources: &mut [Resource]) -> Vec<LoadError> {
    let mut by_oid: HashMap<String, (String, Origin)> = HashMap::new();
    for r in resources.iter() {
        if let Resource::ValueSet(vs) = r {
            if !is_svs_born(&vs.meta) {
                for oid in &vs.meta.oids {
                    by_oid
                        .entry(oid.clone())
                        .or_insert_with(|| (vs.meta.url.clone(), vs.meta.origin.clone()));
                }
            }
        }
    }
    let mut warnings = Vec::new();
    for r in resources.iter_mut() {
        let Resource::ValueSet(vs) = r else { continue };
        if !is_svs_born(&vs.meta) {
            continue;
        }
        let found = vs.meta.oids.iter().find_map(|o| by_oid.get(o));
        if let Some((url, origin)) = found {
            if *url != vs.meta.url {
                warnings.push(LoadError::new(
                    vs.meta.origin.file.clone(),
                    Some(vs.meta.origin.line),
                    None,
                    format!(
                        "value set {} has url {} but {}:{} gives its OID the url {url}; {url} is used",
                        vs.meta.oids.join(", "),
                        vs.meta.url,
                        origin.file,
                        origin.line
                    ),
                ));
                vs.meta.url = url.clone();
            }
        }
    }
    warnings
}

/// SVS members name their code system by OID (`urn:oid:X`): each include takes the
/// canonical URL of the code system (or registry entry) with that OID, when there is one.
/// A code system OID that is also a value set's OID (and no code system's) is a warning.
fn resolve_svs_systems(data: &mut Dataset) -> Vec<LoadError> {
    let vs_oids: HashMap<String, (String, Origin)> = data
        .value_sets
        .iter()
        .flat_map(|v| {
            v.meta
                .oids
                .iter()
                .map(move |o| (o.clone(), (v.meta.url.clone(), v.meta.origin.clone())))
        })
        .collect();
    let mut warnings = Vec::new();
    let mut urls: HashMap<String, String> = HashMap::new();
    for cs in &data.code_systems {
        for oid in &cs.meta.oids {
            urls.entry(oid.clone())
                .or_insert_with(|| cs.meta.url.clone());
        }
    }
    for (oid, url) in &data.aliases {
        urls.entry(oid.clone()).or_insert_with(|| url.clone());
    }
    for vs in data.value_sets.iter_mut().filter(|v| is_svs_born(&v.meta)) {
        for inc in &mut vs.compose.include {
            let url = inc
                .system
                .as_deref()
                .and_then(|s| s.strip_prefix("urn:oid:"))
                .and_then(|oid| urls.get(oid));
            if let Some(url) = url {
                inc.system = Some(url.clone());
                continue;
            }
            let oid = inc
                .system
                .as_deref()
                .and_then(|s| s.strip_prefix("urn:oid:"));
            if let Some((vs_url, origin)) = oid.and_then(|o| vs_oids.get(o)) {
                warnings.push(LoadError::new(
                    vs.meta.origin.file.clone(),
                    Some(vs.meta.origin.line),
                    None,
                    format!(
                        "code system OID {} of {} members is the OID of value set {vs_url} ({}:{}), not of a code system; membership is decided by the value set",
                        oid.unwrap_or_default(),
                        inc.concepts.len(),
                        origin.file,
                        origin.line
                    ),
                ));
            }
        }
    }
    warnings
}

/// Builds the dataset keeping one copy of each `type url|version`: an identical second
/// definition is dropped, a different one is an error naming both places.
fn dedup(resources: Vec<Resource>) -> (Dataset, Vec<LoadError>) {
    let mut data = Dataset::default();
    let mut errors = Vec::new();
    let mut kept: Vec<Resource> = Vec::with_capacity(resources.len());
    // (type, url|version) → index in `kept` of the first resource with that key.
    let mut first: HashMap<(&'static str, String), usize> = HashMap::new();
    let mut aliases_seen = HashSet::new();
    for r in resources {
        let (kind, key, origin) = match &r {
            Resource::Alias { oid, url } => {
                if aliases_seen.insert((oid.clone(), url.clone())) {
                    data.aliases.push((oid.clone(), url.clone()));
                }
                continue;
            }
            other => match other.meta() {
                Some(m) => (other.type_name(), m.versioned_url(), m.origin.clone()),
                None => continue,
            },
        };
        if key.is_empty() || key.starts_with('|') {
            errors.push(LoadError::new(
                origin.file,
                Some(origin.line),
                None,
                format!("{kind} has no url"),
            ));
            continue;
        }
        match first.get(&(kind, key.clone())) {
            Some(&i) => {
                if !same_content(&kept[i], &r) {
                    let p = kept[i].meta().map(|m| m.origin.clone()).unwrap_or_default();
                    errors.push(LoadError::new(
                        p.file,
                        Some(p.line),
                        None,
                        format!(
                            "{kind} {key} also defined with different content in {}:{}",
                            origin.file, origin.line
                        ),
                    ));
                }
            }
            None => {
                first.insert((kind, key), kept.len());
                kept.push(r);
            }
        }
    }
    for r in kept {
        push_resource(&mut data, r);
    }
    (data, errors)
}

fn push_resource(data: &mut Dataset, r: Resource) {
    match r {
        Resource::CodeSystem(cs) => data.code_systems.push(cs),
        Resource::ValueSet(vs) => data.value_sets.push(vs),
        Resource::ConceptMap(cm) => data.concept_maps.push(cm),
        Resource::Alias { oid, url } => data.aliases.push((oid, url)),
    }
}

/// Every `system` of a CSV-layout JDV must name a code system of the dataset (by URL or
/// `urn:oid:`), an alias, or one declared in a catalog. One error per (JDV, system), at its
/// first row, so a missing table does not bury the report under one line per member.
fn check_jdv_systems(
    data: &Dataset,
    declared: &HashSet<String>,
    refs: &[csv_layout::JdvSystemRef],
) -> Vec<LoadError> {
    let mut known: HashSet<&str> = declared.iter().map(String::as_str).collect();
    let oid_urns: Vec<String> = data
        .code_systems
        .iter()
        .flat_map(|cs| cs.meta.oids.iter().map(|o| format!("urn:oid:{o}")))
        .chain(data.aliases.iter().map(|(o, _)| format!("urn:oid:{o}")))
        .collect();
    known.extend(oid_urns.iter().map(String::as_str));
    known.extend(data.code_systems.iter().map(|cs| cs.meta.url.as_str()));
    refs.iter()
        .filter(|r| !known.contains(r.system.as_str()))
        .map(|r| {
            let more = if r.rows > 1 {
                format!(" ({} rows)", r.rows)
            } else {
                String::new()
            };
            LoadError::new(
                r.file.clone(),
                Some(r.line),
                Some(r.column),
                format!("unknown system {} in JDV {}{more}", r.system, r.jdv),
            )
        })
        .collect()
}

/// The last path segment of a URL (`…/FHIR/TRE-A08-HL7Confidentiality` → `TRE-A08-…`).
pub(crate) fn last_segment(url: &str) -> &str {
    let url = url.trim_end_matches('/');
    url.rsplit('/').next().unwrap_or(url)
}

/// FHIR `date` limited to `YYYY-MM-DD`, or a full `dateTime` with seconds and a zone
/// (`2016-05-19T00:00:00+01:00`, fractions allowed): what the NOS tables publish. Partial
/// dates are refused on purpose: in a table they are a typo, not a precision.
pub(crate) fn is_date_or_datetime(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 10 || !is_ymd(&b[..10]) {
        return false;
    }
    if b.len() == 10 {
        return true;
    }
    if b[10] != b'T' || b.len() < 19 || !is_hms(&b[11..19]) {
        return false;
    }
    let mut rest = &b[19..];
    if rest.first() == Some(&b'.') {
        let digits = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return false;
        }
        rest = &rest[1 + digits..];
    }
    match rest {
        [b'Z'] => true,
        [sign, h1, h2, b':', m1, m2] if *sign == b'+' || *sign == b'-' => {
            let hh = two_digits(*h1, *h2);
            let mm = two_digits(*m1, *m2);
            matches!((hh, mm), (Some(h), Some(m)) if h <= 14 && m < 60)
        }
        _ => false,
    }
}

/// FHIR `dateTime` (`date` when `time` is false): a year, a month, a day, then, for a
/// `dateTime`, a time with seconds and a zone. Resources from FHIR JSON may be partial, as the
/// spec allows; the tables' stricter rule is [`is_date_or_datetime`].
pub(crate) fn is_fhir_date(s: &str, time: bool) -> bool {
    let b = s.as_bytes();
    let year = |y: &[u8]| y.len() == 4 && y.iter().all(u8::is_ascii_digit);
    match b.len() {
        4 => year(b),
        7 => year(&b[..4]) && b[4] == b'-' && matches!(two_digits(b[5], b[6]), Some(1..=12)),
        10 => is_date_or_datetime(s),
        _ => time && is_date_or_datetime(s),
    }
}

fn two_digits(a: u8, b: u8) -> Option<u32> {
    if a.is_ascii_digit() && b.is_ascii_digit() {
        Some(u32::from(a - b'0') * 10 + u32::from(b - b'0'))
    } else {
        None
    }
}

fn is_ymd(b: &[u8]) -> bool {
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' || !b[..4].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let year: u32 = b[..4]
        .iter()
        .fold(0, |acc, d| acc * 10 + u32::from(d - b'0'));
    match (two_digits(b[5], b[6]), two_digits(b[8], b[9])) {
        (Some(m), Some(d)) => (1..=12).contains(&m) && d >= 1 && d <= days_in_month(year, m),
        _ => false,
    }
}

fn is_hms(b: &[u8]) -> bool {
    if b.len() != 8 || b[2] != b':' || b[5] != b':' {
        return false;
    }
    matches!(
        (two_digits(b[0], b[1]), two_digits(b[3], b[4]), two_digits(b[6], b[7])),
        // 24:00:00 is not FHIR; 60 seconds allows a leap second.
        (Some(h), Some(m), Some(s)) if h < 24 && m < 60 && s <= 60
    )
}

pub(crate) fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_datetimes() {
        for ok in [
            "2016-05-19",
            "2016-05-19T00:00:00+01:00",
            "2016-05-19T00:00:00Z",
            "2016-05-19T00:00:00.123-05:30",
            "2024-02-29",
        ] {
            assert!(is_date_or_datetime(ok), "{ok}");
        }
        for bad in [
            "",
            "2016",
            "2016-05",
            "2016-13-01",
            "2023-02-29",
            "2016-05-19T00:00:00",
            "2016-05-19T24:00:00Z",
            "2016-05-19 00:00:00Z",
            "20160519000000",
            "2016-05-19T00:00:00+1:00",
            "2016-05-19T00:00:00.Z",
        ] {
            assert!(!is_date_or_datetime(bad), "{bad}");
        }
    }

    #[test]
    fn last_segment_of_url() {
        assert_eq!(last_segment("https://a/b/FHIR/TRE-A08-X"), "TRE-A08-X");
        assert_eq!(last_segment("https://a/b/"), "b");
        assert_eq!(last_segment("x"), "x");
    }

    #[test]
    fn error_display() {
        let e = LoadError::new("a.csv", Some(4), Some(6), "bad");
        assert_eq!(e.to_string(), "a.csv:4:6: bad");
        let e = LoadError::new("a.csv", None, Some(6), "bad");
        assert_eq!(e.to_string(), "a.csv: bad");
    }

    fn cs(url: &str, file: &str, display: &str) -> Resource {
        let mut meta = ResourceMeta {
            url: url.into(),
            version: Some("1".into()),
            status: "active".into(),
            ..Default::default()
        };
        meta.origin = Origin {
            file: file.into(),
            line: 1,
        };
        meta.id = file.into();
        let concept = crate::model::Concept {
            code: "a".into(),
            display: Some(display.into()),
            ..Default::default()
        };
        Resource::CodeSystem(CodeSystem::new(meta, vec![concept]))
    }

    #[test]
    fn dedup_keeps_identical_and_refuses_different() {
        let (d, e) = dedup(vec![
            cs("http://x", "a.json", "A"),
            cs("http://x", "b.json", "A"),
        ]);
        assert!(e.is_empty());
        assert_eq!(d.code_systems.len(), 1);
        assert_eq!(d.code_systems[0].meta.origin.file, "a.json");

        let (_, e) = dedup(vec![
            cs("http://x", "a.json", "A"),
            cs("http://x", "b.json", "B"),
        ]);
        assert_eq!(
            e[0].to_string(),
            "a.json:1: CodeSystem http://x|1 also defined with different content in b.json:1"
        );

        let (d, e) = dedup(vec![cs("", "c.json", "A")]);
        assert!(d.code_systems.is_empty());
        assert_eq!(e[0].to_string(), "c.json:1: CodeSystem has no url");
    }
}
