//! Each lock step (a claim, a release, a forced release, an expiry sweep) as
//! its whole effects, decided here once for every backend. A step names the
//! rows it decides on ([`LockStep::rows`]); given them, as the backend read
//! them inside its transaction, it lists its writes in order
//! ([`LockStep::effects`]): locks to delete (expired, released, forced),
//! locks to insert, leases to renew, and events that stand alone. The backend
//! makes each write in its own SQL and reports what it did ([`Applied`]: a
//! delete that removed its row or found it gone, the id and fencing token a
//! grant was given); each write's event follows from that
//! ([`LockWrite::event`]), and so do the step's outcome and the paths it
//! freed ([`LockStep::settle`]). `store::lock_steps` runs this sequence for
//! both backends.

use std::collections::{BTreeMap, BTreeSet};

use ccmulti_model::snapshot::LockRow;
use ccmulti_model::{EventKind, Operation};

use super::{Blocker, ClaimStep, ReleaseScope, is_live, plan_claim, plan_release};
use crate::clock::Millis;
use crate::rules::audit::NewEvent;
use crate::rules::clock_step::{may_change_after, pulled_back};
use crate::rules::handover::{NewVersion, covers};
use crate::rules::targets::{GLOB_META, is_pattern};

/// Paths a step freed, by session: the waiters for them may try again once
/// the step's transaction has committed.
pub type Freed = BTreeMap<String, Vec<String>>;

/// A claim, as the coordination service makes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimRequest {
    pub session: String,
    pub agent: String,
    pub operation: Operation,
    /// Normalised and deduplicated.
    pub paths: BTreeSet<String>,
    /// How long the lease runs from the claim (a renewal never shortens one).
    pub lease_ms: Millis,
    /// After how long without another claim by its holder what it grants
    /// gives way to other agents' claims ([`super::gives_way`]); `None`: it
    /// holds for the whole lease.
    pub idle_yield_ms: Option<Millis>,
}

/// A claim's answer: every path granted (or renewed), or none and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimOutcome {
    Granted(Vec<Grant>),
    Conflicted(Vec<Blocker>),
}

/// A lock a claim took or renewed. The claim tool reports it as the
/// model's `GrantedLock`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub lock_id: String,
    pub path: String,
    pub operation: Operation,
    pub expires_at_ms: Millis,
    pub fencing_token: i64,
    pub renewed: bool,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReleaseOutcome {
    pub released: Vec<LockRow>,
    pub not_held: Vec<String>,
}

/// Which locks a person releases by hand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForceSelector {
    LockId(String),
    Path {
        session_id: Option<String>,
        path: String,
    },
    Agent {
        session_id: Option<String>,
        agent_id: String,
    },
}

/// What one expiry sweep did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    /// Locks this sweep removed, each with its `expired` event.
    pub expired: usize,
    /// Expired locks it read (another sweeper may have removed some first).
    pub read: usize,
}

/// The rows a step decides on. Expired rows are included: the step expires
/// them. Each backend reads them in its own SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockRows<'a> {
    /// A claim's: the session's locks that may overlap `paths`: rows on the
    /// same paths, every directory and glob row, and for each directory or
    /// glob asked for, every row starting with its [`overlap_prefix`].
    Overlapping {
        session: &'a str,
        paths: &'a BTreeSet<String>,
    },
    /// A release of named paths: the session's locks on exactly these
    /// strings (a directory or glob is released by the string it was claimed with).
    OnPaths {
        session: &'a str,
        paths: &'a BTreeSet<String>,
    },
    /// A release of everything: the agent's locks in the session.
    OfAgent { session: &'a str, agent: &'a str },
    /// Every lock of the session, expired ones included: what forgetting
    /// it decides on ([`crate::rules::lifetimes::forget`]).
    OfSession { session: &'a str },
    /// What a person picked, in any session, ordered by path.
    Picked(&'a ForceSelector),
    /// Locks expired by `by` (`expires_at <= by`), in any session, the
    /// longest expired first, at most `limit`.
    Expired { by: Millis, limit: usize },
    /// Locks that end after `after` (`expires_at > after`), in any session.
    EndingAfter { after: Millis },
}

impl LockRows<'_> {
    /// The one session the rows belong to, when it is known before they are
    /// read; rows across sessions learn theirs from the rows.
    pub fn session(&self) -> Option<&str> {
        match self {
            Self::Overlapping { session, .. }
            | Self::OnPaths { session, .. }
            | Self::OfAgent { session, .. }
            | Self::OfSession { session } => Some(session),
            Self::Picked(_) | Self::Expired { .. } | Self::EndingAfter { .. } => None,
        }
    }
}

/// For a directory or glob asked for, the literal start of every lock path
/// that may overlap it besides other directories and globs; `None` for a file.
/// A directory's own name as a file overlaps it too, so it comes without its `/`.
pub fn overlap_prefix(path: &str) -> Option<&str> {
    if !is_pattern(path) {
        return None;
    }
    Some(match path.find(GLOB_META) {
        Some(i) => &path[..i],
        None => path.trim_end_matches('/'),
    })
}

/// One write of a step, borrowing the rows read and the request.
#[derive(Debug, Clone, PartialEq)]
pub enum LockWrite<'s> {
    /// Delete the lock if it is still expired as stored (`expires_at <= now`:
    /// a lease renewed since it was read stays). If this delete removed it:
    /// an `expired` event, and its path freed.
    Expire(&'s LockRow),
    /// Delete the lock. If this delete removed it: a `kind` event with
    /// `detail`, and its path freed.
    Remove {
        lock: &'s LockRow,
        kind: EventKind,
        detail: Option<String>,
    },
    /// Insert a new lock; its id and fencing token come from the store.
    /// A `granted` event.
    Grant {
        session: &'s str,
        agent: &'s str,
        path: &'s str,
        operation: Operation,
        expires_at_ms: Millis,
        yields_at_ms: Option<Millis>,
    },
    /// Extend a held lock and set its operation. A `renewed` event; a lease
    /// renewed as a read may have been a write, so its path is freed for
    /// the readers waiting on it.
    Renew {
        lock: &'s LockRow,
        operation: Operation,
        expires_at_ms: Millis,
        yields_at_ms: Option<Millis>,
    },
    /// Set a lease's deadline back (after a step of the wall clock): no
    /// event, and nothing freed.
    Shorten {
        lock: &'s LockRow,
        expires_at_ms: Millis,
    },
    /// Only an event: a refused claim's conflict.
    Record(NewEvent<'s>),
    /// Record where the latest version of a path is, as the release of the
    /// lock that covered it found it (`rules::handover::on_release`). No event.
    Version {
        session: &'s str,
        version: &'s NewVersion,
    },
}

/// What the store did for one [`LockWrite`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// For [`LockWrite::Expire`] and [`LockWrite::Remove`]: whether this
    /// delete removed the row (another transaction may have first).
    Deleted(bool),
    /// For [`LockWrite::Grant`]: the new lock's id and fencing token.
    Inserted { lock_id: String, fencing_token: i64 },
    /// For [`LockWrite::Renew`] and [`LockWrite::Shorten`]: the lock's
    /// fencing token (a new deadline keeps it).
    Renewed { fencing_token: i64 },
    /// For [`LockWrite::Record`] and [`LockWrite::Version`].
    Recorded,
}

impl<'s> LockWrite<'s> {
    /// The event this write records, given what it did; none for a delete
    /// that found its row gone.
    pub fn event(&self, done: &Applied) -> Option<NewEvent<'s>> {
        match (self, done) {
            (Self::Expire(lock), Applied::Deleted(true)) => {
                Some(NewEvent::of_lock(EventKind::Expired, lock, None))
            }
            (Self::Remove { lock, kind, detail }, Applied::Deleted(true)) => {
                Some(NewEvent::of_lock(*kind, lock, detail.clone()))
            }
            (
                Self::Grant {
                    session,
                    agent,
                    path,
                    operation,
                    expires_at_ms,
                    ..
                },
                Applied::Inserted { fencing_token, .. },
            ) => Some(NewEvent::of_grant(
                EventKind::Granted,
                session,
                agent,
                path,
                *operation,
                *fencing_token,
                *expires_at_ms,
            )),
            (
                Self::Renew {
                    lock,
                    operation,
                    expires_at_ms,
                    ..
                },
                Applied::Renewed { fencing_token },
            ) => Some(NewEvent::of_grant(
                EventKind::Renewed,
                &lock.session_id,
                &lock.agent_id,
                &lock.path,
                *operation,
                *fencing_token,
                *expires_at_ms,
            )),
            (Self::Record(event), _) => Some(event.clone()),
            _ => None,
        }
    }

    /// The path this write freed, with its session.
    fn frees(&self, done: &Applied) -> Option<(&'s str, &'s str)> {
        match (self, done) {
            (Self::Expire(lock) | Self::Remove { lock, .. }, Applied::Deleted(true)) => {
                Some((&lock.session_id, &lock.path))
            }
            (
                Self::Renew {
                    lock, operation, ..
                },
                Applied::Renewed { .. },
            ) if operation.is_shared() => Some((&lock.session_id, &lock.path)),
            _ => None,
        }
    }
}

/// A step's writes, in the order they are made, and what it keeps for its outcome.
#[derive(Debug)]
pub struct LockEffects<'s, P> {
    pub writes: Vec<LockWrite<'s>>,
    pending: P,
}

/// A lock step: which rows it reads, what it writes, what it answers.
pub trait LockStep {
    type Outcome;
    /// What the step knows from its rows that its outcome needs besides the writes' results.
    type Pending;

    /// The rows it reads at `now`.
    fn rows(&self, now: Millis) -> LockRows<'_>;

    /// The writes, given the rows [`rows`](Self::rows) names as read in the
    /// step's transaction at `now`.
    fn effects<'s>(&'s self, now: Millis, held: &'s [LockRow]) -> LockEffects<'s, Self::Pending>;

    /// The answer, from the writes and what each did (`applied`, one per write).
    fn outcome(
        &self,
        pending: Self::Pending,
        writes: &[LockWrite<'_>],
        applied: Vec<Applied>,
    ) -> Self::Outcome;

    /// The outcome and the paths freed, once every write is made.
    fn settle(
        &self,
        effects: LockEffects<'_, Self::Pending>,
        applied: Vec<Applied>,
    ) -> (Self::Outcome, Freed) {
        let mut freed = Freed::new();
        for (write, done) in effects.writes.iter().zip(&applied) {
            if let Some((session, path)) = write.frees(done) {
                freed
                    .entry(session.to_owned())
                    .or_default()
                    .push(path.to_owned());
            }
        }
        let outcome = self.outcome(effects.pending, &effects.writes, applied);
        (outcome, freed)
    }
}

/// The expired rows among `held`, to delete first.
fn expiries(now: Millis, held: &[LockRow], capacity: usize) -> Vec<LockWrite<'_>> {
    let mut writes = Vec::with_capacity(capacity);
    writes.extend(
        held.iter()
            .filter(|l| !is_live(l, now))
            .map(LockWrite::Expire),
    );
    writes
}

/// A `Version` write for each of `versions` that one of the `ending` locks
/// covers (the agent's own write or delete lock), each once, after them.
fn version_writes<'s>(
    ending: &[LockWrite<'s>],
    versions: &'s [NewVersion],
) -> impl Iterator<Item = LockWrite<'s>> {
    let ending: Vec<&'s LockRow> = ending
        .iter()
        .filter_map(|w| match w {
            LockWrite::Remove { lock, .. } if !lock.operation.is_shared() => Some(*lock),
            _ => None,
        })
        .collect();
    versions.iter().filter_map(move |version| {
        let lock = ending
            .iter()
            .find(|l| l.agent_id == version.agent && covers(&l.path, &version.path))?;
        Some(LockWrite::Version {
            session: &lock.session_id,
            version,
        })
    })
}

/// The locks the `Remove` writes removed.
fn removed(writes: &[LockWrite<'_>], applied: &[Applied]) -> Vec<LockRow> {
    writes
        .iter()
        .zip(applied)
        .filter_map(|(write, done)| match (write, done) {
            (LockWrite::Remove { lock, .. }, Applied::Deleted(true)) => Some((*lock).clone()),
            _ => None,
        })
        .collect()
}

/// The `expired` event's detail of a lock that gave way to `claimer`.
fn gave_way(lock: &LockRow, claimer: &str) -> String {
    format!(
        "gave way to {claimer}'s claim: {} had left it idle",
        lock.agent_id
    )
}

/// Claims every path or none; records the conflicts as events only if
/// `record_conflicts` (a waiting claim's retries are not each a new conflict).
#[derive(Debug, Clone, Copy)]
pub struct Claim<'a> {
    pub request: &'a ClaimRequest,
    pub record_conflicts: bool,
}

impl LockStep for Claim<'_> {
    type Outcome = ClaimOutcome;
    /// The blockers of a refused claim.
    type Pending = Option<Vec<Blocker>>;

    fn rows(&self, _: Millis) -> LockRows<'_> {
        LockRows::Overlapping {
            session: &self.request.session,
            paths: &self.request.paths,
        }
    }

    fn effects<'s>(&'s self, now: Millis, held: &'s [LockRow]) -> LockEffects<'s, Self::Pending> {
        let r = self.request;
        let mut writes = expiries(now, held, held.len() + r.paths.len());
        let plan = plan_claim(
            now,
            &r.agent,
            r.operation,
            &r.paths,
            r.lease_ms,
            r.idle_yield_ms,
            held,
        );
        let pending = match plan {
            Ok(steps) => {
                writes.extend(steps.into_iter().map(|step| match step {
                    ClaimStep::TakeOver { lock } => LockWrite::Remove {
                        lock,
                        kind: EventKind::Expired,
                        detail: Some(gave_way(lock, &r.agent)),
                    },
                    ClaimStep::Grant {
                        path,
                        expires_at_ms,
                        yields_at_ms,
                    } => LockWrite::Grant {
                        session: &r.session,
                        agent: &r.agent,
                        path,
                        operation: r.operation,
                        expires_at_ms,
                        yields_at_ms,
                    },
                    ClaimStep::Renew {
                        lock,
                        expires_at_ms,
                        yields_at_ms,
                    } => LockWrite::Renew {
                        lock,
                        operation: r.operation,
                        expires_at_ms,
                        yields_at_ms,
                    },
                }));
                None
            }
            Err(blockers) => {
                if self.record_conflicts {
                    // Each blocker's path is one of the request's, borrowed from it.
                    writes.extend(blockers.iter().filter_map(|b| {
                        let path = r.paths.get(&b.path)?;
                        Some(LockWrite::Record(NewEvent::of_conflict(
                            &r.session,
                            &r.agent,
                            r.operation,
                            path,
                            b,
                        )))
                    }));
                }
                Some(blockers)
            }
        };
        LockEffects { writes, pending }
    }

    fn outcome(
        &self,
        blockers: Self::Pending,
        writes: &[LockWrite<'_>],
        applied: Vec<Applied>,
    ) -> ClaimOutcome {
        if let Some(blockers) = blockers {
            return ClaimOutcome::Conflicted(blockers);
        }
        let granted = writes.iter().zip(applied).filter_map(|(write, done)| {
            Some(match (write, done) {
                (
                    LockWrite::Grant {
                        path,
                        operation,
                        expires_at_ms,
                        ..
                    },
                    Applied::Inserted {
                        lock_id,
                        fencing_token,
                    },
                ) => Grant {
                    lock_id,
                    path: (*path).to_owned(),
                    operation: *operation,
                    expires_at_ms: *expires_at_ms,
                    fencing_token,
                    renewed: false,
                },
                (
                    LockWrite::Renew {
                        lock,
                        operation,
                        expires_at_ms,
                        ..
                    },
                    Applied::Renewed { fencing_token },
                ) => Grant {
                    lock_id: lock.lock_id.clone(),
                    path: lock.path.clone(),
                    operation: *operation,
                    expires_at_ms: *expires_at_ms,
                    fencing_token,
                    renewed: true,
                },
                _ => return None,
            })
        });
        ClaimOutcome::Granted(granted.collect())
    }
}

/// An agent releases its own live locks; what it does not hold is reported.
#[derive(Debug, Clone, Copy)]
pub struct Release<'a> {
    pub session: &'a str,
    pub agent: &'a str,
    pub scope: &'a ReleaseScope,
    /// The versions the release records, for the locks it removes.
    pub versions: &'a [NewVersion],
}

impl LockStep for Release<'_> {
    type Outcome = ReleaseOutcome;
    /// The paths asked for that the agent does not hold.
    type Pending = Vec<String>;

    fn rows(&self, _: Millis) -> LockRows<'_> {
        match self.scope {
            ReleaseScope::All => LockRows::OfAgent {
                session: self.session,
                agent: self.agent,
            },
            ReleaseScope::Paths(paths) => LockRows::OnPaths {
                session: self.session,
                paths,
            },
        }
    }

    fn effects<'s>(&'s self, now: Millis, held: &'s [LockRow]) -> LockEffects<'s, Self::Pending> {
        let mut writes = expiries(now, held, held.len());
        let plan = plan_release(now, self.agent, self.scope, held);
        writes.extend(plan.release.into_iter().map(|lock| LockWrite::Remove {
            lock,
            kind: EventKind::Released,
            detail: None,
        }));
        let versions: Vec<_> = version_writes(&writes, self.versions).collect();
        writes.extend(versions);
        LockEffects {
            writes,
            pending: plan.not_held,
        }
    }

    fn outcome(
        &self,
        not_held: Self::Pending,
        writes: &[LockWrite<'_>],
        applied: Vec<Applied>,
    ) -> ReleaseOutcome {
        ReleaseOutcome {
            released: removed(writes, &applied),
            not_held,
        }
    }
}

/// A person releases locks by hand (the CLI, the dashboard, `team stop`):
/// each is recorded as a forced release by `by`, or as expired if it had
/// run out already.
#[derive(Debug, Clone, Copy)]
pub struct ForceRelease<'a> {
    pub selector: &'a ForceSelector,
    pub by: &'a str,
    /// The versions the release records (work left uncommitted is flagged
    /// in them), for the locks it removes.
    pub versions: &'a [NewVersion],
}

impl LockStep for ForceRelease<'_> {
    /// The locks released.
    type Outcome = Vec<LockRow>;
    type Pending = ();

    fn rows(&self, _: Millis) -> LockRows<'_> {
        LockRows::Picked(self.selector)
    }

    fn effects<'s>(&'s self, now: Millis, held: &'s [LockRow]) -> LockEffects<'s, ()> {
        let mut writes: Vec<_> = held
            .iter()
            .map(|lock| LockWrite::Remove {
                lock,
                kind: if is_live(lock, now) {
                    EventKind::ForcedRelease
                } else {
                    EventKind::Expired
                },
                detail: Some(format!("released by {}", self.by)),
            })
            .collect();
        let versions: Vec<_> = version_writes(&writes, self.versions).collect();
        writes.extend(versions);
        LockEffects {
            writes,
            pending: (),
        }
    }

    fn outcome(&self, (): (), writes: &[LockWrite<'_>], applied: Vec<Applied>) -> Vec<LockRow> {
        removed(writes, &applied)
    }
}

/// Deletes expired locks, at most `limit`, one `expired` event each.
#[derive(Debug, Clone, Copy)]
pub struct Sweep {
    pub limit: usize,
}

impl LockStep for Sweep {
    type Outcome = Swept;
    /// How many rows were read.
    type Pending = usize;

    fn rows(&self, now: Millis) -> LockRows<'_> {
        LockRows::Expired {
            by: now,
            limit: self.limit,
        }
    }

    fn effects<'s>(&'s self, now: Millis, held: &'s [LockRow]) -> LockEffects<'s, usize> {
        LockEffects {
            writes: expiries(now, held, held.len()),
            pending: held.len(),
        }
    }

    fn outcome(&self, read: usize, _: &[LockWrite<'_>], applied: Vec<Applied>) -> Swept {
        Swept {
            expired: applied
                .iter()
                .filter(|done| **done == Applied::Deleted(true))
                .count(),
            read,
        }
    }
}

/// After a step of the wall clock back by `back_by` (0: none seen), sets
/// every lease that [`pulled_back`] moves to its new deadline; how many.
#[derive(Debug, Clone, Copy)]
pub struct PullBack {
    pub back_by: Millis,
}

impl LockStep for PullBack {
    type Outcome = usize;
    type Pending = ();

    fn rows(&self, now: Millis) -> LockRows<'_> {
        LockRows::EndingAfter {
            after: may_change_after(now, self.back_by),
        }
    }

    fn effects<'s>(&'s self, now: Millis, held: &'s [LockRow]) -> LockEffects<'s, ()> {
        let writes = held
            .iter()
            .filter_map(|lock| {
                let expires_at_ms = pulled_back(lock.expires_at_ms, now, self.back_by)?;
                Some(LockWrite::Shorten {
                    lock,
                    expires_at_ms,
                })
            })
            .collect();
        LockEffects {
            writes,
            pending: (),
        }
    }

    fn outcome(&self, (): (), _: &[LockWrite<'_>], applied: Vec<Applied>) -> usize {
        applied.len()
    }
}

#[cfg(test)]
mod tests;
