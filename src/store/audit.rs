//! What the audit trail records, the same for every backend: the event a
//! store writes for a lock it grants, renews, releases, expires or refuses,
//! and which live locks hold a waiting claim back. Each backend only writes
//! these rows in its own SQL.

use ccmulti_model::snapshot::LockRow;
use chrono::{DateTime, SecondsFormat};

use super::GrantedLock;
use crate::clock::Millis;
use crate::rules::locks::{Conflict, HeldLock, Operation};
use crate::rules::waiting::{HeldBy, Waiter, blocked_by};

/// One row of `coordination_events`, before the store stamps it.
#[derive(Debug, Default)]
pub(crate) struct NewEvent<'a> {
    pub session_id: Option<&'a str>,
    pub agent_id: Option<&'a str>,
    pub file_path: Option<&'a str>,
    pub operation: Option<&'a str>,
    pub fencing_token: Option<i64>,
    pub detail: Option<String>,
}

impl<'a> NewEvent<'a> {
    /// Something that happened to a held lock (released, expired, forced).
    pub fn of_lock(session: &'a str, lock: &'a HeldLock, detail: Option<String>) -> Self {
        Self {
            session_id: Some(session),
            agent_id: Some(&lock.agent_id),
            file_path: Some(&lock.path),
            operation: Some(lock.operation.as_str()),
            fencing_token: Some(lock.fencing_token),
            detail,
        }
    }

    /// A grant or renewal, with its deadline.
    pub fn of_grant(session: &'a str, agent: &'a str, lock: &'a GrantedLock) -> Self {
        Self {
            session_id: Some(session),
            agent_id: Some(agent),
            file_path: Some(&lock.path),
            operation: Some(lock.operation.as_str()),
            fencing_token: Some(lock.fencing_token),
            detail: Some(format!("until {}", stamp(lock.expires_at_ms))),
        }
    }

    /// A claim refused by `c`.
    pub fn of_conflict(
        session: &'a str,
        agent: &'a str,
        operation: Operation,
        c: &'a Conflict,
    ) -> Self {
        Self {
            session_id: Some(session),
            agent_id: Some(agent),
            file_path: Some(&c.path),
            operation: Some(operation.as_str()),
            fencing_token: None,
            detail: Some(format!(
                "{} held by {} for {} ({}s left)",
                c.held_path,
                c.holder,
                c.operation.as_str(),
                c.seconds_left
            )),
        }
    }
}

/// UTC, ISO-8601 with milliseconds, as SQLite stores its timestamps.
fn stamp(ms: Millis) -> String {
    DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The ids of the live `locks` that hold `waiter` back.
pub(crate) fn blocking_locks(waiter: &Waiter, locks: &[LockRow]) -> Vec<String> {
    let held: Vec<HeldBy<'_>> = locks
        .iter()
        .map(|l| HeldBy {
            session: &l.session_id,
            agent: &l.agent_id,
            operation: l.operation,
            path: &l.path,
        })
        .collect();
    blocked_by(waiter, &held)
        .into_iter()
        .map(|i| locks[i].lock_id.clone())
        .collect()
}
