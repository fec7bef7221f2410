//! Lock transactions. Each claim, release and sweep is one `BEGIN IMMEDIATE`
//! transaction on the single write connection (or one savepoint in a batch's
//! transaction, `batch.rs`): the check and the insert cannot
//! interleave with another claim (the seed's check-then-insert race). Whatever
//! frees paths (release, expiry, forced release) wakes the claims waiting for
//! them once it has committed.

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::{Connection, Row, params};

use super::events::{self, NewEvent};
use super::{Result, SqliteStore, time};
use crate::clock::Millis;
use crate::rules::locks::{ClaimStep, HeldLock, Operation, ReleaseScope, plan_claim, plan_release};
use crate::rules::targets::{GLOB_META, is_pattern};
use crate::store::{
    Change, ClaimOutcome, ClaimRequest, EventKind, ForceSelector, GrantedLock, ReleaseOutcome,
};

/// Selects directory and glob locks, the rows `rules::targets::is_pattern`
/// accepts; spelled exactly as the partial index `idx_file_locks_patterns` in
/// migrations/sqlite/V1__initial.sql, so SQLite uses that index (a test holds the two together).
pub(crate) const PATTERN_ROWS: &str = "(file_path GLOB '*[[*?{\\]*' OR file_path GLOB '*/')";

/// How many expired locks one sweep transaction deletes at most.
const SWEEP_BATCH: usize = 500;

const LOCK_COLUMNS: &str = "id, agent_id, file_path, operation, expires_at, fencing_token";

fn held_from_row(row: &Row<'_>) -> rusqlite::Result<(HeldLock, String)> {
    let expires: String = row.get(4)?;
    Ok((
        HeldLock {
            lock_id: row.get(0)?,
            agent_id: row.get(1)?,
            path: row.get(2)?,
            operation: super::columns::word(row, 3, Operation::parse)?,
            expires_at_ms: 0,
            fencing_token: row.get(5)?,
        },
        expires,
    ))
}

fn collect_held(
    rows: impl Iterator<Item = rusqlite::Result<(HeldLock, String)>>,
) -> Result<Vec<HeldLock>> {
    rows.map(|r| {
        let (mut lock, expires) = r?;
        lock.expires_at_ms = time::from_text(&expires)?;
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
) -> Result<Vec<HeldLock>> {
    let mut found: BTreeMap<String, HeldLock> = BTreeMap::new();
    let mut add = |locks: Vec<HeldLock>| {
        for lock in locks {
            found.entry(lock.lock_id.clone()).or_insert(lock);
        }
    };
    add(locks_on_paths(conn, session, paths)?);
    add(collect_held(
        conn.prepare_cached(&format!(
            "SELECT {LOCK_COLUMNS} FROM file_locks WHERE session_id = ?1 AND {PATTERN_ROWS}"
        ))?
        .query_map([session], held_from_row)?,
    )?);
    for path in paths.iter().filter(|p| is_pattern(p)) {
        // A directory's own name as a file overlaps it too, so its range starts without the `/`.
        let prefix = match path.find(GLOB_META) {
            Some(i) => &path[..i],
            None => path.trim_end_matches('/'),
        };
        let rows = match prefix_upper_bound(prefix) {
            Some(upper) => conn
                .prepare_cached(&format!(
                    "SELECT {LOCK_COLUMNS} FROM file_locks
                     WHERE session_id = ?1 AND file_path >= ?2 AND file_path < ?3"
                ))?
                .query_map(params![session, prefix, upper], held_from_row)?
                .collect::<Vec<_>>(),
            None => conn
                .prepare_cached(&format!(
                    "SELECT {LOCK_COLUMNS} FROM file_locks WHERE session_id = ?1 AND file_path >= ?2"
                ))?
                .query_map(params![session, prefix], held_from_row)?
                .collect::<Vec<_>>(),
        };
        add(collect_held(rows.into_iter())?);
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
) -> Result<Vec<HeldLock>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {LOCK_COLUMNS} FROM file_locks WHERE session_id = ?1 AND file_path = ?2"
    ))?;
    let mut all = Vec::new();
    for path in paths {
        all.extend(collect_held(
            stmt.query_map(params![session, path], held_from_row)?,
        )?);
    }
    Ok(all)
}

/// Locks with their session ids; `sql` selects LOCK_COLUMNS then session_id.
fn sessioned_locks(
    conn: &Connection,
    sql: &str,
    args: impl rusqlite::Params,
) -> Result<Vec<(String, HeldLock)>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(args, |row| {
        Ok((row.get::<_, String>(6)?, held_from_row(row)?))
    })?;
    rows.map(|r| {
        let (session, (mut lock, expires)) = r?;
        lock.expires_at_ms = time::from_text(&expires)?;
        Ok((session, lock))
    })
    .collect()
}

fn next_fencing_token(conn: &Connection) -> Result<i64> {
    Ok(conn
        .prepare_cached("UPDATE fencing_counter SET last_token = last_token + 1 WHERE id = 1 RETURNING last_token")?
        .query_row([], |r| r.get(0))?)
}

fn delete_lock(conn: &Connection, lock_id: &str) -> Result<()> {
    conn.prepare_cached("DELETE FROM file_locks WHERE id = ?1")?
        .execute([lock_id])?;
    Ok(())
}

/// Removes expired rows among `locks`, with one `expired` event each. Returns their paths.
fn expire(
    conn: &Connection,
    now: Millis,
    session: &str,
    locks: &[HeldLock],
) -> Result<Vec<String>> {
    let mut freed = Vec::new();
    for lock in locks.iter().filter(|l| !l.is_live(now)) {
        delete_lock(conn, &lock.lock_id)?;
        events::record(
            conn,
            now,
            EventKind::Expired,
            NewEvent::of_lock(session, lock, None),
        )?;
        freed.push(lock.path.clone());
    }
    Ok(freed)
}

/// Paths freed in a transaction, per session, for waking waiters after it commits.
type Freed = Vec<(String, String)>;

fn in_session(session: &str, paths: impl IntoIterator<Item = String>) -> Freed {
    paths.into_iter().map(|p| (session.to_owned(), p)).collect()
}

impl SqliteStore {
    /// Announces `freed` on the change feed; call after the write that freed
    /// them returns (in a batch it is published after the batch's commit),
    /// so a woken waiter finds them free.
    fn announce_freed(&self, freed: &Freed) {
        let mut by_session: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for (session, path) in freed {
            by_session.entry(session).or_default().push(path.clone());
        }
        for (session, paths) in by_session {
            self.publish(Change::Freed {
                session: session.to_owned(),
                paths,
            });
        }
    }

    /// A claim, as the coordination service makes it.
    pub fn claim_request(&self, r: &ClaimRequest, record_conflicts: bool) -> Result<ClaimOutcome> {
        self.claim_recording(
            &r.session,
            &r.agent,
            r.operation,
            &r.paths,
            r.duration_minutes,
            record_conflicts,
        )
    }

    /// Claims every path or none. `paths` are normalised and deduplicated.
    pub fn claim(
        &self,
        session: &str,
        agent: &str,
        operation: Operation,
        paths: &BTreeSet<String>,
        duration_minutes: i64,
    ) -> Result<ClaimOutcome> {
        self.claim_recording(session, agent, operation, paths, duration_minutes, true)
    }

    /// A claim; its conflicts are recorded as events only if `record_conflicts`
    /// (a waiting claim's retries are not each a new conflict).
    fn claim_recording(
        &self,
        session: &str,
        agent: &str,
        operation: Operation,
        paths: &BTreeSet<String>,
        duration_minutes: i64,
        record_conflicts: bool,
    ) -> Result<ClaimOutcome> {
        let now = self.now_ms();
        let (outcome, freed) = self.write(|tx| {
            let held = locks_overlapping(tx, session, paths)?;
            let mut freed = expire(tx, now, session, &held)?;
            let steps = match plan_claim(now, agent, operation, paths, duration_minutes, &held) {
                Ok(steps) => steps,
                Err(conflicts) if !record_conflicts => {
                    return Ok((ClaimOutcome::Conflicted(conflicts), in_session(session, freed)));
                }
                Err(conflicts) => {
                    for c in &conflicts {
                        events::record(tx, now, EventKind::Conflict, NewEvent::of_conflict(session, agent, operation, c))?;
                    }
                    return Ok((ClaimOutcome::Conflicted(conflicts), in_session(session, freed)));
                }
            };
            let mut granted = Vec::with_capacity(steps.len());
            for step in steps {
                let lock = match step {
                    ClaimStep::Grant { path, expires_at_ms } => {
                        let token = next_fencing_token(tx)?;
                        let lock_id = uuid::Uuid::new_v4().to_string();
                        tx.prepare_cached(
                            "INSERT INTO file_locks
                               (id, session_id, agent_id, file_path, operation, expires_at, created_at, fencing_token)
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                        )?
                        .execute(params![
                            lock_id,
                            session,
                            agent,
                            path,
                            operation.as_str(),
                            time::to_text(expires_at_ms),
                            time::to_text(now),
                            token
                        ])?;
                        GrantedLock { lock_id, path, operation, expires_at_ms, fencing_token: token, renewed: false }
                    }
                    ClaimStep::Renew { lock_id, path, expires_at_ms } => {
                        let token: i64 = tx
                            .prepare_cached(
                                "UPDATE file_locks SET expires_at = ?2, operation = ?3 WHERE id = ?1 RETURNING fencing_token",
                            )?
                            .query_row(
                                params![lock_id, time::to_text(expires_at_ms), operation.as_str()],
                                |r| r.get(0),
                            )?;
                        GrantedLock { lock_id, path, operation, expires_at_ms, fencing_token: token, renewed: true }
                    }
                };
                // A lease renewed as a read may have been a write: readers waiting on it can go.
                if lock.renewed && operation.is_shared() {
                    freed.push(lock.path.clone());
                }
                let kind = if lock.renewed { EventKind::Renewed } else { EventKind::Granted };
                events::record(tx, now, kind, NewEvent::of_grant(session, agent, &lock))?;
                granted.push(lock);
            }
            Ok((ClaimOutcome::Granted(granted), in_session(session, freed)))
        })?;
        self.announce_freed(&freed);
        Ok(outcome)
    }

    /// Releases the caller's own live locks; reports what it does not hold.
    pub fn release(
        &self,
        session: &str,
        agent: &str,
        scope: &ReleaseScope,
    ) -> Result<ReleaseOutcome> {
        let now = self.now_ms();
        let (outcome, freed) = self.write(|tx| {
            let held = match scope {
                ReleaseScope::All => collect_held(
                    tx.prepare_cached(&format!(
                        "SELECT {LOCK_COLUMNS} FROM file_locks WHERE session_id = ?1 AND agent_id = ?2"
                    ))?
                    .query_map(params![session, agent], held_from_row)?,
                )?,
                // A release names the very strings claimed, patterns included.
                ReleaseScope::Paths(paths) => locks_on_paths(tx, session, paths)?,
            };
            let mut freed = expire(tx, now, session, &held)?;
            let plan = plan_release(now, agent, scope, &held);
            for lock in &plan.release {
                delete_lock(tx, &lock.lock_id)?;
                events::record(tx, now, EventKind::Released, NewEvent::of_lock(session, lock, None))?;
                freed.push(lock.path.clone());
            }
            let outcome = ReleaseOutcome { released: plan.release, not_held: plan.not_held };
            Ok((outcome, in_session(session, freed)))
        })?;
        self.announce_freed(&freed);
        Ok(outcome)
    }

    /// A person releases locks by hand; each is recorded as a forced release by `by`.
    /// Returns the released locks with their session ids.
    pub fn force_release(
        &self,
        selector: &ForceSelector,
        by: &str,
    ) -> Result<Vec<(String, HeldLock)>> {
        let now = self.now_ms();
        let released = self.write(|tx| {
            let (sql, args): (String, Vec<String>) = match selector {
                ForceSelector::LockId(id) => ("id = ?1".into(), vec![id.clone()]),
                ForceSelector::Path { session_id, path } => match session_id {
                    Some(s) => ("file_path = ?1 AND session_id = ?2".into(), vec![path.clone(), s.clone()]),
                    None => ("file_path = ?1".into(), vec![path.clone()]),
                },
                ForceSelector::Agent { session_id, agent_id } => match session_id {
                    Some(s) => ("agent_id = ?1 AND session_id = ?2".into(), vec![agent_id.clone(), s.clone()]),
                    None => ("agent_id = ?1".into(), vec![agent_id.clone()]),
                },
            };
            let rows = sessioned_locks(tx, &format!("SELECT {LOCK_COLUMNS}, session_id FROM file_locks WHERE {sql} ORDER BY file_path"), rusqlite::params_from_iter(args.iter()))?;
            let mut released = Vec::with_capacity(rows.len());
            for (session, lock) in rows {
                delete_lock(tx, &lock.lock_id)?;
                let kind = if lock.is_live(now) { EventKind::ForcedRelease } else { EventKind::Expired };
                events::record(tx, now, kind, NewEvent::of_lock(&session, &lock, Some(format!("released by {by}"))))?;
                released.push((session, lock));
            }
            Ok(released)
        })?;
        self.announce_freed(
            &released
                .iter()
                .map(|(s, l)| (s.clone(), l.path.clone()))
                .collect(),
        );
        Ok(released)
    }

    /// Deletes every expired lock (and waiting-claim rows past their deadline), one `expired` event each, [`SWEEP_BATCH`]
    /// locks to a transaction so that a backlog (a coordinator restarted after
    /// a long stop) never holds the write connection for long. Returns how many.
    pub fn sweep_expired(&self) -> Result<usize> {
        self.forget_waiters_past_deadline()?;
        let now = self.now_ms();
        let now_text = time::to_text(now);
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
        let mut swept = 0;
        loop {
            let batch = self.sweep_batch(now, &now_text)?;
            swept += batch;
            if batch < SWEEP_BATCH {
                return Ok(swept);
            }
        }
    }

    fn sweep_batch(&self, now: Millis, now_text: &str) -> Result<usize> {
        let freed = self.write(|tx| {
            let rows = sessioned_locks(
                tx,
                &format!(
                    "SELECT {LOCK_COLUMNS}, session_id FROM file_locks WHERE expires_at <= ?1
                     ORDER BY expires_at LIMIT ?2"
                ),
                params![now_text, SWEEP_BATCH as i64],
            )?;
            let mut by_session: Vec<(String, Vec<HeldLock>)> = Vec::new();
            for (session, lock) in rows {
                match by_session.iter_mut().find(|(s, _)| *s == session) {
                    Some((_, locks)) => locks.push(lock),
                    None => by_session.push((session, vec![lock])),
                }
            }
            let mut freed = Freed::new();
            for (session, locks) in &by_session {
                freed.extend(in_session(session, expire(tx, now, session, locks)?));
            }
            Ok(freed)
        })?;
        self.announce_freed(&freed);
        Ok(freed.len())
    }
}

#[cfg(test)]
mod tests;
