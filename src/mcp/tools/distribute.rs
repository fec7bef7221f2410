//! `create_task_distribution(analysis_result, preferred_agent_count?)`.

use std::sync::{Arc, LazyLock};

use ccmulti_model::schema::{input_schema, output_schema};
use ccmulti_model::tools::{DistributeArgs, DistributionReply};
use rmcp::model::{JsonObject, ToolAnnotations};
use serde_json::Value;

use super::planning::connection;
use super::{ToolContext, ToolOutput, annotations};
use crate::error::CoordError;
use crate::mcp::typed_args;

const NAME: &str = "create_task_distribution";

static OUTPUT: LazyLock<Arc<JsonObject>> =
    LazyLock::new(|| Arc::new(output_schema::<DistributionReply>()));
static INPUT: LazyLock<JsonObject> = LazyLock::new(input_schema::<DistributeArgs>);

pub fn schema() -> (&'static str, Value, Arc<JsonObject>, ToolAnnotations) {
    (
        "Planner: split the analysed tasks across agents, keeping colliding tasks on one agent and balancing the load. \
         Returns a shared preamble and, per agent, its tasks and files, conflict_notes, the `claude mcp add` line for \
         its terminal, a .mcp.json entry and its prompt; each terminal gets the preamble, then its prompt and notes. \
         The tasks are recorded as planned. Check the analysis's files first: a wrong file splits colliding tasks.",
        Value::Object(INPUT.clone()),
        OUTPUT.clone(),
        annotations("Create task distribution", false, false, true),
    )
}

pub async fn call(cx: &ToolContext<'_>, arguments: &JsonObject) -> Result<ToolOutput, CoordError> {
    let DistributeArgs {
        analysis_result,
        preferred_agent_count: agents,
    } = typed_args::parse(NAME, &INPUT, arguments)?;
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
    ToolOutput::typed(&plan.reply(), true)
}
