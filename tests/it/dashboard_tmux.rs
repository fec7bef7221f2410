//! `ccmulti up` in a real terminal (tmux): a lock claimed over HTTP shows on
//! the dashboard with a ticking countdown, a claim waiting on it shows as its
//! waiter until it gives up, `r` then `y` force-releases it, and
//! `q` ends the process. Also prints change-to-screen latency and idle CPU.
//! On SQLite (the dashboard follows the file) and on PostgreSQL (it follows
//! `NOTIFY`). And `ccmulti dash` in a team's repository shows how many
//! commits of each implementer's branch have not landed, and sees them land
//! with no write to the database.

use std::path::Path;
use std::process::{Command, Output};
use std::thread::sleep;
use std::time::{Duration, Instant};

use ccmulti_testkit::Backend;
use serde_json::{Value, json};

on_both_backends!(blocking: dashboard_shows_ticks_and_force_releases_a_lock_in_a_real_terminal);

const SESSION: &str = "dash";
const DEADLINE: Duration = Duration::from_secs(10);
const LOCK_PATH: &str = "src/main.rs";

/// A private tmux server (its own socket), killed on drop, even on panic.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn command(&self) -> Command {
        let mut c = Command::new("tmux");
        c.args(["-L", &self.socket, "-f", "/dev/null"])
            .env_remove("TMUX")
            .env("TERM", "xterm-256color")
            .env("NO_COLOR", "1");
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command()
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("running tmux {args:?}: {e}"))
    }

    fn capture(&self) -> String {
        let out = self.run(&["capture-pane", "-p", "-t", SESSION]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn send(&self, key: &str) {
        let out = self.run(&["send-keys", "-t", SESSION, key]);
        assert!(
            out.status.success(),
            "tmux send-keys {key}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A 120x40 session running `command` in `dir`.
    fn start(&self, dir: &Path, command: &str) {
        let dir = dir.to_string_lossy();
        let started = self.run(&[
            "new-session",
            "-d",
            "-s",
            SESSION,
            "-x",
            "120",
            "-y",
            "40",
            "-c",
            &dir,
            command,
        ]);
        assert!(
            started.status.success(),
            "tmux new-session: {}",
            String::from_utf8_lossy(&started.stderr)
        );
    }

    fn has_session(&self) -> bool {
        self.run(&["has-session", "-t", SESSION]).status.success()
    }

    fn pane_pid(&self) -> u32 {
        let out = self.run(&["list-panes", "-t", SESSION, "-F", "#{pane_pid}"]);
        let text = String::from_utf8_lossy(&out.stdout);
        text.trim()
            .parse()
            .unwrap_or_else(|_| panic!("pane pid from tmux list-panes: {text:?}"))
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self
            .command()
            .arg("kill-server")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
    }
}

fn require_tmux() {
    let found = Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "tmux is not installed; the dashboard test drives the real terminal through tmux. \
         `.ci/run` installs tmux (apt-get install tmux), then runs the tests"
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind a free port")
        .local_addr()
        .expect("local addr")
        .port()
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// What the test shows on failure: the last screen and the coordinator's log.
fn context(screen: &str, log: &Path) -> String {
    let log_text = std::fs::read_to_string(log).unwrap_or_else(|e| format!("(no log: {e})"));
    let tail: Vec<&str> = log_text.lines().rev().take(30).collect();
    let tail: Vec<&str> = tail.into_iter().rev().collect();
    format!(
        "\n--- screen ---\n{screen}\n--- log {} (tail) ---\n{}",
        log.display(),
        tail.join("\n")
    )
}

/// Captures until `done` holds or the deadline passes; returns the last screen.
fn wait_screen(
    tmux: &Tmux,
    log: &Path,
    what: &str,
    every: Duration,
    done: impl Fn(&str) -> bool,
) -> String {
    let start = Instant::now();
    loop {
        let screen = tmux.capture();
        if done(&screen) {
            return screen;
        }
        if start.elapsed() > DEADLINE {
            panic!(
                "the dashboard did not show {what} within {DEADLINE:?}{}",
                context(&screen, log)
            );
        }
        sleep(every);
    }
}

/// The rows of one panel, from its title line on. A boxed panel (a wide
/// screen puts the locks beside the events) is cut out by the columns of its
/// box, down to its bottom edge; a stacked one runs up to the next title.
fn panel_lines(screen: &str, title: &str) -> Vec<String> {
    let lines: Vec<Vec<char>> = screen.lines().map(|l| l.chars().collect()).collect();
    let text = |l: &[char]| l.iter().collect::<String>();
    let Some(top) = lines.iter().position(|l| text(l).contains(title)) else {
        return Vec::new();
    };
    let row = &lines[top];
    let title_chars: Vec<char> = title.chars().collect();
    let at = row
        .windows(title_chars.len())
        .position(|w| w == title_chars.as_slice())
        .unwrap_or(0);
    let left = row[..at].iter().rposition(|&c| c == '┌');
    let right = row[at..].iter().position(|&c| c == '┐').map(|i| at + i);
    if let (Some(left), Some(right)) = (left, right) {
        let mut rows = Vec::new();
        for line in &lines[top..] {
            let Some(cut) = line.get(left..=right) else {
                break;
            };
            rows.push(text(cut));
            if cut.first() == Some(&'└') {
                break;
            }
        }
        return rows;
    }
    let titles = ["Agents (", "Locks (", "Tasks (", "Events ("];
    std::iter::once(text(row))
        .chain(
            lines[top + 1..]
                .iter()
                .map(|l| text(l))
                .take_while(|l| !titles.iter().any(|t| l.contains(t))),
        )
        .collect()
}

/// The lock's countdown ("04:58") on its row in the Locks panel.
fn countdown_of(screen: &str, path: &str) -> Option<String> {
    panel_lines(screen, "Locks (")
        .iter()
        .find(|l| l.contains(path))?
        .split_whitespace()
        .find(|w| {
            w.len() == 5
                && w.as_bytes()[2] == b':'
                && w.chars().filter(char::is_ascii_digit).count() == 4
        })
        .map(str::to_owned)
}

/// A tools/call as Claude Code would send it, without initialize or Accept.
async fn call_tool(http: &reqwest::Client, url: &str, tool: &str, arguments: Value) -> Value {
    let body = json!({
        "jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": { "name": tool, "arguments": arguments }
    });
    let response = http
        .post(url)
        .header("content-type", "application/json")
        .header("x-client-name", "claude code")
        .body(body.to_string())
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST {tool}: {e}"));
    let status = response.status();
    let text = response.text().await.expect("response body");
    assert!(status.is_success(), "{tool} answered {status}: {text}");
    // The answer is either plain JSON or an SSE stream whose last data holds it.
    serde_json::from_str::<Value>(&text)
        .ok()
        .or_else(|| {
            text.lines()
                .rev()
                .filter_map(|l| l.strip_prefix("data:"))
                .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
                .find(|v| v.get("result").is_some() || v.get("error").is_some())
        })
        .unwrap_or_else(|| panic!("{tool}: no JSON-RPC answer in {text}"))
}

/// utime + stime of a process, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .unwrap_or_else(|e| panic!("reading /proc/{pid}/stat: {e}"));
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')').expect("comm in stat") + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of stat, 12 and 13 of `rest` (from 1).
    let utime: u64 = fields[11].parse().expect("utime");
    let stime: u64 = fields[12].parse().expect("stime");
    utime + stime
}

fn clock_ticks_per_second() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100)
}

fn process_alive(pid: u32) -> bool {
    // A zombie has exited; only its parent has not reaped it yet.
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rfind(')')
            .and_then(|i| stat[i + 1..].split_whitespace().next())
            .is_some_and(|state| state != "Z")
    })
}

fn dashboard_shows_ticks_and_force_releases_a_lock_in_a_real_terminal(backend: Backend) {
    if !ccmulti_testkit::interop::available(
        "dashboard_tmux::dashboard_shows_ticks_and_force_releases_a_lock_in_a_real_terminal",
        &[ccmulti_testkit::interop::Client::Tmux],
    ) {
        return;
    }
    require_tmux();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let http = reqwest::Client::new();

    let dir = tempfile::tempdir().expect("tempdir");
    // `up` logs beside the SQLite file; on PostgreSQL where the default file
    // would be, under XDG_DATA_HOME.
    let data_home = dir.path().join("data");
    let (db, log) = match backend {
        Backend::Sqlite => {
            let db = dir.path().join("coordinator.db");
            let log = db.with_extension("log");
            (db.to_string_lossy().into_owned(), log)
        }
        Backend::Postgres => {
            std::fs::create_dir_all(data_home.join("ccmulti")).expect("XDG_DATA_HOME");
            let log = data_home.join("ccmulti/coordinator.log");
            (ccmulti_testpg::database(), log)
        }
    };
    let root = dir.path().join("repo");
    std::fs::create_dir_all(root.join("src")).expect("root");
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let base = format!("http://{addr}");

    let tmux = Tmux {
        socket: format!("ccmulti-test-{}-{port}", std::process::id()),
    };
    // `exec env` so the pane's process is ccmulti itself, with the terminal
    // type and colour setting fixed whatever tmux would otherwise choose.
    let command = format!(
        "exec env TERM=xterm-256color NO_COLOR=1 XDG_DATA_HOME={} {} up --addr {addr} --db {} --root {}",
        shell_quote(&data_home.to_string_lossy()),
        shell_quote(&ccmulti_testkit::ccmulti_binary().display().to_string()),
        shell_quote(&db),
        shell_quote(&root.to_string_lossy()),
    );
    tmux.start(&root, &command);
    let pid = tmux.pane_pid();

    // The coordinator answers.
    let start = Instant::now();
    runtime.block_on(async {
        loop {
            let ok = http
                .get(format!("{base}/health"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ok {
                break;
            }
            if start.elapsed() > DEADLINE {
                panic!(
                    "/health did not answer within {DEADLINE:?}{}",
                    context(&tmux.capture(), &log)
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    wait_screen(
        &tmux,
        &log,
        "the empty dashboard",
        Duration::from_millis(50),
        |s| s.contains("Locks (0)"),
    );

    // A client claims a lock; time until the screen shows it.
    let url = format!("{base}/mcp/v2/claude/u__session__s__impl_a");
    let claim = runtime.block_on(call_tool(
        &http,
        &url,
        "claim_file_lock",
        json!({ "file_paths": [LOCK_PATH], "duration_minutes": 5 }),
    ));
    let claimed_at = Instant::now();
    assert_eq!(
        claim["result"]["structuredContent"]["success"],
        json!(true),
        "claim: {claim}"
    );
    wait_screen(&tmux, &log, LOCK_PATH, Duration::from_millis(10), |s| {
        s.contains(LOCK_PATH)
    });
    let latency = claimed_at.elapsed();
    println!(
        "dashboard change-to-screen latency: {} ms",
        latency.as_millis()
    );
    assert!(
        latency < Duration::from_millis(2000),
        "the claim took {latency:?} to reach the screen"
    );

    // The countdown shows about five minutes and ticks. It starts at 05:00
    // (rounded up); waiting for 04:5x means the frame came from a once-a-second
    // tick, and the next tick must change it (waited for, not sampled once: a
    // loaded machine may redraw late, which is not the failure looked for).
    let first = wait_screen(
        &tmux,
        &log,
        "a countdown of 04:5x",
        Duration::from_millis(50),
        |s| countdown_of(s, LOCK_PATH).is_some_and(|c| c.starts_with("04:5")),
    );
    let lock_row = panel_lines(&first, "Locks (")
        .into_iter()
        .find(|l| l.contains(LOCK_PATH))
        .unwrap_or_default();
    assert!(
        lock_row.contains("impl_a"),
        "lock row names the holder: {lock_row:?}"
    );
    let before = countdown_of(&first, LOCK_PATH).expect("countdown");
    let second = wait_screen(
        &tmux,
        &log,
        "the countdown ticking",
        Duration::from_millis(100),
        |s| countdown_of(s, LOCK_PATH).is_some_and(|c| c != before),
    );
    let after = countdown_of(&second, LOCK_PATH)
        .unwrap_or_else(|| panic!("countdown gone{}", context(&second, &log)));
    println!("countdown {before} then {after}");
    assert!(
        after.starts_with("04:5") || after.starts_with("04:4"),
        "countdown {after}"
    );

    // Logs go to the file, never onto the screen.
    assert!(
        !second
            .lines()
            .any(|l| [" INFO ", " WARN ", " ERROR ", " DEBUG "]
                .iter()
                .any(|k| l.contains(k))),
        "log lines on the dashboard screen{}",
        context(&second, &log)
    );
    assert!(
        second
            .lines()
            .next()
            .is_some_and(|l| l.contains(&base) && l.trim_end().ends_with("UTC")),
        "the header line is not first{}",
        context(&second, &log)
    );

    // Idle CPU over three quiet seconds.
    let ticks_before = cpu_ticks(pid);
    let idle_start = Instant::now();
    sleep(Duration::from_secs(3));
    let ticks = cpu_ticks(pid) - ticks_before;
    let elapsed = idle_start.elapsed().as_secs_f64();
    let cpu = ticks as f64 / clock_ticks_per_second() as f64 / elapsed * 100.0;
    println!("dashboard idle CPU: {cpu:.1}% of one core");
    assert!(cpu < 20.0, "the idle dashboard used {cpu:.1}% of one core");

    // Another agent's claim waits on the lock: the dashboard shows it waiting,
    // and the lock with one waiter, until the claim gives up.
    let waiter_url = format!("{base}/mcp/v2/claude/u__session__s__impl_b");
    let waiting = runtime.spawn({
        let http = http.clone();
        async move {
            call_tool(
                &http,
                &waiter_url,
                "claim_file_lock",
                json!({ "file_paths": [LOCK_PATH], "wait_seconds": 3 }),
            )
            .await
        }
    });
    // Both in one predicate: a capture can land between two cells' updates.
    let waits_on_lock = |s: &str| {
        panel_lines(s, "Agents (")
            .iter()
            .any(|l| l.contains("impl_b") && l.contains("waiting"))
            && panel_lines(s, "Locks (")
                .iter()
                .any(|l| l.contains(LOCK_PATH) && l.contains("1: impl_b"))
    };
    wait_screen(
        &tmux,
        &log,
        "impl_b waiting, and the lock's row counting one waiter",
        Duration::from_millis(50),
        waits_on_lock,
    );
    let answer = runtime.block_on(waiting).expect("the waiting claim's task");
    assert!(answer.to_string().contains("held by impl_a"), "{answer}");
    wait_screen(
        &tmux,
        &log,
        "impl_b no longer waiting",
        Duration::from_millis(50),
        |s| {
            !panel_lines(s, "Agents (")
                .iter()
                .any(|l| l.contains("waiting"))
        },
    );

    // The Agents panel has focus first; Tab moves to Locks, whose only row is selected.
    tmux.send("Tab");
    wait_screen(
        &tmux,
        &log,
        "focus on the Locks panel",
        Duration::from_millis(20),
        |s| s.contains("▶2 Locks"),
    );
    tmux.send("r");
    let confirm = wait_screen(
        &tmux,
        &log,
        "the release question",
        Duration::from_millis(20),
        // Its title and its last line: a capture can land mid-frame.
        |s| s.contains("Release lock?") && s.contains("Esc cancel"),
    );
    let lines: Vec<&str> = confirm.lines().collect();
    let asked = lines
        .iter()
        .position(|l| l.contains("Release the"))
        .unwrap_or_else(|| panic!("no question text{}", context(&confirm, &log)));
    assert!(
        lines.get(asked + 1).is_some_and(|l| l.contains(LOCK_PATH)),
        "the question names the path{}",
        context(&confirm, &log)
    );
    assert!(
        lines
            .get(asked + 2)
            .is_some_and(|l| l.contains("held by impl_a")),
        "the question names the holder{}",
        context(&confirm, &log)
    );
    tmux.send("y");
    let released = wait_screen(
        &tmux,
        &log,
        "the lock gone",
        Duration::from_millis(20),
        |s| {
            s.contains("Locks (0)")
                && !panel_lines(s, "Locks (")
                    .iter()
                    .any(|l| l.contains(LOCK_PATH))
                && panel_lines(s, "Events (")
                    .iter()
                    .any(|l| l.contains("forced_release") && l.contains(LOCK_PATH))
                // The status line is drawn last: wait for it too, not for a half-drawn screen.
                && s.contains("released src/main.rs")
        },
    );
    assert!(
        released.contains("released src/main.rs held by impl_a"),
        "status line reports the release{}",
        context(&released, &log)
    );

    // The agent sees it has no locks.
    let status = runtime.block_on(call_tool(&http, &url, "check_agent_status", json!({})));
    let locks = &status["result"]["structuredContent"]["locks"];
    assert_eq!(locks, &json!([]), "check_agent_status: {status}");

    // The database recorded it as a forced release by the dashboard.
    let events = runtime.block_on(async {
        let store = backend.open(&db).await;
        store.snapshot(100).await.expect("snapshot").events
    });
    let forced: Vec<(String, String, String)> = events
        .into_iter()
        .filter(|e| e.kind == ccmulti_model::EventKind::ForcedRelease)
        .map(|e| {
            let text = |t: Option<String>| t.unwrap_or_default();
            (text(e.agent_id), text(e.path), text(e.detail))
        })
        .collect();
    assert_eq!(
        forced,
        vec![(
            "impl_a".to_string(),
            LOCK_PATH.to_string(),
            "released by dashboard".to_string()
        )]
    );

    // `q` ends ccmulti, and with it the tmux session.
    tmux.send("q");
    let start = Instant::now();
    while tmux.has_session() || process_alive(pid) {
        if start.elapsed() > Duration::from_secs(5) {
            panic!(
                "ccmulti (pid {pid}) still running 5 s after q{}",
                context(&tmux.capture(), &log)
            );
        }
        sleep(Duration::from_millis(50));
    }
}

/// A team as `ccmulti team --worktrees` leaves it: the planner in the main
/// checkout on `main`, implementer-1 in its own worktree with two commits
/// `main` lacks. `ccmulti dash` runs in the repository; landing the branch
/// writes nothing the database hears of, and the dashboard still sees it.
#[test]
fn dash_shows_a_branch_not_landed_until_it_lands() {
    if !ccmulti_testkit::interop::available(
        "dashboard_tmux::dash_shows_a_branch_not_landed_until_it_lands",
        &[ccmulti_testkit::interop::Client::Tmux],
    ) {
        return;
    }
    require_tmux();
    let dir = tempfile::tempdir().expect("tempdir");
    let base = std::fs::canonicalize(dir.path()).expect("canonical");
    let repo = base.join("repo");
    ccmulti_testkit::claude::git_repo(&repo, &[("app.py", "a = 1\n")]);
    let tree = base.join("s-implementer-1");
    let branch = "ccmulti/s/implementer-1";
    let git = |dir: &Path, args: &[&str]| {
        ccmulti_testkit::run_ok(
            Command::new("git")
                .args(["-c", "user.name=T", "-c", "user.email=t@example.com"])
                .args(args)
                .current_dir(dir),
        )
    };
    git(
        &repo,
        &[
            "worktree",
            "add",
            "-q",
            "-b",
            branch,
            &tree.to_string_lossy(),
        ],
    );
    for n in 2..4 {
        std::fs::write(tree.join("app.py"), format!("a = {n}\n")).expect("write");
        git(&tree, &["commit", "-q", "-am", &format!("a = {n}")]);
    }
    let db = base.join("coordinator.db");
    let log = db.with_extension("log");
    ccmulti_testkit::claude::place_agents(
        &db,
        "u",
        "s",
        &[("planner", &repo, "main"), ("implementer-1", &tree, branch)],
    );

    let port = free_port();
    let tmux = Tmux {
        socket: format!("ccmulti-test-{}-{port}", std::process::id()),
    };
    let command = format!(
        "exec env TERM=xterm-256color NO_COLOR=1 {} dash --addr 127.0.0.1:{port} --db {}",
        shell_quote(&ccmulti_testkit::ccmulti_binary().display().to_string()),
        shell_quote(&db.to_string_lossy()),
    );
    tmux.start(&repo, &command);
    let row = |s: &str, agent: &str| {
        panel_lines(s, "Agents (")
            .into_iter()
            .find(|l| l.contains(agent))
            .unwrap_or_default()
    };
    let before = wait_screen(
        &tmux,
        &log,
        "implementer-1's two commits to land",
        Duration::from_millis(100),
        |s| row(s, "implementer-1").contains("2 to land"),
    );
    assert!(before.contains("Landing"), "{}", context(&before, &log));
    // The planner is on main itself: nothing of its own to land.
    let planner = row(&before, "planner");
    assert!(
        !planner.contains("land"),
        "{planner:?}{}",
        context(&before, &log)
    );

    git(&repo, &["merge", "-q", "--no-edit", branch]);
    wait_screen(
        &tmux,
        &log,
        "implementer-1's branch landed",
        Duration::from_millis(100),
        |s| row(s, "implementer-1").contains("landed"),
    );
    tmux.send("q");
    let start = Instant::now();
    while tmux.has_session() {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "ccmulti dash still running 5 s after q{}",
            context(&tmux.capture(), &log)
        );
        sleep(Duration::from_millis(50));
    }
}
