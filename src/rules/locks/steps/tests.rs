use super::*;

const NOW: Millis = 1_700_000_000_000;

fn lock(session: &str, agent: &str, path: &str, operation: Operation, left_s: i64) -> LockRow {
    LockRow {
        lock_id: format!("{agent}:{path}"),
        session_id: session.into(),
        agent_id: agent.into(),
        path: path.into(),
        operation,
        expires_at_ms: NOW + left_s * 1000,
        fencing_token: 7,
        yields_at_ms: None,
    }
}

fn request(agent: &str, operation: Operation, paths: &[&str]) -> ClaimRequest {
    ClaimRequest {
        session: "s".into(),
        agent: agent.into(),
        operation,
        paths: paths.iter().map(|p| p.to_string()).collect(),
        lease_ms: 5 * 60_000,
        idle_yield_ms: None,
    }
}

/// What a store that finds every row and counts tokens from 100 would answer.
fn apply_all(writes: &[LockWrite<'_>]) -> Vec<Applied> {
    writes
        .iter()
        .enumerate()
        .map(|(i, w)| match w {
            LockWrite::Expire(_) | LockWrite::Remove { .. } => Applied::Deleted(true),
            LockWrite::Grant { .. } => Applied::Inserted {
                lock_id: format!("new{i}"),
                fencing_token: 100 + i as i64,
            },
            LockWrite::Version { .. } => Applied::Recorded,
            LockWrite::Renew { lock, .. } | LockWrite::Shorten { lock, .. } => Applied::Renewed {
                fencing_token: lock.fencing_token,
            },
            LockWrite::Record(_) => Applied::Recorded,
        })
        .collect()
}

fn kinds(writes: &[LockWrite<'_>], applied: &[Applied]) -> Vec<&'static str> {
    writes
        .iter()
        .zip(applied)
        .filter_map(|(w, a)| w.event(a))
        .map(|e| e.kind.as_str())
        .collect()
}

fn run<S: LockStep>(step: &S, held: &[LockRow]) -> (S::Outcome, Freed, Vec<&'static str>) {
    let effects = step.effects(NOW, held);
    let applied = apply_all(&effects.writes);
    let events = kinds(&effects.writes, &applied);
    let (outcome, freed) = step.settle(effects, applied);
    (outcome, freed, events)
}

fn freed(list: &[(&str, &[&str])]) -> Freed {
    list.iter()
        .map(|(s, p)| (s.to_string(), p.iter().map(|p| p.to_string()).collect()))
        .collect()
}

#[test]
fn a_claim_expires_what_ran_out_then_grants_with_the_stores_token() {
    let r = request("a", Operation::Write, &["x", "y"]);
    let held = [lock("s", "b", "x", Operation::Write, 0)];
    let step = Claim {
        request: &r,
        record_conflicts: true,
    };
    let (outcome, freed_paths, events) = run(&step, &held);
    assert_eq!(events, ["expired", "granted", "granted"]);
    assert_eq!(freed_paths, freed(&[("s", &["x"])]));
    let ClaimOutcome::Granted(granted) = outcome else {
        panic!("a grant: {outcome:?}")
    };
    assert_eq!(
        granted,
        [
            Grant {
                lock_id: "new1".into(),
                path: "x".into(),
                operation: Operation::Write,
                expires_at_ms: NOW + 300_000,
                fencing_token: 101,
                renewed: false,
            },
            Grant {
                lock_id: "new2".into(),
                path: "y".into(),
                operation: Operation::Write,
                expires_at_ms: NOW + 300_000,
                fencing_token: 102,
                renewed: false,
            }
        ]
    );
}

#[test]
fn a_grants_event_carries_its_token_and_deadline() {
    let r = request("a", Operation::Read, &["x"]);
    let step = Claim {
        request: &r,
        record_conflicts: true,
    };
    let effects = step.effects(NOW, &[]);
    let done = Applied::Inserted {
        lock_id: "id".into(),
        fencing_token: 42,
    };
    let event = effects.writes[0].event(&done).expect("an event");
    assert_eq!(
        (
            event.kind,
            event.session_id,
            event.agent_id,
            event.file_path
        ),
        (EventKind::Granted, Some("s"), Some("a"), Some("x"))
    );
    assert_eq!(
        (event.operation, event.fencing_token),
        (Some(Operation::Read), Some(42))
    );
    assert_eq!(
        event.detail.as_deref(),
        Some("until 2023-11-14T22:18:20.000Z")
    );
}

#[test]
fn a_lease_renewed_as_a_read_frees_its_readers_and_keeps_its_token() {
    let held = [lock("s", "a", "x", Operation::Write, 60)];
    for (operation, frees) in [(Operation::Read, true), (Operation::Write, false)] {
        let r = request("a", operation, &["x"]);
        let step = Claim {
            request: &r,
            record_conflicts: true,
        };
        let (outcome, freed_paths, events) = run(&step, &held);
        assert_eq!(events, ["renewed"]);
        assert_eq!(freed_paths.is_empty(), !frees, "{operation}");
        let ClaimOutcome::Granted(granted) = outcome else {
            panic!("a renewal")
        };
        assert!(granted[0].renewed);
        assert_eq!(
            (granted[0].lock_id.as_str(), granted[0].fencing_token),
            ("a:x", 7)
        );
        assert_eq!(granted[0].operation, operation);
    }
}

#[test]
fn a_refused_claim_writes_only_its_conflicts_and_only_when_asked() {
    let held = [
        lock("s", "b", "x", Operation::Write, 60),
        lock("s", "c", "gone", Operation::Write, -1),
    ];
    let r = request("a", Operation::Write, &["x", "y"]);
    for record_conflicts in [true, false] {
        let step = Claim {
            request: &r,
            record_conflicts,
        };
        let (outcome, freed_paths, events) = run(&step, &held);
        let expected: &[&str] = if record_conflicts {
            &["expired", "conflict"]
        } else {
            &["expired"]
        };
        assert_eq!(events, expected);
        // What ran out is freed even when the claim is refused.
        assert_eq!(freed_paths, freed(&[("s", &["gone"])]));
        let ClaimOutcome::Conflicted(blockers) = outcome else {
            panic!("a conflict")
        };
        assert_eq!(
            (blockers[0].path.as_str(), blockers[0].holder.as_str()),
            ("x", "b")
        );
    }
    let step = Claim {
        request: &r,
        record_conflicts: true,
    };
    let effects = step.effects(NOW, &held);
    let event = effects.writes[1]
        .event(&Applied::Recorded)
        .expect("a conflict event");
    assert_eq!(event.file_path, Some("x"));
    assert_eq!(
        event.detail.as_deref(),
        Some("x held by b for write (60s left)")
    );
}

#[test]
fn a_delete_that_found_its_row_gone_records_and_frees_nothing() {
    let held = [
        lock("s", "a", "x", Operation::Write, -5),
        lock("t", "b", "y", Operation::Write, -5),
    ];
    let step = Sweep { limit: 10 };
    let effects = step.effects(NOW, &held);
    // Another sweeper removed x first.
    let applied = vec![Applied::Deleted(false), Applied::Deleted(true)];
    assert_eq!(kinds(&effects.writes, &applied), ["expired"]);
    let (swept, freed_paths) = step.settle(effects, applied);
    assert_eq!(
        swept,
        Swept {
            expired: 1,
            read: 2
        }
    );
    assert_eq!(freed_paths, freed(&[("t", &["y"])]));
}

#[test]
fn a_release_removes_own_live_locks_and_reports_the_rest() {
    let held = [
        lock("s", "a", "x", Operation::Write, 60),
        lock("s", "a", "old", Operation::Write, 0),
        lock("s", "b", "y", Operation::Write, 60),
    ];
    let scope = ReleaseScope::Paths(["x", "y", "old"].map(String::from).into());
    let step = Release {
        session: "s",
        agent: "a",
        scope: &scope,
        versions: &[],
    };
    assert_eq!(
        step.rows(NOW),
        LockRows::OnPaths {
            session: "s",
            paths: match &scope {
                ReleaseScope::Paths(p) => p,
                ReleaseScope::All => unreachable!(),
            }
        }
    );
    let (outcome, freed_paths, events) = run(&step, &held);
    assert_eq!(events, ["expired", "released"]);
    assert_eq!(freed_paths, freed(&[("s", &["old", "x"])]));
    assert_eq!(outcome.released, [held[0].clone()]);
    assert_eq!(outcome.not_held, ["old", "y"]);
}

#[test]
fn a_forced_release_names_who_and_tells_expired_from_live() {
    let held = [
        lock("s", "a", "x", Operation::Write, 60),
        lock("t", "b", "y", Operation::Read, 0),
    ];
    let selector = ForceSelector::Agent {
        session_id: None,
        agent_id: "a".into(),
    };
    let step = ForceRelease {
        selector: &selector,
        by: "cli",
        versions: &[],
    };
    let effects = step.effects(NOW, &held);
    let applied = apply_all(&effects.writes);
    let events: Vec<_> = effects
        .writes
        .iter()
        .zip(&applied)
        .filter_map(|(w, a)| w.event(a))
        .map(|e| (e.kind, e.session_id, e.detail))
        .collect();
    assert_eq!(
        events,
        [
            (
                EventKind::ForcedRelease,
                Some("s"),
                Some("released by cli".into())
            ),
            (
                EventKind::Expired,
                Some("t"),
                Some("released by cli".into())
            ),
        ]
    );
    let (released, freed_paths) = step.settle(effects, applied);
    assert_eq!(released, held);
    assert_eq!(freed_paths, freed(&[("s", &["x"]), ("t", &["y"])]));
}

#[test]
fn rows_that_may_overlap_a_pattern_start_with_its_literal_prefix() {
    assert_eq!(overlap_prefix("src/a.rs"), None);
    assert_eq!(overlap_prefix("src/api/"), Some("src/api"));
    assert_eq!(overlap_prefix("src/api/**/*.rs"), Some("src/api/"));
    assert_eq!(overlap_prefix("*"), Some(""));
    assert_eq!(overlap_prefix("a\\[1\\].rs"), Some("a"));
    let r = request("a", Operation::Write, &["x"]);
    let claim = Claim {
        request: &r,
        record_conflicts: true,
    };
    assert_eq!(claim.rows(NOW).session(), Some("s"));
    assert_eq!(Sweep { limit: 1 }.rows(NOW).session(), None);
}

#[test]
fn a_pull_back_shortens_quietly_what_the_step_moves() {
    let held = [
        lock("s", "a", "x", Operation::Write, 3600),
        lock("t", "b", "y", Operation::Read, 30),
    ];
    let step = PullBack {
        back_by: 60 * 60_000,
    };
    assert_eq!(step.rows(NOW), LockRows::EndingAfter { after: NOW });
    let effects = step.effects(NOW, &held);
    assert_eq!(
        effects.writes,
        [
            LockWrite::Shorten {
                lock: &held[0],
                expires_at_ms: NOW
            },
            LockWrite::Shorten {
                lock: &held[1],
                expires_at_ms: NOW
            }
        ]
    );
    let (changed, freed_paths, events) = run(&step, &held);
    assert_eq!((changed, events.len()), (2, 0));
    assert!(freed_paths.is_empty());
    // Without a step only what outlasts the longest grant is read, and capped.
    let capped = PullBack { back_by: 0 };
    assert_eq!(
        capped.rows(NOW),
        LockRows::EndingAfter {
            after: NOW + crate::rules::clock_step::MAX_LEASE_MS
        }
    );
    assert!(capped.effects(NOW, &held[..1]).writes.is_empty());
}

#[test]
fn a_release_records_the_versions_its_own_write_locks_cover_and_no_others() {
    use crate::rules::handover::NewVersion;
    use ccmulti_model::AgentWorkspace;
    let held = [
        lock("s", "a", "src/", Operation::Write, 60),
        lock("s", "a", "notes.md", Operation::Read, 60),
    ];
    let version = |path: &str| NewVersion {
        path: path.into(),
        agent: "a".into(),
        workspace: AgentWorkspace {
            worktree: "/wt/a".into(),
            branch: Some("a".into()),
            host: None,
        },
        commit: Some("c1".into()),
        blob: Some("b1".into()),
        left_uncommitted: false,
    };
    // Under the directory lock; under a read lock only; under no lock of the release.
    let versions = [
        version("src/app.py"),
        version("notes.md"),
        version("lib/x.py"),
    ];
    let step = Release {
        session: "s",
        agent: "a",
        scope: &ReleaseScope::All,
        versions: &versions,
    };
    let effects = step.effects(NOW, &held);
    let recorded: Vec<&str> = effects
        .writes
        .iter()
        .filter_map(|w| match w {
            LockWrite::Version { session, version } => {
                assert_eq!(*session, "s");
                Some(version.path.as_str())
            }
            _ => None,
        })
        .collect();
    assert_eq!(recorded, ["src/app.py"]);
    let applied = apply_all(&effects.writes);
    assert!(
        effects
            .writes
            .iter()
            .zip(&applied)
            .all(|(w, done)| !matches!(w, LockWrite::Version { .. }) || w.event(done).is_none()),
        "a version is no event"
    );
}
