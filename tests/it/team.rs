//! `ccmulti team` with real tmux, real git worktrees and the real binary: the
//! session it opens, what each agent's claude is started with, claims by
//! absolute path from two worktrees over the real listener, the hook and the
//! git guard agreeing, `team stop`, and every refusal changing nothing.
//! `CCMULTI_CLAUDE` points at a script that records its environment and
//! arguments, so no model is needed. SQLite only: `ccmulti team` starts its
//! team on one machine's SQLite file (docs/guide/several-machines.md).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use ccmulti_testkit::interop::{Client, available};
use ccmulti_testkit::{HOOK_ENV, SECURITY_ENV};
use serde_json::{Value, json};

const USER: &str = "tester";

/// A repository `base/repo` (one commit: src/app.py), a private tmux server
/// (its own TMUX_TMPDIR), a data directory, and a stand-in for claude.
pub(crate) struct Fixture {
    _dir: tempfile::TempDir,
    pub(crate) base: PathBuf,
    pub(crate) repo: PathBuf,
    pub(crate) addr: String,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        // Ends every session, and with it a coordinator the team started.
        let _ = self
            .tmux_command()
            .arg("kill-server")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

pub(crate) fn text(output: &Output) -> String {
    ccmulti_testkit::tools::said(output)
}

pub(crate) fn ok(output: Output) -> String {
    let all = text(&output);
    assert!(output.status.success(), "{all}");
    all
}

fn git(dir: &Path, args: &[&str]) -> Output {
    ccmulti_testkit::tools::git(dir, args, &[])
}

impl Fixture {
    /// `None` (the test says it was skipped) without tmux, unless `.ci/run` requires it.
    pub(crate) fn new(test: &str) -> Option<Self> {
        if !available(&format!("team::{test}"), &[Client::Tmux]) {
            return None;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let base = std::fs::canonicalize(dir.path()).expect("canonical");
        let repo = base.join("repo");
        std::fs::create_dir_all(repo.join("src")).expect("mkdir");
        std::fs::write(repo.join("src/app.py"), "def app():\n    pass\n").expect("write");
        ok(git(&repo, &["init", "-q"]));
        ok(git(&repo, &["add", "."]));
        ok(git(&repo, &["commit", "-q", "-m", "start"]));
        for d in ["tmux", "out", "xdg"] {
            std::fs::create_dir_all(base.join(d)).expect("mkdir");
        }
        // The stand-in for claude: what it was started with, where, and as whom;
        // then, in a team's window (FAKE_STAY), it runs on as claude would.
        let fake = base.join("fake-claude");
        std::fs::write(
            &fake,
            "#!/bin/sh\nout=\"$FAKE_OUT/${CCMULTI_AGENT:-nobody}\"\nenv > \"$out.env.part\"\n\
             pwd > \"$out.pwd\"\nfor a in \"$@\"; do printf '%s\\0' \"$a\"; done > \"$out.args\"\n\
             mv \"$out.env.part\" \"$out.env\"\n\
             if [ -n \"$FAKE_STAY\" ]; then exec sleep 600; fi\n",
        )
        .expect("write fake claude");
        // A returning Claude Code user's config, which trusts the repository.
        std::fs::create_dir_all(base.join("home")).expect("mkdir");
        let config = json!({
            "hasCompletedOnboarding": true,
            "projects": { repo.display().to_string(): { "hasTrustDialogAccepted": true } },
        });
        std::fs::write(base.join("home/.claude.json"), config.to_string()).expect("write");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        }
        Some(Self {
            _dir: dir,
            addr: format!("127.0.0.1:{}", free_port()),
            base,
            repo,
        })
    }

    pub(crate) fn db(&self) -> PathBuf {
        self.base.join("data/coordinator.db")
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub(crate) fn agent(&self, agent: &str) -> String {
        format!("{USER}__session__repo__{agent}")
    }

    /// The environment of a person's terminal, with nothing of the developer's leaking in.
    pub(crate) fn isolate(&self, command: &mut Command) {
        for var in HOOK_ENV.iter().chain(SECURITY_ENV.iter()) {
            command.env_remove(var);
        }
        command
            .env_remove("TMUX")
            .env_remove("CCMULTI_DB")
            .env_remove("CCMULTI_DATA_DIR")
            .env("TMUX_TMPDIR", self.base.join("tmux"))
            .env("XDG_DATA_HOME", self.base.join("xdg"))
            .env("CCMULTI_CLAUDE", self.base.join("fake-claude"))
            .env("FAKE_OUT", self.base.join("out"))
            .env("FAKE_STAY", "1")
            .env("HOME", self.base.join("home"))
            .env_remove("CLAUDE_CONFIG_DIR")
            .env("USER", USER)
            .env("SHELL", "/bin/sh")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null());
    }

    /// `ccmulti --db D ARGS` in `dir`, with `CCMULTI_ADDR` naming the address.
    pub(crate) fn ccmulti_in(&self, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut command = Command::new(ccmulti_testkit::ccmulti_binary());
        self.isolate(&mut command);
        command
            .env("CCMULTI_ADDR", &self.addr)
            .arg("--db")
            .arg(self.db())
            .args(args)
            .envs(env.iter().copied())
            .current_dir(dir);
        command.output().expect("run ccmulti")
    }

    pub(crate) fn ccmulti(&self, args: &[&str]) -> Output {
        self.ccmulti_in(&self.repo, args, &[])
    }

    pub(crate) fn tmux_command(&self) -> Command {
        let mut c = Command::new("tmux");
        c.env_remove("TMUX")
            .env("TMUX_TMPDIR", self.base.join("tmux"));
        c
    }

    pub(crate) fn tmux(&self, args: &[&str]) -> Output {
        self.tmux_command().args(args).output().expect("run tmux")
    }

    pub(crate) fn has_session(&self) -> bool {
        self.tmux(&["has-session", "-t", "=ccmulti-repo"])
            .status
            .success()
    }

    /// `window name -> (pane pid, pane dead)`, in window order.
    pub(crate) fn panes(&self) -> Vec<(String, u32, bool)> {
        let out = self.tmux(&[
            "list-panes",
            "-s",
            "-t",
            "=ccmulti-repo",
            "-F",
            "#{window_name} #{pane_pid} #{pane_dead}",
        ]);
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| {
                let mut parts = l.split(' ');
                Some((
                    parts.next()?.to_owned(),
                    parts.next()?.parse().ok()?,
                    parts.next()? == "1",
                ))
            })
            .collect()
    }

    /// What the stand-in claude of `agent` recorded: environment, arguments, directory.
    pub(crate) fn started(&self, agent: &str) -> (String, Vec<String>, PathBuf) {
        let out = self.base.join("out").join(self.agent(agent));
        let env_file = PathBuf::from(format!("{}.env", out.display()));
        let deadline = Instant::now() + Duration::from_secs(15);
        while !env_file.exists() {
            assert!(
                Instant::now() < deadline,
                "{agent}'s claude did not start within 15 s; panes: {:?}",
                self.panes()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let read = |suffix: &str| {
            std::fs::read_to_string(format!("{}.{suffix}", out.display())).expect("recorded")
        };
        (
            read("env"),
            read("args")
                .split_terminator('\0')
                .map(str::to_owned)
                .collect(),
            PathBuf::from(read("pwd").trim_end()),
        )
    }

    fn worktree(&self, agent: &str) -> PathBuf {
        self.base.join(format!("repo-{agent}"))
    }

    /// `(path, branch)` of each worktree of the repository.
    fn worktrees(&self) -> Vec<(PathBuf, String)> {
        let out = ok(git(&self.repo, &["worktree", "list", "--porcelain"]));
        let mut list = Vec::new();
        let mut path = None;
        for line in out.lines() {
            if let Some(p) = line.strip_prefix("worktree ") {
                path = Some(PathBuf::from(p));
            } else if let Some(b) = line.strip_prefix("branch refs/heads/") {
                list.extend(path.take().map(|p| (p, b.to_owned())));
            }
        }
        list
    }

    pub(crate) fn health(&self) -> Option<Value> {
        let http = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(2)))
            .proxy(None)
            .build()
            .new_agent();
        let mut reply = http
            .get(&format!("{}/health/detailed", self.url()))
            .call()
            .ok()?;
        serde_json::from_str(&reply.body_mut().read_to_string().ok()?).ok()
    }

    /// A stateless tools/call as `agent`, over the real listener.
    pub(crate) fn call(&self, agent: &str, tool: &str, arguments: Value) -> Value {
        let http = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(10)))
            .http_status_as_error(false)
            .proxy(None)
            .build()
            .new_agent();
        let body = json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/call",
                           "params": { "name": tool, "arguments": arguments } });
        let mut reply = http
            .post(&format!(
                "{}/mcp/v2/claude/{}",
                self.url(),
                self.agent(agent)
            ))
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("x-client-name", "claude code")
            .send(body.to_string())
            .expect("tools/call");
        let content_type = reply
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let text = reply.body_mut().read_to_string().expect("body");
        ccmulti::client::jsonrpc_message(content_type.as_deref(), &text).unwrap_or_default()
    }

    pub(crate) fn snapshot(&self) -> ccmulti_ui::model::Snapshot {
        ccmulti::store::SqliteStore::open(
            &self.db(),
            std::sync::Arc::new(ccmulti::clock::SystemClock),
            ccmulti::store::Durability::Normal,
        )
        .expect("open the team's database")
        .snapshot(0)
        .expect("snapshot")
    }

    /// Where each agent of the session works, as the dashboard reads it: `(agent, worktree, branch)`.
    fn workspaces(&self) -> Vec<(String, String, Option<String>)> {
        self.snapshot()
            .agents
            .into_iter()
            .filter(|a| a.session_id == "repo")
            .map(|a| {
                let w = a.workspace.expect("every agent's workspace is recorded");
                (a.agent_id, w.worktree, w.branch)
            })
            .collect()
    }

    /// The live locks of the team's session, read from its database.
    fn live_locks(&self) -> Vec<(String, String)> {
        let snap = self.snapshot();
        snap.locks
            .iter()
            .filter(|l| l.session_id == "repo" && l.expires_at_ms > snap.now_ms)
            .map(|l| (l.agent_id.clone(), l.path.clone()))
            .collect()
    }

    /// Nothing of a team exists: no tmux server, no worktree, no branch, no
    /// generated file, no hook, and the checkout unchanged.
    fn assert_nothing_made(&self, what: &str) {
        assert!(
            !self.tmux(&["list-sessions"]).status.success(),
            "{what}: a tmux server was started"
        );
        assert_eq!(self.worktrees().len(), 1, "{what}: {:?}", self.worktrees());
        let branches = ok(git(&self.repo, &["branch", "--list", "ccmulti/*"]));
        assert_eq!(branches.trim(), "", "{what}: branches were made");
        assert!(
            !self.base.join("data/teams").exists(),
            "{what}: generated files were written"
        );
        assert!(
            !self.repo.join(".git/hooks/pre-commit").exists(),
            "{what}: the git guard was installed"
        );
        assert_eq!(
            ok(git(&self.repo, &["status", "--porcelain"])).trim(),
            "",
            "{what}: the checkout changed"
        );
        assert!(self.health().is_none(), "{what}: a coordinator was started");
    }
}

pub(crate) fn arg_after<'a>(args: &'a [String], flag: &str) -> &'a str {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .unwrap_or_else(|| panic!("{flag} is not among {args:?}"))
}

pub(crate) fn read_json(path: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("generated file"))
        .expect("generated JSON")
}

#[test]
fn team_opens_the_planner_the_implementers_and_the_dashboard_each_connected() {
    let Some(fx) =
        Fixture::new("team_opens_the_planner_the_implementers_and_the_dashboard_each_connected")
    else {
        return;
    };
    let out = ok(fx.ccmulti(&[
        "team",
        "--no-attach",
        "--agents",
        "2",
        "--claude-arg=--permission-mode=acceptEdits",
        "--",
        "--verbose",
    ]));
    assert!(out.contains("ccmulti-repo"), "{out}");
    let names: Vec<String> = fx.panes().into_iter().map(|(n, _, _)| n).collect();
    assert_eq!(
        names,
        [
            "coordinator",
            "planner",
            "implementer-1",
            "implementer-2",
            "dash"
        ],
        "{out}"
    );
    let health = fx.health().expect("the team's coordinator answers");
    assert_eq!(health["project_root"], json!(fx.repo), "{health}");

    for agent in ["planner", "implementer-1", "implementer-2"] {
        let me = fx.agent(agent);
        let (env, args, pwd) = fx.started(agent);
        assert!(
            env.lines().any(|l| l == format!("CCMULTI_AGENT={me}")),
            "{agent}: {env}"
        );
        assert!(
            env.lines()
                .any(|l| l == format!("CCMULTI_ADDR={}", fx.addr)),
            "{agent}: {env}"
        );
        assert_eq!(pwd, fx.repo, "{agent} starts in the checkout");
        let mcp = read_json(arg_after(&args, "--mcp-config"));
        assert_eq!(
            mcp["mcpServers"]["ccmulti"]["url"],
            json!(format!("{}/mcp/v2/claude/{me}", fx.url())),
            "{agent}"
        );
        let settings = read_json(arg_after(&args, "--settings"));
        let pre_tool = settings["hooks"]["PreToolUse"][0]["hooks"][0]["command"]
            .as_str()
            .unwrap_or_default();
        assert!(pre_tool.ends_with("hook pre-tool"), "{settings}");
        assert!(
            args.contains(&"--permission-mode=acceptEdits".to_owned())
                && args.contains(&"--verbose".to_owned()),
            "{agent}: extra claude arguments missing from {args:?}"
        );
        // No tasks: no first prompt.
        assert!(!args.contains(&"--".to_owned()), "{args:?}");
    }
    // The pane itself carries the agent's identity (a shell stays after claude ends).
    for (window, pid, dead) in fx.panes() {
        assert!(!dead, "window {window} died");
        if window.starts_with("implementer") || window == "planner" {
            let environ = std::fs::read(format!("/proc/{pid}/environ")).expect("environ");
            let environ = String::from_utf8_lossy(&environ);
            let want = format!("CCMULTI_AGENT={}", fx.agent(&window));
            assert!(
                environ.split('\0').any(|v| v == want),
                "{window}: {environ}"
            );
        }
    }
    // Nothing in the repository was modified or dirtied.
    assert_eq!(ok(git(&fx.repo, &["status", "--porcelain"])).trim(), "");

    // A second start on a healthy team says it runs, and changes nothing.
    let before = fx.panes();
    let again = ok(fx.ccmulti(&["team", "--no-attach", "--agents", "2"]));
    assert!(again.contains("nothing to repair"), "{again}");
    assert_eq!(fx.panes(), before, "{again}");

    let status = ok(fx.ccmulti(&["team", "status"]));
    for window in ["planner", "implementer-1", "implementer-2"] {
        assert!(
            status
                .lines()
                .any(|l| l.contains(&format!("window {window} ")) && l.contains("claude running")),
            "{window}: {status}"
        );
    }
    assert!(status.contains("coordinator running"), "{status}");
    assert!(status.contains("dashboard running"), "{status}");

    let stopped = ok(fx.ccmulti(&["team", "stop"]));
    assert!(
        stopped.contains("ended tmux session ccmulti-repo"),
        "{stopped}"
    );
    assert!(!fx.has_session());
    let deadline = Instant::now() + Duration::from_secs(10);
    while fx.health().is_some() {
        assert!(
            Instant::now() < deadline,
            "the team's coordinator still answers"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn worktrees_share_one_lock_per_file_and_stop_keeps_work() {
    let Some(fx) = Fixture::new("worktrees_share_one_lock_per_file_and_stop_keeps_work") else {
        return;
    };
    let out = ok(fx.ccmulti(&["team", "--no-attach", "--agents", "2", "--worktrees"]));
    let (wt1, wt2) = (fx.worktree("implementer-1"), fx.worktree("implementer-2"));
    let trees = fx.worktrees();
    for (agent, path) in [("implementer-1", &wt1), ("implementer-2", &wt2)] {
        let branch = format!("ccmulti/repo/{agent}");
        assert!(
            trees.contains(&(path.clone(), branch.clone())),
            "{agent}: {trees:?}\n{out}"
        );
        let (env, _, pwd) = fx.started(agent);
        assert_eq!(&pwd, path, "{agent} starts in its worktree");
        assert!(env.contains(&format!("CCMULTI_AGENT={}", fx.agent(agent))));
    }
    assert_eq!(
        fx.started("planner").2,
        fx.repo,
        "the planner stays in the checkout"
    );
    let mut places = fx.workspaces();
    places.sort();
    let checkout_branch = ok(git(&fx.repo, &["branch", "--show-current"]));
    assert_eq!(
        places,
        [
            (
                "implementer-1".to_owned(),
                wt1.display().to_string(),
                Some("ccmulti/repo/implementer-1".to_owned())
            ),
            (
                "implementer-2".to_owned(),
                wt2.display().to_string(),
                Some("ccmulti/repo/implementer-2".to_owned())
            ),
            (
                "planner".to_owned(),
                fx.repo.display().to_string(),
                Some(checkout_branch.trim().to_owned())
            ),
        ],
        "where each agent works, for the dashboard"
    );

    // Claims by absolute path from two worktrees: one repository file, one lock.
    let first = fx.call(
        "implementer-1",
        "claim_file_lock",
        json!({ "file_paths": [wt1.join("src/app.py")] }),
    );
    let granted = &first["result"]["structuredContent"];
    assert_eq!(granted["success"], json!(true), "{first}");
    assert_eq!(granted["locks"][0]["path"], json!("src/app.py"), "{first}");
    for path in [
        wt2.join("src/app.py"),
        fx.repo.join("src/app.py"),
        wt2.join("src/*.py"),
    ] {
        let second = fx.call(
            "implementer-2",
            "claim_file_lock",
            json!({ "file_paths": [path] }),
        );
        let refused = &second["result"]["structuredContent"];
        assert_eq!(refused["success"], json!(false), "{second}");
        assert_eq!(
            refused["conflicts"][0]["holder"],
            json!("implementer-1"),
            "{second}"
        );
        assert_eq!(
            refused["conflicts"][0]["held_path"],
            json!("src/app.py"),
            "{second}"
        );
    }
    // The coordinator started before the worktrees existed: the first path in
    // one made it ask git again.
    let known = fx.health().expect("health")["worktrees"].clone();
    assert_eq!(known, json!([wt1, wt2]), "worktrees the coordinator knows");
    // Run in an implementer's worktree, team status finds the same team.
    let status = ok(fx.ccmulti_in(&wt2, &["team", "status"], &[]));
    assert!(
        status.contains("team repo in tmux session ccmulti-repo"),
        "{status}"
    );

    // Outside every worktree: refused, naming where paths may be.
    let elsewhere = fx.base.join("elsewhere/src/app.py");
    let outside = fx.call(
        "implementer-2",
        "claim_file_lock",
        json!({ "file_paths": [elsewhere] }),
    );
    assert_eq!(outside["error"]["code"], json!(-32602), "{outside}");
    let message = outside["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("outside the project root")
            && message.contains(&wt2.display().to_string()),
        "{message}"
    );

    // The pre-tool hook in worktree 2 agrees, for its own copy and for worktree 1's.
    for edited in [wt2.join("src/app.py"), wt1.join("src/app.py")] {
        let input = json!({
            "session_id": "s", "transcript_path": "/dev/null", "cwd": wt2,
            "permission_mode": "default", "hook_event_name": "PreToolUse", "tool_name": "Edit",
            "tool_input": { "file_path": edited, "old_string": "pass", "new_string": "return 1" },
        });
        let mut hook = Command::new(ccmulti_testkit::ccmulti_binary());
        fx.isolate(&mut hook);
        let mut child = hook
            .args(["hook", "pre-tool"])
            .env("CCMULTI_AGENT", fx.agent("implementer-2"))
            .env("CCMULTI_ADDR", &fx.addr)
            .env("CLAUDE_PROJECT_DIR", &wt2)
            .current_dir(&wt2)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("run the hook");
        use std::io::Write;
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.to_string().as_bytes())
            .expect("hook input");
        let run = child.wait_with_output().expect("hook output");
        let verdict: Value = serde_json::from_slice(&run.stdout).unwrap_or(Value::Null);
        let specific = &verdict["hookSpecificOutput"];
        assert_eq!(
            specific["permissionDecision"],
            json!("deny"),
            "{}: {verdict}",
            edited.display()
        );
        assert!(
            specific["permissionDecisionReason"]
                .as_str()
                .is_some_and(|r| r.contains("implementer-1")),
            "{verdict}"
        );
    }

    // The git guard the team installed lets worktree 2 commit its own copy
    // of the file implementer-1 holds in worktree 1: the commit takes nothing
    // of implementer-1's, and is what lets the change be handed over.
    std::fs::write(wt2.join("src/app.py"), "def app():\n    return 2\n").expect("edit");
    ok(git(&wt2, &["add", "src/app.py"]));
    let commit = {
        let mut command = Command::new("git");
        command
            .args([
                "-c",
                "user.name=T",
                "-c",
                "user.email=t@example.com",
                "commit",
                "-m",
                "x",
            ])
            .current_dir(&wt2);
        fx.isolate(&mut command);
        command
            .env("CCMULTI_AGENT", fx.agent("implementer-2"))
            .env("CCMULTI_ADDR", &fx.addr)
            .output()
            .expect("git commit")
    };
    assert!(
        commit.status.success(),
        "the guard refused a commit in a worktree of its own: {}",
        text(&commit)
    );
    std::fs::write(wt2.join("src/app.py"), "def app():\n    return 3\n").expect("edit");

    // Stop: no session, no live lock of the session, every worktree and its changes kept.
    let stopped = ok(fx.ccmulti(&["team", "stop"]));
    assert!(!fx.has_session(), "{stopped}");
    assert_eq!(fx.live_locks(), Vec::<(String, String)>::new(), "{stopped}");
    assert!(stopped.contains("uncommitted change"), "{stopped}");
    assert_eq!(fx.worktrees().len(), 3, "{stopped}");
    assert_eq!(
        std::fs::read_to_string(wt2.join("src/app.py")).expect("kept"),
        "def app():\n    return 3\n"
    );

    // A second run reuses both worktrees; stop --remove-worktrees removes only the clean one.
    let again = ok(fx.ccmulti(&["team", "--no-attach", "--agents", "2", "--worktrees"]));
    assert_eq!(
        again.matches(": reused ccmulti/repo/implementer-").count(),
        2,
        "{again}"
    );
    // Stopped with --forget, the session is gone from status as well.
    let before = ok(fx.ccmulti(&["status"]));
    assert!(before.contains("session repo"), "{before}");
    let removed = ok(fx.ccmulti(&["team", "stop", "--remove-worktrees", "--forget"]));
    assert!(removed.contains("forgot session repo"), "{removed}");
    let after = ok(fx.ccmulti(&["status"]));
    for gone in ["session repo", "implementer-1", "implementer-2"] {
        assert!(!after.contains(gone), "{gone} still shown:\n{after}");
    }
    assert!(!wt1.exists(), "{removed}");
    assert!(wt2.join("src/app.py").exists(), "{removed}");
    assert_eq!(fx.worktrees().len(), 2, "{removed}");
    let branches = ok(git(&fx.repo, &["branch", "--list", "ccmulti/*"]));
    assert_eq!(branches.lines().count(), 2, "branches stay: {branches}");
}

#[test]
fn each_refusal_says_what_was_wrong_and_makes_nothing() {
    let Some(fx) = Fixture::new("each_refusal_says_what_was_wrong_and_makes_nothing") else {
        return;
    };
    // Stopping a team that never started makes nothing either.
    let stopped = ok(fx.ccmulti(&["team", "stop"]));
    assert!(
        stopped.contains("no tmux session ccmulti-repo") && stopped.contains("no locks to release"),
        "{stopped}"
    );
    assert!(!fx.db().exists(), "team stop created a database");

    // Not a git repository.
    let plain = fx.base.join("plain");
    std::fs::create_dir_all(&plain).expect("mkdir");
    let run = fx.ccmulti_in(&plain, &["team", "--no-attach"], &[]);
    assert!(!run.status.success());
    assert!(
        text(&run).contains("is not in a git repository"),
        "{}",
        text(&run)
    );
    fx.assert_nothing_made("not a repository");

    // No tmux on the PATH (git alone is).
    let bin = fx.base.join("bin-without-tmux");
    std::fs::create_dir_all(&bin).expect("mkdir");
    let real_git = String::from_utf8_lossy(
        &Command::new("sh")
            .args(["-c", "command -v git"])
            .output()
            .expect("which git")
            .stdout,
    )
    .trim()
    .to_owned();
    std::os::unix::fs::symlink(real_git, bin.join("git")).expect("symlink git");
    let path = bin.display().to_string();
    let run = fx.ccmulti_in(
        &fx.repo,
        &["team", "--no-attach", "--worktrees"],
        &[("PATH", &path)],
    );
    assert!(
        text(&run).contains("tmux is not installed"),
        "{}",
        text(&run)
    );
    fx.assert_nothing_made("no tmux");

    // No claude.
    let run = fx.ccmulti_in(
        &fx.repo,
        &["team", "--no-attach", "--worktrees"],
        &[("CCMULTI_CLAUDE", "/nonexistent/claude")],
    );
    assert!(text(&run).contains("is not found"), "{}", text(&run));
    fx.assert_nothing_made("no claude");

    // A session that makes an invalid branch name.
    let run = fx.ccmulti(&["team", "--no-attach", "--worktrees", "--session", "x.lock"]);
    assert!(
        text(&run).contains("is not a valid git branch name"),
        "{}",
        text(&run)
    );
    fx.assert_nothing_made("invalid branch");

    // A worktree directory inside the checkout.
    let inside = fx.repo.join("wt").display().to_string();
    let run = fx.ccmulti(&[
        "team",
        "--no-attach",
        "--worktrees",
        "--worktree-dir",
        &inside,
    ]);
    assert!(
        text(&run).contains("is inside the checkout"),
        "{}",
        text(&run)
    );
    fx.assert_nothing_made("worktrees inside the checkout");

    // A worktree path that exists and is not a worktree: not even the first implementer's is made.
    let squatter = fx.worktree("implementer-2");
    std::fs::create_dir_all(&squatter).expect("mkdir");
    std::fs::write(squatter.join("notes.txt"), "mine").expect("write");
    let run = fx.ccmulti(&["team", "--no-attach", "--worktrees", "--agents", "2"]);
    assert!(
        text(&run).contains("exists and is not a worktree of this repository"),
        "{}",
        text(&run)
    );
    fx.assert_nothing_made("path taken");
    assert!(!fx.worktree("implementer-1").exists());
    assert_eq!(
        std::fs::read_to_string(squatter.join("notes.txt"))
            .ok()
            .as_deref(),
        Some("mine")
    );
    std::fs::remove_dir_all(&squatter).expect("cleanup");

    // A coordinator at the address that serves another directory.
    let other = fx.base.join("other");
    std::fs::create_dir_all(&other).expect("mkdir");
    let mut serve = Command::new(ccmulti_testkit::ccmulti_binary());
    fx.isolate(&mut serve);
    let mut foreign = serve
        .args(["serve", "--addr", &fx.addr, "--db"])
        .arg(fx.base.join("other.db"))
        .arg("--root")
        .arg(&other)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start another coordinator");
    let deadline = Instant::now() + Duration::from_secs(20);
    while fx.health().is_none() {
        assert!(
            Instant::now() < deadline,
            "the other coordinator did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let run = fx.ccmulti(&["team", "--no-attach", "--worktrees"]);
    let _ = foreign.kill();
    let _ = foreign.wait();
    assert!(
        text(&run).contains(&format!("serves {}, not this repository", other.display())),
        "{}",
        text(&run)
    );
    fx.assert_nothing_made("another root");

    // Claude Code does not trust the repository yet, and no terminal to ask on:
    // refused, saying what to answer, and Claude Code's config untouched.
    let config = fx.base.join("home/.claude.json");
    let trusting = std::fs::read_to_string(&config).expect("config");
    let untrusting = r#"{"hasCompletedOnboarding": true, "projects": {}}"#;
    std::fs::write(&config, untrusting).expect("write");
    let run = fx.ccmulti(&["team", "--no-attach", "--worktrees"]);
    assert!(
        text(&run).contains("Claude Code does not trust")
            && text(&run).contains("Yes, I trust this folder")
            && text(&run).contains("ccmulti team --yes"),
        "{}",
        text(&run)
    );
    fx.assert_nothing_made("an untrusted repository");
    assert_eq!(
        std::fs::read_to_string(&config).expect("config"),
        untrusting
    );
    // A config ccmulti cannot read is not edited, even with --yes.
    std::fs::write(&config, "{ not json").expect("write");
    let run = fx.ccmulti(&["team", "--no-attach", "--yes"]);
    assert!(text(&run).contains("is not valid JSON"), "{}", text(&run));
    fx.assert_nothing_made("an unreadable Claude Code config");
    assert_eq!(
        std::fs::read_to_string(&config).expect("config"),
        "{ not json"
    );
    std::fs::write(&config, trusting).expect("write");

    // A session another user already owns.
    let store = ccmulti::store::SqliteStore::open(
        &fx.db(),
        std::sync::Arc::new(ccmulti::clock::SystemClock),
        ccmulti::store::Durability::Normal,
    )
    .expect("database");
    let someone = <ccmulti_model::VirtualUser as std::str::FromStr>::from_str(
        "someone__session__repo__planner",
    )
    .expect("virtual user");
    store
        .touch_agent(&someone, "http://elsewhere")
        .expect("someone owns session repo");
    drop(store);
    let run = fx.ccmulti(&["team", "--no-attach", "--worktrees"]);
    assert!(
        text(&run).contains("session repo belongs to user someone, not tester"),
        "{}",
        text(&run)
    );
    fx.assert_nothing_made("another user's session");
}

#[test]
fn print_gives_each_terminal_a_line_that_starts_it() {
    let Some(fx) = Fixture::new("print_gives_each_terminal_a_line_that_starts_it") else {
        return;
    };
    let out = ok(fx.ccmulti(&[
        "team",
        "--print",
        "--agents",
        "2",
        "--max-waiting-claims",
        "7",
        "--message",
        // On one line, as the help's example and a shell argument have it.
        "1. Add rate limiting to app 2. Write the README",
    ]));
    assert!(
        !fx.tmux(&["list-sessions"]).status.success(),
        "--print opened tmux"
    );
    // Nothing is registered before an agent connects: no agent shows as active.
    assert!(
        !fx.db().exists() || fx.snapshot().agents.is_empty(),
        "{:?}",
        fx.snapshot().agents
    );
    let lines: Vec<&str> = out
        .lines()
        .skip_while(|l| !l.starts_with("# team repo"))
        .filter(|l| !l.starts_with('#'))
        .collect();
    assert!(
        lines[0].contains(" up --"),
        "the coordinator's line first: {out}"
    );
    // The coordinator it starts keeps the limits this command was given.
    assert!(
        lines[0].contains("--max-waiting-claims 7 ")
            || lines[0].ends_with("--max-waiting-claims 7"),
        "{out}"
    );
    assert_eq!(lines.len(), 1 + 3, "{out}");
    // Each agent's line, run as a person would paste it, starts its claude as that agent.
    for line in &lines[1..] {
        let mut sh = Command::new("sh");
        fx.isolate(&mut sh);
        // A person's terminal: claude's stand-in records what it got, and ends.
        sh.env_remove("FAKE_STAY");
        ok(sh
            .args(["-c", line])
            .current_dir(&fx.base)
            .output()
            .expect("sh"));
    }
    for agent in ["planner", "implementer-1", "implementer-2"] {
        let (env, args, pwd) = fx.started(agent);
        assert!(
            env.contains(&format!("CCMULTI_AGENT={}", fx.agent(agent))),
            "{env}"
        );
        assert_eq!(pwd, fx.repo);
        // With tasks, each starts with its prompt as the first message, after `--`.
        let prompt = args.last().expect("a prompt");
        assert_eq!(args[args.len() - 2], "--", "{args:?}");
        if agent == "planner" {
            assert!(
                prompt.contains("You are the planner") && prompt.contains("implementer-2"),
                "{prompt}"
            );
        } else {
            assert!(prompt.contains(&format!("You are {agent}")), "{prompt}");
        }
    }
    // A repository Claude Code does not trust yet: the lines are printed all
    // the same (each claude asks in its person's terminal), saying so, and
    // Claude Code's config is left as it was.
    let config = fx.base.join("home/.claude.json");
    let untrusting = r#"{"hasCompletedOnboarding": true, "projects": {}}"#;
    std::fs::write(&config, untrusting).expect("write");
    let out = ok(fx.ccmulti(&["team", "--print", "--session", "other"]));
    assert!(
        out.contains("does not trust") && out.contains("Yes, I trust this folder"),
        "{out}"
    );
    assert_eq!(
        std::fs::read_to_string(&config).expect("config"),
        untrusting
    );
}

/// `--print` beside a team that runs: the lines are printed, and nothing of
/// the running team changes: no agent is registered (none for the third
/// implementer the printed team has and the running one has not), and the
/// running team's record (what `team status`, `stop` and a repair read) stays.
/// And `team status | head -1` of it exits 0.
#[test]
fn print_beside_a_running_team_registers_nothing_and_keeps_its_record() {
    let Some(fx) =
        Fixture::new("print_beside_a_running_team_registers_nothing_and_keeps_its_record")
    else {
        return;
    };
    ok(fx.ccmulti(&["team", "--no-attach", "--agents", "2"]));
    fx.started("implementer-2");
    let record = fx.base.join("data/teams/repo/team.json");
    let before = std::fs::read_to_string(&record).expect("the team's record");
    let agents = |fx: &Fixture| -> Vec<String> {
        let mut ids: Vec<String> = fx
            .snapshot()
            .agents
            .into_iter()
            .map(|a| a.agent_id)
            .collect();
        ids.sort();
        ids
    };
    let registered = agents(&fx);
    let out = ok(fx.ccmulti(&["team", "--print", "--agents", "3"]));
    assert!(out.contains("implementer-3"), "{out}");
    assert_eq!(agents(&fx), registered, "{out}");
    assert!(
        !registered.iter().any(|a| a.ends_with("implementer-3")),
        "{registered:?}"
    );
    assert_eq!(
        std::fs::read_to_string(&record).expect("the team's record"),
        before
    );
    let status = ok(fx.ccmulti(&["team", "status"]));
    assert!(status.contains("coordinator running"), "{status}");
    // `team status | head -1`: the reader goes before a byte is written; no panic, exit 0.
    let mut status = Command::new(ccmulti_testkit::ccmulti_binary());
    fx.isolate(&mut status);
    let mut child = status
        .env("CCMULTI_ADDR", &fx.addr)
        .arg("--db")
        .arg(fx.db())
        .args(["team", "status"])
        .current_dir(&fx.repo)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("team status");
    drop(child.stdout.take());
    let done = child.wait_with_output().expect("team status");
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(done.status.code(), Some(0), "{stderr}");
}

/// The lines between `<!-- quick-start -->` and `<!-- /quick-start -->` in a
/// README's `sh` block.
fn quick_start(readme: &str) -> Vec<String> {
    let start = readme
        .find("<!-- quick-start -->")
        .expect("the README marks its quick start with <!-- quick-start -->");
    let end = readme[start..]
        .find("<!-- /quick-start -->")
        .map(|e| start + e)
        .expect("the quick start ends with <!-- /quick-start -->");
    readme[start..end]
        .lines()
        .filter(|l| !l.starts_with("<!--") && !l.starts_with("```") && !l.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

/// The README's install line, followed before its quick start.
const INSTALL: &str = "cargo install --locked --path .";

#[test]
fn the_readme_quick_start_on_a_fresh_clone_ends_with_a_running_team() {
    let Some(fx) = Fixture::new("the_readme_quick_start_on_a_fresh_clone_ends_with_a_running_team")
    else {
        return;
    };
    // The fresh clone of this repository is also the project the team works on.
    std::fs::remove_dir_all(&fx.repo).expect("make room for the clone");
    let source = ccmulti_testkit::interop::repo();
    let source = &source.display().to_string();
    ok(git(
        &fx.base,
        &["clone", "-q", source, &fx.repo.display().to_string()],
    ));
    let readme = std::fs::read_to_string(fx.repo.join("README.md")).expect("README.md");
    assert!(
        readme.contains(INSTALL),
        "the README installs with `{INSTALL}`"
    );
    // The built binary stands in for the install, put where cargo install puts it.
    let bin = fx.base.join("cargo-bin");
    let mut script = vec![
        "set -e".to_owned(),
        format!(
            "mkdir -p {bin} && cp {exe} {bin}/ccmulti",
            bin = bin.display(),
            exe = ccmulti_testkit::ccmulti_binary().display()
        ),
        format!("export PATH={}:\"$PATH\"", bin.display()),
        format!("cd {}", fx.base.display()),
    ];
    let lines = quick_start(&readme);
    assert!(
        lines
            .first()
            .is_some_and(|l| l.starts_with("cd your-project")),
        "the quick start starts with `cd your-project`: {lines:?}"
    );
    let mut worktrees = false;
    for line in &lines {
        let command = line.split('#').next().unwrap_or_default().trim();
        if command.starts_with("cargo install") {
            assert_eq!(command, INSTALL, "{line}");
        } else if command == "cd your-project" {
            script.push(format!("cd {}", fx.repo.display()));
        } else {
            worktrees |= command.starts_with("ccmulti team") && command.contains("--worktrees");
            script.push(line.clone());
        }
    }
    let mut sh = Command::new("sh");
    fx.isolate(&mut sh);
    // Only the address is chosen, so as not to meet a coordinator of the developer's.
    let run = sh
        .args(["-c", &script.join("\n")])
        .env("CCMULTI_ADDR", &fx.addr)
        .current_dir(&fx.base)
        .output()
        .expect("run the quick start");
    let said = ok(run);

    let names: Vec<String> = fx.panes().into_iter().map(|(n, _, _)| n).collect();
    assert_eq!(
        names,
        [
            "coordinator",
            "planner",
            "implementer-1",
            "implementer-2",
            "implementer-3",
            "dash"
        ],
        "{said}"
    );
    let health = fx.health().expect("the coordinator answers");
    assert_eq!(health["project_root"], json!(fx.repo), "{health}");
    for n in 1..=3 {
        let agent = format!("implementer-{n}");
        let (env, args, pwd) = fx.started(&agent);
        let place = if worktrees {
            fx.worktree(&agent)
        } else {
            fx.repo.clone()
        };
        assert_eq!(pwd, place, "{said}");
        assert!(
            env.contains(&format!("CCMULTI_AGENT={}", fx.agent(&agent))),
            "{env}"
        );
        assert!(args.contains(&"--mcp-config".to_owned()), "{args:?}");
    }
    assert_eq!(fx.started("planner").2, fx.repo);
    for (window, _, dead) in fx.panes() {
        assert!(!dead, "window {window} died: {said}");
    }
}

#[test]
fn with_a_token_every_agent_gets_it_and_no_command_line_shows_it() {
    let Some(fx) = Fixture::new("with_a_token_every_agent_gets_it_and_no_command_line_shows_it")
    else {
        return;
    };
    let token = "team-test-token-0123456789abcdef";
    ok(fx.ccmulti_in(
        &fx.repo,
        &["team", "--no-attach", "--agents", "2"],
        &[("CCMULTI_TOKEN", token)],
    ));
    // The coordinator the team started requires it.
    assert!(
        fx.health().is_none(),
        "/health/detailed answered without the token"
    );
    let http = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .proxy(None)
        .build()
        .new_agent();
    let with = http
        .get(&format!("{}/health/detailed", fx.url()))
        .header("authorization", &format!("Bearer {token}"))
        .call()
        .expect("health with the token");
    assert_eq!(with.status().as_u16(), 200);

    for agent in ["planner", "implementer-1", "implementer-2"] {
        let (env, args, _) = fx.started(agent);
        assert!(
            env.lines().any(|l| l == format!("CCMULTI_TOKEN={token}")),
            "{agent}: {env}"
        );
        let mcp = read_json(arg_after(&args, "--mcp-config"));
        assert_eq!(
            mcp["mcpServers"]["ccmulti"]["headers"]["Authorization"],
            json!("Bearer ${CCMULTI_TOKEN}"),
            "{mcp}"
        );
        assert!(!args.iter().any(|a| a.contains(token)), "{args:?}");
    }
    let starts = fx.tmux(&[
        "list-panes",
        "-s",
        "-t",
        "=ccmulti-repo",
        "-F",
        "#{pane_start_command}",
    ]);
    let starts = String::from_utf8_lossy(&starts.stdout);
    assert!(
        !starts.contains(token),
        "a pane's command line shows the token: {starts}"
    );
    // Only the token file holds it, readable by its owner alone.
    let dir = fx.base.join("data/teams/repo");
    for entry in std::fs::read_dir(&dir).expect("team directory") {
        let path = entry.expect("entry").path();
        let holds = std::fs::read_to_string(&path).is_ok_and(|t| t.contains(token));
        assert_eq!(
            holds,
            path.file_name().is_some_and(|n| n == "token"),
            "{}",
            path.display()
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path)
                .expect("metadata")
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "{} is readable by others", path.display());
        }
    }
}
