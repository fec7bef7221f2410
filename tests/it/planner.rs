//! The planner against a fixture repository in four languages whose imports
//! and task files are known: graph, task mapping (precision and recall are
//! printed), conflicts, distribution, the tools over HTTP, and bad input.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant};

use ccmulti_model::tools::plan::Complexity;
use ccmulti_planner::{
    Analysis, Connection, DepGraph, ScanLimits, TaskInput, analyze, distribute, scan,
};
use ccmulti_testkit::synthetic;
use ccmulti_testkit::*;
use serde_json::{Value, json};

on_both_backends!(
    the_planner_tools_over_http_and_the_generated_commands_connect,
    setup_plans_from_a_message_or_shows_the_form_it_expects,
    bad_planner_input_gets_a_clear_error_and_changes_nothing,
);

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// The fixture, plus files its `.gitignore` excludes (they would add false edges).
fn fixture_into(root: &Path) {
    copy_dir(
        &ccmulti_testkit::interop::repo().join("tests/fixtures/planner_repo"),
        root,
    );
    std::fs::create_dir_all(root.join("generated")).unwrap();
    std::fs::write(
        root.join("generated/all.py"),
        "import api.config\nfrom api.auth import login\n",
    )
    .unwrap();
    std::fs::create_dir_all(root.join("web/node_modules/left-pad")).unwrap();
    std::fs::write(
        root.join("web/node_modules/left-pad/index.js"),
        "require('../../src/lib/http')\n",
    )
    .unwrap();
}

fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fixture_into(dir.path());
    dir
}

fn analyze_moderate(root: &Path, inputs: &[TaskInput]) -> Analysis {
    analyze(
        root,
        inputs,
        &[],
        Complexity::Moderate,
        ScanLimits::default(),
    )
}

fn local_connection() -> Connection {
    Connection {
        public_url: "http://127.0.0.1:7477".into(),
        user_id: "dev".into(),
        session_id: "s1".into(),
        auth_header: None,
    }
}

/// The fixture's tasks and the files each truly touches.
fn tasks() -> Vec<(TaskInput, &'static [&'static str])> {
    let t = |d: &str| TaskInput {
        description: d.into(),
        files: None,
    };
    vec![
        (
            t("Apply the new VAT rate in the tax calculation"),
            &["src/pricing/tax.rs"],
        ),
        (
            t("Add rate limiting to the login endpoint"),
            &["api/auth/login.py"],
        ),
        (
            t("Render invoices as PDF for download"),
            &["api/billing/invoices.py", "api/billing/pdf.py"],
        ),
        (
            t("Show formatted prices in the web cart component"),
            &["web/src/components/cart.tsx"],
        ),
        (
            t("Send an email notification when an order is stored"),
            &["svc/store/orders.go", "svc/notify/email.go"],
        ),
        (
            TaskInput {
                description: "Round cart totals to whole cents".into(),
                files: Some(vec!["src/cart.rs".into(), "src/util.rs".into()]),
            },
            &["src/cart.rs", "src/util.rs"],
        ),
        (
            t("Issue refresh tokens on login"),
            &["api/auth/login.py", "api/auth/tokens.py"],
        ),
    ]
}

#[test]
fn the_dependency_graph_matches_the_fixture_imports() {
    let dir = fixture();
    let project = scan(dir.path(), ScanLimits::default());
    assert_eq!(project.stopped_early, None);
    assert!(
        project
            .files
            .iter()
            .all(|f| !f.starts_with("generated/") && !f.contains("node_modules")),
        "ignored files were scanned: {:?}",
        project.files
    );
    let graph = DepGraph::build(&project);
    let got: BTreeSet<(String, String)> = graph
        .edges()
        .into_iter()
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .collect();
    let expected: BTreeSet<(String, String)> = [
        ("src/lib.rs", "src/cart.rs"),
        ("src/lib.rs", "src/pricing/mod.rs"),
        ("src/lib.rs", "src/util.rs"),
        ("src/cart.rs", "src/pricing/mod.rs"),
        ("src/cart.rs", "src/util.rs"),
        ("src/pricing/mod.rs", "src/pricing/tax.rs"),
        ("src/pricing/tax.rs", "src/util.rs"),
        ("api/auth/login.py", "api/db/users.py"),
        ("api/auth/login.py", "api/auth/tokens.py"),
        ("api/auth/tokens.py", "api/config.py"),
        ("api/db/users.py", "api/config.py"),
        ("api/billing/invoices.py", "api/db/users.py"),
        ("api/billing/invoices.py", "api/billing/pdf.py"),
        ("web/src/index.ts", "web/src/components/cart.tsx"),
        ("web/src/index.ts", "web/src/styles.css"),
        ("web/src/components/cart.tsx", "web/src/lib/money.ts"),
        ("web/src/components/cart.tsx", "web/src/lib/api.ts"),
        ("web/src/lib/api.ts", "web/src/lib/http.js"),
        ("svc/main.go", "svc/notify/email.go"),
        ("svc/main.go", "svc/notify/slack.go"),
        ("svc/main.go", "svc/store/orders.go"),
        ("svc/store/orders.go", "svc/notify/email.go"),
        ("svc/store/orders.go", "svc/notify/slack.go"),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_owned(), b.to_owned()))
    .collect();
    let missing: Vec<_> = expected.difference(&got).collect();
    let extra: Vec<_> = got.difference(&expected).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:?}\nextra {extra:?}"
    );
}

#[test]
fn tasks_map_to_their_true_files() {
    let dir = fixture();
    let cases = tasks();
    let inputs: Vec<TaskInput> = cases.iter().map(|(t, _)| t.clone()).collect();
    let analysis = analyze_moderate(dir.path(), &inputs);
    let (mut hits, mut found, mut truth) = (0usize, 0usize, 0usize);
    for (task, (input, expected)) in analysis.tasks.iter().zip(&cases) {
        if input.files.is_some() {
            continue;
        }
        let expected: BTreeSet<&str> = expected.iter().copied().collect();
        let got: BTreeSet<&str> = task.files.iter().map(String::as_str).collect();
        hits += got.intersection(&expected).count();
        found += got.len();
        truth += expected.len();
        println!("{}: found {got:?}, true {expected:?}", task.task_id);
    }
    let precision = hits as f64 / found.max(1) as f64;
    let recall = hits as f64 / truth as f64;
    println!(
        "task-to-file mapping on the fixture: precision {precision:.2}, recall {recall:.2} ({hits} of {truth} true files, {found} found)"
    );
    assert_eq!(recall, 1.0, "every true file is found");
    assert!(precision >= 0.8, "precision {precision:.2}");

    let given = &analysis.tasks[5];
    assert!(given.files_given);
    assert_eq!(given.files, ["src/cart.rs", "src/util.rs"]);
    assert_eq!(
        given.related,
        ["src/lib.rs", "src/pricing/tax.rs"],
        "given files plus what imports them"
    );
}

#[test]
fn conflicts_group_tasks_and_the_split_never_shares_a_file() {
    let dir = fixture();
    let inputs: Vec<TaskInput> = tasks().into_iter().map(|(t, _)| t).collect();
    let analysis = analyze_moderate(dir.path(), &inputs);
    let conflicts: Vec<(&str, &str, &str, &[String])> = analysis
        .conflicts
        .iter()
        .map(|c| {
            (
                c.kind.as_str(),
                c.tasks[0].as_str(),
                c.tasks[1].as_str(),
                &c.files[..],
            )
        })
        .collect();
    let id = |n: usize| analysis.tasks[n].task_id.as_str();
    assert!(
        conflicts.contains(&(
            "shared_files",
            id(1),
            id(6),
            &["api/auth/login.py".to_owned()][..]
        )),
        "{conflicts:?}"
    );
    assert!(
        conflicts.iter().any(|c| c.0 == "dependency"
            && (c.1, c.2) == (id(0), id(5))
            && c.3.contains(&"src/pricing/tax.rs".to_owned())),
        "{conflicts:?}"
    );
    assert_eq!(
        conflicts.iter().filter(|c| c.0 == "shared_files").count(),
        1,
        "{conflicts:?}"
    );
    assert_eq!(analysis.groups.len(), 6);
    assert_eq!(analysis.recommended_agent_count, 4);

    let conn = local_connection();
    for agents in 2..=5 {
        let plan = distribute(&analysis, agents, &conn);
        assert_eq!(plan.agent_count, agents);
        let mut owner_of_file: BTreeMap<&str, &str> = BTreeMap::new();
        let mut owner_of_task: BTreeMap<&str, &str> = BTreeMap::new();
        for a in &plan.agents {
            for f in &a.files {
                let previous = owner_of_file.insert(f, &a.agent_id);
                assert!(
                    previous.is_none(),
                    "{agents} agents: {f} given to {previous:?} and {}",
                    a.agent_id
                );
            }
            for t in &a.tasks {
                owner_of_task.insert(&t.task_id, &a.agent_id);
            }
            assert!(a.claude_mcp_add.starts_with("claude mcp add --transport http ccmulti http://127.0.0.1:7477/mcp/v2/claude/dev__session__s1__implementer-"));
            // The rules are said once, in the preamble every terminal gets before its prompt.
            assert!(
                plan.preamble.contains("claim_file_lock")
                    && plan.preamble.contains("sync_progress")
                    && plan.preamble.contains("release_file_lock")
            );
            assert!(a.prompt.starts_with(&format!("You are {}.", a.agent_id)));
            assert_eq!(a.mcp_json.mcp_servers["ccmulti"].transport, "http");
            assert!(a.mcp_json.mcp_servers["ccmulti"].headers.is_none());
        }
        assert_eq!(owner_of_task.len(), 7, "every task assigned once");
        assert_eq!(
            owner_of_task[id(1)],
            owner_of_task[id(6)],
            "tasks sharing login.py on one agent"
        );
        // Balanced, not round robin: no agent has more than twice the lightest's load.
        let loads: Vec<f64> = plan
            .agents
            .iter()
            .map(|a| {
                a.tasks
                    .iter()
                    .map(|t| analysis.task(&t.task_id).unwrap().weight())
                    .sum()
            })
            .collect();
        let (min, max) = loads
            .iter()
            .fold((f64::MAX, 0.0f64), |(lo, hi), l| (lo.min(*l), hi.max(*l)));
        assert!(max <= 2.0 * min + 0.01, "{agents} agents: loads {loads:?}");
        let size = serde_json::to_string(&plan).unwrap().len();
        println!("{agents} agents: loads {loads:?}, plan {size} bytes");
        assert!(size < 16_000, "the plan stays compact: {size} bytes");
    }
}

/// What the planner reads back for an 8-task plan at 2 agents: the text of
/// analyze_task_conflicts and of create_task_distribution, printed and bounded.
#[test]
fn an_eight_task_plan_reads_back_compactly() {
    let dir = fixture();
    let mut inputs: Vec<TaskInput> = tasks().into_iter().map(|(t, _)| t).collect();
    inputs.push(TaskInput {
        description: "Post a Slack message when an order fails to store".into(),
        files: None,
    });
    assert_eq!(inputs.len(), 8);
    let analysis = analyze_moderate(dir.path(), &inputs);
    let conn = local_connection();
    let plan = distribute(&analysis, 2, &conn);
    let (analysis_text, plan_text) = (analysis.reply().to_string(), plan.reply().to_string());
    println!(
        "8 tasks, 2 agents: analyze_task_conflicts {} bytes, create_task_distribution {} bytes",
        analysis_text.len(),
        plan_text.len()
    );
    assert!(analysis_text.len() <= 3_000, "{analysis_text}");
    assert!(plan_text.len() <= 6_000, "{plan_text}");
    // Said once: the rules in the preamble, conflict notes outside the prompts.
    assert_eq!(
        plan_text.matches("release_file_lock").count(),
        1,
        "{plan_text}"
    );
    for a in &plan.agents {
        for note in &a.conflict_notes {
            assert!(!a.prompt.contains(note.as_str()), "{}", a.prompt);
        }
    }
    // Every matched file says why, and the planner is told to check.
    for t in analysis.tasks.iter().filter(|t| !t.files_given) {
        assert_eq!(t.reasons.len(), t.files.len(), "{t:?}");
    }
    assert!(analysis_text.contains("candidates") && analysis_text.contains("{description, files}"));
}

#[test]
fn ten_thousand_files_are_analysed_within_a_second() {
    let dir = tempfile::tempdir().unwrap();
    synthetic::ten_thousand_files(dir.path());
    let inputs = synthetic::tasks();
    let started = Instant::now();
    let analysis = analyze(
        dir.path(),
        &inputs,
        &[],
        Complexity::Complex,
        ScanLimits::default(),
    );
    let elapsed = started.elapsed();
    println!(
        "10,000 files, 50 tasks: {} ms ({} files read, {} import edges, stopped early: {:?})",
        elapsed.as_millis(),
        analysis.project.files_scanned,
        analysis.project.import_edges,
        analysis.project.stopped_early
    );
    // The bar is a release build's; a debug build (as `cargo test` makes) is several times slower.
    let bar = if cfg!(debug_assertions) {
        Duration::from_secs(5)
    } else {
        Duration::from_secs(1)
    };
    assert!(elapsed < bar, "took {elapsed:?}");
    assert!(
        analysis.project.files_scanned == 10_000 || analysis.project.stopped_early.is_some(),
        "a partial scan must say so"
    );
}

#[test]
fn a_tiny_budget_stops_early_and_says_so() {
    let dir = fixture();
    let limits = ScanLimits {
        budget: Duration::ZERO,
        ..ScanLimits::default()
    };
    let project = scan(dir.path(), limits);
    let reason = project.stopped_early.expect("stopped early");
    assert!(reason.contains("stopped after 0 ms"), "{reason}");
}

/// A planner analyses and distributes over MCP; a pasted `claude mcp add` URL connects as an implementer.
async fn the_planner_tools_over_http_and_the_generated_commands_connect(backend: Backend) {
    let server = backend.start().await;
    fixture_into(&server.root);
    let planner = server.url("claude", "dev__session__s1__planner");
    let tasks: Vec<Value> = tasks()
        .into_iter()
        .map(|(t, _)| match t.files {
            Some(files) => json!({ "description": t.description, "files": files }),
            None => json!(t.description),
        })
        .collect();
    let analysis = call_tool(
        &planner,
        "analyze_task_conflicts",
        json!({ "tasks": tasks }),
    )
    .await;
    let a = analysis.structured();
    assert_eq!(a["success"], true, "{}", analysis.text);
    assert_eq!(a["recommended_agent_count"], 4);
    assert_eq!(a["project"]["files_scanned"], 29, "{}", analysis.text);
    assert!(
        analysis.text.len() < 8_000,
        "compact: {} bytes",
        analysis.text.len()
    );

    // The planner passes back what it got (here only the id, as `next` suggests).
    let dist = call_tool(
        &planner,
        "create_task_distribution",
        json!({ "analysis_result": { "analysis_id": a["analysis_id"] }, "preferred_agent_count": 3 }),
    )
    .await;
    let d = dist.structured();
    assert_eq!(d["success"], true, "{}", dist.text);
    assert_eq!(d["agent_count"], 3);
    let first = &d["agents"][0];
    let line = first["claude_mcp_add"].as_str().unwrap();
    let url = line.rsplit(' ').next().unwrap();
    assert!(url.starts_with(&server.base), "{line}");
    let listed = list_tools(url, Some("claude-code")).await;
    assert_eq!(listed.tool_names(), IMPLEMENTER_TOOLS, "{}", listed.text);

    // The implementer sees its planned tasks, at 0% and not started.
    let status = call_tool(url, "check_agent_status", json!({})).await;
    let planned: Vec<&Value> = status.structured()["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["agent_id"] == first["agent_id"])
        .collect();
    assert_eq!(
        planned.len(),
        first["tasks"].as_array().unwrap().len(),
        "{}",
        status.text
    );
    assert!(
        planned.iter().all(|t| t["status"] == "planned"),
        "{}",
        status.text
    );

    // Starting a task moves it on; a second plan leaves it with whoever started it.
    let task_id = first["tasks"][0]["task_id"].as_str().unwrap();
    let started = call_tool(
        url,
        "sync_progress",
        json!({ "task_id": task_id, "status": "started" }),
    )
    .await;
    assert_eq!(started.structured()["success"], true, "{}", started.text);
    let again = call_tool(
        &planner,
        "create_task_distribution",
        json!({ "analysis_result": a.to_string(), "preferred_agent_count": 2 }),
    )
    .await;
    assert_eq!(again.structured()["success"], true, "{}", again.text);
    assert!(again.text.contains("Already under way"), "{}", again.text);
    let rows = server.store.session_view("s1").await.unwrap().tasks;
    assert_eq!(rows.iter().filter(|t| t.task_id == task_id).count(), 1);
    assert_eq!(rows.len(), 7);
}

async fn setup_plans_from_a_message_or_shows_the_form_it_expects(backend: Backend) {
    let server = backend.start().await;
    fixture_into(&server.root);
    // Claude Code outside a session: setup is its only tool, and it makes a session.
    let lone = server.url("claude", "dev");
    let reply = call_tool(
        &lone,
        "setup_multi_agent_coordination",
        json!({ "user_message": "Split this across agents in parallel:\n1. Render invoices as PDF\n2. Issue refresh tokens on login\n- Add rate limiting to the login endpoint\n* Send an email notification when an order is stored" }),
    )
    .await;
    let r = reply.structured();
    assert_eq!(r["success"], true, "{}", reply.text);
    let session = r["session_id"].as_str().unwrap();
    assert!(session.starts_with("plan-"));
    assert_eq!(r["distribution"]["agent_count"], 3, "{}", reply.text);
    let planner_line = r["planner"]["claude_mcp_add"].as_str().unwrap();
    let planner_url = planner_line.rsplit(' ').next().unwrap();
    let listed = list_tools(planner_url, Some("claude code")).await;
    assert_eq!(listed.tool_names(), PLANNER_TOOLS);
    assert_eq!(
        server
            .store
            .session_view(session)
            .await
            .unwrap()
            .tasks
            .len(),
        4
    );

    let before = state_fingerprint(&server).await;
    for (message, says) in [
        ("What does the cart module do?", "does not ask"),
        (
            "Please use several agents in parallel for this.",
            "lists no tasks",
        ),
    ] {
        let reply = call_tool(
            &lone,
            "setup_multi_agent_coordination",
            json!({ "user_message": message }),
        )
        .await;
        let r = reply.structured();
        assert_eq!(r["success"], false, "{}", reply.text);
        assert!(
            r["message"].as_str().unwrap().contains(says),
            "{}",
            reply.text
        );
        assert!(
            r["expected_form"].as_str().unwrap().contains("1. "),
            "{}",
            reply.text
        );
    }
    assert_eq!(state_fingerprint(&server).await, before);
}

async fn bad_planner_input_gets_a_clear_error_and_changes_nothing(backend: Backend) {
    let server = backend.start().await;
    fixture_into(&server.root);
    let planner = server.url("claude", "dev__session__s1__planner");
    let other = server.url("claude", "dev__session__s2__planner");
    let elsewhere = call_tool(
        &other,
        "analyze_task_conflicts",
        json!({ "tasks": ["Render invoices as PDF"] }),
    )
    .await;
    let foreign_id = elsewhere.structured()["analysis_id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Registers s1's planner before the fingerprint.
    call_tool(&planner, "check_agent_status", json!({})).await;
    let before = state_fingerprint(&server).await;
    let thousand: Vec<String> = (0..1000).map(|i| format!("task {i}")).collect();
    let many_lines: String = (0..60).map(|i| format!("{i}. task {i}\n")).collect();
    let cases: Vec<(&str, Value, &str)> = vec![
        ("analyze_task_conflicts", json!({}), "tasks is required"),
        (
            "analyze_task_conflicts",
            json!({ "tasks": [] }),
            "tasks is empty",
        ),
        (
            "analyze_task_conflicts",
            json!({ "tasks": thousand }),
            "at most 50",
        ),
        (
            "analyze_task_conflicts",
            json!({ "tasks": "fix it" }),
            "must be a list",
        ),
        (
            "analyze_task_conflicts",
            json!({ "tasks": [42] }),
            "tasks[0] is neither a string nor an object",
        ),
        (
            "analyze_task_conflicts",
            json!({ "tasks": [{ "files": ["a.rs"] }] }),
            "needs a description",
        ),
        (
            "analyze_task_conflicts",
            json!({ "tasks": [{ "description": "x", "owner": "me" }] }),
            "unknown field \"owner\"",
        ),
        (
            "analyze_task_conflicts",
            json!({ "tasks": [{ "description": "x", "files": ["../etc/passwd"] }] }),
            "escapes the project root",
        ),
        (
            "analyze_task_conflicts",
            json!({ "tasks": ["x", { "description": "render \u{0} PDFs" }] }),
            "tasks[1].description holds a NUL byte",
        ),
        (
            "setup_multi_agent_coordination",
            json!({ "user_message": "Split this across agents:\n1. render \u{0} PDFs\n2. docs" }),
            "user_message holds a NUL byte",
        ),
        (
            "analyze_task_conflicts",
            json!({ "tasks": ["  "] }),
            "empty description",
        ),
        (
            "analyze_task_conflicts",
            json!({ "tasks": [{ "description": "x", "files": ["src/api/"] }] }),
            "is a directory or glob",
        ),
        (
            "analyze_task_conflicts",
            json!({ "tasks": ["x"], "complexity_level": "extreme" }),
            "simple, moderate or complex",
        ),
        (
            "create_task_distribution",
            json!({}),
            "analysis_result is required",
        ),
        (
            "create_task_distribution",
            json!({ "analysis_result": 42 }),
            "is not an object",
        ),
        (
            "create_task_distribution",
            json!({ "analysis_result": "garbage" }),
            "not JSON",
        ),
        (
            "create_task_distribution",
            json!({ "analysis_result": { "tasks": ["x"] } }),
            "has no analysis_id",
        ),
        (
            "create_task_distribution",
            json!({ "analysis_result": { "analysis_id": foreign_id } }),
            "was not made in session \"s1\"",
        ),
        (
            "create_task_distribution",
            json!({ "analysis_result": { "analysis_id": "x" }, "preferred_agent_count": 1 }),
            "accepted: 2 to 5",
        ),
        (
            "create_task_distribution",
            json!({ "analysis_result": { "analysis_id": "x" }, "preferred_agent_count": 6 }),
            "accepted: 2 to 5",
        ),
        (
            "setup_multi_agent_coordination",
            json!({}),
            "user_message is required",
        ),
        (
            "setup_multi_agent_coordination",
            json!({ "user_message": "use agents", "force_agent_count": 6 }),
            "accepted: 2 to 5",
        ),
        (
            "setup_multi_agent_coordination",
            json!({ "user_message": format!("agents in parallel:\n{many_lines}") }),
            "at most 50",
        ),
    ];
    for (tool, args, says) in cases {
        let reply = call_tool(&planner, tool, args.clone()).await;
        assert_eq!(
            reply.error_code(),
            Some(-32602),
            "{tool} {args}: {}",
            reply.text
        );
        assert!(
            reply.error_message().contains(says),
            "{tool} {args}: {}",
            reply.error_message()
        );
        assert_eq!(
            state_fingerprint(&server).await,
            before,
            "{tool} {args} changed state"
        );
    }
    // The planner's tools are the planner's: an implementer is refused.
    let implementer = server.url("claude", "dev__session__s1__implementer-1");
    let refused = call_tool(
        &implementer,
        "analyze_task_conflicts",
        json!({ "tasks": ["x"] }),
    )
    .await;
    assert_eq!(refused.error_code(), Some(-32602), "{}", refused.text);
    assert!(
        refused
            .error_message()
            .contains("not available to this client"),
        "{}",
        refused.text
    );
}
