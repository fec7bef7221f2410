//! Whether a claim about to wait closes a cycle of lock waits: it would wait
//! for a lock whose holder waits (directly or through others) for one of the
//! caller's own locks. No release can come from inside such a cycle, so the
//! claim is answered at once, with the cycle and what to release, instead of
//! after its whole wait. The store decides it in the same transaction that
//! writes the waiter's row (`lock_waiters`), so of two claims closing one
//! cycle at the same moment, the second to be written sees the first.
//!
//! Only lock waits count: a waiter row is a claim waiting for locks; an agent
//! held up by anything else (text another agent has not written yet) is not
//! known here.

use std::collections::{BTreeMap, VecDeque};

use ccmulti_model::snapshot::{LockRow, WaiterRow};
use ccmulti_model::tools::{LockWait, WaitCycle};

use super::locks::steps::ClaimRequest;
use super::targets::LockTarget;
use super::waiting::{HeldBy, Waiter, blocked_by};

/// Whether a claim may wait, as the store answers it after deciding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JoinedWaits {
    /// It waits; its row's id.
    Waiting(i64),
    /// Its wait would close this cycle: nothing was written.
    WouldCycle(WaitCycle),
}

/// One edge of the wait graph: `agent` waits for `held_by`'s locks `held`.
#[derive(Debug, Clone)]
struct Edge<'a> {
    held_by: &'a str,
    wants: Vec<String>,
    held: Vec<&'a str>,
}

/// The edges out of one waiting claim: one per holder, in lock order.
fn edges<'a>(paths: &[String], blockers: impl Iterator<Item = &'a LockRow>) -> Vec<Edge<'a>> {
    let mut by_holder: Vec<Edge<'a>> = Vec::new();
    for lock in blockers {
        let held = LockTarget::parse(&lock.path);
        let wants = paths
            .iter()
            .filter(|p| LockTarget::parse(p).overlaps(&held))
            .cloned();
        match by_holder.iter_mut().find(|e| e.held_by == lock.agent_id) {
            Some(edge) => {
                edge.held.push(&lock.path);
                for w in wants {
                    if !edge.wants.contains(&w) {
                        edge.wants.push(w);
                    }
                }
            }
            None => by_holder.push(Edge {
                held_by: &lock.agent_id,
                wants: wants.collect(),
                held: vec![&lock.path],
            }),
        }
    }
    by_holder
}

/// The cycle `request` would close by waiting, given the live waiter rows
/// and the live locks read in the same transaction (any sessions: only the
/// claim's own counts); `None` when its wait can end.
pub fn closed_by(
    request: &ClaimRequest,
    waiters: &[WaiterRow],
    locks: &[LockRow],
) -> Option<WaitCycle> {
    let claim = &Waiter::of(request);
    let locks: Vec<&LockRow> = locks
        .iter()
        .filter(|l| l.session_id == claim.session)
        .collect();
    let held: Vec<HeldBy<'_>> = locks.iter().map(|l| HeldBy::of(l)).collect();
    let claim_paths: Vec<String> = request.paths.iter().cloned().collect();
    let first = edges(
        &claim_paths,
        blocked_by(claim, &held).into_iter().map(|i| locks[i]),
    );
    // Each other agent's waits, from its rows' blockers (an agent's own
    // other waits never block it, and the caller's are the claim's).
    let mut waits: BTreeMap<&str, Vec<Edge<'_>>> = BTreeMap::new();
    for row in waiters
        .iter()
        .filter(|w| w.session_id == claim.session && w.agent_id != claim.agent)
    {
        let blockers = locks
            .iter()
            .copied()
            .filter(|l| row.blocked_by.contains(&l.lock_id));
        waits
            .entry(&row.agent_id)
            .or_default()
            .extend(edges(&row.paths, blockers));
    }
    // Breadth first from the holders the claim would wait for: the shortest
    // way back to the caller. `came` holds, per agent reached, the edge it was reached by.
    let mut came: BTreeMap<&str, (&str, &Edge<'_>)> = BTreeMap::new();
    let mut queue: VecDeque<&str> = VecDeque::new();
    for edge in &first {
        if !came.contains_key(edge.held_by) {
            came.insert(edge.held_by, (&claim.agent, edge));
            queue.push_back(edge.held_by);
        }
    }
    while let Some(agent) = queue.pop_front() {
        for edge in waits.get(agent).into_iter().flatten() {
            if edge.held_by == claim.agent {
                return Some(cycle(&claim.agent, agent, edge, &came));
            }
            if !came.contains_key(edge.held_by) {
                came.insert(edge.held_by, (agent, edge));
                queue.push_back(edge.held_by);
            }
        }
    }
    None
}

/// The cycle found: `last` waits for the caller through `closing`; the way
/// from the caller to `last` is in `came`.
fn cycle(
    caller: &str,
    last: &str,
    closing: &Edge<'_>,
    came: &BTreeMap<&str, (&str, &Edge<'_>)>,
) -> WaitCycle {
    let wait = |agent: &str, edge: &Edge<'_>| LockWait {
        agent: agent.to_owned(),
        wants: edge.wants.clone(),
        held_by: edge.held_by.to_owned(),
        held_paths: edge.held.iter().map(|p| (*p).to_owned()).collect(),
    };
    let mut waits = vec![wait(last, closing)];
    let mut at = last;
    while at != caller {
        let Some((from, edge)) = came.get(at) else {
            break;
        };
        waits.push(wait(from, edge));
        at = from;
    }
    waits.reverse();
    WaitCycle {
        release: closing.held.iter().map(|p| (*p).to_owned()).collect(),
        waits,
    }
}

/// What a model is told: the cycle in words and what to do.
pub fn describe(cycle: &WaitCycle) -> String {
    let chain: Vec<String> = cycle
        .waits
        .iter()
        .map(|w| {
            let who = if w.held_by == cycle.waits[0].agent {
                "you".to_owned()
            } else {
                w.held_by.clone()
            };
            format!("{} (held by {who})", w.wants.join(", "))
        })
        .collect();
    let first = cycle.waits.first();
    let next = first.map_or("", |w| w.held_by.as_str());
    format!(
        "Waiting would never end: you would wait for {}, and each holder waits in turn for the next, back to you; nothing was claimed. \
         Release {} (release_file_lock) so that {next} can go on, work on something else meanwhile, and claim {} again later.",
        chain.join(", which waits for "),
        cycle.release.join(", "),
        first.map_or(String::new(), |w| w.wants.join(", ")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use ccmulti_model::Operation;

    fn lock(agent: &str, path: &str) -> LockRow {
        LockRow {
            lock_id: format!("{agent}:{path}"),
            session_id: "s".into(),
            agent_id: agent.into(),
            path: path.into(),
            operation: Operation::Write,
            expires_at_ms: 1_000_000,
            fencing_token: 1,
            yields_at_ms: None,
        }
    }

    fn waiter(agent: &str, paths: &[&str]) -> ClaimRequest {
        ClaimRequest {
            session: "s".into(),
            agent: agent.into(),
            operation: Operation::Write,
            paths: paths.iter().map(|p| (*p).to_owned()).collect(),
            lease_ms: 5 * 60_000,
            idle_yield_ms: None,
        }
    }

    fn row(agent: &str, paths: &[&str], locks: &[LockRow]) -> WaiterRow {
        row_of(agent, Operation::Write, paths, locks)
    }

    fn row_of(agent: &str, operation: Operation, paths: &[&str], locks: &[LockRow]) -> WaiterRow {
        crate::rules::waiting::waiter_row(
            "s".into(),
            agent.into(),
            operation,
            paths.iter().map(|p| (*p).to_owned()).collect(),
            (0, 1_000_000),
            locks,
        )
    }

    #[test]
    fn two_agents_each_waiting_for_the_others_file_close_a_cycle() {
        let locks = [lock("a", "build.rs"), lock("b", "ci.yml")];
        let rows = [row("b", &["build.rs"], &locks)];
        let cycle = closed_by(&waiter("a", &["ci.yml"]), &rows, &locks).unwrap();
        assert_eq!(
            cycle.waits,
            [
                LockWait {
                    agent: "a".into(),
                    wants: vec!["ci.yml".into()],
                    held_by: "b".into(),
                    held_paths: vec!["ci.yml".into()],
                },
                LockWait {
                    agent: "b".into(),
                    wants: vec!["build.rs".into()],
                    held_by: "a".into(),
                    held_paths: vec!["build.rs".into()],
                },
            ]
        );
        assert_eq!(cycle.release, ["build.rs"]);
        let said = describe(&cycle);
        assert!(
            said.contains("ci.yml (held by b), which waits for build.rs (held by you)"),
            "{said}"
        );
        assert!(said.contains("Release build.rs"), "{said}");
    }

    #[test]
    fn three_agents_through_a_directory_lock_close_a_cycle() {
        let locks = [lock("a", "src/"), lock("b", "x"), lock("c", "y")];
        // b waits for c's y, c waits for a file under a's directory.
        let rows = [row("b", &["y"], &locks), row("c", &["src/lib.rs"], &locks)];
        let cycle = closed_by(&waiter("a", &["x"]), &rows, &locks).unwrap();
        let order: Vec<(&str, &str)> = cycle
            .waits
            .iter()
            .map(|w| (w.agent.as_str(), w.held_by.as_str()))
            .collect();
        assert_eq!(order, [("a", "b"), ("b", "c"), ("c", "a")]);
        assert_eq!(cycle.waits[2].wants, ["src/lib.rs"]);
        assert_eq!(cycle.release, ["src/"]);
    }

    #[test]
    fn a_chain_that_ends_or_leaves_the_session_is_no_cycle() {
        let locks = [lock("a", "build.rs"), lock("b", "ci.yml"), lock("c", "z")];
        // b waits for c, who waits for nothing.
        let rows = [row("b", &["z"], &locks)];
        assert!(closed_by(&waiter("a", &["ci.yml"]), &rows, &locks).is_none());
        // b waits for a file a does not hold.
        let rows = [row("b", &["other.rs"], &locks)];
        assert!(closed_by(&waiter("a", &["ci.yml"]), &rows, &locks).is_none());
        // The same names in another session are other agents.
        let mut elsewhere = row("b", &["build.rs"], &locks);
        elsewhere.session_id = "t".into();
        assert!(closed_by(&waiter("a", &["ci.yml"]), &[elsewhere], &locks).is_none());
        // Readers do not wait for readers.
        let mut shared = locks.clone();
        shared[0].operation = Operation::Read;
        let reader = row_of("b", Operation::Read, &["build.rs"], &shared);
        assert!(reader.blocked_by.is_empty());
        assert!(closed_by(&waiter("a", &["ci.yml"]), &[reader], &shared).is_none());
    }
}
