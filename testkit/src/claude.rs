//! The real Claude Code binary, driven by a scripted stand-in for the model API
//! (tests/interop/fake_anthropic.py). Everything else is real: ccmulti, git,
//! the hooks, Claude Code's own tool execution and MCP client.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::interop::{self, Client};

/// The key Claude Code is given; the stand-in accepts anything, but Claude Code
/// asks a person to approve a key it has not seen unless `~/.claude.json` approves it.
pub const API_KEY: &str = "sk-ant-api03-ccmulti-e2e-test-key-0123456789abcdef";

/// What would leak from a developer's shell (or from a Claude Code session running
/// `cargo test`) into the Claude Code under test and change what it does.
const LEAKY_ENV: [&str; 16] = [
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "ANTHROPIC_BASE_URL",
    "ANTHROPIC_MODEL",
    "ANTHROPIC_SMALL_FAST_MODEL",
    "CLAUDE_CONFIG_DIR",
    "CLAUDE_CODE_USE_BEDROCK",
    "CLAUDE_CODE_USE_VERTEX",
    "CLAUDECODE",
    "CLAUDE_CODE_ENTRYPOINT",
    "CLAUDE_CODE_SSE_PORT",
    "XDG_CONFIG_HOME",
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "https_proxy",
    "http_proxy",
];

/// The Claude Code binary `.ci/run` installs (`npm ci` in tests/interop/claude),
/// with python3 for the model stand-in and whatever else `also` names; or
/// `None` after saying why the test is skipped (a failure under
/// `CCMULTI_REQUIRE_INTEROP=1`, see [`interop::available`]).
pub fn claude_or_skip(test: &str, also: &[Client]) -> Option<PathBuf> {
    let mut needs = vec![Client::ClaudeCode, Client::Python];
    needs.extend_from_slice(also);
    if !interop::available(test, &needs) {
        return None;
    }
    // Installed but not runnable is a broken install, not a reason to skip.
    Some(find_claude().unwrap_or_else(|why| panic!("{test}: {why}")))
}

fn runs(bin: &Path) -> bool {
    Command::new(bin)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .is_ok_and(|o| o.status.success())
}

fn find_claude() -> Result<PathBuf, String> {
    let dir = interop::repo().join("tests/interop/claude/node_modules");
    let mut candidates = vec![interop::claude_code()];
    // npm's postinstall copies the native binary over bin/claude.exe; with install
    // scripts disabled the platform package's own binary is the one that runs.
    if let Ok(entries) = std::fs::read_dir(dir.join("@anthropic-ai")) {
        for entry in entries.flatten() {
            if entry
                .file_name()
                .to_string_lossy()
                .starts_with("claude-code-")
            {
                candidates.push(entry.path().join("claude"));
            }
        }
    }
    candidates
        .into_iter()
        .find(|bin| runs(bin))
        .ok_or_else(|| format!("no Claude Code under {} runs", dir.display()))
}

/// One step of a scripted model: call a tool, or answer with text (ending the turn).
pub fn tool_use(name: &str, input: Value) -> Value {
    json!({ "tool_use": { "name": name, "input": input } })
}

pub fn text(answer: &str) -> Value {
    json!({ "text": answer })
}

/// The stand-in for the Messages API, with one script per agent (by base-URL prefix).
pub struct FakeApi {
    child: Child,
    pub port: u16,
    pub log: PathBuf,
}

impl FakeApi {
    /// `scripts` maps a script name to its steps; an agent uses the script named
    /// by its `ANTHROPIC_BASE_URL` ([`Self::base_url`]).
    pub fn start(dir: &Path, scripts: &Value) -> Self {
        let script = dir.join("model-script.json");
        std::fs::write(&script, scripts.to_string()).expect("write script");
        Self::spawn(dir, "--script", &script)
    }

    /// The reacting replay policy (tests/interop/replay_policy.py) instead of
    /// scripts: `tasks` is its TASKS.json, one task per agent.
    pub fn start_replay(dir: &Path, tasks: &Value) -> Self {
        let file = dir.join("model-tasks.json");
        std::fs::write(&file, tasks.to_string()).expect("write tasks");
        Self::spawn(dir, "--replay", &file)
    }

    fn spawn(dir: &Path, mode: &str, file: &Path) -> Self {
        let log = dir.join("model-requests.jsonl");
        let port_file = dir.join("model-port");
        let stand_in = interop::repo().join("tests/interop/fake_anthropic.py");
        let mut child = Command::new("python3")
            .arg(stand_in)
            .arg(mode)
            .arg(file)
            .arg("--log")
            .arg(&log)
            .arg("--port-file")
            .arg(&port_file)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("model-stderr.log")).expect("stderr file"))
            .spawn()
            .expect("spawn python3 fake_anthropic.py");
        let deadline = Instant::now() + Duration::from_secs(10);
        let port = loop {
            if let Some(port) = std::fs::read_to_string(&port_file)
                .ok()
                .and_then(|p| p.trim().parse().ok())
            {
                break port;
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "the model stand-in exited ({status}): {}",
                    std::fs::read_to_string(dir.join("model-stderr.log")).unwrap_or_default()
                );
            }
            assert!(
                Instant::now() < deadline,
                "the model stand-in did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        Self { child, port, log }
    }

    pub fn base_url(&self, script: &str) -> String {
        format!("http://127.0.0.1:{}/{script}", self.port)
    }

    /// Every request the stand-in received, in order.
    pub fn requests(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// The main-loop requests of one script, in order.
    pub fn main_loop(&self, script: &str) -> Vec<Value> {
        self.requests()
            .into_iter()
            .filter(|r| r["script"] == script && r["answer"].as_str() != Some("side"))
            .filter(|r| r["body"].is_object())
            .collect()
    }

    /// The `tool_result` Claude Code sent back for the tool call the script made
    /// at `step`, with whatever Claude Code sent beside it in that turn (a hook's
    /// additional context arrives as a separate message): `None` until it has.
    pub fn tool_result(&self, script: &str, step: usize) -> Option<ToolResult> {
        let prefix = format!("toolu_e2e_{step:02}_");
        for request in self.main_loop(script) {
            let messages = request["body"]["messages"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            for (i, message) in messages.iter().enumerate() {
                let Some(blocks) = message["content"].as_array() else {
                    continue;
                };
                for block in blocks {
                    let id = block["tool_use_id"].as_str().unwrap_or_default();
                    if block["type"] == "tool_result" && id.starts_with(&prefix) {
                        let after: Vec<String> = messages[i + 1..]
                            .iter()
                            .map(|m| flatten(&m["content"]))
                            .collect();
                        return Some(ToolResult {
                            text: flatten(&block["content"]),
                            is_error: block["is_error"].as_bool().unwrap_or(false),
                            beside: after.join("\n"),
                        });
                    }
                }
            }
        }
        None
    }

    /// Waits until Claude Code has sent back the result of `step`.
    pub fn wait_tool_result(&self, script: &str, step: usize, within: Duration) -> ToolResult {
        let deadline = Instant::now() + within;
        loop {
            if let Some(result) = self.tool_result(script, step) {
                return result;
            }
            assert!(
                Instant::now() < deadline,
                "no tool_result for step {step} of script {script} within {within:?}; requests:\n{}",
                self.summary()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// One line per request, for failure messages.
    pub fn summary(&self) -> String {
        self.requests()
            .iter()
            .map(|r| {
                format!(
                    "{} {} -> {}",
                    r["method"].as_str().unwrap_or("?"),
                    r["path"].as_str().unwrap_or("?"),
                    r["answer"].as_str().unwrap_or("-")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for FakeApi {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Debug, Clone)]
pub struct ToolResult {
    pub text: String,
    pub is_error: bool,
    /// What followed the result in the same request (e.g. a hook's additional context).
    pub beside: String,
}

/// The text of a content value: a string, or the text of its blocks.
fn flatten(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(blocks) => blocks
            .iter()
            .map(|b| match &b["text"] {
                Value::String(s) => s.clone(),
                _ => flatten(&b["content"]),
            })
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

/// A HOME for Claude Code as a returning user's would be, so no first-run screen
/// blocks it: onboarding done, a theme chosen, each project trusted, our API key
/// approved (Claude Code keeps the key's last 20 characters in
/// `customApiKeyResponses`). Interactive Claude Code 2.1.330 stops at the
/// welcome screen without the first two, at "Quick safety check" for an
/// untrusted directory and at "Detected a custom API key" for an unapproved
/// key; `claude -p` asks none of these.
pub fn seed_home(home: &Path, projects: &[&Path]) {
    std::fs::create_dir_all(home.join(".claude")).expect("home");
    let key_tail = &API_KEY[API_KEY.len() - 20..];
    let projects: serde_json::Map<String, Value> = projects
        .iter()
        .map(|p| {
            (
                p.display().to_string(),
                json!({ "hasTrustDialogAccepted": true, "hasCompletedProjectOnboarding": true, "allowedTools": [] }),
            )
        })
        .collect();
    let config = json!({
        "hasCompletedOnboarding": true,
        "lastOnboardingVersion": "2.1.330",
        "theme": "dark",
        "numStartups": 5,
        "customApiKeyResponses": { "approved": [key_tail], "rejected": [] },
        "projects": projects,
    });
    std::fs::write(home.join(".claude.json"), config.to_string()).expect("seed .claude.json");
    // A person's git knows who they are; the agents' commits need it too.
    std::fs::write(
        home.join(".gitconfig"),
        "[user]\n\tname = e2e agent\n\temail = e2e@localhost\n",
    )
    .expect("seed .gitconfig");
}

/// What every Claude Code under test is given beside its base URL: the temp
/// HOME, the test key, and nothing that calls out beyond loopback.
fn quiet_env(home: &Path) -> Vec<(&'static str, String)> {
    vec![
        ("HOME", home.display().to_string()),
        ("ANTHROPIC_API_KEY", API_KEY.to_owned()),
        ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1".to_owned()),
        ("DISABLE_AUTOUPDATER", "1".to_owned()),
        ("DISABLE_TELEMETRY", "1".to_owned()),
        ("DISABLE_ERROR_REPORTING", "1".to_owned()),
        ("DISABLE_BUG_COMMAND", "1".to_owned()),
        ("NO_PROXY", "127.0.0.1,localhost".to_owned()),
    ]
}

/// The environment every Claude Code under test gets: [`quiet_env`] and the
/// stand-in as its API; nothing of the developer's own (hooks' variables included).
pub fn claude_env(command: &mut Command, home: &Path, api_base: &str) {
    for var in LEAKY_ENV.iter().chain(crate::HOOK_ENV.iter()) {
        command.env_remove(var);
    }
    command
        .envs(quiet_env(home))
        .env("ANTHROPIC_BASE_URL", api_base);
}

/// A `claude` for programs that start Claude Code themselves (`ccmulti team`
/// through `CCMULTI_CLAUDE`): a script that gives the real binary the same
/// environment as [`claude_env`], with the stand-in's script named after the
/// agent of the terminal's `CCMULTI_AGENT` (`u__session__s__implementer-2` plays
/// `implementer-2`), and passes its arguments on unchanged.
pub fn claude_wrapper(file: &Path, claude: &Path, home: &Path, api: &FakeApi) {
    let quote = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
    let mut script = String::from(
        "#!/bin/sh\n# Written by tests/common/claude.rs: the real Claude Code against the model stand-in.\n",
    );
    script.push_str(&format!("unset {}\n", LEAKY_ENV.join(" ")));
    for (name, value) in quiet_env(home) {
        script.push_str(&format!("export {name}={}\n", quote(&value)));
    }
    script.push_str(&format!(
        "export ANTHROPIC_BASE_URL=\"http://127.0.0.1:{}/${{CCMULTI_AGENT##*__}}\"\n",
        api.port
    ));
    script.push_str(&format!(
        "exec {} \"$@\"\n",
        quote(&claude.display().to_string())
    ));
    std::fs::write(file, script).expect("write the claude wrapper");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// Runs a command to its end or kills it at `within`; (status, stdout, stderr).
pub fn run_within(mut command: Command, within: Duration) -> (Option<i32>, String, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    let err = dir.path().join("err");
    let mut child = command
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).expect("stdout file"))
        .stderr(std::fs::File::create(&err).expect("stderr file"))
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + within;
    let code = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status.code();
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    (
        code,
        std::fs::read_to_string(out).unwrap_or_default(),
        std::fs::read_to_string(err).unwrap_or_default(),
    )
}

/// A git repository with one commit, as a project an agent team works on.
pub fn git_repo(root: &Path, files: &[(&str, &str)]) {
    std::fs::create_dir_all(root).expect("root");
    for (path, content) in files {
        let file = root.join(path);
        std::fs::create_dir_all(file.parent().expect("parent")).expect("dirs");
        std::fs::write(file, content).expect("file");
    }
    for args in [
        &["init", "-q", "-b", "main"][..],
        &["add", "-A"],
        &[
            "-c",
            "user.name=e2e",
            "-c",
            "user.email=e2e@localhost",
            "commit",
            "-q",
            "-m",
            "start",
        ],
    ] {
        crate::run_ok(
            Command::new("git")
                .args(args)
                .current_dir(root)
                .env_remove("GIT_DIR")
                .env_remove("GIT_WORK_TREE"),
        );
    }
}

/// Records in the SQLite database `db` (made if missing) where each agent
/// `(name, worktree, branch)` of `user`'s `session` works, on this machine,
/// as `ccmulti team` does when it starts them.
pub fn place_agents(db: &Path, user: &str, session: &str, agents: &[(&str, &Path, &str)]) {
    let store = ccmulti::store::SqliteStore::open(
        db,
        std::sync::Arc::new(ccmulti::clock::SystemClock),
        ccmulti::store::Durability::Normal,
    )
    .expect("the team's database");
    for (agent, worktree, branch) in agents {
        let workspace = ccmulti_model::AgentWorkspace {
            worktree: worktree.to_string_lossy().into_owned(),
            branch: Some((*branch).to_owned()),
            host: ccmulti::git::this_host(),
        };
        store
            .set_agent_workspace(
                &ccmulti_model::VirtualUser::agent(user, session, agent),
                &workspace,
                ccmulti::store::PlacedBy::Launcher,
            )
            .expect("place the agent");
    }
}

/// The real `ccmulti` binary, with none of the developer's own coordinator or
/// hook settings.
pub fn ccmulti() -> Command {
    let mut command = Command::new(crate::ccmulti_binary());
    for var in crate::HOOK_ENV.iter().chain(crate::SECURITY_ENV.iter()) {
        command.env_remove(var);
    }
    command
}

/// What `ccmulti status --session` prints for `session`.
pub fn status_text(db: &Path, session: &str) -> String {
    let out = crate::run_ok(
        ccmulti()
            .arg("--db")
            .arg(db)
            .args(["status", "--session", session]),
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The live locks of `session` as `ccmulti status` prints them: (path, agent, lock id).
pub fn status_locks(db: &Path, session: &str) -> Vec<(String, String, String)> {
    let text = status_text(db, session);
    let mut locks = Vec::new();
    let mut in_locks = false;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.ends_with(':') {
            in_locks = trimmed == "locks:";
            continue;
        }
        let words: Vec<&str> = trimmed.split_whitespace().collect();
        if in_locks && words.len() >= 3 {
            let id = words
                .iter()
                .position(|w| *w == "id")
                .and_then(|i| words.get(i + 1))
                .map_or(String::new(), |id| (*id).to_owned());
            locks.push((words[0].to_owned(), words[1].to_owned(), id));
        }
    }
    locks
}

/// `step`, answered only once `script` has `turns` assistant turns behind it
/// (the result of its step `turns - 1` is back): agents started together act in order.
pub fn after(script: &str, turns: u32, step: Value) -> Value {
    let mut step = step;
    step["after"] = json!({ "script": script, "turns": turns });
    step
}

/// `step`, answered only once `file` exists: the test says when.
pub fn after_file(file: &Path, step: Value) -> Value {
    let mut step = step;
    step["after_file"] = json!(file.display().to_string());
    step
}

/// A step that reacts to what the agent was last told, as a model would: the
/// first of `cases` whose regex matches the last tool result (with what Claude
/// Code sent beside it) is taken, its tool input's "{1}", "{2}"... replaced by
/// the match's groups; `otherwise` when none matches.
pub fn react(cases: &[(&str, Value)], otherwise: Value) -> Value {
    let cases: Vec<Value> = cases
        .iter()
        .map(|(when, step)| {
            let mut case = step.clone();
            case["when"] = json!(when);
            case
        })
        .collect();
    json!({ "react": cases, "otherwise": otherwise })
}
