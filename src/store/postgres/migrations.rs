//! Versioned schema migrations, `migrations/postgres/V<n>__<name>.sql`, run by
//! refinery as SQLite's are (the same history table, the same numbering).
//! PostgreSQL has no `user_version`: the schema's version is the newest
//! version in refinery's history.

use refinery::{Migration, Runner, Target};
use tokio_postgres::Client;

use super::{Result, SCHEMA_VERSION, StoreError};

/// In order; the last one's number is [`SCHEMA_VERSION`] (a test holds them together).
const POSTGRES: [(&str, &str); 4] = [
    (
        "V1__initial",
        include_str!("../../../migrations/postgres/V1__initial.sql"),
    ),
    (
        "V2__workspaces_and_waiters",
        include_str!("../../../migrations/postgres/V2__workspaces_and_waiters.sql"),
    ),
    (
        "V3__handover",
        include_str!("../../../migrations/postgres/V3__handover.sql"),
    ),
    (
        "V4__giving_way",
        include_str!("../../../migrations/postgres/V4__giving_way.sql"),
    ),
];

pub(super) const HISTORY_TABLE: &str = "refinery_schema_history";

/// Any fixed key: coordinators starting at once take turns to migrate.
const MIGRATION_LOCK: i64 = 0x6363_6d75_6c74_6931;

fn runner() -> Result<Runner> {
    let migrations = POSTGRES
        .iter()
        .map(|(name, sql)| {
            Migration::unapplied(name, sql).map_err(|e| StoreError::Migration(e.to_string()))
        })
        .collect::<Result<Vec<_>>>()?;
    let mut runner = Runner::new(&migrations);
    runner.set_migration_table_name(HISTORY_TABLE);
    // All pending migrations in one transaction, as for SQLite.
    Ok(runner
        .set_target(Target::Latest)
        .set_grouped(true)
        .set_abort_missing(true))
}

/// The newest applied version, 0 for an empty database.
pub(super) async fn applied_version(client: &Client) -> Result<i64> {
    let has_history: bool = client
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&HISTORY_TABLE])
        .await?
        .try_get(0)?;
    if !has_history {
        return Ok(0);
    }
    let version: i32 = client
        .query_one(
            &format!("SELECT COALESCE(MAX(version), 0) FROM {HISTORY_TABLE}"),
            &[],
        )
        .await?
        .try_get(0)?;
    Ok(i64::from(version))
}

/// Brings the database to [`SCHEMA_VERSION`]; refuses one that is newer.
/// Coordinators starting together queue on a session-level advisory lock,
/// and each finds the work done by the one before.
pub(super) async fn migrate(client: &mut Client) -> Result<()> {
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    let outcome = migrate_locked(client).await;
    // A lost connection drops the lock with it; an open one gives it back.
    let _ = client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
        .await;
    outcome
}

async fn migrate_locked(client: &mut Client) -> Result<()> {
    let found = applied_version(client).await?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::NewerSchema {
            found,
            known: SCHEMA_VERSION,
        });
    }
    if found == SCHEMA_VERSION {
        return Ok(());
    }
    runner()?
        .run_async(client)
        .await
        .map_err(|e| StoreError::Migration(e.to_string()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_migration_is_schema_version_and_numbers_match_sqlite() {
        let last = POSTGRES.last().map(|(name, _)| *name).unwrap_or("");
        assert!(last.starts_with(&format!("V{SCHEMA_VERSION}__")), "{last}");
        assert_eq!(SCHEMA_VERSION, crate::store::sqlite::SCHEMA_VERSION);
        for (i, (name, _)) in POSTGRES.iter().enumerate() {
            assert!(name.starts_with(&format!("V{}__", i + 1)), "{name}");
        }
        assert!(runner().is_ok());
    }
}
