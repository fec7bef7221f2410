//! The command lines a team runs: its coordinator (`ccmulti serve`, or `up`
//! for `--print`), its dashboard, and the background job that gives an
//! agent its first prompt; each for this team's database and address.

use std::path::Path;

use ccmulti::rules::access::TOKEN_ENV;
use ccmulti::rules::team::{COORDINATOR_WINDOW, DASH_WINDOW};

use super::Team;
use super::start::Checked;
use super::window::{self, WindowCommand};
use crate::cli::Common;
use crate::cli::args::flags;

/// The background job that types `agent`'s first prompt into its window.
pub fn prompt_sender(binary: &str, db: &Path, agent: &str, file: &Path) -> String {
    let q = |s: &str| ccmulti::hook::shell_quote(s);
    let log = file.with_extension("log");
    format!(
        "({} --db {} team prompt --agent {} --file {} --pane \"$TMUX_PANE\" >> {} 2>&1 &)",
        q(binary),
        q(&db.to_string_lossy()),
        q(agent),
        q(&file.to_string_lossy()),
        q(&log.to_string_lossy())
    )
}

/// `ccmulti VERB` for this team's database and address; a coordinator
/// (`serve`, `up`) also gets the root and the server's options (every one
/// with `all`, so that nothing in the tmux server's environment changes them).
pub fn ccmulti_argv(
    common: &Common,
    team: &Team,
    checked: &Checked,
    binary: &str,
    verb: &str,
    all: bool,
) -> Vec<String> {
    let mut argv = vec![
        binary.to_owned(),
        verb.to_owned(),
        "--addr".into(),
        common.addr.to_string(),
        "--db".into(),
        checked.db.to_string_lossy().into_owned(),
    ];
    if verb != "dash" {
        argv.extend([
            "--root".into(),
            team.repo.root.to_string_lossy().into_owned(),
        ]);
        argv.extend(flags(&common.server, all));
    }
    argv
}

pub fn quoted(argv: &[String]) -> String {
    argv.iter()
        .map(|a| ccmulti::hook::shell_quote(a))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The coordinator's window: with the token of this terminal, or none (not
/// whatever the tmux server's environment kept, which the agents would not
/// know), its log teed into the team's directory.
pub fn coordinator_window(
    common: &Common,
    team: &Team,
    checked: &Checked,
    binary: &str,
    token_file: Option<&Path>,
) -> WindowCommand {
    let q = |s: &str| ccmulti::hook::shell_quote(s);
    let token = match token_file {
        Some(file) => format!(
            "export {TOKEN_ENV}=\"$(cat {})\" && ",
            q(&file.to_string_lossy())
        ),
        None => format!("unset {TOKEN_ENV}; "),
    };
    let serve = quoted(&ccmulti_argv(common, team, checked, binary, "serve", true));
    let log = team.dir.join("coordinator.log");
    let command = format!("{token}{serve} 2>&1 | tee -a {}", q(&log.to_string_lossy()));
    window::coordinator(COORDINATOR_WINDOW, &team.repo.root, &command)
}

pub fn dash_window(common: &Common, team: &Team, checked: &Checked, binary: &str) -> WindowCommand {
    let dash = quoted(&ccmulti_argv(common, team, checked, binary, "dash", false));
    window::dashboard(DASH_WINDOW, &team.repo.root, Vec::new(), &dash)
}
