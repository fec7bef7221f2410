//! `lock_waiters`: the claims waiting for their paths, written down so that a
//! dashboard or `ccmulti status` in another process can show them. The wait
//! queue in memory ([`super::wait_queue`]) decides who goes first; this table
//! only mirrors it, and only for claims that actually wait: a row is written
//! when a waiting claim's first attempt conflicts, so a claim granted at once
//! costs nothing here.

use ccmulti_ui::model::{LockOperation, LockRow, WaiterRow};
use rusqlite::{Connection, params};

use super::locks::ClaimRequest;
use super::{Result, Store, StoreError, time};
use crate::clock::Millis;
use crate::rules::locks::Operation;
use crate::rules::targets::LockTarget;
use crate::rules::waiting::{HeldBy, Waiter, blocked_by};

/// A claim's row in `lock_waiters`, deleted when dropped: when the claim is
/// granted, times out, or its future is dropped because the client went away.
#[derive(Debug)]
pub(crate) struct WaiterRecord {
    store: Store,
    id: Option<i64>,
}

impl WaiterRecord {
    /// Deletes the row now, on the blocking pool, and waits for it.
    pub async fn finish(mut self) {
        if let Some(id) = self.id.take() {
            let _ = self
                .store
                .blocking(move |s| {
                    s.forget_waiter(id);
                    Ok(())
                })
                .await;
        }
    }
}

impl Drop for WaiterRecord {
    /// A dropped future cannot await: the delete goes to the blocking pool
    /// when there is a runtime, else it runs here.
    fn drop(&mut self) {
        let Some(id) = self.id.take() else { return };
        let store = self.store.clone();
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn_blocking(move || store.forget_waiter(id));
            }
            Err(_) => store.forget_waiter(id),
        }
    }
}

fn lock_operation(op: Operation) -> LockOperation {
    match op {
        Operation::Read => LockOperation::Read,
        Operation::Write => LockOperation::Write,
        Operation::Delete => LockOperation::Delete,
    }
}

impl Store {
    /// Writes down that `request` waits until `deadline_ms`.
    pub(crate) fn record_waiter(
        &self,
        request: &ClaimRequest,
        deadline_ms: Millis,
    ) -> Result<WaiterRecord> {
        let paths = serde_json::to_string(&request.paths)
            .map_err(|e| StoreError::Corrupt(format!("waiter paths: {e}")))?;
        let since = time::to_text(self.now_ms());
        let deadline = time::to_text(deadline_ms);
        let id = self.write(|tx| {
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
            Ok(tx.last_insert_rowid())
        })?;
        Ok(WaiterRecord {
            store: self.clone(),
            id: Some(id),
        })
    }

    /// Best effort: a row left behind is skipped after its deadline and
    /// cleared at the next start.
    fn forget_waiter(&self, id: i64) {
        let deleted = self.write(|tx| {
            tx.prepare_cached("DELETE FROM lock_waiters WHERE id = ?1")?
                .execute([id])?;
            Ok(())
        });
        if let Err(e) = deleted {
            tracing::warn!(error = %e, id, "could not delete a lock waiter's row");
        }
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
    let held: Vec<(HeldBy<'_>, &str)> = locks
        .iter()
        .filter_map(|l| {
            Some((
                HeldBy {
                    session: &l.session_id,
                    agent: &l.agent_id,
                    operation: Operation::parse(&l.operation)?,
                    path: &l.path,
                },
                l.lock_id.as_str(),
            ))
        })
        .collect();
    let only_held: Vec<HeldBy<'_>> = held.iter().map(|(h, _)| *h).collect();
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
            let waiter = Waiter {
                session: session_id.clone(),
                agent: agent_id.clone(),
                operation,
                targets: paths.iter().map(|p| LockTarget::parse(p)).collect(),
            };
            let blocked_by = blocked_by(&waiter, &only_held)
                .into_iter()
                .map(|i| held[i].1.to_owned())
                .collect();
            Ok(WaiterRow {
                session_id,
                agent_id,
                operation: lock_operation(operation),
                paths,
                since_ms: time::from_text(&since)?,
                deadline_ms: time::from_text(&deadline)?,
                blocked_by,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::rules::locks::{Operation, ReleaseScope};
    use crate::rules::virtual_user::parse;
    use crate::store::test_support::open_temp;
    use crate::store::{ClaimOutcome, ClaimRequest, Store};

    fn register(store: &Store, agents: &[&str]) {
        for a in agents {
            store
                .touch_agent(&parse(&format!("u__session__s__{a}")).unwrap(), "url")
                .unwrap();
        }
    }

    fn request(agent: &str, path: &str) -> ClaimRequest {
        ClaimRequest {
            session: "s".into(),
            agent: agent.into(),
            operation: Operation::Write,
            paths: [path.to_owned()].into(),
            duration_minutes: 5,
        }
    }

    async fn until(what: &str, mut condition: impl FnMut() -> bool) {
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while !condition() {
            assert!(std::time::Instant::now() < deadline, "timed out: {what}");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    fn shown(store: &Store) -> Vec<(String, Vec<String>, usize)> {
        store
            .snapshot(0)
            .unwrap()
            .waiters
            .into_iter()
            .map(|w| (w.agent_id, w.paths, w.blocked_by.len()))
            .collect()
    }

    fn rows(store: &Store) -> i64 {
        store
            .read(|c| Ok(c.query_row("SELECT COUNT(*) FROM lock_waiters", [], |r| r.get(0))?))
            .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_waiting_claim_shows_until_granted_or_gone() {
        let (_d, store, _clock) = open_temp();
        register(&store, &["a", "b", "c"]);
        // Granted at once: no row written.
        let now = store
            .claim_waiting(request("a", "src/**"), Duration::from_secs(5))
            .await
            .unwrap();
        assert!(matches!(now.outcome, ClaimOutcome::Granted(_)));
        assert_eq!(rows(&store), 0);

        let spawn = |agent: &'static str| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .claim_waiting(request(agent, "src/x.rs"), Duration::from_secs(30))
                    .await
                    .unwrap()
            })
        };
        let b = spawn("b");
        until("b shows", || shown(&store).len() == 1).await;
        let c = spawn("c");
        until("c shows", || shown(&store).len() == 2).await;
        let lock_id = store.snapshot(0).unwrap().locks[0].lock_id.clone();
        let snapshot = store.snapshot(0).unwrap();
        assert_eq!(snapshot.waiters[0].agent_id, "b");
        assert_eq!(snapshot.waiters[0].blocked_by, [lock_id]);
        assert_eq!(snapshot.waiters[0].paths, ["src/x.rs"]);
        assert!(snapshot.waiters[0].deadline_ms > snapshot.now_ms);

        // c's client goes away: its row goes with it.
        c.abort();
        until("c gone", || rows(&store) == 1).await;
        // a releases: b is granted and its row goes.
        store.release("s", "a", &ReleaseScope::All).unwrap();
        let granted = tokio::time::timeout(Duration::from_secs(5), b)
            .await
            .unwrap()
            .unwrap();
        assert!(matches!(granted.outcome, ClaimOutcome::Granted(_)));
        assert_eq!(rows(&store), 0);
        assert!(shown(&store).is_empty());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_timed_out_claim_leaves_no_row_and_a_start_clears_stale_ones() {
        let (_d, store, _clock) = open_temp();
        register(&store, &["a", "b"]);
        store
            .claim("s", "a", Operation::Write, &["x".to_owned()].into(), 5)
            .unwrap();
        let waited = store
            .claim_waiting(request("b", "x"), Duration::from_millis(200))
            .await
            .unwrap();
        assert!(matches!(waited.outcome, ClaimOutcome::Conflicted(_)));
        assert_eq!(rows(&store), 0);
        // A row a crashed coordinator left behind.
        let stale = store
            .record_waiter(&request("b", "x"), store.now_ms() + 60_000)
            .unwrap();
        std::mem::forget(stale);
        assert_eq!(shown(&store).len(), 1);
        assert_eq!(store.clear_waiters().unwrap(), 1);
        assert!(shown(&store).is_empty());
    }
}
