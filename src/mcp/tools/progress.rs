//! `sync_progress(task_id, status, progress_percentage?, message?, affected_files?)`.

use ccmulti_model::tools::{Progress, ProgressArgs, ProgressResult, Tool};

use super::{Hints, Served, ToolContext, iso, normalize_all};
use crate::error::CoordError;
use crate::rules::progress::ProgressUpdate;

impl Served for Progress {
    const DESCRIPTION: &'static str = "Broadcast your progress on a task to the other agents in this session: when you start, as you go, and when you finish, fail or are blocked.";
    const HINTS: Hints = Hints {
        title: "Sync task progress",
        read_only: false,
        destructive: false,
        idempotent: true,
    };

    async fn run(cx: &ToolContext<'_>, args: ProgressArgs) -> Result<ProgressResult, CoordError> {
        run(cx, args).await
    }
}

const NAME: &str = Progress::NAME;

async fn run(cx: &ToolContext<'_>, args: ProgressArgs) -> Result<ProgressResult, CoordError> {
    let affected_files = match &args.affected_files {
        Some(raw) => {
            let raw: Vec<&str> = raw.iter().map(String::as_str).collect();
            Some(
                normalize_all(cx.roots, NAME, "affected_files", &raw)?
                    .into_iter()
                    .collect(),
            )
        }
        None => None,
    };
    let sa = cx.caller.session()?.clone();
    let update = ProgressUpdate {
        task_id: args.task_id,
        status: args.status.into(),
        progress_percentage: args.progress_percentage,
        message: args.message,
        affected_files,
    };
    let at = cx
        .coord
        .progress(&sa.session_id, &sa.agent_id, &update)
        .await?;
    Ok(ProgressResult {
        success: true,
        task_id: update.task_id,
        status: update.status,
        progress_percentage: update.progress_percentage,
        updated_at: iso(at),
    })
}
