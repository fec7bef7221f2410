//! The audit trail: every grant, renewal, release, expiry, conflict, forced
//! release and blocked client, written in the same transaction as its cause.

use std::sync::atomic::Ordering;

use rusqlite::{Connection, params};

use super::{Result, time};
use crate::clock::Millis;
use crate::rules::audit::NewEvent;

pub fn record(conn: &Connection, now: Millis, e: &NewEvent<'_>) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO coordination_events
           (session_id, at, kind, agent_id, file_path, operation, fencing_token, detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        e.session_id,
        time::to_text(now),
        e.kind.as_str(),
        e.agent_id,
        e.file_path,
        e.operation_text(),
        e.fencing_token,
        e.detail,
    ])?;
    Ok(())
}

impl super::SqliteStore {
    /// How many of the newest events the sweeper keeps.
    pub fn events_kept(&self) -> u64 {
        self.inner.events_kept.load(Ordering::Relaxed)
    }

    /// Sets how many of the newest events the sweeper keeps (at least one).
    pub fn keep_events(&self, keep: u64) {
        self.inner.events_kept.store(keep.max(1), Ordering::Relaxed);
    }

    /// Keeps the newest `keep` events: deletes up to `batch` of the oldest
    /// beyond that, in one short write transaction, and says how many it
    /// deleted. The sweeper calls it every tick, so a busy coordinator's audit
    /// trail (and its file) stops growing at about `keep` rows instead of
    /// growing with every grant forever. Ids only grow (AUTOINCREMENT) and
    /// only the oldest are ever deleted, so the newest `keep` are the ids above
    /// `MAX(id) - keep`; both bounds are read from the primary key, not counted.
    pub fn prune_events(&self, keep: u64, batch: u64) -> Result<usize> {
        let keep = i64::try_from(keep).unwrap_or(i64::MAX);
        let batch = i64::try_from(batch).unwrap_or(i64::MAX);
        let (oldest, newest): (Option<i64>, Option<i64>) = self.read(|c| {
            // Two subqueries: SQLite reads one end of the key for a lone MIN or
            // MAX, but scans the table for both in one select.
            Ok(c.prepare_cached("SELECT (SELECT MIN(id) FROM coordination_events), (SELECT MAX(id) FROM coordination_events)")?
                .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))?)
        })?;
        let (Some(oldest), Some(newest)) = (oldest, newest) else {
            return Ok(0);
        };
        let last_to_go = newest.saturating_sub(keep);
        if oldest > last_to_go {
            // An idle or young coordinator takes no write lock for this.
            return Ok(0);
        }
        self.write(|tx| {
            Ok(tx
                .prepare_cached("DELETE FROM coordination_events WHERE id <= ?1 AND id < ?2 + ?3")?
                .execute(params![last_to_go, oldest, batch])?)
        })
    }
}
