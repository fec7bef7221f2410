//! A database written by the last release before versioned migrations
//! (schema version 1, `tests/fixtures/db/v1.db`, made through that binary's
//! HTTP tools by `tests/fixtures/db/make_v1.sh`) opens with this build: every
//! row of every table is kept, the version 2 columns and tables exist, and
//! `ccmulti db verify` passes on it. SQLite only: no release before the
//! versioned migrations ran on PostgreSQL.

use std::process::Command;
use std::sync::Arc;

use ccmulti::clock::SystemClock;
use ccmulti::store::sqlite::SCHEMA_VERSION;
use ccmulti::store::{Durability, SqliteStore as Store};
use ccmulti_testkit::SECURITY_ENV;
use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags};

/// Every table of version 1 and what the fixture holds in it.
const V1_TABLES: [(&str, usize); 9] = [
    ("claude_code_sessions", 2),
    ("claude_code_agents", 5),
    ("file_locks", 4),
    ("task_progress", 3),
    ("coordination_events", 7),
    ("agent_news_cursors", 2),
    ("task_analyses", 1),
    ("fencing_counter", 1),
    ("sqlite_sequence", 1),
];

type Rows = Vec<Vec<Value>>;

fn columns(conn: &Connection, table: &str) -> Vec<String> {
    conn.prepare(&format!("PRAGMA table_info({table})"))
        .unwrap()
        .query_map([], |r| r.get(1))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

/// The table's rows in `columns`, in rowid order where it has one.
fn rows(conn: &Connection, table: &str, columns: &[String]) -> Rows {
    let order = if table == "sqlite_sequence" {
        "name"
    } else {
        "rowid"
    };
    let sql = format!(
        "SELECT {} FROM {table} ORDER BY {order}",
        columns.join(", ")
    );
    let mut stmt = conn.prepare(&sql).unwrap();
    let n = columns.len();
    stmt.query_map([], |r| (0..n).map(|i| r.get::<_, Value>(i)).collect())
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

fn dump(conn: &Connection, v1_columns: &[(String, Vec<String>)]) -> Vec<Rows> {
    v1_columns
        .iter()
        .map(|(table, cols)| rows(conn, table, cols))
        .collect()
}

#[test]
fn a_version_1_database_is_upgraded_with_every_row_kept() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("coordinator.db");
    std::fs::copy(
        ccmulti_testkit::interop::repo().join("tests/fixtures/db/v1.db"),
        &db,
    )
    .unwrap();

    let (v1_columns, before) = {
        let old = Connection::open_with_flags(&db, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
        let version: i64 = old
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, 1, "the fixture is a version 1 database");
        let v1_columns: Vec<(String, Vec<String>)> = V1_TABLES
            .iter()
            .map(|(t, _)| (t.to_string(), columns(&old, t)))
            .collect();
        let before = dump(&old, &v1_columns);
        for ((table, expected), rows) in V1_TABLES.iter().zip(&before) {
            assert_eq!(rows.len(), *expected, "fixture rows in {table}");
        }
        (v1_columns, before)
    };

    let store = Store::open(&db, Arc::new(SystemClock), Durability::Normal).unwrap();
    drop(store);
    // Opened twice: the second open finds nothing to do.
    let store = Store::open(&db, Arc::new(SystemClock), Durability::Normal).unwrap();
    let snapshot = store.snapshot(100).unwrap();
    assert_eq!(snapshot.sessions.len(), 2);
    assert_eq!(snapshot.agents.len(), 5);
    assert!(snapshot.agents.iter().all(|a| a.workspace.is_none()));
    assert!(snapshot.waiters.is_empty());
    assert_eq!(snapshot.tasks.len(), 3);
    assert_eq!(snapshot.events.len(), 7);
    drop(store);

    let new = Connection::open(&db).unwrap();
    let version: i64 = new
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
    assert_eq!(
        dump(&new, &v1_columns),
        before,
        "a row changed or went missing"
    );
    let agent_columns = columns(&new, "claude_code_agents");
    for added in ["worktree", "branch"] {
        assert!(
            agent_columns.iter().any(|c| c == added),
            "{agent_columns:?}"
        );
    }
    assert_eq!(
        columns(&new, "lock_waiters"),
        [
            "id",
            "session_id",
            "agent_id",
            "operation",
            "file_paths",
            "since",
            "deadline"
        ]
    );
    // Version 1 recorded as found, not run again; each later one applied once.
    let history: Vec<i64> = new
        .prepare("SELECT version FROM refinery_schema_history ORDER BY version")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert_eq!(history, (1..=SCHEMA_VERSION).collect::<Vec<_>>());
    drop(new);

    let mut verify = Command::new(ccmulti_testkit::ccmulti_binary());
    for var in SECURITY_ENV {
        verify.env_remove(var);
    }
    let out = verify
        .args(["db", "verify", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    for expected in [
        &format!("schema version {SCHEMA_VERSION}")[..],
        "lock_waiters             present",
        "idx_lock_waiters_deadline",
        "integrity_check: ok",
    ] {
        assert!(text.contains(expected), "{expected:?} missing from\n{text}");
    }
}
