//! One run: a window, a condition and a seed. A temp directory with the
//! window's base as a git repository, one real Claude Code per commit (all
//! started at once), the reacting stand-in model playing each, and, with
//! ccmulti, the real `ccmulti serve` on a temp SQLite database with the agents
//! set up by `ccmulti team start --print` (MCP config, hooks, git guard, and
//! with `--worktrees` each agent's worktree recorded as its workspace).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use ccmulti_testkit::binary::Coordinator;
use ccmulti_testkit::claude::{FakeApi, ccmulti, claude_env, run_within, seed_home};
use serde_json::{Value, json};

use super::git::{git, git_ok};
use super::window::{Commit, Tree, Window};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    OneCheckout,
    OneCheckoutCcmulti,
    Worktrees,
    WorktreesCcmulti,
}

impl Condition {
    pub const ALL: [Condition; 4] = [
        Condition::OneCheckout,
        Condition::OneCheckoutCcmulti,
        Condition::Worktrees,
        Condition::WorktreesCcmulti,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Condition::OneCheckout => "one",
            Condition::OneCheckoutCcmulti => "one+ccmulti",
            Condition::Worktrees => "worktrees",
            Condition::WorktreesCcmulti => "worktrees+ccmulti",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == name)
    }

    pub fn ccmulti(self) -> bool {
        matches!(
            self,
            Condition::OneCheckoutCcmulti | Condition::WorktreesCcmulti
        )
    }

    pub fn worktrees(self) -> bool {
        matches!(self, Condition::Worktrees | Condition::WorktreesCcmulti)
    }
}

/// How the stand-in agents behave (the same in every condition).
#[derive(Debug, Clone)]
pub struct Pace {
    /// Think time before each call, drawn uniformly (seconds).
    pub think: (f64, f64),
    /// How long an agent keeps retrying a hunk whose old text is not there yet.
    pub patience: f64,
    /// When an agent stops waiting for a file another agent holds.
    pub give_up_after: f64,
    /// How long each Claude Code may run before it is killed.
    pub agent_deadline: Duration,
    /// With ccmulti: the edit hook's lease (`CCMULTI_HOOK_LEASE_SECONDS`),
    /// which a waiting claim for a refused edit takes too. Scaled to the
    /// stand-in's pace: it acts every 0.1-0.6 s where a model takes
    /// seconds, so 5 s is as many of its calls as the default 30 s is of a
    /// model's.
    pub hook_lease_seconds: u64,
    /// With ccmulti: how long the edit hook's lock holds the file off an agent
    /// that wants it after the holder's last edit of it
    /// (`CCMULTI_HOOK_IDLE_YIELD_SECONDS`), scaled as the lease is: 2 s here
    /// for the hook's default 12 s; 0 holds for the whole lease.
    pub hook_idle_yield_seconds: u64,
    /// With ccmulti: how long the edit hook waits for a file another agent
    /// holds before it refuses the edit (`CCMULTI_HOOK_WAIT_SECONDS`), scaled
    /// as the lease is: 1 s here for the hook's default 5 s; 0 refuses at once.
    pub hook_wait_seconds: u64,
}

impl Default for Pace {
    fn default() -> Self {
        Self {
            think: (0.1, 0.6),
            patience: 20.0,
            give_up_after: 150.0,
            agent_deadline: Duration::from_secs(420),
            hook_lease_seconds: 5,
            hook_idle_yield_seconds: 2,
            hook_wait_seconds: 1,
        }
    }
}

/// What a run left behind, for [`super::measure`].
pub struct Ran {
    pub condition: Condition,
    /// The agents' events (replay_policy.py), in order.
    pub events: Vec<Value>,
    /// The window's files at the end (after landing, with worktrees).
    pub end: Tree,
    /// Branches whose merge conflicted: (agent, conflicting files).
    pub conflicts: Vec<(String, Vec<String>)>,
    /// The repository the agents' commits are in.
    pub repo: PathBuf,
    /// From the start of the agents to the last one's exit.
    pub wall: Duration,
    /// Agents that did not end by themselves, or ended with an error.
    pub failures: Vec<String>,
    _tmp: Option<tempfile::TempDir>,
}

const SESSION: &str = "replay";
const USER: &str = "replay";

fn agent(i: usize) -> String {
    format!("implementer-{}", i + 1)
}

/// Where each agent works, and what it is started with.
struct Place {
    agent: String,
    dir: PathBuf,
    mcp: Option<PathBuf>,
    settings: Option<PathBuf>,
}

/// What the stand-in plays for one agent: its commit, and the pace.
fn stand_in_task(
    window: &Window,
    commit: &Commit,
    place: &Place,
    condition: Condition,
    seed: u64,
    pace: &Pace,
) -> Value {
    json!({
        "workdir": place.dir,
        "diff": window.diff_path(commit),
        "message": commit.message,
        "author": commit.author,
        "commit": condition.worktrees(),
        "seed": seed,
        "think": [pace.think.0, pace.think.1],
        "patience": pace.patience,
        "give_up_after": pace.give_up_after,
        "claim_wait": 60,
        "claim_lease": pace.hook_lease_seconds,
        "claim_idle_yield": pace.hook_idle_yield_seconds,
    })
}

pub fn run(window: &Window, condition: Condition, seed: u64, pace: &Pace, claude: &Path) -> Ran {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = std::fs::canonicalize(tmp.path()).expect("canonical");
    let repo = dir.join("repo");
    window.make_repo(&repo);
    let coordinator = condition
        .ccmulti()
        .then(|| Coordinator::start(&dir.join("coordinator.db"), &repo, &[]));
    let places = match &coordinator {
        Some(c) => team_places(window, condition, c, &dir, &repo),
        None => plain_places(window, condition, &dir, &repo),
    };
    let home = dir.join("home");
    let trusted: Vec<&Path> = std::iter::once(repo.as_path())
        .chain(places.iter().map(|p| p.dir.as_path()))
        .collect();
    seed_home(&home, &trusted);
    let events = dir.join("events.jsonl");
    let agents: serde_json::Map<String, Value> = window
        .commits
        .iter()
        .zip(&places)
        .map(|(commit, place)| {
            let task = stand_in_task(window, commit, place, condition, seed, pace);
            (place.agent.clone(), task)
        })
        .collect();
    let api = FakeApi::start_replay(&dir, &json!({ "events": events, "agents": agents }));
    let addr = coordinator
        .as_ref()
        .map(|c| c.base.trim_start_matches("http://").to_owned());
    let started = Instant::now();
    let failures: Vec<String> = std::thread::scope(|s| {
        let running: Vec<_> = places
            .iter()
            .zip(&window.commits)
            .map(|(place, commit)| {
                let command =
                    claude_command(claude, place, &home, &api, addr.as_deref(), commit, pace);
                let deadline = pace.agent_deadline;
                let name = place.agent.clone();
                s.spawn(move || (name, run_within(command, deadline)))
            })
            .collect();
        running
            .into_iter()
            .filter_map(|h| {
                let (name, (code, _out, err)) = h.join().expect("agent thread");
                (code != Some(0)).then(|| format!("{name} exited {code:?}: {}", tail(&err)))
            })
            .collect()
    });
    let wall = started.elapsed();
    let conflicts = match (condition.worktrees(), &coordinator) {
        (true, Some(c)) => team_land(&repo, &dir.join("data"), &c.db, &places),
        (true, None) => land(&repo, &places),
        (false, _) => Vec::new(),
    };
    let events = read_events(&events);
    let mut failures = failures;
    failures.extend(
        events
            .iter()
            .filter(|e| e["event"] == "error")
            .map(|e| format!("{}: {}", e["agent"], e["said"])),
    );
    drop(api);
    drop(coordinator);
    // REPLAY_KEEP=1 keeps each run's directory (repository, events, requests) to look into.
    let tmp = if std::env::var_os("REPLAY_KEEP").is_some() {
        println!(
            "replay: kept {} ({} {} seed {seed})",
            tmp.keep().display(),
            window.name,
            condition.name()
        );
        None
    } else {
        Some(tmp)
    };
    Ran {
        condition,
        events,
        end: window.tree(&repo),
        conflicts,
        repo,
        wall,
        failures,
        _tmp: tmp,
    }
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().rev().take(5).collect();
    lines.into_iter().rev().collect::<Vec<_>>().join(" | ")
}

fn read_events(file: &Path) -> Vec<Value> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// Without ccmulti: the checkout itself, or a `git worktree` per agent on its own branch.
fn plain_places(window: &Window, condition: Condition, dir: &Path, repo: &Path) -> Vec<Place> {
    (0..window.commits.len())
        .map(|i| {
            let name = agent(i);
            let place = if condition.worktrees() {
                let path = dir.join(format!("worktrees/{SESSION}-{name}"));
                let branch = format!("replay/{name}");
                git_ok(
                    repo,
                    &[
                        "worktree",
                        "add",
                        "-q",
                        "-b",
                        &branch,
                        &path.to_string_lossy(),
                        "main",
                    ],
                );
                path
            } else {
                repo.to_owned()
            };
            Place {
                agent: name,
                dir: place,
                mcp: None,
                settings: None,
            }
        })
        .collect()
}

/// With ccmulti: what `ccmulti team start --print` sets up (with `--worktrees`
/// for the worktree condition), run against the coordinator already serving.
fn team_places(
    window: &Window,
    condition: Condition,
    coordinator: &Coordinator,
    dir: &Path,
    repo: &Path,
) -> Vec<Place> {
    let data = dir.join("data");
    let worktrees = dir.join("worktrees");
    let mut team = ccmulti();
    team.current_dir(repo)
        .env("USER", USER)
        .env("CCMULTI_DATA_DIR", &data)
        .arg("--db")
        .arg(&coordinator.db)
        .args([
            "team",
            "start",
            "--addr",
            coordinator.base.trim_start_matches("http://"),
            "--print",
            "--session",
            SESSION,
            "--user",
            USER,
        ])
        .args(["--agents", &window.commits.len().to_string()]);
    if condition.worktrees() {
        team.args(["--worktrees", "--worktree-dir"]).arg(&worktrees);
    }
    let out = team.output().expect("ccmulti team start");
    assert!(
        out.status.success(),
        "ccmulti team start --print failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let team_dir = data.join("teams").join(SESSION);
    (0..window.commits.len())
        .map(|i| {
            let name = agent(i);
            let place = if condition.worktrees() {
                worktrees.join(format!("{SESSION}-{name}"))
            } else {
                repo.to_owned()
            };
            Place {
                mcp: Some(team_dir.join(format!("{name}.mcp.json"))),
                settings: Some(team_dir.join("settings.json")),
                agent: name,
                dir: place,
            }
        })
        .collect()
}

fn claude_command(
    claude: &Path,
    place: &Place,
    home: &Path,
    api: &FakeApi,
    addr: Option<&str>,
    commit: &super::window::Commit,
    pace: &Pace,
) -> Command {
    let mut command = Command::new(claude);
    claude_env(&mut command, home, &api.base_url(&place.agent));
    let prompt = format!(
        "Make this change to the repository: {}",
        commit.message.lines().next().unwrap_or_default()
    );
    command
        .current_dir(&place.dir)
        .args(["-p", &prompt])
        .args(["--permission-mode", "acceptEdits"]);
    match (&place.mcp, &place.settings, addr) {
        (Some(mcp), Some(settings), Some(addr)) => {
            command
                .env(
                    "CCMULTI_AGENT",
                    format!("{USER}__session__{SESSION}__{}", place.agent),
                )
                .env("CCMULTI_ADDR", addr)
                .env(
                    "CCMULTI_HOOK_LEASE_SECONDS",
                    pace.hook_lease_seconds.to_string(),
                )
                .env(
                    "CCMULTI_HOOK_IDLE_YIELD_SECONDS",
                    pace.hook_idle_yield_seconds.to_string(),
                )
                .env(
                    "CCMULTI_HOOK_WAIT_SECONDS",
                    pace.hook_wait_seconds.to_string(),
                )
                .arg("--mcp-config")
                .arg(mcp)
                .arg("--settings")
                .arg(settings)
                .args(["--allowedTools", "mcp__ccmulti", "Bash"]);
        }
        _ => {
            command.args(["--allowedTools", "Bash"]);
        }
    }
    command
}

/// With ccmulti: `ccmulti team land`, as a user would, which merges the
/// branches in hand-over order and stops at the first conflict (aborting that
/// merge). After a stop, the rest are merged as without ccmulti, so each
/// conflicting branch is counted as there.
fn team_land(repo: &Path, data: &Path, db: &Path, places: &[Place]) -> Vec<(String, Vec<String>)> {
    let landed = ccmulti()
        .current_dir(repo)
        .env("USER", USER)
        .env("CCMULTI_DATA_DIR", data)
        .arg("--db")
        .arg(db)
        .args(["team", "land", "--session", SESSION])
        .output()
        .expect("ccmulti team land");
    if landed.status.success() {
        return Vec::new();
    }
    println!(
        "replay: ccmulti team land stopped: {}",
        tail(&String::from_utf8_lossy(&landed.stderr))
    );
    land(repo, places)
}

/// Without ccmulti: the agents' branches merged into the base branch with
/// plain git, in commit order.
fn land(repo: &Path, places: &[Place]) -> Vec<(String, Vec<String>)> {
    let mut conflicts = Vec::new();
    for place in places {
        let branch = git_ok(&place.dir, &["rev-parse", "--abbrev-ref", "HEAD"]);
        let merged = git(repo, &["merge", "--no-edit", "--no-verify", branch.trim()]);
        if merged.status.success() {
            continue;
        }
        let files: Vec<String> = git_ok(repo, &["diff", "--name-only", "--diff-filter=U"])
            .lines()
            .map(str::to_owned)
            .collect();
        git(repo, &["merge", "--abort"]);
        conflicts.push((place.agent.clone(), files));
    }
    conflicts
}
