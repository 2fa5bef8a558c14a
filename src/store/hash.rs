//! A fast streaming 64-bit hash: four independent multiply-rotate lanes over 32-byte blocks
//! (the CPU runs them side by side: several GB/s), then the lanes, the tail, the length and an
//! avalanche. The same bytes give the same value however they are split into `write` calls.
//! Keys the data folder (`fingerprint_data`) and checksums each section of a snapshot file.

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use super::file::FORMAT;

#[derive(Clone)]
pub struct Hash64 {
    lanes: [u64; 4],
    pub(super) len: u64,
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
pub(super) fn word_at(b: &[u8]) -> u64 {
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
