//! `ccmulti db backup FILE`: a consistent copy of the database while the
//! coordinator runs, through SQLite's online backup API.

use std::path::Path;

use rusqlite::Connection;
use rusqlite::backup::Backup;

use super::{Result, SqliteStore, StoreError, create_private_file};

impl SqliteStore {
    /// Copies the whole database to `dest`, which must not exist yet, in one
    /// step: a single read transaction, so the copy is the database as it
    /// was at one instant however many claims commit meanwhile (WAL lets them
    /// go on). The copy is readable by its owner only.
    pub fn backup_to(&self, dest: &Path) -> Result<()> {
        if dest.exists() {
            return Err(StoreError::File {
                path: dest.to_owned(),
                source: std::io::Error::new(
                    std::io::ErrorKind::AlreadyExists,
                    "already exists; name a new file, so that no backup is overwritten",
                ),
            });
        }
        create_private_file(dest).map_err(|source| StoreError::File {
            path: dest.to_owned(),
            source,
        })?;
        let copied = Connection::open(dest)
            .map_err(StoreError::from)
            .and_then(|mut copy| {
                self.read(|source| {
                    let backup = Backup::new(source, &mut copy)?;
                    // -1: every page in one step, under one read lock.
                    backup.step(-1)?;
                    Ok(())
                })
            });
        if copied.is_err() {
            // No half-made copy is left to be mistaken for a backup.
            let _ = std::fs::remove_file(dest);
        }
        copied
    }
}
