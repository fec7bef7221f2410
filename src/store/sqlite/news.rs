//! An agent's news and its cursor. Reading the news and moving the cursor are
//! one `BEGIN IMMEDIATE` transaction, so no event or task update can fall
//! between what was told and where the next look starts.

use rusqlite::{Connection, OptionalExtension, params};

use super::{Result, SqliteStore, time};
use crate::clock::Millis;
use crate::rules::news::{
    self, CompletedTask, Cursor, Facts, Freed, FreedEvent, News, OtherLock, OwnLock,
};

/// Bounds each query; the rules tell at most a handful of lines anyway.
const FACT_LIMIT: i64 = 200;

fn cursor(conn: &Connection, session: &str, agent: &str, now: Millis) -> Result<Cursor> {
    let stored: Option<(i64, String)> = conn
        .prepare_cached(
            "SELECT last_event_id, looked_at FROM agent_news_cursors WHERE session_id = ?1 AND agent_id = ?2",
        )?
        .query_row(params![session, agent], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    if let Some((last_event_id, looked_at)) = stored {
        return Ok(Cursor {
            last_event_id,
            looked_at_ms: time::from_text(&looked_at)?,
        });
    }
    // Never looked: what [`Cursor::first_look`] starts from, in one statement.
    let (first_own, newest, joined): (Option<i64>, i64, Option<String>) = conn
        .prepare_cached(
            "SELECT (SELECT MIN(id) FROM coordination_events WHERE session_id = ?1 AND agent_id = ?2),
                    (SELECT COALESCE(MAX(id), 0) FROM coordination_events),
                    (SELECT created_at FROM claude_code_agents WHERE session_id = ?1 AND id = ?2)",
        )?
        .query_row(params![session, agent], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?;
    let joined = joined.map(|t| time::from_text(&t)).transpose()?;
    Ok(Cursor::first_look(first_own, newest, joined, now))
}

/// Releases, expiries and forced releases of others' locks on paths this agent
/// had a conflict on and was not granted since: its last conflict on the path
/// before the release is newer than its last grant there (a conflict with no
/// grant after it exists exactly when the last one has none). Each is one
/// probe of `idx_coordination_events_agent_path`, however long the path's history.
fn freed(conn: &Connection, session: &str, agent: &str, after: i64) -> Result<Vec<FreedEvent>> {
    let mut stmt = conn.prepare_cached(
        "SELECT e.kind, e.agent_id, e.file_path FROM coordination_events e
          WHERE e.session_id = ?1 AND e.id > ?3 AND e.agent_id <> ?2
            AND e.kind IN ('released', 'expired', 'forced_release')
            AND (SELECT MAX(c.id) FROM coordination_events c
                  WHERE c.session_id = ?1 AND c.file_path = e.file_path
                    AND c.agent_id = ?2 AND c.kind = 'conflict' AND c.id < e.id)
                > COALESCE((SELECT MAX(g.id) FROM coordination_events g
                  WHERE g.session_id = ?1 AND g.file_path = e.file_path
                    AND g.agent_id = ?2 AND g.kind = 'granted' AND g.id < e.id), 0)
          ORDER BY e.id LIMIT ?4",
    )?;
    let rows = stmt.query_map(params![session, agent, after, FACT_LIMIT], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (kind, holder, path) = row?;
        if let Some(how) = Freed::from_kind(&kind) {
            out.push(FreedEvent { path, holder, how });
        }
    }
    Ok(out)
}

fn others_live(conn: &Connection, session: &str, agent: &str, now: &str) -> Result<Vec<OtherLock>> {
    let mut stmt = conn.prepare_cached(
        "SELECT file_path, agent_id, operation FROM file_locks
          WHERE session_id = ?1 AND agent_id <> ?2 AND expires_at > ?3",
    )?;
    let rows = stmt.query_map(params![session, agent, now], |r| {
        Ok(OtherLock {
            path: r.get(0)?,
            agent_id: r.get(1)?,
            operation: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Tasks completed by others in [looked_at, now): the next look starts at now.
fn completed(
    conn: &Connection,
    session: &str,
    agent: &str,
    since: &str,
    now: &str,
) -> Result<Vec<CompletedTask>> {
    let mut stmt = conn.prepare_cached(
        "SELECT agent_id, task_id, message FROM task_progress
          WHERE session_id = ?1 AND agent_id <> ?2 AND status = 'completed'
            AND updated_at >= ?3 AND updated_at < ?4
          ORDER BY updated_at LIMIT ?5",
    )?;
    let rows = stmt.query_map(params![session, agent, since, now, FACT_LIMIT], |r| {
        Ok(CompletedTask {
            agent_id: r.get(0)?,
            task_id: r.get(1)?,
            message: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// This agent's locks that were force-released or expired after the cursor.
fn lost(
    conn: &Connection,
    session: &str,
    agent: &str,
    after: i64,
) -> Result<Vec<(String, Freed, Option<String>)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT kind, file_path, detail FROM coordination_events
          WHERE session_id = ?1 AND agent_id = ?2 AND id > ?3
            AND kind IN ('forced_release', 'expired')
          ORDER BY id LIMIT ?4",
    )?;
    let rows = stmt.query_map(params![session, agent, after, FACT_LIMIT], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, Option<String>>(2)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (kind, path, detail) = row?;
        if let Some(how) = Freed::from_kind(&kind) {
            out.push((path, how, detail));
        }
    }
    Ok(out)
}

/// This agent's files whose changes another agent was found to need while
/// they were in no commit, recorded in [since, now).
fn wanted_uncommitted(
    conn: &Connection,
    session: &str,
    agent: &str,
    since: &str,
    now: &str,
) -> Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT file_path FROM path_versions
          WHERE session_id = ?1 AND agent_id = ?2 AND left_uncommitted = 1
            AND recorded_at >= ?3 AND recorded_at < ?4
          ORDER BY id LIMIT ?5",
    )?;
    let rows = stmt.query_map(params![session, agent, since, now, FACT_LIMIT], |r| {
        r.get(0)
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn own_live(conn: &Connection, session: &str, agent: &str, now: &str) -> Result<Vec<OwnLock>> {
    let mut stmt = conn.prepare_cached(
        "SELECT file_path, created_at, expires_at FROM file_locks
          WHERE session_id = ?1 AND agent_id = ?2 AND expires_at > ?3 ORDER BY expires_at",
    )?;
    let rows = stmt.query_map(params![session, agent, now], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
        ))
    })?;
    rows.map(|row| {
        let (path, granted, expires) = row?;
        Ok(OwnLock {
            path,
            granted_at_ms: time::from_text(&granted)?,
            expires_at_ms: time::from_text(&expires)?,
        })
    })
    .collect()
}

impl SqliteStore {
    /// What changed for this agent since it last looked, and moves its cursor to now.
    pub fn take_news(&self, session: &str, agent: &str) -> Result<Vec<News>> {
        self.write(|tx| {
            // Taken inside the write lock: every commit before it is visible here,
            // and any later one is stamped no earlier than it (see sync_progress).
            let now = self.now_ms();
            let now_text = time::to_text(now);
            let since = cursor(tx, session, agent, now)?;
            let facts = Facts {
                freed: freed(tx, session, agent, since.last_event_id)?,
                others_live: others_live(tx, session, agent, &now_text)?,
                completed: completed(
                    tx,
                    session,
                    agent,
                    &time::to_text(since.looked_at_ms),
                    &now_text,
                )?,
                lost: lost(tx, session, agent, since.last_event_id)?,
                own_live: own_live(tx, session, agent, &now_text)?,
                wanted_uncommitted: wanted_uncommitted(
                    tx,
                    session,
                    agent,
                    &time::to_text(since.looked_at_ms),
                    &now_text,
                )?,
            };
            let last_event_id: i64 = tx
                .prepare_cached("SELECT COALESCE(MAX(id), 0) FROM coordination_events")?
                .query_row([], |r| r.get(0))?;
            tx.prepare_cached(
                "INSERT INTO agent_news_cursors (session_id, agent_id, last_event_id, looked_at)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (session_id, agent_id) DO UPDATE
                   SET last_event_id = excluded.last_event_id, looked_at = excluded.looked_at",
            )?
            .execute(params![session, agent, last_event_id, now_text])?;
            Ok(news::compose(now, since, agent, facts))
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use crate::store::sqlite::test_support::open_temp;
    use crate::store::{ClaimOutcome, ForceSelector, ProgressUpdate};
    use ccmulti_model::Operation;
    use ccmulti_model::TaskStatus;
    use ccmulti_model::VirtualUser;
    use std::str::FromStr;

    fn paths(p: &[&str]) -> BTreeSet<String> {
        p.iter().map(|s| s.to_string()).collect()
    }

    fn kinds(news: &[crate::rules::news::News]) -> Vec<&'static str> {
        news.iter().map(|n| n.kind()).collect()
    }

    #[test]
    fn news_is_told_once_and_survives_a_reopen() {
        let (dir, store, clock) = open_temp();
        for who in ["u__session__s__a", "u__session__s__b"] {
            store
                .touch_agent(&VirtualUser::from_str(who).unwrap(), "u")
                .unwrap();
        }
        assert!(store.take_news("s", "a").unwrap().is_empty());

        // b holds x.rs; a's claim conflicts; b releases it.
        let x = paths(&["x.rs"]);
        store.claim("s", "b", Operation::Write, &x, 15).unwrap();
        let outcome = store.claim("s", "a", Operation::Write, &x, 15).unwrap();
        assert!(matches!(outcome, ClaimOutcome::Conflicted(_)));
        clock.advance_ms(1000);
        store
            .release("s", "b", &crate::rules::locks::ReleaseScope::All)
            .unwrap();
        // b completes a task; a's own lock on y.rs is force-released; z.rs is short.
        store
            .sync_progress(
                "s",
                "b",
                &ProgressUpdate {
                    task_id: "api".into(),
                    status: TaskStatus::Completed,
                    progress_percentage: None,
                    message: Some("done".into()),
                    affected_files: None,
                },
            )
            .unwrap();
        store
            .claim("s", "a", Operation::Write, &paths(&["y.rs"]), 15)
            .unwrap();
        store
            .force_release(
                &ForceSelector::Path {
                    session_id: Some("s".into()),
                    path: "y.rs".into(),
                },
                "cli",
            )
            .unwrap();
        store
            .claim("s", "a", Operation::Write, &paths(&["z.rs"]), 1)
            .unwrap();
        clock.advance_ms(1);

        let news = store.take_news("s", "a").unwrap();
        assert_eq!(
            kinds(&news),
            [
                "own_lock_force_released",
                "own_lock_expiring",
                "wanted_lock_freed",
                "task_completed"
            ],
            "{news:?}"
        );
        assert!(store.take_news("s", "a").unwrap().is_empty());
        // The cursor is in the database: a new process does not repeat the news.
        drop(store);
        let reopened = crate::store::SqliteStore::open(
            &dir.path().join("c.db"),
            clock.clone(),
            crate::store::Durability::Normal,
        )
        .unwrap();
        assert!(reopened.take_news("s", "a").unwrap().is_empty());
        // b sees a's... nothing: a completed nothing, and b wanted nothing.
        assert!(reopened.take_news("s", "b").unwrap().is_empty());
    }
}
