//! Lock steps on PostgreSQL: the reads and writes of [`LockTx`] in
//! PostgreSQL's SQL. Each step (`rules::locks::steps`, run by
//! `store::lock_steps`) is one READ COMMITTED transaction that takes its
//! sessions' advisory locks before it reads a row (see the module comment in
//! `mod.rs` for why that makes the read and the writes one step across every
//! coordinator), and that ends with a notice of what it freed.

use std::collections::BTreeSet;

use ccmulti_model::Operation;
use ccmulti_model::snapshot::LockRow;
use deadpool_postgres::Transaction;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use super::writes::{notify, record_event};
use super::{PostgresStore, Result, lock_sessions, ms, ts};
use crate::clock::Millis;
use crate::rules::audit::NewEvent;
use crate::rules::handover::NewVersion;
use crate::rules::locks::steps::{ForceSelector, LockRows, LockStep, Sweep, overlap_prefix};
use crate::store::lock_steps::{self, LockTx, NewLock, SWEEP_BATCH};
use crate::store::{Change, StoreError};

/// Directory and glob locks, as `rules::targets::is_pattern` says; spelled as
/// the partial index `idx_file_locks_patterns` in migrations/postgres/V1, so
/// the planner can use it.
const PATTERN_ROWS: &str = "(file_path ~ '[*?[{\\\\]' OR file_path LIKE '%/')";

pub(super) const LOCK_COLUMNS: &str =
    "id::text, session_id, agent_id, file_path, operation, expires_at, fencing_token, yields_at";

/// A row of a statement that selects [`LOCK_COLUMNS`].
pub(super) fn lock_row(row: &Row) -> Result<LockRow> {
    let op: String = row.try_get(4)?;
    Ok(LockRow {
        lock_id: row.try_get(0)?,
        session_id: row.try_get(1)?,
        agent_id: row.try_get(2)?,
        path: row.try_get(3)?,
        operation: Operation::parse(&op)
            .ok_or_else(|| StoreError::Corrupt(format!("lock operation {op:?}")))?,
        expires_at_ms: ms(row.try_get(5)?),
        fencing_token: row.try_get(6)?,
        yields_at_ms: row.try_get::<_, Option<_>>(7)?.map(ms),
    })
}

type Args<'a> = Vec<&'a (dyn ToSql + Sync)>;

/// The statement (selecting [`LOCK_COLUMNS`]) that reads `rows`, with what
/// it binds; what the rows do not hold as it is bound is kept in `owned`.
fn select<'a>(rows: &'a LockRows<'a>, owned: &'a Owned<'a>) -> (String, Args<'a>) {
    let from = format!("SELECT {LOCK_COLUMNS} FROM file_locks WHERE");
    match rows {
        // starts_with on a "C" column: the same rows as the range `>= prefix AND < next`.
        LockRows::Overlapping { session, .. } => (
            format!(
                "{from} session_id = $1
                   AND (file_path = ANY($2) OR {PATTERN_ROWS}
                        OR EXISTS (SELECT 1 FROM unnest($3::text[]) AS p WHERE starts_with(file_path, p)))"
            ),
            vec![session, &owned.paths, &owned.prefixes],
        ),
        LockRows::OnPaths { session, .. } => (
            format!("{from} session_id = $1 AND file_path = ANY($2)"),
            vec![session, &owned.paths],
        ),
        LockRows::OfAgent { session, agent } => (
            format!("{from} session_id = $1 AND agent_id = $2"),
            vec![session, agent],
        ),
        LockRows::OfSession { session } => (format!("{from} session_id = $1"), vec![session]),
        LockRows::Picked(selector) => {
            let (filter, args): (&str, Args<'a>) = match selector {
                ForceSelector::LockId(id) => ("id::text = $1", vec![id]),
                ForceSelector::Path { session_id, path } => (
                    "file_path = $1 AND ($2::text IS NULL OR session_id = $2)",
                    vec![path, session_id],
                ),
                ForceSelector::Agent {
                    session_id,
                    agent_id,
                } => (
                    "agent_id = $1 AND ($2::text IS NULL OR session_id = $2)",
                    vec![agent_id, session_id],
                ),
            };
            (format!("{from} {filter} ORDER BY file_path"), args)
        }
        LockRows::Expired { .. } => (
            format!("{from} expires_at <= $1 ORDER BY expires_at LIMIT $2"),
            vec![&owned.at, &owned.limit],
        ),
        LockRows::EndingAfter { .. } => (format!("{from} expires_at > $1"), vec![&owned.at]),
    }
}

/// Values [`select`] binds that the rows do not hold as they are bound.
struct Owned<'a> {
    /// The instant an expiry or a deadline is compared with.
    at: chrono::DateTime<chrono::Utc>,
    limit: i64,
    paths: Vec<&'a str>,
    prefixes: Vec<&'a str>,
}

impl<'a> Owned<'a> {
    fn of(rows: &LockRows<'a>) -> Self {
        let (paths, prefixes, limit, at) = match rows {
            LockRows::Overlapping { paths, .. } => (
                paths.iter().map(String::as_str).collect(),
                paths.iter().filter_map(|p| overlap_prefix(p)).collect(),
                0,
                0,
            ),
            LockRows::OnPaths { paths, .. } => {
                (paths.iter().map(String::as_str).collect(), Vec::new(), 0, 0)
            }
            LockRows::Expired { by, limit } => (
                Vec::new(),
                Vec::new(),
                i64::try_from(*limit).unwrap_or(i64::MAX),
                *by,
            ),
            LockRows::EndingAfter { after } => (Vec::new(), Vec::new(), 0, *after),
            LockRows::OfAgent { .. } | LockRows::OfSession { .. } | LockRows::Picked(_) => {
                (Vec::new(), Vec::new(), 0, 0)
            }
        };
        Self {
            at: ts(at),
            limit,
            paths,
            prefixes,
        }
    }
}

/// A step's transaction.
pub(super) struct Locks<'a, 't> {
    pub(super) tx: &'a Transaction<'t>,
}

impl Locks<'_, '_> {
    async fn select(&self, rows: &LockRows<'_>) -> Result<Vec<LockRow>> {
        let owned = Owned::of(rows);
        let (sql, args) = select(rows, &owned);
        let stmt = self.tx.prepare_cached(&sql).await?;
        self.tx
            .query(&stmt, &args)
            .await?
            .iter()
            .map(lock_row)
            .collect()
    }
}

impl LockTx for Locks<'_, '_> {
    async fn read(&mut self, rows: LockRows<'_>) -> Result<Vec<LockRow>> {
        if let Some(session) = rows.session() {
            lock_sessions(self.tx, &[session]).await?;
            return self.select(&rows).await;
        }
        // Rows across sessions: their sessions are locked, then the rows read
        // again under the locks, so a lock renewed or granted meanwhile is
        // judged as it is then. A row of a session that appeared meanwhile
        // (not locked here) is left for the next call.
        let seen = self.select(&rows).await?;
        if seen.is_empty() {
            return Ok(seen);
        }
        let sessions: BTreeSet<&str> = seen.iter().map(|l| l.session_id.as_str()).collect();
        lock_sessions(self.tx, &sessions.iter().copied().collect::<Vec<_>>()).await?;
        let mut locked = self.select(&rows).await?;
        locked.retain(|l| sessions.contains(l.session_id.as_str()));
        Ok(locked)
    }

    async fn delete_expired(&mut self, lock_id: &str, now: Millis) -> Result<bool> {
        let stmt = self
            .tx
            .prepare_cached("DELETE FROM file_locks WHERE id = $1::text::uuid AND expires_at <= $2")
            .await?;
        Ok(self.tx.execute(&stmt, &[&lock_id, &ts(now)]).await? == 1)
    }

    async fn delete(&mut self, lock_id: &str) -> Result<bool> {
        let stmt = self
            .tx
            .prepare_cached("DELETE FROM file_locks WHERE id = $1::text::uuid")
            .await?;
        Ok(self.tx.execute(&stmt, &[&lock_id]).await? == 1)
    }

    async fn insert(&mut self, lock: NewLock<'_>, now: Millis) -> Result<(String, i64)> {
        let stmt = self
            .tx
            .prepare_cached(
                "INSERT INTO file_locks
                   (session_id, agent_id, file_path, operation, expires_at, created_at, fencing_token, yields_at)
                 VALUES ($1, $2, $3, $4, $5, $6, nextval('fencing_tokens'), $7)
                 RETURNING id::text, fencing_token",
            )
            .await?;
        let row = self
            .tx
            .query_one(
                &stmt,
                &[
                    &lock.session,
                    &lock.agent,
                    &lock.path,
                    &lock.operation.as_str(),
                    &ts(lock.expires_at_ms),
                    &ts(now),
                    &lock.yields_at_ms.map(ts),
                ],
            )
            .await?;
        Ok((row.try_get(0)?, row.try_get(1)?))
    }

    async fn set_lease(
        &mut self,
        lock_id: &str,
        operation: Operation,
        expires_at_ms: Millis,
        yields_at_ms: Option<Millis>,
    ) -> Result<i64> {
        let stmt = self
            .tx
            .prepare_cached(
                "UPDATE file_locks SET expires_at = $2, operation = $3, yields_at = $4
                  WHERE id = $1::text::uuid RETURNING fencing_token",
            )
            .await?;
        // The row was read under its session's lock: it is there.
        let row = self
            .tx
            .query_one(
                &stmt,
                &[
                    &lock_id,
                    &ts(expires_at_ms),
                    &operation.as_str(),
                    &yields_at_ms.map(ts),
                ],
            )
            .await?;
        Ok(row.try_get(0)?)
    }

    async fn insert_version(
        &mut self,
        session: &str,
        version: &NewVersion,
        now: Millis,
    ) -> Result<()> {
        super::handover::insert_version(self.tx, session, version, now).await
    }

    async fn record(&mut self, now: Millis, event: &NewEvent<'_>) -> Result<()> {
        record_event(self.tx, now, event).await
    }
}

impl PostgresStore {
    /// Runs a lock step in one transaction. One that wrote tells the other
    /// coordinators what it freed (NOTIFY, delivered at its commit) and,
    /// once committed, this one's change feed, so a woken waiter finds the
    /// paths free. One that wrote nothing is rolled back as it is dropped.
    pub(super) async fn lock_step<S: LockStep>(&self, step: &S) -> Result<S::Outcome> {
        let now = self.now_ms();
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let ran = lock_steps::run(&mut Locks { tx: &tx }, step, now).await?;
        if !ran.wrote {
            return Ok(ran.outcome);
        }
        notify(&tx, self.inner.origin, &ran.freed).await?;
        tx.commit().await?;
        for (session, paths) in ran.freed {
            // No subscriber (a CLI command) is not an error.
            let _ = self.inner.changes.send(Change::Freed { session, paths });
        }
        Ok(ran.outcome)
    }

    /// Deletes every expired lock, one `expired` event each, [`SWEEP_BATCH`]
    /// to a transaction; every coordinator's sweeper runs this, and each
    /// expiry is recorded by the one whose delete removed the row.
    pub(super) async fn sweep_expired(&self) -> Result<usize> {
        self.forget_waiters_past_deadline().await?;
        let mut expired = 0;
        loop {
            let swept = self.lock_step(&Sweep { limit: SWEEP_BATCH }).await?;
            expired += swept.expired;
            if swept.read < SWEEP_BATCH {
                return Ok(expired);
            }
        }
    }
}
