//! The hand-over records on PostgreSQL: where each path's latest version is
//! (`path_versions`, written by the release step, see `locks`), and the
//! versions a grant told its holder to bring in (`pending_handovers`).

use std::collections::BTreeMap;

use ccmulti_model::{AgentWorkspace, PathVersion, PendingHandOver};
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

use super::{PostgresStore, Result, lock_sessions, ms, ts};
use crate::clock::Millis;
use crate::rules::handover::NewVersion;

/// Records where a path's latest version is, stamped `now`: by a release
/// (inside its lock step) or by a grant that found it in another worktree.
pub(super) async fn insert_version(
    c: &impl GenericClient,
    session: &str,
    version: &NewVersion,
    now: Millis,
) -> Result<()> {
    let stmt = c
        .prepare_cached(
            "INSERT INTO path_versions (session_id, file_path, agent_id, host, worktree, branch,
               commit_id, blob_id, left_uncommitted, recorded_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .await?;
    let w = &version.workspace;
    c.execute(
        &stmt,
        &[
            &session,
            &version.path,
            &version.agent,
            &w.host,
            &w.worktree,
            &w.branch,
            &version.commit,
            &version.blob,
            &version.left_uncommitted,
            &ts(now),
        ],
    )
    .await?;
    Ok(())
}

const VERSION_COLUMNS: &str = "v.id, v.session_id, v.file_path, v.agent_id, v.host, v.worktree, \
     v.branch, v.commit_id, v.blob_id, v.left_uncommitted, v.recorded_at";

/// A row of [`VERSION_COLUMNS`] starting at column `at`.
fn version(row: &Row, at: usize) -> Result<PathVersion> {
    Ok(PathVersion {
        id: row.try_get(at)?,
        session_id: row.try_get(at + 1)?,
        path: row.try_get(at + 2)?,
        agent_id: row.try_get(at + 3)?,
        workspace: AgentWorkspace {
            host: row.try_get(at + 4)?,
            worktree: row.try_get(at + 5)?,
            branch: row.try_get(at + 6)?,
        },
        commit: row.try_get(at + 7)?,
        blob: row.try_get(at + 8)?,
        left_uncommitted: row.try_get(at + 9)?,
        recorded_at_ms: ms(row.try_get(at + 10)?),
    })
}

/// `None` reads every session's (the dashboard's snapshot).
pub(super) async fn pending(
    c: &impl GenericClient,
    session: Option<&str>,
) -> Result<Vec<PendingHandOver>> {
    let stmt = c
        .prepare_cached(&format!(
            "SELECT p.lock_id::text, l.agent_id, {VERSION_COLUMNS}
             FROM file_locks l
             JOIN pending_handovers p ON p.lock_id = l.id
             JOIN path_versions v ON v.id = p.version_id
             WHERE ($1::text IS NULL OR l.session_id = $1)
             ORDER BY l.session_id, l.agent_id, v.file_path, v.id"
        ))
        .await?;
    c.query(&stmt, &[&session])
        .await?
        .iter()
        .map(|r| {
            Ok(PendingHandOver {
                lock_id: r.try_get(0)?,
                agent_id: r.try_get(1)?,
                version: version(r, 2)?,
            })
        })
        .collect()
}

impl PostgresStore {
    pub(super) async fn path_versions(&self, session: &str) -> Result<Vec<PathVersion>> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&format!(
                "SELECT {VERSION_COLUMNS} FROM path_versions v WHERE v.session_id = $1 ORDER BY v.id"
            ))
            .await?;
        let rows = client.query(&stmt, &[&session]).await?;
        rows.iter().map(|r| version(r, 0)).collect()
    }

    pub(super) async fn pending_handovers(&self, session: &str) -> Result<Vec<PendingHandOver>> {
        pending(&self.client().await?, Some(session)).await
    }

    pub(super) async fn granted_at(
        &self,
        session: &str,
        agent: &str,
    ) -> Result<BTreeMap<String, Millis>> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT id::text, created_at FROM file_locks WHERE session_id = $1 AND agent_id = $2",
            )
            .await?;
        let rows = client.query(&stmt, &[&session, &agent]).await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, ms(r.try_get(1)?))))
            .collect()
    }

    /// Inserts (`keep`) or deletes the (lock, version) pairs; a lock gone
    /// meanwhile keeps nothing.
    pub(super) async fn record_versions(
        &self,
        session: &str,
        versions: &[NewVersion],
        seen: Option<i64>,
    ) -> Result<bool> {
        if versions.is_empty() {
            return Ok(true);
        }
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        // Under the session's lock, which every version's insert takes: none
        // lands between this check and the inserts. Stamped under it too, as
        // the news cursor is, so a version is never older than a look that
        // could not see it.
        lock_sessions(&tx, &[session]).await?;
        let newer = tx
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM path_versions
                  WHERE session_id = $1 AND file_path = $2 AND id > $3)",
            )
            .await?;
        for version in versions {
            let moved: bool = tx
                .query_one(&newer, &[&session, &version.path, &seen.unwrap_or(0)])
                .await?
                .try_get(0)?;
            if moved {
                return Ok(false);
            }
        }
        let now = self.now_ms();
        for version in versions {
            insert_version(&tx, session, version, now).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    pub(super) async fn set_pending_handovers(
        &self,
        pairs: &[(String, i64)],
        keep: bool,
    ) -> Result<()> {
        if pairs.is_empty() {
            return Ok(());
        }
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let sql = if keep {
            "INSERT INTO pending_handovers (lock_id, version_id)
             SELECT id, $2 FROM file_locks WHERE id = $1::text::uuid
             ON CONFLICT DO NOTHING"
        } else {
            "DELETE FROM pending_handovers WHERE lock_id = $1::text::uuid AND version_id = $2"
        };
        let stmt = tx.prepare_cached(sql).await?;
        for (lock, version) in pairs {
            tx.execute(&stmt, &[lock, version]).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
