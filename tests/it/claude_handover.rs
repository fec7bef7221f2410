//! A lock hands over the change, not only the turn: two implementers, each
//! the real Claude Code (`claude -p`) in a git worktree of its own on the
//! team's branch, with ccmulti's MCP tools and hooks; the model is the
//! stand-in, reacting to what it is told (it runs the command a refusal or a
//! grant names, re-reads a file it is told changed, then retries its edit).
//!
//! implementer-1 edits the first line of `total()` in app.py; its release
//! before committing is refused ("commit first"), so it commits and releases.
//! implementer-2 then edits the second line of the same function in its own
//! worktree, where app.py is still the old one: the hook brings
//! implementer-1's commit in (or the model runs the merge its grant names),
//! implementer-2 edits the new file, commits and releases; `ccmulti team
//! land` merges both branches with no conflict and app.py holds both
//! changes. Or implementer-2 only reads the stale file and is told, after
//! the read, of the commit and the command. The control, the same edits without ccmulti, ends in a merge
//! conflict. Each runs with the coordinator on SQLite and on PostgreSQL.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use ccmulti_testkit::binary::Coordinator;
use ccmulti_testkit::claude::{
    FakeApi, ToolResult, ccmulti, claude_env, claude_or_skip, git_repo, react, run_within,
    seed_home, text, tool_use,
};
use ccmulti_testkit::{Backend, run_ok};
use serde_json::{Value, json};

on_both_backends!(blocking:
    the_hook_brings_the_change_in_and_the_branches_land_without_a_conflict,
    the_model_brings_in_the_commit_its_grant_names,
    a_read_tells_the_model_of_the_commit_its_worktree_lacks,
);

const SESSION: &str = "land";
const USER: &str = "e2e";
const APP: &str = "app.py";
const BEFORE: &str = "def total(xs):\n    return sum(xs)\n";
const BOTH: &str = "def total(xs, start=0):\n    return round(sum(xs), 2)\n";
const ONE: &str = "implementer-1";
const TWO: &str = "implementer-2";
/// The command a hand-over names, as the model picks it out of what it was told.
const MERGE_COMMAND: &str = "`(git merge --no-edit [0-9a-f]{40})`";

/// The repository, a worktree per implementer on `ccmulti/land/<agent>` (as
/// `ccmulti team --worktrees` makes them), a HOME for Claude Code, the
/// stand-in, and with ccmulti a coordinator, the git guard and the hooks.
struct Run {
    claude: PathBuf,
    dir: PathBuf,
    repo: PathBuf,
    home: PathBuf,
    api: FakeApi,
    coordinator: Option<Coordinator>,
    _tmp: tempfile::TempDir,
}

fn worktree(dir: &Path, agent: &str) -> PathBuf {
    dir.join(format!("{SESSION}-{agent}"))
}

fn abs(dir: &Path, agent: &str) -> String {
    worktree(dir, agent).join(APP).display().to_string()
}

fn git(dir: &Path, args: &[&str]) -> Output {
    ccmulti_testkit::tools::git(dir, args, &[])
}

impl Run {
    fn new(
        claude: PathBuf,
        backend: Option<Backend>,
        scripts: impl FnOnce(&Path) -> Value,
    ) -> Self {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = std::fs::canonicalize(tmp.path()).expect("canonical");
        let repo = dir.join("repo");
        git_repo(&repo, &[(APP, BEFORE)]);
        for agent in [ONE, TWO] {
            let path = worktree(&dir, agent);
            let branch = format!("ccmulti/{SESSION}/{agent}");
            let made = git(
                &repo,
                &[
                    "worktree",
                    "add",
                    "-q",
                    "-b",
                    &branch,
                    &path.to_string_lossy(),
                ],
            );
            assert!(made.status.success(), "git worktree add: {made:?}");
        }
        let home = dir.join("home");
        seed_home(&home, &[&repo, &worktree(&dir, ONE), &worktree(&dir, TWO)]);
        let coordinator = backend.map(|b| Coordinator::start_new(b, &dir, &repo, &[]));
        let api = FakeApi::start(&dir, &scripts(&dir));
        let run = Self {
            claude,
            dir,
            repo,
            home,
            api,
            coordinator,
            _tmp: tmp,
        };
        if run.coordinator.is_some() {
            run_ok(run.ccmulti().arg("install-git-hook").current_dir(&run.repo));
        }
        run
    }

    fn ccmulti(&self) -> Command {
        let mut c = ccmulti();
        if let Some(coordinator) = &self.coordinator {
            c.arg("--db").arg(&coordinator.db);
        } else {
            c.arg("--db").arg(self.dir.join("no-coordinator.db"));
        }
        c
    }

    fn virtual_user(agent: &str) -> String {
        format!("{USER}__session__{SESSION}__{agent}")
    }

    /// `claude -p` as `agent` in its worktree; with ccmulti, its MCP URL and
    /// the hooks `ccmulti connect --write` makes, kept outside the repository.
    fn agent(&self, agent: &str, extra_env: &[(&str, &str)]) {
        let mut command = Command::new(&self.claude);
        claude_env(&mut command, &self.home, &self.api.base_url(agent));
        command
            .current_dir(worktree(&self.dir, agent))
            .args(["-p", "Do your part of the task."])
            .args(["--permission-mode", "acceptEdits"]);
        // ccmulti's hook never answers allow: edits need a mode that does not
        // prompt, and the MCP tools and the shell commands the script runs
        // need allowing, or -p refuses them.
        let mut allowed = vec!["Bash(git commit:*)", "Bash(git merge:*)"];
        if let Some(coordinator) = &self.coordinator {
            let addr = coordinator.base.trim_start_matches("http://").to_owned();
            let mcp = self.dir.join(format!("mcp-{agent}.json"));
            let url = coordinator.url(&Self::virtual_user(agent));
            std::fs::write(
                &mcp,
                json!({ "mcpServers": { "ccmulti": { "type": "http", "url": url } } }).to_string(),
            )
            .expect("mcp config");
            let settings = self.dir.join(format!("settings-{agent}"));
            std::fs::create_dir_all(&settings).expect("settings dir");
            run_ok(
                self.ccmulti()
                    .args(["connect", "--session", SESSION, "--agent", agent])
                    .args(["--user", USER, "--addr", &addr, "--write", "--root"])
                    .arg(&settings),
            );
            command
                .env("CCMULTI_AGENT", Self::virtual_user(agent))
                .env("CCMULTI_ADDR", &addr)
                .envs(extra_env.iter().copied())
                .arg("--mcp-config")
                .arg(&mcp)
                .arg("--settings")
                .arg(settings.join(".claude/settings.json"));
            allowed.push("mcp__ccmulti");
        }
        command.arg("--allowedTools").args(allowed);
        let (code, stdout, stderr) = run_within(command, Duration::from_secs(120));
        assert_eq!(
            code,
            Some(0),
            "claude -p as {agent} failed\nstdout: {stdout}\nstderr: {stderr}\nmodel requests:\n{}",
            self.api.summary()
        );
    }

    fn result(&self, agent: &str, step: usize) -> ToolResult {
        self.api
            .wait_tool_result(agent, step, Duration::from_secs(10))
    }

    fn land(&self) -> Output {
        self.ccmulti()
            .args(["team", "land", "--session", SESSION])
            .current_dir(&self.repo)
            .output()
            .expect("ccmulti team land")
    }

    fn app(&self) -> String {
        std::fs::read_to_string(self.repo.join(APP)).expect("app.py")
    }
}

/// implementer-1: edit the first line, try to release, commit when told to, release.
fn first_implementer(dir: &Path, with_ccmulti: bool) -> Value {
    let read = tool_use("Read", json!({ "file_path": abs(dir, ONE) }));
    let edit = tool_use(
        "Edit",
        json!({ "file_path": abs(dir, ONE), "old_string": "def total(xs):",
                "new_string": "def total(xs, start=0):" }),
    );
    let commit = tool_use(
        "Bash",
        json!({ "command": "git commit -qam 'implementer-1: total takes a start'",
                "description": "Commit app.py" }),
    );
    if !with_ccmulti {
        return json!([read, edit, commit, text("Done.")]);
    }
    let release = tool_use(
        "mcp__ccmulti__release_file_lock",
        json!({ "file_paths": [APP] }),
    );
    json!([
        read,
        edit,
        release.clone(),
        react(
            &[("commit first", commit)],
            text("Released without committing.")
        ),
        release,
        text("Done."),
    ])
}

/// implementer-2's own edit: the second line of the same function.
fn second_edit(dir: &Path) -> Value {
    tool_use(
        "Edit",
        json!({ "file_path": abs(dir, TWO), "old_string": "    return sum(xs)",
                "new_string": "    return round(sum(xs), 2)" }),
    )
}

fn second_commit() -> Value {
    tool_use(
        "Bash",
        json!({ "command": "git commit -qam 'implementer-2: total rounds'",
                "description": "Commit app.py" }),
    )
}

/// The first implementer's part, with what ccmulti told it checked.
fn run_first(run: &Run) {
    run.agent(ONE, &[]);
    let refused = run.result(ONE, 2);
    assert!(
        refused
            .text
            .contains("commit first: app.py has uncommitted changes"),
        "the release before committing was not refused: {refused:?}"
    );
    let released = run.result(ONE, 4);
    let released: Value = serde_json::from_str(&released.text).expect("release JSON");
    assert_eq!(released["released"], json!([APP]), "{released}");
}

/// Both branches land with no conflict, and app.py holds both changes.
fn assert_lands(run: &Run) {
    let one = git(
        &run.repo,
        &["rev-parse", &format!("ccmulti/{SESSION}/{ONE}")],
    );
    let one = String::from_utf8_lossy(&one.stdout).trim().to_owned();
    let two_has_one = git(
        &run.repo,
        &[
            "merge-base",
            "--is-ancestor",
            &one,
            &format!("ccmulti/{SESSION}/{TWO}"),
        ],
    );
    assert!(
        two_has_one.status.success(),
        "implementer-2's branch lacks implementer-1's commit"
    );
    let landed = run.land();
    assert!(
        landed.status.success(),
        "{}",
        ccmulti_testkit::tools::said(&landed)
    );
    assert!(
        ccmulti_testkit::tools::said(&landed).contains(&format!("1. ccmulti/{SESSION}/{ONE}")),
        "{}",
        ccmulti_testkit::tools::said(&landed)
    );
    assert_eq!(run.app(), BOTH);
}

/// The default: implementer-2 reads and edits its stale app.py; the hook
/// merges implementer-1's commit, denies that edit and says to read again;
/// the model does, and its edit goes through on the new content.
fn the_hook_brings_the_change_in_and_the_branches_land_without_a_conflict(backend: Backend) {
    let Some(claude) = claude_or_skip(
        "the_hook_brings_the_change_in_and_the_branches_land_without_a_conflict",
        &[],
    ) else {
        return;
    };
    let run = Run::new(claude, Some(backend), |dir| {
        let read = tool_use("Read", json!({ "file_path": abs(dir, TWO) }));
        json!({
            ONE: first_implementer(dir, true),
            TWO: [
                read.clone(),
                second_edit(dir),
                react(&[("Read it again", read)], text("The edit went through.")),
                second_edit(dir),
                second_commit(),
                tool_use("mcp__ccmulti__release_file_lock", json!({ "file_paths": [APP] })),
                text("Done."),
            ],
        })
    });
    run_first(&run);
    run.agent(TWO, &[]);
    let denied = run.result(TWO, 1);
    assert!(
        denied.is_error
            && denied
                .text
                .contains("implementer-1 changed app.py in commit")
            && denied
                .text
                .contains("ccmulti brought it in (git merge --no-edit"),
        "the hook did not bring the change in: {denied:?}"
    );
    let retried = run.result(TWO, 3);
    assert!(!retried.is_error, "{retried:?}");
    assert_lands(&run);
}

/// implementer-2 claims app.py first; the grant names implementer-1's commit
/// and the command; the model runs it, reads the file and edits it.
fn the_model_brings_in_the_commit_its_grant_names(backend: Backend) {
    let Some(claude) = claude_or_skip("the_model_brings_in_the_commit_its_grant_names", &[]) else {
        return;
    };
    let run = Run::new(claude, Some(backend), |dir| {
        let read = tool_use("Read", json!({ "file_path": abs(dir, TWO) }));
        let merge = tool_use(
            "Bash",
            json!({ "command": "{1}", "description": "Bring in implementer-1's commit" }),
        );
        json!({
            ONE: first_implementer(dir, true),
            TWO: [
                tool_use("mcp__ccmulti__claim_file_lock", json!({ "file_paths": [APP] })),
                react(&[(MERGE_COMMAND, merge)], read.clone()),
                read,
                second_edit(dir),
                second_commit(),
                tool_use("mcp__ccmulti__release_file_lock", json!({ "file_paths": [APP] })),
                text("Done."),
            ],
        })
    });
    run_first(&run);
    run.agent(TWO, &[("CCMULTI_HOOK_BRING_IN", "tell")]);
    let granted: Value = serde_json::from_str(&run.result(TWO, 0).text).expect("the claim as JSON");
    let handover = &granted["handovers"][0];
    assert_eq!(handover["from"], ONE, "{granted}");
    assert_eq!(handover["path"], APP, "{granted}");
    assert_eq!(
        handover["branch"],
        format!("ccmulti/{SESSION}/{ONE}"),
        "{granted}"
    );
    let edited = run.result(TWO, 3);
    assert!(!edited.is_error, "{edited:?}");
    assert_lands(&run);
}

/// implementer-2 only reads its stale app.py: the news hook after the Read
/// names implementer-1's commit and the command (Claude Code refuses an edit
/// whose text is not in the file before any hook runs, so the read is where
/// an agent waiting for another's text can be told); the model runs it,
/// reads again and makes its edit on the new content.
fn a_read_tells_the_model_of_the_commit_its_worktree_lacks(backend: Backend) {
    let Some(claude) = claude_or_skip(
        "a_read_tells_the_model_of_the_commit_its_worktree_lacks",
        &[],
    ) else {
        return;
    };
    let run = Run::new(claude, Some(backend), |dir| {
        let read = tool_use("Read", json!({ "file_path": abs(dir, TWO) }));
        let merge = tool_use(
            "Bash",
            json!({ "command": "{1}", "description": "Bring in implementer-1's commit" }),
        );
        json!({
            ONE: first_implementer(dir, true),
            TWO: [
                read.clone(),
                react(&[(MERGE_COMMAND, merge)], text("Nothing was said about app.py.")),
                read,
                second_edit(dir),
                second_commit(),
                tool_use("mcp__ccmulti__release_file_lock", json!({ "file_paths": [APP] })),
                text("Done."),
            ],
        })
    });
    run_first(&run);
    run.agent(TWO, &[]);
    let merged = run.result(TWO, 1);
    assert!(
        !merged.is_error && merged.text.contains("Fast-forward"),
        "the model did not bring the commit in after its read: {merged:?}"
    );
    let edited = run.result(TWO, 3);
    assert!(!edited.is_error, "{edited:?}");
    assert_lands(&run);
}

/// The control: the same two implementers and edits without ccmulti. Each
/// worktree keeps its own copy, so implementer-2 edits the old function, and
/// the branches collide when landed.
#[test]
fn without_ccmulti_the_same_edits_end_in_a_merge_conflict() {
    let Some(claude) = claude_or_skip(
        "without_ccmulti_the_same_edits_end_in_a_merge_conflict",
        &[],
    ) else {
        return;
    };
    let run = Run::new(claude, None, |dir| {
        json!({
            ONE: first_implementer(dir, false),
            TWO: [
                tool_use("Read", json!({ "file_path": abs(dir, TWO) })),
                second_edit(dir),
                second_commit(),
                text("Done."),
            ],
        })
    });
    run.agent(ONE, &[]);
    run.agent(TWO, &[]);
    let landed = run.land();
    assert!(
        !landed.status.success(),
        "{}",
        ccmulti_testkit::tools::said(&landed)
    );
    assert!(
        ccmulti_testkit::tools::said(&landed).contains(&format!(
            "stopped at ccmulti/{SESSION}/{TWO}: merging it into main conflicts in app.py"
        )),
        "{}",
        ccmulti_testkit::tools::said(&landed)
    );
    assert_eq!(run.app(), "def total(xs, start=0):\n    return sum(xs)\n");
}
