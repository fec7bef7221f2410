//! `ccmulti db verify` in PostgreSQL terms: the tables and indexes (the seed's
//! verification queries), the schema version from refinery's history, and,
//! for "integrity" (PostgreSQL has no `integrity_check`), the invariants the
//! coordination relies on, checked on the data itself: no path held
//! exclusively by one agent while another holds it, and no fencing token
//! ahead of the sequence that hands them out (a reused token would follow).

use super::migrations::{HISTORY_TABLE, applied_version};
use super::{PostgresStore, Result, SCHEMA_VERSION, ts};
use crate::store::Verification;

const SEED_TABLES: [&str; 4] = [
    "claude_code_sessions",
    "claude_code_agents",
    "file_locks",
    "task_progress",
];

/// Ours, and refinery's record of the migrations applied. SQLite's
/// `fencing_counter` is the `fencing_tokens` sequence here.
const ADDED_TABLES: [&str; 7] = [
    "coordination_events",
    "agent_news_cursors",
    "task_analyses",
    "lock_waiters",
    "path_versions",
    "pending_handovers",
    HISTORY_TABLE,
];

impl PostgresStore {
    pub(super) async fn verify(&self) -> Result<Verification> {
        let client = self.client().await?;
        let mut tables = Vec::new();
        for t in SEED_TABLES.iter().chain(&ADDED_TABLES) {
            let present: bool = client
                .query_one("SELECT to_regclass($1) IS NOT NULL", &[t])
                .await?
                .try_get(0)?;
            tables.push((t.to_string(), present));
        }
        let indexes = client
            .query(
                "SELECT indexname::text, tablename::text FROM pg_indexes
                  WHERE schemaname = current_schema() ORDER BY tablename, indexname",
                &[],
            )
            .await?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect::<Result<Vec<(String, String)>>>()?;
        let user_version = applied_version(&client).await?;
        let mut problems = Vec::new();
        if user_version == SCHEMA_VERSION {
            let shared_and_exclusive: i64 = client
                .query_one(
                    "SELECT COUNT(*) FROM file_locks a JOIN file_locks b
                       ON a.session_id = b.session_id AND a.file_path = b.file_path AND a.id <> b.id
                     WHERE a.operation <> 'read' AND a.expires_at > $1 AND b.expires_at > $1",
                    &[&ts(self.now_ms())],
                )
                .await?
                .try_get(0)?;
            if shared_and_exclusive > 0 {
                problems.push(format!(
                    "{shared_and_exclusive} live write/delete locks share their path with another live lock"
                ));
            }
            let ahead: i64 = client
                .query_one(
                    "SELECT COUNT(*) FROM file_locks
                      WHERE fencing_token > (SELECT last_value FROM fencing_tokens)",
                    &[],
                )
                .await?
                .try_get(0)?;
            if ahead > 0 {
                problems.push(format!(
                    "{ahead} locks have fencing tokens the sequence has not reached"
                ));
            }
        }
        Ok(Verification {
            backend: "postgres",
            expected_version: SCHEMA_VERSION,
            user_version,
            tables,
            indexes,
            integrity: if problems.is_empty() {
                "ok".into()
            } else {
                problems.join("; ")
            },
        })
    }
}
