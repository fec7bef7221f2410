//! Versioned schema migrations, `migrations/sqlite/V<n>__<name>.sql`.
//!
//! refinery rather than rusqlite_migration: it works with our rusqlite 0.37
//! (it accepts 0.23 to 0.41), and it has drivers for postgres and
//! tokio-postgres, so a later PostgreSQL backend keeps the same runner, the
//! same history table and the same V<n> numbering, where rusqlite_migration
//! is SQLite only. It records each applied migration, with a checksum, in
//! `refinery_schema_history`; every migration also sets `PRAGMA
//! user_version` to its number, which is what the releases before migrations
//! check, so they refuse a database this one has upgraded.
//!
//! A database those releases made has `user_version = 1` and no history
//! table: it is version 1 as it stands, so V1 is recorded as applied without
//! running (refinery's fake target) and only the later migrations run.

use refinery::{Migration, Runner, Target};
use rusqlite::Connection;

use super::{Result, SCHEMA_VERSION, StoreError};

/// In order; the last one's number is [`SCHEMA_VERSION`] (a test holds them together).
const SQLITE: [(&str, &str); 4] = [
    (
        "V1__initial",
        include_str!("../../../migrations/sqlite/V1__initial.sql"),
    ),
    (
        "V2__workspaces_and_waiters",
        include_str!("../../../migrations/sqlite/V2__workspaces_and_waiters.sql"),
    ),
    (
        "V3__handover",
        include_str!("../../../migrations/sqlite/V3__handover.sql"),
    ),
    (
        "V4__giving_way",
        include_str!("../../../migrations/sqlite/V4__giving_way.sql"),
    ),
];

/// The version 1 schema, as the releases before migrations applied it.
#[cfg(test)]
pub(super) const V1: &str = SQLITE[0].1;

const HISTORY_TABLE: &str = "refinery_schema_history";

fn migrations() -> Result<Vec<Migration>> {
    SQLITE
        .iter()
        .map(|(name, sql)| {
            Migration::unapplied(name, sql).map_err(|e| StoreError::Migration(e.to_string()))
        })
        .collect()
}

fn user_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.pragma_query_value(None, "user_version", |r| r.get(0))
}

fn runner(target: Target) -> Result<Runner> {
    let mut runner = Runner::new(&migrations()?);
    runner.set_migration_table_name(HISTORY_TABLE);
    Ok(runner
        .set_target(target)
        // All pending migrations in one transaction: a failure leaves the
        // database at the version it had, never between two.
        .set_grouped(true)
        // A history with a migration this binary does not know is a newer
        // ccmulti's; user_version has refused it before this runs.
        .set_abort_missing(true))
}

/// How often an open tries to migrate before it gives up.
const ATTEMPTS: u32 = 3;
const RETRY_AFTER: std::time::Duration = std::time::Duration::from_millis(100);

/// Brings the database to [`SCHEMA_VERSION`]; refuses one that is newer.
///
/// Two processes opening an old database at once (a coordinator starting and
/// a `ccmulti status`) may both start migrating. refinery re-reads the history
/// at each step and the busy timeout queues the writes, so in the test below
/// they simply take turns; should one still lose a race (fail on the other's
/// work and roll back), it tries again and finds the database migrated.
pub(super) fn migrate(conn: &mut Connection) -> Result<()> {
    let mut attempt = 1;
    loop {
        match migrate_once(conn) {
            Err(StoreError::Migration(_) | StoreError::Database(_)) if attempt < ATTEMPTS => {
                attempt += 1;
                std::thread::sleep(RETRY_AFTER);
            }
            done => return done,
        }
    }
}

fn migrate_once(conn: &mut Connection) -> Result<()> {
    let found = user_version(conn)?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::NewerSchema {
            found,
            known: SCHEMA_VERSION,
        });
    }
    if found == SCHEMA_VERSION {
        return Ok(());
    }
    let has_history = conn
        .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1")?
        .exists([HISTORY_TABLE])?;
    if found == 1 && !has_history {
        runner(Target::FakeVersion(1))?
            .run(conn)
            .map_err(|e| StoreError::Migration(e.to_string()))?;
    }
    runner(Target::Latest)?
        .run(conn)
        .map_err(|e| StoreError::Migration(e.to_string()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_migration_is_schema_version_and_each_sets_user_version() {
        let last = SQLITE.last().map(|(name, _)| *name).unwrap_or("");
        assert!(last.starts_with(&format!("V{SCHEMA_VERSION}__")), "{last}");
        for (i, (name, sql)) in SQLITE.iter().enumerate() {
            assert!(name.starts_with(&format!("V{}__", i + 1)), "{name}");
            assert!(
                sql.contains(&format!("PRAGMA user_version = {};", i + 1)),
                "{name} must set user_version"
            );
        }
        assert_eq!(migrations().unwrap().len(), SQLITE.len());
    }

    #[test]
    fn a_new_database_gets_every_migration_and_a_version_1_one_only_the_later_ones() {
        let mut fresh = Connection::open_in_memory().unwrap();
        migrate(&mut fresh).unwrap();
        assert_eq!(user_version(&fresh).unwrap(), SCHEMA_VERSION);
        let applied: i64 = fresh
            .query_row("SELECT COUNT(*) FROM refinery_schema_history", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(applied, SCHEMA_VERSION);

        // A version 1 database as the releases before migrations left it, with a row.
        let mut old = Connection::open_in_memory().unwrap();
        old.execute_batch(V1).unwrap();
        old.execute_batch(
            "INSERT INTO claude_code_sessions (id, name, user_id) VALUES ('s', 's', 'u');
             INSERT INTO claude_code_agents (id, session_id, name) VALUES ('a', 's', 'a');",
        )
        .unwrap();
        migrate(&mut old).unwrap();
        assert_eq!(user_version(&old).unwrap(), SCHEMA_VERSION);
        let worktree: Option<String> = old
            .query_row("SELECT worktree FROM claude_code_agents", [], |r| r.get(0))
            .unwrap();
        assert_eq!(worktree, None);
        // Opening it again changes nothing.
        migrate(&mut old).unwrap();
        let history: Vec<i64> = old
            .prepare("SELECT version FROM refinery_schema_history ORDER BY version")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(history, (1..=SCHEMA_VERSION).collect::<Vec<_>>());
    }

    #[test]
    fn processes_opening_a_version_1_database_at_once_all_end_migrated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        let old = Connection::open(&path).unwrap();
        old.pragma_update(None, "journal_mode", "WAL").unwrap();
        old.execute_batch(V1).unwrap();
        drop(old);
        let opens: Vec<_> = (0..4)
            .map(|_| {
                let path = path.clone();
                std::thread::spawn(move || {
                    let mut conn = Connection::open(&path).unwrap();
                    conn.busy_timeout(std::time::Duration::from_secs(5))
                        .unwrap();
                    migrate(&mut conn)
                })
            })
            .collect();
        for open in opens {
            open.join().unwrap().unwrap();
        }
        let conn = Connection::open(&path).unwrap();
        assert_eq!(user_version(&conn).unwrap(), SCHEMA_VERSION);
        let applied: i64 = conn
            .query_row("SELECT COUNT(*) FROM refinery_schema_history", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(applied, SCHEMA_VERSION);
    }

    #[test]
    fn a_newer_database_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        let err = migrate(&mut conn).unwrap_err();
        assert!(
            matches!(err, StoreError::NewerSchema { found, .. } if found == SCHEMA_VERSION + 1)
        );
        assert!(err.to_string().contains("upgrade ccmulti"), "{err}");
    }
}
