//! One snapshot file: a header (magic, format, data key, then the length and checksum of each
//! section) and its sections: the catalog, the search part, then the concepts in runs of
//! `CHUNK`, decoded on two threads. Generic over the search part `S`, which its owner encodes.

use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::codec::{get_u32s, invalid, put_len, put_u32s, Bin, In, Out, Result};
use super::hash::{word_at, Hash64};
use crate::load::{Dataset, LoadError};
use crate::model::{CodeSystem, Concept, ConceptMap, ResourceMeta, ValueSet};

const MAGIC: &[u8; 16] = b"nosterm-catalog\0";
/// Bump when the encoding or the model changes. 2: sections (catalog, search entries,
/// concepts in runs of `CHUNK`), each with its length and checksum in the header, decoded on
/// two threads; a four-lane checksum. 3: a filter's value is optional. 4: search entries
/// carry their standing in the hierarchy (depth, notSelectable).
pub const FORMAT: u32 = 5;
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

/// What a snapshot file holds.
#[derive(Debug, Default)]
pub struct Stored<S> {
    pub dataset: Dataset,
    /// The search part and its fingerprint, when they were saved.
    pub entries: Option<(S, u64)>,
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

/// The snapshot file of the data keyed `fingerprint` in `dir`.
pub fn path_for(dir: &Path, fingerprint: u64) -> PathBuf {
    dir.join(format!("{PREFIX}{fingerprint:016x}{SUFFIX}"))
}

/// What `write` saves: the resources of one release, in load order.
pub struct Contents<'a, S> {
    pub code_systems: Vec<&'a CodeSystem>,
    pub value_sets: Vec<&'a ValueSet>,
    pub concept_maps: Vec<&'a ConceptMap>,
    pub aliases: &'a [(String, String)],
    pub warnings: &'a [LoadError],
    /// The search part and its fingerprint, when it depends on this data alone.
    pub entries: Option<(&'a S, u64)>,
}

fn put_refs<T: Bin, W: Write>(items: &[&T], o: &mut Out<W>) -> io::Result<()> {
    put_len(items.len(), o)?;
    items.iter().try_for_each(|v| v.put(o))
}

/// Writes the snapshot of the data keyed `fingerprint` into `dir`, atomically (aside, synced,
/// renamed), then removes the other snapshots.
pub fn write<S: Bin>(dir: &Path, fingerprint: u64, c: &Contents<S>) -> io::Result<PathBuf> {
    fs::create_dir_all(dir)?;
    let path = path_for(dir, fingerprint);
    let tmp = path.with_extension("bin.tmp");
    let total: usize = c.code_systems.iter().map(|cs| cs.concepts.len()).sum();
    let count = 2 + total.div_ceil(CHUNK);
    let header_len = FIXED_HEADER_LEN as usize + 16 * count;
    let mut file = File::create(&tmp)?;
    file.write_all(&vec![0u8; header_len])?;
    let mut o = Out::new(BufWriter::with_capacity(1 << 20, &mut file));
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
            e.put(&mut o)?;
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
pub fn read<S: Bin + Send>(dir: &Path, fingerprint: u64) -> Result<Option<Stored<S>>> {
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
    let n = catalog.count()?;
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
        // The snapshot file keeps no edition: `reload` reads the RF2 releases again.
        editions: Vec::new(),
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

fn read_search<S: Bin, R: Read>(mut i: In<R>, checksum: u64) -> Result<Option<(S, u64)>> {
    let entries = match u8::get(&mut i)? {
        0 => None,
        1 => {
            let fp = u64::get(&mut i)?;
            Some((S::get(&mut i)?, fp))
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
    use crate::model::{CodeSystem, Concept, ResourceMeta};

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
            entries: None::<(&u8, u64)>,
        };
        let written = write(&dir, 7, &contents).map(|_| read::<u8>(&dir, 7));
        let _ = fs::remove_dir_all(&dir);
        let stored = written.unwrap().unwrap().expect("a snapshot");
        assert!(stored.entries.is_none());
        // Concepts and look-ups (compared too) equal; look-ups answer.
        assert_eq!(stored.dataset.code_systems, systems);
        let d = &stored.dataset.code_systems[3];
        assert_eq!(d.index_of(&format!("d-{CHUNK}")), Some(CHUNK));
        assert!(d.subsumes("d-1", &format!("d-{}", CHUNK + 2)));
    }

    #[test]
    fn the_search_part_is_whatever_its_owner_encodes() {
        let dir = std::env::temp_dir().join(format!("nosterm-part-{}", std::process::id()));
        let systems = [table("a", 3)];
        let contents = Contents {
            code_systems: systems.iter().collect(),
            value_sets: Vec::new(),
            concept_maps: Vec::new(),
            aliases: &[],
            warnings: &[],
            entries: Some((&vec!["un".to_string(), "deux".to_string()], 42)),
        };
        let written = write(&dir, 9, &contents).map(|_| read::<Vec<String>>(&dir, 9));
        let _ = fs::remove_dir_all(&dir);
        let stored = written.unwrap().unwrap().expect("a snapshot");
        assert_eq!(
            stored.entries,
            Some((vec!["un".to_string(), "deux".to_string()], 42))
        );
        assert_eq!(stored.dataset.code_systems, systems);
    }
}
