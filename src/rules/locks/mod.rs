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

pub fn seconds_until(now: Millis, deadline: Millis) -> i64 {
    ((deadline - now).max(0) as u64).div_ceil(1000) as i64
}

/// One step of a granted claim, borrowing the path asked for or the lock renewed.
#[derive(Debug, Clone, PartialEq)]
pub enum ClaimStep<'a> {
    Grant {
        path: &'a str,
        expires_at_ms: Millis,
    },
    Renew {
        lock: &'a LockRow,
        expires_at_ms: Millis,
    },
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
}

/// Plans a claim of `paths` (already normalised and deduplicated) by `agent`.
/// `held` are the session's locks that may overlap those paths (files,
/// directories, globs; see [`LockTarget::overlaps`]); expired ones are ignored.
/// Either every path is granted or renewed, or nothing is and every blocker is named.
/// An agent's own locks never block its claim; only the same path
/// string, claimed again, renews one.
pub fn plan_claim<'a>(
    now: Millis,
    agent: &str,
    operation: Operation,
    paths: &'a BTreeSet<String>,
    lease_ms: Millis,
    held: &'a [LockRow],
) -> Result<Vec<ClaimStep<'a>>, Vec<Blocker>> {
    let wanted_until = now + lease_ms;
    let mut steps = Vec::with_capacity(paths.len());
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
                blockers.push(Blocker {
                    path: path.clone(),
                    held_path: lock.path.clone(),
                    holder: lock.agent_id.clone(),
                    operation: lock.operation,
                    seconds_left: seconds_until(now, lock.expires_at_ms),
                    expires_at_ms: lock.expires_at_ms,
                });
            }
        }
        steps.push(match own {
            // A renewal never shortens a lease the holder was already promised.
            Some(lock) => ClaimStep::Renew {
                lock,
                expires_at_ms: wanted_until.max(lock.expires_at_ms),
            },
            None => ClaimStep::Grant {
                path,
                expires_at_ms: wanted_until,
            },
        });
    }
    if blockers.is_empty() {
        Ok(steps)
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
        }
    }

    /// Paths to claim; a plan borrows them, so they live as long as the test.
    fn paths(list: &[&str]) -> &'static BTreeSet<String> {
        Box::leak(Box::new(list.iter().map(|p| p.to_string()).collect()))
    }

    #[test]
    fn a_free_path_is_granted_for_the_duration() {
        let steps =
            plan_claim(NOW, "a", Operation::Write, paths(&["x"]), 15 * 60_000, &[]).unwrap();
        assert_eq!(
            steps,
            vec![ClaimStep::Grant {
                path: "x",
                expires_at_ms: NOW + 15 * 60_000
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
                plan_claim(NOW, "a", wanted, paths(&["x"]), 15 * 60_000, &held).unwrap_err();
            assert_eq!(
                blockers,
                vec![Blocker {
                    path: "x".into(),
                    held_path: "x".into(),
                    holder: "b".into(),
                    operation: held_op,
                    seconds_left: 90,
                    expires_at_ms: NOW + 90_000,
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
        assert!(plan_claim(NOW, "a", Operation::Read, paths(&["x"]), 5 * 60_000, &held).is_ok());
    }

    #[test]
    fn a_claim_is_all_or_nothing() {
        let held = [lock("b", "y", Operation::Write, 10)];
        let conflicts = plan_claim(
            NOW,
            "a",
            Operation::Write,
            paths(&["x", "y", "z"]),
            5 * 60_000,
            &held,
        )
        .unwrap_err();
        assert_eq!(conflicts.len(), 1);
        assert_eq!(conflicts[0].path, "y");
    }

    #[test]
    fn reclaiming_renews_and_never_shortens() {
        let held = [lock("a", "x", Operation::Write, 30 * 60)];
        let steps =
            plan_claim(NOW, "a", Operation::Write, paths(&["x"]), 5 * 60_000, &held).unwrap();
        assert_eq!(
            steps,
            vec![ClaimStep::Renew {
                lock: &held[0],
                expires_at_ms: NOW + 30 * 60_000
            }]
        );
        let steps = plan_claim(
            NOW,
            "a",
            Operation::Write,
            paths(&["x"]),
            60 * 60_000,
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
        let conflicts =
            plan_claim(NOW, "a", Operation::Write, paths(&["x"]), 5 * 60_000, &held).unwrap_err();
        assert_eq!(conflicts[0].holder, "b");
        let alone = [lock("a", "x", Operation::Read, 60)];
        assert!(
            plan_claim(
                NOW,
                "a",
                Operation::Write,
                paths(&["x"]),
                5 * 60_000,
                &alone
            )
            .is_ok()
        );
    }

    #[test]
    fn expired_locks_stop_counting_at_once() {
        let held = [lock("b", "x", Operation::Write, 0)];
        let steps =
            plan_claim(NOW, "a", Operation::Write, paths(&["x"]), 5 * 60_000, &held).unwrap();
        assert!(matches!(steps[0], ClaimStep::Grant { .. }));
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
            let outcome = plan_claim(NOW, "a", wanted_op, paths(&[wanted]), 5 * 60_000, &held);
            assert_eq!(
                outcome.is_err(),
                conflict,
                "{held_path} ({}) held, {wanted} ({}) claimed",
                held_op.as_str(),
                wanted_op.as_str()
            );
            // The same outcome with the roles swapped.
            let held = [lock("b", wanted, wanted_op, 60)];
            let swapped = plan_claim(NOW, "a", held_op, paths(&[held_path]), 5 * 60_000, &held);
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
        let steps = plan_claim(
            NOW,
            "a",
            Operation::Write,
            paths(&["src/a.rs"]),
            5 * 60_000,
            &held,
        )
        .unwrap();
        assert!(matches!(steps[0], ClaimStep::Grant { .. }));
        let steps = plan_claim(
            NOW,
            "a",
            Operation::Write,
            paths(&["src/**/*.rs"]),
            5,
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
