//! Task progress: one row per (session, agent, task), upserted.

use rusqlite::params;

use super::{Result, SqliteStore, time};
use crate::rules::progress::ProgressUpdate;

impl SqliteStore {
    /// Records progress; an absent percentage ([`ProgressUpdate::stored_percentage`])
    /// or message keeps the previous one.
    pub fn sync_progress(
        &self,
        session: &str,
        agent: &str,
        update: &ProgressUpdate,
    ) -> Result<i64> {
        let files = update
            .affected_files
            .as_ref()
            .map(|f| serde_json::Value::from(f.clone()).to_string());
        let pct = update.stored_percentage().map(i64::from);
        self.write(|tx| {
            // Stamped inside the write lock, so stamps follow commit order and an
            // agent's news (which reads up to its own now) never skips an update.
            let now = self.now_ms();
            tx.prepare_cached(
                "INSERT INTO task_progress
                   (id, session_id, agent_id, task_id, status, progress_percentage, message, affected_files, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)
                 ON CONFLICT (session_id, agent_id, task_id) DO UPDATE SET
                   status = excluded.status,
                   progress_percentage = COALESCE(excluded.progress_percentage, progress_percentage),
                   message = COALESCE(excluded.message, message),
                   affected_files = COALESCE(excluded.affected_files, affected_files),
                   updated_at = excluded.updated_at",
            )?
            .execute(params![
                uuid::Uuid::new_v4().to_string(),
                session,
                agent,
                update.task_id,
                update.status.as_str(),
                pct,
                update.message,
                files,
                time::to_text(now),
            ])?;
            Ok(now)
        })
    }
}
