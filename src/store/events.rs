//! The audit trail: every grant, renewal, release, expiry, conflict, forced
//! release and blocked client, written in the same transaction as its cause.

use rusqlite::{Connection, params};

use super::{Result, time};
use crate::clock::Millis;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Granted,
    Renewed,
    Released,
    Expired,
    Conflict,
    ForcedRelease,
    BlockedClient,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Granted => "granted",
            Self::Renewed => "renewed",
            Self::Released => "released",
            Self::Expired => "expired",
            Self::Conflict => "conflict",
            Self::ForcedRelease => "forced_release",
            Self::BlockedClient => "blocked_client",
        }
    }
}

#[derive(Debug, Default)]
pub struct NewEvent<'a> {
    pub session_id: Option<&'a str>,
    pub agent_id: Option<&'a str>,
    pub file_path: Option<&'a str>,
    pub operation: Option<&'a str>,
    pub fencing_token: Option<i64>,
    pub detail: Option<String>,
}

pub fn record(conn: &Connection, now: Millis, kind: EventKind, e: NewEvent<'_>) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO coordination_events
           (session_id, at, kind, agent_id, file_path, operation, fencing_token, detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        e.session_id,
        time::to_text(now),
        kind.as_str(),
        e.agent_id,
        e.file_path,
        e.operation,
        e.fencing_token,
        e.detail,
    ])?;
    Ok(())
}

impl super::Store {
    /// A coordination tool was asked for by a client that may not have it.
    pub fn record_blocked_client(
        &self,
        session_id: Option<&str>,
        agent_id: Option<&str>,
        detail: String,
    ) -> Result<()> {
        let now = self.now_ms();
        self.write(|tx| {
            record(
                tx,
                now,
                EventKind::BlockedClient,
                NewEvent {
                    session_id,
                    agent_id,
                    detail: Some(detail),
                    ..NewEvent::default()
                },
            )
        })
    }
}
