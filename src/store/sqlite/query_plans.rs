//! The hot statements search indexes instead of scanning tables. Every
//! statement the store runs for a request (registering the caller, a claim
//! granted, renewed and refused, a directory claim, releases, progress,
//! news, the session view, an agent's workspace, a waiting claim's row) and for the sweeper (expiry, event pruning) is
//! caught as it runs, by SQLite's statement trace (installed on every
//! connection in test builds only), and then explained: no plan step may be a
//! full `SCAN` of a table or index. The plans are SQLite's choices without
//! statistics (ccmulti never runs ANALYZE), so they do not depend on how
//! much data the test database holds.

use std::cell::RefCell;
use std::collections::BTreeSet;

use rusqlite::Connection;
use rusqlite::trace::{TraceEvent, TraceEventCodes};

use crate::rules::locks::ReleaseScope;
use crate::rules::wait_cycle::JoinedWaits;
use crate::store::sqlite::test_support::{T0, open_temp};
use crate::store::{AgentWorkspace, ClaimOutcome, ClaimRequest, ProgressUpdate};
use ccmulti_model::Operation;
use ccmulti_model::TaskStatus;
use ccmulti_model::VirtualUser;
use std::str::FromStr;

thread_local! {
    /// The statements run on this thread while a test listens, as written (parameters unbound).
    static HEARD: RefCell<Option<BTreeSet<String>>> = const { RefCell::new(None) };
}

/// Installs the statement trace; called from `configure` on every connection in test builds.
pub(super) fn trace(conn: &Connection) {
    conn.trace_v2(TraceEventCodes::SQLITE_TRACE_STMT, Some(heard));
}

fn heard(event: TraceEvent<'_>) {
    if let TraceEvent::Stmt(_, sql) = event {
        HEARD.with(|h| {
            if let Some(set) = h.borrow_mut().as_mut() {
                set.insert(sql.to_owned());
            }
        });
    }
}

/// The statements `f` runs on this thread (the store's calls are synchronous,
/// so their statements run on the caller's thread whichever connection they use).
fn statements_of(f: impl FnOnce()) -> BTreeSet<String> {
    HEARD.with(|h| *h.borrow_mut() = Some(BTreeSet::new()));
    f();
    HEARD.with(|h| h.borrow_mut().take()).unwrap_or_default()
}

fn paths(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|p| p.to_string()).collect()
}

#[test]
fn hot_statements_search_indexes_and_scan_no_table() {
    let (_dir, store, clock) = open_temp();
    let heard = statements_of(|| {
        for who in ["u__session__s__a", "u__session__s__b"] {
            store
                .touch_agent(&VirtualUser::from_str(who).unwrap(), "url")
                .unwrap();
        }
        let x = paths(&["src/x.rs"]);
        let claim = |agent: &str, op, p: &BTreeSet<String>, minutes: i64| {
            store
                .claim_request(
                    &ClaimRequest {
                        session: "s".into(),
                        agent: agent.into(),
                        operation: op,
                        paths: p.clone(),
                        lease_ms: minutes * 60_000,
                        idle_yield_ms: None,
                    },
                    true,
                )
                .unwrap()
        };
        assert!(matches!(
            claim("a", Operation::Write, &x, 15),
            ClaimOutcome::Granted(_)
        ));
        assert!(matches!(
            claim("a", Operation::Write, &x, 15),
            ClaimOutcome::Granted(_)
        ));
        assert!(matches!(
            claim("b", Operation::Write, &x, 15),
            ClaimOutcome::Conflicted(_)
        ));
        assert!(matches!(
            claim("b", Operation::Read, &paths(&["docs/", "lib/*.rs"]), 15),
            ClaimOutcome::Granted(_)
        ));
        store
            .sync_progress(
                "s",
                "b",
                &ProgressUpdate {
                    task_id: "t".into(),
                    status: TaskStatus::InProgress,
                    progress_percentage: Some(10),
                    message: None,
                    affected_files: Some(vec!["src/x.rs".into()]),
                },
            )
            .unwrap();
        store
            .release("s", "a", &ReleaseScope::Paths(x.clone()))
            .unwrap();
        store.take_news("s", "b").unwrap();
        store.session_view("s").unwrap();
        // Where an agent works, and a claim that waits (its row written, read, deleted).
        store
            .set_agent_workspace(
                &VirtualUser::from_str("u__session__s__c").unwrap(),
                &AgentWorkspace {
                    worktree: "/r/c".into(),
                    branch: Some("c".into()),
                    host: None,
                },
                crate::store::PlacedBy::Launcher,
            )
            .unwrap();
        let JoinedWaits::Waiting(waiting) = store
            .record_waiter(
                &ClaimRequest {
                    session: "s".into(),
                    agent: "a".into(),
                    operation: Operation::Write,
                    paths: paths(&["docs/a.md"]),
                    lease_ms: 5 * 60_000,
                    idle_yield_ms: None,
                },
                T0 + 60_000,
            )
            .unwrap()
        else {
            panic!("a waits")
        };
        let now_text = crate::store::sqlite::time::to_text(store.now_ms());
        let shown = store
            .read(|c| crate::store::sqlite::waiters::waiters(c, &now_text, &[]))
            .unwrap();
        assert_eq!(shown.len(), 1);
        store.forget_waiter(waiting).unwrap();
        assert!(matches!(
            claim("a", Operation::Write, &paths(&["y.rs"]), 1),
            ClaimOutcome::Granted(_)
        ));
        clock.advance_ms(61_000);
        assert_eq!(store.sweep_expired().unwrap(), 1);
        store.release("s", "b", &ReleaseScope::All).unwrap();
        store.prune_events(2, 100).unwrap();
    });
    let mut scans = Vec::new();
    let mut explained = 0;
    store
        .read(|c| {
            for sql in &heard {
                let verb = sql.split_whitespace().next().unwrap_or("");
                if !["SELECT", "INSERT", "UPDATE", "DELETE", "WITH"]
                    .iter()
                    .any(|v| verb.eq_ignore_ascii_case(v))
                {
                    continue;
                }
                explained += 1;
                // Parameters left unbound, as the planner sees them when it prepares the statement.
                let mut stmt = c.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
                let mut rows = stmt.raw_query();
                let mut plan: Vec<String> = Vec::new();
                while let Some(row) = rows.next()? {
                    plan.push(row.get(3)?);
                }
                eprintln!("{sql}\n  {}", plan.join("\n  "));
                // A constant row is the select without FROM around a subquery.
                for step in plan.iter().filter(|s| {
                    s.starts_with("SCAN ") && *s != "SCAN CONSTANT ROW" && !scan_allowed(sql, s)
                }) {
                    scans.push(format!("{step}\n    in: {sql}"));
                }
            }
            Ok(())
        })
        .unwrap();
    assert!(explained >= 20, "too few statements heard: {heard:#?}");
    assert!(scans.is_empty(), "full scans:\n{}", scans.join("\n"));
}

/// Scans accepted, each with why: not on a hot path, and over a small table.
fn scan_allowed(sql: &str, step: &str) -> bool {
    // Counting a user's sessions runs only when a new session is created
    // (the sessions-per-user limit), over the sessions table, which holds
    // a few per user; an index for it would be a schema change.
    step == "SCAN claude_code_sessions"
        && sql.contains("COUNT(*) FROM claude_code_sessions WHERE user_id")
}
