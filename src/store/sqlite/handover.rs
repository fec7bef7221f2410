//! The hand-over records on SQLite: where each path's latest version is
//! (`path_versions`, written by the release step, see `locks`), and the
//! versions a grant told its holder to bring in (`pending_handovers`).

use std::collections::BTreeMap;

use ccmulti_model::{AgentWorkspace, PathVersion, PendingHandOver};
use rusqlite::{Connection, Row, params};

use super::{Result, SqliteStore, time};
use crate::clock::Millis;
use crate::rules::handover::NewVersion;

/// Records where a path's latest version is, stamped `now`: by a release
/// (inside its lock step) or by a grant that found it in another worktree.
pub(super) fn insert_version(
    conn: &Connection,
    session: &str,
    version: &NewVersion,
    now: Millis,
) -> Result<()> {
    let w = &version.workspace;
    conn.prepare_cached(
        "INSERT INTO path_versions (session_id, file_path, agent_id, host, worktree, branch,
           commit_id, blob_id, left_uncommitted, recorded_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        session,
        version.path,
        version.agent,
        w.host,
        w.worktree,
        w.branch,
        version.commit,
        version.blob,
        version.left_uncommitted,
        time::to_text(now)
    ])?;
    Ok(())
}

const VERSION_COLUMNS: &str = "v.id, v.session_id, v.file_path, v.agent_id, v.host, v.worktree, \
     v.branch, v.commit_id, v.blob_id, v.left_uncommitted, v.recorded_at";

/// A row of [`VERSION_COLUMNS`] starting at column `at`.
fn version(row: &Row<'_>, at: usize) -> rusqlite::Result<(PathVersion, String)> {
    Ok((
        PathVersion {
            id: row.get(at)?,
            session_id: row.get(at + 1)?,
            path: row.get(at + 2)?,
            agent_id: row.get(at + 3)?,
            workspace: AgentWorkspace {
                host: row.get(at + 4)?,
                worktree: row.get(at + 5)?,
                branch: row.get(at + 6)?,
            },
            commit: row.get(at + 7)?,
            blob: row.get(at + 8)?,
            left_uncommitted: row.get(at + 9)?,
            recorded_at_ms: 0,
        },
        row.get(at + 10)?,
    ))
}

fn stamped((mut v, at): (PathVersion, String)) -> Result<PathVersion> {
    v.recorded_at_ms = time::from_text(&at)?;
    Ok(v)
}

fn versions(conn: &Connection, session: &str) -> Result<Vec<PathVersion>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {VERSION_COLUMNS} FROM path_versions v WHERE v.session_id = ?1
         ORDER BY v.id"
    ))?;
    let rows = stmt
        .query_map([session], |r| version(r, 0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.into_iter().map(stamped).collect()
}

/// `None` reads every session's (the dashboard's snapshot).
pub(super) fn pending(conn: &Connection, session: Option<&str>) -> Result<Vec<PendingHandOver>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT p.lock_id, l.agent_id, {VERSION_COLUMNS}
         FROM file_locks l
         JOIN pending_handovers p ON p.lock_id = l.id
         JOIN path_versions v ON v.id = p.version_id
         WHERE ?1 IS NULL OR l.session_id = ?1
         ORDER BY l.session_id, l.agent_id, v.file_path, v.id"
    ))?;
    let rows = stmt
        .query_map([session], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                version(r, 2)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.into_iter()
        .map(|(lock_id, agent_id, v)| {
            Ok(PendingHandOver {
                lock_id,
                agent_id,
                version: stamped(v)?,
            })
        })
        .collect()
}

impl SqliteStore {
    pub(super) fn record_versions(
        &self,
        session: &str,
        versions: &[NewVersion],
        seen: Option<i64>,
    ) -> Result<bool> {
        if versions.is_empty() {
            return Ok(true);
        }
        self.write(|tx| {
            let mut newer = tx.prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM path_versions
                  WHERE session_id = ?1 AND file_path = ?2 AND id > ?3)",
            )?;
            for version in versions {
                let moved: bool = newer
                    .query_row(params![session, version.path, seen.unwrap_or(0)], |r| {
                        r.get(0)
                    })?;
                if moved {
                    return Ok(false);
                }
            }
            // Stamped inside the write lock, as the news cursor is, so a
            // version is never older than a look that could not see it.
            let now = self.now_ms();
            for version in versions {
                insert_version(tx, session, version, now)?;
            }
            Ok(true)
        })
    }

    pub(super) fn path_versions(&self, session: &str) -> Result<Vec<PathVersion>> {
        self.read(|c| versions(c, session))
    }

    pub(super) fn pending_handovers(&self, session: &str) -> Result<Vec<PendingHandOver>> {
        self.read(|c| pending(c, Some(session)))
    }

    pub(super) fn granted_at(
        &self,
        session: &str,
        agent: &str,
    ) -> Result<BTreeMap<String, Millis>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT id, created_at FROM file_locks WHERE session_id = ?1 AND agent_id = ?2",
            )?;
            let rows = stmt
                .query_map([session, agent], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter()
                .map(|(id, at)| Ok((id, time::from_text(&at)?)))
                .collect()
        })
    }

    /// Inserts (`keep`) or deletes the (lock, version) pairs; a lock gone
    /// meanwhile keeps nothing.
    pub(super) fn set_pending_handovers(&self, pairs: &[(String, i64)], keep: bool) -> Result<()> {
        if pairs.is_empty() {
            return Ok(());
        }
        self.write(|tx| {
            let sql = if keep {
                "INSERT OR IGNORE INTO pending_handovers (lock_id, version_id)
                 SELECT ?1, ?2 WHERE EXISTS (SELECT 1 FROM file_locks WHERE id = ?1)"
            } else {
                "DELETE FROM pending_handovers WHERE lock_id = ?1 AND version_id = ?2"
            };
            let mut stmt = tx.prepare_cached(sql)?;
            for (lock, version) in pairs {
                stmt.execute(params![lock, version])?;
            }
            Ok(())
        })
    }
}
