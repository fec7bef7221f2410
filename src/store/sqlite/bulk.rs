//! For benchmarks only: fills a database fast with many sessions, agents,
//! locks and events, in one transaction of plain inserts, instead of a
//! hundred thousand tool calls. Nothing in the coordinator calls it.

use rusqlite::params;

use super::{Result, SqliteStore, time};

/// What [`SqliteStore::seed_bulk_for_bench`] writes. Sessions are named
/// `{session_prefix}{n}` and owned by user `bulk`; their agents `agent{n}`
/// last called an hour ago (inactive). Lock `n` of a session is a write lock
/// on `src/m{n % 50}/f{n}.rs` held by agent `n % agents_per_session`, with a
/// `granted` event; it is live for two more hours when `n % 100 <
/// live_percent`, and expired an hour ago otherwise (as if the coordinator had
/// been down). `history_per_session` earlier grant/release pairs on
/// `shared/hot.rs`, by the session's agents in turn, give the session an
/// audit trail on one busy path.
#[doc(hidden)]
#[derive(Debug, Clone)]
pub struct BulkSeed<'a> {
    pub session_prefix: &'a str,
    pub sessions: usize,
    pub agents_per_session: usize,
    pub locks_per_session: usize,
    pub live_percent: usize,
    pub history_per_session: usize,
}

impl SqliteStore {
    /// Writes `seed` (see [`BulkSeed`]); benchmarks only. Fencing tokens
    /// come from the same counter as real grants, so they stay unique.
    #[doc(hidden)]
    pub fn seed_bulk_for_bench(&self, seed: &BulkSeed<'_>) -> Result<()> {
        let now = self.now_ms();
        let hour = 3_600_000;
        let (past, live_until, expired_at) = (
            time::to_text(now - hour),
            time::to_text(now + 2 * hour),
            time::to_text(now - hour),
        );
        let agents = seed.agents_per_session.max(1);
        self.write(|tx| {
            let mut token: i64 = tx.query_row(
                "SELECT last_token FROM fencing_counter WHERE id = 1",
                [],
                |r| r.get(0),
            )?;
            let mut session_insert = tx.prepare(
                "INSERT INTO claude_code_sessions (id, name, user_id, created_at)
                 VALUES (?1, ?1, 'bulk', ?2)",
            )?;
            let mut agent_insert = tx.prepare(
                "INSERT INTO claude_code_agents
                   (id, session_id, name, connection_url, status, last_activity, created_at)
                 VALUES (?1, ?2, ?1, 'bulk', 'connected', ?3, ?3)",
            )?;
            let mut lock_insert = tx.prepare(
                "INSERT INTO file_locks
                   (id, session_id, agent_id, file_path, operation, expires_at, created_at, fencing_token)
                 VALUES (?1, ?2, ?3, ?4, 'write', ?5, ?6, ?7)",
            )?;
            let mut event_insert = tx.prepare(
                "INSERT INTO coordination_events
                   (session_id, at, kind, agent_id, file_path, operation, fencing_token)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'write', ?6)",
            )?;
            for s in 0..seed.sessions {
                let session = format!("{}{s}", seed.session_prefix);
                session_insert.execute(params![session, past])?;
                for a in 0..agents {
                    agent_insert.execute(params![format!("agent{a}"), session, past])?;
                }
                for h in 0..seed.history_per_session {
                    let agent = format!("agent{}", h % agents);
                    token += 1;
                    for kind in ["granted", "released"] {
                        event_insert.execute(params![
                            session,
                            past,
                            kind,
                            agent,
                            "shared/hot.rs",
                            token
                        ])?;
                    }
                }
                for n in 0..seed.locks_per_session {
                    let agent = format!("agent{}", n % agents);
                    let path = format!("src/m{}/f{n}.rs", n % 50);
                    let expires = if n % 100 < seed.live_percent {
                        &live_until
                    } else {
                        &expired_at
                    };
                    token += 1;
                    lock_insert.execute(params![
                        uuid::Uuid::new_v4().to_string(),
                        session,
                        agent,
                        path,
                        expires,
                        past,
                        token
                    ])?;
                    event_insert.execute(params![session, past, "granted", agent, path, token])?;
                }
            }
            tx.execute(
                "UPDATE fencing_counter SET last_token = ?1 WHERE id = 1",
                [token],
            )?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::BulkSeed;
    use crate::store::sqlite::test_support::open_temp;

    #[test]
    fn bulk_seed_writes_what_it_says_keeps_tokens_unique_and_sweeps_in_batches() {
        let (_dir, store, _clock) = open_temp();
        store
            .seed_bulk_for_bench(&BulkSeed {
                session_prefix: "b",
                sessions: 3,
                agents_per_session: 4,
                locks_per_session: 400,
                live_percent: 25,
                history_per_session: 5,
            })
            .unwrap();
        let counts = store.counts().unwrap();
        assert_eq!(
            (counts.sessions, counts.agents, counts.active_locks),
            (3, 12, 3 * 100)
        );
        assert_eq!(counts.events, 3 * (400 + 2 * 5));
        let view = store.session_view("b1").unwrap();
        assert_eq!(view.locks.len(), 100);
        // The next real grant gets a token above every seeded one.
        let granted = store
            .claim(
                "b1",
                "agent0",
                ccmulti_model::Operation::Write,
                &["new.rs".to_string()].into(),
                5,
            )
            .unwrap();
        let crate::store::ClaimOutcome::Granted(g) = granted else {
            panic!("{granted:?}")
        };
        assert_eq!(g[0].fencing_token, 3 * (400 + 5) + 1);
        // More than one sweep batch, all swept, each with its event.
        assert_eq!(store.sweep_expired().unwrap(), 3 * 300);
        assert_eq!(store.sweep_expired().unwrap(), 0);
        let counts = store.counts().unwrap();
        assert_eq!(counts.events, 3 * (400 + 2 * 5) + 1 + 3 * 300);
    }
}
