//! Starting the team: everything checked first, then made in order (the
//! generated files, the coordinator, the worktrees, the git guard, the
//! records, the tmux windows), or printed as one line per terminal.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use ccmulti::hook::settings;
use ccmulti::rules::access::TOKEN_ENV;
use ccmulti::store::StoreError;
use ccmulti_model::AgentWorkspace;
use ccmulti_model::VirtualUser;
use ccmulti_planner::{Connection, Plan, PlanRequest, TaskInput};

use super::coordinator::{self, Found};
use super::files::{self, AgentRecord, TeamRecord};
use super::line::StartLine;
use super::workspace::{self, Make, Workplace};
use super::{
    CLAUDE_ENV, COORDINATOR, DASH, DEFAULT_IMPLEMENTERS, PLANNER, StartArgs, Team, check_parts,
    claude_command, runnable, tmux,
};
use crate::cli::Common;
use crate::cli::install::{self, this_binary};
use crate::cli::out::outln;
use crate::cli::plan::{parse_tasks, read_tasks, recording};
use crate::cli::service::{self, Opening};

/// The plan for the tasks given, drafted before anything is made and
/// recorded with the rest (`Coordinator::record_plan`).
fn plan_tasks(team: &Team, conn: &Connection, tasks: Vec<TaskInput>, agents: Option<u8>) -> Plan {
    let request = PlanRequest {
        agents: agents.map(usize::from),
        ..PlanRequest::new(team.repo.root.clone(), tasks)
    };
    ccmulti_planner::plan(&request, conn)
}

/// One agent's terminal: where, its environment, and the line it runs.
struct Terminal<'a> {
    place: &'a Workplace,
    env: Vec<(&'static str, String)>,
    line: String,
}

/// What the planner is told when it starts with a plan.
fn overview(session: &str, planned: &Plan) -> String {
    let mut text = format!(
        "You are the planner of ccmulti session {session}. The tasks are planned and dealt; \
         each implementer started with its own:\n"
    );
    for a in &planned.distribution.agents {
        text.push_str(&format!("\n{}:\n", a.agent_id));
        for t in &a.tasks {
            let description = planned
                .analysis
                .task(&t.task_id)
                .map_or("", |x| x.description.as_str());
            text.push_str(&format!("  - {} {description}\n", t.task_id));
        }
    }
    for note in &planned.distribution.notes {
        text.push_str(&format!("\nNote: {note}\n"));
    }
    text.push_str(
        "\nFollow their progress with check_agent_status, help where one is blocked, \
         and re-plan with analyze_task_conflicts and create_task_distribution if the work changes. \
         Do not edit files an implementer holds.",
    );
    text
}

pub fn start(common: &Common, args: &StartArgs) -> Result<ExitCode> {
    // Everything is checked before anything is made.
    let team = Team::resolve(common, &args.which)?;
    let conn = team.connection(common);
    let tasks = match (&args.tasks, &args.message) {
        (Some(file), _) => Some(read_tasks(Some(file))?),
        (None, Some(message)) => Some(parse_tasks(message)?),
        (None, None) => None,
    };
    let claude = claude_command();
    if !args.print {
        tmux::available()?;
        if !runnable(&claude) {
            bail!(
                "{claude:?} (Claude Code) is not found; install it (npm install -g @anthropic-ai/claude-code) \
                 or set {CLAUDE_ENV} to its path. Nothing was changed"
            );
        }
        if tmux::has_session(&team.tmux) {
            bail!(
                "team {} is already running in tmux session {}: tmux attach -t {}, or \
                 ccmulti team stop --session {} first. Nothing was changed",
                team.session,
                team.tmux,
                team.tmux,
                team.session
            );
        }
    }
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
    check_owner(&db, &team)?;
    let mut planned = tasks.map(|t| plan_tasks(&team, &conn, t, args.agents));
    let implementers: Vec<String> = match &planned {
        Some(p) => p
            .distribution
            .agents
            .iter()
            .map(|a| a.agent_id.clone())
            .collect(),
        None => (1..=usize::from(args.agents.unwrap_or(DEFAULT_IMPLEMENTERS)))
            .map(ccmulti_planner::agent_id)
            .collect(),
    };
    let names: Vec<(&str, &str)> = implementers.iter().map(|a| ("agent", a.as_str())).collect();
    check_parts(&names)?;
    let workplaces: Vec<Workplace> = if args.worktrees {
        let parent = match &args.worktree_dir {
            Some(d) => d.clone(),
            None => team.repo.top.parent().map(Path::to_owned).context(
                "the checkout has no parent directory for worktrees; pass --worktree-dir",
            )?,
        };
        workspace::plan(
            &team.repo,
            &team.session,
            &implementers,
            &parent,
            &args.base,
        )?
    } else {
        implementers
            .iter()
            .map(|a| workspace::in_checkout(&team.repo, a))
            .collect()
    };

    // Now make it: the files, the coordinator, the worktrees, the guard, the records, the windows.
    let binary = this_binary()?;
    let extra: Vec<String> = args
        .claude_args
        .iter()
        .chain(&args.trailing)
        .cloned()
        .collect();
    let planner = workspace::in_checkout(&team.repo, PLANNER);
    let everyone: Vec<&Workplace> = std::iter::once(&planner).chain(&workplaces).collect();
    let token_file = common
        .client_token()
        .map(|token| -> Result<PathBuf> {
            let file = team.dir.join("token");
            files::write_private(&file, token)?;
            Ok(file)
        })
        .transpose()?;
    let settings_file = team.dir.join("settings.json");
    files::write_json(&settings_file, &settings::hooks_block(&binary))?;
    let mut lines = Vec::new();
    for place in &everyone {
        let agent = place.agent.as_str();
        let mcp_file = team.dir.join(format!("{agent}.mcp.json"));
        files::write_json(&mcp_file, &conn.mcp_json(&conn.url(agent)))?;
        let prompt = match &planned {
            Some(p) if agent == PLANNER => Some(overview(&team.session, p)),
            Some(p) => p
                .distribution
                .agents
                .iter()
                .find(|a| a.agent_id == agent)
                .map(|a| a.prompt.clone()),
            None => None,
        };
        let prompt_file = match prompt {
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
        let env = agent_env(&conn, common, agent);
        let text = StartLine {
            dir: &place.dir,
            env: &env,
            env_from_file: token_file.as_deref().map(|f| (TOKEN_ENV, f)),
            claude: &claude,
            args: &claude_args,
            prompt_file: prompt_file.as_deref(),
        }
        .render();
        lines.push(Terminal {
            place,
            env,
            line: text,
        });
    }
    let serve_argv = |verb: &str| -> Vec<String> {
        let mut argv = vec![
            binary.clone(),
            verb.into(),
            "--addr".into(),
            common.addr.to_string(),
            "--db".into(),
            db.to_string_lossy().into_owned(),
        ];
        if verb != DASH {
            argv.extend([
                "--root".into(),
                team.repo.root.to_string_lossy().into_owned(),
            ]);
            // The coordinator runs as this command was told (the token goes by file).
            argv.extend(crate::cli::args::flags(&common.server, true));
        }
        argv
    };

    let mut session_open = false;
    if matches!(found, Found::Nothing) && !args.print {
        start_coordinator(common, &team, &serve_argv("serve"), token_file.as_deref())?;
        session_open = true;
    }
    let made = make_workplaces(&team, &workplaces);
    if let Err(e) = made {
        if session_open {
            let _ = tmux::kill_session(&team.tmux);
        }
        return Err(e);
    }
    let guard = install::install(&team.repo.root, false)
        .unwrap_or_else(|e| format!("warning: the git guard was not installed: {e}"));
    outln!("{guard}");
    let store = service::open_at(&db, Opening::CreateIfMissing)
        .with_context(|| format!("opening the database {}", db.display()))?;
    let kept = service::serve_once(store, async |coord| {
        for place in &everyone {
            // Where each works, for the dashboard, before any of them has called.
            let workspace = AgentWorkspace {
                worktree: place.worktree.to_string_lossy().into_owned(),
                branch: place.branch.clone(),
            };
            coord
                .set_workspace(
                    &VirtualUser::agent(&team.user, &team.session, &place.agent),
                    &workspace,
                )
                .await?;
        }
        match &mut planned {
            Some(p) => coord
                .record_plan(&conn, p)
                .await
                .with_context(|| recording(&conn)),
            None => Ok(Vec::new()),
        }
    })?;
    if !kept.is_empty() {
        outln!(
            "kept with the agents that had started them: {}",
            kept.join(", ")
        );
    }
    files::save(
        &team.dir,
        &TeamRecord {
            session: team.session.clone(),
            user: team.user.clone(),
            tmux_session: team.tmux.clone(),
            root: team.repo.root.clone(),
            addr: common.addr.to_string(),
            db: db.clone(),
            agents: everyone
                .iter()
                .map(|p| AgentRecord {
                    agent: p.agent.clone(),
                    dir: p.dir.clone(),
                    worktree: p.worktree.clone(),
                    branch: p.branch.clone(),
                })
                .collect(),
        },
    )?;

    if args.print {
        print_lines(&team, &found, &serve_argv, &lines);
        return Ok(ExitCode::SUCCESS);
    }
    for Terminal { place, env, line } in &lines {
        // A shell stays when claude ends, in the agent's directory and environment.
        let argv = vec![
            "sh".to_owned(),
            "-c".to_owned(),
            format!("{line}; exec \"${{SHELL:-sh}}\""),
        ];
        let window = tmux::Window {
            name: &place.agent,
            dir: &place.dir,
            env,
            argv: &argv,
        };
        open_window(&team, &mut session_open, &window)?;
    }
    let dash_argv = serve_argv(DASH);
    open_window(
        &team,
        &mut session_open,
        &tmux::Window {
            name: DASH,
            dir: &team.repo.root,
            env: &[],
            argv: &dash_argv,
        },
    )?;
    tmux::select_window(&team.tmux, PLANNER)?;
    print_summary(&team, &found, &everyone);
    let attach = args.attach
        || (!args.no_attach && std::io::stdin().is_terminal() && std::io::stdout().is_terminal());
    if attach {
        tmux::attach(&team.tmux)?;
    }
    Ok(ExitCode::SUCCESS)
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

/// What an agent's terminal needs beside claude's arguments: who it is (the
/// hooks and the git guard read it) and where the coordinator is.
fn agent_env(conn: &Connection, common: &Common, agent: &str) -> Vec<(&'static str, String)> {
    vec![
        ("CCMULTI_AGENT", conn.virtual_user(agent).to_string()),
        ("CCMULTI_ADDR", common.addr.to_string()),
    ]
}

fn open_window(team: &Team, session_open: &mut bool, window: &tmux::Window<'_>) -> Result<()> {
    if *session_open {
        tmux::new_window(&team.tmux, window)
    } else {
        tmux::new_session(&team.tmux, window)?;
        *session_open = true;
        Ok(())
    }
}

/// The coordinator in the team's first window, its log also in the team's
/// directory; waits until it answers. If it does not, the session is ended
/// and the log says why.
fn start_coordinator(
    common: &Common,
    team: &Team,
    argv: &[String],
    token_file: Option<&Path>,
) -> Result<()> {
    let log = team.dir.join("coordinator.log");
    files::write_private(&log, "")?;
    let quoted: Vec<String> = argv.iter().map(|a| ccmulti::hook::shell_quote(a)).collect();
    // The token of this terminal, or none: not whatever the tmux server's
    // environment kept from when it started, which the agents would not know.
    let token = match token_file {
        Some(file) => format!(
            "export {TOKEN_ENV}=\"$(cat {})\" && ",
            ccmulti::hook::shell_quote(&file.to_string_lossy())
        ),
        None => format!("unset {TOKEN_ENV}; "),
    };
    let command = format!(
        "{token}{} 2>&1 | tee -a {}",
        quoted.join(" "),
        ccmulti::hook::shell_quote(&log.to_string_lossy())
    );
    let sh = vec!["sh".to_owned(), "-c".to_owned(), command];
    tmux::new_session(
        &team.tmux,
        &tmux::Window {
            name: COORDINATOR,
            dir: &team.repo.root,
            env: &[],
            argv: &sh,
        },
    )?;
    let alive = || {
        tmux::windows(&team.tmux)
            .is_ok_and(|w| w.iter().any(|(name, live)| name == COORDINATOR && *live))
    };
    match coordinator::wait_until_up(
        &common.public_url(),
        common.client_token(),
        Duration::from_secs(20),
        alive,
    ) {
        Ok(_) => Ok(()),
        Err(e) => {
            let _ = tmux::kill_session(&team.tmux);
            let said = std::fs::read_to_string(&log).unwrap_or_default();
            let tail: Vec<&str> = said.lines().rev().take(12).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            bail!(
                "{e}; nothing else was made. Its log ({}):\n{}",
                log.display(),
                tail.join("\n")
            )
        }
    }
}

fn make_workplaces(team: &Team, workplaces: &[Workplace]) -> Result<()> {
    for place in workplaces {
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

fn print_lines(
    team: &Team,
    found: &Found,
    argv: &dyn Fn(&str) -> Vec<String>,
    lines: &[Terminal<'_>],
) {
    let quoted = |verb: &str| -> String {
        argv(verb)
            .iter()
            .map(|a| ccmulti::hook::shell_quote(a))
            .collect::<Vec<_>>()
            .join(" ")
    };
    outln!("# team {}: one line per terminal", team.session);
    match found {
        Found::Nothing => {
            outln!("# coordinator and dashboard (none is running yet; start this first)");
            outln!("{}", quoted("up"));
        }
        Found::Ccmulti { .. } => {
            outln!("# dashboard (the coordinator is already running)");
            outln!("{}", quoted(DASH));
        }
    }
    for terminal in lines {
        outln!("# {}", terminal.place.agent);
        outln!("{}", terminal.line);
    }
}

fn print_summary(team: &Team, found: &Found, everyone: &[&Workplace]) {
    let coordinator = match found {
        Found::Nothing => "started in window coordinator",
        Found::Ccmulti { .. } => "already running",
    };
    outln!(
        "team {} is up in tmux session {} (coordinator {coordinator}):",
        team.session,
        team.tmux
    );
    for place in everyone {
        let branch = place
            .branch
            .as_deref()
            .map(|b| format!(" (branch {b})"))
            .unwrap_or_default();
        outln!("  {:<16} {}{branch}", place.agent, place.dir.display());
    }
    outln!("  {DASH:<16} the dashboard");
    outln!(
        "attach: tmux attach -t {}    stop: ccmulti team stop --session {}",
        team.tmux,
        team.session
    );
}
