//! A damaged team, repaired by running `ccmulti team` again: an agent's
//! claude that exited (its window then prints the exact command that starts
//! it again), the coordinator stopped by Ctrl-C, the dashboard ended by `q`
//! (its window says how to bring it back) and then its window closed. `team
//! status` names each; `ccmulti team` starts each again with the same command
//! and environment, leaves what runs alone, and the agents' next calls
//! succeed. Real tmux and the real binary; claude is the recording stand-in
//! of `team.rs`. SQLite only, as `ccmulti team` is.

use std::time::{Duration, Instant};

use serde_json::json;

use super::team::{Fixture, ok};

const DEADLINE: Duration = Duration::from_secs(20);

impl Fixture {
    fn screen(&self, window: &str) -> String {
        let target = format!("=ccmulti-repo:{window}");
        String::from_utf8_lossy(
            &self
                .tmux(&["capture-pane", "-p", "-J", "-t", &target])
                .stdout,
        )
        .into_owned()
    }

    /// Waits until `window`'s screen shows `text`.
    fn until_shown(&self, window: &str, text: &str) -> String {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let screen = self.screen(window);
            if screen.contains(text) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "{window} never showed {text:?}:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn pane_pid(&self, window: &str) -> u32 {
        self.panes()
            .into_iter()
            .find(|(name, _, _)| name == window)
            .map(|(_, pid, _)| pid)
            .unwrap_or_else(|| panic!("no window {window}"))
    }

    fn status_line(&self, status: &str, window: &str) -> String {
        status
            .lines()
            .find(|l| l.contains(&format!("window {window} ")))
            .unwrap_or_else(|| panic!("no line for window {window}:\n{status}"))
            .to_owned()
    }
}

/// The processes `pid` started (Linux: its `children` file).
fn children(pid: u32) -> Vec<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + DEADLINE;
    while !done() {
        assert!(Instant::now() < deadline, "timed out: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn team_names_and_repairs_an_exited_agent_a_stopped_coordinator_and_a_closed_dashboard() {
    let Some(fx) = Fixture::new(
        "team_names_and_repairs_an_exited_agent_a_stopped_coordinator_and_a_closed_dashboard",
    ) else {
        return;
    };
    ok(fx.ccmulti(&["team", "--no-attach", "--agents", "2"]));
    let (_, first_args, _) = fx.started("implementer-1");
    let out = fx.base.join("out").join(fx.agent("implementer-1"));
    let planner_pid = fx.pane_pid("planner");

    // implementer-1's claude exits: its window says how to start it again.
    let claude = children(fx.pane_pid("implementer-1"));
    assert_eq!(claude.len(), 1, "one claude under the window's script");
    ok(std::process::Command::new("kill")
        .arg(claude[0].to_string())
        .output()
        .expect("kill"));
    let screen = fx.until_shown("implementer-1", "claude (implementer-1) has ended");
    assert!(
        screen.contains("--mcp-config") && screen.contains("ccmulti team"),
        "{screen}"
    );
    // The coordinator stopped with Ctrl-C in its window; the dashboard quit with q.
    fx.tmux(&["send-keys", "-t", "=ccmulti-repo:coordinator", "C-c"]);
    wait_for("the coordinator to stop", || fx.health().is_none());
    fx.until_shown("coordinator", "The coordinator has stopped");
    fx.tmux(&["send-keys", "-t", "=ccmulti-repo:dash", "q"]);
    fx.until_shown("dash", "Bring it back with `ccmulti team`");

    let status = ok(fx.ccmulti(&["team", "status"]));
    assert!(
        fx.status_line(&status, "implementer-1")
            .contains("claude has exited"),
        "{status}"
    );
    assert!(
        fx.status_line(&status, "coordinator")
            .contains("the coordinator has stopped"),
        "{status}"
    );
    assert!(
        fx.status_line(&status, "dash")
            .contains("the dashboard has ended"),
        "{status}"
    );
    assert!(
        fx.status_line(&status, "planner")
            .contains("claude running")
    );
    assert!(status.contains("does not answer"), "{status}");

    // The dashboard's window closed for good: named as missing.
    fx.tmux(&["kill-window", "-t", "=ccmulti-repo:dash"]);
    let status = ok(fx.ccmulti(&["team", "status"]));
    assert!(
        fx.status_line(&status, "dash").contains("missing"),
        "{status}"
    );

    // `ccmulti team` repairs each, and leaves the planner as it was.
    std::fs::remove_file(format!("{}.env", out.display())).expect("remove the record");
    let repaired = ok(fx.ccmulti(&["team", "--no-attach", "--agents", "2"]));
    assert!(repaired.contains("team repo repaired"), "{repaired}");
    assert!(fx.health().is_some(), "the coordinator answers again");
    let (env, args, pwd) = fx.started("implementer-1");
    assert_eq!(args, first_args, "started again with the same command");
    assert!(env.contains(&format!("CCMULTI_AGENT={}", fx.agent("implementer-1"))));
    assert_eq!(pwd, fx.repo);
    assert_eq!(
        fx.pane_pid("planner"),
        planner_pid,
        "what ran was left alone"
    );
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
        "{repaired}"
    );
    let status = ok(fx.ccmulti(&["team", "status"]));
    for (window, running) in [
        ("coordinator", "coordinator running"),
        ("implementer-1", "claude running"),
        ("dash", "dashboard running"),
    ] {
        assert!(
            fx.status_line(&status, window).contains(running),
            "{status}"
        );
    }
    // The agents' next calls succeed.
    for agent in ["implementer-1", "planner"] {
        let reply = fx.call(
            agent,
            "claim_file_lock",
            json!({ "file_paths": [format!("src/{agent}.py")] }),
        );
        assert_eq!(
            reply["result"]["structuredContent"]["success"],
            json!(true),
            "{reply}"
        );
    }
    // And once whole, another run says so and changes nothing.
    let before = fx.panes();
    let again = ok(fx.ccmulti(&["team", "--no-attach"]));
    assert!(again.contains("nothing to repair"), "{again}");
    assert_eq!(fx.panes(), before);
}
