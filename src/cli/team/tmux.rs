//! The tmux commands `ccmulti team` runs. tmux picks its server as usual
//! (`$TMUX_TMPDIR`, the default socket), so a test isolates it with its own
//! `TMUX_TMPDIR`.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use anyhow::{Context, Result, bail};

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

/// One window: its name, directory, extra environment and argv.
pub struct Window<'a> {
    pub name: &'a str,
    pub dir: &'a Path,
    pub env: &'a [(&'a str, String)],
    pub argv: &'a [String],
}

fn window_args<'a>(w: &'a Window<'a>, args: &mut Vec<String>) {
    args.extend(["-n".into(), w.name.into(), "-c".into()]);
    args.push(w.dir.to_string_lossy().into_owned());
    for (k, v) in w.env {
        args.extend(["-e".into(), format!("{k}={v}")]);
    }
    // Several arguments: tmux runs them directly, with no shell of its own in between.
    args.extend(w.argv.iter().cloned());
}

/// A new detached session whose first window is `first`; a size so that the
/// programs in it draw sensibly before anyone attaches.
pub fn new_session(session: &str, first: &Window<'_>) -> Result<()> {
    let mut args: Vec<String> = ["new-session", "-d", "-s", session, "-x", "200", "-y", "50"]
        .map(String::from)
        .to_vec();
    window_args(first, &mut args);
    check(&args.iter().map(String::as_str).collect::<Vec<_>>())?;
    Ok(())
}

pub fn new_window(session: &str, window: &Window<'_>) -> Result<()> {
    let target = format!("{}:", exact(session));
    let mut args: Vec<String> = vec!["new-window".into(), "-d".into(), "-t".into(), target];
    window_args(window, &mut args);
    check(&args.iter().map(String::as_str).collect::<Vec<_>>())?;
    Ok(())
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

/// Each window's name and whether its pane's process still runs.
pub fn windows(session: &str) -> Result<Vec<(String, bool)>> {
    let out = check(&[
        "list-panes",
        "-s",
        "-t",
        &exact(session),
        "-F",
        "#{window_name}\t#{pane_dead}",
    ])?;
    Ok(out
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(name, dead)| (name.to_owned(), dead != "1"))
        .collect())
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
