//! `lock_waiters`: the claims waiting for their paths, written down so that a
//! dashboard or `ccmulti status` in another process can show them. The wait
//! queue in memory ([`super::wait_queue`]) decides who goes first; this table
//! only mirrors it, and only for claims that actually wait: a row is written
//! when a waiting claim's first attempt conflicts, so a claim granted at once
//! costs nothing here.

use ccmulti_model::Operation;
use ccmulti_model::snapshot::{LockRow, WaiterRow};
use rusqlite::{Connection, params};

use super::{Result, SqliteStore, StoreError, read, time};
use crate::clock::Millis;
use crate::rules::locks::steps::ClaimRequest;
use crate::rules::wait_cycle::{JoinedWaits, closed_by};
use crate::rules::waiting::waiter_row;

impl SqliteStore {
    /// Writes down that `request` waits until `deadline_ms`, unless its wait
    /// would close a cycle: decided on the rows read in the same write.
    pub(crate) fn record_waiter(
        &self,
        request: &ClaimRequest,
        deadline_ms: Millis,
    ) -> Result<JoinedWaits> {
        let paths = serde_json::to_string(&request.paths)
            .map_err(|e| StoreError::Corrupt(format!("waiter paths: {e}")))?;
        let since = time::to_text(self.now_ms());
        let deadline = time::to_text(deadline_ms);
        self.write(|tx| {
            let locks = read::locks(tx, Some(&request.session), &since)?;
            let waiting = waiters(tx, &since, &locks)?;
            if let Some(cycle) = closed_by(request, &waiting, &locks) {
                return Ok(JoinedWaits::WouldCycle(cycle));
            }
            tx.prepare_cached(
                "INSERT INTO lock_waiters (session_id, agent_id, operation, file_paths, since, deadline)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                request.session,
                request.agent,
                request.operation.as_str(),
                paths,
                since,
                deadline
            ])?;
            Ok(JoinedWaits::Waiting(tx.last_insert_rowid()))
        })
    }

    pub(crate) fn forget_waiter(&self, id: i64) -> Result<()> {
        self.write(|tx| {
            tx.prepare_cached("DELETE FROM lock_waiters WHERE id = ?1")?
                .execute([id])?;
            Ok(())
        })
    }

    /// Deletes the rows of claims past their deadline: a claim whose client
    /// went away while its row was being written leaves one nobody holds the
    /// id of. A read first, so an idle coordinator takes no write lock.
    pub(crate) fn forget_waiters_past_deadline(&self) -> Result<usize> {
        let now = time::to_text(self.now_ms());
        let any: bool =
            self.read(|c| {
                Ok(c.prepare_cached(
                    "SELECT EXISTS (SELECT 1 FROM lock_waiters WHERE deadline <= ?1)",
                )?
                .query_row([&now], |r| r.get(0))?)
            })?;
        if !any {
            return Ok(0);
        }
        self.write(|tx| {
            Ok(tx
                .prepare_cached("DELETE FROM lock_waiters WHERE deadline <= ?1")?
                .execute([&now])?)
        })
    }

    /// Deletes every waiter row: called by a coordinator as it starts, when
    /// no claim can be waiting yet, so rows a crashed one left go.
    pub fn clear_waiters(&self) -> Result<usize> {
        self.write(|tx| Ok(tx.execute("DELETE FROM lock_waiters", [])?))
    }
}

/// The live waiters (deadline not passed), in arrival order, each with the
/// locks among `locks` (the same read's live locks) that hold it back.
pub(super) fn waiters(
    conn: &Connection,
    now_text: &str,
    locks: &[LockRow],
) -> Result<Vec<WaiterRow>> {
    // Arrival order is sorted here: ORDER BY id would have SQLite walk the
    // table by rowid instead of searching the deadline index.
    let mut stmt = conn.prepare_cached(
        "SELECT id, session_id, agent_id, operation, file_paths, since, deadline FROM lock_waiters
         WHERE deadline > ?1",
    )?;
    let mut rows = stmt
        .query_map([now_text], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                (
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, String>(6)?,
                ),
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.sort_by_key(|(id, _)| *id);
    rows.into_iter()
        .map(|(_, row)| {
            let (session_id, agent_id, op, paths, since, deadline) = row;
            let operation = Operation::parse(&op)
                .ok_or_else(|| StoreError::Corrupt(format!("waiter operation {op:?}")))?;
            let paths: Vec<String> = serde_json::from_str(&paths)
                .map_err(|e| StoreError::Corrupt(format!("waiter paths {paths:?}: {e}")))?;
            let at = (time::from_text(&since)?, time::from_text(&deadline)?);
            Ok(waiter_row(
                session_id, agent_id, operation, paths, at, locks,
            ))
        })
        .collect()
}
