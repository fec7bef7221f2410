//! Agents end to end: the real Claude Code binary (`claude -p`), connected to a
//! real `ccmulti serve` through `--mcp-config`, with the hooks `ccmulti connect
//! --write` merges into the project's `.claude/settings.json`, in a real git
//! repository. The only stand-in is the model: tests/interop/fake_anthropic.py
//! answers the Messages API from a script (call this tool, then say this) and
//! records every request, so the tests read what Claude Code sent back. Each
//! runs with the coordinator on SQLite and again on PostgreSQL.
//!
//! Without Claude Code installed (`cd tests/interop/claude && npm ci`) each test
//! says it was skipped; `.ci/run` sets CCMULTI_REQUIRE_INTEROP=1, which makes
//! that a failure.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use ccmulti_testkit::binary::Coordinator;
use ccmulti_testkit::claude::{
    FakeApi, after, after_file, claude_env, claude_or_skip, git_repo, run_within, seed_home,
    status_locks, status_text, text, tool_use,
};
use ccmulti_testkit::{Backend, run_ok};
use serde_json::{Value, json};

on_both_backends!(blocking:
    a_model_claims_a_lock_through_claude_codes_mcp_client,
    an_edit_of_a_held_file_is_denied_naming_the_holder_and_a_free_one_is_claimed,
    without_the_hooks_the_held_file_is_overwritten,
    across_worktrees_an_edit_of_a_file_another_worktree_holds_is_denied,
    a_waiting_claim_is_granted_when_the_holder_releases,
    a_commit_of_a_file_another_agent_holds_is_refused_by_the_git_guard,
    news_of_a_released_file_reaches_the_agent_that_wanted_it,
);

const SESSION: &str = "e2e";
const USER: &str = "e2e";
const APP: &str = "src/app.py";
const APP_TEXT: &str = "def total(xs):\n    return sum(xs)\n";
const UTIL: &str = "src/util.py";
const UTIL_TEXT: &str = "def double(x):\n    return x * 2\n";

/// A project (a git repository), a coordinator on it, a HOME for Claude Code and
/// the model stand-in playing `scripts`.
struct Project {
    claude: PathBuf,
    root: PathBuf,
    home: PathBuf,
    dir: PathBuf,
    coordinator: Coordinator,
    api: FakeApi,
    _tmp: tempfile::TempDir,
}

impl Project {
    /// `scripts` is given the project root, as Claude Code's file tools want absolute paths.
    fn new(backend: Backend, claude: PathBuf, scripts: impl FnOnce(&Path) -> Value) -> Self {
        let tmp = tempfile::tempdir().expect("tempdir");
        // Canonical, as Claude Code reports its cwd (and the hooks' project dir) that way.
        let dir = std::fs::canonicalize(tmp.path()).expect("canonical");
        let root = dir.join("repo");
        git_repo(&root, &[(APP, APP_TEXT), (UTIL, UTIL_TEXT)]);
        // A worktree per implementer beside the main checkout, as `git worktree add` makes them.
        let worktrees: Vec<PathBuf> = ["impl_a", "impl_b"]
            .iter()
            .map(|agent| {
                let checkout = worktree_of(&root, agent);
                git(
                    &root,
                    &["worktree", "add", "-q", "-b", &format!("agent/{agent}")],
                )
                .arg(&checkout)
                .output()
                .expect("git worktree add");
                assert!(checkout.join(APP).is_file(), "git worktree add {agent}");
                checkout
            })
            .collect();
        let home = dir.join("home");
        let trusted: Vec<&Path> = std::iter::once(root.as_path())
            .chain(worktrees.iter().map(PathBuf::as_path))
            .collect();
        seed_home(&home, &trusted);
        let coordinator = Coordinator::start_new(backend, &dir, &root, &[]);
        let api = FakeApi::start(&dir, &scripts(&root));
        Self {
            claude,
            root,
            home,
            dir,
            coordinator,
            api,
            _tmp: tmp,
        }
    }

    fn addr(&self) -> &str {
        self.coordinator.base.trim_start_matches("http://")
    }

    fn virtual_user(agent: &str) -> String {
        format!("{USER}__session__{SESSION}__{agent}")
    }

    fn ccmulti(&self) -> Command {
        let mut c = ccmulti_testkit::claude::ccmulti();
        c.arg("--db").arg(&self.coordinator.db);
        c
    }

    /// `ccmulti connect --write`: the hooks into the project's .claude/settings.json.
    fn write_hooks(&self) {
        self.write_hooks_in(&self.root);
    }

    /// The same into a checkout of the project (a worktree).
    fn write_hooks_in(&self, checkout: &Path) {
        run_ok(
            self.ccmulti()
                .args([
                    "connect",
                    "--session",
                    SESSION,
                    "--agent",
                    "impl_a",
                    "--user",
                    USER,
                ])
                .args(["--addr", self.addr(), "--write", "--root"])
                .arg(checkout),
        );
        let settings = std::fs::read_to_string(checkout.join(".claude/settings.json"))
            .expect("connect --write wrote .claude/settings.json");
        assert!(settings.contains("hook pre-tool"), "{settings}");
    }

    /// `claude -p PROMPT` as `agent` (its own MCP URL and CCMULTI_AGENT), the
    /// model's answers taken from the script named after the agent.
    fn run_agent(&self, agent: &str, prompt: &str) -> String {
        self.run_agent_in(&self.root, agent, prompt)
    }

    /// The same with `checkout` (a worktree) as Claude Code's working directory.
    fn run_agent_in(&self, checkout: &Path, agent: &str, prompt: &str) -> String {
        let mcp = self.dir.join(format!("mcp-{agent}.json"));
        let url = self.coordinator.url(&Self::virtual_user(agent));
        std::fs::write(
            &mcp,
            json!({ "mcpServers": { "ccmulti": { "type": "http", "url": url } } }).to_string(),
        )
        .expect("mcp config");
        let mut command = Command::new(&self.claude);
        claude_env(&mut command, &self.home, &self.api.base_url(agent));
        command
            .current_dir(checkout)
            .env("CCMULTI_AGENT", Self::virtual_user(agent))
            .env("CCMULTI_ADDR", self.addr())
            .args(["-p", prompt, "--mcp-config"])
            .arg(&mcp)
            // ccmulti's hook never answers allow, so edits need a mode that does not
            // prompt; MCP tools and the one shell command a script runs (a commit,
            // for the git guard) need allowing too, or -p refuses them.
            .args(["--permission-mode", "acceptEdits"])
            .args(["--allowedTools", "mcp__ccmulti", "Bash(git commit:*)"]);
        let (code, stdout, stderr) = run_within(command, Duration::from_secs(90));
        assert_eq!(
            code,
            Some(0),
            "claude -p as {agent} failed\nstdout: {stdout}\nstderr: {stderr}\nmodel requests:\n{}",
            self.api.summary()
        );
        stdout
    }

    /// impl_a (told to hold src/app.py) and impl_b (told `prompt_b`) at once,
    /// with `meanwhile` on this thread while they run; a panic in either is this one's.
    fn run_both<R>(&self, prompt_b: &str, meanwhile: impl FnOnce() -> R) -> R {
        std::thread::scope(|s| {
            let a = s.spawn(|| self.run_agent("impl_a", "Hold src/app.py for a while."));
            let b = s.spawn(|| self.run_agent("impl_b", prompt_b));
            let result = meanwhile();
            for agent in [a, b] {
                if let Err(panic) = agent.join() {
                    std::panic::resume_unwind(panic);
                }
            }
            result
        })
    }

    /// The live locks as `ccmulti status` prints them: (path, agent, lock id).
    fn locks(&self) -> Vec<(String, String, String)> {
        status_locks(&self.coordinator.db, SESSION)
    }

    fn holder(&self, path: &str) -> Option<String> {
        self.locks()
            .into_iter()
            .find(|(p, _, _)| p == path)
            .map(|(_, agent, _)| agent)
    }

    fn file(&self, path: &str) -> String {
        std::fs::read_to_string(self.root.join(path)).expect("project file")
    }
}

/// Agent A's script: claim src/app.py, and release it once `gate` exists.
fn holds_app_until(gate: &Path) -> Value {
    json!([
        tool_use(
            "mcp__ccmulti__claim_file_lock",
            json!({ "file_paths": [APP] })
        ),
        after_file(
            gate,
            tool_use(
                "mcp__ccmulti__release_file_lock",
                json!({ "file_paths": [APP] })
            )
        ),
        text("Released."),
    ])
}

/// Where agent's worktree of the repository at `root` is.
fn worktree_of(root: &Path, agent: &str) -> PathBuf {
    root.with_file_name(format!("repo-{agent}"))
}

fn git(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new("git");
    c.args(args)
        .current_dir(dir)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE");
    c
}

fn abs(root: &Path, path: &str) -> String {
    root.join(path).display().to_string()
}

/// (a) The model calls the MCP tool; Claude Code's MCP client carries it to the
/// coordinator under the agent of its URL, and the answer goes back to the model.
fn a_model_claims_a_lock_through_claude_codes_mcp_client(backend: Backend) {
    let Some(claude) = claude_or_skip("a_model_claims_a_lock_through_claude_codes_mcp_client", &[])
    else {
        return;
    };
    let scripts = json!({ "impl_a": [
        tool_use("mcp__ccmulti__claim_file_lock", json!({ "file_paths": [APP], "operation": "write" })),
        text("Claimed src/app.py."),
    ]});
    let project = Project::new(backend, claude, |_| scripts);
    let said = project.run_agent("impl_a", "Claim src/app.py before editing it.");
    assert!(said.contains("Claimed src/app.py."), "{said}");

    let result = project
        .api
        .tool_result("impl_a", 0)
        .unwrap_or_else(|| panic!("no tool_result for the claim:\n{}", project.api.summary()));
    assert!(!result.is_error, "{}", result.text);
    let answer: Value = serde_json::from_str(&result.text).unwrap_or_else(|e| {
        panic!(
            "the claim's result is not the tool's JSON ({e}): {}",
            result.text
        )
    });
    assert_eq!(answer["success"], true, "{answer}");
    let lock_id = answer["locks"][0]["lock_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no lock_id: {answer}"));

    // The very lock the model was told about is recorded under impl_a.
    let locks = project.locks();
    assert!(
        locks.contains(&(APP.to_owned(), "impl_a".to_owned(), lock_id.to_owned())),
        "{locks:?}"
    );
}

/// What agent B's edits came to, with or without the hooks.
struct Collision {
    project: Project,
    denied: ccmulti_testkit::claude::ToolResult,
    free_edit: ccmulti_testkit::claude::ToolResult,
}

/// Agent A claims src/app.py through Claude Code; then agent B's model reads and
/// edits src/app.py, then reads and edits the free src/util.py.
fn collide(backend: Backend, hooks: bool) -> Option<Collision> {
    let claude = claude_or_skip(
        if hooks {
            "an_edit_of_a_held_file_is_denied_naming_the_holder_and_a_free_one_is_claimed"
        } else {
            "without_the_hooks_the_held_file_is_overwritten"
        },
        &[],
    )?;
    let project = Project::new(backend, claude, |root| {
        json!({
            "impl_a": [
                tool_use("mcp__ccmulti__claim_file_lock", json!({ "file_paths": [APP] })),
                text("Holding src/app.py."),
            ],
            "impl_b": [
                tool_use("Read", json!({ "file_path": abs(root, APP) })),
                tool_use("Edit", json!({ "file_path": abs(root, APP),
                    "old_string": "return sum(xs)", "new_string": "return 0  # B was here" })),
                tool_use("Read", json!({ "file_path": abs(root, UTIL) })),
                tool_use("Edit", json!({ "file_path": abs(root, UTIL),
                    "old_string": "return x * 2", "new_string": "return x + x" })),
                text("Finished."),
            ],
        })
    });
    if hooks {
        project.write_hooks();
    }
    project.run_agent("impl_a", "Take src/app.py.");
    assert_eq!(project.holder(APP).as_deref(), Some("impl_a"));
    project.run_agent("impl_b", "Change total() and double().");
    let denied = project
        .api
        .wait_tool_result("impl_b", 1, Duration::from_secs(5));
    let free_edit = project
        .api
        .wait_tool_result("impl_b", 3, Duration::from_secs(5));
    Some(Collision {
        project,
        denied,
        free_edit,
    })
}

/// (b) and (c): B's edit of A's file is denied by the PreToolUse hook, the file
/// is untouched and the model is told who holds it; B's edit of a free file goes
/// through and the hook claims it for B.
fn an_edit_of_a_held_file_is_denied_naming_the_holder_and_a_free_one_is_claimed(backend: Backend) {
    let Some(Collision {
        project,
        denied,
        free_edit,
    }) = collide(backend, true)
    else {
        return;
    };
    assert_eq!(
        project.file(APP),
        APP_TEXT,
        "B's edit of A's file went through"
    );
    assert!(denied.is_error, "{denied:?}");
    assert!(
        denied.text.contains("src/app.py is locked by impl_a"),
        "the model is not told the holder: {denied:?}"
    );
    // As the model reads it: Claude Code's own prefix (the same for every
    // form a hook can refuse in), then a reason that opens by saying it is a
    // refusal on purpose, with no hook command line in between.
    assert!(
        denied.text.starts_with(&format!(
            "PreToolUse:Edit hook error: {}src/app.py is locked by impl_a",
            ccmulti::hook::output::DENIAL_LEAD
        )),
        "the denial does not read as a refusal: {denied:?}"
    );
    assert_eq!(project.holder(APP).as_deref(), Some("impl_a"));

    assert!(!free_edit.is_error, "{free_edit:?}");
    assert_eq!(
        project.file(UTIL),
        "def double(x):\n    return x + x\n",
        "B's edit of a free file did not happen"
    );
    assert!(
        free_edit
            .beside
            .contains("claimed a write lock on src/util.py"),
        "the hook did not claim the free file for B, or did not say so: {free_edit:?}"
    );
    // B's turn has ended since: Claude Code's Stop hook let go of the lock
    // the edit took; A's own claim of app.py is kept.
    assert_eq!(
        project.holder(UTIL),
        None,
        "the end of B's turn did not let go of the lock its edit took: {:?}",
        project.locks()
    );
}

/// The control: the same agents and script without the hooks. The lock alone
/// does not stop Claude Code, so B overwrites A's file; the assertions above
/// hold only because of the hook.
fn without_the_hooks_the_held_file_is_overwritten(backend: Backend) {
    let Some(Collision {
        project, denied, ..
    }) = collide(backend, false)
    else {
        return;
    };
    assert!(!denied.is_error, "{denied:?}");
    assert_eq!(
        project.file(APP),
        "def total(xs):\n    return 0  # B was here\n"
    );
    assert_eq!(project.holder(APP).as_deref(), Some("impl_a"));
    assert_eq!(project.holder(UTIL), None, "{:?}", project.locks());
}

/// Each agent in its own `git worktree` of the repository: A's edit in its
/// worktree claims src/app.py (the hook, not the model, claims it); B's edit of
/// the same file in B's worktree is denied naming A, and B's edit of a free file
/// in its worktree goes through and is claimed for B, under the repository path.
fn across_worktrees_an_edit_of_a_file_another_worktree_holds_is_denied(backend: Backend) {
    let Some(claude) = claude_or_skip(
        "across_worktrees_an_edit_of_a_file_another_worktree_holds_is_denied",
        &[],
    ) else {
        return;
    };
    let project = Project::new(backend, claude, |root| {
        let a = worktree_of(root, "impl_a");
        let b = worktree_of(root, "impl_b");
        json!({
            "impl_a": [
                tool_use("Read", json!({ "file_path": abs(&a, APP) })),
                tool_use("Edit", json!({ "file_path": abs(&a, APP),
                    "old_string": "return sum(xs)", "new_string": "return sum(xs, 0)" })),
                text("A done."),
            ],
            "impl_b": [
                tool_use("Read", json!({ "file_path": abs(&b, APP) })),
                tool_use("Edit", json!({ "file_path": abs(&b, APP),
                    "old_string": "return sum(xs)", "new_string": "return 0  # B was here" })),
                tool_use("Read", json!({ "file_path": abs(&b, UTIL) })),
                tool_use("Edit", json!({ "file_path": abs(&b, UTIL),
                    "old_string": "return x * 2", "new_string": "return x + x" })),
                text("B done."),
            ],
        })
    });
    let (a, b) = (
        worktree_of(&project.root, "impl_a"),
        worktree_of(&project.root, "impl_b"),
    );
    project.write_hooks_in(&a);
    project.write_hooks_in(&b);

    project.run_agent_in(&a, "impl_a", "Make total() start from 0.");
    let claimed = project
        .api
        .wait_tool_result("impl_a", 1, Duration::from_secs(5));
    assert!(!claimed.is_error, "{claimed:?}");
    assert_eq!(
        std::fs::read_to_string(a.join(APP)).expect("A's app.py"),
        "def total(xs):\n    return sum(xs, 0)\n"
    );
    assert_eq!(
        project.holder(APP).as_deref(),
        Some("impl_a"),
        "{:?}",
        project.locks()
    );

    project.run_agent_in(&b, "impl_b", "Change total() and double().");
    let denied = project
        .api
        .wait_tool_result("impl_b", 1, Duration::from_secs(5));
    assert!(denied.is_error, "{denied:?}");
    assert!(
        denied.text.contains("src/app.py is locked by impl_a"),
        "the model is not told the holder: {denied:?}"
    );
    assert_eq!(
        std::fs::read_to_string(b.join(APP)).expect("B's app.py"),
        APP_TEXT,
        "B's edit of the file A holds went through in B's worktree"
    );
    let free_edit = project
        .api
        .wait_tool_result("impl_b", 3, Duration::from_secs(5));
    assert!(!free_edit.is_error, "{free_edit:?}");
    assert_eq!(
        std::fs::read_to_string(b.join(UTIL)).expect("B's util.py"),
        "def double(x):\n    return x + x\n"
    );
    assert_eq!(
        project.holder(UTIL).as_deref(),
        Some("impl_b"),
        "{:?}",
        project.locks()
    );
}

/// A claim that waits, through Claude Code's MCP client: B's claim of the file
/// A holds (`wait_seconds`) stays open inside the tool call, shows in `ccmulti
/// status` as waiting behind A, and is granted to B once A releases the file.
/// Claude Code waits for the answer; it neither times out nor retries.
fn a_waiting_claim_is_granted_when_the_holder_releases(backend: Backend) {
    let Some(claude) = claude_or_skip("a_waiting_claim_is_granted_when_the_holder_releases", &[])
    else {
        return;
    };
    let gate = tempfile::tempdir().expect("tempdir");
    let release_now = gate.path().join("release-now");
    let project = Project::new(backend, claude, |_| {
        json!({
            // A lets go only once the test has seen B waiting.
            "impl_a": holds_app_until(&release_now),
            "impl_b": [
                after("impl_a", 1, tool_use("mcp__ccmulti__claim_file_lock",
                    json!({ "file_paths": [APP], "wait_seconds": 60 }))),
                text("Got it."),
            ],
        })
    });
    let waiting = project.run_both("Take src/app.py once it is free.", || {
        // The coordinator shows B's claim waiting behind A; then A may release.
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        let waiting = loop {
            let status = status_text(&project.coordinator.db, SESSION);
            let seen = status.lines().any(|l| {
                let words: Vec<&str> = l.split_whitespace().collect();
                words.starts_with(&["impl_b", "write", APP]) && l.ends_with("behind impl_a")
            });
            if seen || std::time::Instant::now() > deadline {
                break seen.then_some(status);
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        std::fs::write(&release_now, "").expect("open the gate");
        waiting
    });
    assert!(
        waiting.is_some(),
        "B's claim never showed as waiting behind A:\n{}\n{}",
        status_text(&project.coordinator.db, SESSION),
        project.api.summary()
    );
    let released = project
        .api
        .wait_tool_result("impl_a", 1, Duration::from_secs(5));
    assert!(!released.is_error, "{released:?}");
    let granted = project
        .api
        .wait_tool_result("impl_b", 0, Duration::from_secs(5));
    assert!(!granted.is_error, "{granted:?}");
    let grant: Value = serde_json::from_str(&granted.text).expect("the claim as JSON");
    assert_eq!(grant["success"], true, "{grant}");
    assert!(
        grant["waited_seconds"].as_f64().is_some_and(|w| w > 0.0),
        "{grant}"
    );
    assert_eq!(
        project.holder(APP).as_deref(),
        Some("impl_b"),
        "{:?}",
        project.locks()
    );
}

/// The git guard under Claude Code's own Bash tool: B's `git commit` of a
/// change to the file A holds is refused by the pre-commit hook `ccmulti
/// install-git-hook` wrote, the model is told the file and its holder, and the
/// commit is not made.
fn a_commit_of_a_file_another_agent_holds_is_refused_by_the_git_guard(backend: Backend) {
    let Some(claude) = claude_or_skip(
        "a_commit_of_a_file_another_agent_holds_is_refused_by_the_git_guard",
        &[],
    ) else {
        return;
    };
    let project = Project::new(backend, claude, |_| {
        json!({
            "impl_a": [
                tool_use("mcp__ccmulti__claim_file_lock", json!({ "file_paths": [APP] })),
                text("Holding src/app.py."),
            ],
            "impl_b": [
                tool_use("Bash", json!({ "command": "git commit -am 'B: total returns 0'",
                    "description": "Commit the working tree" })),
                text("Tried."),
            ],
        })
    });
    run_ok(
        project
            .ccmulti()
            .arg("install-git-hook")
            .current_dir(&project.root),
    );
    project.run_agent("impl_a", "Take src/app.py.");
    // A change to the held file is in B's working tree (made before A claimed it, say).
    std::fs::write(project.root.join(APP), "def total(xs):\n    return 0\n").expect("change");

    project.run_agent("impl_b", "Commit what is there.");
    let refused = project
        .api
        .wait_tool_result("impl_b", 0, Duration::from_secs(5));
    assert!(refused.is_error, "{refused:?}");
    assert!(
        refused.text.contains("src/app.py") && refused.text.contains("impl_a"),
        "the model is not told the file and its holder: {refused:?}"
    );
    let commits = git(&project.root, &["rev-list", "--count", "HEAD"])
        .output()
        .expect("git rev-list");
    assert_eq!(
        String::from_utf8_lossy(&commits.stdout).trim(),
        "1",
        "B's commit of the held file was made"
    );
}

/// `ccmulti hook news` under the real Claude Code: B's edit of the file A
/// holds is denied (so B wanted it); once A releases it, B's next tool call
/// brings the news, through the PostToolUse hook, into what the model reads.
fn news_of_a_released_file_reaches_the_agent_that_wanted_it(backend: Backend) {
    let Some(claude) = claude_or_skip(
        "news_of_a_released_file_reaches_the_agent_that_wanted_it",
        &[],
    ) else {
        return;
    };
    let gates = tempfile::tempdir().expect("tempdir");
    let (release, go_on) = (gates.path().join("release"), gates.path().join("go-on"));
    let project = Project::new(backend, claude, |root| {
        json!({
            "impl_a": holds_app_until(&release),
            "impl_b": [
                after("impl_a", 1, tool_use("Edit", json!({ "file_path": abs(root, APP),
                    "old_string": "return sum(xs)", "new_string": "return 0" }))),
                after_file(&go_on, tool_use("Read", json!({ "file_path": abs(root, UTIL) }))),
                text("Finished."),
            ],
        })
    });
    project.write_hooks();
    let (denied, released) = project.run_both("Change total().", || {
        // B is denied first, then A releases, then B makes its next call.
        let denied = project
            .api
            .wait_tool_result("impl_b", 0, Duration::from_secs(60));
        std::fs::write(&release, "").expect("gate");
        let released = project
            .api
            .wait_tool_result("impl_a", 1, Duration::from_secs(60));
        std::fs::write(&go_on, "").expect("gate");
        (denied, released)
    });
    assert!(denied.is_error, "{denied:?}");
    assert!(!released.is_error, "{released:?}");
    let next = project
        .api
        .wait_tool_result("impl_b", 1, Duration::from_secs(5));
    assert!(
        next.beside
            .contains("impl_a released src/app.py, which you wanted; it is free now"),
        "B was not told: {next:?}"
    );
    assert_eq!(project.file(APP), APP_TEXT);
}
