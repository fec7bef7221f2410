//! The dashboard's data side: snapshots from the store, releases into it, and
//! a change signal from the database files, so that a write by any process
//! (this coordinator, `ccmulti release`, another dashboard) shows at once.

use std::path::Path;
use std::sync::mpsc::{Receiver, Sender, channel};

use ccmulti_ui::model::{Action, Snapshot};
use ccmulti_ui::run::DataSource;
use notify::{RecursiveMode, Watcher};

use crate::store::{ForceSelector, Store};

/// How many recent events the dashboard shows.
const EVENTS_SHOWN: usize = 200;

pub struct StoreSource {
    store: Store,
}

impl StoreSource {
    pub fn new(store: Store) -> Self {
        Self { store }
    }
}

impl DataSource for StoreSource {
    fn snapshot(&mut self) -> Result<Snapshot, String> {
        self.store.snapshot(EVENTS_SHOWN).map_err(|e| {
            tracing::error!(error = %e, "dashboard snapshot failed");
            format!("could not read the database: {e}")
        })
    }

    fn apply(&mut self, action: &Action) -> Result<String, String> {
        match action {
            Action::ReleaseLock {
                lock_id,
                path,
                holder,
                ..
            } => {
                let released = self
                    .store
                    .force_release(&ForceSelector::LockId(lock_id.clone()), "dashboard")
                    .map_err(|e| format!("could not release {path}: {e}"))?;
                if released.is_empty() {
                    Ok(format!("{path} was already free"))
                } else {
                    Ok(format!("released {path} held by {holder}"))
                }
            }
            _ => Ok(String::new()),
        }
    }
}

/// Watches the database and its WAL; every change sends one `()`.
/// The watcher must be kept alive for as long as changes are wanted.
pub fn watch_database(db: &Path) -> notify::Result<(notify::RecommendedWatcher, Receiver<()>)> {
    let (tx, rx) = channel();
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
    let notify_tx: Sender<()> = tx;
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else { return };
        if !(event.kind.is_modify() || event.kind.is_create()) {
            return;
        }
        if event.paths.iter().any(|p| {
            p.file_name()
                .is_some_and(|n| watched.iter().any(|w| w == n))
        }) {
            let _ = notify_tx.send(());
        }
    })?;
    let dir = db
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    watcher.watch(dir, RecursiveMode::NonRecursive)?;
    Ok((watcher, rx))
}
