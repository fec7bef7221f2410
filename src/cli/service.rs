//! The coordination service for a command that runs once (`status`,
//! `release`, `db verify`, `plan`): the database opened as the command needs
//! it, and a small runtime of its own for the service's async calls.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use ccmulti::clock::SystemClock;
use ccmulti::coord::Coordinator;
use ccmulti::store::{
    CoordStore, Durability, PostgresStore, SharedStore, SqliteStore, StoreError, postgres,
};

use super::{Common, Database};

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

/// The SQLite file `--db` names, with what went wrong said.
pub(super) fn open(common: &Common, opening: Opening) -> Result<SqliteStore> {
    let db = common.db_path()?;
    open_file(&db, opening)
}

fn open_file(db: &Path, opening: Opening) -> Result<SqliteStore> {
    match open_at(db, opening) {
        Err(missing @ StoreError::Missing { .. }) => Err(missing.into()),
        opened => opened.with_context(|| format!("opening the database {}", db.display())),
    }
}

/// Connects to PostgreSQL and migrates it; must run inside a tokio runtime.
/// With `MustExist` a database without ccmulti's tables is an error and is
/// left as it was. The error names the URL without its password.
pub(super) async fn open_postgres(url: &str, opening: Opening) -> Result<PostgresStore> {
    let clock = Arc::new(SystemClock);
    let opened = match opening {
        Opening::CreateIfMissing => PostgresStore::open(url, clock).await,
        Opening::MustExist => PostgresStore::open_existing(url, clock).await,
    };
    match opened {
        Err(missing @ StoreError::MissingSchema { .. }) => Err(missing.into()),
        opened => opened
            .with_context(|| format!("opening the PostgreSQL database {}", postgres::redact(url))),
    }
}

/// The store the database setting names; must run inside a tokio runtime
/// (PostgreSQL's listener runs on it).
pub(super) async fn open_store(
    database: &Database,
    opening: Opening,
    durability: Durability,
) -> Result<SharedStore> {
    Ok(match database {
        Database::File(path) => match opening {
            Opening::MustExist => Arc::new(open_file(path, opening)?),
            Opening::CreateIfMissing => Arc::new(
                SqliteStore::open(path, Arc::new(SystemClock), durability)
                    .with_context(|| format!("opening the database {}", path.display()))?,
            ),
        },
        Database::Postgres(url) => Arc::new(open_postgres(url, opening).await?),
    })
}

/// Runs `work` against the service over the database the setting names.
pub(super) fn with_service<T>(
    common: &Common,
    opening: Opening,
    work: impl AsyncFnOnce(&Coordinator) -> Result<T>,
) -> Result<T> {
    let database = common.database()?;
    once_runtime()?.block_on(async {
        let store = open_store(&database, opening, Durability::Normal).await?;
        work(&Coordinator::new(store)).await
    })
}

/// Runs `work` against the service over `store`.
pub(super) fn serve_once<T>(
    store: impl CoordStore + 'static,
    work: impl AsyncFnOnce(&Coordinator) -> Result<T>,
) -> Result<T> {
    once_runtime()?.block_on(async {
        let coord = Coordinator::new(Arc::new(store));
        work(&coord).await
    })
}

fn once_runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}
