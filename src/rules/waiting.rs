//! The order in which blocked claims are served. Claims that wait form one
//! queue in arrival order; a waiter may try to take its locks only when no
//! earlier waiter it would conflict with is still waiting, so a later waiter
//! never jumps an earlier one over the same files, while one on other files
//! goes ahead without waiting behind the queue.

use ccmulti_model::Operation;
use ccmulti_model::snapshot::{LockRow, WaiterRow};

use super::locks::steps::ClaimRequest;
use super::targets::LockTarget;

/// A claim that is waiting, as the ordering rules see it.
#[derive(Debug, Clone)]
pub struct Waiter {
    pub session: String,
    pub agent: String,
    pub operation: Operation,
    pub targets: Vec<LockTarget>,
}

impl Waiter {
    /// A claim as it waits.
    pub fn of(request: &ClaimRequest) -> Self {
        Self {
            session: request.session.clone(),
            agent: request.agent.clone(),
            operation: request.operation,
            targets: request.paths.iter().map(|p| LockTarget::parse(p)).collect(),
        }
    }

    fn touches(&self, targets: &[LockTarget]) -> bool {
        self.targets
            .iter()
            .any(|mine| targets.iter().any(|t| mine.overlaps(t)))
    }
}

/// Whether `later` must let `earlier` go first: the same session, another
/// agent (an agent never blocks itself), overlapping paths, not both reads.
pub fn must_follow(later: &Waiter, earlier: &Waiter) -> bool {
    later.session == earlier.session
        && later.agent != earlier.agent
        && !(later.operation.is_shared() && earlier.operation.is_shared())
        && later.touches(&earlier.targets)
}

/// A live lock as [`blocked_by`] sees it.
#[derive(Debug, Clone, Copy)]
pub struct HeldBy<'a> {
    pub session: &'a str,
    pub agent: &'a str,
    pub operation: Operation,
    pub path: &'a str,
}

impl<'a> HeldBy<'a> {
    pub fn of(lock: &'a LockRow) -> Self {
        Self {
            session: &lock.session_id,
            agent: &lock.agent_id,
            operation: lock.operation,
            path: &lock.path,
        }
    }
}

/// Which of `locks` (indexes) hold `waiter` back: another agent's lock in its
/// session over a path it wants, unless both are reads. What the dashboard
/// shows as a lock's waiters.
pub fn blocked_by(waiter: &Waiter, locks: &[HeldBy<'_>]) -> Vec<usize> {
    locks
        .iter()
        .enumerate()
        .filter(|(_, l)| {
            l.session == waiter.session
                && l.agent != waiter.agent
                && !(l.operation.is_shared() && waiter.operation.is_shared())
                && waiter.touches(&[LockTarget::parse(l.path)])
        })
        .map(|(i, _)| i)
        .collect()
}

/// A waiting claim's row as a dashboard shows it, from its stored fields
/// and the live `locks` read at the same moment: with the ids of those that
/// hold it back.
pub fn waiter_row(
    session_id: String,
    agent_id: String,
    operation: Operation,
    paths: Vec<String>,
    (since_ms, deadline_ms): (i64, i64),
    locks: &[LockRow],
) -> WaiterRow {
    let waiter = Waiter {
        session: session_id,
        agent: agent_id,
        operation,
        targets: paths.iter().map(|p| LockTarget::parse(p)).collect(),
    };
    let held: Vec<HeldBy<'_>> = locks.iter().map(HeldBy::of).collect();
    let blocked_by = blocked_by(&waiter, &held)
        .into_iter()
        .map(|i| locks[i].lock_id.clone())
        .collect();
    WaiterRow {
        session_id: waiter.session,
        agent_id: waiter.agent,
        operation,
        paths,
        since_ms,
        deadline_ms,
        blocked_by,
    }
}

/// For a queue in arrival order: whether each waiter may try to claim now.
pub fn may_try(queue: &[&Waiter]) -> Vec<bool> {
    queue
        .iter()
        .enumerate()
        .map(|(i, w)| !queue[..i].iter().any(|earlier| must_follow(w, earlier)))
        .collect()
}

/// After `freed` paths in `session` became free (released, expired, or a
/// lease turned shared): the waiters to wake, those that may try and want one of them.
pub fn to_wake(queue: &[&Waiter], session: &str, freed: &[LockTarget]) -> Vec<usize> {
    may_try(queue)
        .into_iter()
        .enumerate()
        .filter(|&(i, may)| may && queue[i].session == session && queue[i].touches(freed))
        .map(|(i, _)| i)
        .collect()
}

/// After `left` left the queue (granted, timed out, gone): the waiters it
/// held back that may try now. `queue` no longer holds `left`.
pub fn released_by(queue: &[&Waiter], left: &Waiter) -> Vec<usize> {
    may_try(queue)
        .into_iter()
        .enumerate()
        .filter(|&(i, may)| may && must_follow(queue[i], left))
        .map(|(i, _)| i)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(agent: &str, operation: Operation, paths: &[&str]) -> Waiter {
        Waiter {
            session: "s".into(),
            agent: agent.into(),
            operation,
            targets: paths.iter().map(|p| LockTarget::parse(p)).collect(),
        }
    }

    #[test]
    fn a_later_waiter_follows_an_earlier_one_on_the_same_files() {
        let a = w("a", Operation::Write, &["x"]);
        let b = w("b", Operation::Write, &["x", "y"]);
        let c = w("c", Operation::Write, &["z"]);
        let d = w("d", Operation::Write, &["src/"]);
        let e = w("e", Operation::Write, &["src/**/*.rs"]);
        assert_eq!(
            may_try(&[&a, &b, &c, &d, &e]),
            [true, false, true, true, false]
        );
    }

    #[test]
    fn readers_do_not_queue_behind_readers_and_no_one_behind_themselves() {
        let r1 = w("a", Operation::Read, &["x"]);
        let r2 = w("b", Operation::Read, &["x"]);
        let wr = w("c", Operation::Write, &["x"]);
        let r3 = w("d", Operation::Read, &["x"]);
        assert_eq!(may_try(&[&r1, &r2, &wr, &r3]), [true, true, false, false]);
        let again = w("a", Operation::Write, &["x"]);
        assert_eq!(may_try(&[&r1, &again]), [true, true]);
    }

    #[test]
    fn sessions_do_not_queue_behind_each_other() {
        let a = w("a", Operation::Write, &["x"]);
        let mut b = w("b", Operation::Write, &["x"]);
        b.session = "other".into();
        assert_eq!(may_try(&[&a, &b]), [true, true]);
    }

    #[test]
    fn a_release_wakes_only_the_first_in_line_for_those_files() {
        let a = w("a", Operation::Write, &["x"]);
        let b = w("b", Operation::Write, &["x"]);
        let c = w("c", Operation::Write, &["y"]);
        let freed = [LockTarget::parse("x")];
        assert_eq!(to_wake(&[&a, &b, &c], "s", &freed), [0]);
        assert_eq!(to_wake(&[&b, &c], "s", &freed), [0]);
        assert!(to_wake(&[&a, &b, &c], "other", &freed).is_empty());
        // A directory freed wakes a waiter for a file under it.
        let under = w("d", Operation::Write, &["src/a.rs"]);
        assert_eq!(to_wake(&[&under], "s", &[LockTarget::parse("src/")]), [0]);
    }

    #[test]
    fn a_waiter_is_blocked_by_the_locks_it_conflicts_with() {
        let held = |agent, operation, path| HeldBy {
            session: "s",
            agent,
            operation,
            path,
        };
        let locks = [
            held("x", Operation::Write, "src/a.rs"),
            held("x", Operation::Read, "docs/r.md"),
            held("x", Operation::Write, "src/**/*.rs"),
            held("me", Operation::Write, "src/b.rs"),
            held("x", Operation::Write, "other.rs"),
            HeldBy {
                session: "t",
                ..held("x", Operation::Write, "src/a.rs")
            },
        ];
        let writer = w(
            "me",
            Operation::Write,
            &["src/a.rs", "docs/r.md", "src/b.rs"],
        );
        assert_eq!(blocked_by(&writer, &locks), [0, 1, 2]);
        let reader = w("me", Operation::Read, &["docs/r.md"]);
        assert!(blocked_by(&reader, &locks).is_empty());
    }

    #[test]
    fn leaving_wakes_those_it_held_back() {
        let a = w("a", Operation::Write, &["x", "y"]);
        let b = w("b", Operation::Write, &["x"]);
        let c = w("c", Operation::Write, &["x"]);
        let d = w("d", Operation::Write, &["z"]);
        // With a gone, b is first for x; c still follows b; d never waited on a.
        assert_eq!(released_by(&[&b, &c, &d], &a), [0]);
    }
}
