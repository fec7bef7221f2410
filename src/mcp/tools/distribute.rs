//! `create_task_distribution(analysis_result, preferred_agent_count?)`.

use ccmulti_model::tools::{Distribute, DistributeArgs, DistributionReply, Tool};

use super::planning::connection;
use super::{Hints, Served, ToolContext};
use crate::error::CoordError;

impl Served for Distribute {
    const DESCRIPTION: &'static str = "Planner: split the analysed tasks across agents, keeping colliding tasks on one agent and balancing the load. \
         Returns a shared preamble and, per agent, its tasks and files, conflict_notes, the `claude mcp add` line for \
         its terminal, a .mcp.json entry and its prompt; each terminal gets the preamble, then its prompt and notes. \
         The tasks are recorded as planned. Check the analysis's files first: a wrong file splits colliding tasks.";
    const HINTS: Hints = Hints {
        title: "Create task distribution",
        read_only: false,
        destructive: false,
        idempotent: true,
    };

    async fn run(
        cx: &ToolContext<'_>,
        args: DistributeArgs,
    ) -> Result<DistributionReply, CoordError> {
        run(cx, args).await
    }
}

const NAME: &str = Distribute::NAME;

async fn run(cx: &ToolContext<'_>, args: DistributeArgs) -> Result<DistributionReply, CoordError> {
    let DistributeArgs {
        analysis_result,
        preferred_agent_count: agents,
    } = args;
    let id = analysis_result.analysis_id;
    let sa = cx.caller.session()?.clone();
    let analysis = cx
        .coord
        .analysis(&sa.session_id, &id)
        .await?
        .ok_or_else(|| {
            CoordError::InvalidParams(format!(
                "{NAME}: analysis_result names analysis {id:?}, which was not made in session {:?}; \
                 call analyze_task_conflicts here first and pass its result unchanged",
                sa.session_id
            ))
        })?;
    let conn = connection(cx, &cx.caller.user.user_id, &sa.session_id);
    let plan = cx.coord.distribute(&conn, &analysis, agents).await?;
    Ok(plan.reply())
}
