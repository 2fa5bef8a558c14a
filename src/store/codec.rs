//! The `Bin` encoding: every model type field by field, lengths as `u32`, options and enum
//! variants as a tag byte. `Out` writes and checksums; `In` decodes one section from a
//! buffer, sharing repeated names and codings. Other layers encode their own types with it
//! (`search` its entries).

use std::io::{self, Read, Write};
use std::sync::Arc;

use super::hash::Hash64;
use crate::load::LoadError;
use crate::model::{
    Coding, Compose, Concept, ConceptMap, ConceptProperty, ConceptReference, ConceptSetComponent,
    Designation, Filter, MapElement, MapGroup, MapTarget, Origin, PropertyDef, PropertyValue,
    ResourceMeta, ValueSet,
};

pub struct Out<W: Write> {
    pub(crate) w: W,
    pub(crate) hash: Hash64,
}

impl<W: Write> Out<W> {
    /// A writer into `w`, its checksum from zero.
    pub fn new(w: W) -> Self {
        Out {
            w,
            hash: Hash64::default(),
        }
    }

    pub fn bytes(&mut self, b: &[u8]) -> io::Result<()> {
        self.hash.write(b);
        self.w.write_all(b)
    }
}

/// Bytes read from the file at a time: fields are decoded from this buffer (no call into the
/// reader per field) and the checksum runs over whole blocks.
pub const BLOCK: usize = 1 << 22;

/// Decodes one section of a snapshot.
pub struct In<R: Read> {
    r: R,
    buf: Vec<u8>,
    /// `buf[pos..end]` is read but not decoded yet.
    pos: usize,
    end: usize,
    /// Bytes of the section not read from the file yet.
    unread: u64,
    /// Of the bytes read so far.
    pub(crate) hash: Hash64,
    /// Property names and system URLs seen so far, shared: a table has a handful for
    /// millions of uses, found again by their bytes.
    names: Vec<Arc<str>>,
    /// Designation uses seen so far, by their encoded bytes.
    codings: Vec<(Box<[u8]>, Arc<Coding>)>,
}

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("{0}")]
    Invalid(String),
}

pub type Result<T> = std::result::Result<T, SnapshotError>;

pub fn invalid<T>(what: &str) -> Result<T> {
    Err(SnapshotError::Invalid(what.to_string()))
}

impl<R: Read> In<R> {
    /// The section of `len` bytes that `r` reads from its start.
    pub fn new(r: R, len: u64) -> Self {
        In {
            r,
            buf: vec![0; usize::try_from(len).map_or(BLOCK, |len| len.min(BLOCK))],
            pos: 0,
            end: 0,
            unread: len,
            hash: Hash64::default(),
            names: Vec::new(),
            codings: Vec::new(),
        }
    }

    /// Section bytes not decoded yet: bounds every length read from the file.
    pub fn left(&self) -> u64 {
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
    pub fn read_into(&mut self, out: &mut [u8]) -> Result<()> {
        out.copy_from_slice(self.take(out.len())?);
        Ok(())
    }

    pub fn count(&mut self) -> Result<usize> {
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
        let n = self.count()?;
        simdutf8::basic::from_utf8(self.take(n)?).or_else(|_| invalid("bad UTF-8"))
    }

    /// A property name or system URL, shared (no copy when it was seen before).
    fn name(&mut self) -> Result<Arc<str>> {
        let n = self.count()?;
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

/// A type the snapshot file stores.
pub trait Bin: Sized {
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

pub fn put_str<W: Write>(s: &str, o: &mut Out<W>) -> io::Result<()> {
    put_len(s.len(), o)?;
    o.bytes(s.as_bytes())
}

pub fn put_len<W: Write>(n: usize, o: &mut Out<W>) -> io::Result<()> {
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
        let n = i.count()?;
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

/// A list of numbers, in blocks rather than one by one (millions for a large table).
pub fn put_u32s<W: Write>(list: &[u32], o: &mut Out<W>) -> io::Result<()> {
    put_len(list.len(), o)?;
    let mut bytes = Vec::with_capacity(list.len().min(BLOCK / 4) * 4);
    for part in list.chunks(BLOCK / 4) {
        bytes.clear();
        bytes.extend(part.iter().flat_map(|n| n.to_le_bytes()));
        o.bytes(&bytes)?;
    }
    Ok(())
}

pub fn get_u32s<R: Read>(i: &mut In<R>) -> Result<Vec<u32>> {
    let n = i.count()?;
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
