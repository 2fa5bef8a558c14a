//! How the search entries are stored in the snapshot file (`store`): scopes then entries,
//! with the `store::Bin` encoding.

use std::io::{self, Read, Write};
use std::sync::Arc;

use super::entries::{Entries, Entry, EntryBuilder, ScopeInfo, Section as TextPart, Standing};
use crate::store::codec::{invalid, put_len, put_str, Bin, In, Out, Result};

impl Bin for ScopeInfo {
    fn put<W: Write>(&self, o: &mut Out<W>) -> io::Result<()> {
        self.key.put(o)?;
        self.table_words.put(o)
    }
    fn get<R: Read>(i: &mut In<R>) -> Result<Self> {
        Ok(ScopeInfo {
            key: Bin::get(i)?,
            table_words: Bin::get(i)?,
        })
    }
}

/// Scopes, then entries as a list.
impl Bin for Entries {
    fn put<W: Write>(&self, o: &mut Out<W>) -> io::Result<()> {
        self.scopes.put(o)?;
        put_len(self.entries.len(), o)?;
        self.entries.iter().try_for_each(|e| put_entry(e, o))
    }

    fn get<R: Read>(i: &mut In<R>) -> Result<Self> {
        let scopes: Vec<ScopeInfo> = Vec::get(i)?;
        let n = i.count()?;
        // Bounded: a corrupted count fails on the missing bytes, not on the allocation.
        let mut entries = Vec::with_capacity(n.min(1 << 21));
        // Texts are read straight into one reused builder: one allocation per entry.
        let mut b = EntryBuilder::default();
        for _ in 0..n {
            entries.push(get_entry(i, &mut b)?);
        }
        Ok(Entries::from_parts(scopes, entries))
    }
}

/// The fields as separate strings and lists (the format of `bin_struct!` over the fields
/// `Entry` had before its texts were packed): snapshots stay readable both ways.
fn put_entry<W: Write>(e: &Entry, o: &mut Out<W>) -> io::Result<()> {
    {
        fn texts<'a, W: Write>(
            mut items: impl ExactSizeIterator<Item = &'a str>,
            o: &mut Out<W>,
        ) -> io::Result<()> {
            put_len(items.len(), o)?;
            items.try_for_each(|s| put_str(s, o))
        }
        let p = e.parts();
        e.scope.put(o)?;
        e.system.put(o)?;
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
        e.inactive.put(o)?;
        e.standing.depth.put(o)?;
        e.standing.not_selectable.put(o)?;
        e.standing.parent.put(o)
    }
}

fn get_entry<R: Read>(i: &mut In<R>, b: &mut EntryBuilder) -> Result<Entry> {
    {
        let scope = u32::get(i)?;
        let system = Arc::<str>::get(i)?;
        let text = |b: &mut EntryBuilder, section, i: &mut In<R>| {
            let n = i.count()?;
            b.fill(section, n, |out| i.read_into(out))
        };
        text(b, TextPart::Code, i)?;
        match u8::get(i)? {
            0 => {}
            1 => text(b, TextPart::Display, i)?,
            _ => return invalid("bad option tag"),
        }
        for section in [TextPart::Alt, TextPart::Desc, TextPart::TableWord] {
            for _ in 0..i.count()? {
                text(b, section, i)?;
            }
        }
        let inactive = bool::get(i)?;
        let standing = Standing {
            depth: u8::get(i)?,
            not_selectable: bool::get(i)?,
            parent: u32::get(i)?,
        };
        let Some(mut entry) = b.finish(scope, system, inactive) else {
            return invalid("bad UTF-8");
        };
        entry.standing = standing;
        Ok(entry)
    }
}
