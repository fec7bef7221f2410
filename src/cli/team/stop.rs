//! `ccmulti team stop` and `ccmulti team status`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use ccmulti::coord::{ByHand, Coordinator};
use ccmulti::landing;
use ccmulti::rules::handover::commit_first_message;
use ccmulti::rules::locks::steps::ForceSelector;
use ccmulti::rules::team::{self, Seen};
use ccmulti::store::StoreError;
use ccmulti::worktrees::{self, Worktree, git};
use clap::Args;

use super::files::TeamRecord;
use super::{Team, Which, coordinator, files, tmux};
use crate::cli::args::RootArg;
use crate::cli::out::outln;
use crate::cli::service::{self, Opening};
use crate::cli::{Common, inspect};

#[derive(Debug, Clone, Args)]
pub struct StopArgs {
    #[command(flatten)]
    which: Which,
    /// Also remove the team's worktrees that have no uncommitted changes (their branches stay).
    #[arg(long)]
    remove_worktrees: bool,
    /// Also forget the session: its agents, tasks and events leave the database and the
    /// dashboard (as `ccmulti forget`; logged).
    #[arg(long)]
    forget: bool,
    /// Release the locks even when an agent has uncommitted changes to its
    /// locked files (recorded as work left behind, told to the next holder);
    /// without it such locks are kept and the agent named.
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    pub root: RootArg,
}

#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub which: Which,
    #[command(flatten)]
    pub root: RootArg,
}

/// The database: --db if given, else the one the team was started on.
fn database(common: &Common, record: Option<&files::TeamRecord>) -> Result<PathBuf> {
    match (&common.db, record) {
        (None, Some(r)) => Ok(r.db.clone()),
        _ => common.db_path(),
    }
}

/// The session's worktrees: those on a `ccmulti/<session>/` branch.
fn session_worktrees(team: &Team) -> Result<Vec<Worktree>> {
    let prefix = team::branch_prefix(&team.session);
    Ok(worktrees::list(&team.repo.top)?
        .into_iter()
        .filter(|t| t.branch.as_deref().is_some_and(|b| b.starts_with(&prefix)))
        .collect())
}

/// `git status --porcelain --ignored` lines: uncommitted changes, untracked
/// and ignored files included (an agent's `.env` or build output is work
/// `git worktree remove` would delete).
fn changes(worktree: &Path) -> Result<usize> {
    Ok(git(worktree, &["status", "--porcelain", "--ignored"])?
        .lines()
        .count())
}

pub fn stop(common: &Common, args: &StopArgs) -> Result<ExitCode> {
    let team = Team::resolve(common, &args.which)?;
    let record = files::load(&team.dir)?;
    if tmux::available().is_ok() && tmux::has_session(&team.tmux) {
        tmux::kill_session(&team.tmux)?;
        outln!("ended tmux session {}", team.tmux);
    } else {
        outln!("no tmux session {} was running", team.tmux);
    }
    let db = database(common, record.as_ref())?;
    // A missing database holds no locks; stop must not create one.
    match service::open_at(&db, Opening::MustExist) {
        Ok(store) => {
            let roots = worktrees::roots_of(&common.root()?);
            service::serve_once(store, async |coord| {
                release_all(coord, &roots, &team.session, args.force).await?;
                if args.forget {
                    // Its agents are stopped: a lock one took meanwhile goes too.
                    let log = crate::cli::run::log_beside(&db)?;
                    let forgetting = coord
                        .forget_session(&team.session, true, "team stop")
                        .await?;
                    inspect::say_forgotten(&team.session, &forgetting, &log);
                }
                Ok(())
            })?
        }
        Err(StoreError::Missing { .. }) => {
            outln!("no database at {}: no locks to release", db.display());
        }
        Err(e) => {
            return Err(e).with_context(|| format!("opening the database {}", db.display()));
        }
    }
    keep_or_remove_worktrees(&team, args.remove_worktrees)
}

/// Releases every lock of `session`, as forced releases by `team stop`;
/// without `force`, an agent with uncommitted changes to its locked files in
/// its own worktree keeps its locks and is named.
async fn release_all(
    coord: &Coordinator,
    roots: &[PathBuf],
    session: &str,
    force: bool,
) -> Result<()> {
    let snapshot = coord.snapshot(0).await?;
    let mut holders: Vec<&str> = snapshot
        .locks
        .iter()
        .filter(|l| l.session_id == session)
        .map(|l| l.agent_id.as_str())
        .collect();
    holders.sort_unstable();
    holders.dedup();
    let mut released = 0;
    for agent in holders {
        let selector = ForceSelector::Agent {
            session_id: Some(session.to_owned()),
            agent_id: agent.to_owned(),
        };
        match coord
            .release_by_hand(roots, &selector, "team stop", force)
            .await?
        {
            ByHand::Released(locks) => released += locks.len(),
            ByHand::CommitFirst(refused) => {
                for (agent, files) in refused {
                    outln!(
                        "kept the locks of {agent}: {} (team stop --force releases them anyway)",
                        commit_first_message(&files)
                    );
                }
            }
        }
    }
    outln!(
        "released {released} lock(s) of session {session} (recorded as forced releases by team stop)"
    );
    Ok(())
}

/// Keeps every worktree of the session, saying which have changes; with
/// `remove`, removes the clean ones.
fn keep_or_remove_worktrees(team: &Team, remove: bool) -> Result<ExitCode> {
    for tree in session_worktrees(team)? {
        let path = tree.path.display();
        let branch = tree.branch.as_deref().unwrap_or_default();
        match changes(&tree.path) {
            Ok(0) if remove => {
                // Without --force git refuses a worktree with changes, should one appear meanwhile.
                match git(
                    &team.repo.top,
                    &["worktree", "remove", &tree.path.to_string_lossy()],
                ) {
                    Ok(_) => outln!("removed worktree {path} (branch {branch} stays)"),
                    Err(e) => outln!("kept worktree {path}: {e}"),
                }
            }
            Ok(0) => outln!("kept worktree {path} (branch {branch}, clean)"),
            Ok(n) => outln!(
                "kept worktree {path} (branch {branch}): {n} uncommitted change(s) or ignored file(s)"
            ),
            Err(e) => outln!("kept worktree {path}: {e}"),
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn status(common: &Common, which: &Which) -> Result<ExitCode> {
    let team = Team::resolve(common, which)?;
    let record = files::load(&team.dir)?;
    let seen = if tmux::available().is_ok() && tmux::has_session(&team.tmux) {
        tmux::observe(&team.tmux)?
    } else {
        Vec::new()
    };
    if seen.is_empty() {
        outln!("team {}: no tmux session {}", team.session, team.tmux);
    } else {
        outln!("team {} in tmux session {}:", team.session, team.tmux);
        for (name, what) in window_states(record.as_ref(), &seen) {
            outln!("  window {name:<16} {what}");
        }
    }
    if let Some(r) = &record {
        let base = format!("http://{}", r.addr);
        let answers = if coordinator::answers(&base) {
            "answers"
        } else {
            "does not answer (ccmulti team starts it again)"
        };
        outln!("  coordinator at {} {answers}", r.addr);
    }
    for tree in session_worktrees(&team)? {
        let changed = changes(&tree.path)
            .map(|n| format!("{n} uncommitted change(s) or ignored file(s)"))
            .unwrap_or_else(|e| e.to_string());
        let branch = tree.branch.as_deref().unwrap_or_default();
        outln!(
            "  worktree {} (branch {branch}): {changed}",
            tree.path.display(),
        );
    }
    let db = database(common, record.as_ref())?;
    let mut at = common.clone();
    at.db = Some(db);
    per_agent(&at, &team.session, &team.repo.top);
    super::super::inspect::status(&at, Some(&team.session))
}

/// Each window of the team as its record has them (the windows it does not
/// know after them), and what it is seen doing.
fn window_states(record: Option<&TeamRecord>, seen: &[(String, Seen)]) -> Vec<(String, String)> {
    let seen_as = |name: &str| {
        seen.iter()
            .find(|(n, _)| n == name)
            .map_or(Seen::Missing, |(_, s)| *s)
    };
    let known: Vec<(String, String)> = record
        .map(|r| r.windows.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|w| {
            (
                w.name.clone(),
                team::describe(w.kind, seen_as(&w.name)).to_owned(),
            )
        })
        .collect();
    let others = seen
        .iter()
        .filter(|(name, _)| !known.iter().any(|(k, _)| k == name))
        .map(|(name, s)| {
            let what = match s {
                Seen::Running => "running (not one of the team's windows)",
                _ => "a shell (not one of the team's windows)",
            };
            (name.clone(), what.to_owned())
        });
    let others: Vec<(String, String)> = others.collect();
    known.into_iter().chain(others).collect()
}

/// Per agent: whether its branch (in a worktree of its own) has landed in
/// the main checkout's branch, and the versions its grants told it to bring
/// in that it had not when it last looked (`check_agent_status` forgets
/// those brought in). Nothing without a database.
fn per_agent(common: &Common, session: &str, project: &Path) {
    let read = service::with_service(common, Opening::MustExist, async |coord| {
        let agents = coord.store().session_view(session).await?.agents;
        let pending = coord.store().pending_handovers(session).await?;
        Ok((agents, pending))
    });
    let (agents, pending) = read.unwrap_or_default();
    for found in landing::of_agents(project, &agents) {
        outln!(
            "  {}: branch {}: {}",
            found.agent_id,
            found.landing.branch,
            found.landing.describe()
        );
    }
    for p in pending {
        let v = &p.version;
        let merge = v
            .merge_command()
            .map(|m| format!(" ({m})"))
            .unwrap_or_default();
        let from = format!("{}{merge}", v.origin());
        outln!(
            "  {}: hand-over pending: {} from {}, {from}",
            p.agent_id,
            v.path,
            v.agent_id
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `git worktree remove` deletes ignored files without a word: they count.
    #[test]
    fn ignored_and_untracked_files_count_as_work_to_keep() {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path();
        let run = |args: &[&str]| {
            let ok = std::process::Command::new("git")
                .args(["-c", "user.name=T", "-c", "user.email=t@example.com"])
                .args(args)
                .current_dir(repo)
                .output()
                .unwrap()
                .status
                .success();
            assert!(ok, "git {args:?}");
        };
        run(&["init", "-q"]);
        std::fs::write(repo.join(".gitignore"), ".env\n").unwrap();
        run(&["add", ".gitignore"]);
        run(&["commit", "-q", "-m", "init"]);
        assert_eq!(changes(repo).unwrap(), 0);
        std::fs::write(repo.join(".env"), "SECRET=1\n").unwrap();
        assert_eq!(changes(repo).unwrap(), 1, "an ignored file is work");
    }
}
