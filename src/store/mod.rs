//! The snapshot file: the loaded data on disk, next to the search index:
//! `DIR/catalog-<fingerprint>.bin`, a compact binary copy of the `Dataset` (and of the search
//! entries, when they depend on the data alone), so that a restart on unchanged files skips
//! parsing them.
//!
//! Below both `catalog` and `search`: `hash` (the data key and the checksums), `codec` (the
//! `Bin` encoding of model types; `search` encodes its own entries with it) and `file` (the
//! sections of one file). The file is generic over the search section, so that this module
//! never names a search type and `search` never names a catalog one.
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

pub mod codec;
pub mod file;
pub mod hash;

pub use codec::{Bin, In, Out, Result, SnapshotError};
pub use file::{path_for, read, write, Contents, Stored};
pub use hash::{fingerprint_data, Hash64};
