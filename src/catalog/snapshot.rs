//! The loaded data on disk, next to the search index: `DIR/catalog-<fingerprint>.bin`, a
//! compact binary copy of the `Dataset` (and of the search entries, when they depend on the
//! data alone), so that a restart on unchanged files skips parsing them.
//!
//! - Key: a content hash of every data file (path, length and bytes; hidden files skipped, as
//!   the loader does). Sizes and dates alone could miss an edit; hashing 240 MB costs about
//!   0.2 s, a small part of a restart.
//! - Trust: a file is used only if its magic, format version, nosterm version, data key and
//!   payload checksum all match and it decodes to the end; anything else is ignored (logged)
//!   and the files are loaded again. The hash is not cryptographic: the data folder and the
//!   index folder are trusted, the check is against stale, truncated or foreign files.
//! - Writing: streamed to `catalog-<fp>.bin.tmp`, synced, renamed; then older snapshots go.

use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::load::{Dataset, LoadError};
use crate::model::{
    CodeSystem, Coding, Compose, Concept, ConceptMap, ConceptProperty, ConceptReference,
    ConceptSetComponent, Designation, Filter, Interner, MapElement, MapGroup, MapTarget, Origin,
    PropertyDef, PropertyValue, ResourceMeta, ValueSet,
};
use crate::search::entries::{Entries, Entry, EntryBuilder, ScopeInfo, Section};

const MAGIC: &[u8; 16] = b"nosterm-catalog\0";
/// Bump when the encoding or the model changes.
const FORMAT: u32 = 1;
const PREFIX: &str = "catalog-";
const SUFFIX: &str = ".bin";
/// Magic, format, data key, payload length, checksum; then the nosterm version.
const HEADER_LEN: u64 = 16 + 4 + 8 + 8 + 8;

/// What a snapshot holds.
#[derive(Debug, Default)]
pub struct Stored {
    pub dataset: Dataset,
    /// The search entries and their fingerprint, when they were saved.
    pub entries: Option<(Entries, u64)>,
}

// ---------------------------------------------------------------------------------------
// A fast streaming 64-bit hash (multiply-rotate over 8-byte words, then an avalanche).

#[derive(Clone)]
pub struct Hash64 {
    h: u64,
    len: u64,
    pending: [u8; 8],
    filled: usize,
}

const P1: u64 = 0x9e37_79b1_85eb_ca87;
const P2: u64 = 0xc2b2_ae3d_27d4_eb4f;

impl Default for Hash64 {
    fn default() -> Self {
        Hash64 {
            h: 0x27d4_eb2f_1656_67c5,
            len: 0,
            pending: [0; 8],
            filled: 0,
        }
    }
}

impl Hash64 {
    #[inline]
    fn word(&mut self, w: u64) {
        self.h = (self.h ^ w.wrapping_mul(P1))
            .rotate_left(31)
            .wrapping_mul(P2);
    }

    pub fn write(&mut self, mut bytes: &[u8]) {
        self.len += bytes.len() as u64;
        if self.filled > 0 {
            let take = (8 - self.filled).min(bytes.len());
            self.pending[self.filled..self.filled + take].copy_from_slice(&bytes[..take]);
            self.filled += take;
            bytes = &bytes[take..];
            if self.filled < 8 {
                return;
            }
            self.word(u64::from_le_bytes(self.pending));
            self.filled = 0;
        }
        let mut words = bytes.chunks_exact(8);
        for c in &mut words {
            self.word(u64::from_le_bytes([
                c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7],
            ]));
        }
        let rest = words.remainder();
        self.pending[..rest.len()].copy_from_slice(rest);
        self.filled = rest.len();
    }

    pub fn finish(&self) -> u64 {
        let mut h = self.h;
        if self.filled > 0 {
            let mut last = [0u8; 8];
            last[..self.filled].copy_from_slice(&self.pending[..self.filled]);
            h = (h ^ u64::from_le_bytes(last).wrapping_mul(P1))
                .rotate_left(31)
                .wrapping_mul(P2);
        }
        h ^= self.len.wrapping_mul(P1);
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }

    fn text(&mut self, s: &str) {
        self.write(&(s.len() as u64).to_le_bytes());
        self.write(s.as_bytes());
    }
}

/// The key of the data under `path` (a folder, read recursively, or one file): every file's
/// relative path, length and content, in name order. Hidden entries are skipped, as the loader
/// skips them.
pub fn fingerprint_data(path: &Path) -> io::Result<u64> {
    let mut h = Hash64::default();
    h.write(&FORMAT.to_le_bytes());
    let mut buf = vec![0u8; 1 << 20];
    if fs::metadata(path)?.is_dir() {
        hash_dir(path, "", 0, &mut h, &mut buf)?;
    } else {
        hash_file(path, "", &mut h, &mut buf)?;
    }
    Ok(h.finish())
}

fn hash_dir(dir: &Path, rel: &str, depth: usize, h: &mut Hash64, buf: &mut [u8]) -> io::Result<()> {
    if depth > 32 {
        return Err(io::Error::other("folder nesting too deep"));
    }
    let mut names: Vec<(String, PathBuf)> = fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
        .filter(|(n, _)| !n.starts_with('.'))
        .collect();
    names.sort();
    for (name, p) in names {
        let child = format!("{rel}{name}");
        let meta = fs::metadata(&p)?;
        if meta.is_dir() {
            h.text(&format!("{child}/"));
            hash_dir(&p, &format!("{child}/"), depth + 1, h, buf)?;
        } else if meta.is_file() {
            hash_file(&p, &child, h, buf)?;
        }
    }
    Ok(())
}

fn hash_file(path: &Path, rel: &str, h: &mut Hash64, buf: &mut [u8]) -> io::Result<()> {
    let mut f = File::open(path)?;
    h.text(rel);
    h.write(&f.metadata()?.len().to_le_bytes());
    loop {
        let n = f.read(buf)?;
        if n == 0 {
            return Ok(());
        }
        h.write(&buf[..n]);
    }
}

// ---------------------------------------------------------------------------------------
// Encoding.

struct Out<W: Write> {
    w: W,
    hash: Hash64,
}

impl<W: Write> Out<W> {
    fn bytes(&mut self, b: &[u8]) -> io::Result<()> {
        self.hash.write(b);
        self.w.write_all(b)
    }
}

struct In<R: Read> {
    r: R,
    hash: Hash64,
    /// Payload bytes not read yet: bounds every length read from the file.
    left: u64,
    shared: Interner,
    /// Reused while reading entries.
    entry: EntryBuilder,
}

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("{0}")]
    Invalid(String),
}

type Result<T> = std::result::Result<T, SnapshotError>;

fn invalid<T>(what: &str) -> Result<T> {
    Err(SnapshotError::Invalid(what.to_string()))
}

impl<R: Read> In<R> {
    fn bytes(&mut self, n: usize) -> Result<Vec<u8>> {
        if n as u64 > self.left {
            return invalid("length beyond the end of the file");
        }
        let mut v = vec![0u8; n];
        self.r.read_exact(&mut v)?;
        self.left -= n as u64;
        self.hash.write(&v);
        Ok(v)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        if N as u64 > self.left {
            return invalid("truncated");
        }
        let mut a = [0u8; N];
        self.r.read_exact(&mut a)?;
        self.left -= N as u64;
        self.hash.write(&a);
        Ok(a)
    }

    /// Fills `out` from the payload.
    fn fill(&mut self, out: &mut [u8]) -> Result<()> {
        if out.len() as u64 > self.left {
            return invalid("length beyond the end of the file");
        }
        self.r.read_exact(out)?;
        self.left -= out.len() as u64;
        self.hash.write(out);
        Ok(())
    }

    fn len(&mut self) -> Result<usize> {
        let n = u32::get(self)? as usize;
        // Every item takes at least one byte: a larger count is corruption, not a reason
        // to allocate gigabytes.
        if n as u64 > self.left {
            return invalid("count beyond the end of the file");
        }
        Ok(n)
    }
}

trait Bin: Sized {
    fn put<W: Write>(&self, o: &mut Out<W>) -> io::Result<()>;
    fn get<R: Read>(i: &mut In<R>) -> Result<Self>;
}

impl Bin for u8 {
    fn put<W: Write>(&self, o: &mut Out<W>) -> io::Result<()> {
        o.bytes(&[*self])
    }
    fn get<R: Read>(i: &mut In<R>) -> Result<Self> {
        Ok(i.array::<1>()?[0])
    }
}

impl Bin for bool {
    fn put<W: Write>(&self, o: &mut Out<W>) -> io::Result<()> {
        u8::from(*self).put(o)
    }
    fn get<R: Read>(i: &mut In<R>) -> Result<Self> {
        match u8::get(i)? {
            0 => Ok(false),
            1 => Ok(true),
            _ => invalid("bad boolean"),
        }
    }
}

impl Bin for u32 {
    fn put<W: Write>(&self, o: &mut Out<W>) -> io::Result<()> {
        o.bytes(&self.to_le_bytes())
    }
    fn get<R: Read>(i: &mut In<R>) -> Result<Self> {
        Ok(u32::from_le_bytes(i.array()?))
    }
}

impl Bin for u64 {
    fn put<W: Write>(&self, o: &mut Out<W>) -> io::Result<()> {
        o.bytes(&self.to_le_bytes())
    }
    fn get<R: Read>(i: &mut In<R>) -> Result<Self> {
        Ok(u64::from_le_bytes(i.array()?))
    }
}

impl Bin for i64 {
    fn put<W: Write>(&self, o: &mut Out<W>) -> io::Result<()> {
        o.bytes(&self.to_le_bytes())
    }
    fn get<R: Read>(i: &mut In<R>) -> Result<Self> {
        Ok(i64::from_le_bytes(i.array()?))
    }
}

impl Bin for usize {
    fn put<W: Write>(&self, o: &mut Out<W>) -> io::Result<()> {
        (*self as u64).put(o)
    }
    fn get<R: Read>(i: &mut In<R>) -> Result<Self> {
        usize::try_from(u64::get(i)?).or_else(|_| invalid("number too large"))
    }
}

fn put_str<W: Write>(s: &str, o: &mut Out<W>) -> io::Result<()> {
    put_len(s.len(), o)?;
    o.bytes(s.as_bytes())
}

fn put_len<W: Write>(n: usize, o: &mut Out<W>) -> io::Result<()> {
    let n = u32::try_from(n).map_err(|_| io::Error::other("list too long for a snapshot"))?;
    n.put(o)
}

impl Bin for String {
    fn put<W: Write>(&self, o: &mut Out<W>) -> io::Result<()> {
        put_str(self, o)
    }
    fn get<R: Read>(i: &mut In<R>) -> Result<Self> {
        let n = i.len()?;
        String::from_utf8(i.bytes(n)?).or_else(|_| invalid("bad UTF-8"))
    }
}

impl Bin for Arc<str> {
    fn put<W: Write>(&self, o: &mut Out<W>) -> io::Result<()> {
        put_len(self.len(), o)?;
        o.bytes(self.as_bytes())
    }
    fn get<R: Read>(i: &mut In<R>) -> Result<Self> {
        let s = String::get(i)?;
        Ok(i.shared.name(&s))
    }
}

impl Bin for Arc<Coding> {
    fn put<W: Write>(&self, o: &mut Out<W>) -> io::Result<()> {
        (**self).put(o)
    }
    fn get<R: Read>(i: &mut In<R>) -> Result<Self> {
        let c = Coding::get(i)?;
        Ok(i.shared.coding(c))
    }
}

impl Bin for Box<Coding> {
    fn put<W: Write>(&self, o: &mut Out<W>) -> io::Result<()> {
        (**self).put(o)
    }
    fn get<R: Read>(i: &mut In<R>) -> Result<Self> {
        Coding::get(i).map(Box::new)
    }
}

/// JSON kept as written (extensions): stored as its text.
impl Bin for serde_json::Value {
    fn put<W: Write>(&self, o: &mut Out<W>) -> io::Result<()> {
        self.to_string().put(o)
    }
    fn get<R: Read>(i: &mut In<R>) -> Result<Self> {
        let s = String::get(i)?;
        serde_json::from_str(&s).or_else(|_| invalid("bad JSON"))
    }
}

impl<T: Bin> Bin for Option<T> {
    fn put<W: Write>(&self, o: &mut Out<W>) -> io::Result<()> {
        match self {
            None => 0u8.put(o),
            Some(v) => {
                1u8.put(o)?;
                v.put(o)
            }
        }
    }
    fn get<R: Read>(i: &mut In<R>) -> Result<Self> {
        match u8::get(i)? {
            0 => Ok(None),
            1 => T::get(i).map(Some),
            _ => invalid("bad option tag"),
        }
    }
}

impl<T: Bin> Bin for Vec<T> {
    fn put<W: Write>(&self, o: &mut Out<W>) -> io::Result<()> {
        put_len(self.len(), o)?;
        self.iter().try_for_each(|v| v.put(o))
    }
    fn get<R: Read>(i: &mut In<R>) -> Result<Self> {
        let n = i.len()?;
        // Bounded: a corrupted count fails on the missing bytes, not on the allocation.
        let mut v = Vec::with_capacity(n.min(1 << 21));
        for _ in 0..n {
            v.push(T::get(i)?);
        }
        Ok(v)
    }
}

impl<A: Bin, B: Bin> Bin for (A, B) {
    fn put<W: Write>(&self, o: &mut Out<W>) -> io::Result<()> {
        self.0.put(o)?;
        self.1.put(o)
    }
    fn get<R: Read>(i: &mut In<R>) -> Result<Self> {
        Ok((A::get(i)?, B::get(i)?))
    }
}

/// Field by field, in declaration order; with `..`, the fields not listed are derived data,
/// left to their default and rebuilt on use.
macro_rules! bin_struct {
    ($t:ty { $($f:ident),* $(,)? } $(.. $rest:tt)?) => {
        impl Bin for $t {
            fn put<W: Write>(&self, o: &mut Out<W>) -> io::Result<()> {
                $( self.$f.put(o)?; )*
                Ok(())
            }
            fn get<R: Read>(i: &mut In<R>) -> Result<Self> {
                Ok(Self { $( $f: Bin::get(i)?, )* $(..$rest::default())? })
            }
        }
    };
}

bin_struct!(Origin { file, line });
bin_struct!(Coding {
    system,
    version,
    code,
    display
});
bin_struct!(Designation {
    language,
    use_,
    value
});
bin_struct!(ResourceMeta {
    id,
    url,
    version,
    name,
    title,
    status,
    experimental,
    date,
    publisher,
    description,
    oids,
    language,
    extensions,
    origin
});
bin_struct!(ConceptProperty { code, value });
bin_struct!(PropertyDef {
    code,
    uri,
    description,
    type_
});
bin_struct!(Concept {
    code,
    display,
    definition,
    designations,
    properties,
    parents,
    extensions
});
bin_struct!(ConceptReference {
    code,
    display,
    designations,
    extensions
});
bin_struct!(Filter {
    property,
    op,
    value
});
bin_struct!(
    ConceptSetComponent {
        system,
        version,
        concepts,
        filters,
        value_sets
    }..Default
);
bin_struct!(Compose {
    locked_date,
    inactive,
    include,
    exclude,
    extensions
});
bin_struct!(ValueSet {
    meta,
    immutable,
    compose,
    expansion,
    contained
});
bin_struct!(MapTarget {
    code,
    display,
    equivalence,
    comment
});
bin_struct!(MapElement {
    code,
    display,
    targets
});
bin_struct!(MapGroup {
    source,
    source_version,
    target,
    target_version,
    elements
});
bin_struct!(ConceptMap {
    meta,
    source_scope,
    target_scope,
    groups
});
bin_struct!(ScopeInfo { key, table_words });
/// The fields as separate strings and lists (the format of `bin_struct!` over the fields
/// `Entry` had before its texts were packed): snapshots stay readable both ways.
impl Bin for Entry {
    fn put<W: Write>(&self, o: &mut Out<W>) -> io::Result<()> {
        fn texts<'a, W: Write>(
            mut items: impl ExactSizeIterator<Item = &'a str>,
            o: &mut Out<W>,
        ) -> io::Result<()> {
            put_len(items.len(), o)?;
            items.try_for_each(|s| put_str(s, o))
        }
        let p = self.parts();
        self.scope.put(o)?;
        self.system.put(o)?;
        put_str(p.code, o)?;
        match p.display {
            None => 0u8.put(o)?,
            Some(d) => {
                1u8.put(o)?;
                put_str(d, o)?;
            }
        }
        texts(p.alts, o)?;
        texts(p.descs, o)?;
        texts(p.table_words, o)?;
        self.inactive.put(o)
    }

    fn get<R: Read>(i: &mut In<R>) -> Result<Self> {
        // Texts are read straight into the reused builder: one allocation per entry.
        let mut b = std::mem::take(&mut i.entry);
        let scope = u32::get(i)?;
        let system = Arc::<str>::get(i)?;
        let text = |b: &mut EntryBuilder, section, i: &mut In<R>| {
            let n = i.len()?;
            b.fill(section, n, |out| i.fill(out))
        };
        text(&mut b, Section::Code, i)?;
        match u8::get(i)? {
            0 => {}
            1 => text(&mut b, Section::Display, i)?,
            _ => return invalid("bad option tag"),
        }
        for section in [Section::Alt, Section::Desc, Section::TableWord] {
            for _ in 0..i.len()? {
                text(&mut b, section, i)?;
            }
        }
        let inactive = bool::get(i)?;
        let Some(entry) = b.finish(scope, system, inactive) else {
            return invalid("bad UTF-8");
        };
        i.entry = b;
        Ok(entry)
    }
}

impl Bin for PropertyValue {
    fn put<W: Write>(&self, o: &mut Out<W>) -> io::Result<()> {
        match self {
            PropertyValue::Code(s) => (0u8, s).put_pair(o),
            PropertyValue::Coding(c) => {
                1u8.put(o)?;
                c.put(o)
            }
            PropertyValue::String(s) => (2u8, s).put_pair(o),
            PropertyValue::Integer(n) => {
                3u8.put(o)?;
                n.put(o)
            }
            PropertyValue::Boolean(b) => {
                4u8.put(o)?;
                b.put(o)
            }
            PropertyValue::DateTime(s) => (5u8, s).put_pair(o),
            PropertyValue::Decimal(s) => (6u8, s).put_pair(o),
        }
    }
    fn get<R: Read>(i: &mut In<R>) -> Result<Self> {
        Ok(match u8::get(i)? {
            0 => PropertyValue::Code(String::get(i)?),
            1 => PropertyValue::Coding(Box::get(i)?),
            2 => PropertyValue::String(String::get(i)?),
            3 => PropertyValue::Integer(i64::get(i)?),
            4 => PropertyValue::Boolean(bool::get(i)?),
            5 => PropertyValue::DateTime(String::get(i)?),
            6 => PropertyValue::Decimal(String::get(i)?),
            _ => return invalid("bad property value tag"),
        })
    }
}

trait PutPair {
    fn put_pair<W: Write>(&self, o: &mut Out<W>) -> io::Result<()>;
}

impl PutPair for (u8, &String) {
    fn put_pair<W: Write>(&self, o: &mut Out<W>) -> io::Result<()> {
        self.0.put(o)?;
        self.1.put(o)
    }
}

/// The derived look-ups (code table, hierarchy) are rebuilt by `CodeSystem::new`.
impl Bin for CodeSystem {
    fn put<W: Write>(&self, o: &mut Out<W>) -> io::Result<()> {
        self.meta.put(o)?;
        self.content.put(o)?;
        self.case_sensitive.put(o)?;
        self.hierarchy_meaning.put(o)?;
        self.value_set.put(o)?;
        self.supplements.put(o)?;
        self.property_defs.put(o)?;
        self.concepts.put(o)
    }
    fn get<R: Read>(i: &mut In<R>) -> Result<Self> {
        let meta = ResourceMeta::get(i)?;
        let content = String::get(i)?;
        let case_sensitive = Option::get(i)?;
        let hierarchy_meaning = Option::get(i)?;
        let value_set = Option::get(i)?;
        let supplements = Option::get(i)?;
        let property_defs = Vec::get(i)?;
        let concepts = Vec::get(i)?;
        let mut cs = CodeSystem::new(meta, concepts);
        cs.content = content;
        cs.case_sensitive = case_sensitive;
        cs.hierarchy_meaning = hierarchy_meaning;
        cs.value_set = value_set;
        cs.supplements = supplements;
        cs.property_defs = property_defs;
        Ok(cs)
    }
}

impl Bin for LoadError {
    fn put<W: Write>(&self, o: &mut Out<W>) -> io::Result<()> {
        self.file.put(o)?;
        self.line.put(o)?;
        self.column.put(o)?;
        self.message.put(o)
    }
    fn get<R: Read>(i: &mut In<R>) -> Result<Self> {
        Ok(LoadError {
            file: String::get(i)?,
            line: Option::get(i)?,
            column: Option::get(i)?,
            message: String::get(i)?,
        })
    }
}

// ---------------------------------------------------------------------------------------
// Files.

/// The snapshot file of the data keyed `fingerprint` in `dir`.
pub fn path_for(dir: &Path, fingerprint: u64) -> PathBuf {
    dir.join(format!("{PREFIX}{fingerprint:016x}{SUFFIX}"))
}

/// What `write` saves: the resources of one release, in load order.
pub struct Contents<'a> {
    pub code_systems: Vec<&'a CodeSystem>,
    pub value_sets: Vec<&'a ValueSet>,
    pub concept_maps: Vec<&'a ConceptMap>,
    pub aliases: &'a [(String, String)],
    pub warnings: &'a [LoadError],
    /// Search entries and their fingerprint, when they depend on this data alone.
    pub entries: Option<(&'a Entries, u64)>,
}

fn put_refs<T: Bin, W: Write>(items: &[&T], o: &mut Out<W>) -> io::Result<()> {
    put_len(items.len(), o)?;
    items.iter().try_for_each(|v| v.put(o))
}

/// Writes the snapshot of the data keyed `fingerprint` into `dir`, atomically (aside, synced,
/// renamed), then removes the other snapshots.
pub fn write(dir: &Path, fingerprint: u64, c: &Contents) -> io::Result<PathBuf> {
    fs::create_dir_all(dir)?;
    let path = path_for(dir, fingerprint);
    let tmp = path.with_extension("bin.tmp");
    let mut file = File::create(&tmp)?;
    file.write_all(&[0u8; HEADER_LEN as usize])?;
    let mut o = Out {
        w: BufWriter::with_capacity(1 << 20, &mut file),
        hash: Hash64::default(),
    };
    env!("CARGO_PKG_VERSION").to_string().put(&mut o)?;
    put_refs(&c.code_systems, &mut o)?;
    put_refs(&c.value_sets, &mut o)?;
    put_refs(&c.concept_maps, &mut o)?;
    c.aliases.to_vec().put(&mut o)?;
    c.warnings.to_vec().put(&mut o)?;
    match c.entries {
        None => 0u8.put(&mut o)?,
        Some((e, fp)) => {
            1u8.put(&mut o)?;
            fp.put(&mut o)?;
            e.scopes.put(&mut o)?;
            e.entries.put(&mut o)?;
        }
    }
    let checksum = o.hash.finish();
    let payload = o.hash.len;
    o.w.flush()?;
    drop(o);
    let mut header = Vec::with_capacity(HEADER_LEN as usize);
    header.extend_from_slice(MAGIC);
    header.extend_from_slice(&FORMAT.to_le_bytes());
    header.extend_from_slice(&fingerprint.to_le_bytes());
    header.extend_from_slice(&payload.to_le_bytes());
    header.extend_from_slice(&checksum.to_le_bytes());
    file.seek(SeekFrom::Start(0))?;
    file.write_all(&header)?;
    file.sync_all()?;
    drop(file);
    fs::rename(&tmp, &path)?;
    remove_others(dir, &path);
    Ok(path)
}

fn remove_others(dir: &Path, keep: &Path) {
    let Ok(list) = fs::read_dir(dir) else {
        return;
    };
    for item in list.flatten() {
        let name = item.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(PREFIX) && item.path() != keep {
            if let Err(e) = fs::remove_file(item.path()) {
                tracing::warn!("cannot remove old snapshot {}: {e}", item.path().display());
            }
        }
    }
}

/// Reads the snapshot of the data keyed `fingerprint` from `dir`: `Ok(None)` when there is
/// none, an error when there is one that cannot be trusted.
pub fn read(dir: &Path, fingerprint: u64) -> Result<Option<Stored>> {
    let path = path_for(dir, fingerprint);
    let file = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let size = file.metadata()?.len();
    let mut r = BufReader::with_capacity(1 << 20, file);
    let mut header = [0u8; HEADER_LEN as usize];
    r.read_exact(&mut header)
        .or_else(|_| invalid("truncated header"))?;
    let word = |at: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&header[at..at + 8]);
        u64::from_le_bytes(b)
    };
    if &header[..16] != MAGIC {
        return invalid("not a nosterm snapshot");
    }
    if header[16..20] != FORMAT.to_le_bytes() {
        return invalid("written by another snapshot format");
    }
    if word(20) != fingerprint {
        return invalid("written for other data");
    }
    let (payload, checksum) = (word(28), word(36));
    if payload != size.saturating_sub(HEADER_LEN) {
        return invalid("truncated or padded");
    }
    let mut i = In {
        r,
        hash: Hash64::default(),
        left: payload,
        shared: Interner::default(),
        entry: EntryBuilder::default(),
    };
    if String::get(&mut i)? != env!("CARGO_PKG_VERSION") {
        return invalid("written by another version of nosterm");
    }
    let dataset = Dataset {
        code_systems: Vec::get(&mut i)?,
        value_sets: Vec::get(&mut i)?,
        concept_maps: Vec::get(&mut i)?,
        aliases: Vec::get(&mut i)?,
        warnings: Vec::get(&mut i)?,
    };
    let entries = match u8::get(&mut i)? {
        0 => None,
        1 => {
            let fp = u64::get(&mut i)?;
            let scopes: Vec<ScopeInfo> = Vec::get(&mut i)?;
            let entries = Vec::get(&mut i)?;
            Some((Entries::from_parts(scopes, entries), fp))
        }
        _ => return invalid("bad entries tag"),
    };
    if i.left != 0 {
        return invalid("data after the end");
    }
    if i.hash.finish() != checksum {
        return invalid("checksum mismatch");
    }
    Ok(Some(Stored { dataset, entries }))
}
