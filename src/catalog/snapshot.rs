//! The loaded data on disk, next to the search index: `DIR/catalog-<fingerprint>.bin`, a
//! compact binary copy of the `Dataset` (and of the search entries, when they depend on the
//! data alone), so that a restart on unchanged files skips parsing them.
//!
//! - Key: a content hash of every data file (path, length and bytes; hidden files skipped, as
//!   the loader does). Sizes and dates alone could miss an edit; hashing 240 MB costs about
//!   0.1 s, a small part of a restart.
//! - Layout: a header (magic, format, key, then the length and checksum of each section) and
//!   sections: the catalog (code systems without their concepts, with their look-ups; value
//!   sets, concept maps), the search entries, then the concepts of all code systems in runs of
//!   `CHUNK`. A restart decodes the search entries on one thread and the concept runs on two
//!   (whichever is free takes the next run), so it waits for about half of the work.
//! - Trust: a file is used only if its magic, format version, nosterm version, data key and
//!   section checksums all match and every section decodes to its end; anything else is
//!   ignored (logged) and the files are loaded again. The hash is not cryptographic: the data
//!   folder and the index folder are trusted, the check is against stale, truncated or
//!   foreign files.
//! - Writing: streamed to `catalog-<fp>.bin.tmp`, synced, renamed; then older snapshots go.

use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::load::{Dataset, LoadError};
use crate::model::{
    CodeSystem, Coding, Compose, Concept, ConceptMap, ConceptProperty, ConceptReference,
    ConceptSetComponent, Designation, Filter, MapElement, MapGroup, MapTarget, Origin, PropertyDef,
    PropertyValue, ResourceMeta, ValueSet,
};
use crate::search::entries::{
    Entries, Entry, EntryBuilder, ScopeInfo, Section as TextPart, Standing,
};

const MAGIC: &[u8; 16] = b"nosterm-catalog\0";
/// Bump when the encoding or the model changes. 2: sections (catalog, search entries,
/// concepts in runs of `CHUNK`), each with its length and checksum in the header, decoded on
/// two threads; a four-lane checksum. 3: a filter's value is optional. 4: search
/// entries carry their standing in the hierarchy (depth, notSelectable).
const FORMAT: u32 = 4;
const PREFIX: &str = "catalog-";
const SUFFIX: &str = ".bin";
/// Magic, format, data key, number of sections; then the length and checksum of each.
const FIXED_HEADER_LEN: u64 = 16 + 4 + 8 + 4;
/// Concepts per concept section: small enough that two threads end within one section of
/// each other, large enough that a section costs more than opening it.
const CHUNK: usize = 1 << 16;
/// The fewest bytes a concept takes (code length, display and definition tags, four list
/// counts): bounds the concepts a section may claim before any is allocated.
const MIN_CONCEPT_LEN: u64 = 4 + 1 + 1 + 4 * 4;

/// What a snapshot holds.
#[derive(Debug, Default)]
pub struct Stored {
    pub dataset: Dataset,
    /// The search entries and their fingerprint, when they were saved.
    pub entries: Option<(Entries, u64)>,
}

// ---------------------------------------------------------------------------------------
// A fast streaming 64-bit hash: four independent multiply-rotate lanes over 32-byte blocks
// (the CPU runs them side by side: several GB/s), then the lanes, the tail, the length and an
// avalanche. The same bytes give the same value however they are split into `write` calls.

#[derive(Clone)]
pub struct Hash64 {
    lanes: [u64; 4],
    len: u64,
    pending: [u8; 32],
    filled: usize,
}

const P1: u64 = 0x9e37_79b1_85eb_ca87;
const P2: u64 = 0xc2b2_ae3d_27d4_eb4f;
const SEED: u64 = 0x27d4_eb2f_1656_67c5;

impl Default for Hash64 {
    fn default() -> Self {
        Hash64 {
            lanes: [
                SEED.wrapping_add(P1).wrapping_add(P2),
                SEED.wrapping_add(P2),
                SEED,
                SEED.wrapping_sub(P1),
            ],
            len: 0,
            pending: [0; 32],
            filled: 0,
        }
    }
}

#[inline]
fn round(acc: u64, w: u64) -> u64 {
    (acc ^ w.wrapping_mul(P1)).rotate_left(31).wrapping_mul(P2)
}

/// The little-endian word at the start of `b` (at least 8 bytes).
#[inline]
fn word_at(b: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[..8]);
    u64::from_le_bytes(w)
}

impl Hash64 {
    #[inline]
    fn block(&mut self, b: &[u8]) {
        for (k, lane) in self.lanes.iter_mut().enumerate() {
            *lane = round(*lane, word_at(&b[k * 8..]));
        }
    }

    pub fn write(&mut self, mut bytes: &[u8]) {
        self.len += bytes.len() as u64;
        if self.filled > 0 {
            let take = (32 - self.filled).min(bytes.len());
            self.pending[self.filled..self.filled + take].copy_from_slice(&bytes[..take]);
            self.filled += take;
            bytes = &bytes[take..];
            if self.filled < 32 {
                return;
            }
            let pending = self.pending;
            self.block(&pending);
            self.filled = 0;
        }
        let mut blocks = bytes.chunks_exact(32);
        for b in &mut blocks {
            self.block(b);
        }
        let rest = blocks.remainder();
        self.pending[..rest.len()].copy_from_slice(rest);
        self.filled = rest.len();
    }

    pub fn finish(&self) -> u64 {
        let mut h = self.len.wrapping_mul(P1);
        for lane in self.lanes {
            h = round(h, lane);
        }
        let mut tail = [0u8; 32];
        tail[..self.filled].copy_from_slice(&self.pending[..self.filled]);
        for w in tail[..self.filled.div_ceil(8) * 8].chunks_exact(8) {
            h = round(h, word_at(w));
        }
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
/// skips them. The search schema version is part of it: the saved search entries and their
/// fingerprint are those of the search code that wrote them.
pub fn fingerprint_data(path: &Path) -> io::Result<u64> {
    let mut h = Hash64::default();
    h.write(&FORMAT.to_le_bytes());
    h.write(&crate::search::schema::SCHEMA_VERSION.to_le_bytes());
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

/// Bytes read from the file at a time: fields are decoded from this buffer (no call into the
/// reader per field) and the checksum runs over whole blocks.
const BLOCK: usize = 1 << 22;

/// Decodes one section of a snapshot.
struct In<R: Read> {
    r: R,
    buf: Vec<u8>,
    /// `buf[pos..end]` is read but not decoded yet.
    pos: usize,
    end: usize,
    /// Bytes of the section not read from the file yet.
    unread: u64,
    /// Of the bytes read so far.
    hash: Hash64,
    /// Property names and system URLs seen so far, shared: a table has a handful for
    /// millions of uses, found again by their bytes.
    names: Vec<Arc<str>>,
    /// Designation uses seen so far, by their encoded bytes.
    codings: Vec<(Box<[u8]>, Arc<Coding>)>,
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
    /// The section of `len` bytes that `r` reads from its start.
    fn new(r: R, len: u64) -> Self {
        In {
            r,
            buf: vec![0; usize::try_from(len).map_or(BLOCK, |len| len.min(BLOCK))],
            pos: 0,
            end: 0,
            unread: len,
            hash: Hash64::default(),
            names: Vec::new(),
            codings: Vec::new(),
            entry: EntryBuilder::default(),
        }
    }

    /// Section bytes not decoded yet: bounds every length read from the file.
    fn left(&self) -> u64 {
        (self.end - self.pos) as u64 + self.unread
    }

    #[inline]
    fn take(&mut self, n: usize) -> Result<&[u8]> {
        if self.end - self.pos < n {
            self.fill(n)?;
        }
        let at = self.pos;
        self.pos += n;
        Ok(&self.buf[at..at + n])
    }

    /// Makes `n` bytes available from `pos` (they stay where they are relative to it),
    /// reading a block or more.
    #[cold]
    fn fill(&mut self, n: usize) -> Result<()> {
        if n as u64 > self.left() {
            return invalid("length beyond the end of the file");
        }
        self.buf.copy_within(self.pos..self.end, 0);
        self.end -= self.pos;
        self.pos = 0;
        if self.buf.len() < n {
            self.buf.resize(n, 0);
        }
        while self.end < n {
            let room =
                (self.buf.len() - self.end).min(usize::try_from(self.unread).unwrap_or(usize::MAX));
            let got = match self.r.read(&mut self.buf[self.end..self.end + room]) {
                Ok(0) => return invalid("truncated"),
                Ok(got) => got,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            };
            self.hash.write(&self.buf[self.end..self.end + got]);
            self.end += got;
            self.unread -= got as u64;
        }
        Ok(())
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    /// Fills `out` from the section.
    fn read_into(&mut self, out: &mut [u8]) -> Result<()> {
        out.copy_from_slice(self.take(out.len())?);
        Ok(())
    }

    fn len(&mut self) -> Result<usize> {
        let n = u32::get(self)? as usize;
        // Every item takes at least one byte: a larger count is corruption, not a reason
        // to allocate gigabytes.
        if n as u64 > self.left() {
            return invalid("count beyond the end of the file");
        }
        Ok(n)
    }

    /// Makes `n` bytes available from `pos`.
    #[inline]
    fn ensure(&mut self, n: usize) -> Result<()> {
        if self.end - self.pos < n {
            self.fill(n)?;
        }
        Ok(())
    }

    /// A string, borrowed from the buffer. The SIMD validator: the snapshot is mostly text,
    /// French with accents, where the standard one goes byte by byte.
    fn str(&mut self) -> Result<&str> {
        let n = self.len()?;
        simdutf8::basic::from_utf8(self.take(n)?).or_else(|_| invalid("bad UTF-8"))
    }

    /// A property name or system URL, shared (no copy when it was seen before).
    fn name(&mut self) -> Result<Arc<str>> {
        let n = self.len()?;
        self.ensure(n)?;
        let raw = &self.buf[self.pos..self.pos + n];
        let shared = match self.names.iter().find(|k| k.as_bytes() == raw) {
            Some(known) => known.clone(),
            None => {
                let text = simdutf8::basic::from_utf8(raw).or_else(|_| invalid("bad UTF-8"))?;
                let shared: Arc<str> = Arc::from(text);
                self.names.push(shared.clone());
                shared
            }
        };
        self.pos += n;
        Ok(shared)
    }

    /// A shared coding (a designation use), encoded as `Coding`: looked up by its bytes,
    /// decoded only the first time.
    fn shared_coding(&mut self) -> Result<Arc<Coding>> {
        // The extent of the four optional strings, without decoding them.
        let mut n = 0;
        for _ in 0..4 {
            self.ensure(n + 1)?;
            n += match self.buf[self.pos + n] {
                0 => 1,
                1 => {
                    self.ensure(n + 5)?;
                    let mut len = [0u8; 4];
                    len.copy_from_slice(&self.buf[self.pos + n + 1..self.pos + n + 5]);
                    5 + u32::from_le_bytes(len) as usize
                }
                _ => return invalid("bad option tag"),
            };
        }
        self.ensure(n)?;
        let raw = &self.buf[self.pos..self.pos + n];
        if let Some((_, known)) = self.codings.iter().find(|(k, _)| **k == *raw) {
            let known = known.clone();
            self.pos += n;
            return Ok(known);
        }
        let key: Box<[u8]> = raw.into();
        let shared = Arc::new(Coding::get(self)?);
        self.codings.push((key, shared.clone()));
        Ok(shared)
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
        Ok(i.take(1)?[0])
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
        i.str().map(str::to_owned)
    }
}

impl Bin for Arc<str> {
    fn put<W: Write>(&self, o: &mut Out<W>) -> io::Result<()> {
        put_len(self.len(), o)?;
        o.bytes(self.as_bytes())
    }
    fn get<R: Read>(i: &mut In<R>) -> Result<Self> {
        i.name()
    }
}

impl Bin for Arc<Coding> {
    fn put<W: Write>(&self, o: &mut Out<W>) -> io::Result<()> {
        (**self).put(o)
    }
    fn get<R: Read>(i: &mut In<R>) -> Result<Self> {
        i.shared_coding()
    }
}

impl Bin for Box<Vec<serde_json::Value>> {
    fn put<W: Write>(&self, o: &mut Out<W>) -> io::Result<()> {
        (**self).put(o)
    }
    fn get<R: Read>(i: &mut In<R>) -> Result<Self> {
        Vec::get(i).map(Box::new)
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
        serde_json::from_str(i.str()?).or_else(|_| invalid("bad JSON"))
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
    value,
    extensions
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
/// `Entry` had before its texts were packed), then its standing.
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
        self.inactive.put(o)?;
        self.standing.depth.put(o)?;
        self.standing.not_selectable.put(o)
    }

    fn get<R: Read>(i: &mut In<R>) -> Result<Self> {
        // Texts are read straight into the reused builder: one allocation per entry.
        let mut b = std::mem::take(&mut i.entry);
        let scope = u32::get(i)?;
        let system = Arc::<str>::get(i)?;
        let text = |b: &mut EntryBuilder, section, i: &mut In<R>| {
            let n = i.len()?;
            b.fill(section, n, |out| i.read_into(out))
        };
        text(&mut b, TextPart::Code, i)?;
        match u8::get(i)? {
            0 => {}
            1 => text(&mut b, TextPart::Display, i)?,
            _ => return invalid("bad option tag"),
        }
        for section in [TextPart::Alt, TextPart::Desc, TextPart::TableWord] {
            for _ in 0..i.len()? {
                text(&mut b, section, i)?;
            }
        }
        let inactive = bool::get(i)?;
        let standing = Standing {
            depth: u8::get(i)?,
            not_selectable: bool::get(i)?,
        };
        let Some(mut entry) = b.finish(scope, system, inactive) else {
            return invalid("bad UTF-8");
        };
        entry.standing = standing;
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

/// A code system in the catalog section: everything but its concepts, which follow in the
/// concept sections, and their number.
fn put_head<W: Write>(cs: &CodeSystem, o: &mut Out<W>) -> io::Result<()> {
    cs.meta.put(o)?;
    cs.content.put(o)?;
    cs.case_sensitive.put(o)?;
    cs.hierarchy_meaning.put(o)?;
    cs.value_set.put(o)?;
    cs.supplements.put(o)?;
    cs.property_defs.put(o)?;
    cs.concepts.len().put(o)?;
    cs.lookups().iter().try_for_each(|list| put_u32s(list, o))
}

/// A list of numbers, in blocks rather than one by one (millions for a large table).
fn put_u32s<W: Write>(list: &[u32], o: &mut Out<W>) -> io::Result<()> {
    put_len(list.len(), o)?;
    let mut bytes = Vec::with_capacity(list.len().min(BLOCK / 4) * 4);
    for part in list.chunks(BLOCK / 4) {
        bytes.clear();
        bytes.extend(part.iter().flat_map(|n| n.to_le_bytes()));
        o.bytes(&bytes)?;
    }
    Ok(())
}

fn get_u32s<R: Read>(i: &mut In<R>) -> Result<Vec<u32>> {
    let n = i.len()?;
    if n as u64 * 4 > i.left() {
        return invalid("count beyond the end of the file");
    }
    let mut list = Vec::with_capacity(n);
    while list.len() < n {
        let part = (n - list.len()).min(BLOCK / 4);
        let bytes = i.take(part * 4)?;
        list.extend(
            bytes
                .chunks_exact(4)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        );
    }
    Ok(list)
}

/// A code system as the catalog section gives it, waiting for its concepts.
struct Head {
    cs: CodeSystem,
    concepts: usize,
    lookups: [Vec<u32>; 5],
}

impl Head {
    fn get<R: Read>(i: &mut In<R>) -> Result<Self> {
        let mut cs = CodeSystem::new_compact(ResourceMeta::get(i)?, Vec::new());
        cs.content = String::get(i)?;
        cs.case_sensitive = Option::get(i)?;
        cs.hierarchy_meaning = Option::get(i)?;
        cs.value_set = Option::get(i)?;
        cs.supplements = Option::get(i)?;
        cs.property_defs = Vec::get(i)?;
        let concepts = usize::get(i)?;
        let lookups = [
            get_u32s(i)?,
            get_u32s(i)?,
            get_u32s(i)?,
            get_u32s(i)?,
            get_u32s(i)?,
        ];
        Ok(Head {
            cs,
            concepts,
            lookups,
        })
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
    let total: usize = c.code_systems.iter().map(|cs| cs.concepts.len()).sum();
    let count = 2 + total.div_ceil(CHUNK);
    let header_len = FIXED_HEADER_LEN as usize + 16 * count;
    let mut file = File::create(&tmp)?;
    file.write_all(&vec![0u8; header_len])?;
    let mut o = Out {
        w: BufWriter::with_capacity(1 << 20, &mut file),
        hash: Hash64::default(),
    };
    let mut sections: Vec<(u64, u64)> = Vec::with_capacity(count);
    let mut end_section = |o: &mut Out<_>| {
        sections.push((o.hash.len, o.hash.finish()));
        o.hash = Hash64::default();
    };
    env!("CARGO_PKG_VERSION").to_string().put(&mut o)?;
    put_len(c.code_systems.len(), &mut o)?;
    for cs in &c.code_systems {
        put_head(cs, &mut o)?;
    }
    put_refs(&c.value_sets, &mut o)?;
    put_refs(&c.concept_maps, &mut o)?;
    c.aliases.to_vec().put(&mut o)?;
    c.warnings.to_vec().put(&mut o)?;
    end_section(&mut o);
    match c.entries {
        None => 0u8.put(&mut o)?,
        Some((e, fp)) => {
            1u8.put(&mut o)?;
            fp.put(&mut o)?;
            e.scopes.put(&mut o)?;
            e.entries.put(&mut o)?;
        }
    }
    end_section(&mut o);
    // The concepts of all code systems in order, cut every `CHUNK`.
    for (n, concept) in c
        .code_systems
        .iter()
        .flat_map(|cs| &cs.concepts)
        .enumerate()
    {
        if n > 0 && n % CHUNK == 0 {
            end_section(&mut o);
        }
        concept.put(&mut o)?;
    }
    if total > 0 {
        end_section(&mut o);
    }
    o.w.flush()?;
    drop(o);
    let mut header = Vec::with_capacity(header_len);
    header.extend_from_slice(MAGIC);
    header.extend_from_slice(&FORMAT.to_le_bytes());
    header.extend_from_slice(&fingerprint.to_le_bytes());
    header.extend_from_slice(&(count as u32).to_le_bytes());
    for (len, checksum) in sections {
        header.extend_from_slice(&len.to_le_bytes());
        header.extend_from_slice(&checksum.to_le_bytes());
    }
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

/// One section of the file: where it starts, its length and checksum.
#[derive(Clone, Copy)]
struct Section {
    at: u64,
    len: u64,
    checksum: u64,
}

impl Section {
    fn open(&self, path: &Path) -> Result<In<File>> {
        let mut file = File::open(path)?;
        file.seek(SeekFrom::Start(self.at))?;
        Ok(In::new(file, self.len))
    }
}

/// Reads the snapshot of the data keyed `fingerprint` from `dir`: `Ok(None)` when there is
/// none, an error when there is one that cannot be trusted.
pub fn read(dir: &Path, fingerprint: u64) -> Result<Option<Stored>> {
    let path = path_for(dir, fingerprint);
    let mut file = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let size = file.metadata()?.len();
    let mut fixed = [0u8; FIXED_HEADER_LEN as usize];
    file.read_exact(&mut fixed)
        .or_else(|_| invalid("truncated header"))?;
    if &fixed[..16] != MAGIC {
        return invalid("not a nosterm snapshot");
    }
    if fixed[16..20] != FORMAT.to_le_bytes() {
        return invalid("written by another snapshot format");
    }
    if word(&fixed[20..]) != fingerprint {
        return invalid("written for other data");
    }
    let count = u32::from_le_bytes([fixed[28], fixed[29], fixed[30], fixed[31]]) as u64;
    if count < 2 || FIXED_HEADER_LEN + 16 * count > size {
        return invalid("bad section table");
    }
    let mut table = vec![0u8; 16 * count as usize];
    file.read_exact(&mut table)?;
    let mut at = FIXED_HEADER_LEN + 16 * count;
    let mut sections = Vec::with_capacity(count as usize);
    for entry in table.chunks_exact(16) {
        let (len, checksum) = (word(entry), word(&entry[8..]));
        sections.push(Section { at, len, checksum });
        at = at.saturating_add(len);
    }
    if at != size {
        return invalid("truncated or padded");
    }

    crate::probe::stage("snapshot header read");
    let mut catalog = In::new(file, sections[0].len);
    if String::get(&mut catalog)? != env!("CARGO_PKG_VERSION") {
        return invalid("written by another version of nosterm");
    }
    // The search entries on their own thread from the start; the catalog meanwhile, its
    // concepts shared with a second thread (two cores, nothing else runs at start).
    let search = sections[1];
    let read_entries = || {
        search
            .open(&path)
            .and_then(|i| read_search(i, search.checksum))
    };
    std::thread::scope(|s| {
        let entries = std::thread::Builder::new()
            .name("snapshot-search".into())
            .spawn_scoped(s, read_entries);
        let dataset = read_catalog(catalog, &sections, &path);
        let entries = match entries {
            Ok(handle) => handle
                .join()
                .unwrap_or_else(|_| invalid("search entries decoding failed")),
            Err(_) => read_entries(),
        };
        crate::probe::stage("snapshot sections read");
        Ok(Some(Stored {
            dataset: dataset?,
            entries: entries?,
        }))
    })
}

/// The rest of the catalog section, then the concept sections.
fn read_catalog<R: Read>(mut catalog: In<R>, sections: &[Section], path: &Path) -> Result<Dataset> {
    // The catalog section first (small without its concepts): it says how many concepts
    // each code system has, checked before they are allocated.
    let n = catalog.len()?;
    let mut heads: Vec<Head> = Vec::with_capacity(n.min(1 << 16));
    for _ in 0..n {
        heads.push(Head::get(&mut catalog)?);
    }
    let value_sets = Vec::get(&mut catalog)?;
    let concept_maps = Vec::get(&mut catalog)?;
    let aliases = Vec::get(&mut catalog)?;
    let warnings = Vec::get(&mut catalog)?;
    end_of_section(catalog, sections[0].checksum)?;
    let total = heads
        .iter()
        .try_fold(0usize, |t, h| t.checked_add(h.concepts));
    let chunks = &sections[2..];
    let plausible = total.is_some_and(|t| {
        t.div_ceil(CHUNK) == chunks.len()
            && chunks.iter().enumerate().all(|(k, c)| {
                let claimed = (t - k * CHUNK).min(CHUNK) as u64;
                c.len >= claimed * MIN_CONCEPT_LEN
            })
    });
    if !plausible {
        return invalid("concept sections do not match the code systems");
    }

    // Every concept decoded straight into its place: each code system's list is cut into
    // the runs of the concept sections.
    let mut lists: Vec<Vec<Concept>> = heads
        .iter()
        .map(|h| {
            let mut v = Vec::new();
            v.resize_with(h.concepts, Concept::default);
            v
        })
        .collect();
    let mut runs: Vec<Vec<&mut [Concept]>> = chunks.iter().map(|_| Vec::new()).collect();
    let (mut k, mut room) = (0, CHUNK);
    for list in &mut lists {
        let mut rest: &mut [Concept] = list;
        while !rest.is_empty() {
            let take = room.min(rest.len());
            let (run, tail) = std::mem::take(&mut rest).split_at_mut(take);
            room -= run.len();
            runs[k].push(run);
            rest = tail;
            if room == 0 {
                (k, room) = (k + 1, CHUNK);
            }
        }
    }
    crate::probe::stage("snapshot catalog section read");
    // Taken in turn by this thread and a helper: whichever is free decodes the next one.
    let jobs: Vec<Job> = runs.into_iter().zip(chunks).rev().collect();
    let jobs = std::sync::Mutex::new(jobs);
    std::thread::scope(|s| {
        let helper = std::thread::Builder::new()
            .name("snapshot-concepts".into())
            .spawn_scoped(s, || work(path, &jobs));
        let mine = work(path, &jobs);
        let theirs = match helper {
            Ok(handle) => handle
                .join()
                .unwrap_or_else(|_| invalid("concepts decoding failed")),
            Err(_) => Ok(()),
        };
        mine.and(theirs)
    })?;
    let code_systems = heads
        .into_iter()
        .zip(lists)
        .map(|(h, concepts)| h.cs.with_lookups(concepts, h.lookups))
        .collect::<std::result::Result<Vec<_>, _>>()
        .or_else(invalid)?;
    crate::probe::stage("snapshot concepts read");
    Ok(Dataset {
        code_systems,
        value_sets,
        concept_maps,
        aliases,
        warnings,
    })
}

fn word(b: &[u8]) -> u64 {
    word_at(b)
}

/// A concept section and the places of its concepts.
type Job<'a> = (Vec<&'a mut [Concept]>, &'a Section);

type SearchPart = Option<(Entries, u64)>;

/// Decodes concept sections until none is left. On an error the sections left are dropped,
/// so the other worker stops too.
fn work(path: &Path, jobs: &std::sync::Mutex<Vec<Job>>) -> Result<()> {
    loop {
        let job = jobs.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let Some((runs, section)) = job else {
            return Ok(());
        };
        if let Err(e) = section
            .open(path)
            .and_then(|i| read_concepts(i, section, runs))
        {
            jobs.lock().unwrap_or_else(|p| p.into_inner()).clear();
            return Err(e);
        }
    }
}

fn read_concepts<R: Read>(mut i: In<R>, s: &Section, runs: Vec<&mut [Concept]>) -> Result<()> {
    for slot in runs.into_iter().flatten() {
        *slot = Concept::get(&mut i)?;
    }
    end_of_section(i, s.checksum)
}

fn read_search<R: Read>(mut i: In<R>, checksum: u64) -> Result<SearchPart> {
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
    end_of_section(i, checksum)?;
    Ok(entries)
}

fn end_of_section<R: Read>(i: In<R>, checksum: u64) -> Result<()> {
    if i.left() != 0 {
        return invalid("data after the end");
    }
    if i.hash.finish() != checksum {
        return invalid("checksum mismatch");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` concepts, each but the first under the one at half its position.
    fn table(url: &str, n: usize) -> CodeSystem {
        let concepts = (0..n)
            .map(|k| Concept {
                code: format!("{url}-{k}"),
                display: Some(format!("Libellé n°{k}")),
                parents: (k > 0)
                    .then(|| format!("{url}-{}", k / 2))
                    .into_iter()
                    .collect(),
                ..Default::default()
            })
            .collect();
        let meta = ResourceMeta {
            url: url.into(),
            ..Default::default()
        };
        CodeSystem::new(meta, concepts)
    }

    #[test]
    fn code_systems_across_concept_sections_come_back_whole() {
        // 2 × CHUNK + 8 concepts: three concept sections, cut inside "c" and inside "d",
        // with an empty table between.
        let systems = vec![
            table("a", CHUNK - 5),
            table("b", 0),
            table("c", 10),
            table("d", CHUNK + 3),
        ];
        let dir = std::env::temp_dir().join(format!("nosterm-chunks-{}", std::process::id()));
        let contents = Contents {
            code_systems: systems.iter().collect(),
            value_sets: Vec::new(),
            concept_maps: Vec::new(),
            aliases: &[],
            warnings: &[],
            entries: None,
        };
        let written = write(&dir, 7, &contents).map(|_| read(&dir, 7));
        let _ = fs::remove_dir_all(&dir);
        let stored = written.unwrap().unwrap().expect("a snapshot");
        assert!(stored.entries.is_none());
        // Concepts and look-ups (compared too) equal; look-ups answer.
        assert_eq!(stored.dataset.code_systems, systems);
        let d = &stored.dataset.code_systems[3];
        assert_eq!(d.index_of(&format!("d-{CHUNK}")), Some(CHUNK));
        assert!(d.subsumes("d-1", &format!("d-{}", CHUNK + 2)));
    }
}
