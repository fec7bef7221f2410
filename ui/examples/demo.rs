//! The dashboard over made-up, moving data, for trying it by hand:
//! `cargo run -p ccmulti-ui --example demo` (NO_COLOR=1 for monochrome).

use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ccmulti_ui::model::{
    Action, AgentRow, EventKind, EventRow, LockRow, Operation, Role, SessionRow, Snapshot, TaskRow,
    TaskStatus,
};
use ccmulti_ui::{DataSource, HeaderInfo, run};

struct Demo {
    started: Instant,
    base_ms: i64,
    released: Vec<String>,
}

impl Demo {
    fn now_ms(&self) -> i64 {
        self.base_ms + i64::try_from(self.started.elapsed().as_millis()).unwrap_or(0)
    }
}

impl DataSource for Demo {
    fn snapshot(&mut self) -> Result<Snapshot, String> {
        let now = self.now_ms();
        let secs = i64::try_from(self.started.elapsed().as_secs()).unwrap_or(0);
        let s = "demo-session";
        let agent = |id: &str, role: Role, idle: i64, task: Option<&str>, locks| AgentRow {
            session_id: s.into(),
            agent_id: id.into(),
            role,
            status: "connected".into(),
            last_activity_ms: now - idle,
            current_task: task.map(Into::into),
            lock_count: locks,
            workspace: None,
            pending_handovers: Vec::new(),
            landing: None,
        };
        let lock = |id: &str, holder: &str, path: &str, operation: Operation, left: i64| LockRow {
            lock_id: id.into(),
            session_id: s.into(),
            agent_id: holder.into(),
            path: path.into(),
            operation,
            expires_at_ms: self.base_ms + left,
            fencing_token: 7,
            yields_at_ms: None,
        };
        let task = |agent: &str, id: &str, status: TaskStatus, pct: i64, msg: &str| TaskRow {
            session_id: s.into(),
            agent_id: agent.into(),
            task_id: id.into(),
            status,
            progress_percentage: u8::try_from(pct.min(100)).ok(),
            message: Some(msg.into()),
            updated_at_ms: now - 4_000,
        };
        let mut locks = vec![
            lock("L1", "impl-1", "src/store.rs", Operation::Write, 20_000),
            lock("L2", "impl-1", "src/model.rs", Operation::Read, 300_000),
            lock("L3", "impl-2", "src/model.rs", Operation::Read, 240_000),
            lock("L4", "impl-3", "docs/design.md", Operation::Write, 70_000),
        ];
        locks.retain(|l| !self.released.contains(&l.lock_id));
        Ok(Snapshot {
            now_ms: now,
            sessions: vec![SessionRow {
                session_id: s.into(),
                user_id: "you".into(),
                created_at_ms: self.base_ms,
            }],
            agents: vec![
                agent("planner", Role::Planner, 3_000, Some("T-1"), 0),
                agent("impl-1", Role::Implementer, 1_000, Some("T-2"), 2),
                agent("impl-2", Role::Implementer, 200_000, Some("T-3"), 1),
                agent("impl-3", Role::Implementer, 900_000, None, 1),
            ],
            locks,
            tasks: vec![
                task(
                    "planner",
                    "T-1",
                    TaskStatus::Planned,
                    0,
                    "waiting for review",
                ),
                task(
                    "impl-1",
                    "T-2",
                    TaskStatus::InProgress,
                    secs * 3,
                    "writing tests",
                ),
                task("impl-2", "T-3", TaskStatus::Completed, 100, "merged"),
            ],
            events: vec![EventRow {
                id: secs,
                session_id: Some(s.into()),
                at_ms: now - 1_000,
                kind: EventKind::Renewed,
                agent_id: Some("impl-1".into()),
                path: Some("src/store.rs".into()),
                detail: Some(format!("tick {secs}")),
            }],
            waiters: vec![],
        })
    }

    fn apply(&mut self, action: &Action) -> Result<String, String> {
        match action {
            Action::ReleaseLock { lock_id, path, .. } => {
                self.released.push(lock_id.clone());
                Ok(format!("released {path}"))
            }
            other => Err(format!("not handled: {other:?}")),
        }
    }
}

fn main() -> std::io::Result<()> {
    let base_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(0));
    let mut demo = Demo {
        started: Instant::now(),
        base_ms,
        released: Vec::new(),
    };
    let (tx, rx) = mpsc::channel();
    // Stands in for the coordinator's change notices.
    thread::spawn(move || {
        while tx.send(()).is_ok() {
            thread::sleep(Duration::from_secs(2));
        }
    });
    let header = HeaderInfo {
        address: "127.0.0.1:7420".into(),
        database: "/tmp/demo/.ccmulti/state.db".into(),
    };
    run(&mut demo, rx, header)
}
