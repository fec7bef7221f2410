//! What the audit trail says: the event a lock step records for a lock it
//! grants, renews, releases, expires or refuses, and for a refused client.
//! Every backend writes these rows as they are, in its own SQL.

use ccmulti_model::EventKind;
use ccmulti_model::snapshot::LockRow;
use chrono::{DateTime, SecondsFormat};

use super::locks::Blocker;
use crate::clock::Millis;
use ccmulti_model::Operation;

/// One row of `coordination_events`, before the store stamps it with its
/// id and time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent<'a> {
    pub kind: EventKind,
    pub session_id: Option<&'a str>,
    pub agent_id: Option<&'a str>,
    pub file_path: Option<&'a str>,
    pub operation: Option<Operation>,
    pub fencing_token: Option<i64>,
    pub detail: Option<String>,
}

impl<'a> NewEvent<'a> {
    /// Something that happened to a held lock (released, expired, forced).
    pub fn of_lock(kind: EventKind, lock: &'a LockRow, detail: Option<String>) -> Self {
        Self {
            kind,
            session_id: Some(&lock.session_id),
            agent_id: Some(&lock.agent_id),
            file_path: Some(&lock.path),
            operation: Some(lock.operation),
            fencing_token: Some(lock.fencing_token),
            detail,
        }
    }

    /// A grant or renewal of `path`, with its token and deadline.
    pub fn of_grant(
        kind: EventKind,
        session: &'a str,
        agent: &'a str,
        path: &'a str,
        operation: Operation,
        fencing_token: i64,
        expires_at_ms: Millis,
    ) -> Self {
        Self {
            kind,
            session_id: Some(session),
            agent_id: Some(agent),
            file_path: Some(path),
            operation: Some(operation),
            fencing_token: Some(fencing_token),
            detail: Some(format!("until {}", stamp(expires_at_ms))),
        }
    }

    /// A claim of `path` refused by `blocker`.
    pub fn of_conflict(
        session: &'a str,
        agent: &'a str,
        operation: Operation,
        path: &'a str,
        blocker: &Blocker,
    ) -> Self {
        Self {
            kind: EventKind::Conflict,
            session_id: Some(session),
            agent_id: Some(agent),
            file_path: Some(path),
            operation: Some(operation),
            fencing_token: None,
            detail: Some(format!(
                "{} held by {} for {} ({}s left)",
                blocker.held_path,
                blocker.holder,
                blocker.operation.as_str(),
                blocker.seconds_left
            )),
        }
    }

    /// The operation as the column stores it.
    pub fn operation_text(&self) -> Option<&'static str> {
        self.operation.map(Operation::as_str)
    }
}

/// UTC, ISO-8601 with milliseconds, as SQLite stores its timestamps.
fn stamp(ms: Millis) -> String {
    DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}
