//! The commands a person runs, against the same database a live coordinator
//! serves: `status`, `release` (refused while the holder's worktree has the
//! file uncommitted, unless `--force`) and `db verify` on both backends (the
//! `--db` a live coordinator uses, a file or a URL); the rest never open a
//! database or open only a SQLite file (`plan` records into one, the
//! missing-file errors).

use std::process::Command;

use ccmulti::clock::SystemClock;
use ccmulti_testkit::*;
use serde_json::json;

fn ccmulti(args: &[&str]) -> (bool, String) {
    let mut command = Command::new(ccmulti_testkit::ccmulti_binary());
    for var in SECURITY_ENV {
        command.env_remove(var);
    }
    let output = command.args(args).output().expect("run ccmulti");
    let text = ccmulti_testkit::tools::said(&output);
    (output.status.success(), text)
}

on_both_backends!(
    status_release_and_verify_on_a_live_database,
    status_shows_where_agents_work_and_the_claims_that_wait,
    release_of_work_uncommitted_in_its_worktree_waits_for_force,
);

#[test]
fn connect_prints_the_mcp_line_the_environment_and_the_hooks() {
    let (ok, out) = ccmulti(&[
        "connect",
        "--session",
        "feature-x",
        "--agent",
        "impl_a",
        "--user",
        "alice",
        "--addr",
        "127.0.0.1:7999",
    ]);
    assert!(ok, "{out}");
    assert!(
        out.contains("claude mcp add --transport http ccmulti http://127.0.0.1:7999/mcp/v2/claude/alice__session__feature-x__impl_a"),
        "{out}"
    );
    assert!(out.contains("\"type\": \"http\""), "{out}");
    let binary = std::fs::canonicalize(ccmulti_testkit::ccmulti_binary()).unwrap();
    for expected in [
        "export CCMULTI_AGENT=alice__session__feature-x__impl_a".to_string(),
        "export CCMULTI_ADDR=127.0.0.1:7999".into(),
        "\"matcher\": \"Edit|Write|MultiEdit|NotebookEdit\"".into(),
        format!("\"command\": \"{} hook pre-tool\"", binary.display()),
        format!("\"command\": \"{} hook news\"", binary.display()),
        "\"UserPromptSubmit\"".into(),
        "ccmulti install-git-hook".into(),
    ] {
        assert!(out.contains(&expected), "{expected:?} missing from\n{out}");
    }
    let (ok, out) = ccmulti(&["connect", "--session", "a b", "--agent", "x"]);
    assert!(!ok);
    assert!(
        out.contains("contains ' '") && out.contains("A-Z a-z 0-9"),
        "{out}"
    );
}

#[test]
fn connect_with_a_token_adds_the_header_and_never_prints_the_token() {
    let secret = "connect-token-0123456789abcdef";
    let output = Command::new(ccmulti_testkit::ccmulti_binary())
        .args([
            "connect",
            "--session",
            "s",
            "--agent",
            "impl_a",
            "--user",
            "alice",
        ])
        .args(["--addr", "192.168.1.20:7477"])
        .env("CCMULTI_TOKEN", secret)
        .output()
        .expect("run ccmulti");
    let out = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{out}");
    assert!(
        out.contains("claude mcp add --transport http ccmulti http://192.168.1.20:7477/mcp/v2/claude/alice__session__s__impl_a --header 'Authorization: Bearer ${CCMULTI_TOKEN}'"),
        "{out}"
    );
    assert!(
        out.contains("\"Authorization\": \"Bearer ${CCMULTI_TOKEN}\""),
        "{out}"
    );
    assert!(out.contains("needs CCMULTI_TOKEN set"), "{out}");
    assert!(
        !out.contains(secret),
        "the token must not land in scrollback:\n{out}"
    );

    // Without a token, no header.
    let (ok, out) = ccmulti(&["connect", "--session", "s", "--agent", "impl_a"]);
    assert!(ok, "{out}");
    assert!(!out.contains("Authorization"), "{out}");
}

async fn status_release_and_verify_on_a_live_database(backend: Backend) {
    let server = backend.start().await;
    let db = server.db.clone();
    let root = server.root.display().to_string();
    let holder = server.agent_url("impl_a");
    call_tool(
        &holder,
        "claim_file_lock",
        json!({ "file_paths": ["src/main.rs", "src/lib.rs"] }),
    )
    .await;
    call_tool(
        &holder,
        "sync_progress",
        json!({ "task_id": "parser", "status": "in_progress", "progress_percentage": 45 }),
    )
    .await;

    let (ok, out) = ccmulti(&["status", "--db", &db]);
    assert!(ok, "{out}");
    for expected in [
        "session s1 (user u1)",
        "impl_a",
        "src/main.rs",
        "parser",
        "45%",
    ] {
        assert!(out.contains(expected), "{expected:?} missing from\n{out}");
    }

    // Looked at without taking news (which would itself write): what the
    // coordinator answers next must not be what it read before the release.
    let quiet = || call_tool(&holder, "check_agent_status", json!({ "news": false }));
    assert_eq!(
        quiet().await.structured()["locks"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let (ok, out) = ccmulti(&["release", "src/main.rs", "--db", &db, "--root", &root]);
    assert!(ok, "{out}");
    assert!(out.contains("released src/main.rs held by impl_a"), "{out}");
    let seen = quiet().await.structured()["locks"].clone();
    assert_eq!(seen.as_array().unwrap().len(), 1, "{seen}");
    assert_eq!(seen[0]["path"], "src/lib.rs", "{seen}");
    let (ok, out) = ccmulti(&["release", "--lock-id", "no-such-lock", "--db", &db]);
    assert!(!ok, "{out}");
    // Not an id of PostgreSQL's uuid form either: the same answer, not a type error.
    assert!(out.contains("no lock matched"), "{out}");

    // The holder hears about it on its next call, once.
    let first = call_tool(&holder, "check_agent_status", json!({})).await;
    let notices = first.structured()["notices"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(notices.len(), 1, "{}", first.text);
    assert!(
        notices[0]
            .as_str()
            .unwrap()
            .contains("src/main.rs was released by cli"),
        "{}",
        first.text
    );
    assert_eq!(first.structured()["locks"].as_array().unwrap().len(), 1);
    let again = call_tool(&holder, "check_agent_status", json!({})).await;
    assert!(
        again.structured().get("notices").is_none(),
        "{}",
        again.text
    );

    let (ok, out) = ccmulti(&["db", "verify", "--db", &db]);
    assert!(ok, "{out}");
    for expected in [
        "claude_code_sessions     present",
        "claude_code_agents       present",
        "file_locks               present",
        "task_progress            present",
        "idx_file_locks_expires_at",
        "schema version 4",
        "integrity_check: ok",
    ] {
        assert!(out.contains(expected), "{expected:?} missing from\n{out}");
    }
}

/// `ccmulti release` of a file its holder changed in a worktree of its own
/// and did not commit: refused with "commit first", exit 1, nothing
/// released; `--force` then releases it, recorded as work left behind.
async fn release_of_work_uncommitted_in_its_worktree_waits_for_force(backend: Backend) {
    let server = backend.start().await;
    let repo = server.root.clone();
    ccmulti_testkit::claude::git_repo(&repo, &[("app.py", "def total(xs):\n    return sum(xs)\n")]);
    let tree = repo.parent().expect("parent").join("impl_a");
    run_ok(
        Command::new("git")
            .args(["worktree", "add", "-q", "-b", "impl_a"])
            .arg(&tree)
            .current_dir(&repo),
    );
    // impl_a works in that worktree, as `ccmulti team` records it.
    let workspace = ccmulti_model::AgentWorkspace {
        worktree: tree.to_string_lossy().into_owned(),
        branch: Some("impl_a".into()),
        host: ccmulti::git::this_host(),
    };
    server
        .state
        .coord
        .set_workspace(&Server::agent("impl_a"), &workspace)
        .await
        .expect("place impl_a");
    hold(&server, "impl_a", "app.py").await;
    std::fs::write(tree.join("app.py"), "def total(xs):\n    return 0\n").expect("edit");
    let (db, root) = (server.db.as_str(), repo.to_string_lossy().into_owned());

    let mut command = Command::new(ccmulti_testkit::ccmulti_binary());
    for var in SECURITY_ENV {
        command.env_remove(var);
    }
    let refused = command
        .args(["release", "app.py", "--db", db, "--root", &root])
        .output()
        .expect("run ccmulti release");
    let said = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{said}");
    assert!(
        said.contains("impl_a: commit first: app.py has uncommitted changes in your worktree")
            && said.contains("nothing was released; --force releases anyway"),
        "{said}"
    );
    let held = server.store.session_view("s1").await.expect("view").locks;
    assert_eq!(
        held.iter()
            .map(|l| (l.path.as_str(), l.agent_id.as_str()))
            .collect::<Vec<_>>(),
        [("app.py", "impl_a")]
    );
    assert_eq!(
        server.store.path_versions("s1").await.expect("versions"),
        []
    );

    let (ok, out) = ccmulti(&["release", "app.py", "--db", db, "--root", &root, "--force"]);
    assert!(ok, "{out}");
    assert!(
        out.contains("released app.py held by impl_a in session s1 (forced release by cli)"),
        "{out}"
    );
    assert!(
        server
            .store
            .session_view("s1")
            .await
            .expect("view")
            .locks
            .is_empty()
    );
    let versions = server.store.path_versions("s1").await.expect("versions");
    assert_eq!(
        versions
            .iter()
            .map(|v| (v.path.as_str(), v.agent_id.as_str(), v.left_uncommitted))
            .collect::<Vec<_>>(),
        [("app.py", "impl_a", true)]
    );
}

fn ccmulti_with_stdin(args: &[&str], stdin: &str) -> (bool, String) {
    use std::io::Write;
    let mut command = Command::new(ccmulti_testkit::ccmulti_binary());
    for var in SECURITY_ENV {
        command.env_remove(var);
    }
    let mut child = command
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run ccmulti");
    // A command that fails on its arguments exits before reading: a broken pipe is fine.
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    let output = child.wait_with_output().unwrap();
    let text = ccmulti_testkit::tools::said(&output);
    (output.status.success(), text)
}

#[test]
fn plan_prints_the_split_and_records_planned_tasks() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.db");
    let db = db.to_str().unwrap();
    let root = ccmulti_testkit::interop::repo().join("tests/fixtures/planner_repo");
    let root = &root.display().to_string();
    let tasks = "1. Render invoices as PDF\n2. Issue refresh tokens on login\n- Add rate limiting to the login endpoint\n";
    let common = [
        "plan",
        "--db",
        db,
        "--root",
        root,
        "--session",
        "s1",
        "--user",
        "dev",
    ];
    let (ok, out) = ccmulti_with_stdin(&common, tasks);
    assert!(ok, "{out}");
    assert!(
        out.contains("shared_files T2-issue-refresh-tokens-login + T3-rate-limiting-login-endpoint: api/auth/login.py"),
        "{out}"
    );
    assert!(
        out.contains("claude mcp add --transport http ccmulti http://127.0.0.1:7477/mcp/v2/claude/dev__session__s1__implementer-1"),
        "{out}"
    );
    assert!(
        out.contains("recorded as planned tasks in session s1"),
        "{out}"
    );
    let (ok, status) = ccmulti(&["status", "--db", db]);
    assert!(ok, "{status}");
    assert_eq!(status.matches("planned").count(), 3, "{status}");

    let (ok, out) = ccmulti_with_stdin(&common, "\n# nothing here\n");
    assert!(!ok);
    assert!(out.contains("no tasks given"), "{out}");
    let (ok, out) = ccmulti_with_stdin(&[&common[..], &["--agents", "6"]].concat(), tasks);
    assert!(!ok);
    assert!(out.contains("6 is not in 2..=5"), "{out}");
    let many: String = (0..51).map(|i| format!("- task {i}\n")).collect();
    let (ok, out) = ccmulti_with_stdin(&common, &many);
    assert!(!ok);
    assert!(out.contains("51 tasks given; at most 50"), "{out}");
}

#[test]
fn connect_write_merges_hooks_into_existing_settings() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().display().to_string();
    let settings = dir.path().join(".claude/settings.json");
    std::fs::create_dir_all(settings.parent().unwrap()).unwrap();
    std::fs::write(
        &settings,
        r#"{"model": "opus", "permissions": {"allow": ["Bash(cargo test:*)"]},
            "hooks": {"PostToolUse": [{"matcher": "Write", "hooks": [{"type": "command", "command": "prettier --write"}]}]}}"#,
    )
    .unwrap();
    let connect = [
        "connect",
        "--session",
        "s1",
        "--agent",
        "impl_a",
        "--root",
        &root,
        "--write",
    ];
    let (ok, out) = ccmulti(&connect);
    assert!(ok, "{out}");
    assert!(out.contains("merged the ccmulti hooks into"), "{out}");
    let first = std::fs::read_to_string(&settings).unwrap();
    let merged: serde_json::Value = serde_json::from_str(&first).unwrap();
    assert_eq!(merged["model"], "opus");
    assert_eq!(merged["permissions"]["allow"][0], "Bash(cargo test:*)");
    let post = merged["hooks"]["PostToolUse"].as_array().unwrap();
    assert_eq!(post[0]["hooks"][0]["command"], "prettier --write");
    assert!(
        post[1]["hooks"][0]["command"]
            .as_str()
            .unwrap()
            .ends_with("ccmulti hook news")
    );
    assert_eq!(
        merged["hooks"]["PreToolUse"][0]["matcher"],
        "Edit|Write|MultiEdit|NotebookEdit"
    );
    assert!(
        merged["hooks"]["UserPromptSubmit"][0]["hooks"][0]["command"]
            .as_str()
            .unwrap()
            .ends_with("hook news")
    );

    // Twice: nothing added, the file untouched.
    let (ok, out) = ccmulti(&connect);
    assert!(
        ok && out.contains("already has the ccmulti hooks; unchanged"),
        "{out}"
    );
    assert_eq!(std::fs::read_to_string(&settings).unwrap(), first);

    // A file that is not JSON is refused and left as it was.
    std::fs::write(&settings, "{ \"model\": \"opus\", ").unwrap();
    let (ok, out) = ccmulti(&connect);
    assert!(!ok, "{out}");
    assert!(
        out.contains("is not valid JSON") && out.contains("Nothing was changed"),
        "{out}"
    );
    assert_eq!(
        std::fs::read_to_string(&settings).unwrap(),
        "{ \"model\": \"opus\", "
    );
}

/// A log written to a pipe or a file carries no colour codes (issue 11): the
/// binary's stderr goes to a file here, as under a service manager.
#[tokio::test]
async fn serve_logs_to_a_file_without_colour_codes() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("repo");
    std::fs::create_dir_all(&root).unwrap();
    let coordinator =
        ccmulti_testkit::binary::Coordinator::start(&dir.path().join("c.db"), &root, &[]);
    // A refused Host is logged as a warning, which the test's RUST_LOG=warn keeps.
    let refused = client()
        .get(format!("{}/health/detailed", coordinator.base))
        .header("host", "evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    let log = std::fs::read_to_string(&coordinator.log).unwrap();
    assert!(log.contains("SECURITY"), "the refusal is logged: {log}");
    assert!(
        !log.contains('\u{1b}'),
        "no escape codes in a log file: {log:?}"
    );
}

#[test]
fn commands_that_read_a_database_never_create_one() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("typo").join("coordinator.db");
    let db = missing.to_str().unwrap();
    for args in [
        &["status", "--db", db][..],
        &["db", "verify", "--db", db],
        &["dash", "--db", db],
        &["release", "--lock-id", "L1", "--db", db],
    ] {
        let (ok, out) = ccmulti(args);
        assert!(!ok, "{args:?} succeeded: {out}");
        assert!(
            out.contains(&format!("there is no ccmulti database at {db}")),
            "{args:?}: {out}"
        );
        assert!(out.contains("ccmulti up"), "{args:?}: {out}");
    }
    assert!(
        !dir.path().join("typo").exists(),
        "a directory was created at the mistyped path"
    );
}

/// A URL naming a database or a user the server does not have is the URL's
/// fault, said at once: not "unavailable, retry shortly".
#[test]
fn a_postgresql_url_with_no_such_database_or_user_says_to_check_it() {
    let server = ccmulti_testpg::PgServer::shared();
    let no_user = server
        .url("postgres")
        .replacen("postgres://postgres@", "postgres://nobody@", 1);
    for url in [server.url("no_such_database"), no_user] {
        let (ok, out) = ccmulti(&["status", "--db", &url]);
        assert!(!ok, "{url}: {out}");
        assert!(
            out.contains("check the URL") && !out.contains("retry"),
            "{url}: {out}"
        );
    }
}

/// The same on PostgreSQL: a database no coordinator has used (another
/// application's, say, named by a typo) is refused, and no ccmulti table is
/// created in it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_that_read_a_postgresql_database_never_create_tables_in_it() {
    let url = tokio::task::spawn_blocking(ccmulti_testpg::database)
        .await
        .expect("a database");
    for args in [
        &["status", "--db", &url][..],
        &["db", "verify", "--db", &url],
        &["dash", "--db", &url],
        &["release", "--lock-id", "L1", "--db", &url],
    ] {
        let (ok, out) = ccmulti(args);
        assert!(!ok, "{args:?} succeeded: {out}");
        assert!(out.contains("holds no ccmulti tables"), "{args:?}: {out}");
        assert!(out.contains("ccmulti serve --db"), "{args:?}: {out}");
    }
    let still_empty =
        ccmulti::store::PostgresStore::open_existing(&url, std::sync::Arc::new(SystemClock)).await;
    assert!(
        matches!(
            still_empty,
            Err(ccmulti::store::StoreError::MissingSchema { .. })
        ),
        "{still_empty:?}"
    );
}

async fn status_shows_where_agents_work_and_the_claims_that_wait(backend: Backend) {
    let server = backend.start().await;
    let db = server.db.clone();
    let holder = server.agent_url("impl_a");
    call_tool(
        &holder,
        "claim_file_lock",
        json!({ "file_paths": ["src/main.rs"] }),
    )
    .await;
    // As `ccmulti team` records an agent it starts.
    server
        .store
        .set_agent_workspace(
            &<ccmulti_model::VirtualUser as std::str::FromStr>::from_str("u1__session__s1__impl_b")
                .unwrap(),
            &ccmulti_model::AgentWorkspace {
                worktree: "/repo/.worktrees/impl_b".into(),
                branch: Some("feat/b".into()),
                host: None,
            },
            ccmulti::store::PlacedBy::Launcher,
        )
        .await
        .unwrap();
    let waiter = server.agent_url("impl_b");
    let waiting = tokio::spawn(async move {
        call_tool(
            &waiter,
            "claim_file_lock",
            json!({ "file_paths": ["src/main.rs"], "wait_seconds": 30 }),
        )
        .await
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let out = loop {
        let (ok, out) = ccmulti(&["status", "--db", &db]);
        assert!(ok, "{out}");
        if out.contains("waiting claims:") {
            break out;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no waiter shown:\n{out}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    for expected in [
        "in /repo/.worktrees/impl_b (branch feat/b)",
        "impl_b               write  src/main.rs",
        "behind impl_a",
    ] {
        assert!(out.contains(expected), "{expected:?} missing from\n{out}");
    }
    call_tool(
        &holder,
        "release_file_lock",
        json!({ "file_paths": ["src/main.rs"] }),
    )
    .await;
    let granted = waiting.await.unwrap();
    assert_eq!(granted.structured()["success"], true, "{}", granted.text);
    let (_, out) = ccmulti(&["status", "--db", &db]);
    assert!(!out.contains("waiting claims:"), "{out}");
}
