//! The coordination service for a command that runs once (`status`,
//! `release`, `db verify`, `plan`): the database opened as the command needs
//! it, and a small runtime of its own for the service's async calls.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use ccmulti::clock::SystemClock;
use ccmulti::coord::Coordinator;
use ccmulti::store::{Durability, SqliteStore, StoreError};

use super::Common;

/// How a one-shot command opens the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Opening {
    /// Creates it if missing (`ccmulti plan` records into a new one).
    CreateIfMissing,
    /// A command that looks at (or releases from) a coordinator's database:
    /// a mistyped `--db` must not leave a new file or directory behind, so a
    /// missing one is an error that names the path and how to start a coordinator.
    MustExist,
}

/// The database at `db`; a missing one is [`StoreError::Missing`] with `MustExist`.
pub(super) fn open_at(db: &Path, opening: Opening) -> Result<SqliteStore, StoreError> {
    let clock = Arc::new(SystemClock);
    match opening {
        Opening::CreateIfMissing => SqliteStore::open(db, clock, Durability::Normal),
        Opening::MustExist => SqliteStore::open_existing(db, clock, Durability::Normal),
    }
}

/// The database `--db` names, with what went wrong said.
pub(super) fn open(common: &Common, opening: Opening) -> Result<SqliteStore> {
    let db = common.db_path()?;
    match open_at(&db, opening) {
        Err(missing @ StoreError::Missing { .. }) => Err(missing.into()),
        opened => opened.with_context(|| format!("opening the database {}", db.display())),
    }
}

/// Runs `work` against the service over the database `--db` names.
pub(super) fn with_service<T>(
    common: &Common,
    opening: Opening,
    work: impl AsyncFnOnce(&Coordinator) -> Result<T>,
) -> Result<T> {
    serve_once(open(common, opening)?, work)
}

/// Runs `work` against the service over `store`.
pub(super) fn serve_once<T>(
    store: SqliteStore,
    work: impl AsyncFnOnce(&Coordinator) -> Result<T>,
) -> Result<T> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let coord = Coordinator::new(Arc::new(store));
        work(&coord).await
    })
}
