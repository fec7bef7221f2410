//! Claims that wait for their paths, in arrival order, each with its own
//! `Notify`. The store wakes them when it frees paths (release, expiry, forced
//! release, a lease turned shared); the order they may try in is
//! [`crate::rules::waiting`]'s. A waiter is only ever woken, never handed
//! locks: it takes them itself in an ordinary claim transaction, so a woken
//! waiter whose client has gone takes nothing.
//!
//! Waking uses `Notify::notify_one`, which keeps a permit for a waiter that is
//! not parked yet (busy with a claim attempt), so no wake-up is lost between
//! an attempt that conflicted and the wait that follows it.

use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

use crate::rules::limits::{Limit, LimitReached, Limits, admit_one_more};
use crate::rules::targets::LockTarget;
use crate::rules::waiting::{Waiter, may_try, released_by, to_wake};

#[derive(Debug, Default)]
pub(crate) struct WaitQueue {
    state: Mutex<Queue>,
}

#[derive(Debug, Default)]
struct Queue {
    next_ticket: u64,
    /// In arrival order.
    entries: Vec<Entry>,
}

#[derive(Debug)]
struct Entry {
    ticket: u64,
    waiter: Waiter,
    notify: Arc<Notify>,
    /// Files whose changes another agent needs from this waiter, which
    /// are in no commit: it is called away from its wait to commit them.
    wanted: Arc<Mutex<Vec<String>>>,
}

impl Queue {
    fn waiters(&self) -> Vec<&Waiter> {
        self.entries.iter().map(|e| &e.waiter).collect()
    }

    fn wake(&self, indexes: impl IntoIterator<Item = usize>) {
        for i in indexes {
            self.entries[i].notify.notify_one();
        }
    }
}

impl WaitQueue {
    /// The queue only holds plain data and `Notify`s; a panic elsewhere while
    /// it was locked leaves nothing half-done, so a poisoned lock is taken as is.
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Joins at the back of the queue, unless it already holds as many
    /// waiters as `limits` allow (checked under the queue's lock, so racing
    /// joins cannot pass the limit together).
    pub fn join(
        self: &Arc<Self>,
        waiter: Waiter,
        limits: &Limits,
    ) -> Result<WaitTicket, LimitReached> {
        let mut queue = self.lock();
        admit_one_more(Limit::WaitingClaims, limits, queue.entries.len() as u64)?;
        queue.next_ticket += 1;
        let ticket = queue.next_ticket;
        let notify = Arc::new(Notify::new());
        let wanted = Arc::new(Mutex::new(Vec::new()));
        queue.entries.push(Entry {
            ticket,
            waiter,
            notify: notify.clone(),
            wanted: wanted.clone(),
        });
        Ok(WaitTicket {
            queue: self.clone(),
            ticket,
            notify,
            wanted,
        })
    }

    fn may_try(&self, ticket: u64) -> bool {
        let queue = self.lock();
        let waiters = queue.waiters();
        let allowed = may_try(&waiters);
        queue
            .entries
            .iter()
            .position(|e| e.ticket == ticket)
            .is_some_and(|i| allowed[i])
    }

    fn leave(&self, ticket: u64) {
        let mut queue = self.lock();
        let Some(i) = queue.entries.iter().position(|e| e.ticket == ticket) else {
            return;
        };
        let left = queue.entries.remove(i);
        let unblocked = released_by(&queue.waiters(), &left.waiter);
        queue.wake(unblocked);
    }

    /// Wakes the waiters first in line for any of `freed` (normalised lock paths) in `session`.
    pub fn wake_freed<'a>(&self, session: &str, freed: impl IntoIterator<Item = &'a str>) {
        let queue = self.lock();
        if queue.entries.is_empty() {
            return;
        }
        let freed: Vec<LockTarget> = freed.into_iter().map(LockTarget::parse).collect();
        if freed.is_empty() {
            return;
        }
        queue.wake(to_wake(&queue.waiters(), session, &freed));
    }

    /// Wakes every waiter that may try: for changes this process did not see,
    /// made by another process writing the same database.
    pub fn wake_all(&self) {
        let queue = self.lock();
        let allowed = may_try(&queue.waiters());
        queue.wake(
            allowed
                .into_iter()
                .enumerate()
                .filter_map(|(i, may)| may.then_some(i)),
        );
    }

    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Calls `agent`'s waiting claims away from their wait: another agent
    /// needs its changes to `paths`, which it cannot commit while it waits.
    pub fn call_away(&self, session: &str, agent: &str, paths: &[String]) {
        let queue = self.lock();
        for entry in &queue.entries {
            if entry.waiter.session == session && entry.waiter.agent == agent {
                let mut wanted = entry
                    .wanted
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                for path in paths {
                    if !wanted.contains(path) {
                        wanted.push(path.clone());
                    }
                }
                entry.notify.notify_one();
            }
        }
    }
}

/// A place in the queue. Dropping it leaves the queue and wakes whoever it
/// held back, so a claim whose client disconnects (its future dropped) leaves
/// no phantom waiter behind.
#[derive(Debug)]
pub(crate) struct WaitTicket {
    queue: Arc<WaitQueue>,
    ticket: u64,
    notify: Arc<Notify>,
    wanted: Arc<Mutex<Vec<String>>>,
}

impl WaitTicket {
    /// Whether no earlier waiter this one must follow is still waiting.
    pub fn may_try(&self) -> bool {
        self.queue.may_try(self.ticket)
    }

    /// Resolves when this waiter is woken (at once if it was woken meanwhile).
    pub async fn woken(&self) {
        self.notify.notified().await;
    }

    /// The files it was called away for ([`WaitQueue::call_away`]), if any.
    pub fn called_away(&self) -> Vec<String> {
        self.wanted
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

impl Drop for WaitTicket {
    fn drop(&mut self) {
        self.queue.leave(self.ticket);
    }
}
