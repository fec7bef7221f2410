//! The tmux commands `ccmulti team` runs. tmux picks its server as usual
//! (`$TMUX_TMPDIR`, the default socket), so a test isolates it with its own
//! `TMUX_TMPDIR`.

use std::process::{Command, Output, Stdio};

use anyhow::{Context, Result, bail};
use ccmulti::rules::team::Seen;

use super::window::{WindowCommand, marker};

fn tmux() -> Command {
    Command::new("tmux")
}

fn run(args: &[&str]) -> Result<Output> {
    tmux()
        .args(args)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running tmux {}", args.join(" ")))
}

fn check(args: &[&str]) -> Result<String> {
    let out = run(args)?;
    if !out.status.success() {
        bail!(
            "tmux {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// tmux is installed and runs.
pub fn available() -> Result<()> {
    match tmux().arg("-V").stdin(Stdio::null()).output() {
        Ok(out) if out.status.success() => Ok(()),
        _ => bail!(
            "tmux is not installed (or does not run); ccmulti team opens the agents in a tmux session. \
             Install it (apt-get install tmux, brew install tmux), or run ccmulti team --print to get \
             each terminal's command instead. Nothing was changed"
        ),
    }
}

/// `=name` matches the session exactly; a bare name would match a prefix.
fn exact(session: &str) -> String {
    format!("={session}")
}

pub fn has_session(session: &str) -> bool {
    run(&["has-session", "-t", &exact(session)]).is_ok_and(|o| o.status.success())
}

fn window_args(w: &WindowCommand, argv: &[String], args: &mut Vec<String>) {
    args.push("-c".into());
    args.push(w.dir.to_string_lossy().into_owned());
    for (k, v) in &w.env {
        args.extend(["-e".into(), format!("{k}={v}")]);
    }
    // Several arguments: tmux runs them directly, with no shell of its own in between.
    args.extend(argv.iter().cloned());
}

fn run_args(args: &[String]) -> Result<()> {
    check(&args.iter().map(String::as_str).collect::<Vec<_>>())?;
    Ok(())
}

/// A new detached session whose first window is `first`; a size so that the
/// programs in it draw sensibly before anyone attaches.
pub fn new_session(session: &str, first: &WindowCommand) -> Result<()> {
    let mut args: Vec<String> = [
        "new-session",
        "-d",
        "-s",
        session,
        "-x",
        "200",
        "-y",
        "50",
        "-n",
    ]
    .map(String::from)
    .to_vec();
    args.push(first.name.clone());
    window_args(first, &first.argv, &mut args);
    run_args(&args)
}

/// A new window at the end of `session`, running `argv` (the window's
/// `argv`, or its `restart`).
pub fn new_window(session: &str, window: &WindowCommand, argv: &[String]) -> Result<()> {
    let target = format!("{}:", exact(session));
    let mut args: Vec<String> = vec!["new-window".into(), "-d".into(), "-t".into(), target];
    args.extend(["-n".into(), window.name.clone()]);
    window_args(window, argv, &mut args);
    run_args(&args)
}

/// Starts the window's `restart` argv again in its pane, ending whatever is
/// left there (the shell after its program ended).
pub fn respawn(session: &str, window: &WindowCommand) -> Result<()> {
    let target = format!("{}:{}", exact(session), window.name);
    let mut args: Vec<String> = vec!["respawn-pane".into(), "-k".into(), "-t".into(), target];
    window_args(window, &window.restart, &mut args);
    run_args(&args)
}

/// Types `text` into `pane` as keys (a newline is a new line in the input,
/// not Enter), in pieces tmux takes whole.
pub fn type_text(pane: &str, text: &str) -> Result<()> {
    let chars: Vec<char> = text.chars().collect();
    for piece in chars.chunks(1000) {
        let piece: String = piece.iter().collect();
        check(&["send-keys", "-t", pane, "-l", &piece])?;
    }
    Ok(())
}

/// Presses Enter in `pane`.
pub fn press_enter(pane: &str) -> Result<()> {
    check(&["send-keys", "-t", pane, "Enter"])?;
    Ok(())
}

/// Whether `pane` still exists.
pub fn has_pane(pane: &str) -> bool {
    run(&["display-message", "-p", "-t", pane, "#{pane_id}"]).is_ok_and(|o| o.status.success())
}

pub fn select_window(session: &str, window: &str) -> Result<()> {
    check(&[
        "select-window",
        "-t",
        &format!("{}:{window}", exact(session)),
    ])?;
    Ok(())
}

pub fn kill_session(session: &str) -> Result<()> {
    check(&["kill-session", "-t", &exact(session)])?;
    Ok(())
}

/// Each window's name and what it is seen doing: [`Seen::Running`] while
/// the pane's process is the script the team started there (it carries the
/// window's marker), [`Seen::Ended`] once only a shell (or a dead pane) is left.
pub fn observe(session: &str) -> Result<Vec<(String, Seen)>> {
    let out = check(&[
        "list-panes",
        "-s",
        "-t",
        &exact(session),
        "-F",
        "#{window_name}\t#{pane_dead}\t#{pane_pid}",
    ])?;
    let panes: Vec<(String, bool, String)> = out
        .lines()
        .filter_map(|l| {
            let mut parts = l.split('\t');
            Some((
                parts.next()?.to_owned(),
                parts.next()? == "1",
                parts.next()?.to_owned(),
            ))
        })
        .collect();
    let pids: Vec<&str> = panes.iter().map(|(_, _, pid)| pid.as_str()).collect();
    let commands = commands_of(&pids);
    Ok(panes
        .iter()
        .map(|(name, dead, pid)| {
            let running = !dead
                && commands
                    .iter()
                    .any(|(p, args)| p == pid && args.contains(&marker(name)));
            let seen = if running { Seen::Running } else { Seen::Ended };
            (name.clone(), seen)
        })
        .collect())
}

/// `(pid, command line)` of each live process among `pids`.
fn commands_of(pids: &[&str]) -> Vec<(String, String)> {
    if pids.is_empty() {
        return Vec::new();
    }
    let out = std::process::Command::new("ps")
        .args(["-ww", "-o", "pid=,args=", "-p", &pids.join(",")])
        .stdin(Stdio::null())
        .output();
    let Ok(out) = out else {
        return Vec::new();
    };
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let (pid, args) = l.trim_start().split_once(' ')?;
            Some((pid.to_owned(), args.trim_start().to_owned()))
        })
        .collect()
}

/// Hands this terminal to the session: `switch-client` from inside tmux,
/// `attach` otherwise.
pub fn attach(session: &str) -> Result<()> {
    let inside = std::env::var_os("TMUX").is_some_and(|v| !v.is_empty());
    let verb = if inside { "switch-client" } else { "attach" };
    let status = tmux()
        .args([verb, "-t", &exact(session)])
        .status()
        .with_context(|| format!("running tmux {verb}"))?;
    if !status.success() {
        bail!(
            "tmux {verb} -t {session} failed ({status}); the team runs on: tmux attach -t {session}"
        );
    }
    Ok(())
}
