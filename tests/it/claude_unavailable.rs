//! What the real Claude Code (the version pinned in tests/interop/claude)
//! shows its model when the coordination database is down. ccmulti answers
//! every such call with a JSON-RPC error -32000 in an HTTP 200 (README, "When
//! the database is down"): Claude Code hands the model that error's message
//! as the tool's result, word for word and marked as an error, and keeps the
//! server connected, so the model reads "unavailable ... retry" and a later
//! call goes through. (Answered with HTTP 503 instead, the model was shown
//! "Error POSTing to endpoint: " and the raw JSON body.) PostgreSQL only: on
//! SQLite the one unavailable condition is a full disk (`full_disk.rs`
//! checks its answer over HTTP).

use std::time::Duration;

use ccmulti_testkit::binary::Coordinator;
use ccmulti_testkit::claude::{
    FakeApi, after_file, claude_env, claude_or_skip, git_repo, run_within, seed_home, text,
    tool_use,
};
use ccmulti_testpg::PgServer;
use serde_json::json;

#[test]
fn claude_code_tells_its_model_the_database_is_unavailable_and_to_retry() {
    let Some(claude) = claude_or_skip(
        "claude_code_tells_its_model_the_database_is_unavailable_and_to_retry",
        &[],
    ) else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = std::fs::canonicalize(tmp.path()).expect("canonical");
    let root = dir.join("repo");
    git_repo(
        &root,
        &[("src/app.py", "x = 1\n"), ("src/util.py", "y = 2\n")],
    );
    let home = dir.join("home");
    seed_home(&home, &[root.as_path()]);
    let server = PgServer::start();
    let coordinator = Coordinator::start_postgres(&server.create_database(), &dir, &root, &[]);
    let gate = dir.join("database-down");
    let back = dir.join("database-back");
    let claim = |path: &str| {
        tool_use(
            "mcp__ccmulti__claim_file_lock",
            json!({ "file_paths": [path] }),
        )
    };
    let scripts = json!({ "impl_a": [
        claim("src/app.py"),
        after_file(&gate, claim("src/util.py")),
        after_file(&back, claim("src/util.py")),
        text("Done."),
    ]});
    let api = FakeApi::start(&dir, &scripts);
    let mcp = dir.join("mcp.json");
    let url = coordinator.url("e2e__session__down__impl_a");
    std::fs::write(
        &mcp,
        json!({ "mcpServers": { "ccmulti": { "type": "http", "url": url } } }).to_string(),
    )
    .expect("mcp config");
    let mut command = std::process::Command::new(&claude);
    claude_env(&mut command, &home, &api.base_url("impl_a"));
    command
        .current_dir(&root)
        .args(["-p", "Claim the files you edit.", "--mcp-config"])
        .arg(&mcp)
        .args(["--allowedTools", "mcp__ccmulti"]);
    let agent = std::thread::spawn(move || run_within(command, Duration::from_secs(120)));

    let granted = api.wait_tool_result("impl_a", 0, Duration::from_secs(90));
    assert!(!granted.is_error, "{}", granted.text);
    server.stop();
    std::fs::write(&gate, "").expect("gate");
    let refused = api.wait_tool_result("impl_a", 1, Duration::from_secs(60));
    server.start_again();
    std::fs::write(&back, "").expect("gate");
    let (code, stdout, stderr) = agent.join().expect("claude");
    assert_eq!(code, Some(0), "stdout: {stdout}\nstderr: {stderr}");

    assert!(refused.is_error, "{}", refused.text);
    assert!(
        refused
            .text
            .starts_with("the coordination database is unavailable right now")
            && refused.text.contains("retry"),
        "what the model was shown: {}",
        refused.text
    );
    // Still connected: the same call once the database is back is granted.
    let again = api.wait_tool_result("impl_a", 2, Duration::from_secs(30));
    assert!(!again.is_error, "{}", again.text);
    assert!(again.text.contains("\"success\":true"), "{}", again.text);
}
