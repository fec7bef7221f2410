//! Commands a person runs against the database directly: status, release, db verify.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use ccmulti::coord::ByHand;
use ccmulti::coord::Forgetting;
use ccmulti::lock_paths::PathResolver;
use ccmulti::rules::handover::commit_first_message;
use ccmulti::rules::locks::seconds_until;
use ccmulti::rules::locks::steps::ForceSelector;
use ccmulti::worktrees;
use ccmulti_model::Activity;
use clap::Args;

use super::Common;
use super::args::RootArg;
use super::service::{Opening, with_service};
use crate::cli::out::{errln, outln};

pub fn status(common: &Common, session: Option<&str>) -> Result<ExitCode> {
    let (snap, location) = with_service(common, Opening::MustExist, async |coord| {
        Ok((coord.snapshot(0).await?, coord.store().location()))
    })?;
    let now = snap.now_ms;
    let keep = |s: &str| session.is_none_or(|want| want == s);
    outln!("database {location}");
    let sessions: Vec<_> = snap
        .sessions
        .iter()
        .filter(|s| keep(&s.session_id))
        .collect();
    if sessions.is_empty() {
        outln!("no sessions yet: connect an agent (ccmulti connect --session S --agent A)");
        return Ok(ExitCode::SUCCESS);
    }
    for s in sessions {
        outln!("\nsession {} (user {})", s.session_id, s.user_id);
        print_agents(&snap, &s.session_id);
        outln!("  locks:");
        for l in snap.locks.iter().filter(|l| l.session_id == s.session_id) {
            let left = seconds_until(now, l.expires_at_ms);
            outln!(
                "    {:<40} {:<20} {:<6} {:>2}:{:02} left  token {}  id {}",
                l.path,
                l.agent_id,
                l.operation,
                left / 60,
                left % 60,
                l.fencing_token,
                l.lock_id
            );
        }
        let waiters: Vec<_> = snap
            .waiters
            .iter()
            .filter(|w| w.session_id == s.session_id)
            .collect();
        if !waiters.is_empty() {
            outln!("  waiting claims:");
        }
        for w in waiters {
            let holders: Vec<&str> = snap
                .locks
                .iter()
                .filter(|l| w.blocked_by.contains(&l.lock_id))
                .map(|l| l.agent_id.as_str())
                .collect();
            outln!(
                "    {:<20} {:<6} {}  for {}s  up to {}s more  behind {}",
                w.agent_id,
                w.operation.as_str(),
                w.paths.join(", "),
                (now - w.since_ms).max(0) / 1000,
                seconds_until(now, w.deadline_ms),
                if holders.is_empty() {
                    "earlier waiters".to_string()
                } else {
                    holders.join(", ")
                },
            );
        }
        outln!("  tasks:");
        for t in snap.tasks.iter().filter(|t| t.session_id == s.session_id) {
            outln!(
                "    {:<24} {:<20} {:<11} {:>3}%  {}",
                t.task_id,
                t.agent_id,
                t.status,
                t.progress_percentage.unwrap_or(0),
                t.message.as_deref().unwrap_or(""),
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The session's agents, one line each.
fn print_agents(snap: &ccmulti_model::snapshot::Snapshot, session: &str) {
    let now = snap.now_ms;
    outln!("  agents:");
    for a in snap.agents.iter().filter(|a| a.session_id == session) {
        let workspace = match &a.workspace {
            Some(w) => format!(
                "  in {}{}",
                w.worktree,
                w.branch
                    .as_deref()
                    .map(|b| format!(" (branch {b})"))
                    .unwrap_or_default()
            ),
            None => String::new(),
        };
        outln!(
            "    {:<20} {:<11} {:<8} {:<9} {:>5}s ago  locks {:<3} task {}{workspace}",
            a.agent_id,
            a.role,
            Activity::classify(now, a.last_activity_ms).as_str(),
            // starting, connected, or ready (its client has listed the tools).
            a.status,
            (now - a.last_activity_ms).max(0) / 1000,
            a.lock_count,
            a.current_task.as_deref().unwrap_or("-"),
        );
    }
}

#[derive(Debug, Args)]
pub struct ReleaseArgs {
    /// A locked path (relative to --root, or absolute inside it).
    path: Option<String>,
    /// A lock id, as `ccmulti status` shows.
    #[arg(long, conflicts_with_all = ["path", "agent"])]
    lock_id: Option<String>,
    /// Every lock this agent holds.
    #[arg(long, conflicts_with = "path")]
    agent: Option<String>,
    /// Only in this session.
    #[arg(long)]
    session: Option<String>,
    #[command(flatten)]
    pub root: RootArg,
    /// Release even when a holder working in a worktree of its own has
    /// uncommitted changes to the files (recorded as work left behind, and
    /// told to the next holder); without it such a release is refused.
    #[arg(long)]
    force: bool,
}

pub fn release(common: &Common, args: &ReleaseArgs) -> Result<ExitCode> {
    let selector = match (&args.path, &args.lock_id, &args.agent) {
        (Some(path), None, None) => ForceSelector::Path {
            session_id: args.session.clone(),
            path: PathResolver::new(vec![common.root()?]).lock_path(path)?,
        },
        (None, Some(id), None) => ForceSelector::LockId(id.clone()),
        (None, None, Some(agent)) => ForceSelector::Agent {
            session_id: args.session.clone(),
            agent_id: agent.clone(),
        },
        _ => bail!("say which locks to release: a PATH, --lock-id ID or --agent NAME"),
    };
    let roots = worktrees::roots_of(&common.root()?);
    let answer = with_service(common, Opening::MustExist, async |coord| {
        Ok(coord
            .release_by_hand(&roots, &selector, "cli", args.force)
            .await?)
    })?;
    let released = match answer {
        ByHand::Released(released) => released,
        ByHand::CommitFirst(refused) => {
            for (agent, files) in &refused {
                errln!("{agent}: {}", commit_first_message(files));
            }
            errln!("nothing was released; --force releases anyway, leaving that work uncommitted");
            return Ok(ExitCode::from(1));
        }
    };
    if released.is_empty() {
        outln!("no lock matched; `ccmulti status` lists the live ones");
        return Ok(ExitCode::from(1));
    }
    for lock in &released {
        outln!(
            "released {} held by {} in session {} (forced release by cli)",
            lock.path,
            lock.agent_id,
            lock.session_id
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Args)]
pub struct ForgetArgs {
    /// The session to forget.
    session: String,
    /// Force-release its live locks first (recorded as forced releases), rather than refuse.
    #[arg(long)]
    force: bool,
}

pub fn forget(common: &Common, args: &ForgetArgs) -> Result<ExitCode> {
    let (forgetting, log) = with_service(common, Opening::MustExist, async |coord| {
        // Logged where `up` and `dash` log, once the database is known to be there.
        let log = super::run::log_beside_database(common)?;
        Ok((
            coord
                .forget_session(&args.session, args.force, "cli")
                .await?,
            log,
        ))
    })?;
    Ok(say_forgotten(&args.session, &forgetting, &log))
}

/// What forgetting `session` did, said; the exit code it makes.
pub fn say_forgotten(session: &str, forgetting: &Forgetting, log: &Path) -> ExitCode {
    match forgetting {
        Forgetting::Done {
            forgotten,
            released,
        } => {
            let forced = if *released > 0 {
                format!(" after force-releasing {released} live lock(s)")
            } else {
                String::new()
            };
            outln!(
                "forgot session {session}{forced}: {} agent(s), {} task(s), {} event(s) removed (logged in {})",
                forgotten.agents,
                forgotten.tasks,
                forgotten.events,
                log.display()
            );
            ExitCode::SUCCESS
        }
        Forgetting::Held(held) => {
            let locks: Vec<String> = held
                .iter()
                .map(|l| format!("{} ({})", l.path, l.agent_id))
                .collect();
            outln!(
                "session {session} holds live locks: {}; nothing was changed. Release them \
                 (ccmulti release --session {session} --agent NAME), or pass --force to \
                 force-release them first",
                locks.join(", ")
            );
            ExitCode::FAILURE
        }
        Forgetting::Unknown => {
            outln!("no session {session} to forget; `ccmulti status` lists them");
            ExitCode::FAILURE
        }
    }
}

pub fn verify(common: &Common) -> Result<ExitCode> {
    let (v, location) = with_service(common, Opening::MustExist, async |coord| {
        Ok((coord.verify().await?, coord.store().location()))
    })?;
    outln!("database {location} ({})", v.backend);
    outln!("schema version {} (user_version)", v.user_version);
    outln!("tables:");
    for (table, present) in &v.tables {
        outln!(
            "  {:<24} {}",
            table,
            if *present { "present" } else { "MISSING" }
        );
    }
    outln!("indexes:");
    for (index, table) in &v.indexes {
        outln!("  {index:<36} on {table}");
    }
    outln!("integrity_check: {}", v.integrity);
    Ok(if v.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// A consistent copy of a live database; restoring is copying it back with
/// the coordinator stopped (docs/guide/data.md).
pub fn backup(common: &Common, file: &std::path::Path) -> Result<ExitCode> {
    let store = super::service::open(common, Opening::MustExist)?;
    store.backup_to(file).with_context(|| {
        format!(
            "backing up {} to {}",
            store.path().display(),
            file.display()
        )
    })?;
    outln!("backed up {} to {}", store.path().display(), file.display());
    Ok(ExitCode::SUCCESS)
}
