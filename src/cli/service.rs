//! The coordination service for a command that runs once (`status`,
//! `release`, `db verify`, `plan`): the database opened as the command needs
//! it, and a small runtime of its own for the service's async calls.

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

pub(super) fn open(common: &Common, opening: Opening) -> Result<SqliteStore> {
    let db = common.db_path()?;
    let clock = Arc::new(SystemClock);
    let opened = match opening {
        Opening::CreateIfMissing => SqliteStore::open(&db, clock, Durability::Normal),
        Opening::MustExist => SqliteStore::open_existing(&db, clock, Durability::Normal),
    };
    match opened {
        Err(missing @ StoreError::Missing { .. }) => Err(missing.into()),
        opened => opened.with_context(|| format!("opening the database {}", db.display())),
    }
}

/// Runs `work` against the service over the database.
pub(super) fn with_service<T>(
    common: &Common,
    opening: Opening,
    work: impl AsyncFnOnce(&Coordinator) -> Result<T>,
) -> Result<T> {
    let store = open(common, opening)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let coord = Coordinator::new(Arc::new(store));
        work(&coord).await
    })
}
