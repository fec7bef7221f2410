//! A session that is over can be forgotten (`ccmulti forget`): refused while
//! its agents hold live locks (nothing changed), done with `--force` (they
//! are force-released first), logged; afterwards `ccmulti status` and the
//! snapshot the dashboard draws show nothing of it, and other sessions are as
//! they were. An agent's client listing its tools shows as `ready`. On both
//! backends.

use std::path::Path;

use ccmulti_testkit::*;
use serde_json::json;

on_both_backends!(a_forgotten_session_is_gone_from_status_and_the_dashboard);

fn ccmulti(data: &Path, args: &[&str]) -> (bool, String) {
    let output = ccmulti_testkit::claude::ccmulti()
        // Where a PostgreSQL run's command logs (beside the default SQLite file).
        .env("XDG_DATA_HOME", data)
        .args(args)
        .output()
        .expect("run ccmulti");
    let text = ccmulti_testkit::tools::said(&output);
    (output.status.success(), text)
}

async fn a_forgotten_session_is_gone_from_status_and_the_dashboard(backend: Backend) {
    let server = backend.start().await;
    let db = server.db.clone();
    let data = tempfile::tempdir().expect("tempdir");
    let ccmulti = |args: &[&str]| ccmulti(data.path(), args);
    let gone = server.url("claude", "u1__session__old-team__implementer-3");
    let kept = server.url("claude", "u1__session__new-team__implementer-1");
    // As Claude Code lists them, naming itself: only a served client's
    // listing is noted (an unnamed caller is listed no tools, and writes nothing).
    list_tools(&gone, Some("claude-code")).await;
    call_tool(
        &gone,
        "claim_file_lock",
        json!({ "file_paths": ["src/old.rs"] }),
    )
    .await;
    call_tool(
        &gone,
        "sync_progress",
        json!({ "task_id": "old-task", "status": "in_progress", "progress_percentage": 70 }),
    )
    .await;
    call_tool(
        &kept,
        "sync_progress",
        json!({ "task_id": "new-task", "status": "started" }),
    )
    .await;

    // Its client listed its tools: ready.
    let (ok, status) = ccmulti(&["status", "--db", &db, "--session", "old-team"]);
    assert!(ok, "{status}");
    let agent = status
        .lines()
        .find(|l| l.trim_start().starts_with("implementer-3"))
        .unwrap_or_else(|| panic!("{status}"));
    assert!(agent.contains(" ready "), "{status}");

    // A live lock keeps it: nothing changed, and the way out said.
    let (ok, out) = ccmulti(&["forget", "--db", &db, "old-team"]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("src/old.rs (implementer-3)")
            && out.contains("nothing was changed")
            && out.contains("--force"),
        "{out}"
    );
    let (_, status) = ccmulti(&["status", "--db", &db]);
    assert!(status.contains("session old-team"), "{status}");

    // Forced: its lock released first, then all of it gone, and said so.
    let (ok, out) = ccmulti(&["forget", "--db", &db, "--force", "old-team"]);
    assert!(ok, "{out}");
    assert!(
        out.contains(
            "forgot session old-team after force-releasing 1 live lock(s): 1 agent(s), 1 task(s)"
        ),
        "{out}"
    );
    let (ok, status) = ccmulti(&["status", "--db", &db]);
    assert!(ok, "{status}");
    for old in ["old-team", "implementer-3", "old-task", "src/old.rs"] {
        assert!(!status.contains(old), "{old} still shown:\n{status}");
    }
    assert!(
        status.contains("session new-team") && status.contains("new-task"),
        "{status}"
    );
    let snapshot = server.store.snapshot(1000).await.expect("snapshot");
    let shown = format!("{snapshot:?}");
    assert!(!shown.contains("old-team"), "{shown}");
    assert!(shown.contains("new-team"), "{shown}");

    // The forgetting is logged where `up` and `dash` log.
    let log = match backend {
        Backend::Sqlite => Path::new(&db).with_extension("log"),
        Backend::Postgres => data.path().join("ccmulti/coordinator.log"),
    };
    let logged = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        logged.contains("session forgotten") && logged.contains("old-team"),
        "{}: {logged}",
        log.display()
    );

    // Once more: nothing to forget, said so.
    let (ok, out) = ccmulti(&["forget", "--db", &db, "old-team"]);
    assert!(!ok && out.contains("no session old-team"), "{out}");
}
