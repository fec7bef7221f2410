//! Fixed snapshots for tests; NOW is 2025-01-01 12:34:56 UTC.
#![allow(dead_code)]

use ccmulti_ui::model::{
    AgentRow, AgentWorkspace, BranchLanding, EventKind, EventRow, LandingState, LockRow, Operation,
    PathVersion, PendingHandOver, Role, SessionRow, Snapshot, TaskRow, TaskStatus, WaiterRow,
};

pub const NOW: i64 = 1_735_734_896_000;
pub const S1: &str = "sess-a1b2c3";
pub const S2: &str = "sess-d4e5f6";

pub fn sessions() -> Vec<SessionRow> {
    vec![
        SessionRow {
            session_id: S1.into(),
            user_id: "alice".into(),
            created_at_ms: NOW - 3_600_000,
        },
        SessionRow {
            session_id: S2.into(),
            user_id: "bob".into(),
            created_at_ms: NOW - 600_000,
        },
    ]
}

pub fn agent(
    session: &str,
    id: &str,
    role: &str,
    idle_ms: i64,
    task: Option<&str>,
    locks: usize,
) -> AgentRow {
    AgentRow {
        session_id: session.into(),
        agent_id: id.into(),
        role: if role == "planner" {
            Role::Planner
        } else {
            Role::Implementer
        },
        status: "connected".into(),
        last_activity_ms: NOW - idle_ms,
        current_task: task.map(Into::into),
        lock_count: locks,
        workspace: None,
        pending_handovers: Vec::new(),
        landing: None,
    }
}

pub fn lock(id: &str, session: &str, holder: &str, path: &str, op: &str, left_ms: i64) -> LockRow {
    LockRow {
        lock_id: id.into(),
        session_id: session.into(),
        agent_id: holder.into(),
        path: path.into(),
        operation: Operation::parse(op).expect("an operation"),
        expires_at_ms: NOW + left_ms,
        fencing_token: 40 + i64::from(id.as_bytes()[id.len() - 1] - b'0'),
        yields_at_ms: None,
    }
}

pub fn task(
    session: &str,
    agent: &str,
    id: &str,
    status: &str,
    pct: Option<u8>,
    msg: Option<&str>,
) -> TaskRow {
    TaskRow {
        session_id: session.into(),
        agent_id: agent.into(),
        task_id: id.into(),
        status: TaskStatus::parse(status).expect("a status"),
        progress_percentage: pct,
        message: msg.map(Into::into),
        updated_at_ms: NOW - 30_000,
    }
}

pub fn event(id: i64, ago_ms: i64, kind: &str, agent: &str, path: &str, detail: &str) -> EventRow {
    EventRow {
        id,
        session_id: Some(S1.into()),
        at_ms: NOW - ago_ms,
        kind: EventKind::parse(kind).expect("an event kind"),
        agent_id: Some(agent.into()),
        path: Some(path.into()),
        detail: (!detail.is_empty()).then(|| detail.into()),
    }
}

pub fn empty() -> Snapshot {
    Snapshot {
        now_ms: NOW,
        ..Snapshot::default()
    }
}

/// A planner and three implementers: active, active, recent, inactive.
pub fn agents() -> Vec<AgentRow> {
    vec![
        agent(S1, "planner", "planner", 5_000, Some("T-1"), 1),
        agent(S1, "impl-1", "implementer", 12_000, Some("T-2"), 2),
        agent(
            S1,
            "impl-2",
            "implementer",
            3 * 60_000 + 20_000,
            Some("T-3"),
            2,
        ),
        agent(S1, "impl-3", "implementer", 25 * 60_000, None, 0),
    ]
}

/// A write lock 10 s from expiry, a read lock three agents share, a lock
/// under a minute, and one already expired.
pub fn locks() -> Vec<LockRow> {
    vec![
        lock("L1", S1, "impl-1", "src/store.rs", "write", 10_000),
        lock("L2", S1, "impl-1", "src/model.rs", "read", 5 * 60_000),
        lock(
            "L3",
            S1,
            "impl-2",
            "src/model.rs",
            "read",
            4 * 60_000 + 30_000,
        ),
        lock("L4", S1, "planner", "src/model.rs", "read", 45_000),
        lock(
            "L5",
            S1,
            "impl-2",
            "docs/very/deeply/nested/directory/tree/design-notes.md",
            "delete",
            -2_000,
        ),
    ]
}

/// Bars at 0 % (planned, even though it claims progress), 45 % and 100 %.
pub fn tasks() -> Vec<TaskRow> {
    vec![
        task(
            S1,
            "planner",
            "T-1",
            "planned",
            Some(30),
            Some("split the store work"),
        ),
        task(
            S1,
            "impl-1",
            "T-2",
            "in_progress",
            Some(45),
            Some("writing store tests"),
        ),
        task(S1, "impl-2", "T-3", "completed", Some(100), Some("merged")),
    ]
}

pub fn events() -> Vec<EventRow> {
    vec![
        event(6, 2_000, "granted", "impl-1", "src/store.rs", "write, 300s"),
        event(
            5,
            40_000,
            "conflict",
            "impl-2",
            "src/store.rs",
            "held by impl-1",
        ),
        event(4, 95_000, "renewed", "impl-1", "src/model.rs", ""),
        event(3, 4 * 60_000, "expired", "impl-3", "src/lib.rs", ""),
        event(
            2,
            7 * 60_000,
            "forced_release",
            "dashboard",
            "Cargo.toml",
            "held by impl-3",
        ),
        event(
            1,
            2 * 3_600_000,
            "granted",
            "planner",
            "src/model.rs",
            "read, 600s",
        ),
    ]
}

pub fn with(
    agents: Vec<AgentRow>,
    locks: Vec<LockRow>,
    tasks: Vec<TaskRow>,
    events: Vec<EventRow>,
) -> Snapshot {
    Snapshot {
        now_ms: NOW,
        sessions: sessions(),
        agents,
        locks,
        tasks,
        events,
        waiters: vec![],
    }
}

/// Everything above plus a second session with one agent, lock and task.
pub fn full() -> Snapshot {
    let mut s = with(agents(), locks(), tasks(), events());
    s.agents
        .push(agent(S2, "impl-9", "implementer", 1_000, Some("B-1"), 1));
    s.locks
        .push(lock("L9", S2, "impl-9", "web/app.ts", "write", 120_000));
    s.tasks
        .push(task(S2, "impl-9", "B-1", "started", Some(5), None));
    s
}

/// An agent placed in a worktree (by `ccmulti team`).
pub fn placed(mut agent: AgentRow, worktree: &str, branch: Option<&str>) -> AgentRow {
    agent.workspace = Some(AgentWorkspace {
        worktree: worktree.into(),
        branch: branch.map(Into::into),
        host: None,
    });
    agent
}

pub fn waiter(
    agent: &str,
    op: Operation,
    paths: &[&str],
    since_ago_ms: i64,
    blocked_by: &[&str],
) -> WaiterRow {
    WaiterRow {
        session_id: S1.into(),
        agent_id: agent.into(),
        operation: op,
        paths: paths.iter().map(|p| p.to_string()).collect(),
        since_ms: NOW - since_ago_ms,
        deadline_ms: NOW - since_ago_ms + 120_000,
        blocked_by: blocked_by.iter().map(|b| b.to_string()).collect(),
    }
}

/// What a person watches: a planner and four implementers, each in its own
/// worktree and branch, busy on tasks with messages; two of them wait on
/// impl-1's lock on src/store.rs, one on a lock shared by readers.
pub fn team() -> Snapshot {
    let wt = |name: &str| format!("/home/alice/work/shop/.worktrees/{name}");
    let agents = vec![
        placed(
            agent(S1, "planner", "planner", 4_000, Some("plan"), 0),
            "/home/alice/work/shop",
            Some("main"),
        ),
        placed(
            agent(S1, "impl-1", "implementer", 2_000, Some("T-2"), 2),
            &wt("impl-1"),
            Some("feat/store-tests"),
        ),
        placed(
            agent(S1, "impl-2", "implementer", 9_000, Some("T-3"), 1),
            &wt("impl-2"),
            Some("feat/model-cleanup"),
        ),
        placed(
            agent(S1, "impl-3", "implementer", 30_000, Some("T-4"), 0),
            &wt("impl-3"),
            None,
        ),
        agent(S1, "impl-4", "implementer", 70_000, Some("T-5"), 1),
    ];
    let locks = vec![
        lock("L1", S1, "impl-1", "src/store.rs", "write", 10 * 60_000),
        lock("L2", S1, "impl-1", "src/model.rs", "read", 5 * 60_000),
        lock("L3", S1, "impl-2", "src/model.rs", "read", 50_000),
        lock("L4", S1, "impl-4", "docs/**/*.md", "write", 12_000),
    ];
    let tasks = vec![
        task(
            S1,
            "planner",
            "plan",
            "in_progress",
            Some(80),
            Some("reviewing impl-1's branch"),
        ),
        task(
            S1,
            "impl-1",
            "T-2",
            "in_progress",
            Some(65),
            Some("store tests green, fixing clippy"),
        ),
        task(
            S1,
            "impl-2",
            "T-3",
            "in_progress",
            Some(30),
            Some("splitting model.rs"),
        ),
        task(
            S1,
            "impl-3",
            "T-4",
            "paused",
            Some(10),
            Some("needs src/store.rs"),
        ),
        task(
            S1,
            "impl-4",
            "T-5",
            "completed",
            Some(100),
            Some("docs rewritten"),
        ),
        task(S1, "impl-4", "T-6", "planned", None, None),
    ];
    let events = vec![
        event(9, 1_000, "granted", "impl-4", "docs/**/*.md", "write, 60s"),
        event(
            8,
            20_000,
            "conflict",
            "impl-3",
            "src/store.rs",
            "held by impl-1",
        ),
        event(
            7,
            25_000,
            "conflict",
            "impl-2",
            "src/store.rs",
            "held by impl-1",
        ),
        event(
            6,
            60_000,
            "granted",
            "impl-1",
            "src/store.rs",
            "write, 900s",
        ),
        event(5, 90_000, "released", "impl-2", "src/lib.rs", ""),
        event(
            4,
            120_000,
            "granted",
            "impl-2",
            "src/model.rs",
            "read, 300s",
        ),
    ];
    let mut s = with(agents, locks, tasks, events);
    s.sessions.truncate(1);
    s.waiters = vec![
        waiter(
            "impl-3",
            Operation::Write,
            &["src/store.rs"],
            20_000,
            &["L1"],
        ),
        waiter(
            "impl-2",
            Operation::Write,
            &["src/store.rs", "src/model.rs"],
            5_000,
            &["L1"],
        ),
    ];
    s
}

/// A team with long names, as a new user's trial had them: a planner and
/// three implementers (one with a 32-character name) on `ccmulti/invoicer/…`
/// branches with long task ids and messages, a second team working on
/// another repository, and an implementer of an earlier run, inactive for
/// hours, with its task stuck at 70 %.
pub fn long_team() -> Snapshot {
    const INV: &str = "invoicer";
    const BILL: &str = "billing-api";
    const LONG: &str = "implementer-12-frontend-refactor";
    let branch = |session: &str, agent: &str| format!("ccmulti/{session}/{agent}");
    let wt = |session: &str, agent: &str| format!("/home/alice/work/{session}-{agent}");
    let agents = vec![
        placed(
            agent(INV, "planner", "planner", 6_000, Some("plan"), 0),
            "/home/alice/work/invoicer",
            Some("main"),
        ),
        placed(
            agent(
                INV,
                "implementer-1",
                "implementer",
                3_000,
                Some("T1-rate-standardisation"),
                1,
            ),
            &wt(INV, "implementer-1"),
            Some(&branch(INV, "implementer-1")),
        ),
        placed(
            agent(
                INV,
                "implementer-2",
                "implementer",
                8_000,
                Some("T2-invoice-pdf-export"),
                0,
            ),
            &wt(INV, "implementer-2"),
            Some(&branch(INV, "implementer-2")),
        ),
        placed(
            agent(
                INV,
                LONG,
                "implementer",
                40_000,
                Some("T12-forms-refactor"),
                1,
            ),
            &wt(INV, "frontend"),
            Some(&branch(INV, "frontend")),
        ),
        agent(
            INV,
            "implementer-3",
            "implementer",
            3 * 3_600_000,
            Some("T3-old-plan"),
            0,
        ),
        placed(
            agent(
                BILL,
                "implementer-1",
                "implementer",
                15_000,
                Some("B4-webhook-retries"),
                1,
            ),
            &wt(BILL, "implementer-1"),
            Some(&branch(BILL, "implementer-1")),
        ),
    ];
    let locks = vec![
        lock(
            "L1",
            INV,
            "implementer-1",
            "src/billing/rates.rs",
            "write",
            9 * 60_000,
        ),
        lock(
            "L2",
            INV,
            LONG,
            "web/src/forms/InvoiceForm.tsx",
            "write",
            4 * 60_000,
        ),
        lock(
            "L3",
            BILL,
            "implementer-1",
            "src/webhooks/retry.rs",
            "write",
            50_000,
        ),
    ];
    let tasks = vec![
        task(
            INV,
            "planner",
            "plan",
            "in_progress",
            Some(90),
            Some("3 tasks handed out; watching for conflicts"),
        ),
        task(
            INV,
            "implementer-1",
            "T1-rate-standardisation",
            "in_progress",
            Some(70),
            Some("rates in one table; fixing the rounding tests"),
        ),
        task(
            INV,
            "implementer-2",
            "T2-invoice-pdf-export",
            "in_progress",
            Some(35),
            Some("PDF layout done, waiting for rates.rs"),
        ),
        task(
            INV,
            LONG,
            "T12-forms-refactor",
            "started",
            Some(10),
            Some("splitting InvoiceForm into field components"),
        ),
        task(
            INV,
            "implementer-3",
            "T3-old-plan",
            "in_progress",
            Some(70),
            Some("from an earlier run"),
        ),
        task(
            BILL,
            "implementer-1",
            "B4-webhook-retries",
            "in_progress",
            Some(55),
            Some("exponential backoff with jitter"),
        ),
    ];
    let at_inv = |mut e: EventRow| {
        e.session_id = Some(INV.into());
        e
    };
    let events = vec![
        at_inv(event(
            7,
            2_000,
            "conflict",
            "implementer-2",
            "src/billing/rates.rs",
            "src/billing/rates.rs held by implementer-1 for write (538s left)",
        )),
        at_inv(event(
            6,
            40_000,
            "granted",
            LONG,
            "web/src/forms/InvoiceForm.tsx",
            "until 2025-01-01T12:38:56.000Z",
        )),
        at_inv(event(
            5,
            60_000,
            "granted",
            "implementer-1",
            "src/billing/rates.rs",
            "until 2025-01-01T12:43:56.000Z",
        )),
        at_inv(event(
            4,
            3 * 3_600_000,
            "expired",
            "implementer-3",
            "src/old.rs",
            "",
        )),
    ];
    let mut s = with(agents, locks, tasks, events);
    s.sessions = vec![
        SessionRow {
            session_id: INV.into(),
            user_id: "alice".into(),
            created_at_ms: NOW - 4 * 3_600_000,
        },
        SessionRow {
            session_id: BILL.into(),
            user_id: "alice".into(),
            created_at_ms: NOW - 1_800_000,
        },
    ];
    s.waiters = vec![WaiterRow {
        session_id: INV.into(),
        ..waiter(
            "implementer-2",
            Operation::Write,
            &["src/billing/rates.rs"],
            2_000,
            &["L1"],
        )
    }];
    s
}

/// More of everything than a screen holds: 12 agents, 20 locks, 8 tasks,
/// 40 events.
pub fn crowded() -> Snapshot {
    let agents = (1..=12)
        .map(|i| {
            let id = format!("implementer-{i}");
            let task = format!("T{i}");
            agent(S1, &id, "implementer", i * 7_000, Some(&task), 1)
        })
        .collect();
    let locks = (1..=20)
        .map(|i| {
            let holder = format!("implementer-{}", i % 12 + 1);
            let path = format!("src/module_{i}/mod.rs");
            lock(&format!("L{i}"), S1, &holder, &path, "write", i * 30_000)
        })
        .collect();
    let tasks = (1..=8)
        .map(|i| {
            let id = format!("implementer-{i}");
            let pct = u8::try_from(i * 12).expect("small");
            task(
                S1,
                &id,
                &format!("T{i}"),
                "in_progress",
                Some(pct),
                Some("on it"),
            )
        })
        .collect();
    let events = (1..=40)
        .rev()
        .map(|i| {
            let who = format!("implementer-{}", i % 12 + 1);
            let path = format!("src/module_{}/mod.rs", i % 20 + 1);
            event(
                i,
                (41 - i) * 9_000,
                "granted",
                &who,
                &path,
                "until 2025-01-01T12:44:56.000Z",
            )
        })
        .collect();
    with(agents, locks, tasks, events)
}

/// A version `from` recorded for `path`, handed over to the holder of `lock`.
pub fn handover(
    lock: &str,
    holder: &str,
    path: &str,
    from: &str,
    commit: Option<&str>,
) -> PendingHandOver {
    PendingHandOver {
        lock_id: lock.into(),
        agent_id: holder.into(),
        version: PathVersion {
            id: 1,
            session_id: S1.into(),
            path: path.into(),
            agent_id: from.into(),
            workspace: AgentWorkspace {
                worktree: format!("/home/alice/work/shop/.worktrees/{from}"),
                branch: Some(format!("ccmulti/{S1}/{from}")),
                host: None,
            },
            commit: commit.map(Into::into),
            blob: commit.map(|_| "5d41402abc4b2a76b9719d911017c592".into()),
            left_uncommitted: commit.is_none(),
            recorded_at_ms: NOW - 60_000,
        },
    }
}

/// The team, with impl-4 (holding docs/**/*.md) told to bring in impl-1's
/// committed docs/guide/setup.md and warned of impl-3's uncommitted
/// docs/index.md.
pub fn team_with_handovers() -> Snapshot {
    let mut s = team();
    let impl4 = s
        .agents
        .iter_mut()
        .find(|a| a.agent_id == "impl-4")
        .expect("impl-4 in the team");
    impl4.pending_handovers = vec![
        handover(
            "L4",
            "impl-4",
            "docs/guide/setup.md",
            "impl-1",
            Some("9f2c4e1a7b3d5f60718293a4b5c6d7e8f9012345"),
        ),
        handover("L4", "impl-4", "docs/index.md", "impl-3", None),
    ];
    s
}

/// The team with its implementers' branches looked at: impl-1's holds three
/// commits not landed in main, impl-2's has landed, impl-3's branch is gone;
/// the planner (on main itself) and impl-4 (no worktree) have none.
pub fn team_with_landings() -> Snapshot {
    let mut s = team();
    for a in &mut s.agents {
        let state = match a.agent_id.as_str() {
            "impl-1" => LandingState::NotLanded { commits: 3 },
            "impl-2" => LandingState::Landed,
            "impl-3" => {
                if let Some(w) = a.workspace.as_mut() {
                    w.branch = Some("feat/old-docs".into());
                }
                LandingState::NoBranch
            }
            _ => continue,
        };
        let branch = a
            .workspace
            .as_ref()
            .and_then(|w| w.branch.clone())
            .expect("a branch");
        a.landing = Some(BranchLanding {
            branch,
            base: "main".into(),
            state,
        });
    }
    s
}
