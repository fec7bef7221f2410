//! Starting the team: planned ([`super::plan`]), checked against what runs
//! (nothing is made before every check passed), made (the generated files,
//! the coordinator, the worktrees, the git guard, the records), and launched
//! (the tmux windows, or one printed line per terminal). A team whose tmux
//! session is already there is repaired instead ([`super::repair`]).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use ccmulti::rules::access::TOKEN_ENV;
use ccmulti::rules::team::{self, DASH_WINDOW, Mend, Seen, WindowKind};
use ccmulti::store::StoreError;
use ccmulti_model::PLANNER;

use super::commands::{ccmulti_argv, coordinator_window, dash_window, prompt_sender, quoted};
use super::coordinator::{self, Found};
use super::files::{self, AgentMcpConfig, AgentSettings};
use super::line::StartLine;
use super::plan::{self, TeamPlan};
use super::window::{self, WindowCommand};
use super::workspace::Make;
use super::{CLAUDE_ENV, StartArgs, Team, claude_command, repair, runnable, tmux, trust};
use crate::cli::Common;
use crate::cli::install::{self, this_binary};
use crate::cli::out::outln;
use crate::cli::service::{self, Opening};

/// What the checks found: the coordinator at the address, and the database.
pub struct Checked {
    pub found: Found,
    pub db: PathBuf,
    pub claude: String,
}

/// One agent's terminal: its window (with tmux) and the line a person runs (without).
struct Terminal {
    window: WindowCommand,
    line: String,
}

/// What was made: every window of the team, in order (the coordinator's
/// open already when the team runs its own), and each agent's line.
struct Made {
    windows: Vec<WindowCommand>,
    terminals: Vec<Terminal>,
}

pub fn start(common: &Common, args: &StartArgs) -> Result<ExitCode> {
    let team = Team::resolve(common, &args.which)?;
    if !args.print && tmux::available().is_ok() && tmux::has_session(&team.tmux) {
        return repair::repair(common, &team, args);
    }
    let plan = plan::plan(common, args, team)?;
    let checked = validate(common, args, &plan)?;
    let made = materialise(common, args, &plan, &checked)?;
    launch(common, args, &plan, &checked, &made)
}

/// Everything checked before anything is made: tmux and claude, the
/// coordinator at the address, the session's owner, and Claude Code's trust.
fn validate(common: &Common, args: &StartArgs, plan: &TeamPlan) -> Result<Checked> {
    let claude = claude_command();
    if !args.print {
        tmux::available()?;
        if !runnable(&claude) {
            bail!(
                "{claude:?} (Claude Code) is not found; install it (npm install -g @anthropic-ai/claude-code) \
                 or set {CLAUDE_ENV} to its path. Nothing was changed"
            );
        }
    }
    let team = &plan.team;
    let found = coordinator::probe(&common.public_url(), common.client_token())?;
    if let Found::Ccmulti { root, .. } = &found
        && !found.serves(&team.repo.root)
    {
        bail!(
            "the coordinator at {} serves {}, not this repository ({}); stop it, or pass \
             --addr with another address for this team. Nothing was changed",
            common.addr,
            root.display(),
            team.repo.root.display()
        );
    }
    let db = match &found {
        Found::Ccmulti { db, .. } => db.clone(),
        Found::Nothing => {
            // The coordinator to start would refuse these (e.g. beyond loopback without a token).
            common.security()?;
            common.db_path()?
        }
    };
    check_owner(&db, team)?;
    let places: Vec<trust::Place<'_>> = plan
        .places
        .iter()
        .map(|p| trust::Place {
            dir: &p.dir,
            top: &p.worktree,
        })
        .collect();
    trust::ensure(&team.main_checkout(), &places, args.yes, args.print)?;
    Ok(Checked { found, db, claude })
}

/// The session is free or already this user's; checked before anything is
/// made, since registering the agents would be refused after it.
fn check_owner(db: &Path, team: &Team) -> Result<()> {
    let store = match service::open_at(db, Opening::MustExist) {
        Ok(store) => store,
        Err(StoreError::Missing { .. }) => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("opening the database {}", db.display())),
    };
    let snapshot = service::serve_once(store, async |coord| Ok(coord.snapshot(0).await?))?;
    if let Some(owned) = snapshot
        .sessions
        .iter()
        .find(|s| s.session_id == team.session && s.user_id != team.user)
    {
        bail!(
            "session {} belongs to user {}, not {}; pass --session with another name, or --user {}. \
             Nothing was changed",
            team.session,
            owned.user_id,
            team.user,
            owned.user_id
        );
    }
    Ok(())
}

/// Makes the team: its files, the coordinator (in the first window, when
/// none serves this repository), the worktrees, the git guard, the records.
fn materialise(
    common: &Common,
    args: &StartArgs,
    plan: &TeamPlan,
    checked: &Checked,
) -> Result<Made> {
    let team = &plan.team;
    let binary = this_binary()?;
    let token_file = common
        .client_token()
        .map(|token| -> Result<PathBuf> {
            let file = team.dir.join("token");
            files::write_private(&file, token)?;
            Ok(file)
        })
        .transpose()?;
    let terminals = agent_terminals(common, args, plan, checked, &binary, token_file.as_deref())?;
    let coordinator = coordinator_window(common, team, checked, &binary, token_file.as_deref());
    let starts_coordinator = matches!(checked.found, Found::Nothing) && !args.print;
    if starts_coordinator {
        run_coordinator(common, team, &coordinator, Mend::Reopen)?;
    }
    if let Err(e) = make_workplaces(plan) {
        if starts_coordinator {
            let _ = tmux::kill_session(&team.tmux);
        }
        return Err(e);
    }
    let guard = install::install(&team.repo.root, false)
        .unwrap_or_else(|e| format!("warning: the git guard was not installed: {e}"));
    outln!("{guard}");
    super::records::record(plan, &checked.db, !args.print)?;
    let dash = dash_window(common, team, checked, &binary);
    let windows: Vec<WindowCommand> = team::windows(starts_coordinator, &plan.implementers())
        .into_iter()
        .filter_map(|(name, kind)| match kind {
            WindowKind::Coordinator => Some(coordinator.clone()),
            WindowKind::Dashboard => Some(dash.clone()),
            WindowKind::Agent => terminals
                .iter()
                .find(|t| t.window.name == name)
                .map(|t| t.window.clone()),
        })
        .collect();
    // Printed beside a team that runs in tmux: its record (what `team stop`,
    // `team status` and a repair read) stays that team's.
    if !(args.print && tmux::has_session(&team.tmux)) {
        super::records::save(common, plan, &checked.db, &windows)?;
    }
    Ok(Made { windows, terminals })
}

/// Each agent's files (MCP config, settings, first prompt), its window and its line.
fn agent_terminals(
    common: &Common,
    args: &StartArgs,
    plan: &TeamPlan,
    checked: &Checked,
    binary: &str,
    token_file: Option<&Path>,
) -> Result<Vec<Terminal>> {
    let team = &plan.team;
    let conn = &plan.conn;
    let settings_file = team.dir.join("settings.json");
    files::write_json(&settings_file, &AgentSettings::new(binary))?;
    let extra: Vec<String> = args
        .claude_args
        .iter()
        .chain(&args.trailing)
        .cloned()
        .collect();
    let mut terminals = Vec::new();
    for place in &plan.places {
        let agent = place.agent.as_str();
        let mcp_file = team.dir.join(format!("{agent}.mcp.json"));
        files::write_json(
            &mcp_file,
            &AgentMcpConfig::from(conn.mcp_json(&conn.url(agent))),
        )?;
        let prompt_file = match plan.first_prompt(agent) {
            Some(text) => {
                let file = team.dir.join(format!("{agent}.prompt.md"));
                files::write_private(&file, &text)?;
                Some(file)
            }
            None => None,
        };
        let mut claude_args = vec![
            "--mcp-config".to_owned(),
            mcp_file.to_string_lossy().into_owned(),
            "--settings".to_owned(),
            settings_file.to_string_lossy().into_owned(),
        ];
        claude_args.extend(extra.iter().cloned());
        let env = vec![
            ("CCMULTI_AGENT", conn.virtual_user(agent).to_string()),
            ("CCMULTI_ADDR", common.addr.to_string()),
        ];
        let line = |prompt_file: Option<&Path>| {
            StartLine {
                dir: &place.dir,
                env: &env,
                env_from_file: token_file.map(|f| (TOKEN_ENV, f)),
                claude: &checked.claude,
                args: &claude_args,
                prompt_file,
            }
            .render()
        };
        // In its window the prompt is typed once its claude has the ccmulti tools (`prompt.rs`).
        let sender = prompt_file.as_deref().map(|file| {
            prompt_sender(
                binary,
                &checked.db,
                &conn.virtual_user(agent).to_string(),
                file,
            )
        });
        let owned_env = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect();
        terminals.push(Terminal {
            window: window::agent(agent, &place.dir, owned_env, sender.as_deref(), &line(None)),
            line: line(prompt_file.as_deref()),
        });
    }
    Ok(terminals)
}

/// The coordinator in its window (the team's first, at a start), opened as
/// `how` says; waits until it answers. If it does not, its log says why, and
/// a team being started ends (nothing else was made yet).
pub fn run_coordinator(
    common: &Common,
    team: &Team,
    window: &WindowCommand,
    how: Mend,
) -> Result<()> {
    let log = team.dir.join("coordinator.log");
    let starting = !tmux::has_session(&team.tmux);
    if starting {
        files::write_private(&log, "")?;
        tmux::new_session(&team.tmux, window)?;
    } else if how == Mend::Restart {
        tmux::respawn(&team.tmux, window)?;
    } else {
        tmux::new_window(&team.tmux, window, &window.restart)?;
    }
    let alive = || {
        tmux::observe(&team.tmux).is_ok_and(|w| {
            w.iter()
                .any(|(name, seen)| name == &window.name && *seen == Seen::Running)
        })
    };
    let up = coordinator::wait_until_up(
        &common.public_url(),
        common.client_token(),
        std::time::Duration::from_secs(20),
        alive,
    );
    if let Err(e) = up {
        if starting {
            let _ = tmux::kill_session(&team.tmux);
        }
        let said = std::fs::read_to_string(&log).unwrap_or_default();
        let tail: Vec<&str> = said.lines().rev().take(12).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        let made = if starting {
            "nothing else was made"
        } else {
            "the rest of the team was left as it was"
        };
        bail!(
            "{e}; {made}. Its log ({}):\n{}",
            log.display(),
            tail.join("\n")
        );
    }
    Ok(())
}

fn make_workplaces(plan: &TeamPlan) -> Result<()> {
    let team = &plan.team;
    for place in plan.places.iter().skip(1) {
        place.make(&team.repo).with_context(|| {
            format!(
                "creating the worktree {} for {}",
                place.worktree.display(),
                place.agent
            )
        })?;
        if let Some(branch) = place
            .branch
            .as_ref()
            .filter(|_| place.worktree != team.repo.top)
        {
            let what = match place.make {
                Make::Nothing => "reused",
                Make::CheckOut => "created, on the existing branch",
                Make::NewBranch { .. } => "created, on the new branch",
            };
            outln!(
                "worktree {} for {}: {what} {branch}",
                place.worktree.display(),
                place.agent
            );
        }
    }
    Ok(())
}

/// Opens the agents' and the dashboard's windows (the coordinator's is open
/// already when the team runs its own), or prints one line per terminal.
fn launch(
    common: &Common,
    args: &StartArgs,
    plan: &TeamPlan,
    checked: &Checked,
    made: &Made,
) -> Result<ExitCode> {
    let team = &plan.team;
    if args.print {
        print_lines(common, plan, checked, &made.terminals)?;
        return Ok(ExitCode::SUCCESS);
    }
    let to_open = made
        .windows
        .iter()
        .filter(|w| w.kind != WindowKind::Coordinator);
    for window in to_open {
        if tmux::has_session(&team.tmux) {
            tmux::new_window(&team.tmux, window, &window.argv)?;
        } else {
            tmux::new_session(&team.tmux, window)?;
        }
    }
    tmux::select_window(&team.tmux, PLANNER)?;
    print_summary(plan, &checked.found);
    super::attach_if_asked(args, &team.tmux)?;
    Ok(ExitCode::SUCCESS)
}

fn print_lines(
    common: &Common,
    plan: &TeamPlan,
    checked: &Checked,
    terminals: &[Terminal],
) -> Result<()> {
    let team = &plan.team;
    let binary = this_binary()?;
    outln!("# team {}: one line per terminal", team.session);
    outln!(
        "# (nothing is recorded until an agent connects; with tasks, each line's first prompt holds its part of the plan)"
    );
    match checked.found {
        Found::Nothing => {
            outln!("# coordinator and dashboard (none is running yet; start this first)");
            outln!(
                "{}",
                quoted(&ccmulti_argv(common, team, checked, &binary, "up", false))
            );
        }
        Found::Ccmulti { .. } => {
            outln!("# dashboard (the coordinator is already running)");
            outln!(
                "{}",
                quoted(&ccmulti_argv(common, team, checked, &binary, "dash", false))
            );
        }
    }
    for terminal in terminals {
        outln!("# {}", terminal.window.name);
        outln!("{}", terminal.line);
    }
    Ok(())
}

fn print_summary(plan: &TeamPlan, found: &Found) {
    let team = &plan.team;
    let coordinator = match found {
        Found::Nothing => "started in window coordinator",
        Found::Ccmulti { .. } => "already running",
    };
    outln!(
        "team {} is up in tmux session {} (coordinator {coordinator}):",
        team.session,
        team.tmux
    );
    for place in &plan.places {
        let branch = place
            .branch
            .as_deref()
            .map(|b| format!(" (branch {b})"))
            .unwrap_or_default();
        outln!("  {:<16} {}{branch}", place.agent, place.dir.display());
    }
    outln!("  {DASH_WINDOW:<16} the dashboard");
    if plan.planned.is_some() {
        outln!(
            "each agent is given its first prompt as soon as its claude has connected to the coordinator"
        );
    }
    outln!(
        "attach: tmux attach -t {}    check: ccmulti team status    stop: ccmulti team stop --session {}",
        team.tmux,
        team.session
    );
}
