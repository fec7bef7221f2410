//! Lock steps on SQLite: the reads and writes of [`LockTx`] in SQLite's
//! SQL. Each step (`rules::locks::steps`, run by `store::lock_steps`) is one
//! `BEGIN IMMEDIATE` transaction on the single write connection (or one
//! savepoint in a batch's transaction, `batch.rs`): its read and its writes
//! cannot interleave with another step's (the seed's check-then-insert
//! race). Whatever frees paths wakes the claims waiting for them once it has
//! committed.

use std::collections::{BTreeMap, BTreeSet};

use ccmulti_model::Operation;
use ccmulti_model::snapshot::LockRow;
use rusqlite::{Connection, Row, params};

use super::{Result, SqliteStore, events, time};
use crate::clock::Millis;
use crate::rules::audit::NewEvent;
use crate::rules::handover::NewVersion;
use crate::rules::locks::ReleaseScope;
use crate::rules::locks::steps::{
    Claim, ClaimOutcome, ClaimRequest, ForceRelease, ForceSelector, LockRows, LockStep, Release,
    ReleaseOutcome, Sweep, overlap_prefix,
};
use crate::store::Change;
use crate::store::lock_steps::{self, LockTx, NewLock, SWEEP_BATCH, at_once};

/// Selects directory and glob locks, the rows `rules::targets::is_pattern`
/// accepts; spelled exactly as the partial index `idx_file_locks_patterns` in
/// migrations/sqlite/V1__initial.sql, so SQLite uses that index (a test holds the two together).
pub(crate) const PATTERN_ROWS: &str = "(file_path GLOB '*[[*?{\\]*' OR file_path GLOB '*/')";

pub(super) const LOCK_COLUMNS: &str =
    "id, session_id, agent_id, file_path, operation, expires_at, fencing_token, yields_at";

fn lock_from_row(row: &Row<'_>) -> rusqlite::Result<(LockRow, String, Option<String>)> {
    let expires: String = row.get(5)?;
    Ok((
        LockRow {
            lock_id: row.get(0)?,
            session_id: row.get(1)?,
            agent_id: row.get(2)?,
            path: row.get(3)?,
            operation: super::columns::word(row, 4, Operation::parse)?,
            expires_at_ms: 0,
            fencing_token: row.get(6)?,
            yields_at_ms: None,
        },
        expires,
        row.get(7)?,
    ))
}

/// The rows of a statement that selects [`LOCK_COLUMNS`].
pub(super) fn select(
    conn: &Connection,
    sql: &str,
    args: impl rusqlite::Params,
) -> Result<Vec<LockRow>> {
    conn.prepare_cached(sql)?
        .query_map(args, lock_from_row)?
        .map(|r| {
            let (mut lock, expires, yields) = r?;
            lock.expires_at_ms = time::from_text(&expires)?;
            lock.yields_at_ms = yields.as_deref().map(time::from_text).transpose()?;
            Ok(lock)
        })
        .collect()
}

/// The session's locks that may overlap `paths`: rows on the same paths
/// (by the `(session_id, file_path, agent_id)` key's index), every directory and glob row (by
/// the partial index, empty unless patterns are held), and for a requested
/// pattern every row starting with its literal prefix (a range on the same index).
fn locks_overlapping(
    conn: &Connection,
    session: &str,
    paths: &BTreeSet<String>,
) -> Result<Vec<LockRow>> {
    let mut found: BTreeMap<String, LockRow> = BTreeMap::new();
    let mut add = |locks: Vec<LockRow>| {
        for lock in locks {
            found.entry(lock.lock_id.clone()).or_insert(lock);
        }
    };
    add(locks_on_paths(conn, session, paths)?);
    add(select(
        conn,
        &format!("SELECT {LOCK_COLUMNS} FROM file_locks WHERE session_id = ?1 AND {PATTERN_ROWS}"),
        [session],
    )?);
    for prefix in paths.iter().filter_map(|p| overlap_prefix(p)) {
        add(match prefix_upper_bound(prefix) {
            Some(upper) => select(
                conn,
                &format!(
                    "SELECT {LOCK_COLUMNS} FROM file_locks
                     WHERE session_id = ?1 AND file_path >= ?2 AND file_path < ?3"
                ),
                params![session, prefix, upper],
            )?,
            None => select(
                conn,
                &format!(
                    "SELECT {LOCK_COLUMNS} FROM file_locks WHERE session_id = ?1 AND file_path >= ?2"
                ),
                params![session, prefix],
            )?,
        });
    }
    Ok(found.into_values().collect())
}

/// The least string greater than every string starting with `prefix`, in
/// SQLite's byte order (UTF-8 byte order is code point order), or `None`
/// when there is none (empty prefix, or only `char::MAX`).
fn prefix_upper_bound(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = (u32::from(last) + 1..=u32::from(char::MAX)).find_map(char::from_u32);
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

fn locks_on_paths(
    conn: &Connection,
    session: &str,
    paths: &BTreeSet<String>,
) -> Result<Vec<LockRow>> {
    let sql =
        format!("SELECT {LOCK_COLUMNS} FROM file_locks WHERE session_id = ?1 AND file_path = ?2");
    let mut all = Vec::new();
    for path in paths {
        all.extend(select(conn, &sql, params![session, path])?);
    }
    Ok(all)
}

/// What a person picked: the selector as a filter on [`LOCK_COLUMNS`].
fn picked(conn: &Connection, selector: &ForceSelector) -> Result<Vec<LockRow>> {
    let (filter, args): (&str, Vec<&str>) = match selector {
        ForceSelector::LockId(id) => ("id = ?1", vec![id]),
        ForceSelector::Path { session_id, path } => match session_id {
            Some(s) => ("file_path = ?1 AND session_id = ?2", vec![path, s]),
            None => ("file_path = ?1", vec![path]),
        },
        ForceSelector::Agent {
            session_id,
            agent_id,
        } => match session_id {
            Some(s) => ("agent_id = ?1 AND session_id = ?2", vec![agent_id, s]),
            None => ("agent_id = ?1", vec![agent_id]),
        },
    };
    select(
        conn,
        &format!("SELECT {LOCK_COLUMNS} FROM file_locks WHERE {filter} ORDER BY file_path"),
        rusqlite::params_from_iter(args),
    )
}

/// The write connection inside a step's transaction.
pub(in crate::store::sqlite) struct Locks<'c> {
    pub(in crate::store::sqlite) conn: &'c Connection,
}

impl LockTx for Locks<'_> {
    async fn read(&mut self, rows: LockRows<'_>) -> Result<Vec<LockRow>> {
        let conn = self.conn;
        match rows {
            LockRows::Overlapping { session, paths } => locks_overlapping(conn, session, paths),
            LockRows::OnPaths { session, paths } => locks_on_paths(conn, session, paths),
            LockRows::OfAgent { session, agent } => select(
                conn,
                &format!(
                    "SELECT {LOCK_COLUMNS} FROM file_locks WHERE session_id = ?1 AND agent_id = ?2"
                ),
                params![session, agent],
            ),
            LockRows::OfSession { session } => select(
                conn,
                &format!("SELECT {LOCK_COLUMNS} FROM file_locks WHERE session_id = ?1"),
                [session],
            ),
            LockRows::Picked(selector) => picked(conn, selector),
            LockRows::Expired { by, limit } => select(
                conn,
                &format!(
                    "SELECT {LOCK_COLUMNS} FROM file_locks WHERE expires_at <= ?1
                     ORDER BY expires_at LIMIT ?2"
                ),
                params![time::to_text(by), i64::try_from(limit).unwrap_or(i64::MAX)],
            ),
            LockRows::EndingAfter { after } => select(
                conn,
                &format!("SELECT {LOCK_COLUMNS} FROM file_locks WHERE expires_at > ?1"),
                [time::to_text(after)],
            ),
        }
    }

    async fn delete_expired(&mut self, lock_id: &str, now: Millis) -> Result<bool> {
        let deleted = self
            .conn
            .prepare_cached("DELETE FROM file_locks WHERE id = ?1 AND expires_at <= ?2")?
            .execute(params![lock_id, time::to_text(now)])?;
        Ok(deleted == 1)
    }

    async fn delete(&mut self, lock_id: &str) -> Result<bool> {
        let deleted = self
            .conn
            .prepare_cached("DELETE FROM file_locks WHERE id = ?1")?
            .execute([lock_id])?;
        Ok(deleted == 1)
    }

    async fn insert(&mut self, lock: NewLock<'_>, now: Millis) -> Result<(String, i64)> {
        let token: i64 = self
            .conn
            .prepare_cached(
                "UPDATE fencing_counter SET last_token = last_token + 1 WHERE id = 1 RETURNING last_token",
            )?
            .query_row([], |r| r.get(0))?;
        let lock_id = uuid::Uuid::new_v4().to_string();
        self.conn
            .prepare_cached(
                "INSERT INTO file_locks
                   (id, session_id, agent_id, file_path, operation, expires_at, created_at, fencing_token, yields_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?
            .execute(params![
                lock_id,
                lock.session,
                lock.agent,
                lock.path,
                lock.operation.as_str(),
                time::to_text(lock.expires_at_ms),
                time::to_text(now),
                token,
                lock.yields_at_ms.map(time::to_text)
            ])?;
        Ok((lock_id, token))
    }

    async fn set_lease(
        &mut self,
        lock_id: &str,
        operation: Operation,
        expires_at_ms: Millis,
        yields_at_ms: Option<Millis>,
    ) -> Result<i64> {
        Ok(self
            .conn
            .prepare_cached(
                "UPDATE file_locks SET expires_at = ?2, operation = ?3, yields_at = ?4 WHERE id = ?1 RETURNING fencing_token",
            )?
            .query_row(
                params![
                    lock_id,
                    time::to_text(expires_at_ms),
                    operation.as_str(),
                    yields_at_ms.map(time::to_text)
                ],
                |r| r.get(0),
            )?)
    }

    async fn insert_version(
        &mut self,
        session: &str,
        version: &NewVersion,
        now: Millis,
    ) -> Result<()> {
        super::handover::insert_version(self.conn, session, version, now)
    }

    async fn record(&mut self, now: Millis, event: &NewEvent<'_>) -> Result<()> {
        events::record(self.conn, now, event)
    }
}

impl SqliteStore {
    /// Runs a lock step in one write transaction (a savepoint, in a batch)
    /// and announces the paths it freed once the write has returned (in a
    /// batch they are published after the batch's commit), so a woken
    /// waiter finds them free.
    pub(super) fn lock_step<S: LockStep>(&self, step: &S) -> Result<S::Outcome> {
        let now = self.now_ms();
        let ran = self.write(|tx| at_once(lock_steps::run(&mut Locks { conn: tx }, step, now)))?;
        for (session, paths) in ran.freed {
            self.publish(Change::Freed { session, paths });
        }
        Ok(ran.outcome)
    }

    /// A claim, as the coordination service makes it; its conflicts are
    /// recorded as events only if `record_conflicts`.
    pub fn claim_request(
        &self,
        request: &ClaimRequest,
        record_conflicts: bool,
    ) -> Result<ClaimOutcome> {
        self.lock_step(&Claim {
            request,
            record_conflicts,
        })
    }

    /// Claims every path or none, recording conflicts. `paths` are normalised and deduplicated.
    pub fn claim(
        &self,
        session: &str,
        agent: &str,
        operation: Operation,
        paths: &BTreeSet<String>,
        duration_minutes: i64,
    ) -> Result<ClaimOutcome> {
        let request = ClaimRequest {
            session: session.to_owned(),
            agent: agent.to_owned(),
            operation,
            paths: paths.clone(),
            lease_ms: duration_minutes * 60_000,
            idle_yield_ms: None,
        };
        self.claim_request(&request, true)
    }

    /// Releases the caller's own live locks; reports what it does not hold.
    pub fn release(
        &self,
        session: &str,
        agent: &str,
        scope: &ReleaseScope,
    ) -> Result<ReleaseOutcome> {
        self.release_recording(session, agent, scope, &[])
    }

    /// [`Self::release`], recording `versions` for the locks it removes.
    pub fn release_recording(
        &self,
        session: &str,
        agent: &str,
        scope: &ReleaseScope,
        versions: &[NewVersion],
    ) -> Result<ReleaseOutcome> {
        self.lock_step(&Release {
            session,
            agent,
            scope,
            versions,
        })
    }

    /// A person releases locks by hand; each is recorded as a forced release by `by`.
    pub fn force_release(&self, selector: &ForceSelector, by: &str) -> Result<Vec<LockRow>> {
        self.force_release_recording(selector, by, &[])
    }

    /// [`Self::force_release`], recording `versions` for the locks it removes.
    pub fn force_release_recording(
        &self,
        selector: &ForceSelector,
        by: &str,
        versions: &[NewVersion],
    ) -> Result<Vec<LockRow>> {
        self.lock_step(&ForceRelease {
            selector,
            by,
            versions,
        })
    }

    /// Deletes every expired lock (and waiting-claim rows past their deadline), one `expired` event each, [`SWEEP_BATCH`]
    /// locks to a transaction so that a backlog (a coordinator restarted after
    /// a long stop) never holds the write connection for long. Returns how many.
    pub fn sweep_expired(&self) -> Result<usize> {
        self.forget_waiters_past_deadline()?;
        let now_text = time::to_text(self.now_ms());
        // A read first, so an idle coordinator takes no write lock every second.
        let any: bool =
            self.read(|c| {
                Ok(c.prepare_cached(
                    "SELECT EXISTS (SELECT 1 FROM file_locks WHERE expires_at <= ?1)",
                )?
                .query_row([&now_text], |r| r.get(0))?)
            })?;
        if !any {
            return Ok(0);
        }
        let mut expired = 0;
        loop {
            let swept = self.lock_step(&Sweep { limit: SWEEP_BATCH })?;
            expired += swept.expired;
            if swept.read < SWEEP_BATCH {
                return Ok(expired);
            }
        }
    }
}

#[cfg(test)]
mod tests;
