//! An edition as bytes and back: what a restart reads instead of the RF2 files (a few hundred
//! MB of text parsed and indexed again). Little-endian, length-prefixed; every read is
//! bounds-checked, so a truncated or corrupt file is an error, never a panic.

use std::collections::HashMap;

use super::edition::{Edition, LanguageRefset, Rows};
use super::graph::{
    Acceptability, Cid, Concrete, Description, FieldValue, Inbound, Member, Relationship, Target,
};

const MAGIC: &[u8; 8] = b"NTSCT001";

#[derive(Default)]
struct Writer(Vec<u8>);

impl Writer {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u16(&mut self, v: u16) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn len(&mut self, n: usize) {
        self.u64(n as u64);
    }
    fn str(&mut self, s: &str) {
        self.len(s.len());
        self.0.extend_from_slice(s.as_bytes());
    }
    fn bools(&mut self, v: &[bool]) {
        self.len(v.len());
        self.0.extend(v.iter().map(|&b| u8::from(b)));
    }
    fn u32s(&mut self, v: &[u32]) {
        self.len(v.len());
        for &x in v {
            self.u32(x);
        }
    }
    fn u64s(&mut self, v: &[u64]) {
        self.len(v.len());
        for &x in v {
            self.u64(x);
        }
    }
    fn concrete(&mut self, c: &Concrete) {
        match c {
            Concrete::Number {
                text,
                number,
                decimal,
            } => {
                self.u8(0);
                self.str(text);
                self.u64(number.to_bits());
                self.u8(u8::from(*decimal));
            }
            Concrete::Text(t) => {
                self.u8(1);
                self.str(t);
            }
            Concrete::Boolean(b) => {
                self.u8(2);
                self.u8(u8::from(*b));
            }
        }
    }
    fn pairs(&mut self, m: &HashMap<Cid, Vec<(Cid, Cid)>>) {
        let mut keys: Vec<&Cid> = m.keys().collect();
        keys.sort();
        self.len(keys.len());
        for k in keys {
            self.u32(*k);
            self.len(m[k].len());
            for &(a, b) in &m[k] {
                self.u32(a);
                self.u32(b);
            }
        }
    }
}

struct Reader<'b> {
    bytes: &'b [u8],
    at: usize,
}

type R<T> = Result<T, String>;

impl<'b> Reader<'b> {
    fn take(&mut self, n: usize) -> R<&'b [u8]> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or_else(|| format!("truncated at byte {}", self.at))?;
        let s = &self.bytes[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn u8(&mut self) -> R<u8> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> R<u16> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> R<u32> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self) -> R<u64> {
        let b = self.take(8)?;
        let mut w = [0u8; 8];
        w.copy_from_slice(b);
        Ok(u64::from_le_bytes(w))
    }
    /// A count, checked against what is left (each item takes at least `min` bytes).
    fn len(&mut self, min: usize) -> R<usize> {
        let n = self.u64()?;
        let left = (self.bytes.len() - self.at) as u64;
        if n.saturating_mul(min.max(1) as u64) > left {
            return Err(format!(
                "a count of {n} at byte {} exceeds the file",
                self.at
            ));
        }
        Ok(n as usize)
    }
    fn bool(&mut self) -> R<bool> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            b => Err(format!("{b} is no boolean (byte {})", self.at - 1)),
        }
    }
    fn str(&mut self) -> R<Box<str>> {
        let n = self.len(1)?;
        let b = self.take(n)?;
        std::str::from_utf8(b)
            .map(Box::from)
            .map_err(|e| format!("text at byte {}: {e}", self.at - n))
    }
    fn bools(&mut self) -> R<Vec<bool>> {
        let n = self.len(1)?;
        (0..n).map(|_| self.bool()).collect()
    }
    fn u32s(&mut self) -> R<Vec<u32>> {
        let n = self.len(4)?;
        (0..n).map(|_| self.u32()).collect()
    }
    fn u64s(&mut self) -> R<Vec<u64>> {
        let n = self.len(8)?;
        (0..n).map(|_| self.u64()).collect()
    }
    fn concrete(&mut self) -> R<Concrete> {
        Ok(match self.u8()? {
            0 => Concrete::Number {
                text: self.str()?,
                number: f64::from_bits(self.u64()?),
                decimal: self.bool()?,
            },
            1 => Concrete::Text(self.str()?),
            2 => Concrete::Boolean(self.bool()?),
            t => return Err(format!("{t} is no concrete value kind")),
        })
    }
    fn pairs(&mut self, n_concepts: usize) -> R<HashMap<Cid, Vec<(Cid, Cid)>>> {
        let n = self.len(12)?;
        let mut m = HashMap::with_capacity(n);
        for _ in 0..n {
            let k = self.cid(n_concepts)?;
            let count = self.len(8)?;
            let mut v = Vec::with_capacity(count);
            for _ in 0..count {
                v.push((self.cid(n_concepts)?, self.cid(n_concepts)?));
            }
            m.insert(k, v);
        }
        Ok(m)
    }
    /// A concept index, checked to be one of the edition's.
    fn cid(&mut self, n_concepts: usize) -> R<Cid> {
        let c = self.u32()?;
        if (c as usize) < n_concepts {
            Ok(c)
        } else {
            Err(format!("concept index {c} out of range ({n_concepts})"))
        }
    }
}

fn rows_out<T>(w: &mut Writer, rows: &Rows<T>, item: impl Fn(&mut Writer, &T)) {
    w.u32s(&rows.offsets);
    w.len(rows.items.len());
    for x in &rows.items {
        item(w, x);
    }
}

fn rows_in<T>(
    r: &mut Reader,
    n_concepts: usize,
    min: usize,
    mut item: impl FnMut(&mut Reader) -> R<T>,
) -> R<Rows<T>> {
    let offsets = r.u32s()?;
    let n = r.len(min)?;
    let items = (0..n).map(|_| item(r)).collect::<R<Vec<T>>>()?;
    let well_formed = offsets.len() == n_concepts + 1
        && offsets.first() == Some(&0)
        && offsets.windows(2).all(|w| w[0] <= w[1])
        && offsets.last().is_some_and(|&l| l as usize == items.len());
    if !well_formed {
        return Err("rows whose offsets do not match their items".into());
    }
    Ok(Rows { offsets, items })
}

/// The edition as bytes.
pub fn encode(e: &Edition) -> Vec<u8> {
    let mut w = Writer::default();
    w.0.extend_from_slice(MAGIC);
    w.u64(e.module);
    w.str(&e.effective_time);
    w.u8(u8::from(e.published));
    w.str(&e.name);
    w.len(e.folders.len());
    for f in &e.folders {
        w.str(f);
    }
    w.u64s(&e.ids);
    w.bools(&e.active);
    w.bools(&e.primitive);
    w.u64s(&e.modules);
    w.u32s(&e.times);
    rows_out(&mut w, &e.parents, |w, &c| w.u32(c));
    rows_out(&mut w, &e.children, |w, &c| w.u32(c));
    rows_out(&mut w, &e.relationships, |w, r| {
        w.u32(r.type_id);
        w.u16(r.group);
        match &r.target {
            Target::Concept(c) => {
                w.u8(0);
                w.u32(*c);
            }
            Target::Concrete(v) => {
                w.u8(1);
                w.concrete(v);
            }
        }
    });
    rows_out(&mut w, &e.inbound, |w, i| {
        w.u32(i.source);
        w.u32(i.type_id);
        w.u16(i.group);
    });
    rows_out(&mut w, &e.descriptions, |w, d| {
        w.u64(d.id);
        w.u8(u8::from(d.active));
        w.u64(d.module);
        w.u32(d.effective_time);
        w.str(&d.language);
        w.u64(d.type_id);
        w.str(&d.term);
        w.u64(d.case_significance);
        w.len(d.acceptability.len());
        for (refset, a) in &d.acceptability {
            w.u64(*refset);
            w.u8(u8::from(*a == Acceptability::Preferred));
        }
    });
    w.u32s(&e.refset_ids);
    let mut refsets: Vec<&Cid> = e.members.keys().collect();
    refsets.sort();
    w.len(refsets.len());
    for refset in refsets {
        w.u32(*refset);
        let rows = &e.members[refset];
        w.len(rows.len());
        for m in rows {
            w.u8(u8::from(m.active));
            w.u64(m.module);
            w.u32(m.effective_time);
            w.u32(m.referenced.map_or(u32::MAX, |c| c));
            w.u64(m.referenced_id);
            w.len(m.fields.len());
            for (name, v) in &m.fields {
                w.str(name);
                match v {
                    FieldValue::Id(id) => {
                        w.u8(0);
                        w.u64(*id);
                    }
                    FieldValue::Integer(i) => {
                        w.u8(1);
                        w.u64(*i as u64);
                    }
                    FieldValue::Text(t) => {
                        w.u8(2);
                        w.str(t);
                    }
                }
            }
        }
    }
    w.pairs(&e.associations_into);
    w.pairs(&e.associations_from);
    w.len(e.language_refsets.len());
    for l in &e.language_refsets {
        w.u64(l.id);
        w.str(&l.tag);
    }
    w.0
}

/// The edition `encode` wrote; an error (never a panic) for anything else.
pub fn decode(bytes: &[u8]) -> Result<Edition, String> {
    let mut r = Reader { bytes, at: 0 };
    if r.take(MAGIC.len())? != MAGIC {
        return Err("not an edition file of this version".into());
    }
    let module = r.u64()?;
    let effective_time = r.str()?.into();
    let published = r.bool()?;
    let name = r.str()?.into();
    let n = r.len(8)?;
    let folders = (0..n)
        .map(|_| r.str().map(String::from))
        .collect::<R<_>>()?;
    let ids = r.u64s()?;
    let n = ids.len();
    let active = r.bools()?;
    let primitive = r.bools()?;
    let modules = r.u64s()?;
    let times = r.u32s()?;
    if [active.len(), primitive.len(), modules.len(), times.len()] != [n; 4] {
        return Err("concept columns of different lengths".into());
    }
    let parents = rows_in(&mut r, n, 4, |r| r.cid(n))?;
    let children = rows_in(&mut r, n, 4, |r| r.cid(n))?;
    let relationships = rows_in(&mut r, n, 7, |r| {
        let type_id = r.cid(n)?;
        let group = r.u16()?;
        let target = match r.u8()? {
            0 => Target::Concept(r.cid(n)?),
            1 => Target::Concrete(r.concrete()?),
            t => return Err(format!("{t} is no relationship target kind")),
        };
        Ok(Relationship {
            type_id,
            group,
            target,
        })
    })?;
    let inbound = rows_in(&mut r, n, 10, |r| {
        Ok(Inbound {
            source: r.cid(n)?,
            type_id: r.cid(n)?,
            group: r.u16()?,
        })
    })?;
    let descriptions = rows_in(&mut r, n, 53, |r| {
        let id = r.u64()?;
        let active = r.bool()?;
        let module = r.u64()?;
        let effective_time = r.u32()?;
        let language = r.str()?;
        let type_id = r.u64()?;
        let term = r.str()?;
        let case_significance = r.u64()?;
        let k = r.len(9)?;
        let acceptability = (0..k)
            .map(|_| {
                let refset = r.u64()?;
                let a = if r.bool()? {
                    Acceptability::Preferred
                } else {
                    Acceptability::Acceptable
                };
                Ok((refset, a))
            })
            .collect::<R<Vec<_>>>()?;
        Ok(Description {
            id,
            active,
            module,
            effective_time,
            language,
            type_id,
            term,
            case_significance,
            acceptability,
        })
    })?;
    let refset_ids = r.u32s()?;
    if refset_ids.iter().any(|&c| c as usize >= n) {
        return Err("a reference set index out of range".into());
    }
    let count = r.len(12)?;
    let mut members = HashMap::with_capacity(count);
    for _ in 0..count {
        let refset = r.cid(n)?;
        let rows = r.len(33)?;
        let mut v = Vec::with_capacity(rows);
        for _ in 0..rows {
            let active = r.bool()?;
            let module = r.u64()?;
            let effective_time = r.u32()?;
            let referenced = match r.u32()? {
                u32::MAX => None,
                c if (c as usize) < n => Some(c),
                c => return Err(format!("member of concept index {c} out of range")),
            };
            let referenced_id = r.u64()?;
            let k = r.len(9)?;
            let mut fields = Vec::with_capacity(k);
            for _ in 0..k {
                let name = r.str()?;
                let value = match r.u8()? {
                    0 => FieldValue::Id(r.u64()?),
                    1 => FieldValue::Integer(r.u64()? as i64),
                    2 => FieldValue::Text(r.str()?),
                    t => return Err(format!("{t} is no field kind")),
                };
                fields.push((name, value));
            }
            v.push(Member {
                active,
                module,
                effective_time,
                referenced,
                referenced_id,
                fields,
            });
        }
        members.insert(refset, v);
    }
    let associations_into = r.pairs(n)?;
    let associations_from = r.pairs(n)?;
    let k = r.len(16)?;
    let language_refsets = (0..k)
        .map(|_| {
            Ok(LanguageRefset {
                id: r.u64()?,
                tag: r.str()?.into(),
            })
        })
        .collect::<R<Vec<_>>>()?;
    if r.at != bytes.len() {
        return Err(format!("{} bytes after the edition", bytes.len() - r.at));
    }
    Ok(Edition {
        module,
        effective_time,
        published,
        name,
        folders,
        ids,
        active,
        primitive,
        modules,
        times,
        parents,
        children,
        relationships,
        inbound,
        descriptions,
        refset_ids,
        members,
        associations_into,
        associations_from,
        language_refsets,
    })
}
