//! `ccmulti db verify`: the seed's verification queries, in SQLite terms.

use super::{Result, SCHEMA_VERSION, SqliteStore};
use crate::store::Verification;

const SEED_TABLES: [&str; 4] = [
    "claude_code_sessions",
    "claude_code_agents",
    "file_locks",
    "task_progress",
];

/// Ours, and refinery's record of the migrations applied.
const ADDED_TABLES: [&str; 8] = [
    "fencing_counter",
    "coordination_events",
    "agent_news_cursors",
    "task_analyses",
    "lock_waiters",
    "path_versions",
    "pending_handovers",
    "refinery_schema_history",
];

impl SqliteStore {
    pub fn verify(&self) -> Result<Verification> {
        self.read(|c| {
            let mut tables = Vec::new();
            let mut stmt = c.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1")?;
            for t in SEED_TABLES.iter().chain(&ADDED_TABLES) {
                tables.push((t.to_string(), stmt.exists([t])?));
            }
            let mut stmt = c.prepare(
                "SELECT name, tbl_name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%' ORDER BY tbl_name, name",
            )?;
            let indexes = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(Verification {
                backend: "sqlite",
                expected_version: SCHEMA_VERSION,
                user_version: c.pragma_query_value(None, "user_version", |r| r.get(0))?,
                tables,
                indexes,
                integrity: c.query_row("PRAGMA integrity_check", [], |r| r.get(0))?,
            })
        })
    }
}
