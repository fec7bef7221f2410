//! An agent's news and its cursor, as SQLite's (`rules::news` composes it):
//! reading the facts and moving the cursor are one transaction under the
//! session's advisory lock, so two coordinators asking for one agent's news
//! at once tell it once, and no event of the session can commit between what
//! was told and where the next look starts (see `mod.rs`).

use deadpool_postgres::Transaction;

use super::{PostgresStore, Result, lock_sessions, ms, ts};
use crate::clock::Millis;
use crate::rules::news::{
    self, CompletedTask, Cursor, Facts, Freed, FreedEvent, News, OtherLock, OwnLock,
};

/// Bounds each query; the rules tell at most a handful of lines anyway.
const FACT_LIMIT: i64 = 200;

async fn cursor(tx: &Transaction<'_>, session: &str, agent: &str, now: Millis) -> Result<Cursor> {
    let stored = tx
        .prepare_cached(
            "SELECT last_event_id, looked_at FROM agent_news_cursors WHERE session_id = $1 AND agent_id = $2",
        )
        .await?;
    if let Some(row) = tx.query_opt(&stored, &[&session, &agent]).await? {
        return Ok(Cursor {
            last_event_id: row.try_get(0)?,
            looked_at_ms: ms(row.try_get(1)?),
        });
    }
    // Never looked: what [`Cursor::first_look`] starts from, in one statement.
    let start = tx
        .prepare_cached(
            "SELECT (SELECT MIN(id) FROM coordination_events WHERE session_id = $1 AND agent_id = $2),
                    (SELECT COALESCE(MAX(id), 0) FROM coordination_events),
                    (SELECT created_at FROM claude_code_agents WHERE session_id = $1 AND id = $2)",
        )
        .await?;
    let row = tx.query_one(&start, &[&session, &agent]).await?;
    let joined: Option<chrono::DateTime<chrono::Utc>> = row.try_get(2)?;
    Ok(Cursor::first_look(
        row.try_get(0)?,
        row.try_get(1)?,
        joined.map(ms),
        now,
    ))
}

/// Releases, expiries and forced releases of others' locks on paths this
/// agent had a conflict on and was not granted since (the SQL is SQLite's).
async fn freed(
    tx: &Transaction<'_>,
    session: &str,
    agent: &str,
    after: i64,
) -> Result<Vec<FreedEvent>> {
    let stmt = tx
        .prepare_cached(
            "SELECT e.kind, e.agent_id, e.file_path FROM coordination_events e
              WHERE e.session_id = $1 AND e.id > $3 AND e.agent_id <> $2
                AND e.kind IN ('released', 'expired', 'forced_release')
                AND (SELECT MAX(c.id) FROM coordination_events c
                      WHERE c.session_id = $1 AND c.file_path = e.file_path
                        AND c.agent_id = $2 AND c.kind = 'conflict' AND c.id < e.id)
                    > COALESCE((SELECT MAX(g.id) FROM coordination_events g
                      WHERE g.session_id = $1 AND g.file_path = e.file_path
                        AND g.agent_id = $2 AND g.kind = 'granted' AND g.id < e.id), 0)
              ORDER BY e.id LIMIT $4",
        )
        .await?;
    let mut out = Vec::new();
    for row in tx
        .query(&stmt, &[&session, &agent, &after, &FACT_LIMIT])
        .await?
    {
        let kind: String = row.try_get(0)?;
        if let Some(how) = Freed::from_kind(&kind) {
            out.push(FreedEvent {
                holder: row.try_get(1)?,
                path: row.try_get(2)?,
                how,
            });
        }
    }
    Ok(out)
}

async fn others_live(
    tx: &Transaction<'_>,
    session: &str,
    agent: &str,
    now: Millis,
) -> Result<Vec<OtherLock>> {
    let stmt = tx
        .prepare_cached(
            "SELECT file_path, agent_id, operation FROM file_locks
              WHERE session_id = $1 AND agent_id <> $2 AND expires_at > $3",
        )
        .await?;
    tx.query(&stmt, &[&session, &agent, &ts(now)])
        .await?
        .iter()
        .map(|r| {
            Ok(OtherLock {
                path: r.try_get(0)?,
                agent_id: r.try_get(1)?,
                operation: r.try_get(2)?,
            })
        })
        .collect()
}

/// Tasks completed by others in [looked_at, now): the next look starts at now.
async fn completed(
    tx: &Transaction<'_>,
    session: &str,
    agent: &str,
    since: Millis,
    now: Millis,
) -> Result<Vec<CompletedTask>> {
    let stmt = tx
        .prepare_cached(
            "SELECT agent_id, task_id, message FROM task_progress
              WHERE session_id = $1 AND agent_id <> $2 AND status = 'completed'
                AND updated_at >= $3 AND updated_at < $4
              ORDER BY updated_at LIMIT $5",
        )
        .await?;
    tx.query(
        &stmt,
        &[&session, &agent, &ts(since), &ts(now), &FACT_LIMIT],
    )
    .await?
    .iter()
    .map(|r| {
        Ok(CompletedTask {
            agent_id: r.try_get(0)?,
            task_id: r.try_get(1)?,
            message: r.try_get(2)?,
        })
    })
    .collect()
}

/// This agent's locks that were force-released or expired after the cursor.
async fn lost(
    tx: &Transaction<'_>,
    session: &str,
    agent: &str,
    after: i64,
) -> Result<Vec<(String, Freed, Option<String>)>> {
    let stmt = tx
        .prepare_cached(
            "SELECT kind, file_path, detail FROM coordination_events
              WHERE session_id = $1 AND agent_id = $2 AND id > $3
                AND kind IN ('forced_release', 'expired')
              ORDER BY id LIMIT $4",
        )
        .await?;
    let mut out = Vec::new();
    for row in tx
        .query(&stmt, &[&session, &agent, &after, &FACT_LIMIT])
        .await?
    {
        let kind: String = row.try_get(0)?;
        if let Some(how) = Freed::from_kind(&kind) {
            out.push((row.try_get(1)?, how, row.try_get(2)?));
        }
    }
    Ok(out)
}

/// This agent's files whose changes another agent was found to need while
/// they were in no commit, recorded in [since, now).
async fn wanted_uncommitted(
    tx: &Transaction<'_>,
    session: &str,
    agent: &str,
    since: Millis,
    now: Millis,
) -> Result<Vec<String>> {
    let stmt = tx
        .prepare_cached(
            "SELECT file_path FROM path_versions
              WHERE session_id = $1 AND agent_id = $2 AND left_uncommitted
                AND recorded_at >= $3 AND recorded_at < $4
              ORDER BY id LIMIT $5",
        )
        .await?;
    tx.query(
        &stmt,
        &[&session, &agent, &ts(since), &ts(now), &FACT_LIMIT],
    )
    .await?
    .iter()
    .map(|r| Ok(r.try_get(0)?))
    .collect()
}

async fn own_live(
    tx: &Transaction<'_>,
    session: &str,
    agent: &str,
    now: Millis,
) -> Result<Vec<OwnLock>> {
    let stmt = tx
        .prepare_cached(
            "SELECT file_path, created_at, expires_at FROM file_locks
              WHERE session_id = $1 AND agent_id = $2 AND expires_at > $3 ORDER BY expires_at",
        )
        .await?;
    tx.query(&stmt, &[&session, &agent, &ts(now)])
        .await?
        .iter()
        .map(|r| {
            Ok(OwnLock {
                path: r.try_get(0)?,
                granted_at_ms: ms(r.try_get(1)?),
                expires_at_ms: ms(r.try_get(2)?),
            })
        })
        .collect()
}

impl PostgresStore {
    /// What changed for this agent since it last looked, and moves its cursor to now.
    pub(super) async fn take_news(&self, session: &str, agent: &str) -> Result<Vec<News>> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        lock_sessions(&tx, &[session]).await?;
        // Taken under the lock: every commit in the session before it is
        // visible, and any later progress is stamped no earlier than it.
        let now = self.now_ms();
        let since = cursor(&tx, session, agent, now).await?;
        let facts = Facts {
            freed: freed(&tx, session, agent, since.last_event_id).await?,
            others_live: others_live(&tx, session, agent, now).await?,
            completed: completed(&tx, session, agent, since.looked_at_ms, now).await?,
            lost: lost(&tx, session, agent, since.last_event_id).await?,
            own_live: own_live(&tx, session, agent, now).await?,
            wanted_uncommitted: wanted_uncommitted(&tx, session, agent, since.looked_at_ms, now)
                .await?,
        };
        let save = tx
            .prepare_cached(
                "INSERT INTO agent_news_cursors (session_id, agent_id, last_event_id, looked_at)
                 VALUES ($1, $2, (SELECT COALESCE(MAX(id), 0) FROM coordination_events), $3)
                 ON CONFLICT (session_id, agent_id) DO UPDATE
                   SET last_event_id = excluded.last_event_id, looked_at = excluded.looked_at",
            )
            .await?;
        tx.execute(&save, &[&session, &agent, &ts(now)]).await?;
        tx.commit().await?;
        Ok(news::compose(now, since, agent, facts))
    }
}
