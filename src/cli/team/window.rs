//! What runs in each window of a team, as recorded in the team's record so
//! that `ccmulti team` can start any of them again the same way.
//!
//! Each window runs a short `sh -c` script that begins with a marker
//! (`: ccmulti-window NAME;`): while the script runs, the pane's process
//! carries it; when the program ends, the script says so (an agent's window
//! prints its exact restart command, the dashboard's how to bring it back)
//! and hands the window to the user's shell, which does not carry it. So
//! `team status` tells a running program from a shell left behind.

use std::path::{Path, PathBuf};

use ccmulti::hook::shell_quote;
use ccmulti::rules::team::WindowKind;
use serde::{Deserialize, Serialize};

/// One window: its name, what runs there, its directory and environment, and
/// the argv tmux runs; `restart` is the argv for starting it again (an
/// agent's without its first prompt).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowCommand {
    pub name: String,
    pub kind: WindowKind,
    pub dir: PathBuf,
    pub env: Vec<(String, String)>,
    pub argv: Vec<String>,
    pub restart: Vec<String>,
}

/// What the scripts begin with; `team status` looks for it.
pub fn marker(name: &str) -> String {
    format!(": ccmulti-window {name};")
}

/// `sh -c` running `body` after the window's marker. Ctrl-C in the window
/// reaches the script too (one process group): its no-op trap keeps it, so it
/// goes on to say what ended and to leave the shell, while the program it
/// runs gets the signal as usual.
fn script(name: &str, body: &str) -> Vec<String> {
    vec![
        "sh".to_owned(),
        "-c".to_owned(),
        format!("{} trap : INT; {body}", marker(name)),
    ]
}

/// Prints `lines` and leaves the user's shell in the window.
fn then_a_shell(lines: &[String]) -> String {
    let quoted: Vec<String> = lines.iter().map(|l| shell_quote(l)).collect();
    format!(
        "printf '\\n'; printf '%s\\n' {}; exec \"${{SHELL:-sh}}\"",
        quoted.join(" ")
    )
}

/// An agent's window: its claude started by `line` (after `first`, e.g. the
/// background job that gives it its first prompt); when claude ends, the
/// exact command that starts it again, and a shell.
pub fn agent(
    name: &str,
    dir: &Path,
    env: Vec<(String, String)>,
    first: Option<&str>,
    line: &str,
) -> WindowCommand {
    let ended = then_a_shell(&[
        format!(
            "claude ({name}) has ended. To start it again as {name}, connected to ccmulti with its hooks, run:"
        ),
        format!("  {line}"),
        "or run `ccmulti team` in the repository: it restarts every agent that has ended."
            .to_owned(),
        "(A plain `claude` typed here has no ccmulti tools and no hooks.)".to_owned(),
    ]);
    let run = |before: Option<&str>| {
        let before = before.map(|b| format!("{b}; ")).unwrap_or_default();
        script(name, &format!("{before}{line}; {ended}"))
    };
    WindowCommand {
        name: name.to_owned(),
        kind: WindowKind::Agent,
        dir: dir.to_owned(),
        env,
        argv: run(first),
        restart: run(None),
    }
}

/// The dashboard's window: `command` (quoted already); when it ends (`q`),
/// how to bring it back, and a shell.
pub fn dashboard(
    name: &str,
    dir: &Path,
    env: Vec<(String, String)>,
    command: &str,
) -> WindowCommand {
    let ended = then_a_shell(&[
        "The dashboard has ended. Bring it back with `ccmulti team` in the repository (it repairs the team), or run:".to_owned(),
        format!("  {command}"),
    ]);
    let argv = script(name, &format!("{command}; {ended}"));
    WindowCommand {
        name: name.to_owned(),
        kind: WindowKind::Dashboard,
        dir: dir.to_owned(),
        env,
        restart: argv.clone(),
        argv,
    }
}

/// The coordinator's window: `command` (quoted already, its log teed);
/// when it stops, what that means and how to start it again, and a shell.
pub fn coordinator(name: &str, dir: &Path, command: &str) -> WindowCommand {
    let ended = then_a_shell(&[
        "The coordinator has stopped: the agents cannot claim or release locks until it runs again.".to_owned(),
        "Start it again with `ccmulti team` in the repository (it repairs the team).".to_owned(),
    ]);
    let argv = script(name, &format!("{command}; {ended}"));
    WindowCommand {
        name: name.to_owned(),
        kind: WindowKind::Coordinator,
        dir: dir.to_owned(),
        env: Vec::new(),
        restart: argv.clone(),
        argv,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_agent_window_says_how_to_start_claude_again_and_leaves_a_shell() {
        let w = agent(
            "implementer-1",
            Path::new("/r"),
            vec![(
                "CCMULTI_AGENT".into(),
                "u__session__s__implementer-1".into(),
            )],
            Some("(send-first-prompt &)"),
            "cd /r && claude --mcp-config /d/i.mcp.json",
        );
        let first = &w.argv[2];
        assert!(first.starts_with(
            ": ccmulti-window implementer-1; trap : INT; (send-first-prompt &); cd /r"
        ));
        assert!(first.contains("'  cd /r && claude --mcp-config /d/i.mcp.json'"));
        assert!(first.ends_with("exec \"${SHELL:-sh}\""));
        // Started again: the same, without the first prompt.
        assert!(!w.restart[2].contains("send-first-prompt"));
        assert!(w.restart[2].starts_with(": ccmulti-window implementer-1; trap : INT; cd /r"));
        // The script runs as it reads: what it prints, then a shell.
        let shown = std::process::Command::new("sh")
            .args([
                "-c",
                &first
                    .replace("(send-first-prompt &); ", "")
                    .replace("cd /r && claude --mcp-config /d/i.mcp.json;", "true;"),
            ])
            .env("SHELL", "true")
            .output()
            .unwrap();
        let shown = String::from_utf8_lossy(&shown.stdout);
        assert!(
            shown.contains("claude (implementer-1) has ended"),
            "{shown}"
        );
        assert!(
            shown.contains("\n  cd /r && claude --mcp-config /d/i.mcp.json\n"),
            "{shown}"
        );
    }
}
