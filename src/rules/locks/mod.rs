//! Who may hold which lock: shared `read`, exclusive `write` and `delete`,
//! all-or-nothing claims, renewal on re-claim, leases never cut short.
//! [`steps`] turns these decisions into each lock step's whole effects.

pub mod steps;

use std::collections::BTreeSet;

use ccmulti_model::Operation;
use ccmulti_model::snapshot::LockRow;

use super::targets::LockTarget;
use crate::clock::Millis;

/// An expired lock stops counting at once, before any sweep removes it.
pub fn is_live(lock: &LockRow, now: Millis) -> bool {
    lock.expires_at_ms > now
}

/// Another agent's claim of the lock's path takes it over: its holder asked it
/// to give way once it had gone this long without a claim (the edit hook's
/// lock of a file its agent has left), and that time has come.
pub fn gives_way(lock: &LockRow, now: Millis) -> bool {
    lock.yields_at_ms.is_some_and(|at| at <= now)
}

/// When a lock whose holder asked it to give way at `yields_at_ms` does so:
/// only before it expires (at its expiry it simply ends).
pub fn gives_way_at(yields_at_ms: Option<Millis>, expires_at_ms: Millis) -> Option<Millis> {
    yields_at_ms.filter(|at| *at < expires_at_ms)
}

/// When a lock claimed or renewed at `now` until `expires_at_ms` starts giving
/// way: `hold_until` (the latest either claim held it off others for), unless
/// that is its whole lease.
fn yields_at(hold_until: Millis, expires_at_ms: Millis) -> Option<Millis> {
    (hold_until < expires_at_ms).then_some(hold_until)
}

pub fn seconds_until(now: Millis, deadline: Millis) -> i64 {
    ((deadline - now).max(0) as u64).div_ceil(1000) as i64
}

/// One step of a granted claim, borrowing the path asked for or the lock renewed.
#[derive(Debug, Clone, PartialEq)]
pub enum ClaimStep<'a> {
    Grant {
        path: &'a str,
        expires_at_ms: Millis,
        yields_at_ms: Option<Millis>,
    },
    Renew {
        lock: &'a LockRow,
        expires_at_ms: Millis,
        yields_at_ms: Option<Millis>,
    },
    /// Another agent's lock that [gives way](gives_way) to this claim: it ends
    /// (as expired) before the claim's grants.
    TakeOver { lock: &'a LockRow },
}

/// A live lock of another agent that keeps a path asked for from being
/// claimed. The claim tool reports it as the model's `Conflict`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocker {
    /// The path asked for.
    pub path: String,
    /// The held lock's path: the same, or a directory or glob that overlaps it.
    pub held_path: String,
    pub holder: String,
    pub operation: Operation,
    pub seconds_left: i64,
    pub expires_at_ms: Millis,
    /// When the lock gives way to another agent's claim, if it does before it expires.
    pub yields_at_ms: Option<Millis>,
}

impl Blocker {
    /// When the lock gives way to this claim, if that comes before it expires.
    pub fn gives_way_at_ms(&self) -> Option<Millis> {
        gives_way_at(self.yields_at_ms, self.expires_at_ms)
    }

    /// When it stops blocking: when it gives way, else when it expires.
    pub fn frees_at_ms(&self) -> Millis {
        self.gives_way_at_ms().unwrap_or(self.expires_at_ms)
    }
}

/// Plans a claim of `paths` (already normalised and deduplicated) by `agent`.
/// `held` are the session's locks that may overlap those paths (files,
/// directories, globs; see [`LockTarget::overlaps`]); expired ones are ignored.
/// Either every path is granted or renewed, or nothing is and every blocker is named.
/// An agent's own locks never block its claim; only the same path
/// string, claimed again, renews one. Another agent's lock that
/// [gives way](gives_way) blocks nothing: a granted claim takes it over.
/// With `idle_yield_ms`, what the claim grants or renews gives way in turn
/// that long after it.
pub fn plan_claim<'a>(
    now: Millis,
    agent: &str,
    operation: Operation,
    paths: &'a BTreeSet<String>,
    lease_ms: Millis,
    idle_yield_ms: Option<Millis>,
    held: &'a [LockRow],
) -> Result<Vec<ClaimStep<'a>>, Vec<Blocker>> {
    let wanted_until = now + lease_ms;
    let hold_until = idle_yield_ms.map_or(wanted_until, |idle| (now + idle).min(wanted_until));
    let mut steps = Vec::with_capacity(paths.len());
    let mut taken_over: Vec<&LockRow> = Vec::new();
    let mut blockers = Vec::new();
    let live: Vec<(&LockRow, LockTarget)> = held
        .iter()
        .filter(|l| is_live(l, now))
        .map(|l| (l, LockTarget::parse(&l.path)))
        .collect();
    for path in paths {
        let wanted = LockTarget::parse(path);
        let mut own = None;
        for (lock, target) in &live {
            if lock.agent_id == agent {
                if &lock.path == path {
                    own = Some(*lock);
                }
            } else if !(operation.is_shared() && lock.operation.is_shared())
                && wanted.overlaps(target)
            {
                if gives_way(lock, now) {
                    if !taken_over.iter().any(|t| t.lock_id == lock.lock_id) {
                        taken_over.push(lock);
                    }
                    continue;
                }
                blockers.push(Blocker {
                    path: path.clone(),
                    held_path: lock.path.clone(),
                    holder: lock.agent_id.clone(),
                    operation: lock.operation,
                    seconds_left: seconds_until(now, lock.expires_at_ms),
                    expires_at_ms: lock.expires_at_ms,
                    yields_at_ms: lock.yields_at_ms,
                });
            }
        }
        steps.push(match own {
            // A renewal never shortens a lease the holder was already
            // promised, nor how long it holds others off.
            Some(lock) => {
                let expires_at_ms = wanted_until.max(lock.expires_at_ms);
                let held_until = lock.yields_at_ms.unwrap_or(lock.expires_at_ms);
                ClaimStep::Renew {
                    lock,
                    expires_at_ms,
                    yields_at_ms: yields_at(hold_until.max(held_until), expires_at_ms),
                }
            }
            None => ClaimStep::Grant {
                path,
                expires_at_ms: wanted_until,
                yields_at_ms: yields_at(hold_until, wanted_until),
            },
        });
    }
    if blockers.is_empty() {
        let mut plan: Vec<ClaimStep<'a>> = taken_over
            .into_iter()
            .map(|lock| ClaimStep::TakeOver { lock })
            .collect();
        plan.extend(steps);
        Ok(plan)
    } else {
        Err(blockers)
    }
}

/// What a release asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReleaseScope {
    All,
    Paths(BTreeSet<String>),
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReleasePlan<'a> {
    /// The caller's live locks to delete.
    pub release: Vec<&'a LockRow>,
    /// Requested paths the caller does not hold (free, expired, or another agent's).
    pub not_held: Vec<String>,
}

/// An agent releases only its own live locks; anything else is reported, not touched.
pub fn plan_release<'a>(
    now: Millis,
    agent: &str,
    scope: &ReleaseScope,
    held: &'a [LockRow],
) -> ReleasePlan<'a> {
    let own = |l: &&LockRow| l.agent_id == agent && is_live(l, now);
    match scope {
        ReleaseScope::All => ReleasePlan {
            release: held.iter().filter(own).collect(),
            not_held: Vec::new(),
        },
        ReleaseScope::Paths(paths) => {
            let mut plan = ReleasePlan::default();
            for path in paths {
                match held.iter().filter(own).find(|l| &l.path == path) {
                    Some(lock) => plan.release.push(lock),
                    None => plan.not_held.push(path.clone()),
                }
            }
            plan
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Millis = 1_700_000_000_000;

    fn lock(agent: &str, path: &str, operation: Operation, expires_in_s: i64) -> LockRow {
        LockRow {
            lock_id: format!("{agent}:{path}"),
            session_id: "s".into(),
            agent_id: agent.into(),
            path: path.into(),
            operation,
            expires_at_ms: NOW + expires_in_s * 1000,
            fencing_token: 1,
            yields_at_ms: None,
        }
    }

    /// `agent`'s claim of `list` for 5 minutes, against `held`.
    fn claim5<'a>(
        agent: &str,
        operation: Operation,
        list: &[&str],
        held: &'a [LockRow],
    ) -> Result<Vec<ClaimStep<'a>>, Vec<Blocker>> {
        plan_claim(NOW, agent, operation, paths(list), 5 * 60_000, None, held)
    }

    /// Paths to claim; a plan borrows them, so they live as long as the test.
    fn paths(list: &[&str]) -> &'static BTreeSet<String> {
        Box::leak(Box::new(list.iter().map(|p| p.to_string()).collect()))
    }

    #[test]
    fn a_free_path_is_granted_for_the_duration() {
        let steps = plan_claim(
            NOW,
            "a",
            Operation::Write,
            paths(&["x"]),
            15 * 60_000,
            None,
            &[],
        )
        .unwrap();
        assert_eq!(
            steps,
            vec![ClaimStep::Grant {
                path: "x",
                expires_at_ms: NOW + 15 * 60_000,
                yields_at_ms: None,
            }]
        );
    }

    #[test]
    fn exclusive_locks_conflict_and_name_the_holder() {
        for (held_op, wanted) in [
            (Operation::Write, Operation::Write),
            (Operation::Write, Operation::Read),
            (Operation::Read, Operation::Write),
            (Operation::Delete, Operation::Read),
            (Operation::Read, Operation::Delete),
        ] {
            let held = [lock("b", "x", held_op, 90)];
            let blockers =
                plan_claim(NOW, "a", wanted, paths(&["x"]), 15 * 60_000, None, &held).unwrap_err();
            assert_eq!(
                blockers,
                vec![Blocker {
                    path: "x".into(),
                    held_path: "x".into(),
                    holder: "b".into(),
                    operation: held_op,
                    seconds_left: 90,
                    expires_at_ms: NOW + 90_000,
                    yields_at_ms: None,
                }]
            );
        }
    }

    #[test]
    fn readers_share() {
        let held = [
            lock("b", "x", Operation::Read, 90),
            lock("c", "x", Operation::Read, 30),
        ];
        assert!(claim5("a", Operation::Read, &["x"], &held).is_ok());
    }

    #[test]
    fn a_claim_is_all_or_nothing() {
        let held = [lock("b", "y", Operation::Write, 10)];
        let conflicts = claim5("a", Operation::Write, &["x", "y", "z"], &held).unwrap_err();
        assert_eq!(conflicts.len(), 1);
        assert_eq!(conflicts[0].path, "y");
    }

    #[test]
    fn reclaiming_renews_and_never_shortens() {
        let held = [lock("a", "x", Operation::Write, 30 * 60)];
        let steps = claim5("a", Operation::Write, &["x"], &held).unwrap();
        assert_eq!(
            steps,
            vec![ClaimStep::Renew {
                lock: &held[0],
                expires_at_ms: NOW + 30 * 60_000,
                yields_at_ms: None,
            }]
        );
        let steps = plan_claim(
            NOW,
            "a",
            Operation::Write,
            paths(&["x"]),
            60 * 60_000,
            None,
            &held,
        )
        .unwrap();
        assert!(
            matches!(&steps[0], ClaimStep::Renew { expires_at_ms, .. } if *expires_at_ms == NOW + 60 * 60_000)
        );
    }

    #[test]
    fn upgrading_a_shared_read_waits_for_the_other_readers() {
        let held = [
            lock("a", "x", Operation::Read, 60),
            lock("b", "x", Operation::Read, 60),
        ];
        let conflicts = claim5("a", Operation::Write, &["x"], &held).unwrap_err();
        assert_eq!(conflicts[0].holder, "b");
        let alone = [lock("a", "x", Operation::Read, 60)];
        assert!(claim5("a", Operation::Write, &["x"], &alone).is_ok());
    }

    #[test]
    fn expired_locks_stop_counting_at_once() {
        let held = [lock("b", "x", Operation::Write, 0)];
        let steps = claim5("a", Operation::Write, &["x"], &held).unwrap();
        assert!(matches!(steps[0], ClaimStep::Grant { .. }));
    }

    /// `lock`, giving way to other agents' claims `in_s` seconds from now.
    fn yielding(agent: &str, path: &str, expires_in_s: i64, in_s: i64) -> LockRow {
        LockRow {
            yields_at_ms: Some(NOW + in_s * 1000),
            ..lock(agent, path, Operation::Write, expires_in_s)
        }
    }

    #[test]
    fn a_lock_gives_way_to_another_agents_claim_once_its_holder_is_idle() {
        let idle = [yielding("b", "x", 4, 0)];
        let steps = claim5("a", Operation::Write, &["x"], &idle).unwrap();
        assert_eq!(
            steps,
            vec![
                ClaimStep::TakeOver { lock: &idle[0] },
                ClaimStep::Grant {
                    path: "x",
                    expires_at_ms: NOW + 5 * 60_000,
                    yields_at_ms: None,
                },
            ]
        );
        // Before then it blocks, and says when it will give way.
        let busy = [yielding("b", "x", 4, 2)];
        let blockers = claim5("a", Operation::Write, &["x"], &busy).unwrap_err();
        assert_eq!(blockers[0].yields_at_ms, Some(NOW + 2_000));
        // Its own holder renews it rather than taking it over.
        let steps = plan_claim(
            NOW,
            "b",
            Operation::Write,
            paths(&["x"]),
            5_000,
            Some(2_000),
            &idle,
        )
        .unwrap();
        assert!(matches!(steps[..], [ClaimStep::Renew { .. }]));
    }

    #[test]
    fn a_claim_blocked_elsewhere_takes_nothing_over() {
        let held = [
            yielding("b", "x", 4, 0),
            lock("c", "y", Operation::Write, 60),
        ];
        let blockers = claim5("a", Operation::Write, &["x", "y"], &held).unwrap_err();
        assert_eq!(blockers.len(), 1);
        assert_eq!(blockers[0].holder, "c");
        // A reader does not conflict with a reader, so nothing is taken over.
        let read = [LockRow {
            operation: Operation::Read,
            ..yielding("b", "x", 4, 0)
        }];
        let steps = claim5("a", Operation::Read, &["x"], &read).unwrap();
        assert!(matches!(steps[..], [ClaimStep::Grant { .. }]));
    }

    /// `a`'s claim of `x` for 5 s that gives way after `idle_ms`, against `held`.
    fn hook_claim(held: &[LockRow], idle_ms: Millis) -> ClaimStep<'_> {
        let mut steps = plan_claim(
            NOW,
            "a",
            Operation::Write,
            paths(&["x"]),
            5_000,
            Some(idle_ms),
            held,
        )
        .unwrap();
        steps.remove(0)
    }

    #[test]
    fn giving_way_is_renewed_by_each_claim_and_never_weakens_a_longer_hold() {
        // The edit hook's claims: a new lock and each renewal give way 2 s on.
        assert!(matches!(
            hook_claim(&[], 2_000),
            ClaimStep::Grant { yields_at_ms: Some(at), .. } if at == NOW + 2_000
        ));
        assert!(matches!(
            hook_claim(&[yielding("a", "x", 1, -1)], 2_000),
            ClaimStep::Renew { yields_at_ms: Some(at), .. } if at == NOW + 2_000
        ));
        // An explicit claim for 15 minutes, renewed by an edit: it holds as promised.
        assert!(matches!(
            hook_claim(&[lock("a", "x", Operation::Write, 15 * 60)], 2_000),
            ClaimStep::Renew { yields_at_ms: None, expires_at_ms, .. } if expires_at_ms == NOW + 15 * 60_000
        ));
        // A short explicit claim 3 s from its end holds those 3 s, then gives way.
        assert!(matches!(
            hook_claim(&[lock("a", "x", Operation::Write, 3)], 2_000),
            ClaimStep::Renew { yields_at_ms: Some(at), .. } if at == NOW + 3_000
        ));
        // Idle as long as the lease, or longer: it holds for the whole lease.
        assert!(matches!(
            hook_claim(&[], 9_000),
            ClaimStep::Grant {
                yields_at_ms: None,
                ..
            }
        ));
    }

    /// File, directory and glob claims against held files, directories and
    /// globs: (held by b, its operation, claimed by a, its operation, conflict?).
    const PATTERN_CASES: &[(&str, Operation, &str, Operation, bool)] = {
        use Operation::{Delete as D, Read as R, Write as W};
        &[
            ("src/a.rs", W, "src/a.rs", W, true),
            ("src/a.rs", W, "src/b.rs", W, false),
            ("src/a/", W, "src/a/x.rs", W, true),
            ("src/a/", W, "src/a/deep/er/x.rs", R, true),
            ("src/a/", W, "src/ab.rs", W, false),
            ("src/a/", W, "src/a", W, true),
            ("src/a.rs", D, "src/", W, true),
            ("src/", W, "src/a/", W, true),
            ("src/a/", W, "src/b/", W, false),
            ("src/a/", W, "src/ab/", W, false),
            ("src/api/**/*.rs", W, "src/api/x.rs", W, true),
            ("src/api/**/*.rs", W, "src/api/v1/x.rs", W, true),
            ("src/api/**/*.rs", W, "src/api/x.py", W, false),
            ("src/*.rs", W, "src/api/x.rs", W, false),
            ("*", W, "README.md", W, true),
            ("*", W, "src/a.rs", W, false),
            ("src/?.rs", W, "src/a.rs", W, true),
            ("src/?.rs", W, "src/ab.rs", W, false),
            ("src/[ab].rs", W, "src/b.rs", W, true),
            ("src/[ab].rs", W, "src/c.rs", W, false),
            ("src/{lib,main}.rs", W, "src/main.rs", W, true),
            ("src/{lib,main}.rs", W, "src/mod.rs", W, false),
            ("src/api/", W, "src/api/**/*.rs", W, true),
            ("src/", W, "src/**/*.rs", W, true),
            ("docs/", W, "src/**/*.rs", W, false),
            ("src/a/", W, "src/ab*.rs", W, false),
            ("src/**/*.rs", W, "src/api/**/*.rs", W, true),
            ("src/**/*.rs", W, "src/**/*.md", W, false),
            ("src/**/*.rs", W, "tests/**/*.rs", W, false),
            // The documented over-approximation: no file is in both, yet they conflict.
            ("src/*.rs", W, "src/api/", W, true),
            // Shared reads stay shared on patterns; write and delete do not.
            ("src/api/", R, "src/api/x.rs", R, false),
            ("src/**/*.rs", R, "src/a.rs", R, false),
            ("src/**/*.rs", R, "src/", R, false),
            ("src/**/*.rs", R, "src/a.rs", W, true),
            ("src/api/", W, "src/api/x.rs", R, true),
            ("src/api/", R, "src/api/x.rs", D, true),
        ]
    };

    #[test]
    fn files_directories_and_globs_conflict_where_they_overlap() {
        for &(held_path, held_op, wanted, wanted_op, conflict) in PATTERN_CASES {
            let held = [lock("b", held_path, held_op, 60)];
            let outcome = claim5("a", wanted_op, &[wanted], &held);
            assert_eq!(
                outcome.is_err(),
                conflict,
                "{held_path} ({}) held, {wanted} ({}) claimed",
                held_op.as_str(),
                wanted_op.as_str()
            );
            // The same outcome with the roles swapped.
            let held = [lock("b", wanted, wanted_op, 60)];
            let swapped = claim5("a", held_op, &[held_path], &held);
            assert_eq!(
                swapped.is_err(),
                conflict,
                "{wanted} held, {held_path} claimed"
            );
            if let Err(conflicts) = outcome {
                assert_eq!(conflicts[0].held_path, held_path);
                assert_eq!(conflicts[0].path, wanted);
            }
        }
        assert!(PATTERN_CASES.len() >= 20);
    }

    #[test]
    fn own_patterns_never_block_and_only_the_same_string_renews() {
        let held = [lock("a", "src/**/*.rs", Operation::Write, 60)];
        let steps = claim5("a", Operation::Write, &["src/a.rs"], &held).unwrap();
        assert!(matches!(steps[0], ClaimStep::Grant { .. }));
        let steps = plan_claim(
            NOW,
            "a",
            Operation::Write,
            paths(&["src/**/*.rs"]),
            5,
            None,
            &held,
        )
        .unwrap();
        assert!(
            matches!(&steps[0], ClaimStep::Renew { lock, .. } if lock.lock_id == "a:src/**/*.rs")
        );
    }

    #[test]
    fn seconds_left_rounds_up_and_never_goes_negative() {
        assert_eq!(seconds_until(NOW, NOW + 1), 1);
        assert_eq!(seconds_until(NOW, NOW + 1000), 1);
        assert_eq!(seconds_until(NOW, NOW + 1001), 2);
        assert_eq!(seconds_until(NOW, NOW - 5000), 0);
    }

    #[test]
    fn release_touches_only_own_live_locks() {
        let held = [
            lock("a", "x", Operation::Write, 60),
            lock("b", "y", Operation::Write, 60),
            lock("a", "z", Operation::Write, 0),
        ];
        let plan = plan_release(
            NOW,
            "a",
            &ReleaseScope::Paths(paths(&["x", "y", "z", "w"]).clone()),
            &held,
        );
        assert_eq!(
            plan.release
                .iter()
                .map(|l| l.path.as_str())
                .collect::<Vec<_>>(),
            ["x"]
        );
        assert_eq!(plan.not_held, ["w", "y", "z"]);
        let all = plan_release(NOW, "a", &ReleaseScope::All, &held);
        assert_eq!(all.release.len(), 1);
    }
}
