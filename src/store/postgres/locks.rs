//! Lock transactions: each claim, release, forced release and sweep is one
//! READ COMMITTED transaction that first takes its sessions' advisory locks
//! (see the module comment in `mod.rs` for why that makes the check and the
//! write one step across every coordinator). Rules are `rules::locks`'s, as
//! for SQLite; only the SQL differs.

use std::collections::{BTreeMap, BTreeSet};

use deadpool_postgres::Transaction;
use tokio_postgres::Row;

use super::writes::{NewEvent, notify, record_event};
use super::{PostgresStore, Result, lock_sessions, ms, ts};
use crate::clock::Millis;
use crate::rules::locks::{ClaimStep, HeldLock, Operation, ReleaseScope, plan_claim, plan_release};
use crate::rules::targets::{GLOB_META, is_pattern};
use crate::store::{
    Change, ClaimOutcome, ClaimRequest, EventKind, ForceSelector, GrantedLock, ReleaseOutcome,
    StoreError,
};

/// Directory and glob locks, as `rules::targets::is_pattern` says; spelled as
/// the partial index `idx_file_locks_patterns` in migrations/postgres/V1, so
/// the planner can use it.
const PATTERN_ROWS: &str = "(file_path ~ '[*?[{\\\\]' OR file_path LIKE '%/')";

/// How many expired locks one sweep transaction deletes at most.
const SWEEP_BATCH: i64 = 500;

const LOCK_COLUMNS: &str =
    "id::text, agent_id, file_path, operation, expires_at, fencing_token, session_id";

/// A lock row (LOCK_COLUMNS) with its session.
fn held(row: &Row) -> Result<(String, HeldLock)> {
    let op: String = row.try_get(3)?;
    Ok((
        row.try_get(6)?,
        HeldLock {
            lock_id: row.try_get(0)?,
            agent_id: row.try_get(1)?,
            path: row.try_get(2)?,
            operation: Operation::parse(&op)
                .ok_or_else(|| StoreError::Corrupt(format!("lock operation {op:?}")))?,
            expires_at_ms: ms(row.try_get(4)?),
            fencing_token: row.try_get(5)?,
        },
    ))
}

fn held_rows(rows: &[Row]) -> Result<Vec<(String, HeldLock)>> {
    rows.iter().map(held).collect()
}

/// The session's locks that may overlap `paths`: rows on the same paths,
/// every directory and glob row, and for a requested pattern every row
/// starting with its literal prefix (`file_path` is COLLATE "C", so the
/// prefix is a range of the key's index, in code point order).
async fn locks_overlapping(
    tx: &Transaction<'_>,
    session: &str,
    paths: &BTreeSet<String>,
) -> Result<Vec<HeldLock>> {
    let exact: Vec<&str> = paths.iter().map(String::as_str).collect();
    let prefixes: Vec<String> = paths
        .iter()
        .filter(|p| is_pattern(p))
        .map(|path| match path.find(GLOB_META) {
            Some(i) => path[..i].to_owned(),
            // A directory's own name as a file overlaps it too.
            None => path.trim_end_matches('/').to_owned(),
        })
        .collect();
    // starts_with on a "C" column: the same rows as the range `>= prefix AND < next`.
    let stmt = tx
        .prepare_cached(&format!(
            "SELECT {LOCK_COLUMNS} FROM file_locks
              WHERE session_id = $1
                AND (file_path = ANY($2) OR {PATTERN_ROWS}
                     OR EXISTS (SELECT 1 FROM unnest($3::text[]) AS p WHERE starts_with(file_path, p)))"
        ))
        .await?;
    let rows = tx.query(&stmt, &[&session, &exact, &prefixes]).await?;
    let mut found: BTreeMap<String, HeldLock> = BTreeMap::new();
    for (_, lock) in held_rows(&rows)? {
        found.entry(lock.lock_id.clone()).or_insert(lock);
    }
    Ok(found.into_values().collect())
}

async fn locks_on_paths(
    tx: &Transaction<'_>,
    session: &str,
    paths: &BTreeSet<String>,
) -> Result<Vec<HeldLock>> {
    let exact: Vec<&str> = paths.iter().map(String::as_str).collect();
    let stmt = tx
        .prepare_cached(&format!(
            "SELECT {LOCK_COLUMNS} FROM file_locks WHERE session_id = $1 AND file_path = ANY($2)"
        ))
        .await?;
    let rows = tx.query(&stmt, &[&session, &exact]).await?;
    Ok(held_rows(&rows)?.into_iter().map(|(_, l)| l).collect())
}

/// Deletes the lock if it is still there; whether this transaction did.
async fn delete_lock(tx: &Transaction<'_>, lock_id: &str) -> Result<bool> {
    let stmt = tx
        .prepare_cached("DELETE FROM file_locks WHERE id = $1::text::uuid")
        .await?;
    Ok(tx.execute(&stmt, &[&lock_id]).await? == 1)
}

/// Removes expired rows among `locks`, one `expired` event each, for the
/// rows this transaction deleted and that are still expired as stored (a
/// sweeper read them before taking the session's lock: one may have been
/// renewed meanwhile). Returns their paths.
async fn expire(
    tx: &Transaction<'_>,
    now: Millis,
    session: &str,
    locks: &[HeldLock],
) -> Result<Vec<String>> {
    let stmt = tx
        .prepare_cached("DELETE FROM file_locks WHERE id = $1::text::uuid AND expires_at <= $2")
        .await?;
    let mut freed = Vec::new();
    for lock in locks.iter().filter(|l| !l.is_live(now)) {
        if tx.execute(&stmt, &[&lock.lock_id, &ts(now)]).await? == 1 {
            record_event(
                tx,
                now,
                EventKind::Expired,
                NewEvent::of_lock(session, lock, None),
            )
            .await?;
            freed.push(lock.path.clone());
        }
    }
    Ok(freed)
}

/// Paths freed in a transaction, per session.
type Freed = BTreeMap<String, Vec<String>>;

fn freed_in(session: &str, paths: Vec<String>) -> Freed {
    let mut freed = Freed::new();
    if !paths.is_empty() {
        freed.insert(session.to_owned(), paths);
    }
    freed
}

impl PostgresStore {
    /// Tells other coordinators (in the transaction: at its commit) what it frees.
    async fn notify_freed(&self, tx: &Transaction<'_>, freed: &Freed) -> Result<()> {
        notify(tx, self.inner.origin, freed).await
    }

    /// Announces `freed` here once committed, so a woken waiter finds them free.
    fn announce_freed(&self, freed: Freed) {
        for (session, paths) in freed {
            // No subscriber (a CLI command) is not an error.
            let _ = self.inner.changes.send(Change::Freed { session, paths });
        }
    }

    pub(super) async fn claim(
        &self,
        r: &ClaimRequest,
        record_conflicts: bool,
    ) -> Result<ClaimOutcome> {
        let now = self.now_ms();
        let (session, agent, operation) = (r.session.as_str(), r.agent.as_str(), r.operation);
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        lock_sessions(&tx, &[session]).await?;
        let held = locks_overlapping(&tx, session, &r.paths).await?;
        let mut freed = expire(&tx, now, session, &held).await?;
        let steps = match plan_claim(now, agent, operation, &r.paths, r.duration_minutes, &held) {
            Ok(steps) => steps,
            Err(conflicts) => {
                if record_conflicts {
                    for c in &conflicts {
                        let event = NewEvent::of_conflict(session, agent, operation, c);
                        record_event(&tx, now, EventKind::Conflict, event).await?;
                    }
                }
                let freed = freed_in(session, freed);
                self.notify_freed(&tx, &freed).await?;
                tx.commit().await?;
                self.announce_freed(freed);
                return Ok(ClaimOutcome::Conflicted(conflicts));
            }
        };
        let insert = tx
            .prepare_cached(
                "INSERT INTO file_locks
                   (session_id, agent_id, file_path, operation, expires_at, created_at, fencing_token)
                 VALUES ($1, $2, $3, $4, $5, $6, nextval('fencing_tokens'))
                 RETURNING id::text, fencing_token",
            )
            .await?;
        let renew = tx
            .prepare_cached(
                "UPDATE file_locks SET expires_at = $2, operation = $3
                  WHERE id = $1::text::uuid RETURNING fencing_token",
            )
            .await?;
        let mut granted = Vec::with_capacity(steps.len());
        for step in steps {
            let lock = match step {
                ClaimStep::Grant {
                    path,
                    expires_at_ms,
                } => {
                    let row = tx
                        .query_one(
                            &insert,
                            &[
                                &session,
                                &agent,
                                &path,
                                &operation.as_str(),
                                &ts(expires_at_ms),
                                &ts(now),
                            ],
                        )
                        .await?;
                    GrantedLock {
                        lock_id: row.try_get(0)?,
                        path,
                        operation,
                        expires_at_ms,
                        fencing_token: row.try_get(1)?,
                        renewed: false,
                    }
                }
                ClaimStep::Renew {
                    lock_id,
                    path,
                    expires_at_ms,
                } => {
                    // The row was read under the session lock: it is there.
                    let row = tx
                        .query_one(&renew, &[&lock_id, &ts(expires_at_ms), &operation.as_str()])
                        .await?;
                    GrantedLock {
                        lock_id,
                        path,
                        operation,
                        expires_at_ms,
                        fencing_token: row.try_get(0)?,
                        renewed: true,
                    }
                }
            };
            // A lease renewed as a read may have been a write: readers waiting on it can go.
            if lock.renewed && operation.is_shared() {
                freed.push(lock.path.clone());
            }
            let kind = if lock.renewed {
                EventKind::Renewed
            } else {
                EventKind::Granted
            };
            record_event(&tx, now, kind, NewEvent::of_grant(session, agent, &lock)).await?;
            granted.push(lock);
        }
        let freed = freed_in(session, freed);
        self.notify_freed(&tx, &freed).await?;
        tx.commit().await?;
        self.announce_freed(freed);
        Ok(ClaimOutcome::Granted(granted))
    }

    pub(super) async fn release(
        &self,
        session: &str,
        agent: &str,
        scope: &ReleaseScope,
    ) -> Result<ReleaseOutcome> {
        let now = self.now_ms();
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        lock_sessions(&tx, &[session]).await?;
        let held = match scope {
            ReleaseScope::All => {
                let stmt = tx
                    .prepare_cached(&format!(
                        "SELECT {LOCK_COLUMNS} FROM file_locks WHERE session_id = $1 AND agent_id = $2"
                    ))
                    .await?;
                let rows = tx.query(&stmt, &[&session, &agent]).await?;
                held_rows(&rows)?.into_iter().map(|(_, l)| l).collect()
            }
            // A release names the very strings claimed, patterns included.
            ReleaseScope::Paths(paths) => locks_on_paths(&tx, session, paths).await?,
        };
        let mut freed = expire(&tx, now, session, &held).await?;
        let plan = plan_release(now, agent, scope, &held);
        for lock in &plan.release {
            delete_lock(&tx, &lock.lock_id).await?;
            record_event(
                &tx,
                now,
                EventKind::Released,
                NewEvent::of_lock(session, lock, None),
            )
            .await?;
            freed.push(lock.path.clone());
        }
        let freed = freed_in(session, freed);
        self.notify_freed(&tx, &freed).await?;
        tx.commit().await?;
        self.announce_freed(freed);
        Ok(ReleaseOutcome {
            released: plan.release,
            not_held: plan.not_held,
        })
    }

    /// A person releases locks by hand; each is recorded as a forced release
    /// by `by`. The candidates' sessions are locked, then the rows read again
    /// under the locks, so a lock granted meanwhile is judged as it is then.
    pub(super) async fn force_release(
        &self,
        selector: &ForceSelector,
        by: &str,
    ) -> Result<Vec<(String, HeldLock)>> {
        let now = self.now_ms();
        let (filter, args): (&str, Vec<Option<&str>>) = match selector {
            ForceSelector::LockId(id) => (
                "id::text = $1 AND $2::text IS NULL",
                vec![Some(id.as_str()), None],
            ),
            ForceSelector::Path { session_id, path } => (
                "file_path = $1 AND ($2::text IS NULL OR session_id = $2)",
                vec![Some(path.as_str()), session_id.as_deref()],
            ),
            ForceSelector::Agent {
                session_id,
                agent_id,
            } => (
                "agent_id = $1 AND ($2::text IS NULL OR session_id = $2)",
                vec![Some(agent_id.as_str()), session_id.as_deref()],
            ),
        };
        let select =
            format!("SELECT {LOCK_COLUMNS} FROM file_locks WHERE {filter} ORDER BY file_path");
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let stmt = tx.prepare_cached(&select).await?;
        let candidates = held_rows(&tx.query(&stmt, &[&args[0], &args[1]]).await?)?;
        let sessions: BTreeSet<&str> = candidates.iter().map(|(s, _)| s.as_str()).collect();
        lock_sessions(&tx, &sessions.into_iter().collect::<Vec<_>>()).await?;
        let rows = held_rows(&tx.query(&stmt, &[&args[0], &args[1]]).await?)?;
        let mut released = Vec::with_capacity(rows.len());
        let mut freed = Freed::new();
        for (session, lock) in rows {
            // Only sessions locked above: a row of another session that
            // appeared meanwhile is left for the next call.
            if !candidates.iter().any(|(s, _)| *s == session)
                || !delete_lock(&tx, &lock.lock_id).await?
            {
                continue;
            }
            let kind = if lock.is_live(now) {
                EventKind::ForcedRelease
            } else {
                EventKind::Expired
            };
            let detail = Some(format!("released by {by}"));
            record_event(&tx, now, kind, NewEvent::of_lock(&session, &lock, detail)).await?;
            freed
                .entry(session.clone())
                .or_default()
                .push(lock.path.clone());
            released.push((session, lock));
        }
        self.notify_freed(&tx, &freed).await?;
        tx.commit().await?;
        self.announce_freed(freed);
        Ok(released)
    }

    /// Deletes every expired lock, one `expired` event each, [`SWEEP_BATCH`]
    /// to a transaction; every coordinator's sweeper runs this, and each
    /// expiry is recorded by the one whose delete removed the row.
    pub(super) async fn sweep_expired(&self) -> Result<usize> {
        self.forget_waiters_past_deadline().await?;
        let now = self.now_ms();
        let mut swept = 0;
        loop {
            let (batch, found) = self.sweep_batch(now).await?;
            swept += batch;
            if found < SWEEP_BATCH {
                return Ok(swept);
            }
        }
    }

    /// (expired here, candidates seen)
    async fn sweep_batch(&self, now: Millis) -> Result<(usize, i64)> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let stmt = tx
            .prepare_cached(&format!(
                "SELECT {LOCK_COLUMNS} FROM file_locks WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2"
            ))
            .await?;
        let candidates = held_rows(&tx.query(&stmt, &[&ts(now), &SWEEP_BATCH]).await?)?;
        if candidates.is_empty() {
            // Nothing written: an idle coordinator's tick costs one read.
            return Ok((0, 0));
        }
        let sessions: BTreeSet<&str> = candidates.iter().map(|(s, _)| s.as_str()).collect();
        lock_sessions(&tx, &sessions.into_iter().collect::<Vec<_>>()).await?;
        let mut by_session: BTreeMap<String, Vec<HeldLock>> = BTreeMap::new();
        for (session, lock) in &candidates {
            by_session
                .entry(session.clone())
                .or_default()
                .push(lock.clone());
        }
        let mut freed = Freed::new();
        for (session, locks) in &by_session {
            let paths = expire(&tx, now, session, locks).await?;
            if !paths.is_empty() {
                freed.insert(session.clone(), paths);
            }
        }
        self.notify_freed(&tx, &freed).await?;
        tx.commit().await?;
        let expired = freed.values().map(Vec::len).sum();
        self.announce_freed(freed);
        Ok((expired, candidates.len() as i64))
    }
}
