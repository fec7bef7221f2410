//! `check_agent_status(include_inactive=false, news=true)`: the caller's session
//! only, with what changed for the caller since it last looked (told once).

use ccmulti_model::Activity;
use ccmulti_model::tools::{
    AgentStatus, LockStatus, NewsItem, Status, StatusArgs, StatusResult, TaskState,
};

use super::{Hints, Served, ToolContext, iso};
use crate::error::CoordError;
use crate::rules::handover::HandOver;
use crate::rules::lifetimes::has_listed_tools;
use crate::rules::locks::{gives_way_at, seconds_until};
use crate::rules::news::News;

impl Served for Status {
    const DESCRIPTION: &'static str = "See what the other agents in your session are doing: who is active (called within 2 minutes) or recent (10 minutes), \
         which files are locked by whom and for how long, and every task's progress. \
         news lists, once, what changed for you since you last looked: a file you wanted was freed, another agent completed a task, \
         a lock of yours was force-released, expired or is about to expire, \
         another agent needs your changes to a file that are in no commit in your worktree (commit them).";
    // Not read-only: with `news` (the default) it marks the news as told.
    const HINTS: Hints = Hints {
        title: "Check agent status",
        read_only: false,
        destructive: false,
        idempotent: false,
    };

    async fn run(cx: &ToolContext<'_>, args: StatusArgs) -> Result<StatusResult, CoordError> {
        run(cx, args).await
    }
}

async fn run(cx: &ToolContext<'_>, args: StatusArgs) -> Result<StatusResult, CoordError> {
    let StatusArgs {
        include_inactive,
        news: want_news,
        reading,
    } = args;
    let sa = cx.caller.session()?.clone();
    // A file read from outside the project has no versions here: passed over.
    let reading: Vec<String> = reading
        .iter()
        .filter_map(|p| cx.roots.normalize(p).ok())
        .collect();
    let roots = cx.roots.current_fresh();
    let newer_elsewhere = cx
        .coord
        .newer_for_reading(&roots, &sa.session_id, &sa.agent_id, &reading)
        .await?;
    let (view, news) = cx
        .coord
        .status(&sa.session_id, &sa.agent_id, want_news)
        .await?;
    let handovers = cx
        .coord
        .pending_handovers(&roots, &sa.session_id, &sa.agent_id)
        .await?;
    let elsewhere = cx
        .coord
        .working_elsewhere(&sa.session_id, &sa.agent_id)
        .await?;
    let now = view.now_ms;
    let agents = view
        .agents
        .iter()
        .filter_map(|a| {
            let activity = Activity::classify(now, a.last_activity_ms);
            (include_inactive || activity != Activity::Inactive).then(|| AgentStatus {
                agent_id: a.agent_id.clone(),
                role: a.role,
                activity,
                seconds_since_activity: (now - a.last_activity_ms).max(0) / 1000,
                current_task: a.current_task.clone(),
                locks: a.lock_count,
                tools_listed: has_listed_tools(&a.status),
            })
        })
        .collect();
    let locks = view
        .locks
        .iter()
        .map(|l| LockStatus {
            path: l.path.clone(),
            agent_id: l.agent_id.clone(),
            operation: l.operation,
            expires_in_seconds: seconds_until(now, l.expires_at_ms),
            fencing_token: l.fencing_token,
            gives_way_in_seconds: gives_way_at(l.yields_at_ms, l.expires_at_ms)
                .map(|at| seconds_until(now, at)),
            elsewhere: elsewhere.contains(&l.agent_id),
        })
        .collect();
    let tasks = view
        .tasks
        .iter()
        .map(|t| TaskState {
            agent_id: t.agent_id.clone(),
            task_id: t.task_id.clone(),
            status: t.status,
            progress_percentage: t.progress_percentage,
            message: t.message.clone(),
            updated_at: iso(t.updated_at_ms),
        })
        .collect();
    // A person freed these by hand; the agent must not keep editing as if it held them.
    let notices = news
        .iter()
        .filter(|n| n.kind() == "own_lock_force_released")
        .map(News::message)
        .collect();
    let news = want_news.then(|| {
        news.iter()
            .map(|n| NewsItem {
                kind: n.kind().to_owned(),
                path: n.path().map(str::to_owned),
                message: n.message(),
            })
            .collect()
    });
    Ok(StatusResult {
        success: true,
        session_id: sa.session_id,
        you: sa.agent_id,
        now: iso(now),
        agents,
        locks,
        tasks,
        news,
        notices,
        handovers: handovers.iter().map(HandOver::report).collect(),
        newer_elsewhere: newer_elsewhere.iter().map(HandOver::report).collect(),
    })
}
