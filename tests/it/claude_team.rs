//! `ccmulti team` end to end: real tmux, real `git worktree`s, the real Claude
//! Code binary in every pane (interactive, as a person would see it), the
//! coordinator `team` starts itself (on SQLite: `team` is SQLite only). The only stand-in is the model
//! (tests/interop/fake_anthropic.py): `CCMULTI_CLAUDE` names a small script that
//! starts the real claude with the stand-in as its API, each agent playing the
//! script named after its `CCMULTI_AGENT`.
//!
//! The planner calls a planner-only tool, implementer-1 claims src/app.py, and
//! then implementer-2 edits src/app.py (denied, the holder named) and the free
//! src/util.py (done, claimed for it): in one checkout, and with `--worktrees`
//! each implementer in its own worktree. `ccmulti team stop` ends it all.
//!
//! Skipped, saying so, without Claude Code, python3 or tmux; `.ci/run` sets
//! CCMULTI_REQUIRE_INTEROP=1, which makes that a failure.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ccmulti_testkit::claude::{
    FakeApi, after, claude_or_skip, claude_wrapper, git_repo, seed_home, status_locks, status_text,
    text, tool_use,
};
use ccmulti_testkit::interop::Client;
use ccmulti_testkit::run_ok;
use serde_json::{Value, json};

const SESSION: &str = "e2eteam";
const APP: &str = "src/app.py";
const APP_TEXT: &str = "def total(xs):\n    return sum(xs)\n";
const UTIL: &str = "src/util.py";
const UTIL_TEXT: &str = "def double(x):\n    return x * 2\n";
const IMPL_1: &str = "implementer-1";
const IMPL_2: &str = "implementer-2";
/// Everything a team needs to do here takes a few seconds; a loaded machine gets ample slack.
const DEADLINE: Duration = Duration::from_secs(90);

/// Two teams at once would be six Claude Codes on a shared machine: one at a time.
static ONE_TEAM: Mutex<()> = Mutex::new(());

/// Where things are: the temp dir, the repository, and whether the
/// implementers have worktrees of their own.
struct Layout {
    dir: PathBuf,
    repo: PathBuf,
    worktrees: bool,
}

impl Layout {
    /// Where an agent's terminal works: its worktree with `--worktrees`
    /// (`<dir>/<session>-<agent>`), else the checkout.
    fn workdir(&self, agent: &str) -> PathBuf {
        if self.worktrees && agent != "planner" {
            self.dir
                .join("worktrees")
                .join(format!("{SESSION}-{agent}"))
        } else {
            self.repo.clone()
        }
    }

    fn abs(&self, agent: &str, path: &str) -> String {
        self.workdir(agent).join(path).display().to_string()
    }
}

/// A repository, a HOME for Claude Code, the model stand-in and a private tmux
/// server; `team stop` and the tmux server's end on drop, even on panic.
struct TeamRun {
    at: Layout,
    home: PathBuf,
    db: PathBuf,
    addr: String,
    tmux_tmpdir: PathBuf,
    wrapper: PathBuf,
    api: FakeApi,
    _tmp: tempfile::TempDir,
}

impl TeamRun {
    /// With `trusted`, Claude Code's config trusts each agent's directory (a
    /// returning user's); without, it has never seen the repository.
    fn new(
        claude: &Path,
        worktrees: bool,
        trusted: bool,
        scripts: impl FnOnce(&Layout) -> Value,
    ) -> Self {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = std::fs::canonicalize(tmp.path()).expect("canonical");
        let at = Layout {
            repo: dir.join("repo"),
            dir,
            worktrees,
        };
        git_repo(&at.repo, &[(APP, APP_TEXT), (UTIL, UTIL_TEXT)]);
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let tmux_tmpdir = at.dir.join("tmux");
        std::fs::create_dir_all(&tmux_tmpdir).expect("tmux dir");
        let api = FakeApi::start(&at.dir, &scripts(&at));
        let home = at.dir.join("home");
        let trusted: Vec<PathBuf> = ["planner", IMPL_1, IMPL_2]
            .iter()
            .filter(|_| trusted)
            .map(|a| at.workdir(a))
            .collect();
        seed_home(
            &home,
            &trusted.iter().map(PathBuf::as_path).collect::<Vec<_>>(),
        );
        let wrapper = at.dir.join("claude");
        claude_wrapper(&wrapper, claude, &home, &api);
        Self {
            home,
            db: at.dir.join("data/coordinator.db"),
            addr: format!("127.0.0.1:{port}"),
            at,
            tmux_tmpdir,
            wrapper,
            api,
            _tmp: tmp,
        }
    }

    fn ccmulti(&self) -> Command {
        let mut c = ccmulti_testkit::claude::ccmulti();
        c.env_remove("TMUX")
            .env("TMUX_TMPDIR", &self.tmux_tmpdir)
            .env("CCMULTI_CLAUDE", &self.wrapper)
            .env("CCMULTI_DATA_DIR", self.at.dir.join("data"))
            .env("USER", "e2e")
            // Claude Code's config is the agents' HOME's: team reads and records trust there.
            .env("HOME", &self.home)
            .env_remove("CLAUDE_CONFIG_DIR")
            .env("TERM", "xterm-256color")
            .current_dir(&self.at.repo)
            .env("CCMULTI_ADDR", &self.addr)
            .arg("--db")
            .arg(&self.db);
        c
    }

    fn tmux(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .args(args)
            .env_remove("TMUX")
            .env("TMUX_TMPDIR", &self.tmux_tmpdir)
            .output()
            .expect("tmux")
    }

    /// `ccmulti team`, detached, planning two tasks for two implementers, with
    /// `extra` options; each claude gets the edit permission flags after `--`.
    fn start(&self, extra: &[&str]) -> String {
        let tasks = self.at.dir.join("tasks.txt");
        std::fs::write(
            &tasks,
            "Make total() in src/app.py start from zero\nMake double() in src/util.py use addition\n",
        )
        .expect("tasks");
        let mut team = self.ccmulti();
        team.args(["team", "--agents", "2", "--session", SESSION, "--no-attach"])
            .args(extra)
            .arg("--tasks")
            .arg(&tasks);
        if self.at.worktrees {
            team.args(["--worktrees", "--worktree-dir"])
                .arg(self.at.dir.join("worktrees"));
        }
        // ccmulti's hook never answers allow: edits need a mode that does not
        // prompt (the user's choice); the ccmulti tools team allows itself.
        team.args(["--", "--permission-mode", "acceptEdits"]);
        let out = team.output().expect("ccmulti team");
        let said = ccmulti_testkit::tools::said(&out);
        assert!(out.status.success(), "ccmulti team failed: {said}");
        said
    }

    fn pane(&self, window: &str) -> String {
        let target = format!("=ccmulti-{SESSION}:{window}");
        String::from_utf8_lossy(&self.tmux(&["capture-pane", "-p", "-t", &target]).stdout)
            .into_owned()
    }

    /// Every pane's screen, for failure messages.
    fn screens(&self) -> String {
        ["planner", IMPL_1, IMPL_2, "coordinator"]
            .iter()
            .map(|w| format!("--- {w}\n{}", self.pane(w)))
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn result(&self, agent: &str, step: usize) -> ccmulti_testkit::claude::ToolResult {
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Some(r) = self.api.tool_result(agent, step) {
                return r;
            }
            assert!(
                Instant::now() < deadline,
                "{agent} sent no result for step {step}; requests:\n{}\n{}",
                self.api.summary(),
                self.screens()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The first model request `agent`'s claude sent.
    fn first_request(&self, agent: &str) -> Value {
        self.api
            .main_loop(agent)
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("{agent} sent no request"))
    }

    fn holder(&self, path: &str) -> Option<String> {
        status_locks(&self.db, SESSION)
            .into_iter()
            .find(|(p, _, _)| p == path)
            .map(|(_, agent, _)| agent)
    }
}

impl Drop for TeamRun {
    fn drop(&mut self) {
        let _ = self
            .ccmulti()
            .args(["team", "stop", "--session", SESSION])
            .output();
        let _ = self.tmux(&["kill-server"]);
    }
}

/// The scripts: the planner uses a tool only the planner has, implementer-1
/// reads and claims src/app.py, implementer-2 (once implementer-1 holds it)
/// edits it, then edits the free src/util.py.
fn scripts(run: &Layout) -> Value {
    json!({
        "planner": [
            tool_use("Read", json!({ "file_path": run.abs("planner", APP) })),
            tool_use("mcp__ccmulti__analyze_task_conflicts",
                json!({ "tasks": ["Make total() in src/app.py start from zero"] })),
            text("Planned."),
        ],
        IMPL_1: [
            tool_use("Read", json!({ "file_path": run.abs(IMPL_1, APP) })),
            tool_use("mcp__ccmulti__claim_file_lock", json!({ "file_paths": [APP] })),
            text("Holding src/app.py."),
        ],
        IMPL_2: [
            after(IMPL_1, 2, tool_use("Read", json!({ "file_path": run.abs(IMPL_2, APP) }))),
            tool_use("Edit", json!({ "file_path": run.abs(IMPL_2, APP),
                "old_string": "return sum(xs)", "new_string": "return 0  # implementer-2 was here" })),
            tool_use("Read", json!({ "file_path": run.abs(IMPL_2, UTIL) })),
            tool_use("Edit", json!({ "file_path": run.abs(IMPL_2, UTIL),
                "old_string": "return x * 2", "new_string": "return x + x" })),
            tool_use("mcp__ccmulti__sync_progress", json!({ "task_id": "double-addition",
                "status": "completed", "progress_percentage": 100, "message": "double() adds" })),
            text("Finished."),
        ],
    })
}

fn a_team_coordinates(test: &str, worktrees: bool) {
    let Some(claude) = claude_or_skip(test, &[Client::Tmux]) else {
        return;
    };
    let _one = ONE_TEAM.lock().unwrap_or_else(|e| e.into_inner());
    let started = Instant::now();
    let run = TeamRun::new(&claude, worktrees, true, scripts);
    let said = run.start(&[]);

    // The planner's call came in as the planner: only the planner is given this tool.
    let planned = run.result("planner", 1);
    assert!(!planned.is_error, "{planned:?}\n{said}");
    let analysis: Value = serde_json::from_str(&planned.text).expect("the analysis as JSON");
    assert_eq!(analysis["success"], true, "{analysis}");

    // implementer-1's claim is recorded under implementer-1, the very lock it was told of.
    let claimed = run.result(IMPL_1, 1);
    assert!(!claimed.is_error, "{claimed:?}");
    let grant: Value = serde_json::from_str(&claimed.text).expect("the claim as JSON");
    let lock_id = grant["locks"][0]["lock_id"]
        .as_str()
        .expect("lock_id")
        .to_owned();
    let locks = status_locks(&run.db, SESSION);
    assert!(
        locks.contains(&(APP.to_owned(), IMPL_1.to_owned(), lock_id)),
        "{locks:?}"
    );

    // implementer-2's edit of it is denied by the hook team configured, naming the holder.
    let denied = run.result(IMPL_2, 1);
    assert!(denied.is_error, "{denied:?}");
    assert!(
        denied
            .text
            .contains("src/app.py is locked by implementer-1"),
        "{denied:?}"
    );
    let edited = run.result(IMPL_2, 3);
    assert!(!edited.is_error, "{edited:?}");
    let two = run.at.workdir(IMPL_2);
    assert_eq!(
        std::fs::read_to_string(two.join(APP)).expect("app.py"),
        APP_TEXT
    );
    assert_eq!(
        std::fs::read_to_string(two.join(UTIL)).expect("util.py"),
        "def double(x):\n    return x + x\n"
    );
    // When implementer-2's turn ends, the Stop hook team configured lets go
    // of the lock its edit took, unless (in a worktree) the edit is not
    // committed; implementer-1's own claim is kept.
    let kept_uncommitted = worktrees.then_some(IMPL_2);
    let turn_over = Instant::now() + Duration::from_secs(20);
    while run.holder(UTIL).as_deref() != kept_uncommitted && Instant::now() < turn_over {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(run.holder(UTIL).as_deref(), kept_uncommitted);
    assert_eq!(run.holder(APP).as_deref(), Some(IMPL_1));
    // implementer-2's own MCP connection is implementer-2's: its progress is recorded under it.
    let synced = run.result(IMPL_2, 4);
    assert!(!synced.is_error, "{synced:?}");
    let status = status_text(&run.db, SESSION);
    assert!(
        status.lines().any(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            words.starts_with(&["double-addition", IMPL_2, "completed", "100%"])
        }),
        "{status}"
    );

    // Each agent worked where team put it: Claude Code tells the model its working directory.
    for agent in ["planner", IMPL_1, IMPL_2] {
        let first = run.first_request(agent);
        let wd = format!(
            "Primary working directory: {}",
            run.at.workdir(agent).display()
        );
        assert!(
            first["body"].to_string().contains(&wd),
            "{agent} did not start in {wd}"
        );
    }
    if worktrees {
        let list = Command::new("git")
            .args(["worktree", "list", "--porcelain"])
            .current_dir(&run.at.repo)
            .output()
            .expect("git worktree list");
        let list = String::from_utf8_lossy(&list.stdout);
        for agent in [IMPL_1, IMPL_2] {
            assert!(
                list.contains(&format!("worktree {}", run.at.workdir(agent).display()))
                    && list.contains(&format!("branch refs/heads/ccmulti/{SESSION}/{agent}")),
                "{list}"
            );
        }
        // The main checkout is untouched: implementer-2 edited its own worktree.
        assert_eq!(
            std::fs::read_to_string(run.at.repo.join(UTIL)).expect("util.py"),
            UTIL_TEXT
        );
    }

    // `team stop` ends the tmux session and releases the team's locks. In
    // worktrees, implementer-2's edit of util.py is not committed: its lock
    // is kept ("commit first") until a forced stop leaves that work behind.
    let stopped = run_ok(run.ccmulti().args(["team", "stop", "--session", SESSION]));
    let has = run.tmux(&["has-session", "-t", &format!("=ccmulti-{SESSION}")]);
    assert!(!has.status.success(), "the tmux session outlived team stop");
    if worktrees {
        let said = String::from_utf8_lossy(&stopped.stdout);
        assert!(
            said.contains(&format!("kept the locks of {IMPL_2}: commit first: {UTIL}")),
            "{said}"
        );
        assert_eq!(run.holder(UTIL).as_deref(), Some(IMPL_2));
        run_ok(
            run.ccmulti()
                .args(["team", "stop", "--session", SESSION, "--force"]),
        );
    }
    assert_eq!(
        status_locks(&run.db, SESSION),
        vec![],
        "team stop left locks"
    );
    let _ = writeln_time(test, started);
}

fn writeln_time(test: &str, started: Instant) -> std::io::Result<()> {
    use std::io::Write;
    writeln!(
        std::io::stderr(),
        "{test}: {:.1}s",
        started.elapsed().as_secs_f64()
    )
}

#[test]
fn a_team_in_one_checkout_coordinates_through_the_real_claude_code() {
    a_team_coordinates(
        "a_team_in_one_checkout_coordinates_through_the_real_claude_code",
        false,
    );
}

#[test]
fn a_team_in_worktrees_denies_an_edit_of_a_file_another_worktree_holds() {
    a_team_coordinates(
        "a_team_in_worktrees_denies_an_edit_of_a_file_another_worktree_holds",
        true,
    );
}

/// Each agent's first step calls a ccmulti tool of its role; then it is done.
fn first_calls(run: &Layout) -> Value {
    json!({
        "planner": [
            tool_use("mcp__ccmulti__check_agent_status", json!({})),
            text("Watching."),
        ],
        IMPL_1: [
            tool_use("mcp__ccmulti__claim_file_lock", json!({ "file_paths": [run.abs(IMPL_1, APP)] })),
            text("Holding src/app.py."),
        ],
        IMPL_2: [
            tool_use("mcp__ccmulti__claim_file_lock", json!({ "file_paths": [run.abs(IMPL_2, UTIL)] })),
            text("Holding src/util.py."),
        ],
    })
}

/// The tool names a model request offered.
fn offered(request: &Value) -> Vec<String> {
    request["body"]["tools"]
        .as_array()
        .map(|tools| {
            tools
                .iter()
                .filter_map(|t| t["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Ten teams in a row, each on a new repository Claude Code has never seen
/// (its config trusts nothing; `--yes` records the trust as Claude Code
/// would), every other one with worktrees: every agent's first model request
/// offers the ccmulti tools of its role, and every agent's first ccmulti call
/// returns its answer (none waits on a permission prompt).
#[test]
fn every_first_request_has_the_ccmulti_tools_ten_teams_in_a_row() {
    const ROUNDS: usize = 10;
    let test = "every_first_request_has_the_ccmulti_tools_ten_teams_in_a_row";
    let Some(claude) = claude_or_skip(test, &[Client::Tmux]) else {
        return;
    };
    let _one = ONE_TEAM.lock().unwrap_or_else(|e| e.into_inner());
    let started = Instant::now();
    for round in 0..ROUNDS {
        let worktrees = round % 2 == 1;
        let run = TeamRun::new(&claude, worktrees, false, first_calls);
        let said = run.start(&["--yes"]);
        for (agent, has, lacks) in [
            ("planner", "mcp__ccmulti__analyze_task_conflicts", None),
            (
                IMPL_1,
                "mcp__ccmulti__claim_file_lock",
                Some("mcp__ccmulti__analyze_task_conflicts"),
            ),
            (
                IMPL_2,
                "mcp__ccmulti__claim_file_lock",
                Some("mcp__ccmulti__analyze_task_conflicts"),
            ),
        ] {
            let answered = run.result(agent, 0);
            assert!(
                !answered.is_error,
                "round {round}, {agent}: {answered:?}\n{said}"
            );
            let first = run.first_request(agent);
            // Its first message is its prompt, as team wrote it, whole.
            let prompt = std::fs::read_to_string(
                run.at
                    .dir
                    .join(format!("data/teams/{SESSION}/{agent}.prompt.md")),
            )
            .expect("the prompt team wrote");
            let first_message = first["body"]["messages"][0]["content"]
                .as_array()
                .and_then(|blocks| blocks.last())
                .map(|b| b["text"].as_str().unwrap_or_default().to_owned())
                .unwrap_or_default();
            assert_eq!(first_message, prompt.trim_end(), "round {round}, {agent}");
            let tools = offered(&first);
            assert!(
                tools.iter().any(|t| t == has)
                    && lacks.is_none_or(|l| !tools.contains(&l.to_owned())),
                "round {round}: {agent}'s first request offered {tools:?}\n{}",
                run.screens()
            );
        }
        // The trust was recorded as Claude Code records it; the rest of its config kept.
        let config: Value = serde_json::from_str(
            &std::fs::read_to_string(run.home.join(".claude.json")).expect("config"),
        )
        .expect("JSON");
        let repo = run.at.repo.display().to_string();
        assert_eq!(
            config["projects"][&repo]["hasTrustDialogAccepted"],
            json!(true),
            "{config}"
        );
        assert_eq!(config["hasCompletedOnboarding"], json!(true), "{config}");

        run_ok(run.ccmulti().args(["team", "stop", "--session", SESSION]));
    }
    let _ = writeln_time(test, started);
}

/// Forwards each connection to `to`, holding `delay` each of Claude Code's
/// own: a client whose MCP connection is slow to come up (a loaded machine,
/// another host), while the hooks' calls (`x-client-name`) pass at once.
fn slow_for_claude_code(listen: &str, to: String, delay: Duration) {
    use std::io::{Read, Write};
    use std::net::{Shutdown, TcpListener, TcpStream};
    let listener = TcpListener::bind(listen).expect("bind the proxy");
    std::thread::spawn(move || {
        for mut client in listener.incoming().flatten() {
            let to = to.clone();
            std::thread::spawn(move || {
                // The first request whole: its headers, then its body's length.
                let mut first = Vec::new();
                let mut buf = [0u8; 16 * 1024];
                loop {
                    let Ok(n) = client.read(&mut buf) else { return };
                    if n == 0 {
                        return;
                    }
                    first.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&first).to_lowercase();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let length = text[..end]
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        if first.len() >= end + 4 + length {
                            break;
                        }
                    }
                }
                if !String::from_utf8_lossy(&first)
                    .to_lowercase()
                    .contains("x-client-name:")
                {
                    std::thread::sleep(delay);
                }
                let Ok(mut server) = TcpStream::connect(&to) else {
                    return;
                };
                if server.write_all(&first).is_err() {
                    return;
                }
                let (Ok(mut up_from), Ok(mut up_to)) = (client.try_clone(), server.try_clone())
                else {
                    return;
                };
                let up = std::thread::spawn(move || {
                    let _ = std::io::copy(&mut up_from, &mut up_to);
                    let _ = up_to.shutdown(Shutdown::Write);
                });
                let _ = std::io::copy(&mut server, &mut client);
                let _ = client.shutdown(Shutdown::Write);
                let _ = up.join();
            });
        }
    });
}

/// A terminal started by hand from `team --print`'s line sends its first
/// prompt with the ccmulti tools, though its claude's MCP connection takes
/// seconds to come up (each connection Claude Code opens is held 2 s here):
/// the prompt is on claude's command line, with no team to type it once the
/// agent is ready, so the news hook holds it until the tools are listed.
/// Without that hold the first request offers no ccmulti tool.
#[test]
fn a_printed_line_sends_its_first_prompt_with_the_ccmulti_tools() {
    let test = "a_printed_line_sends_its_first_prompt_with_the_ccmulti_tools";
    let Some(claude) = claude_or_skip(test, &[Client::Tmux]) else {
        return;
    };
    let _one = ONE_TEAM.lock().unwrap_or_else(|e| e.into_inner());
    let run = TeamRun::new(&claude, false, true, first_calls);
    std::fs::create_dir_all(run.db.parent().expect("data dir")).expect("data dir");
    let coordinator = ccmulti_testkit::binary::Coordinator::start(&run.db, &run.at.repo, &[]);
    let behind = coordinator.base.trim_start_matches("http://").to_owned();
    slow_for_claude_code(&run.addr, behind, Duration::from_secs(2));

    let tasks = run.at.dir.join("tasks.txt");
    std::fs::write(&tasks, "Make total() in src/app.py start from zero\n").expect("tasks");
    let printed = run
        .ccmulti()
        .args([
            "team",
            "--print",
            "--agents",
            "2",
            "--session",
            SESSION,
            "--tasks",
        ])
        .arg(&tasks)
        .args(["--", "--permission-mode", "acceptEdits"])
        .output()
        .expect("team --print");
    let said = ccmulti_testkit::tools::said(&printed);
    assert!(printed.status.success(), "{said}");
    let line = said
        .lines()
        .skip_while(|l| *l != format!("# {IMPL_1}"))
        .nth(1)
        .unwrap_or_else(|| panic!("no line for {IMPL_1}: {said}"))
        .to_owned();
    let started = run.tmux(&[
        "new-session",
        "-d",
        "-s",
        "printed",
        "-x",
        "160",
        "-y",
        "48",
        "sh",
        "-c",
        &line,
    ]);
    assert!(
        started.status.success(),
        "{}",
        String::from_utf8_lossy(&started.stderr)
    );

    let answered = run.result(IMPL_1, 0);
    assert!(!answered.is_error, "{answered:?}");
    let tools = offered(&run.first_request(IMPL_1));
    assert!(
        tools.iter().any(|t| t == "mcp__ccmulti__claim_file_lock"),
        "the first request offered {tools:?}\n{line}"
    );
}
