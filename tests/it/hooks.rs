//! The Claude Code hooks, as Claude Code runs them: the real binary, fed the
//! documented hook input samples in tests/fixtures/hooks, against a real
//! coordinator on a real listener, on both backends (the hook with the
//! coordinator down has none and runs once).

use std::path::Path;
use std::time::{Duration, Instant};

use ccmulti_testkit::*;
use serde_json::{Value, json};

const FIXTURE_PROJECT: &str = "/home/alice/shop";

on_both_backends!(
    pre_tool_denies_an_edit_of_a_file_another_agent_holds,
    pre_tool_allows_and_claims_a_free_file,
    pre_tool_does_nothing_without_ccmulti_agent_or_outside_the_project,
    the_hooks_send_the_terminals_token,
    news_is_told_once_and_then_nothing,
    a_lock_taken_at_an_edit_lapses_once_the_agent_moved_on,
    a_lock_taken_at_an_edit_gives_way_to_an_agent_that_wants_it_once_left_idle,
    an_edit_of_another_file_lets_go_of_the_lock_the_hook_took,
    the_end_of_a_turn_lets_go_of_the_locks_the_hook_took,
    a_refused_edit_waits_for_the_file_and_goes_through_once_it_is_free,
    the_first_prompt_waits_for_the_agents_tools_and_only_the_first,
    a_change_committed_after_its_release_is_brought_in_at_the_next_edit,
);

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    /// The hook's JSON, after checking it raised no objection: it exited 0 and
    /// set no permissionDecision, so Claude Code's own permission rules apply.
    fn no_objection(&self) -> Value {
        assert_eq!(self.code, Some(0), "{}", self.stderr);
        let out = self.json();
        assert!(
            out["hookSpecificOutput"]
                .get("permissionDecision")
                .is_none(),
            "{out}"
        );
        out
    }

    fn json(&self) -> Value {
        serde_json::from_str(self.stdout.trim()).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}): {:?}\nstderr: {}",
                self.stdout, self.stderr
            )
        })
    }
}

fn fixture(name: &str, project: Option<&Path>) -> String {
    let path = format!(
        "{}/tests/fixtures/hooks/{name}",
        ccmulti_testkit::interop::repo().display()
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    match project {
        Some(root) => text.replace(FIXTURE_PROJECT, &root.display().to_string()),
        None => text,
    }
}

/// Runs `ccmulti hook ARGS` with `stdin`, the terminal's environment being `env` only.
async fn hook(args: &[&str], stdin: String, env: &[(&str, &str)]) -> Run {
    use tokio::io::AsyncWriteExt;
    let mut command = tokio::process::Command::new(ccmulti_testkit::ccmulti_binary());
    command.arg("hook").args(args);
    for var in HOOK_ENV {
        command.env_remove(var);
    }
    // The first prompt's wait for the agent's tools is for a real Claude
    // Code; these agents list none unless a test says so.
    command.env("CCMULTI_HOOK_TOOLS_WAIT_SECONDS", "0");
    // A refused edit is refused at once unless a test says to wait: the
    // coordinator's waits run on a test's manual clock.
    command.env("CCMULTI_HOOK_WAIT_SECONDS", "0");
    command.envs(env.iter().copied());
    command
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = command.spawn().expect("run ccmulti hook");
    let mut input = child.stdin.take().expect("stdin");
    match input.write_all(stdin.as_bytes()).await {
        // A hook may rightly not read its input; what it does is in its output.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        other => other.expect("write stdin"),
    }
    drop(input);
    let output = child.wait_with_output().await.expect("wait");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn agent(name: &str) -> String {
    format!("u1__session__s1__{name}")
}

async fn pre_tool(server: &Server, who: &str, sample: &str, extra: &[(&str, &str)]) -> Run {
    let me = agent(who);
    let mut env = vec![
        ("CCMULTI_AGENT", me.as_str()),
        ("CCMULTI_URL", server.base.as_str()),
    ];
    env.extend_from_slice(extra);
    hook(&["pre-tool"], fixture(sample, Some(&server.root)), &env).await
}

async fn news(server: &Server, who: &str, sample: &str) -> Run {
    let me = agent(who);
    let env = [
        ("CCMULTI_AGENT", me.as_str()),
        ("CCMULTI_URL", server.base.as_str()),
    ];
    hook(&["news"], fixture(sample, Some(&server.root)), &env).await
}

async fn locks(server: &Server) -> Vec<(String, String, String)> {
    let status = call_tool(
        &server.agent_url("observer"),
        "check_agent_status",
        json!({ "news": false }),
    )
    .await;
    status.structured()["locks"]
        .as_array()
        .expect("locks")
        .iter()
        .map(|l| {
            (
                l["path"].as_str().unwrap_or_default().to_owned(),
                l["agent_id"].as_str().unwrap_or_default().to_owned(),
                l["operation"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

async fn pre_tool_denies_an_edit_of_a_file_another_agent_holds(backend: Backend) {
    let server = backend.start().await;
    hold(&server, "impl_b", "src/cart.rs").await;

    for sample in ["pre_tool_use_edit.json", "pre_tool_use_multi_edit.json"] {
        let run = pre_tool(&server, "impl_a", sample, &[]).await;
        assert_eq!(run.code, Some(0), "{}", run.stderr);
        let out = run.json();
        let specific = &out["hookSpecificOutput"];
        assert_eq!(specific["hookEventName"], "PreToolUse");
        assert_eq!(specific["permissionDecision"], "deny", "{out}");
        let reason = specific["permissionDecisionReason"].as_str().unwrap();
        for expected in [
            "src/cart.rs is locked by impl_b (write, 1",
            "left) in session s1",
            "work on something else",
            "check_agent_status",
            "claim_file_lock with wait_seconds",
        ] {
            assert!(
                reason.contains(expected),
                "{expected:?} missing from {reason}"
            );
        }
    }
    // Nothing was taken from the holder.
    assert_eq!(
        locks(&server).await,
        [("src/cart.rs".into(), "impl_b".into(), "write".into())]
    );
}

async fn pre_tool_allows_and_claims_a_free_file(backend: Backend) {
    let server = backend.start().await;
    let run = pre_tool(&server, "impl_a", "pre_tool_use_write.json", &[]).await;
    let out = run.no_objection();
    let context = out["hookSpecificOutput"]["additionalContext"]
        .as_str()
        .unwrap();
    assert!(
        context.contains("claimed a write lock on src/checkout.rs for you"),
        "{context}"
    );
    assert_eq!(
        locks(&server).await,
        [("src/checkout.rs".into(), "impl_a".into(), "write".into())]
    );

    // The next edit renews the lock silently.
    let again = pre_tool(&server, "impl_a", "pre_tool_use_write.json", &[]).await;
    assert_eq!(
        (again.code, again.stdout.as_str()),
        (Some(0), ""),
        "{}",
        again.stderr
    );

    // Now another agent editing it is refused, naming the auto-claimed holder.
    let other = pre_tool(&server, "impl_b", "pre_tool_use_write.json", &[]).await;
    let out = other.json();
    assert_eq!(out["hookSpecificOutput"]["permissionDecision"], "deny");
    assert!(out.to_string().contains("locked by impl_a (write"), "{out}");

    // NotebookEdit names its file in notebook_path.
    let notebook = pre_tool(&server, "impl_a", "pre_tool_use_notebook_edit.json", &[]).await;
    assert!(
        notebook.stdout.contains("notebooks/sales.ipynb"),
        "{}",
        notebook.stdout
    );

    // With auto-claim off, a free file is allowed and nothing is claimed.
    let off = pre_tool(
        &server,
        "impl_c",
        "pre_tool_use_edit.json",
        &[("CCMULTI_HOOK_AUTO_CLAIM", "off")],
    )
    .await;
    assert_eq!(
        (off.code, off.stdout.as_str()),
        (Some(0), ""),
        "{}",
        off.stderr
    );
    assert!(!locks(&server).await.iter().any(|l| l.0 == "src/cart.rs"));
}

async fn pre_tool_does_nothing_without_ccmulti_agent_or_outside_the_project(backend: Backend) {
    let server = backend.start().await;
    // No CCMULTI_AGENT: silent, even with no coordinator anywhere.
    let dead = closed_port_url();
    let run = hook(
        &["pre-tool"],
        fixture("pre_tool_use_edit.json", None),
        &[("CCMULTI_URL", dead.as_str())],
    )
    .await;
    assert_eq!(
        (run.code, run.stdout.as_str(), run.stderr.as_str()),
        (Some(0), "", "")
    );
    let run = news_without_agent().await;
    assert_eq!(
        (run.code, run.stdout.as_str(), run.stderr.as_str()),
        (Some(0), "", "")
    );

    // A file outside the project root is nobody's to lock.
    let me = agent("impl_a");
    let root = server.root.display().to_string();
    let run = hook(
        &["pre-tool"],
        fixture("pre_tool_use_edit.json", None),
        &[
            ("CCMULTI_AGENT", &me),
            ("CCMULTI_URL", &server.base),
            ("CLAUDE_PROJECT_DIR", &root),
        ],
    )
    .await;
    assert_eq!(
        (run.code, run.stdout.as_str()),
        (Some(0), ""),
        "{}",
        run.stderr
    );
    assert!(locks(&server).await.is_empty());

    // A bad identity or bad input is an error that says what is wrong.
    let run = hook(
        &["pre-tool"],
        fixture("pre_tool_use_edit.json", None),
        &[("CCMULTI_AGENT", "a b")],
    )
    .await;
    assert_eq!(run.code, Some(1));
    assert!(
        run.stderr.contains("CCMULTI_AGENT") && run.stderr.contains("__session__"),
        "{}",
        run.stderr
    );
    let run = hook(
        &["pre-tool"],
        "not json".into(),
        &[("CCMULTI_AGENT", &me), ("CCMULTI_URL", &server.base)],
    )
    .await;
    assert_eq!(run.code, Some(1));
    assert!(run.stderr.contains("not JSON"), "{}", run.stderr);
}

async fn news_without_agent() -> Run {
    hook(&["news"], fixture("user_prompt_submit.json", None), &[]).await
}

#[tokio::test]
async fn pre_tool_with_the_coordinator_down_warns_or_denies_as_configured() {
    let dead = closed_port_url();
    let me = agent("impl_a");
    let root = std::env::temp_dir();
    let offline = |setting: Option<&'static str>| {
        let mut env = vec![("CCMULTI_AGENT", me.clone()), ("CCMULTI_URL", dead.clone())];
        env.extend(setting.map(|s| ("CCMULTI_HOOK_OFFLINE", s.to_owned())));
        let stdin = fixture("pre_tool_use_edit.json", Some(&root));
        async move {
            let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
            hook(&["pre-tool"], stdin, &env).await
        }
    };
    let started = Instant::now();
    let run = offline(None).await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "a hook must be fast"
    );
    let out = run.no_objection();
    let warning = out["systemMessage"].as_str().unwrap();
    assert!(
        warning.contains("not reachable") && warning.contains("without a lock check"),
        "{warning}"
    );

    let out = offline(Some("deny")).await.json();
    assert_eq!(
        out["hookSpecificOutput"]["permissionDecision"], "deny",
        "{out}"
    );
    assert!(
        out.to_string().contains("CCMULTI_HOOK_OFFLINE=deny"),
        "{out}"
    );

    // A setting that is not understood is refused by name, with what is accepted.
    let run = offline(Some("maybe")).await;
    assert_ne!(run.code, Some(0));
    assert!(
        run.stderr.contains("maybe") && run.stderr.contains("allow") && run.stderr.contains("deny"),
        "{}",
        run.stderr
    );
}

async fn the_hooks_send_the_terminals_token(backend: Backend) {
    use ccmulti::rules::access::AccessPolicy;
    use ccmulti::state::Security;
    const TOKEN: &str = "hook-token-0123456789abcdef";
    let access = AccessPolicy::new(Some(TOKEN), "127.0.0.1".parse().unwrap(), &[], &[]).unwrap();
    let server = backend
        .start_with(Security {
            access,
            admitted_clients: Vec::new(),
            ..Security::default()
        })
        .await;
    let held = async || {
        let snap = server.store.snapshot(0).await.unwrap();
        snap.locks
            .iter()
            .map(|l| (l.path.clone(), l.agent_id.clone()))
            .collect::<Vec<_>>()
    };

    // Without the token the coordinator refuses, and the user is told what to set.
    for token in [None, Some("wrong-token-0123456789abcdef")] {
        let extra: Vec<(&str, &str)> = token.map(|t| ("CCMULTI_TOKEN", t)).into_iter().collect();
        let run = pre_tool(&server, "impl_a", "pre_tool_use_write.json", &extra).await;
        let warning = run.no_objection()["systemMessage"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(warning.contains("CCMULTI_TOKEN"), "{warning}");
        assert!(held().await.is_empty());
    }

    let run = pre_tool(
        &server,
        "impl_a",
        "pre_tool_use_write.json",
        &[("CCMULTI_TOKEN", TOKEN)],
    )
    .await;
    run.no_objection();
    assert_eq!(held().await, [("src/checkout.rs".into(), "impl_a".into())]);
    let me = agent("impl_a");
    let news = hook(
        &["news"],
        fixture("user_prompt_submit.json", Some(&server.root)),
        &[
            ("CCMULTI_AGENT", me.as_str()),
            ("CCMULTI_URL", server.base.as_str()),
            ("CCMULTI_TOKEN", TOKEN),
        ],
    )
    .await;
    assert_eq!(news.code, Some(0), "{}", news.stderr);
    assert!(!news.stderr.contains("401"), "{}", news.stderr);
}

async fn news_is_told_once_and_then_nothing(backend: Backend) {
    let server = backend.start().await;
    let impl_b = server.agent_url("impl_b");
    let impl_a = server.agent_url("impl_a");
    call_tool(
        &impl_b,
        "claim_file_lock",
        json!({ "file_paths": ["src/cart.rs"] }),
    )
    .await;
    // impl_a is refused src/cart.rs by its hook: that is a lock it wanted.
    let denied = pre_tool(&server, "impl_a", "pre_tool_use_edit.json", &[]).await;
    assert_eq!(
        denied.json()["hookSpecificOutput"]["permissionDecision"],
        "deny"
    );
    call_tool(
        &impl_b,
        "release_file_lock",
        json!({ "file_paths": ["src/cart.rs"] }),
    )
    .await;
    call_tool(
        &impl_b,
        "sync_progress",
        json!({ "task_id": "payments", "status": "completed", "message": "merged" }),
    )
    .await;
    // A person frees a lock of impl_a's; another of its locks is about to expire.
    call_tool(
        &impl_a,
        "claim_file_lock",
        json!({ "file_paths": ["src/tax.rs"] }),
    )
    .await;
    let freed = server
        .store
        .force_release(
            &ccmulti::rules::locks::steps::ForceSelector::Path {
                session_id: Some("s1".into()),
                path: "src/tax.rs".into(),
            },
            "dashboard",
        )
        .await
        .unwrap();
    assert_eq!(freed.len(), 1);
    call_tool(
        &impl_a,
        "claim_file_lock",
        json!({ "file_paths": ["src/short.rs"], "duration_minutes": 1 }),
    )
    .await;

    let first = news(&server, "impl_a", "user_prompt_submit.json").await;
    assert_eq!(first.code, Some(0), "{}", first.stderr);
    let out = first.json();
    assert_eq!(
        out["hookSpecificOutput"]["hookEventName"],
        "UserPromptSubmit"
    );
    let context = out["hookSpecificOutput"]["additionalContext"]
        .as_str()
        .unwrap();
    let lines: Vec<&str> = context.lines().collect();
    assert_eq!(lines[0], "ccmulti news for impl_a (session s1):");
    assert_eq!(lines.len(), 5, "{context}");
    for expected in [
        "your lock on src/tax.rs was released by dashboard",
        "your lock on src/short.rs expires in",
        "impl_b released src/cart.rs, which you wanted; it is free now",
        "impl_b completed task payments: merged",
    ] {
        assert!(
            context.contains(expected),
            "{expected:?} missing from\n{context}"
        );
    }

    // Told once: nothing at all the second time, on either event.
    for sample in ["user_prompt_submit.json", "post_tool_use.json"] {
        let again = news(&server, "impl_a", sample).await;
        assert_eq!(
            (again.code, again.stdout.as_str()),
            (Some(0), ""),
            "{sample}: {}",
            again.stderr
        );
    }

    // Something new shows after a tool use, under that event's name.
    call_tool(
        &impl_b,
        "sync_progress",
        json!({ "task_id": "refunds", "status": "completed" }),
    )
    .await;
    let later = news(&server, "impl_a", "post_tool_use.json").await;
    let out = later.json();
    assert_eq!(out["hookSpecificOutput"]["hookEventName"], "PostToolUse");
    assert_eq!(
        out["hookSpecificOutput"]["additionalContext"],
        "ccmulti news for impl_a (session s1):\n- impl_b completed task refunds"
    );

    // With the coordinator gone there is no news and no error for the model.
    drop(server);
    let dead = closed_port_url();
    let me = agent("impl_a");
    let run = hook(
        &["news"],
        fixture("post_tool_use.json", None),
        &[("CCMULTI_AGENT", &me), ("CCMULTI_URL", &dead)],
    )
    .await;
    assert_eq!((run.code, run.stdout.as_str()), (Some(0), ""));
}

fn denied(run: &Run) -> bool {
    run.json()["hookSpecificOutput"]["permissionDecision"] == "deny"
}

/// The edit hook holding its locks for their whole lease.
const NO_YIELD: &[(&str, &str)] = &[("CCMULTI_HOOK_IDLE_YIELD_SECONDS", "0")];

/// The lock the hook takes at an edit lasts 30 s after the agent's last edit
/// of the file; a claim the agent made itself keeps its duration. (Giving
/// way to an agent that wants the file sooner is switched off here: the next
/// test.)
async fn a_lock_taken_at_an_edit_lapses_once_the_agent_moved_on(backend: Backend) {
    let clock = ccmulti::clock::ManualClock::starting_at(1_790_000_000_000);
    let server = backend.start_with_clock(clock.clone()).await;
    let out = pre_tool(&server, "impl_a", "pre_tool_use_write.json", NO_YIELD)
        .await
        .no_objection();
    let context = out["hookSpecificOutput"]["additionalContext"].to_string();
    assert!(
        context.contains("lapses 30s after your last one"),
        "{context}"
    );
    // Claimed for 15 minutes by the agent itself, then edited: the edit
    // renews it without shortening it.
    hold(&server, "impl_a", "src/cart.rs").await;
    let edit = pre_tool(&server, "impl_a", "pre_tool_use_edit.json", NO_YIELD).await;
    assert_eq!(
        (edit.code, edit.stdout.as_str()),
        (Some(0), ""),
        "{}",
        edit.stderr
    );

    // Edits of checkout.rs 20 s apart keep it held...
    clock.advance_ms(20_000);
    let again = pre_tool(&server, "impl_a", "pre_tool_use_write.json", NO_YIELD).await;
    assert_eq!(again.stdout, "", "{}", again.stderr);
    clock.advance_ms(20_000);
    assert!(denied(
        &pre_tool(&server, "impl_b", "pre_tool_use_write.json", NO_YIELD).await
    ));
    // ...and 31 s after the last one, impl_a has moved on: impl_b may edit it.
    clock.advance_ms(11_000);
    pre_tool(&server, "impl_b", "pre_tool_use_write.json", NO_YIELD)
        .await
        .no_objection();
    // The explicit claim is untouched (and impl_b, refused it, waits
    // without the lock its hook took on checkout.rs: it moved on).
    assert!(denied(
        &pre_tool(&server, "impl_b", "pre_tool_use_edit.json", NO_YIELD).await
    ));
    assert_eq!(
        locks(&server).await,
        [("src/cart.rs".into(), "impl_a".into(), "write".into())]
    );
}

/// When another agent wants the file, the hook's lock holds it only 12 s
/// after the holder's last edit of it (`CCMULTI_HOOK_IDLE_YIELD_SECONDS`);
/// then that agent's claim takes it over, and the holder is told.
async fn a_lock_taken_at_an_edit_gives_way_to_an_agent_that_wants_it_once_left_idle(
    backend: Backend,
) {
    let clock = ccmulti::clock::ManualClock::starting_at(1_790_000_000_000);
    let server = backend.start_with_clock(clock.clone()).await;
    pre_tool(&server, "impl_a", "pre_tool_use_write.json", &[])
        .await
        .no_objection();
    // Edits 10 s apart keep it: 11 s after the last one impl_b is refused.
    clock.advance_ms(10_000);
    let again = pre_tool(&server, "impl_a", "pre_tool_use_write.json", &[]).await;
    assert_eq!(again.stdout, "", "{}", again.stderr);
    clock.advance_ms(11_000);
    let refused = pre_tool(&server, "impl_b", "pre_tool_use_write.json", &[]).await;
    assert!(denied(&refused));
    let reason = refused.json()["hookSpecificOutput"]["permissionDecisionReason"].to_string();
    assert!(
        reason.contains(
            "locked by impl_a (write, 19s left; gives way in 1s unless impl_a edits it again)"
        ),
        "{reason}"
    );
    // 12 s after it, impl_b's edit takes it over, 18 s before its lease ends.
    clock.advance_ms(1_000);
    pre_tool(&server, "impl_b", "pre_tool_use_write.json", &[])
        .await
        .no_objection();
    assert_eq!(
        locks(&server).await,
        [("src/checkout.rs".into(), "impl_b".into(), "write".into())]
    );
    let told = news(&server, "impl_a", "post_tool_use.json").await;
    let context = told.json()["hookSpecificOutput"]["additionalContext"].to_string();
    assert!(
        context.contains(
            "your lock on src/checkout.rs expired (gave way to impl_b's claim: impl_a had left it idle)"
        ),
        "{context}"
    );
    // impl_a comes back to it: now impl_b holds it, so impl_a is refused.
    assert!(denied(
        &pre_tool(&server, "impl_a", "pre_tool_use_write.json", &[]).await
    ));
}

/// Moving on: an edit of another file that takes a new lock, or is refused
/// one another agent holds, lets go of the locks the hook took at the
/// agent's earlier edits of other files, however recent; a lock the agent
/// claimed itself is kept.
async fn an_edit_of_another_file_lets_go_of_the_lock_the_hook_took(backend: Backend) {
    let clock = ccmulti::clock::ManualClock::starting_at(1_790_000_000_000);
    let server = backend.start_with_clock(clock.clone()).await;
    pre_tool(&server, "impl_a", "pre_tool_use_write.json", &[])
        .await
        .no_objection();
    hold(&server, "impl_a", "src/cart.rs").await;
    let server = &server;

    // Switched off: nothing let go.
    pre_tool(
        server,
        "impl_a",
        "pre_tool_use_notebook_edit.json",
        &[("CCMULTI_HOOK_RELEASE_ON_MOVE", "off")],
    )
    .await
    .no_objection();
    assert_eq!(
        held_by(server, "impl_a").await,
        ["notebooks/sales.ipynb", "src/cart.rs", "src/checkout.rs"]
    );

    // A second on, an edit of another file: checkout.rs, which the hook
    // took, is free for impl_b; the explicit claim of cart.rs is kept.
    clock.advance_ms(1_000);
    notebook_edit_anew(server, &[]).await;
    assert_eq!(
        held_by(server, "impl_a").await,
        ["notebooks/sales.ipynb", "src/cart.rs"]
    );
    pre_tool(server, "impl_b", "pre_tool_use_write.json", &[])
        .await
        .no_objection();

    // Refused checkout.rs, which impl_b now holds, impl_a will wait for it:
    // it has moved on as well, and waits without holding the notebook it
    // took this moment.
    assert!(denied(
        &pre_tool(server, "impl_a", "pre_tool_use_write.json", &[]).await
    ));
    assert_eq!(held_by(server, "impl_a").await, ["src/cart.rs"]);
}

/// The end of the agent's turn (Claude Code's Stop hook) lets go of the
/// locks the edit hook took, at once rather than when they give way or lapse;
/// the agent's own claims are kept. What is not a hook's input changes nothing.
async fn the_end_of_a_turn_lets_go_of_the_locks_the_hook_took(backend: Backend) {
    let server = backend.start().await;
    pre_tool(&server, "impl_a", "pre_tool_use_write.json", &[])
        .await
        .no_objection();
    hold(&server, "impl_a", "src/cart.rs").await;
    let me = agent("impl_a");
    let env = [
        ("CCMULTI_AGENT", me.as_str()),
        ("CCMULTI_URL", server.base.as_str()),
    ];

    let garbled = hook(&["stop"], "Stop".into(), &env).await;
    assert_ne!(garbled.code, Some(0));
    assert!(garbled.stderr.contains("JSON"), "{}", garbled.stderr);
    assert_eq!(
        held_by(&server, "impl_a").await,
        ["src/cart.rs", "src/checkout.rs"]
    );

    let ended = hook(&["stop"], fixture("stop.json", Some(&server.root)), &env).await;
    assert_eq!(ended.code, Some(0), "{}", ended.stderr);
    // Nothing for the model: the turn ends as it would have.
    assert_eq!(ended.stdout, "");
    assert_eq!(held_by(&server, "impl_a").await, ["src/cart.rs"]);
    pre_tool(&server, "impl_b", "pre_tool_use_write.json", &[])
        .await
        .no_objection();
}

/// With `CCMULTI_HOOK_WAIT_SECONDS`, an edit of a file another agent holds
/// waits for it in the hook: freed meanwhile, the file is claimed and the
/// edit goes through, without the turn a refusal costs the model; held all
/// along, the edit is refused once the wait is over, as at once without it.
async fn a_refused_edit_waits_for_the_file_and_goes_through_once_it_is_free(backend: Backend) {
    let server = backend.start().await;
    pre_tool(&server, "impl_b", "pre_tool_use_write.json", &[])
        .await
        .no_objection();

    let started = Instant::now();
    let refused = pre_tool(
        &server,
        "impl_a",
        "pre_tool_use_write.json",
        &[("CCMULTI_HOOK_WAIT_SECONDS", "1")],
    )
    .await;
    assert!(denied(&refused), "{}", refused.stdout);
    assert!(started.elapsed() >= Duration::from_secs(1));

    let waiting = async {
        let run = pre_tool(
            &server,
            "impl_a",
            "pre_tool_use_write.json",
            &[("CCMULTI_HOOK_WAIT_SECONDS", "5")],
        )
        .await;
        (run, Instant::now())
    };
    let release = async {
        tokio::time::sleep(Duration::from_millis(1_000)).await;
        let _ = call_tool(
            &server.agent_url("impl_b"),
            "release_file_lock",
            json!({ "all": true }),
        )
        .await;
        Instant::now()
    };
    let ((run, answered), released) = tokio::join!(waiting, release);
    let context = run.no_objection()["hookSpecificOutput"]["additionalContext"].to_string();
    assert!(
        context.contains("claimed a write lock on src/checkout.rs"),
        "{context}"
    );
    assert!(
        answered.duration_since(released) < Duration::from_secs(2),
        "the hook went on waiting after the release"
    );
    assert_eq!(held_by(&server, "impl_a").await, ["src/checkout.rs"]);
}

/// The paths `agent` holds, sorted.
async fn held_by(server: &Server, agent: &str) -> Vec<String> {
    let mut held: Vec<String> = locks(server)
        .await
        .into_iter()
        .filter(|l| l.1 == agent)
        .map(|l| l.0)
        .collect();
    held.sort();
    held
}

/// impl_a lets go of the notebook, then edits it again: the edit takes a new
/// lock, the moment moving on is weighed.
async fn notebook_edit_anew(server: &Server, extra: &[(&str, &str)]) {
    let _ = call_tool(
        &server.agent_url("impl_a"),
        "release_file_lock",
        json!({ "file_paths": ["notebooks/sales.ipynb"] }),
    )
    .await;
    pre_tool(server, "impl_a", "pre_tool_use_notebook_edit.json", extra)
        .await
        .no_objection();
}

/// A session's first prompt is held until the agent's claude has listed the
/// ccmulti tools (at most the wait given), so its first model request offers
/// them; an agent whose tools are listed, or a session the model has already
/// answered in, is not held at all.
async fn the_first_prompt_waits_for_the_agents_tools_and_only_the_first(backend: Backend) {
    let server = backend.start().await;
    let run = |who: &'static str, stdin: String, wait: &'static str| {
        let me = agent(who);
        let base = server.base.clone();
        async move {
            let env = [
                ("CCMULTI_AGENT", me.as_str()),
                ("CCMULTI_URL", base.as_str()),
                ("CCMULTI_HOOK_TOOLS_WAIT_SECONDS", wait),
            ];
            let started = Instant::now();
            let run = hook(&["news"], stdin, &env).await;
            assert_eq!(run.code, Some(0), "{}", run.stderr);
            started.elapsed()
        }
    };
    // No transcript yet (the fixture's path), no tools listed: held for the wait.
    let first = fixture("user_prompt_submit.json", Some(&server.root));
    let held = run("impl_a", first.clone(), "1").await;
    assert!(held >= Duration::from_secs(1), "held {held:?}");

    // Its claude lists the tools (as Claude Code, naming itself): not held.
    list_tools(&server.agent_url("impl_a"), Some("claude-code")).await;
    let listed = run("impl_a", first, "9").await;
    assert!(listed < Duration::from_secs(5), "held {listed:?}");

    // A session the model has answered in: not held, tools or none.
    let dir = tempfile::tempdir().expect("tempdir");
    let transcript = dir.path().join("session.jsonl");
    std::fs::write(
        &transcript,
        "{\"type\":\"user\"}\n{\"type\":\"assistant\",\"message\":{}}\n",
    )
    .expect("transcript");
    let mut later: Value =
        serde_json::from_str(&fixture("user_prompt_submit.json", Some(&server.root)))
            .expect("fixture");
    later["transcript_path"] = json!(transcript);
    let answered = run("impl_b", later.to_string(), "9").await;
    assert!(answered < Duration::from_secs(5), "held {answered:?}");
}

/// impl_a's change to app.py was left in no commit when a person released
/// its lock, and impl_a has committed it since, before its next call told
/// the coordinator. impl_b's edit of app.py in its own worktree is not made
/// on the copy without that change: the hook merges the commit in and says
/// to read the file again.
async fn a_change_committed_after_its_release_is_brought_in_at_the_next_edit(backend: Backend) {
    let server = backend
        .start_in_git_repo(&[("app.py", "def total(xs):\n    return sum(xs)\n")])
        .await;
    let repo = server.root.clone();
    let tree = |agent: &str| repo.parent().expect("parent").join(agent);
    for agent in ["impl_a", "impl_b"] {
        let path = tree(agent).to_string_lossy().into_owned();
        let added = tools::git(&repo, &["worktree", "add", "-q", "-b", agent, &path], &[]);
        assert!(added.status.success(), "{added:?}");
        let workspace = ccmulti_model::AgentWorkspace {
            worktree: path,
            branch: Some(agent.into()),
            host: ccmulti::git::this_host(),
        };
        server
            .state
            .coord
            .set_workspace(&Server::agent(agent), &workspace)
            .await
            .expect("place the agent");
    }
    // git keeps commit times to the second: the start is a second before the grant.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    hold(&server, "impl_a", "app.py").await;
    let zero = "def total(xs):\n    return 0\n";
    std::fs::write(tree("impl_a").join("app.py"), zero).expect("edit");
    let released = ccmulti_testkit::claude::ccmulti()
        .args(["release", "app.py", "--force", "--db", server.db.as_str()])
        .arg("--root")
        .arg(&repo)
        .output()
        .expect("ccmulti release");
    assert!(released.status.success(), "{released:?}");
    let committed = tools::git(
        &tree("impl_a"),
        &["commit", "-q", "-am", "total is zero"],
        &[],
    );
    assert!(committed.status.success(), "{committed:?}");
    let head = tools::git(&tree("impl_a"), &["rev-parse", "HEAD"], &[]);
    let commit = String::from_utf8_lossy(&head.stdout).trim().to_owned();

    let theirs = tree("impl_b");
    let edit = json!({
        "session_id": "b", "cwd": theirs, "hook_event_name": "PreToolUse", "tool_name": "Edit",
        "tool_input": { "file_path": theirs.join("app.py"), "old_string": "sum(xs)", "new_string": "sum(xs) + 1" }
    });
    let me = agent("impl_b");
    let run = hook(
        &["pre-tool"],
        edit.to_string(),
        &[
            ("CCMULTI_AGENT", me.as_str()),
            ("CCMULTI_URL", server.base.as_str()),
        ],
    )
    .await;
    assert!(denied(&run), "{}", run.stdout);
    let reason = run.json()["hookSpecificOutput"]["permissionDecisionReason"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        reason.contains(&format!(
            "impl_a changed app.py in commit {}",
            &commit[..10]
        )) && reason.contains(&format!(
            "ccmulti brought it in (git merge --no-edit {commit})"
        )) && reason.contains("Read it again"),
        "{reason}"
    );
    assert_eq!(
        std::fs::read_to_string(theirs.join("app.py")).expect("read"),
        zero
    );
    let merged = tools::git(
        &theirs,
        &["merge-base", "--is-ancestor", &commit, "HEAD"],
        &[],
    );
    assert!(
        merged.status.success(),
        "impl_a's commit is in impl_b's HEAD"
    );
}
