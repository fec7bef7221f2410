//! Fixed snapshots for tests; NOW is 2025-01-01 12:34:56 UTC.
#![allow(dead_code)]

use ccmulti_ui::model::{AgentRow, EventRow, LockRow, SessionRow, Snapshot, TaskRow};

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
        role: role.into(),
        status: "connected".into(),
        last_activity_ms: NOW - idle_ms,
        current_task: task.map(Into::into),
        lock_count: locks,
        workspace: None,
    }
}

pub fn lock(id: &str, session: &str, holder: &str, path: &str, op: &str, left_ms: i64) -> LockRow {
    LockRow {
        lock_id: id.into(),
        session_id: session.into(),
        agent_id: holder.into(),
        path: path.into(),
        operation: op.into(),
        expires_at_ms: NOW + left_ms,
        fencing_token: 40 + i64::from(id.as_bytes()[id.len() - 1] - b'0'),
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
        status: status.into(),
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
        kind: kind.into(),
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
