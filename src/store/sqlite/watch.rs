//! Every write to the database, by any process, as a [`Change::Written`] on
//! the change feed: the database file and its WAL are watched (`notify`), so
//! a dashboard shows at once what this coordinator, `ccmulti release` or
//! another dashboard wrote.

use std::path::Path;

use notify::{RecursiveMode, Watcher};

use super::{Result, SqliteStore, StoreError};
use crate::store::Change;

impl SqliteStore {
    /// Starts watching (once; later calls do nothing). The watcher lives as
    /// long as the store.
    pub fn watch_files(&self) -> Result<()> {
        let mut slot = self
            .inner
            .watcher
            .lock()
            .map_err(|_| StoreError::Poisoned)?;
        if slot.is_some() {
            return Ok(());
        }
        let db = self.path();
        let watched: Vec<std::ffi::OsString> = ["", "-wal"]
            .iter()
            .filter_map(|suffix| {
                db.file_name().map(|n| {
                    let mut n = n.to_os_string();
                    n.push(suffix);
                    n
                })
            })
            .collect();
        let changes = self.inner.changes.clone();
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                let Ok(event) = event else { return };
                if !(event.kind.is_modify() || event.kind.is_create()) {
                    return;
                }
                if event.paths.iter().any(|p| {
                    p.file_name()
                        .is_some_and(|n| watched.iter().any(|w| w == n))
                }) {
                    let _ = changes.send(Change::Written);
                }
            })
            .map_err(watch_error)?;
        let dir = db
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        watcher
            .watch(dir, RecursiveMode::NonRecursive)
            .map_err(watch_error)?;
        *slot = Some(watcher);
        Ok(())
    }
}

fn watch_error(e: notify::Error) -> StoreError {
    StoreError::Database(Box::new(e))
}
